//! What every integration test needs to run meshlint: the binary, set up so that a test
//! sees only the inputs it names.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// The crate root.
#[must_use]
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared`, beside the repository.
#[must_use]
pub fn shared() -> PathBuf {
    root().join("../shared")
}

/// The meshlint binary, without colour, run in `dir`. meshlint reads the enclosing git
/// repository as context; the fixtures live inside this repository, so git's own
/// `GIT_CEILING_DIRECTORIES` keeps the search below the crate root: a fixture tree is
/// judged alone, as it would be in a repository of its own. `PATH` is empty, so that
/// no helm or kubectl of the machine renders anything: the rendering tests name theirs
/// (`tools()`).
#[must_use]
pub fn meshlint_in(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_meshlint"));
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env("GIT_CEILING_DIRECTORIES", root())
        .env("PATH", "")
        .env_remove("RAYON_NUM_THREADS");
    cmd
}

/// The folder holding the real `helm` and `kubectl` that `scripts/tools` installs under
/// `target/tools/bin` (the test command runs it first).
#[must_use]
pub fn tools() -> PathBuf {
    let bin = root().join("target/tools/bin");
    assert!(
        bin.join("helm").is_file() && bin.join("kubectl").is_file(),
        "{} lacks helm and kubectl: run scripts/tools (scripts/test does)",
        bin.display()
    );
    bin
}

/// The meshlint binary run at the crate root.
#[must_use]
pub fn meshlint() -> Command {
    meshlint_in(root())
}

/// A finding of the JSON format, as the tests read it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diag {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub rule: String,
    pub severity: String,
    pub message: String,
    pub help: Option<String>,
    /// Secondary labels: (line, column, message).
    pub labels: Vec<(usize, usize, String)>,
}

pub fn num(v: &Value, key: &str) -> usize {
    usize::try_from(v[key].as_u64().unwrap_or_else(|| panic!("`{key}` is a number in {v}"))).expect("fits")
}

pub fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("`{key}` is a string in {v}")).to_owned()
}

pub fn diags(report: &Value) -> Vec<Diag> {
    report["diagnostics"]
        .as_array()
        .expect("diagnostics is an array")
        .iter()
        .map(|d| Diag {
            path: text(d, "path"),
            line: num(d, "line"),
            column: num(d, "column"),
            end_line: num(d, "end_line"),
            end_column: num(d, "end_column"),
            rule: text(d, "rule"),
            severity: text(d, "severity"),
            message: text(d, "message"),
            help: d["help"].as_str().map(str::to_owned),
            labels: d["labels"]
                .as_array()
                .expect("labels is an array")
                .iter()
                .map(|l| (num(l, "line"), num(l, "column"), text(l, "message")))
                .collect(),
        })
        .collect()
}

/// Copy a folder's files, recursively.
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("a folder") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// The exit status of a run that was not killed by a signal.
#[must_use]
pub fn code(output: &std::process::Output) -> i32 {
    output.status.code().expect("exited, not killed by a signal")
}

#[must_use]
pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

#[must_use]
pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// xorshift64*: small, seeded, the same sequence on every machine (the mutation tests).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}
