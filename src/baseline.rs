//! Baselines: the findings a repository already has, recorded so that only new ones
//! are reported. A finding is known by its fingerprint (rule, object identity and field
//! path; for findings outside any object, rule, file and message), which survives edits
//! that only shift lines.

use std::collections::HashMap;
use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::diag::Diagnostic;
use crate::load::LoadedFile;
use crate::model::{Index, field_path};

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    fingerprint: String,
    rule: String,
    path: String,
    message: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct File {
    version: u32,
    findings: Vec<Entry>,
}

/// Give every diagnostic its fingerprint.
pub fn fingerprint(diagnostics: &mut [Diagnostic], files: &[LoadedFile], index: &Index<'_>) {
    // Objects are in file order, and within a file in text order: find each finding's
    // object by binary search.
    let by_file: Vec<usize> = (0..=files.len()).map(|f| index.objects.partition_point(|o| o.file < f)).collect();
    diagnostics.par_iter_mut().with_min_len(32).for_each(|d| {
        let start = d.primary.range.start;
        let in_file = &index.objects[by_file[d.primary.file]..by_file[d.primary.file + 1]];
        let candidate = in_file.partition_point(|o| o.node.span().start <= start);
        let object = candidate.checked_sub(1).map(|i| &in_file[i]).filter(|o| o.node.span().contains(&start));
        d.fingerprint = Some(match object {
            Some(o) => format!(
                "{}|{}/{}/{}|{}",
                d.rule,
                o.kind,
                o.effective_namespace,
                o.name.unwrap_or(""),
                field_path(o.node, start)
            ),
            None => format!("{}|{}|{}", d.rule, files[d.primary.file].source.name, d.message),
        });
    });
}

/// Write the baseline of `diagnostics` (which replaces any earlier one: entries that
/// no longer match are dropped).
pub fn write(path: &Path, diagnostics: &[Diagnostic], files: &[LoadedFile]) -> std::io::Result<()> {
    let mut findings: Vec<Entry> = diagnostics
        .iter()
        .map(|d| Entry {
            fingerprint: d.fingerprint.clone().unwrap_or_default(),
            rule: d.rule.to_owned(),
            path: files[d.primary.file].source.name.clone(),
            message: d.message.clone(),
        })
        .collect();
    findings.sort_by(|a, b| (&a.fingerprint, &a.path).cmp(&(&b.fingerprint, &b.path)));
    let text = serde_json::to_string_pretty(&File { version: 1, findings }).map_err(std::io::Error::other)?;
    std::fs::write(path, text + "\n")
}

/// Drop the diagnostics the baseline knows (each entry absorbs one finding).
pub fn filter(path: &Path, diagnostics: &mut Vec<Diagnostic>) -> std::io::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let file: File = serde_json::from_str(&text)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("not a meshlint baseline: {e}")))?;
    let mut known: HashMap<String, usize> = HashMap::new();
    for e in file.findings {
        *known.entry(e.fingerprint).or_default() += 1;
    }
    diagnostics.retain(|d| {
        let Some(count) = d.fingerprint.as_ref().and_then(|f| known.get_mut(f)) else { return true };
        if *count == 0 {
            return true;
        }
        *count -= 1;
        false
    });
    Ok(())
}
