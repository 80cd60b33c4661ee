//! `unnamed-service-port`: a TCP Service port without a name.

use super::{Context, Sink};
use crate::istio::PortClass;
use crate::model::Service;

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    for object in cx.definitions() {
        let Some(service) = Service::of(object) else {
            continue;
        };
        for (i, port) in service.ports.iter().enumerate() {
            if cx.profile.classify_port(port) != PortClass::Unnamed {
                continue;
            }
            let number = port.port.and_then(|p| p.scalar()).filter(|n| !n.is_empty());
            let number = number.map_or_else(|| format!("#{}", i + 1), str::to_owned);
            let example = format!("http-{}", object.name.unwrap_or("web"));
            let d = sink.report(
                object,
                port.span(),
                format!(
                    "port {number} of Service `{}` has no name, so Istio treats its traffic as plain TCP",
                    object.name.unwrap_or("")
                ),
            );
            d.primary.message = format!("port {} has no `name`", i + 1);
            d.help = Some(format!(
                "name the port `<protocol>[-<suffix>]` with one of {}, e.g. `name: {example}`",
                cx.profile.protocols().join(", ")
            ));
        }
    }
}
