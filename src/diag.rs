//! Diagnostics: what a rule found, where, and how to fix it. Rules and the loader build
//! them; `render` is the only module that prints them.

use std::ops::Range;

use serde::Serialize;

use crate::source::FileId;

/// How serious a finding is. Ordered so that `Error > Warning > Info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A place in a file, with a message for secondary labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub file: FileId,
    pub range: Range<usize>,
    pub message: String,
}

impl Label {
    #[must_use]
    pub fn new(file: FileId, range: Range<usize>, message: impl Into<String>) -> Self {
        Self { file, range, message: message.into() }
    }
}

/// The Kubernetes object a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectRef {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub rule: &'static str,
    pub severity: Severity,
    pub message: String,
    /// Where the problem is; its message is shown under the snippet.
    pub primary: Label,
    /// Context, possibly in other files.
    pub labels: Vec<Label>,
    pub help: Option<String>,
    pub object: Option<ObjectRef>,
    /// Identity that survives line shifts (rule, object, field path); set by the engine.
    pub fingerprint: Option<String>,
    /// The corresponding `istioctl analyze` code, under the modern profile.
    pub istio_code: Option<&'static str>,
}

impl Diagnostic {
    #[must_use]
    pub fn new(rule: &'static str, severity: Severity, message: impl Into<String>, primary: Label) -> Self {
        Self {
            rule,
            severity,
            message: message.into(),
            primary,
            labels: Vec::new(),
            help: None,
            object: None,
            fingerprint: None,
            istio_code: None,
        }
    }

    #[must_use]
    pub fn with_label(mut self, label: Label) -> Self {
        self.labels.push(label);
        self
    }

    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    #[must_use]
    pub fn with_object(mut self, object: Option<ObjectRef>) -> Self {
        self.object = object;
        self
    }

    /// Every file this diagnostic points into.
    pub fn files(&self) -> impl Iterator<Item = FileId> + '_ {
        std::iter::once(self.primary.file).chain(self.labels.iter().map(|l| l.file))
    }
}
