//! What meshlint says: the checks of injected Jobs and of the deprecated `serviceAccount`
//! field under both profiles, the `app` label it suggests, how it names objects that only
//! have `generateName`, the flags it refuses, and the quiet human format (notes grouped,
//! the default profile said first).

mod common;

use std::path::Path;
use std::process::Output;

use serde_json::Value;

fn run(dir: &Path, args: &[&str]) -> Output {
    let output = common::meshlint_in(dir).args(args).output().expect("meshlint runs");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
    output
}

fn check(dir: &Path, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["check", "--format", "json"];
    all.extend(args);
    let output = run(dir, &all);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {output:?}"));
    report["diagnostics"].as_array().unwrap().clone()
}

fn of_rule<'a>(found: &'a [Value], rule: &str) -> Vec<&'a Value> {
    found.iter().filter(|d| d["rule"] == rule).collect()
}

/// A tree of files.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn job(annotations: &str, pod_labels: &str, pod_annotations: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  namespace: shop\n{annotations}spec:\n  template:\n    metadata:\n      labels:\n        app: migrate\n{pod_labels}{pod_annotations}    spec:\n      restartPolicy: Never\n      containers:\n      - name: migrate\n        image: migrate:1.0\n"
    )
}

const SHOP_INJECTED: &str =
    "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    istio-injection: enabled\n";

#[test]
fn an_injected_job_is_reported_with_the_0_2_fix() {
    let dir = tree(&[("job.yaml", &job("", "", ""))]);
    let found = check(dir.path(), &["--profile", "istio-0.2", "job.yaml"]);
    let jobs = of_rule(&found, "job-with-sidecar");
    assert_eq!(jobs.len(), 1, "{found:#?}");
    assert_eq!(jobs[0]["line"], 2);
    assert!(
        jobs[0]["help"].as_str().unwrap().contains("annotation `sidecar.istio.io/inject: \"false\"` on its metadata")
    );
    // Opted out: not injected, nothing to say.
    let annotated = job("  annotations:\n    sidecar.istio.io/inject: \"false\"\n", "", "");
    let dir = tree(&[("job.yaml", &annotated)]);
    assert!(of_rule(&check(dir.path(), &["--profile", "istio-0.2", "job.yaml"]), "job-with-sidecar").is_empty());
}

#[test]
fn modern_istio_ends_jobs_with_native_sidecars_from_1_27() {
    let dir = tree(&[("ns.yaml", SHOP_INJECTED), ("job.yaml", &job("", "", ""))]);
    let args = |version: &'static str| ["--profile", "istio-modern", "--istio-version", version, "."];
    let old = check(dir.path(), &args("1.26"));
    let jobs = of_rule(&old, "job-with-sidecar");
    assert_eq!(jobs.len(), 1, "{old:#?}");
    let help = jobs[0]["help"].as_str().unwrap();
    assert!(help.contains("Istio 1.26 injects a regular sidecar") && help.contains("nativeSidecar"), "{help}");
    assert!(of_rule(&check(dir.path(), &args("1.28")), "job-with-sidecar").is_empty(), "native sidecars end");
    // Native sidecars turned off on the pod: reported again.
    let off = job("", "", "      annotations:\n        sidecar.istio.io/nativeSidecar: \"false\"\n");
    let dir = tree(&[("ns.yaml", SHOP_INJECTED), ("job.yaml", &off)]);
    let found = check(dir.path(), &args("1.28"));
    let jobs = of_rule(&found, "job-with-sidecar");
    assert_eq!(jobs.len(), 1, "{found:#?}");
    assert!(jobs[0]["help"].as_str().unwrap().starts_with("remove `sidecar.istio.io/nativeSidecar: \"false\"`"));
}

#[test]
fn the_deprecated_service_account_field_is_reported_under_0_2_only() {
    let deployment = |spec: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: orders\nspec:\n  selector:\n    matchLabels:\n      app: orders\n  template:\n    metadata:\n      labels:\n        app: orders\n    spec:\n{spec}      containers:\n      - name: orders\n        image: orders:1.0\n"
        )
    };
    let dir = tree(&[("d.yaml", &deployment("      serviceAccount: orders\n"))]);
    let found = check(dir.path(), &["--profile", "istio-0.2", "d.yaml"]);
    let fields = of_rule(&found, "deprecated-service-account");
    assert_eq!(fields.len(), 1, "{found:#?}");
    assert_eq!((fields[0]["line"].as_u64(), fields[0]["column"].as_u64()), (Some(14), Some(7)));
    assert_eq!(fields[0]["help"], "write `serviceAccountName: orders` instead");
    assert!(fields[0]["message"].as_str().unwrap().contains("`istio.default`"));
    assert!(
        of_rule(&check(dir.path(), &["--profile", "istio-modern", "d.yaml"]), "deprecated-service-account").is_empty()
    );
    let both = deployment("      serviceAccount: orders\n      serviceAccountName: orders\n");
    let dir = tree(&[("d.yaml", &both)]);
    assert!(
        of_rule(&check(dir.path(), &["--profile", "istio-0.2", "d.yaml"]), "deprecated-service-account").is_empty()
    );
    // `default` (the account a pod gets anyway, and the certificate it is given) and an
    // empty value mismatch nothing.
    for account in ["default", "\"\""] {
        let dir = tree(&[("d.yaml", &deployment(&format!("      serviceAccount: {account}\n")))]);
        let found = check(dir.path(), &["--profile", "istio-0.2", "d.yaml"]);
        assert!(of_rule(&found, "deprecated-service-account").is_empty(), "{account}: {found:#?}");
    }
}

#[test]
fn missing_app_label_suggests_the_selecting_services_name() {
    // robot-shop's `payment-fix` Deployment belongs to Service `payment`.
    let files = [(
        "payment.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: payment\nspec:\n  selector:\n    service: payment\n  ports:\n  - name: http\n    port: 8080\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: payment-fix\nspec:\n  selector:\n    matchLabels:\n      service: payment\n  template:\n    metadata:\n      labels:\n        service: payment\n    spec:\n      containers:\n      - name: payment\n        image: payment:1.0\n",
    )];
    let dir = tree(&files);
    let found = check(dir.path(), &["--profile", "istio-0.2", "payment.yaml"]);
    let missing = of_rule(&found, "missing-app-label");
    assert_eq!(missing.len(), 1);
    assert!(
        missing[0]["help"]
            .as_str()
            .unwrap()
            .starts_with("add `app: payment` to the pod template's labels (the name of Service `payment`"),
        "{}",
        missing[0]["help"]
    );
}

#[test]
fn objects_named_by_generate_name_are_shown_as_such() {
    let text = job("", "", "").replace("  name: migrate\n", "  generateName: migrate-\n");
    let dir = tree(&[("job.yaml", &text)]);
    let output = run(dir.path(), &["audit", "--format", "json", "--profile", "istio-0.2", "job.yaml"]);
    let audit: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(audit["workloads"][0]["name"], "migrate-…");
    let output = run(dir.path(), &["audit", "--profile", "istio-0.2", "job.yaml"]);
    assert!(String::from_utf8_lossy(&output.stdout).contains("Job/migrate-…"));
    let found = check(dir.path(), &["--profile", "istio-0.2", "job.yaml"]);
    assert!(of_rule(&found, "job-with-sidecar")[0]["message"].as_str().unwrap().contains("Job/migrate-…"));
}

#[test]
fn namespace_labels_must_name_a_namespace() {
    let dir = tree(&[("job.yaml", &job("", "", ""))]);
    for bad in ["*:istio-injection=enabled", "Shop:istio-injection=enabled", "-x:a=b", "shop:=enabled"] {
        let output = run(dir.path(), &["check", &format!("--namespace-label={bad}"), "job.yaml"]);
        assert_eq!(output.status.code(), Some(2), "{bad}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("--namespace-label"), "{bad}");
    }
    let output = run(dir.path(), &["check", "--namespace-label", "shop:istio-injection=enabled", "job.yaml"]);
    assert_ne!(output.status.code(), Some(2), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn the_human_format_groups_notes_and_says_the_default_profile_first() {
    // Two Services with an unnamed port under modern Istio (notes), and one under 0.2.
    let service = |name: &str| {
        format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  ports:\n  - port: 9000\n")
    };
    let dir = tree(&[("a.yaml", &service("a")), ("b.yaml", &service("b"))]);
    let quiet = String::from_utf8(run(dir.path(), &["check", "--profile", "istio-modern", "."]).stdout).unwrap();
    assert!(!quiet.contains("┌─"), "no snippet for a note:\n{quiet}");
    assert!(
        quiet.contains("info[unnamed-service-port] 2 notes under ., e.g. port 9000 of Service `a` has no name"),
        "{quiet}"
    );
    let verbose =
        String::from_utf8(run(dir.path(), &["check", "--profile", "istio-modern", "-v", "."]).stdout).unwrap();
    assert_eq!(verbose.matches("┌─").count(), 2, "{verbose}");
    // Nothing says which Istio: the first line says so, with the line to add.
    let default = String::from_utf8(run(dir.path(), &["check", "."]).stdout).unwrap();
    assert!(default.lines().next().unwrap().starts_with("note: nothing in the repository says which Istio it is for: checking as istio-0.2 (the default); for Istio 1.x add `profile: istio-modern` to .meshlint.yaml"), "{default}");
    assert!(default.contains("next: `meshlint explain unnamed-service-port`"), "{default}");
    // Asked for: no such note.
    let asked = String::from_utf8(run(dir.path(), &["check", "--profile", "istio-0.2", "."]).stdout).unwrap();
    assert!(!asked.starts_with("note:"), "{asked}");
}

#[test]
fn the_example_shop_shows_what_its_readme_says() {
    // The README's first command; one finding per row of examples/shop/README.md.
    // As a person runs it in a clone: the repository around the example is not read, since
    // the example has its own `.meshlint.yaml`.
    let output = common::meshlint()
        .env_remove("GIT_CEILING_DIRECTORIES")
        .args(["check", "--format", "concise", "examples/shop"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "findings: exit 1");
    let text = String::from_utf8(output.stdout).unwrap();
    let found: Vec<(String, String)> = text
        .lines()
        .map(|l| {
            let file = l.split(':').next().unwrap().trim_start_matches("examples/shop/").to_owned();
            let rule = l.split('[').nth(1).unwrap().split(']').next().unwrap().to_owned();
            (file, rule)
        })
        .collect();
    let readme = std::fs::read_to_string(common::root().join("examples/shop/README.md")).unwrap();
    let mut want = Vec::new();
    for row in readme.lines().filter(|l| l.starts_with("| `") && l.contains(".yaml`")) {
        let file = row.split('`').nth(1).unwrap().to_owned();
        let said = row.split(" | ").nth(1).unwrap();
        for rule in meshlint::rules::RULES.iter().map(|r| r.name) {
            if said.contains(&format!("`{rule}`")) {
                want.push((file.clone(), rule.to_owned()));
            }
        }
    }
    let mut got = found.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want, "{text}");
    let audit = run(common::root(), &["audit", "examples/shop"]);
    assert_eq!(audit.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&audit.stdout).contains("8 workloads: 7 injected, 1 not injected"));
}

#[test]
fn an_inject_annotation_cannot_opt_a_pod_in_under_modern_istio() {
    // The namespace has no injection label; the pod template asks with the annotation.
    let deployment = |metadata: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n{metadata}    spec:\n      containers:\n      - name: web\n        image: web:1\n"
        )
    };
    let annotated = deployment("      annotations:\n        sidecar.istio.io/inject: \"true\"\n");
    let dir = tree(&[("web.yaml", &annotated)]);
    let output = run(dir.path(), &["audit", "--format", "json", "--profile", "istio-modern", "web.yaml"]);
    let audit: Value = serde_json::from_slice(&output.stdout).unwrap();
    let detail = audit["workloads"][0]["detail"].as_str().unwrap();
    assert_eq!(audit["workloads"][0]["outcome"], "not-injected");
    assert!(
        detail.contains("the annotation `sidecar.istio.io/inject: \"true\"`, which the webhook's selectors cannot see"),
        "{detail}"
    );
    // Without the annotation the reason says what would opt the pod in.
    let dir = tree(&[("web.yaml", &deployment(""))]);
    let output = run(dir.path(), &["audit", "--format", "json", "--profile", "istio-modern", "web.yaml"]);
    let audit: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        audit["workloads"][0]["detail"]
            .as_str()
            .unwrap()
            .ends_with("no pod label `sidecar.istio.io/inject: \"true\"` opts the pod in")
    );
}

#[test]
fn a_namespace_left_out_is_fixed_where_that_istio_reads_it() {
    // Istio 0.2's initializer reads only the `istio-inject` ConfigMap's namespace lists,
    // never a namespace label; the webhook reads the label.
    let config = |key: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: istio-inject\n  namespace: istio-system\ndata:\n  config: |-\n    policy: enabled\n    {key}: [payments]\n"
        )
    };
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: shop\nspec:\n  template:\n    metadata:\n      labels:\n        app: api\n    spec:\n      containers:\n      - name: api\n        image: api:1\n";
    let excluded = deployment.replace("namespace: shop", "namespace: payments");
    for (key, manifest, says) in [
        ("excludeNamespaces", excluded.as_str(), "remove `payments` from `excludeNamespaces`"),
        ("namespaces", deployment, "add `shop` to `namespaces`"),
    ] {
        let dir = tree(&[("inject.yaml", &config(key)), ("app.yaml", manifest)]);
        let found = check(dir.path(), &["--no-context", "--profile", "istio-0.2", "."]);
        let d = of_rule(&found, "workload-not-injected");
        assert_eq!(d.len(), 1, "{found:#?}");
        let help = d[0]["help"].as_str().unwrap_or("");
        assert!(help.contains(says) && help.contains("istio-inject"), "{key}: {help}");
        assert!(!help.contains("istio-injection"), "0.2 reads no namespace label: {help}");
    }
    // Modern Istio: a namespace labelled `istio-injection=disabled` is fixed by its label.
    let ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    istio-injection: disabled\n";
    let dir = tree(&[("ns.yaml", ns), ("app.yaml", deployment)]);
    let found = check(dir.path(), &["--no-context", "--profile", "istio-modern", "."]);
    let d = of_rule(&found, "workload-not-injected");
    assert_eq!(d.len(), 1, "{found:#?}");
    assert!(d[0]["help"].as_str().unwrap_or("").contains("istio-injection=enabled"), "{:#?}", d[0]);
}

#[test]
fn workload_not_injected_helps_by_its_reason() {
    // Istio 0.2 with `policy: disabled`: only a workload annotated "true" on its own
    // metadata is injected, so that is the help (not modern's pod label).
    let config = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: istio-inject\n  namespace: istio-system\ndata:\n  config: |-\n    policy: disabled\n    namespaces: [\"\"]\n";
    let web = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: web:1\n";
    let dir = tree(&[("cm.yaml", config), ("web.yaml", web)]);
    let found = check(dir.path(), &["--profile", "istio-0.2", "."]);
    let helps: Vec<&str> = of_rule(&found, "workload-not-injected").iter().filter_map(|d| d["help"].as_str()).collect();
    assert_eq!(helps, ["add the annotation `sidecar.istio.io/inject: \"true\"` to the workload's metadata"]);
    // Istio 0.2: a CronJob never reaches the initializer (the 0.2.6 install's
    // InitializerConfiguration lists deployments, statefulsets, jobs, daemonsets).
    let cron = "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: nightly\n  namespace: shop\nspec:\n  schedule: \"0 0 * * *\"\n  jobTemplate:\n    spec:\n      template:\n        metadata:\n          labels:\n            app: nightly\n        spec:\n          restartPolicy: Never\n          containers:\n          - name: nightly\n            image: nightly:1\n";
    let dir = tree(&[("cron.yaml", cron)]);
    let found = check(dir.path(), &["--profile", "istio-0.2", "."]);
    let helps: Vec<&str> = of_rule(&found, "workload-not-injected").iter().filter_map(|d| d["help"].as_str()).collect();
    assert_eq!(
        helps,
        ["inject it with `meshlint inject` (or `istioctl kube-inject`), or use a kind the initializer handles"]
    );
    // Modern Istio: an opt-out, and `hostNetwork` (the fixtures of the decision table).
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/trees/modern/decide");
    for (case, want) in [
        ("annotation-false", "remove the opt-out or set it to \"true\" if the workload belongs in the mesh"),
        ("pod-label-false-enabled-ns", "remove the opt-out or set it to \"true\" if the workload belongs in the mesh"),
        ("host-network", "drop `hostNetwork: true` if the workload belongs in the mesh"),
    ] {
        let found = check(&root.join(case), &["--profile", "istio-modern", "."]);
        let helps: Vec<&str> =
            of_rule(&found, "workload-not-injected").iter().filter_map(|d| d["help"].as_str()).collect();
        assert_eq!(helps, [want], "{case}");
    }
}
