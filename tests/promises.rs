//! Promises of the README that had no test: the concise `(ISTnnnn)` suffix, SARIF
//! fingerprints and properties, the walking rules, the `profile` and `inject` keys of the
//! configuration, inject's parameters from an `istio-inject` ConfigMap and mesh values
//! from an `istio` ConfigMap, and a few audit verdicts of the Istio 0.2.6 samples pinned
//! from SEMANTICS.md (policy `enabled`, every namespace but the exempt ones).

mod common;

use std::path::Path;

use serde_json::Value;

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn out(dir: &Path, args: &[&str]) -> String {
    let output = common::meshlint_in(dir).args(args).output().expect("meshlint runs");
    assert!(!common::stderr(&output).contains("panicked"));
    common::stdout(&output)
}

const UNNAMED: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 9000\n";

#[test]
fn concise_lines_end_with_the_istio_code_under_the_modern_profile_only() {
    let dir = tree(&[("s.yaml", UNNAMED)]);
    let modern = out(dir.path(), &["check", "--format", "concise", "--profile", "istio-modern", "s.yaml"]);
    assert!(modern.trim_end().ends_with(" (IST0118)"), "{modern}");
    assert!(modern.starts_with("s.yaml:7:11: info[unnamed-service-port] "), "{modern}");
    let old = out(dir.path(), &["check", "--format", "concise", "--profile", "istio-0.2", "s.yaml"]);
    assert!(!old.contains("(IST"), "{old}");
}

#[test]
fn sarif_results_carry_fingerprints_and_properties() {
    let dir = tree(&[("s.yaml", UNNAMED)]);
    let sarif: Value =
        serde_json::from_str(&out(dir.path(), &["check", "--format", "sarif", "--profile", "istio-modern", "s.yaml"]))
            .unwrap();
    let result = &sarif["runs"][0]["results"][0];
    // Rule, object identity (default namespace) and the field path of the port.
    assert_eq!(
        result["partialFingerprints"]["meshlint/v1"],
        "unnamed-service-port|Service/default/web|spec.ports[0].port"
    );
    assert_eq!(result["properties"]["istio_code"], "IST0118");
    assert_eq!(result["properties"]["object"]["kind"], "Service");
    assert_eq!(result["properties"]["object"]["name"], "web");
    assert_eq!(result["level"], "note", "an info finding is a SARIF note");
}

#[test]
fn walking_honours_gitignore_skips_hidden_entries_and_reads_yml_and_json() {
    let dir = tree(&[
        (".gitignore", "ignored.yaml\n"),
        ("ignored.yaml", UNNAMED),
        (".hidden/s.yaml", UNNAMED),
        (".dot.yaml", UNNAMED),
        ("a.yml", UNNAMED),
        ("b.json", r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"j"},"spec":{"ports":[{"port":1}]}}"#),
        ("notes.txt", UNNAMED),
        ("c.yaml", UNNAMED),
    ]);
    let report: Value =
        serde_json::from_str(&out(dir.path(), &["check", "--format", "json", "--profile", "istio-0.2", "."])).unwrap();
    let mut paths: Vec<&str> =
        report["diagnostics"].as_array().unwrap().iter().map(|d| d["path"].as_str().unwrap()).collect();
    paths.sort_unstable();
    assert_eq!(paths, ["a.yml", "b.json", "c.yaml"]);
    assert_eq!(report["summary"]["files"], 3);
    // A file named explicitly is read whatever its name.
    let named: Value = serde_json::from_str(&out(dir.path(), &["check", "--format", "json", "notes.txt"])).unwrap();
    assert_eq!(named["summary"]["files"], 1);
}

#[test]
fn the_profile_and_inject_keys_of_the_configuration_apply() {
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: web:1\n";
    let dir = tree(&[("d.yaml", deployment), (".meshlint.yaml", "profile: istio-0.2\ninject:\n  policy: disabled\n")]);
    let audit: Value = serde_json::from_str(&out(dir.path(), &["audit", "--format", "json", "d.yaml"])).unwrap();
    assert_eq!(audit["profile"], "istio-0.2");
    assert_eq!(audit["profile_reason"], "asked for");
    assert_eq!(audit["policy"]["policy"], "disabled");
    assert_eq!(
        (audit["workloads"][0]["outcome"].as_str(), audit["workloads"][0]["reason"].as_str()),
        (Some("not-injected"), Some("policy-disabled"))
    );
    std::fs::write(dir.path().join(".meshlint.yaml"), "profile: istio-modern\n").unwrap();
    let audit: Value = serde_json::from_str(&out(dir.path(), &["audit", "--format", "json", "d.yaml"])).unwrap();
    assert_eq!(audit["profile"], "istio-modern");
}

#[test]
fn inject_reads_params_and_mesh_values_from_the_config_maps() {
    let params = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: istio-inject\n  namespace: istio-system\ndata:\n  config: |-\n    policy: enabled\n    params:\n      initImage: registry.example.com/proxy_init:9.9\n      proxyImage: registry.example.com/proxy:9.9\n      verbosity: 4\n      version: 9.9-test\n      sidecarProxyUID: 2000\n      imagePullPolicy: Always\n";
    let mesh = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: istio\n  namespace: istio-system\ndata:\n  mesh: |-\n    defaultConfig:\n      discoveryAddress: pilot.mesh.example:15010\n      connectTimeout: 90s\n      proxyAdminPort: 15999\n";
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: web:1\n";
    let dir = tree(&[("inject.yaml", params), ("mesh.yaml", mesh), ("d.yaml", deployment)]);
    let diff = out(dir.path(), &["inject", "--diff", "."]);
    for want in [
        "image: registry.example.com/proxy:9.9",
        "image: registry.example.com/proxy_init:9.9",
        "sidecar.istio.io/status: injected-version-9.9-test",
        "imagePullPolicy: Always",
        "runAsUser: 2000",
        "- pilot.mesh.example:15010",
        "- 1m30s",
        "- \"15999\"",
        "- \"4\"",
    ] {
        assert!(diff.contains(want), "`{want}` missing from:\n{diff}");
    }
}

#[test]
fn audit_verdicts_of_the_0_2_6_samples() {
    // The install's istio-inject ConfigMap: policy enabled, every namespace; the samples
    // are Deployments in `default`, the install's own in the exempt `istio-system`.
    let reference = common::shared().join("reference/istio-0.2.6");
    let audit: Value = serde_json::from_str(&out(
        common::root(),
        &["audit", "--format", "json", "--no-context", reference.to_str().unwrap()],
    ))
    .unwrap();
    let verdict = |ns: &str, kind: &str, name: &str| -> (String, String) {
        let row = audit["workloads"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["namespace"] == ns && r["kind"] == kind && r["name"] == name)
            .unwrap_or_else(|| panic!("no row for {ns}/{kind}/{name}"));
        (row["outcome"].as_str().unwrap().to_owned(), row["reason"].as_str().unwrap().to_owned())
    };
    let injected = ("injected".to_owned(), "policy-enabled".to_owned());
    assert_eq!(verdict("default", "Deployment", "productpage-v1"), injected);
    assert_eq!(verdict("default", "Deployment", "sleep"), injected);
    assert_eq!(
        verdict("istio-system", "Deployment", "istio-pilot"),
        ("not-injected".to_owned(), "exempt-namespace".to_owned())
    );
}

#[test]
fn one_baseline_entry_absorbs_one_finding() {
    // The same Service in two files: two findings with one fingerprint.
    let dir = tree(&[("a/s.yaml", UNNAMED)]);
    let output = common::meshlint_in(dir.path())
        .args(["check", "--profile", "istio-0.2", "--write-baseline", "b.json", "a"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", common::stderr(&output));
    std::fs::create_dir(dir.path().join("c")).unwrap();
    std::fs::write(dir.path().join("c/s.yaml"), UNNAMED).unwrap();
    let report: Value = serde_json::from_str(&out(
        dir.path(),
        &["check", "--format", "json", "--profile", "istio-0.2", "--baseline", "b.json", "a", "c"],
    ))
    .unwrap();
    let paths: Vec<&str> =
        report["diagnostics"].as_array().unwrap().iter().map(|d| d["path"].as_str().unwrap()).collect();
    assert_eq!(paths.len(), 1, "the one entry absorbs one of the two: {paths:?}");
}
