//! `meshlint audit`: one row per workload with the injection decision and its reason,
//! and the policy the decisions came from. Builds data; `render` prints it.

use serde::Serialize;

use crate::engine::{self, Options};
use crate::istio::Profile;
use crate::istio::config::{InjectConfig, Origin};
use crate::istio::decide::{Engine, Mode, Outcome};
use crate::istio::modern::ModernConfig;
use crate::load::LoadedFile;
use crate::model::{Index, PodTemplate};

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub namespace: String,
    pub kind: String,
    pub name: String,
    pub path: String,
    pub line: usize,
    pub outcome: &'static str,
    pub reason: &'static str,
    pub detail: String,
    /// `path:line` of the input that decided, when it is in a scanned file.
    pub decided_by: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PolicySummary {
    pub policy: &'static str,
    /// `path:line` of the `istio-inject` ConfigMap, `--inject-config FILE`, or null.
    pub source: Option<String>,
    /// Human text: "built-in defaults (Istio 0.2.6 install)" or the place.
    pub origin: String,
    pub overridden_by_flag: bool,
    pub namespaces: Vec<String>,
    pub exclude_namespaces: Vec<String>,
    pub initializer_name: String,
    pub resources: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub workloads: usize,
    pub injected: usize,
    pub not_injected: usize,
    pub already_injected: usize,
}

/// A named file that could not be read in full (it does not parse, or is a template), so
/// the workloads it holds are missing from the audit.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub rule: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Audit {
    /// `istio-0.2` or `istio-modern`.
    pub profile: &'static str,
    /// Why that profile: asked for, or what in the inputs named it.
    pub profile_reason: String,
    pub policy: PolicySummary,
    pub workloads: Vec<Row>,
    pub summary: Summary,
    /// Named files not read in full, in path order.
    pub problems: Vec<Problem>,
    #[serde(skip)]
    pub errors: Vec<String>,
}

/// `path` and line of a place; a place in rendered output is shown at its template or
/// source when it is found there.
fn place(files: &[LoadedFile], file: usize, byte: usize) -> (String, usize) {
    let at = crate::diag::Label::new(file, byte..byte, "");
    let (file, byte) = crate::rendering::remap::locate(files, &at).map_or((file, byte), |(f, r)| (f, r.start));
    let source = &files[file].source;
    (source.name.clone(), source.position(byte).line)
}

fn policy_summary(files: &[LoadedFile], config: &InjectConfig) -> PolicySummary {
    let (source, origin) = match &config.origin {
        Origin::BuiltIn => (None, "built-in defaults (the Istio 0.2.6 install)".to_owned()),
        Origin::ConfigMap(s) => {
            let (path, line) = place(files, s.file, s.range.start);
            let at = format!("{path}:{line}");
            (Some(at.clone()), format!("ConfigMap istio-system/istio-inject at {at}"))
        }
        Origin::File(name) => (Some(name.clone()), format!("--inject-config {name}")),
    };
    PolicySummary {
        policy: config.policy.value.as_str(),
        source,
        origin,
        overridden_by_flag: config.policy_overridden,
        namespaces: config.namespaces.iter().map(|n| n.value.clone()).collect(),
        exclude_namespaces: config.exclude_namespaces.iter().map(|n| n.value.clone()).collect(),
        initializer_name: config.initializer_name.value.clone(),
        resources: config.resources.value.clone(),
    }
}

/// The modern inputs in the same shape: the injector's policy, the namespaces with an
/// injection label (`namespaces`), and the revisions served (`resources`).
fn modern_summary(files: &[LoadedFile], modern: &ModernConfig) -> PolicySummary {
    let (policy, source) = match &modern.policy {
        Some((p, s)) => (if p == "enabled" { "enabled" } else { "disabled" }, s.clone()),
        None => ("enabled", None),
    };
    let at = source.or_else(|| modern.injector.clone()).map(|s| {
        let (path, line) = place(files, s.file, s.range.start);
        format!("{path}:{line}")
    });
    let origin = match &at {
        Some(at) => format!("ConfigMap istio-system/istio-sidecar-injector at {at}"),
        None => "built-in defaults (istiod: policy enabled)".to_owned(),
    };
    let labelled: Vec<String> = modern
        .namespaces
        .iter()
        .filter(|(_, i)| i.labels.contains_key("istio-injection") || i.labels.contains_key("istio.io/rev"))
        .map(|(ns, i)| {
            let label = i.labels.get("istio-injection").map_or_else(
                || format!("istio.io/rev={}", i.labels.get("istio.io/rev").map_or("", |(v, _)| v.as_str())),
                |(v, _)| format!("istio-injection={v}"),
            );
            format!("{ns} ({label})")
        })
        .collect();
    PolicySummary {
        policy,
        source: at,
        origin,
        overridden_by_flag: false,
        namespaces: labelled,
        exclude_namespaces: Vec::new(),
        initializer_name: format!("istio {}", modern.version),
        resources: modern.revisions.iter().cloned().collect(),
    }
}

/// What kept named manifests from being read: `invalid-yaml` (not parsed, binary, not
/// UTF-8, too large), `template-skipped`, and charts or overlays that did not render
/// (`render-failed`, `not-rendered`). The configuration files are not manifests.
fn problems(loaded: &engine::Loaded) -> Vec<Problem> {
    let mut out = Vec::new();
    for (i, file) in loaded.files.iter().enumerate() {
        if !loaded.targets[i] || Some(i) == loaded.config_file || Some(i) == loaded.inject_config {
            continue;
        }
        let unread = |d: &&crate::diag::Diagnostic| {
            matches!(d.rule, "invalid-yaml" | "template-skipped" | "render-failed" | "not-rendered")
        };
        for d in file.problems.iter().filter(unread) {
            let at = file.source.position(d.primary.range.start);
            out.push(Problem {
                path: file.source.name.clone(),
                line: at.line,
                column: at.column,
                rule: d.rule,
                message: d.message.clone(),
            });
        }
    }
    out
}

/// Decide every workload of the inputs.
#[must_use]
pub fn audit(options: &Options) -> Audit {
    let loaded = engine::load_all(options);
    let files = &loaded.files;
    let model_options = crate::engine::model_options(options);
    let index = Index::build(files, &model_options);
    let found = engine::inject_config(options, &loaded, &index);
    let config = &found.config;
    let (profile, profile_reason) = engine::choose_profile(options, &index);
    let modern = engine::modern_config(options, &index);
    let decider = match profile {
        Profile::Istio02 => Engine::Initializer(config, Mode::Initializer),
        Profile::Modern => Engine::Modern(&modern),
    };
    let mut rows = Vec::new();
    let mut summary = Summary::default();
    for object in &index.objects {
        // One row per definition in the named files: variants of one object defined in
        // several files may not be injected alike.
        if object.partial || !loaded.targets[object.file] {
            continue;
        }
        let Some(template) = PodTemplate::of(object) else { continue };
        let d = decider.decide(object, &template);
        let (path, line) = place(files, object.file, object.kind_span().start);
        match d.outcome {
            Outcome::Injected => summary.injected += 1,
            Outcome::NotInjected => summary.not_injected += 1,
            Outcome::AlreadyInjected => summary.already_injected += 1,
        }
        rows.push(Row {
            namespace: object.effective_namespace.to_owned(),
            kind: object.kind.to_owned(),
            name: object.shown_name(),
            path,
            line,
            outcome: d.outcome.code(),
            reason: d.reason.code(),
            detail: d.detail,
            decided_by: d.evidence.map(|l| {
                let (p, line) = place(files, l.file, l.range.start);
                format!("{p}:{line}")
            }),
        });
    }
    summary.workloads = rows.len();
    let policy = match profile {
        Profile::Istio02 => policy_summary(files, config),
        Profile::Modern => modern_summary(files, &modern),
    };
    let problems = problems(&loaded);
    Audit { profile: profile.name(), profile_reason, policy, workloads: rows, summary, problems, errors: loaded.errors }
}
