//! The modern profile (Istio 1.20 and later, mutating webhook), SEMANTICS.md section 6:
//! the inputs (Namespace labels, webhook revisions and tags, the `istio-sidecar-injector`
//! ConfigMap) and the two-stage decision. Reasons and outcomes are the
//! shared ones of `istio`, so `audit` and the rules read both profiles alike.

use std::collections::{BTreeMap, BTreeSet};

use crate::diag::Label;
use crate::istio::config::{Policy, Source};
use crate::istio::{Decision, Outcome, Reason, already_injected_by};
use crate::model::{Index, Object, PodTemplate};
use crate::yaml::{self, NodeRef};

pub const INJECTION_LABEL: &str = "istio-injection";
pub const REV_LABEL: &str = "istio.io/rev";
pub const INJECT_LABEL: &str = "sidecar.istio.io/inject";
/// Namespaces istiod never injects.
pub const IGNORED_NAMESPACES: &[&str] = &["kube-system", "kube-public", "kube-node-lease", "local-path-storage"];

/// An Istio release, for the parsing of inject values that changed in 1.27.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
}

impl Version {
    /// The newest behaviour meshlint knows.
    pub const NEWEST: Version = Version { major: 1, minor: 28 };
    /// From this release on, the proxy is injected as a native sidecar by default.
    pub const NATIVE_SIDECARS: Version = Version { major: 1, minor: 27 };

    /// `1.27` or `1.27.3`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim_start_matches('v').split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(Self { major, minor })
    }

    /// 1.27 and later accept exactly `true`/`false` and treat anything else as unset.
    #[must_use]
    pub fn strict_values(self) -> bool {
        self >= Version { major: 1, minor: 27 }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// How an inject label or annotation value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    Yes,
    No,
    Unset,
}

/// Read a `sidecar.istio.io/inject` value as istiod of `version` does.
#[must_use]
pub fn read_value(raw: &str, version: Version) -> Value {
    if version.strict_values() {
        return match raw {
            "true" => Value::Yes,
            "false" => Value::No,
            _ => Value::Unset,
        };
    }
    match raw.to_ascii_lowercase().as_str() {
        "y" | "yes" | "true" | "on" => Value::Yes,
        // An empty value falls back to the defaults, as no value does.
        "" => Value::Unset,
        _ => Value::No,
    }
}

/// A Kubernetes label selector (`matchLabels` and `matchExpressions`).
#[derive(Debug, Clone, Default)]
pub struct Selector {
    pub match_labels: Vec<(String, String)>,
    pub expressions: Vec<(String, String, Vec<String>)>,
    pub source: Option<Source>,
}

impl Selector {
    fn read(node: NodeRef<'_>, source: Option<Source>) -> Self {
        let match_labels = node
            .get("matchLabels")
            .into_iter()
            .flat_map(NodeRef::entries)
            .filter_map(|(k, v)| Some((k.scalar()?.to_owned(), v.scalar()?.to_owned())))
            .collect();
        let expressions = node
            .get("matchExpressions")
            .into_iter()
            .flat_map(NodeRef::items)
            .filter_map(|e| {
                let key = e.get("key")?.scalar()?.to_owned();
                let op = e.get("operator")?.scalar()?.to_owned();
                let values = e
                    .get("values")
                    .into_iter()
                    .flat_map(NodeRef::items)
                    .filter_map(|v| v.scalar())
                    .map(str::to_owned)
                    .collect();
                Some((key, op, values))
            })
            .collect();
        Self { match_labels, expressions, source }
    }

    /// Whether the labels match (an empty selector matches nothing here, as in istiod's
    /// lists, where each entry is meant to select something).
    #[must_use]
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        if self.match_labels.is_empty() && self.expressions.is_empty() {
            return false;
        }
        self.match_labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            && self.expressions.iter().all(|(k, op, values)| match op.as_str() {
                "In" => labels.get(k).is_some_and(|v| values.contains(v)),
                "NotIn" => labels.get(k).is_none_or(|v| !values.contains(v)),
                "Exists" => labels.contains_key(k),
                "DoesNotExist" => !labels.contains_key(k),
                _ => false,
            })
    }
}

/// A namespace's labels with where each is written.
#[derive(Debug, Clone, Default)]
pub struct NamespaceInfo {
    pub labels: BTreeMap<String, (String, Option<Source>)>,
    /// Where the Namespace object is, when it is in the files.
    pub source: Option<Source>,
}

/// Everything the modern injector decides with.
#[derive(Debug, Clone)]
pub struct ModernConfig {
    pub version: Version,
    pub namespaces: BTreeMap<String, NamespaceInfo>,
    /// Revisions and tags served by webhooks (`default` included).
    pub revisions: BTreeSet<String>,
    pub policy: Option<(String, Option<Source>)>,
    pub never: Vec<Selector>,
    pub always: Vec<Selector>,
    pub enable_namespaces_by_default: bool,
    /// The `istio-sidecar-injector` ConfigMap, when found.
    pub injector: Option<Source>,
}

impl ModernConfig {
    /// Read the inputs from the objects, plus `--namespace-label NS:KEY=VALUE` and
    /// `--revision` values.
    #[must_use]
    pub fn discover(
        index: &Index<'_>,
        version: Version,
        extra_labels: &[(String, String, String)],
        revisions: &[String],
    ) -> Self {
        let mut c = ModernConfig {
            version,
            namespaces: BTreeMap::new(),
            revisions: std::iter::once("default".to_owned()).chain(revisions.iter().cloned()).collect(),
            policy: None,
            never: Vec::new(),
            always: Vec::new(),
            enable_namespaces_by_default: false,
            injector: None,
        };
        for o in index.objects.iter().filter(|o| !o.partial) {
            match o.kind {
                "Namespace" => c.read_namespace(o),
                "MutatingWebhookConfiguration" => c.read_webhook(o),
                "ConfigMap"
                    if o.namespace == Some("istio-system")
                        && o.name.is_some_and(|n| n.starts_with(super::INJECTOR_CONFIG_MAP_PREFIX)) =>
                {
                    c.read_injector(o);
                }
                _ => {}
            }
        }
        for (ns, key, value) in extra_labels {
            c.namespaces.entry(ns.clone()).or_default().labels.insert(key.clone(), (value.clone(), None));
        }
        c
    }

    fn read_namespace(&mut self, o: &Object<'_>) {
        let Some(name) = o.name else { return };
        let info = self.namespaces.entry(name.to_owned()).or_default();
        info.source = Some(Source { file: o.file, range: o.name_span() });
        for (key, v) in o.node.path(&["metadata", "labels"]).into_iter().flat_map(NodeRef::entries) {
            if let (Some(k), Some(value)) = (key.scalar(), v.scalar()) {
                let range = key.span().start..v.span().end;
                info.labels.insert(k.to_owned(), (value.to_owned(), Some(Source { file: o.file, range })));
            }
        }
    }

    fn read_webhook(&mut self, o: &Object<'_>) {
        let is_istio =
            o.node.get("webhooks").into_iter().flat_map(NodeRef::items).any(|w| {
                w.get("name").and_then(|n| n.scalar()).is_some_and(|n| n.contains("sidecar-injector.istio.io"))
            });
        if !is_istio {
            return;
        }
        let labels = o.node.path(&["metadata", "labels"]);
        for key in [REV_LABEL, "istio.io/tag"] {
            if let Some(rev) = labels.and_then(|l| l.get(key)).and_then(|v| v.scalar()) {
                self.revisions.insert(rev.to_owned());
            }
        }
    }

    fn read_injector(&mut self, o: &Object<'_>) {
        self.injector = Some(Source { file: o.file, range: o.name_span() });
        if let Some(text) = o.node.path(&["data", "config"]).and_then(|n| n.scalar()) {
            let stream = yaml::parse_stream(text);
            if let Some(doc) = stream.documents.first() {
                let root = doc.root();
                let at = || o.node.path(&["data", "config"]).map(|n| Source { file: o.file, range: n.span() });
                if let Some(p) = root.get("policy").and_then(|p| p.scalar()) {
                    self.policy = Some((p.to_owned(), at()));
                }
                self.never = root
                    .get("neverInjectSelector")
                    .into_iter()
                    .flat_map(NodeRef::items)
                    .map(|s| Selector::read(s, at()))
                    .collect();
                self.always = root
                    .get("alwaysInjectSelector")
                    .into_iter()
                    .flat_map(NodeRef::items)
                    .map(|s| Selector::read(s, at()))
                    .collect();
            }
        }
        if let Some(text) = o.node.path(&["data", "values"]).and_then(|n| n.scalar()) {
            if let Ok(values) = serde_json::from_str::<serde_json::Value>(text) {
                let flag = values.pointer("/sidecarInjectorWebhook/enableNamespacesByDefault");
                self.enable_namespaces_by_default = flag.and_then(serde_json::Value::as_bool).unwrap_or(false);
            }
        }
    }

    /// The policy as istiod reads it: `enabled`, `disabled`, anything else never injects.
    /// The policy as istiod reads it: `enabled`, `disabled`, and anything else `Off`,
    /// under which nothing is injected whatever the pod says.
    fn policy(&self) -> (Policy, Option<&Source>) {
        match &self.policy {
            None => (Policy::Enabled, None),
            Some((p, s)) if p == "enabled" => (Policy::Enabled, s.as_ref()),
            Some((p, s)) if p == "disabled" => (Policy::Disabled, s.as_ref()),
            Some((_, s)) => (Policy::Off, s.as_ref()),
        }
    }
}

fn label_of(template: &PodTemplate<'_>, key: &str) -> Option<(String, Label)> {
    let (k, v) = template.labels()?.get_entry(key)?;
    Some((v.scalar()?.to_owned(), Label::new(0, k.span().start..v.span().end, "")))
}

fn with_file(label: Option<Label>, file: usize, message: &str) -> Option<Label> {
    label.map(|l| Label::new(file, l.range, message))
}

fn source_label(source: Option<&Source>, message: &str) -> Option<Label> {
    source.map(|s| s.label(message))
}

/// The pod's own say on injection as istiod reads it: the pod label
/// `sidecar.istio.io/inject` (`pod_label`, from `label_of`), else the annotation of that
/// name; its raw value, where it is written, and which of the two it is.
fn explicit(
    file: usize,
    template: &PodTemplate<'_>,
    pod_label: Option<&(String, Label)>,
) -> Option<(String, Label, &'static str)> {
    let annotation = template.annotations().and_then(|a| a.get_entry(INJECT_LABEL)).and_then(|(k, v)| {
        Some((v.scalar()?.to_owned(), Label::new(file, k.span().start..v.span().end, "inject annotation")))
    });
    pod_label
        .map(|(v, l)| (v.clone(), Label::new(file, l.range.clone(), "pod label"), "label"))
        .or_else(|| annotation.map(|(v, l)| (v, l, "annotation")))
}

/// The modern decision for one workload's pods.
#[must_use]
pub fn decide(config: &ModernConfig, object: &Object<'_>, template: &PodTemplate<'_>) -> Decision {
    decide_as(config, object, template, false)
}

/// The decision for a workload's pods were their namespace labelled
/// `istio-injection=enabled`: `NotInjected` when labelling the namespace would not bring
/// them in (they opt out, use `hostNetwork`, live in a namespace istiod never injects,
/// match `neverInjectSelector`, or the policy wants an opt-in they lack).
#[must_use]
pub fn decide_in_enabled_namespace(config: &ModernConfig, object: &Object<'_>, template: &PodTemplate<'_>) -> Decision {
    decide_as(config, object, template, true)
}

/// [`decide`], with the webhooks' namespace selectors taken as matched when
/// `namespace_enabled`.
fn decide_as(
    config: &ModernConfig,
    object: &Object<'_>,
    template: &PodTemplate<'_>,
    namespace_enabled: bool,
) -> Decision {
    use Outcome::{Injected, NotInjected};
    let d = |outcome, reason, detail: String, evidence| Decision { outcome, reason, detail, evidence };
    let file = object.file;
    // The webhook sees the pod: the status annotation on its template; a proxy container
    // with `image: auto` is the placeholder the webhook fills in, not a sidecar.
    if let Some(decision) = already_injected_by(object, template, template.annotations(), true) {
        return decision;
    }
    let ns = object.effective_namespace;
    let pod_label = label_of(template, INJECT_LABEL);
    // A pod label `sidecar.istio.io/inject: "false"` keeps every webhook away.
    if let Some((value, label)) = &pod_label {
        if value == "false" {
            let ev = with_file(Some(label.clone()), file, "pod label");
            return d(NotInjected, Reason::PodLabelNoInject, format!("pod label `{INJECT_LABEL}: \"false\"`"), ev);
        }
    }
    if !namespace_enabled {
        if let Some(decision) = stage_a(config, object, template, pod_label.as_ref()) {
            return decision;
        }
    }
    // Stage B: istiod.
    if let Some((k, v)) =
        template.spec().and_then(|s| s.get_entry("hostNetwork")).filter(|(_, v)| v.as_bool() == Some(true))
    {
        let label = Label::new(file, k.span().start..v.span().end, "hostNetwork");
        return d(
            NotInjected,
            Reason::HostNetwork,
            "the pod uses `hostNetwork: true`, which istiod never injects".into(),
            Some(label),
        );
    }
    if IGNORED_NAMESPACES.contains(&ns) {
        return d(NotInjected, Reason::ExemptNamespace, format!("istiod never injects namespace `{ns}`"), None);
    }
    if let (Policy::Off, s) = config.policy() {
        let raw = config.policy.as_ref().map_or("", |(p, _)| p.as_str());
        return d(
            NotInjected,
            Reason::PolicyOff,
            format!("the injection policy `{raw}` is neither `enabled` nor `disabled`: istiod injects nothing"),
            source_label(s, "policy"),
        );
    }
    if let Some((raw, label, what)) = &explicit(file, template, pod_label.as_ref()) {
        match read_value(raw, config.version) {
            Value::Yes => {
                return d(
                    Injected,
                    Reason::AnnotationInject,
                    format!("pod {what} `{INJECT_LABEL}: \"{raw}\"` opts in"),
                    Some(label.clone()),
                );
            }
            Value::No => {
                return d(
                    NotInjected,
                    Reason::AnnotationNoInject,
                    format!("pod {what} `{INJECT_LABEL}: \"{raw}\"` opts out"),
                    Some(label.clone()),
                );
            }
            Value::Unset => {}
        }
    }
    let labels: BTreeMap<String, String> = template
        .labels()
        .into_iter()
        .flat_map(NodeRef::entries)
        .filter_map(|(k, v)| Some((k.scalar()?.to_owned(), v.scalar()?.to_owned())))
        .collect();
    if let Some(sel) = config.never.iter().find(|s| s.matches(&labels)) {
        return d(
            NotInjected,
            Reason::NeverInjectSelector,
            "the pod matches `neverInjectSelector`".into(),
            source_label(sel.source.as_ref(), "neverInjectSelector"),
        );
    }
    if let Some(sel) = config.always.iter().find(|s| s.matches(&labels)) {
        return d(
            Injected,
            Reason::AlwaysInjectSelector,
            "the pod matches `alwaysInjectSelector`".into(),
            source_label(sel.source.as_ref(), "alwaysInjectSelector"),
        );
    }
    match config.policy() {
        (Policy::Enabled, s) => {
            d(Injected, Reason::PolicyEnabled, "the injection policy is `enabled`".into(), source_label(s, "policy"))
        }
        (_, s) => d(
            NotInjected,
            Reason::PolicyDisabled,
            "the injection policy is not `enabled` and no pod label `sidecar.istio.io/inject: \"true\"` opts the pod in".into(),
            source_label(s, "policy"),
        ),
    }
}

/// Stage A, the webhooks' selectors: `None` when a webhook takes the pod to istiod.
fn stage_a(
    config: &ModernConfig,
    object: &Object<'_>,
    template: &PodTemplate<'_>,
    pod_label: Option<&(String, Label)>,
) -> Option<Decision> {
    use Outcome::NotInjected;
    let file = object.file;
    let ns = object.effective_namespace;
    let info = config.namespaces.get(ns);
    let ns_label = |key: &str| info.and_then(|i| i.labels.get(key));
    let d = |reason, detail: String, evidence| Some(Decision { outcome: NotInjected, reason, detail, evidence });
    if let Some((value, source)) = ns_label(INJECTION_LABEL) {
        if value == "enabled" {
            return None;
        }
        return d(
            Reason::NamespaceExcluded,
            format!("namespace `{ns}` has `{INJECTION_LABEL}: {value}`"),
            source_label(source.as_ref(), "namespace label"),
        );
    }
    let revision = ns_label(REV_LABEL)
        .map(|(v, s)| (v.clone(), source_label(s.as_ref(), "namespace revision label"), "namespace"))
        .or_else(|| {
            label_of(template, REV_LABEL).map(|(v, l)| (v, with_file(Some(l), file, "pod revision label"), "pod"))
        });
    if let Some((rev, label, whose)) = revision {
        if config.revisions.contains(&rev) {
            return None;
        }
        let known: Vec<&str> = config.revisions.iter().map(String::as_str).collect();
        return d(
            Reason::RevisionUnknown,
            format!("{whose} label `{REV_LABEL}: {rev}` names no installed revision or tag ({})", known.join(", ")),
            label,
        );
    }
    if pod_label.is_some_and(|(v, _)| v == "true") {
        return None;
    }
    if config.enable_namespaces_by_default {
        return None;
    }
    let evidence = info.and_then(|i| source_label(i.source.as_ref(), "namespace"));
    // The webhook's selectors see namespace and pod labels only: an annotation asking for
    // injection never reaches it.
    let annotation = template
        .annotations()
        .and_then(|a| a.get(super::INJECT_ANNOTATION))
        .and_then(|v| v.scalar())
        .filter(|v| v.eq_ignore_ascii_case("true"));
    let detail = if annotation.is_some() {
        format!(
            "namespace `{ns}` has no `{INJECTION_LABEL}` or `{REV_LABEL}` label, and the pod asks for injection with the annotation `sidecar.istio.io/inject: \"true\"`, which the webhook's selectors cannot see: only the pod label opts a pod in"
        )
    } else {
        format!(
            "namespace `{ns}` has no `{INJECTION_LABEL}` or `{REV_LABEL}` label, and no pod label `sidecar.istio.io/inject: \"true\"` opts the pod in"
        )
    };
    d(Reason::NamespaceNotWatched, detail, evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn selector(match_labels: &[(&str, &str)], expressions: &[(&str, &str, &[&str])]) -> Selector {
        Selector {
            match_labels: match_labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            expressions: expressions
                .iter()
                .map(|(k, op, vs)| ((*k).to_owned(), (*op).to_owned(), vs.iter().map(|v| (*v).to_owned()).collect()))
                .collect(),
            source: None,
        }
    }

    /// Kubernetes label-selector semantics, as istiod's never/always-inject lists use
    /// them: every `matchLabels` pair and every expression must hold.
    #[test]
    fn selectors_match_as_kubernetes_reads_them() {
        let pod = labels(&[("tier", "batch"), ("team", "data")]);
        // An empty selector selects nothing in these lists.
        assert!(!selector(&[], &[]).matches(&pod));
        assert!(selector(&[("tier", "batch")], &[]).matches(&pod));
        assert!(!selector(&[("tier", "web")], &[]).matches(&pod));
        // matchLabels and expressions both hold.
        assert!(!selector(&[("tier", "batch")], &[("team", "In", &["web"])]).matches(&pod));
        assert!(selector(&[("tier", "batch")], &[("team", "In", &["web", "data"])]).matches(&pod));
        assert!(!selector(&[], &[("absent", "In", &["x"])]).matches(&pod));
        // NotIn: the label absent, or its value not listed.
        assert!(selector(&[], &[("team", "NotIn", &["web"])]).matches(&pod));
        assert!(!selector(&[], &[("team", "NotIn", &["data"])]).matches(&pod));
        assert!(selector(&[], &[("absent", "NotIn", &["data"])]).matches(&pod));
        // Exists and DoesNotExist look at the key only.
        assert!(selector(&[], &[("team", "Exists", &[])]).matches(&pod));
        assert!(!selector(&[], &[("absent", "Exists", &[])]).matches(&pod));
        assert!(selector(&[], &[("absent", "DoesNotExist", &[])]).matches(&pod));
        assert!(!selector(&[], &[("team", "DoesNotExist", &[])]).matches(&pod));
        // An operator Kubernetes does not have selects nothing.
        assert!(!selector(&[], &[("team", "Like", &["data"])]).matches(&pod));
    }

    #[test]
    fn strict_and_loose_values() {
        let (old, new) = (Version { major: 1, minor: 26 }, Version::NATIVE_SIDECARS);
        assert_eq!(read_value("false", new), Value::No);
        assert_eq!(read_value("true", new), Value::Yes);
        assert_eq!(read_value("yes", new), Value::Unset);
        assert_eq!(read_value("False", old), Value::No);
        assert_eq!(read_value("On", old), Value::Yes);
        assert_eq!(read_value("", old), Value::Unset);
        assert_eq!(format!("{new}"), "1.27");
    }
}
