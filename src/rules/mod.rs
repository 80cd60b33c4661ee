//! The rule registry: every rule's metadata in one table, its documentation embedded
//! from `rules/<name>.md`, and the context rules read. Rules are pure: they look at the
//! index and push diagnostics; they never print.

use std::ops::Range;

use crate::diag::{Diagnostic, Label, Severity};
use crate::istio::Profile;
use crate::istio::config::InjectConfig;
use crate::istio::decide::Engine;
use crate::istio::modern::ModernConfig;
use crate::load::LoadedFile;
use crate::model::{Index, Object};
use crate::source::FileId;

mod deprecated_service_account;
mod duplicate_app_label;
mod external_name_port;
mod image_auto_without_injection;
mod inconsistent_injection;
mod inject_annotation_value;
mod istio_annotation;
mod job_with_sidecar;
mod misplaced_inject_annotation;
mod missing_api_version;
mod missing_app_label;
mod namespace_injected_by_default;
mod namespace_multiple_injection_labels;
mod namespace_not_injected;
mod non_string_annotation;
mod pod_in_multiple_services;
mod pod_without_service;
mod proxy_port_conflict;
mod proxy_uid_conflict;
mod sidecar_name_conflict;
mod unknown_port_protocol;
pub mod unnamed_service_port;
mod workload_not_injected;

/// What a rule checks, run once over the whole index.
pub type Check = fn(&Context<'_>, &mut Sink);

/// A rule's metadata. Documentation lives in `rules/<name>.md`.
pub struct Rule {
    pub name: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    pub doc: &'static str,
    /// `None` for rules reported while loading files (parse problems).
    pub check: Option<Check>,
}

macro_rules! doc {
    ($name:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/", $name, ".md"))
    };
}

/// Every rule, in the order `meshlint rules` lists them.
pub static RULES: &[Rule] = &[
    Rule {
        name: "invalid-yaml",
        severity: Severity::Error,
        summary: "a file that is not valid YAML (or not text at all)",
        doc: doc!("invalid-yaml"),
        check: None,
    },
    Rule {
        name: "duplicate-key",
        severity: Severity::Warning,
        summary: "a mapping key written twice; Kubernetes silently keeps the last",
        doc: doc!("duplicate-key"),
        check: None,
    },
    Rule {
        name: "template-skipped",
        severity: Severity::Info,
        summary: "a Helm or Go template, skipped because it is not a manifest",
        doc: doc!("template-skipped"),
        check: None,
    },
    Rule {
        name: "missing-api-version",
        severity: Severity::Error,
        summary: "an object with `kind` and `metadata` but no `apiVersion`, which `kubectl apply` rejects",
        doc: doc!("missing-api-version"),
        check: Some(missing_api_version::check),
    },
    Rule {
        name: "templates-only",
        severity: Severity::Warning,
        summary: "a folder named for checking whose every file is a template: nothing there was checked",
        doc: doc!("templates-only"),
        check: None,
    },
    Rule {
        name: "not-rendered",
        severity: Severity::Warning,
        summary: "a Helm chart not checked for want of `helm`, or an overlay not built because it names remote resources",
        doc: doc!("not-rendered"),
        check: None,
    },
    Rule {
        name: "render-failed",
        severity: Severity::Error,
        summary: "a Helm chart or kustomize overlay whose rendering failed, with the tool's message",
        doc: doc!("render-failed"),
        check: None,
    },
    Rule {
        name: "unnamed-service-port",
        severity: Severity::Warning,
        summary: "a TCP Service port without a name: plain TCP for Istio 0.2, protocol sniffing for modern Istio",
        doc: doc!("unnamed-service-port"),
        check: Some(unnamed_service_port::check),
    },
    Rule {
        name: "unknown-port-protocol",
        severity: Severity::Warning,
        summary: "a Service port name whose prefix is not a protocol the profile's Istio recognises",
        doc: doc!("unknown-port-protocol"),
        check: Some(unknown_port_protocol::check),
    },
    Rule {
        name: "external-name-port",
        severity: Severity::Warning,
        summary: "a port of an ExternalName Service named with no supported protocol or as plain TCP (modern profile)",
        doc: doc!("external-name-port"),
        check: Some(external_name_port::check),
    },
    Rule {
        name: "pod-in-multiple-services",
        severity: Severity::Error,
        summary: "pods selected by two or more Services, which Istio 0.2 does not support",
        doc: doc!("pod-in-multiple-services"),
        check: Some(pod_in_multiple_services::check),
    },
    Rule {
        name: "pod-without-service",
        severity: Severity::Warning,
        summary: "a long-running workload whose pods no Service selects (Istio 0.2 requires one)",
        doc: doc!("pod-without-service"),
        check: Some(pod_without_service::check),
    },
    Rule {
        name: "missing-app-label",
        severity: Severity::Warning,
        summary: "a pod template without an `app` label",
        doc: doc!("missing-app-label"),
        check: Some(missing_app_label::check),
    },
    Rule {
        name: "duplicate-app-label",
        severity: Severity::Warning,
        summary: "two workloads in one namespace with the same `app` and `version` labels",
        doc: doc!("duplicate-app-label"),
        check: Some(duplicate_app_label::check),
    },
    Rule {
        name: "non-string-annotation",
        severity: Severity::Error,
        summary: "a label, annotation or selector value Kubernetes reads as a non-string",
        doc: doc!("non-string-annotation"),
        check: Some(non_string_annotation::check),
    },
    Rule {
        name: "workload-not-injected",
        severity: Severity::Warning,
        summary: "a workload that will run without the Istio sidecar, and why",
        doc: doc!("workload-not-injected"),
        check: Some(workload_not_injected::check),
    },
    Rule {
        name: "inconsistent-injection",
        severity: Severity::Warning,
        summary: "one workload defined in several files that Istio would not inject alike",
        doc: doc!("inconsistent-injection"),
        check: Some(inconsistent_injection::check),
    },
    Rule {
        name: "inject-annotation-value",
        severity: Severity::Warning,
        summary: "`sidecar.istio.io/inject` with a value other than \"true\" or \"false\"",
        doc: doc!("inject-annotation-value"),
        check: Some(inject_annotation_value::check),
    },
    Rule {
        name: "misplaced-inject-annotation",
        severity: Severity::Warning,
        summary: "`sidecar.istio.io/inject` where the 0.2 initializer never reads it",
        doc: doc!("misplaced-inject-annotation"),
        check: Some(misplaced_inject_annotation::check),
    },
    Rule {
        name: "invalid-inject-config",
        severity: Severity::Error,
        summary: "a mistake in the `istio-inject` ConfigMap or the InitializerConfiguration",
        doc: doc!("invalid-inject-config"),
        check: None,
    },
    Rule {
        name: "istio-annotation",
        severity: Severity::Warning,
        summary: "an Istio annotation or label that is unknown, misplaced or deprecated (modern profile)",
        doc: doc!("istio-annotation"),
        check: Some(istio_annotation::check),
    },
    Rule {
        name: "namespace-multiple-injection-labels",
        severity: Severity::Warning,
        summary: "a Namespace labelled both `istio-injection` and `istio.io/rev` (modern profile)",
        doc: doc!("namespace-multiple-injection-labels"),
        check: Some(namespace_multiple_injection_labels::check),
    },
    Rule {
        name: "namespace-not-injected",
        severity: Severity::Info,
        summary: "a namespace with no injection label, on its Namespace or its workloads (modern profile)",
        doc: doc!("namespace-not-injected"),
        check: Some(namespace_not_injected::check),
    },
    Rule {
        name: "namespace-injected-by-default",
        severity: Severity::Info,
        summary: "a Namespace with no injection label that the injector enables by default (modern profile)",
        doc: doc!("namespace-injected-by-default"),
        check: Some(namespace_injected_by_default::check),
    },
    Rule {
        name: "image-auto-without-injection",
        severity: Severity::Warning,
        summary: "an `istio-proxy` container with `image: auto` that no webhook fills in (modern profile)",
        doc: doc!("image-auto-without-injection"),
        check: Some(image_auto_without_injection::check),
    },
    Rule {
        name: "invalid-config",
        severity: Severity::Error,
        summary: "a mistake in the meshlint configuration file",
        doc: doc!("invalid-config"),
        check: None,
    },
    Rule {
        name: "unused-suppression",
        severity: Severity::Info,
        summary: "a suppression (comment, annotation or config entry) that matches no finding",
        doc: doc!("unused-suppression"),
        check: None,
    },
    Rule {
        name: "job-with-sidecar",
        severity: Severity::Warning,
        summary: "a Job or CronJob whose pods get a sidecar that keeps them from completing",
        doc: doc!("job-with-sidecar"),
        check: Some(job_with_sidecar::check),
    },
    Rule {
        name: "deprecated-service-account",
        severity: Severity::Warning,
        summary: "a pod naming its account only with `serviceAccount`: Istio 0.2 gives it the `default` identity",
        doc: doc!("deprecated-service-account"),
        check: Some(deprecated_service_account::check),
    },
    Rule {
        name: "proxy-uid-conflict",
        severity: Severity::Warning,
        summary: "an application container running as the proxy's UID",
        doc: doc!("proxy-uid-conflict"),
        check: Some(proxy_uid_conflict::check),
    },
    Rule {
        name: "sidecar-name-conflict",
        severity: Severity::Error,
        summary: "a pod that will be injected already has a container or volume of a name injection adds (Istio 0.2)",
        doc: doc!("sidecar-name-conflict"),
        check: Some(sidecar_name_conflict::check),
    },
    Rule {
        name: "proxy-port-conflict",
        severity: Severity::Warning,
        summary: "an application container declaring a port the proxy owns",
        doc: doc!("proxy-port-conflict"),
        check: Some(proxy_port_conflict::check),
    },
];

/// Whether a rule runs under a profile: some judge what only one Istio does.
#[must_use]
pub fn runs_under(rule: &Rule, profile: Profile) -> bool {
    let only = match rule.name {
        "pod-without-service" | "sidecar-name-conflict" | "deprecated-service-account" => Profile::Istio02,
        "namespace-multiple-injection-labels"
        | "namespace-not-injected"
        | "namespace-injected-by-default"
        | "image-auto-without-injection"
        | "external-name-port" => Profile::Modern,
        _ => return true,
    };
    only == profile
}

/// The level of a rule's findings under a profile (`None` when it does not run there):
/// its own, or under modern Istio the level of its `istioctl analyze` message.
#[must_use]
pub fn level_under(rule: &Rule, profile: Profile) -> Option<Severity> {
    runs_under(rule, profile).then(|| profile.level(rule.name).unwrap_or(rule.severity))
}

/// "istio-0.2: warning; istio-modern: info (IST0118)": where a rule runs, and how loud.
#[must_use]
pub fn profiles_line(rule: &Rule) -> String {
    [Profile::Istio02, Profile::Modern]
        .iter()
        .map(|&p| match level_under(rule, p) {
            Some(level) => {
                let code = p.istio_code(rule.name).map(|c| format!(" ({c})")).unwrap_or_default();
                format!("{}: {}{code}", p.name(), level.as_str())
            }
            None => format!("{}: does not run", p.name()),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The rule of a name.
#[must_use]
pub fn find(name: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.name == name)
}

/// What every rule may read.
pub struct Context<'a> {
    pub files: &'a [LoadedFile],
    pub index: &'a Index<'a>,
    pub profile: Profile,
    /// The injection configuration found or given (0.2 profile).
    pub inject: &'a InjectConfig,
    /// The inputs of the modern profile.
    pub modern: &'a ModernConfig,
    /// The profile's decision engine.
    pub engine: Engine<'a>,
}

impl<'a> Context<'a> {
    /// Every whole definition, variants included, in index order: an object defined in
    /// several files is checked in each (the engine merges findings they share).
    pub fn definitions(&self) -> impl Iterator<Item = &Object<'a>> + '_ {
        self.index.objects.iter().filter(|o| !o.partial)
    }

    /// [`Self::definitions`] with their indices.
    pub fn indexed_definitions(&self) -> impl Iterator<Item = (usize, &Object<'a>)> + '_ {
        self.index.objects.iter().enumerate().filter(|(_, o)| !o.partial)
    }

    /// The names of the container ports that `port` of Service `service` reaches in the
    /// workloads it selects (by `targetPort` name or number, else the port number), with
    /// each workload's name.
    #[must_use]
    pub fn container_port_names(&self, service: usize, port: &crate::model::ServicePort<'_>) -> Vec<(String, String)> {
        let target = port.target_port.and_then(|t| t.scalar()).or_else(|| port.port.and_then(|p| p.scalar()));
        let Some(target) = target else { return Vec::new() };
        let mut out = Vec::new();
        for w in self.index.selected_workloads(service) {
            let object = &self.index.objects[w];
            let Some(template) = crate::model::PodTemplate::of(object) else { continue };
            for container in template.containers() {
                for p in container.get("ports").into_iter().flat_map(crate::yaml::NodeRef::items) {
                    let name = p.get("name").and_then(|n| n.scalar()).filter(|n| !n.is_empty());
                    let number = p.get("containerPort").and_then(|n| n.scalar());
                    if let Some(name) = name.filter(|n| *n == target || number == Some(target)) {
                        out.push((name.to_owned(), object.display_name()));
                    }
                }
            }
        }
        out
    }

    /// Whether the port rules judge a Service's port names. Under modern Istio, as
    /// `istioctl analyze` does, not in `kube-system`, `kube-public`, `kube-node-lease` or
    /// `local-path-storage`, not Istio's own control plane (label `istio`, or
    /// `release: istio`), and not an `ExternalName` Service (`external-name-port`'s).
    #[must_use]
    pub fn judges_port_names(&self, object: &Object<'_>, service: &crate::model::Service<'_>) -> bool {
        const SYSTEM: &[&str] = &["kube-system", "kube-public", "kube-node-lease", "local-path-storage"];
        if self.profile != Profile::Modern {
            return true;
        }
        let labels = object.node.path(&["metadata", "labels"]);
        let control_plane = labels
            .is_some_and(|l| l.get("istio").is_some() || l.get("release").and_then(|r| r.scalar()) == Some("istio"));
        !SYSTEM.contains(&object.effective_namespace) && !control_plane && service.service_type != Some("ExternalName")
    }

    /// Whether the object's pods can be part of the mesh at all (not in a namespace the
    /// profile exempts).
    #[must_use]
    pub fn in_mesh_scope(&self, object: &Object<'_>) -> bool {
        !self.profile.exempt_namespaces().contains(&object.effective_namespace)
    }
}

/// Collects one rule's diagnostics, filling in its name and severity.
pub struct Sink {
    rule: &'static Rule,
    pub diagnostics: Vec<Diagnostic>,
}

impl Sink {
    #[must_use]
    pub fn new(rule: &'static Rule) -> Self {
        Self { rule, diagnostics: Vec::new() }
    }

    /// Start a diagnostic about `object`, at `range` of its file.
    pub fn report(&mut self, object: &Object<'_>, range: Range<usize>, message: impl Into<String>) -> &mut Diagnostic {
        self.report_at(object.file, range, message, Some(object))
    }

    /// Start a diagnostic at a place, optionally about an object.
    pub fn report_at(
        &mut self,
        file: FileId,
        range: Range<usize>,
        message: impl Into<String>,
        object: Option<&Object<'_>>,
    ) -> &mut Diagnostic {
        let diag = Diagnostic::new(self.rule.name, self.rule.severity, message, Label::new(file, range, ""))
            .with_object(object.map(Object::object_ref));
        self.diagnostics.push(diag);
        self.diagnostics.last_mut().expect("just pushed")
    }
}

/// Run every rule with a check, in parallel, and return their diagnostics (unsorted).
#[must_use]
pub fn run_all(cx: &Context<'_>) -> Vec<Diagnostic> {
    use rayon::prelude::*;
    RULES
        .par_iter()
        .filter_map(|rule| {
            let check = rule.check?;
            let mut sink = Sink::new(rule);
            check(cx, &mut sink);
            Some(sink.diagnostics)
        })
        .flatten()
        .collect()
}
