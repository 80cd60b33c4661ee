//! Exact snapshots of the two default human outputs on `examples/shop`: `check` (snippets,
//! labels, notes, the count table, the summary and the next steps) and `audit` (the
//! policy lines and the table). Each snapshot in `tests/snapshots/` was read line by line
//! against the example's files: every position is the line and column of the text it
//! points at, every count is the files' (8 files, 16 documents and objects; 2 errors and
//! 7 warnings, one per mistake the example's README lists; 7 of 8 workloads injected,
//! `payments` excluded by the ConfigMap). After a deliberate change of the output,
//! regenerate a snapshot with the command in its test and read the difference before
//! committing it.

mod common;

use common::{meshlint, stdout};

/// The first line that differs, for a readable failure.
fn first_difference(expected: &str, got: &str) -> String {
    let line = expected.lines().zip(got.lines()).position(|(a, b)| a != b);
    match line {
        Some(i) => format!(
            "line {}:\n  expected: {}\n  got:      {}",
            i + 1,
            expected.lines().nth(i).unwrap_or(""),
            got.lines().nth(i).unwrap_or("")
        ),
        None => format!("line counts differ: {} expected, {} got", expected.lines().count(), got.lines().count()),
    }
}

fn assert_snapshot(name: &str, args: &[&str], code: i32) {
    let out = meshlint().args(args).output().expect("meshlint runs");
    assert_eq!(out.status.code(), Some(code), "{args:?}");
    let expected = std::fs::read_to_string(common::root().join("tests/snapshots").join(name)).expect("snapshot");
    let got = stdout(&out);
    assert!(
        got == expected,
        "`meshlint {}` (NO_COLOR=1) differs from tests/snapshots/{name}: {}",
        args.join(" "),
        first_difference(&expected, &got)
    );
}

#[test]
fn the_human_format_of_check_on_the_example() {
    assert_snapshot("shop-check.txt", &["check", "examples/shop"], 1);
}

#[test]
fn the_audit_table_of_the_example() {
    assert_snapshot("shop-audit.txt", &["audit", "examples/shop"], 0);
}

/// The output of `meshlint check examples/shop` on a terminal (`script` gives it one),
/// with `NO_COLOR` set or not.
fn on_a_terminal(no_color: bool) -> Option<String> {
    let bin = env!("CARGO_BIN_EXE_meshlint");
    let env = if no_color { "NO_COLOR=1" } else { "-u NO_COLOR" };
    let out = std::process::Command::new("script")
        .current_dir(common::root())
        .args(["-qec", &format!("env {env} GIT_CEILING_DIRECTORIES=. {bin} check examples/shop"), "/dev/null"])
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn colour_on_a_terminal_and_none_with_no_color() {
    let (Some(coloured), Some(plain)) = (on_a_terminal(false), on_a_terminal(true)) else {
        panic!("`script` (util-linux) runs meshlint on a terminal; it is part of the machine image");
    };
    // The severity in bold yellow, then the same words as the snapshot.
    assert!(coloured.contains("\u{1b}[1m\u{1b}[38;5;11mwarning[unknown-port-protocol]"), "{coloured}");
    assert!(!plain.contains('\u{1b}'), "NO_COLOR: {plain}");
    let expected = std::fs::read_to_string(common::root().join("tests/snapshots/shop-check.txt")).expect("snapshot");
    assert_eq!(plain.replace("\r\n", "\n"), expected, "on a terminal with NO_COLOR, the snapshot");
}
