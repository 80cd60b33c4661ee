//! What every integration test needs to run meshlint: the binary, set up so that a test
//! sees only the inputs it names.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

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
/// judged alone, as it would be in a repository of its own.
#[must_use]
pub fn meshlint_in(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_meshlint"));
    cmd.current_dir(dir).env("NO_COLOR", "1").env("GIT_CEILING_DIRECTORIES", root());
    cmd
}

/// The meshlint binary run at the crate root.
#[must_use]
pub fn meshlint() -> Command {
    meshlint_in(root())
}
