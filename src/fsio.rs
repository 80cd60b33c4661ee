//! Writing files the way a careful editor does: `--write` replaces a file only through a
//! complete temporary file beside it, renamed over it, and only when that is safe (the
//! file is unchanged since it was read, is a regular file with one link and its owner's
//! write bit); symlinks are followed, so the link stays and its target is rewritten;
//! mode, owner and group are kept. Temporary files still alive when SIGINT or SIGTERM
//! arrives are removed before the process exits (after `kill -9` one may remain:
//! `.NAME.meshlint-XXXXXX.tmp`, safe to delete).

use std::ffi::OsString;
use std::fs::{File, Metadata};
use std::io::{self, Read as _, Write as _};
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Temporary files created and not yet renamed or removed. The signal handler removes
/// them; holding the lock keeps the handler out while one is created or renamed.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Test-only: when set to a path, every rewrite stops after writing its temporary file,
/// prints `meshlint: test: paused before renaming TMP` on stderr, and waits (at most a
/// minute) until that path exists. Lets tests change the target or send a signal at
/// that exact point. Not documented for users; nothing else reads it.
const TEST_PAUSE_ENV: &str = "MESHLINT_TEST_PAUSE_BEFORE_RENAME";

/// The longest file name most file systems accept.
const NAME_MAX: usize = 255;

fn live() -> MutexGuard<'static, Vec<PathBuf>> {
    LIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Remove the live temporary files on SIGINT and SIGTERM, then exit with 128 + the
/// signal's number (130, 143), as a shell reports a process ended by it.
pub fn remove_temp_files_on_signals() -> io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            // Kept locked until the exit: no new temporary file, no rename after this.
            let files = live();
            for path in files.iter() {
                let _ = std::fs::remove_file(path);
            }
            std::process::exit(128 + signal);
        }
    });
    Ok(())
}

/// Replace the file at `path` (following symlinks) with `contents` (written part after
/// part). With `expected`, the file must still hold exactly those bytes (parts
/// concatenated) just before the rename, else it is left as it is and this is an error.
pub fn replace(path: &Path, expected: Option<&[&[u8]]>, contents: &[&[u8]]) -> io::Result<()> {
    let target = std::fs::canonicalize(path)?;
    let meta = std::fs::metadata(&target)?;
    refuse_unsafe(&meta)?;
    write_then_rename(&target, Some(&meta), contents, |tmp_meta| {
        let Some(expected) = expected else { return Ok(()) };
        let now = std::fs::symlink_metadata(&target)?;
        let same_file = now.dev() == meta.dev() && now.ino() == meta.ino();
        let unchanged = same_file
            && now.len() == meta.len()
            && now.mtime() == meta.mtime()
            && now.mtime_nsec() == meta.mtime_nsec()
            && equal(&std::fs::read(&target)?, expected);
        // The temporary file must not be the one being compared (a rename by someone else).
        if unchanged && now.ino() != tmp_meta.ino() {
            Ok(())
        } else {
            Err(io::Error::other("the file changed since it was read: left as it is now, not rewritten"))
        }
    })
}

/// Write `-o FILE`: a new or regular file is written through a temporary file and a
/// rename (never truncated in place), with the same refusals as [`replace`]; anything
/// else (`/dev/stdout`, a FIFO) is written directly.
pub fn write_output(path: &Path, contents: &[&[u8]]) -> io::Result<()> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => replace(path, None, contents),
        Ok(_) => {
            let mut file = std::fs::OpenOptions::new().write(true).truncate(true).open(path)?;
            for part in contents {
                file.write_all(part)?;
            }
            file.flush()
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let dir = parent(path);
            let target = std::fs::canonicalize(dir)?.join(path.file_name().ok_or(e)?);
            write_then_rename(&target, None, contents, |_| Ok(()))
        }
        Err(e) => Err(e),
    }
}

/// Only a regular file with one link and its owner's write bit is replaced.
fn refuse_unsafe(meta: &Metadata) -> io::Result<()> {
    if !meta.is_file() {
        return Err(io::Error::other("not a regular file: not rewritten"));
    }
    if meta.nlink() > 1 {
        return Err(io::Error::other(format!(
            "the file has {} hard links: replacing it would separate it from the others; not rewritten",
            meta.nlink()
        )));
    }
    if meta.permissions().mode() & 0o200 == 0 {
        return Err(io::Error::other("the file is read-only (its owner has no write permission): not rewritten"));
    }
    Ok(())
}

/// Write a temporary file beside `target` (owner, group and mode of `original` when it
/// replaces one), read it back, run `before_rename`, and rename it over `target`. The
/// temporary file is removed on any failure.
fn write_then_rename(
    target: &Path,
    original: Option<&Metadata>,
    contents: &[&[u8]],
    before_rename: impl FnOnce(&Metadata) -> io::Result<()>,
) -> io::Result<()> {
    let dir = parent(target);
    let mut builder = tempfile::Builder::new();
    let prefix = temp_prefix(target);
    builder.prefix(&prefix).suffix(".tmp").rand_bytes(6);
    if original.is_none() {
        // A new file gets the mode any new file gets (0666 less the umask).
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let tmp = {
        let mut files = live();
        let tmp = builder.tempfile_in(dir)?;
        files.push(tmp.path().to_owned());
        tmp
    };
    let tmp_path = tmp.path().to_owned();
    let prepared = (|| {
        let mut file = tmp.as_file();
        for part in contents {
            file.write_all(part)?;
        }
        if let Some(meta) = original {
            keep_owner_and_mode(tmp.as_file(), meta)?;
        }
        file.sync_all()?;
        let mut back = Vec::new();
        File::open(&tmp_path)?.read_to_end(&mut back)?;
        if !equal(&back, contents) {
            return Err(io::Error::other("the temporary file does not read back as written"));
        }
        test_pause(&tmp_path);
        before_rename(&tmp.as_file().metadata()?)
    })();
    let mut files = live();
    let result = match prepared {
        Ok(()) => tmp.persist(target).map(drop).map_err(|e| e.error),
        // Dropping the temporary file removes it.
        Err(e) => Err(e),
    };
    files.retain(|p| p != &tmp_path);
    result
}

fn keep_owner_and_mode(file: &File, original: &Metadata) -> io::Result<()> {
    let own = file.metadata()?;
    if (own.uid(), own.gid()) != (original.uid(), original.gid()) {
        std::os::unix::fs::fchown(file, Some(original.uid()), Some(original.gid())).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot give the new file the original's owner and group ({}:{}): {e}; not rewritten",
                    original.uid(),
                    original.gid()
                ),
            )
        })?;
    }
    // After `fchown`, which clears set-user-ID and set-group-ID bits.
    file.set_permissions(original.permissions())
}

/// `.NAME.meshlint-`, with NAME shortened so that the whole temporary name fits.
fn temp_prefix(target: &Path) -> OsString {
    const EXTRA: usize = ".".len() + ".meshlint-".len() + 6 + ".tmp".len();
    let name = target.file_name().map_or(&[][..], |n| n.as_bytes());
    let name = &name[..name.len().min(NAME_MAX - EXTRA)];
    let mut prefix = b".".to_vec();
    prefix.extend_from_slice(name);
    prefix.extend_from_slice(b".meshlint-");
    OsString::from_vec(prefix)
}

fn parent(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// `bytes` equals the concatenation of `parts`.
fn equal(bytes: &[u8], parts: &[&[u8]]) -> bool {
    let mut rest = bytes;
    for part in parts {
        match rest.strip_prefix(*part) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    rest.is_empty()
}

fn test_pause(tmp: &Path) {
    let Some(gate) = std::env::var_os(TEST_PAUSE_ENV) else { return };
    let _ = writeln!(io::stderr(), "meshlint: test: paused before renaming {}", tmp.display());
    let start = std::time::Instant::now();
    while !Path::new(&gate).exists() && start.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_fit_and_parts_compare() {
        let long = "x".repeat(300);
        let prefix = temp_prefix(Path::new(&long));
        assert_eq!(prefix.len() + 6 + ".tmp".len(), NAME_MAX);
        assert_eq!(temp_prefix(Path::new("dir/a.yaml")), ".a.yaml.meshlint-");
        assert!(equal(b"\xEF\xBB\xBFab", &[b"\xEF\xBB\xBF", b"ab"]));
        assert!(!equal(b"ab", &[b"a"]));
        assert!(!equal(b"a", &[b"a", b"b"]));
    }
}
