//! Loading one file: bytes to text, text to YAML documents, and the diagnostics of that
//! step (`invalid-yaml`, `duplicate-key`, `template-skipped`). Knows nothing of
//! Kubernetes beyond recognising a Helm or Go template.

use crate::diag::{Diagnostic, Label, Severity};
use crate::source::{FileId, SourceFile};
use crate::yaml::{self, Document};

/// Files larger than this are not parsed (a diagnostic says so).
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;

/// A file read and parsed.
#[derive(Debug)]
pub struct LoadedFile {
    pub source: SourceFile,
    pub documents: Vec<Document>,
    /// Diagnostics from reading and parsing.
    pub problems: Vec<Diagnostic>,
    /// The file began with a UTF-8 byte order mark (not part of `source.text`).
    pub bom: bool,
    /// Why the file was not read as manifests, when it was not.
    pub skipped: Option<Skipped>,
    /// Output of `helm template` or `kustomize build`, not a file on disk.
    pub rendered: Option<Box<crate::rendering::Rendered>>,
    /// A file of a chart or overlay that was rendered: its objects are those of the
    /// rendered output, and it is read only as the source findings point back to.
    pub consumed: bool,
    /// A context file not read this run: what the context cache holds of it.
    pub summary: Option<Box<crate::cache::Entry>>,
    /// Device and inode, when the file was looked at while it was read.
    pub ident: Option<Ident>,
    /// The text holds a suppression comment's mark somewhere (found while the text is
    /// fresh in the cache): only then are its comments read for suppressions.
    pub suppression_mark: bool,
}

/// A file's device and inode (through links): the same whatever the path to it.
pub type Ident = (u64, u64);

impl LoadedFile {
    /// A context file that the cache stands for: no text, no documents, only counts and
    /// what it contributes.
    #[must_use]
    pub fn stub(name: String, path: Option<std::path::PathBuf>, summary: Option<Box<crate::cache::Entry>>) -> Self {
        Self {
            source: SourceFile::new(name, path, String::new()),
            documents: Vec::new(),
            problems: Vec::new(),
            bom: false,
            skipped: None,
            rendered: None,
            consumed: false,
            summary,
            ident: None,
            suppression_mark: false,
        }
    }
}

/// Why a file holds no manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    /// Not YAML, and nothing in it looks like a Kubernetes object (no `apiVersion` or
    /// `kind` key anywhere): a data file such as NDJSON or a database import.
    Data,
}

/// Turn raw bytes into a loaded file. Never fails: bad input becomes a diagnostic.
#[must_use]
pub fn load(id: FileId, name: String, path: Option<std::path::PathBuf>, bytes: Vec<u8>) -> LoadedFile {
    let bom = bytes.starts_with(b"\xEF\xBB\xBF");
    let (text, early) = decode(id, bytes);
    let source = SourceFile::new(name, path, text);
    let mut file = LoadedFile {
        source,
        documents: Vec::new(),
        problems: early.into_iter().collect(),
        bom,
        skipped: None,
        rendered: None,
        consumed: false,
        summary: None,
        ident: None,
        suppression_mark: false,
    };
    file.suppression_mark = crate::suppress::has_mark(&file.source.text);
    if !file.problems.is_empty() {
        return file;
    }
    let text = &file.source.text;
    let stream = yaml::parse_stream(text);
    let template_at =
        if memchr::memmem::find(text.as_bytes(), b"{{").is_some() { template_expression(text, &stream) } else { None };
    if let Some(at) = template_at {
        file.problems.push(
            Diagnostic::new(
                "template-skipped",
                Severity::Info,
                "file is a Helm or Go template, not a manifest: skipped",
                Label::new(id, at..at + 2, "template expression"),
            )
            .with_help("check the rendered output instead, e.g. `helm template . | meshlint check -`"),
        );
        return file;
    }
    // A resource limit (nesting, the parser's own or meshlint's) is not a syntax error:
    // such a file is reported.
    let syntax_only = stream
        .errors
        .iter()
        .all(|e| !e.message.contains("nested deeper than") && !e.message.contains("recursion limit"));
    if !stream.errors.is_empty() && syntax_only && !mentions_object_keys(text) {
        file.skipped = Some(Skipped::Data);
        return file;
    }
    for err in &stream.errors {
        let at = err.offset.min(text.len());
        let end = next_char_boundary(text, at);
        file.problems.push(Diagnostic::new(
            "invalid-yaml",
            Severity::Error,
            format!("invalid YAML: {}", err.message),
            Label::new(id, at..end, "the parser stopped here"),
        ));
    }
    for dup in &stream.duplicates {
        file.problems.push(
            Diagnostic::new(
                "duplicate-key",
                Severity::Warning,
                format!("key `{}` appears twice in the same mapping", dup.key),
                Label::new(id, dup.second.clone(), "this value wins"),
            )
            .with_label(Label::new(id, dup.first.clone(), "first defined here, silently discarded"))
            .with_help("remove one of the two keys; Kubernetes keeps only the last one"),
        );
    }
    file.documents = stream.documents;
    file
}

fn next_char_boundary(text: &str, at: usize) -> usize {
    text[at..].chars().next().map_or(at, |c| at + c.len_utf8())
}

/// Decode bytes as UTF-8 text, or explain why they are not a manifest.
fn decode(id: FileId, bytes: Vec<u8>) -> (String, Option<Diagnostic>) {
    let problem = |message: String, label: &str, at: usize| {
        Some(Diagnostic::new("invalid-yaml", Severity::Error, message, Label::new(id, at..at, label)))
    };
    if bytes.len() > MAX_FILE_BYTES {
        // Reading stops one byte past the limit: the real size is not known.
        let msg = format!("file too large: over the {MAX_FILE_BYTES}-byte limit, not parsed");
        return (String::new(), problem(msg, "file too large", 0));
    }
    if let Some(nul) = memchr::memchr(0, &bytes) {
        let msg = format!("file is binary (NUL byte at offset {nul}): not parsed");
        return (String::new(), problem(msg, "binary content", 0));
    }
    let bytes = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => rest.to_vec(),
        None => bytes,
    };
    match String::from_utf8(bytes) {
        Ok(text) => (text, None),
        Err(err) => {
            let at = err.utf8_error().valid_up_to();
            let bytes = err.into_bytes();
            // Keep the valid prefix so that the position can be shown.
            let text = String::from_utf8_lossy(&bytes[..at]).into_owned();
            let msg = format!("file is not valid UTF-8 (invalid byte at offset {at}): not parsed");
            (text, problem(msg, "invalid UTF-8 starts here", at))
        }
    }
}

/// Helm constructs that never appear in a plain manifest's string values.
const HELM_MARKERS: &[&str] = &[
    ".Values",
    ".Release",
    ".Chart",
    ".Capabilities",
    ".Files",
    ".Template",
    "include \"",
    "toYaml",
    "nindent",
    "tpl ",
    "required \"",
    "define \"",
];

/// Where a file with `{{` is a Helm or Go template: the first `{{` that stands outside
/// string values, or any when the file does not parse. Braces inside a quoted or block
/// scalar are text (an alert's `{{ $labels.pod }}`, the injection templates embedded in
/// an `istio-sidecar-injector` ConfigMap); inside a plain scalar they are text unless the
/// expression is Helm's (`{{ .Values.x }}`); in a comment they are text.
fn template_expression(text: &str, stream: &yaml::Stream) -> Option<usize> {
    let first = text.find("{{")?;
    if !stream.errors.is_empty() {
        return Some(first);
    }
    // Scalars that hold `{{`, by start offset.
    let mut strings: Vec<(usize, usize, bool)> = Vec::new();
    for doc in &stream.documents {
        for node in doc.root().descendants() {
            let Some(style) = node.style() else { continue };
            let span = node.span();
            if text.get(span.clone()).is_some_and(|t| t.contains("{{")) {
                let helm = style == yaml::Style::Plain && HELM_MARKERS.iter().any(|m| text[span.clone()].contains(m));
                strings.push((span.start, span.end, !helm));
            }
        }
    }
    strings.sort_unstable();
    let is_text = |at: usize| {
        let i = strings.partition_point(|&(start, _, _)| start <= at);
        let in_string = i > 0 && {
            let (_, end, text_only) = strings[i - 1];
            at < end && text_only
        };
        let line_start = text[..at].rfind(['\n', '\r']).map_or(0, |p| p + 1);
        let before = &text[line_start..at];
        in_string || before.trim_start().starts_with('#') || before.contains(" #")
    };
    text.match_indices("{{").map(|(at, _)| at).find(|&at| !is_text(at))
}

/// Whether a text has an `apiVersion` or `kind` key anywhere (`kind:`, `"kind":`).
fn mentions_object_keys(text: &str) -> bool {
    ["apiVersion", "kind"].iter().any(|key| {
        text.match_indices(key).any(|(at, _)| {
            let rest = text[at + key.len()..].trim_start_matches(['"', '\'']).trim_start_matches([' ', '\t']);
            rest.starts_with(':')
        })
    })
}
