//! Rendering a report: human snippets (codespan-reporting) with a summary table,
//! concise one-liners, and JSON. The only module that writes a report's text; callers
//! choose the stream.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::ops::Range;

use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::{Error as FilesError, Files};
use codespan_reporting::term::{self, termcolor};
use comfy_table::{Table, presets};
use serde::Serialize;
use serde_json::json;

use crate::diag::{Diagnostic, Label, ObjectRef, Severity};
use crate::engine::Report;
use crate::escape;
use crate::load::LoadedFile;
use crate::source::{FileId, Position};

/// Output formats of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Source snippets and a summary table.
    Human,
    /// `path:line:col: severity[rule] message`, one line each.
    Concise,
    /// One JSON document.
    Json,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
    /// GitHub Actions workflow commands (annotations on the pull request).
    Github,
}

/// How to show human output: in colour, and whether notes are shown in full.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    pub color: bool,
    /// Notes (info findings) as snippets, one each, instead of one line per group.
    pub verbose: bool,
}

impl Style {
    /// Colour only on a terminal, and never when `NO_COLOR` is set.
    #[must_use]
    pub fn detect() -> Self {
        use std::io::IsTerminal;
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self { color: !no_color && io::stdout().is_terminal(), verbose: false }
    }
}

/// Write a report in a format.
///
/// # Errors
/// When the output cannot be written.
pub fn report(out: &mut dyn Write, report: &Report, format: Format, style: Style) -> io::Result<()> {
    match format {
        Format::Human => human(out, report, style),
        Format::Concise => concise(out, report),
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &json_report(report))?;
            writeln!(out)
        }
        Format::Sarif => {
            serde_json::to_writer_pretty(&mut *out, &sarif(report))?;
            writeln!(out)
        }
        Format::Github => github(out, report),
    }
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A relative reference to a file: forward slashes, reserved and control characters and
/// bytes that are not UTF-8 percent-encoded.
fn sarif_uri(files: &[LoadedFile], file: FileId) -> String {
    let source = &files[file].source;
    escape::uri(&source.name, source.path.as_deref())
}

fn sarif_location(files: &[LoadedFile], file: FileId, start: Position, end: Position) -> serde_json::Value {
    let region =
        json!({"startLine": start.line, "startColumn": start.column, "endLine": end.line, "endColumn": end.column});
    match rendered_how(files, file) {
        // A place in helm's or kustomize's output: no region of the file, which would
        // point at the wrong lines; the rendered place is said in words.
        Some(how) => json!({
            "physicalLocation": {"artifactLocation": {"uri": sarif_uri(files, file)}},
            "message": {"text": format!("line {}, column {} as {how}", start.line, start.column)},
            "properties": {"rendered": how, "region": region},
        }),
        None => json!({"physicalLocation": {"artifactLocation": {"uri": sarif_uri(files, file)}, "region": region}}),
    }
}

/// Start and end positions of labels, computed together (see [`positions`]).
fn label_spans(files: &[LoadedFile], labels: &[Label]) -> Vec<(Position, Position)> {
    let at: Vec<(FileId, usize)> =
        labels.iter().flat_map(|l| [(l.file, l.range.start), (l.file, l.range.end)]).collect();
    positions(files, &at).chunks(2).map(|p| (p[0], p[1])).collect()
}

/// The report as one SARIF 2.1.0 run, with every rule's metadata.
fn sarif(report: &Report) -> serde_json::Value {
    let rules: Vec<serde_json::Value> = crate::rules::RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.name,
                "name": r.name,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": r.summary},
                "help": {"text": r.doc, "markdown": r.doc},
                "defaultConfiguration": {"level": sarif_level(r.severity)},
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = report
        .diagnostics
        .iter()
        .map(|d| {
            let index = crate::rules::RULES.iter().position(|r| r.name == d.rule).unwrap_or(0);
            let mut text = d.message.clone();
            if let Some(help) = &d.help {
                text = format!("{text}\nhelp: {help}");
            }
            let spans = label_spans(&report.files, &d.labels);
            let related: Vec<serde_json::Value> = d
                .labels
                .iter()
                .zip(spans)
                .enumerate()
                .map(|(i, (l, (start, end)))| {
                    let mut loc = sarif_location(&report.files, l.file, start, end);
                    loc["id"] = json!(i);
                    loc["message"] = json!({"text": if l.message.is_empty() { "related" } else { &l.message }});
                    loc
                })
                .collect();
            let mut result = json!({
                "ruleId": d.rule,
                "ruleIndex": index,
                "level": sarif_level(d.severity),
                "message": {"text": text},
                "locations": [sarif_location(
                    &report.files,
                    d.primary.file,
                    position(&report.files, &d.primary, false).0,
                    position(&report.files, &d.primary, true).0,
                )],
            });
            if !related.is_empty() {
                result["relatedLocations"] = json!(related);
            }
            if let Some(f) = &d.fingerprint {
                result["partialFingerprints"] = json!({"meshlint/v1": f});
            }
            let mut properties = serde_json::Map::new();
            if let Some(o) = &d.object {
                properties.insert("object".into(), json!(o));
            }
            if let Some(code) = d.istio_code {
                properties.insert("istio_code".into(), json!(code));
            }
            if !properties.is_empty() {
                result["properties"] = serde_json::Value::Object(properties);
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "meshlint",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "invocations": [invocation(report)],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

/// The run's invocation: tool errors (unreadable paths and the like) as error
/// notifications, and whether the run succeeded, i.e. had none.
fn invocation(report: &Report) -> serde_json::Value {
    let mut invocation = json!({"executionSuccessful": report.errors.is_empty()});
    if !report.errors.is_empty() {
        let notes: Vec<serde_json::Value> =
            report.errors.iter().map(|e| json!({"level": "error", "message": {"text": e}})).collect();
        invocation["toolExecutionNotifications"] = json!(notes);
    }
    invocation
}

fn github(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    for d in &report.diagnostics {
        let (start, name) = position(&report.files, &d.primary, false);
        let (end, _) = position(&report.files, &d.primary, true);
        let command = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        // Input text is escaped first: a line break in a name is shown as `\n`, and
        // only the one before `help:` becomes `%0A`.
        let mut message = escape::text(&d.message).into_owned();
        if let Some(help) = &d.help {
            message = format!("{message}\nhelp: {}", escape::text(help));
        }
        if let Some(how) = rendered_how(&report.files, d.primary.file) {
            // No line of the file: the place is in helm's or kustomize's output.
            let message = format!("{message}\n(at line {}, column {}; {how})", start.line, start.column);
            writeln!(
                out,
                "::{command} file={},title={}::{}",
                escape::github(&escape::text(name), true),
                escape::github(&format!("meshlint {}", d.rule), true),
                escape::github(&message, false)
            )?;
            continue;
        }
        writeln!(
            out,
            "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            escape::github(&escape::text(name), true),
            start.line,
            start.column,
            end.line,
            end.column,
            escape::github(&format!("meshlint {}", d.rule), true),
            escape::github(&message, false)
        )?;
    }
    Ok(())
}

/// The files as codespan shows them: names escaped, and source text whose control
/// characters are replaced by visible ones of the same length (so every offset holds),
/// made once per file and only for files a diagnostic points into.
struct FileSet<'a> {
    files: &'a [LoadedFile],
    names: Vec<Cow<'a, str>>,
    sources: Vec<OnceCell<Cow<'a, str>>>,
}

impl<'a> FileSet<'a> {
    fn new(files: &'a [LoadedFile]) -> Self {
        Self {
            files,
            names: files
                .iter()
                .map(|f| match &f.rendered {
                    // Output of helm or kustomize: its lines are not the template's.
                    Some(_) => Cow::Owned(format!("{} (rendered)", escape::text(&f.source.name))),
                    None => escape::text(&f.source.name),
                })
                .collect(),
            sources: files.iter().map(|_| OnceCell::new()).collect(),
        }
    }
}

impl<'a> Files<'a> for FileSet<'a> {
    type FileId = usize;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: usize) -> Result<&'a str, FilesError> {
        Ok(self.names.get(id).ok_or(FilesError::FileMissing)?)
    }

    fn source(&'a self, id: usize) -> Result<&'a str, FilesError> {
        let file = self.files.get(id).ok_or(FilesError::FileMissing)?;
        Ok(self.sources[id].get_or_init(|| escape::snippet(&file.source.text)))
    }

    fn line_index(&'a self, id: usize, byte_index: usize) -> Result<usize, FilesError> {
        Ok(self.files.get(id).ok_or(FilesError::FileMissing)?.source.line_index(byte_index))
    }

    fn line_range(&'a self, id: usize, line_index: usize) -> Result<Range<usize>, FilesError> {
        let source = &self.files.get(id).ok_or(FilesError::FileMissing)?.source;
        if line_index >= source.line_count() {
            return Err(FilesError::LineTooLarge { given: line_index, max: source.line_count() - 1 });
        }
        let range = source.line_range(line_index);
        // Include the line break, as codespan expects.
        let end = source.line_starts().get(line_index + 1).copied().unwrap_or(source.text.len());
        Ok(range.start..end)
    }
}

fn cs_severity(s: Severity) -> cs::Severity {
    match s {
        Severity::Error => cs::Severity::Error,
        Severity::Warning => cs::Severity::Warning,
        Severity::Info => cs::Severity::Note,
    }
}

/// Secondary labels drawn under snippets at most; the others are listed in a note, one
/// line each. Codespan draws every label of a line with a pointer past all the labels on
/// its left, so its time (and the output) grows with the square of the labels.
const MAX_DRAWN_LABELS: usize = 32;

/// Secondary labels on a longer line (a minified JSON file) are listed, not drawn: each
/// drawn label repeats the line's width.
const MAX_DRAWN_LINE: usize = 1024;

/// Whether a label's lines are short enough to draw.
fn drawable(files: &[LoadedFile], label: &Label) -> bool {
    let source = &files[label.file].source;
    let short = |byte: usize| source.line_range(source.line_index(byte.min(source.text.len()))).len() <= MAX_DRAWN_LINE;
    short(label.range.start) && short(label.range.end)
}

fn to_codespan(files: &FileSet<'_>, d: &Diagnostic) -> cs::Diagnostic<usize> {
    let primary =
        cs::Label::primary(d.primary.file, d.primary.range.clone()).with_message(escape::text(&d.primary.message));
    let mut labels = vec![primary];
    let mut listed = Vec::new();
    for l in &d.labels {
        if labels.len() <= MAX_DRAWN_LABELS && drawable(files.files, l) {
            labels.push(cs::Label::secondary(l.file, l.range.clone()).with_message(escape::text(&l.message)));
        } else {
            listed.push(l);
        }
    }
    let mut notes = Vec::new();
    if !listed.is_empty() {
        let at: Vec<(FileId, usize)> = listed.iter().map(|l| (l.file, l.range.start)).collect();
        let mut note = format!("and {} more places:", listed.len());
        for (l, p) in listed.iter().zip(positions(files.files, &at)) {
            let message = if l.message.is_empty() { Cow::Borrowed("related") } else { escape::text(&l.message) };
            note.push_str(&format!("\n{}:{}:{}: {message}", files.names[l.file], p.line, p.column));
        }
        notes.push(note);
    }
    if let Some(o) = &d.object {
        notes.push(format!("object: {}", escape::text(&object_name(o))));
    }
    if let Some(help) = &d.help {
        notes.push(format!("help: {}", escape::text(help)));
    }
    if let Some(code) = d.istio_code {
        notes.push(format!("istioctl analyze: {code}"));
    }
    cs::Diagnostic::new(cs_severity(d.severity))
        .with_code(d.rule)
        .with_message(escape::text(&d.message))
        .with_labels(labels)
        .with_notes(notes)
}

fn object_name(o: &ObjectRef) -> String {
    let ns = o.namespace.as_deref().map(|n| format!("{n}/")).unwrap_or_default();
    format!("{}/{ns}{}", o.kind, o.name.as_deref().unwrap_or("<unnamed>"))
}

fn human(out: &mut dyn Write, report: &Report, style: Style) -> io::Result<()> {
    if let Some(note) = default_profile_note(report.profile, &report.profile_reason) {
        writeln!(out, "{note}")?;
    }
    let files = FileSet::new(&report.files);
    let config = term::Config::default();
    let mut buffer = if style.color { termcolor::Buffer::ansi() } else { termcolor::Buffer::no_color() };
    // Errors and warnings as snippets; notes too with `--verbose`, else a line a group.
    let (shown, notes): (Vec<&Diagnostic>, Vec<&Diagnostic>) =
        report.diagnostics.iter().partition(|d| style.verbose || d.severity != Severity::Info);
    for d in shown {
        // A snippet prints the whole line: on a minified file that is megabytes per
        // finding. Such a finding shows a window of its line instead.
        let source = &report.files[d.primary.file].source;
        let line = source.line_index(d.primary.range.start.min(source.text.len()));
        if source.line_range(line).len() > LONG_LINE {
            long_line(&mut buffer, &report.files, d)?;
        } else {
            term::emit_to_write_style(&mut buffer, &config, &files, &to_codespan(&files, d))
                .map_err(io::Error::other)?;
        }
        // One finding at a time: the output is never held whole.
        out.write_all(buffer.as_slice())?;
        buffer.clear();
    }
    if !notes.is_empty() {
        writeln!(out, "notes (`--verbose` shows each in full):")?;
        for line in note_lines(&report.files, &notes) {
            writeln!(out, "  {line}")?;
        }
    }
    summary_table(out, report, style)?;
    for line in next_steps(report) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Lines longer than this (bytes) are shown as a window around the finding.
const LONG_LINE: usize = 1024;
/// Characters of a long line shown on each side of a finding.
const WINDOW: usize = 60;

/// A finding on a very long line: its header and position, a window of the line around
/// it, its labels as positions, and its help.
fn long_line(out: &mut dyn Write, files: &[LoadedFile], d: &Diagnostic) -> io::Result<()> {
    let (pos, name) = position(files, &d.primary, false);
    let source = &files[d.primary.file].source;
    let start = d.primary.range.start.min(source.text.len());
    let line = source.line_range(source.line_index(start));
    let floor = |mut i: usize| {
        while !source.text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let from = floor(
        source.text[line.start..start].char_indices().rev().nth(WINDOW).map_or(line.start, |(i, _)| line.start + i),
    );
    let end = d.primary.range.end.clamp(start, line.end);
    let to = floor(source.text[end..line.end].char_indices().nth(WINDOW).map_or(line.end, |(i, _)| end + i));
    writeln!(out, "{}[{}]: {}", d.severity.as_str(), d.rule, escape::text(&d.message))?;
    writeln!(out, "  --> {}:{}:{}", escape::text(name), pos.line, pos.column)?;
    let before = if from > line.start { "…" } else { "" };
    let after = if to < line.end { "…" } else { "" };
    writeln!(out, "   | {before}{}{after}", escape::snippet(&source.text[from..to]))?;
    writeln!(out, "   = the line is {} bytes long: a window around column {} is shown", line.len(), pos.column)?;
    if !d.primary.message.is_empty() {
        writeln!(out, "   = {}", escape::text(&d.primary.message))?;
    }
    for label in &d.labels {
        let (p, n) = position(files, label, false);
        writeln!(out, "   = {}:{}:{}: {}", escape::text(n), p.line, p.column, escape::text(&label.message))?;
    }
    if let Some(help) = &d.help {
        writeln!(out, "   = help: {}", escape::text(help))?;
    }
    writeln!(out)
}

/// The line that says the profile is a default, with the one line that changes it.
#[must_use]
pub fn default_profile_note(profile: crate::istio::Profile, reason: &str) -> Option<String> {
    (reason == crate::engine::DEFAULT_PROFILE_REASON).then(|| {
        format!(
            "note: nothing in the repository says which Istio it is for: checking as {} (the default); for Istio 1.x add `profile: istio-modern` to .meshlint.yaml",
            profile.name()
        )
    })
}

/// The folder of a file's display name (`.` for a file at the top).
fn folder(name: &str) -> &str {
    name.rsplit_once('/').map_or(".", |(dir, _)| dir)
}

/// Notes grouped: one line for a lone note (`path:line:col: message`), one line for the
/// notes of one rule under one folder, with what to do about them.
fn note_lines(files: &[LoadedFile], notes: &[&Diagnostic]) -> Vec<String> {
    let mut groups: BTreeMap<(&str, &str), Vec<&Diagnostic>> = BTreeMap::new();
    for d in notes {
        let key_folder =
            if d.rule == "namespace-not-injected" { "" } else { folder(&files[d.primary.file].source.name) };
        groups.entry((d.rule, key_folder)).or_default().push(d);
    }
    let mut lines = Vec::new();
    for ((rule, dir), group) in groups {
        let first = group[0];
        if group.len() == 1 {
            let (pos, name) = position(files, &first.primary, false);
            lines.push(format!(
                "{}:{}:{}: {}[{rule}] {}",
                escape::text(name),
                pos.line,
                pos.column,
                first.severity.as_str(),
                escape::text(&first.message)
            ));
            continue;
        }
        let n = group.len();
        let dir = escape::text(dir);
        lines.push(match rule {
            "template-skipped" => format!(
                "info[{rule}] {n} templates skipped under {dir}: render them and check the output, e.g. `helm template {dir} | meshlint check -`"
            ),
            "namespace-not-injected" => {
                let mut by_namespace: BTreeMap<String, usize> = BTreeMap::new();
                for d in &group {
                    // The message names the namespace the workload lives in.
                    let ns = d.message.split_once("namespace `").and_then(|(_, rest)| rest.split_once('`'));
                    *by_namespace.entry(ns.map_or_else(|| "?".to_owned(), |(ns, _)| ns.to_owned())).or_default() += 1;
                }
                let counts: Vec<String> =
                    by_namespace.iter().map(|(ns, c)| format!("{} ({c})", escape::text(ns))).collect();
                format!("info[{rule}] {n} workloads in namespaces with no injection label: {}", counts.join(", "))
            }
            _ => format!("info[{rule}] {n} notes under {dir}, e.g. {}", escape::text(&first.message)),
        });
    }
    lines
}

/// What to do next: the profile line when it was a default, the `explain` command of the
/// most frequent rule, and how to record the existing findings as a baseline.
fn next_steps(report: &Report) -> Vec<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for d in report.diagnostics.iter().filter(|d| d.severity != Severity::Info) {
        *counts.entry(d.rule).or_default() += 1;
    }
    let Some((top, _)) = counts.iter().max_by_key(|(rule, n)| (**n, std::cmp::Reverse(**rule))) else {
        return Vec::new();
    };
    let mut out = vec![format!("next: `meshlint explain {top}` says why and how to fix it")];
    if report.profile_reason == crate::engine::DEFAULT_PROFILE_REASON {
        out.push("      the profile was a default: set `profile:` in .meshlint.yaml if this is not Istio 0.2".into());
    }
    out.push(
        "      to accept today's findings and fail only on new ones: `meshlint check --write-baseline .meshlint-baseline.json`, then `--baseline .meshlint-baseline.json`".into(),
    );
    out
}

fn summary_table(out: &mut dyn Write, report: &Report, style: Style) -> io::Result<()> {
    let mut counts: BTreeMap<(&str, Severity), usize> = BTreeMap::new();
    for d in &report.diagnostics {
        *counts.entry((d.rule, d.severity)).or_default() += 1;
    }
    if !counts.is_empty() {
        let mut table = Table::new();
        table.load_style(if style.color { presets::UTF8_FULL_CONDENSED } else { presets::ASCII_MARKDOWN });
        table.set_header(["rule", "severity", "count"]);
        for ((rule, severity), n) in &counts {
            table.add_row([(*rule).to_owned(), severity.as_str().to_owned(), n.to_string()]);
        }
        writeln!(out, "{table}")?;
    }
    writeln!(out, "{}", summary_line(report))
}

/// Named files skipped as data (not YAML, no `apiVersion` or `kind` anywhere).
fn data_files(report: &Report) -> usize {
    report
        .files
        .iter()
        .zip(&report.targets)
        .filter(|(f, t)| **t && f.skipped == Some(crate::load::Skipped::Data))
        .count()
}

/// `N files, M documents, K objects: X errors, Y warnings, Z infos`.
#[must_use]
pub fn summary_line(report: &Report) -> String {
    let count = |s| report.diagnostics.iter().filter(|d| d.severity == s).count();
    let context = report.context_count();
    let context = if context > 0 { format!(" (and {context} read for context)") } else { String::new() };
    let data = data_files(report);
    let context = if data > 0 { format!("{context}, {data} data files skipped") } else { context };
    format!(
        "profile {} ({}); {} files{context}, {} documents, {} objects: {} errors, {} warnings, {} infos",
        report.profile.name(),
        escape::text(&report.profile_reason),
        report.target_count(),
        report.documents,
        report.objects,
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info)
    )
}

fn position<'f>(files: &'f [LoadedFile], label: &Label, at_end: bool) -> (Position, &'f str) {
    let file = &files[label.file].source;
    let byte = if at_end { label.range.end } else { label.range.start };
    (file.position(byte), &file.name)
}

/// Positions of byte offsets, counting each line's characters once: a finding can have
/// thousands of labels on one long line (a minified JSON file), and counting every column
/// from its line's start would take quadratic time.
fn positions(files: &[LoadedFile], at: &[(FileId, usize)]) -> Vec<Position> {
    let mut order: Vec<usize> = (0..at.len()).collect();
    order.sort_by_key(|&i| at[i]);
    let mut out = vec![Position { line: 0, column: 0 }; at.len()];
    // The file, byte offset and position of the previous offset in that order.
    let mut last: Option<(FileId, usize, Position)> = None;
    for i in order {
        let (file, byte) = at[i];
        let source = &files[file].source;
        let byte = byte.min(source.text.len());
        let on_line = |p: Position| p.line == source.line_index(byte) + 1;
        let pos = match last {
            Some((f, b, p)) if f == file && on_line(p) => match source.text.get(b..byte) {
                Some(between) => Position { line: p.line, column: p.column + between.chars().count() },
                None => source.position(byte),
            },
            _ => source.position(byte),
        };
        last = Some((file, byte, pos));
        out[i] = pos;
    }
    out
}

fn concise(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    for d in &report.diagnostics {
        let (pos, name) = position(&report.files, &d.primary, false);
        let code = d.istio_code.map(|c| format!(" ({c})")).unwrap_or_default();
        let rendered = if report.files[d.primary.file].rendered.is_some() { " (rendered)" } else { "" };
        writeln!(
            out,
            "{}{rendered}:{}:{}: {}[{}] {}{code}",
            escape::text(name),
            pos.line,
            pos.column,
            d.severity.as_str(),
            d.rule,
            escape::text(&d.message)
        )?;
    }
    Ok(())
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    path: &'a str,
    line: usize,
    column: usize,
    message: &'a str,
    /// How the file was rendered, when the place is in helm's or kustomize's output.
    #[serde(skip_serializing_if = "Option::is_none")]
    rendered: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    rule: &'a str,
    severity: Severity,
    message: &'a str,
    path: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    object: Option<&'a ObjectRef>,
    labels: Vec<JsonLabel<'a>>,
    help: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    istio_code: Option<&'a str>,
    /// How the file was rendered, when the finding is in helm's or kustomize's output.
    #[serde(skip_serializing_if = "Option::is_none")]
    rendered: Option<&'a str>,
}

/// How a file was rendered, for the JSON and SARIF formats.
fn rendered_how(files: &[LoadedFile], file: FileId) -> Option<&str> {
    files[file].rendered.as_ref().map(|r| r.how.as_str())
}

fn json_diagnostic<'a>(files: &'a [LoadedFile], d: &'a Diagnostic) -> JsonDiagnostic<'a> {
    let (start, path) = position(files, &d.primary, false);
    let (end, _) = position(files, &d.primary, true);
    JsonDiagnostic {
        rule: d.rule,
        severity: d.severity,
        message: &d.message,
        path,
        line: start.line,
        column: start.column,
        end_line: end.line,
        end_column: end.column,
        object: d.object.as_ref(),
        labels: {
            let at: Vec<(FileId, usize)> = d.labels.iter().map(|l| (l.file, l.range.start)).collect();
            d.labels
                .iter()
                .zip(positions(files, &at))
                .map(|(l, p)| JsonLabel {
                    path: &files[l.file].source.name,
                    line: p.line,
                    column: p.column,
                    message: &l.message,
                    rendered: rendered_how(files, l.file),
                })
                .collect()
        },
        help: d.help.as_deref(),
        istio_code: d.istio_code,
        rendered: rendered_how(files, d.primary.file),
    }
}

fn json_report(report: &Report) -> serde_json::Value {
    let diagnostics: Vec<_> = report.diagnostics.iter().map(|d| json_diagnostic(&report.files, d)).collect();
    let count = |s| report.diagnostics.iter().filter(|d| d.severity == s).count();
    let mut rules: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &report.diagnostics {
        *rules.entry(d.rule).or_default() += 1;
    }
    json!({
        "diagnostics": diagnostics,
        "summary": {
            "profile": report.profile.name(),
            "profile_reason": report.profile_reason,
            "files": report.target_count(),
            "context_files": report.context_count(),
            "data_files_skipped": data_files(report),
            "documents": report.documents,
            "objects": report.objects,
            "error": count(Severity::Error),
            "warning": count(Severity::Warning),
            "info": count(Severity::Info),
            "rules": rules,
        }
    })
}

/// `meshlint rules`: one row per rule.
///
/// # Errors
/// When the output cannot be written.
pub fn rules_table(out: &mut dyn Write, style: Style) -> io::Result<()> {
    let mut table = Table::new();
    table.load_style(if style.color { presets::UTF8_FULL_CONDENSED } else { presets::ASCII_MARKDOWN });
    table.set_header(["rule", "istio-0.2", "istio-modern", "what it finds"]);
    for rule in crate::rules::RULES {
        let level = |p| {
            crate::rules::level_under(rule, p).map_or_else(
                || "-".to_owned(),
                |l| {
                    let code = p.istio_code(rule.name).map(|c| format!(" {c}")).unwrap_or_default();
                    format!("{}{code}", l.as_str())
                },
            )
        };
        table.add_row([
            rule.name.to_owned(),
            level(crate::istio::Profile::Istio02),
            level(crate::istio::Profile::Modern),
            rule.summary.to_owned(),
        ]);
    }
    writeln!(out, "{table}")
}

/// Output formats of `audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditFormat {
    Table,
    Json,
    Csv,
}

/// Write an audit.
///
/// # Errors
/// When the output cannot be written.
pub fn audit(out: &mut dyn Write, audit: &crate::audit::Audit, format: AuditFormat, style: Style) -> io::Result<()> {
    match format {
        AuditFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, audit)?;
            writeln!(out)
        }
        AuditFormat::Csv => {
            writeln!(out, "namespace,kind,name,path,line,outcome,reason,detail")?;
            for r in &audit.workloads {
                let fields =
                    [&r.namespace, &r.kind, &r.name, &r.path, &r.line.to_string(), r.outcome, r.reason, &r.detail];
                let cells: Vec<String> = fields.iter().map(|f| csv_field(&escape::text(f))).collect();
                writeln!(out, "{}", cells.join(","))?;
            }
            Ok(())
        }
        AuditFormat::Table => {
            let p = &audit.policy;
            let t = |s: &str| escape::text(s).into_owned();
            writeln!(out, "profile: {} ({})", audit.profile, t(&audit.profile_reason))?;
            if audit.profile_reason == crate::engine::DEFAULT_PROFILE_REASON {
                writeln!(out, "  for Istio 1.x add `profile: istio-modern` to .meshlint.yaml")?;
            }
            let flag = if p.overridden_by_flag { " (set by --policy)" } else { "" };
            writeln!(out, "policy: {}{flag}, from {}", p.policy, t(&p.origin))?;
            if audit.profile == "istio-modern" {
                let labelled = if p.namespaces.is_empty() { "none".to_owned() } else { t(&p.namespaces.join(", ")) };
                writeln!(out, "labelled namespaces: {labelled}")?;
                writeln!(out, "revisions and tags: {}", t(&p.resources.join(", ")))?;
            } else {
                let watched = if p.namespaces.iter().any(String::is_empty) {
                    "all".to_owned()
                } else {
                    t(&p.namespaces.join(", "))
                };
                let excluded = if p.exclude_namespaces.is_empty() {
                    "none".to_owned()
                } else {
                    t(&p.exclude_namespaces.join(", "))
                };
                writeln!(out, "namespaces: {watched}; excluded: {excluded}")?;
                writeln!(out, "initialized kinds: {}", t(&p.resources.join(", ")))?;
            }
            if !audit.problems.is_empty() {
                let mut unread: Vec<&str> = audit.problems.iter().map(|p| p.path.as_str()).collect();
                unread.dedup();
                let (files, were) = if unread.len() == 1 { ("file", "was") } else { ("files", "were") };
                writeln!(out, "{} {files} could not be read and {were} not audited:", unread.len())?;
                for p in &audit.problems {
                    writeln!(out, "  {}:{}:{}: {}: {}", t(&p.path), p.line, p.column, p.rule, t(&p.message))?;
                }
            }
            let mut table = Table::new();
            table.load_style(if style.color { presets::UTF8_FULL_CONDENSED } else { presets::ASCII_MARKDOWN });
            table.set_header(["namespace", "workload", "location", "outcome", "reason"]);
            for r in &audit.workloads {
                table.add_row([
                    t(&r.namespace),
                    t(&format!("{}/{}", r.kind, r.name)),
                    t(&format!("{}:{}", r.path, r.line)),
                    r.outcome.replace('-', " "),
                    t(&r.detail),
                ]);
            }
            writeln!(out, "{table}")?;
            let s = &audit.summary;
            writeln!(
                out,
                "{} workloads: {} injected, {} not injected, {} already injected",
                s.workloads, s.injected, s.not_injected, s.already_injected
            )
        }
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_owned() }
}

/// One line per workload of a rewritten file: what was done and why.
///
/// # Errors
/// When the output cannot be written.
pub fn rewrite_summary(out: &mut dyn Write, name: &str, change: &crate::inject::FileChange) -> io::Result<()> {
    for w in &change.workloads {
        let what = match (&w.decision, w.changed) {
            (Some(d), true) => format!("injected: {}", d.detail),
            (Some(d), false) => format!("{}: {}", d.outcome.text(), d.detail),
            (None, true) => "sidecar removed".to_owned(),
            (None, false) => "no sidecar to remove".to_owned(),
        };
        writeln!(out, "{}:{}: {} {}", escape::text(name), w.line, escape::text(&w.object), escape::text(&what))?;
    }
    for note in &change.notes {
        writeln!(out, "meshlint: note: {}: {}", escape::text(name), escape::text(note))?;
    }
    Ok(())
}

/// A unified diff between two versions of a file (nothing when they are equal).
///
/// # Errors
/// When the output cannot be written.
pub fn unified_diff(out: &mut dyn Write, name: &str, old: &str, new: &str) -> io::Result<()> {
    if old == new {
        return Ok(());
    }
    let diff = similar::TextDiff::from_lines(old, new);
    let name = escape::text(name);
    write!(out, "{}", diff.unified_diff().context_radius(3).header(&format!("a/{name}"), &format!("b/{name}")))
}
