//! The 0.2 injection configuration: the `istio-inject` ConfigMap (its `data.config`
//! YAML string, parsed with positions mapped back into the manifest) and the
//! `InitializerConfiguration`, found among the scanned objects or given by the user.
//! Mistakes in them are `invalid-inject-config` diagnostics, never errors.

use std::ops::Range;

use crate::diag::{Diagnostic, Label, Severity};
use crate::load::LoadedFile;
use crate::model::{Index, Object};
use crate::source::FileId;
use crate::yaml::{self, NodeRef, Style};

/// The 0.2.6 install's initializer name.
pub const DEFAULT_INITIALIZER: &str = "sidecar.initializer.istio.io";
/// Resources of the 0.2.6 install's `InitializerConfiguration`.
pub const DEFAULT_RESOURCES: &[&str] = &["deployments", "statefulsets", "jobs", "daemonsets"];

const CONFIG_KEYS: &[&str] = &["policy", "namespaces", "excludeNamespaces", "initializerName", "params"];
const PARAM_KEYS: &[&str] = &[
    "initImage",
    "proxyImage",
    "verbosity",
    "version",
    "meshConfigMapName",
    "imagePullPolicy",
    "debugMode",
    "enableCoreDump",
    "sidecarProxyUID",
    "includeIPRanges",
];

/// A place in the scanned files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub file: FileId,
    pub range: Range<usize>,
}

impl Source {
    #[must_use]
    pub fn label(&self, message: impl Into<String>) -> Label {
        Label::new(self.file, self.range.clone(), message)
    }
}

/// The initializer's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Policy {
    Off,
    Disabled,
    Enabled,
}

impl Policy {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Off => "off",
            Policy::Disabled => "disabled",
            Policy::Enabled => "enabled",
        }
    }

    /// Istio 0.2 reads any unknown value as `enabled`.
    #[must_use]
    pub fn parse(value: &str) -> (Policy, bool) {
        match value {
            "off" => (Policy::Off, true),
            "disabled" => (Policy::Disabled, true),
            "enabled" => (Policy::Enabled, true),
            _ => (Policy::Enabled, false),
        }
    }
}

/// A value of the configuration with the place that set it (None: built-in default
/// or a command-line flag).
#[derive(Debug, Clone)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Option<Source>,
}

impl<T> Sourced<T> {
    fn default(value: T) -> Self {
        Self { value, source: None }
    }
}

/// Where the configuration came from.
#[derive(Debug, Clone)]
pub enum Origin {
    BuiltIn,
    /// The `istio-inject` ConfigMap at this place (its `config` key).
    ConfigMap(Source),
    /// A file given with `--inject-config`.
    File(String),
}

/// Everything the 0.2 initializer decides with.
#[derive(Debug, Clone)]
pub struct InjectConfig {
    pub origin: Origin,
    pub policy: Sourced<Policy>,
    /// `policy` as written, when it was not one of the three values.
    pub unknown_policy: Option<String>,
    pub policy_overridden: bool,
    pub namespaces: Vec<Sourced<String>>,
    pub exclude_namespaces: Vec<Sourced<String>>,
    pub initializer_name: Sourced<String>,
    /// Resources the `InitializerConfiguration` sends to the initializer, when the name
    /// matches one; empty when it matches none.
    pub resources: Sourced<Vec<String>>,
    /// The `InitializerConfiguration` found, if any.
    pub initializer_configuration: Option<Source>,
    /// Why the initializer would not run at all (it refuses its configuration).
    pub broken: Option<Sourced<String>>,
    /// `params`, for the injector.
    pub params: Vec<(String, Sourced<String>)>,
}

impl Default for InjectConfig {
    fn default() -> Self {
        Self {
            origin: Origin::BuiltIn,
            policy: Sourced::default(Policy::Enabled),
            unknown_policy: None,
            policy_overridden: false,
            namespaces: vec![Sourced::default(String::new())],
            exclude_namespaces: Vec::new(),
            initializer_name: Sourced::default(DEFAULT_INITIALIZER.to_owned()),
            resources: Sourced::default(DEFAULT_RESOURCES.iter().map(|s| (*s).to_owned()).collect()),
            initializer_configuration: None,
            broken: None,
            params: Vec::new(),
        }
    }
}

impl InjectConfig {
    /// Whether a kind reaches the initializer (`Deployment` → `deployments`).
    #[must_use]
    pub fn initializes_kind(&self, kind: &str) -> bool {
        let plural = format!("{}s", kind.to_ascii_lowercase());
        self.resources.value.iter().any(|r| r == "*" || *r == plural)
    }

    /// A param's value, if set.
    #[must_use]
    pub fn param(&self, key: &str) -> Option<&Sourced<String>> {
        self.params.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// The configuration and the diagnostics about it.
pub struct Loaded {
    pub config: InjectConfig,
    pub diagnostics: Vec<Diagnostic>,
}

/// A configuration the user gave rather than one found among the objects.
#[derive(Debug, Clone)]
pub enum Given {
    /// A file from `--inject-config`: a ConfigMap manifest or the bare config YAML.
    File(FileId),
    /// The `inject:` section (at this byte range) of the meshlint configuration file.
    Section(FileId, Range<usize>),
}

/// Find the configuration among the scanned objects. `given` wins over anything found.
#[must_use]
pub fn discover(files: &[LoadedFile], index: &Index<'_>, given: Option<&Given>) -> Loaded {
    let mut diags = Vec::new();
    let mut config = InjectConfig::default();
    let found: Vec<&Object<'_>> = index
        .objects
        .iter()
        .filter(|o| {
            o.kind == "ConfigMap"
                && o.name == Some(super::INJECT_CONFIG_MAP)
                && o.namespace == Some("istio-system")
                && !o.partial
        })
        .collect();
    if let Some(Given::Section(fid, range)) = given {
        let section = files[*fid].documents.first().and_then(|d| d.root().get("inject")).filter(|n| n.span() == *range);
        if let Some(node) = section {
            read_config_map(node, *fid, &mut config, &mut diags);
        }
        config.origin = Origin::File(files[*fid].source.name.clone());
    } else if let Some(&Given::File(fid)) = given {
        let file = &files[fid];
        if let Some(doc) = file.documents.first() {
            let root = doc.root();
            let config_node = if root.get("kind").and_then(|k| k.scalar()) == Some("ConfigMap") {
                root.path(&["data", "config"])
            } else {
                None
            };
            match config_node {
                Some(node) => read_config_string(files, fid, node, &mut config, &mut diags),
                None => read_config_map(root, fid, &mut config, &mut diags),
            }
        }
        config.origin = Origin::File(file.source.name.clone());
    } else if let Some(first) = found.first() {
        if let Some(node) = first.node.path(&["data", "config"]) {
            let (key, _) = first.node.get("data").and_then(|d| d.get_entry("config")).expect("config exists");
            config.origin = Origin::ConfigMap(Source { file: first.file, range: key.span() });
            read_config_string(files, first.file, node, &mut config, &mut diags);
        }
        compare_config_maps(&found, &mut diags);
    }
    read_initializer_configuration(index, &mut config, &mut diags);
    Loaded { config, diagnostics: diags }
}

/// Parse `data.config` (a YAML string) and fill `config`, with positions inside it.
fn read_config_string(
    files: &[LoadedFile],
    file: FileId,
    node: NodeRef<'_>,
    config: &mut InjectConfig,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(text) = node.scalar() else {
        diags.push(problem(
            file,
            node.span(),
            "`config` is not a string",
            "write the configuration as a block: `config: |`",
        ));
        return;
    };
    let mapper = Embedded::new(files.get(file).map(|f| f.source.text.as_str()), node);
    let stream = yaml::parse_stream(text);
    if let Some(err) = stream.errors.first() {
        let at = mapper.map(err.offset);
        diags.push(problem(
            file,
            at..at,
            &format!("the embedded `config` is not valid YAML: {}", err.message),
            "fix the YAML inside `config`; the initializer cannot start with it",
        ));
        config.broken = Some(Sourced { value: "its configuration does not parse".into(), source: src(file, at..at) });
        return;
    }
    let Some(doc) = stream.documents.first() else { return };
    let ctx = Ctx { file, mapper: &mapper };
    read_config_map_with(doc.root(), &ctx, config, diags);
}

/// Where a bare configuration (from `--inject-config`) or a parsed `config` string sits.
struct Ctx<'m> {
    file: FileId,
    mapper: &'m Embedded,
}

impl Ctx<'_> {
    fn source(&self, range: Range<usize>) -> Option<Source> {
        src(self.file, self.mapper.map(range.start)..self.mapper.map(range.end))
    }
}

#[allow(clippy::unnecessary_wraps)] // Option: sources may be absent (flags, defaults).
fn src(file: FileId, range: Range<usize>) -> Option<Source> {
    Some(Source { file, range })
}

fn read_config_map(root: NodeRef<'_>, file: FileId, config: &mut InjectConfig, diags: &mut Vec<Diagnostic>) {
    let mapper = Embedded::identity();
    let ctx = Ctx { file, mapper: &mapper };
    read_config_map_with(root, &ctx, config, diags);
}

fn read_config_map_with(root: NodeRef<'_>, ctx: &Ctx<'_>, config: &mut InjectConfig, diags: &mut Vec<Diagnostic>) {
    let report = |diags: &mut Vec<Diagnostic>, range: Range<usize>, msg: &str, help: &str| {
        if let Some(s) = ctx.source(range) {
            diags.push(problem(s.file, s.range, msg, help));
        }
    };
    for (key, value) in root.entries() {
        let name = key.scalar().unwrap_or("");
        match name {
            "policy" => {
                let raw = value.scalar().unwrap_or("");
                let (policy, known) = Policy::parse(raw);
                config.policy = Sourced { value: policy, source: ctx.source(value.span()) };
                if !known {
                    config.unknown_policy = Some(raw.to_owned());
                    report(
                        diags,
                        value.span(),
                        &format!("unknown policy `{raw}`: Istio 0.2 silently treats it as `enabled`"),
                        "use `off`, `disabled` or `enabled`",
                    );
                }
            }
            "namespaces" | "excludeNamespaces" => {
                let list: Vec<Sourced<String>> = value
                    .items()
                    .map(|n| Sourced { value: n.scalar().unwrap_or("").to_owned(), source: ctx.source(n.span()) })
                    .collect();
                if name == "namespaces" {
                    config.namespaces = list;
                } else {
                    config.exclude_namespaces = list;
                }
            }
            "initializerName" => {
                let v = value.scalar().unwrap_or("").to_owned();
                config.initializer_name = Sourced { value: v, source: ctx.source(value.span()) };
            }
            "params" => {
                for (k, v) in value.entries() {
                    let pk = k.scalar().unwrap_or("");
                    if !PARAM_KEYS.contains(&pk) {
                        unknown_key(diags, ctx, k.span(), pk, PARAM_KEYS, "params");
                    }
                    let text = v.scalar().unwrap_or("").to_owned();
                    config.params.push((pk.to_owned(), Sourced { value: text, source: ctx.source(v.span()) }));
                }
            }
            _ => unknown_key(diags, ctx, key.span(), name, CONFIG_KEYS, "config"),
        }
    }
    let explicit_namespaces = root.get("namespaces").is_some();
    if explicit_namespaces && !config.exclude_namespaces.is_empty() {
        let key = root.get_entry("excludeNamespaces").map(|(k, _)| k.span()).unwrap_or_default();
        report(
            diags,
            key.clone(),
            "both `namespaces` and `excludeNamespaces` are set: the initializer refuses to start",
            "keep only one of the two lists",
        );
        config.broken = Some(Sourced {
            value: "both `namespaces` and `excludeNamespaces` are set".into(),
            source: ctx.source(key),
        });
    }
    if let Some(empty) = config.exclude_namespaces.iter().find(|n| n.value.is_empty()) {
        if let Some(s) = &empty.source {
            diags.push(problem(
                s.file,
                s.range.clone(),
                "`\"\"` in `excludeNamespaces` excludes every namespace: the initializer refuses to start",
                "list namespaces by name, or set `policy: off`",
            ));
        }
        config.broken =
            Some(Sourced { value: "`\"\"` is in `excludeNamespaces`".into(), source: empty.source.clone() });
    }
}

fn unknown_key(diags: &mut Vec<Diagnostic>, ctx: &Ctx<'_>, range: Range<usize>, key: &str, known: &[&str], what: &str) {
    let Some(s) = ctx.source(range) else { return };
    let help = match did_you_mean(key, known) {
        Some(k) => format!("did you mean `{k}`?"),
        None => format!("known keys of `{what}`: {}", known.join(", ")),
    };
    diags.push(problem(s.file, s.range, &format!("unknown key `{key}` in `{what}`: Istio ignores it"), &help));
}

/// The closest known word, when it is close enough to be a typo.
#[must_use]
pub fn did_you_mean<'k>(word: &str, known: &[&'k str]) -> Option<&'k str> {
    let lower = word.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (levenshtein(&lower, &k.to_ascii_lowercase()), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min()
        .map(|(_, k)| k)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Two `istio-inject` ConfigMaps whose `config` differ: which one the cluster gets
/// depends on the order they are applied.
fn compare_config_maps(found: &[&Object<'_>], diags: &mut Vec<Diagnostic>) {
    fn config_of<'a>(o: &Object<'a>) -> Option<&'a str> {
        o.node.path(&["data", "config"]).and_then(|n| n.scalar()).map(str::trim)
    }
    let first = found[0];
    for other in &found[1..] {
        if config_of(other) != config_of(first) {
            let span = other.node.path(&["data", "config"]).map_or_else(|| other.kind_span(), |n| n.span());
            diags.push(
                problem(
                    other.file,
                    span,
                    "two `istio-inject` ConfigMaps disagree: the one applied last wins",
                    "keep one `istio-inject` ConfigMap; meshlint uses the first one found",
                )
                .with_label(Label::new(first.file, first.name_span(), "the ConfigMap meshlint uses")),
            );
        }
    }
}

fn read_initializer_configuration(index: &Index<'_>, config: &mut InjectConfig, diags: &mut Vec<Diagnostic>) {
    // Only Istio's InitializerConfigurations matter: one for another initializer (the
    // persistent-volume labeler, say) says nothing about Istio's.
    let is_istio = |o: &&Object<'_>| {
        o.node
            .get("initializers")
            .into_iter()
            .flat_map(NodeRef::items)
            .any(|i| i.get("name").and_then(|n| n.scalar()).is_some_and(|n| n.contains("istio")))
    };
    let found: Vec<&Object<'_>> =
        index.objects.iter().filter(|o| o.kind == "InitializerConfiguration" && !o.partial).filter(is_istio).collect();
    let Some(first) = found.first() else { return };
    config.initializer_configuration = Some(Source { file: first.file, range: first.name_span() });
    let wanted = config.initializer_name.value.clone();
    let mut resources = Vec::new();
    let mut source = None;
    for o in &found {
        for init in o.node.get("initializers").into_iter().flat_map(NodeRef::items) {
            if init.get("name").and_then(|n| n.scalar()) != Some(wanted.as_str()) {
                continue;
            }
            for rule in init.get("rules").into_iter().flat_map(NodeRef::items) {
                let list = rule.get("resources");
                if source.is_none() {
                    source = list.map(|l| Source { file: o.file, range: l.span() });
                }
                resources
                    .extend(list.into_iter().flat_map(NodeRef::items).filter_map(|r| r.scalar()).map(str::to_owned));
            }
        }
    }
    if source.is_none() && resources.is_empty() {
        let at = config.initializer_name.source.clone();
        let mut d = problem(
            first.file,
            first.name_span(),
            &format!(
                "`initializerName` `{wanted}` matches no initializer of the InitializerConfiguration: no workload is ever injected"
            ),
            "make `initializerName` and the InitializerConfiguration's initializer name the same",
        );
        if let Some(at) = at {
            d = d.with_label(at.label("the name the initializer answers to"));
        }
        diags.push(d);
    }
    config.resources = Sourced { value: resources, source };
}

fn problem(file: FileId, range: Range<usize>, message: &str, help: &str) -> Diagnostic {
    Diagnostic::new("invalid-inject-config", Severity::Error, message, Label::new(file, range, "")).with_help(help)
}

/// Maps offsets inside an embedded YAML string back to the manifest: exact for literal
/// blocks (`|`, `|-`), whose lines are the manifest's lines shifted by the indentation;
/// other styles point at the start of the string.
struct Embedded {
    /// (byte offset in the manifest of each line of the string, or the string's start).
    line_starts: Vec<usize>,
    fallback: Option<usize>,
    value_line_starts: Vec<usize>,
}

impl Embedded {
    fn identity() -> Self {
        Self { line_starts: Vec::new(), fallback: None, value_line_starts: Vec::new() }
    }

    fn new(text: Option<&str>, node: NodeRef<'_>) -> Self {
        let start = node.span().start;
        let value = node.scalar().unwrap_or("");
        let (Some(text), Some(Style::Literal)) = (text, node.style()) else {
            return Self { line_starts: Vec::new(), fallback: Some(start), value_line_starts: vec![0] };
        };
        // The value's first line is the one after the `|` indicator; the block's
        // indentation is that of its first non-blank line.
        let Some(bar) = text[..start.min(text.len())].rfind('|') else {
            return Self { line_starts: Vec::new(), fallback: Some(start), value_line_starts: vec![0] };
        };
        let first_line = text[bar..].find('\n').map_or(text.len(), |i| bar + i + 1);
        let indent = text[first_line..]
            .split('\n')
            .find(|l| !l.trim().is_empty())
            .map_or(0, |l| l.len() - l.trim_start_matches(' ').len());
        let mut line_starts = Vec::new();
        let mut pos = first_line;
        for line in value.split('\n') {
            // Blank lines of a block may be shorter than the indentation.
            line_starts.push(if line.is_empty() { pos } else { pos + indent });
            pos = text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1);
        }
        let value_line_starts = std::iter::once(0).chain(value.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Self { line_starts, fallback: None, value_line_starts }
    }

    fn map(&self, offset: usize) -> usize {
        if let Some(f) = self.fallback {
            return f;
        }
        if self.line_starts.is_empty() {
            return offset;
        }
        let line = self.value_line_starts.partition_point(|&s| s <= offset).saturating_sub(1);
        self.line_starts.get(line).map_or(offset, |s| s + offset - self.value_line_starts[line])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levenshtein_counts_insertions_deletions_and_substitutions() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        // Two insertions after a match: only the insertion path gives 2.
        assert_eq!(levenshtein("a", "abc"), 2);
        assert_eq!(levenshtein("abc", "a"), 2);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("policy", "policy"), 0);
    }

    #[test]
    fn did_you_mean_allows_a_third_of_a_long_word_and_two_of_a_short_one() {
        let known = ["excludeNamespaces", "policy"];
        // 17 letters: up to 5 edits (17 / 3) are a typo.
        assert_eq!(did_you_mean("exclNamespces", &known), Some("excludeNamespaces"), "4 edits");
        assert_eq!(did_you_mean("exclamations", &known), None, "more than 5 edits");
        // 6 letters: up to 2 edits, whatever a third of it is; case does not count.
        assert_eq!(did_you_mean("POLCY", &known), Some("policy"));
        assert_eq!(did_you_mean("plcy", &known), Some("policy"));
        assert_eq!(did_you_mean("pl", &known), None);
    }
}
