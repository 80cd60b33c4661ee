//! Kustomize overlays: which kustomizations are built (those named in the
//! configuration, else every one that no other includes) and what the rendered output
//! is called.

use std::path::{Path, PathBuf};

use crate::load::LoadedFile;

/// The name of an overlay's rendered output: its folder.
#[must_use]
pub fn rendered_name(shown: &str) -> String {
    if shown.is_empty() { ".".to_owned() } else { shown.to_owned() }
}

/// The folders to build, from the kustomization files of a run (each loaded alone,
/// before the other files): those `configured` (folders, resolved against `root`) when
/// any are, else the kustomizations no other includes. Each with the folders of every
/// kustomization its tree reaches (for deciding whether a named file is in it), and the
/// remote resources the tree names.
#[must_use]
pub fn plan(
    kustomizations: &[LoadedFile],
    configured: &[PathBuf],
    root: &Path,
) -> Vec<(PathBuf, Vec<PathBuf>, Vec<String>)> {
    let dir = |f: &LoadedFile| f.source.path.as_deref().and_then(Path::parent).map(Path::to_path_buf);
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    let chosen: Vec<usize> = if configured.is_empty() {
        crate::kustomize::roots(kustomizations)
    } else {
        let wanted: Vec<PathBuf> = configured.iter().filter_map(|c| canonical(&root.join(c))).collect();
        let mut found: Vec<(usize, usize)> = kustomizations
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                let d = canonical(&dir(f)?)?;
                Some((wanted.iter().position(|w| *w == d)?, i))
            })
            .collect();
        found.sort_unstable();
        found.into_iter().map(|(_, i)| i).collect()
    };
    let trees = crate::kustomize::trees(kustomizations, &chosen);
    chosen
        .into_iter()
        .zip(trees)
        .filter_map(|(k, tree)| {
            let dirs = tree.files.iter().filter_map(|&f| dir(&kustomizations[f])).collect();
            Some((dir(&kustomizations[k])?, dirs, tree.remote))
        })
        .collect()
}
