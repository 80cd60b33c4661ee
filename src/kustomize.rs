//! Namespaces that kustomizations give their resources. A `kustomization.yaml` with
//! `namespace:` sets the namespace of every object it emits: the files and folders it
//! lists under `resources` (and the older `bases`, and `components`), recursively
//! through the kustomizations of the folders it names; an outer kustomization's
//! namespace wins over an inner one's, as kustomize's namespace transformer runs last in
//! the overlay. Only kustomizations that no other includes are applied, so a base exists
//! only in the namespaces of the overlays that include it, and a resource reached by two
//! overlays exists in both.
//!
//! Nothing is rendered here (patches, name prefixes: that is `kustomize build`'s job);
//! this is only where objects will live.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::load::LoadedFile;
use crate::yaml::NodeRef;

const FILE_NAMES: &[&str] = &["kustomization.yaml", "kustomization.yml", "Kustomization"];
/// Kinds without a namespace, which the namespace transformer leaves alone.
pub const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
    "APIService",
    "RuntimeClass",
    "PodSecurityPolicy",
    "InitializerConfiguration",
];

/// Whether a path names a kustomization file.
#[must_use]
pub fn is_kustomization(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| FILE_NAMES.contains(&n))
}

struct Kustomization<'a> {
    dir: PathBuf,
    namespace: Option<&'a str>,
    /// Resolved entries of `resources`, `bases` and `components`.
    entries: Vec<PathBuf>,
}

/// For each file, the namespaces kustomizations give its objects: `None` when no applied
/// kustomization that sets a namespace reaches it (the objects keep their own), else the
/// sorted set of what each path through the kustomizations gives (`None` in the set: a
/// path that sets no namespace).
#[must_use]
pub fn namespaces(files: &[LoadedFile]) -> Vec<Option<Vec<Option<&str>>>> {
    let mut out = vec![None; files.len()];
    let kustomizations: Vec<(usize, Kustomization<'_>)> = files
        .iter()
        .enumerate()
        .filter(|(_, f)| f.source.path.as_deref().is_some_and(is_kustomization))
        .filter_map(|(i, f)| Some((i, read(f)?)))
        .collect();
    if kustomizations.iter().all(|(_, k)| k.namespace.is_none()) {
        return out;
    }
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    let by_path: HashMap<PathBuf, usize> =
        files.iter().enumerate().filter_map(|(i, f)| Some((canonical(f.source.path.as_deref()?)?, i))).collect();
    let by_dir: HashMap<PathBuf, usize> =
        kustomizations.iter().enumerate().filter_map(|(k, (_, kz))| Some((canonical(&kz.dir)?, k))).collect();
    // What each kustomization includes: other kustomizations (by folder) and files.
    let mut includes: Vec<Vec<usize>> = vec![Vec::new(); kustomizations.len()];
    let mut resources: Vec<Vec<usize>> = vec![Vec::new(); kustomizations.len()];
    let mut is_base = vec![false; kustomizations.len()];
    for (k, (_, kz)) in kustomizations.iter().enumerate() {
        for entry in &kz.entries {
            let Some(path) = canonical(entry) else { continue };
            if let Some(&child) = by_dir.get(&path) {
                includes[k].push(child);
                is_base[child] = true;
            } else if let Some(&file) = by_path.get(&path) {
                resources[k].push(file);
            }
            // Anything else (a folder without a kustomization, a file not read) kustomize
            // refuses or meshlint cannot place: nothing to do.
        }
    }
    let mut reached: Vec<BTreeSet<Option<&str>>> = vec![BTreeSet::new(); files.len()];
    for root in (0..kustomizations.len()).filter(|k| !is_base[*k]) {
        let mut stack = vec![(root, kustomizations[root].1.namespace, 0usize)];
        while let Some((k, namespace, depth)) = stack.pop() {
            // A cycle is kustomize's error; stop walking it.
            if depth > kustomizations.len() {
                continue;
            }
            for &file in &resources[k] {
                reached[file].insert(namespace);
            }
            for &child in &includes[k] {
                stack.push((child, namespace.or(kustomizations[child].1.namespace), depth + 1));
            }
        }
    }
    for (file, set) in reached.into_iter().enumerate() {
        if set.iter().any(Option::is_some) {
            out[file] = Some(set.into_iter().collect());
        }
    }
    out
}

fn read(file: &LoadedFile) -> Option<Kustomization<'_>> {
    let dir = file.source.path.as_deref()?.parent()?.to_owned();
    let root = file.documents.first()?.root();
    let namespace = root.get("namespace").and_then(|n| n.scalar()).filter(|n| !n.is_empty() && !n.contains("{{"));
    let list = |key: &str| root.get(key).into_iter().flat_map(NodeRef::items).filter_map(|i| i.scalar());
    let entries = list("resources")
        .chain(list("bases"))
        .chain(list("components"))
        .filter(|e| !e.contains("://") && !e.starts_with("github.com/"))
        .map(|e| dir.join(e))
        .collect();
    Some(Kustomization { dir, namespace, entries })
}
