//! Suppressions, applied after the rules: the configuration's `ignore:` entries, the
//! annotation `meshlint.io/ignore: "rule-a, rule-b"` on an object (or its pod template),
//! and the comment `# meshlint: ignore[rule-a, rule-b] reason` on a finding's line, on
//! the line before it, or just above a document. A suppression that matches nothing is
//! itself reported (`unused-suppression`).

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use crate::config::Config;
use crate::diag::{Diagnostic, Label, Severity};
use crate::load::LoadedFile;
use crate::model::{Index, PodTemplate};
use crate::source::FileId;

pub const ANNOTATION: &str = "meshlint.io/ignore";
const COMMENT_MARK: &str = "meshlint: ignore[";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    /// Findings whose primary span starts on this 0-based line.
    Line(usize),
    /// Findings whose primary span starts in this byte range (an object or document).
    Range(Range<usize>),
    /// The configuration's `ignore:` entry of this index.
    Config(usize),
}

#[derive(Debug)]
struct Suppression {
    file: FileId,
    scope: Scope,
    /// Rule names, each with where it is written; empty means every rule.
    rules: Vec<(String, Range<usize>)>,
    /// Where the suppression is written (for an unused one with no rule list).
    at: Range<usize>,
    used: Vec<bool>,
    any_used: bool,
}

/// Apply every suppression to `diagnostics`, dropping the suppressed ones and adding
/// `unused-suppression` findings for suppressions that matched nothing in target files.
pub fn apply(
    diagnostics: &mut Vec<Diagnostic>,
    files: &[LoadedFile],
    targets: &[bool],
    index: &Index<'_>,
    config: &Config,
    config_file: Option<FileId>,
    default_namespace: &str,
) {
    use rayon::prelude::*;
    // Files in parallel, kept in file order (only those with the comment mark are read).
    let per_file: Vec<Vec<Suppression>> = files
        .par_iter()
        .enumerate()
        .map(|(id, file)| {
            let mut out = Vec::new();
            comments(id, file, &mut out);
            out
        })
        .collect();
    let mut all: Vec<Suppression> = per_file.into_iter().flatten().collect();
    annotations(index, &mut all);
    if let Some(fid) = config_file {
        for (i, entry) in config.ignore.iter().enumerate() {
            let rules = entry.rules.iter().map(|r| (r.clone(), entry.span.clone())).collect();
            all.push(Suppression {
                file: fid,
                scope: Scope::Config(i),
                rules,
                at: entry.span.clone(),
                used: vec![false; entry.rules.len()],
                any_used: false,
            });
        }
    }
    let hits = suppressed(diagnostics, files, config, default_namespace, &mut all);
    let mut hit = hits.iter();
    diagnostics.retain(|_| !hit.next().copied().unwrap_or(false));
    // A rendered file's comments are copies of its template's, and a chart's or
    // overlay's own files hold suppressions matched at either place: neither reports an
    // unused one, which could be a false alarm.
    let reported = |s: &&Suppression| {
        targets.get(s.file).copied().unwrap_or(false)
            && files.get(s.file).is_none_or(|f| f.rendered.is_none() && !f.consumed)
    };
    for s in all.iter().filter(reported) {
        report_unused(s, diagnostics);
    }
}

fn report_unused(s: &Suppression, diagnostics: &mut Vec<Diagnostic>) {
    let unused = |message: String, range: Range<usize>| {
        Diagnostic::new("unused-suppression", Severity::Info, message, Label::new(s.file, range, "matches nothing"))
            .with_help("remove the suppression, or fix its rule name")
    };
    if s.rules.is_empty() {
        if !s.any_used {
            diagnostics.push(unused("this suppression matches no finding".into(), s.at.clone()));
        }
        return;
    }
    for ((rule, range), used) in s.rules.iter().zip(&s.used) {
        if !used {
            let known = crate::rules::find(rule).is_some();
            let message = if known {
                format!("suppression of `{rule}` matches no finding")
            } else {
                format!("suppression names `{rule}`, which is not a rule")
            };
            diagnostics.push(unused(message, range.clone()));
        }
    }
}

/// Which of `diagnostics` some suppression covers, marking the suppressions used.
///
/// Each finding is compared with the suppressions that can cover it only: those of its
/// line (looked up), those whose byte range holds its start (a sweep over the findings
/// of each file in order of position, keeping the ranges open at that point) and the
/// configuration's entries.
fn suppressed(
    diagnostics: &[Diagnostic],
    files: &[LoadedFile],
    config: &Config,
    default_namespace: &str,
    all: &mut [Suppression],
) -> Vec<bool> {
    let mut by_line: HashMap<(FileId, usize), Vec<usize>> = HashMap::new();
    let mut ranges: Vec<(FileId, usize, usize, usize)> = Vec::new();
    let mut configured = Vec::new();
    for (i, s) in all.iter().enumerate() {
        match &s.scope {
            Scope::Line(l) => by_line.entry((s.file, *l)).or_default().push(i),
            Scope::Range(r) => ranges.push((s.file, r.start, r.end, i)),
            Scope::Config(_) => configured.push(i),
        }
    }
    ranges.sort_unstable();
    // Each finding at its place and, when it was moved from rendered output to its
    // source, at its rendered place too: a suppression at either covers it.
    let mut order: Vec<(FileId, usize, usize)> = Vec::with_capacity(diagnostics.len());
    for (i, d) in diagnostics.iter().enumerate() {
        order.push((d.primary.file, d.primary.range.start, i));
        for l in d.labels.iter().filter(|l| crate::rendering::remap::is_rendered_label(l)) {
            order.push((l.file, l.range.start, i));
        }
    }
    order.sort_unstable();

    let mut hits = vec![false; diagnostics.len()];
    let mut next_range = 0;
    // Ranges of the current file that start at or before the current finding.
    let mut open: Vec<(usize, usize)> = Vec::new();
    let mut open_file = None;
    for (file, start, i) in order {
        let d = &diagnostics[i];
        if open_file != Some(file) {
            open.clear();
            open_file = Some(file);
            next_range = ranges.partition_point(|r| r.0 < file);
        }
        while let Some(&(f, from, to, s)) = ranges.get(next_range) {
            if f != file || from > start {
                break;
            }
            open.push((to, s));
            next_range += 1;
        }
        // (`to >= start` would give the same answers: a range ends after the last node
        // of its document or object, where a line break, `,`, `]` or `}` follows, and no
        // finding starts there.)
        open.retain(|&(to, _)| to > start);
        let line = files[file].source.line_index(start);
        let mut hit = false;
        for &s in by_line.get(&(file, line)).into_iter().flatten() {
            hit |= mark_used(&mut all[s], d);
        }
        for &(_, s) in &open {
            hit |= mark_used(&mut all[s], d);
        }
        for &s in &configured {
            let Scope::Config(c) = all[s].scope else { continue };
            if config_matches(&config.ignore[c], d, files, config, default_namespace) {
                hit |= mark_used(&mut all[s], d);
            }
        }
        hits[i] |= hit;
    }
    hits
}

/// For a suppression whose scope holds `d`: whether it names `d`'s rule (or every rule),
/// marking what matched as used.
fn mark_used(s: &mut Suppression, d: &Diagnostic) -> bool {
    if s.rules.is_empty() {
        s.any_used = true;
        return true;
    }
    if let Some(i) = s.rules.iter().position(|(r, _)| r == d.rule) {
        s.used[i] = true;
        s.any_used = true;
        return true;
    }
    false
}

fn config_matches(
    entry: &crate::config::Ignore,
    d: &Diagnostic,
    files: &[LoadedFile],
    config: &Config,
    default_namespace: &str,
) -> bool {
    if !entry.objects.is_empty() {
        let Some(o) = &d.object else { return false };
        let namespace = o.namespace.as_deref().unwrap_or(default_namespace);
        let id = format!("{}/{namespace}/{}", o.kind, o.name.as_deref().unwrap_or(""));
        if !entry.objects.iter().any(|g| g.is_match(&id)) {
            return false;
        }
    }
    if !entry.paths.is_empty() {
        let source = &files[d.primary.file].source;
        let path = source.path.as_deref().unwrap_or(Path::new(&source.name));
        let rel = crate::config::relative_to(path, &config.root);
        if !entry.paths.iter().any(|g| g.is_match(&rel) || g.is_match(path)) {
            return false;
        }
    }
    // With no rule list the entry applies to every rule; `suppressed` checks the list.
    true
}

/// Parse `rule-a, rule-b` into names with their byte ranges (offset `base`).
fn rule_list(text: &str, base: usize) -> Vec<(String, Range<usize>)> {
    let mut out = Vec::new();
    let mut pos = 0;
    for part in text.split(',') {
        let trimmed = part.trim();
        if !trimmed.is_empty() {
            let lead = part.len() - part.trim_start().len();
            let start = base + pos + lead;
            out.push((trimmed.to_owned(), start..start + trimmed.len()));
        }
        pos += part.len() + 1;
    }
    out
}

/// Whether a text holds the mark of a suppression comment anywhere (memchr's SIMD
/// search; the loader asks, while the text is fresh in the cache).
#[must_use]
pub fn has_mark(text: &str) -> bool {
    memchr::memmem::find(text.as_bytes(), COMMENT_MARK.as_bytes()).is_some()
}

/// `# meshlint: ignore[...]` comments of one file.
fn comments(id: FileId, file: &LoadedFile, out: &mut Vec<Suppression>) {
    if !file.suppression_mark {
        return;
    }
    let text = &file.source.text;
    let source = &file.source;
    // A `#` inside a scalar that goes on over several lines (a script in a ConfigMap, a
    // quoted or plain text folded over lines) is text, not a comment: a line that starts
    // inside one is read from where the scalar ends, if it ends on that line.
    let mut blocks: Vec<Range<usize>> = file
        .documents
        .iter()
        .flat_map(|d| d.root().descendants())
        .filter(|n| n.style().is_some())
        .map(|n| n.span())
        .filter(|span| memchr::memchr(b'\n', &text.as_bytes()[span.clone()]).is_some())
        .collect();
    blocks.sort_unstable_by_key(|b| b.start);
    // Lines come in order: a line lies in such a scalar when one of the scalars starting
    // on it or before it ends after the line's start. A scalar that starts on the line
    // counts (a block scalar's span starts at its first text, after the indentation, and
    // a quoted one that starts in mid-line leaves no comment before it on that line).
    let (mut next_block, mut block_end) = (0, 0);
    let mut below = Below::new(file);
    for line in 0..source.line_count() {
        let range = source.line_range(line);
        while let Some(b) = blocks.get(next_block).filter(|b| b.start <= range.end) {
            block_end = block_end.max(b.end);
            next_block += 1;
        }
        // (Past the line's end when the scalar goes on: nothing of the line is read.)
        let from = block_end.saturating_sub(range.start);
        let content = &text[range.clone()];
        let Some(hash) = comment_start(content, from) else { continue };
        let comment = &content[hash + 1..];
        let Some(mark) = comment.find(COMMENT_MARK) else { continue };
        if !comment[..mark].trim().is_empty() {
            continue;
        }
        let list_start = range.start + hash + 1 + mark + COMMENT_MARK.len();
        let Some(close) = text[list_start..range.end].find(']') else { continue };
        let rules = rule_list(&text[list_start..list_start + close], list_start);
        let own_line = content[..hash].trim().is_empty();
        let scope = if own_line { below.scope(line) } else { Scope::Line(line) };
        let used = vec![false; rules.len()];
        out.push(Suppression { file: id, scope, rules, at: range.start + hash..range.end, used, any_used: false });
    }
}

/// What a comment on its own line covers: the document it stands above (when only
/// comments lie between it and the document's first line), else the next line.
struct Below<'f> {
    file: &'f LoadedFile,
    /// For a line on which a document's root starts (and the document started at or
    /// before it): the first such document's range.
    documents: HashMap<usize, Range<usize>>,
    /// The last line found by `next_content` (lines are asked for in order).
    cached: usize,
}

impl<'f> Below<'f> {
    fn new(file: &'f LoadedFile) -> Self {
        let source = &file.source;
        let mut documents = HashMap::new();
        for doc in &file.documents {
            let root = doc.root().span();
            let line = source.line_index(root.start);
            if source.line_index(doc.span().start) <= line {
                documents.entry(line).or_insert(doc.span().start..doc.span().end.max(root.end));
            }
        }
        Self { file, documents, cached: 0 }
    }

    fn scope(&mut self, line: usize) -> Scope {
        let next = self.next_content(line);
        match self.documents.get(&next) {
            Some(range) => Scope::Range(range.clone()),
            None => Scope::Line(line + 1),
        }
    }

    /// The first line after `line` that is not blank, a comment or `---` (or the line
    /// count). Every line between `line` and a previous answer beyond it is such a line,
    /// so that answer stands: a run of comment lines is read once.
    fn next_content(&mut self, line: usize) -> usize {
        if self.cached > line {
            return self.cached;
        }
        let source = &self.file.source;
        // (Starting at `line` would give the same answer: it is the comment's own line,
        // which the loop skips.)
        let mut next = line + 1;
        while next < source.line_count() {
            let t = source.line_text(next).trim();
            if t.is_empty() || t.starts_with('#') || t == "---" {
                next += 1;
                continue;
            }
            break;
        }
        self.cached = next;
        next
    }
}

/// Where a YAML comment starts on a line, read from byte `from` (0, or where a scalar
/// that began on an earlier line ends): a `#` at the start or after white space, outside
/// quoted scalars. A quote opens a quoted scalar only where a node starts (first on the
/// line, after `- `, `? `, `: `, `[`, `{`, `,` in a flow collection, or a tag or an
/// anchor there); elsewhere, as in `it's`, it is part of a plain scalar. A quoted scalar
/// that does not close on the line leaves no comment on it.
fn comment_start(line: &str, from: usize) -> Option<usize> {
    let bytes = line.as_bytes();
    let spaced = |j: usize| bytes.get(j).is_none_or(|c| matches!(c, b' ' | b'\t'));
    let (mut node_start, mut flow) = (from == 0, 0usize);
    let mut i = from;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'#' if i == 0 || spaced(i - 1) => return Some(i),
            b' ' | b'\t' => {}
            b'\'' | b'"' if node_start => {
                i = closing_quote(bytes, i)?;
                // `"key":"value"`: a `:` right after a quoted key is an indicator.
                node_start = bytes.get(i + 1) == Some(&b':');
                i += usize::from(node_start);
            }
            // A tag or an anchor comes before the node it names: where a node started, it
            // starts after it. (Elsewhere this skips a plain scalar's characters to the next
            // space, as the last arm would, one at a time. `spaced(i)` for `spaced(i + 1)`
            // gives the same answer: byte `i` is `!` or `&`; the skip would stop on the
            // space after the name instead of before it, and the next round skips it.)
            b'!' | b'&' => {
                while !spaced(i + 1) {
                    i += 1;
                }
            }
            b'[' | b'{' if node_start => flow += 1,
            b']' | b'}' if flow > 0 => {
                flow -= 1;
                node_start = false;
            }
            b',' if flow > 0 => node_start = true,
            b':' if spaced(i + 1) => node_start = true,
            b'-' | b'?' if node_start && spaced(i + 1) => {}
            _ => node_start = false,
        }
        i += 1;
    }
    None
}

/// The closing quote of the quoted scalar opened at `open`: `''` stands for a quote in
/// single quotes, `\` escapes the next character in double quotes.
fn closing_quote(bytes: &[u8], open: usize) -> Option<usize> {
    let quote = bytes[open];
    let mut i = open + 1;
    while let Some(&b) = bytes.get(i) {
        if b == quote {
            if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return Some(i);
        }
        i += if quote == b'"' && b == b'\\' { 2 } else { 1 };
    }
    None
}

/// `meshlint.io/ignore` annotations on objects and pod templates.
fn annotations(index: &Index<'_>, out: &mut Vec<Suppression>) {
    for object in &index.objects {
        let template = PodTemplate::of(object).and_then(|t| t.annotations());
        for annotations in [object.annotations(), template].into_iter().flatten() {
            let Some(value) = annotations.get(ANNOTATION) else { continue };
            let Some(text) = value.scalar() else { continue };
            let span = value.span();
            // Positions of the names inside the value when it is written plainly or quoted
            // on one line; otherwise the whole value.
            let quoted = value.style().is_some_and(crate::yaml::Style::is_quoted);
            let base = span.start + usize::from(quoted);
            let rules = if span.end - span.start == text.len() + 2 * usize::from(quoted) {
                rule_list(text, base)
            } else {
                rule_list(text, 0).into_iter().map(|(r, _)| (r, span.clone())).collect()
            };
            let used = vec![false; rules.len()];
            out.push(Suppression {
                file: object.file,
                scope: Scope::Range(object.node.span()),
                rules,
                at: span,
                used,
                any_used: false,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_lists_keep_positions() {
        let list = rule_list(" a-b , c", 10);
        assert_eq!(list, vec![("a-b".to_owned(), 11..14), ("c".to_owned(), 17..18)]);
    }

    #[test]
    fn comments_outside_quotes_only() {
        assert_eq!(comment_start("name: \"a # b\" # c", 0), Some(14));
        assert_eq!(comment_start("name: a#b", 0), None);
        assert_eq!(comment_start("name: a# b", 0), None);
        assert_eq!(comment_start("name: a #b", 0), Some(8));
        assert_eq!(comment_start("# top", 0), Some(0));
        // A quote opens a scalar only where a node starts.
        assert_eq!(comment_start("- 'a # b' # c", 0), Some(10));
        assert_eq!(comment_start("? \"a # b\" # c", 0), Some(10));
        assert_eq!(comment_start("{\"a\":\"b # c\"} # d", 0), Some(14));
        assert_eq!(comment_start("[a, 'b # c'] # d", 0), Some(13));
        assert_eq!(comment_start("key:'x # y'", 0), Some(7));
        assert_eq!(comment_start("key: a, 'b # c", 0), Some(11));
        assert_eq!(comment_start("key: -'x # y'", 0), Some(9));
        // Flow collections: only where a node starts, and `,` only inside one.
        assert_eq!(comment_start("key: a[b, 'c # d'", 0), Some(13));
        assert_eq!(comment_start("[a]: x, 'y # z'", 0), Some(11));
        assert_eq!(comment_start("key: a} 'b # c'", 0), Some(11));
        assert_eq!(comment_start("key: a}, 'b # c'", 0), Some(12));
        assert_eq!(comment_start("key: &a 'x # y' # z", 0), Some(16));
        assert_eq!(comment_start("key: !!str \"x # y\" # z", 0), Some(19));
        assert_eq!(comment_start("key: a&b 'x # y'", 0), Some(12));
        // A quoted scalar not closed on the line goes on over the next: no comment here.
        assert_eq!(comment_start("key: 'a # b", 0), None);
        assert_eq!(comment_start("key: \"a \\\" # b", 0), None);
        // Read from where a scalar of earlier lines ends: no node starts there.
        assert_eq!(comment_start("  end' 'x # y", 6), Some(10));
        assert_eq!(comment_start("  end\" # y", 6), Some(7));
    }
}
