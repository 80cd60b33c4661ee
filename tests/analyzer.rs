//! The modern profile judges as `istioctl analyze` does: codes and levels from Istio's
//! table, the scope of the port rules, the namespace-label count of IST0123, `ExternalName`
//! ports (IST0150), and namespaces reported on the Namespace object (IST0102, IST0148).
//! Each case is a small tree written into a temporary directory.

mod common;

use std::path::Path;

use serde_json::Value;

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

/// The diagnostics of `check --format json --profile istio-modern .` run in `dir`.
fn modern_all(dir: &Path) -> Vec<Value> {
    let output = common::meshlint_in(dir)
        .args(["check", "--format", "json", "--profile", "istio-modern", "."])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    report["diagnostics"].as_array().unwrap().clone()
}

/// The diagnostics of `rule` under the modern profile.
fn modern_diagnostics(dir: &Path, rule: &str) -> Vec<Value> {
    modern_all(dir).into_iter().filter(|d| d["rule"] == rule).collect()
}

/// (rule, object name, istio code, severity) of the findings of `rules`.
fn modern(dir: &Path, rules: &[&str]) -> Vec<(String, String, String, String)> {
    modern_all(dir)
        .iter()
        .filter(|d| rules.contains(&d["rule"].as_str().unwrap()))
        .map(|d| {
            let s = |v: &Value| v.as_str().unwrap_or("-").to_owned();
            (s(&d["rule"]), s(&d["object"]["name"]), s(&d["istio_code"]), s(&d["severity"]))
        })
        .collect()
}

fn row(rule: &str, name: &str, code: &str, severity: &str) -> (String, String, String, String) {
    (rule.to_owned(), name.to_owned(), code.to_owned(), severity.to_owned())
}

fn namespace(name: &str, labels: &[(&str, &str)]) -> String {
    let mut text = format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n");
    if !labels.is_empty() {
        text.push_str("  labels:\n");
        for (k, v) in labels {
            text.push_str(&format!("    {k}: {v}\n"));
        }
    }
    text
}

fn service(name: &str, namespace: &str, labels: &str, extra: &str, port: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {namespace}\n{labels}spec:\n{extra}  ports:\n  - {port}\n"
    )
}

#[test]
fn image_auto_is_ist0147_for_a_pod_and_ist0146_for_a_deployment() {
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: gw-pod\n  namespace: plain\nspec:\n  containers:\n  - name: istio-proxy\n    image: auto\n";
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: gw\n  namespace: plain\nspec:\n  selector:\n    matchLabels:\n      app: gw\n  template:\n    metadata:\n      labels:\n        app: gw\n    spec:\n      containers:\n      - name: istio-proxy\n        image: auto\n";
    let dir = tree(&[("ns.yaml", &namespace("plain", &[])), ("pod.yaml", pod), ("gw.yaml", deployment)]);
    let found = modern(dir.path(), &["image-auto-without-injection"]);
    assert_eq!(
        found,
        [
            row("image-auto-without-injection", "gw", "IST0146", "warning"),
            row("image-auto-without-injection", "gw-pod", "IST0147", "error"),
        ]
    );
}

#[test]
fn the_proxy_uid_conflict_is_ist0144() {
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n  namespace: shop\nspec:\n  selector:\n    matchLabels:\n      app: app\n  template:\n    metadata:\n      labels:\n        app: app\n    spec:\n      securityContext:\n        runAsUser: 1337\n      containers:\n      - name: app\n        image: app:1\n";
    let dir = tree(&[("ns.yaml", &namespace("shop", &[("istio-injection", "enabled")])), ("app.yaml", deployment)]);
    assert_eq!(modern(dir.path(), &["proxy-uid-conflict"]), [row("proxy-uid-conflict", "app", "IST0144", "warning")]);
}

#[test]
fn istios_own_containers_may_run_as_the_proxy_uid() {
    // An injected pod: `istio-proxy` runs as 1337 by design, and `istio-init` is Istio's
    // too; only the application container running as 1337 bypasses the sidecar.
    let injected = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n  namespace: shop\nspec:\n  selector:\n    matchLabels:\n      app: app\n  template:\n    metadata:\n      labels:\n        app: app\n    spec:\n      initContainers:\n      - name: istio-init\n        image: proxy_init:0.2.6\n        securityContext:\n          runAsUser: 1337\n      containers:\n      - name: app\n        image: app:1\n      - name: istio-proxy\n        image: proxy:0.2.6\n        securityContext:\n          runAsUser: 1337\n";
    let dir = tree(&[("ns.yaml", &namespace("shop", &[("istio-injection", "enabled")])), ("app.yaml", injected)]);
    assert_eq!(modern(dir.path(), &["proxy-uid-conflict"]), []);
    let app_too = injected.replace(
        "        image: app:1\n",
        "        image: app:1\n        securityContext:\n          runAsUser: 1337\n",
    );
    std::fs::write(dir.path().join("app.yaml"), app_too).unwrap();
    assert_eq!(modern(dir.path(), &["proxy-uid-conflict"]), [row("proxy-uid-conflict", "app", "IST0144", "warning")]);
}

#[test]
fn port_names_are_not_judged_in_system_namespaces_nor_on_istios_control_plane() {
    let unnamed = "port: 9000";
    let dir = tree(&[
        ("kube.yaml", &service("dns", "kube-system", "", "", unnamed)),
        ("lease.yaml", &service("lease", "kube-node-lease", "", "", unnamed)),
        ("storage.yaml", &service("provisioner", "local-path-storage", "", "", unnamed)),
        ("istiod.yaml", &service("istiod", "istio-system", "  labels:\n    istio: pilot\n", "", unnamed)),
        ("release.yaml", &service("gateway", "ingress", "  labels:\n    release: istio\n", "", unnamed)),
        ("app.yaml", &service("app", "shop", "", "", unnamed)),
    ]);
    let found = modern(dir.path(), &["unnamed-service-port"]);
    assert_eq!(found, [row("unnamed-service-port", "app", "IST0118", "info")]);
    // Under 0.2 nothing changes: every one is reported.
    let output = common::meshlint_in(dir.path())
        .args(["check", "--format", "concise", "--profile", "istio-0.2", "."])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout).matches("[unnamed-service-port]").count(), 6);
}

#[test]
fn external_name_ports_are_ist0150_not_ist0118() {
    let external = |name: &str, port: &str| {
        service(name, "shop", "", "  type: ExternalName\n  externalName: api.example.com\n", port)
    };
    let dir = tree(&[
        ("ns.yaml", &namespace("shop", &[("istio-injection", "enabled")])),
        ("tcp.yaml", &external("plain-tcp", "name: tcp\n    port: 443")),
        ("unnamed.yaml", &external("unnamed", "port: 8443")),
        ("odd.yaml", &external("odd", "name: api\n    port: 8080")),
        ("tls.yaml", &external("good", "name: tls\n    port: 443")),
        ("app.yaml", &external("by-app-protocol", "name: x\n    port: 443\n    appProtocol: https")),
    ]);
    let found = modern(dir.path(), &["external-name-port", "unnamed-service-port", "unknown-port-protocol"]);
    assert_eq!(
        found,
        [
            row("external-name-port", "odd", "IST0150", "warning"),
            row("external-name-port", "plain-tcp", "IST0150", "warning"),
            row("external-name-port", "unnamed", "IST0150", "warning"),
        ]
    );
    // Each message names the port by its number and says what is wrong with its name.
    let found = modern_diagnostics(dir.path(), "external-name-port");
    let messages: Vec<&str> = found.iter().map(|d| d["message"].as_str().unwrap()).collect();
    let starts = [
        "port 8080 of ExternalName Service `odd` is named with `api`, which is no protocol Istio supports:",
        "port 443 of ExternalName Service `plain-tcp` is named as plain TCP:",
        "port 8443 of ExternalName Service `unnamed` has no name:",
    ];
    assert_eq!(messages.len(), starts.len(), "{messages:#?}");
    for (message, start) in messages.iter().zip(starts) {
        assert!(message.starts_with(start), "{message}");
    }
}

#[test]
fn injection_labels_are_counted_as_istioctl_counts_them() {
    let dir = tree(&[
        ("a.yaml", &namespace("disabled-with-rev", &[("istio-injection", "disabled"), ("istio.io/rev", "canary")])),
        (
            "b.yaml",
            &namespace("enabled-ambient", &[("istio-injection", "enabled"), ("istio.io/dataplane-mode", "ambient")]),
        ),
        ("c.yaml", &namespace("rev-ambient", &[("istio.io/rev", "canary"), ("istio.io/dataplane-mode", "ambient")])),
        ("d.yaml", &namespace("enabled-rev", &[("istio-injection", "enabled"), ("istio.io/rev", "canary")])),
        ("e.yaml", &namespace("rev-only", &[("istio.io/rev", "canary")])),
    ]);
    let found = modern(dir.path(), &["namespace-multiple-injection-labels"]);
    let names: Vec<&str> = found.iter().map(|(_, name, _, _)| name.as_str()).collect();
    assert_eq!(names, ["enabled-ambient", "rev-ambient", "enabled-rev"]);
    assert!(found.iter().all(|(_, _, code, level)| code == "IST0123" && level == "warning"));
}

#[test]
fn namespaces_are_reported_on_the_namespace_object() {
    // An empty unlabelled namespace is IST0102 too; ambient and system ones are not.
    let dir = tree(&[
        ("empty.yaml", &namespace("empty", &[])),
        ("ambient.yaml", &namespace("mesh-ambient", &[("istio.io/dataplane-mode", "ambient")])),
        ("system.yaml", &namespace("kube-public", &[])),
        ("on.yaml", &namespace("on", &[("istio-injection", "enabled")])),
    ]);
    let found = modern(dir.path(), &["namespace-not-injected", "namespace-injected-by-default"]);
    assert_eq!(found, [row("namespace-not-injected", "empty", "IST0102", "info")]);
}

#[test]
fn enabled_by_default_namespaces_are_ist0148() {
    let injector = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: istio-sidecar-injector\n  namespace: istio-system\ndata:\n  values: '{\"sidecarInjectorWebhook\": {\"enableNamespacesByDefault\": true}}'\n  config: |-\n    policy: enabled\n";
    let dir = tree(&[("injector.yaml", injector), ("empty.yaml", &namespace("empty", &[]))]);
    let found = modern(dir.path(), &["namespace-not-injected", "namespace-injected-by-default"]);
    assert_eq!(found, [row("namespace-injected-by-default", "empty", "IST0148", "info")]);
}

/// A Deployment `name` in `namespace` whose pods carry `app: name` and `pod_metadata`.
fn workload(name: &str, namespace: &str, pod_metadata: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n{pod_metadata}    spec:\n      containers:\n      - name: {name}\n        image: {name}:1\n"
    )
}

/// A Service `name` in `shop` selecting `app: web`, with `ports` (YAML list items).
fn web_service(name: &str, ports: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: shop\nspec:\n  selector:\n    app: web\n  ports:\n{ports}"
    )
}

#[test]
fn services_sharing_a_pod_conflict_only_across_services_and_are_reported_once() {
    let ns = namespace("shop", &[("istio-injection", "enabled")]);
    // IST0137 is about two Services: one Service sending two ports to one target port,
    // beside another Service on other ports, is no conflict.
    let dir = tree(&[
        ("ns.yaml", &ns),
        ("web.yaml", &workload("web", "shop", "")),
        (
            "a.yaml",
            &web_service(
                "a",
                "  - name: http\n    port: 80\n    targetPort: 8080\n  - name: http-alt\n    port: 8080\n    targetPort: 8080\n",
            ),
        ),
        ("b.yaml", &web_service("b", "  - name: grpc\n    port: 9090\n")),
    ]);
    assert_eq!(modern(dir.path(), &["pod-in-multiple-services"]), []);
    // Three Services on port 80 with three protocols: three conflicting pairs, one
    // finding for the workload.
    let dir = tree(&[
        ("ns.yaml", &ns),
        ("web.yaml", &workload("web", "shop", "")),
        ("a.yaml", &web_service("a", "  - name: tcp-a\n    port: 80\n")),
        ("b.yaml", &web_service("b", "  - name: udp-b\n    port: 80\n    protocol: UDP\n")),
        ("c.yaml", &web_service("c", "  - name: sctp-c\n    port: 80\n    protocol: SCTP\n")),
    ]);
    assert_eq!(
        modern(dir.path(), &["pod-in-multiple-services"]),
        [row("pod-in-multiple-services", "web", "IST0116", "warning")]
    );
    // istioctl judges only workloads it takes to be in the mesh: with `shop` unlabelled,
    // the same Services say nothing, unless the pods carry an `istio-proxy` container.
    std::fs::remove_file(dir.path().join("ns.yaml")).unwrap();
    assert_eq!(modern(dir.path(), &["pod-in-multiple-services"]), []);
    let proxied = workload("web", "shop", "")
        .replace("      containers:\n", "      containers:\n      - name: istio-proxy\n        image: proxyv2:1.24\n");
    std::fs::write(dir.path().join("web.yaml"), proxied).unwrap();
    assert_eq!(
        modern(dir.path(), &["pod-in-multiple-services"]),
        [row("pod-in-multiple-services", "web", "IST0116", "warning")]
    );
}

#[test]
fn a_workload_that_would_stay_out_anyway_is_not_blamed_on_its_namespace() {
    // `shop` is not in the files and so not labelled: the plain workload gets no sidecar
    // because of its namespace. Labelling `shop` would not bring in the others: pods that
    // say `false`, pods on the host network (istiod never injects them), and pods in
    // `kube-system` (istiod never injects there): the advice to label it is not for them.
    let opted_out = "      annotations:\n        sidecar.istio.io/inject: \"false\"\n";
    // The pod label wins over the annotation (istiod reads the label first): `yes` and
    // `false` is a pod that wants the sidecar (1.20-1.26 read `yes` as yes).
    let labelled_yes =
        "        sidecar.istio.io/inject: \"yes\"\n      annotations:\n        sidecar.istio.io/inject: \"false\"\n";
    let yes = workload("yes", "shop", "").replace("        app: yes\n", &format!("        app: yes\n{labelled_yes}"));
    let host = workload("host", "shop", "").replace("    spec:\n", "    spec:\n      hostNetwork: true\n");
    let dir = tree(&[
        ("plain.yaml", &workload("plain", "shop", "")),
        ("out.yaml", &workload("out", "shop", opted_out)),
        ("yes.yaml", &yes),
        ("host.yaml", &host),
        ("system.yaml", &workload("system", "kube-system", "")),
    ]);
    let found = modern(dir.path(), &["namespace-not-injected"]);
    let names: Vec<&str> = found.iter().map(|(_, name, _, _)| name.as_str()).collect();
    assert_eq!(names, ["plain", "yes"]);
    // Nor does `workload-not-injected` speak of them: nobody asked for the mesh in `shop`
    // (a node agent on the host network there is no finding).
    assert_eq!(modern(dir.path(), &["workload-not-injected"]), []);
    // The injector's own settings keep a pod out whatever its namespace: a pod matching
    // `neverInjectSelector`, and, under policy `disabled`, one without the opt-in label.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/trees/modern/decide");
    let batch =
        workload("batch", "shop", "").replace("        app: batch\n", "        app: batch\n        tier: batch\n");
    let workloads = [("plain.yaml", workload("plain", "shop", "")), ("batch.yaml", batch)];
    for (injector, want) in [
        (None, vec!["batch", "plain"]),
        (Some("never-inject-selector"), vec!["plain"]),
        (Some("policy-disabled"), vec![]),
    ] {
        let config = injector.map(|i| std::fs::read_to_string(root.join(i).join("injector.yaml")).unwrap());
        let mut files: Vec<(&str, &str)> = workloads.iter().map(|(n, t)| (*n, t.as_str())).collect();
        files.extend(config.as_deref().map(|c| ("injector.yaml", c)));
        let dir = tree(&files);
        let mut names: Vec<String> =
            modern(dir.path(), &["namespace-not-injected"]).into_iter().map(|(_, n, _, _)| n).collect();
        names.sort();
        assert_eq!(names, want, "{injector:?}");
    }
    // Labelled on the command line, `shop` is enabled: nothing to say of any of them.
    let output = common::meshlint_in(dir.path())
        .args(["check", "--format", "concise", "--profile", "istio-modern"])
        .args(["--namespace-label", "shop:istio-injection=enabled", "."])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(!text.contains("[namespace-not-injected]"), "{text}");
}

#[test]
fn a_non_string_value_is_reported_once_where_it_is() {
    // A bare Pod is its own pod template: its labels are read once. A Deployment's pod
    // template labels are read as well as its own.
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: shop\n  labels:\n    enabled: true\nspec:\n  containers:\n  - name: c\n    image: c:1\n";
    let deployment = workload("web", "shop", "")
        .replace("        app: web\n    spec:", "        app: web\n        version: 1.0\n    spec:");
    let dir = tree(&[("pod.yaml", pod), ("web.yaml", &deployment)]);
    let places: Vec<(String, u64)> = modern_diagnostics(dir.path(), "non-string-annotation")
        .iter()
        .map(|d| (d["path"].as_str().unwrap().to_owned(), d["line"].as_u64().unwrap()))
        .collect();
    let line = |text: &str, needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() as u64 + 1;
    assert_eq!(
        places,
        [
            ("pod.yaml".to_owned(), line(pod, "enabled: true")),
            ("web.yaml".to_owned(), line(&deployment, "version: 1.0"))
        ]
    );
}
