//! End-to-end tests of the 0.2 injection prediction through the `meshlint` binary: one
//! fixture tree per case under `fixtures/trees/inject/` (the seed's truth table,
//! annotation values, namespaces, kinds, configuration mistakes, proxy conflicts), each
//! audited (outcome and reason code of its workload) and checked (findings of the
//! injection rules with their positions, found by searching the fixture's text);
//! `--policy` and `--inject-config` overriding what the tree holds; and the Istio 0.2.6
//! reference, the seed's `myapp` example and the corpus.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

use common::root;

// ---------------------------------------------------------------------------------------
// Helpers

/// The fixture trees of this file, relative to the crate root.
const INJECT: &str = "fixtures/trees/inject";

/// The rules about injection; other rules' findings are not this file's business.
const INJECTION_RULES: [&str; 6] = [
    "workload-not-injected",
    "inject-annotation-value",
    "misplaced-inject-annotation",
    "invalid-inject-config",
    "proxy-uid-conflict",
    "proxy-port-conflict",
];

const OUTCOMES: [&str; 3] = ["injected", "not-injected", "already-injected"];

const REASONS: [&str; 13] = [
    "status-annotation",
    "proxy-container",
    "kind-not-initialized",
    "initializer-not-running",
    "exempt-namespace",
    "namespace-excluded",
    "namespace-not-watched",
    "policy-off",
    "annotation-inject",
    "annotation-no-inject",
    "host-network",
    "policy-enabled",
    "policy-disabled",
];

const CSV_HEADER: &str = "namespace,kind,name,path,line,outcome,reason,detail";

/// The shared data, as the tests name it on the command line (relative to the crate root,
/// where the binary runs).
const SHARED: &str = "../shared";

fn shared() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared")).to_owned()
}

/// The binary, run from the crate root, without colours and with rayon's default threads.
fn meshlint() -> Command {
    let mut cmd = common::meshlint();
    cmd.env_remove("RAYON_NUM_THREADS");
    cmd
}

fn finish(output: Output, args: &[&str]) -> Output {
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(!err.contains("panicked"), "meshlint {args:?} panicked:\n{err}");
    assert!(matches!(output.status.code(), Some(0..=2)), "meshlint {args:?} exited with {:?}:\n{err}", output.status);
    output
}

fn run(args: &[&str]) -> Output {
    finish(meshlint().args(args).output().expect("meshlint runs"), args)
}

fn run_with_threads(threads: &str, args: &[&str]) -> Output {
    finish(meshlint().env("RAYON_NUM_THREADS", threads).args(args).output().expect("meshlint runs"), args)
}

fn parse_json(output: &Output, args: &[&str]) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("meshlint {args:?}: stdout is not one JSON document ({e}):\n{}", String::from_utf8_lossy(&output.stdout))
    })
}

/// `meshlint audit --format json ARGS...`, which must exit 0.
fn audit_json(args: &[&str]) -> Value {
    let all: Vec<&str> = ["audit", "--format", "json"].iter().chain(args).copied().collect();
    let out = run(&all);
    assert_eq!(out.status.code(), Some(0), "{all:?}: {}", String::from_utf8_lossy(&out.stderr));
    parse_json(&out, &all)
}

/// `meshlint check --format json ARGS...`: the diagnostics (exit 0 or 1, never 2).
fn check_json(args: &[&str]) -> Vec<Value> {
    let all: Vec<&str> = ["check", "--format", "json"].iter().chain(args).copied().collect();
    let out = run(&all);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{all:?}: {}", String::from_utf8_lossy(&out.stderr));
    parse_json(&out, &all)["diagnostics"].as_array().expect("`diagnostics` is an array").clone()
}

fn str_of<'v>(value: &'v Value, key: &str) -> &'v str {
    value[key].as_str().unwrap_or_else(|| panic!("`{key}` is not a string in {value}"))
}

fn usize_of(value: &Value, key: &str) -> usize {
    value[key].as_u64().and_then(|n| usize::try_from(n).ok()).unwrap_or_else(|| panic!("`{key}` in {value}"))
}

/// The rows of an audit.
fn rows(audit: &Value) -> &Vec<Value> {
    audit["workloads"].as_array().expect("`workloads` is an array")
}

/// The only row of an audit.
fn only_row(audit: &Value) -> &Value {
    let rows = rows(audit);
    assert_eq!(rows.len(), 1, "expected one workload: {audit:#}");
    &rows[0]
}

/// 1-based line and column of `token` in the only line of `path` (relative to the crate
/// root) that contains `context`.
fn locate(path: &str, context: &str, token: &str) -> (usize, usize) {
    let text = std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let found: Vec<(usize, &str)> = text.lines().enumerate().filter(|(_, l)| l.contains(context)).collect();
    assert_eq!(found.len(), 1, "{path}: `{context}` must be on exactly one line, found {found:?}");
    let (index, line) = found[0];
    let column = line.find(token).unwrap_or_else(|| panic!("{path}: `{token}` not in {line:?}"));
    (index + 1, column + 1)
}

fn line_of(path: &str, context: &str) -> usize {
    locate(path, context, context).0
}

/// `path:line`, as `decided_by` and `policy.source` write places.
fn place(path: &str, context: &str) -> String {
    format!("{path}:{}", line_of(path, context))
}

/// A finding reduced to what the case tables state: rule, path, line, column.
type Found = (String, String, usize, usize);

fn found(d: &Value) -> Found {
    (str_of(d, "rule").to_owned(), str_of(d, "path").to_owned(), usize_of(d, "line"), usize_of(d, "column"))
}

/// The findings of the injection rules, sorted.
fn injection_findings(diagnostics: &[Value]) -> Vec<Found> {
    let mut out: Vec<Found> =
        diagnostics.iter().filter(|d| INJECTION_RULES.contains(&str_of(d, "rule"))).map(found).collect();
    out.sort();
    out
}

/// The one diagnostic of `rule` in `diagnostics`.
fn the_diagnostic<'d>(diagnostics: &'d [Value], rule: &str) -> &'d Value {
    let matching: Vec<&Value> = diagnostics.iter().filter(|d| d["rule"] == rule).collect();
    assert_eq!(matching.len(), 1, "expected one {rule}: {diagnostics:#?}");
    matching[0]
}

// ---------------------------------------------------------------------------------------
// The fixture cases

/// An expected finding: `rule` at `token` in the only line of `file` (in the case's
/// directory) containing `context`.
struct Finding {
    rule: &'static str,
    file: &'static str,
    context: &'static str,
    token: &'static str,
}

const fn finding(rule: &'static str, file: &'static str, context: &'static str, token: &'static str) -> Finding {
    Finding { rule, file, context, token }
}

/// One fixture directory: its workload, the expected audit row, and the expected findings
/// of the injection rules besides `workload-not-injected`, which is expected exactly for
/// the rows not injected for another reason than an exempt namespace, at the kind.
struct Case {
    dir: &'static str,
    file: &'static str,
    namespace: &'static str,
    kind: &'static str,
    name: &'static str,
    outcome: &'static str,
    reason: &'static str,
    findings: &'static [Finding],
}

const fn case(
    dir: &'static str,
    namespace: &'static str,
    kind: &'static str,
    name: &'static str,
    outcome: &'static str,
    reason: &'static str,
    findings: &'static [Finding],
) -> Case {
    Case { dir, file: WORKLOAD, namespace, kind, name, outcome, reason, findings }
}

const WORKLOAD: &str = "workload.yaml";
const CONFIG: &str = "istio-inject.yaml";

const INJ: &str = "injected";
const NOT: &str = "not-injected";
const ALREADY: &str = "already-injected";

const CASES: &[Case] = &[
    // The seed's truth table: policy × workload annotation.
    case("policy-off-annotation-absent", "default", "Deployment", "off-absent", NOT, "policy-off", &[]),
    case("policy-off-annotation-true", "default", "Deployment", "off-true", NOT, "policy-off", &[]),
    case("policy-off-annotation-false", "default", "Deployment", "off-false", NOT, "policy-off", &[]),
    case("policy-disabled-annotation-absent", "default", "Deployment", "disabled-absent", NOT, "policy-disabled", &[]),
    case("policy-disabled-annotation-true", "default", "Deployment", "disabled-true", INJ, "annotation-inject", &[]),
    case(
        "policy-disabled-annotation-false",
        "default",
        "Deployment",
        "disabled-false",
        NOT,
        "annotation-no-inject",
        &[],
    ),
    case("policy-enabled-annotation-absent", "default", "Deployment", "enabled-absent", INJ, "policy-enabled", &[]),
    case("policy-enabled-annotation-true", "default", "Deployment", "enabled-true", INJ, "annotation-inject", &[]),
    case("policy-enabled-annotation-false", "default", "Deployment", "enabled-false", NOT, "annotation-no-inject", &[]),
    // Annotation values other than "true"/"false", and a misplaced annotation.
    case(
        "annotation-yes",
        "default",
        "Deployment",
        "opt-in-yes",
        INJ,
        "annotation-inject",
        &[finding("inject-annotation-value", WORKLOAD, "sidecar.istio.io/inject:", "\"yes\"")],
    ),
    case(
        "annotation-enabled",
        "default",
        "Deployment",
        "enabled",
        NOT,
        "annotation-no-inject",
        &[finding("inject-annotation-value", WORKLOAD, "sidecar.istio.io/inject:", "\"enabled\"")],
    ),
    case(
        "annotation-empty",
        "default",
        "Deployment",
        "empty",
        NOT,
        "annotation-no-inject",
        &[finding("inject-annotation-value", WORKLOAD, "sidecar.istio.io/inject:", "\"\"")],
    ),
    case(
        "annotation-on-template",
        "default",
        "Deployment",
        "templated",
        NOT,
        "policy-disabled",
        &[finding("misplaced-inject-annotation", WORKLOAD, "sidecar.istio.io/inject:", "sidecar.istio.io/inject")],
    ),
    // Already injected, whatever the policy (`off` and `disabled` here).
    case("status-annotation", "default", "Deployment", "injected-before", ALREADY, "status-annotation", &[]),
    // Its `runAsUser: 1337` is the proxy's own: no proxy-uid-conflict.
    case("proxy-container", "default", "Deployment", "hand-written", ALREADY, "proxy-container", &[]),
    case("host-network", "default", "Deployment", "host-net", NOT, "host-network", &[]),
    // Namespaces.
    case("exempt-kube-system", "kube-system", "Deployment", "in-kube-system", NOT, "exempt-namespace", &[]),
    case("exempt-kube-public", "kube-public", "Deployment", "in-kube-public", NOT, "exempt-namespace", &[]),
    case("exempt-istio-system", "istio-system", "Deployment", "in-istio-system", NOT, "exempt-namespace", &[]),
    case("namespaces-watched", "a", "Deployment", "in-a", INJ, "policy-enabled", &[]),
    case("namespaces-not-watched", "b", "Deployment", "in-b", NOT, "namespace-not-watched", &[]),
    case("exclude-namespaces", "b", "Deployment", "in-b", NOT, "namespace-excluded", &[]),
    case(
        "exclude-all-namespaces",
        "b",
        "Deployment",
        "in-b",
        NOT,
        "initializer-not-running",
        &[finding("invalid-inject-config", CONFIG, "excludeNamespaces:", "\"\"")],
    ),
    case(
        "both-namespace-lists",
        "a",
        "Deployment",
        "in-a",
        NOT,
        "initializer-not-running",
        &[finding("invalid-inject-config", CONFIG, "excludeNamespaces:", "excludeNamespaces")],
    ),
    // Kinds the initializer never sees.
    case("kind-pod", "default", "Pod", "bare-pod", NOT, "kind-not-initialized", &[]),
    case(
        "kind-replicaset",
        "default",
        "ReplicaSet",
        "replicas",
        NOT,
        "kind-not-initialized",
        &[finding("misplaced-inject-annotation", WORKLOAD, "sidecar.istio.io/inject:", "sidecar.istio.io/inject")],
    ),
    case("kind-cronjob", "default", "CronJob", "nightly", NOT, "kind-not-initialized", &[]),
    // Configuration mistakes.
    case(
        "initializer-name-mismatch",
        "default",
        "Deployment",
        "unnamed-init",
        NOT,
        "initializer-not-running",
        &[finding("invalid-inject-config", "initializer-configuration.yaml", "name: istio-sidecar", "istio-sidecar")],
    ),
    case(
        "unknown-policy",
        "default",
        "Deployment",
        "surprised",
        INJ,
        "policy-enabled",
        &[finding("invalid-inject-config", CONFIG, "policy: disable", "disable")],
    ),
    case(
        "unknown-config-key",
        "b",
        "Deployment",
        "in-b",
        INJ,
        "policy-enabled",
        &[
            finding("invalid-inject-config", CONFIG, "excludeNamespace:", "excludeNamespace"),
            finding("invalid-inject-config", CONFIG, "verbosty:", "verbosty"),
        ],
    ),
    // The first ConfigMap by path decides; the second is reported at its `config`.
    case(
        "two-configmaps",
        "default",
        "Deployment",
        "which-policy",
        NOT,
        "policy-disabled",
        &[finding("invalid-inject-config", "b-istio-inject.yaml", "policy:", "policy")],
    ),
    // Conflicts with the proxy.
    case(
        "proxy-uid",
        "default",
        "Deployment",
        "root-ish",
        INJ,
        "policy-enabled",
        &[finding("proxy-uid-conflict", WORKLOAD, "runAsUser:", "1337")],
    ),
    case(
        "proxy-port",
        "default",
        "Deployment",
        "listener",
        INJ,
        "policy-enabled",
        &[finding("proxy-port-conflict", WORKLOAD, "containerPort:", "15001")],
    ),
    // The seed's `myapp`, under its ConfigMap's policy `enabled`.
    Case {
        dir: "seed-myapp",
        file: "myapp.yaml",
        namespace: "default",
        kind: "Deployment",
        name: "myapp",
        outcome: INJ,
        reason: "annotation-inject",
        findings: &[],
    },
];

/// Directories under `fixtures/trees/inject` that are not a case of `CASES`.
const OTHER_DIRS: [&str; 1] = ["inject-config-flag"];

fn dir_of(case: &Case) -> String {
    format!("{INJECT}/{}", case.dir)
}

fn workload_path(case: &Case) -> String {
    format!("{}/{}", dir_of(case), case.file)
}

/// The line of the workload's `kind` (where audit rows and `workload-not-injected` point).
fn workload_kind_at(case: &Case) -> (usize, usize) {
    locate(&workload_path(case), &format!("kind: {}", case.kind), case.kind)
}

fn expected_findings(case: &Case) -> Vec<Found> {
    let mut out: Vec<Found> = case
        .findings
        .iter()
        .map(|f| {
            let path = format!("{}/{}", dir_of(case), f.file);
            let (line, column) = locate(&path, f.context, f.token);
            (f.rule.to_owned(), path, line, column)
        })
        .collect();
    if case.outcome == NOT && case.reason != "exempt-namespace" {
        let (line, column) = workload_kind_at(case);
        out.push(("workload-not-injected".to_owned(), workload_path(case), line, column));
    }
    out.sort();
    out
}

/// How the row of a case differs from what the case expects.
fn row_problems(row: &Value, case: &Case) -> Vec<String> {
    let expected = [
        ("namespace", case.namespace.to_owned()),
        ("kind", case.kind.to_owned()),
        ("name", case.name.to_owned()),
        ("path", workload_path(case)),
        ("outcome", case.outcome.to_owned()),
        ("reason", case.reason.to_owned()),
        ("line", workload_kind_at(case).0.to_string()),
    ];
    let mut problems = Vec::new();
    for (key, want) in expected {
        let got = row[key].as_str().map_or_else(|| row[key].to_string(), str::to_owned);
        if got != want {
            problems.push(format!("{}: `{key}` is {got:?}, expected {want:?}", case.dir));
        }
    }
    if row["detail"].as_str().is_none_or(str::is_empty) {
        problems.push(format!("{}: no detail", case.dir));
    }
    problems
}

fn assert_summary_matches_rows(audit: &Value) {
    let rows = rows(audit);
    let summary = &audit["summary"];
    assert_eq!(usize_of(summary, "workloads"), rows.len(), "{summary}");
    for (key, outcome) in [("injected", INJ), ("not_injected", NOT), ("already_injected", ALREADY)] {
        let count = rows.iter().filter(|r| r["outcome"] == outcome).count();
        assert_eq!(usize_of(summary, key), count, "summary `{key}`: {summary}");
    }
}

// ---------------------------------------------------------------------------------------
// The fixture cases, audited and checked

#[test]
fn every_fixture_directory_is_a_case_with_its_istio_inject_configmap() {
    let listed: BTreeSet<&str> = CASES.iter().map(|c| c.dir).chain(OTHER_DIRS).collect();
    assert_eq!(listed.len(), CASES.len() + OTHER_DIRS.len(), "a directory is listed twice");
    let mut on_disk = BTreeSet::new();
    for entry in std::fs::read_dir(root().join(INJECT)).expect("fixtures/trees/inject exists") {
        let entry = entry.expect("dir entry");
        assert!(entry.file_type().expect("file type").is_dir(), "{}: not a directory", entry.path().display());
        on_disk.insert(entry.file_name().to_string_lossy().into_owned());
    }
    let on_disk: BTreeSet<&str> = on_disk.iter().map(String::as_str).collect();
    assert_eq!(on_disk, listed, "fixture directories and cases differ");
    for case in CASES {
        let configs: Vec<PathBuf> = std::fs::read_dir(root().join(dir_of(case)))
            .expect("case dir")
            .map(|e| e.expect("dir entry").path())
            .filter(|p| {
                let text = std::fs::read_to_string(p).unwrap_or_default();
                text.contains("kind: ConfigMap") && text.contains("  name: istio-inject\n")
            })
            .collect();
        assert!(!configs.is_empty(), "{}: no istio-inject ConfigMap", case.dir);
        for path in configs {
            let text = std::fs::read_to_string(&path).expect("readable");
            assert!(text.contains("\n  config: |\n"), "{}: `data.config` is not a `|` block", path.display());
        }
    }
}

#[test]
fn every_case_audits_to_its_outcome_and_reason() {
    let mut problems = Vec::new();
    for case in CASES {
        let audit = audit_json(&[&dir_of(case)]);
        match rows(&audit).as_slice() {
            [row] => problems.extend(row_problems(row, case)),
            other => problems.push(format!("{}: {} workloads, expected 1", case.dir, other.len())),
        }
        assert_summary_matches_rows(&audit);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_case_checks_to_its_injection_findings() {
    let mut failures = Vec::new();
    for case in CASES {
        let got = injection_findings(&check_json(&[&dir_of(case)]));
        let want = expected_findings(case);
        if got != want {
            failures.push(format!("{}:\n  got  {got:?}\n  want {want:?}", case.dir));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_truth_table_of_the_seed_holds() {
    // | policy | annotation | injected |, as the seed writes it; `off` ignores the annotation.
    let table = [
        ("off", "absent", false),
        ("off", "true", false),
        ("off", "false", false),
        ("disabled", "absent", false),
        ("disabled", "false", false),
        ("disabled", "true", true),
        ("enabled", "absent", true),
        ("enabled", "false", false),
        ("enabled", "true", true),
    ];
    for (policy, annotation, injected) in table {
        let dir = format!("{INJECT}/policy-{policy}-annotation-{annotation}");
        let audit = audit_json(&[&dir]);
        assert_eq!(audit["policy"]["policy"], policy, "{dir}");
        assert_eq!(audit["policy"]["overridden_by_flag"], false, "{dir}");
        let want = if injected { INJ } else { NOT };
        assert_eq!(only_row(&audit)["outcome"], want, "{dir}");
    }
}

#[test]
fn the_policy_source_is_the_configmap_of_the_tree() {
    let path = format!("{INJECT}/policy-disabled-annotation-absent/{CONFIG}");
    let audit = audit_json(&[&format!("{INJECT}/policy-disabled-annotation-absent")]);
    let config_line = place(&path, "  config: |");
    assert_eq!(audit["policy"]["source"], config_line.as_str());
    assert!(str_of(&audit["policy"], "origin").contains(&config_line), "{:#}", audit["policy"]);
    // The row points at the policy that decided it.
    assert_eq!(only_row(&audit)["decided_by"], place(&path, "policy: \"disabled\"").as_str());
}

#[test]
fn an_unknown_policy_is_enabled_and_reported_inside_the_embedded_config() {
    let dir = format!("{INJECT}/unknown-policy");
    let config = format!("{dir}/{CONFIG}");
    let audit = audit_json(&[&dir]);
    assert_eq!(audit["policy"]["policy"], "enabled");
    assert_eq!(only_row(&audit)["decided_by"], place(&config, "policy: disable").as_str());
    let diagnostics = check_json(&[&dir]);
    let d = the_diagnostic(&diagnostics, "invalid-inject-config");
    let (line, column) = locate(&config, "policy: disable", "disable");
    // Inside the `config: |` string, not at its key.
    assert!(line > line_of(&config, "  config: |"));
    assert_eq!(
        (str_of(d, "path"), usize_of(d, "line"), usize_of(d, "column"), usize_of(d, "end_line")),
        (config.as_str(), line, column, line)
    );
    assert_eq!(usize_of(d, "end_column"), column + "disable".len());
    assert_eq!(d["severity"], "error");
    assert!(str_of(d, "message").contains("`disable`"), "{d:#}");
}

#[test]
fn unknown_config_keys_are_reported_with_the_key_they_were_meant_to_be() {
    let dir = format!("{INJECT}/unknown-config-key");
    let config = format!("{dir}/{CONFIG}");
    let diagnostics = check_json(&[&dir]);
    for (context, help) in
        [("excludeNamespace:", "did you mean `excludeNamespaces`?"), ("verbosty:", "did you mean `verbosity`?")]
    {
        let (line, column) = locate(&config, context, context.trim_end_matches(':'));
        let d = diagnostics
            .iter()
            .find(|d| d["rule"] == "invalid-inject-config" && usize_of(d, "line") == line)
            .unwrap_or_else(|| panic!("no invalid-inject-config at line {line}: {diagnostics:#?}"));
        assert_eq!(usize_of(d, "column"), column);
        assert_eq!(str_of(d, "help"), help);
    }
    // The misspelt `excludeNamespace` is ignored: namespace `b` stays watched.
    assert_eq!(only_row(&audit_json(&[&dir]))["outcome"], INJ);
}

#[test]
fn the_refused_configurations_point_at_their_mistake() {
    for (dir, context, token) in [
        ("exclude-all-namespaces", "excludeNamespaces:", "\"\""),
        ("both-namespace-lists", "excludeNamespaces:", "excludeNamespaces"),
    ] {
        let config = format!("{INJECT}/{dir}/{CONFIG}");
        let audit = audit_json(&[&format!("{INJECT}/{dir}")]);
        let row = only_row(&audit);
        assert_eq!(row["decided_by"], place(&config, context).as_str(), "{dir}");
        assert!(str_of(row, "detail").contains("refuses to start"), "{dir}: {row:#}");
        let diagnostics = check_json(&[&format!("{INJECT}/{dir}")]);
        let d = the_diagnostic(&diagnostics, "invalid-inject-config");
        assert_eq!((usize_of(d, "line"), usize_of(d, "column")), locate(&config, context, token), "{dir}");
    }
}

#[test]
fn an_initializer_name_matching_no_initializer_is_shown_at_both_names() {
    let dir = format!("{INJECT}/initializer-name-mismatch");
    let config = format!("{dir}/{CONFIG}");
    let audit = audit_json(&[&dir]);
    assert_eq!(audit["policy"]["initializer_name"], "sidecar.initialiser.istio.io");
    assert_eq!(audit["policy"]["resources"], serde_json::json!([]));
    assert_eq!(only_row(&audit)["decided_by"], place(&config, "initializerName:").as_str());
    let diagnostics = check_json(&[&dir]);
    let d = the_diagnostic(&diagnostics, "invalid-inject-config");
    let labels = d["labels"].as_array().expect("labels");
    assert_eq!(labels.len(), 1, "{d:#}");
    assert_eq!(str_of(&labels[0], "path"), config);
    assert_eq!(
        (usize_of(&labels[0], "line"), usize_of(&labels[0], "column")),
        locate(&config, "initializerName:", "\"sidecar.initialiser.istio.io\"")
    );
}

/// The workload of `initializer-name-mismatch` with an `istio-inject` ConfigMap whose
/// `initializerName` is Istio's, an InitializerConfiguration whose one rule lists
/// `resources`, and these other files.
fn initializer_tree(resources: &str, others: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let from = root().join(INJECT).join("initializer-name-mismatch");
    std::fs::copy(from.join("workload.yaml"), dir.path().join("workload.yaml")).expect("copy");
    let config = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: istio-inject\n  namespace: istio-system\ndata:\n  config: |\n    policy: \"enabled\"\n    namespaces: [\"\"]\n    initializerName: \"sidecar.initializer.istio.io\"\n";
    let initializer = format!(
        "apiVersion: admissionregistration.k8s.io/v1alpha1\nkind: InitializerConfiguration\nmetadata:\n  name: istio-sidecar\ninitializers:\n  - name: sidecar.initializer.istio.io\n    rules:\n      - apiGroups: [\"*\"]\n        apiVersions: [\"*\"]\n        resources: {resources}\n"
    );
    let files = [(CONFIG, config), ("initializer-configuration.yaml", initializer.as_str())];
    for (name, text) in files.iter().chain(others) {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    dir
}

#[test]
fn a_kustomize_patch_of_the_initializer_configuration_is_not_read_as_one() {
    // A patch listed by a kustomization is a fragment, not the InitializerConfiguration
    // the cluster gets: its resources are not the initializer's (read as files, the
    // overlay not rendered).
    let patch_file = "apiVersion: admissionregistration.k8s.io/v1alpha1\nkind: InitializerConfiguration\nmetadata:\n  name: istio-sidecar\ninitializers:\n  - name: sidecar.initializer.istio.io\n    rules:\n      - apiGroups: [\"*\"]\n        apiVersions: [\"*\"]\n        resources: [replicasets]\n";
    let kustomization = "resources:\n  - initializer-configuration.yaml\n  - istio-inject.yaml\n  - workload.yaml\npatchesStrategicMerge:\n  - patch.yaml\n";
    let dir =
        initializer_tree("[deployments, jobs]", &[("patch.yaml", patch_file), ("kustomization.yaml", kustomization)]);
    let path = dir.path().to_str().expect("UTF-8");
    let audit = audit_json(&[path, "--no-render"]);
    assert_eq!(audit["policy"]["resources"], serde_json::json!(["deployments", "jobs"]), "{:#}", audit["policy"]);
}

#[test]
fn an_initializer_with_an_empty_resource_list_is_found_and_initializes_nothing() {
    // The name matches: no "matches no initializer" finding; the list is empty, so no
    // kind is initialized and the workload is not injected.
    let dir = initializer_tree("[]", &[]);
    let path = dir.path().to_str().expect("UTF-8");
    let audit = audit_json(&[path]);
    assert_eq!(audit["policy"]["resources"], serde_json::json!([]), "{:#}", audit["policy"]);
    assert_eq!(str_of(only_row(&audit), "outcome"), NOT, "{:#}", only_row(&audit));
    assert_eq!(str_of(only_row(&audit), "reason"), "kind-not-initialized", "{:#}", only_row(&audit));
    let diagnostics = check_json(&[path]);
    assert!(!diagnostics.iter().any(|d| str_of(d, "message").contains("matches no initializer")), "{diagnostics:#?}");
    let d = the_diagnostic(&diagnostics, "workload-not-injected");
    assert!(str_of(d, "message").contains("lists no resources"), "{d:#}");
    let config = dir.path().join("initializer-configuration.yaml");
    let label = d["labels"]
        .as_array()
        .expect("labels")
        .iter()
        .find(|l| str_of(l, "path").ends_with("initializer-configuration.yaml"))
        .expect("a label at the list");
    assert_eq!(usize_of(label, "line"), line_of(config.to_str().expect("UTF-8"), "resources: []"), "{d:#}");
}

#[test]
fn of_two_configmaps_that_disagree_the_first_decides_and_the_other_is_reported() {
    let dir = format!("{INJECT}/two-configmaps");
    let first = format!("{dir}/a-istio-inject.yaml");
    let audit = audit_json(&[&dir]);
    assert_eq!(audit["policy"]["policy"], "disabled");
    assert_eq!(audit["policy"]["source"], place(&first, "  config: |").as_str());
    assert_eq!(only_row(&audit)["decided_by"], place(&first, "policy:").as_str());
    let diagnostics = check_json(&[&dir]);
    let d = the_diagnostic(&diagnostics, "invalid-inject-config");
    let labels = d["labels"].as_array().expect("labels");
    assert_eq!(labels.len(), 1, "{d:#}");
    assert_eq!(str_of(&labels[0], "path"), first);
    assert_eq!(usize_of(&labels[0], "line"), line_of(&first, "name: istio-inject"));
}

#[test]
fn the_namespace_flag_places_objects_that_name_none() {
    let dir = format!("{INJECT}/policy-enabled-annotation-absent");
    let row = only_row(&audit_json(&[&dir, "--namespace", "kube-system"])).clone();
    assert_eq!((str_of(&row, "namespace"), str_of(&row, "reason")), ("kube-system", "exempt-namespace"));
    let row = only_row(&audit_json(&[&dir, "--namespace", "shop"])).clone();
    assert_eq!((str_of(&row, "namespace"), str_of(&row, "reason")), ("shop", "policy-enabled"));
}

// ---------------------------------------------------------------------------------------
// `--policy` and `--inject-config`

#[test]
fn the_policy_flag_overrides_the_configmap() {
    let cases = [
        ("policy-enabled-annotation-absent", "off", NOT, "policy-off"),
        ("policy-disabled-annotation-absent", "enabled", INJ, "policy-enabled"),
        ("policy-off-annotation-true", "disabled", INJ, "annotation-inject"),
        ("policy-off-annotation-absent", "enabled", INJ, "policy-enabled"),
        ("policy-enabled-annotation-true", "off", NOT, "policy-off"),
    ];
    for (dir, flag, outcome, reason) in cases {
        let dir = format!("{INJECT}/{dir}");
        let audit = audit_json(&[&dir, "--policy", flag]);
        assert_eq!(audit["policy"]["policy"], flag, "{dir}");
        assert_eq!(audit["policy"]["overridden_by_flag"], true, "{dir}");
        // The ConfigMap still is the source of the rest of the configuration.
        assert_eq!(audit["policy"]["source"], place(&format!("{dir}/{CONFIG}"), "  config: |").as_str(), "{dir}");
        let row = only_row(&audit);
        assert_eq!((str_of(row, "outcome"), str_of(row, "reason")), (outcome, reason), "{dir} --policy {flag}");
        if reason.starts_with("policy-") {
            assert_eq!(row["decided_by"], Value::Null, "{dir}: a flag has no place in a file");
        }
        let not_injected = check_json(&[&dir, "--policy", flag]).iter().any(|d| d["rule"] == "workload-not-injected");
        assert_eq!(not_injected, outcome == NOT, "{dir} --policy {flag}: workload-not-injected");
    }
}

#[test]
fn inject_config_given_as_a_configmap_manifest_wins_over_the_tree() {
    let tree = format!("{INJECT}/inject-config-flag/tree");
    let given = format!("{INJECT}/inject-config-flag/istio-inject-disabled.yaml");
    // Baseline: the tree's own ConfigMap says `enabled`.
    let own = audit_json(&[&tree]);
    assert_eq!(
        (own["policy"]["policy"].as_str(), only_row(&own)["reason"].as_str()),
        (Some("enabled"), Some("policy-enabled"))
    );
    let audit = audit_json(&[&tree, "--inject-config", &given]);
    let policy = &audit["policy"];
    assert_eq!(policy["policy"], "disabled");
    assert_eq!(policy["source"], given.as_str());
    assert!(str_of(policy, "origin").contains("--inject-config"), "{policy:#}");
    let row = only_row(&audit);
    assert_eq!((str_of(row, "outcome"), str_of(row, "reason")), (NOT, "policy-disabled"));
    assert_eq!(row["decided_by"], place(&given, "policy: \"disabled\"").as_str());
    assert_eq!(str_of(row, "path"), format!("{tree}/{WORKLOAD}"), "the given file is configuration, not a workload");
    assert_eq!(rows(&audit).len(), 1);
}

#[test]
fn inject_config_given_as_bare_yaml_is_read_with_positions() {
    let tree = format!("{INJECT}/inject-config-flag/tree");
    let given = format!("{INJECT}/inject-config-flag/bare-policy-off.yaml");
    let audit = audit_json(&[&tree, "--inject-config", &given]);
    assert_eq!(audit["policy"]["policy"], "off");
    assert_eq!(audit["policy"]["source"], given.as_str());
    let row = only_row(&audit);
    assert_eq!((str_of(row, "outcome"), str_of(row, "reason")), (NOT, "policy-off"));
    assert_eq!(row["decided_by"], place(&given, "policy: \"off\"").as_str());
    // Its typo is reported in the given file, at the key.
    let diagnostics = check_json(&[&tree, "--inject-config", &given]);
    let d = the_diagnostic(&diagnostics, "invalid-inject-config");
    assert_eq!(
        found(d),
        ("invalid-inject-config".to_owned(), given.clone(), locate(&given, "initialiserName:", "initialiserName").0, 1)
    );
    assert_eq!(str_of(d, "help"), "did you mean `initializerName`?");
    // `--policy` beats the given file too.
    let overridden = audit_json(&[&tree, "--inject-config", &given, "--policy", "enabled"]);
    assert_eq!(only_row(&overridden)["reason"], "policy-enabled");
}

// ---------------------------------------------------------------------------------------
// The Istio 0.2.6 reference, the seed's example, the corpus

#[test]
fn the_reference_install_decides_samples_injected_and_istio_system_exempt() {
    let reference = format!("{SHARED}/reference/istio-0.2.6");
    let initializer = format!("{reference}/install/kubernetes/istio-initializer.yaml");
    assert!(shared().join("reference/istio-0.2.6/install/kubernetes/istio-initializer.yaml").is_file());
    let audit = audit_json(&[&reference]);
    let policy = &audit["policy"];
    let source = place(&initializer, "  config: |-");
    assert_eq!(policy["source"], source.as_str(), "{policy:#}");
    assert!(str_of(policy, "origin").contains(&source), "{policy:#}");
    assert_eq!(policy["policy"], "enabled");
    assert_eq!(policy["resources"], serde_json::json!(["deployments", "statefulsets", "jobs", "daemonsets"]));
    let (mut samples, mut exempt) = (0, 0);
    for row in rows(&audit) {
        let path = str_of(row, "path");
        if path.starts_with(&format!("{reference}/samples/")) {
            samples += 1;
            assert_eq!((str_of(row, "outcome"), str_of(row, "reason")), (INJ, "policy-enabled"), "{row:#}");
            assert_eq!(row["decided_by"], place(&initializer, "policy: \"enabled\"").as_str(), "{row:#}");
        } else {
            assert_eq!(str_of(row, "namespace"), "istio-system", "neither a sample nor the control plane: {row:#}");
        }
        if row["namespace"] == "istio-system" {
            exempt += 1;
            assert_eq!((str_of(row, "outcome"), str_of(row, "reason")), (NOT, "exempt-namespace"), "{row:#}");
        }
    }
    assert!(samples >= 10 && exempt >= 5, "{samples} sample and {exempt} istio-system workloads");
    let names: BTreeSet<&str> = rows(&audit).iter().map(|r| str_of(r, "name")).collect();
    for name in ["sleep", "productpage-v1", "httpbin", "istio-initializer", "istio-pilot"] {
        assert!(names.contains(name), "no row for {name}: {names:?}");
    }
    assert_summary_matches_rows(&audit);
}

#[test]
fn the_sleep_sample_alone_is_injected_under_the_built_in_defaults() {
    let sleep = format!("{SHARED}/reference/istio-0.2.6/samples/sleep/sleep.yaml");
    let audit = audit_json(&["--no-context", &sleep]);
    let policy = &audit["policy"];
    assert_eq!(policy["source"], Value::Null, "{policy:#}");
    assert!(str_of(policy, "origin").starts_with("built-in defaults"), "{policy:#}");
    assert_eq!(policy["policy"], "enabled");
    assert_eq!(policy["namespaces"], serde_json::json!([""]));
    assert_eq!(policy["initializer_name"], "sidecar.initializer.istio.io");
    let row = only_row(&audit);
    let expected = [("kind", "Deployment"), ("name", "sleep"), ("path", sleep.as_str()), ("outcome", INJ)];
    for (key, want) in expected {
        assert_eq!(str_of(row, key), want, "{row:#}");
    }
    assert_eq!(str_of(row, "reason"), "policy-enabled");
    assert_eq!(usize_of(row, "line"), line_of(&sleep, "kind: Deployment"));
    assert_eq!(row["decided_by"], Value::Null);
}

#[test]
fn the_seed_myapp_opts_in_under_policy_disabled() {
    // The fixture is the seed's example: its text up to the elided template is copied.
    let seed = std::fs::read_to_string(shared().join("seed/installing-istio-sidecar.md")).expect("seed");
    let start = seed.find("kind: Deployment\nmetadata:\n  name: myapp\n").expect("the seed's myapp example");
    let end = start + seed[start..].find("  template:\n").expect("its template");
    let fixture_path = format!("{INJECT}/seed-myapp/myapp.yaml");
    let fixture = std::fs::read_to_string(root().join(&fixture_path)).expect("fixture");
    assert!(fixture.contains(&seed[start..end]), "{fixture_path} is not the seed's example:\n{}", &seed[start..end]);

    let audit = audit_json(&[&format!("{INJECT}/seed-myapp"), "--policy", "disabled"]);
    assert_eq!(audit["policy"]["policy"], "disabled");
    assert_eq!(audit["policy"]["overridden_by_flag"], true);
    let row = only_row(&audit);
    assert_eq!(
        (str_of(row, "name"), str_of(row, "outcome"), str_of(row, "reason")),
        ("myapp", INJ, "annotation-inject")
    );
    assert_eq!(row["decided_by"], place(&fixture_path, "sidecar.istio.io/inject:").as_str());
}

/// Split CSV text into records of fields (RFC 4180: quoted fields may hold commas,
/// doubled quotes and line breaks).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (_, c) => field.push(c),
        }
    }
    assert!(!quoted, "unterminated quoted field");
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

#[test]
fn the_csv_parser_handles_quotes_and_line_breaks() {
    let parsed = parse_csv("a,b\n\"x, y\",\"say \"\"hi\"\"\nthere\"\n");
    assert_eq!(parsed, [vec!["a", "b"], vec!["x, y", "say \"hi\"\nthere"]]);
}

#[test]
fn the_corpus_audit_is_complete_deterministic_and_agrees_with_csv() {
    let corpus = format!("{SHARED}/corpus");
    assert!(shared().join("corpus").is_dir());
    // The corpus mixes projects for several Istio releases: audit it as Istio 0.2.
    let args = ["audit", "--profile", "istio-0.2", "--format", "json", corpus.as_str()];
    let outputs: Vec<Output> = ["1", "2", "2"].iter().map(|threads| run_with_threads(threads, &args)).collect();
    for out in &outputs {
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert!(outputs[1].stdout == outputs[2].stdout, "two runs with 2 threads differ");
    assert!(outputs[0].stdout == outputs[1].stdout, "1 thread and 2 threads differ");

    let audit = parse_json(&outputs[0], &args);
    let rows = rows(&audit);
    assert!(rows.len() >= 100, "only {} workloads in the corpus", rows.len());
    let mut identities = BTreeSet::new();
    for row in rows {
        for key in ["kind", "name", "path", "namespace", "detail"] {
            assert!(!str_of(row, key).is_empty(), "empty `{key}`: {row:#}");
        }
        assert!(usize_of(row, "line") > 0, "{row:#}");
        assert!(str_of(row, "path").starts_with(&format!("{corpus}/")), "{row:#}");
        assert!(OUTCOMES.contains(&str_of(row, "outcome")), "{row:#}");
        assert!(REASONS.contains(&str_of(row, "reason")), "{row:#}");
        // One row per definition: an object defined in two files has two rows.
        let identity = (
            str_of(row, "namespace"),
            str_of(row, "kind"),
            str_of(row, "name"),
            str_of(row, "path"),
            usize_of(row, "line"),
        );
        assert!(identities.insert(identity), "two rows for one definition {identity:?}");
    }
    assert_summary_matches_rows(&audit);

    let csv_args = ["audit", "--profile", "istio-0.2", "--format", "csv", corpus.as_str()];
    let csv = run(&csv_args);
    assert_eq!(csv.status.code(), Some(0));
    let text = String::from_utf8(csv.stdout).expect("csv is UTF-8");
    let records = parse_csv(&text);
    assert_eq!(records[0].join(","), CSV_HEADER);
    assert_eq!(records.len() - 1, rows.len(), "csv and json row counts differ");
    for (record, row) in records[1..].iter().zip(rows) {
        assert_eq!(record.len(), 8, "{record:?}");
        let from_json = [
            str_of(row, "namespace").to_owned(),
            str_of(row, "kind").to_owned(),
            str_of(row, "name").to_owned(),
            str_of(row, "path").to_owned(),
            usize_of(row, "line").to_string(),
            str_of(row, "outcome").to_owned(),
            str_of(row, "reason").to_owned(),
            str_of(row, "detail").to_owned(),
        ];
        assert_eq!(record[..], from_json[..]);
    }
}

// ---------------------------------------------------------------------------------------
// Positions inside an embedded configuration (a defect once, fixed)

#[test]
fn positions_inside_a_config_that_starts_with_a_blank_line_are_exact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: istio-inject\n  namespace: istio-system\ndata:\n  config: |\n\n    policy: bogus\n";
    std::fs::write(dir.path().join("istio-inject.yaml"), text).expect("write");
    let out = run(&["check", "--format", "json", dir.path().to_str().expect("utf-8")]);
    let report = parse_json(&out, &["check"]);
    let diagnostics = report["diagnostics"].as_array().expect("array");
    let d = the_diagnostic(diagnostics, "invalid-inject-config");
    // `bogus` is on line 9, column 13.
    assert_eq!((usize_of(d, "line"), usize_of(d, "column")), (9, 13), "{d:#}");
}
