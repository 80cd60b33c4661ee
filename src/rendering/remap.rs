//! Moving findings from rendered output back to the files people edit.
//!
//! - Helm: the rendered file names its template (`# Source:`). A finding whose line
//!   appears literally in the template, in the part of it that makes an object of the
//!   same kind, moves to that template line; a line whose literal parts match around
//!   `{{ … }}` expressions (`- name: {{ .Values.port.name }}`) moves to the expression.
//!   The k-th such line of a rendered document maps to the k-th of the template.
//! - Kustomize: the finding's field is looked up by its path in the overlay's patches,
//!   last applied first (a strategic-merge patch of the same object, or a JSON 6902
//!   operation whose path is the field's), then in the resources the object came from
//!   (same kind, a name the rendered one contains); found with the same value, the
//!   finding moves there.
//!
//! A finding that moves keeps its rendered place as a label, so JSON and SARIF carry
//! both; one that does not stays in the rendered file, which is shown as rendered.

use std::ops::Range;

use crate::diag::{Diagnostic, Label};
use crate::load::LoadedFile;
use crate::source::FileId;
use crate::yaml::{Document, NodeRef};

use super::Tool;

/// Move every finding (and label) in a rendered file to its source where it can be
/// found there.
pub fn remap(diagnostics: &mut [Diagnostic], files: &[LoadedFile]) {
    if !files.iter().any(|f| f.rendered.is_some()) {
        return;
    }
    for d in diagnostics {
        let rendered_at = d.primary.clone();
        if let Some((file, range)) = locate(files, &rendered_at) {
            let how = files[rendered_at.file].rendered.as_ref().map_or("rendered", |r| r.how.as_str());
            d.primary = Label { file, range, message: d.primary.message.clone() };
            d.labels.insert(0, Label { message: format!("as {how}"), ..rendered_at });
        }
        for label in &mut d.labels {
            if is_rendered_label(label) {
                continue;
            }
            if let Some((file, range)) = locate(files, label) {
                label.file = file;
                label.range = range;
            }
        }
    }
}

/// Whether a label is the rendered place of a finding that `remap` moved.
#[must_use]
pub fn is_rendered_label(label: &Label) -> bool {
    label.message.starts_with("as rendered")
}

/// Where a place in a rendered file comes from, if it can be found.
#[must_use]
pub fn locate(files: &[LoadedFile], at: &Label) -> Option<(FileId, Range<usize>)> {
    let file = &files[at.file];
    let rendered = file.rendered.as_ref()?;
    match rendered.tool {
        Tool::Helm => {
            let source = rendered.source_file?;
            let range = in_template(file, &files[source], at.range.clone())?;
            Some((source, range))
        }
        Tool::Kustomize => in_overlay(files, file, rendered.tree.as_ref()?, at.range.start),
    }
}

// ---------------------------------------------------------------------------------
// Helm

/// The document of `file` holding byte `at`.
fn document_at(file: &LoadedFile, at: usize) -> Option<&Document> {
    file.documents.iter().find(|d| d.span().contains(&at) || d.span().end == at)
}

/// The place in `template` of the rendered range `range` of `rendered`.
fn in_template(rendered: &LoadedFile, template: &LoadedFile, range: Range<usize>) -> Option<Range<usize>> {
    let r = &rendered.source;
    let line = r.line_index(range.start);
    let text = r.line_text(line);
    let trimmed = text.trim_start();
    let indent = text.len() - trimmed.len();
    let trimmed = trimmed.trim_end();
    if trimmed.is_empty() {
        return None;
    }
    let doc = document_at(rendered, range.start);
    let kind = doc.and_then(|d| d.root().get("kind")).and_then(|k| k.scalar());
    // The rendered document's lines before the finding's.
    let doc_first = doc.map_or(0, |d| r.line_index(d.span().start));
    let before: Vec<&str> = (doc_first..line).map(|l| r.line_text(l).trim()).collect();
    let t = &template.source;
    let lines = section_lines(t, kind);
    let column = range.start - r.line_starts()[line];
    // The same text, literally.
    let literal: Vec<usize> = lines.iter().copied().filter(|&l| t.line_text(l).trim() == trimmed).collect();
    let k = before.iter().filter(|b| **b == trimmed).count();
    // The k-th such line of the rendered document is the template's k-th; a line the
    // template has fewer of came from elsewhere (an `include`).
    if let Some(&target) = literal.get(k) {
        let tline = t.line_text(target);
        let tindent = tline.len() - tline.trim_start().len();
        let offset = column.saturating_sub(indent);
        let start = t.line_starts()[target] + tindent + offset.min(tline.len() - tindent);
        let len = range.len().min(t.line_range(target).end - start);
        return Some(start..start + len);
    }
    // The same text around template expressions.
    let matching: Vec<(usize, Vec<Range<usize>>)> = lines
        .iter()
        .copied()
        .filter_map(|l| {
            let line = t.line_text(l);
            let lead = line.len() - line.trim_start().len();
            let exprs = matches_pattern(line.trim(), trimmed)?;
            Some((l, exprs.into_iter().map(|e| e.start + lead..e.end + lead).collect()))
        })
        .collect();
    if matching.is_empty() {
        return block_expression(t, &lines, indent);
    }
    let k = before.iter().filter(|b| matches_pattern(t.line_text(matching[0].0).trim(), b).is_some()).count();
    let (target, exprs) = matching.get(k)?;
    let start = t.line_starts()[*target];
    let expr = exprs.first()?;
    Some(start + expr.start..start + expr.end)
}

/// A line made by an expression that writes a block (`{{- include "shop.labels" . |
/// nindent 8 }}`, `{{ toYaml .Values.x | indent 8 }}`): the one expression-only line
/// among `lines` that indents its output as deep as the rendered line, when there is
/// exactly one.
fn block_expression(t: &crate::source::SourceFile, lines: &[usize], indent: usize) -> Option<Range<usize>> {
    let mut found = lines.iter().copied().filter_map(|l| {
        let text = t.line_text(l);
        let trimmed = text.trim();
        let whole = trimmed.starts_with("{{") && trimmed.ends_with("}}") && trimmed.matches("{{").count() == 1;
        let depth = trimmed.split_whitespace().collect::<Vec<_>>().windows(2).find_map(|w| {
            (w[0] == "nindent" || w[0] == "indent").then(|| w[1].trim_end_matches('}').parse::<usize>().ok())?
        });
        let lead = text.len() - text.trim_start().len();
        (whole && depth == Some(indent)).then(|| t.line_starts()[l] + lead..t.line_starts()[l] + lead + trimmed.len())
    });
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// The template's lines that can make an object of `kind`: the `---`-separated parts
/// that say `kind: <kind>` (all lines when none does, or the kind is unknown).
fn section_lines(t: &crate::source::SourceFile, kind: Option<&str>) -> Vec<usize> {
    let mut sections: Vec<Vec<usize>> = vec![Vec::new()];
    for l in 0..t.line_count() {
        let text = t.line_text(l);
        if text == "---" || text.starts_with("--- ") {
            sections.push(Vec::new());
        } else {
            sections.last_mut().expect("one section").push(l);
        }
    }
    let Some(kind) = kind else { return sections.concat() };
    let says_kind = |s: &Vec<usize>| {
        s.iter().any(|&l| {
            let text = t.line_text(l).trim();
            text.strip_prefix("kind:").is_some_and(|k| k.trim().trim_matches(['"', '\'']) == kind)
        })
    };
    let chosen: Vec<usize> = sections.iter().filter(|s| says_kind(s)).flatten().copied().collect();
    if chosen.is_empty() { sections.concat() } else { chosen }
}

/// Whether a rendered line is what a template line with `{{ … }}` expressions makes: its
/// literal parts in order around the expressions, the first part non-empty. The
/// expressions' ranges in the template line, when it is.
fn matches_pattern(template: &str, rendered: &str) -> Option<Vec<Range<usize>>> {
    let mut exprs = Vec::new();
    let mut literals = Vec::new();
    let mut at = 0;
    while let Some(open) = template[at..].find("{{") {
        let open = at + open;
        let close = template[open..].find("}}").map(|c| open + c + 2)?;
        literals.push(&template[at..open]);
        exprs.push(open..close);
        at = close;
    }
    if exprs.is_empty() {
        return None;
    }
    literals.push(&template[at..]);
    // A line that is only an expression (`{{- include … }}`) matches anything.
    if literals[0].trim().is_empty() {
        return None;
    }
    let mut rest = rendered.strip_prefix(literals[0])?;
    let last = literals.len() - 1;
    for (i, lit) in literals.iter().enumerate().skip(1) {
        if i == last {
            if !rest.ends_with(lit) {
                return None;
            }
        } else if !lit.is_empty() {
            let found = rest.find(lit)?;
            rest = &rest[found + lit.len()..];
        }
    }
    Some(exprs)
}

// ---------------------------------------------------------------------------------
// Kustomize

/// One step of a path from an object's root to a node.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    /// A sequence item: its index and, when it has one, its merge key (`name`, …).
    Item(usize, Option<(&'static str, String)>),
}

/// Keys that identify a list item in a strategic-merge patch.
const MERGE_KEYS: &[&str] = &["name", "containerPort", "port", "mountPath", "devicePath", "ip", "topologyKey"];

/// The path from `root` to the deepest node whose span holds `at`, that node, and
/// whether it is a mapping key (the path's last step then names it).
fn path_to(root: NodeRef<'_>, at: usize) -> (Vec<Step>, NodeRef<'_>, bool) {
    let mut path = Vec::new();
    let mut node = root;
    loop {
        if node.is_map() {
            let next = node.entries().find(|(k, v)| k.span().contains(&at) || v.span().contains(&at));
            match next {
                Some((k, v)) => {
                    path.push(Step::Key(k.scalar().unwrap_or("").to_owned()));
                    if k.span().contains(&at) {
                        return (path, k, true);
                    }
                    node = v;
                }
                None => return (path, node, false),
            }
        } else if node.is_seq() {
            let next = node.items().enumerate().find(|(_, v)| v.span().contains(&at));
            match next {
                Some((i, v)) => {
                    let key = MERGE_KEYS.iter().find_map(|&k| Some((k, v.get(k).and_then(|n| n.scalar())?.to_owned())));
                    path.push(Step::Item(i, key));
                    node = v;
                }
                None => return (path, node, false),
            }
        } else {
            return (path, node, false);
        }
    }
}

/// The node at `path` under `root`, list items found by their merge key when they have
/// one, else by index.
fn resolve<'d>(root: NodeRef<'d>, path: &[Step]) -> Option<NodeRef<'d>> {
    let mut node = root;
    for step in path {
        node = match step {
            Step::Key(k) => node.get(k)?,
            Step::Item(_, Some((key, value))) => {
                node.items().find(|i| i.get(key).and_then(|n| n.scalar()) == Some(value.as_str()))?
            }
            Step::Item(i, None) => node.items().nth(*i)?,
        };
    }
    Some(node)
}

/// Whether a source node says what the rendered one does (same scalar; containers are
/// taken as they are).
fn same_value(source: NodeRef<'_>, rendered: NodeRef<'_>) -> bool {
    match (source.scalar(), rendered.scalar()) {
        (Some(a), Some(b)) => a == b,
        (None, None) => true,
        _ => false,
    }
}

/// How well a source object's name fits a rendered one: exact is best, then the
/// longest name the rendered one contains (a prefix or suffix added).
fn name_fit(source: Option<&str>, rendered: &str) -> Option<usize> {
    let s = source?;
    if s == rendered {
        Some(usize::MAX)
    } else if !s.is_empty() && rendered.contains(s) {
        Some(s.len())
    } else {
        None
    }
}

fn in_overlay(
    files: &[LoadedFile],
    rendered: &LoadedFile,
    tree: &crate::kustomize::Tree,
    at: usize,
) -> Option<(FileId, Range<usize>)> {
    let doc = document_at(rendered, at)?;
    let root = doc.root();
    let kind = root.get("kind")?.scalar()?;
    let name = root.path(&["metadata", "name"]).and_then(|n| n.scalar()).unwrap_or("");
    let (path, node, is_key) = path_to(root, at);
    // JSON 6902 and strategic-merge patches, the last applied first.
    for patch in tree.patches.iter().rev() {
        let file = &files[patch.file];
        for pdoc in &file.documents {
            let proot = pdoc.root();
            if proot.is_seq() {
                if let Some(found) = in_json_patch(proot, patch.target.as_ref(), kind, name, &path, node) {
                    return Some((patch.file, found));
                }
                continue;
            }
            let fits = proot.get("kind").and_then(|k| k.scalar()) == Some(kind)
                && name_fit(proot.path(&["metadata", "name"]).and_then(|n| n.scalar()), name).is_some();
            let target_fits = patch.target.as_ref().is_some_and(|t| {
                t.kind.as_deref().is_none_or(|k| k == kind) && name_fit(t.name.as_deref(), name).is_some()
            });
            if !fits && !target_fits {
                continue;
            }
            if let Some(found) = resolve(proot, &path)
                && (is_key || same_value(found, node))
            {
                return Some((patch.file, key_or_value(proot, &path, found, is_key)));
            }
        }
    }
    // The resource the object came from: the best-fitting name of the same kind.
    let mut best: Option<(usize, FileId, NodeRef<'_>)> = None;
    for &f in &tree.resources {
        for sdoc in &files[f].documents {
            let sroot = sdoc.root();
            if sroot.get("kind").and_then(|k| k.scalar()) != Some(kind) {
                continue;
            }
            let Some(fit) = name_fit(sroot.path(&["metadata", "name"]).and_then(|n| n.scalar()), name) else {
                continue;
            };
            if best.as_ref().is_none_or(|(b, _, _)| fit > *b) {
                best = Some((fit, f, sroot));
            }
        }
    }
    let (_, f, sroot) = best?;
    let found = resolve(sroot, &path)?;
    if !is_key && !same_value(found, node) {
        return None;
    }
    Some((f, key_or_value(sroot, &path, found, is_key)))
}

/// The span to point at: the key itself when the finding is on a key.
fn key_or_value(root: NodeRef<'_>, path: &[Step], found: NodeRef<'_>, is_key: bool) -> Range<usize> {
    if is_key
        && let Some((Step::Key(k), parent_path)) = path.split_last()
        && let Some(parent) = resolve(root, parent_path)
        && let Some((key, _)) = parent.get_entry(k)
    {
        return key.span();
    }
    found.span()
}

/// In a JSON 6902 patch (a list of operations) aimed at the object, the value an `add`
/// or `replace` operation sets at the field's path (or at a parent of it).
fn in_json_patch(
    ops: NodeRef<'_>,
    target: Option<&crate::kustomize::Target>,
    kind: &str,
    name: &str,
    path: &[Step],
    rendered: NodeRef<'_>,
) -> Option<Range<usize>> {
    let target = target?;
    if target.kind.as_deref().is_some_and(|k| k != kind) || name_fit(target.name.as_deref(), name).is_none() {
        return None;
    }
    for op in ops.items().collect::<Vec<_>>().into_iter().rev() {
        let verb = op.get("op").and_then(|o| o.scalar()).unwrap_or("");
        if verb != "add" && verb != "replace" {
            continue;
        }
        let Some(pointer) = op.get("path").and_then(|p| p.scalar()) else { continue };
        let Some(value) = op.get("value") else { continue };
        let segments: Vec<String> =
            pointer.split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~")).collect();
        if segments.len() > path.len() {
            continue;
        }
        let same = segments.iter().zip(path).all(|(s, step)| match step {
            Step::Key(k) => s == k,
            // `-` appends: the item is found by its value below.
            Step::Item(i, _) => s == "-" || s.parse::<usize>().ok() == Some(*i),
        });
        if !same {
            continue;
        }
        if let Some(node) = resolve(value, &path[segments.len()..])
            && same_value(node, rendered)
        {
            return Some(node.span());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_line_matches_what_its_expressions_render() {
        let line = "- name: {{ .Values.port.name }}";
        let one = matches_pattern(line, "- name: web").expect("a match");
        assert_eq!((one.len(), one.first().cloned()), (1, Some(8..31)));
        assert_eq!(
            matches_pattern("image: {{ .Values.repo }}:{{ .Values.tag }}", "image: shop:1.0"),
            Some(vec![7..25, 26..43])
        );
        // The literal parts must be there, in order.
        assert_eq!(matches_pattern(line, "- port: web"), None);
        assert_eq!(matches_pattern("name: {{ .x }}-web", "name: shop-api"), None);
        // A line that is only an expression could be anything: no match.
        assert_eq!(matches_pattern("{{- include \"labels\" . | nindent 4 }}", "app: web"), None);
        // No expression: not a pattern.
        assert_eq!(matches_pattern("name: web", "name: web"), None);
    }
}
