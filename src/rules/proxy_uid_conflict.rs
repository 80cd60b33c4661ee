//! `proxy-uid-conflict`: an application container runs as the proxy's UID.

use super::{Context, Sink};
use crate::istio::decide::PROXY_CONTAINER;
use crate::model::PodTemplate;

/// The UID the proxy runs as, which its iptables rules exempt from redirection.
#[must_use]
pub fn proxy_uid(cx: &Context<'_>) -> i64 {
    cx.inject.param("sidecarProxyUID").and_then(|v| v.value.parse().ok()).unwrap_or(1337)
}

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    let uid = proxy_uid(cx);
    for object in cx.definitions() {
        let Some(template) = PodTemplate::of(object) else { continue };
        let pod_uid = template.spec().and_then(|s| s.path(&["securityContext", "runAsUser"]));
        for container in template.containers().chain(template.init_containers()) {
            let name = container.get("name").and_then(|n| n.scalar()).unwrap_or("");
            if name == PROXY_CONTAINER || name == "istio-init" {
                continue;
            }
            let own = container.path(&["securityContext", "runAsUser"]);
            let Some(node) = own.or(pod_uid) else { continue };
            if node.as_i64() != Some(uid) {
                continue;
            }
            let d = sink.report(
                object,
                node.span(),
                format!("container `{name}` runs as UID {uid}, the proxy's UID: its traffic bypasses the sidecar"),
            );
            d.primary.message =
                if own.is_some() { "the container's UID".into() } else { "the pod's UID, inherited".into() };
            d.help = Some(format!("run the container as another UID than {uid}"));
        }
    }
}
