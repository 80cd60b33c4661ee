//! Istio profiles: everything that differs between Istio releases lives here, read by
//! the rules (and later the injector) rather than copied into them. Today: the protocol
//! table of Service port names.

pub mod config;
pub mod decide;
pub mod template;

use serde::Serialize;

use crate::model::ServicePort;

/// The Istio behaviour meshlint reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
pub enum Profile {
    /// Istio 0.2: the Initializer and `istioctl kube-inject` of that release.
    #[value(name = "istio-0.2")]
    #[serde(rename = "istio-0.2")]
    Istio02,
}

impl Profile {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Profile::Istio02 => "istio-0.2",
        }
    }

    /// Namespaces whose workloads are never part of the mesh.
    #[must_use]
    pub fn exempt_namespaces(self) -> &'static [&'static str] {
        match self {
            Profile::Istio02 => decide::EXEMPT_NAMESPACES,
        }
    }

    /// Whether Istio rejects a pod selected by several Services.
    #[must_use]
    pub fn single_service_only(self) -> bool {
        match self {
            Profile::Istio02 => true,
        }
    }

    /// The protocol prefixes that give a port Istio's routing features.
    #[must_use]
    pub fn protocols(self) -> &'static [&'static str] {
        match self {
            // pilot/model/service.go of 0.2: matched case-sensitively.
            Profile::Istio02 => &["http", "http2", "https", "grpc", "mongo", "redis"],
        }
    }

    /// How Istio reads a Service port.
    #[must_use]
    pub fn classify_port(self, port: &ServicePort<'_>) -> PortClass {
        if port.protocol().eq_ignore_ascii_case("UDP") {
            return PortClass::Udp;
        }
        let Some(name) = port.name() else {
            return PortClass::Unnamed;
        };
        let prefix = name.split('-').next().unwrap_or(name);
        if self.protocols().contains(&prefix) {
            return PortClass::Protocol;
        }
        if prefix == "tcp" || prefix == "udp" {
            return PortClass::PlainIntent;
        }
        PortClass::Unknown { prefix: prefix.to_owned(), suggestion: self.suggest_port_name(name) }
    }

    /// A corrected name for a port whose name nearly follows `<protocol>[-<suffix>]`.
    fn suggest_port_name(self, name: &str) -> Option<String> {
        let lower = name.to_ascii_lowercase();
        let prefix = lower.split('-').next().unwrap_or(&lower);
        if self.protocols().contains(&prefix) {
            // Wrong case only: `HTTP-web`.
            return Some(lower);
        }
        // The longest protocol that starts the name without its dash: `http2foo`.
        let proto = self.protocols().iter().filter(|p| lower.starts_with(**p)).max_by_key(|p| p.len())?;
        let rest = lower[proto.len()..].trim_start_matches(['_', '.']);
        Some(if rest.is_empty() { (*proto).to_owned() } else { format!("{proto}-{rest}") })
    }
}

/// What Istio makes of a Service port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortClass {
    /// A recognised protocol prefix.
    Protocol,
    /// `protocol: UDP`: UDP whatever the name.
    Udp,
    /// A TCP port with no name: plain TCP.
    Unnamed,
    /// A `tcp`/`udp` prefix: plain traffic on purpose.
    PlainIntent,
    /// An unrecognised prefix: plain TCP.
    Unknown { prefix: String, suggestion: Option<String> },
}
