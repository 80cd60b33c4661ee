//! What each profile knows (`src/istio/mod.rs`), through the binary: the namespaces that
//! are never in the mesh, the port names each Istio reads as plain TCP or as a misspelt
//! protocol, the istioctl analyze code of `pod-in-multiple-services`, how outcomes are
//! worded, and when a pod that already has an `istio-proxy` container counts as injected.
//! Each expectation is reasoned from SEMANTICS.md, not taken from meshlint's output.

mod common;

use std::path::Path;

use serde_json::Value;

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    dir
}

fn json(dir: &Path, args: &[&str]) -> Value {
    let out = common::meshlint_in(dir).args(args).output().expect("meshlint runs");
    assert!(!common::stderr(&out).contains("panicked"), "{}", common::stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", common::stdout(&out)))
}

fn findings(dir: &Path, profile: &str) -> Vec<Value> {
    let report = json(dir, &["check", "--format", "json", "--no-context", "--profile", profile, "."]);
    report["diagnostics"].as_array().expect("array").clone()
}

fn deployment(name: &str, namespace: &str, app: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n  template:\n    metadata:\n      labels:\n        app: {app}\n    spec:\n      containers:\n      - name: {name}\n        image: {name}:1\n"
    )
}

fn service(name: &str, namespace: &str, app: &str, port_name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n  selector:\n    app: {app}\n  ports:\n  - name: {port_name}\n    port: 7000\n"
    )
}

#[test]
fn workloads_of_the_exempt_namespaces_share_an_app_label_unreported() {
    // kube-system is never in the mesh, under either profile: two of its workloads with
    // one `app` are nobody's concern. The same pair in `shop` is reported.
    for profile in ["istio-0.2", "istio-modern"] {
        for (namespace, reported) in [("kube-system", false), ("shop", true)] {
            let dir =
                tree(&[("a.yaml", &deployment("a", namespace, "dns")), ("b.yaml", &deployment("b", namespace, "dns"))]);
            let found = findings(dir.path(), profile);
            let dup = found.iter().any(|d| d["rule"] == "duplicate-app-label");
            assert_eq!(dup, reported, "{profile}, {namespace}: {found:#?}");
        }
    }
}

#[test]
fn tcp_and_udp_prefixes_are_plain_tcp_by_intent_under_0_2() {
    // Istio 0.2 lists http, http2, https, grpc, mongo, redis; `tcp-` and `udp-` say the
    // traffic is meant to be plain: no finding. A misspelt protocol gets its fix.
    let dir = tree(&[
        ("db.yaml", &service("db", "shop", "db", "tcp-db")),
        ("raw.yaml", &service("raw", "shop", "raw", "udp-raw")),
    ]);
    let found = findings(dir.path(), "istio-0.2");
    assert!(found.iter().all(|d| d["rule"] != "unknown-port-protocol"), "{found:#?}");
    for (name, fixed) in [("HTTP-web", "http-web"), ("http2foo", "http2-foo"), ("grpcapi", "grpc-api")] {
        let dir = tree(&[("s.yaml", &service("s", "shop", "s", name))]);
        let found = findings(dir.path(), "istio-0.2");
        let d = found.iter().find(|d| d["rule"] == "unknown-port-protocol").expect("a finding");
        assert_eq!(d["help"], format!("rename the port to `{fixed}`"), "{name}");
    }
    // Modern Istio reads prefixes in any case: `HTTP-web` is HTTP there.
    let dir = tree(&[("s.yaml", &service("s", "shop", "s", "HTTP-web"))]);
    let found = findings(dir.path(), "istio-modern");
    assert!(found.iter().all(|d| d["rule"] != "unknown-port-protocol"), "{found:#?}");
}

#[test]
fn pods_in_two_services_are_ist0116_a_warning_under_modern_istio() {
    let ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    istio-injection: enabled\n";
    let dir = tree(&[
        ("ns.yaml", ns),
        ("web.yaml", &deployment("web", "shop", "web")),
        ("a.yaml", &service("a", "shop", "web", "tcp-a")),
        // The same port number over UDP: what istioctl analyze calls a conflict (modern
        // Istio supports several Services per pod otherwise).
        (
            "b.yaml",
            &service("b", "shop", "web", "udp-b").replace("    port: 7000\n", "    port: 7000\n    protocol: UDP\n"),
        ),
    ]);
    for (profile, code, level) in [("istio-modern", Some("IST0116"), "warning"), ("istio-0.2", None, "error")] {
        let found = findings(dir.path(), profile);
        let d = found.iter().find(|d| d["rule"] == "pod-in-multiple-services").expect("the finding");
        assert_eq!((d["istio_code"].as_str(), d["severity"].as_str()), (code, Some(level)), "{profile}: {d:#}");
    }
}

#[test]
fn a_workload_defined_twice_and_decided_apart_says_which_is_which() {
    // The same Deployment in two files, one opting out on its own metadata (which 0.2
    // reads): one definition is injected, the other not, and the finding says so.
    let opt_out = deployment("web", "shop", "web").replace(
        "metadata:\n  name: web\n",
        "metadata:\n  name: web\n  annotations:\n    sidecar.istio.io/inject: \"false\"\n",
    );
    let dir = tree(&[("a.yaml", &deployment("web", "shop", "web")), ("b.yaml", &opt_out)]);
    let found = findings(dir.path(), "istio-0.2");
    let d = found.iter().find(|d| d["rule"] == "inconsistent-injection").expect("the finding");
    let texts: Vec<&str> = std::iter::once(d["labels"][0]["message"].as_str().unwrap_or(""))
        .chain(std::iter::once(d["message"].as_str().unwrap_or("")))
        .collect();
    assert!(texts.iter().any(|t| t.contains("not injected here")), "{d:#}");
    assert!(d["message"].as_str().unwrap_or("").contains(": injected here"), "{d:#}");
    // One finding for the group, however many definitions it has: at the first file's
    // definition, with a label at each other one.
    let dir = tree(&[
        ("a.yaml", &deployment("web", "shop", "web")),
        ("b.yaml", &opt_out),
        ("c.yaml", &deployment("web", "shop", "web")),
    ]);
    let found = findings(dir.path(), "istio-0.2");
    let groups: Vec<&Value> = found.iter().filter(|d| d["rule"] == "inconsistent-injection").collect();
    assert_eq!(groups.len(), 1, "{groups:#?}");
    assert_eq!(groups[0]["path"], "a.yaml", "{:#}", groups[0]);
    assert!(groups[0]["message"].as_str().unwrap_or("").contains("is defined 3 times"), "{:#}", groups[0]);
    assert_eq!(groups[0]["labels"].as_array().map(Vec::len), Some(2), "{:#}", groups[0]);
}

#[test]
fn an_istio_proxy_container_means_already_injected_unless_its_image_awaits_the_webhook() {
    let with_proxy = |image: &str| {
        deployment("web", "shop", "web").replace(
            "      containers:\n",
            &format!("      containers:\n      - name: istio-proxy\n        image: {image}\n"),
        )
    };
    let ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    istio-injection: enabled\n";
    let verdict = |profile: &str, image: &str| {
        let dir = tree(&[("ns.yaml", ns), ("web.yaml", &with_proxy(image))]);
        let report = json(dir.path(), &["audit", "--format", "json", "--no-context", "--profile", profile, "."]);
        let row = &report["workloads"][0];
        (row["outcome"].as_str().unwrap_or("").to_owned(), row["reason"].as_str().unwrap_or("").to_owned())
    };
    let already = ("already-injected".to_owned(), "proxy-container".to_owned());
    // A real proxy image: injected already, under both profiles.
    assert_eq!(verdict("istio-modern", "docker.io/istio/proxyv2:1.28.0"), already);
    assert_eq!(verdict("istio-0.2", "docker.io/istio/proxy:0.2.6"), already);
    // `image: auto` is the webhook's placeholder: the modern webhook still injects; 0.2
    // knows no such placeholder.
    assert_ne!(verdict("istio-modern", "auto"), already);
    assert_eq!(verdict("istio-0.2", "auto"), already);
}

#[test]
fn the_rule_table_and_explain_give_each_profiles_level_and_code() {
    // Istio 0.2 rejects a pod in two Services (an error); istioctl analyze's IST0116 is a
    // warning. Both places that list levels say so.
    let out = common::meshlint().args(["explain", "pod-in-multiple-services"]).output().expect("runs");
    let text = common::stdout(&out);
    assert!(text.trim_end().ends_with("istio-0.2: error; istio-modern: warning (IST0116)"), "{text}");
    let out = common::meshlint().arg("rules").output().expect("runs");
    let table = common::stdout(&out);
    let row = table.lines().find(|l| l.starts_with("| pod-in-multiple-services ")).expect("the rule's row");
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    assert_eq!(cells[2..4], ["error", "warning IST0116"], "{row}");
}

#[test]
fn a_rule_of_one_istio_is_listed_as_not_running_under_the_other() {
    // What only Istio 0.2 does: every pod in a Service, its fixed sidecar names, and the
    // `istio-<name>-service-account` convention; what only modern Istio has: the
    // injection labels of namespaces, `image: auto`, and ExternalName Services in the
    // registry (IST0150).
    let only_02 = ["pod-without-service", "sidecar-name-conflict", "deprecated-service-account"];
    let only_modern = [
        "namespace-multiple-injection-labels",
        "namespace-not-injected",
        "namespace-injected-by-default",
        "image-auto-without-injection",
        "external-name-port",
    ];
    let out = common::meshlint().arg("rules").output().expect("runs");
    let table = common::stdout(&out);
    for (rule, runs_02) in only_02.iter().map(|r| (r, true)).chain(only_modern.iter().map(|r| (r, false))) {
        let out = common::meshlint().args(["explain", rule]).output().expect("runs");
        let text = common::stdout(&out);
        let (not, other) = if runs_02 { ("istio-modern", "istio-0.2") } else { ("istio-0.2", "istio-modern") };
        assert!(text.contains(&format!("{not}: does not run")), "{rule}: {text}");
        assert!(!text.contains(&format!("{other}: does not run")), "{rule}: {text}");
        let row = table.lines().find(|l| l.starts_with(&format!("| {rule} "))).expect("the rule's row");
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (c02, cmodern) = (cells[2], cells[3]);
        assert_eq!((c02 == "-", cmodern == "-"), (!runs_02, runs_02), "{row}");
    }
    // And a rule of both runs under both.
    let row = table.lines().find(|l| l.starts_with("| unnamed-service-port ")).expect("the rule's row");
    assert!(!row.split('|').skip(2).take(2).any(|c| c.trim() == "-"), "{row}");
}
