//! The 0.2 injection decision for one workload, in SEMANTICS.md section 2's order, with
//! the reason and the place that decided it. `audit`, the injection rules and `inject`
//! all ask this one function.

use crate::diag::Label;
use crate::istio::config::{InjectConfig, Policy, Source};
pub use crate::istio::{
    Decision, Engine, INJECT_ANNOTATION, Outcome, PROXY_CONTAINER, Reason, STATUS_ANNOTATION, already_injected_by,
};
use crate::model::{Object, PodTemplate};

/// Namespaces the 0.2 initializer never touches.
pub const EXEMPT_NAMESPACES: &[&str] = &["kube-system", "kube-public", "istio-system"];
/// Kinds `istioctl kube-inject` rewrites (0.2, plus CronJob).
pub const KUBE_INJECT_KINDS: &[&str] =
    &["Deployment", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "StatefulSet", "CronJob"];

/// Who decides: the cluster's initializer, or manual `kube-inject`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Initializer,
    KubeInject,
}

/// Whether an inject annotation value means "inject" to the 0.2 initializer.
#[must_use]
pub fn annotation_injects(value: &str) -> bool {
    matches!(value.to_ascii_lowercase().as_str(), "true" | "y" | "yes" | "on")
}

/// Whether the workload already runs a sidecar, as Istio 0.2 tells: the status annotation
/// on the workload's metadata, or a container named `istio-proxy` in its pod template.
#[must_use]
pub fn already_injected(object: &Object<'_>, template: &PodTemplate<'_>) -> Option<Decision> {
    already_injected_by(object, template, object.annotations(), false)
}

fn source_label(source: Option<&Source>, message: &str) -> Option<Label> {
    source.map(|s| s.label(message))
}

/// The decision of the 0.2 initializer (or of `kube-inject`) for one workload.
#[must_use]
pub fn decide(config: &InjectConfig, object: &Object<'_>, template: &PodTemplate<'_>, mode: Mode) -> Decision {
    use Outcome::{Injected, NotInjected};
    if let Some(d) = already_injected(object, template) {
        return d;
    }
    let kind_label = || Some(Label::new(object.file, object.kind_span(), "kind"));
    if mode == Mode::Initializer && config.initializer_configuration.is_some() && config.resources.value.is_empty() {
        // The initializer is there, and its rules list no resource: nothing is sent to it.
        if let Some(list) = &config.resources.source {
            let detail = format!(
                "the InitializerConfiguration's initializer `{}` lists no resources: a {} is never initialized",
                config.initializer_name.value, object.kind
            );
            return Decision::new(NotInjected, Reason::KindNotInitialized, detail, Some(list.label("no resources")));
        }
        let detail = format!(
            "`initializerName` `{}` matches no initializer of the InitializerConfiguration",
            config.initializer_name.value
        );
        let label = source_label(config.initializer_name.source.as_ref(), "initializer name");
        return Decision::new(NotInjected, Reason::InitializerNotRunning, detail, label);
    }
    match mode {
        Mode::Initializer if !config.initializes_kind(object.kind) => {
            let detail = format!(
                "the InitializerConfiguration sends only {} to the initializer: a {} is never initialized",
                config.resources.value.join(", "),
                object.kind
            );
            return Decision::new(NotInjected, Reason::KindNotInitialized, detail, kind_label());
        }
        Mode::KubeInject if !KUBE_INJECT_KINDS.contains(&object.kind) => {
            let detail = format!("kube-inject does not rewrite a {}", object.kind);
            return Decision::new(NotInjected, Reason::KindNotInitialized, detail, kind_label());
        }
        _ => {}
    }
    let namespace = object.effective_namespace;
    if mode == Mode::Initializer {
        if let Some(broken) = &config.broken {
            let detail = format!("the initializer refuses to start: {}", broken.value);
            let label = source_label(broken.source.as_ref(), "the configuration error");
            return Decision::new(NotInjected, Reason::InitializerNotRunning, detail, label);
        }
    }
    if EXEMPT_NAMESPACES.contains(&namespace) {
        let detail = format!("namespace `{namespace}` is exempt from injection");
        let label =
            object.node.path(&["metadata", "namespace"]).map(|n| Label::new(object.file, n.span(), "namespace"));
        return Decision::new(NotInjected, Reason::ExemptNamespace, detail, label);
    }
    if mode == Mode::Initializer {
        if let Some(d) = namespace_decision(config, object) {
            return d;
        }
        if config.policy.value == Policy::Off {
            let label = source_label(config.policy.source.as_ref(), "policy");
            return Decision::new(NotInjected, Reason::PolicyOff, "the injection policy is `off`", label);
        }
    }
    if let Some((key, value)) = object.annotations().and_then(|a| a.get_entry(INJECT_ANNOTATION)) {
        let raw = value.scalar().unwrap_or("");
        let label = Some(Label::new(object.file, key.span().start..value.span().end, "inject annotation"));
        if !annotation_injects(raw) {
            let detail = format!("annotation `{INJECT_ANNOTATION}: \"{raw}\"` opts out");
            return Decision::new(NotInjected, Reason::AnnotationNoInject, detail, label);
        }
        if let Some(d) = host_network(object, template) {
            return d;
        }
        let detail = format!("annotation `{INJECT_ANNOTATION}: \"{raw}\"` opts in");
        return Decision::new(Injected, Reason::AnnotationInject, detail, label);
    }
    if let Some(d) = host_network(object, template) {
        if mode == Mode::KubeInject || config.policy.value == Policy::Enabled {
            return d;
        }
    }
    let policy = if mode == Mode::KubeInject { Policy::Enabled } else { config.policy.value };
    let label = if mode == Mode::KubeInject { None } else { source_label(config.policy.source.as_ref(), "policy") };
    match policy {
        Policy::Disabled => Decision::new(
            NotInjected,
            Reason::PolicyDisabled,
            "the injection policy is `disabled` and the workload does not opt in",
            label,
        ),
        _ => Decision::new(Injected, Reason::PolicyEnabled, "the injection policy is `enabled`", label),
    }
}

fn host_network(object: &Object<'_>, template: &PodTemplate<'_>) -> Option<Decision> {
    let (key, value) = template.spec()?.get_entry("hostNetwork")?;
    if value.as_bool() != Some(true) {
        return None;
    }
    let label = Label::new(object.file, key.span().start..value.span().end, "hostNetwork");
    Some(Decision::new(
        Outcome::NotInjected,
        Reason::HostNetwork,
        "the pod uses `hostNetwork: true`, which Istio never injects",
        Some(label),
    ))
}

fn namespace_decision(config: &InjectConfig, object: &Object<'_>) -> Option<Decision> {
    let namespace = object.effective_namespace;
    if let Some(entry) = config.exclude_namespaces.iter().find(|n| n.value == namespace) {
        let detail = format!("namespace `{namespace}` is in `excludeNamespaces`");
        let label = source_label(entry.source.as_ref(), "excluded here");
        return Some(Decision::new(Outcome::NotInjected, Reason::NamespaceExcluded, detail, label));
    }
    let watched = config.namespaces.iter().any(|n| n.value.is_empty() || n.value == namespace);
    if !watched {
        let names: Vec<String> = config.namespaces.iter().map(|n| n.value.clone()).collect();
        let detail =
            format!("namespace `{namespace}` is not among the watched `namespaces` ({})", list_or_none(&names));
        let label = config.namespaces.first().and_then(|n| source_label(n.source.as_ref(), "watched namespaces"));
        return Some(Decision::new(Outcome::NotInjected, Reason::NamespaceNotWatched, detail, label));
    }
    None
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() { "nothing".to_owned() } else { items.join(", ") }
}
