//! `unknown-port-protocol`: a Service port name whose prefix is no protocol Istio knows.

use super::{Context, Sink};
use crate::istio::{PortClass, Profile, ports};
use crate::model::Service;

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    for (s, object) in cx.indexed_definitions() {
        let Some(service) = Service::of(object) else {
            continue;
        };
        if !cx.judges_port_names(object, &service) {
            continue;
        }
        for port in &service.ports {
            let PortClass::Unknown { prefix, suggestion } = cx.profile.classify_port(port) else {
                continue;
            };
            let name = port.name().unwrap_or("");
            let message = match cx.profile {
                Profile::Istio02 => format!(
                    "port name `{name}` does not start with a protocol Istio 0.2 recognises, so its traffic is plain TCP"
                ),
                Profile::Modern => format!(
                    "port name `{name}` does not start with a protocol Istio recognises, so Istio detects its protocol by sniffing the traffic"
                ),
            };
            let d = sink.report(object, port.span(), message);
            d.primary.message = format!("`{prefix}` is not a protocol");
            d.help = Some(if let Some(fixed) = suggestion {
                format!("rename the port to `{fixed}`")
            } else {
                let advice = ports::advise(cx.profile, name, port, &cx.container_port_names(s, port));
                super::unnamed_service_port::help(cx.profile, &advice)
            });
        }
    }
}
