//! Kubernetes objects over the YAML tree: identity, the uniform pod-template view of
//! workloads, the Service view, and the index across all files that cross-file rules
//! query. Shared helpers for rules live here, not in the rules.

use std::collections::BTreeMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A small, fast, non-cryptographic hasher (the Fx hash of rustc) for the index's maps
/// of short keys built on every run; inputs are files, not adversaries.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0.rotate_left(5) ^ n as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FxHasher>>;
pub(crate) type HashSet<K> = std::collections::HashSet<K, BuildHasherDefault<FxHasher>>;
use std::ops::Range;

use crate::diag::ObjectRef;
use crate::load::LoadedFile;
use crate::source::FileId;
use crate::yaml::NodeRef;

/// Kinds whose pod template sits at `spec.template`.
const TEMPLATE_KINDS: &[&str] =
    &["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"];

/// One Kubernetes object: a document, or an item of a `kind: List`.
#[derive(Debug, Clone)]
pub struct Object<'a> {
    pub file: FileId,
    /// Index of the document within its file.
    pub doc: usize,
    /// The object's mapping.
    pub node: NodeRef<'a>,
    pub api_version: &'a str,
    pub kind: &'a str,
    pub name: Option<&'a str>,
    /// `metadata.generateName`, for objects the API server names.
    pub generate_name: Option<&'a str>,
    /// `metadata.namespace` as written.
    pub namespace: Option<&'a str>,
    /// Where the object will live: `metadata.namespace`, else the default namespace.
    pub effective_namespace: &'a str,
    /// A patch or fragment (kustomize patch, `$patch` directive), not a whole object.
    pub partial: bool,
    /// The kustomize overlay whose build this object comes from: objects of two
    /// overlays (two variants of one base, applied to different places) never meet.
    pub variant: Option<usize>,
    /// `apiVersion` is missing (`api_version` is empty): a mistake `kubectl apply`
    /// rejects; the object is still checked.
    pub missing_api_version: bool,
    /// The pod template, for kinds that have one.
    template: Option<PodTemplate<'a>>,
    /// `metadata.annotations`, when a mapping.
    annotations: Option<NodeRef<'a>>,
}

impl<'a> Object<'a> {
    /// The span of `kind`'s value: the fallback position for findings about the object.
    #[must_use]
    pub fn kind_span(&self) -> Range<usize> {
        self.node.get("kind").map_or_else(|| self.node.span(), |n| n.span())
    }

    #[must_use]
    pub fn metadata(&self) -> Option<NodeRef<'a>> {
        self.node.get("metadata")
    }

    /// The span of `metadata.name`'s value, else of `kind`.
    #[must_use]
    pub fn name_span(&self) -> Range<usize> {
        self.node.path(&["metadata", "name"]).map_or_else(|| self.kind_span(), |n| n.span())
    }

    #[must_use]
    pub fn annotations(&self) -> Option<NodeRef<'a>> {
        self.annotations
    }

    #[must_use]
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef {
            api_version: self.api_version.to_owned(),
            kind: self.kind.to_owned(),
            namespace: self.namespace.map(str::to_owned),
            name: self.name.map(str::to_owned),
        }
    }

    /// `Kind/name`, for messages.
    #[must_use]
    pub fn display_name(&self) -> String {
        format!("{}/{}", self.kind, self.shown_name())
    }

    /// The name as people should read it: `metadata.name`, else `<generateName>…` for an
    /// object the API server names, else `<unnamed>`.
    #[must_use]
    pub fn shown_name(&self) -> String {
        match (self.name, self.generate_name) {
            (Some(name), _) => name.to_owned(),
            (None, Some(prefix)) => format!("{prefix}…"),
            (None, None) => "<unnamed>".to_owned(),
        }
    }

    /// The identity that makes two definitions the same object.
    #[must_use]
    pub fn identity(&self) -> (&'a str, &'a str, &'a str, Option<usize>) {
        (self.kind, self.effective_namespace, self.name.unwrap_or(""), self.variant)
    }

    /// Whether two objects can meet in one cluster: not from two different overlays.
    #[must_use]
    pub fn meets(&self, other: &Object<'_>) -> bool {
        self.variant.is_none() || other.variant.is_none() || self.variant == other.variant
    }
}

/// The pod template of a workload (or a bare Pod), uniform across kinds. Its parts are
/// looked up once, when the object is read, since every rule asks for them.
#[derive(Debug, Clone, Copy)]
pub struct PodTemplate<'a> {
    /// The mapping holding `metadata` and `spec` of the pod.
    pub node: NodeRef<'a>,
    metadata: Option<NodeRef<'a>>,
    labels: Option<NodeRef<'a>>,
    annotations: Option<NodeRef<'a>>,
    spec: Option<NodeRef<'a>>,
}

impl<'a> PodTemplate<'a> {
    /// The template of an object, when its kind has one.
    #[must_use]
    pub fn of(object: &Object<'a>) -> Option<Self> {
        object.template
    }

    /// Read the template of an object of `kind` whose mapping is `object`.
    fn read(object: NodeRef<'a>, kind: &str) -> Option<Self> {
        let node = match kind {
            "Pod" => object,
            "CronJob" => object.path(&["spec", "jobTemplate", "spec", "template"])?,
            k if TEMPLATE_KINDS.contains(&k) => object.path(&["spec", "template"])?,
            _ => return None,
        };
        if !node.is_map() {
            return None;
        }
        let metadata = node.get("metadata");
        Some(Self {
            node,
            metadata,
            labels: metadata.and_then(|m| m.get("labels")).filter(NodeRef::is_map),
            annotations: metadata.and_then(|m| m.get("annotations")).filter(NodeRef::is_map),
            spec: node.get("spec").filter(NodeRef::is_map),
        })
    }

    #[must_use]
    pub fn metadata(&self) -> Option<NodeRef<'a>> {
        self.metadata
    }

    #[must_use]
    pub fn labels(&self) -> Option<NodeRef<'a>> {
        self.labels
    }

    /// Where to point a finding about the pod's labels: the labels, else the pod's
    /// metadata, else the template itself.
    #[must_use]
    pub fn labels_span(&self) -> Range<usize> {
        self.labels().or_else(|| self.metadata()).unwrap_or(self.node).span()
    }

    /// The value of a label, when it is a string.
    #[must_use]
    pub fn label(&self, key: &str) -> Option<&'a str> {
        self.labels()?.get(key)?.scalar()
    }

    #[must_use]
    pub fn annotations(&self) -> Option<NodeRef<'a>> {
        self.annotations
    }

    #[must_use]
    pub fn spec(&self) -> Option<NodeRef<'a>> {
        self.spec
    }

    /// Containers (`spec.containers`), in order.
    pub fn containers(&self) -> impl Iterator<Item = NodeRef<'a>> + 'a {
        self.spec().and_then(|s| s.get("containers")).into_iter().flat_map(super::yaml::NodeRef::items)
    }

    pub fn init_containers(&self) -> impl Iterator<Item = NodeRef<'a>> + 'a {
        self.spec().and_then(|s| s.get("initContainers")).into_iter().flat_map(super::yaml::NodeRef::items)
    }
}

/// A port of a Service.
#[derive(Debug, Clone, Copy)]
pub struct ServicePort<'a> {
    pub node: NodeRef<'a>,
    pub name: Option<NodeRef<'a>>,
    pub protocol: Option<NodeRef<'a>>,
    pub port: Option<NodeRef<'a>>,
    pub target_port: Option<NodeRef<'a>>,
    pub app_protocol: Option<NodeRef<'a>>,
}

impl<'a> ServicePort<'a> {
    fn of(node: NodeRef<'a>) -> Self {
        Self {
            node,
            name: node.get("name").filter(|n| !n.is_null()),
            protocol: node.get("protocol").filter(|n| !n.is_null()),
            port: node.get("port"),
            target_port: node.get("targetPort"),
            app_protocol: node.get("appProtocol").filter(|n| !n.is_null()),
        }
    }

    /// The transport protocol: `TCP` unless written otherwise.
    #[must_use]
    pub fn protocol(&self) -> &'a str {
        self.protocol.and_then(|p| p.scalar()).unwrap_or("TCP")
    }

    /// The name, when present and non-empty.
    #[must_use]
    pub fn name(&self) -> Option<&'a str> {
        self.name.and_then(|n| n.scalar()).filter(|n| !n.is_empty())
    }

    /// Where to point a finding about this port: its name, else its port number.
    #[must_use]
    pub fn span(&self) -> Range<usize> {
        self.name.or(self.port.filter(|p| !p.is_null())).unwrap_or(self.node).span()
    }
}

/// The Service view.
#[derive(Debug, Clone)]
pub struct Service<'a> {
    pub node: NodeRef<'a>,
    pub service_type: Option<&'a str>,
    /// `spec.selector` when it is a non-empty mapping.
    pub selector: Option<NodeRef<'a>>,
    pub ports: Vec<ServicePort<'a>>,
}

impl<'a> Service<'a> {
    #[must_use]
    pub fn of(object: &Object<'a>) -> Option<Self> {
        if object.kind != "Service" {
            return None;
        }
        let spec = object.node.get("spec");
        let ports =
            spec.and_then(|s| s.get("ports")).into_iter().flat_map(super::yaml::NodeRef::items).filter(NodeRef::is_map);
        Some(Self {
            node: object.node,
            service_type: spec.and_then(|s| s.get("type")).and_then(|t| t.scalar()),
            selector: selector_of(spec),
            ports: ports.map(ServicePort::of).collect(),
        })
    }

    /// A Service's selector pairs, without reading the rest of it (`None` for another
    /// kind).
    fn selector_pairs_of(object: &Object<'a>) -> Option<impl Iterator<Item = (&'a str, &'a str)> + 'a> {
        (object.kind == "Service").then(|| pairs_of(selector_of(object.node.get("spec"))))
    }

    /// The selector's pairs (`key`, `value`), values as written.
    pub fn selector_pairs(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        pairs_of(self.selector)
    }
}

/// A Service's selector: a mapping with an entry.
fn selector_of(spec: Option<NodeRef<'_>>) -> Option<NodeRef<'_>> {
    spec.and_then(|s| s.get("selector")).filter(|s| s.is_map() && s.entries().next().is_some())
}

/// A selector's pairs (`key`, `value`), values as written; pairs that are not two
/// scalars are left out.
fn pairs_of(selector: Option<NodeRef<'_>>) -> impl Iterator<Item = (&str, &str)> + '_ {
    selector.into_iter().flat_map(NodeRef::entries).filter_map(|(k, v)| Some((k.scalar()?, v.scalar()?)))
}

/// Options that decide how ob#[derive(Debug, Clone, Default)]
pub struct ModelOptions {
    /// Namespace of objects that name none.
    pub namespace: String,
    /// The configuration's `namespaces:` map: the namespace by path.
    pub path_namespaces: crate::paths::PathNamespaces,
}

impl ModelOptions {
    /// Objects that name no namespace are in `namespace`.
    #[must_use]
    pub fn new(namespace: impl Into<String>) -> Self {
        Self { namespace: namespace.into(), path_namespaces: crate::paths::PathNamespaces::default() }
    }

    /// The namespace of a file's objects that name none: the path map's, else the
    /// default.
    fn default_namespace(&self, file: &LoadedFile) -> &str {
        let by_path = file.source.path.as_deref().and_then(|p| self.path_namespaces.namespace_of(p));
        by_path.unwrap_or(&self.namespace)
    }
}

/// Workload definitions by (namespace, pod label, value).
type LabelIndex<'a> = HashMap<(&'a str, &'a str, &'a str), Vec<usize>>;

/// All objects of a run, indexed.
#[derive(Debug)]
pub struct Index<'a> {
    /// The files the objects come from.
    pub files: &'a [LoadedFile],
    pub objects: Vec<Object<'a>>,
    /// Object indices per effective namespace.
    pub by_namespace: BTreeMap<&'a str, Vec<usize>>,
    /// Documents read, objects or not.
    pub documents: usize,
    /// Objects skipped as templates of another tool (Jinja, Ansible): a `{{` in their
    /// name, namespace, labels, annotations or selector. The file and where the `{{` is.
    pub templates: Vec<(FileId, Range<usize>)>,
    /// For each object, the group of definitions of its identity (file order); the first
    /// whole definition of a group is the canonical one. Partial objects are alone.
    group_of: Vec<usize>,
    groups: Vec<Vec<usize>>,
    selection: Selection<'a>,
    /// Workloads by (namespace, pod label, value), built when first asked for.
    by_label: std::sync::OnceLock<LabelIndex<'a>>,
}

/// Services by selector, for finding which Services select a pod template in time
/// proportional to the template's labels, not to the number of Services.
#[derive(Debug, Default)]
struct Selection<'a> {
    /// (namespace, key, value) of each Service's least common selector pair.
    by_pair: HashMap<(&'a str, &'a str, &'a str), Vec<usize>>,
    /// Each Service definition's selector pairs.
    selectors: HashMap<usize, Vec<(&'a str, &'a str)>>,
}

impl<'a> Index<'a> {
    /// Build the index of every object in `files`, in file and document order.
    #[must_use]
    pub fn build(files: &'a [LoadedFile], options: &'a ModelOptions) -> Self {
        use rayon::prelude::*;
        let documents = files.iter().map(|f| f.documents.len()).sum();
        // Files in parallel; the result keeps file and document order.
        let idents = crate::kustomize::Idents::new(files);
        let kustomized = crate::kustomize::namespaces(files, &idents);
        let found: Vec<Found<'a>> = files
            .par_iter()
            .enumerate()
            .map(|(file_id, file)| {
                let mut out = Found::default();
                // A rendered chart's or overlay's own files: their objects are the
                // rendered ones. A file with no documents (a stub of the context cache)
                // has none.
                if file.consumed || file.documents.is_empty() {
                    return out;
                }
                let default_ns = options.default_namespace(file);
                for (doc_id, doc) in file.documents.iter().enumerate() {
                    collect_objects(doc.root(), file_id, doc_id, default_ns, &mut out);
                }
                // Where kustomizations put the file's objects: one object per namespace.
                if let Some(namespaces) = &kustomized[file_id] {
                    out.objects = out.objects.into_iter().flat_map(|o| place(o, namespaces, default_ns)).collect();
                }
                if let Some(r) = file.rendered.as_ref().filter(|r| r.tool == crate::rendering::Tool::Kustomize) {
                    for o in &mut out.objects {
                        o.variant = Some(r.rendering);
                    }
                }
                out
            })
            .collect();
        let mut objects = Vec::with_capacity(found.iter().map(|f| f.objects.len()).sum());
        let mut templates = Vec::new();
        for f in found {
            objects.extend(f.objects);
            templates.extend(f.templates);
        }
        let mut by_namespace: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, o) in objects.iter().enumerate() {
            by_namespace.entry(o.effective_namespace).or_default().push(i);
        }
        mark_kustomize_patches(files, &idents, &mut objects);
        let (group_of, groups) = group_identities(&objects);
        let mut index = Self {
            files,
            objects,
            by_namespace,
            documents,
            templates,
            group_of,
            groups,
            selection: Selection::default(),
            by_label: std::sync::OnceLock::new(),
        };
        index.selection = Selection::build(&index);
        index
    }

    /// Whether the object is the definition that stands for its identity: whole, and the
    /// first of its identity in file order.
    #[must_use]
    pub fn is_canonical(&self, object: usize) -> bool {
        !self.objects[object].partial && self.groups[self.group_of[object]][0] == object
    }

    /// The other definitions of the same object, in file order.
    pub fn other_definitions(&self, object: usize) -> impl Iterator<Item = usize> + '_ {
        self.groups[self.group_of[object]].iter().copied().filter(move |&o| o != object)
    }

    /// Canonical objects, in index order.
    pub fn canonical(&self) -> impl Iterator<Item = (usize, &Object<'a>)> + '_ {
        self.objects.iter().enumerate().filter(|(i, _)| self.is_canonical(*i))
    }

    /// The Services whose selector matches the labels of `workload`'s pod template, in
    /// its namespace, in index order. A Service defined in several files is judged by
    /// its definition nearest to the workload's (same file, then same folder, then the
    /// nearest common folder), so an unrelated copy elsewhere neither adds nor hides one.
    #[must_use]
    pub fn selecting_services(&self, workload: usize, template: &PodTemplate<'a>) -> Vec<usize> {
        let object = &self.objects[workload];
        let namespace = object.effective_namespace;
        let labels: Vec<(&str, &str)> = template
            .labels()
            .into_iter()
            .flat_map(NodeRef::entries)
            .filter_map(|(k, v)| Some((k.scalar()?, v.scalar()?)))
            .collect();
        let mut found: Vec<usize> = labels
            .iter()
            .filter_map(|&(k, v)| self.selection.by_pair.get(&(namespace, k, v)))
            .flatten()
            .copied()
            .filter(|s| self.selection.selectors[s].iter().all(|pair| labels.contains(pair)))
            .filter(|&s| self.objects[s].meets(object))
            .filter(|&s| self.nearest_definition(s, object.file) == s)
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    /// The workload definitions whose pods `service`'s selector matches, in its
    /// namespace, in index order.
    #[must_use]
    pub fn selected_workloads(&self, service: usize) -> Vec<usize> {
        let object = &self.objects[service];
        let Some(pairs) = self.selection.selectors.get(&service) else { return Vec::new() };
        let by_label = self.by_label.get_or_init(|| {
            let mut map: HashMap<(&str, &str, &str), Vec<usize>> = HashMap::default();
            for (i, template) in self.workloads().filter(|(i, _)| !self.objects[*i].partial) {
                let ns = self.objects[i].effective_namespace;
                for (k, v) in template.labels().into_iter().flat_map(NodeRef::entries) {
                    if let (Some(k), Some(v)) = (k.scalar(), v.scalar()) {
                        map.entry((ns, k, v)).or_default().push(i);
                    }
                }
            }
            map
        });
        let ns = object.effective_namespace;
        let Some(&(k, v)) = pairs.first() else { return Vec::new() };
        let mut found: Vec<usize> = by_label
            .get(&(ns, k, v))
            .into_iter()
            .flatten()
            .copied()
            .filter(|&w| self.objects[w].meets(object))
            .filter(|&w| {
                let template = self.objects[w].template.expect("a workload");
                pairs.iter().all(|&(k, v)| template.label(k) == Some(v))
            })
            .collect();
        found.dedup();
        found
    }

    /// Of the definitions of `object`'s identity, the one nearest to file `file`.
    #[must_use]
    pub fn nearest_definition(&self, object: usize, file: FileId) -> usize {
        let group = &self.groups[self.group_of[object]];
        if group.len() == 1 {
            return object;
        }
        let name = |f: FileId| self.files[f].source.name.as_str();
        group
            .iter()
            .copied()
            .filter(|&d| !self.objects[d].partial)
            .min_by_key(|&d| (path_distance(name(self.objects[d].file), name(file)), d))
            .unwrap_or(object)
    }

    /// Objects with a pod template, with that template.
    pub fn workloads(&self) -> impl Iterator<Item = (usize, PodTemplate<'a>)> + '_ {
        self.objects.iter().enumerate().filter_map(|(i, o)| Some((i, PodTemplate::of(o)?)))
    }

    pub fn services(&self) -> impl Iterator<Item = (usize, Service<'a>)> + '_ {
        self.objects.iter().enumerate().filter_map(|(i, o)| Some((i, Service::of(o)?)))
    }
}

impl<'a> Selection<'a> {
    fn build(index: &Index<'a>) -> Self {
        use rayon::prelude::*;
        // Each Service definition's selector pairs, in object order (in parallel: reading
        // them is most of the work).
        let found: Vec<(usize, Vec<(&'a str, &'a str)>)> = index
            .objects
            .par_iter()
            .enumerate()
            .with_min_len(256)
            .filter(|(_, o)| !o.partial)
            .filter_map(|(i, o)| {
                let pairs: Vec<_> = Service::selector_pairs_of(o)?.collect();
                (!pairs.is_empty()).then_some((i, pairs))
            })
            .collect();
        let mut frequency: HashMap<(&str, &str, &str), usize> =
            HashMap::with_capacity_and_hasher(found.len(), std::hash::BuildHasherDefault::default());
        for (i, pairs) in &found {
            for &(k, v) in pairs {
                *frequency.entry((index.objects[*i].effective_namespace, k, v)).or_default() += 1;
            }
        }
        let mut by_pair: HashMap<_, Vec<usize>> = HashMap::default();
        for (i, pairs) in &found {
            let ns = index.objects[*i].effective_namespace;
            let rarest = pairs
                .iter()
                .min_by_key(|&&(k, v)| (frequency[&(ns, k, v)], k, v))
                .copied()
                .expect("non-empty selector");
            by_pair.entry((ns, rarest.0, rarest.1)).or_default().push(*i);
        }
        Self { by_pair, selectors: found.into_iter().collect() }
    }
}

/// How far apart two files are: 0 for the same file, 1 in the same folder, else the
/// folders between them through their nearest common folder, plus one.
fn path_distance(a: &str, b: &str) -> usize {
    if a == b {
        return 0;
    }
    let (fa, fb) = (folder(a.as_bytes()), folder(b.as_bytes()));
    let count = |f: Option<&[u8]>| f.map_or(0, |f| f.iter().filter(|&&c| is_separator(c)).count() + 1);
    let common = match (fa, fb) {
        (Some(da), Some(db)) => {
            da.split(|&c| is_separator(c)).zip(db.split(|&c| is_separator(c))).take_while(|(x, y)| x == y).count()
        }
        _ => 0,
    };
    count(fa) - common + count(fb) - common + 1
}

/// The folder of a path: all before its last separator (none for a bare name), its
/// components split at either separator. Bytes, not chars: both separators are ASCII,
/// and this runs for every pair of a workload and a Service defined in several files.
fn folder(path: &[u8]) -> Option<&[u8]> {
    path.iter().rposition(|&c| is_separator(c)).map(|i| &path[..i])
}

fn is_separator(c: u8) -> bool {
    matches!(c, b'/' | b'\\')
}

/// Group definitions of one identity (kind, namespace, name); partial and unnamed
/// objects stand alone.
fn group_identities(objects: &[Object<'_>]) -> (Vec<usize>, Vec<Vec<usize>>) {
    let mut groups: Vec<Vec<usize>> = Vec::with_capacity(objects.len());
    let mut by_identity = HashMap::with_capacity_and_hasher(objects.len(), std::hash::BuildHasherDefault::default());
    let mut group_of = Vec::with_capacity(objects.len());
    for (i, o) in objects.iter().enumerate() {
        let group = if o.partial || o.name.is_none() { None } else { by_identity.get(&o.identity()).copied() };
        let group = group.unwrap_or_else(|| {
            groups.push(Vec::new());
            if !o.partial && o.name.is_some() {
                by_identity.insert(o.identity(), groups.len() - 1);
            }
            groups.len() - 1
        });
        groups[group].push(i);
        group_of.push(group);
    }
    (group_of, groups)
}

/// Files that a kustomization names as patches hold fragments, not whole objects.
fn mark_kustomize_patches(files: &[LoadedFile], idents: &crate::kustomize::Idents<'_>, objects: &mut [Object<'_>]) {
    let mut patch_files = std::collections::HashSet::new();
    for file in files.iter().filter(|f| !f.documents.is_empty()) {
        let Some(path) = &file.source.path else { continue };
        let Some(dir) = path.parent().filter(|_| crate::kustomize::is_kustomization(path)) else { continue };
        for doc in &file.documents {
            let root = doc.root();
            let listed = ["patchesStrategicMerge", "patches", "patchesJson6902"]
                .iter()
                .filter_map(|k| root.get(k))
                .flat_map(NodeRef::items)
                .filter_map(|item| item.scalar().or_else(|| item.get("path").and_then(|p| p.scalar())));
            patch_files.extend(listed.filter_map(|rel| crate::kustomize::ident(&dir.join(rel))));
        }
    }
    if patch_files.is_empty() {
        return;
    }
    let idents = idents.all();
    for object in objects {
        if idents[object.file].is_some_and(|id| patch_files.contains(&id)) {
            object.partial = true;
        }
    }
}

/// What a file yields: its objects, and the objects skipped as templates (where the
/// `{{` is).
#[derive(Default)]
struct Found<'a> {
    objects: Vec<Object<'a>>,
    templates: Vec<(FileId, Range<usize>)>,
}

impl<'a> Found<'a> {
    fn push(&mut self, object: Object<'a>) {
        match template_expression(&object) {
            Some(at) => self.templates.push((object.file, at)),
            None => self.objects.push(object),
        }
    }
}

fn collect_objects<'a>(root: NodeRef<'a>, file: FileId, doc: usize, default_ns: &'a str, out: &mut Found<'a>) {
    let Some(mut object) = object_of(root, file, doc, default_ns) else {
        return;
    };
    // One walk per document: a `$patch` anywhere makes the document a fragment.
    object.partial = has_patch_directive(root);
    let is_list =
        object.kind == "List" || object.kind.ends_with("List") && object.node.get("items").is_some_and(|i| i.is_seq());
    if is_list {
        for item in object.node.get("items").into_iter().flat_map(super::yaml::NodeRef::items) {
            if let Some(mut o) = object_of(item, file, doc, default_ns) {
                o.partial = object.partial;
                out.push(o);
            }
        }
        return;
    }
    out.push(object);
}

/// A namespaced object in each namespace kustomizations give it (`None`: its own).
fn place<'a>(object: Object<'a>, namespaces: &[Option<&'a str>], default_ns: &'a str) -> Vec<Object<'a>> {
    if crate::kustomize::CLUSTER_SCOPED.contains(&object.kind) {
        return vec![object];
    }
    namespaces
        .iter()
        .map(|ns| {
            let mut copy = object.clone();
            copy.effective_namespace = ns.unwrap_or(object.namespace.unwrap_or(default_ns));
            copy
        })
        .collect()
}

/// Where an object is a template of another tool than Helm (Jinja, Ansible,
/// `envsubst`-like tools): a `{{` in its identity or its selection, which no API server
/// accepts and which no rule can judge.
fn template_expression<'a>(object: &Object<'a>) -> Option<Range<usize>> {
    let templated = |n: NodeRef<'a>| n.scalar().is_some_and(|s| s.contains("{{")).then(|| n.span());
    let metadata = object.metadata();
    let mut places: Vec<NodeRef<'a>> = Vec::new();
    places.extend(metadata.and_then(|m| m.get("name")));
    places.extend(metadata.and_then(|m| m.get("namespace")));
    let values = |m: Option<NodeRef<'a>>| m.into_iter().flat_map(|m| m.entries().map(|(_, v)| v)).collect::<Vec<_>>();
    for key in ["labels", "annotations"] {
        places.extend(values(metadata.and_then(|m| m.get(key))));
    }
    if let Some(template) = object.template {
        places.extend(values(template.labels()));
        places.extend(values(template.annotations()));
    }
    places.extend(values(object.node.path(&["spec", "selector"])));
    places.extend(values(object.node.path(&["spec", "selector", "matchLabels"])));
    places.into_iter().find_map(templated)
}

/// An object when the mapping has string `apiVersion` and `kind`; or `kind` and a named
/// `metadata` without `apiVersion` (a mistake, reported, but the object is checked).
fn object_of<'a>(node: NodeRef<'a>, file: FileId, doc: usize, default_ns: &'a str) -> Option<Object<'a>> {
    let kind = node.get("kind")?.scalar().filter(|s| !s.is_empty())?;
    let metadata = node.get("metadata");
    let name = metadata.and_then(|m| m.get("name")).and_then(|n| n.scalar()).filter(|n| !n.is_empty());
    let generate_name = metadata.and_then(|m| m.get("generateName")).and_then(|n| n.scalar()).filter(|n| !n.is_empty());
    // Without `apiVersion`, or with an empty one (`kubectl apply` rejects both), a named
    // object is still an object; kustomize's own files may leave `apiVersion` out.
    let unversioned = (name.is_some() || generate_name.is_some()) && !["Kustomization", "Component"].contains(&kind);
    let api_version = match node.get("apiVersion") {
        Some(v) if v.is_null() || v.scalar() == Some("") => unversioned.then_some("")?,
        Some(v) => v.scalar()?,
        None => unversioned.then_some("")?,
    };
    let namespace = metadata.and_then(|m| m.get("namespace")).and_then(|n| n.scalar()).filter(|n| !n.is_empty());
    Some(Object {
        file,
        doc,
        node,
        api_version,
        kind,
        name,
        generate_name,
        namespace,
        effective_namespace: namespace.unwrap_or(default_ns),
        partial: false,
        variant: None,
        missing_api_version: api_version.is_empty(),
        template: PodTemplate::read(node, kind),
        annotations: metadata.and_then(|m| m.get("annotations")).filter(NodeRef::is_map),
    })
}

/// Whether a `$patch` (or other `$`-directive) key appears anywhere in the object.
fn has_patch_directive(node: NodeRef<'_>) -> bool {
    // Fast path: no key of the document starts with `$` (recorded while parsing).
    if !node.document().has_dollar_key() {
        return false;
    }
    node.descendants().iter().any(|n| {
        n.entries()
            .any(|(k, _)| k.scalar().is_some_and(|k| k.starts_with("$patch") || k.starts_with("$setElementOrder")))
    })
}

/// The path from `root` to the deepest node holding byte `offset`, e.g.
/// `spec.ports[name=http].name`: list items are named by their `name` when they have one,
/// so the path survives edits that shift lines or reorder unrelated items.
#[must_use]
pub fn field_path(root: NodeRef<'_>, offset: usize) -> String {
    let mut path = String::new();
    let mut node = root;
    'descend: for _ in 0..crate::yaml::MAX_DEPTH {
        for (k, v) in node.entries() {
            let inside = |n: NodeRef<'_>| n.span().contains(&offset) || n.span().start == offset;
            if inside(k) || inside(v) {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k.scalar().unwrap_or("?"));
                if inside(k) && !inside(v) {
                    break 'descend;
                }
                node = v;
                continue 'descend;
            }
        }
        for (i, item) in node.items().enumerate() {
            if item.span().contains(&offset) || item.span().start == offset {
                match item.get("name").and_then(|n| n.scalar()) {
                    Some(name) => path.push_str(&format!("[name={name}]")),
                    None => path.push_str(&format!("[{i}]")),
                }
                node = item;
                continue 'descend;
            }
        }
        break;
    }
    path
}

#[cfg(test)]
mod tests {
    use super::path_distance;

    #[test]
    fn path_distance_counts_the_folders_between_two_files() {
        assert_eq!(path_distance("k8s/a.yaml", "k8s/a.yaml"), 0);
        // Same folder, bare names included.
        assert_eq!(path_distance("k8s/a.yaml", "k8s/b.yaml"), 1);
        assert_eq!(path_distance("a.yaml", "b.yaml"), 1);
        // Sibling folders: up one, down one.
        assert_eq!(path_distance("x/a.yaml", "y/b.yaml"), 3);
        // A file in a subfolder of the other's folder, either way round.
        assert_eq!(path_distance("x/y/a.yaml", "x/b.yaml"), 2);
        assert_eq!(path_distance("x/b.yaml", "x/y/z/a.yaml"), 3);
        assert_eq!(path_distance("a.yaml", "x/b.yaml"), 2);
        // Folders compared as whole components, both separators.
        assert_eq!(path_distance("app/a.yaml", "apps/b.yaml"), 3);
        assert_eq!(path_distance("x\\y\\a.yaml", "x/y/b.yaml"), 1);
        // An absolute path: the root is a component of its own.
        assert_eq!(path_distance("/a.yaml", "b.yaml"), 2);
    }
}
