//! `external-name-port`: a port of an `ExternalName` Service whose name gives no
//! protocol Istio can forward by, or says plain TCP (modern profile, IST0150).

use super::{Context, Sink};
use crate::istio::Profile;
use crate::model::Service;

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    if cx.profile != Profile::Modern {
        return;
    }
    for object in cx.definitions() {
        let Some(service) = Service::of(object).filter(|s| s.service_type == Some("ExternalName")) else {
            continue;
        };
        for (i, port) in service.ports.iter().enumerate() {
            let app = port.app_protocol.and_then(|a| a.scalar()).map(str::to_ascii_lowercase);
            let name = port.name().map(str::to_ascii_lowercase);
            let word = app.or(name);
            let prefix = word
                .as_deref()
                .map(|w| if w.starts_with("grpc-web") { "grpc-web" } else { w.split('-').next().unwrap_or(w) });
            let supported =
                prefix.is_some_and(|p| Profile::Modern.protocols().contains(&p) && p != "tcp" && p != "udp");
            if supported || port.protocol().eq_ignore_ascii_case("UDP") {
                continue;
            }
            let number = port.port.and_then(|p| p.scalar()).filter(|n| !n.is_empty());
            let label = super::unnamed_service_port::port_label(i, number);
            let what = match prefix {
                None => "has no name".to_owned(),
                Some("tcp") => "is named as plain TCP".to_owned(),
                Some(p) => format!("is named with `{p}`, which is no protocol Istio supports"),
            };
            let d = sink.report(
                object,
                port.span(),
                format!(
                    "{label} of ExternalName Service `{}` {what}: the proxy may not forward TCP traffic to the external name correctly",
                    object.name.unwrap_or("")
                ),
            );
            d.primary.message = format!("{label} of an ExternalName Service");
            d.help = Some(
                "name the port with the protocol it carries (`http-`, `https-`, `tls-`, `grpc-`, `mongo-`, `redis-`, `mysql-`), or set `appProtocol`"
                    .into(),
            );
        }
    }
}
