//! The pipeline: walk the inputs, read and parse them in parallel, index the objects,
//! run the rules, sort. The result is the same whatever the thread count: files are
//! ordered by path before they get their ids, and diagnostics are sorted at the end.

use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rayon::prelude::*;

use crate::baseline;
use crate::config::{Config, Level};
use crate::diag::{Diagnostic, Severity};
use crate::istio::Profile;
use crate::istio::config::{self, Policy, Sourced};
use crate::istio::decide::{Engine, Mode};
use crate::istio::modern::{ModernConfig, Version};
use crate::load::{self, LoadedFile};
use crate::model::{Index, ModelOptions};
use crate::rules::{self, Context};
use crate::suppress;

/// Extensions picked when walking a directory.
pub const MANIFEST_EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

/// One input as named on the command line.
#[derive(Debug, Clone)]
pub enum Input {
    Path(PathBuf),
    /// Standard input, shown under this name.
    Stdin(String),
}

/// What a run reads and how it judges.
#[derive(Debug, Clone)]
pub struct Options {
    pub inputs: Vec<Input>,
    pub namespace: String,
    /// `None`: detect from the inputs.
    pub profile: Option<Profile>,
    /// Istio release of the modern profile (value parsing changed in 1.27).
    pub istio_version: Version,
    /// `--namespace-label NS:KEY=VALUE`: labels of namespaces not in the files.
    pub namespace_labels: Vec<(String, String, String)>,
    /// `--revision`: revisions and tags installed besides those found.
    pub revisions: Vec<String>,
    pub context: ContextMode,
    /// `--inject-config`: an `istio-inject` ConfigMap manifest or the bare config YAML.
    pub inject_config: Option<PathBuf>,
    /// `--policy`: overrides the configuration's policy.
    pub policy: Option<Policy>,
    /// The project configuration (`.meshlint.yaml`), already merged with the flags for
    /// namespace, profile and fail-on.
    pub config: Config,
    /// `--baseline`: report only findings not recorded in this file.
    pub baseline: Option<PathBuf>,
    /// `--write-baseline`: the baseline this run writes (never read as a manifest).
    pub write_baseline: Option<PathBuf>,
    /// helm and kustomize, for rendering charts and overlays (none by default).
    pub tools: crate::rendering::Tools,
    /// The context cache of pre-commit mode (off by default; `check` turns it on).
    pub cache: CacheMode,
}

/// Whether and where the context cache is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheMode {
    Off,
    /// `.meshlint_cache/` at the root of the context (the repository).
    Auto,
    /// This folder (`--cache-dir`).
    Dir(PathBuf),
}

impl Options {
    /// Options with defaults for everything but the inputs.
    #[must_use]
    pub fn new(inputs: Vec<Input>) -> Self {
        Self {
            inputs,
            namespace: "default".into(),
            profile: None,
            istio_version: Version::NEWEST,
            namespace_labels: Vec::new(),
            revisions: Vec::new(),
            context: ContextMode::Auto,
            inject_config: None,
            policy: None,
            config: Config::default(),
            baseline: None,
            write_baseline: None,
            tools: crate::rendering::Tools::default(),
            cache: CacheMode::Off,
        }
    }
}

/// Where cross-file rules look for the rest of the repository when only some files are
/// named (as a pre-commit hook does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextMode {
    /// The git repository enclosing the first named file, if any.
    Auto,
    /// This directory.
    Dir(PathBuf),
    /// Only the named inputs.
    Off,
}

/// A file to read: its display name and where its bytes come from.
#[derive(Debug, Clone)]
struct Entry {
    name: String,
    path: Option<PathBuf>,
    /// Named by the user (directly or through a directory), not only context.
    target: bool,
    /// Size and modification time, when `dedup` looked (for the context cache).
    stamp: Option<crate::cache::Stamp>,
    /// Device and inode, when known: from a kept walk, `dedup`'s look, or the read.
    ident: Option<load::Ident>,
}

/// Everything a run found.
#[derive(Debug)]
pub struct Report {
    /// The profile used, and why.
    pub profile: Profile,
    pub profile_reason: String,
    pub files: Vec<LoadedFile>,
    /// For each file, whether the user named it (else it was read as context only).
    pub targets: Vec<bool>,
    pub diagnostics: Vec<Diagnostic>,
    pub documents: usize,
    pub objects: usize,
    /// Failures of the tool itself (unreadable paths): exit status 2.
    pub errors: Vec<String>,
    /// The configuration file, read only for the positions of its mistakes.
    pub config_file: Option<usize>,
}

impl Report {
    /// Number of files the user named (directly or through a directory), meshlint's own
    /// configuration file aside.
    #[must_use]
    pub fn target_count(&self) -> usize {
        self.targets.iter().enumerate().filter(|&(i, &t)| t && Some(i) != self.config_file).count()
    }

    /// Number of files read only as context.
    #[must_use]
    pub fn context_count(&self) -> usize {
        self.targets.iter().filter(|&&t| !t).count()
    }

    /// The most severe diagnostic, if any.
    #[must_use]
    pub fn max_severity(&self) -> Option<Severity> {
        self.diagnostics.iter().map(|d| d.severity).max()
    }
}

/// Walk and read every input. Unreadable inputs become entries of `errors`.
pub fn read_inputs(inputs: &[Input], errors: &mut Vec<String>) -> Vec<LoadedFile> {
    let reading = Reading { config: &Config::default(), tools: &crate::rendering::Tools::default(), cache: None };
    read_with_context(inputs, None, &reading, &[], errors).0
}

/// How files are read: the configuration (excludes, rendering settings), the rendering
/// tools, and the context cache with the model options it places objects with.
struct Reading<'a> {
    config: &'a Config,
    tools: &'a crate::rendering::Tools,
    cache: Option<(&'a crate::cache::Setup, &'a ModelOptions)>,
}

/// Walk and read the inputs and, as context, the files under `context`. Returns the
/// files (sorted by name) and, for each, whether it is a target.
fn read_with_context(
    inputs: &[Input],
    context: Option<&Path>,
    reading: &Reading<'_>,
    own_files: &[PathBuf],
    errors: &mut Vec<String>,
) -> (Vec<LoadedFile>, Vec<bool>, Option<CacheState>) {
    let (config, tools) = (reading.config, reading.tools);
    let mut entries = Vec::new();
    let mut stdin_bytes = None;
    for input in inputs {
        match input {
            Input::Stdin(name) => {
                let mut bytes = Vec::new();
                match std::io::stdin().lock().take(READ_LIMIT).read_to_end(&mut bytes) {
                    Ok(_) => stdin_bytes = Some(bytes),
                    Err(e) => errors.push(format!("{name}: cannot read standard input: {e}")),
                }
                entries.push(Entry { name: name.clone(), path: None, target: true, stamp: None, ident: None });
            }
            Input::Path(path) => collect_path(path, &mut entries, errors, None),
        }
    }
    for e in &mut entries {
        e.target = true;
    }
    // With the context cache, the walk of the context folder as kept there, when
    // nothing it depends on changed; else a walk, kept for the next run.
    let mut store = None;
    let mut listing_changed = false;
    if let Some(dir) = context {
        let entry = |f: crate::listing::Found| Entry {
            name: display(&f.path),
            path: Some(f.path),
            target: false,
            stamp: Some(f.stamp),
            ident: Some(f.ident),
        };
        let kept = match reading.cache {
            Some((setup, _)) => {
                let (s, kept) = setup.open_checking(|l| l.check(dir, entry));
                store = Some(s);
                kept
            }
            None => None,
        };
        if let Some(found) = kept {
            entries.reserve(found.iter().map(Vec::len).sum());
            entries.extend(found.into_iter().flatten());
        } else {
            let started = std::time::SystemTime::now();
            let mut walk = store.is_some().then(crate::listing::Walk::default);
            let before = entries.len();
            collect_path(dir, &mut entries, errors, walk.as_mut());
            if let (Some(walk), Some(store)) = (walk, store.as_mut()) {
                let files: Vec<&Path> = entries[before..].iter().filter_map(|e| e.path.as_deref()).collect();
                let listing = crate::listing::Listing::record(dir, started, &walk, &files);
                listing_changed = listing != store.listing;
                store.listing = listing;
            }
        }
    }
    // One directory alone cannot name a file twice; only then is resolving paths skipped.
    if inputs.len() > 1 || context.is_some() {
        dedup(&mut entries);
    }
    if !config.exclude.is_empty() {
        let own = config.path.as_deref();
        entries.retain(|e| e.path.as_deref().is_none_or(|p| Some(p) == own || !config.excluded(p)));
    }
    // meshlint's own files are never manifests: configuration files (but the one in use,
    // read for the positions of its mistakes) and the baseline files of this run.
    let own_names: Vec<&std::ffi::OsStr> = own_files.iter().filter_map(|o| o.file_name()).collect();
    let own_canonical: Vec<PathBuf> = own_files.iter().filter_map(|p| std::fs::canonicalize(p).ok()).collect();
    let config_path = config.path.as_deref().and_then(|p| std::fs::canonicalize(p).ok());
    entries.retain(|e| {
        let Some(p) = e.path.as_deref() else { return true };
        let Some(name) = p.file_name() else { return true };
        let is_config = name == crate::config::FILE_NAME || name == ".meshlint.yml";
        if !is_config && !own_names.contains(&name) {
            return true;
        }
        let canonical = std::fs::canonicalize(p).ok();
        if is_config {
            return canonical.is_some() && canonical == config_path;
        }
        !canonical.is_some_and(|c| own_canonical.contains(&c))
    });
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    // Charts and overlays render while the files are read and parsed.
    let walked: Vec<crate::rendering::Walked<'_>> = entries
        .iter()
        .filter_map(|e| Some(crate::rendering::Walked { name: &e.name, path: e.path.as_deref()?, target: e.target }))
        .collect();
    let jobs = crate::rendering::plan(&walked, config, tools);
    drop(walked);
    // The cache serves runs that read context files, when no chart or overlay with a
    // named file in it is rendered (its files are then all read).
    let cache = reading.cache.filter(|_| entries.iter().any(|e| !e.target) && jobs.iter().all(|j| !j.target));
    std::thread::scope(|scope| {
        let rendering = (!jobs.is_empty()).then(|| scope.spawn(|| crate::rendering::render_all(&jobs, tools)));
        let (mut files, mut targets, state) = if let (Some((setup, model)), Some(store)) = (cache, store) {
            let (f, t, mut s) = read_cached(entries, stdin_bytes.as_deref(), errors, (setup, store), model);
            s.listing_changed = listing_changed;
            (f, t, Some(s))
        } else {
            let (f, t) = read_entries(entries, stdin_bytes.as_deref(), errors);
            (f, t, None)
        };
        if let Some(handle) = rendering {
            let outcomes = handle.join().unwrap_or_default();
            crate::rendering::attach(&mut files, &mut targets, &jobs, outcomes, tools);
        }
        (files, targets, state)
    })
}

/// Read and parse the entries, in parallel: the files (in entry order, ids their
/// positions) and for each whether it is a target.
fn read_entries(
    entries: Vec<Entry>,
    stdin_bytes: Option<&[u8]>,
    errors: &mut Vec<String>,
) -> (Vec<LoadedFile>, Vec<bool>) {
    let read: Vec<(Entry, Vec<u8>)> =
        read_bytes(entries, stdin_bytes, errors).into_iter().filter_map(|(e, b)| Some((e, b?))).collect();
    // Ids are positions among the files actually read.
    let targets = read.iter().map(|(e, _)| e.target).collect();
    let jobs: Vec<(usize, Entry, Vec<u8>)> = read.into_iter().enumerate().map(|(id, (e, b))| (id, e, b)).collect();
    let files = parse_jobs(jobs).into_iter().map(|(_, f)| f).collect();
    (files, targets)
}

/// Read the entries' bytes in parallel, in order; an entry that cannot be read is an
/// error, and has no bytes.
fn read_bytes(
    entries: Vec<Entry>,
    stdin_bytes: Option<&[u8]>,
    errors: &mut Vec<String>,
) -> Vec<(Entry, Option<Vec<u8>>)> {
    let errors_mutex = Mutex::new(std::mem::take(errors));
    let read: Vec<(Entry, Option<Vec<u8>>)> = entries
        .into_par_iter()
        .with_max_len(8)
        .map(|mut entry| {
            let bytes = match &entry.path {
                None => Some(stdin_bytes.map(<[u8]>::to_vec).unwrap_or_default()),
                Some(path) => match read_limited(path) {
                    Ok((bytes, ident)) => {
                        // The file read, whatever a walk saw there before.
                        entry.ident = ident.or(entry.ident);
                        Some(bytes)
                    }
                    Err(e) => {
                        errors_mutex.lock().expect("poisoned").push(format!("{}: {e}", entry.name));
                        None
                    }
                },
            };
            (entry, bytes)
        })
        .collect();
    *errors = errors_mutex.into_inner().expect("poisoned");
    errors.sort();
    read
}

/// Parse files with their ids, in parallel, returned in id order.
fn parse_jobs(mut jobs: Vec<(usize, Entry, Vec<u8>)>) -> Vec<(usize, LoadedFile)> {
    // One task per file, largest first: a few large files (CRDs) must not end up on one
    // thread at the end of the run. Ids stay the files' positions in name order.
    jobs.sort_by_key(|(id, _, bytes)| (std::cmp::Reverse(bytes.len()), *id));
    let mut loaded: Vec<(usize, LoadedFile)> = jobs
        .into_par_iter()
        .with_max_len(1)
        .map(|(id, entry, bytes)| {
            let mut file = load::load(id, entry.name, entry.path, bytes);
            file.ident = entry.ident;
            (id, file)
        })
        .collect();
    loaded.sort_unstable_by_key(|(id, _)| *id);
    loaded
}

/// What a run with the context cache read from it, for writing it back.
pub struct CacheState {
    pub setup: crate::cache::Setup,
    pub store: crate::cache::Store,
    /// Each file's stamp, by id (none for stdin and rendered output).
    pub stamps: Vec<Option<crate::cache::Stamp>>,
    /// The walk of the context folder was made anew, and differs from the one kept.
    pub listing_changed: bool,
    /// When the files were read: an entry of a file modified in the two seconds before
    /// is not kept (a change in the same tick of the file clock would not show).
    pub started: std::time::SystemTime,
}

/// Read the entries using the context cache: the named files, the global ones and those
/// the cache does not hold as they are now are parsed, then the cached files that bear
/// on the named objects (what relates to them, and what relates to that); the rest are
/// stubs that only count. Cold (everything parsed) when a global file changed, went or
/// came.
fn read_cached(
    entries: Vec<Entry>,
    stdin_bytes: Option<&[u8]>,
    errors: &mut Vec<String>,
    (setup, mut store): (&crate::cache::Setup, crate::cache::Store),
    model_options: &ModelOptions,
) -> (Vec<LoadedFile>, Vec<bool>, CacheState) {
    let started = std::time::SystemTime::now();
    let stamps: Vec<Option<crate::cache::Stamp>> = entries
        .par_iter()
        .with_min_len(64)
        .map(|e| e.stamp.or_else(|| e.path.as_deref().and_then(crate::cache::stamp)))
        .collect();
    // Entries are sorted by name.
    let warm = !store.is_empty()
        && store
            .globals_unchanged(|name| entries.binary_search_by(|e| e.name.as_str().cmp(name)).ok().map(|i| stamps[i]));
    // The entries of the files that stay stubs move out of the store (and back when it
    // is written).
    let cached: Vec<Option<Box<crate::cache::Entry>>> = entries
        .iter()
        .zip(&stamps)
        .map(|(e, &stamp)| (warm && !e.target && e.path.is_some()).then(|| store.take_fresh(&e.name, stamp)).flatten())
        .collect();
    // The others are read: their entries move out (a stub's stays where it is).
    let mut entries = entries;
    let to_read: Vec<Entry> = entries
        .iter_mut()
        .zip(&cached)
        .filter(|(_, c)| c.is_none())
        .map(|(e, _)| Entry { name: std::mem::take(&mut e.name), path: e.path.take(), ..*e })
        .collect();
    let mut read = read_bytes(to_read, stdin_bytes, errors).into_iter();
    // Ids are positions among the files kept (a file that could not be read is not).
    let mut kept_stamps: Vec<Option<crate::cache::Stamp>> = Vec::with_capacity(entries.len());
    let mut targets = Vec::with_capacity(entries.len());
    let mut files: Vec<LoadedFile> = Vec::with_capacity(entries.len());
    let mut jobs = Vec::new();
    let mut stubs: Vec<usize> = Vec::new();
    for ((e, summary), stamp) in entries.into_iter().zip(cached).zip(stamps) {
        let id = files.len();
        if let Some(summary) = summary {
            stubs.push(id);
            let mut stub = LoadedFile::stub(e.name, e.path, Some(summary));
            stub.ident = e.ident;
            files.push(stub);
        } else {
            let Some((e, Some(bytes))) = read.next() else { continue };
            jobs.push((id, e, bytes));
            // A place for the file, filled once it is parsed.
            files.push(LoadedFile::stub(String::new(), None, None));
        }
        targets.push(e.target);
        kept_stamps.push(stamp);
    }
    let fresh: Vec<usize> = jobs.iter().map(|(id, _, _)| *id).collect();
    for (id, f) in parse_jobs(jobs) {
        files[id] = f;
    }
    let wanted = if warm {
        relevant_stubs(&files, &targets, &fresh, &store.global_names(), &mut stubs, model_options)
    } else {
        stubs
    };
    // A context file that went unreadable since it was cached stays a stub.
    let mut ignored = Vec::new();
    let entry = |id: usize| {
        let source = &files[id].source;
        Entry { name: source.name.clone(), path: source.path.clone(), target: false, stamp: None, ident: None }
    };
    let read = read_bytes(wanted.iter().map(|&id| entry(id)).collect(), None, &mut ignored);
    let ids = wanted;
    let jobs = ids.into_iter().zip(read).filter_map(|(id, (e, b))| Some((id, e, b?))).collect();
    for (id, f) in parse_jobs(jobs) {
        files[id] = f;
    }
    (files, targets, CacheState { setup: setup.clone(), store, stamps: kept_stamps, listing_changed: false, started })
}

/// The stubs to read after all (taken out of `stubs`): every one when a file read now
/// is global and the cache did not know it as such (a new or changed kustomization or
/// Istio configuration; named or not), else those that relate to a named object, and
/// those that relate to them or to a context file read now.
fn relevant_stubs(
    files: &[LoadedFile],
    targets: &[bool],
    fresh: &[usize],
    known_globals: &crate::model::HashSet<String>,
    stubs: &mut Vec<usize>,
    model_options: &ModelOptions,
) -> Vec<usize> {
    let index = Index::build(files, model_options);
    let mut global = vec![false; files.len()];
    for o in index.objects.iter().filter(|o| crate::cache::is_global_object(o)) {
        global[o.file] = true;
    }
    let new_global = fresh.iter().any(|&i| {
        let kustomization = files[i].source.path.as_deref().is_some_and(crate::kustomize::is_kustomization);
        (global[i] || kustomization) && !known_globals.contains(files[i].source.name.as_str())
    });
    if new_global {
        return std::mem::take(stubs);
    }
    let summary = |id: usize| files[id].summary.as_deref().expect("a stub has its entry");
    let named = crate::cache::Wanted::of(&index, targets);
    let first: Vec<bool> = stubs.par_iter().with_min_len(256).map(|&id| named.relates(summary(id))).collect();
    let mut read_now = vec![false; files.len()];
    for &i in fresh {
        read_now[i] = !targets[i];
    }
    let hit_items: Vec<Vec<crate::cache::Item>> =
        stubs.iter().zip(&first).filter(|(_, hit)| **hit).map(|(&id, _)| summary(id).items.parsed()).collect();
    let mut next = crate::cache::Wanted::of(&index, &read_now);
    for items in &hit_items {
        next.add(items);
    }
    // What relates to those (a second round only when there is something to relate to).
    let hits: Vec<bool> = if next.is_empty() {
        first
    } else {
        stubs.par_iter().zip(&first).with_min_len(256).map(|(&id, &hit)| hit || next.relates(summary(id))).collect()
    };
    let mut hit = hits.into_iter();
    let (wanted, rest) = std::mem::take(stubs).into_iter().partition(|_| hit.next().unwrap_or(true));
    *stubs = rest;
    wanted
}

/// At most this many bytes are read from one input: one past the loader's limit, so
/// that a larger file (or an endless one, `/dev/zero`) is known to be too large without
/// being read whole.
const READ_LIMIT: u64 = load::MAX_FILE_BYTES as u64 + 1;

/// Read a file, or a stream named explicitly (a FIFO, `<(helm template .)`), up to
/// [`READ_LIMIT`] bytes; with its device and inode.
fn read_limited(path: &Path) -> std::io::Result<(Vec<u8>, Option<load::Ident>)> {
    use std::os::unix::fs::MetadataExt as _;
    let file = std::fs::File::open(path)?;
    let meta = file.metadata().ok();
    let size = meta.as_ref().map_or(0, |m| m.len().min(READ_LIMIT));
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(READ_LIMIT).read_to_end(&mut bytes)?;
    Ok((bytes, meta.map(|m| (m.dev(), m.ino()))))
}

/// Drop a file named twice (explicitly and through its directory, say), keeping the
/// first mention, which is a target when any mention is.
/// Files are the same when their device and inode are (through symlinks too), as
/// `stat` says; each entry's size and modification time are kept for the context cache.
/// One `stat` per file, in parallel.
fn dedup(entries: &mut Vec<Entry>) {
    entries.par_iter_mut().with_min_len(64).filter(|e| e.ident.is_none()).for_each(|e| {
        if let Some((stamp, ident)) = e.path.as_deref().and_then(crate::listing::look) {
            e.stamp = Some(stamp);
            e.ident = Some(ident);
        }
    });
    let mut seen =
        crate::model::HashSet::with_capacity_and_hasher(entries.len(), std::hash::BuildHasherDefault::default());
    entries.retain(|e| {
        match (&e.path, e.ident) {
            (Some(_), Some(id)) => seen.insert(id),
            // Standard input, or cannot be looked at (reading it reports why).
            _ => true,
        }
    });
}

/// A file named explicitly is read whatever its extension, even when it is a stream (a
/// FIFO); a directory is walked in parallel, honouring `.gitignore` and skipping hidden
/// entries. A FIFO, socket or device met while walking is not read (a FIFO would block
/// for ever): a note on stderr says it was skipped.
fn collect_path(
    path: &Path,
    entries: &mut Vec<Entry>,
    errors: &mut Vec<String>,
    walk: Option<&mut crate::listing::Walk>,
) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            errors.push(format!("{}: {e}", display(path)));
            return;
        }
    };
    if !meta.is_dir() {
        entries.push(Entry {
            name: display(path),
            path: Some(path.to_owned()),
            target: false,
            stamp: None,
            ident: None,
        });
        return;
    }
    let found = Mutex::new(Vec::new());
    let walk_errors = Mutex::new(Vec::new());
    let special = Mutex::new(Vec::new());
    // For a walk kept in the context cache: the folders gone through, and anything a
    // kept walk could not reproduce (a link that does not lead to a file).
    let recording = walk.is_some();
    let dirs = Mutex::new(Vec::new());
    let unclean = std::sync::atomic::AtomicBool::new(false);
    ignore::WalkBuilder::new(path).hidden(true).require_git(false).build_parallel().run(|| {
        Box::new(|result| {
            match result {
                Ok(dent) => {
                    let p = dent.path();
                    if recording && dent.file_type().is_some_and(|t| t.is_dir()) {
                        dirs.lock().expect("poisoned").push(p.to_owned());
                    }
                    if has_manifest_extension(p) {
                        // Through a symlink, what it points to.
                        let kind = match dent.file_type() {
                            Some(t) if t.is_symlink() => {
                                let target = std::fs::metadata(p).ok().map(|m| m.file_type());
                                if !target.is_some_and(|t| t.is_file()) {
                                    unclean.store(true, std::sync::atomic::Ordering::Relaxed);
                                }
                                target
                            }
                            t => t,
                        };
                        match kind {
                            Some(t) if t.is_file() => found.lock().expect("poisoned").push(p.to_owned()),
                            Some(t) if !t.is_dir() => special.lock().expect("poisoned").push((p.to_owned(), t)),
                            _ => {}
                        }
                    }
                }
                Err(e) => walk_errors.lock().expect("poisoned").push(e.to_string()),
            }
            ignore::WalkState::Continue
        })
    });
    let walk_errors = walk_errors.into_inner().expect("poisoned");
    let special = special.into_inner().expect("poisoned");
    if let Some(walk) = walk {
        walk.dirs = dirs.into_inner().expect("poisoned");
        walk.unclean = unclean.into_inner() || !walk_errors.is_empty() || !special.is_empty();
    }
    errors.extend(walk_errors);
    let mut special = special;
    special.sort_by(|a, b| a.0.cmp(&b.0));
    for (p, t) in special {
        use std::os::unix::fs::FileTypeExt as _;
        let what = if t.is_fifo() {
            "a FIFO"
        } else if t.is_socket() {
            "a socket"
        } else {
            "a device"
        };
        let _ = writeln!(std::io::stderr(), "meshlint: note: {}: not a regular file ({what}): skipped", display(&p));
    }
    entries.extend(found.into_inner().expect("poisoned").into_iter().map(|p| Entry {
        name: display(&p),
        path: Some(p),
        target: false,
        stamp: None,
        ident: None,
    }));
}

fn has_manifest_extension(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| MANIFEST_EXTENSIONS.contains(&e))
}

/// The name a path is shown under: as given, without a leading `./`, bytes that are not
/// UTF-8 escaped losslessly (`\xff`).
fn display(path: &Path) -> String {
    // UTF-8 (nearly every path): as it is, without copying it twice.
    if let Some(s) = path.to_str() {
        return s.strip_prefix("./").unwrap_or(s).to_owned();
    }
    let s = crate::escape::path(path);
    match s.strip_prefix("./") {
        Some(rest) => rest.to_owned(),
        None => s,
    }
}

/// Whether a path named is the folder `dir` itself (the same device and inode: one
/// `stat` each, not a `realpath`).
fn names_folder(inputs: &[Input], dir: &Path) -> bool {
    let Some(dir) = crate::kustomize::ident(dir) else { return false };
    inputs.iter().any(|i| match i {
        Input::Path(p) => crate::kustomize::ident(p) == Some(dir),
        Input::Stdin(_) => false,
    })
}

/// The directory read as context: the enclosing git repository (or project: the nearest
/// folder with a `.meshlint.yaml`) of the first path named (a file, as a pre-commit hook
/// names, or a folder), so that cross-file rules and the profile see the whole
/// repository whatever part of it is named.
fn context_dir(options: &Options) -> Option<PathBuf> {
    let first = options.inputs.iter().find_map(|i| match i {
        Input::Path(p) => Some(p.as_path()),
        Input::Stdin(_) => None,
    });
    match &options.context {
        ContextMode::Off => None,
        ContextMode::Dir(dir) => Some(dir.clone()),
        ContextMode::Auto => git_toplevel(first?),
    }
}

/// The root of the repository (or project) holding `path`, as the context is found.
#[must_use]
pub fn repository_root(path: &Path) -> Option<PathBuf> {
    git_toplevel(path)
}

/// The root of the git work tree holding `path`, shown relative to the working directory
/// when it lies below it. Like git, it does not climb into a directory listed in
/// `GIT_CEILING_DIRECTORIES`.
fn git_toplevel(path: &Path) -> Option<PathBuf> {
    let abs = std::fs::canonicalize(path).ok()?;
    let start = if abs.is_dir() { abs.as_path() } else { abs.parent()? };
    let ceilings: Vec<PathBuf> = std::env::var_os("GIT_CEILING_DIRECTORIES")
        .map(|v| std::env::split_paths(&v).filter_map(|p| std::fs::canonicalize(p).ok()).collect())
        .unwrap_or_default();
    // A folder with its own `.meshlint.yaml` is a project of its own, like a repository.
    let root = start
        .ancestors()
        .take_while(|dir| *dir == start || !ceilings.iter().any(|c| c == dir))
        .find(|dir| dir.join(".git").exists() || dir.join(crate::config::FILE_NAME).is_file())?;
    let cwd = std::env::current_dir().ok().and_then(|c| std::fs::canonicalize(c).ok());
    Some(match cwd.as_deref().and_then(|c| root.strip_prefix(c).ok()) {
        Some(rel) if rel.as_os_str().is_empty() => PathBuf::from("."),
        Some(rel) => rel.to_owned(),
        None => root.to_owned(),
    })
}

/// Files read for a run, before any judging.
pub struct Loaded {
    pub files: Vec<LoadedFile>,
    pub targets: Vec<bool>,
    pub errors: Vec<String>,
    /// The file given with `--inject-config`.
    pub inject_config: Option<usize>,
    /// The configuration file, read along so that its mistakes have positions.
    pub config_file: Option<usize>,
    /// The context cache read, when the run used it.
    pub cache: Option<CacheState>,
}

/// Read every input, the context and the configuration files.
#[must_use]
pub fn load_all(options: &Options) -> Loaded {
    let mut errors = Vec::new();
    // A repository named whole (`meshlint check .` at its root) has no context beyond
    // it: it is not walked a second time, nor its files looked at again to drop the
    // copies.
    let context = context_dir(options).filter(|dir| !names_folder(&options.inputs, dir));
    let mut inputs = options.inputs.clone();
    inputs.extend(options.inject_config.iter().chain(&options.config.path).map(|p| Input::Path(p.clone())));
    let own: Vec<PathBuf> = options.baseline.iter().chain(&options.write_baseline).cloned().collect();
    let model = model_options(options);
    let setup = match (&options.cache, &context) {
        (CacheMode::Off, _) | (_, None) => None,
        (CacheMode::Auto, Some(dir)) => {
            Some(crate::cache::Setup::new(dir.join(crate::cache::DIR_NAME), &options.config, &options.namespace))
        }
        (CacheMode::Dir(dir), Some(_)) => {
            Some(crate::cache::Setup::new(dir.clone(), &options.config, &options.namespace))
        }
    };
    let reading =
        Reading { config: &options.config, tools: &options.tools, cache: setup.as_ref().map(|s| (s, &model)) };
    let (files, targets, cache) = read_with_context(&inputs, context.as_deref(), &reading, &own, &mut errors);
    let find = |p: &PathBuf| {
        let want = std::fs::canonicalize(p).ok()?;
        files
            .iter()
            .position(|f| f.source.path.as_ref().and_then(|q| std::fs::canonicalize(q).ok()).as_ref() == Some(&want))
    };
    let inject_config = options.inject_config.as_ref().and_then(find);
    let config_file = options.config.path.as_ref().and_then(find);
    Loaded { files, targets, errors, inject_config, config_file, cache }
}

/// A warning for each folder named whose every file was skipped as a template (a Helm
/// chart, say): nothing was checked there, and a silent pass would be a false one.
fn templates_only(options: &Options, files: &[LoadedFile], targets: &[bool]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for input in &options.inputs {
        let Input::Path(dir) = input else { continue };
        if !dir.is_dir() {
            continue;
        }
        let under: Vec<&LoadedFile> = files
            .iter()
            .zip(targets)
            .filter(|(f, t)| **t && f.source.path.as_deref().is_some_and(|p| p.starts_with(dir)))
            .map(|(f, _)| f)
            .collect();
        let template = |f: &LoadedFile| f.problems.iter().find(|d| d.rule == "template-skipped").cloned();
        if under.is_empty() || !under.iter().all(|f| template(f).is_some()) {
            continue;
        }
        let first = template(under[0]).expect("every file is a template");
        let shown = display(dir);
        let mut d = Diagnostic::new(
            "templates-only",
            Severity::Warning,
            format!("every file under `{shown}` is a template ({} files): nothing there was checked", under.len()),
            crate::diag::Label::new(first.primary.file, first.primary.range, "the first template"),
        );
        d.help = Some(format!(
            "render it and check the output: `helm template {shown} | meshlint check -` (or `kubectl kustomize`, `ansible-playbook --check`)"
        ));
        out.push(d);
    }
    out
}

/// Rules check every definition of an object, each at its own place. In pre-commit mode
/// the same finding (rule, object, field, message) at a definition in an unchanged file
/// becomes a label of the one at the definition in a named file, so it is reported there
/// once. The same finding at the same place (an object a kustomization puts in several
/// namespaces) is kept once.
fn merge_definitions(diagnostics: Vec<Diagnostic>, targets: &[bool]) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = Vec::with_capacity(diagnostics.len());
    // For each finding key, the kept diagnostics: at most one outside the named files.
    let mut by_key: crate::model::HashMap<(&'static str, String, String), Vec<usize>> =
        crate::model::HashMap::default();
    for d in diagnostics {
        let key = (d.rule, d.fingerprint.clone().unwrap_or_default(), d.message.clone());
        let kept = by_key.entry(key).or_default();
        let same_place = |o: &Diagnostic| o.primary.file == d.primary.file && o.primary.range == d.primary.range;
        if kept.iter().any(|&i| same_place(&out[i])) {
            continue;
        }
        let named = targets[d.primary.file];
        // An unchanged file's copy joins a named one; a named copy takes an unchanged one.
        let partner = kept.iter().copied().find(|&i| d.object.is_some() && targets[out[i].primary.file] != named);
        let Some(i) = partner else {
            kept.push(out.len());
            out.push(d);
            continue;
        };
        let target = &mut out[i];
        let mut moved = if named { std::mem::replace(&mut target.primary, d.primary) } else { d.primary };
        moved.message = "also defined here, with the same finding".into();
        if !target.labels.contains(&moved) {
            target.labels.push(moved);
        }
    }
    out
}

/// The injection configuration of a run, with `--policy` applied.
#[must_use]
pub fn inject_config(options: &Options, loaded: &Loaded, index: &Index<'_>) -> config::Loaded {
    // `--inject-config` first, then the `inject:` section of `.meshlint.yaml`.
    let given = match (loaded.inject_config, loaded.config_file, &options.config.inject) {
        (Some(f), _, _) => Some(config::Given::File(f)),
        (None, Some(f), Some(range)) => Some(config::Given::Section(f, range.clone())),
        _ => None,
    };
    let mut found = config::discover(&loaded.files, index, given.as_ref());
    if let Some(policy) = options.policy {
        found.config.policy = Sourced { value: policy, source: None };
        found.config.policy_overridden = true;
    }
    found
}

/// How the model places a run's objects: `--namespace` and the configuration's path map.
#[must_use]
pub fn model_options(options: &Options) -> ModelOptions {
    ModelOptions { namespace: options.namespace.clone(), path_namespaces: options.config.namespaces.clone() }
}

/// Read, parse, index and check everything: a pipeline of named stages, each a function
/// with one job (load → index → profile → rules → suppress → levels → filter → baseline →
/// sort).
#[must_use]
pub fn check(options: &Options) -> Report {
    let report = check_once(options);
    // A finding that points into a file the context cache stood for means the cache
    // missed a relation: judge again reading every file (never a different answer).
    let missed = report.diagnostics.iter().any(|d| d.files().any(|f| report.files[f].summary.is_some()));
    if missed && options.cache != CacheMode::Off {
        let mut cold = options.clone();
        cold.cache = CacheMode::Off;
        return check_once(&cold);
    }
    report
}

fn check_once(options: &Options) -> Report {
    let mut loaded = load_all(options);
    let model_options = model_options(options);
    let mut errors = loaded.errors.clone();
    let (diagnostics, documents, objects, (profile, profile_reason), entries) = {
        let index = Index::build(&loaded.files, &model_options);
        let judged = Judge::new(options, &loaded, &index);
        let mut diagnostics = judged.rules();
        // The context cache's entries are made while the findings are filtered (much of
        // which is one thread's work).
        let (diagnostics, entries) = rayon::join(
            || {
                diagnostics.extend(load_problems(options, &loaded));
                crate::rendering::remap::remap(&mut diagnostics, &loaded.files);
                suppress_and_level(&mut diagnostics, options, &loaded, &index);
                let mut diagnostics = filter(diagnostics, &loaded, &index);
                let baseline = baseline_stage(options, &mut diagnostics);
                sort(&mut diagnostics);
                (diagnostics, baseline)
            },
            || loaded.cache.as_ref().map(|state| cache_entries(&loaded, state, &index, &judged.evidence)),
        );
        let (diagnostics, baseline) = diagnostics;
        if let Err(e) = baseline {
            errors.push(e);
        }
        let entries = entries.unwrap_or_default();
        let config_documents = loaded.config_file.map_or(0, |f| loaded.files[f].documents.len());
        let stubs = loaded.files.iter().filter_map(|f| f.summary.as_deref());
        let (stub_documents, stub_objects) = stubs.fold((0, 0), |(d, o), s| (d + s.documents, o + s.objects));
        (
            diagnostics,
            index.documents + stub_documents - config_documents,
            index.objects.len() + stub_objects,
            (judged.profile, judged.reason.clone()),
            entries,
        )
    };
    if let Some(mut state) = loaded.cache.take() {
        // Written when a context file was read that the cache did not hold as it is (or
        // one went): the named files are parsed every run, so their entries alone are
        // not worth a write.
        let mut names: Vec<&str> =
            loaded.files.iter().filter(|f| f.rendered.is_none()).map(|f| f.source.name.as_str()).collect();
        // Files come sorted by name, so this costs next to nothing.
        names.sort_unstable();
        // The first run makes the cache folder even when nothing could be kept yet (files
        // changed just now): making it moves the root folder's time, which is better done
        // before a walk is kept.
        let mut changed =
            state.store.retain(|n| names.binary_search(&n).is_ok()) | state.listing_changed | !state.setup.dir.is_dir();
        for (id, name, entry) in entries {
            changed |= state.store.put(name, entry) && !loaded.targets[id];
        }
        if changed {
            for f in &loaded.files {
                if let Some(summary) = &f.summary {
                    state.store.put(f.source.name.clone(), (**summary).clone());
                }
            }
            state.setup.save(&mut state.store);
        }
    }
    Report {
        profile,
        profile_reason,
        files: loaded.files,
        targets: loaded.targets,
        diagnostics,
        documents,
        objects,
        errors,
        config_file: loaded.config_file,
    }
}

/// The context cache's entries of the files parsed this run (not the stubs, stdin or
/// rendered output).
fn cache_entries(
    loaded: &Loaded,
    state: &CacheState,
    index: &Index<'_>,
    evidence: &[ObjectEvidence],
) -> Vec<(usize, String, crate::cache::Entry)> {
    let files = &loaded.files;
    let mut by_file: Vec<Vec<&crate::model::Object<'_>>> = vec![Vec::new(); files.len()];
    for o in &index.objects {
        by_file[o.file].push(o);
    }
    let mut evidence_by_file: Vec<Vec<(bool, String, usize)>> = vec![Vec::new(); files.len()];
    for (file, line, e) in evidence {
        evidence_by_file[*file].push((e.profile == Profile::Modern, e.what.clone(), *line));
    }
    files
        .par_iter()
        .zip(evidence_by_file)
        .enumerate()
        .filter(|(_, (f, _))| f.summary.is_none() && f.rendered.is_none() && f.source.path.is_some())
        .filter_map(|(id, (f, evidence))| {
            let stamp = (*state.stamps.get(id)?)?;
            if crate::listing::racy((stamp.1, stamp.2), state.started) {
                return None;
            }
            Some((id, f.source.name.clone(), crate::cache::entry(f, &by_file[id], stamp, evidence)))
        })
        .collect()
}

/// What a run judges with: the profile and why, the injection configurations of both
/// profiles, and the engine that decides injection.
struct Judge<'a> {
    options: &'a Options,
    loaded: &'a Loaded,
    index: &'a Index<'a>,
    profile: Profile,
    reason: String,
    inject: config::Loaded,
    modern: ModernConfig,
    /// The profile evidence of every object read (empty when the profile was asked for
    /// and no context cache is written).
    evidence: Vec<ObjectEvidence>,
}

impl<'a> Judge<'a> {
    /// The profile stage: choose the profile and read both injection configurations.
    fn new(options: &'a Options, loaded: &'a Loaded, index: &'a Index<'a>) -> Self {
        let inject = inject_config(options, loaded, index);
        // Read once: for the profile, and for the context cache's entries.
        let evidence =
            if options.profile.is_none() || loaded.cache.is_some() { object_evidence(index) } else { Vec::new() };
        let (profile, reason) = match options.profile {
            Some(p) => (p, ASKED_FOR.into()),
            None => profile_from(options, index, &evidence),
        };
        let modern = modern_config(options, index);
        Self { options, loaded, index, profile, reason, inject, modern, evidence }
    }

    /// The rules stage: every rule, the injection configuration's own mistakes (0.2), the
    /// objects skipped as templates, and `istioctl analyze` codes and their levels.
    fn rules(&'a self) -> Vec<Diagnostic> {
        let engine = match self.profile {
            Profile::Istio02 => Engine::Initializer(&self.inject.config, Mode::Initializer),
            Profile::Modern => Engine::Modern(&self.modern),
        };
        let cx = Context {
            files: &self.loaded.files,
            index: self.index,
            profile: self.profile,
            inject: &self.inject.config,
            modern: &self.modern,
            engine,
        };
        let mut diagnostics = rules::run_all(&cx);
        diagnostics.extend(self.index.templates.iter().map(|(file, at)| {
            Diagnostic::new(
                "template-skipped",
                Severity::Info,
                "object is a template (`{{` in its name, namespace, labels, annotations or selector), not a manifest: skipped",
                crate::diag::Label::new(*file, at.clone(), "template expression"),
            )
            .with_help("check the rendered output instead, e.g. `ansible-playbook --check` output or `envsubst < file | meshlint check -`")
        }));
        if self.profile == Profile::Istio02 {
            diagnostics.extend(self.inject.diagnostics.iter().cloned());
        }
        for d in &mut diagnostics {
            d.istio_code = d.istio_code.or_else(|| self.profile.istio_code(d.rule));
            // A finding with an `istioctl analyze` code has that message's level.
            if let Some(level) = d.istio_code.and_then(crate::istio::analyzer_level) {
                d.severity = level;
            }
        }
        diagnostics.extend(templates_only(self.options, &self.loaded.files, &self.loaded.targets));
        diagnostics
    }
}

/// The loading stage's findings: each manifest's parse problems, and the configuration
/// file's own mistakes (its YAML errors are `invalid-config`'s, not `invalid-yaml`'s).
fn load_problems(options: &Options, loaded: &Loaded) -> Vec<Diagnostic> {
    let manifests = loaded.files.iter().enumerate().filter(|(i, _)| Some(*i) != loaded.config_file);
    let mut out: Vec<Diagnostic> = manifests.flat_map(|(_, f)| f.problems.iter().cloned()).collect();
    out.extend(config_problems(&options.config, loaded.config_file));
    out
}

/// The suppress and levels stages: suppressions first, so that a suppression of a rule
/// turned off is not unused; then levels, which apply to `unused-suppression` too.
fn suppress_and_level(diagnostics: &mut Vec<Diagnostic>, options: &Options, loaded: &Loaded, index: &Index<'_>) {
    suppress::apply(
        diagnostics,
        &loaded.files,
        &loaded.targets,
        index,
        &options.config,
        loaded.config_file,
        &options.namespace,
    );
    apply_levels(diagnostics, &options.config);
}

/// The filter stage: fingerprints, findings shared by definitions merged, and only what
/// touches a named file (its primary span or any of its labels).
fn filter(mut diagnostics: Vec<Diagnostic>, loaded: &Loaded, index: &Index<'_>) -> Vec<Diagnostic> {
    let touches = |d: &Diagnostic| d.files().any(|f| loaded.targets[f]);
    // Only findings of a rule and message that one touching a named file has can merge
    // with it; the others go now, before a fingerprint is made for each (a run naming
    // one file of a large repository judges all of it).
    let touching: Vec<bool> = diagnostics.iter().map(touches).collect();
    if touching.contains(&false) {
        let keep: Vec<bool> = {
            let named = || diagnostics.iter().zip(&touching);
            let shared: crate::model::HashSet<(&str, &str)> =
                named().filter(|(_, t)| **t).map(|(d, _)| (d.rule, d.message.as_str())).collect();
            named().map(|(d, &t)| t || shared.contains(&(d.rule, d.message.as_str()))).collect()
        };
        let mut keep = keep.into_iter();
        diagnostics.retain(|_| keep.next().unwrap_or(true));
    }
    baseline::fingerprint(&mut diagnostics, &loaded.files, index);
    let mut diagnostics = merge_definitions(diagnostics, &loaded.targets);
    diagnostics.retain(touches);
    diagnostics
}

/// The baseline stage: drop what `--baseline` records.
fn baseline_stage(options: &Options, diagnostics: &mut Vec<Diagnostic>) -> Result<(), String> {
    let Some(path) = &options.baseline else { return Ok(()) };
    baseline::filter(path, diagnostics).map_err(|e| format!("{}: {e}", display(path)))
}

/// Why the profile is Istio 0.2 when nothing in the inputs says which Istio they are for.
pub const DEFAULT_PROFILE_REASON: &str = "nothing in the inputs says which Istio they are for (the default)";

/// One piece of evidence of the Istio an input is written for.
pub struct Evidence {
    pub profile: Profile,
    pub what: String,
}

/// What an object says of the Istio it is written for, if anything.
#[must_use]
pub fn evidence_of(object: &crate::model::Object<'_>) -> Option<Evidence> {
    use crate::yaml::NodeRef;
    let name = object.name.unwrap_or("");
    let found = |profile: Profile, what: String| Some(Evidence { profile, what });
    let group = object.api_version.split_once('/').map_or("", |(g, _)| g);
    // Istio 0.2's own API: its routing kinds were removed in 0.8.
    if group == "config.istio.io" {
        if ["RouteRule", "DestinationPolicy", "EgressRule"].contains(&object.kind) {
            return found(
                Profile::Istio02,
                format!("`{}` of `config.istio.io` (Istio 0.2's routing API)", object.kind),
            );
        }
    } else if group.ends_with(".istio.io") {
        return found(Profile::Modern, format!("`{}` of `{}`", object.kind, object.api_version));
    }
    match object.kind {
        "ConfigMap" if name == crate::istio::INJECT_CONFIG_MAP && object.namespace == Some("istio-system") => {
            return found(Profile::Istio02, "the 0.2 initializer's `istio-inject` ConfigMap".into());
        }
        "ConfigMap" if name.starts_with(crate::istio::INJECTOR_CONFIG_MAP_PREFIX) => {
            return found(Profile::Modern, "an `istio-sidecar-injector` ConfigMap".into());
        }
        "InitializerConfiguration" => {
            let istio = object
                .node
                .get("initializers")
                .into_iter()
                .flat_map(NodeRef::items)
                .any(|i| i.get("name").and_then(|n| n.scalar()).is_some_and(|n| n.contains("istio")));
            if istio {
                return found(Profile::Istio02, "Istio 0.2's InitializerConfiguration".into());
            }
        }
        "MutatingWebhookConfiguration" => {
            let istio = object.node.get("webhooks").into_iter().flat_map(NodeRef::items).any(|w| {
                w.get("name").and_then(|n| n.scalar()).is_some_and(|n| n.contains("sidecar-injector.istio.io"))
            });
            if istio {
                return found(Profile::Modern, "Istio's sidecar-injector MutatingWebhookConfiguration".into());
            }
        }
        "Namespace" => {
            let labels = object.node.path(&["metadata", "labels"]);
            for key in ["istio-injection", "istio.io/rev", "istio.io/dataplane-mode"] {
                if labels.and_then(|l| l.get(key)).is_some() {
                    return found(Profile::Modern, format!("namespace `{name}` labelled `{key}`"));
                }
            }
        }
        _ => {}
    }
    let template = crate::model::PodTemplate::of(object)?;
    for key in ["sidecar.istio.io/inject", "istio.io/rev", "istio.io/dataplane-mode"] {
        if template.labels().and_then(|l| l.get(key)).is_some() {
            return found(Profile::Modern, format!("the pod label `{key}` (read by the webhook)"));
        }
    }
    let status = [object.annotations(), template.annotations()]
        .into_iter()
        .find_map(|a| a?.get(crate::istio::decide::STATUS_ANNOTATION)?.scalar());
    match status {
        Some(s) if s.trim_start().starts_with('{') => {
            found(Profile::Modern, "a workload injected by the webhook (a JSON `sidecar.istio.io/status`)".into())
        }
        Some(s) if s.starts_with("injected-version-") => {
            found(Profile::Istio02, format!("a workload injected by Istio 0.2 (`sidecar.istio.io/status: {s}`)"))
        }
        _ => None,
    }
}

/// The profile: the one asked for, else detected from the evidence in the objects (the
/// whole repository's when it is read as context, so that naming one file or folder
/// never changes it). Conflicting evidence: the profile more of it names, modern on a
/// tie, and the reason names both. No evidence: Istio 0.2, [`DEFAULT_PROFILE_REASON`].
#[must_use]
pub fn choose_profile(options: &Options, index: &Index<'_>) -> (Profile, String) {
    match options.profile {
        Some(p) => (p, ASKED_FOR.into()),
        None => profile_from(options, index, &object_evidence(index)),
    }
}

/// Why the profile is the one it is when `--profile` or `profile:` named it.
const ASKED_FOR: &str = "asked for";

/// An object's profile evidence: its file, the line of its `kind`, and what it says.
type ObjectEvidence = (usize, usize, Evidence);

/// The profile evidence of every object read, in object order (in parallel: it reads
/// a few keys of every object).
fn object_evidence(index: &Index<'_>) -> Vec<ObjectEvidence> {
    let files = index.files;
    index
        .objects
        .par_iter()
        .with_min_len(256)
        .filter(|o| !o.partial)
        .filter_map(|o| {
            let e = evidence_of(o)?;
            Some((o.file, files[o.file].source.position(o.kind_span().start).line, e))
        })
        .collect()
}

/// The profile the evidence of the objects read and of the files the context cache
/// stands for points to, and why.
fn profile_from(options: &Options, index: &Index<'_>, objects: &[ObjectEvidence]) -> (Profile, String) {
    let files = index.files;
    // (file, line, profile, what) in file order: the objects read, and what the context
    // cache holds of the files it stands for.
    let mut evidence: Vec<(usize, usize, Profile, &str)> =
        objects.iter().map(|(file, line, e)| (*file, *line, e.profile, e.what.as_str())).collect();
    for (id, f) in files.iter().enumerate() {
        for (modern, what, line) in f.summary.iter().flat_map(|s| &s.evidence) {
            let profile = if *modern { Profile::Modern } else { Profile::Istio02 };
            evidence.push((id, *line, profile, what));
        }
    }
    // Stable: the objects of one file stay in their order.
    evidence.sort_by_key(|(file, ..)| *file);
    let place = |(file, line, _, what): &(usize, usize, Profile, &str)| {
        format!("{what} at {}:{line}", files[*file].source.name)
    };
    let count = |p: Profile| evidence.iter().filter(|e| e.2 == p).count();
    let first = |p: Profile| evidence.iter().find(|e| e.2 == p);
    match (first(Profile::Modern), first(Profile::Istio02)) {
        (Some(modern), Some(old)) => {
            let profile =
                if count(Profile::Modern) >= count(Profile::Istio02) { Profile::Modern } else { Profile::Istio02 };
            (
                profile,
                format!(
                    "conflicting evidence: {} says modern Istio ({} in all), {} says Istio 0.2 ({} in all); set `profile:` in .meshlint.yaml",
                    place(modern),
                    count(Profile::Modern),
                    place(old),
                    count(Profile::Istio02)
                ),
            )
        }
        (Some(e), None) | (None, Some(e)) => (e.2, place(e)),
        (None, None) if !options.namespace_labels.is_empty() => {
            (Profile::Modern, "namespace labels were given with --namespace-label".into())
        }
        (None, None) => (Profile::Istio02, DEFAULT_PROFILE_REASON.into()),
    }
}

/// The inputs of the modern profile.
#[must_use]
pub fn modern_config(options: &Options, index: &Index<'_>) -> ModernConfig {
    ModernConfig::discover(index, options.istio_version, &options.namespace_labels, &options.revisions)
}

/// Mistakes in the configuration file, as `invalid-config` diagnostics.
fn config_problems(config: &Config, file: Option<usize>) -> Vec<Diagnostic> {
    let Some(file) = file else { return Vec::new() };
    config
        .problems
        .iter()
        .map(|p| {
            let d = Diagnostic::new(
                "invalid-config",
                Severity::Error,
                format!("{} in the meshlint configuration", p.message),
                crate::diag::Label::new(file, p.range.clone(), ""),
            );
            match &p.help {
                Some(h) => d.with_help(h.clone()),
                None => d,
            }
        })
        .collect()
}

/// Per-rule levels of the configuration: `off` drops a rule's findings, a severity
/// replaces its own.
fn apply_levels(diagnostics: &mut Vec<Diagnostic>, config: &Config) {
    if config.rules.is_empty() {
        return;
    }
    diagnostics.retain_mut(|d| match config.level(d.rule) {
        Some(Level::Off) => false,
        Some(Level::On(s)) => {
            d.severity = s;
            true
        }
        None => true,
    });
}

/// Order diagnostics by file, position, rule and message.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (a.primary.file, a.primary.range.start, a.rule, &a.message).cmp(&(
            b.primary.file,
            b.primary.range.start,
            b.rule,
            &b.message,
        ))
    });
}
