//! Safe rewrites and safe reading, through the binary: `-f` takes one file and refuses
//! what it cannot combine with; `--write` goes on after a file it cannot write; careful
//! in-place writes (a file changed meanwhile, symlinks, hard links, read-only files,
//! owner and mode, temporary files removed on SIGTERM and SIGINT); FIFOs and endless
//! files; configuration discovery outside a git repository; a closed standard output.
//!
//! Expected rewrites are computed by the binary's own `-f` mode on the same input: these
//! tests are about where and how bytes land, not about what injection produces (that is
//! `tests/inject.rs`).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

// ---------------------------------------------------------------------------------------
// Helpers

/// An injectable Deployment.
const DEPLOYMENT: &str = "fixtures/inject/layout/indented.yaml";

/// A Service with an unnamed TCP port: one `unnamed-service-port` finding.
const BAD_SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 8080\n  selector:\n    app: web\n";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_meshlint")
}

fn meshlint_in(dir: &Path) -> Command {
    let mut cmd = Command::new(bin());
    cmd.current_dir(dir).env("NO_COLOR", "1").stdin(Stdio::null());
    cmd
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    let output = meshlint_in(dir).args(args).output().expect("meshlint runs");
    assert!(!stderr(&output).contains("panicked"), "meshlint {args:?} panicked:\n{}", stderr(&output));
    output
}

fn run(args: &[&str]) -> Output {
    run_in(root(), args)
}

fn code(output: &Output) -> Option<i32> {
    output.status.code()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn arg(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn deployment() -> String {
    read(&root().join(DEPLOYMENT))
}

/// What `inject -f` prints for `text`.
fn injected(text: &str) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("in.yaml");
    std::fs::write(&path, text).expect("write");
    let out = run(&["inject", "-f", arg(&path)]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let result = stdout(&out);
    assert_ne!(result, text, "the fixture must be one that injection changes");
    result
}

/// Every entry under `dir` (recursively) whose name looks like a temporary file.
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let entry = entry.expect("dir entry");
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type().expect("type").is_dir() {
            found.extend(temp_files(&path));
        } else if name.contains(".meshlint-")
            || name.starts_with(".tmp")
            || path.extension().is_some_and(|e| e == "tmp")
        {
            found.push(path);
        }
    }
    found
}

/// Wait for a child, killing it after `limit`. Returns `None` when it had to be killed.
fn wait_at_most(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn diagnostics(output: &Output) -> Vec<Value> {
    let v: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", stdout(output), stderr(output)));
    v["diagnostics"].as_array().expect("diagnostics array").clone()
}

fn has(diags: &[Value], path_end: &str, rule: &str) -> bool {
    diags.iter().any(|d| d["rule"] == rule && d["path"].as_str().is_some_and(|p| p.ends_with(path_end)))
}

fn is_root() -> bool {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::metadata(dir.path()).expect("meta").uid() == 0
}

fn send_signal(child: &Child, signal: &str) {
    let status = Command::new("kill").args([signal, &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success(), "kill {signal} failed");
}

/// Start `meshlint ARGS` with the test-only pause before the rename (see `src/fsio.rs`),
/// and wait until it reports its temporary file. Returns the child and that file.
fn start_paused(dir: &Path, args: &[&str], gate: &Path) -> (Child, PathBuf, BufReader<std::process::ChildStderr>) {
    let mut child = meshlint_in(dir)
        .args(args)
        .env("MESHLINT_TEST_PAUSE_BEFORE_RENAME", gate)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("meshlint starts");
    let Some(stderr) = child.stderr.take() else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("no stderr pipe");
    };
    let mut err = BufReader::new(stderr);
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap_or(0) == 0 {
            let _ = child.wait();
            panic!("meshlint ended without pausing before a rename; stderr:\n{seen}");
        }
        if let Some(tmp) = line.trim_end().strip_prefix("meshlint: test: paused before renaming ") {
            return (child, PathBuf::from(tmp), err);
        }
        seen.push_str(&line);
    }
}

// ---------------------------------------------------------------------------------------
// 1. `-f` takes exactly one file, and refuses what it cannot combine with

/// `-f DIR` used to print every file of the directory back to back (no `---`), and with
/// `-o FILE` to write each one over the last, destroying `FILE` when it was an input.
#[test]
fn f_refuses_a_directory_and_leaves_the_output_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let a = dir.path().join("a.yaml");
    let b = dir.path().join("b.yaml");
    std::fs::write(&a, deployment()).expect("write");
    std::fs::write(&b, deployment().replace("ratings", "reviews")).expect("write");
    for cmd in ["inject", "uninject"] {
        let out = run(&[cmd, "-f", arg(dir.path())]);
        assert_eq!(code(&out), Some(2), "{cmd} -f DIR: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{cmd} -f DIR printed:\n{}", stdout(&out));
        let err = stderr(&out);
        assert!(err.contains("--write") && err.contains("--diff") && err.contains("--check"), "{err}");

        let out = run(&[cmd, "-f", arg(dir.path()), "-o", arg(&a)]);
        assert_eq!(code(&out), Some(2), "{cmd} -f DIR -o FILE: {}", stderr(&out));
        assert_eq!(read(&a), deployment(), "{cmd} -f DIR -o a.yaml changed a.yaml");
    }
}

/// `-f FILE --diff` used to print the whole rewritten file, not a diff; `-f FILE OTHER`
/// silently ignored `OTHER`. Both are refused by the command line now.
#[test]
fn f_conflicts_with_diff_and_with_paths() {
    for cmd in ["inject", "uninject"] {
        for args in [
            vec![cmd, "-f", DEPLOYMENT, "--diff"],
            vec![cmd, "-f", DEPLOYMENT, "--write"],
            vec![cmd, "-f", DEPLOYMENT, "--check"],
            vec![cmd, "-f", DEPLOYMENT, "fixtures/inject/layout/list.yaml"],
            vec![cmd, "-f", "-", DEPLOYMENT],
        ] {
            let out = run(&args);
            assert_eq!(code(&out), Some(2), "{args:?}: {}", stderr(&out));
            assert!(out.stdout.is_empty(), "{args:?} printed:\n{}", stdout(&out));
            assert!(stderr(&out).contains("cannot be used with"), "{args:?}: {}", stderr(&out));
        }
    }
}

/// `-o FILE` replaces the file by a rename (a new inode holding the whole result), with
/// no temporary file left beside it; it used to be truncated and written in place.
#[test]
fn output_file_is_replaced_atomically() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("in.yaml");
    let output = dir.path().join("out.yaml");
    std::fs::write(&input, deployment()).expect("write");
    std::fs::write(&output, "previous content\n").expect("write");
    std::fs::set_permissions(&output, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let before = std::fs::metadata(&output).expect("meta").ino();
    let out = run(&["inject", "-f", arg(&input), "-o", arg(&output)]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let meta = std::fs::metadata(&output).expect("meta");
    assert_ne!(meta.ino(), before, "-o FILE was written in place, not replaced by a rename");
    assert_eq!(meta.permissions().mode() & 0o777, 0o640, "-o FILE lost its mode");
    assert_eq!(read(&output), injected(&deployment()));
    assert_eq!(temp_files(dir.path()), Vec::<PathBuf>::new());

    // A new file is created, readable as any file the user creates.
    let fresh = dir.path().join("fresh.yaml");
    let out = run(&["inject", "-f", arg(&input), "-o", arg(&fresh)]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(read(&fresh), injected(&deployment()));
    assert_ne!(std::fs::metadata(&fresh).expect("meta").permissions().mode() & 0o044, 0, "not readable by others");
}

// ---------------------------------------------------------------------------------------
// 2. `--write` goes on after a file it cannot write

/// A file in a read-only directory cannot be replaced; `--write` used to stop there (`?`)
/// and silently skip every later file. As root (who may write anywhere) the run is made
/// as the unprivileged user `nobody` with `setpriv`, on files that user owns.
#[test]
fn write_goes_on_after_a_file_it_cannot_write() {
    let dir = tempfile::tempdir().expect("temp dir");
    let locked = dir.path().join("a-locked");
    let open = dir.path().join("b-open");
    std::fs::create_dir(&locked).expect("mkdir");
    std::fs::create_dir(&open).expect("mkdir");
    let (x, y) = (locked.join("x.yaml"), open.join("y.yaml"));
    std::fs::write(&x, deployment()).expect("write");
    std::fs::write(&y, deployment()).expect("write");
    for f in [&x, &y] {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    }
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let mut cmd = if is_root() {
        // The files belong to the user who rewrites them, as they would without root.
        for f in [&x, &y] {
            std::os::unix::fs::chown(f, Some(65534), Some(65534)).expect("chown");
        }
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", bin()]);
        c
    } else {
        Command::new(bin())
    };
    let out = cmd.current_dir(dir.path()).args(["inject", "--write", "."]).output().expect("runs");
    let err = stderr(&out);
    assert_eq!(code(&out), Some(2), "{err}");
    assert!(err.contains("a-locked/x.yaml") && err.contains("error"), "no error for the locked file:\n{err}");
    assert_eq!(read(&x), deployment(), "the file in the read-only directory changed");
    assert_eq!(read(&y), injected(&deployment()), "the later file was skipped:\n{err}");
}

// ---------------------------------------------------------------------------------------
// 3. Careful in-place writes

/// A file changed by someone else between meshlint's read and its rename is left as the
/// other writer made it, with an error; the temporary file is removed.
#[test]
fn file_changed_after_reading_is_not_overwritten() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = dir.path().join("app.yaml");
    // With a byte order mark: the comparison is with the bytes read, mark included.
    std::fs::write(&target, format!("\u{feff}{}", deployment())).expect("write");
    let gate = dir.path().join("gate");
    let (mut child, tmp, mut err) = start_paused(dir.path(), &["inject", "--write", "app.yaml"], &gate);
    std::fs::write(&target, "# edited meanwhile\n").expect("edit");
    std::fs::write(&gate, "").expect("open the gate");
    let status = wait_at_most(&mut child, Duration::from_secs(60)).expect("meshlint ends");
    let mut rest = String::new();
    err.read_to_string(&mut rest).expect("stderr");
    assert_eq!(status.code(), Some(2), "{rest}");
    assert!(rest.contains("changed since it was read"), "{rest}");
    assert_eq!(read(&target), "# edited meanwhile\n", "the other writer's change was overwritten");
    assert!(!tmp.exists(), "temporary file left: {}", tmp.display());

    // Unchanged meanwhile, the same file (mark included) is rewritten.
    std::fs::write(&target, format!("\u{feff}{}", deployment())).expect("write");
    let out = run_in(dir.path(), &["inject", "--write", "app.yaml"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(read(&target), format!("\u{feff}{}", injected(&deployment())));
}

/// A symlink used to be replaced by a regular file; now its target is rewritten and the
/// link stays.
#[test]
fn symlink_is_rewritten_at_its_target() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("real")).expect("mkdir");
    let target = dir.path().join("real/app.yaml");
    let link = dir.path().join("link.yaml");
    std::fs::write(&target, deployment()).expect("write");
    std::os::unix::fs::symlink("real/app.yaml", &link).expect("symlink");
    let out = run_in(dir.path(), &["inject", "--write", "link.yaml"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert!(std::fs::symlink_metadata(&link).expect("meta").file_type().is_symlink(), "the link was replaced");
    assert_eq!(std::fs::read_link(&link).expect("readlink"), Path::new("real/app.yaml"));
    assert_eq!(read(&target), injected(&deployment()));
    assert_eq!(temp_files(dir.path()), Vec::<PathBuf>::new());
}

/// A file with two hard links, or without the owner's write bit, used to be replaced
/// silently (breaking the link, ignoring the read-only bit); now both are refused, and the
/// other files of the run are still rewritten.
#[test]
fn hard_linked_and_read_only_files_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let linked = dir.path().join("a-linked.yaml");
    let other_name = dir.path().join("other-name");
    let read_only = dir.path().join("b-read-only.yaml");
    let plain = dir.path().join("c-plain.yaml");
    for f in [&linked, &read_only, &plain] {
        std::fs::write(f, deployment()).expect("write");
    }
    std::fs::hard_link(&linked, &other_name).expect("hard link");
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    let out = run_in(dir.path(), &["inject", "--write", "."]);
    let err = stderr(&out);
    assert_eq!(code(&out), Some(2), "{err}");
    assert!(err.contains("a-linked.yaml") && err.contains("hard links"), "{err}");
    assert!(err.contains("b-read-only.yaml") && err.contains("read-only"), "{err}");
    assert_eq!(read(&linked), deployment());
    assert_eq!(std::fs::metadata(&linked).expect("meta").nlink(), 2, "the hard link was broken");
    assert_eq!(read(&read_only), deployment());
    assert_eq!(read(&plain), injected(&deployment()), "the other file was not rewritten");
    assert_eq!(temp_files(dir.path()), Vec::<PathBuf>::new());
}

/// Owner, group and mode are kept. Needs root to give the file to another user; the
/// temporary file is created by meshlint's user, so without `chown` it used to come out
/// owned by root.
#[test]
fn owner_group_and_mode_are_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = dir.path().join("app.yaml");
    std::fs::write(&target, deployment()).expect("write");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let root = is_root();
    if root {
        std::os::unix::fs::chown(&target, Some(65534), Some(65534)).expect("chown");
    }
    let before = std::fs::metadata(&target).expect("meta");
    let out = run_in(dir.path(), &["inject", "--write", "app.yaml"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let after = std::fs::metadata(&target).expect("meta");
    assert_eq!(read(&target), injected(&deployment()));
    assert_ne!(after.ino(), before.ino(), "not replaced by a rename");
    assert_eq!(after.permissions().mode() & 0o7777, 0o640);
    assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()), "owner or group changed");
    if !root {
        eprintln!("not root: the owner part of this test only checked the user's own file");
    }
}

/// A name near the 255-byte limit still gets a temporary file (its name is shortened).
#[test]
fn long_file_name_is_rewritten() {
    let dir = tempfile::tempdir().expect("temp dir");
    let name = format!("{}.yaml", "n".repeat(250));
    let target = dir.path().join(&name);
    std::fs::write(&target, deployment()).expect("write");
    let out = run_in(dir.path(), &["inject", "--write", &name]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(read(&target), injected(&deployment()));
}

/// The temporary file is `.NAME.meshlint-XXXXXX.tmp` beside the target, and SIGTERM or
/// SIGINT in the middle of a run removes it: every file is then either untouched or
/// fully rewritten, and the exit status is 143 or 130.
#[test]
fn signals_remove_the_temporary_file() {
    for (signal, status) in [("-TERM", 143), ("-INT", 130)] {
        let dir = tempfile::tempdir().expect("temp dir");
        let names: Vec<String> = (0..20).map(|i| format!("app-{i:02}.yaml")).collect();
        for (i, n) in names.iter().enumerate() {
            std::fs::write(dir.path().join(n), deployment().replace("ratings", &format!("app{i}"))).expect("write");
        }
        let gate = dir.path().join("gate");
        let (mut child, tmp, mut err) = start_paused(dir.path(), &["inject", "--write", "."], &gate);
        assert_eq!(tmp.parent(), Some(dir.path()), "temporary file not beside the target: {}", tmp.display());
        let tmp_name = tmp.file_name().expect("name").to_string_lossy().into_owned();
        let (head, random) = tmp_name.strip_suffix(".tmp").and_then(|s| s.split_once(".meshlint-")).expect("pattern");
        assert!(head.starts_with('.') && names.contains(&head[1..].to_owned()), "{tmp_name}");
        assert_eq!(random.len(), 6, "{tmp_name}");
        assert!(tmp.exists(), "the paused temporary file is not there");
        send_signal(&child, signal);
        let exit = wait_at_most(&mut child, Duration::from_secs(30)).expect("meshlint ends on the signal");
        let mut rest = String::new();
        err.read_to_string(&mut rest).expect("stderr");
        assert_eq!(exit.code(), Some(status), "{signal}: {exit:?}\n{rest}");
        assert_eq!(temp_files(dir.path()), Vec::<PathBuf>::new(), "{signal}: temporary files left");
        for (i, n) in names.iter().enumerate() {
            let original = deployment().replace("ratings", &format!("app{i}"));
            let now = read(&dir.path().join(n));
            assert!(now == original || now == injected(&original), "{signal}: {n} is half-written:\n{now}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// 4. Special files

/// A folder holding a Service with an unnamed port (`svc.yaml`) and a FIFO
/// (`pipe.yaml`).
fn fifo_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("svc.yaml"), BAD_SERVICE).expect("write");
    assert!(Command::new("mkfifo").arg(dir.path().join("pipe.yaml")).status().expect("mkfifo").success());
    dir
}

/// meshlint run in `cwd` with `args`, failing the test if it blocks (on a FIFO) for a
/// minute.
fn check_beside_a_fifo(cwd: &Path, args: &[&str]) -> Output {
    let mut child = meshlint_in(cwd).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("starts");
    let status = wait_at_most(&mut child, Duration::from_secs(60)).expect("meshlint blocked on the FIFO");
    let out = child.wait_with_output().expect("output");
    Output { status, ..out }
}

/// A FIFO met while walking a directory is not read (that would block for ever): it is
/// skipped with a note, and the rest of the directory is checked.
#[test]
fn fifo_in_a_directory_is_skipped_with_a_note() {
    let dir = fifo_folder();
    let out = check_beside_a_fifo(root(), &["check", "--no-context", "--format", "json", arg(dir.path())]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    assert!(has(&diagnostics(&out), "svc.yaml", "unnamed-service-port"));
    let err = stderr(&out);
    assert!(err.contains("pipe.yaml") && err.contains("not a regular file") && err.contains("skipped"), "{err}");
}

/// A repository named whole at its root (`meshlint check .`, the usual CI step) is its
/// own context: it is walked once, so what the walk says (a FIFO skipped) is said once.
#[test]
fn a_repository_named_whole_is_walked_once() {
    let dir = fifo_folder();
    std::fs::create_dir(dir.path().join(".git")).expect("a repository");
    let out = check_beside_a_fifo(dir.path(), &["check", "--format", "json", "."]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    assert!(has(&diagnostics(&out), "svc.yaml", "unnamed-service-port"));
    let err = stderr(&out);
    assert_eq!(err.matches("pipe.yaml: not a regular file").count(), 1, "{err}");
    assert!(!dir.path().join(".meshlint_cache").exists(), "no context, no cache");
}

/// A FIFO named explicitly is read as a stream: `meshlint check <(helm template .)`.
#[test]
fn fifo_named_explicitly_is_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("rendered");
    assert!(Command::new("mkfifo").arg(&fifo).status().expect("mkfifo").success());
    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new().write(true).open(writer_path).expect("open FIFO");
        f.write_all(BAD_SERVICE.as_bytes()).expect("write FIFO");
    });
    let out = run(&["check", "--no-context", "--format", "json", arg(&fifo)]);
    writer.join().expect("writer");
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    assert!(has(&diagnostics(&out), "rendered", "unnamed-service-port"), "{}", stdout(&out));
}

/// `/dev/zero` never ends: it used to be read whole (until memory ran out). Now at most
/// the size limit plus one byte is read, it is `invalid-yaml` "too large", and the other
/// file is still checked. The child's address space is capped so that a regression
/// fails here instead of exhausting the machine.
#[test]
fn dev_zero_stops_at_the_size_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let svc = dir.path().join("svc.yaml");
    std::fs::write(&svc, BAD_SERVICE).expect("write");
    let mut child = Command::new("sh")
        .args(["-c", "ulimit -v 4194304 && exec \"$0\" \"$@\"", bin()])
        .args(["check", "--no-context", "--format", "json", "/dev/zero", arg(&svc)])
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut buf = Vec::new();
    child.stdout.take().expect("stdout").read_to_end(&mut buf).expect("read");
    let status = wait_at_most(&mut child, Duration::from_secs(60)).expect("meshlint did not stop reading /dev/zero");
    let mut err = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut err).expect("read");
    let out = Output { status, stdout: buf, stderr: err.into_bytes() };
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    let diags = diagnostics(&out);
    assert!(
        diags.iter().any(|d| d["path"] == "/dev/zero"
            && d["rule"] == "invalid-yaml"
            && d["message"].as_str().is_some_and(|m| m.contains("too large"))),
        "{diags:?}"
    );
    assert!(has(&diags, "svc.yaml", "unnamed-service-port"), "{diags:?}");
}

// ---------------------------------------------------------------------------------------
// 5. Configuration discovery

/// Outside a git repository only the working directory's `.meshlint.yaml` counts: one in
/// a parent directory (a stray `/tmp/.meshlint.yaml`) used to silence every run below it.
/// Inside a repository, the nearest file up to the root still applies.
#[test]
fn configuration_above_the_working_directory_counts_only_in_a_repository() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join(".meshlint.yaml"), "exclude: [\"**\"]\n").expect("write");
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).expect("mkdir");
    std::fs::write(sub.join("svc.yaml"), BAD_SERVICE).expect("write");
    let out = run_in(&sub, &["check", "--format", "json", "."]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    assert!(has(&diagnostics(&out), "svc.yaml", "unnamed-service-port"), "{}", stdout(&out));

    // The same layout as a repository: the root's configuration excludes everything.
    std::fs::create_dir(dir.path().join(".git")).expect("mkdir .git");
    let out = run_in(&sub, &["check", "--format", "json", "."]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(diagnostics(&out), Vec::<Value>::new());
}

// ---------------------------------------------------------------------------------------
// 6. A closed standard output

/// `meshlint check | head -1`: the reader goes away after one line; meshlint used to
/// print "Broken pipe" as an error. It now ends without a word on stderr.
#[test]
fn closed_stdout_ends_quietly() {
    let dir = tempfile::tempdir().expect("temp dir");
    for i in 0..1500 {
        std::fs::write(dir.path().join(format!("svc-{i:04}.yaml")), BAD_SERVICE.replace("web", &format!("web{i}")))
            .expect("write");
    }
    for format in ["human", "json"] {
        let mut child = meshlint_in(dir.path())
            .args(["check", "--format", format, "."])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        out.read_line(&mut first).expect("first line");
        assert!(!first.is_empty(), "{format}: no output at all");
        drop(out);
        let mut err = String::new();
        child.stderr.take().expect("stderr").read_to_string(&mut err).expect("stderr");
        let status = wait_at_most(&mut child, Duration::from_secs(60)).expect("meshlint ends");
        assert!(status.code().is_some(), "{format}: killed by a signal: {status:?}");
        assert_eq!(err, "", "{format}: stderr after the reader went away");
    }
}
