//! `unnamed-service-port`: a TCP Service port without a name.

use super::{Context, Sink};
use crate::istio::{PortClass, Profile, ports};
use crate::model::Service;

/// "the first port", "port 80": how to speak of a port in a label.
#[must_use]
pub fn port_label(index: usize, number: Option<&str>) -> String {
    if let Some(n) = number {
        format!("port {n}")
    } else {
        let ordinal = ["first", "second", "third", "fourth", "fifth"].get(index).copied();
        ordinal.map_or_else(|| format!("port number {} in the list", index + 1), |o| format!("the {o} port"))
    }
}

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    for (s, object) in cx.indexed_definitions() {
        let Some(service) = Service::of(object) else {
            continue;
        };
        if !cx.judges_port_names(object, &service) {
            continue;
        }
        let service_name = object.name.unwrap_or("");
        for (i, port) in service.ports.iter().enumerate() {
            if cx.profile.classify_port(port) != PortClass::Unnamed {
                continue;
            }
            let number = port.port.and_then(|p| p.scalar()).filter(|n| !n.is_empty());
            let label = port_label(i, number);
            let message = match cx.profile {
                Profile::Istio02 => format!(
                    "{label} of Service `{service_name}` has no name, so Istio 0.2 treats its traffic as plain TCP"
                ),
                Profile::Modern => format!(
                    "{label} of Service `{service_name}` has no name, so Istio detects its protocol by sniffing the traffic"
                ),
            };
            let d = sink.report(object, port.span(), message);
            d.primary.message = format!("{label} has no `name`");
            // Several ports need distinct names: the Service's name and the port number.
            let suffix = match number {
                Some(n) if service.ports.len() > 1 => format!("{service_name}-{n}"),
                _ => service_name.to_owned(),
            };
            let advice = ports::advise(cx.profile, &suffix, port, &cx.container_port_names(s, port));
            d.help = Some(help(cx.profile, &advice));
        }
    }
}

/// The help of a port finding: the advice, its evidence, and what the profile does.
#[must_use]
pub fn help(profile: Profile, advice: &ports::Advice) -> String {
    let cost = match profile {
        Profile::Istio02 => "",
        Profile::Modern => {
            "; until then, a server-first protocol (MySQL, SMTP) can stall and the first bytes of each connection wait up to the detection timeout"
        }
    };
    format!(
        "name it `{}` ({}){cost}; port names are `<protocol>[-<suffix>]` with one of {}",
        advice.name,
        advice.because,
        profile.protocols().join(", ")
    )
}
