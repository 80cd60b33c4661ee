//! The pipeline: walk the inputs, read and parse them in parallel, index the objects,
//! run the rules, sort. The result is the same whatever the thread count: files are
//! ordered by path before they get their ids, and diagnostics are sorted at the end.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rayon::prelude::*;

use crate::baseline;
use crate::config::{Config, Level};
use crate::diag::{Diagnostic, Severity};
use crate::istio::Profile;
use crate::istio::config::{self, Policy, Sourced};
use crate::istio::decide::{Engine, Mode};
use crate::istio::modern::{ModernConfig, Version};
use crate::load::{self, LoadedFile};
use crate::model::{Index, ModelOptions};
use crate::rules::{self, Context};
use crate::suppress;

/// Extensions picked when walking a directory.
pub const MANIFEST_EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

/// One input as named on the command line.
#[derive(Debug, Clone)]
pub enum Input {
    Path(PathBuf),
    /// Standard input, shown under this name.
    Stdin(String),
}

/// What a run reads and how it judges.
#[derive(Debug, Clone)]
pub struct Options {
    pub inputs: Vec<Input>,
    pub namespace: String,
    /// `None`: detect from the inputs.
    pub profile: Option<Profile>,
    /// Istio release of the modern profile (value parsing changed in 1.27).
    pub istio_version: Version,
    /// `--namespace-label NS:KEY=VALUE`: labels of namespaces not in the files.
    pub namespace_labels: Vec<(String, String, String)>,
    /// `--revision`: revisions and tags installed besides those found.
    pub revisions: Vec<String>,
    pub context: ContextMode,
    /// `--inject-config`: an `istio-inject` ConfigMap manifest or the bare config YAML.
    pub inject_config: Option<PathBuf>,
    /// `--policy`: overrides the configuration's policy.
    pub policy: Option<Policy>,
    /// The project configuration (`.meshlint.yaml`), already merged with the flags for
    /// namespace, profile and fail-on.
    pub config: Config,
    /// `--baseline`: report only findings not recorded in this file.
    pub baseline: Option<PathBuf>,
}

impl Options {
    /// Options with defaults for everything but the inputs.
    #[must_use]
    pub fn new(inputs: Vec<Input>) -> Self {
        Self {
            inputs,
            namespace: "default".into(),
            profile: None,
            istio_version: Version::NEWEST,
            namespace_labels: Vec::new(),
            revisions: Vec::new(),
            context: ContextMode::Auto,
            inject_config: None,
            policy: None,
            config: Config::default(),
            baseline: None,
        }
    }
}

/// Where cross-file rules look for the rest of the repository when only some files are
/// named (as a pre-commit hook does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextMode {
    /// The git repository enclosing the first named file, if any.
    Auto,
    /// This directory.
    Dir(PathBuf),
    /// Only the named inputs.
    Off,
}

/// A file to read: its display name and where its bytes come from.
#[derive(Debug, Clone)]
struct Entry {
    name: String,
    path: Option<PathBuf>,
    /// Named by the user (directly or through a directory), not only context.
    target: bool,
}

/// Everything a run found.
#[derive(Debug)]
pub struct Report {
    /// The profile used, and why.
    pub profile: Profile,
    pub profile_reason: String,
    pub files: Vec<LoadedFile>,
    /// For each file, whether the user named it (else it was read as context only).
    pub targets: Vec<bool>,
    pub diagnostics: Vec<Diagnostic>,
    pub documents: usize,
    pub objects: usize,
    /// Failures of the tool itself (unreadable paths): exit status 2.
    pub errors: Vec<String>,
}

impl Report {
    /// Number of files the user named (directly or through a directory).
    #[must_use]
    pub fn target_count(&self) -> usize {
        self.targets.iter().filter(|&&t| t).count()
    }

    /// The most severe diagnostic, if any.
    #[must_use]
    pub fn max_severity(&self) -> Option<Severity> {
        self.diagnostics.iter().map(|d| d.severity).max()
    }
}

/// Walk and read every input. Unreadable inputs become entries of `errors`.
pub fn read_inputs(inputs: &[Input], errors: &mut Vec<String>) -> Vec<LoadedFile> {
    read_with_context(inputs, None, &Config::default(), errors).0
}

/// Walk and read the inputs and, as context, the files under `context`. Returns the
/// files (sorted by name) and, for each, whether it is a target.
fn read_with_context(
    inputs: &[Input],
    context: Option<&Path>,
    config: &Config,
    errors: &mut Vec<String>,
) -> (Vec<LoadedFile>, Vec<bool>) {
    let mut entries = Vec::new();
    let mut stdin_bytes = None;
    for input in inputs {
        match input {
            Input::Stdin(name) => {
                let mut bytes = Vec::new();
                match std::io::stdin().read_to_end(&mut bytes) {
                    Ok(_) => stdin_bytes = Some(bytes),
                    Err(e) => errors.push(format!("{name}: cannot read standard input: {e}")),
                }
                entries.push(Entry { name: name.clone(), path: None, target: true });
            }
            Input::Path(path) => collect_path(path, &mut entries, errors),
        }
    }
    for e in &mut entries {
        e.target = true;
    }
    if let Some(dir) = context {
        collect_path(dir, &mut entries, errors);
    }
    // One directory alone cannot name a file twice; only then is resolving paths skipped.
    if inputs.len() > 1 || context.is_some() {
        dedup(&mut entries);
    }
    if !config.exclude.is_empty() {
        let own = config.path.as_deref();
        entries.retain(|e| e.path.as_deref().is_none_or(|p| Some(p) == own || !config.excluded(p)));
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let errors_mutex = Mutex::new(std::mem::take(errors));
    let read: Vec<(Entry, Vec<u8>)> = entries
        .into_par_iter()
        .with_max_len(8)
        .filter_map(|entry| {
            let bytes = match &entry.path {
                None => stdin_bytes.clone().unwrap_or_default(),
                Some(path) => match std::fs::read(path) {
                    Ok(bytes) => bytes,
                    Err(e) => {
                        errors_mutex.lock().expect("poisoned").push(format!("{}: {e}", entry.name));
                        return None;
                    }
                },
            };
            Some((entry, bytes))
        })
        .collect();
    *errors = errors_mutex.into_inner().expect("poisoned");
    errors.sort();
    // Ids are positions among the files actually read.
    let targets = read.iter().map(|(e, _)| e.target).collect();
    // One task per file, largest first: a few large files (CRDs) must not end up on one
    // thread at the end of the run. Ids stay the files' positions in name order.
    let mut jobs: Vec<(usize, Entry, Vec<u8>)> = read.into_iter().enumerate().map(|(id, (e, b))| (id, e, b)).collect();
    jobs.sort_by_key(|(id, _, bytes)| (std::cmp::Reverse(bytes.len()), *id));
    let mut loaded: Vec<(usize, LoadedFile)> = jobs
        .into_par_iter()
        .with_max_len(1)
        .map(|(id, entry, bytes)| (id, load::load(id, entry.name, entry.path, bytes)))
        .collect();
    loaded.sort_unstable_by_key(|(id, _)| *id);
    let files = loaded.into_iter().map(|(_, f)| f).collect();
    (files, targets)
}

/// Drop a file named twice (explicitly and through its directory, say), keeping the
/// first mention, which is a target when any mention is.
fn dedup(entries: &mut Vec<Entry>) {
    let mut seen = HashSet::new();
    entries.retain(|e| match &e.path {
        None => true,
        Some(p) => seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())),
    });
}

/// A file named explicitly is read whatever its extension; a directory is walked in
/// parallel, honouring `.gitignore` and skipping hidden entries.
fn collect_path(path: &Path, entries: &mut Vec<Entry>, errors: &mut Vec<String>) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            errors.push(format!("{}: {e}", path.display()));
            return;
        }
    };
    if !meta.is_dir() {
        entries.push(Entry { name: display(path), path: Some(path.to_owned()), target: false });
        return;
    }
    let found = Mutex::new(Vec::new());
    let walk_errors = Mutex::new(Vec::new());
    ignore::WalkBuilder::new(path).hidden(true).require_git(false).build_parallel().run(|| {
        Box::new(|result| {
            match result {
                Ok(dent) => {
                    let p = dent.path();
                    let is_file = dent.file_type().is_some_and(|t| t.is_file() || t.is_symlink() && p.is_file());
                    if is_file && has_manifest_extension(p) {
                        found.lock().expect("poisoned").push(p.to_owned());
                    }
                }
                Err(e) => walk_errors.lock().expect("poisoned").push(e.to_string()),
            }
            ignore::WalkState::Continue
        })
    });
    errors.extend(walk_errors.into_inner().expect("poisoned"));
    entries.extend(found.into_inner().expect("poisoned").into_iter().map(|p| Entry {
        name: display(&p),
        path: Some(p),
        target: false,
    }));
}

fn has_manifest_extension(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| MANIFEST_EXTENSIONS.contains(&e))
}

/// The name a path is shown under: as given, without a leading `./`, bytes that are not
/// UTF-8 escaped losslessly (`\xff`).
fn display(path: &Path) -> String {
    let s = crate::escape::path(path);
    match s.strip_prefix("./") {
        Some(rest) => rest.to_owned(),
        None => s,
    }
}

/// The directory read as context, when some inputs are files named explicitly.
fn context_dir(options: &Options) -> Option<PathBuf> {
    let first_file = options.inputs.iter().find_map(|i| match i {
        Input::Path(p) if !p.is_dir() => Some(p.as_path()),
        _ => None,
    });
    match &options.context {
        ContextMode::Off => None,
        ContextMode::Dir(dir) => Some(dir.clone()),
        ContextMode::Auto => git_toplevel(first_file?),
    }
}

/// The root of the git work tree holding `path`, shown relative to the working directory
/// when it lies below it.
fn git_toplevel(path: &Path) -> Option<PathBuf> {
    let abs = std::fs::canonicalize(path).ok()?;
    let root = abs.ancestors().skip(1).find(|dir| dir.join(".git").exists())?;
    let cwd = std::env::current_dir().ok().and_then(|c| std::fs::canonicalize(c).ok());
    Some(match cwd.as_deref().and_then(|c| root.strip_prefix(c).ok()) {
        Some(rel) if rel.as_os_str().is_empty() => PathBuf::from("."),
        Some(rel) => rel.to_owned(),
        None => root.to_owned(),
    })
}

/// Files read for a run, before any judging.
pub struct Loaded {
    pub files: Vec<LoadedFile>,
    pub targets: Vec<bool>,
    pub errors: Vec<String>,
    /// The file given with `--inject-config`.
    pub inject_config: Option<usize>,
    /// The configuration file, read along so that its mistakes have positions.
    pub config_file: Option<usize>,
}

/// Read every input, the context and the configuration files.
#[must_use]
pub fn load_all(options: &Options) -> Loaded {
    let mut errors = Vec::new();
    let context = context_dir(options);
    let mut inputs = options.inputs.clone();
    inputs.extend(options.inject_config.iter().chain(&options.config.path).map(|p| Input::Path(p.clone())));
    let (files, targets) = read_with_context(&inputs, context.as_deref(), &options.config, &mut errors);
    let find = |p: &PathBuf| {
        let want = std::fs::canonicalize(p).ok()?;
        files
            .iter()
            .position(|f| f.source.path.as_ref().and_then(|q| std::fs::canonicalize(q).ok()).as_ref() == Some(&want))
    };
    let inject_config = options.inject_config.as_ref().and_then(find);
    let config_file = options.config.path.as_ref().and_then(find);
    Loaded { files, targets, errors, inject_config, config_file }
}

/// The injection configuration of a run, with `--policy` applied.
#[must_use]
pub fn inject_config(options: &Options, loaded: &Loaded, index: &Index<'_>) -> config::Loaded {
    // `--inject-config` first, then the `inject:` section of `.meshlint.yaml`.
    let given = match (loaded.inject_config, loaded.config_file, &options.config.inject) {
        (Some(f), _, _) => Some(config::Given::File(f)),
        (None, Some(f), Some(range)) => Some(config::Given::Section(f, range.clone())),
        _ => None,
    };
    let mut found = config::discover(&loaded.files, index, given.as_ref());
    if let Some(policy) = options.policy {
        found.config.policy = Sourced { value: policy, source: None };
        found.config.policy_overridden = true;
    }
    found
}

/// Read, parse, index and check everything.
#[must_use]
pub fn check(options: &Options) -> Report {
    let loaded = load_all(options);
    let model_options = ModelOptions { namespace: options.namespace.clone() };
    let mut errors = loaded.errors.clone();
    let (diagnostics, documents, objects, profile_used) = {
        let files = &loaded.files;
        let index = Index::build(files, &model_options);
        let found = inject_config(options, &loaded, &index);
        let (profile, reason) = choose_profile(options, &index);
        let modern = modern_config(options, &index);
        let engine = match profile {
            Profile::Istio02 => Engine::Initializer(&found.config, Mode::Initializer),
            Profile::Modern => Engine::Modern(&modern),
        };
        let cx = Context { files, index: &index, profile, inject: &found.config, modern: &modern, engine };
        let mut diagnostics = rules::run_all(&cx);
        if profile == Profile::Istio02 {
            diagnostics.extend(found.diagnostics);
        }
        for d in &mut diagnostics {
            d.istio_code = d.istio_code.or_else(|| profile.istio_code(d.rule));
        }
        // The configuration file's own YAML errors are `invalid-config`'s.
        let manifests = files.iter().enumerate().filter(|(i, _)| Some(*i) != loaded.config_file);
        diagnostics.extend(manifests.flat_map(|(_, f)| f.problems.iter().cloned()));
        diagnostics.extend(config_problems(&options.config, loaded.config_file));
        // Suppressions first, so that a suppression of a rule turned off is not unused;
        // then levels, which apply to `unused-suppression` too.
        suppress::apply(
            &mut diagnostics,
            files,
            &loaded.targets,
            &index,
            &options.config,
            loaded.config_file,
            &options.namespace,
        );
        apply_levels(&mut diagnostics, &options.config);
        // Report what touches a named file: its primary span or any of its labels.
        diagnostics.retain(|d| d.files().any(|f| loaded.targets[f]));
        baseline::fingerprint(&mut diagnostics, files, &index);
        if let Some(path) = &options.baseline {
            if let Err(e) = baseline::filter(path, &mut diagnostics) {
                errors.push(format!("{}: {e}", path.display()));
            }
        }
        sort(&mut diagnostics);
        (diagnostics, index.documents, index.objects.len(), (profile, reason))
    };
    let (profile, profile_reason) = profile_used;
    Report {
        profile,
        profile_reason,
        files: loaded.files,
        targets: loaded.targets,
        diagnostics,
        documents,
        objects,
        errors,
    }
}

/// The profile: the one asked for, else detected from the objects: an `istio-inject`
/// ConfigMap means Istio 0.2; an `istio-sidecar-injector` ConfigMap, Istio's mutating
/// webhook, or a namespace labelled for injection mean modern Istio; else Istio 0.2.
#[must_use]
pub fn choose_profile(options: &Options, index: &Index<'_>) -> (Profile, String) {
    if let Some(p) = options.profile {
        return (p, "asked for".into());
    }
    let system_config_map = |name: &str| {
        index
            .objects
            .iter()
            .find(|o| o.kind == "ConfigMap" && o.namespace == Some("istio-system") && o.name == Some(name))
    };
    if system_config_map("istio-inject").is_some() {
        return (Profile::Istio02, "an `istio-inject` ConfigMap is among the inputs".into());
    }
    if index
        .objects
        .iter()
        .any(|o| o.kind == "ConfigMap" && o.name.is_some_and(|n| n.starts_with("istio-sidecar-injector")))
    {
        return (Profile::Modern, "an `istio-sidecar-injector` ConfigMap is among the inputs".into());
    }
    let webhook = index.objects.iter().any(|o| {
        o.kind == "MutatingWebhookConfiguration"
            && o.node.get("webhooks").into_iter().flat_map(crate::yaml::NodeRef::items).any(|w| {
                w.get("name").and_then(|n| n.scalar()).is_some_and(|n| n.contains("sidecar-injector.istio.io"))
            })
    });
    if webhook {
        return (Profile::Modern, "Istio's MutatingWebhookConfiguration is among the inputs".into());
    }
    let labelled = index.objects.iter().find(|o| {
        o.kind == "Namespace"
            && o.node
                .path(&["metadata", "labels"])
                .is_some_and(|l| l.get("istio-injection").is_some() || l.get("istio.io/rev").is_some())
    });
    if let Some(ns) = labelled {
        return (Profile::Modern, format!("namespace `{}` is labelled for sidecar injection", ns.name.unwrap_or("")));
    }
    if !options.namespace_labels.is_empty() {
        return (Profile::Modern, "namespace labels were given with --namespace-label".into());
    }
    (Profile::Istio02, "nothing in the inputs names a newer Istio (the default)".into())
}

/// The inputs of the modern profile.
#[must_use]
pub fn modern_config(options: &Options, index: &Index<'_>) -> ModernConfig {
    ModernConfig::discover(index, options.istio_version, &options.namespace_labels, &options.revisions)
}

/// Mistakes in the configuration file, as `invalid-config` diagnostics.
fn config_problems(config: &Config, file: Option<usize>) -> Vec<Diagnostic> {
    let Some(file) = file else { return Vec::new() };
    config
        .problems
        .iter()
        .map(|p| {
            let d = Diagnostic::new(
                "invalid-config",
                Severity::Error,
                format!("{} in the meshlint configuration", p.message),
                crate::diag::Label::new(file, p.range.clone(), ""),
            );
            match &p.help {
                Some(h) => d.with_help(h.clone()),
                None => d,
            }
        })
        .collect()
}

/// Per-rule levels of the configuration: `off` drops a rule's findings, a severity
/// replaces its own.
fn apply_levels(diagnostics: &mut Vec<Diagnostic>, config: &Config) {
    if config.rules.is_empty() {
        return;
    }
    diagnostics.retain_mut(|d| match config.level(d.rule) {
        Some(Level::Off) => false,
        Some(Level::On(s)) => {
            d.severity = s;
            true
        }
        None => true,
    });
}

/// Order diagnostics by file, position, rule and message.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (a.primary.file, a.primary.range.start, a.rule, &a.message).cmp(&(
            b.primary.file,
            b.primary.range.start,
            b.rule,
            &b.message,
        ))
    });
}
