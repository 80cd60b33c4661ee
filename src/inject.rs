//! Rewriting manifests with the sidecar (and without it): edits are insertions and
//! deletions of byte ranges at positions from the parser, rendered in the file's own
//! style (indentation, indentless sequences, flow or JSON syntax, line breaks), so every
//! byte the injection does not need to change stays as the user wrote it. The decision
//! comes from `istio::decide`, the values from `istio::template`.

use std::ops::Range;

use crate::istio::config::InjectConfig;
use crate::istio::decide::{self, Decision, Mode, Outcome, STATUS_ANNOTATION};
use crate::istio::template::{self, Mesh, Params, Sidecar, Val};
use crate::load::{self, LoadedFile};
use crate::model::{Index, ModelOptions, Object, PodTemplate};
use crate::yaml::NodeRef;

/// One change to a file's text: replace `range` with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub text: String,
    /// Among insertions at one offset, lower goes first: deeper blocks (larger column)
    /// before shallower ones, and at one column, items of a sequence before a new key of
    /// the mapping that holds it (indentless sequences share their key's column).
    pub rank: usize,
}

impl Edit {
    fn remove(range: Range<usize>) -> Self {
        Self { range, text: String::new(), rank: 0 }
    }

    fn insert(at: usize, text: String, column: usize, new_key: bool) -> Self {
        Self { range: at..at, text, rank: (10_000usize.saturating_sub(column)) * 2 + usize::from(new_key) }
    }
}

/// What happened to one workload.
#[derive(Debug, Clone)]
pub struct WorkloadChange {
    /// `Kind/namespace/name`.
    pub object: String,
    pub line: usize,
    /// The injection decision (`inject` only).
    pub decision: Option<Decision>,
    /// Whether the workload's text changed.
    pub changed: bool,
}

/// The result for one file.
#[derive(Debug, Clone)]
pub struct FileChange {
    pub new_text: String,
    pub workloads: Vec<WorkloadChange>,
    /// Workloads that should change but whose layout meshlint cannot rewrite.
    pub errors: Vec<String>,
    /// Why a file was handed back unchanged, when that needs saying.
    pub notes: Vec<String>,
}

impl FileChange {
    #[must_use]
    pub fn changed(&self, old: &str) -> bool {
        self.new_text != old
    }
}

/// Why a Helm or Go template named to `inject` or `uninject` comes back unchanged.
pub const TEMPLATE_NOTE: &str = "left unchanged: the file is a Helm or Go template, and meshlint never rewrites templates or their rendered output; add the sidecar at the source (the chart's templates) or let Istio's webhook inject it at admission";

/// How injection is done.
#[derive(Debug, Clone)]
pub struct Settings {
    pub mode: Mode,
    pub params: Params,
    pub mesh: Mesh,
}

/// The file's layout conventions, read off its text.
#[derive(Debug, Clone)]
struct Layout {
    newline: &'static str,
    /// Spaces per nesting level.
    unit: usize,
    /// Whether sequences under a key are written at the key's column (`- ` not indented).
    indentless: bool,
}

fn layout_of(text: &str, template: &PodTemplate<'_>) -> Layout {
    let newline = if text.contains("\r\n") {
        "\r\n"
    } else if text.contains('\r') && !text.contains('\n') {
        "\r"
    } else {
        "\n"
    };
    // (Only differences of columns on lines after the first are used: `i - 1` or `i`
    // for `i + 1` would shift both alike. The template's `spec` key, nested in the
    // workload, is never on the first line of a block document.)
    let column = |at: usize| at - text[..at].rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let mut unit = 2;
    if let Some((key, value)) = template.node.get_entry("spec") {
        if let Some((first, _)) = value.entries().next() {
            let (k, c) = (column(key.span().start), column(first.span().start));
            // (A block mapping's entries are deeper than its key: `c >= k` is the same.)
            if c > k && !value.is_flow() {
                unit = c - k;
            }
        }
    }
    let mut indentless = false;
    if let Some((key, seq)) = template.spec().and_then(|s| s.get_entry("containers")) {
        if let Some(first) = seq.items().next().filter(|_| !seq.is_flow()) {
            if let Some(dash) = dash_before(text, first.span().start) {
                indentless = column(dash) <= column(key.span().start);
            }
        }
    }
    Layout { newline, unit, indentless }
}

/// The offset of the `- ` that introduces a block sequence item starting at `at`: on
/// the item's line, or alone on a line above it (`-`, then the item's content below).
fn dash_before(text: &str, at: usize) -> Option<usize> {
    // (Starting a character or two earlier, at the line break, gives the same answer: a
    // dash ending the line before is what the fallback below finds too.)
    let line_start = text[..at].rfind(['\n', '\r']).map_or(0, |i| i + 1);
    if let Some(i) = text[line_start..at].rfind('-') {
        return Some(line_start + i);
    }
    let before = text[..at].trim_end_matches([' ', '\t', '\n', '\r']);
    before.ends_with('-').then(|| before.len() - 1)
}

fn column(text: &str, at: usize) -> usize {
    at - text[..at].rfind(['\n', '\r']).map_or(0, |i| i + 1)
}

/// The end of the line holding the last character of `span` (before its line break),
/// ignoring trailing blank space the span may include.
fn line_end_after(text: &str, span: Range<usize>) -> usize {
    let mut p = span.end.min(text.len());
    let bytes = text.as_bytes();
    // (Every caller's span starts at a key or an item, never at blank space, so the loop
    // stops before `span.start` whether it is compared with `>` or `>=`.)
    while p > span.start && matches!(bytes[p - 1], b' ' | b'\t' | b'\n' | b'\r') {
        p -= 1;
    }
    text[p..].find(['\n', '\r']).map_or(text.len(), |i| p + i)
}

/// The start of the line break that ends the line before the one holding `at`.
fn line_break_before(text: &str, at: usize) -> usize {
    let line_start = text[..at].rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let mut p = line_start;
    // (`p > 0` guards the first line, where nothing injection adds or removes ever is:
    // `p >= 0` would read before the text there, and nowhere else differs.)
    if p > 0 && text.as_bytes()[p - 1] == b'\n' {
        p -= 1;
    }
    if p > 0 && text.as_bytes()[p - 1] == b'\r' {
        p -= 1;
    }
    p
}

// ---------------------------------------------------------------------------------
// Rendering values

fn needs_quotes(s: &str) -> bool {
    if s.is_empty() || s.trim() != s {
        return true;
    }
    if crate::yaml::resolve_plain(s) != crate::yaml::ScalarType::Str {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) && !(first == '-' && s.len() > 1 && !s.starts_with("- ")) {
        return true;
    }
    s.contains(": ") || s.contains(" #") || s.ends_with(':') || s.contains(['\n', '\r', '\t'])
}

/// A double-quoted string, valid JSON and YAML: serde escapes C0 controls; DEL and the
/// C1 controls, which YAML does not allow raw, are escaped too.
fn json_string(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""));
    if !quoted.chars().any(|c| ('\u{7f}'..='\u{9f}').contains(&c)) {
        return quoted;
    }
    quoted
        .chars()
        .map(|c| if ('\u{7f}'..='\u{9f}').contains(&c) { format!("\\u{:04x}", u32::from(c)) } else { c.to_string() })
        .collect()
}

fn scalar_text(v: &Val) -> Option<String> {
    match v {
        Val::Str(s) if needs_quotes(s) => Some(json_string(s)),
        Val::Str(s) => Some(s.clone()),
        Val::Int(i) => Some(i.to_string()),
        Val::Bool(b) => Some(b.to_string()),
        Val::Map(m) if m.is_empty() => Some("{}".into()),
        Val::Seq(s) if s.is_empty() => Some("[]".into()),
        _ => None,
    }
}

/// Render a value as JSON (valid YAML flow syntax too).
fn json(v: &Val) -> String {
    match v {
        Val::Str(s) => json_string(s),
        Val::Int(i) => i.to_string(),
        Val::Bool(b) => b.to_string(),
        Val::Map(m) => {
            let inner: Vec<String> = m.iter().map(|(k, v)| format!("{}: {}", json_string(k), json(v))).collect();
            format!("{{{}}}", inner.join(", "))
        }
        Val::Seq(s) => format!("[{}]", s.iter().map(json).collect::<Vec<_>>().join(", ")),
    }
}

/// Lines of a block mapping's entries, each starting at column `indent`.
fn block_map(entries: &[(String, Val)], indent: usize, layout: &Layout, out: &mut Vec<String>) {
    for (key, value) in entries {
        let key_text = if needs_quotes(key) { json_string(key) } else { key.clone() };
        block_entry(&key_text, value, indent, layout, out);
    }
}

fn block_entry(key: &str, value: &Val, indent: usize, layout: &Layout, out: &mut Vec<String>) {
    let pad = " ".repeat(indent);
    if let Some(text) = scalar_text(value) {
        out.push(format!("{pad}{key}: {text}"));
        return;
    }
    out.push(format!("{pad}{key}:"));
    match value {
        Val::Map(m) => block_map(m, indent + layout.unit, layout, out),
        Val::Seq(items) => {
            let dash = if layout.indentless { indent } else { indent + layout.unit };
            block_seq(items, dash, layout, out);
        }
        _ => {}
    }
}

/// Lines of block sequence items whose dashes sit at column `dash`.
fn block_seq(items: &[Val], dash: usize, layout: &Layout, out: &mut Vec<String>) {
    for item in items {
        block_item(item, dash, layout, out);
    }
}

fn block_item(item: &Val, dash: usize, layout: &Layout, out: &mut Vec<String>) {
    let pad = " ".repeat(dash);
    if let Some(text) = scalar_text(item) {
        out.push(format!("{pad}- {text}"));
        return;
    }
    let mut lines = Vec::new();
    match item {
        Val::Map(m) => block_map(m, dash + 2, layout, &mut lines),
        Val::Seq(s) => block_seq(s, dash + 2, layout, &mut lines),
        _ => {}
    }
    if let Some(first) = lines.first_mut() {
        first.replace_range(dash..dash + 2, "- ");
    }
    out.extend(lines);
}

/// Each line preceded by a line break: text to insert at the end of a line.
fn prefix_lines(lines: &[String], newline: &str) -> String {
    let mut out = String::with_capacity(lines.iter().map(|l| l.len() + newline.len()).sum());
    for line in lines {
        out.push_str(newline);
        out.push_str(line);
    }
    out
}

// ---------------------------------------------------------------------------------
// Edits on collections

/// Append items to a sequence.
fn append_items(text: &str, seq: NodeRef<'_>, items: &[Val], layout: &Layout, edits: &mut Vec<Edit>) {
    if seq.is_flow() {
        let rendered: Vec<String> = items.iter().map(json).collect();
        if let Some(last) = seq.items().last() {
            let at = last.span().end;
            edits.push(Edit::insert(at, format!(", {}", rendered.join(", ")), 0, false));
        } else {
            let at = seq.span().start + 1;
            edits.push(Edit::insert(at, rendered.join(", "), 0, false));
        }
        return;
    }
    let Some(first) = seq.items().next() else { return };
    let dash = dash_before(text, first.span().start).map_or(0, |d| column(text, d));
    let last = seq.items().last().expect("has a first item");
    let at = line_end_after(text, last.span());
    let mut lines = Vec::new();
    block_seq(items, dash, layout, &mut lines);
    let inserted = prefix_lines(&lines, layout.newline);
    edits.push(Edit::insert(at, inserted, dash, false));
}

/// Give a key written with no value (`volumes:`) the items, below its line. The items
/// take the other sequence style than the file's (indented in an indentless file, and
/// the reverse), which is how `uninject` tells such a key from one injection created.
fn fill_empty(text: &str, key: NodeRef<'_>, items: &[Val], layout: &Layout, edits: &mut Vec<Edit>) {
    let indent = column(text, key.span().start);
    let layout = &Layout { indentless: !layout.indentless, ..layout.clone() };
    let dash = if layout.indentless { indent } else { indent + layout.unit };
    let at = line_end_after(text, key.span());
    let mut lines = Vec::new();
    block_seq(items, dash, layout, &mut lines);
    edits.push(Edit::insert(at, prefix_lines(&lines, layout.newline), dash, false));
}

/// Add a key to a mapping (after its last entry).
fn add_entry(text: &str, map: NodeRef<'_>, key: &str, value: &Val, layout: &Layout, edits: &mut Vec<Edit>) {
    if map.is_flow() {
        let entry = format!("{}: {}", json_string(key), json(value));
        if let Some((_, v)) = map.entries().last() {
            let at = v.span().end;
            edits.push(Edit::insert(at, format!(", {entry}"), 0, true));
        } else {
            let at = map.span().start + 1;
            edits.push(Edit::insert(at, entry, 0, true));
        }
        return;
    }
    let Some((first_key, _)) = map.entries().next() else { return };
    let indent = column(text, first_key.span().start);
    let (_, last_value) = map.entries().last().expect("has a first entry");
    let last_key = map.entries().last().map(|(k, _)| k).expect("has a first entry");
    let at = line_end_after(text, last_key.span().start..last_value.span().end.max(last_key.span().end));
    let mut lines = Vec::new();
    let key_text = if needs_quotes(key) { json_string(key) } else { key.to_owned() };
    block_entry(&key_text, value, indent, layout, &mut lines);
    let inserted = prefix_lines(&lines, layout.newline);
    edits.push(Edit::insert(at, inserted, indent, true));
}

/// Set `key: value` inside `map.<path...>`, creating the missing mappings.
fn ensure_entry(
    text: &str,
    map: NodeRef<'_>,
    path: &[&str],
    value: Val,
    layout: &Layout,
    edits: &mut Vec<Edit>,
) -> Result<(), String> {
    let (head, rest) = path.split_first().expect("non-empty path");
    match map.get(head) {
        // (Unreached by the status annotation: a workload carrying it is already
        // injected and never rewritten. A guard, with the clearer message.)
        Some(_) if rest.is_empty() => Err(format!("`{head}` is already set")),
        Some(child) if child.is_map() && (child.is_flow() || child.entries().next().is_some()) => {
            ensure_entry(text, child, rest, value, layout, edits)
        }
        Some(_) => Err(format!("`{head}` is empty or not a mapping; meshlint does not rewrite it")),
        None => {
            let nested = rest.iter().rev().fold(value, |v, k| Val::Map(vec![((*k).to_owned(), v)]));
            add_entry(text, map, head, &nested, layout, edits);
            Ok(())
        }
    }
}

// ---------------------------------------------------------------------------------
// Inject

/// The edits that inject `sidecar` into one workload.
fn inject_edits(
    text: &str,
    object: &Object<'_>,
    template: &PodTemplate<'_>,
    sidecar: &Sidecar,
) -> Result<Vec<Edit>, String> {
    let layout = layout_of(text, template);
    let spec = template.spec().ok_or("the pod template has no `spec`")?;
    let containers = spec
        .get("containers")
        .filter(|c| c.is_seq() && c.items().next().is_some())
        .ok_or("the pod has no containers")?;
    let mut edits = Vec::new();
    let status = || Val::Str(sidecar.status.clone());
    // The template's annotation, then the containers, init containers and volumes, then
    // the workload's annotation: each edit lies in its own place, and their order in
    // the text is their order here for a block layout.
    if let Some(meta) = template.metadata() {
        ensure_entry(text, meta, &["annotations", STATUS_ANNOTATION], status(), &layout, &mut edits)?;
    } else {
        let annotations = Val::Map(vec![(STATUS_ANNOTATION.to_owned(), status())]);
        let meta = Val::Map(vec![("annotations".to_owned(), annotations)]);
        add_entry(text, template.node, "metadata", &meta, &layout, &mut edits);
    }
    append_items(text, containers, std::slice::from_ref(&sidecar.container), &layout, &mut edits);
    for (key, items) in [("initContainers", &sidecar.init_containers), ("volumes", &sidecar.volumes)] {
        match spec.get_entry(key) {
            Some((_, list)) if list.is_seq() && (list.is_flow() || list.items().next().is_some()) => {
                append_items(text, list, items, &layout, &mut edits);
            }
            Some((k, v)) if v.is_null() && v.span().is_empty() && !spec.is_flow() => {
                fill_empty(text, k, items, &layout, &mut edits);
            }
            Some(_) => return Err(format!("`{key}` is not a list")),
            None => add_entry(text, spec, key, &Val::Seq(items.clone()), &layout, &mut edits),
        }
    }
    if object.node.id() != template.node.id() {
        let meta = object.metadata().ok_or("the workload has no `metadata`")?;
        ensure_entry(text, meta, &["annotations", STATUS_ANNOTATION], status(), &layout, &mut edits)?;
    }
    Ok(edits)
}

/// Apply edits (non-overlapping; insertions at one offset keep their order).
#[must_use]
pub fn apply(text: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| (e.range.start, e.range.end, e.rank));
    let mut out = String::with_capacity(text.len() + edits.iter().map(|e| e.text.len()).sum::<usize>());
    let mut pos = 0;
    for e in edits {
        if e.range.start < pos {
            continue;
        }
        out.push_str(&text[pos..e.range.start]);
        out.push_str(&e.text);
        pos = e.range.end;
    }
    out.push_str(&text[pos..]);
    out
}

fn describe(files: &[LoadedFile], object: &Object<'_>) -> (String, usize) {
    let line = files[object.file].source.position(object.kind_span().start).line;
    (format!("{}/{}/{}", object.kind, object.effective_namespace, object.shown_name()), line)
}

/// Inject every workload of file `file` that the decision says to inject.
pub fn inject_file(
    files: &[LoadedFile],
    index: &Index<'_>,
    file: usize,
    config: &InjectConfig,
    settings: &Settings,
) -> Result<FileChange, String> {
    let text = &files[file].source.text;
    let mut edits = Vec::new();
    let mut workloads = Vec::new();
    let mut errors = Vec::new();
    for object in index.objects.iter().filter(|o| o.file == file && !o.partial) {
        let Some(template) = PodTemplate::of(object) else { continue };
        let mut decision = decide::decide(config, object, &template, settings.mode);
        let (name, line) = describe(files, object);
        let before = edits.len();
        if decision.outcome == Outcome::Injected {
            // A name injection adds that the pod already has: the injected pod would be
            // rejected, and uninjection could not tell the two apart. Refuse the file.
            if let Some(c) = template::name_conflicts(&template, &settings.params).first() {
                let at = files[file].source.position(c.node.span().start);
                return Err(format!(
                    "{name}: the pod already has {} named `{}` (line {}, column {}), and injection adds {} of that name, which the API server rejects; rename it or opt the workload out with `sidecar.istio.io/inject: \"false\"`. The file was left unchanged",
                    template::article(c.what),
                    c.name,
                    at.line,
                    at.column,
                    template::article(c.added)
                ));
            }
            let app = template.label("app");
            let account = template.spec().and_then(|s| s.get("serviceAccountName")).and_then(|n| n.scalar());
            let sidecar = template::sidecar(&settings.params, &settings.mesh, app, account);
            match inject_edits(text, object, &template, &sidecar) {
                Ok(e) => edits.extend(e),
                Err(why) => {
                    errors.push(format!("{name}: cannot rewrite this layout ({why}); the workload was left unchanged"));
                    decision.outcome = Outcome::NotInjected;
                    decision.detail = format!("cannot rewrite this layout: {why}");
                }
            }
        }
        // (What is said of the workload follows from the decision as well: an injected
        // one always has edits, one left out never, so `<` here would say the same.)
        let changed = edits.len() > before;
        workloads.push(WorkloadChange { object: name, line, decision: Some(decision), changed });
    }
    let new_text = apply(text, edits);
    let expect: Vec<bool> =
        workloads.iter().map(|w| w.decision.as_ref().is_some_and(|d| d.outcome != Outcome::NotInjected)).collect();
    verify(files, index, file, &new_text, |o, t| decide::already_injected(o, t).is_some(), &expect)?;
    Ok(FileChange { new_text, workloads, errors, notes: Vec::new() })
}

/// Re-parse a rewritten file: it must parse, hold the same objects, and each workload
/// must (or must no longer) carry a sidecar.
fn verify(
    files: &[LoadedFile],
    index: &Index<'_>,
    file: usize,
    new_text: &str,
    has_sidecar: impl Fn(&Object<'_>, &PodTemplate<'_>) -> bool,
    expect: &[bool],
) -> Result<(), String> {
    if new_text == files[file].source.text {
        return Ok(());
    }
    let old = &files[file];
    let reloaded = load::load(0, old.source.name.clone(), None, new_text.as_bytes().to_vec());
    if let Some(problem) = reloaded.problems.iter().find(|d| d.rule == "invalid-yaml") {
        return Err(format!("the rewritten text does not parse ({}); the file was left unchanged", problem.message));
    }
    if reloaded.documents.len() != old.documents.len() {
        return Err("the rewritten text has a different number of documents; the file was left unchanged".into());
    }
    let options = ModelOptions::new("default");
    let new_files = [reloaded];
    let new_index = Index::build(&new_files, &options);
    // The same objects, in the same order, judged as whole or partial as before.
    let partial: Vec<bool> = index.objects.iter().filter(|o| o.file == file).map(|o| o.partial).collect();
    if partial.len() != new_index.objects.len() {
        return Err("the rewritten text holds other objects; the file was left unchanged".into());
    }
    let templates: Vec<_> = new_index
        .objects
        .iter()
        .zip(&partial)
        .filter(|(_, p)| !**p)
        .filter_map(|(o, _)| Some((o, PodTemplate::of(o)?)))
        .collect();
    if templates.len() != expect.len() {
        return Err("the rewritten text has a different number of workloads; the file was left unchanged".into());
    }
    let old_templates = index.objects.iter().filter(|o| o.file == file && !o.partial).filter_map(PodTemplate::of);
    for (((object, template), want), old_template) in templates.iter().zip(expect).zip(old_templates) {
        if has_sidecar(object, template) != *want {
            return Err(format!(
                "{} was not rewritten as expected; the file was left unchanged",
                object.display_name()
            ));
        }
        // The API server rejects a pod with two containers or two volumes of one name.
        if duplicate_names(template) > duplicate_names(&old_template) {
            return Err(format!(
                "{} would have two containers or volumes of one name; the file was left unchanged",
                object.display_name()
            ));
        }
    }
    // Beyond the sidecar, the data must be the user's: compare every document with what
    // injection adds taken out of both sides.
    for (i, (old_doc, new_doc)) in old.documents.iter().zip(&new_files[0].documents).enumerate() {
        let (a, b) = (data_without_sidecar(old_doc.root()), data_without_sidecar(new_doc.root()));
        if a.is_none() || a != b {
            return Err(format!(
                "document {} would change beyond the sidecar in this layout; the file was left unchanged",
                i + 1
            ));
        }
    }
    Ok(())
}

/// How many container names (init containers included) and volume names of a pod are
/// repeats of an earlier one.
fn duplicate_names(template: &PodTemplate<'_>) -> usize {
    let repeats = |names: Vec<&str>| {
        let mut seen = std::collections::HashSet::new();
        names.into_iter().filter(|n| !seen.insert(*n)).count()
    };
    let containers = template.containers().chain(template.init_containers()).map(|c| item_name(&c)).collect();
    let volumes = template.spec().and_then(|s| s.get("volumes")).into_iter().flat_map(NodeRef::items);
    repeats(containers) + repeats(volumes.map(|v| item_name(&v)).collect())
}

/// A document's data with everything injection adds removed and empty values dropped,
/// for comparing a rewrite with its original. `None` when the document is too large to
/// compare (an alias bomb, say).
fn data_without_sidecar(root: NodeRef<'_>) -> Option<serde_json::Value> {
    let mut budget = 1_000_000usize;
    let mut value = to_value(root, &mut budget, 0)?;
    strip(&mut value);
    Some(value)
}

fn to_value(node: NodeRef<'_>, budget: &mut usize, depth: usize) -> Option<serde_json::Value> {
    use serde_json::Value as J;
    *budget = budget.checked_sub(1)?;
    // A guard: the parser reads nothing deeper than MAX_DEPTH, so this never fires (and
    // a depth that stopped growing, `depth * 1` for `depth + 1`, would change nothing).
    if depth > crate::yaml::MAX_DEPTH {
        return None;
    }
    Some(if node.is_map() {
        let mut map = serde_json::Map::new();
        for (k, v) in node.entries() {
            map.insert(k.scalar().unwrap_or("").to_owned(), to_value(v, budget, depth + 1)?);
        }
        J::Object(map)
    } else if node.is_seq() {
        J::Array(node.items().map(|i| to_value(i, budget, depth + 1)).collect::<Option<_>>()?)
    } else {
        let raw = node.scalar().unwrap_or("");
        match node.k8s_type() {
            Some(crate::yaml::ScalarType::Null) => J::Null,
            Some(crate::yaml::ScalarType::Bool) => J::Bool(node.as_bool().unwrap_or(false)),
            Some(crate::yaml::ScalarType::Int) => node.as_i64().map_or_else(|| J::String(raw.to_owned()), J::from),
            _ => J::String(raw.to_owned()),
        }
    })
}

/// Remove the sidecar's containers, init containers, volumes and status annotation
/// wherever they appear, then every empty value.
fn strip(value: &mut serde_json::Value) {
    use serde_json::Value as J;
    match value {
        J::Object(map) => {
            for key in INJECTED_LISTS {
                if let Some(J::Array(items)) = map.get_mut(key) {
                    items.retain(|i| !injected_shape(key, i));
                }
            }
            if let Some(J::Object(a)) = map.get_mut("annotations") {
                a.remove(STATUS_ANNOTATION);
            }
            for v in map.values_mut() {
                strip(v);
            }
            map.retain(|_, v| !is_empty(v));
        }
        J::Array(items) => items.iter_mut().for_each(strip),
        _ => {}
    }
}

/// The lists of a pod spec that injection appends to.
const INJECTED_LISTS: [&str; 3] = ["containers", "initContainers", "volumes"];

/// Whether `item` of the pod spec's list `list` is what 0.2 injection adds there: its
/// name *and* its content (as `template::sidecar` writes it, or `istioctl kube-inject`,
/// which adds empty `resources` and a `sizeLimit`). A user's item that merely has one of
/// those names is not.
fn injected_shape(list: &str, item: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    let J::Object(map) = item else { return false };
    // Keys with empty values (`resources: {}`) say nothing either way.
    let keys_within = |allowed: &[&str]| map.iter().all(|(k, v)| is_empty(v) || allowed.contains(&k.as_str()));
    let at = |pointer: &str| item.pointer(pointer);
    let within = |pointer: &str, allowed: &[&str]| {
        at(pointer).and_then(J::as_object).is_some_and(|m| m.keys().all(|k| allowed.contains(&k.as_str())))
    };
    match (list, map.get("name").and_then(J::as_str)) {
        ("containers", Some(decide::PROXY_CONTAINER)) => {
            keys_within(&["name", "image", "args", "env", "imagePullPolicy", "securityContext", "volumeMounts"])
                && strings(at("/args")).is_some_and(|a| a.starts_with(&["proxy", "sidecar"]))
        }
        ("initContainers", Some("istio-init")) => {
            keys_within(&["name", "image", "args", "imagePullPolicy", "securityContext"])
                && strings(at("/args")).is_some_and(|a| a.first() == Some(&"-p") && a.contains(&"-u"))
                && (at("/securityContext").is_none() || within("/securityContext", &["capabilities", "privileged"]))
        }
        ("initContainers", Some("enable-core-dump")) => {
            keys_within(&["name", "image", "command", "args", "imagePullPolicy", "securityContext"])
                && strings(at("/command")).is_some_and(|c| c == ["/bin/sh"])
                && strings(at("/args"))
                    .is_some_and(|a| a.len() == 2 && a[0] == "-c" && a[1].contains("kernel.core_pattern"))
        }
        ("volumes", Some("istio-envoy")) => {
            keys_within(&["name", "emptyDir"])
                && at("/emptyDir/medium").and_then(J::as_str) == Some("Memory")
                && within("/emptyDir", &["medium", "sizeLimit"])
        }
        ("volumes", Some("istio-certs")) => {
            keys_within(&["name", "secret"])
                && at("/secret/secretName").and_then(J::as_str).is_some_and(|n| n.starts_with("istio."))
                && within("/secret", &["secretName", "optional"])
        }
        _ => false,
    }
}

/// The strings of a JSON array of strings.
fn strings(value: Option<&serde_json::Value>) -> Option<Vec<&str>> {
    value?.as_array()?.iter().map(serde_json::Value::as_str).collect()
}

/// The `name` of a list item, or "".
fn item_name<'d>(item: &NodeRef<'d>) -> &'d str {
    item.get("name").and_then(|n| n.scalar()).unwrap_or_default()
}

/// Whether an item of the pod spec's list `list` in the text is what injection adds.
fn is_injected_item(list: &str, item: NodeRef<'_>) -> bool {
    let mut budget = 100_000usize;
    to_value(item, &mut budget, 0).is_some_and(|v| injected_shape(list, &v))
}

fn is_empty(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Null => true,
        serde_json::Value::Array(a) => a.is_empty(),
        serde_json::Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------
// Uninject

/// Remove what injection adds from every workload of file `file`.
pub fn uninject_file(files: &[LoadedFile], index: &Index<'_>, file: usize) -> Result<FileChange, String> {
    let text = &files[file].source.text;
    let mut edits = Vec::new();
    let mut workloads = Vec::new();
    for object in index.objects.iter().filter(|o| o.file == file && !o.partial) {
        let Some(template) = PodTemplate::of(object) else { continue };
        let before = edits.len();
        // Only what an injector added: its status annotation marks it. A hand-written
        // `istio-proxy` container or `istio-certs` volume without it is the user's own.
        let status_value = [object.annotations(), template.annotations()]
            .into_iter()
            .find_map(|m| m.and_then(|a| a.get(STATUS_ANNOTATION)));
        let injected = status_value.is_some();
        // Modern Istio's webhook writes its status as JSON and adds other items; what it
        // added cannot be told from the user's by the 0.2 shapes.
        if status_value.and_then(|v| v.scalar()).is_some_and(|v| v.trim_start().starts_with('{')) {
            let (name, _) = describe(files, object);
            return Err(format!(
                "{name} was injected by modern Istio's webhook (its `{STATUS_ANNOTATION}` is JSON); uninject removes only Istio 0.2's injection. The file was left unchanged"
            ));
        }
        if let Some(spec) = template.spec().filter(|_| injected) {
            let layout = layout_of(text, &template);
            let created = created_suffix(text, spec, &["initContainers", "volumes"], &layout);
            for key in INJECTED_LISTS {
                remove_injected(text, spec, key, created.contains(&key), &mut edits).map_err(|why| {
                    let (name, _) = describe(files, object);
                    format!("{name}: {why}; the file was left unchanged")
                })?;
            }
        }
        if let Some(meta) = template.metadata().filter(|_| injected) {
            // A `metadata` holding only the status annotation, last in the template, was
            // added by injection to a template that had none.
            let only_status = meta.entries().count() == 1
                && meta
                    .get("annotations")
                    .is_some_and(|a| a.entries().count() == 1 && a.get(STATUS_ANNOTATION).is_some());
            let last = template.node.entries().last().is_some_and(|(k, _)| k.scalar() == Some("metadata"));
            if only_status && last {
                remove_entry(text, template.node, "metadata", &mut edits);
            } else {
                remove_annotation(text, meta, &mut edits);
            }
        }
        if object.node.id() != template.node.id() {
            if let Some(meta) = object.metadata() {
                remove_annotation(text, meta, &mut edits);
            }
        }
        let (name, line) = describe(files, object);
        workloads.push(WorkloadChange { object: name, line, decision: None, changed: edits.len() > before });
    }
    let new_text = apply(text, edits);
    let expect = vec![false; workloads.len()];
    let has_proxy = |_: &Object<'_>, t: &PodTemplate<'_>| {
        t.containers().any(|c| c.get("name").and_then(|n| n.scalar()) == Some(decide::PROXY_CONTAINER))
    };
    verify(files, index, file, &new_text, has_proxy, &expect)?;
    Ok(FileChange { new_text, workloads, errors: Vec::new(), notes: Vec::new() })
}

/// Whether every item of the pod spec's list `key` is one injection adds.
fn all_injected(list: NodeRef<'_>, key: &str) -> bool {
    list.is_seq() && list.items().next().is_some() && list.items().all(|i| is_injected_item(key, i))
}

/// The keys injection created in `map`: injection appends new keys at the end, in the
/// order of `keys`, so they are the entries of a trailing run that hold only its items
/// and follow that order. An entry of only injected items elsewhere was a key written
/// with no value (`volumes:`), which uninjection keeps.
fn created_suffix<'k>(text: &str, map: NodeRef<'_>, keys: &[&'k str], layout: &Layout) -> Vec<&'k str> {
    let entries: Vec<(NodeRef<'_>, NodeRef<'_>)> = map.entries().collect();
    let mut created = Vec::new();
    let mut allowed = keys.len();
    for (k, v) in entries.iter().rev() {
        let Some(pos) = keys[..allowed].iter().position(|name| k.scalar() == Some(name)) else { break };
        // In a block mapping injection writes block lists in the file's sequence style; a
        // flow list, or one in the other style (see `fill_empty`), was the user's key.
        // (A key counts only when all its items go, when `all_injected` holds anyway; it
        // also ends the run, which for a file meshlint injected stops at the user's keys
        // before the created ones, so `true` in its place gives the same text there.)
        if !all_injected(*v, keys[pos]) || v.is_flow() && !map.is_flow() {
            break;
        }
        if !v.is_flow() {
            let dash = v.items().next().and_then(|i| dash_before(text, i.span().start)).map(|d| column(text, d));
            let indentless = dash.is_some_and(|d| d <= column(text, k.span().start));
            if indentless != layout.indentless {
                break;
            }
        }
        created.push(keys[pos]);
        allowed = pos;
    }
    created
}

/// Remove the items of `map.<key>` that injection adds (name and content); the whole key
/// when every item goes and injection created the key. Two items that both look injected
/// under one name cannot be told apart: that is refused, and nothing is removed.
fn remove_injected(
    text: &str,
    map: NodeRef<'_>,
    key: &str,
    created: bool,
    edits: &mut Vec<Edit>,
) -> Result<(), String> {
    let Some(seq) = map.get(key).filter(NodeRef::is_seq) else { return Ok(()) };
    let items: Vec<NodeRef<'_>> = seq.items().collect();
    let ours: Vec<bool> = items.iter().map(|i| is_injected_item(key, *i)).collect();
    if !ours.iter().any(|&o| o) {
        return Ok(());
    }
    for (i, item) in items.iter().enumerate().filter(|(i, _)| ours[*i]) {
        if items[..i].iter().zip(&ours).any(|(other, &o)| o && item_name(other) == item_name(item)) {
            return Err(format!("`{key}` holds two items named `{}` that both look injected", item_name(item)));
        }
    }
    if ours.iter().all(|&o| o) && (created || seq.is_flow() && map.is_flow()) {
        remove_entry(text, map, key, edits);
        return Ok(());
    }
    if ours.iter().all(|&o| o) && seq.is_flow() {
        edits.push(Edit::remove(items[0].span().start..items[items.len() - 1].span().end));
        return Ok(());
    }
    for (i, item) in items.iter().enumerate() {
        if !ours[i] {
            continue;
        }
        let range = if seq.is_flow() {
            flow_removal(&items.iter().map(NodeRef::span).collect::<Vec<_>>(), i)
        } else {
            let dash = dash_before(text, item.span().start).unwrap_or(item.span().start);
            line_break_before(text, dash)..line_end_after(text, item.span())
        };
        edits.push(Edit::remove(range));
    }
    Ok(())
}

/// The range that removes item `i` of a flow collection with its separator.
fn flow_removal(spans: &[Range<usize>], i: usize) -> Range<usize> {
    if i > 0 {
        spans[i - 1].end..spans[i].end
    } else if spans.len() > 1 {
        spans[0].start..spans[1].start
    } else {
        spans[0].clone()
    }
}

/// Remove `key` and its value from a mapping.
fn remove_entry(text: &str, map: NodeRef<'_>, key: &str, edits: &mut Vec<Edit>) {
    let entries: Vec<(NodeRef<'_>, NodeRef<'_>)> = map.entries().collect();
    let Some(i) = entries.iter().position(|(k, _)| k.scalar() == Some(key)) else { return };
    let (k, v) = entries[i];
    let range = if map.is_flow() {
        let spans: Vec<Range<usize>> =
            entries.iter().map(|(k, v)| k.span().start..v.span().end.max(k.span().end)).collect();
        flow_removal(&spans, i)
    } else {
        line_break_before(text, k.span().start)..line_end_after(text, k.span().start..v.span().end.max(k.span().end))
    };
    edits.push(Edit::remove(range));
}

fn remove_annotation(text: &str, meta: NodeRef<'_>, edits: &mut Vec<Edit>) {
    let Some(annotations) = meta.get("annotations").filter(NodeRef::is_map) else { return };
    if annotations.get(STATUS_ANNOTATION).is_none() {
        return;
    }
    // `annotations: {}` in a block mapping was the user's: keep its braces.
    let users_flow_map = annotations.is_flow() && !meta.is_flow();
    if annotations.entries().count() == 1 && !users_flow_map {
        remove_entry(text, meta, "annotations", edits);
    } else {
        remove_entry(text, annotations, STATUS_ANNOTATION, edits);
    }
}

// ---------------------------------------------------------------------------------
// Driving a run

/// Which way to rewrite.
#[derive(Debug, Clone)]
pub enum Direction {
    Inject(Box<Settings>),
    Uninject,
}

/// Where each file's result goes as soon as it is known: its new text is dropped once
/// the sink returns, so a whole-tree rewrite holds one output at a time.
pub type ResultSink<'s> = &'s mut dyn FnMut(&LoadedFile, Result<FileChange, String>) -> std::io::Result<()>;

/// Changes to the parameters made by flags, applied over the configuration's `params`.
pub type ParamOverrides<'a> = &'a dyn Fn(&mut Params);

/// Rewrite every target file of `options`, handing each result to `sink` in file order.
/// Injection takes its parameters from the configuration, then `overrides`; its mesh
/// values from `mesh`, else the `istio` ConfigMap found, else the 0.2.6 install's.
/// Returns the tool errors (unreadable paths).
///
/// # Errors
/// The first error the sink returns, which ends the run.
pub fn rewrite(
    options: &crate::engine::Options,
    direction: &Direction,
    mesh: Option<&Mesh>,
    overrides: ParamOverrides<'_>,
    sink: ResultSink<'_>,
) -> std::io::Result<Vec<String>> {
    // Rewriting works on the files themselves, never on helm's or kustomize's output.
    let mut options = options.clone();
    options.tools.disabled = true;
    let options = &options;
    let loaded = crate::engine::load_all(options);
    let files = &loaded.files;
    let model_options = crate::engine::model_options(options);
    let index = Index::build(files, &model_options);
    let found = crate::engine::inject_config(options, &loaded, &index);
    let named = |file: &LoadedFile| {
        options
            .inputs
            .iter()
            .any(|i| matches!(i, crate::engine::Input::Path(p) if file.source.path.as_ref() == Some(p)))
    };
    let settings = match direction {
        Direction::Inject(s) => {
            let mut s = (**s).clone();
            s.params = Params::from_config(&found.config);
            overrides(&mut s.params);
            s.mesh = mesh.cloned().or_else(|| Mesh::discover(&index)).unwrap_or_default();
            Some(s)
        }
        Direction::Uninject => None,
    };
    for (i, file) in files.iter().enumerate() {
        if !loaded.targets[i] || Some(i) == loaded.inject_config || Some(i) == loaded.config_file {
            continue;
        }
        let result = if let Some(problem) = file.problems.iter().find(|d| d.rule == "invalid-yaml") {
            Err(format!("{}; the file was left unchanged", problem.message))
        } else if named(file) && file.problems.iter().any(|d| d.rule == "template-skipped") {
            // A template named on its own is handed back unchanged, saying why.
            Ok(FileChange {
                new_text: file.source.text.clone(),
                workloads: Vec::new(),
                errors: Vec::new(),
                notes: vec![TEMPLATE_NOTE.to_owned()],
            })
        } else {
            match &settings {
                Some(s) => inject_file(files, &index, i, &found.config, s),
                None => uninject_file(files, &index, i),
            }
        };
        sink(file, result)?;
    }
    Ok(loaded.errors.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rewrite that would add a second item of a name the pod has is refused by the
    /// verifier itself, even if the refusal before it were missing.
    #[test]
    fn verifier_refuses_a_rewrite_that_duplicates_a_name() {
        let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: m\nspec:\n  template:\n    metadata:\n      labels:\n        app: m\n    spec:\n      containers:\n      - name: m\n        image: m\n      volumes:\n      - name: istio-certs\n        emptyDir: {}\n";
        let files = [load::load(0, "m.yaml".into(), None, text.as_bytes().to_vec())];
        let options = ModelOptions::new("default");
        let index = Index::build(&files, &options);
        let object = &index.objects[0];
        let template = PodTemplate::of(object).expect("a workload");
        let sidecar = template::sidecar(&Params::default(), &Mesh::default(), Some("m"), None);
        let edits = inject_edits(text, object, &template, &sidecar).expect("the layout is rewritable");
        let new_text = apply(text, edits);
        // The proxy's volume mount, the user's volume and the injected one.
        assert_eq!(new_text.matches("name: istio-certs").count(), 3, "the unchecked rewrite duplicates the volume");
        let err = verify(&files, &index, 0, &new_text, |o, t| decide::already_injected(o, t).is_some(), &[true])
            .expect_err("the verifier refuses it");
        assert!(err.contains("two containers or volumes of one name"), "{err}");
        // With another file before it in the run, whose pod repeats a name itself: each
        // rewritten pod is compared with its own old self only.
        let other = text.replace(
            "      volumes:\n      - name: istio-certs\n        emptyDir: {}\n",
            "      - name: m\n        image: m\n",
        );
        let files = [
            load::load(0, "other.yaml".into(), None, other.into_bytes()),
            load::load(1, "m.yaml".into(), None, text.as_bytes().to_vec()),
        ];
        let index = Index::build(&files, &options);
        let err = verify(&files, &index, 1, &new_text, |o, t| decide::already_injected(o, t).is_some(), &[true])
            .expect_err("the verifier refuses it");
        assert!(err.contains("two containers or volumes of one name"), "{err}");
    }

    /// Insertions at one offset: deeper blocks first, and at one column, items of a
    /// sequence before a new key (pushed here in the reverse of that order).
    #[test]
    fn insertions_at_one_offset_go_deepest_first_items_before_keys() {
        let edits = vec![
            Edit::insert(3, "E".into(), 5, false),
            Edit::insert(3, "D".into(), 6, true),
            Edit::insert(3, "C".into(), 7, true),
            Edit::insert(3, "B".into(), 8, true),
            Edit::insert(3, "A".into(), 8, false),
            Edit::remove(0..1),
        ];
        assert_eq!(apply("xyz!", edits), "yzABCDE!");
    }

    /// An item of a flow collection goes with the separator before it, the first one
    /// with the separator after it, a lone one alone (`[a, bb, c]`).
    #[test]
    fn flow_removal_takes_one_separator() {
        let spans = [1..2, 4..6, 8..9];
        assert_eq!([0, 1, 2].map(|i| flow_removal(&spans, i)), [1..4, 2..6, 6..9]);
        assert_eq!(flow_removal(std::slice::from_ref(&(1..2)), 0), 1..2);
    }

    /// Items that are collections: the dash on the first line of their block.
    #[test]
    fn block_items_of_collections() {
        let layout = Layout { newline: "\n", unit: 2, indentless: true };
        let items = [
            Val::Seq(vec![Val::Str("a".into()), Val::Str("b".into())]),
            Val::Map(vec![("k".into(), Val::Int(1)), ("l".into(), Val::Seq(vec![Val::Bool(true)]))]),
        ];
        let mut lines = Vec::new();
        block_seq(&items, 4, &layout, &mut lines);
        assert_eq!(lines, ["    - - a", "      - b", "    - k: 1", "      l:", "      - true"]);
    }

    /// Plain where YAML reads the text back as the same string, quoted elsewhere.
    #[test]
    fn strings_are_quoted_where_plain_text_would_read_otherwise() {
        let quoted = [
            "", " x", "x ", "true", "1", "0o17", "~", "-", "- x", "?x", ":x", "#x", "&a", "*a", "!x", "|", ">", "'a'",
            "\"a\"", "%x", "@x", "`x", "[a]", "{a}", ",x", "a: b", "a #b", "a:", "a\nb", "a\rb", "a\tb",
        ];
        let plain = [
            "x",
            "-v",
            "--configPath",
            "-x y",
            "a:b",
            "a#b",
            "a-",
            "1m0s",
            "istio-pilot.istio-system:8080",
            "/etc/certs/",
        ];
        let wrong: Vec<&str> = quoted.iter().filter(|s| !needs_quotes(s)).copied().collect();
        assert!(wrong.is_empty(), "written plain: {wrong:?}");
        let wrong: Vec<&str> = plain.iter().filter(|s| needs_quotes(s)).copied().collect();
        assert!(wrong.is_empty(), "quoted: {wrong:?}");
        // Empty collections on the key's line; others below it.
        assert_eq!(scalar_text(&Val::Map(Vec::new())).as_deref(), Some("{}"));
        assert_eq!(scalar_text(&Val::Seq(Vec::new())).as_deref(), Some("[]"));
        assert_eq!(scalar_text(&Val::Seq(vec![Val::Int(1)])), None);
        assert_eq!(scalar_text(&Val::Str("-".into())).as_deref(), Some("\"-\""));
    }

    #[test]
    fn quoted_strings_escape_del_and_c1_controls() {
        assert_eq!(json_string("a\u{7f}b\u{9b}c\u{1b}"), "\"a\\u007fb\\u009bc\\u001b\"");
        assert_eq!(json_string("plain ü"), "\"plain ü\"");
    }

    #[test]
    fn injected_shapes_are_told_from_users_items() {
        let shape = |list: &str, json: &str| injected_shape(list, &serde_json::from_str(json).unwrap());
        assert!(shape("volumes", r#"{"name":"istio-envoy","emptyDir":{"medium":"Memory","sizeLimit":"0"}}"#));
        assert!(!shape("volumes", r#"{"name":"istio-envoy","emptyDir":{}}"#));
        assert!(shape("volumes", r#"{"name":"istio-certs","secret":{"secretName":"istio.default","optional":true}}"#));
        assert!(!shape("volumes", r#"{"name":"istio-certs","secret":{"secretName":"my-certs"}}"#));
        assert!(!shape("volumes", r#"{"name":"istio-certs","emptyDir":{}}"#));
        assert!(shape(
            "initContainers",
            r#"{"name":"istio-init","image":"x","args":["-p","15001","-u","1337"],"resources":{},"securityContext":{"capabilities":{"add":["NET_ADMIN"]},"privileged":true}}"#
        ));
        assert!(!shape("initContainers", r#"{"name":"istio-init","image":"busybox","command":["sh"]}"#));
        assert!(!shape("initContainers", r#"{"name":"istio-init","image":"x","args":["-p","8080"]}"#));
        assert!(!shape(
            "initContainers",
            r#"{"name":"istio-init","image":"x","args":["-p","1","-u","2"],"securityContext":{"runAsUser":0}}"#
        ));
        assert!(!shape("containers", r#"{"name":"istio-init","image":"x","args":["-p"]}"#), "only in its own list");
        assert!(shape("containers", r#"{"name":"istio-proxy","image":"p","args":["proxy","sidecar","-v","2"]}"#));
        assert!(!shape(
            "containers",
            r#"{"name":"istio-proxy","image":"p","args":["proxy","sidecar"],"ports":[{"containerPort":1}]}"#
        ));
        // The core-dump init container (`--coreDump`): its shell command exactly.
        let core = |command: &str, args: &str| {
            let item = format!(
                r#"{{"name":"enable-core-dump","image":"alpine","command":{command},"args":{args},"securityContext":{{"privileged":true}}}}"#
            );
            shape("initContainers", &item)
        };
        let sysctl = r#""sysctl -w kernel.core_pattern=/etc/istio/proxy/core.%e.%p.%t && ulimit -c unlimited""#;
        assert!(core(r#"["/bin/sh"]"#, &format!(r#"["-c", {sysctl}]"#)));
        assert!(!core(r#"["/bin/bash"]"#, &format!(r#"["-c", {sysctl}]"#)));
        assert!(!core(r#"["/bin/sh"]"#, &format!(r#"["-x", {sysctl}]"#)));
        assert!(!core(r#"["/bin/sh"]"#, &format!(r#"["-c", {sysctl}, "more"]"#)));
        assert!(!core(r#"["/bin/sh"]"#, r#"["-c", "ulimit -c unlimited"]"#));
    }

    /// What the verifier compares: the data as Kubernetes reads it, types included (a
    /// rewrite that turned `1` into `"1"` must not pass), nested as deep as the parser
    /// allows.
    #[test]
    fn data_is_compared_with_its_types_at_any_depth() {
        let data = |text: &str| {
            let s = crate::yaml::parse_stream(text);
            assert!(s.errors.is_empty(), "{:?}", s.errors);
            data_without_sidecar(s.documents[0].root())
        };
        let typed = data("a: 1\nb: true\nc: ~\nd: \"1\"\ne: [x]\n").expect("small");
        assert_eq!(typed, serde_json::json!({"a": 1, "b": true, "d": "1", "e": ["x"]}));
        let depth = crate::yaml::MAX_DEPTH - 1;
        let deep = format!("a: {}1{}\n", "[".repeat(depth), "]".repeat(depth));
        assert!(data(&deep).is_some(), "the deepest document the parser reads is compared");
        assert_eq!(data("- a\n- [b]\n"), Some(serde_json::json!(["a", ["b"]])));
    }
}
