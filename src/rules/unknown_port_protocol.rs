//! `unknown-port-protocol`: a Service port name whose prefix is no protocol Istio knows.

use super::{Context, Sink};
use crate::istio::PortClass;
use crate::model::Service;

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    for object in cx.definitions() {
        let Some(service) = Service::of(object) else {
            continue;
        };
        for port in &service.ports {
            let PortClass::Unknown { prefix, suggestion } = cx.profile.classify_port(port) else {
                continue;
            };
            let name = port.name().unwrap_or("");
            let d = sink.report(
                object,
                port.span(),
                format!(
                    "port name `{name}` does not start with a protocol Istio recognises, so its traffic is plain TCP"
                ),
            );
            d.primary.message = format!("`{prefix}` is not a protocol");
            d.help = Some(match suggestion {
                Some(fixed) => format!("rename the port to `{fixed}`"),
                None => format!(
                    "name the port `<protocol>[-<suffix>]` with one of {}, or `tcp-{name}` if plain TCP is intended",
                    cx.profile.protocols().join(", ")
                ),
            });
        }
    }
}
