//! Paths relative to a root, and the namespaces that path globs give: shared by the
//! configuration (which reads them) and the model (which applies them), so that neither
//! depends on the other.

use std::path::{Path, PathBuf};

use globset::GlobMatcher;

/// `path` relative to `root` when it lies below it (both resolved), else as given.
#[must_use]
pub fn relative_to(path: &Path, root: &Path) -> PathBuf {
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_owned());
    abs.strip_prefix(&root).map_or_else(|_| path.to_owned(), Path::to_path_buf)
}

/// `.meshlint.yaml`'s `namespaces:`: the namespace of objects that name none, by path
/// glob relative to `root`. The first match wins.
#[derive(Debug, Clone, Default)]
pub struct PathNamespaces {
    pub root: PathBuf,
    pub globs: Vec<(GlobMatcher, String)>,
}

impl PathNamespaces {
    /// The namespace the map gives a file's objects that name none.
    #[must_use]
    pub fn namespace_of(&self, path: &Path) -> Option<&str> {
        if self.globs.is_empty() {
            return None;
        }
        let rel = relative_to(path, &self.root);
        self.globs.iter().find(|(g, _)| g.is_match(&rel)).map(|(_, ns)| ns.as_str())
    }
}
