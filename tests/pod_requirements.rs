//! End-to-end tests of the pod spec requirements (SEMANTICS.md section 1) through the
//! binary: `pod-in-multiple-services`, `pod-without-service`, `missing-app-label`,
//! `duplicate-app-label` and `non-string-annotation`, over the trees in
//! `fixtures/trees/pods/`, in pre-commit (context) mode, and over real projects of the
//! shared corpus. Every expectation is an exact set of (rule, path, line, labels); the
//! lines are found by searching the manifests' text, never hard-coded.

mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The rules under test.
const POD_RULES: &[&str] = &[
    "pod-in-multiple-services",
    "pod-without-service",
    "missing-app-label",
    "duplicate-app-label",
    "non-string-annotation",
];

/// The four rules about Services and `app` labels (the corpus must-shows).
const SERVICE_RULES: &[&str] =
    &["pod-in-multiple-services", "pod-without-service", "missing-app-label", "duplicate-app-label"];

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

fn fixture(name: &str) -> PathBuf {
    Path::new(MANIFEST_DIR).join("fixtures/trees/pods").join(name)
}

fn shared(rel: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared")).join(rel)
}

/// A finding as the user sees it, paths relative to the checked root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Finding {
    rule: String,
    path: String,
    line: usize,
    /// Secondary labels: (path, line).
    labels: BTreeSet<(String, usize)>,
}

fn finding(rule: &str, path: &str, line: usize, labels: &[(&str, usize)]) -> Finding {
    Finding {
        rule: rule.to_owned(),
        path: path.to_owned(),
        line,
        labels: labels.iter().map(|&(p, l)| (p.to_owned(), l)).collect(),
    }
}

/// Run `meshlint check ARGS --format json` in `cwd` and return the JSON report.
fn check_json(cwd: &Path, args: &[&str]) -> Value {
    let output =
        common::meshlint_in(cwd).arg("check").args(args).args(["--format", "json"]).output().expect("meshlint runs");
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "meshlint failed ({:?}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON report")
}

/// The findings of `rules` in a report, with `root/` stripped from paths.
fn findings(report: &Value, root: &Path, rules: &[&str]) -> BTreeSet<Finding> {
    let prefix = format!("{}/", root.display());
    let rel = |v: &Value| {
        let p = v.as_str().expect("path is a string");
        p.strip_prefix(&prefix).unwrap_or(p).to_owned()
    };
    let line = |v: &Value| usize::try_from(v.as_u64().expect("line is a number")).expect("line fits");
    report["diagnostics"]
        .as_array()
        .expect("diagnostics array")
        .iter()
        .filter(|d| rules.contains(&d["rule"].as_str().expect("rule")))
        .map(|d| Finding {
            rule: d["rule"].as_str().expect("rule").to_owned(),
            path: rel(&d["path"]),
            line: line(&d["line"]),
            labels: d["labels"]
                .as_array()
                .expect("labels")
                .iter()
                .map(|l| (rel(&l["path"]), line(&l["line"])))
                .collect(),
        })
        .collect()
}

/// Check the directory `root` and return the findings of `rules`.
fn check_dir(root: &Path, extra: &[&str], rules: &[&str]) -> BTreeSet<Finding> {
    let mut args = vec![root.to_str().expect("UTF-8 path")];
    args.extend_from_slice(extra);
    findings(&check_json(Path::new(MANIFEST_DIR), &args), root, rules)
}

/// The 1-based line reached by finding each of `steps` in turn: the first line equal to
/// `steps[0]` (trailing whitespace and comments aside), then the first line after it equal
/// to `steps[1]`, and so on.
fn find_line(file: &Path, steps: &[&str]) -> usize {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let lines: Vec<&str> = text.lines().map(|l| l.split(" #").next().unwrap_or(l).trim_end()).collect();
    let mut at = 0;
    for (i, step) in steps.iter().enumerate() {
        let from = if i == 0 { 0 } else { at + 1 };
        at = from
            + lines[from..]
                .iter()
                .position(|l| l == step)
                .unwrap_or_else(|| panic!("{}: no line {step:?} after line {at}", file.display()));
    }
    at + 1
}

fn assert_findings(actual: &BTreeSet<Finding>, expected: &[Finding]) {
    let expected: BTreeSet<Finding> = expected.iter().cloned().collect();
    if *actual != expected {
        let mut msg = String::from("findings differ\n");
        for f in expected.difference(actual) {
            let _ = writeln!(msg, "  missing:    {f:?}");
        }
        for f in actual.difference(&expected) {
            let _ = writeln!(msg, "  unexpected: {f:?}");
        }
        panic!("{msg}");
    }
}

// Fixture (a): one Deployment, two Services selecting it, three files.

/// The finding of tree (a), paths relative to the tree.
fn cross_file_expected(dir: &Path) -> Finding {
    let deployment = find_line(&dir.join("reviews-deployment.yaml"), &["  template:", "      labels:"]) + 1;
    // Each Service's label points at its selector mapping, which starts at its first key.
    let selector = |file: &str| find_line(&dir.join(file), &["  selector:"]) + 1;
    finding(
        "pod-in-multiple-services",
        "reviews-deployment.yaml",
        deployment,
        &[
            ("reviews-service.yaml", selector("reviews-service.yaml")),
            ("reviews-metrics-service.yaml", selector("reviews-metrics-service.yaml")),
        ],
    )
}

#[test]
fn pod_selected_by_services_in_two_files_is_one_diagnostic() {
    let dir = fixture("cross-file");
    let expected = cross_file_expected(&dir);
    assert_eq!(expected.labels.len(), 2, "the labels lie in two distinct files");
    assert_findings(&check_dir(&dir, &[], POD_RULES), &[expected]);
}

/// Copy a fixture tree into a fresh temporary directory.
fn copy_tree(name: &str) -> tempfile::TempDir {
    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("create dir");
        for entry in std::fs::read_dir(from).expect("fixture dir") {
            let entry = entry.expect("dir entry");
            let target = to.join(entry.file_name());
            if entry.file_type().expect("file type").is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).expect("copy");
            }
        }
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    copy_dir(&fixture(name), tmp.path());
    tmp
}

fn git(dir: &Path, args: &[&str]) {
    let status = std::process::Command::new("git").current_dir(dir).args(args).status().expect("git runs");
    assert!(status.success(), "git {args:?} failed");
}

/// `git init` a directory and commit everything in it.
fn git_repo(dir: &Path) {
    git(dir, &["init", "-q"]);
    git(dir, &["config", "user.email", "meshlint-tests@example.com"]);
    git(dir, &["config", "user.name", "meshlint tests"]);
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "manifests"]);
}

#[test]
fn pre_commit_mode_reads_the_enclosing_repository_as_context() {
    let repo = copy_tree("cross-file");
    let dir = repo.path();
    git_repo(dir);
    let expected = cross_file_expected(dir);
    let run = |args: &[&str]| findings(&check_json(dir, args), dir, POD_RULES);

    // Only the Deployment is named (it changed); the Services come from the repository.
    assert_findings(&run(&["reviews-deployment.yaml"]), std::slice::from_ref(&expected));
    // Without context the Deployment alone has no Service at all.
    let alone = run(&["reviews-deployment.yaml", "--no-context"]);
    assert!(alone.iter().all(|f| f.rule != "pod-in-multiple-services"), "{alone:?}");
    // Naming one Service file reports the conflict too: one of its labels lies in it.
    assert_findings(&run(&["reviews-metrics-service.yaml"]), std::slice::from_ref(&expected));
    assert_findings(&run(&["reviews-service.yaml"]), std::slice::from_ref(&expected));
    assert_findings(&run(&["reviews-service.yaml", "--no-context"]), &[]);
}

#[test]
fn pre_commit_mode_sees_the_kustomization_naming_a_changed_patch() {
    let repo = copy_tree("kustomize");
    let dir = repo.path();
    git_repo(dir);
    // The patch alone looks like a Deployment without labels; the kustomization read as
    // context says it is a patch.
    for patch in ["overlays/prod/resources.yaml", "overlays/prod/canary-labels.yaml"] {
        assert_findings(&findings(&check_json(dir, &[patch]), dir, POD_RULES), &[]);
    }
}

#[test]
fn context_directory_can_be_given_outside_a_repository() {
    let tmp = copy_tree("cross-file");
    let dir = tmp.path();
    let run = |args: &[&str]| findings(&check_json(dir, args), dir, &["pod-in-multiple-services"]);
    // No repository encloses the file: nothing else is read.
    assert_findings(&run(&["reviews-deployment.yaml"]), &[]);
    assert_findings(&run(&["reviews-deployment.yaml", "--context", "."]), &[cross_file_expected(dir)]);
}

// Fixture (b): the same objects defined in two variant files.

#[test]
fn variant_files_define_one_object() {
    let dir = fixture("variants");
    // `details` and `details-v1` in both files: one Service selecting one Deployment, so
    // neither pod-in-multiple-services nor duplicate-app-label. `traffic-generator` in
    // both files has no Service: every definition is checked, so it is reported in each
    // file, at that definition's labels.
    let labels =
        |file: &str| find_line(&dir.join(file), &["  name: traffic-generator", "  template:", "      labels:"]) + 1;
    assert_findings(
        &check_dir(&dir, &[], POD_RULES),
        &[
            finding("pod-without-service", "bookinfo-psa.yaml", labels("bookinfo-psa.yaml"), &[]),
            finding("pod-without-service", "bookinfo.yaml", labels("bookinfo.yaml"), &[]),
        ],
    );
}

// Fixture (c): versions of one service, and two services sharing `app`.

#[test]
fn versions_of_one_service_with_distinct_version_labels_are_fine() {
    assert_findings(&check_dir(&fixture("versions"), &[], POD_RULES), &[]);
}

#[test]
fn two_workloads_sharing_app_without_version_are_flagged() {
    let dir = fixture("shared-app");
    let app = |file: &str| find_line(&dir.join(file), &["  template:", "        app: cart"]);
    // The first workload in path order (`cart-worker.yaml` < `cart.yaml`) carries the
    // finding; the other's `app` label is a secondary label.
    assert_findings(
        &check_dir(&dir, &[], POD_RULES),
        &[finding(
            "duplicate-app-label",
            "cart-worker.yaml",
            app("cart-worker.yaml"),
            &[("cart.yaml", app("cart.yaml"))],
        )],
    );
}

// Fixture (d): batch workloads.

#[test]
fn jobs_and_cronjobs_need_no_service_or_own_app() {
    // `db-migrate`, `nightly-report` and `cleanup` have no Service; `billing-migrate`
    // shares `app: billing` with the Deployment; `cleanup` has no labels at all.
    assert_findings(&check_dir(&fixture("batch"), &[], POD_RULES), &[]);
}

// Fixture (e): patches are fragments, not workloads.

#[test]
fn kustomize_patch_files_are_not_workloads() {
    // Judged as workloads, `resources.yaml` (a template without labels) would be missing
    // `app` and a Service, and `canary-labels.yaml` would be missing `app`.
    assert_findings(&check_dir(&fixture("kustomize"), &[], POD_RULES), &[]);
    // The overlay alone: its kustomization still marks its patches.
    assert_findings(&check_dir(&fixture("kustomize/overlays/prod"), &[], POD_RULES), &[]);
}

#[test]
fn document_with_patch_directive_is_not_a_workload() {
    assert_findings(&check_dir(&fixture("patch-directive"), &[], POD_RULES), &[]);
}

// Fixture (f): non-string label and annotation values.

/// The lines marked `# expect: <type>` in the files of a fixture tree: (path relative to
/// the tree, line, the type the message names).
fn expect_markers(dir: &Path) -> Vec<(String, usize, String)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, usize, String)>) {
        for entry in std::fs::read_dir(dir).expect("fixture dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(root, &path, out);
                continue;
            }
            let rel = path.strip_prefix(root).expect("below root").to_str().expect("UTF-8").to_owned();
            let text = std::fs::read_to_string(&path).expect("fixture");
            for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim_start().starts_with('#')) {
                if let Some((_, ty)) = line.split_once("# expect: ") {
                    out.push((rel.clone(), i + 1, ty.trim().to_owned()));
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out
}

/// Check a fixture tree whose non-string values are marked, and compare.
fn assert_marked_non_string_values(dir: &Path, count: usize) {
    let marked = expect_markers(dir);
    assert_eq!(marked.len(), count, "markers in {}", dir.display());
    let expected: Vec<Finding> =
        marked.iter().map(|(path, line, _)| finding("non-string-annotation", path, *line, &[])).collect();
    let report = check_json(Path::new(MANIFEST_DIR), &[dir.to_str().expect("UTF-8")]);
    assert_findings(&findings(&report, dir, POD_RULES), &expected);
    for d in report["diagnostics"].as_array().expect("diagnostics") {
        if d["rule"] != "non-string-annotation" {
            continue;
        }
        let line = usize::try_from(d["line"].as_u64().expect("line")).expect("fits");
        let (_, _, ty) = marked.iter().find(|(_, l, _)| *l == line).expect("a marked line");
        let message = d["message"].as_str().expect("message");
        assert!(message.contains(&format!(" {ty} value")), "line {line}: {message}");
    }
}

#[test]
fn unquoted_booleans_numbers_and_nulls_are_flagged_quoted_values_are_not() {
    // true, no, 1, 1.5, yes, on, an empty value and null are marked; "true", "yes",
    // '1', "1.5" and "" are not.
    assert_marked_non_string_values(&fixture("non-string"), 8);
}

#[test]
fn non_string_values_in_every_definition_and_patch_are_flagged() {
    // `psa/web.yaml` is a second definition of Deployment `web` (a variant applied instead
    // of `plain/web.yaml`), and `canary-patch.yaml` a kustomize patch: each makes the
    // applied object invalid.
    assert_marked_non_string_values(&fixture("non-string-copies"), 2);
}

// Fixture (g): Services without a selector.

#[test]
fn services_without_selector_select_nothing() {
    let dir = fixture("selectorless");
    // `payments` is selected by its Service only: the ExternalName one and the one with
    // `selector: {}` do not make it two. `ledger` has only an ExternalName Service.
    let ledger = find_line(&dir.join("ledger.yaml"), &["  template:", "      labels:"]) + 1;
    assert_findings(&check_dir(&dir, &[], POD_RULES), &[finding("pod-without-service", "ledger.yaml", ledger, &[])]);
}

// Fixture (h): selectors never cross namespaces; `--namespace` places unnamespaced objects.

#[test]
fn selectors_match_only_within_a_namespace() {
    let dir = fixture("namespaces");
    let pods = |file: &str| find_line(&dir.join(file), &["  template:", "      labels:"]) + 1;
    let staging = finding("pod-without-service", "staging.yaml", pods("staging.yaml"), &[]);
    let storefront = finding("pod-without-service", "storefront.yaml", pods("storefront.yaml"), &[]);
    // `api` in `staging` is not selected by the `api` Service in `shop`, and shares its
    // `app` with `api` in `shop` without being a duplicate. `storefront` has no namespace:
    // applied to `default`, its Service in `shop` does not select it.
    assert_findings(&check_dir(&dir, &[], POD_RULES), &[staging.clone(), storefront]);
    // Applied to `shop`, it is selected.
    assert_findings(&check_dir(&dir, &["--namespace", "shop"], POD_RULES), &[staging]);
}

// Corpus must-shows.

#[test]
fn istio_bookinfo_samples_meet_the_pod_requirements() {
    for rel in ["reference/istio-0.2.6/samples/bookinfo", "corpus/istio__istio/samples/bookinfo"] {
        let dir = shared(rel);
        let report = check_json(Path::new(MANIFEST_DIR), &[dir.to_str().expect("UTF-8")]);
        assert!(report["summary"]["objects"].as_u64().expect("objects") > 10, "{rel}: bookinfo was read");
        assert_findings(&findings(&report, &dir, SERVICE_RULES), &[]);
    }
}

#[test]
fn google_microservices_demo_frontend_and_loadgenerator() {
    let dir = shared("corpus/GoogleCloudPlatform__microservices-demo/kubernetes-manifests");
    let frontend = dir.join("frontend.yaml");
    let pods = |file: &Path| find_line(file, &["  template:", "      labels:"]) + 1;
    let selector = |name: &str| find_line(&frontend, &["kind: Service", &format!("  name: {name}"), "  selector:"]) + 1;
    assert_findings(
        &check_dir(&dir, &[], SERVICE_RULES),
        &[
            finding(
                "pod-in-multiple-services",
                "frontend.yaml",
                pods(&frontend),
                &[("frontend.yaml", selector("frontend")), ("frontend.yaml", selector("frontend-external"))],
            ),
            finding("pod-without-service", "loadgenerator.yaml", pods(&dir.join("loadgenerator.yaml")), &[]),
        ],
    );
}

/// Sock Shop (`deploy/kubernetes/manifests`), read by hand: 14 Deployments in namespace
/// `sock-shop`, each with one Service of the same name whose selector is `name: <same>`,
/// which matches that Deployment's pods only. The pods are labelled `name: <x>` and
/// never `app`. No label or annotation value is unquoted non-string (`'true'`, `'9090'`,
/// `"false"` are all quoted).
#[test]
fn sock_shop_pods_have_no_app_label() {
    let dir = shared("corpus/microservices-demo__microservices-demo/deploy/kubernetes/manifests");
    // (file, Deployment): every Deployment has `name` but no `app` on its pods, so each
    // is one missing-app-label at the pod template's labels (the `name: <x>` line, the
    // only one indented by 8). Each is selected by exactly one Service, so there is no
    // pod-in-multiple-services or pod-without-service; with no `app` labels there is no
    // duplicate-app-label.
    let deployments = [
        ("01-carts-dep.yaml", "carts"),
        ("03-carts-db-dep.yaml", "carts-db"),
        ("05-catalogue-dep.yaml", "catalogue"),
        ("07-catalogue-db-dep.yaml", "catalogue-db"),
        ("09-front-end-dep.yaml", "front-end"),
        ("11-orders-dep.yaml", "orders"),
        ("13-orders-db-dep.yaml", "orders-db"),
        ("15-payment-dep.yaml", "payment"),
        ("17-queue-master-dep.yaml", "queue-master"),
        ("19-rabbitmq-dep.yaml", "rabbitmq"),
        ("21-session-db-dep.yaml", "session-db"),
        ("23-shipping-dep.yaml", "shipping"),
        ("25-user-dep.yaml", "user"),
        ("27-user-db-dep.yaml", "user-db"),
    ];
    let expected: Vec<Finding> = deployments
        .iter()
        .map(|&(file, name)| {
            let line = find_line(&dir.join(file), &["  template:", &format!("        name: {name}")]);
            finding("missing-app-label", file, line, &[])
        })
        .collect();
    assert_findings(&check_dir(&dir, &[], POD_RULES), &expected);
}

/// Kubernetes guestbook (`web/guestbook`, the whole directory), read by hand. Everything
/// is in namespace `default`. The top-level files, `all-in-one/frontend.yaml`,
/// `all-in-one/redis-replica.yaml` and `all-in-one/guestbook-all-in-one.yaml` define the
/// same three Services and three Deployments (`frontend`, `redis-master`,
/// `redis-replica`) again and again: identity (kind, namespace, name) makes them three of
/// each, the canonical definition being the first in path order (`all-in-one/` sorts
/// first). `legacy/` holds three `ReplicationController`s of the same names and labels:
/// a different kind, so three more workloads.
///
/// - Services: `frontend` selects `{app: guestbook, tier: frontend}`; `redis-master`
///   `{app: redis, role: master, tier: backend}`; `redis-replica`
///   `{app: redis, role: replica, tier: backend}`. Each workload's pods match exactly
///   one of them (the `role` keeps master and replica apart): no
///   pod-in-multiple-services, no pod-without-service.
/// - Every pod template has `app`: no missing-app-label.
/// - No pod template has `version`, so the workloads group by `app` alone:
///   `guestbook` is the frontend Deployment and the frontend RC; `redis` is the master
///   and replica Deployments and the master and replica RCs. Two duplicate-app-label.
///   The RC/Deployment pairs are alternatives in practice, but nothing in the manifests
///   says so; master and replica sharing `app: redis` is a finding on its own.
/// - All label values are plain strings: no non-string-annotation.
#[test]
fn guestbook_shares_app_labels_between_master_replica_and_legacy_controllers() {
    let dir = shared("corpus/kubernetes__examples/web/guestbook");
    let aio = "all-in-one/guestbook-all-in-one.yaml";
    // The line of `app: <app>` in the pod template of the object `name` in `file`.
    let template_app = |file: &'static str, name: &str, app: &str| {
        (file, find_line(&dir.join(file), &[&format!("  name: {name}"), "  template:", &format!("        app: {app}")]))
    };
    // The Deployment `frontend` (first defined in `all-in-one/frontend.yaml`) and the
    // ReplicationController `frontend` share `app: guestbook`.
    let (front_file, front_line) = template_app("all-in-one/frontend.yaml", "frontend", "guestbook");
    let front_rc = template_app("legacy/frontend-controller.yaml", "frontend", "guestbook");
    // Deployments `redis-master` and `redis-replica` (both first defined in the
    // all-in-one file) and the two RCs share `app: redis`; the first is the finding.
    let (redis_file, redis_line) = template_app(aio, "redis-master", "redis");
    let redis_others = [
        template_app(aio, "redis-replica", "redis"),
        template_app("legacy/redis-master-controller.yaml", "redis-master", "redis"),
        template_app("legacy/redis-replica-controller.yaml", "redis-replica", "redis"),
    ];
    assert_findings(
        &check_dir(&dir, &[], POD_RULES),
        &[
            finding("duplicate-app-label", front_file, front_line, &[front_rc]),
            finding("duplicate-app-label", redis_file, redis_line, &redis_others),
        ],
    );
}
