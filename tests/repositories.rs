//! Right on real repositories: the profile comes from evidence in the whole repository,
//! namespaces from kustomizations and the configuration, every definition of an object
//! is judged, and what is not a manifest (data files, templates of other tools) is
//! skipped while a broken manifest stays an error. Each case is a small fixture tree
//! under `fixtures/repos/`, or a copy of it in a temporary git repository.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

use serde_json::Value;

const REPOS: &str = "fixtures/repos";

fn run_in(dir: &Path, args: &[&str]) -> Output {
    let output = common::meshlint_in(dir).args(args).output().expect("meshlint runs");
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(!err.contains("panicked"), "meshlint {args:?} panicked:\n{err}");
    output
}

fn json_in(dir: &Path, args: &[&str]) -> Value {
    let output = run_in(dir, args);
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("meshlint {args:?}: not JSON ({e}):\n{}", String::from_utf8_lossy(&output.stderr)))
}

fn check_json(args: &[&str]) -> Value {
    let mut all = vec!["check", "--format", "json"];
    all.extend(args);
    json_in(common::root(), &all)
}

fn profile(report: &Value) -> (String, String) {
    let s = &report["summary"];
    (s["profile"].as_str().unwrap_or_default().to_owned(), s["profile_reason"].as_str().unwrap_or_default().to_owned())
}

/// (rule, path, line) of every finding.
fn findings(report: &Value) -> Vec<(String, String, u64)> {
    report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            (
                d["rule"].as_str().unwrap_or_default().to_owned(),
                d["path"].as_str().unwrap_or_default().to_owned(),
                d["line"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

/// A copy of a fixture tree in a new git repository (a `.git` directory is all meshlint
/// looks for).
fn repository(fixture: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::copy_tree(&common::root().join(REPOS).join(fixture), dir.path());
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    dir
}

// ---------------------------------------------------------------------------------------
// 1. The profile

#[test]
fn a_virtual_service_means_modern_istio() {
    let report = check_json(&[&format!("{REPOS}/profile-virtualservice")]);
    let (name, reason) = profile(&report);
    assert_eq!(name, "istio-modern", "{reason}");
    assert!(reason.contains("VirtualService") && reason.contains("istio/routing.yaml:2"), "{reason}");
}

#[test]
fn a_pod_label_means_modern_istio() {
    let report = check_json(&[&format!("{REPOS}/profile-pod-label")]);
    let (name, reason) = profile(&report);
    assert_eq!(name, "istio-modern", "{reason}");
    assert!(reason.contains("pod label `sidecar.istio.io/inject`") && reason.contains("worker.yaml:2"), "{reason}");
}

#[test]
fn a_templated_namespace_is_no_evidence_and_is_skipped() {
    // The Namespace labelled `istio-injection` has `name: "{{ item }}"`: an Ansible
    // template, which must neither switch the profile nor be checked.
    let report = check_json(&[&format!("{REPOS}/profile-template-namespace")]);
    let (name, reason) = profile(&report);
    assert_eq!(name, "istio-0.2", "{reason}");
    assert!(reason.contains("the default"), "{reason}");
    let found = findings(&report);
    assert_eq!(
        found,
        [("template-skipped".to_owned(), format!("{REPOS}/profile-template-namespace/namespaces.yaml"), 5)],
        "only the template note"
    );
}

#[test]
fn the_profile_is_the_same_whatever_part_of_the_repository_is_named() {
    let repo = repository("profile-virtualservice");
    for named in [".", "apps", "apps/reviews.yaml"] {
        let report = json_in(repo.path(), &["check", "--format", "json", named]);
        let (name, reason) = profile(&report);
        assert_eq!(name, "istio-modern", "naming {named}: {reason}");
        assert!(reason.contains("istio/routing.yaml:2"), "naming {named}: {reason}");
        let audit = json_in(repo.path(), &["audit", "--format", "json", named]);
        assert_eq!(audit["profile"], "istio-modern", "audit naming {named}");
    }
    // Without the repository around it, the folder alone has no evidence.
    let report = json_in(repo.path(), &["check", "--format", "json", "--no-context", "apps"]);
    assert_eq!(profile(&report).0, "istio-0.2");
}

#[test]
fn conflicting_evidence_is_named() {
    let repo = repository("profile-virtualservice");
    let old_route = "apiVersion: config.istio.io/v1alpha2\nkind: RouteRule\nmetadata:\n  name: reviews-default\nspec:\n  destination:\n    name: reviews\n";
    std::fs::write(repo.path().join("istio/route-rule.yaml"), old_route).unwrap();
    let report = json_in(repo.path(), &["check", "--format", "json", "."]);
    let (name, reason) = profile(&report);
    assert!(reason.starts_with("conflicting evidence"), "{reason}");
    assert!(reason.contains("VirtualService") && reason.contains("RouteRule"), "{reason}");
    // One piece of evidence each: the tie goes to modern Istio.
    assert_eq!(name, "istio-modern");
    // The explicit setting wins.
    let report = json_in(repo.path(), &["check", "--format", "json", "--profile", "istio-0.2", "."]);
    assert_eq!(profile(&report), ("istio-0.2".to_owned(), "asked for".to_owned()));
}

// ---------------------------------------------------------------------------------------
// 4. What is not a manifest

#[test]
fn data_files_are_skipped_and_a_broken_manifest_is_still_an_error() {
    let report = check_json(&[&format!("{REPOS}/not-manifests/data")]);
    let found = findings(&report);
    assert_eq!(found, [("invalid-yaml".to_owned(), format!("{REPOS}/not-manifests/data/broken.yaml"), 5)]);
    assert_eq!(report["summary"]["data_files_skipped"], 2, "{:#}", report["summary"]);
    // Rewriting the tree is no tool error because of the data files (the broken manifest
    // is one).
    let dir = tempfile::tempdir().unwrap();
    common::copy_tree(&common::root().join(REPOS).join("not-manifests/data"), dir.path());
    std::fs::remove_file(dir.path().join("broken.yaml")).unwrap();
    for mode in ["--check", "--write"] {
        let output = run_in(dir.path(), &["inject", mode, "."]);
        assert_eq!(output.status.code(), Some(0), "inject {mode}: {}", String::from_utf8_lossy(&output.stderr));
    }
}

#[test]
fn a_jinja_template_is_skipped_with_a_note() {
    let report = check_json(&[&format!("{REPOS}/not-manifests/jinja")]);
    assert_eq!(
        findings(&report),
        [("template-skipped".to_owned(), format!("{REPOS}/not-manifests/jinja/sidecar.yaml"), 5)]
    );
    assert_eq!(report["summary"]["objects"], 0, "the templated Deployment is not an object");
}

#[test]
fn the_injector_config_map_is_read_not_skipped_as_a_template() {
    // Its `config` embeds Go templates; `values` turns on enableNamespacesByDefault, so a
    // workload in an unlabelled namespace is injected.
    let dir = common::root().join(REPOS).join("injector-config");
    let report = check_json(&[dir.to_str().unwrap()]);
    assert!(findings(&report).iter().all(|(rule, _, _)| rule != "template-skipped"), "{:?}", findings(&report));
    let audit = json_in(common::root(), &["audit", "--format", "json", &format!("{REPOS}/injector-config")]);
    let rows = audit["workloads"].as_array().expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["outcome"], "injected", "{:#}", rows[0]);
    // The control: with the flag off, the same workload is not injected.
    let repo = repository("injector-config");
    let config = repo.path().join("istio-sidecar-injector.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("\"enableNamespacesByDefault\": true", "\"enableNamespacesByDefault\": false"),
    )
    .unwrap();
    let audit = json_in(repo.path(), &["audit", "--format", "json", "."]);
    assert_eq!(audit["workloads"][0]["outcome"], "not-injected", "{:#}", audit["workloads"][0]);
}

#[test]
fn a_missing_api_version_is_reported_and_the_object_still_checked() {
    let file = common::shared().join("reference/istio-0.2.6/install/kubernetes/mesh-expansion.yaml");
    let output = run_in(common::root(), &["check", "--format", "concise", "--no-context", file.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = text.lines().collect();
    // `Version: v1` at line 3, column 1, above `kind: Service`.
    assert!(lines[0].ends_with("mesh-expansion.yaml:3:1: error[missing-api-version] Service/istio-pilot-ilb has no `apiVersion`: `kubectl apply` rejects it"), "{text}");
    // The Service is checked: its unnamed port 8080 (line 15).
    assert!(
        lines.iter().any(|l| l.contains("mesh-expansion.yaml:15:11: warning[unnamed-service-port] port 8080")),
        "{text}"
    );
    let json = json_in(common::root(), &["check", "--format", "json", "--no-context", file.to_str().unwrap()]);
    let missing = json["diagnostics"].as_array().unwrap().iter().find(|d| d["rule"] == "missing-api-version").unwrap();
    assert_eq!(missing["help"], "rename `Version` to `apiVersion`");
}

// ---------------------------------------------------------------------------------------
// 2. Namespaces

/// (namespace, kind/name, path:line) of every audit row.
fn audit_rows(dir: &Path, args: &[&str]) -> Vec<(String, String, String)> {
    let mut all = vec!["audit", "--format", "json"];
    all.extend(args);
    let audit = json_in(dir, &all);
    audit["workloads"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["namespace"].as_str().unwrap_or_default().to_owned(),
                format!("{}/{}", r["kind"].as_str().unwrap_or_default(), r["name"].as_str().unwrap_or_default()),
                format!("{}:{}", r["path"].as_str().unwrap_or_default(), r["line"]),
            )
        })
        .collect()
}

#[test]
fn a_kustomization_namespace_reaches_through_two_levels_of_bases() {
    // overlays/{dev,staging,production} set their namespace and include bases/backend,
    // which includes bases/common: the Deployment and the Service exist in the three
    // namespaces, and nowhere else (the bases are not applied on their own).
    let tree = format!("{REPOS}/kustomize");
    let rows = audit_rows(common::root(), &[&tree]);
    let at = format!("{tree}/bases/backend/deployment.yaml:2");
    let want: Vec<(String, String, String)> = ["dev", "production", "staging"]
        .iter()
        .map(|ns| ((*ns).to_owned(), "Deployment/backend".to_owned(), at.clone()))
        .collect();
    assert_eq!(rows, want);
    // The Service of bases/common, two levels down, is in the same namespaces: no
    // `pod-without-service` in any of them.
    let report = check_json(&[&tree]);
    assert!(findings(&report).iter().all(|(rule, _, _)| rule != "pod-without-service"), "{:?}", findings(&report));
    // Without the overlays, the base alone is in the default namespace.
    let rows = audit_rows(common::root(), &["--no-context", &format!("{tree}/bases")]);
    assert_eq!(rows, [("default".to_owned(), "Deployment/backend".to_owned(), at)]);
}

#[test]
fn the_configuration_maps_paths_to_namespaces() {
    // Two apps share `app: web`, each applied to its own namespace with `kubectl -n`.
    let dir = common::root().join(REPOS).join("paths");
    let report = json_in(&dir, &["check", "--format", "json", "."]);
    assert_eq!(findings(&report), [], "the map puts the apps in shop and travel");
    let rows = audit_rows(&dir, &["."]);
    let namespaces: Vec<&str> = rows.iter().map(|(ns, _, _)| ns.as_str()).collect();
    assert_eq!(namespaces, ["shop", "travel"]);
    // Without it, both land in `default`: one app label for two workloads, and each pod
    // selected by both Services.
    let report = json_in(&dir, &["check", "--format", "json", "--config", "/dev/null", "."]);
    let rules: BTreeSet<String> = findings(&report).into_iter().map(|(rule, _, _)| rule).collect();
    assert_eq!(rules, BTreeSet::from(["duplicate-app-label".to_owned(), "pod-in-multiple-services".to_owned()]));
}

// ---------------------------------------------------------------------------------------
// 3. One object defined in several files

#[test]
fn two_definitions_with_different_injection_are_both_audited_and_reported() {
    let tree = format!("{REPOS}/variants");
    let rows = audit_rows(common::root(), &[&tree]);
    assert_eq!(
        rows,
        [
            ("default".to_owned(), "Deployment/ratings".to_owned(), format!("{tree}/base/ratings.yaml:13")),
            ("default".to_owned(), "Deployment/ratings".to_owned(), format!("{tree}/debug/ratings.yaml:3")),
        ]
    );
    let audit = json_in(common::root(), &["audit", "--format", "json", &tree]);
    let outcomes: Vec<&str> =
        audit["workloads"].as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["injected", "not-injected"]);
    let report = check_json(&[&tree]);
    let found = findings(&report);
    assert!(
        found.contains(&("inconsistent-injection".to_owned(), format!("{tree}/base/ratings.yaml"), 13)),
        "{found:?}"
    );
    let inconsistent =
        report["diagnostics"].as_array().unwrap().iter().find(|d| d["rule"] == "inconsistent-injection").unwrap();
    let label = &inconsistent["labels"][0];
    assert_eq!(
        (label["path"].as_str().unwrap(), label["line"].as_u64().unwrap()),
        (format!("{tree}/debug/ratings.yaml").as_str(), 3)
    );
    assert!(label["message"].as_str().unwrap().starts_with("not injected here"), "{label}");
}

#[test]
fn a_service_is_judged_by_its_nearest_definition() {
    // ingress-nginx's multi-tls example defines Service `http-svc` beside its
    // ReplicationController; another `http-svc` Service with another selector lives in
    // docs/examples/http-svc.yaml. The one in the same file selects the pods.
    let tree = common::shared().join("corpus/kubernetes__ingress-nginx");
    let report =
        json_in(common::root(), &["check", "--format", "json", "--profile", "istio-0.2", tree.to_str().unwrap()]);
    let found = findings(&report);
    assert!(
        found.iter().any(|(_, path, _)| path.ends_with("docs/examples/multi-tls/multi-tls.yaml")),
        "the file is read"
    );
    let false_alarm =
        found.iter().find(|(rule, path, _)| rule == "pod-without-service" && path.ends_with("multi-tls.yaml"));
    assert!(false_alarm.is_none(), "{false_alarm:?}");
}

#[test]
fn pre_commit_reports_at_the_named_files_definition() {
    // The same Deployment (no Service selects it) in two files of a repository.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    let web = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n";
    std::fs::write(dir.path().join("a.yaml"), web).unwrap();
    std::fs::write(dir.path().join("b.yaml"), web).unwrap();
    let only = |report: &Value| -> Vec<Value> {
        report["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["rule"] == "pod-without-service")
            .cloned()
            .collect()
    };
    // The whole repository: each definition is checked, each at its own place.
    let all = only(&json_in(dir.path(), &["check", "--format", "json", "."]));
    let paths: Vec<&str> = all.iter().map(|d| d["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["a.yaml", "b.yaml"]);
    // Naming b.yaml: reported at b.yaml, with a.yaml's definition as a label.
    let named = only(&json_in(dir.path(), &["check", "--format", "json", "b.yaml"]));
    assert_eq!(named.len(), 1, "{named:#?}");
    assert_eq!(named[0]["path"], "b.yaml");
    assert_eq!(named[0]["line"], 12);
    let labels = named[0]["labels"].as_array().unwrap();
    assert!(
        labels.iter().any(|l| l["path"] == "a.yaml"
            && l["line"] == 12
            && l["message"] == "also defined here, with the same finding"),
        "{labels:#?}"
    );
}

#[test]
fn a_folder_of_templates_only_is_a_warning_not_a_silent_pass() {
    let dir = tempfile::tempdir().unwrap();
    let templates = dir.path().join("chart/templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(
        templates.join("deployment.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: {{ .Values.replicas }}\n",
    )
    .unwrap();
    std::fs::write(
        templates.join("service.yaml"),
        "{{- if .Values.service.enabled }}\napiVersion: v1\nkind: Service\n{{- end }}\n",
    )
    .unwrap();
    let output = run_in(dir.path(), &["check", "--format", "json", "chart"]);
    assert_eq!(output.status.code(), Some(1), "a warning fails the default gate");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let warning =
        report["diagnostics"].as_array().unwrap().iter().find(|d| d["rule"] == "templates-only").expect("the warning");
    assert_eq!(warning["severity"], "warning");
    assert!(
        warning["message"].as_str().unwrap().contains("every file under `chart` is a template (2 files)"),
        "{warning}"
    );
    // One real manifest beside the templates: something was checked, no warning.
    std::fs::write(
        dir.path().join("chart/namespace.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n",
    )
    .unwrap();
    let report = json_in(dir.path(), &["check", "--format", "json", "chart"]);
    assert!(findings(&report).iter().all(|(rule, _, _)| rule != "templates-only"), "{:?}", findings(&report));
}

#[test]
fn meshlints_own_files_are_never_read_as_manifests() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("svc.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector:\n    app: web\n  ports:\n  - port: 80\n",
    )
    .unwrap();
    std::fs::write(dir.path().join(".meshlint.yaml"), "fail-on: error\n").unwrap();
    let output = run_in(dir.path(), &["check", "--write-baseline", "baseline.json", "."]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    // The baseline (JSON) and the configuration, even named explicitly, are not inputs.
    let report =
        json_in(dir.path(), &["check", "--format", "json", "--baseline", "baseline.json", ".", ".meshlint.yaml"]);
    assert_eq!(report["summary"]["files"], 1, "only svc.yaml: {:#}", report["summary"]);
    assert_eq!(findings(&report), [], "the baseline holds the one finding");
}

#[test]
fn the_outer_kustomization_namespace_wins_and_a_shared_finding_is_reported_once() {
    // base sets `namespace: base-ns`; overlays a and b include it with their own
    // namespaces. The Service exists in `a` and `b` only, and its unnamed port, one place
    // in one file, is one finding (not one per namespace).
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join(".git")).unwrap();
    for sub in ["base", "a", "b"] {
        std::fs::create_dir(d.join(sub)).unwrap();
    }
    std::fs::write(d.join("base/kustomization.yaml"), "namespace: base-ns\nresources:\n- svc.yaml\n").unwrap();
    std::fs::write(
        d.join("base/svc.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 9000\n",
    )
    .unwrap();
    for overlay in ["a", "b"] {
        std::fs::write(
            d.join(overlay).join("kustomization.yaml"),
            format!("namespace: {overlay}\nresources:\n- ../base\n"),
        )
        .unwrap();
    }
    let report = json_in(d, &["check", "--format", "json", "--profile", "istio-0.2", "."]);
    let ports: Vec<&Value> =
        report["diagnostics"].as_array().unwrap().iter().filter(|d| d["rule"] == "unnamed-service-port").collect();
    assert_eq!(ports.len(), 1, "{ports:#?}");
    assert_eq!(ports[0]["path"], "base/svc.yaml");
    assert_eq!(report["summary"]["objects"], 2, "one Service in `a` and one in `b`");
    // The base's own namespace is nowhere: the init command lists a and b for it.
    let text = String::from_utf8(common::meshlint_in(d).args(["init", "--stdout"]).output().unwrap().stdout).unwrap();
    assert!(text.contains("#   base -> a, b"), "{text}");
}

#[test]
fn kustomizations_that_share_bases_in_layers_are_walked_once_each() {
    // Forty layers, each of two overlays that both include the next layer: 2^40 paths
    // from the top to the Service, and the namespace each gives is the same. Walking
    // every path never ends; the run must end at once, with the one namespace.
    const LAYERS: usize = 40;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join(".git")).unwrap();
    let write = |path: String, text: String| {
        let path = d.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("top/kustomization.yaml".into(), "namespace: team\nresources:\n- ../l0a\n- ../l0b\n".into());
    for i in 0..LAYERS {
        let next = if i + 1 == LAYERS { "../svc".to_owned() } else { format!("../l{}a\n- ../l{}b", i + 1, i + 1) };
        for side in ["a", "b"] {
            write(format!("l{i}{side}/kustomization.yaml"), format!("resources:\n- {next}\n"));
        }
    }
    write("svc/kustomization.yaml".into(), "resources:\n- svc.yaml\n".into());
    write(
        "svc/svc.yaml".into(),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 9000\n".into(),
    );
    let output = common::meshlint_in(d)
        .args(["check", "--format", "json", "--profile", "istio-0.2", "--no-render", "--no-cache", "."])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("the run starts");
    assert!(output.status.code().is_some(), "killed: the run did not end within 60 s");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let ports: Vec<&Value> =
        report["diagnostics"].as_array().unwrap().iter().filter(|d| d["rule"] == "unnamed-service-port").collect();
    assert_eq!(ports.len(), 1, "{ports:#?}");
    assert_eq!(ports[0]["path"], "svc/svc.yaml");
    assert_eq!(report["summary"]["objects"], 1, "one Service, in `team`");
}
