//! Helm charts and kustomize overlays rendered by the real tools (helm v4 and kubectl
//! with kustomize, installed under target/tools by scripts/tools), with every finding
//! at the template or source line people edit: fixtures/render/shop (a chart with a
//! values file, conditionals and a helper template, beside a plain manifest) and
//! fixtures/render/kustomize (a base with two overlays: namespace, name prefix, a
//! strategic-merge patch, a JSON 6902 patch).

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use common::{Diag, code, copy_tree, diags, meshlint_in, root, stderr, stdout};

fn fixture(name: &str) -> PathBuf {
    root().join("fixtures/render").join(name)
}

/// A copy of a fixture in a temporary folder.
fn copy_of(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_tree(&fixture(name), tmp.path());
    tmp
}

/// Replace `from` (which must be there) with `to` in the file at `path`.
fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("read");
    assert!(text.contains(from), "{} lacks {from:?}", path.display());
    std::fs::write(path, text.replace(from, to)).expect("write");
}

/// meshlint in `dir` with the real tools on `PATH` (or none: `with_tools` false).
fn run(dir: &Path, with_tools: bool, args: &[&str]) -> Output {
    let mut cmd = meshlint_in(dir);
    if with_tools {
        cmd.env("PATH", common::tools());
    }
    let out = cmd.args(args).output().expect("meshlint runs");
    assert!(!stderr(&out).contains("panicked"), "{args:?} panicked:\n{}", stderr(&out));
    out
}

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is JSON ({e}):\n{}\n{}", stdout(out), stderr(out)))
}

fn check(dir: &Path, with_tools: bool, args: &[&str]) -> (i32, Vec<Diag>, Value) {
    let mut all = vec!["check", "--format", "json"];
    all.extend_from_slice(args);
    let out = run(dir, with_tools, &all);
    let value = report(&out);
    (code(&out), diags(&value), value)
}

/// (rule, path, line, column) of each finding.
fn places(diags: &[Diag]) -> Vec<(String, String, usize, usize)> {
    diags.iter().map(|d| (d.rule.clone(), d.path.clone(), d.line, d.column)).collect()
}

fn place(rule: &str, path: &str, line: usize, column: usize) -> (String, String, usize, usize) {
    (rule.to_owned(), path.to_owned(), line, column)
}

/// The line of `path` (relative to `dir`) holding `needle`, 1-based, and the column of
/// the needle.
fn line_of(dir: &Path, path: &str, needle: &str) -> (usize, usize) {
    let text = std::fs::read_to_string(dir.join(path)).expect("fixture readable");
    let (i, line) = text.lines().enumerate().find(|(_, l)| l.contains(needle)).expect("needle in fixture");
    (i + 1, line.find(needle).expect("found") + 1)
}

// ---------------------------------------------------------------------------------------
// Helm

#[test]
fn chart_findings_point_at_template_lines_with_the_rendered_place_beside() {
    let dir = fixture("shop");
    let (status, found, _) = check(&dir, true, &["--profile", "istio-0.2", "."]);
    assert_eq!(status, 1, "{found:#?}");
    let web = "charts/shop/templates/web.yaml";
    // Literal in the template: the annotation's own line.
    let (inject_line, _) = line_of(&dir, web, "sidecar.istio.io/inject: \"yes\"");
    // Made by an expression: the expression that wrote the value.
    let (port_line, port_col) = line_of(&dir, web, "{{ .Values.web.portName }}");
    let got = places(&found);
    assert!(got.contains(&place("misplaced-inject-annotation", web, inject_line, 9)), "{got:#?}");
    assert!(got.contains(&place("unknown-port-protocol", web, port_line, port_col)), "{got:#?}");
    // Each moved finding keeps where it is in helm's output, marked as rendered.
    let port = found.iter().find(|d| d.rule == "unknown-port-protocol" && d.path == web).expect("port finding");
    let rendered = port.labels.iter().find(|l| l.2.starts_with("as rendered by helm with values.yaml"));
    assert!(rendered.is_some(), "{port:#?}");
    // Nothing is reported as a skipped template, and no chart file is an object.
    assert!(found.iter().all(|d| d.rule != "template-skipped" && d.rule != "templates-only"), "{got:#?}");
}

#[test]
fn json_carries_both_locations_and_sarif_marks_the_rendered_one() {
    let dir = fixture("shop");
    let out = run(&dir, true, &["check", "--format", "json", "--profile", "istio-0.2", "."]);
    let value = report(&out);
    let finding = value["diagnostics"]
        .as_array()
        .expect("array")
        .iter()
        .find(|d| d["rule"] == "unknown-port-protocol" && d["path"] == "charts/shop/templates/web.yaml")
        .expect("the port finding");
    assert!(finding.get("rendered").is_none(), "the primary place is the template itself: {finding}");
    let label = &finding["labels"][0];
    assert_eq!(label["path"], "charts/shop/templates/web.yaml", "{finding}");
    assert_eq!(label["rendered"], "rendered by helm with values.yaml", "{finding}");

    let out = run(&dir, true, &["check", "--format", "sarif", "--profile", "istio-0.2", "."]);
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("SARIF is JSON");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let result = results
        .iter()
        .find(|r| {
            r["ruleId"] == "unknown-port-protocol"
                && r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "charts/shop/templates/web.yaml"
        })
        .expect("the port result");
    let related = result["relatedLocations"].as_array().expect("related locations");
    assert!(related.iter().any(|l| l["properties"]["rendered"] == "rendered by helm with values.yaml"), "{result:#}");
}

#[test]
fn cross_file_rules_see_the_chart_and_the_plain_manifests_together() {
    let dir = fixture("shop");
    let (_, found, _) = check(&dir, true, &["--profile", "istio-0.2", "."]);
    // The chart's web pods are selected by its own Service and by k8s/frontend.yaml's.
    let multiple: Vec<&Diag> = found.iter().filter(|d| d.rule == "pod-in-multiple-services").collect();
    assert_eq!(multiple.len(), 1, "{found:#?}");
    let d = multiple[0];
    assert_eq!(d.path, "charts/shop/templates/web.yaml", "{d:#?}");
    assert!(d.message.contains("storefront") && d.message.contains("release-name-web"), "{d:#?}");
    // The chart's worker has no Service: reported at the helper's `include` that writes
    // its pod labels (the block at that depth).
    let without = found.iter().find(|d| d.rule == "pod-without-service").expect("worker without a Service");
    let worker = "charts/shop/templates/worker.yaml";
    let (include, column) = line_of(&dir, worker, "{{- include \"shop.labels\"");
    assert_eq!((without.path.as_str(), without.line, without.column), (worker, include, column), "{without:#?}");
    assert!(without.message.contains("release-name-worker"), "{without:#?}");
    // The disabled cache template renders nothing, so nothing is said of it.
    assert!(found.iter().all(|d| !d.message.contains("cache")), "{found:#?}");
}

#[test]
fn audit_lists_the_charts_workloads() {
    let dir = fixture("shop");
    let out = run(&dir, true, &["audit", "--format", "json", "--profile", "istio-0.2", "."]);
    assert!(matches!(code(&out), 0 | 1), "{}", stderr(&out));
    let value = report(&out);
    let rows = value["workloads"].as_array().unwrap_or_else(|| panic!("workloads: {value:#}"));
    let names: Vec<&str> = rows.iter().filter_map(|r| r["name"].as_str()).collect();
    assert!(names.contains(&"release-name-web") && names.contains(&"release-name-worker"), "{value:#}");
    let web = rows.iter().find(|r| r["name"] == "release-name-web").expect("web row");
    assert_eq!(web["path"], "charts/shop/templates/web.yaml", "{web:#}");
}

#[test]
fn without_helm_a_chart_is_a_warning_not_a_silent_pass() {
    let dir = fixture("shop");
    let (status, found, _) = check(&dir, false, &["--profile", "istio-0.2", "charts/shop"]);
    assert_eq!(status, 1, "{found:#?}");
    let got = places(&found);
    assert_eq!(got, [place("not-rendered", "charts/shop/Chart.yaml", 2, 1)], "{found:#?}");
    let d = &found[0];
    assert!(d.message.contains("`charts/shop` was not checked"), "{d:#?}");
    assert!(d.help.as_deref().is_some_and(|h| h.contains("--helm")), "{d:#?}");
    // --no-render reads the chart as files, as before: each template is skipped.
    let (_, found, _) = check(&dir, false, &["--no-render", "--profile", "istio-0.2", "charts/shop"]);
    let skipped = found.iter().filter(|d| d.rule == "template-skipped").count();
    assert_eq!((skipped, found.len()), (3, 3), "{found:#?}");
}

#[test]
fn a_broken_template_is_an_error_with_helms_message_and_the_rest_is_checked() {
    let tmp = copy_of("shop");
    edit(&tmp.path().join("charts/shop/templates/worker.yaml"), "{{- end }}", "");
    let (status, found, _) = check(tmp.path(), true, &["--profile", "istio-0.2", "."]);
    assert_eq!(status, 1, "{found:#?}");
    let failed: Vec<&Diag> = found.iter().filter(|d| d.rule == "render-failed").collect();
    assert_eq!(failed.len(), 1, "{found:#?}");
    assert_eq!((failed[0].path.as_str(), failed[0].severity.as_str()), ("charts/shop/Chart.yaml", "error"));
    assert!(failed[0].message.contains("worker.yaml"), "helm's message names the template: {:#?}", failed[0]);
    // The plain manifest beside the chart is still checked.
    let out = run(tmp.path(), true, &["check", "--profile", "istio-0.2", "."]);
    assert!(stdout(&out).contains("k8s/frontend.yaml") || stdout(&out).contains("1 errors"), "{}", stdout(&out));
}

#[test]
fn configured_values_and_release_are_used_and_named() {
    let tmp = copy_of("shop");
    std::fs::write(
        tmp.path().join(".meshlint.yaml"),
        "profile: istio-0.2\nhelm:\n  release: shop\n  values: [values-prod.yaml]\n",
    )
    .expect("config");
    let (_, found, _) = check(tmp.path(), true, &["."]);
    // values-prod.yaml names the port `http`: no port finding; the release names objects.
    assert!(found.iter().all(|d| d.rule != "unknown-port-protocol"), "{found:#?}");
    let inject = found.iter().find(|d| d.rule == "misplaced-inject-annotation").expect("annotation finding");
    assert!(inject.message.contains("Deployment") || inject.labels.iter().any(|l| l.2.contains("values-prod.yaml")));
    assert!(
        inject.labels.iter().any(|l| l.2 == "as rendered by helm with values.yaml, values-prod.yaml"),
        "{inject:#?}"
    );
    let out = run(tmp.path(), true, &["audit", "--format", "json", "."]);
    let names: Vec<String> = report(&out)["workloads"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["name"].as_str().map(str::to_owned))
        .collect();
    assert!(names.contains(&"shop-web".to_owned()), "{names:?}");
}

#[test]
fn naming_a_charts_file_renders_the_chart_and_naming_another_does_not() {
    let tmp = copy_of("shop");
    std::fs::create_dir(tmp.path().join(".git")).expect("a repository");
    // Pre-commit names the values file that changed: the chart is rendered again.
    let (_, found, _) = check(tmp.path(), true, &["--profile", "istio-0.2", "charts/shop/values.yaml"]);
    assert!(
        found.iter().any(|d| d.rule == "unknown-port-protocol" && d.path.starts_with("charts/shop/")),
        "{found:#?}"
    );
    // A plain file elsewhere: the chart is not rendered, and says nothing.
    let (_, found, _) = check(tmp.path(), true, &["--profile", "istio-0.2", "k8s/frontend.yaml"]);
    assert!(found.iter().all(|d| d.path == "k8s/frontend.yaml"), "{found:#?}");
}

#[test]
fn a_suppression_comment_in_the_template_covers_the_rendered_finding() {
    let tmp = copy_of("shop");
    edit(
        &tmp.path().join("charts/shop/templates/web.yaml"),
        "    - name: {{ .Values.web.portName }}",
        "    # meshlint: ignore[unknown-port-protocol] the port speaks a custom protocol\n    - name: {{ .Values.web.portName }}",
    );
    let (_, found, _) = check(tmp.path(), true, &["--profile", "istio-0.2", "."]);
    assert!(found.iter().all(|d| d.rule != "unknown-port-protocol"), "{found:#?}");
    assert!(found.iter().all(|d| d.rule != "unused-suppression"), "{found:#?}");
}

#[test]
fn a_stale_suppression_in_a_chart_is_not_reported() {
    // A template's comment is matched at the template and at each rendered copy, and a
    // value can make it useless for one rendering and not another: an unused one in a
    // chart is never reported (it could be a false alarm). The same comment in a plain
    // manifest is reported.
    let stale = "# meshlint: ignore[unnamed-service-port] no such finding here\n";
    let tmp = copy_of("shop");
    edit(
        &tmp.path().join("charts/shop/templates/web.yaml"),
        "  ports:\n    - name:",
        &format!("  {stale}  ports:\n    - name:"),
    );
    edit(&tmp.path().join("k8s/frontend.yaml"), "\nspec:\n", &format!("\nspec:\n  {stale}"));
    let (_, found, _) = check(tmp.path(), true, &["--profile", "istio-0.2", "."]);
    let unused: Vec<&str> = found.iter().filter(|d| d.rule == "unused-suppression").map(|d| d.path.as_str()).collect();
    assert_eq!(unused, ["k8s/frontend.yaml"], "{found:#?}");
}

#[test]
fn inject_does_not_rewrite_a_chart() {
    let dir = fixture("shop");
    // Named on its own, a template comes back byte for byte, and stderr says why and
    // what to do instead; nothing is rendered to be rewritten.
    let out = run(&dir, true, &["inject", "-f", "charts/shop/templates/web.yaml"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let original = std::fs::read(dir.join("charts/shop/templates/web.yaml")).expect("template");
    assert_eq!(out.stdout, original);
    let err = stderr(&out);
    assert!(err.contains("never rewrites templates or their rendered output") && err.contains("webhook"), "{err}");
    // Over the chart's folder, --check finds nothing to change: the rendered workloads
    // are not the files'.
    let out = run(&dir, true, &["inject", "--check", "charts/shop"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

// ---------------------------------------------------------------------------------------
// Kustomize

#[test]
fn overlay_findings_point_at_the_base_or_the_patch_that_set_them() {
    let dir = fixture("kustomize");
    let (status, found, _) = check(&dir, true, &["--profile", "istio-0.2", "."]);
    assert_eq!(status, 1, "{found:#?}");
    let (base_port, base_col) = line_of(&dir, "base/service.yaml", "- name: web");
    let (smp, _) = line_of(&dir, "overlays/prod/inject.yaml", "sidecar.istio.io/inject");
    let (replaced, replaced_col) = line_of(&dir, "overlays/staging/ports.yaml", "web-tcp");
    let (added, added_col) = line_of(&dir, "overlays/staging/ports.yaml", "name: metrics");
    let got = places(&found);
    let expected = [
        // prod takes the base's port name unchanged: reported at the base.
        place("unknown-port-protocol", "base/service.yaml", base_port, base_col + 8),
        // prod's strategic-merge patch adds the annotation.
        place("misplaced-inject-annotation", "overlays/prod/inject.yaml", smp, 9),
        // staging's JSON 6902 patch replaces the port name and appends a port.
        place("unknown-port-protocol", "overlays/staging/ports.yaml", replaced, replaced_col),
        place("unknown-port-protocol", "overlays/staging/ports.yaml", added, added_col + 6),
    ];
    for e in &expected {
        assert!(got.contains(e), "missing {e:?} in {got:#?}");
    }
    assert_eq!(got.len(), expected.len(), "{got:#?}");
    // The prod finding names the object as rendered: prefix and namespace applied.
    let base = found.iter().find(|d| d.path == "base/service.yaml").expect("base finding");
    assert!(base.labels.iter().any(|l| l.2 == "as rendered by kubectl kustomize"), "{base:#?}");
}

#[test]
fn two_overlays_of_one_base_in_one_namespace_never_meet() {
    // Both overlays put the base in `default` with their own prefix: deployed to two
    // clusters, not one, so neither's Service selects the other's pods.
    let tmp = copy_of("kustomize");
    edit(&tmp.path().join("overlays/prod/kustomization.yaml"), "namespace: prod\n", "");
    edit(&tmp.path().join("overlays/staging/kustomization.yaml"), "namespace: staging\n", "namePrefix: staging-\n");
    let (_, found, _) = check(tmp.path(), true, &["--profile", "istio-0.2", "."]);
    assert!(
        found.iter().all(|d| d.rule != "pod-in-multiple-services" && d.rule != "duplicate-app-label"),
        "{found:#?}"
    );
    // Read as plain files (no kubectl), the base is one object: still no conflict.
    let (_, plain, _) = check(tmp.path(), false, &["--profile", "istio-0.2", "."]);
    assert!(plain.iter().all(|d| d.rule != "pod-in-multiple-services"), "{plain:#?}");
}

#[test]
fn a_broken_overlay_is_an_error_and_its_files_are_still_checked_as_files() {
    let tmp = copy_of("kustomize");
    edit(&tmp.path().join("overlays/prod/kustomization.yaml"), "path: inject.yaml", "path: missing.yaml");
    let (_, found, _) = check(tmp.path(), true, &["--profile", "istio-0.2", "."]);
    let failed = found.iter().find(|d| d.rule == "render-failed").expect("render-failed");
    assert_eq!(failed.path, "overlays/prod/kustomization.yaml", "{failed:#?}");
    assert!(failed.message.contains("missing.yaml"), "{failed:#?}");
    // staging still renders, and the base is still judged.
    assert!(found.iter().any(|d| d.path == "overlays/staging/ports.yaml"), "{found:#?}");
}

#[test]
fn on_a_real_repository_components_are_never_built_alone() {
    // microservices-demo's kustomize folder: components (`kind: Component`) that no
    // kustomization in the copy includes, and test overlays that include them. Only
    // the overlays are built; each of a copy that lacks a file says which.
    let dir = common::shared().join("corpus/GoogleCloudPlatform__microservices-demo");
    let (_, found, _) = check(&dir, true, &["kustomize"]);
    let failed: Vec<&Diag> = found.iter().filter(|d| d.rule == "render-failed").collect();
    assert!(failed.iter().all(|d| !d.path.contains("/components/")), "{failed:#?}");
    assert_eq!(failed.len(), 1, "the service-mesh-istio overlay lacks a file in the corpus: {failed:#?}");
    assert!(failed[0].message.contains("allow-egress-googleapis.yaml"), "{:#?}", failed[0]);
    // The overlays that render put their findings back at the base's files.
    assert!(found.iter().any(|d| d.path.starts_with("kustomize/base/")), "{found:#?}");
}

#[test]
fn a_rendering_that_hangs_is_stopped_at_the_time_limit() {
    // The real helm cannot be made to hang on demand: this one program stands in for a
    // helm that never answers (a plugin waiting on the network, say). What is tested is
    // meshlint's own limit, from `render-timeout`.
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = copy_of("shop");
    let hang = tmp.path().join("hanging-helm");
    std::fs::write(&hang, "#!/bin/sh\nexec /bin/sleep 30\n").expect("write");
    std::fs::set_permissions(&hang, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::write(tmp.path().join(".meshlint.yaml"), "profile: istio-0.2\nrender-timeout: 1\n").expect("config");
    let started = std::time::Instant::now();
    let (status, found, _) = check(tmp.path(), false, &["--helm", hang.to_str().expect("UTF-8"), "."]);
    assert!(started.elapsed() < std::time::Duration::from_secs(25), "the hanging helm was waited for");
    assert_eq!(status, 1, "{found:#?}");
    let failed = found.iter().find(|d| d.rule == "render-failed").expect("render-failed");
    assert!(failed.message.contains("stopped after 1 s"), "{failed:#?}");
    // The plain manifest beside the chart is still checked.
    assert!(found.iter().any(|d| d.path == "k8s/frontend.yaml") || found.len() == 1, "{found:#?}");
}

#[test]
fn configuration_mistakes_in_the_rendering_keys_have_positions() {
    let tmp = copy_of("shop");
    std::fs::write(
        tmp.path().join(".meshlint.yaml"),
        "profile: istio-0.2\nhelm:\n  relase: shop\n  values: values-prod.yaml\nkustomize: {overlays: prod}\nrender-timeout: soon\n",
    )
    .expect("config");
    let (_, found, _) = check(tmp.path(), true, &["."]);
    let mistakes: Vec<(usize, &str)> =
        found.iter().filter(|d| d.rule == "invalid-config").map(|d| (d.line, d.message.as_str())).collect();
    assert_eq!(mistakes.len(), 4, "{mistakes:#?}");
    assert!(mistakes[0].1.contains("unknown key `relase`"), "{mistakes:#?}");
    assert_eq!(mistakes.iter().map(|m| m.0).collect::<Vec<_>>(), [3, 4, 5, 6], "{mistakes:#?}");
}

#[test]
fn a_finding_only_the_overlay_makes_stays_in_its_output_marked_in_every_format() {
    // `commonAnnotations` writes the annotation on every object: no resource or patch
    // has it, so the finding stays in the overlay's output.
    let tmp = copy_of("kustomize");
    edit(
        &tmp.path().join("overlays/staging/kustomization.yaml"),
        "namespace: staging\n",
        "namespace: staging\ncommonAnnotations:\n  sidecar.istio.io/inject: \"yes\"\n",
    );
    let (_, found, value) = check(tmp.path(), true, &["--profile", "istio-0.2", "."]);
    let d = found.iter().find(|d| d.rule == "inject-annotation-value").expect("the annotation's finding");
    assert_eq!(d.path, "overlays/staging", "{d:#?}");
    let json = value["diagnostics"].as_array().expect("array").iter().find(|j| j["rule"] == "inject-annotation-value");
    assert_eq!(json.expect("json")["rendered"], "rendered by kubectl kustomize");

    let concise = stdout(&run(tmp.path(), true, &["check", "--format", "concise", "--profile", "istio-0.2", "."]));
    let line = concise.lines().find(|l| l.contains("inject-annotation-value")).expect("concise line");
    assert!(line.starts_with(&format!("overlays/staging (rendered):{}:{}:", d.line, d.column)), "{line}");

    let github = stdout(&run(tmp.path(), true, &["check", "--format", "github", "--profile", "istio-0.2", "."]));
    let line = github.lines().find(|l| l.contains("inject-annotation-value")).expect("github line");
    assert!(line.starts_with("::warning file=overlays/staging,title="), "no line of the folder: {line}");
    assert!(
        line.contains(&format!("at line {}, column {}; rendered by kubectl kustomize", d.line, d.column)),
        "{line}"
    );

    let sarif: Value = serde_json::from_slice(
        &run(tmp.path(), true, &["check", "--format", "sarif", "--profile", "istio-0.2", "."]).stdout,
    )
    .expect("SARIF");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let result = results.iter().find(|r| r["ruleId"] == "inject-annotation-value").expect("result");
    let location = &result["locations"][0];
    assert!(location["physicalLocation"].get("region").is_none(), "{location:#}");
    assert_eq!(location["properties"]["rendered"], "rendered by kubectl kustomize", "{location:#}");
}

#[test]
fn a_dependency_missing_from_charts_is_helms_error_with_the_offline_fix() {
    let tmp = copy_of("shop");
    let chart = tmp.path().join("charts/shop/Chart.yaml");
    let text = std::fs::read_to_string(&chart).expect("read");
    std::fs::write(
        &chart,
        format!(
            "{text}dependencies:\n  - name: redis\n    version: 1.0.0\n    repository: https://charts.example.com\n"
        ),
    )
    .expect("write");
    let (_, found, _) = check(tmp.path(), true, &["--profile", "istio-0.2", "."]);
    let failed = found.iter().find(|d| d.rule == "render-failed").expect("render-failed");
    assert!(failed.message.contains("redis"), "{failed:#?}");
    assert!(failed.help.as_deref().is_some_and(|h| h.contains("helm dependency build charts/shop")), "{failed:#?}");
}

#[test]
fn only_the_configured_overlays_are_built() {
    let tmp = copy_of("kustomize");
    std::fs::write(tmp.path().join(".meshlint.yaml"), "profile: istio-0.2\nkustomize: [overlays/prod]\n")
        .expect("config");
    let (_, found, _) = check(tmp.path(), true, &["."]);
    let paths: Vec<&str> = found.iter().map(|d| d.path.as_str()).collect();
    assert!(paths.contains(&"base/service.yaml") && paths.contains(&"overlays/prod/inject.yaml"), "{found:#?}");
    assert!(paths.iter().all(|p| !p.starts_with("overlays/staging")), "staging was built: {found:#?}");
}

#[test]
fn an_overlay_with_remote_resources_is_not_built_and_says_so() {
    // kustomize would fetch the remote base; meshlint renders offline, so it never runs
    // the tool on such an overlay, and reads its local files as plain manifests.
    let tmp = copy_of("kustomize");
    edit(
        &tmp.path().join("overlays/prod/kustomization.yaml"),
        "  - ../../base\n",
        "  - ../../base\n  - https://github.com/example/bases//redis?ref=v1\n",
    );
    let (_, found, _) = check(tmp.path(), true, &["--profile", "istio-0.2", "."]);
    let d = found.iter().find(|d| d.rule == "not-rendered").expect("not-rendered");
    assert_eq!((d.path.as_str(), d.severity.as_str()), ("overlays/prod/kustomization.yaml", "warning"), "{d:#?}");
    assert!(d.message.contains("https://github.com/example/bases//redis?ref=v1"), "{d:#?}");
    assert!(found.iter().all(|d| d.rule != "render-failed"), "the tool never ran: {found:#?}");
    // staging, which names nothing remote, is still built.
    assert!(found.iter().any(|d| d.path == "overlays/staging/ports.yaml"), "{found:#?}");
}

#[test]
fn a_chart_that_needs_values_says_where_meshlint_takes_them_from() {
    // `required` fails `helm template` without the value: the error says which, and the
    // help how to give it to meshlint.
    let tmp = copy_of("shop");
    edit(
        &tmp.path().join("charts/shop/templates/web.yaml"),
        "replicas: {{ .Values.web.replicas }}",
        "replicas: {{ required \"web.replicas is required\" .Values.web.replicas }}",
    );
    edit(&tmp.path().join("charts/shop/values.yaml"), "  replicas: 2\n", "");
    let (_, found, _) = check(tmp.path(), true, &["--profile", "istio-0.2", "."]);
    let d = found.iter().find(|d| d.rule == "render-failed").expect("render-failed");
    assert!(d.message.ends_with("web.replicas is required"), "{d:#?}");
    let help = d.help.as_deref().unwrap_or("");
    assert!(help.contains("helm: {values: [FILE]}") && help.contains("charts/shop"), "{help}");
    // Given the value in the configuration, the chart renders.
    std::fs::write(tmp.path().join(".meshlint.yaml"), "profile: istio-0.2\nhelm:\n  values: [values-prod.yaml]\n")
        .expect("config");
    let (_, found, _) = check(tmp.path(), true, &["."]);
    assert!(found.iter().all(|d| d.rule != "render-failed"), "{found:#?}");
}

#[test]
fn a_chart_checked_from_its_own_folder_names_its_templates_from_there() {
    // `meshlint check .` inside the chart: the chart is the folder itself, and its
    // templates are `templates/…`, as the walk names every other file.
    let dir = fixture("shop").join("charts/shop");
    let (_, found, value) = check(&dir, true, &["--profile", "istio-0.2", "."]);
    let (line, _) = line_of(&dir, "templates/web.yaml", "sidecar.istio.io/inject: \"yes\"");
    let d = found.iter().find(|d| d.rule == "misplaced-inject-annotation").expect("the annotation's finding");
    assert_eq!((d.path.as_str(), d.line), ("templates/web.yaml", line), "{found:#?}");
    // The rendered place is named after the template too.
    let json =
        value["diagnostics"].as_array().expect("array").iter().find(|j| j["rule"] == "misplaced-inject-annotation");
    let label = &json.expect("json")["labels"][0];
    assert_eq!(
        (&label["path"], &label["rendered"]),
        (&Value::from("templates/web.yaml"), &Value::from("rendered by helm with values.yaml"))
    );
}

#[test]
fn per_chart_settings_and_named_binaries_are_used() {
    // `helm: charts:` gives one chart its own release and values; the binaries named with
    // `helm:`/`kustomize: {binary}` or `--kustomize` render with no tool on `PATH`.
    let tools = common::tools();
    let tmp = copy_of("shop");
    std::fs::write(
        tmp.path().join(".meshlint.yaml"),
        format!(
            "profile: istio-0.2\nhelm:\n  binary: {}\n  release: everyone\n  charts:\n    charts/shop:\n      release: shop\n      values: [values-prod.yaml]\n",
            tools.join("helm").display()
        ),
    )
    .expect("config");
    let out = run(tmp.path(), false, &["audit", "--format", "json", "."]);
    let names: Vec<String> = report(&out)["workloads"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["name"].as_str().map(str::to_owned))
        .collect();
    assert!(names.contains(&"shop-web".to_owned()) && !names.iter().any(|n| n.starts_with("everyone")), "{names:?}");
    let (_, found, _) = check(tmp.path(), false, &["."]);
    assert!(found.iter().all(|d| d.rule != "unknown-port-protocol" && d.rule != "not-rendered"), "{found:#?}");

    let kubectl = tools.join("kubectl");
    let kubectl = kubectl.to_str().expect("UTF-8");
    let tmp = copy_of("kustomize");
    let (_, by_flag, _) = check(tmp.path(), false, &["--profile", "istio-0.2", "--kustomize", kubectl, "."]);
    assert!(by_flag.iter().any(|d| d.path == "overlays/staging/ports.yaml"), "{by_flag:#?}");
    std::fs::write(tmp.path().join(".meshlint.yaml"), format!("profile: istio-0.2\nkustomize:\n  binary: {kubectl}\n"))
        .expect("config");
    let (_, by_config, _) = check(tmp.path(), false, &["."]);
    assert_eq!(places(&by_config), places(&by_flag));
}

#[test]
fn a_template_the_walk_does_not_pick_is_read_for_its_lines() {
    // helm renders every file of `templates/`; one named `.tmpl` is no manifest file to
    // the walk, and is read when its output has a finding.
    let tmp = copy_of("shop");
    let templates = tmp.path().join("charts/shop/templates");
    std::fs::rename(templates.join("worker.yaml"), templates.join("worker.tmpl")).expect("rename");
    let (_, found, _) = check(tmp.path(), true, &["--profile", "istio-0.2", "."]);
    let d = found.iter().find(|d| d.rule == "pod-without-service").expect("the worker's finding");
    let (line, column) = line_of(tmp.path(), "charts/shop/templates/worker.tmpl", "{{- include");
    assert_eq!((d.path.as_str(), d.line, d.column), ("charts/shop/templates/worker.tmpl", line, column), "{d:#?}");
}
