//! Helm charts: which folders are charts, how `helm template` is run on one, and how
//! its output is split into one rendered file per template by helm's `# Source:`
//! comments.

use std::path::{Path, PathBuf};
use std::process::Command;

/// How a chart is rendered: from `.meshlint.yaml`'s `helm:` section, defaults otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// The release name (`helm template`'s default, `release-name`, when unset).
    pub release: Option<String>,
    /// The namespace of the release (the run's namespace when unset).
    pub namespace: Option<String>,
    /// Values files, relative to the chart's folder, after the chart's own values.yaml.
    pub values: Vec<PathBuf>,
}

impl Settings {
    /// What the location line says of a rendered file: `rendered with values.yaml`.
    #[must_use]
    pub fn how(&self) -> String {
        let mut files = vec!["values.yaml".to_owned()];
        files.extend(self.values.iter().map(|v| crate::escape::path(v)));
        format!("rendered by helm with {}", files.join(", "))
    }
}

/// Whether a path names a chart's `Chart.yaml`.
#[must_use]
pub fn is_chart_file(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "Chart.yaml")
}

/// The `helm template` command for a chart: local files only (no dependency update, no
/// repository), the release's namespace, the values files in order.
#[must_use]
pub fn command(helm: &Path, dir: &Path, settings: &Settings) -> Command {
    let mut c = Command::new(helm);
    c.arg("template");
    c.arg(settings.release.as_deref().unwrap_or("release-name"));
    c.arg(dir);
    if let Some(ns) = &settings.namespace {
        c.arg("--namespace").arg(ns);
    }
    for v in &settings.values {
        c.arg("--values").arg(dir.join(v));
    }
    // Helm keeps its caches and plugins under these; pointing them at an empty place
    // keeps a user's repositories and plugins out of the rendering.
    c.env("HELM_PLUGINS", "/nonexistent-meshlint-helm-plugins");
    c
}

/// Split `helm template`'s output into one file per template: the documents that name
/// the same `# Source:` (a template may make several), in helm's order. A file's name
/// is the template's path as shown (`charts/shop/templates/web.yaml`): the chart's
/// folder `shown` then the part of the source path after the chart's name.
#[must_use]
pub fn split(text: &str, dir: &Path, shown: &str) -> Vec<(String, Option<PathBuf>, String)> {
    let mut out: Vec<(String, Option<PathBuf>, String)> = Vec::new();
    for doc in documents(text) {
        let source = doc
            .lines()
            .take_while(|l| l.starts_with('#') || l.trim().is_empty())
            .find_map(|l| l.strip_prefix("# Source: ").map(str::trim));
        let Some(source) = source else {
            if doc.trim().is_empty() {
                continue;
            }
            push(&mut out, format!("{shown}/<rendered>"), None, doc);
            continue;
        };
        // `shop/templates/web.yaml`, `shop/charts/redis/templates/x.yaml`.
        let rest = source.split_once('/').map_or(source, |(_, rest)| rest);
        let on_disk = dir.join(rest);
        let name = if shown.is_empty() || shown == "." { rest.to_owned() } else { format!("{shown}/{rest}") };
        let path = on_disk.is_file().then_some(on_disk);
        push(&mut out, name, path, doc);
    }
    out
}

fn push(out: &mut Vec<(String, Option<PathBuf>, String)>, name: String, path: Option<PathBuf>, doc: &str) {
    let text = format!("---\n{}", doc.trim_start_matches('\n'));
    match out.iter_mut().find(|(n, _, _)| *n == name) {
        Some((_, _, existing)) => {
            if !existing.ends_with('\n') {
                existing.push('\n');
            }
            existing.push_str(&text);
        }
        None => out.push((name, path, text)),
    }
}

/// The documents of a YAML stream, split at `---` lines (helm writes one before each);
/// empty ones included (`split` passes over them).
fn documents(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if bare == "---" || bare.starts_with("--- ") {
            out.push(&text[start..at]);
            start = at + line.len();
        }
        at += line.len();
    }
    out.push(&text[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_of_one_template_make_one_file() {
        let text = "---\n# Source: shop/templates/a.yaml\nkind: A\n---\n# Source: shop/templates/b.yaml\nkind: B\n---\n# Source: shop/templates/a.yaml\nkind: C\n";
        let files = split(text, Path::new("/nonexistent"), "charts/shop");
        let names: Vec<&str> = files.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(names, ["charts/shop/templates/a.yaml", "charts/shop/templates/b.yaml"]);
        assert_eq!(
            files[0].2,
            "---\n# Source: shop/templates/a.yaml\nkind: A\n---\n# Source: shop/templates/a.yaml\nkind: C\n"
        );
        assert!(files[0].1.is_none(), "no such file on disk");
    }
}
