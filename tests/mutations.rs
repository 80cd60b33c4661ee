//! A deterministic mutation fuzzer over the corpus, on stable Rust, in the normal suite:
//! each case takes a corpus file, applies a few seeded mutations (byte flips, deletions,
//! duplicated and swapped lines, re-indentation, YAML tokens, names injection adds,
//! invalid UTF-8), then asserts the properties of `meshlint::fuzzing`: checking and
//! rendering never panic, inject → inject → uninject is exact or refused, and the
//! block-subset YAML parser declines the text or agrees with the general one. A sample of
//! the cases also goes through the binary, whose exit status must be 0, 1 or 2.
//!
//! The long runs are the cargo-fuzz targets under `fuzz/` (see `scripts/fuzz`).

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use meshlint::fuzzing::{self, RoundTrip};

mod common;
use common::Rng;

/// Cases in one run: a few thousand, well under a minute in a debug build.
const CASES: usize = 3000;
/// Every this many cases also run through the binary.
const BINARY_EVERY: usize = 60;
/// Corpus files larger than this are left out (they only cost time).
/// Only files with a pod spec (`containers:`) are mutated.
const MAX_FILE: u64 = 48 * 1024;

/// Text that YAML, Kubernetes or meshlint treats specially.
const TOKENS: &[&[u8]] = &[
    b"---\n",
    b"...\n",
    b": ",
    b"- ",
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b"'",
    b"&a ",
    b"*a",
    b"<<: *a\n",
    b"!!binary ",
    b"|\n",
    b">-\n",
    b"#",
    b"\t",
    b"\r",
    b"\r\n",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\0",
    b"{{ .Values.x }}",
    b"\x1b[31m",
    b"name: istio-proxy\n",
    b"- name: istio-certs\n",
    b"- name: istio-init\n",
    b"sidecar.istio.io/inject: \"false\"\n",
    b"sidecar.istio.io/status: injected-version-0.2.6\n",
    b"hostNetwork: true\n",
    b"volumes:\n",
    b"initContainers: []\n",
    b"annotations: {}\n",
    b"# meshlint: ignore\n",
    b"kind: Deployment\n",
    b"apiVersion: apps/v1\n",
];

fn corpus_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let mut files = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(path);
            } else if meta.len() <= MAX_FILE
                && path.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
                // Files with a pod spec: the round trip has something to do.
                && std::fs::read(&path).is_ok_and(|b| b.windows(11).any(|w| w == b"containers:"))
            {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() > 100, "the corpus is beside the repository ({} files found)", files.len());
    files
}

/// Line starts of `bytes`.
fn lines(bytes: &[u8]) -> Vec<usize> {
    std::iter::once(0).chain(bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i + 1)).collect()
}

fn mutate(rng: &mut Rng, mut bytes: Vec<u8>) -> Vec<u8> {
    for _ in 0..=rng.below(2) {
        let len = bytes.len().max(1);
        let at = rng.below(len).min(bytes.len());
        match rng.below(8) {
            0 if !bytes.is_empty() => {
                let i = at.min(bytes.len() - 1);
                bytes[i] ^= 1 << rng.below(8);
            }
            1 => {
                let end = (at + rng.below(64)).min(bytes.len());
                bytes.drain(at..end);
            }
            2 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                bytes.splice(at..at, token.iter().copied());
            }
            3 => {
                // Duplicate a line (a duplicate key, a second list item).
                let starts = lines(&bytes);
                let i = rng.below(starts.len());
                let end = starts.get(i + 1).copied().unwrap_or(bytes.len());
                let line = bytes[starts[i]..end].to_vec();
                bytes.splice(end..end, line);
            }
            4 => {
                // Move a line elsewhere.
                let starts = lines(&bytes);
                let i = rng.below(starts.len());
                let end = starts.get(i + 1).copied().unwrap_or(bytes.len());
                let line: Vec<u8> = bytes.drain(starts[i]..end).collect();
                let to = rng.below(bytes.len() + 1);
                bytes.splice(to..to, line);
            }
            5 => {
                // Re-indent a line by one or two spaces either way.
                let starts = lines(&bytes);
                let s = starts[rng.below(starts.len())];
                if rng.below(2) == 0 {
                    bytes.splice(s..s, b"  "[..=rng.below(2)].iter().copied());
                } else if bytes.get(s) == Some(&b' ') {
                    bytes.remove(s);
                }
            }
            6 => {
                // Copy a span of the file to another place.
                let end = (at + rng.below(200)).min(bytes.len());
                let span = bytes[at..end].to_vec();
                let to = rng.below(bytes.len() + 1);
                bytes.splice(to..to, span);
            }
            _ => bytes.truncate(at),
        }
    }
    bytes
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[test]
fn mutated_corpus_files_never_panic_and_round_trip_exactly_or_refuse() {
    let files = corpus_files();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x6d65_7368_6c69_6e74);
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    let mut failures = Vec::new();
    let mut exact = 0;
    for case in 0..CASES {
        let source = &files[rng.below(files.len())];
        let mutated = mutate(&mut rng, std::fs::read(source).unwrap());
        let path = dir.path().join(format!("case-{case}.yaml"));
        let what = format!("case {case} (from {})", source.display());
        match std::panic::catch_unwind(AssertUnwindSafe(|| fuzzing::check(&path, &mutated))) {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => failures.push(format!("{what}: check could not write: {e}")),
            Err(p) => failures.push(format!("{what}: check panicked: {}", panic_text(&*p))),
        }
        match std::panic::catch_unwind(AssertUnwindSafe(|| fuzzing::round_trip(&mutated))) {
            Ok(Ok(outcome)) => {
                exact += usize::from(outcome == RoundTrip::Exact);
                *outcomes.entry(format!("{outcome:?}")).or_default() += 1;
            }
            Ok(Err(e)) => failures.push(format!("{what}: {e}")),
            Err(p) => failures.push(format!("{what}: round trip panicked: {}", panic_text(&*p))),
        }
        match std::panic::catch_unwind(AssertUnwindSafe(|| fuzzing::parsers_agree(&mutated))) {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => failures.push(format!("{what}: {e}")),
            Err(p) => failures.push(format!("{what}: a parser panicked: {}", panic_text(&*p))),
        }
        if case % BINARY_EVERY == 0 {
            let output = std::process::Command::new(env!("CARGO_BIN_EXE_meshlint"))
                .args(["check", "--no-context", "--format", "concise"])
                .arg(&path)
                .output()
                .expect("meshlint runs");
            let err = String::from_utf8_lossy(&output.stderr);
            if !matches!(output.status.code(), Some(0..=2)) || err.contains("panicked") {
                failures.push(format!("{what}: binary exited {:?}: {err}", output.status.code()));
            }
        }
        std::fs::remove_file(&path).ok();
    }
    assert!(failures.is_empty(), "{} of {CASES} cases failed; first:\n{}", failures.len(), failures[0]);
    // The mutations must reach the interesting paths, not only files that no longer parse.
    assert!(exact >= CASES / 10, "too few exact round trips: {outcomes:?}");
    eprintln!("round trips: {outcomes:?}");
}
