//! End-to-end tests through the `meshlint` binary: edge-case inputs never make it panic
//! and never hide the other files of a run, positions are exact (CRLF, non-ASCII), the
//! real corpus and the Istio 0.2.6 reference give the findings they should, stdin gives
//! the same findings as a path, exit codes and formats agree, and output does not depend
//! on the thread count. The loader's document count is checked against the corpus index
//! through the library.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use serde_json::Value;

use common::{Diag, code, diags, meshlint_in, root, shared, stderr, stdout};

// ---------------------------------------------------------------------------------------
// Helpers

fn run_in(dir: &Path, args: &[&str]) -> Output {
    let output = meshlint_in(dir).args(args).output().expect("meshlint runs");
    assert_no_panic(&output, args);
    output
}

fn run(args: &[&str]) -> Output {
    run_in(root(), args)
}

fn assert_no_panic(output: &Output, args: &[&str]) {
    let err = stderr(output);
    assert!(!err.contains("panicked"), "meshlint {args:?} panicked:\n{err}");
    assert!(matches!(output.status.code(), Some(0..=2)), "meshlint {args:?} exited with {:?}:\n{err}", output.status);
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON document")
}

/// One diagnostic of the JSON output.
/// The rules this suite owns the expectations of; rules added later are ignored where a
/// test lists every expected finding.
const OWN_RULES: &[&str] =
    &["invalid-yaml", "duplicate-key", "template-skipped", "unnamed-service-port", "unknown-port-protocol"];

fn own(diags: Vec<Diag>) -> Vec<Diag> {
    diags.into_iter().filter(|d| OWN_RULES.contains(&d.rule.as_str())).collect()
}

/// The 1-based `line` of a file as text (invalid UTF-8 replaced), without its line break.
fn source_line(file: &Path, line: usize) -> String {
    let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let l = text.split('\n').nth(line - 1).unwrap_or_else(|| panic!("{} has no line {line}", file.display()));
    l.strip_suffix('\r').unwrap_or(l).to_owned()
}

/// The text of a line from a 1-based column counted in characters, and the text before.
fn split_at_column(line: &str, column: usize) -> (String, String) {
    let before: String = line.chars().take(column - 1).collect();
    let after: String = line.chars().skip(column - 1).collect();
    assert_eq!(before.chars().count(), column - 1, "column {column} is past the end of {line:?}");
    (before, after)
}

/// The text between the first pair of backticks of a message.
fn quoted(message: &str) -> &str {
    message.split('`').nth(1).unwrap_or_else(|| panic!("no `quoted` part in {message:?}"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            std::fs::copy(&path, to.join(path.file_name().expect("name"))).expect("copy");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Edge cases

/// Block and flow nesting far past any real manifest.
const DEEP: usize = 10_000;

/// `fixtures/edge` plus the generated deep files, in `<tmp>/edge`.
fn edge_tree() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let edge = tmp.path().join("edge");
    copy_dir(&root().join("fixtures/edge"), &edge);
    std::fs::write(edge.join("deep-block.yaml"), format!("{}x\n", "- ".repeat(DEEP))).expect("write");
    std::fs::write(edge.join("deep-flow.yaml"), format!("{}{}\n", "[".repeat(DEEP), "]".repeat(DEEP))).expect("write");
    std::fs::write(edge.join("deep-flow-map.yaml"), format!("{}x{}\n", "{a: ".repeat(DEEP), "}".repeat(DEEP)))
        .expect("write");
    // Block mappings need one more space per level: deep enough, not quadratic in DEEP.
    let levels = 2 * meshlint::yaml::MAX_DEPTH;
    let mut map = String::new();
    for i in 0..levels {
        let _ = writeln!(map, "{}a:", " ".repeat(i));
    }
    let _ = writeln!(map, "{}x", " ".repeat(levels));
    std::fs::write(edge.join("deep-block-map.yaml"), map).expect("write");
    tmp
}

/// A finding expected in an edge file: where, and the text that starts there (when the
/// column is checked).
struct Expect {
    file: &'static str,
    rule: &'static str,
    line: usize,
    column: Option<usize>,
    token: Option<&'static str>,
}

const fn expect(
    file: &'static str,
    rule: &'static str,
    line: usize,
    column: Option<usize>,
    token: Option<&'static str>,
) -> Expect {
    Expect { file, rule, line, column, token }
}

fn edge_expectations() -> Vec<Expect> {
    let depth = meshlint::yaml::MAX_DEPTH;
    vec![
        expect("binary.yaml", "invalid-yaml", 1, Some(1), None),
        expect("broken.yaml", "invalid-yaml", 7, Some(3), Some("selector:")),
        expect("crlf.yaml", "unknown-port-protocol", 9, Some(11), Some("mysql")),
        // The first collection past the limit: one more space per level, two characters per `- `.
        expect("deep-block-map.yaml", "invalid-yaml", depth + 1, Some(depth + 1), Some("a:")),
        expect("deep-block.yaml", "invalid-yaml", 1, Some(2 * depth + 1), Some("- ")),
        expect("deep-flow-map.yaml", "invalid-yaml", 1, None, None),
        expect("deep-flow.yaml", "invalid-yaml", 1, None, None),
        expect("helm-template.yaml", "template-skipped", 4, Some(9), Some("{{ include")),
        expect("invalid-utf8.yaml", "invalid-yaml", 6, Some(16), Some("\u{FFFD}")),
        expect("list.yaml", "unknown-port-protocol", 20, Some(13), Some("memcache")),
        expect("manifest.json", "unnamed-service-port", 8, Some(16), Some("9090")),
        expect("multi-doc.yaml", "unnamed-service-port", 11, Some(11), Some("8080")),
        expect("non-ascii.yaml", "unknown-port-protocol", 9, Some(47), Some("\"ümlaut\"")),
        expect("valid-service.yaml", "unnamed-service-port", 9, Some(11), Some("443")),
    ]
}

#[test]
fn edge_fixtures_together_report_every_file_and_never_panic() {
    let tmp = edge_tree();
    let out = run_in(tmp.path(), &["check", "--format", "json", "edge"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "no tool error");
    let report = json(&out);
    let files = std::fs::read_dir(tmp.path().join("edge")).expect("dir").count();
    assert_eq!(files, 17);
    assert_eq!(report["summary"]["files"], files);
    // alias-bomb 1, crlf 1, list items 2, json 1, multi-doc 2, non-ascii 1, valid-service 1.
    assert_eq!(report["summary"]["objects"], 9);

    let found = own(diags(&report));
    let expected = edge_expectations();
    let got: Vec<(String, String, usize)> = found.iter().map(|d| (d.path.clone(), d.rule.clone(), d.line)).collect();
    let want: Vec<(String, String, usize)> =
        expected.iter().map(|e| (format!("edge/{}", e.file), e.rule.to_owned(), e.line)).collect();
    assert_eq!(got, want);
    for (d, e) in found.iter().zip(&expected) {
        if let Some(column) = e.column {
            assert_eq!(d.column, column, "{d:?}");
        }
        if let Some(token) = e.token {
            let (_, at) = split_at_column(&source_line(&tmp.path().join(&d.path), d.line), d.column);
            assert!(at.starts_with(token), "{}:{}:{} points at {at:?}, not {token:?}", d.path, d.line, d.column);
        }
    }
    let by_file: BTreeMap<&str, &Diag> = found.iter().map(|d| (d.path.as_str(), d)).collect();
    assert!(by_file["edge/binary.yaml"].message.contains("binary"));
    assert!(by_file["edge/invalid-utf8.yaml"].message.contains("UTF-8"));
    assert_eq!(by_file["edge/helm-template.yaml"].severity, "info");
    assert_eq!(by_file["edge/broken.yaml"].severity, "error");
}

#[test]
fn edge_positions_count_characters_and_ignore_carriage_returns() {
    // `--no-context`: named files, not the rest of this repository.
    let out =
        run(&["check", "--format", "json", "--no-context", "fixtures/edge/crlf.yaml", "fixtures/edge/non-ascii.yaml"]);
    let found = diags(&json(&out));
    let spans: Vec<(&str, usize, usize, usize, usize)> =
        found.iter().map(|d| (d.path.as_str(), d.line, d.column, d.end_line, d.end_column)).collect();
    assert_eq!(
        spans,
        [
            // `  - name: mysql\r`: the span ends before the carriage return.
            ("fixtures/edge/crlf.yaml", 9, 11, 9, 16),
            // 46 characters (50 bytes) precede `"ümlaut"`, which is 8 characters long.
            ("fixtures/edge/non-ascii.yaml", 9, 47, 9, 55),
        ]
    );
    let concise = stdout(&run(&["check", "--format", "concise", "--no-context", "fixtures/edge/crlf.yaml"]));
    assert!(concise.starts_with("fixtures/edge/crlf.yaml:9:11: warning[unknown-port-protocol] "), "{concise}");
    assert!(!concise.contains('\r'));
}

#[test]
fn each_edge_fixture_alone_is_a_diagnostic_or_a_clean_pass_in_every_format() {
    let tmp = edge_tree();
    let expected = edge_expectations();
    let mut names: Vec<String> = std::fs::read_dir(tmp.path().join("edge"))
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in &names {
        let path = format!("edge/{name}");
        let fails = expected.iter().any(|e| e.file == name && e.rule != "template-skipped");
        for format in ["human", "concise", "json"] {
            let out = run_in(tmp.path(), &["check", "--format", format, &path]);
            assert_eq!(code(&out), i32::from(fails), "{path} in {format}: {}", stderr(&out));
            assert_eq!(stderr(&out), "", "{path} in {format}");
        }
        let report = json(&run_in(tmp.path(), &["check", "--format", "json", &path]));
        let rules: Vec<String> = own(diags(&report)).into_iter().map(|d| d.rule).collect();
        let want: Vec<&str> = expected.iter().filter(|e| e.file == name).map(|e| e.rule).collect();
        assert_eq!(rules, want, "{path}");
    }
}

#[test]
fn multi_document_and_alias_bomb_files_load_as_written() {
    let load = |name: &str| {
        let path = root().join("fixtures/edge").join(name);
        let bytes = std::fs::read(&path).expect("read");
        meshlint::load::load(0, name.to_owned(), Some(path), bytes)
    };
    // Document counts as PyYAML's `compose_all` gives them.
    let multi = load("multi-doc.yaml");
    assert!(multi.problems.is_empty(), "{:?}", multi.problems);
    assert_eq!(multi.documents.len(), 6);
    let kinds: Vec<Option<&str>> =
        multi.documents.iter().map(|d| d.root().get("kind").and_then(|k| k.as_str())).collect();
    // Leading `---`, an empty document, a comment-only one, a `...` end and a trailing `---`.
    assert_eq!(kinds.iter().flatten().copied().collect::<Vec<_>>(), ["Service", "ConfigMap"]);

    let bomb = load("alias-bomb.yaml");
    assert!(bomb.problems.is_empty(), "{:?}", bomb.problems);
    assert_eq!(bomb.documents.len(), 1);
    // 26 levels of 9 aliases each would be 9^26 nodes if expanded.
    assert!(bomb.documents[0].node_count() < 1_000, "{} nodes", bomb.documents[0].node_count());

    for name in ["empty.yaml", "comment-only.yaml"] {
        let file = load(name);
        assert!(file.problems.is_empty(), "{name}: {:?}", file.problems);
        assert_eq!(file.documents.len(), 0, "{name}");
    }
}

// ---------------------------------------------------------------------------------------
// The ports tree: expectations are `# expect: <rule>` markers on the reported line.

#[test]
fn port_rules_report_exactly_the_marked_lines_at_the_port_value() {
    let out = run(&["check", "--format", "json", "fixtures/trees/ports"]);
    assert_eq!(code(&out), 1);
    let found: Vec<Diag> = diags(&json(&out))
        .into_iter()
        .filter(|d| d.rule == "unnamed-service-port" || d.rule == "unknown-port-protocol")
        .collect();

    let mut markers = BTreeSet::new();
    for name in ["prefixes.yaml", "unnamed.yaml"] {
        let path = format!("fixtures/trees/ports/{name}");
        let source = std::fs::read_to_string(root().join(&path)).expect("read");
        for (i, line) in source.lines().enumerate() {
            if let Some((_, rule)) = line.split_once("# expect: ") {
                markers.insert((path.clone(), i + 1, rule.trim().to_owned()));
            }
        }
    }
    assert_eq!(markers.len(), 7);
    let got: BTreeSet<(String, usize, String)> =
        found.iter().map(|d| (d.path.clone(), d.line, d.rule.clone())).collect();
    assert_eq!(got, markers);
    assert_eq!(found.len(), markers.len(), "one finding per marked line");

    for d in &found {
        let line = source_line(&root().join(&d.path), d.line);
        let key = if line.contains("name:") { "name: " } else { "port: " };
        let value_column = line[..line.find(key).expect("key on the line") + key.len()].chars().count() + 1;
        assert_eq!(d.column, value_column, "{d:?} on {line:?}");
    }
    let help = |name: &str| {
        found
            .iter()
            .find(|d| d.message.contains(&format!("`{name}`")))
            .unwrap_or_else(|| panic!("no finding for {name}"))
            .help
            .clone()
            .unwrap_or_default()
    };
    assert_eq!(help("http2foo"), "rename the port to `http2-foo`");
    assert_eq!(help("HTTP"), "rename the port to `http`");
    assert_eq!(help("Grpc-web"), "rename the port to `grpc-web`");
    assert!(help("mysql").contains("`tcp-mysql`"), "{}", help("mysql"));
    for fine in ["tcp-foo", "udp-stats", "`tcp`", "http2-foo`", "statsd", "dns"] {
        assert!(found.iter().all(|d| !d.message.contains(fine)), "{fine} is reported");
    }
}

#[test]
fn quoted_port_name_span_ends_at_its_closing_quote() {
    let out = run(&["check", "--format", "json", "--no-context", "fixtures/trees/ports/unnamed.yaml"]);
    let found = diags(&json(&out));
    let empty = found.iter().find(|d| d.line == 12).expect("the `name: \"\"` port");
    // `  - name: ""  # expect: ...`: `""` spans columns 11 and 12.
    assert_eq!((empty.column, empty.end_line, empty.end_column), (11, 12, 13));
}

// ---------------------------------------------------------------------------------------
// The real corpus

fn corpus_report() -> &'static (Value, String) {
    static REPORT: OnceLock<(Value, String)> = OnceLock::new();
    REPORT.get_or_init(|| {
        let out = run_in(&shared(), &["check", "--format", "json", "corpus"]);
        assert_eq!(code(&out), 1, "warnings are expected in the corpus: {}", stderr(&out));
        (json(&out), stderr(&out))
    })
}

/// The corpus files that repeat a mapping key (SOURCES.md), with the key.
const CORPUS_DUPLICATES: &[(&str, &str)] = &[
    ("openshift-origin/etcd-controller.yaml", "selector"),
    ("openshift-origin/etcd-discovery-controller.yaml", "selector"),
    ("openshift-origin/openshift-controller.yaml", "selector"),
    ("persistent-volume-provisioning/quobyte/quobyte-admin-secret.yaml", "type"),
    ("volumes/scaleio/sc-pvc.yaml", "storageClassName"),
];

/// The first two lines that start with `key:` at the same indentation: (line, column).
fn key_occurrences(file: &Path, key: &str) -> [(usize, usize); 2] {
    let source = std::fs::read_to_string(file).expect("read");
    let mut seen: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    for (i, line) in source.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if trimmed.strip_prefix(key).is_some_and(|rest| rest.starts_with(':')) {
            if let Some(&first) = seen.get(&indent) {
                return [first, (i + 1, indent + 1)];
            }
            seen.insert(indent, (i + 1, indent + 1));
        }
    }
    panic!("{} does not repeat `{key}`", file.display());
}

#[test]
fn corpus_is_checked_without_panic_or_parse_errors() {
    let (report, err) = corpus_report();
    assert_eq!(err, "");
    let index = std::fs::read_to_string(shared().join("corpus/index.tsv")).expect("index.tsv");
    assert_eq!(report["summary"]["files"], index.lines().count() - 1);
    assert_eq!(report["summary"]["files"], 712);
    let found = diags(report);
    // Every corpus file parses with PyYAML and none is a Helm template (SOURCES.md), even
    // the 16 that hold `{{` inside string values.
    for rule in ["invalid-yaml", "template-skipped"] {
        let hits: Vec<&Diag> = found.iter().filter(|d| d.rule == rule).collect();
        assert!(hits.is_empty(), "{rule}: {hits:#?}");
    }
    assert_eq!(report["summary"]["error"], found.iter().filter(|d| d.severity == "error").count());
}

#[test]
fn corpus_duplicate_keys_point_at_the_second_occurrence() {
    let (report, _) = corpus_report();
    let dups: Vec<Diag> = diags(report).into_iter().filter(|d| d.rule == "duplicate-key").collect();
    let prefix = "corpus/kubernetes__examples/_archived/";
    let files: Vec<&str> = dups.iter().map(|d| d.path.strip_prefix(prefix).unwrap_or(&d.path)).collect();
    let want: Vec<&str> = CORPUS_DUPLICATES.iter().map(|(f, _)| *f).collect();
    assert_eq!(files, want, "exactly the five files of SOURCES.md");
    for (d, (file, key)) in dups.iter().zip(CORPUS_DUPLICATES) {
        let [first, second] = key_occurrences(&shared().join(&d.path), key);
        assert_eq!((d.line, d.column), second, "{file}: the kept `{key}`");
        assert_eq!((d.end_line, d.end_column), (second.0, second.1 + key.len()), "{file}");
        assert_eq!(d.labels.len(), 1, "{file}");
        assert_eq!((d.labels[0].0, d.labels[0].1), first, "{file}: the discarded `{key}`");
        assert!(d.message.contains(&format!("`{key}`")), "{}", d.message);
        assert_eq!(d.severity, "warning");
    }
}

#[test]
fn loader_finds_the_manifest_documents_of_the_corpus_index() {
    let corpus = shared().join("corpus");
    let index = std::fs::read_to_string(corpus.join("index.tsv")).expect("index.tsv");
    let mut lines = index.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).expect("column");
    let (path_col, docs_col) = (column("path"), column("manifest_documents"));
    let mut mismatches = Vec::new();
    let (mut files, mut total) = (0, 0);
    for row in lines {
        let fields: Vec<&str> = row.split('\t').collect();
        let want: usize = fields[docs_col].parse().expect("a count");
        let path = corpus.join(fields[path_col]);
        let bytes = std::fs::read(&path).expect("read corpus file");
        let file = meshlint::load::load(0, fields[path_col].to_owned(), Some(path), bytes);
        let got = file
            .documents
            .iter()
            .filter(|doc| {
                let root = doc.root();
                let string = |key: &str| root.get(key).and_then(|n| n.as_str()).is_some();
                root.is_map() && string("apiVersion") && string("kind")
            })
            .count();
        if got != want {
            mismatches.push(format!("{}: {got} manifest documents, index says {want}", fields[path_col]));
        }
        files += 1;
        total += got;
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert_eq!((files, total), (712, 1359), "the totals of SOURCES.md");
}

// ---------------------------------------------------------------------------------------
// The Istio 0.2.6 reference

/// Port findings of the 0.2.6 install and samples, checked against the files by hand:
/// (file, rule, port name or, for an unnamed port, its number). `mesh-expansion.yaml`'s
/// first Service (unnamed port 8080) has `Version: v1` for `apiVersion`: it is reported
/// as `missing-api-version` and still checked.
const REFERENCE_PORTS: &[(&str, &str, &str)] = &[
    ("install/kubernetes/addons/prometheus.yaml", "unknown-port-protocol", "prometheus"),
    ("install/kubernetes/addons/zipkin-to-stackdriver.yaml", "unknown-port-protocol", "zipkin"),
    ("install/kubernetes/istio-auth.yaml", "unknown-port-protocol", "configapi"),
    ("install/kubernetes/istio-auth.yaml", "unknown-port-protocol", "statsd-prom"),
    ("install/kubernetes/istio-auth.yaml", "unknown-port-protocol", "prometheus"),
    ("install/kubernetes/istio-auth.yaml", "unnamed-service-port", "80"),
    ("install/kubernetes/istio-one-namespace-auth.yaml", "unknown-port-protocol", "configapi"),
    ("install/kubernetes/istio-one-namespace-auth.yaml", "unknown-port-protocol", "statsd-prom"),
    ("install/kubernetes/istio-one-namespace-auth.yaml", "unknown-port-protocol", "prometheus"),
    ("install/kubernetes/istio-one-namespace-auth.yaml", "unnamed-service-port", "80"),
    ("install/kubernetes/istio-one-namespace.yaml", "unknown-port-protocol", "configapi"),
    ("install/kubernetes/istio-one-namespace.yaml", "unknown-port-protocol", "statsd-prom"),
    ("install/kubernetes/istio-one-namespace.yaml", "unknown-port-protocol", "prometheus"),
    ("install/kubernetes/istio-one-namespace.yaml", "unnamed-service-port", "80"),
    ("install/kubernetes/istio.yaml", "unknown-port-protocol", "configapi"),
    ("install/kubernetes/istio.yaml", "unknown-port-protocol", "statsd-prom"),
    ("install/kubernetes/istio.yaml", "unknown-port-protocol", "prometheus"),
    ("install/kubernetes/istio.yaml", "unnamed-service-port", "80"),
    ("install/kubernetes/mesh-expansion.yaml", "unnamed-service-port", "8080"),
    ("install/kubernetes/mesh-expansion.yaml", "unnamed-service-port", "9091"),
    ("install/kubernetes/mesh-expansion.yaml", "unnamed-service-port", "8060"),
    ("samples/bookinfo/kube/bookinfo-mysql.yaml", "unknown-port-protocol", "mysql"),
];

fn reference_dir() -> PathBuf {
    shared().join("reference")
}

fn is_port_rule(d: &Diag) -> bool {
    d.rule == "unnamed-service-port" || d.rule == "unknown-port-protocol"
}

/// The port name or number a port finding is about, from its message.
fn port_token(d: &Diag) -> String {
    if d.rule == "unknown-port-protocol" {
        quoted(&d.message).to_owned()
    } else {
        d.message.strip_prefix("port ").and_then(|m| m.split(' ').next()).expect("`port N of ...`").to_owned()
    }
}

/// (file under `istio-0.2.6/`, rule, token) of port findings.
fn port_findings(found: &[Diag]) -> Vec<(String, String, String)> {
    found
        .iter()
        .filter(|d| is_port_rule(d))
        .map(|d| {
            (d.path.strip_prefix("istio-0.2.6/").expect("under the root").to_owned(), d.rule.clone(), port_token(d))
        })
        .collect()
}

fn reference_ports(keep: impl Fn(&str) -> bool) -> Vec<(String, String, String)> {
    REFERENCE_PORTS
        .iter()
        .filter(|(f, _, _)| keep(f))
        .map(|(f, r, t)| ((*f).to_owned(), (*r).to_owned(), (*t).to_owned()))
        .collect()
}

/// A port finding starts at the port's name (or number, when it has no name) and ends
/// where that value ends.
fn assert_points_at_the_port(d: &Diag) {
    let token = port_token(d);
    let line = source_line(&reference_dir().join(&d.path), d.line);
    let (before, at) = split_at_column(&line, d.column);
    let key = if d.rule == "unknown-port-protocol" { "name:" } else { "port:" };
    assert!(
        before.trim_end().ends_with(key),
        "{}:{}: {line:?} has no `{key}` before column {}",
        d.path,
        d.line,
        d.column
    );
    assert!(at.starts_with(&token), "{}:{}:{} points at {at:?}, not {token:?}", d.path, d.line, d.column);
    assert_eq!((d.end_line, d.end_column), (d.line, d.column + token.chars().count()), "{d:?}");
    if d.rule == "unnamed-service-port" {
        assert!(before.trim_start().starts_with("- "), "the port entry starts on the line: {line:?}");
    }
}

#[test]
fn reference_port_findings_point_at_the_port_name_or_number() {
    let out = run_in(&reference_dir(), &["check", "--format", "json", "istio-0.2.6"]);
    assert_eq!(code(&out), 1);
    let found = diags(&json(&out));
    // Every definition is checked: the install's variants (`istio.yaml`, the one-namespace
    // files) repeat the Services of `istio-auth.yaml`, and each copy is reported.
    assert_eq!(port_findings(&found), reference_ports(|_| true));
    for d in found.iter().filter(|d| is_port_rule(d)) {
        assert_points_at_the_port(d);
    }
}

fn reference_files() -> Vec<String> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, base, out);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                out.push(path.strip_prefix(base).expect("under base").to_string_lossy().into_owned());
            }
        }
    }
    let mut files = Vec::new();
    walk(&reference_dir().join("istio-0.2.6"), &reference_dir(), &mut files);
    files.sort();
    files
}

#[test]
fn stdin_gives_the_same_findings_as_the_path() {
    let whole = own(diags(&json(&run_in(&reference_dir(), &["check", "--format", "json", "istio-0.2.6"]))));
    let files = reference_files();
    assert_eq!(files.len(), 33);
    let mut alone = Vec::new();
    for file in &files {
        let bytes = std::fs::read(reference_dir().join(file)).expect("read");
        let by_path = run_in(&reference_dir(), &["check", "--format", "json", file]);
        let by_stdin = meshlint_in(&reference_dir())
            .args(["check", "--format", "json", "-", "--stdin-filename", file])
            .write_stdin(bytes)
            .output()
            .expect("runs");
        assert_no_panic(&by_stdin, &["-", "--stdin-filename", file]);
        assert_eq!(code(&by_stdin), code(&by_path), "{file}");
        let stdin_diags = diags(&json(&by_stdin));
        assert_eq!(stdin_diags, diags(&json(&by_path)), "{file}");
        alone.extend(own(stdin_diags));
    }
    // Each file alone has all of its port findings, each at the port.
    assert_eq!(port_findings(&alone), reference_ports(|_| true));
    for d in alone.iter().filter(|d| is_port_rule(d)) {
        assert_points_at_the_port(d);
    }
    // Parse findings do not depend on the other files; port findings of the whole tree are
    // those of the files alone, variants included.
    let parse = |ds: &[Diag]| ds.iter().filter(|d| !is_port_rule(d)).cloned().collect::<Vec<_>>();
    assert_eq!(parse(&alone), parse(&whole));
    assert_eq!(parse(&whole).iter().filter(|d| d.rule == "duplicate-key").count(), 4);
    let kept: Vec<&Diag> = alone.iter().filter(|d| is_port_rule(d)).collect();
    assert_eq!(kept, whole.iter().filter(|d| is_port_rule(d)).collect::<Vec<_>>());
}

#[test]
fn empty_stdin_is_a_clean_pass() {
    for format in ["human", "concise", "json"] {
        let out = meshlint_in(root()).args(["check", "--format", format, "-"]).write_stdin("").output().expect("runs");
        assert_no_panic(&out, &["-"]);
        assert_eq!(code(&out), 0, "{format}");
    }
    let out = meshlint_in(root()).args(["check", "--format", "json", "-"]).write_stdin("").output().expect("runs");
    assert_eq!(json(&out)["summary"]["files"], 1);
    assert_eq!(json(&out)["diagnostics"], Value::Array(Vec::new()));
}

// ---------------------------------------------------------------------------------------
// Exit codes and formats

const FORMATS: [&str; 3] = ["human", "concise", "json"];

#[test]
fn exit_codes_agree_across_formats() {
    let cases: &[(&[&str], i32)] = &[
        (&["fixtures/trees/clean"], 0),
        (&["fixtures/trees/ports"], 1),
        (&["--fail-on", "warning", "fixtures/trees/ports"], 1),
        (&["--fail-on", "error", "fixtures/trees/ports"], 0),
        (&["--fail-on", "info", "fixtures/trees/ports"], 1),
        (&["fixtures/edge/helm-template.yaml"], 0),
        (&["--fail-on", "info", "fixtures/edge/helm-template.yaml"], 1),
        (&["--fail-on", "error", "fixtures/edge/broken.yaml"], 1),
        (&["fixtures/edge/empty.yaml", "fixtures/edge/comment-only.yaml"], 0),
        (&["fixtures/no-such-file.yaml", "fixtures/trees/clean"], 2),
        (&["--fail-on", "error", "fixtures/no-such-file.yaml", "fixtures/trees/ports"], 2),
    ];
    for (args, want) in cases {
        for format in FORMATS {
            // `--no-context`: judge the named files only, not the rest of this repository.
            let mut all = vec!["check", "--no-context", "--format", format];
            all.extend_from_slice(args);
            let out = run(&all);
            assert_eq!(code(&out), *want, "{all:?}: {}", stderr(&out));
            assert_eq!(stderr(&out).is_empty(), *want != 2, "{all:?}: {}", stderr(&out));
        }
    }
}

#[test]
fn a_missing_path_is_a_tool_error_and_the_other_files_are_still_reported() {
    for format in FORMATS {
        let out = run(&["check", "--format", format, "fixtures/no-such-file.yaml", "fixtures/trees/ports"]);
        assert_eq!(code(&out), 2, "{format}");
        let err = stderr(&out);
        assert!(err.contains("fixtures/no-such-file.yaml"), "{format}: {err}");
        assert_eq!(err.lines().count(), 1, "{format}: one error line: {err}");
        let text = stdout(&out);
        for expected in
            ["fixtures/trees/ports/unnamed.yaml", "fixtures/trees/ports/prefixes.yaml", "unnamed-service-port"]
        {
            assert!(text.contains(expected), "{format}: {expected} missing from\n{text}");
        }
    }
    let out = run(&["check", "--format", "json", "fixtures/no-such-file.yaml", "fixtures/trees/ports"]);
    let report = json(&out);
    assert_eq!(report["summary"]["files"], 2);
    assert_eq!(own(diags(&report)).len(), 7);
}

#[test]
fn bad_arguments_exit_2() {
    for args in [&["check", "--format", "xml", "fixtures"][..], &["check", "--fail-on", "never", "fixtures"], &["lint"]]
    {
        let out = run(args);
        assert_eq!(code(&out), 2, "{args:?}");
        assert_eq!(stdout(&out), "", "{args:?}");
    }
}

/// Parse `path:line:col: severity[rule] message`.
fn parse_concise(line: &str) -> Option<(String, usize, usize, String, String, String)> {
    let (location, rest) = line.split_once(": ")?;
    let mut parts = location.rsplitn(3, ':');
    let column = parts.next()?.parse().ok()?;
    let line_no = parts.next()?.parse().ok()?;
    let path = parts.next()?.to_owned();
    let (tag, message) = rest.split_once(' ')?;
    let (severity, rule) = tag.strip_suffix(']')?.split_once('[')?;
    Some((path, line_no, column, severity.to_owned(), rule.to_owned(), message.to_owned()))
}

#[test]
fn concise_lines_are_the_json_diagnostics() {
    let inputs = ["fixtures/edge", "fixtures/trees/ports", "fixtures/trees/clean"];
    let concise = stdout(&run(&[&["check", "--format", "concise"][..], &inputs].concat()));
    let report = json(&run(&[&["check", "--format", "json"][..], &inputs].concat()));
    let from_json: Vec<(String, usize, usize, String, String, String)> =
        diags(&report).into_iter().map(|d| (d.path, d.line, d.column, d.severity, d.rule, d.message)).collect();
    let parsed: Vec<_> = concise
        .lines()
        .map(|l| parse_concise(l).unwrap_or_else(|| panic!("not `path:line:col: severity[rule] message`: {l:?}")))
        .collect();
    assert_eq!(parsed, from_json);
    assert!(parsed.len() >= 17, "{concise}");
    for (_, line, column, severity, rule, message) in &parsed {
        assert!(*line >= 1 && *column >= 1);
        assert!(["error", "warning", "info"].contains(&severity.as_str()));
        assert!(meshlint::rules::find(rule).is_some(), "unknown rule {rule}");
        assert!(!message.is_empty() && !message.ends_with('.'), "{message:?}");
    }
    assert!(
        concise.lines().any(|l| l == "fixtures/trees/ports/prefixes.yaml:26:11: warning[unknown-port-protocol] port name `http2foo` does not start with a protocol Istio 0.2 recognises, so its traffic is plain TCP"),
        "{concise}"
    );
}

#[test]
fn json_has_the_documented_keys_and_values() {
    let out = run(&[
        "check",
        "--format",
        "json",
        "--no-context",
        "fixtures/trees/ports/prefixes.yaml",
        "fixtures/edge/multi-doc.yaml",
    ]);
    let report = json(&out);
    let keys = |v: &Value| v.as_object().expect("an object").keys().cloned().collect::<BTreeSet<String>>();
    let set = |names: &[&str]| names.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<String>>();
    assert_eq!(keys(&report), set(&["diagnostics", "summary"]));
    let summary = &report["summary"];
    assert!(keys(summary).is_superset(&set(&["files", "documents", "objects", "error", "warning", "info"])));
    // multi-doc.yaml: six documents, four of them empty; a Service and a ConfigMap.
    assert_eq!(
        [&summary["files"], &summary["documents"], &summary["objects"]],
        [&Value::from(2), &Value::from(7), &Value::from(3)]
    );
    let all = report["diagnostics"].as_array().expect("array");
    for severity in ["error", "warning", "info"] {
        assert_eq!(summary[severity], all.iter().filter(|d| d["severity"] == severity).count(), "{severity}");
    }
    let documented = set(&[
        "rule",
        "severity",
        "message",
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "object",
        "labels",
        "help",
    ]);
    for d in all {
        assert_eq!(keys(d), documented, "{d}");
    }
    let http2foo = all.iter().find(|d| d["message"].as_str().is_some_and(|m| m.contains("`http2foo`"))).expect("found");
    assert_eq!(http2foo["rule"], "unknown-port-protocol");
    assert_eq!(http2foo["severity"], "warning");
    assert_eq!(http2foo["path"], "fixtures/trees/ports/prefixes.yaml");
    assert_eq!(
        [&http2foo["line"], &http2foo["column"], &http2foo["end_line"], &http2foo["end_column"]],
        [&Value::from(26), &Value::from(11), &Value::from(26), &Value::from(19)]
    );
    assert_eq!(
        http2foo["object"],
        serde_json::json!({"apiVersion": "v1", "kind": "Service", "namespace": null, "name": "prefixes"})
    );
    assert_eq!(http2foo["labels"], serde_json::json!([]));
    assert_eq!(http2foo["help"], "rename the port to `http2-foo`");

    let out = meshlint_in(root())
        .args(["check", "--format", "json", "-", "--stdin-filename", "dup.yaml"])
        .write_stdin("a: 1\nb: 2\na: 3\n")
        .output()
        .expect("runs");
    let dup = &json(&out)["diagnostics"][0];
    assert_eq!(dup["rule"], "duplicate-key");
    assert_eq!(dup["path"], "dup.yaml");
    assert_eq!([&dup["line"], &dup["column"]], [&Value::from(3), &Value::from(1)]);
    assert_eq!(dup["object"], Value::Null);
    assert_eq!(dup["labels"].as_array().map(Vec::len), Some(1));
    assert_eq!([&dup["labels"][0]["line"], &dup["labels"][0]["column"]], [&Value::from(1), &Value::from(1)]);
    assert_eq!(dup["labels"][0]["path"], "dup.yaml");
    assert!(dup["labels"][0]["message"].is_string());
}

#[test]
fn output_does_not_depend_on_the_thread_count() {
    let corpus = shared().join("corpus");
    let reference = reference_dir().join("istio-0.2.6");
    let (corpus, reference) = (corpus.to_str().expect("utf-8"), reference.to_str().expect("utf-8"));
    let runs: &[&[&str]] = &[
        &["check", "--format", "json", "fixtures/edge", "fixtures/trees/ports", reference, corpus],
        &["check", "--format", "concise", "fixtures/edge", "fixtures/trees/ports", reference],
        &["check", "--format", "human", "fixtures/edge", "fixtures/trees/ports", reference],
    ];
    for args in runs {
        let outputs: Vec<Output> = ["1", "2", "2"]
            .iter()
            .map(|threads| {
                let out = meshlint_in(root()).env("RAYON_NUM_THREADS", threads).args(*args).output().expect("runs");
                assert_no_panic(&out, args);
                out
            })
            .collect();
        assert!(!outputs[0].stdout.is_empty());
        for out in &outputs[1..] {
            assert!(out.stdout == outputs[0].stdout, "{args:?}: output differs between runs");
            assert_eq!(out.status.code(), outputs[0].status.code());
        }
    }
}

// ---------------------------------------------------------------------------------------
// rules and explain

#[test]
fn rules_lists_every_rule_with_its_severity() {
    let out = run(&["rules"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    for rule in meshlint::rules::RULES {
        let row = text
            .lines()
            .find(|l| l.split('|').nth(1).is_some_and(|c| c.trim() == rule.name))
            .unwrap_or_else(|| panic!("{} is not listed:\n{text}", rule.name));
        assert!(row.contains(rule.severity.as_str()), "{row}");
        assert!(row.contains(rule.summary), "{row}");
    }
}

#[test]
fn explain_prints_the_rule_doc() {
    let out = run(&["explain", "unnamed-service-port"]);
    assert_eq!(code(&out), 0);
    let doc = std::fs::read_to_string(root().join("rules/unnamed-service-port.md")).expect("doc");
    // The doc, then where the rule runs and at which level.
    assert_eq!(stdout(&out), format!("{doc}\n## Profiles\n\nistio-0.2: warning; istio-modern: info (IST0118)\n"));
    assert!(doc.starts_with("# unnamed-service-port\n"));

    let out = run(&["explain", "unnamed-port"]);
    assert_eq!(code(&out), 2);
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("unnamed-port"), "{}", stderr(&out));
}
