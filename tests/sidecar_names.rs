//! Names that injection adds and the pod already has (`istio-init`, `istio-proxy`,
//! `enable-core-dump`, the volumes `istio-envoy` and `istio-certs`): the 0.2 injectors
//! append a second item of that name, which the API server rejects. `check` reports it
//! (`sidecar-name-conflict`), `inject` refuses the file and leaves it unchanged, and
//! `uninject` removes only what injection adds (name and content), never the user's item.
//!
//! The main case is Istio's own `prometheus-secure-metrics` sample, whose pod has a user
//! volume `istio-certs`, moved out of the exempt `istio-system` namespace.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{root, shared};

const FIXTURES: &str = "fixtures/sidecar-names";

fn run(dir: &Path, args: &[&str]) -> Output {
    let output = common::meshlint_in(dir).args(args).output().expect("meshlint runs");
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(!err.contains("panicked"), "meshlint {args:?} panicked:\n{err}");
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8")
}

/// Istio's `prometheus-secure-metrics` sample in namespace `monitoring`, where the 0.2
/// initializer (policy enabled, all namespaces) injects it.
fn prometheus_in(dir: &Path) -> PathBuf {
    let source = shared().join("corpus/istio__istio/samples/addons/extras/prometheus-secure-metrics.yaml");
    let original = std::fs::read_to_string(source).expect("the sample is in the corpus");
    let moved = original.replace("namespace: istio-system", "namespace: monitoring");
    assert_ne!(moved, original, "the sample names istio-system");
    let path = dir.join("prometheus.yaml");
    std::fs::write(&path, moved).unwrap();
    path
}

/// Concise findings of one rule.
fn findings(output: &Output, rule: &str) -> Vec<String> {
    text(&output.stdout).lines().filter(|l| l.contains(&format!("[{rule}]"))).map(str::to_owned).collect()
}

#[test]
fn check_reports_the_users_istio_certs_volume_at_its_name() {
    let dir = tempfile::tempdir().unwrap();
    prometheus_in(dir.path());
    // The sample's pod label `sidecar.istio.io/inject` says modern Istio: ask for 0.2.
    let output =
        run(dir.path(), &["check", "--format", "concise", "--no-context", "--profile", "istio-0.2", "prometheus.yaml"]);
    let found = findings(&output, "sidecar-name-conflict");
    // `        - name: istio-certs` at line 627: the value starts at column 17.
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("prometheus.yaml:627:17: error[sidecar-name-conflict]"), "{}", found[0]);
    assert!(found[0].contains("has a volume named `istio-certs`"), "{}", found[0]);
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn check_is_silent_where_the_workload_is_not_injected() {
    // In istio-system (exempt), opted out by annotation, or under the modern profile
    // (whose webhook merges by name): no finding.
    let sample = shared().join("corpus/istio__istio/samples/addons/extras/prometheus-secure-metrics.yaml");
    let output = run(
        root(),
        &["check", "--format", "concise", "--no-context", "--profile", "istio-0.2", sample.to_str().unwrap()],
    );
    assert!(findings(&output, "sidecar-name-conflict").is_empty());
    let output = run(root(), &["check", "--format", "concise", "--no-context", &format!("{FIXTURES}/opted-out.yaml")]);
    assert!(findings(&output, "sidecar-name-conflict").is_empty());
    let dir = tempfile::tempdir().unwrap();
    prometheus_in(dir.path());
    let output = run(
        dir.path(),
        &["check", "--format", "concise", "--no-context", "--profile", "istio-modern", "prometheus.yaml"],
    );
    assert!(findings(&output, "sidecar-name-conflict").is_empty(), "{}", text(&output.stdout));
}

#[test]
fn check_reports_init_container_names_and_core_dump_only_when_enabled() {
    let output =
        run(root(), &["check", "--format", "concise", "--no-context", &format!("{FIXTURES}/user-istio-init.yaml")]);
    let found = findings(&output, "sidecar-name-conflict");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with(&format!("{FIXTURES}/user-istio-init.yaml:16:15: error[sidecar-name-conflict]")),
        "{}",
        found[0]
    );
    assert!(found[0].contains("has an init container named `istio-init`"), "{}", found[0]);

    let dumper = format!("{FIXTURES}/core-dump-name.yaml");
    let output = run(root(), &["check", "--format", "concise", "--no-context", &dumper]);
    assert!(findings(&output, "sidecar-name-conflict").is_empty(), "core dump is off by default");
    let config = format!("{FIXTURES}/core-dump-config.yaml");
    let output = run(root(), &["check", "--format", "concise", "--no-context", "--inject-config", &config, &dumper]);
    let found = findings(&output, "sidecar-name-conflict");
    assert_eq!(found.len(), 1, "{}", text(&output.stdout));
    assert!(found[0].starts_with(&format!("{dumper}:18:15: error[sidecar-name-conflict]")), "{}", found[0]);
}

#[test]
fn inject_refuses_the_file_names_the_item_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let prometheus = prometheus_in(dir.path());
    let before = std::fs::read(&prometheus).unwrap();
    // A second file, after it in name order, that injects cleanly.
    let other = dir.path().join("sleep.yaml");
    let other_before = std::fs::read(shared().join("reference/istio-0.2.6/samples/sleep/sleep.yaml")).unwrap();
    std::fs::write(&other, &other_before).unwrap();
    let output = run(dir.path(), &["inject", "--write", "--no-context", "."]);
    assert_eq!(output.status.code(), Some(2), "a refused file is an error");
    let err = text(&output.stderr);
    assert!(
        err.contains("prometheus.yaml")
            && err.contains("volume named `istio-certs` (line 627, column 17)")
            && err.contains("left unchanged"),
        "{err}"
    );
    assert_eq!(std::fs::read(&prometheus).unwrap(), before, "the refused file is untouched");
    let injected = std::fs::read_to_string(&other).unwrap();
    assert!(injected.contains("name: istio-proxy"), "the other file is still injected:\n{injected}");

    // `-f` prints nothing for the refused file and exits 2.
    let output = run(dir.path(), &["inject", "--no-context", "-f", "prometheus.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty(), "{}", text(&output.stdout));
}

/// Istio 0.2.12's own `kube-inject` output with a user volume `istio-certs` added, as the
/// old injector left it beside the injected one.
fn injected_with_user_volume() -> String {
    let golden = std::fs::read_to_string(shared().join("reference/kube-inject-0.2.12/hello.yaml.injected")).unwrap();
    let anchor = "      volumes:\n";
    assert!(golden.contains(anchor));
    golden.replacen(anchor, &format!("{anchor}      - name: istio-certs\n        emptyDir: {{}}\n"), 1)
}

#[test]
fn uninject_removes_only_the_injected_volume_not_the_users() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hello.yaml");
    std::fs::write(&path, injected_with_user_volume()).unwrap();
    let output = run(dir.path(), &["uninject", "--no-context", "-f", "hello.yaml"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let out = text(&output.stdout);
    // The user's volume stays, with its content; the injected one (a secret) is gone, as
    // are the sidecar, the init container and the other volume.
    assert!(out.contains("      volumes:\n      - name: istio-certs\n        emptyDir: {}\n"), "{out}");
    assert_eq!(out.matches("istio-certs").count(), 1, "{out}");
    for gone in
        ["secretName: istio.default", "name: istio-proxy", "name: istio-init", "istio-envoy", "sidecar.istio.io/status"]
    {
        assert!(!out.contains(gone), "`{gone}` should be removed:\n{out}");
    }
}

#[test]
fn uninject_keeps_a_users_item_with_an_injected_name() {
    // A workload that carries the status annotation and a user's own init container named
    // `istio-init` (not what injection writes): it stays.
    let dir = tempfile::tempdir().unwrap();
    let user = std::fs::read_to_string(root().join(FIXTURES).join("user-istio-init.yaml")).unwrap();
    let marked = user.replacen(
        "  template:\n    metadata:\n",
        "  template:\n    metadata:\n      annotations:\n        sidecar.istio.io/status: injected-version-0.2.6\n",
        1,
    );
    std::fs::write(dir.path().join("w.yaml"), &marked).unwrap();
    let output = run(dir.path(), &["uninject", "--no-context", "-f", "w.yaml"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let out = text(&output.stdout);
    assert!(out.contains("      - name: istio-init\n        image: busybox:1.36\n"), "{out}");
    assert!(!out.contains("sidecar.istio.io/status"), "{out}");
}

#[test]
fn uninject_refuses_two_items_that_both_look_injected() {
    let golden = std::fs::read_to_string(shared().join("reference/kube-inject-0.2.12/hello.yaml.injected")).unwrap();
    let anchor = "      volumes:\n";
    let doubled = golden.replacen(
        anchor,
        &format!("{anchor}      - emptyDir:\n          medium: Memory\n        name: istio-envoy\n"),
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hello.yaml");
    std::fs::write(&path, &doubled).unwrap();
    let output = run(dir.path(), &["uninject", "--no-context", "--write", "hello.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    let err = text(&output.stderr);
    assert!(err.contains("two items named `istio-envoy`") && err.contains("left unchanged"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), doubled);
}

#[test]
fn uninject_refuses_modern_injection() {
    let dir = tempfile::tempdir().unwrap();
    let golden = std::fs::read_to_string(shared().join("reference/kube-inject-0.2.12/hello.yaml.injected")).unwrap();
    let modern = golden.replace(
        "sidecar.istio.io/status: injected-version-12345678",
        r#"sidecar.istio.io/status: '{"initContainers":["istio-init"],"containers":["istio-proxy"],"volumes":["istio-envoy"]}'"#,
    );
    std::fs::write(dir.path().join("m.yaml"), &modern).unwrap();
    let output = run(dir.path(), &["uninject", "--no-context", "--write", "m.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("modern Istio's webhook"), "{}", text(&output.stderr));
    assert_eq!(std::fs::read_to_string(dir.path().join("m.yaml")).unwrap(), modern);
}

#[test]
fn uninject_of_the_reference_output_still_removes_everything_injected() {
    // kube-inject adds `resources: {}` and `sizeLimit: "0"`: still recognised as injected.
    let golden = shared().join("reference/kube-inject-0.2.12/hello.yaml.injected");
    let output = run(root(), &["uninject", "--no-context", "-f", golden.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let out = text(&output.stdout);
    for gone in ["istio-proxy", "istio-init", "istio-envoy", "istio-certs", "sidecar.istio.io/status"] {
        assert!(!out.contains(gone), "`{gone}` should be removed:\n{out}");
    }
    assert!(out.contains("name: hello"));
}
