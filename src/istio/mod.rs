//! Istio profiles: everything that differs between Istio releases lives here, read by
//! the rules, `audit` and the injector rather than copied into them: the protocol table
//! of Service port names, exempt namespaces, Service membership, and (in submodules)
//! the injection configuration, decision engines and sidecar template.

pub mod config;
pub mod decide;
pub mod modern;
pub mod ports;
pub mod registry;
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
    /// Istio 1.20 and later: the mutating webhook and istiod.
    #[value(name = "istio-modern")]
    #[serde(rename = "istio-modern")]
    Modern,
}

impl Profile {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Profile::Istio02 => "istio-0.2",
            Profile::Modern => "istio-modern",
        }
    }

    /// Namespaces whose workloads are never part of the mesh.
    #[must_use]
    pub fn exempt_namespaces(self) -> &'static [&'static str] {
        match self {
            Profile::Istio02 => decide::EXEMPT_NAMESPACES,
            Profile::Modern => modern::IGNORED_NAMESPACES,
        }
    }

    /// Whether Istio rejects a pod selected by several Services.
    #[must_use]
    pub fn single_service_only(self) -> bool {
        match self {
            Profile::Istio02 => true,
            Profile::Modern => false,
        }
    }

    /// The protocol prefixes that give a port Istio's routing features.
    #[must_use]
    pub fn protocols(self) -> &'static [&'static str] {
        match self {
            // pilot/model/service.go of 0.2: matched case-sensitively.
            Profile::Istio02 => &["http", "http2", "https", "grpc", "mongo", "redis"],
            // pkg/config/protocol: matched case-insensitively; `grpc-web` as a whole prefix.
            Profile::Modern => &[
                "tcp",
                "udp",
                "grpc",
                "grpc-web",
                "http",
                "http_proxy",
                "http2",
                "https",
                "tls",
                "mongo",
                "redis",
                "mysql",
            ],
        }
    }

    /// How Istio reads a Service port.
    #[must_use]
    pub fn classify_port(self, port: &ServicePort<'_>) -> PortClass {
        if port.protocol().eq_ignore_ascii_case("UDP") {
            return PortClass::Udp;
        }
        if self == Profile::Modern {
            return self.classify_modern(port);
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

    /// Modern Istio: `appProtocol` replaces the name; a case-insensitive prefix; the
    /// well-known TCP ports count as TCP; anything else is auto-detected.
    fn classify_modern(self, port: &ServicePort<'_>) -> PortClass {
        let known = |p: &str| self.protocols().contains(&p);
        // `appProtocol` replaces the name (Kubernetes' `kubernetes.io/h2c`, `ws`, `wss`
        // included), and istioctl analyze does not judge the name of such a port.
        if port.app_protocol.and_then(|a| a.scalar()).is_some_and(|a| !a.is_empty()) {
            return PortClass::Protocol;
        }
        let number = port.port.and_then(|p| p.as_i64());
        let well_known = number.is_some_and(|n| [25, 53, 3306, 27017].contains(&n));
        let Some(name) = port.name() else {
            return if well_known { PortClass::Protocol } else { PortClass::Unnamed };
        };
        let lower = name.to_ascii_lowercase();
        if lower.starts_with("grpc-web") {
            return PortClass::Protocol;
        }
        let prefix = lower.split('-').next().unwrap_or(&lower);
        if known(prefix) || well_known {
            return PortClass::Protocol;
        }
        PortClass::Unknown {
            prefix: name.split('-').next().unwrap_or(name).to_owned(),
            suggestion: self.suggest_port_name(name),
        }
    }

    /// The istioctl analyze code of a rule's findings under this profile, when it has one
    /// (`image-auto-without-injection` sets its own: IST0146 for a workload, IST0147 for a
    /// Pod).
    #[must_use]
    pub fn istio_code(self, rule: &str) -> Option<&'static str> {
        if self != Profile::Modern {
            return None;
        }
        Some(match rule {
            "unnamed-service-port" | "unknown-port-protocol" => "IST0118",
            "pod-in-multiple-services" => "IST0116",
            "misplaced-inject-annotation" => "IST0107",
            "namespace-multiple-injection-labels" => "IST0123",
            "namespace-not-injected" => "IST0102",
            "namespace-injected-by-default" => "IST0148",
            "proxy-uid-conflict" => "IST0144",
            "external-name-port" => "IST0150",
            _ => return None,
        })
    }

    /// The level of a finding of `rule` under this profile, when the profile sets it:
    /// under modern Istio, a rule that carries an `istioctl analyze` code has that
    /// message's level.
    #[must_use]
    pub fn level(self, rule: &str) -> Option<crate::diag::Severity> {
        analyzer_level(self.istio_code(rule)?)
    }

    /// A corrected name for a port whose name nearly follows `<protocol>[-<suffix>]`.
    fn suggest_port_name(self, name: &str) -> Option<String> {
        let lower = name.to_ascii_lowercase();
        let prefix = lower.split('-').next().unwrap_or(&lower);
        if self.protocols().contains(&prefix) {
            // Wrong case only: `HTTP-web` (modern Istio ignores case, 0.2 does not).
            return (self == Profile::Istio02).then_some(lower);
        }
        // The longest protocol that starts the name without its dash: `http2foo`.
        let proto = self.protocols().iter().filter(|p| lower.starts_with(**p)).max_by_key(|p| p.len())?;
        let rest = lower[proto.len()..].trim_start_matches(['_', '.']);
        Some(if rest.is_empty() { (*proto).to_owned() } else { format!("{proto}-{rest}") })
    }
}

/// The `istioctl analyze` messages meshlint emits, with their levels, as Istio's
/// `messages.yaml` defines them (`tests/analyzer_codes.rs` compares this table with it).
pub const ANALYZER_MESSAGES: &[(&str, &str, crate::diag::Severity)] = {
    use crate::diag::Severity::{Error, Info, Warning};
    &[
        ("IST0102", "NamespaceNotInjected", Info),
        ("IST0107", "MisplacedAnnotation", Warning),
        ("IST0116", "DeploymentAssociatedToMultipleServices", Warning),
        ("IST0118", "PortNameIsNotUnderNamingConvention", Info),
        ("IST0123", "NamespaceMultipleInjectionLabels", Warning),
        ("IST0135", "DeprecatedAnnotation", Info),
        ("IST0137", "DeploymentConflictingPorts", Warning),
        ("IST0144", "InvalidApplicationUID", Warning),
        ("IST0146", "ImageAutoWithoutInjectionWarning", Warning),
        ("IST0147", "ImageAutoWithoutInjectionError", Error),
        ("IST0148", "NamespaceInjectionEnabledByDefault", Info),
        ("IST0150", "ExternalNameServiceTypeInvalidPortName", Warning),
    ]
};

/// The level of an `istioctl analyze` message.
#[must_use]
pub fn analyzer_level(code: &str) -> Option<crate::diag::Severity> {
    ANALYZER_MESSAGES.iter().find(|(c, _, _)| *c == code).map(|(_, _, level)| *level)
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
