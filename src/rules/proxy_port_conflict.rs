//! `proxy-port-conflict`: an application container declares a port the proxy owns.

use super::{Context, Sink};
use crate::istio::decide::PROXY_CONTAINER;
use crate::model::PodTemplate;

/// Ports the proxy listens on, per profile.
#[must_use]
pub fn proxy_ports(cx: &Context<'_>) -> &'static [(i64, &'static str)] {
    match cx.profile {
        crate::istio::Profile::Istio02 => {
            &[(15000, "the proxy's admin port"), (15001, "the proxy's listener port, where all traffic is redirected")]
        }
        crate::istio::Profile::Modern => &[
            (15000, "the proxy's admin port"),
            (15001, "the proxy's outbound port"),
            (15004, "the proxy's debug port"),
            (15006, "the proxy's inbound port"),
            (15008, "the proxy's HBONE tunnel port"),
            (15020, "the merged metrics port"),
            (15021, "the proxy's health port"),
            (15053, "the proxy's DNS port"),
            (15090, "the proxy's Prometheus port"),
        ],
    }
}

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    let owned = proxy_ports(cx);
    for object in cx.definitions() {
        let Some(template) = PodTemplate::of(object) else { continue };
        for container in template.containers() {
            let name = container.get("name").and_then(|n| n.scalar()).unwrap_or("");
            if name == PROXY_CONTAINER {
                continue;
            }
            for port in container.get("ports").into_iter().flat_map(crate::yaml::NodeRef::items) {
                let Some(node) = port.get("containerPort") else { continue };
                let Some((number, what)) = owned.iter().find(|(p, _)| node.as_i64() == Some(*p)) else { continue };
                let d = sink.report(object, node.span(), format!("container `{name}` uses port {number}, {what}"));
                d.primary.message = "owned by the sidecar".into();
                d.help = Some("move the application to another port".into());
            }
        }
    }
}
