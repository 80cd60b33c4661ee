//! One test for each one-line bug that was planted in the code and survived the suite
//! (see issue "Tests that fail when the code is wrong"). Each states the behaviour from
//! the fixture or from Istio, never from meshlint's own output.

mod common;

use std::path::Path;
use std::process::Output;

use serde_json::Value;

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn run(dir: &Path, args: &[&str]) -> Output {
    let output = common::meshlint_in(dir).args(args).output().expect("meshlint runs");
    assert!(!common::stderr(&output).contains("panicked"));
    output
}

fn json(dir: &Path, args: &[&str]) -> Value {
    serde_json::from_slice(&run(dir, args).stdout).expect("JSON")
}

fn rules(report: &Value) -> Vec<String> {
    report["diagnostics"].as_array().unwrap().iter().map(|d| d["rule"].as_str().unwrap().to_owned()).collect()
}

/// Planted: a *named* port on 25, 53, 3306 or 27017 no longer counts as TCP under the
/// modern profile. Istio treats those ports as TCP whatever their name (SEMANTICS.md 6).
#[test]
fn modern_named_well_known_tcp_ports_are_not_ist0118() {
    for port in [25, 53, 3306, 27017] {
        let service = format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: db\nspec:\n  ports:\n  - name: db\n    port: {port}\n"
        );
        let dir = tree(&[("s.yaml", &service)]);
        let found = rules(&json(dir.path(), &["check", "--format", "json", "--profile", "istio-modern", "s.yaml"]));
        assert!(!found.iter().any(|r| r == "unknown-port-protocol"), "port {port}: {found:?}");
    }
    // The control: the same name on another port is IST0118.
    let service =
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: db\nspec:\n  ports:\n  - name: db\n    port: 3307\n";
    let dir = tree(&[("s.yaml", service)]);
    let found = rules(&json(dir.path(), &["check", "--format", "json", "--profile", "istio-modern", "s.yaml"]));
    assert_eq!(found, ["unknown-port-protocol"]);
}

/// Planted: 0.2 annotation values compared case-sensitively. The 0.2 initializer lowers
/// the value: `"True"` and `"YES"` opt in (SEMANTICS.md 2).
#[test]
fn the_0_2_inject_annotation_is_read_case_insensitively() {
    let config = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: istio-inject\n  namespace: istio-system\ndata:\n  config: |-\n    policy: disabled\n";
    for value in ["True", "YES", "On", "y"] {
        let workload = format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations:\n    sidecar.istio.io/inject: \"{value}\"\nspec:\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: web:1\n"
        );
        let dir = tree(&[("inject.yaml", config), ("web.yaml", &workload)]);
        let audit = json(dir.path(), &["audit", "--format", "json", "."]);
        let row = &audit["workloads"][0];
        assert_eq!(
            (row["outcome"].as_str(), row["reason"].as_str()),
            (Some("injected"), Some("annotation-inject")),
            "{value}"
        );
    }
}

/// Planted: exempt namespaces checked in initializer mode only. `inject` (kube-inject's
/// decision) must leave `kube-system` and `istio-system` workloads alone too.
#[test]
fn inject_leaves_exempt_namespaces_alone() {
    for namespace in ["kube-system", "kube-public", "istio-system"] {
        let workload = format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: dns\n  namespace: {namespace}\nspec:\n  template:\n    metadata:\n      labels:\n        app: dns\n    spec:\n      containers:\n      - name: dns\n        image: dns:1\n"
        );
        let dir = tree(&[("d.yaml", &workload)]);
        let output = run(dir.path(), &["inject", "--no-context", "-f", "d.yaml"]);
        assert_eq!(output.status.code(), Some(0), "{namespace}");
        assert_eq!(common::stdout(&output), workload, "{namespace}: unchanged");
    }
}

/// Planted: two-key mappings never checked for duplicate keys.
#[test]
fn a_two_key_mapping_with_a_duplicate_is_reported() {
    let stream = meshlint::yaml::parse_stream("a: 1\na: 2\n");
    assert_eq!(stream.duplicates.len(), 1);
    assert_eq!((stream.duplicates[0].first.clone(), stream.duplicates[0].second.clone()), (0..1, 5..6));
}

/// Planted: in mappings of more than 16 keys, the first and second occurrences swapped.
#[test]
fn a_duplicate_in_a_large_mapping_points_at_both_occurrences_in_order() {
    let mut text = String::new();
    for i in 0..20 {
        text.push_str(&format!("k{i:02}: {i}\n"));
    }
    text.push_str("k05: again\n");
    let stream = meshlint::yaml::parse_stream(&text);
    assert_eq!(stream.duplicates.len(), 1);
    let d = &stream.duplicates[0];
    assert_eq!(&text[d.first.clone()], "k05");
    assert_eq!(&text[d.second.clone()], "k05");
    assert!(d.first.start < d.second.start, "first {:?}, second {:?}", d.first, d.second);
    assert_eq!(d.second.start, text.rfind("k05").unwrap(), "the second is on the last line");
    assert_eq!(d.first.start, text.find("k05").unwrap());
}

/// Planted: stop at the first matching suppression, so a second valid one is reported
/// as unused. Both a comment and the annotation suppress the same finding here.
#[test]
fn two_suppressions_of_one_finding_are_both_used() {
    let service = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  annotations:\n    meshlint.io/ignore: unnamed-service-port\nspec:\n  ports:\n  - port: 9000 # meshlint: ignore[unnamed-service-port]\n";
    let dir = tree(&[("s.yaml", service)]);
    let found = rules(&json(dir.path(), &["check", "--format", "json", "--profile", "istio-0.2", "s.yaml"]));
    assert!(found.is_empty(), "{found:?}");
}

/// Planted: a range suppression not limited to its file. A comment above a document in
/// `a.yaml` covers that document only, not the same bytes of `b.yaml`.
#[test]
fn a_suppression_covers_its_own_file_only() {
    let service = |name: &str| {
        format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  ports:\n  - port: 9000\n")
    };
    let suppressed = format!("# meshlint: ignore[unnamed-service-port]\n{}", service("a"));
    // b.yaml starts with a comment line of the same length, so that its finding sits at
    // the same byte range as a.yaml's.
    let plain = format!("# {}\n{}", "x".repeat("meshlint: ignore[unnamed-service-port]".len()), service("b"));
    // Either way round: the suppressed file first, or last.
    for (first, second, reported) in [(&suppressed, &plain, "b.yaml"), (&plain, &suppressed, "a.yaml")] {
        let dir = tree(&[("a.yaml", first), ("b.yaml", second)]);
        let report = json(dir.path(), &["check", "--format", "json", "--profile", "istio-0.2", "."]);
        let paths: Vec<&str> =
            report["diagnostics"].as_array().unwrap().iter().map(|d| d["path"].as_str().unwrap()).collect();
        assert_eq!(paths, [reported]);
    }
}

/// Planted: documents too large to compare are rewritten unverified. A Deployment whose
/// data cannot be compared (an alias-heavy annotation) must be refused, not injected
/// blind.
#[test]
fn inject_refuses_what_it_cannot_verify() {
    let mut text = String::from(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: bomb\nspec:\n  template:\n    metadata:\n      labels:\n        app: bomb\n      annotations:\n        a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
    );
    for i in 1..8 {
        let prev = i - 1;
        text.push_str(&format!("        a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
    }
    text.push_str("    spec:\n      containers:\n      - name: bomb\n        image: bomb:1\n");
    let dir = tree(&[("bomb.yaml", &text)]);
    let output = run(dir.path(), &["inject", "--no-context", "--write", "bomb.yaml"]);
    assert_eq!(output.status.code(), Some(2), "{}", common::stderr(&output));
    assert!(common::stderr(&output).contains("left unchanged"), "{}", common::stderr(&output));
    assert_eq!(std::fs::read_to_string(dir.path().join("bomb.yaml")).unwrap(), text);
}

/// Planted: the nesting limit lowered from 256. The README promises 256 levels.
#[test]
fn nesting_is_limited_at_256_levels() {
    // Block mappings, one more space per level: `a:` nested `depth` times.
    let nested = |depth: usize| {
        let mut text = String::new();
        for d in 0..depth {
            text.push_str(&" ".repeat(d));
            text.push_str("a:\n");
        }
        text.push_str(&" ".repeat(depth));
        text.push_str("x\n");
        text
    };
    assert!(meshlint::yaml::parse_stream(&nested(200)).errors.is_empty(), "200 levels parse");
    let deep = meshlint::yaml::parse_stream(&nested(300));
    assert!(
        deep.errors.iter().any(|e| e.message.contains("nested deeper than 256 levels")),
        "{:?}",
        deep.errors.iter().map(|e| &e.message).collect::<Vec<_>>()
    );
}

// ---------------------------------------------------------------------------------------
// Mutants of src/istio/decide.rs that cargo-mutants found alive (scripts/mutants).

fn audit_row(files: &[(&str, &str)]) -> Value {
    let dir = tree(files);
    let audit = json(dir.path(), &["audit", "--format", "json", "--profile", "istio-0.2", "."]);
    audit["workloads"][0].clone()
}

fn inject_config(body: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: istio-inject\n  namespace: istio-system\ndata:\n  config: |-\n{body}"
    )
}

const HOST_NETWORK: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: agent\n  namespace: shop\nspec:\n  template:\n    metadata:\n      labels:\n        app: agent\n    spec:\n      hostNetwork: true\n      containers:\n      - name: agent\n        image: agent:1\n";

/// SEMANTICS.md section 2: with no annotation the policy decides (row 5) before
/// `hostNetwork` (row 7), so a disabled policy is the reason.
#[test]
fn a_disabled_policy_decides_before_host_network() {
    let row = audit_row(&[("inject.yaml", &inject_config("    policy: disabled\n")), ("agent.yaml", HOST_NETWORK)]);
    assert_eq!((row["outcome"].as_str(), row["reason"].as_str()), (Some("not-injected"), Some("policy-disabled")));
    let row = audit_row(&[("inject.yaml", &inject_config("    policy: enabled\n")), ("agent.yaml", HOST_NETWORK)]);
    assert_eq!((row["outcome"].as_str(), row["reason"].as_str()), (Some("not-injected"), Some("host-network")));
}

/// kube-inject rewrites only the kinds it knows: a bare Pod is left as written.
#[test]
fn inject_leaves_a_bare_pod_alone() {
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: debug\nspec:\n  containers:\n  - name: debug\n    image: busybox:1.36\n";
    let dir = tree(&[("pod.yaml", pod)]);
    let output = run(dir.path(), &["inject", "--no-context", "-f", "pod.yaml"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(common::stdout(&output), pod);
}

/// The reason a namespace is not watched names the watched ones, or says there are none.
#[test]
fn an_unwatched_namespace_names_the_watched_ones() {
    let workload = HOST_NETWORK.replace("      hostNetwork: true\n", "").replace("namespace: shop", "namespace: other");
    let row = audit_row(&[
        ("inject.yaml", &inject_config("    policy: enabled\n    namespaces: [shop, cart]\n")),
        ("w.yaml", &workload),
    ]);
    assert_eq!(row["reason"], "namespace-not-watched");
    assert_eq!(row["detail"], "namespace `other` is not among the watched `namespaces` (shop, cart)");
    let row = audit_row(&[
        ("inject.yaml", &inject_config("    policy: enabled\n    namespaces: []\n")),
        ("w.yaml", &workload),
    ]);
    assert_eq!(row["detail"], "namespace `other` is not among the watched `namespaces` (nothing)");
}
