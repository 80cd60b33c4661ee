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

use crate::diag::Label;
use crate::model::{Object, PodTemplate, ServicePort};

/// The 0.2 initializer's configuration: ConfigMap `istio-inject` of `istio-system`.
pub const INJECT_CONFIG_MAP: &str = "istio-inject";
/// The mesh configuration the 0.2 sidecar template reads: ConfigMap `istio`.
pub const MESH_CONFIG_MAP: &str = "istio";
/// The modern webhook's template and values: ConfigMaps `istio-sidecar-injector[-REV]`.
pub const INJECTOR_CONFIG_MAP_PREFIX: &str = "istio-sidecar-injector";

/// Whether an object is one of the ConfigMaps of `istio-system` that injection is read
/// from (any profile): it decides how every workload is judged.
#[must_use]
pub fn is_injection_config_map(o: &Object<'_>) -> bool {
    o.kind == "ConfigMap"
        && o.namespace == Some("istio-system")
        && o.name.is_some_and(|n| {
            n == INJECT_CONFIG_MAP || n == MESH_CONFIG_MAP || n.starts_with(INJECTOR_CONFIG_MAP_PREFIX)
        })
}

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

// ---------------------------------------------------------------------------------------
// The decision both profiles make, and the engine that asks the run's profile.

pub const INJECT_ANNOTATION: &str = "sidecar.istio.io/inject";
pub const STATUS_ANNOTATION: &str = "sidecar.istio.io/status";
pub const PROXY_CONTAINER: &str = "istio-proxy";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Injected,
    NotInjected,
    AlreadyInjected,
}

impl Outcome {
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Injected => "injected",
            Outcome::NotInjected => "not-injected",
            Outcome::AlreadyInjected => "already-injected",
        }
    }

    #[must_use]
    pub fn text(self) -> &'static str {
        match self {
            Outcome::Injected => "injected",
            Outcome::NotInjected => "not injected",
            Outcome::AlreadyInjected => "already injected",
        }
    }
}

/// Why; `code()` is the stable kebab-case name used in JSON and CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    StatusAnnotation,
    ProxyContainer,
    KindNotInitialized,
    InitializerNotRunning,
    ExemptNamespace,
    NamespaceExcluded,
    NamespaceNotWatched,
    PolicyOff,
    AnnotationInject,
    AnnotationNoInject,
    HostNetwork,
    PolicyEnabled,
    PolicyDisabled,
    PodLabelNoInject,
    RevisionUnknown,
    NeverInjectSelector,
    AlwaysInjectSelector,
}

impl Reason {
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Reason::StatusAnnotation => "status-annotation",
            Reason::ProxyContainer => "proxy-container",
            Reason::KindNotInitialized => "kind-not-initialized",
            Reason::InitializerNotRunning => "initializer-not-running",
            Reason::ExemptNamespace => "exempt-namespace",
            Reason::NamespaceExcluded => "namespace-excluded",
            Reason::NamespaceNotWatched => "namespace-not-watched",
            Reason::PolicyOff => "policy-off",
            Reason::AnnotationInject => "annotation-inject",
            Reason::AnnotationNoInject => "annotation-no-inject",
            Reason::HostNetwork => "host-network",
            Reason::PolicyEnabled => "policy-enabled",
            Reason::PolicyDisabled => "policy-disabled",
            Reason::PodLabelNoInject => "pod-label-no-inject",
            Reason::RevisionUnknown => "revision-unknown",
            Reason::NeverInjectSelector => "never-inject-selector",
            Reason::AlwaysInjectSelector => "always-inject-selector",
        }
    }
}

/// The decision for one workload.
#[derive(Debug, Clone)]
pub struct Decision {
    pub outcome: Outcome,
    pub reason: Reason,
    /// Human text: what decided and how.
    pub detail: String,
    /// The input that decided, when it sits in a scanned file.
    pub evidence: Option<Label>,
}

impl Decision {
    #[must_use]
    pub fn new(outcome: Outcome, reason: Reason, detail: impl Into<String>, evidence: Option<Label>) -> Self {
        Self { outcome, reason, detail: detail.into(), evidence }
    }
}

/// Whether a workload already runs a sidecar: the status annotation in `status_on` (the
/// workload's metadata for Istio 0.2, the pod template's for the webhook), or a
/// container named `istio-proxy` in the pod template, unless it is the webhook's
/// `image: auto` placeholder when `auto_is_placeholder`.
#[must_use]
pub fn already_injected_by(
    object: &Object<'_>,
    template: &PodTemplate<'_>,
    status_on: Option<crate::yaml::NodeRef<'_>>,
    auto_is_placeholder: bool,
) -> Option<Decision> {
    if let Some((key, value)) = status_on.and_then(|a| a.get_entry(STATUS_ANNOTATION)) {
        let v = value.scalar().unwrap_or("");
        let label = Label::new(object.file, key.span().start..value.span().end, "status annotation");
        return Some(Decision::new(
            Outcome::AlreadyInjected,
            Reason::StatusAnnotation,
            format!("`{STATUS_ANNOTATION}: {v}` is present"),
            Some(label),
        ));
    }
    let proxy = template.containers().find(|c| c.get("name").and_then(|n| n.scalar()) == Some(PROXY_CONTAINER))?;
    if auto_is_placeholder && proxy.get("image").and_then(|i| i.scalar()) == Some("auto") {
        return None;
    }
    let span = proxy.get("name").map_or_else(|| proxy.span(), |n| n.span());
    Some(Decision::new(
        Outcome::AlreadyInjected,
        Reason::ProxyContainer,
        format!("the pod template already has an `{PROXY_CONTAINER}` container"),
        Some(Label::new(object.file, span, "sidecar container")),
    ))
}

/// The decision engine of a run's profile: the one interface `audit`, the rules and
/// `inject` ask.
#[derive(Debug, Clone, Copy)]
pub enum Engine<'a> {
    Initializer(&'a config::InjectConfig, decide::Mode),
    Modern(&'a modern::ModernConfig),
}

impl Engine<'_> {
    #[must_use]
    pub fn decide(&self, object: &Object<'_>, template: &PodTemplate<'_>) -> Decision {
        match self {
            Engine::Initializer(config, mode) => decide::decide(config, object, template, *mode),
            Engine::Modern(config) => modern::decide(config, object, template),
        }
    }
}
