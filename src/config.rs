//! The project configuration file, `.meshlint.yaml`: found by walking up from the
//! working directory to the repository root, or named with `--config`. Its mistakes are
//! `invalid-config` diagnostics with positions, never errors; flags override it.

use std::ops::Range;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher};

use crate::diag::Severity;
use crate::istio::Profile;
use crate::istio::config::did_you_mean;
use crate::yaml::{self, NodeRef};

pub const FILE_NAME: &str = ".meshlint.yaml";

const KEYS: &[&str] = &[
    "profile",
    "namespace",
    "namespaces",
    "fail-on",
    "rules",
    "exclude",
    "ignore",
    "inject",
    "helm",
    "kustomize",
    "render-timeout",
];
const HELM_KEYS: &[&str] = &["binary", "release", "namespace", "values", "charts"];
const CHART_KEYS: &[&str] = &["release", "namespace", "values"];
const KUSTOMIZE_KEYS: &[&str] = &["binary", "overlays"];
const IGNORE_KEYS: &[&str] = &["rules", "objects", "paths"];

/// A rule's level in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Off,
    On(Severity),
}

/// One `ignore:` entry: findings matching every non-empty list are dropped.
#[derive(Debug, Clone)]
pub struct Ignore {
    pub rules: Vec<String>,
    pub objects: Vec<GlobMatcher>,
    pub paths: Vec<GlobMatcher>,
    /// Byte range of the entry in the configuration file.
    pub span: Range<usize>,
}

/// A mistake in the configuration file.
#[derive(Debug, Clone)]
pub struct Problem {
    pub range: Range<usize>,
    pub message: String,
    pub help: Option<String>,
}

/// The configuration, as read (positions are byte ranges of the file).
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub path: Option<PathBuf>,
    /// The directory globs are relative to.
    pub root: PathBuf,
    pub profile: Option<Profile>,
    pub namespace: Option<String>,
    /// `namespaces:`, for repositories applied with `kubectl apply -n`.
    pub namespaces: crate::paths::PathNamespaces,
    pub fail_on: Option<Severity>,
    pub rules: Vec<(String, Level)>,
    pub exclude: Vec<GlobMatcher>,
    pub ignore: Vec<Ignore>,
    /// Byte range of the `inject:` mapping, read by the injection configuration.
    pub inject: Option<Range<usize>>,
    /// `helm:`: the binary and how charts are rendered.
    pub helm: HelmConfig,
    /// `kustomize:`: the binary (`kustomize` or `kubectl`).
    pub kustomize_binary: Option<PathBuf>,
    /// `kustomize:`: the overlays to build, relative to `root` (none: every
    /// kustomization that no other includes).
    pub overlays: Vec<PathBuf>,
    /// `render-timeout:`, in seconds.
    pub render_timeout: Option<u64>,
    pub problems: Vec<Problem>,
}

/// The `helm:` section.
#[derive(Debug, Clone, Default)]
pub struct HelmConfig {
    pub binary: Option<PathBuf>,
    /// Settings of every chart.
    pub defaults: crate::rendering::helm::Settings,
    /// Settings of one chart (its folder, relative to the configuration's folder),
    /// over the defaults.
    pub charts: Vec<(PathBuf, crate::rendering::helm::Settings)>,
}

impl HelmConfig {
    /// How the chart in `dir` (as walked) is rendered.
    #[must_use]
    pub fn settings(&self, dir: &Path, root: &Path) -> crate::rendering::helm::Settings {
        let canonical = |p: &Path| std::fs::canonicalize(p).ok();
        let want = canonical(dir);
        let own = self.charts.iter().find(|(c, _)| want.is_some() && canonical(&root.join(c)) == want);
        let mut s = self.defaults.clone();
        if let Some((_, o)) = own {
            if o.release.is_some() {
                s.release.clone_from(&o.release);
            }
            if o.namespace.is_some() {
                s.namespace.clone_from(&o.namespace);
            }
            if !o.values.is_empty() {
                s.values.clone_from(&o.values);
            }
        }
        s
    }
}

/// The configuration file that applies in `dir`: in a git repository, the nearest
/// `.meshlint.yaml` from `dir` up to the repository root (the directory holding `.git`);
/// outside one, only `dir`'s own. A file above the root, or above `dir` outside a
/// repository (a stray `/tmp/.meshlint.yaml`), never applies.
#[must_use]
pub fn find(dir: &Path) -> Option<PathBuf> {
    let dir = std::fs::canonicalize(dir).ok()?;
    let root = dir.ancestors().find(|d| d.join(".git").exists()).unwrap_or(&dir);
    for d in dir.ancestors() {
        let candidate = d.join(FILE_NAME);
        if candidate.is_file() {
            return Some(candidate);
        }
        if d == root {
            return None;
        }
    }
    None
}

impl Config {
    /// Read a configuration file. A file that cannot be read is an error; anything
    /// wrong inside it is a problem.
    pub fn load(path: &Path) -> std::io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        let root =
            path.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let mut config = Self::parse(&text, root);
        config.path = Some(path.to_owned());
        Ok(config)
    }

    /// Parse configuration text.
    #[must_use]
    pub fn parse(text: &str, root: PathBuf) -> Self {
        let mut c = Config { root, ..Self::default() };
        let stream = yaml::parse_stream(text);
        if let Some(err) = stream.errors.first() {
            c.problem(err.offset..err.offset, format!("the configuration is not valid YAML: {}", err.message), None);
            return c;
        }
        let Some(doc) = stream.documents.first() else { return c };
        let root = doc.root();
        if !root.is_map() {
            c.problem(root.span(), "the configuration must be a mapping".into(), None);
            return c;
        }
        for (key, value) in root.entries() {
            let name = key.scalar().unwrap_or("");
            match name {
                "profile" => c.read_profile(value),
                "namespace" => match value.as_str() {
                    Some(ns) => c.namespace = Some(ns.to_owned()),
                    None => c.wrong_type(value, "a string"),
                },
                "namespaces" => c.read_namespaces(value),
                "fail-on" => match value.scalar().and_then(severity) {
                    Some(s) => c.fail_on = Some(s),
                    None => c.wrong_type(value, "`error`, `warning` or `info`"),
                },
                "rules" => c.read_rules(value),
                "exclude" => c.exclude = c.globs(value),
                "ignore" => c.read_ignores(value),
                "inject" if value.is_map() => c.inject = Some(value.span()),
                "inject" => c.wrong_type(value, "a mapping (the `istio-inject` configuration)"),
                "helm" => c.read_helm(value),
                "kustomize" => c.read_kustomize(value),
                "render-timeout" => match value.as_i64().and_then(|n| u64::try_from(n).ok()).filter(|n| *n > 0) {
                    Some(n) => c.render_timeout = Some(n),
                    None => c.wrong_type(value, "a number of seconds"),
                },
                _ => c.unknown_key(key, name, KEYS),
            }
        }
        c
    }

    fn problem(&mut self, range: Range<usize>, message: String, help: Option<String>) {
        self.problems.push(Problem { range, message, help });
    }

    fn wrong_type(&mut self, node: NodeRef<'_>, expected: &str) {
        self.problem(node.span(), format!("expected {expected}"), None);
    }

    fn unknown_key(&mut self, key: NodeRef<'_>, name: &str, known: &[&str]) {
        let help = did_you_mean(name, known).map(|k| format!("did you mean `{k}`?"));
        self.problem(key.span(), format!("unknown key `{name}`"), help);
    }

    fn read_profile(&mut self, value: NodeRef<'_>) {
        let name = value.scalar().unwrap_or("");
        match <Profile as clap::ValueEnum>::from_str(name, false) {
            Ok(p) => self.profile = Some(p),
            Err(_) => self.problem(value.span(), format!("unknown profile `{name}`"), Some("use `istio-0.2`".into())),
        }
    }

    fn rule_name(&mut self, node: NodeRef<'_>) -> Option<String> {
        let name = node.scalar()?;
        if crate::rules::find(name).is_some() {
            return Some(name.to_owned());
        }
        let names: Vec<&str> = crate::rules::RULES.iter().map(|r| r.name).collect();
        let help = did_you_mean(name, &names).map(|k| format!("did you mean `{k}`?"));
        self.problem(node.span(), format!("unknown rule `{name}`"), help);
        None
    }

    fn read_rules(&mut self, value: NodeRef<'_>) {
        if !value.is_map() {
            return self.wrong_type(value, "a mapping of rule names to levels");
        }
        for (key, level) in value.entries() {
            let Some(name) = self.rule_name(key) else { continue };
            let parsed = match level.scalar() {
                Some("off") => Some(Level::Off),
                Some(s) => severity(s).map(Level::On),
                None => None,
            };
            match parsed {
                Some(l) => self.rules.push((name, l)),
                None => self.wrong_type(level, "`off`, `info`, `warning` or `error`"),
            }
        }
    }

    fn globs(&mut self, value: NodeRef<'_>) -> Vec<GlobMatcher> {
        if !value.is_seq() {
            self.wrong_type(value, "a list of globs");
            return Vec::new();
        }
        let mut out = Vec::new();
        for item in value.items() {
            let Some(text) = item.scalar() else {
                self.wrong_type(item, "a glob");
                continue;
            };
            match Glob::new(text) {
                Ok(g) => out.push(g.compile_matcher()),
                Err(e) => self.problem(item.span(), format!("invalid glob: {e}"), None),
            }
        }
        out
    }

    fn read_namespaces(&mut self, value: NodeRef<'_>) {
        if !value.is_map() {
            return self.wrong_type(value, "a mapping from path globs to namespaces");
        }
        for (key, ns) in value.entries() {
            let Some(glob) = key.scalar() else {
                self.wrong_type(key, "a path glob");
                continue;
            };
            let Some(namespace) = ns.as_str().filter(|n| is_dns_label(n)) else {
                self.wrong_type(ns, "a namespace name (a DNS label: lowercase letters, digits and `-`)");
                continue;
            };
            match Glob::new(glob) {
                Ok(g) => {
                    self.namespaces.root.clone_from(&self.root);
                    self.namespaces.globs.push((g.compile_matcher(), namespace.to_owned()));
                }
                Err(e) => self.problem(key.span(), format!("invalid glob: {e}"), None),
            }
        }
    }

    fn read_helm(&mut self, value: NodeRef<'_>) {
        if let Some(path) = value.as_str() {
            self.helm.binary = Some(self.binary_path(path));
            return;
        }
        if !value.is_map() {
            return self.wrong_type(
                value,
                "the path of `helm`, or a mapping with `binary`, `release`, `namespace`, `values`, `charts`",
            );
        }
        for (key, v) in value.entries() {
            match key.scalar().unwrap_or("") {
                "binary" => match v.as_str() {
                    Some(p) => self.helm.binary = Some(self.binary_path(p)),
                    None => self.wrong_type(v, "a path"),
                },
                "charts" if v.is_map() => {
                    for (chart, settings) in v.entries() {
                        let Some(dir) = chart.as_str() else {
                            self.wrong_type(chart, "a chart folder");
                            continue;
                        };
                        let mut s = crate::rendering::helm::Settings::default();
                        if !settings.is_map() {
                            self.wrong_type(settings, "a mapping with `release`, `namespace`, `values`");
                            continue;
                        }
                        for (k, sv) in settings.entries() {
                            self.chart_setting(&mut s, k, sv, CHART_KEYS);
                        }
                        self.helm.charts.push((PathBuf::from(dir), s));
                    }
                }
                "charts" => self.wrong_type(v, "a mapping of chart folders to settings"),
                _ => {
                    let mut s = std::mem::take(&mut self.helm.defaults);
                    self.chart_setting(&mut s, key, v, HELM_KEYS);
                    self.helm.defaults = s;
                }
            }
        }
    }

    /// One of `release`, `namespace`, `values` of a chart's settings.
    fn chart_setting(
        &mut self,
        s: &mut crate::rendering::helm::Settings,
        key: NodeRef<'_>,
        v: NodeRef<'_>,
        known: &[&str],
    ) {
        match key.scalar().unwrap_or("") {
            "release" => match v.as_str().filter(|r| is_dns_label(r)) {
                Some(r) => s.release = Some(r.to_owned()),
                None => self.wrong_type(v, "a release name (lowercase letters, digits and `-`)"),
            },
            "namespace" => match v.as_str().filter(|n| is_dns_label(n)) {
                Some(n) => s.namespace = Some(n.to_owned()),
                None => self.wrong_type(v, "a namespace name"),
            },
            "values" if v.is_seq() => {
                for item in v.items() {
                    match item.as_str() {
                        Some(f) => s.values.push(PathBuf::from(f)),
                        None => self.wrong_type(item, "a values file, relative to the chart's folder"),
                    }
                }
            }
            "values" => self.wrong_type(v, "a list of values files, relative to the chart's folder"),
            other => self.unknown_key(key, other, known),
        }
    }

    fn read_kustomize(&mut self, value: NodeRef<'_>) {
        let overlays = |c: &mut Self, list: NodeRef<'_>| {
            for item in list.items() {
                match item.as_str() {
                    Some(d) => c.overlays.push(PathBuf::from(d)),
                    None => c.wrong_type(item, "an overlay folder"),
                }
            }
        };
        if value.is_seq() {
            return overlays(self, value);
        }
        if !value.is_map() {
            return self.wrong_type(value, "a list of overlay folders, or a mapping with `binary` and `overlays`");
        }
        for (key, v) in value.entries() {
            match key.scalar().unwrap_or("") {
                "binary" => match v.as_str() {
                    Some(p) => self.kustomize_binary = Some(self.binary_path(p)),
                    None => self.wrong_type(v, "a path"),
                },
                "overlays" if v.is_seq() => overlays(self, v),
                "overlays" => self.wrong_type(v, "a list of overlay folders"),
                other => self.unknown_key(key, other, KUSTOMIZE_KEYS),
            }
        }
    }

    /// A tool's path as configured: relative to the configuration's folder when it has
    /// a `/`, else a name looked up on `PATH`.
    fn binary_path(&self, text: &str) -> PathBuf {
        if text.contains('/') && !text.starts_with('/') {
            self.root.join(text)
        } else if text.contains('/') {
            PathBuf::from(text)
        } else {
            crate::rendering::find_on_path(text).unwrap_or_else(|| PathBuf::from(text))
        }
    }

    fn read_ignores(&mut self, value: NodeRef<'_>) {
        if !value.is_seq() {
            return self.wrong_type(value, "a list of `{rules, objects, paths}` entries");
        }
        for item in value.items() {
            if !item.is_map() {
                self.wrong_type(item, "a mapping with `rules`, `objects` and/or `paths`");
                continue;
            }
            let mut entry = Ignore { rules: Vec::new(), objects: Vec::new(), paths: Vec::new(), span: item.span() };
            for (key, v) in item.entries() {
                match key.scalar().unwrap_or("") {
                    "rules" if v.is_seq() => entry.rules = v.items().filter_map(|r| self.rule_name(r)).collect(),
                    "rules" => self.wrong_type(v, "a list of rule names"),
                    "objects" => entry.objects = self.globs(v),
                    "paths" => entry.paths = self.globs(v),
                    other => self.unknown_key(key, other, IGNORE_KEYS),
                }
            }
            self.ignore.push(entry);
        }
    }

    /// The configured level of a rule, if any.
    #[must_use]
    pub fn level(&self, rule: &str) -> Option<Level> {
        self.rules.iter().rev().find(|(r, _)| r == rule).map(|(_, l)| *l)
    }

    /// Whether a path (as walked) is excluded.
    #[must_use]
    pub fn excluded(&self, path: &Path) -> bool {
        if self.exclude.is_empty() {
            return false;
        }
        let rel = relative_to(path, &self.root);
        self.exclude.iter().any(|g| g.is_match(&rel) || rel.ancestors().any(|a| g.is_match(a)))
    }
}

pub use crate::paths::relative_to;

fn severity(s: &str) -> Option<Severity> {
    match s {
        "error" => Some(Severity::Error),
        "warning" => Some(Severity::Warning),
        "info" => Some(Severity::Info),
        _ => None,
    }
}

/// Whether `name` can be a namespace: an RFC 1123 DNS label.
#[must_use]
pub fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mistakes_are_problems_with_positions() {
        let text = "profil: istio-0.2\nrules:\n  unamed-service-port: off\n  pod-without-service: loud\n";
        let c = Config::parse(text, PathBuf::from("."));
        let messages: Vec<&str> = c.problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "unknown key `profil`",
                "unknown rule `unamed-service-port`",
                "expected `off`, `info`, `warning` or `error`"
            ]
        );
        assert_eq!(&text[c.problems[0].range.clone()], "profil");
        assert_eq!(c.problems[1].help.as_deref(), Some("did you mean `unnamed-service-port`?"));
        assert_eq!(&text[c.problems[2].range.clone()], "loud");
    }
}
