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

use rayon::prelude::*;

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
    /// Patch files, in the order kustomize applies them, with the target they name.
    patches: Vec<(PathBuf, Option<Target>)>,
    /// `kind: Component`: applied only through another kustomization's `components`.
    component: bool,
    /// Entries that name remote resources (a URL, `github.com/…`), which kustomize would
    /// fetch.
    remote: Vec<String>,
}

/// The object a patch names with `target:` (kind and name, when given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    pub kind: Option<String>,
    pub name: Option<String>,
}

/// A patch file of a kustomization tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    pub file: usize,
    pub target: Option<Target>,
}

/// What one kustomization reaches: every file of its tree (kustomization files,
/// resources, patches), its resource files, and its patches in the order kustomize
/// applies them (a base's before its overlay's).
#[derive(Debug, Clone, Default)]
pub struct Tree {
    pub files: Vec<usize>,
    pub resources: Vec<usize>,
    pub patches: Vec<Patch>,
    /// Remote resources any kustomization of the tree names.
    pub remote: Vec<String>,
}

/// The kustomization files that no other kustomization includes, by file index. A
/// component is never one: kustomize builds it only inside another kustomization.
#[must_use]
pub fn roots(files: &[LoadedFile]) -> Vec<usize> {
    let graph = Graph::new(files, &Idents::new(files));
    graph
        .kustomizations
        .iter()
        .enumerate()
        .filter(|(k, (_, kz))| !graph.is_base[*k] && !kz.component)
        .map(|(_, (f, _))| *f)
        .collect()
}

/// The trees of the kustomizations in files `roots`, in that order (the graph of the
/// run's kustomizations is built once for all of them).
#[must_use]
pub fn trees(files: &[LoadedFile], roots: &[usize]) -> Vec<Tree> {
    if roots.is_empty() {
        return Vec::new();
    }
    let graph = Graph::new(files, &Idents::new(files));
    roots
        .iter()
        .map(|&root| {
            let mut out = Tree::default();
            if let Some(start) = graph.kustomizations.iter().position(|(f, _)| *f == root) {
                walk(&graph, start, 0, &mut out);
            }
            out.files.sort_unstable();
            out.files.dedup();
            out
        })
        .collect()
}

/// Depth first, children before the kustomization that includes them, so that patches
/// come in the order they are applied.
fn walk(graph: &Graph<'_>, k: usize, depth: usize, out: &mut Tree) {
    if depth > graph.kustomizations.len() || out.files.contains(&graph.kustomizations[k].0) {
        return;
    }
    out.files.push(graph.kustomizations[k].0);
    out.remote.extend(graph.kustomizations[k].1.remote.iter().cloned());
    for &child in &graph.includes[k] {
        walk(graph, child, depth + 1, out);
    }
    for &file in &graph.resources[k] {
        out.files.push(file);
        out.resources.push(file);
    }
    for (path, target) in &graph.kustomizations[k].1.patches {
        if let Some(&file) = ident(path).and_then(|id| graph.by_ident.get(&id)) {
            out.files.push(file);
            out.patches.push(Patch { file, target: target.clone() });
        }
    }
}

/// The kustomizations of a run and what each includes.
struct Graph<'a> {
    /// (file index, kustomization), for every kustomization file that parses.
    kustomizations: Vec<(usize, Kustomization<'a>)>,
    /// Files by device and inode.
    by_ident: HashMap<crate::load::Ident, usize>,
    /// Kustomizations each includes (by position in `kustomizations`).
    includes: Vec<Vec<usize>>,
    /// Resource files each names.
    resources: Vec<Vec<usize>>,
    is_base: Vec<bool>,
}

impl<'a> Graph<'a> {
    fn new(files: &'a [LoadedFile], idents: &Idents<'_>) -> Self {
        let kustomizations: Vec<(usize, Kustomization<'_>)> = files
            .iter()
            .enumerate()
            .filter(|(_, f)| f.source.path.as_deref().is_some_and(is_kustomization))
            .filter_map(|(i, f)| Some((i, read(f)?)))
            .collect();
        let by_ident: HashMap<crate::load::Ident, usize> =
            idents.all().iter().enumerate().filter_map(|(i, id)| Some((*id.as_ref()?, i))).collect();
        let by_dir: HashMap<crate::load::Ident, usize> =
            kustomizations.iter().enumerate().filter_map(|(k, (_, kz))| Some((ident(&kz.dir)?, k))).collect();
        let mut includes: Vec<Vec<usize>> = vec![Vec::new(); kustomizations.len()];
        let mut resources: Vec<Vec<usize>> = vec![Vec::new(); kustomizations.len()];
        let mut is_base = vec![false; kustomizations.len()];
        for (k, (_, kz)) in kustomizations.iter().enumerate() {
            for entry in &kz.entries {
                let Some(id) = ident(entry) else { continue };
                if let Some(&child) = by_dir.get(&id) {
                    includes[k].push(child);
                    is_base[child] = true;
                } else if let Some(&file) = by_ident.get(&id) {
                    resources[k].push(file);
                }
                // Anything else (a folder without a kustomization, a file not read)
                // kustomize refuses or meshlint cannot place: nothing to do.
            }
        }
        Self { kustomizations, by_ident, includes, resources, is_base }
    }
}

/// A file's or folder's device and inode (through links): the same whatever the path
/// to it. One `stat`, where resolving the path (`realpath`) reads each of its links and
/// cost more than the rest of the kustomization passes.
pub(crate) fn ident(path: &Path) -> Option<crate::load::Ident> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// The device and inode of each file of a run, found once (in parallel, kept in file
/// order) when first asked: the kustomization graph and the patch files of the index both
/// match paths to files by them.
pub struct Idents<'a> {
    files: &'a [LoadedFile],
    all: std::sync::OnceLock<Vec<Option<crate::load::Ident>>>,
}

impl<'a> Idents<'a> {
    #[must_use]
    pub fn new(files: &'a [LoadedFile]) -> Self {
        Self { files, all: std::sync::OnceLock::new() }
    }

    /// Each file's, by file index (`None` for one not on disk or gone).
    pub fn all(&self) -> &[Option<crate::load::Ident>] {
        self.all.get_or_init(|| {
            // A file read this run was looked at as it was read.
            let look = |f: &LoadedFile| f.ident.or_else(|| f.source.path.as_deref().and_then(ident));
            self.files.par_iter().map(look).collect()
        })
    }
}

/// For each file, the namespaces kustomizations give its objects: `None` when no applied
/// kustomization that sets a namespace reaches it (the objects keep their own), else the
/// sorted set of what each path through the kustomizations gives (`None` in the set: a
/// path that sets no namespace).
#[must_use]
pub fn namespaces<'a>(files: &'a [LoadedFile], idents: &Idents<'_>) -> Vec<Option<Vec<Option<&'a str>>>> {
    let mut out = vec![None; files.len()];
    // (A file without documents, a stub of the context cache among them, lists nothing.)
    if !files.iter().any(|f| !f.documents.is_empty() && f.source.path.as_deref().is_some_and(is_kustomization)) {
        return out;
    }
    let graph = Graph::new(files, idents);
    let kustomizations = &graph.kustomizations;
    if kustomizations.iter().all(|(_, k)| k.namespace.is_none()) {
        return out;
    }
    let mut reached: Vec<BTreeSet<Option<&str>>> = vec![BTreeSet::new(); files.len()];
    // What a kustomization gives depends only on the namespace it is reached with: each
    // pair is walked once, however many paths lead to it (overlays sharing bases in
    // layers make paths exponential in number), and a cycle (kustomize's error) ends.
    let mut walked: crate::model::HashSet<(usize, Option<&str>)> = crate::model::HashSet::default();
    for root in (0..kustomizations.len()).filter(|k| !graph.is_base[*k]) {
        let mut stack = vec![(root, kustomizations[root].1.namespace)];
        while let Some((k, namespace)) = stack.pop() {
            if !walked.insert((k, namespace)) {
                continue;
            }
            for &file in &graph.resources[k] {
                reached[file].insert(namespace);
            }
            for &child in &graph.includes[k] {
                stack.push((child, namespace.or(kustomizations[child].1.namespace)));
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
    let is_remote = |e: &str| e.contains("://") || e.starts_with("github.com/") || e.starts_with("git@");
    let remote = list("resources").chain(list("bases")).chain(list("components")).filter(|e| is_remote(e));
    let remote = remote.map(str::to_owned).collect();
    let entries = list("resources")
        .chain(list("bases"))
        .chain(list("components"))
        .filter(|e| !is_remote(e))
        .map(|e| dir.join(e))
        .collect();
    let target = |node: Option<NodeRef<'_>>| {
        node.map(|t| Target {
            kind: t.get("kind").and_then(|k| k.scalar()).map(str::to_owned),
            name: t.get("name").and_then(|k| k.scalar()).map(str::to_owned),
        })
    };
    let mut patches: Vec<(PathBuf, Option<Target>)> =
        list("patchesStrategicMerge").map(|p| (dir.join(p), None)).collect();
    for key in ["patchesJson6902", "patches"] {
        for item in root.get(key).into_iter().flat_map(NodeRef::items) {
            if let Some(path) = item.get("path").and_then(|p| p.scalar()) {
                patches.push((dir.join(path), target(item.get("target"))));
            }
        }
    }
    let component = root.get("kind").and_then(|k| k.scalar()) == Some("Component");
    Some(Kustomization { dir, namespace, entries, patches, component, remote })
}
