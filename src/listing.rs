//! The walk of the context folder, kept in the context cache (a file of its own, checked
//! while the entries are read): which manifest files a walk found in which folders, and
//! every file whose content decides what the walk skips. A warm run checks each folder's
//! status-change time (adding, removing or renaming an entry of a folder changes it, as
//! does a change of its permissions) and each such file's stamp, and looks at each listed
//! file once, instead of reading every folder and matching every name against the
//! ignore rules. Any difference, and the run walks as before.
//!
//! What decides the walk (ripgrep's `ignore` walker: hidden entries skipped, `.ignore`,
//! `.gitignore`, `.git/info/exclude` and the global git excludes file honoured, in the
//! folder walked and the folders above it):
//! - a folder's entries and permissions: its status-change time (`ctime`);
//! - the content of its `.gitignore` and `.ignore` and of the exclude file of a `.git`
//!   in it: their stamps (they are hidden, so only their coming or going changes the
//!   folder's time);
//! - the same files in every folder above the one walked, present or not (nothing in
//!   the walk notices one appearing there);
//! - the global excludes file and the git configuration files that name it, present or
//!   not, and the `HOME` and `XDG_CONFIG_HOME` that locate them.
//!
//! A walk is kept only when it is clean: no error, no special file, no link that does
//! not lead to a file, every name UTF-8, and nothing it depends on modified in the two
//! seconds before it began (file times are coarse: a change in the same tick as the
//! walk could otherwise go unseen, as git's "racy" entries).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rayon::prelude::*;
use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use crate::cache::Stamp;

/// A folder's status-change time, seconds and nanoseconds.
pub type Time = (i64, u32);

/// A file the walk depends on, and its stamp (`None`: not there).
pub type Guard = (String, Option<Stamp>);

/// A walk as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Listing {
    /// The folder walked, as named.
    pub root: String,
    /// `HOME` and `XDG_CONFIG_HOME` as the walk saw them.
    pub env: String,
    /// Files whose content decides what the walk skips, with their stamps (`None`: not
    /// there).
    pub guards: Vec<Guard>,
    /// Every folder walked.
    pub dirs: Vec<Dir>,
}

/// One folder of a walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dir {
    /// As the walk named it (the root joined with the folders below).
    pub path: String,
    pub ctime: Time,
    /// The manifest files directly in it, by file name: escaped as the cache writes
    /// fields, joined by `\x1f` (read only when the folder is looked at).
    pub names: String,
}

/// A file of a walk, as a warm run found it.
#[derive(Debug, Clone)]
pub struct Found {
    pub path: PathBuf,
    pub stamp: Stamp,
    /// Device and inode.
    pub ident: crate::load::Ident,
}

/// What a walk met, beyond the manifest files: the folders it went through, and whether
/// anything happened that a listing could not reproduce.
#[derive(Debug, Default)]
pub struct Walk {
    pub dirs: Vec<PathBuf>,
    /// An error, a special file, a link not leading to a file, a name not UTF-8.
    pub unclean: bool,
}

/// Changes in the last this-long before a walk are not trusted to show in times.
const RACY: Duration = Duration::from_secs(2);

fn env() -> String {
    let var = |k| std::env::var_os(k).map(|v| v.to_string_lossy().into_owned()).unwrap_or_default();
    format!("{}\x1f{}", var("HOME"), var("XDG_CONFIG_HOME"))
}

fn open_dir(path: &Path) -> Option<rustix::fd::OwnedFd> {
    rustix::fs::open(path, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).ok()
}

fn stamp_of(st: &rustix::fs::Stat) -> Stamp {
    (u64::try_from(st.st_size).unwrap_or(0), st.st_mtime, u32::try_from(st.st_mtime_nsec).unwrap_or(0))
}

/// A folder's status-change time: it moves with its modification time (an entry
/// added, removed or renamed) and with a change of its permissions or owner, and no one
/// can set it back by hand.
fn time_of(st: &rustix::fs::Stat) -> Time {
    (st.st_ctime, u32::try_from(st.st_ctime_nsec).unwrap_or(0))
}

/// Whether a time is too close to `started` to be trusted (or after it).
#[must_use]
pub fn racy(time: Time, started: SystemTime) -> bool {
    let limit = started.checked_sub(RACY).unwrap_or(SystemTime::UNIX_EPOCH);
    let Ok(limit) = limit.duration_since(SystemTime::UNIX_EPOCH) else { return true };
    let Ok(secs) = u64::try_from(time.0) else { return false };
    Duration::new(secs, time.1.min(999_999_999)) >= limit
}

/// The exclude file git reads for a `.git` in `dir` (a folder, or a file naming the
/// git folder of a work tree), and the files that locate it.
fn exclude_guards(dir: &Path, git_is_file: bool) -> Vec<PathBuf> {
    let dot_git = dir.join(".git");
    if !git_is_file {
        return vec![dot_git.join("info/exclude")];
    }
    let mut guards = vec![dot_git.clone()];
    let first_line = |p: &Path| std::fs::read_to_string(p).ok().and_then(|t| t.lines().next().map(str::to_owned));
    let Some(real) = first_line(&dot_git).and_then(|l| l.strip_prefix("gitdir: ").map(PathBuf::from)) else {
        return guards;
    };
    let commondir = real.join("commondir");
    guards.push(commondir.clone());
    if let Some(line) = first_line(&commondir) {
        let common = if line.starts_with('.') { real.join(line) } else { PathBuf::from(line) };
        guards.push(common.join("info/exclude"));
    }
    guards
}

impl Listing {
    /// The listing of a walk of `root` begun at `started` that went through `walk.dirs`
    /// and found `files`; `None` when the walk cannot be kept.
    #[must_use]
    pub fn record(root: &Path, started: SystemTime, walk: &Walk, files: &[&Path]) -> Option<Self> {
        if walk.unclean {
            return None;
        }
        let root_name = root.to_str()?.to_owned();
        let mut by_dir: crate::model::HashMap<&Path, Vec<String>> = crate::model::HashMap::default();
        for dir in &walk.dirs {
            by_dir.insert(dir.as_path(), Vec::new());
        }
        for f in files {
            let name = f.file_name()?.to_str()?.to_owned();
            by_dir.get_mut(f.parent()?)?.push(name);
        }
        // Each folder with its files' names as the cache line holds them.
        let listed: Vec<(&PathBuf, String)> = walk
            .dirs
            .iter()
            .map(|dir| {
                let mut names = by_dir.remove(dir.as_path()).unwrap_or_default();
                names.sort_unstable();
                (dir, crate::cache::join_fields(&names))
            })
            .collect();
        let recorded: Option<Vec<(Dir, Vec<Guard>)>> = listed
            .into_par_iter()
            .with_min_len(32)
            .map(|(path, names)| {
                let fd = open_dir(path)?;
                let ctime = time_of(&rustix::fs::fstat(&fd).ok()?);
                if racy(ctime, started) {
                    return None;
                }
                let mut guards = Vec::new();
                for name in [".gitignore", ".ignore"] {
                    if let Ok(st) = rustix::fs::statat(&fd, name, AtFlags::empty()) {
                        guards.push((path.join(name).to_str()?.to_owned(), Some(stamp_of(&st))));
                    }
                }
                if let Ok(st) = rustix::fs::statat(&fd, ".git", AtFlags::SYMLINK_NOFOLLOW) {
                    let is_file = FileType::from_raw_mode(st.st_mode) == FileType::RegularFile;
                    for g in exclude_guards(path, is_file) {
                        guards.push((g.to_str()?.to_owned(), crate::cache::stamp(&g)));
                    }
                }
                Some((Dir { path: path.to_str()?.to_owned(), ctime, names }, guards))
            })
            .collect();
        let mut guards = Vec::new();
        let mut dirs = Vec::new();
        for (dir, g) in recorded? {
            dirs.push(dir);
            guards.extend(g);
        }
        // The folders above: their ignore files, there or not.
        let absolute = std::fs::canonicalize(root).ok()?;
        for above in absolute.ancestors().skip(1) {
            for name in [".gitignore", ".ignore"] {
                let p = above.join(name);
                guards.push((p.to_str()?.to_owned(), crate::cache::stamp(&p)));
            }
            let git = std::fs::symlink_metadata(above.join(".git")).ok();
            let is_file = git.as_ref().is_some_and(std::fs::Metadata::is_file);
            for g in exclude_guards(above, is_file) {
                guards.push((g.to_str()?.to_owned(), crate::cache::stamp(&g)));
            }
        }
        // The global excludes file, and the configuration files that may name it.
        let mut global: Vec<PathBuf> = ignore::gitignore::gitconfig_excludes_path().into_iter().collect();
        let var = |k| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        let home = var("HOME");
        let xdg = var("XDG_CONFIG_HOME").or_else(|| home.as_ref().map(|h| h.join(".config")));
        global.extend(home.map(|h| h.join(".gitconfig")));
        global.extend(xdg.map(|x| x.join("git/config")));
        for g in global {
            guards.push((g.to_str()?.to_owned(), crate::cache::stamp(&g)));
        }
        if guards.iter().any(|(_, s)| s.is_some_and(|(_, secs, nanos)| racy((secs, nanos), started))) {
            return None;
        }
        guards.sort();
        guards.dedup();
        dirs.sort_by(|a, b| a.path.cmp(&b.path));
        Some(Self { root: root_name, env: env(), guards, dirs })
    }

    /// The files of a walk of `root` as they are now, when the walk would find just
    /// these (in no particular order, a list per folder), each as `make` makes it from
    /// what was found (in parallel); `None` when anything it depends on changed.
    #[must_use]
    pub fn check<T: Send>(&self, root: &Path, make: impl Fn(Found) -> T + Sync) -> Option<Vec<Vec<T>>> {
        if root.to_str() != Some(self.root.as_str()) || self.env != env() {
            return None;
        }
        if !self.guards.iter().all(|(path, stamp)| crate::cache::stamp(Path::new(path)) == *stamp) {
            return None;
        }
        self.dirs
            .par_iter()
            .with_min_len(32)
            .map(|dir| {
                let path = Path::new(&dir.path);
                if dir.names.is_empty() {
                    // Nothing to look at inside: one `stat` instead of open, stat, close.
                    let st = rustix::fs::stat(path).ok()?;
                    return (time_of(&st) == dir.ctime).then(Vec::new);
                }
                let fd = open_dir(path)?;
                if time_of(&rustix::fs::fstat(&fd).ok()?) != dir.ctime {
                    return None;
                }
                crate::cache::split_fields(&dir.names)
                    .map(|name| {
                        let name = name?;
                        let st = rustix::fs::statat(&fd, name.as_ref(), AtFlags::empty()).ok()?;
                        (FileType::from_raw_mode(st.st_mode) == FileType::RegularFile).then(|| {
                            make(Found {
                                path: path.join(name.as_ref()),
                                stamp: stamp_of(&st),
                                ident: (st.st_dev, st.st_ino),
                            })
                        })
                    })
                    .collect()
            })
            .collect()
    }
}

/// A file's stamp and its device and inode (through links), as a kept walk records
/// them, so that both compare.
#[must_use]
pub fn look(path: &Path) -> Option<(Stamp, crate::load::Ident)> {
    let st = rustix::fs::stat(path).ok()?;
    Some((stamp_of(&st), (st.st_dev, st.st_ino)))
}
