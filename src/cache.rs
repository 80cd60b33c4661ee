//! The context cache of pre-commit mode: what each file read only as context contributes
//! to the judging of others, so that a run naming one changed file parses that file and
//! the few context files that bear on it, not the whole repository.
//!
//! A file's entry (keyed by its name as walked, valid while its size and modification
//! time are those recorded) holds its objects' identities (kind, namespace, name), pod
//! labels, Service selectors and `app` labels, the profile evidence in it, its document
//! and object counts, and whether it is *global*: a kustomization, an injection
//! ConfigMap of `istio-system` (`istio`, `istio-inject`, `istio-sidecar-injector*`), a
//! webhook or initializer configuration, which change how every other file is read or
//! judged. The whole cache is keyed by meshlint's build and the configuration (file and
//! `--namespace`).
//!
//! A run with a warm cache parses the named files, every global file, every file the
//! cache does not hold as it is now, and then the cached files that relate to a named
//! object: the same identity, a Service selecting a named workload, a workload a named
//! Service selects, a workload with a named workload's `app` in its namespace, the
//! Namespace a named object is in. Any change to a global file (changed, gone, or a new
//! one) makes the run cold: everything is parsed, as without a cache. The others stay
//! unread stubs that only count. A cache that cannot be read, is corrupt or was written
//! by another build is ignored and rewritten.

use std::borrow::Cow;

use crate::model::{HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::load::LoadedFile;
use crate::model::{Index, Object, PodTemplate, Service};

/// The cache folder at the root of the repository.
pub const DIR_NAME: &str = ".meshlint_cache";
const FILE_NAME: &str = "context-v3";
/// The first line of a cache file.
const MAGIC: &str = "meshlint context cache v3";
/// The kept walk of the context folder, in a file of its own: a warm run checks it
/// against the file system while the entries are read and parsed.
const WALK_FILE_NAME: &str = "walk-v1";
/// The first line of a walk file.
const WALK_MAGIC: &str = "meshlint context walk v1";
/// The cache files of earlier formats, removed when the cache is written (never read).
const FORMER_FILE_NAMES: [&str; 2] = ["context-v1", "context-v2"];

/// Size and modification time of a file, seconds and nanoseconds.
pub type Stamp = (u64, i64, u32);

/// What the cache holds.
#[derive(Debug, Default)]
pub struct Store {
    /// meshlint's build and the configuration the entries were made under.
    key: String,
    /// The cache file's text, when one was read.
    text: Arc<String>,
    /// Its entries in its order (by escaped name): the escaped name's place in `text`,
    /// and the entry, `None` once taken or replaced. Read in place: no name is copied.
    read: Vec<(Range<usize>, Option<Box<Entry>>)>,
    /// Where the last lookup in `read` ended: lookups in name order take one step each.
    cursor: usize,
    /// The places in `read` of the global files' entries.
    globals: Vec<usize>,
    /// Entries made (or given back) by this run, by name as walked.
    files: HashMap<String, Box<Entry>>,
    /// The walk of the context folder, when it could be kept.
    pub listing: Option<crate::listing::Listing>,
}

/// What one file contributes.
#[derive(Debug, Clone)]
pub struct Entry {
    pub stamp: Stamp,
    pub global: bool,
    pub documents: usize,
    /// Objects of the index from this file (a kustomized file's, once per namespace).
    pub objects: usize,
    /// The namespaces of its objects, escaped, sorted, joined by `\x1f`: a file in none
    /// of the wanted namespaces is passed over without reading its objects.
    pub namespaces: String,
    pub items: Items,
    /// Profile evidence: (modern?, what, line), in object order.
    pub evidence: Vec<(bool, String, usize)>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.stamp, self.global, self.documents, self.objects, &self.namespaces, &self.evidence)
            == (other.stamp, other.global, other.documents, other.objects, &other.namespaces, &other.evidence)
            && self.items.text() == other.items.text()
    }
}

/// A file's objects: as made by this run, or the lines of the cache file that hold
/// them, parsed only when asked (most files of a warm run are never looked at closely).
#[derive(Debug, Clone)]
pub enum Items {
    /// The `O` lines, written by this run.
    Text(String),
    /// The `O` lines, a range of the cache file read.
    Raw(Arc<String>, Range<usize>),
}

impl Items {
    /// The `O` lines.
    fn text(&self) -> &str {
        match self {
            Self::Raw(text, range) => &text[range.clone()],
            Self::Text(text) => text,
        }
    }

    /// Every object, parsed; a line that does not parse is left out (a file is only
    /// written whole, and `open` checked every line's shape).
    #[must_use]
    pub fn parsed(&self) -> Vec<Item> {
        split_byte(self.text(), b'\n').filter_map(Item::parse).collect()
    }
}

/// One object of a file, as other files relate to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// Pod template labels, for workloads.
    pub labels: Option<Vec<(String, String)>>,
    /// Selector pairs, for Services.
    pub selector: Option<Vec<(String, String)>>,
}

impl Item {
    /// Its `O` line, as `entry` writes it without making an `Item` first.
    #[cfg(test)]
    fn write(&self, out: &mut String) {
        use std::fmt::Write as _;
        let (tag, pairs) = match (&self.labels, &self.selector) {
            (Some(l), _) => ("L", l.as_slice()),
            (None, Some(s)) => ("S", s.as_slice()),
            (None, None) => ("-", &[][..]),
        };
        let pairs: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={}", esc(k), esc(v))).collect();
        let _ = writeln!(
            out,
            "O\t{}\t{}\t{}\t{tag}\t{}",
            esc(&self.kind),
            esc(&self.namespace),
            esc(&self.name),
            pairs.join("\x1f")
        );
    }

    /// An `O` line's object.
    fn parse(line: &str) -> Option<Self> {
        let item = ItemRef::parse(line)?;
        let owned = |pairs: Vec<(Cow<'_, str>, Cow<'_, str>)>| -> Vec<(String, String)> {
            pairs.into_iter().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
        };
        let (labels, selector) = match item.tag {
            "L" => (Some(owned(item.pairs()?)), None),
            "S" => (None, Some(owned(item.pairs()?))),
            _ => (None, None),
        };
        let (kind, namespace, name) = (item.kind.into_owned(), item.namespace.into_owned(), item.name.into_owned());
        Some(Self { kind, namespace, name, labels, selector })
    }
}

/// An `O` line read in place: fields borrowed from the line (copied only when they hold
/// an escape), pairs read as they are compared.
struct ItemRef<'a> {
    kind: Cow<'a, str>,
    namespace: Cow<'a, str>,
    name: Cow<'a, str>,
    /// `L` labels, `S` selector, `-` neither.
    tag: &'a str,
    pairs: &'a str,
}

impl<'a> ItemRef<'a> {
    fn parse(line: &'a str) -> Option<Self> {
        let mut f = split_byte(line.strip_prefix("O\t")?, b'\t');
        let kind = field(f.next()?)?;
        let namespace = field(f.next()?)?;
        let name = field(f.next()?)?;
        let tag = f.next()?;
        let pairs = f.next()?;
        (matches!(tag, "L" | "S" | "-") && f.next().is_none()).then_some(Self { kind, namespace, name, tag, pairs })
    }

    /// Its pairs; `None` if one does not read.
    fn pairs(&self) -> Option<Vec<(Cow<'a, str>, Cow<'a, str>)>> {
        split_fields_raw(self.pairs)
            .map(|p| {
                let (k, v) = p.split_once('=')?;
                Some((field(k)?, field(v)?))
            })
            .collect()
    }
}

/// The raw fields of a list, not unescaped.
fn split_fields_raw(joined: &str) -> impl Iterator<Item = &str> {
    split_byte(joined, 0x1f).filter(|f| !f.is_empty())
}

/// The pieces of a text between the places of an ASCII byte, as `str::split` gives them
/// (that one searches for a `char` with core's slower `memchr`; splitting lines and
/// fields is most of reading the cache file).
pub(crate) fn split_byte(s: &str, byte: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let r = rest?;
        match memchr::memchr(byte, r.as_bytes()) {
            Some(i) => {
                rest = Some(&r[i + 1..]);
                Some(&r[..i])
            }
            None => rest.take(),
        }
    })
}

/// Whether a text holds a byte.
fn has_byte(s: &str, byte: u8) -> bool {
    memchr::memchr(byte, s.as_bytes()).is_some()
}

/// Where the cache lives and what keys it.
#[derive(Debug, Clone)]
pub struct Setup {
    pub dir: PathBuf,
    pub key: String,
}

impl Setup {
    /// The cache of the repository at `root`, for a run with this configuration.
    #[must_use]
    pub fn new(dir: PathBuf, config: &crate::config::Config, namespace: &str) -> Self {
        let config_text = config.path.as_deref().and_then(|p| std::fs::read(p).ok()).unwrap_or_default();
        // The build: a rebuilt binary may read files differently.
        let build = std::env::current_exe().ok().and_then(|e| stamp(&e)).unwrap_or((0, 0, 0));
        let key = format!("{}|{build:?}|{namespace}|{:016x}", env!("CARGO_PKG_VERSION"), fnv(&config_text));
        Self { dir, key }
    }

    fn file(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    fn walk_file(&self) -> PathBuf {
        self.dir.join(WALK_FILE_NAME)
    }

    /// The store, or an empty one when there is none, it cannot be read, or it was made
    /// under another key.
    fn open(&self) -> Store {
        let Ok(text) = std::fs::read_to_string(self.file()) else { return Store::default() };
        match Store::parse(text) {
            Some(store) if store.key == self.key => store,
            _ => Store::default(),
        }
    }

    /// The store with its kept walk (when there is one, made under this key), and what
    /// `check` made of the walk, run while the entries are read and parsed: that is
    /// single-threaded work, the check is file-system calls on every core.
    #[must_use]
    pub fn open_checking<T: Send>(
        &self,
        check: impl FnOnce(&crate::listing::Listing) -> Option<T> + Send,
    ) -> (Store, Option<T>) {
        let listing = std::fs::read_to_string(self.walk_file()).ok().and_then(|t| parse_listing(&t, &self.key));
        let (mut store, checked) = rayon::join(|| self.open(), || listing.as_ref().and_then(check));
        store.listing = listing;
        (store, checked)
    }

    /// Write the store (with a `.gitignore` that keeps the folder out of git). Failing
    /// to write is not an error of the run: the next one is cold.
    pub fn save(&self, store: &mut Store) {
        store.key.clone_from(&self.key);
        if std::fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        let ignore = self.dir.join(".gitignore");
        if !ignore.exists() {
            let _ = std::fs::write(&ignore, "# Made by meshlint: the cache is never committed.\n*\n");
        }
        let write = |text: &dyn Fn(&mut dyn std::io::Write) -> std::io::Result<()>, to: PathBuf| {
            let Ok(mut tmp) = tempfile::NamedTempFile::new_in(&self.dir) else { return };
            let mut buffered = std::io::BufWriter::with_capacity(1 << 16, &mut tmp);
            if text(&mut buffered).and_then(|()| std::io::Write::flush(&mut buffered)).is_ok() {
                drop(buffered);
                let _ = tmp.persist(to);
            }
        };
        // Each file stands alone: a walk and entries from different runs are each
        // checked against the files as they are now.
        match &store.listing {
            Some(listing) => write(&|mut out| write_listing(&mut out, &self.key, listing), self.walk_file()),
            None => _ = std::fs::remove_file(self.walk_file()),
        }
        write(&|mut out| store.write_text(&mut out), self.file());
        for name in FORMER_FILE_NAMES {
            let _ = std::fs::remove_file(self.dir.join(name));
        }
    }
}

/// The cache file's text: a first line, the key, then per file an `F` line (name, size,
/// seconds, nanoseconds, global, documents, objects) followed by its `O` lines (kind,
/// namespace, name, `L` labels or `S` selector or `-`, then `key=value` pairs) and `E`
/// lines (modern, line, what); fields are separated by tabs, pairs by `\x1f` and `=`
/// stands between key and value, all of them escaped inside fields.
impl Store {
    #[cfg(test)]
    fn to_text(&self) -> String {
        let mut out = Vec::new();
        self.write_text(&mut out).expect("writing to memory");
        String::from_utf8(out).expect("UTF-8")
    }

    /// Write the text (through a buffer: the whole text is never held at once).
    fn write_text(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        // By escaped name, as lookups in a store read back expect.
        let mut entries: Vec<(Cow<'_, str>, &Entry)> = self
            .read
            .iter()
            .filter_map(|(range, e)| Some((Cow::Borrowed(&self.text[range.clone()]), e.as_deref()?)))
            .chain(self.files.iter().map(|(name, e)| (esc(name), &**e)))
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|a, b| a.0 == b.0);
        writeln!(out, "{MAGIC}\n{}", esc(&self.key))?;
        for (name, e) in &entries {
            let (size, secs, nanos) = e.stamp;
            let items = e.items.text();
            writeln!(
                out,
                "F\t{name}\t{size}\t{secs}\t{nanos}\t{}\t{}\t{}\t{}\t{}",
                u8::from(e.global),
                e.documents,
                e.objects,
                e.namespaces,
                items.len()
            )?;
            for (modern, what, line) in &e.evidence {
                writeln!(out, "E\t{}\t{line}\t{}", u8::from(*modern), esc(what))?;
            }
            out.write_all(items.as_bytes())?;
        }
        // A file cut short lacks this line: no store.
        writeln!(out, "end\t{}", entries.len())
    }

    /// A store from its text; `None` for anything that is not one. Each file's `O`
    /// lines are a block whose length its `F` line gives: only where it is is noted here,
    /// and its lines are read when asked for (one that does not read then makes its file
    /// read).
    fn parse(text: String) -> Option<Self> {
        let shared: Arc<String> = Arc::new(text);
        let text = shared.as_str();
        let mut at = 0;
        // The next line, without its line break; `None` at the end or for a last line
        // without one (a file cut short).
        let next_line = |at: &mut usize| -> Option<&str> {
            let rest = &text[*at..];
            let end = memchr::memchr(b'\n', rest.as_bytes())?;
            *at += end + 1;
            Some(&rest[..end])
        };
        if next_line(&mut at)? != MAGIC {
            return None;
        }
        let key = unesc(next_line(&mut at)?)?;
        let mut files: Vec<(Range<usize>, Option<Box<Entry>>)> = Vec::with_capacity(text.len() / 512);
        let mut globals = Vec::new();
        loop {
            let line = next_line(&mut at)?;
            let mut f = split_byte(line, b'\t');
            match f.next()? {
                "end" => {
                    let count = f.next()?.parse::<usize>().ok()?;
                    let read = files;
                    return (count == read.len() && at == text.len()).then(|| Self {
                        key,
                        text: Arc::clone(&shared),
                        read,
                        cursor: 0,
                        globals,
                        files: HashMap::default(),
                        listing: None,
                    });
                }
                "F" => {
                    // The name as written (escaped), after the previous one.
                    let start = at - line.len() - 1 + 2;
                    let raw = f.next()?;
                    let name = start..start + raw.len();
                    if files.last().is_some_and(|(last, _)| &text[last.clone()] >= raw) {
                        return None;
                    }
                    let mut num = || f.next()?.parse::<i64>().ok();
                    let stamp = (u64::try_from(num()?).ok()?, num()?, u32::try_from(num()?).ok()?);
                    let global = num()? == 1;
                    let documents = usize::try_from(num()?).ok()?;
                    let objects = usize::try_from(num()?).ok()?;
                    let namespaces = f.next()?.to_owned();
                    let block = f.next()?.parse::<usize>().ok()?;
                    if f.next().is_some() {
                        return None;
                    }
                    let mut evidence = Vec::new();
                    while text[at..].starts_with("E\t") {
                        let mut f = split_byte(next_line(&mut at)?, b'\t').skip(1);
                        let modern = f.next()? == "1";
                        let line = f.next()?.parse().ok()?;
                        evidence.push((modern, unesc(f.next()?)?, line));
                    }
                    // The `O` lines: whole lines.
                    let range = at..at.checked_add(block)?;
                    let body = text.get(range.clone())?;
                    if !(body.is_empty() || body.starts_with("O\t") && body.ends_with('\n')) {
                        return None;
                    }
                    at = range.end;
                    let items = Items::Raw(Arc::clone(&shared), range);
                    if global {
                        globals.push(files.len());
                    }
                    let entry = Entry { stamp, global, documents, objects, namespaces, items, evidence };
                    files.push((name, Some(Box::new(entry))));
                }
                _ => return None,
            }
        }
    }
}

/// The walk file's text: a first line, the key, a `W` line (the folder walked, `HOME`
/// and `XDG_CONFIG_HOME`), a `G` line per guard (path, then size, seconds and
/// nanoseconds, or `-` three times for a file not there), a `D` line per folder (path,
/// status-change seconds and nanoseconds, the manifest files' names) and an `end` line
/// with the number of folders.
fn write_listing(out: &mut impl std::io::Write, key: &str, l: &crate::listing::Listing) -> std::io::Result<()> {
    writeln!(out, "{WALK_MAGIC}\n{}\nW\t{}\t{}", esc(key), esc(&l.root), esc(&l.env))?;
    for (path, stamp) in &l.guards {
        match stamp {
            Some((size, secs, nanos)) => writeln!(out, "G\t{}\t{size}\t{secs}\t{nanos}", esc(path))?,
            None => writeln!(out, "G\t{}\t-\t-\t-", esc(path))?,
        }
    }
    for d in &l.dirs {
        writeln!(out, "D\t{}\t{}\t{}\t{}", esc(&d.path), d.ctime.0, d.ctime.1, d.names)?;
    }
    writeln!(out, "end\t{}", l.dirs.len())
}

/// A walk from its file's text, when it is whole and was made under `key`.
fn parse_listing(text: &str, key: &str) -> Option<crate::listing::Listing> {
    let mut lines = split_byte(text.strip_suffix('\n')?, b'\n');
    if lines.next()? != WALK_MAGIC || unesc(lines.next()?)? != key {
        return None;
    }
    let mut f = split_byte(lines.next()?, b'\t');
    let mut listing = match (f.next()?, f.next(), f.next(), f.next()) {
        ("W", Some(root), Some(env), None) => {
            crate::listing::Listing { root: unesc(root)?, env: unesc(env)?, ..Default::default() }
        }
        _ => return None,
    };
    while let Some(line) = lines.next() {
        let mut f = split_byte(line, b'\t');
        match f.next()? {
            "G" if listing.dirs.is_empty() => {
                let path = unesc(f.next()?)?;
                let stamp = match (f.next()?, f.next()?, f.next()?) {
                    ("-", "-", "-") => None,
                    (size, secs, nanos) => Some((size.parse().ok()?, secs.parse().ok()?, nanos.parse().ok()?)),
                };
                listing.guards.push((path, stamp));
            }
            "D" => {
                let path = unesc(f.next()?)?;
                let ctime = (f.next()?.parse().ok()?, f.next()?.parse().ok()?);
                let names = f.next()?.to_owned();
                listing.dirs.push(crate::listing::Dir { path, ctime, names });
            }
            // The last line: a file cut short lacks it.
            "end" => {
                let count = f.next()?.parse::<usize>().ok()?;
                return (count == listing.dirs.len() && f.next().is_none() && lines.next().is_none())
                    .then_some(listing);
            }
            _ => return None,
        }
        if f.next().is_some() {
            return None;
        }
    }
    None
}

/// A field's text with `\`, tab, line breaks, `\x1f` and `=` escaped.
fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    // Without an early exit the scan is vectorised: names are rarely escaped, and a
    // warm run escapes every file's name to look it up.
    if !s.bytes().fold(false, |any, b| any | matches!(b, b'\\' | b'\t' | b'\n' | b'\r' | 0x1f | b'=')) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\x1f' => out.push_str("\\u"),
            '=' => out.push_str("\\e"),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Fields escaped and joined by `\x1f`, as a cache line holds a list.
pub(crate) fn join_fields(fields: &[String]) -> String {
    let escaped: Vec<Cow<'_, str>> = fields.iter().map(|f| esc(f)).collect();
    escaped.join("\x1f")
}

/// The fields `join_fields` joined (`None` for one with a broken escape).
pub(crate) fn split_fields(joined: &str) -> impl Iterator<Item = Option<Cow<'_, str>>> {
    split_fields_raw(joined).map(field)
}

/// A field as written, unescaped: borrowed unless it holds an escape; `None` for a
/// broken escape.
fn field(s: &str) -> Option<Cow<'_, str>> {
    if has_byte(s, b'\\') { unesc(s).map(Cow::Owned) } else { Some(Cow::Borrowed(s)) }
}

/// The text `esc` escaped; `None` for a broken escape.
fn unesc(s: &str) -> Option<String> {
    if !has_byte(s, b'\\') {
        return Some(s.to_owned());
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            '\\' => '\\',
            't' => '\t',
            'n' => '\n',
            'r' => '\r',
            'u' => '\x1f',
            'e' => '=',
            _ => return None,
        });
    }
    Some(out)
}

/// Remove the cache folder of a repository: `meshlint cache clean`.
///
/// # Errors
/// When the folder exists and cannot be removed.
pub fn clean(dir: &Path) -> std::io::Result<bool> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// A file's size and modification time.
#[must_use]
pub fn stamp(path: &Path) -> Option<Stamp> {
    std::fs::metadata(path).ok().map(|m| stamp_of(&m))
}

/// The stamp of metadata already read.
#[must_use]
pub fn stamp_of(m: &std::fs::Metadata) -> Stamp {
    use std::os::unix::fs::MetadataExt as _;
    (m.len(), m.mtime(), u32::try_from(m.mtime_nsec()).unwrap_or(0))
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

impl Store {
    /// The place in `read` of a name, if the file had it.
    fn find(&mut self, name: &str) -> Option<usize> {
        let key = esc(name);
        let raw = |i: usize| &self.text[self.read[i].0.clone()];
        // Lookups come in name order: the next entry, or one of the next few.
        let mut i = self.cursor;
        while i < self.read.len() && i < self.cursor + 4 {
            match raw(i).cmp(&key) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Equal => {
                    self.cursor = i + 1;
                    return Some(i);
                }
                std::cmp::Ordering::Greater => break,
            }
        }
        let found = self.read.binary_search_by(|(r, _)| self.text[r.clone()].cmp(&key)).ok();
        if let Some(i) = found {
            self.cursor = i + 1;
        }
        found
    }

    /// Every global entry with its name (an entry of the file whose name does not
    /// unescape has none).
    fn global_entries(&self) -> impl Iterator<Item = (Option<Cow<'_, str>>, &Entry)> {
        let read = self.globals.iter().filter_map(|&i| {
            let (range, e) = &self.read[i];
            Some((field(&self.text[range.clone()]), e.as_deref()?))
        });
        let made = self.files.iter().map(|(n, e)| (Some(Cow::Borrowed(n.as_str())), &**e));
        read.chain(made).filter(|(_, e)| e.global)
    }

    /// Take a file's entry out of the store if it is fresh and not global.
    pub fn take_fresh(&mut self, name: &str, stamp: Option<Stamp>) -> Option<Box<Entry>> {
        let fresh = |e: &Entry| Some(e.stamp) == stamp && !e.global;
        if let Some(i) = self.find(name) {
            let slot = &mut self.read[i].1;
            return if slot.as_deref().is_some_and(fresh) { slot.take() } else { None };
        }
        if self.files.get(name).is_some_and(|e| fresh(e)) { self.files.remove(name) } else { None }
    }

    /// Whether every global file the store knows is still there with the same stamp
    /// (`current` gives a file's stamp now, `None` for a file not there).
    #[must_use]
    pub fn globals_unchanged(&self, current: impl Fn(&str) -> Option<Option<Stamp>>) -> bool {
        self.global_entries().all(|(name, e)| name.is_some_and(|n| current(&n) == Some(Some(e.stamp))))
    }

    /// The names of the global files.
    #[must_use]
    pub(crate) fn global_names(&self) -> HashSet<String> {
        self.global_entries().filter_map(|(n, _)| Some(n?.into_owned())).collect()
    }

    /// Whether the store holds anything.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.read.iter().all(|(_, e)| e.is_none()) && self.files.is_empty()
    }

    /// Record a file's entry: whether it changed the store.
    pub fn put(&mut self, name: String, entry: Entry) -> bool {
        if let Some(i) = self.find(&name) {
            if self.read[i].1.as_deref() == Some(&entry) {
                return false;
            }
            self.read[i].1 = None;
        } else if self.files.get(&name).map(|e| &**e) == Some(&entry) {
            return false;
        }
        self.files.insert(name, Box::new(entry));
        true
    }

    /// Keep only the entries of the names `keep` holds: whether any went. (A warm run
    /// has taken most entries out already: only those left are looked up.)
    pub(crate) fn retain(&mut self, keep: impl Fn(&str) -> bool) -> bool {
        let mut gone = false;
        for (range, entry) in &mut self.read {
            if entry.is_none() {
                continue;
            }
            let raw = &self.text[range.clone()];
            if !field(raw).is_some_and(|n| keep(&n)) {
                *entry = None;
                gone = true;
            }
        }
        let before = self.files.len();
        self.files.retain(|n, _| keep(n));
        gone || self.files.len() != before
    }

    /// A file's entry, for tests.
    #[cfg(test)]
    fn get(&mut self, name: &str) -> Option<&Entry> {
        match self.find(name) {
            Some(i) => self.read[i].1.as_deref(),
            None => self.files.get(name).map(|e| &**e),
        }
    }
}

/// Whether an object changes how every other file is read or judged.
#[must_use]
pub fn is_global_object(o: &Object<'_>) -> bool {
    match o.kind {
        "MutatingWebhookConfiguration" | "InitializerConfiguration" => true,
        // Dashboards' and addons' ConfigMaps of istio-system change nothing elsewhere.
        "ConfigMap" => crate::istio::is_injection_config_map(o),
        _ => false,
    }
}

/// The entry of a parsed file, from the index of the run: its `O` lines written at once
/// (what the cache file holds), not objects of strings.
#[must_use]
pub fn entry(file: &LoadedFile, objects: &[&Object<'_>], stamp: Stamp, evidence: Vec<(bool, String, usize)>) -> Entry {
    let global = file.source.path.as_deref().is_some_and(crate::kustomize::is_kustomization)
        || objects.iter().any(|o| is_global_object(o));
    let mut text = String::new();
    let mut namespaces: Vec<&str> = Vec::new();
    let push_pairs = |text: &mut String, pairs: &mut dyn Iterator<Item = (&str, &str)>| {
        for (i, (k, v)) in pairs.enumerate() {
            if i > 0 {
                text.push('\x1f');
            }
            text.push_str(&esc(k));
            text.push('=');
            text.push_str(&esc(v));
        }
    };
    for o in objects.iter().filter(|o| !o.partial) {
        namespaces.push(o.effective_namespace);
        // A Namespace bears on the objects in it (see `Wanted::relates_item`).
        if o.kind == "Namespace" {
            namespaces.extend(o.name);
        }
        for (i, field) in ["O", o.kind, o.effective_namespace, o.name.unwrap_or("")].into_iter().enumerate() {
            text.push_str(if i == 0 { field } else { "\t" });
            if i > 0 {
                text.push_str(&esc(field));
            }
        }
        if let Some(t) = PodTemplate::of(o) {
            text.push_str("\tL\t");
            let mut labels = t
                .labels()
                .into_iter()
                .flat_map(crate::yaml::NodeRef::entries)
                .filter_map(|(k, v)| Some((k.scalar()?, v.scalar()?)));
            push_pairs(&mut text, &mut labels);
        } else if o.kind == "Service" {
            text.push_str("\tS\t");
            let selector = o.node.get("spec").and_then(|s| s.get("selector")).filter(crate::yaml::NodeRef::is_map);
            let mut pairs = selector
                .into_iter()
                .flat_map(crate::yaml::NodeRef::entries)
                .filter_map(|(k, v)| Some((k.scalar()?, v.scalar()?)));
            push_pairs(&mut text, &mut pairs);
        } else {
            text.push_str("\t-\t");
        }
        text.push('\n');
    }
    namespaces.sort_unstable();
    namespaces.dedup();
    let namespaces: Vec<Cow<'_, str>> = namespaces.into_iter().map(esc).collect();
    Entry {
        stamp,
        global,
        documents: file.documents.len(),
        objects: objects.len(),
        namespaces: namespaces.join("\x1f"),
        items: Items::Text(text),
        evidence,
    }
}

/// What the named files' objects are, as cached items relate to them.
#[derive(Default)]
pub struct Wanted<'a> {
    identities: HashSet<(&'a str, &'a str, &'a str)>,
    /// (namespace, pod labels) of named workloads.
    workloads: Vec<(&'a str, Vec<(&'a str, &'a str)>)>,
    /// (namespace, selector) of named Services.
    services: Vec<(&'a str, Vec<(&'a str, &'a str)>)>,
    /// (namespace, app) of named workloads.
    apps: HashSet<(&'a str, &'a str)>,
    /// The namespaces of all of the above: a cached object elsewhere relates to none.
    namespaces: HashSet<&'a str>,
}

impl<'a> Wanted<'a> {
    /// From the objects of the named files in `index`.
    #[must_use]
    pub fn of(index: &'a Index<'a>, targets: &[bool]) -> Self {
        let mut w = Self::default();
        for o in index.objects.iter().filter(|o| targets[o.file]) {
            let ns = o.effective_namespace;
            w.namespaces.insert(ns);
            w.identities.insert((o.kind, ns, o.name.unwrap_or("")));
            if let Some(t) = PodTemplate::of(o) {
                let labels: Vec<(&str, &str)> = t
                    .labels()
                    .into_iter()
                    .flat_map(crate::yaml::NodeRef::entries)
                    .filter_map(|(k, v)| Some((k.scalar()?, v.scalar()?)))
                    .collect();
                if let Some(app) = t.label("app") {
                    w.apps.insert((ns, app));
                }
                w.workloads.push((ns, labels));
            }
            if let Some(s) = Service::of(o) {
                w.services.push((ns, s.selector_pairs().collect()));
            }
        }
        w
    }

    /// Whether nothing is wanted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty()
    }

    /// Add cached objects to what is wanted.
    pub fn add(&mut self, items: &'a [Item]) {
        for item in items {
            let ns = item.namespace.as_str();
            self.namespaces.insert(ns);
            self.identities.insert((item.kind.as_str(), ns, item.name.as_str()));
            if let Some(labels) = &item.labels {
                let pairs: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                if let Some((_, app)) = pairs.iter().find(|(k, _)| *k == "app") {
                    self.apps.insert((ns, app));
                }
                self.workloads.push((ns, pairs));
            }
            if let Some(selector) = &item.selector {
                self.services.push((ns, selector.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()));
            }
        }
    }

    /// Whether a cached file's objects bear on the wanted ones. Cached lines are read
    /// only for the objects in a wanted namespace; a line that does not read counts as
    /// bearing on them (the file is then read).
    #[must_use]
    pub fn relates(&self, entry: &Entry) -> bool {
        let escaped = has_byte(&entry.namespaces, b'\\');
        if !escaped && !split_byte(&entry.namespaces, 0x1f).any(|n| self.namespaces.contains(n)) {
            return false;
        }
        split_byte(entry.items.text(), b'\n')
            .filter(|l| !l.is_empty())
            .any(|line| ItemRef::parse(line).is_none_or(|item| self.relates_item(&item)))
    }

    fn relates_item(&self, item: &ItemRef<'_>) -> bool {
        // A Namespace decides the injection of the workloads in it (its labels) and
        // whether their namespace is among the files (`namespace-not-injected`).
        if item.kind == "Namespace" && self.namespaces.contains(item.name.as_ref()) {
            return true;
        }
        let ns = item.namespace.as_ref();
        if !self.namespaces.contains(ns) {
            return false;
        }
        if self.identities.contains(&(item.kind.as_ref(), ns, item.name.as_ref())) {
            return true;
        }
        if item.tag == "-" || item.pairs.is_empty() {
            return false;
        }
        let Some(pairs) = item.pairs() else { return true };
        let has = |set: &[(&str, &str)], k: &str, v: &str| set.iter().any(|(a, b)| *a == k && *b == v);
        if item.tag == "S" {
            return self
                .workloads
                .iter()
                .any(|(wns, labels)| *wns == ns && pairs.iter().all(|(k, v)| has(labels, k, v)));
        }
        let selected = self.services.iter().any(|(sns, sel)| {
            *sns == ns && !sel.is_empty() && sel.iter().all(|(k, v)| pairs.iter().any(|(a, b)| a == k && b == v))
        });
        let app = pairs.iter().find(|(k, _)| k == "app").map(|(_, v)| v.as_ref());
        selected || app.is_some_and(|a| self.apps.contains(&(ns, a)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_byte_gives_what_str_split_gives() {
        for text in ["", "a", "\t", "a\tb", "\ta\t\tb\t", "é\tü\t", "no tab here", "\t\t"] {
            let ours: Vec<&str> = split_byte(text, b'\t').collect();
            let std: Vec<&str> = text.split('\t').collect();
            assert_eq!(ours, std, "{text:?}");
        }
        assert!(has_byte("a\\b", b'\\') && !has_byte("ab", b'\\'));
    }

    #[test]
    fn the_text_round_trips_and_anything_else_is_no_store() {
        let item = |labels, selector| Item {
            kind: "Deployment".into(),
            namespace: "shop\tx".into(),
            name: "we\\b=\n".into(),
            labels,
            selector,
        };
        let items = vec![
            item(Some(vec![("app".into(), "w=1".into()), ("x\x1fy".into(), String::new())]), None),
            item(None, Some(vec![])),
            item(None, None),
        ];
        let listing = crate::listing::Listing {
            root: "repo\tx".into(),
            env: "/root\x1f".into(),
            guards: vec![("/a/.gitignore".into(), Some((1, 2, 3))), ("/.ignore".into(), None)],
            dirs: vec![
                crate::listing::Dir { path: "repo".into(), ctime: (5, 6), names: String::new() },
                crate::listing::Dir {
                    path: "repo/a=b".into(),
                    ctime: (-1, 0),
                    names: join_fields(&["x.yaml".into(), "y\x1f=z.yml".into()]),
                },
            ],
        };
        let mut store = Store { key: "k|1".into(), ..Store::default() };
        store.put(
            "a/b c.yaml".into(),
            Entry {
                stamp: (10, -3, 7),
                global: true,
                documents: 2,
                objects: 3,
                namespaces: "shop\\tx".into(),
                items: Items::Text(items.iter().fold(String::new(), |mut out, i| {
                    i.write(&mut out);
                    out
                })),
                evidence: vec![(true, "`VirtualService` of `x`\tat".into(), 4)],
            },
        );
        // A second file, whose name is written escaped.
        let second = Entry { global: false, evidence: Vec::new(), ..store.get("a/b c.yaml").expect("put").clone() };
        store.put("a/b\tc.yaml".into(), second.clone());
        let text = store.to_text();
        let mut back = Store::parse(text.clone()).expect("parses");
        assert_eq!(back.key, store.key);
        for name in ["a/b c.yaml", "a/b\tc.yaml"] {
            assert_eq!(back.get(name), store.get(name), "{name}");
        }
        assert_eq!(back.get("a/b"), None);
        assert_eq!(back.global_names(), HashSet::from_iter(["a/b c.yaml".to_owned()]));
        // Taken in name order or not, each once.
        assert!(back.take_fresh("a/b\tc.yaml", Some((10, -3, 7))).is_some());
        assert!(back.take_fresh("a/b\tc.yaml", Some((10, -3, 7))).is_none());
        assert!(back.take_fresh("a/b c.yaml", Some((10, -3, 7))).is_none(), "a global entry stays");
        assert!(!back.is_empty());
        // The walk, in its own file.
        let mut walk = Vec::new();
        write_listing(&mut walk, &store.key, &listing).expect("writing to memory");
        let walk = String::from_utf8(walk).expect("UTF-8");
        let walk_back = parse_listing(&walk, &store.key).expect("the walk parses");
        assert_eq!(walk_back, listing);
        let names: Vec<String> =
            split_fields(&walk_back.dirs[1].names).map(|n| n.expect("reads").into_owned()).collect();
        assert_eq!(names, ["x.yaml", "y\x1f=z.yml"]);
        assert!(parse_listing(&walk, "k|2").is_none(), "made under another key");
        for cut in 0..walk.len() - 1 {
            assert!(parse_listing(&walk[..cut], &store.key).is_none(), "walk cut at {cut}");
        }
        assert!(parse_listing(&format!("{walk}D\tx\t1\t2\t\n"), &store.key).is_none(), "a line after the end");
        let extra = walk.replace("\t-\t-\t-\n", "\t-\t-\t-\tz\n");
        assert_ne!(extra, walk);
        assert!(parse_listing(&extra, &store.key).is_none(), "a field too many");
        let entry = back.get("a/b c.yaml").expect("the entry");
        assert!(matches!(entry.items, Items::Raw(..)), "read lazily");
        assert_eq!(entry.items.parsed(), items);
        // Cut anywhere, it is no store.
        for cut in 0..text.len() - 1 {
            assert!(Store::parse(text[..cut].to_owned()).is_none(), "cut at {cut}");
        }
        assert!(Store::parse("garbage\n".to_owned()).is_none());
        // An `O` line is read only when asked for: one that does not read is left out
        // (and makes its file read, as `relates` says).
        let mut odd = Store::parse(text.replace("\tL\t", "\tQ\t")).expect("parses");
        let odd_entry = odd.get("a/b c.yaml").expect("the entry");
        assert_eq!(odd_entry.items.parsed(), items[1..]);
        let line = odd_entry.items.text().lines().next().expect("a line").to_owned();
        assert!(ItemRef::parse(&line).is_none(), "{line}");
        // A block length that does not end at a line's end, or runs past the end.
        let block = store.get("a/b c.yaml").expect("the entry").items.text().len();
        for wrong in [block - 1, block + 1, text.len()] {
            let broken = text.replace(&format!("\t{block}\n"), &format!("\t{wrong}\n"));
            assert_ne!(broken, text);
            assert!(Store::parse(broken).is_none(), "block length {wrong}");
        }
    }
}
