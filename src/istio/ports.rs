//! What to name a Service port: advice from evidence, never a guess that would put a
//! database behind Envoy's HTTP codec. In order: the name of the target port, the names
//! of the selected containers' matching ports, `appProtocol`, the well-known port
//! numbers; each mapped onto the profile's own protocol list (a protocol the profile
//! does not know becomes `tcp-<protocol>`). With no evidence, `tcp-<service>`.

use super::Profile;
use crate::model::ServicePort;

/// A suggested port name and the evidence for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advice {
    pub name: String,
    /// Why, for the help text: "27017 is `MongoDB`'s port".
    pub because: String,
}

/// Well-known port numbers and the protocol they carry.
const WELL_KNOWN: &[(i64, &str, &str)] = &[
    (80, "http", "HTTP's"),
    (8080, "http", "the usual HTTP alternative"),
    (443, "https", "HTTPS's"),
    (8443, "https", "the usual HTTPS alternative"),
    (50051, "grpc", "gRPC's usual"),
    (27017, "mongo", "MongoDB's"),
    (6379, "redis", "Redis's"),
    (3306, "mysql", "MySQL's"),
    (5432, "postgres", "PostgreSQL's"),
    (9042, "cassandra", "Cassandra's"),
    (2181, "zookeeper", "ZooKeeper's"),
    (9092, "kafka", "Kafka's"),
    (5672, "amqp", "AMQP's"),
    (4222, "nats", "NATS's"),
    (11211, "memcached", "memcached's"),
    (25, "smtp", "SMTP's"),
    (53, "dns", "DNS's"),
];

/// The protocol a word names (a port name, its prefix, an `appProtocol`), if any.
fn protocol_of(word: &str) -> Option<&'static str> {
    let lower = word.to_ascii_lowercase();
    let lower = lower.strip_prefix("kubernetes.io/").unwrap_or(&lower);
    if lower.starts_with("grpc-web") {
        return Some("grpc-web");
    }
    let prefix = lower.split(['-', '_']).next().unwrap_or(lower);
    Some(match prefix {
        "http" | "web" | "metrics" | "ws" => "http",
        "http2" | "h2c" => "http2",
        "https" | "wss" => "https",
        "grpc" => "grpc",
        "tls" => "tls",
        "tcp" => "tcp",
        "udp" => "udp",
        "mongo" | "mongodb" => "mongo",
        "redis" => "redis",
        "mysql" | "mariadb" => "mysql",
        "postgres" | "postgresql" | "pg" => "postgres",
        "cassandra" | "cql" => "cassandra",
        "zookeeper" | "zk" => "zookeeper",
        "kafka" => "kafka",
        "amqp" => "amqp",
        "nats" => "nats",
        "memcached" => "memcached",
        _ => return None,
    })
}

/// A name on the profile's list for `protocol`, with `suffix`: the protocol itself when
/// the profile knows it, else `tcp-<protocol>` (plain TCP, which is what Istio does with
/// a protocol it cannot parse). `http_proxy` and the like are never suggested.
fn name_for(profile: Profile, protocol: &str, suffix: &str) -> String {
    let known = profile.protocols().contains(&protocol) && protocol != "tcp";
    if known {
        if suffix.is_empty() { protocol.to_owned() } else { format!("{protocol}-{suffix}") }
    } else if protocol == "tcp" || protocol == "udp" {
        format!("tcp-{suffix}")
    } else {
        format!("tcp-{protocol}")
    }
}

/// Whether a name already follows `<protocol>[-<suffix>]` for the profile.
fn valid_for(profile: Profile, name: &str) -> bool {
    let prefix = name.split('-').next().unwrap_or(name);
    match profile {
        Profile::Istio02 => profile.protocols().contains(&prefix) || prefix == "tcp",
        Profile::Modern => {
            let lower = prefix.to_ascii_lowercase();
            profile.protocols().contains(&lower.as_str()) || name.to_ascii_lowercase().starts_with("grpc-web")
        }
    }
}

/// The advice for `port`, whose selected containers name the matching container port as
/// in `container_ports` (name, workload). `suffix` follows the protocol in the name (the
/// port's current name, or the Service's name), so that a Service's ports keep distinct
/// names.
#[must_use]
pub fn advise(profile: Profile, suffix: &str, port: &ServicePort<'_>, container_ports: &[(String, String)]) -> Advice {
    let suffix = if suffix.is_empty() { "port" } else { suffix };
    let from_name = |word: &str, because: String| -> Option<Advice> {
        let protocol = protocol_of(word)?;
        let name = if valid_for(profile, word) { word.to_owned() } else { name_for(profile, protocol, suffix) };
        Some(Advice { name, because })
    };
    // The port's own name, when it names a protocol by another word (`mysql` under 0.2,
    // `postgresql`).
    if let Some(own) = port.name() {
        if let Some(advice) = from_name(own, format!("its name says `{own}`")) {
            return advice;
        }
    }
    let target = port.target_port.and_then(|t| t.scalar()).filter(|t| t.parse::<i64>().is_err());
    if let Some(advice) = target.and_then(|t| from_name(t, format!("its target port is named `{t}`"))) {
        return advice;
    }
    for (name, workload) in container_ports {
        if let Some(advice) = from_name(name, format!("the container port of {workload} is named `{name}`")) {
            return advice;
        }
    }
    if let Some(app) = port.app_protocol.and_then(|a| a.scalar()).filter(|a| !a.is_empty()) {
        if let Some(advice) = from_name(app, format!("its `appProtocol` is `{app}`")) {
            return advice;
        }
    }
    let number = port.port.and_then(|p| p.as_i64());
    if let Some(&(n, protocol, whose)) = number.and_then(|n| WELL_KNOWN.iter().find(|(k, _, _)| *k == n)) {
        let name = if ["http", "https", "grpc", "redis", "mongo"].contains(&protocol) {
            name_for(profile, protocol, suffix)
        } else {
            name_for(profile, protocol, "")
        };
        return Advice { name, because: format!("{n} is {whose} port") };
    }
    Advice {
        name: format!("tcp-{suffix}"),
        because: "nothing says which protocol it carries; `http-` is right only for HTTP traffic".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_profiles_list() {
        assert_eq!(name_for(Profile::Istio02, "mysql", ""), "tcp-mysql");
        assert_eq!(name_for(Profile::Modern, "mysql", ""), "mysql");
        assert_eq!(name_for(Profile::Istio02, "postgres", ""), "tcp-postgres");
        assert_eq!(name_for(Profile::Modern, "postgres", ""), "tcp-postgres");
        assert_eq!(name_for(Profile::Istio02, "tls", "web"), "tcp-tls");
        assert_eq!(name_for(Profile::Modern, "grpc", "api"), "grpc-api");
    }
}
