//! End-to-end tests of the modern profile (Istio 1.20+, SEMANTICS.md section 6) through
//! the `meshlint` binary: one fixture tree per row of the webhook/istiod precedence table
//! under `fixtures/trees/modern/decide/`, audited as Istio 1.26 and 1.27; profile
//! auto-detection (`fixtures/trees/modern/detect/`); the modern port table, Service
//! membership and the rules carrying istioctl analyze codes (`fixtures/trees/modern/check/`);
//! `inject` refusing the profile; and what the profile says of Istio's own samples.

mod common;

use std::collections::BTreeSet;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

use common::root;

// ---------------------------------------------------------------------------------------
// Helpers

const DECIDE: &str = "fixtures/trees/modern/decide";
const DETECT: &str = "fixtures/trees/modern/detect";
const CHECK: &str = "fixtures/trees/modern/check";

/// Istio's samples, as named on the command line from the crate root.
const SAMPLES: &str = "../shared/corpus/istio__istio/samples";

/// The binary, run from the crate root, without colours.
fn meshlint() -> Command {
    common::meshlint()
}

fn run(args: &[&str]) -> Output {
    let output = meshlint().args(args).output().expect("meshlint runs");
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(!err.contains("panicked"), "meshlint {args:?} panicked:\n{err}");
    output
}

fn parse_json(output: &Output, args: &[&str]) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("meshlint {args:?}: stdout is not one JSON document ({e}):\n{}", String::from_utf8_lossy(&output.stdout))
    })
}

/// `meshlint audit --format json ARGS...`, which must exit 0.
fn audit(args: &[&str]) -> Value {
    let all: Vec<&str> = ["audit", "--format", "json"].iter().chain(args).copied().collect();
    let out = run(&all);
    assert_eq!(out.status.code(), Some(0), "{all:?}: {}", String::from_utf8_lossy(&out.stderr));
    parse_json(&out, &all)
}

/// `meshlint check --format json ARGS...` (exit 0 or 1, never 2): the whole document.
fn check(args: &[&str]) -> Value {
    let all: Vec<&str> = ["check", "--format", "json"].iter().chain(args).copied().collect();
    let out = run(&all);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{all:?}: {}", String::from_utf8_lossy(&out.stderr));
    parse_json(&out, &all)
}

fn diagnostics(report: &Value) -> &Vec<Value> {
    report["diagnostics"].as_array().expect("`diagnostics` is an array")
}

fn rows(audit: &Value) -> &Vec<Value> {
    audit["workloads"].as_array().expect("`workloads` is an array")
}

fn str_of<'v>(value: &'v Value, key: &str) -> &'v str {
    value[key].as_str().unwrap_or_else(|| panic!("`{key}` is not a string in {value}"))
}

/// The row of the workload `namespace/kind/name`: one per definition, which must all get
/// the same verdict.
fn row<'a>(audit: &'a Value, namespace: &str, kind: &str, name: &str) -> &'a Value {
    let found: Vec<&Value> =
        rows(audit).iter().filter(|r| r["namespace"] == namespace && r["kind"] == kind && r["name"] == name).collect();
    assert!(!found.is_empty(), "no row for {namespace}/{kind}/{name}");
    assert!(
        found.iter().all(|r| (&r["outcome"], &r["reason"]) == (&found[0]["outcome"], &found[0]["reason"])),
        "definitions of {namespace}/{kind}/{name} disagree: {found:#?}"
    );
    found[0]
}

/// `(outcome, reason)` of a row.
fn verdict(row: &Value) -> (&str, &str) {
    (str_of(row, "outcome"), str_of(row, "reason"))
}

/// 1-based line of the only line of `path` (relative to the crate root) containing `needle`.
fn line_of(path: &str, needle: &str) -> u64 {
    let text = std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let found: Vec<usize> = text.lines().enumerate().filter(|(_, l)| l.contains(needle)).map(|(i, _)| i).collect();
    assert_eq!(found.len(), 1, "{path}: `{needle}` must be on exactly one line, found lines {found:?}");
    found[0] as u64 + 1
}

/// A finding reduced to rule, object name and istioctl code (`-` when none).
fn brief(d: &Value) -> (String, String, String) {
    (
        str_of(d, "rule").to_owned(),
        d["object"]["name"].as_str().unwrap_or("").to_owned(),
        d["istio_code"].as_str().unwrap_or("-").to_owned(),
    )
}

/// The findings of `rules`, reduced and sorted.
fn findings_of(report: &Value, rules: &[&str]) -> Vec<(String, String, String)> {
    let mut out: Vec<_> =
        diagnostics(report).iter().filter(|d| rules.contains(&str_of(d, "rule"))).map(brief).collect();
    out.sort();
    out
}

fn owned(items: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = items.iter().map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned())).collect();
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------
// The precedence table: one directory per row, audited as Istio 1.26 and 1.27

type Verdict = (&'static str, &'static str);

const INJECTED_POLICY: Verdict = ("injected", "policy-enabled");
const INJECTED_OPT_IN: Verdict = ("injected", "annotation-inject");
const NOT_POLICY: Verdict = ("not-injected", "policy-disabled");
const NOT_POLICY_OFF: Verdict = ("not-injected", "policy-off");

/// Audit the row `dir` as Istio `version` and compare its only workload with `want`;
/// `None` when they agree, else a description of the difference.
fn row_mismatch(dir: &str, version: &str, want: Verdict) -> Option<String> {
    let path = format!("{DECIDE}/{dir}");
    let report = audit(&["--profile", "istio-modern", "--istio-version", version, &path]);
    assert_eq!(report["profile"], "istio-modern");
    let all = rows(&report);
    assert_eq!(all.len(), 1, "{path}: expected one workload: {report:#}");
    let got = &all[0];
    assert_eq!(str_of(got, "name"), dir.to_ascii_lowercase(), "{path}: the row's workload");
    assert_eq!(str_of(got, "path"), format!("{path}/workload.yaml"));
    assert!(!str_of(got, "detail").is_empty(), "{path}: empty detail");
    (verdict(got) != want).then(|| format!("{dir} as Istio {version}: got {:?}, want {want:?}", verdict(got)))
}

/// Assert the verdict of row `dir` under 1.26 and 1.27 (both checked before failing).
fn assert_row(dir: &str, old: Verdict, new: Verdict) {
    let wrong: Vec<String> =
        [("1.26", old), ("1.27", new)].into_iter().filter_map(|(v, want)| row_mismatch(dir, v, want)).collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

macro_rules! rows {
    ($($test:ident: $dir:literal => $old:expr, $new:expr;)*) => {
        $(
            #[test]
            fn $test() {
                assert_row($dir, $old, $new);
            }
        )*
    };
}

rows! {
    namespace_enabled_injects: "ns-injection-enabled" => INJECTED_POLICY, INJECTED_POLICY;
    namespace_disabled_excludes: "ns-injection-disabled"
        => ("not-injected", "namespace-excluded"), ("not-injected", "namespace-excluded");
    namespace_revision_served_injects: "ns-rev-canary" => INJECTED_POLICY, INJECTED_POLICY;
    namespace_revision_tag_served_injects: "ns-rev-tag" => INJECTED_POLICY, INJECTED_POLICY;
    namespace_revision_not_installed: "ns-rev-unknown"
        => ("not-injected", "revision-unknown"), ("not-injected", "revision-unknown");
    pod_revision_label_injects: "pod-rev-label" => INJECTED_POLICY, INJECTED_POLICY;
    pod_label_true_opts_in_unlabelled_namespace: "pod-label-true-unlabelled-ns" => INJECTED_OPT_IN, INJECTED_OPT_IN;
    unlabelled_namespace_not_watched: "ns-unlabelled"
        => ("not-injected", "namespace-not-watched"), ("not-injected", "namespace-not-watched");
    enable_namespaces_by_default_injects: "enable-namespaces-by-default" => INJECTED_POLICY, INJECTED_POLICY;
    pod_label_false_blocks_enabled_namespace: "pod-label-false-enabled-ns"
        => ("not-injected", "pod-label-no-inject"), ("not-injected", "pod-label-no-inject");
    label_false_wins_over_annotation_true: "label-false-annotation-true"
        => ("not-injected", "pod-label-no-inject"), ("not-injected", "pod-label-no-inject");
    label_true_wins_over_annotation_false: "label-true-annotation-false" => INJECTED_OPT_IN, INJECTED_OPT_IN;
    annotation_true_beats_policy_disabled: "annotation-true-policy-disabled" => INJECTED_OPT_IN, INJECTED_OPT_IN;
    never_inject_selector_blocks: "never-inject-selector"
        => ("not-injected", "never-inject-selector"), ("not-injected", "never-inject-selector");
    always_inject_selector_beats_policy_disabled: "always-inject-selector"
        => ("injected", "always-inject-selector"), ("injected", "always-inject-selector");
    policy_disabled_without_opt_in: "policy-disabled" => NOT_POLICY, NOT_POLICY;
    unknown_policy_never_injects: "policy-unknown" => NOT_POLICY_OFF, NOT_POLICY_OFF;
    host_network_never_injected: "host-network"
        => ("not-injected", "host-network"), ("not-injected", "host-network");
    kube_system_exempt_even_when_enabled: "exempt-kube-system"
        => ("not-injected", "exempt-namespace"), ("not-injected", "exempt-namespace");
    kube_node_lease_exempt_even_when_enabled: "exempt-kube-node-lease"
        => ("not-injected", "exempt-namespace"), ("not-injected", "exempt-namespace");
    istio_system_not_exempt: "istio-system-not-exempt" => INJECTED_POLICY, INJECTED_POLICY;
    annotation_yes_injects_before_1_27_only: "annotation-yes" => INJECTED_OPT_IN, NOT_POLICY;
    label_title_case_true_injects_before_1_27_only: "label-True" => INJECTED_OPT_IN, NOT_POLICY;
    label_title_case_false_opts_out_before_1_27_only: "label-False"
        => ("not-injected", "annotation-no-inject"), INJECTED_POLICY;
    annotation_false_opts_out_in_every_release: "annotation-false"
        => ("not-injected", "annotation-no-inject"), ("not-injected", "annotation-no-inject");
}

/// The release is said where the audit names the injector.
#[test]
fn the_audit_names_the_istio_release() {
    for version in ["1.26", "1.27"] {
        let report =
            audit(&["--profile", "istio-modern", "--istio-version", version, &format!("{DECIDE}/annotation-false")]);
        assert_eq!(report["policy"]["initializer_name"], format!("istio {version}"), "{report:#}");
    }
}

/// istiod (`injectRequired`) switches on the policy last: any value but `enabled` and
/// `disabled` logs "Auto injection disabled!" and never injects, whatever the pod says.
#[test]
fn unknown_policy_never_injects_even_with_opt_in() {
    // An unknown policy is off to istiod: no pod is injected, whatever it asks.
    assert_row("policy-unknown-annotation-true", NOT_POLICY_OFF, NOT_POLICY_OFF);
}

/// istiod reads an empty value (`case "": useDefault = true`) as unset in every release.
#[test]
fn empty_annotation_is_unset_in_1_27() {
    assert_eq!(row_mismatch("annotation-empty", "1.27", INJECTED_POLICY), None);
}

#[test]
fn empty_annotation_is_unset_in_1_26() {
    assert_eq!(row_mismatch("annotation-empty", "1.26", INJECTED_POLICY), None);
}

/// Without `--istio-version` the newest behaviour applies (1.27+ value parsing).
#[test]
fn default_version_reads_values_strictly() {
    let report = audit(&["--profile", "istio-modern", &format!("{DECIDE}/annotation-yes")]);
    assert_eq!(verdict(&rows(&report)[0]), NOT_POLICY);
    let report =
        audit(&["--profile", "istio-modern", "--istio-version", "1.26.3", &format!("{DECIDE}/annotation-yes")]);
    assert_eq!(verdict(&rows(&report)[0]), INJECTED_OPT_IN, "a patch release parses as its minor");
}

/// `decided_by` points at the input that decided: the namespace label, the pod label,
/// the injector's policy.
#[test]
fn decided_by_points_at_the_deciding_input() {
    let cases = [
        ("ns-injection-disabled", "namespace.yaml", "istio-injection:"),
        ("ns-rev-unknown", "namespace.yaml", "istio.io/rev:"),
        ("pod-label-false-enabled-ns", "workload.yaml", "sidecar.istio.io/inject"),
        ("label-true-annotation-false", "workload.yaml", "sidecar.istio.io/inject: \"true\""),
        ("host-network", "workload.yaml", "hostNetwork"),
        ("policy-disabled", "injector.yaml", "policy: disabled"),
    ];
    for (dir, file, needle) in cases {
        let path = format!("{DECIDE}/{dir}");
        let report = audit(&["--profile", "istio-modern", &path]);
        let file = format!("{path}/{file}");
        let want = format!("{file}:{}", line_of(&file, needle));
        assert_eq!(str_of(&rows(&report)[0], "decided_by"), want, "{dir}");
    }
}

#[test]
fn revision_flag_installs_a_revision() {
    let path = format!("{DECIDE}/ns-rev-unknown");
    let before = audit(&["--profile", "istio-modern", &path]);
    let detail = str_of(&rows(&before)[0], "detail");
    assert!(detail.contains("canary") && detail.contains("stable"), "names the label and what is installed: {detail}");
    let after = audit(&["--profile", "istio-modern", "--revision", "canary", &path]);
    assert_eq!(verdict(&rows(&after)[0]), INJECTED_POLICY);
    let other = audit(&["--profile", "istio-modern", "--revision", "blue", &path]);
    assert_eq!(verdict(&rows(&other)[0]), ("not-injected", "revision-unknown"));
}

#[test]
fn namespace_label_flag_labels_a_namespace() {
    let path = format!("{DECIDE}/ns-unlabelled");
    let cases = [
        ("shop:istio-injection=enabled", INJECTED_POLICY),
        ("shop:istio-injection=disabled", ("not-injected", "namespace-excluded")),
        // `default` is always installed.
        ("shop:istio.io/rev=default", INJECTED_POLICY),
        ("shop:istio.io/rev=blue", ("not-injected", "revision-unknown")),
        ("other:istio-injection=enabled", ("not-injected", "namespace-not-watched")),
    ];
    for (label, want) in cases {
        let report = audit(&["--profile", "istio-modern", "--namespace-label", label, &path]);
        assert_eq!(verdict(&rows(&report)[0]), want, "--namespace-label {label}");
    }
    let out = run(&["audit", "--profile", "istio-modern", "--namespace-label", "shop-istio-injection", &path]);
    assert_eq!(out.status.code(), Some(2), "a malformed --namespace-label is a usage error");
}

// ---------------------------------------------------------------------------------------
// Profile auto-detection

/// Audit and check `dir` without `--profile`: both report the same profile and a reason
/// that mentions `because`.
fn detected(dir: &str, extra: &[&str], profile: &str, because: &str) {
    let path = format!("{DETECT}/{dir}");
    let args: Vec<&str> = extra.iter().copied().chain([path.as_str()]).collect();
    let report = audit(&args);
    let reason = str_of(&report, "profile_reason");
    assert_eq!(report["profile"], profile, "{dir}: {reason}");
    assert!(reason.contains(because), "{dir}: profile_reason {reason:?} should mention {because:?}");
    let summary = &check(&args)["summary"];
    assert_eq!(summary["profile"], profile, "{dir}: check");
    assert_eq!(summary["profile_reason"], reason, "{dir}: check and audit give one reason");
}

#[test]
fn detects_istio_0_2_from_the_istio_inject_config_map() {
    detected("istio-inject", &[], "istio-0.2", "istio-inject");
}

#[test]
fn detects_modern_from_the_sidecar_injector_config_map() {
    detected("sidecar-injector", &[], "istio-modern", "istio-sidecar-injector");
}

#[test]
fn detects_modern_from_istio_webhook() {
    detected("webhook", &[], "istio-modern", "MutatingWebhookConfiguration");
}

#[test]
fn detects_modern_from_a_labelled_namespace() {
    detected("namespace-labelled", &[], "istio-modern", "shop");
    detected("namespace-rev-labelled", &[], "istio-modern", "shop");
}

#[test]
fn defaults_to_istio_0_2() {
    detected("nothing", &[], "istio-0.2", "default");
    // Another project's webhook (labelled istio.io/rev even) and a Namespace with other
    // labels name no Istio release.
    detected("other-webhook", &[], "istio-0.2", "default");
}

#[test]
fn namespace_label_flag_names_the_modern_profile() {
    detected("nothing", &["--namespace-label", "shop:istio-injection=enabled"], "istio-modern", "--namespace-label");
}

#[test]
fn asked_for_profile_wins() {
    detected("sidecar-injector", &["--profile", "istio-0.2"], "istio-0.2", "asked");
    detected("istio-inject", &["--profile", "istio-modern"], "istio-modern", "asked");
}

// ---------------------------------------------------------------------------------------
// Ports and Services

const PORT_RULES: [&str; 2] = ["unknown-port-protocol", "unnamed-service-port"];

#[test]
fn modern_port_names() {
    let path = format!("{CHECK}/ports");
    let report = check(&["--profile", "istio-modern", &path]);
    // appProtocol over the name, any case, grpc-web, well-known 3306: all fine.
    let want =
        owned(&[("unknown-port-protocol", "svc-web", "IST0118"), ("unnamed-service-port", "svc-unnamed", "IST0118")]);
    assert_eq!(findings_of(&report, &PORT_RULES), want);
    let web = diagnostics(&report).iter().find(|d| d["object"]["name"] == "svc-web").expect("svc-web");
    assert_eq!(web["line"], line_of(&format!("{path}/services.yaml"), "port: 8083") - 1);
}

/// The same Services under 0.2: prefixes are case-sensitive, no appProtocol, no
/// well-known ports, and no istioctl codes.
#[test]
fn istio_0_2_port_names_differ() {
    let report = check(&["--profile", "istio-0.2", &format!("{CHECK}/ports")]);
    let found = findings_of(&report, &PORT_RULES);
    for name in ["svc-app-protocol", "svc-upper-case", "svc-web", "svc-mysql", "svc-unnamed"] {
        assert!(found.iter().any(|(_, n, _)| n == name), "{name} under 0.2: {found:?}");
    }
    assert!(found.iter().all(|(_, _, code)| code == "-"), "no istioctl codes under 0.2: {found:?}");
}

#[test]
fn kubernetes_app_protocols_are_known() {
    let report = check(&["--profile", "istio-modern", &format!("{CHECK}/app-protocol-h2c")]);
    assert_eq!(findings_of(&report, &PORT_RULES), Vec::new());
}

const MEMBERSHIP: [&str; 1] = ["pod-in-multiple-services"];

#[test]
fn two_services_with_distinct_ports_are_fine() {
    let modern = check(&["--profile", "istio-modern", &format!("{CHECK}/services-distinct")]);
    assert_eq!(findings_of(&modern, &MEMBERSHIP), Vec::new());
    // Istio 0.2 supported one Service per pod.
    let old = check(&["--profile", "istio-0.2", &format!("{CHECK}/services-distinct")]);
    assert_eq!(findings_of(&old, &MEMBERSHIP), owned(&[("pod-in-multiple-services", "shop", "-")]));
}

#[test]
fn one_port_two_protocols_is_ist0116() {
    // Port 53 is TCP in one Service and UDP in the other: the Kubernetes protocols differ.
    let report = check(&["--profile", "istio-modern", &format!("{CHECK}/services-protocol-conflict")]);
    assert_eq!(findings_of(&report, &MEMBERSHIP), owned(&[("pod-in-multiple-services", "dns", "IST0116")]));
    let d = diagnostics(&report).iter().find(|d| d["rule"] == MEMBERSHIP[0]).expect("finding");
    let message = str_of(d, "message");
    assert!(message.contains("dns-tcp") && message.contains("dns-udp") && message.contains("53"), "{message}");
    assert_eq!(d["severity"], "warning", "IST0116 is a Warning in istioctl's table");
}

#[test]
fn names_on_one_port_are_not_a_protocol_conflict() {
    // Port 80 named `http` in one Service and `tcp` in the other: both are TCP, which is
    // what istioctl compares. No IST0116.
    let report = check(&["--profile", "istio-modern", &format!("{CHECK}/services-protocol-conflict")]);
    let shop: Vec<_> = findings_of(&report, &MEMBERSHIP).into_iter().filter(|(_, name, _)| name == "shop").collect();
    assert!(shop.is_empty(), "{shop:?}");
}

#[test]
fn a_workload_outside_the_mesh_is_not_judged_for_service_conflicts() {
    // The same UDP/TCP conflict in a namespace with no injection label: istioctl analyzes
    // only workloads in the mesh.
    let report = check(&["--profile", "istio-modern", &format!("{CHECK}/services-protocol-conflict")]);
    let outside: Vec<_> =
        findings_of(&report, &MEMBERSHIP).into_iter().filter(|(_, name, _)| name == "dns-outside").collect();
    assert!(outside.is_empty(), "{outside:?}");
}

#[test]
fn one_target_port_two_ports_is_ist0137() {
    let report = check(&["--profile", "istio-modern", &format!("{CHECK}/services-target-conflict")]);
    assert_eq!(findings_of(&report, &MEMBERSHIP), owned(&[("pod-in-multiple-services", "shop", "IST0137")]));
}

// ---------------------------------------------------------------------------------------
// Rules with istioctl analyze codes

#[test]
fn misplaced_annotation_is_ist0107_and_template_annotation_ist0135() {
    let path = format!("{CHECK}/misplaced");
    let report = check(&["--profile", "istio-modern", &path]);
    let want = owned(&[
        ("misplaced-inject-annotation", "shop", "IST0107"),
        ("misplaced-inject-annotation", "legacy", "IST0135"),
    ]);
    assert_eq!(findings_of(&report, &["misplaced-inject-annotation"]), want);
    let on_workload = diagnostics(&report).iter().find(|d| d["istio_code"] == "IST0107").expect("IST0107");
    assert_eq!(on_workload["line"], line_of(&format!("{path}/shop.yaml"), "inject: \"false\""));
}

#[test]
fn namespace_with_both_labels_is_ist0123() {
    let path = format!("{CHECK}/namespace-both-labels");
    let report = check(&["--profile", "istio-modern", &path]);
    let want = owned(&[("namespace-multiple-injection-labels", "shop", "IST0123")]);
    assert_eq!(findings_of(&report, &["namespace-multiple-injection-labels"]), want);
    // Not a finding under 0.2, which knew neither label.
    let old = check(&["--profile", "istio-0.2", &path]);
    assert_eq!(findings_of(&old, &["namespace-multiple-injection-labels"]), Vec::new());
}

#[test]
fn unlabelled_namespace_is_ist0102_info() {
    let report = check(&["--profile", "istio-modern", &format!("{CHECK}/namespace-not-injected")]);
    // Reported on the Namespace object, as istioctl does.
    let want = owned(&[("namespace-not-injected", "plain", "IST0102")]);
    assert_eq!(findings_of(&report, &["namespace-not-injected", "workload-not-injected"]), want);
    let d = diagnostics(&report).iter().find(|d| d["rule"] == "namespace-not-injected").expect("finding");
    assert_eq!(d["severity"], "info");
}

#[test]
fn image_auto_without_injection_is_ist0146_for_a_deployment() {
    let path = format!("{CHECK}/image-auto");
    let report = check(&["--profile", "istio-modern", &path]);
    let want = owned(&[("image-auto-without-injection", "plain-gateway", "IST0146")]);
    assert_eq!(findings_of(&report, &["image-auto-without-injection"]), want);
    // Labelling `plain` lets the webhook fill the image in.
    let labelled = check(&["--profile", "istio-modern", "--namespace-label", "plain:istio-injection=enabled", &path]);
    assert_eq!(findings_of(&labelled, &["image-auto-without-injection"]), Vec::new());
}

#[test]
fn inject_value_reports_both_releases() {
    let report = check(&["--profile", "istio-modern", &format!("{CHECK}/inject-value")]);
    let found = findings_of(&report, &["inject-annotation-value"]);
    let want = owned(&[
        ("inject-annotation-value", "title-case-label", "-"),
        ("inject-annotation-value", "yes-annotation", "-"),
    ]);
    assert_eq!(found, want);
    let field = |name: &str, key: &str| {
        let d = diagnostics(&report)
            .iter()
            .find(|d| d["rule"] == "inject-annotation-value" && d["object"]["name"] == name)
            .expect("finding");
        str_of(d, key).to_owned()
    };
    let message = |name: &str| field(name, "message");
    let yes = message("yes-annotation");
    assert!(yes.contains("1.20-1.26 injects") && yes.contains("1.27 and later ignores"), "{yes}");
    let title = message("title-case-label");
    assert!(title.contains("1.20-1.26 does not inject") && title.contains("1.27 and later ignores"), "{title}");
    assert!(title.contains("label"), "says it is the label: {title}");
    // The help keeps what the pods got before 1.27: `yes` injected, `False` did not.
    let help = |name: &str| field(name, "help");
    assert_eq!(help("yes-annotation"), "write `sidecar.istio.io/inject: \"true\"`");
    assert_eq!(help("title-case-label"), "write `sidecar.istio.io/inject: \"false\"`");
}

#[test]
fn modern_names_the_service_from_app_kubernetes_io_name() {
    let path = format!("{CHECK}/app-name-label");
    let modern = check(&["--profile", "istio-modern", &path]);
    assert_eq!(findings_of(&modern, &["missing-app-label"]), owned(&[("missing-app-label", "anonymous", "-")]));
    let old = check(&["--profile", "istio-0.2", &path]);
    let want = owned(&[("missing-app-label", "anonymous", "-"), ("missing-app-label", "named", "-")]);
    assert_eq!(findings_of(&old, &["missing-app-label"]), want);
}

#[test]
fn modern_proxy_ports() {
    let path = format!("{CHECK}/proxy-ports");
    let file = format!("{path}/shop.yaml");
    let lines = |report: &Value| -> BTreeSet<u64> {
        diagnostics(report)
            .iter()
            .filter(|d| d["rule"] == "proxy-port-conflict")
            .map(|d| d["line"].as_u64().expect("line"))
            .collect()
    };
    let port = |p: &str| line_of(&file, &format!("containerPort: {p}"));
    let modern = check(&["--profile", "istio-modern", &path]);
    assert_eq!(lines(&modern), [port("15021"), port("15090"), port("15000")].into_iter().collect());
    let old = check(&["--profile", "istio-0.2", &path]);
    assert_eq!(lines(&old), std::iter::once(port("15000")).collect());
}

/// Under the modern profile istiod reads the opt-in from the pod template, so the advice
/// of `workload-not-injected` must not send it to the workload's metadata (IST0107).
#[test]
fn policy_disabled_advice_points_at_the_pod_template() {
    let report = check(&["--profile", "istio-modern", &format!("{DECIDE}/policy-disabled")]);
    let d = diagnostics(&report).iter().find(|d| d["rule"] == "workload-not-injected").expect("finding");
    let help = str_of(d, "help");
    assert!(!help.contains("workload's metadata") && help.contains("template"), "{help}");
}

/// A pod kept out by the injector's own configuration is told what in it to change: the
/// `neverInjectSelector` it matches, or the revision its namespace names that no
/// injector serves (the fixture installs `default` and `stable`, the namespace asks for
/// `canary`).
#[test]
fn advice_names_the_injector_setting_that_keeps_the_pod_out() {
    let cases = [
        (
            "never-inject-selector",
            "the pod matches `neverInjectSelector`",
            "`neverInjectSelector` in the `istio-sidecar-injector`",
        ),
        ("ns-rev-unknown", "`istio.io/rev: canary` names no installed revision", "`--revision`"),
    ];
    for (dir, message, advice) in cases {
        let report = check(&["--profile", "istio-modern", &format!("{DECIDE}/{dir}")]);
        let found: Vec<&Value> = diagnostics(&report).iter().filter(|d| d["rule"] == "workload-not-injected").collect();
        assert_eq!(found.len(), 1, "{dir}: {report:#}");
        assert!(str_of(found[0], "message").contains(message), "{dir}: {}", found[0]);
        assert!(str_of(found[0], "help").contains(advice), "{dir}: {}", found[0]);
    }
}

#[test]
fn inject_refuses_the_modern_profile() {
    let out = run(&["inject", "--profile", "istio-modern", "-f", "x.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not supported") && err.contains("istio-modern"), "{err}");
    assert!(out.stdout.is_empty(), "nothing written: {}", String::from_utf8_lossy(&out.stdout));
}

// ---------------------------------------------------------------------------------------
// Istio's samples (expectations from reading them)

/// The addons whose pod templates carry the label `sidecar.istio.io/inject: "false"`.
const ADDONS_OPTED_OUT: [&str; 5] = ["grafana", "jaeger", "kiali", "zipkin", "skywalking-oap"];

/// Bookinfo's Deployments (bookinfo/platform/kube), which name no namespace.
const BOOKINFO: [&str; 12] = [
    "productpage-v1",
    "details-v1",
    "details-v2",
    "ratings-v1",
    "ratings-v2",
    "ratings-v2-mysql",
    "ratings-v2-mysql-vm",
    "reviews-v1",
    "reviews-v2",
    "reviews-v3",
    "mongodb-v1",
    "mysqldb-v1",
];

/// Deployments in `default` whose pod template opts out with the label.
const DEFAULT_OPTED_OUT: [&str; 2] = ["ext-authz", "opentelemetry-collector"];

#[test]
fn samples_addons_opted_out_by_pod_label() {
    let report = audit(&["--profile", "istio-modern", SAMPLES]);
    for name in ADDONS_OPTED_OUT {
        let r = row(&report, "istio-system", "Deployment", name);
        assert_eq!(verdict(r), ("not-injected", "pod-label-no-inject"), "{name}");
    }
    // The annotation alone does not stop the webhook, but nothing selects the pod either.
    let ui = row(&report, "istio-system", "Deployment", "skywalking-ui");
    assert_eq!(verdict(ui), ("not-injected", "namespace-not-watched"));
    let loki = row(&report, "istio-system", "StatefulSet", "loki");
    assert_eq!(verdict(loki), ("not-injected", "namespace-not-watched"));
    // addons/prometheus.yaml's prometheus (label "false") shares its identity with the
    // secure-metrics variant, so it is audited on its own.
    let alone = audit(&["--profile", "istio-modern", "--no-context", &format!("{SAMPLES}/addons/prometheus.yaml")]);
    let r = row(&alone, "istio-system", "Deployment", "prometheus");
    assert_eq!(verdict(r), ("not-injected", "pod-label-no-inject"));
}

#[test]
fn samples_secure_metrics_prometheus_opts_in_by_label() {
    // Two definitions of istio-system/Deployment/prometheus: the addon opts out with the
    // pod label "false", the secure-metrics variant opts in with "true". Both are rows.
    let report = audit(&["--profile", "istio-modern", SAMPLES]);
    let definitions: Vec<&Value> =
        rows(&report).iter().filter(|r| r["namespace"] == "istio-system" && r["name"] == "prometheus").collect();
    let by_file = |suffix: &str| {
        let found: Vec<&&Value> = definitions.iter().filter(|r| str_of(r, "path").ends_with(suffix)).collect();
        assert_eq!(found.len(), 1, "{suffix}: {definitions:#?}");
        verdict(found[0])
    };
    assert_eq!(definitions.len(), 2, "{definitions:#?}");
    assert_eq!(by_file("addons/extras/prometheus-secure-metrics.yaml"), INJECTED_OPT_IN);
    assert_eq!(by_file("addons/prometheus.yaml"), ("not-injected", "pod-label-no-inject"));
    let file = format!("{SAMPLES}/addons/extras/prometheus-secure-metrics.yaml");
    let alone = audit(&["--profile", "istio-modern", "--no-context", &file]);
    let r = row(&alone, "istio-system", "Deployment", "prometheus");
    assert_eq!(verdict(r), INJECTED_OPT_IN);
    assert_eq!(str_of(r, "decided_by"), format!("{file}:{}", line_of(&file, "sidecar.istio.io/inject: \"true\"")));
}

#[test]
fn samples_default_namespace_is_not_watched() {
    let report = audit(&["--profile", "istio-modern", SAMPLES]);
    for name in BOOKINFO {
        let r = row(&report, "default", "Deployment", name);
        assert_eq!(verdict(r), ("not-injected", "namespace-not-watched"), "{name}");
    }
    let defaults: Vec<&Value> = rows(&report).iter().filter(|r| r["namespace"] == "default").collect();
    assert!(defaults.len() > BOOKINFO.len(), "the other samples run in default too");
    for r in defaults {
        let name = str_of(r, "name");
        let want = if DEFAULT_OPTED_OUT.contains(&name) { "pod-label-no-inject" } else { "namespace-not-watched" };
        assert_eq!(verdict(r), ("not-injected", want), "{name}");
    }
}

#[test]
fn samples_default_namespace_labelled_enabled() {
    let args = ["--profile", "istio-modern", "--namespace-label", "default:istio-injection=enabled", SAMPLES];
    let report = audit(&args);
    for name in BOOKINFO {
        assert_eq!(verdict(row(&report, "default", "Deployment", name)), INJECTED_POLICY, "{name}");
    }
    for name in DEFAULT_OPTED_OUT {
        let r = row(&report, "default", "Deployment", name);
        assert_eq!(verdict(r), ("not-injected", "pod-label-no-inject"), "{name}");
    }
    // Labelling `default` changes nothing in istio-system.
    for name in ADDONS_OPTED_OUT {
        let r = row(&report, "istio-system", "Deployment", name);
        assert_eq!(verdict(r), ("not-injected", "pod-label-no-inject"), "{name}");
    }
    // bookinfo.yaml itself: every Deployment in it injected.
    let file = format!("{SAMPLES}/bookinfo/platform/kube/bookinfo.yaml");
    let alone = audit(&[
        "--profile",
        "istio-modern",
        "--no-context",
        "--namespace-label",
        "default:istio-injection=enabled",
        &file,
    ]);
    assert_eq!(rows(&alone).len(), 6, "bookinfo.yaml's six Deployments");
    assert!(rows(&alone).iter().all(|r| verdict(r) == INJECTED_POLICY), "{alone:#}");
}

/// Only `istio-system`'s ConfigMaps named `istio-sidecar-injector…` configure the
/// webhook: one of that name elsewhere, or another ConfigMap of `istio-system`, says
/// nothing of injection.
#[test]
fn only_the_injectors_config_map_configures_the_webhook() {
    let decoy = |name: &str, namespace: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {namespace}\ndata:\n  config: |\n    policy: disabled\n"
        )
    };
    let workload =
        std::fs::read_to_string(root().join(DECIDE).join("ns-injection-enabled/workload.yaml")).expect("row");
    let namespace =
        std::fs::read_to_string(root().join(DECIDE).join("ns-injection-enabled/namespace.yaml")).expect("row");
    for (name, ns) in [("istio-sidecar-injector", "shop"), ("istio-mesh-extras", "istio-system")] {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("decoy.yaml"), decoy(name, ns)).expect("write");
        std::fs::write(dir.path().join("workload.yaml"), &workload).expect("write");
        std::fs::write(dir.path().join("namespace.yaml"), &namespace).expect("write");
        let path = dir.path().to_str().expect("UTF-8").to_owned();
        let report = audit(&["--profile", "istio-modern", "--no-context", &path]);
        assert_eq!(verdict(&rows(&report)[0]), INJECTED_POLICY, "{name} in {ns} was read: {report:#}");
    }
}
