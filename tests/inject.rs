//! End-to-end tests of `meshlint inject` and `meshlint uninject` through the binary: the
//! `kube-inject` 0.2.12 reference pair (same data as Istio's golden output); one fixture
//! per layout under `fixtures/inject/layout/` (data equal to the original plus the
//! sidecar, every original byte and line kept, idempotent, undone byte for byte by
//! `uninject`); files that must not change under `fixtures/inject/unchanged/`; broken
//! YAML; `--check`, `--diff`, `--write`, `-o`; `--as-initializer`; and the corpus
//! (injected in place, validated with `kubernetes-validate --strict`, then uninjected).
//!
//! YAML is turned into data with Python's `PyYAML` (an independent YAML 1.1 parser, the
//! one `kubernetes-validate` uses): the expectations never go through meshlint's own
//! parser.

mod common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use assert_cmd::Command;
use serde_json::{Value, json};

use common::root;

// ---------------------------------------------------------------------------------------
// Helpers

const LAYOUT: &str = "fixtures/inject/layout";
const UNCHANGED: &str = "fixtures/inject/unchanged";
const BROKEN: &str = "fixtures/inject/broken/broken.yaml";
const INITIALIZER: &str = "fixtures/inject/initializer";
const STATUS: &str = "sidecar.istio.io/status";
/// The status of the default parameters (the Istio 0.2.6 install's `version`).
const DEFAULT_STATUS: &str = "injected-version-0.2.6";

fn shared() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared")).to_owned()
}

fn meshlint() -> Command {
    common::meshlint()
}

/// Run the binary; it must not panic, and must exit with `code`.
fn run_expect(args: &[&str], code: i32) -> Output {
    let output = meshlint().args(args).output().expect("meshlint runs");
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(!err.contains("panicked"), "meshlint {args:?} panicked:\n{err}");
    assert_eq!(output.status.code(), Some(code), "meshlint {args:?}: unexpected exit status\nstderr:\n{err}");
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// `inject -f path` with `flags`: the rewritten text.
fn inject(path: &str, flags: &[&str]) -> String {
    let mut args = vec!["inject", "-f", path];
    args.extend_from_slice(flags);
    stdout(&run_expect(&args, 0))
}

fn uninject(path: &str) -> String {
    stdout(&run_expect(&["uninject", "-f", path], 0))
}

/// A temporary directory holding `text` under `name`.
fn temp_file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write temp file");
    (dir, path)
}

const PYTHON_HINT: &str = "python3 with PyYAML is needed (it comes with kubernetes-validate): run scripts/test";

/// Run a Python script with `input` on standard input; its standard output.
fn python(script: &str, args: &[&str], input: &str) -> String {
    let mut child = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}): {PYTHON_HINT}"));
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write to python3");
    let output = child.wait_with_output().expect("python3 runs");
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(!err.contains("No module named 'yaml'"), "{PYTHON_HINT}");
    assert!(output.status.success(), "python3 failed:\n{err}");
    String::from_utf8(output.stdout).expect("UTF-8 from python3")
}

/// The documents of a YAML stream as data (YAML 1.1 types, as Kubernetes reads them).
fn yaml_docs(text: &str) -> Vec<Value> {
    const SCRIPT: &str = "import json, sys, yaml\n\
        docs = list(yaml.safe_load_all(sys.stdin.buffer.read().decode('utf-8')))\n\
        json.dump(docs, sys.stdout, default=str)\n";
    serde_json::from_str(&python(SCRIPT, &[], text)).expect("python3 prints JSON")
}

/// Whether `needle` is a subsequence of `haystack`.
fn is_subsequence<T: PartialEq>(needle: &[T], haystack: &[T]) -> bool {
    let mut rest = haystack.iter();
    needle.iter().all(|n| rest.any(|h| h == n))
}

/// The lines of a text, whatever its line breaks (LF, CRLF or lone CR).
fn lines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(['\n', '\r']) {
        out.push(&rest[..i]);
        let width = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
        rest = &rest[i + width..];
    }
    out.push(rest);
    out
}

/// Every line of `original` appears, in order, in `output`: as a whole line when `exact`,
/// else inside a line (flow and JSON layouts grow a line with the new items).
fn assert_lines_in_order(name: &str, original: &str, output: &str, exact: bool) {
    let mut out = lines(output).into_iter();
    for (n, line) in lines(original).into_iter().enumerate() {
        let found = out.any(|o| if exact { o == line } else { is_subsequence(line.as_bytes(), o.as_bytes()) });
        assert!(found, "{name}: original line {} {line:?} is missing or out of order in:\n{output}", n + 1);
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).expect("serialisable")
}

fn assert_data_eq(name: &str, got: &Value, want: &Value) {
    assert!(got == want, "{name}: data differ\n--- got:\n{}\n--- want:\n{}", pretty(got), pretty(want));
}

// ---------------------------------------------------------------------------------------
// The expected sidecar (SEMANTICS.md section 3), independent of meshlint's template

/// What injection adds to one pod template.
struct Sidecar {
    init: Vec<Value>,
    proxy: Value,
    volumes: Vec<Value>,
    status: String,
}

/// The sidecar with the default parameters and mesh values (the Istio 0.2.6 install's).
fn default_sidecar(app: &str, account: &str) -> Sidecar {
    let env = |name: &str, path: &str| json!({"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}});
    Sidecar {
        init: vec![json!({
            "name": "istio-init",
            "image": "docker.io/istio/proxy_init:0.2.6",
            "args": ["-p", "15001", "-u", "1337"],
            "imagePullPolicy": "IfNotPresent",
            "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}, "privileged": true},
        })],
        proxy: json!({
            "name": "istio-proxy",
            "image": "docker.io/istio/proxy:0.2.6",
            "args": [
                "proxy", "sidecar", "-v", "2",
                "--configPath", "/etc/istio/proxy",
                "--binaryPath", "/usr/local/bin/envoy",
                "--serviceCluster", app,
                "--drainDuration", "45s",
                "--parentShutdownDuration", "1m0s",
                "--discoveryAddress", "istio-pilot.istio-system:8080",
                "--discoveryRefreshDelay", "1s",
                "--zipkinAddress", "zipkin.istio-system:9411",
                "--connectTimeout", "10s",
                "--statsdUdpAddress", "istio-mixer.istio-system:9125",
                "--proxyAdminPort", "15000",
            ],
            "env": [
                env("POD_NAME", "metadata.name"),
                env("POD_NAMESPACE", "metadata.namespace"),
                env("INSTANCE_IP", "status.podIP"),
            ],
            "imagePullPolicy": "IfNotPresent",
            "securityContext": {"runAsUser": 1337, "readOnlyRootFilesystem": true, "privileged": false},
            "volumeMounts": [
                {"name": "istio-envoy", "mountPath": "/etc/istio/proxy"},
                {"name": "istio-certs", "mountPath": "/etc/certs/", "readOnly": true},
            ],
        }),
        volumes: vec![
            json!({"name": "istio-envoy", "emptyDir": {"medium": "Memory"}}),
            json!({"name": "istio-certs", "secret": {"secretName": format!("istio.{account}"), "optional": true}}),
        ],
        status: DEFAULT_STATUS.to_owned(),
    }
}

/// Where each kind that `kube-inject` rewrites keeps its pod template.
fn template_path(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "Deployment" | "DaemonSet" | "ReplicaSet" | "ReplicationController" | "Job" | "StatefulSet" => {
            Some(&["spec", "template"])
        }
        "CronJob" => Some(&["spec", "jobTemplate", "spec", "template"]),
        _ => None,
    }
}

fn at_path<'v>(v: &'v mut Value, path: &[&str]) -> &'v mut Value {
    path.iter().fold(v, |v, k| v.get_mut(*k).unwrap_or_else(|| panic!("no `{k}` on the path {path:?}")))
}

/// Set `map.<key>` to `value` in a JSON object, creating `map` when it is absent.
/// (A null `parent` or `map`, as YAML writes an empty value, is an empty object.)
fn set_in(parent: &mut Value, map: &str, key: &str, value: Value) {
    if parent.is_null() {
        *parent = json!({});
    }
    let target = parent.as_object_mut().expect("an object").entry(map).or_insert(Value::Null);
    if target.is_null() {
        *target = json!({});
    }
    target.as_object_mut().expect("a mapping").insert(key.to_owned(), value);
}

/// Append `items` to `spec.<key>` (absent or null: a new list).
fn append(spec: &mut Value, key: &str, items: &[Value]) {
    let list = spec.as_object_mut().expect("pod spec is an object").entry(key).or_insert(Value::Null);
    if list.is_null() {
        *list = json!([]);
    }
    list.as_array_mut().expect("a list").extend_from_slice(items);
}

/// `doc` as injection must leave it (every workload of a `List` too); the number of
/// workloads injected is added to `count`.
fn expect_injected(doc: &Value, count: &mut usize) -> Value {
    let mut doc = doc.clone();
    if doc["kind"] == "List" {
        for item in doc["items"].as_array_mut().expect("List items") {
            *item = expect_injected(item, count);
        }
        return doc;
    }
    let Some(path) = doc["kind"].as_str().and_then(template_path) else { return doc };
    *count += 1;
    let template = at_path(&mut doc, path);
    let app = template["metadata"]["labels"]["app"].as_str().unwrap_or("istio-proxy").to_owned();
    let account = template["spec"]["serviceAccountName"].as_str().unwrap_or("default").to_owned();
    let sidecar = default_sidecar(&app, &account);
    set_in(&mut template["metadata"], "annotations", STATUS, json!(sidecar.status));
    let spec = &mut template["spec"];
    append(spec, "containers", std::slice::from_ref(&sidecar.proxy));
    append(spec, "initContainers", &sidecar.init);
    append(spec, "volumes", &sidecar.volumes);
    set_in(&mut doc["metadata"], "annotations", STATUS, json!(sidecar.status));
    doc
}

// ---------------------------------------------------------------------------------------
// The kube-inject 0.2.12 reference pair

/// The parameters of `shared/reference/README.md`, and the built-in 0.2 mesh defaults.
const REFERENCE_FLAGS: &[&str] = &[
    "--hub",
    "docker.io/istio",
    "--tag",
    "unittest",
    "--debug",
    "--status-version",
    "12345678",
    "--verbosity",
    "2",
    "--sidecar-proxy-uid",
    "1337",
    "--image-pull-policy",
    "IfNotPresent",
];

const BUILTIN_MESH: &str = "\
proxyListenPort: 15001
defaultConfig:
  discoveryAddress: istio-pilot:8080
  drainDuration: 2s
  parentShutdownDuration: 3s
  discoveryRefreshDelay: 1s
  connectTimeout: 1s
  zipkinAddress: \"\"
  statsdUdpAddress: \"\"
  configPath: /etc/istio/proxy
  binaryPath: /usr/local/bin/envoy
  proxyAdminPort: 15000
";

/// Remove the serialisation noise of the golden (reference README): keys whose value is
/// what Go's encoder writes for an unset field.
fn strip_noise(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|k, v| {
                let noise = match k.as_str() {
                    "creationTimestamp" => v.is_null(),
                    "resources" | "strategy" | "status" => v == &json!({}),
                    "sizeLimit" => v == "0",
                    _ => false,
                };
                !noise
            });
            map.values_mut().for_each(strip_noise);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_noise),
        _ => {}
    }
}

#[test]
fn reference_pair_gives_the_data_of_kube_inject_0_2_12() {
    let reference = shared().join("reference/kube-inject-0.2.12");
    let (dir, mesh) = temp_file("mesh.yaml", BUILTIN_MESH);
    let hello = reference.join("hello.yaml");
    let mut flags = REFERENCE_FLAGS.to_vec();
    flags.extend(["--mesh-config", arg(&mesh)]);
    let output = inject(arg(&hello), &flags);

    let mut golden = yaml_docs(&read(reference.join("hello.yaml.injected")));
    // The trailing `---` of the golden is an empty document.
    golden.retain(|d| !d.is_null());
    golden.iter_mut().for_each(strip_noise);
    let got = yaml_docs(&output);
    assert_eq!(got.len(), 1, "one document:\n{output}");
    assert_data_eq("hello.yaml", &got[0], &golden[0]);

    // The input's text is kept: it is a subsequence of the output, line by line.
    assert_lines_in_order("hello.yaml", &read(&hello), &output, true);

    // `-o FILE` writes the same text.
    let out_file = dir.path().join("hello.injected.yaml");
    flags.extend(["-o", arg(&out_file)]);
    let written = run_expect(&[&["inject", "-f", arg(&hello)], flags.as_slice()].concat(), 0);
    assert!(written.stdout.is_empty(), "with -o nothing goes to standard output");
    assert_eq!(std::fs::read_to_string(&out_file).expect("-o file"), output);
}

#[test]
fn core_dump_ip_ranges_and_pull_policy_parameters() {
    let path = format!("{LAYOUT}/indented.yaml");
    let flags = [
        "--core-dump",
        "--include-ip-ranges",
        "10.0.0.0/8,172.16.0.0/12",
        "--image-pull-policy",
        "Sometimes",
        "--verbosity",
        "0",
        "--init-image",
        "registry.local/proxy_init:1",
        "--proxy-image",
        "registry.local/proxy:1",
    ];
    let output = inject(&path, &flags);
    let doc = &yaml_docs(&output)[0];
    let spec = &doc["spec"]["template"]["spec"];
    let init = spec["initContainers"].as_array().expect("initContainers");
    assert_eq!(init.len(), 2, "istio-init then enable-core-dump:\n{output}");
    assert_eq!(init[0]["name"], "istio-init");
    assert_eq!(init[0]["image"], "registry.local/proxy_init:1");
    assert_eq!(init[0]["args"], json!(["-p", "15001", "-u", "1337", "-i", "10.0.0.0/8,172.16.0.0/12"]));
    assert_eq!(init[0]["imagePullPolicy"], "IfNotPresent", "an unknown pull policy becomes IfNotPresent");
    assert_eq!(init[1]["name"], "enable-core-dump");
    assert_eq!(init[1]["image"], "alpine");
    assert_eq!(init[1]["command"], json!(["/bin/sh"]));
    assert_eq!(
        init[1]["args"],
        json!(["-c", "sysctl -w kernel.core_pattern=/etc/istio/proxy/core.%e.%p.%t && ulimit -c unlimited"])
    );
    assert_eq!(init[1]["securityContext"]["privileged"], true);
    let proxy = spec["containers"].as_array().and_then(|c| c.last()).expect("containers");
    assert_eq!(proxy["name"], "istio-proxy");
    assert_eq!(proxy["image"], "registry.local/proxy:1");
    assert_eq!(proxy["args"][2], "--configPath", "verbosity 0 writes no `-v`");

    // Uninject removes both init containers.
    let (_dir, injected) = temp_file("indented.yaml", &output);
    assert_eq!(uninject(arg(&injected)), read(&path));
}

// ---------------------------------------------------------------------------------------
// Layouts

/// One test per layout fixture: its file, whether its lines stay whole (block layouts) or
/// may grow (flow and JSON), and how many workloads it holds; `LAYOUTS` lists them all.
macro_rules! layouts {
    ($($test:ident: $name:literal, $lines_whole:expr, $workloads:expr;)*) => {
        const LAYOUTS: &[&str] = &[$($name),*];
        $(
            #[test]
            fn $test() {
                check_layout(&format!("{LAYOUT}/{}", $name), $lines_whole, $workloads);
            }
        )*
    };
}

layouts! {
    indented_sequences: "indented.yaml", true, 1;
    indentless_sequences: "indentless.yaml", true, 1;
    four_space_indentation: "four-space.yaml", true, 1;
    flow_containers: "flow-containers.yaml", false, 1;
    crlf_line_breaks: "crlf.yaml", true, 1;
    comments_between_and_after_items: "comments.yaml", true, 1;
    multi_document_file: "multi-doc.yaml", true, 2;
    list_of_deployments: "list.yaml", true, 2;
    cronjob: "cronjob.yaml", true, 1;
    json_deployment: "deployment.json", false, 1;
    existing_init_containers_and_volumes: "init-and-volumes.yaml", true, 1;
    template_without_annotations: "no-template-annotations.yaml", true, 1;
    service_account_names_the_secret: "service-account.yaml", true, 1;
    block_scalar_ends_the_last_container: "block-scalar.yaml", true, 1;
    template_metadata_after_spec: "metadata-last.yaml", false, 3;
}

#[test]
fn layout_fixtures_are_all_listed() {
    let dir = root().join(LAYOUT);
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("layout fixtures")
        .map(|e| e.expect("entry").file_name().into_string().expect("UTF-8 name"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = LAYOUTS.iter().map(|n| (*n).to_owned()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

/// The line breaks of a text: (CRLF, lone LF, lone CR).
fn line_breaks(text: &str) -> (usize, usize, usize) {
    let crlf = text.matches("\r\n").count();
    (crlf, text.matches('\n').count() - crlf, text.matches('\r').count() - crlf)
}

/// Inject the fixture at `path` (relative to the crate root) with the default parameters
/// and check data, text, idempotence and `uninject`.
fn check_layout(path: &str, lines_whole: bool, workloads: usize) {
    let name = Path::new(path).file_name().and_then(|n| n.to_str()).expect("file name");
    let original = read(path);
    let output = inject(path, &[]);
    assert_ne!(output, original, "{name}: nothing was injected");

    // The data: the original's plus the sidecar, in every workload, nothing else.
    let (got, before) = if Path::new(name).extension().is_some_and(|e| e == "json") {
        let got: Value =
            serde_json::from_str(&output).unwrap_or_else(|e| panic!("{name}: invalid JSON: {e}\n{output}"));
        (vec![got], vec![serde_json::from_str::<Value>(&original).expect("fixture is JSON")])
    } else {
        (yaml_docs(&output), yaml_docs(&original))
    };
    let mut count = 0;
    let want: Vec<Value> = before.iter().map(|d| expect_injected(d, &mut count)).collect();
    assert_eq!(count, workloads, "{name}: workloads in the fixture");
    assert_eq!(got.len(), want.len(), "{name}: number of documents");
    for (g, w) in got.iter().zip(&want) {
        assert_data_eq(name, g, w);
    }

    // The text: injection only inserts; every line, comment and line break is kept.
    assert!(is_subsequence(original.as_bytes(), output.as_bytes()), "{name}: original bytes lost:\n{output}");
    assert_lines_in_order(name, &original, &output, lines_whole);
    assert_eq!(output.matches('#').count(), original.matches('#').count(), "{name}: comments added or lost");
    // A file with one kind of line break keeps only that kind.
    let kinds = |(crlf, lf, cr): (usize, usize, usize)| [crlf > 0, lf > 0, cr > 0];
    if kinds(line_breaks(&original)).iter().filter(|k| **k).count() == 1 {
        assert_eq!(
            kinds(line_breaks(&output)),
            kinds(line_breaks(&original)),
            "{name}: line breaks (CRLF, LF, CR) mixed:\n{output:?}"
        );
    }

    // A second injection changes nothing; `uninject` gives back the original bytes.
    let (_dir, injected) = temp_file(name, &output);
    assert_eq!(inject(arg(&injected), &[]), output, "{name}: second inject is not a no-op");
    run_expect(&["inject", "--check", arg(&injected)], 0);
    assert_eq!(uninject(arg(&injected)), original, "{name}: uninject does not restore the original");
}

#[test]
fn indentation_of_inserted_text_follows_the_file() {
    // Indentless sequences stay indentless; indented ones stay indented; 4 spaces stay 4.
    let indentless = inject(&format!("{LAYOUT}/indentless.yaml"), &[]);
    assert!(indentless.contains("\n      - name: istio-proxy\n        image: docker.io/istio/proxy:0.2.6\n"));
    assert!(indentless.contains("\n      initContainers:\n      - name: istio-init\n"), "{indentless}");
    assert!(indentless.contains("\n      volumes:\n      - name: istio-envoy\n"), "{indentless}");
    let indented = inject(&format!("{LAYOUT}/indented.yaml"), &[]);
    assert!(indented.contains("\n        - name: istio-proxy\n          image:"), "{indented}");
    assert!(indented.contains("\n      initContainers:\n        - name: istio-init\n"), "{indented}");
    let four = inject(&format!("{LAYOUT}/four-space.yaml"), &[]);
    assert!(four.contains("\n    annotations:\n        sidecar.istio.io/status: injected-version-0.2.6\n"), "{four}");
    assert!(four.contains("\n            initContainers:\n"), "{four}");
    // The trailing comment of the last item's last line stays on that line.
    let comments = inject(&format!("{LAYOUT}/comments.yaml"), &[]);
    assert!(
        comments.contains(
            "\"/fluent-bit/etc/fluent-bit.conf\"]  # last line of the last item\n      - name: istio-proxy\n"
        )
    );
}

// ---------------------------------------------------------------------------------------
// Edge cases under `fixtures/inject/edge/`: each test states the expected behaviour.

const EDGE: &str = "fixtures/inject/edge";

/// A keep-chomped (`|+`) block scalar ending the last container would lose its trailing
/// blank lines to the inserted sidecar; the data check after the rewrite catches it, and
/// the file is refused (exit 2) rather than changed.
#[test]
fn keep_chomped_block_scalar_is_refused_not_changed() {
    let path = format!("{EDGE}/keep-block-scalar.yaml");
    let (_dir, copy) = temp_file("keep.yaml", &read(&path));
    let out = run_expect(&["inject", "--write", arg(&copy)], 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("would change beyond the sidecar"), "{err}");
    assert_eq!(read(&copy), read(&path), "the refused file was changed");
}

#[test]
fn empty_annotations_map_survives_inject_and_uninject() {
    check_layout(&format!("{EDGE}/empty-annotations.yaml"), false, 1);
}

#[test]
fn lone_cr_line_breaks_are_kept() {
    check_layout(&format!("{EDGE}/cr-only.yaml"), true, 1);
}

/// A file of LF line breaks with one lone CR among them (a stray editor keystroke):
/// the inserted lines end with LF, the file's own kind, and the CR stays the only one.
#[test]
fn a_stray_cr_among_lf_line_breaks_is_no_layout() {
    let text = read(format!("{EDGE}/null-volumes.yaml")).replacen("kind: Deployment\n", "kind: Deployment\r", 1);
    let (_dir, path) = temp_file("stray-cr.yaml", &text);
    let output = inject(arg(&path), &[]);
    assert!(output.contains("name: istio-proxy"), "{output}");
    let (crlf, _, cr) = line_breaks(&output);
    assert_eq!((crlf, cr), (0, 1), "{output:?}");
}

/// A pod spec written in flow style says nothing of the file's indentation: the
/// annotation added to the block metadata beside it is indented by the default two.
#[test]
fn a_flow_pod_spec_leaves_the_indentation_at_two() {
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: echo\nspec:\n  selector:\n    matchLabels:\n      app: echo\n  template:\n    metadata:\n      labels:\n        app: echo\n    spec: {containers: [{name: echo, image: \"hashicorp/http-echo:1.0\"}]}\n";
    let (_dir, path) = temp_file("flow-spec.yaml", text);
    let output = inject(arg(&path), &[]);
    let want = "\n      labels:\n        app: echo\n      annotations:\n        sidecar.istio.io/status: injected-version-0.2.6\n    spec: {";
    assert!(output.contains(want), "{output}");
}

/// `-` alone on its line, the item's content below: the sidecar goes in at that dash's
/// column (it was put at column 0, and the rewrite refused as invalid YAML).
#[test]
fn an_item_below_its_dash_is_injected() {
    check_layout(&format!("{EDGE}/dash-alone.yaml"), true, 1);
    let output = inject(&format!("{EDGE}/dash-alone.yaml"), &[]);
    assert!(
        output.contains(
            "\n      -\n        name: echo\n        image: hashicorp/http-echo:1.0\n      - name: istio-proxy\n"
        ),
        "{output}"
    );
}

/// The 1-based number of the first line of `text` that is exactly `line`.
fn line_of(text: &str, line: &str) -> usize {
    text.lines().position(|l| l == line).unwrap_or_else(|| panic!("no line `{line}`")) + 1
}

/// Each workload is reported on stderr at its `kind:` line, by kind, namespace and name,
/// with the decision; the Service is not a workload.
#[test]
fn each_workload_is_reported_where_it_is() {
    let path = format!("{LAYOUT}/multi-doc.yaml");
    let out = run_expect(&["inject", "-f", &path], 0);
    let err = String::from_utf8_lossy(&out.stderr);
    let text = read(&path);
    let want = format!(
        "{path}:{}: Deployment/default/frontend injected: the injection policy is `enabled`\n{path}:{}: Job/default/migrate injected: the injection policy is `enabled`\n",
        line_of(&text, "kind: Deployment"),
        line_of(&text, "kind: Job")
    );
    assert_eq!(err, want);
    // A workload left out is said to be, with why.
    let text = read(format!("{EDGE}/null-volumes.yaml")).replacen(
        "  name: accounting\n",
        "  name: accounting\n  annotations:\n    sidecar.istio.io/inject: \"false\"\n",
        1,
    );
    let (_dir, path) = temp_file("opt-out.yaml", &text);
    let out = run_expect(&["inject", "-f", arg(&path)], 0);
    let kind = line_of(&text, "kind: Deployment");
    let want = format!(
        "{}:{kind}: Deployment/default/accounting not injected: annotation `sidecar.istio.io/inject: \"false\"` opts out\n",
        path.display()
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), want);
    assert_eq!(String::from_utf8_lossy(&out.stdout), text, "nothing changed");
    // `uninject` says the same of each workload: what it removed, or that there was none.
    let injected = inject(&format!("{LAYOUT}/multi-doc.yaml"), &[]);
    let (_dir, path) = temp_file("injected.yaml", &injected);
    let out = run_expect(&["uninject", "-f", arg(&path)], 0);
    let (shown, deployment, job) =
        (path.display(), line_of(&injected, "kind: Deployment"), line_of(&injected, "kind: Job"));
    let want = format!(
        "{shown}:{deployment}: Deployment/default/frontend sidecar removed\n{shown}:{job}: Job/default/migrate sidecar removed\n"
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), want);
    let plain = format!("{LAYOUT}/multi-doc.yaml");
    let out = run_expect(&["uninject", "-f", &plain], 0);
    let text = read(&plain);
    let (deployment, job) = (line_of(&text, "kind: Deployment"), line_of(&text, "kind: Job"));
    let want = format!(
        "{plain}:{deployment}: Deployment/default/frontend no sidecar to remove\n{plain}:{job}: Job/default/migrate no sidecar to remove\n"
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), want);
}

/// A duplicate key elsewhere in the file is valid YAML (Kubernetes keeps the last
/// value): the workload beside it is injected all the same, and the key kept as written.
#[test]
fn a_duplicate_key_elsewhere_does_not_stop_injection() {
    let config = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: \"1\"\n  a: \"2\"\n---\n";
    let text = format!("{config}{}", read(format!("{EDGE}/null-volumes.yaml")));
    let (_dir, path) = temp_file("duplicate.yaml", &text);
    let output = inject(arg(&path), &[]);
    assert!(output.starts_with(config) && output.contains("- name: istio-proxy"), "{output}");
}

/// Lists written empty in flow style take the sidecar's items in flow style; a layout
/// meshlint does not rewrite is refused with what is wrong, and the file left as it is.
#[test]
fn lists_and_maps_written_empty() {
    let base = read(format!("{EDGE}/null-volumes.yaml")).replace("      volumes:\n", "");
    let flow = format!("{base}      volumes: []\n      initContainers: []\n");
    let (_dir, path) = temp_file("flow-empty.yaml", &flow);
    let output = inject(arg(&path), &[]);
    assert!(output.contains("\n      volumes: [{\"name\": \"istio-envoy\", \"emptyDir\""), "{output}");
    assert!(output.contains("\n      initContainers: [{\"name\": \"istio-init\", "), "{output}");
    let (_dir, injected) = temp_file("flow-injected.yaml", &output);
    assert_eq!(uninject(arg(&injected)), flow, "uninject leaves the lists empty, as written");
    let refused = [
        (format!("{base}      volumes: ~\n"), "`volumes` is not a list"),
        (
            base.replace("      - name: accounting\n        image: example.com/accounting:2.1\n", "")
                .replace("containers:", "containers: []"),
            "the pod has no containers",
        ),
        (
            base.replace("    metadata:\n      labels:", "    metadata:\n      annotations:\n      labels:"),
            "`annotations` is empty or not a mapping",
        ),
        (
            base.replace("    metadata:\n      labels:", "    metadata:\n      annotations: []\n      labels:"),
            "`annotations` is empty or not a mapping",
        ),
        (format!("{base}      volumes: {{}}\n"), "`volumes` is not a list"),
    ];
    for (text, why) in refused {
        let (_dir, path) = temp_file("refused.yaml", &text);
        let out = run_expect(&["inject", "--write", arg(&path)], 2);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "{why}: {err}");
        assert_eq!(read(&path), text, "{why}: the file was changed");
    }
}

/// A blank line written above the injected proxy after injection is the user's: uninject
/// keeps it (LF and lone-CR files alike).
#[test]
fn a_blank_line_above_the_injected_proxy_stays() {
    for (fixture, newline) in [("null-volumes.yaml", "\n"), ("cr-only.yaml", "\r")] {
        let original = read(format!("{EDGE}/{fixture}"));
        let injected = inject(&format!("{EDGE}/{fixture}"), &[]);
        let proxy = injected.find(&format!("{newline}      - name: istio-proxy")).expect("the proxy item");
        let edited = format!("{}{newline}{}", &injected[..proxy], &injected[proxy..]);
        let (_dir, path) = temp_file(fixture, &edited);
        // The line above the proxy is the last line of the user's container: the blank
        // line follows it.
        let above = &injected[injected[..proxy].rfind(newline).map_or(0, |i| i + 1)..proxy];
        let at = original.find(above).expect("that line in the original") + above.len();
        let want = format!("{}{newline}{}", &original[..at], &original[at..]);
        assert_eq!(uninject(arg(&path)), want, "{fixture}");
    }
}

#[test]
fn null_volumes_is_injected() {
    let output = inject(&format!("{EDGE}/null-volumes.yaml"), &[]);
    // The file's sequences are indentless; the items given to the empty key are indented
    // (what tells `uninject` that the key was the file's own).
    assert!(output.contains("\n      volumes:\n        - name: istio-envoy\n"), "{output}");
    check_layout(&format!("{EDGE}/null-volumes.yaml"), true, 1);
}

/// `initContainers:` written with no value, then `volumes` created after it: uninject
/// keeps the user's key, told by its items' style.
#[test]
fn null_init_containers_is_injected() {
    check_layout(&format!("{EDGE}/null-init-containers.yaml"), true, 1);
}

#[test]
fn template_without_metadata_is_injected() {
    check_layout(&format!("{EDGE}/no-template-metadata.yaml"), true, 1);
}

#[test]
fn byte_order_mark_is_kept_by_write() {
    let source = format!("{EDGE}/bom.yaml");
    let original = std::fs::read(root().join(&source)).expect("fixture");
    assert!(original.starts_with(b"\xEF\xBB\xBF"), "the fixture starts with a BOM");
    let (_dir, copies) = copy_files(&[&source]);
    run_expect(&["inject", "--write", arg(&copies[0])], 0);
    let injected = std::fs::read(&copies[0]).expect("copy");
    assert!(injected.starts_with(b"\xEF\xBB\xBF"), "inject --write dropped the BOM");
    assert!(String::from_utf8_lossy(&injected).contains("- name: istio-proxy"));
    run_expect(&["uninject", "--write", arg(&copies[0])], 0);
    assert_eq!(std::fs::read(&copies[0]).expect("copy"), original, "not restored byte for byte");
}

#[test]
fn edge_fixtures_are_all_tested() {
    let mut names: Vec<String> = std::fs::read_dir(root().join(EDGE))
        .expect("edge fixtures")
        .map(|e| e.expect("entry").file_name().into_string().expect("UTF-8 name"))
        .collect();
    names.sort();
    let tested = [
        "bom.yaml",
        "cr-only.yaml",
        "dash-alone.yaml",
        "empty-annotations.yaml",
        "keep-block-scalar.yaml",
        "no-template-metadata.yaml",
        "null-init-containers.yaml",
        "null-volumes.yaml",
    ];
    assert_eq!(names, tested);
}

// ---------------------------------------------------------------------------------------
// Files that must not change

const UNCHANGED_FILES: &[&str] = &[
    "service.yaml",
    "configmap.yaml",
    "pod.yaml",
    "already-injected.yaml",
    "host-network.yaml",
    "opt-out.yaml",
    "helm-deployment.yaml",
];

#[test]
fn files_without_a_workload_to_inject_are_unchanged() {
    let dir = root().join(UNCHANGED);
    let on_disk = std::fs::read_dir(&dir).expect("unchanged fixtures").count();
    assert_eq!(on_disk, UNCHANGED_FILES.len(), "every fixture of {UNCHANGED} is listed");
    for name in UNCHANGED_FILES {
        let path = format!("{UNCHANGED}/{name}");
        let original = read(&path);
        assert_eq!(inject(&path, &[]), original, "{name}: inject changed it");
        if *name != "already-injected.yaml" {
            assert_eq!(uninject(&path), original, "{name}: uninject changed it");
        }
    }
    // The injected one loses exactly what injection adds.
    let out = uninject(&format!("{UNCHANGED}/already-injected.yaml"));
    let doc = &yaml_docs(&out)[0];
    assert_eq!(doc["metadata"], json!({"name": "sleep"}), "{out}");
    assert_eq!(doc["spec"]["template"]["metadata"], json!({"labels": {"app": "sleep"}}), "{out}");
    let spec = &doc["spec"]["template"]["spec"];
    assert_eq!(spec.as_object().map(|o| o.keys().collect::<Vec<_>>()), Some(vec![&"containers".to_owned()]), "{out}");
    assert_eq!(spec["containers"].as_array().map(Vec::len), Some(1), "{out}");
}

/// A copy of `files` (relative to the crate root) in a temporary directory, mode 0640.
fn copy_files(files: &[&str]) -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let copies = files
        .iter()
        .map(|f| {
            let to = dir.path().join(Path::new(f).file_name().expect("file name"));
            std::fs::copy(root().join(f), &to).expect("copy fixture");
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o640)).expect("chmod");
            to
        })
        .collect();
    (dir, copies)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o7777
}

#[test]
fn check_exits_0_when_nothing_would_change_and_1_when_something_would() {
    let files: Vec<String> = UNCHANGED_FILES.iter().map(|n| format!("{UNCHANGED}/{n}")).collect();
    let (dir, copies) = copy_files(&files.iter().map(String::as_str).collect::<Vec<_>>());
    run_expect(&["inject", "--check", arg(dir.path())], 0);
    for (copy, original) in copies.iter().zip(&files) {
        assert_eq!(std::fs::read_to_string(copy).expect("copy"), read(original));
    }

    let (dir, copies) = copy_files(&[&format!("{LAYOUT}/indented.yaml")]);
    run_expect(&["inject", "--check", arg(&copies[0])], 1);
    run_expect(&["inject", "--check", arg(dir.path())], 1);
    assert_eq!(std::fs::read_to_string(&copies[0]).expect("copy"), read(format!("{LAYOUT}/indented.yaml")));
    // Nothing to remove: uninject --check is clean.
    run_expect(&["uninject", "--check", arg(&copies[0])], 0);
}

#[test]
fn diff_prints_a_unified_diff_and_changes_nothing() {
    let source = format!("{LAYOUT}/comments.yaml");
    let (_dir, copies) = copy_files(&[&source]);
    let original = read(&source);
    let injected = inject(&source, &[]);
    let diff = stdout(&run_expect(&["inject", "--diff", arg(&copies[0])], 0));
    assert_eq!(std::fs::read_to_string(&copies[0]).expect("copy"), original, "--diff changed the file");
    let lines: Vec<&str> = diff.lines().collect();
    assert!(lines[0].starts_with("--- ") && lines[0].ends_with("comments.yaml"), "{diff}");
    assert!(lines[1].starts_with("+++ ") && lines[1].ends_with("comments.yaml"), "{diff}");
    assert!(lines.iter().any(|l| l.starts_with("@@ -")), "{diff}");
    // Insertions only: each added line is a line of the injected text, and the added
    // lines make up exactly the difference in line count.
    let added: Vec<&str> =
        lines.iter().filter(|l| l.starts_with('+') && !l.starts_with("+++")).map(|l| &l[1..]).collect();
    let removed = lines.iter().filter(|l| l.starts_with('-') && !l.starts_with("---")).count();
    assert_eq!(removed, 0, "{diff}");
    assert_eq!(added.len(), injected.lines().count() - original.lines().count(), "{diff}");
    assert!(added.contains(&"      - name: istio-proxy"), "{diff}");
    let injected_lines: Vec<&str> = injected.lines().collect();
    assert!(added.iter().all(|a| injected_lines.contains(a)), "{diff}");

    // Nothing to change: no diff.
    let (_dir, copies) = copy_files(&[&format!("{UNCHANGED}/pod.yaml")]);
    assert_eq!(stdout(&run_expect(&["inject", "--diff", arg(&copies[0])], 0)), "");
}

#[test]
fn write_rewrites_in_place_and_keeps_permissions() {
    let sources = [format!("{LAYOUT}/indented.yaml"), format!("{LAYOUT}/crlf.yaml"), format!("{UNCHANGED}/pod.yaml")];
    let (dir, copies) = copy_files(&sources.iter().map(String::as_str).collect::<Vec<_>>());
    run_expect(&["inject", "--write", arg(dir.path())], 0);
    for (copy, source) in copies.iter().zip(&sources) {
        assert_eq!(std::fs::read_to_string(copy).expect("copy"), inject(source, &[]), "{source}");
        assert_eq!(mode(copy), 0o640, "{source}: permissions changed");
    }
    // Only the rewritten files remain: no temporary file is left behind.
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), sources.len());

    run_expect(&["uninject", "--write", arg(dir.path())], 0);
    for (copy, source) in copies.iter().zip(&sources) {
        assert_eq!(std::fs::read_to_string(copy).expect("copy"), read(source), "{source}: not restored");
        assert_eq!(mode(copy), 0o640, "{source}: permissions changed by uninject");
    }
}

#[test]
fn broken_yaml_is_an_error_and_the_file_is_left_byte_identical() {
    let original = std::fs::read(root().join(BROKEN)).expect("fixture");
    let out = run_expect(&["inject", "-f", BROKEN], 2);
    assert!(out.stdout.is_empty(), "no output for a file that does not parse");
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken.yaml"), "the error names the file");

    // Alone, and among files that are rewritten: the others are written, it is not.
    let (dir, copies) = copy_files(&[BROKEN, &format!("{LAYOUT}/indented.yaml")]);
    for args in [vec!["inject", "--write", arg(&copies[0])], vec!["inject", "--write", arg(dir.path())]] {
        let out = run_expect(&args, 2);
        assert!(String::from_utf8_lossy(&out.stderr).contains("error"), "{args:?}: the error is reported");
        assert_eq!(std::fs::read(&copies[0]).expect("copy"), original, "{args:?}: broken file changed");
        assert_eq!(mode(&copies[0]), 0o640);
    }
    assert_eq!(std::fs::read_to_string(&copies[1]).expect("copy"), inject(&format!("{LAYOUT}/indented.yaml"), &[]));
    run_expect(&["inject", "--check", arg(&copies[0])], 2);
    run_expect(&["uninject", "--write", arg(&copies[0])], 2);
    assert_eq!(std::fs::read(&copies[0]).expect("copy"), original);
}

// ---------------------------------------------------------------------------------------
// --as-initializer

#[test]
fn as_initializer_follows_the_policy_kube_inject_does_not() {
    let config = format!("{INITIALIZER}/istio-inject.yaml");
    let plain = format!("{LAYOUT}/indented.yaml");
    let original = read(&plain);
    // Policy disabled, no annotation: the initializer leaves it alone.
    assert_eq!(inject(&plain, &["--as-initializer", "--inject-config", &config]), original);
    assert_eq!(inject(&plain, &["--as-initializer", "--policy", "disabled"]), original);
    // kube-inject (the default mode) injects whatever the policy.
    let injected = inject(&plain, &["--inject-config", &config]);
    assert_eq!(injected, inject(&plain, &[]));
    assert_ne!(injected, original);
    // A workload that opts in is injected by the initializer under a disabled policy.
    let opt_in = format!("{INITIALIZER}/opt-in.yaml");
    let out = inject(&opt_in, &["--as-initializer", "--inject-config", &config]);
    let doc = &yaml_docs(&out)[0];
    assert_eq!(doc["metadata"]["annotations"][STATUS], DEFAULT_STATUS, "{out}");
    assert_eq!(doc["spec"]["template"]["spec"]["containers"][1]["name"], "istio-proxy", "{out}");
    // The initializer never sees a CronJob (not among the initialized kinds).
    let cronjob = format!("{LAYOUT}/cronjob.yaml");
    assert_eq!(inject(&cronjob, &["--as-initializer"]), read(&cronjob));
}

// ---------------------------------------------------------------------------------------
// Corpus

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read corpus dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        }
    }
}

fn read_tree(dir: &Path, base: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let entry = entry.expect("entry");
        if entry.file_type().expect("file type").is_dir() {
            read_tree(&entry.path(), base, out);
        } else {
            let rel = entry.path().strip_prefix(base).expect("under base").to_owned();
            out.insert(rel, std::fs::read(entry.path()).expect("read"));
        }
    }
}

/// Write every injected object of apiVersion `apps/v1` or `batch/v1` (documents and
/// `List` items) of the manifests under `argv[1]` as one JSON file each under `argv[2]`
/// (`NNNN.json`), and the same object of the original tree under `argv[3]` beside it
/// (`NNNN.orig.json`); print how many.
const SPLIT_INJECTED: &str = r#"
import json, os, sys, yaml
src, dst, orig_root = sys.argv[1], sys.argv[2], sys.argv[3]
def objects_of(doc):
    if not isinstance(doc, dict):
        return []
    return (doc.get("items") or []) if str(doc.get("kind", "")).endswith("List") else [doc]
n = 0
for top, dirs, files in os.walk(src):
    dirs[:] = sorted(d for d in dirs if not d.startswith("."))
    for f in sorted(files):
        if f.startswith(".") or not f.endswith((".yaml", ".yml", ".json")):
            continue
        path = os.path.join(top, f)
        raw = open(path, "rb").read()
        if b"injected-version" not in raw:
            continue
        docs = list(yaml.safe_load_all(raw.decode("utf-8")))
        orig = list(yaml.safe_load_all(open(os.path.join(orig_root, os.path.relpath(path, src)), "rb").read().decode("utf-8")))
        for d, doc in enumerate(docs):
            for i, o in enumerate(objects_of(doc)):
                annotations = (o.get("metadata") or {}).get("annotations") or {}
                if not str(annotations.get("sidecar.istio.io/status", "")).startswith("injected-version"):
                    continue
                if o.get("apiVersion") not in ("apps/v1", "batch/v1"):
                    continue
                n += 1
                with open(os.path.join(dst, "%04d.json" % n), "w") as out:
                    json.dump(o, out, default=str)
                with open(os.path.join(dst, "%04d.orig.json" % n), "w") as out:
                    json.dump(objects_of(orig[d])[i], out, default=str)
print(n)
"#;

/// `kubernetes-validate --strict` errors, keyed by the file's number, without the path.
fn validation_errors(files: &[PathBuf]) -> BTreeMap<String, Vec<String>> {
    let validate = std::process::Command::new("kubernetes-validate")
        .args(["--strict", "--quiet"])
        .args(files)
        .output()
        .unwrap_or_else(|e| {
            panic!("kubernetes-validate cannot be run ({e}); run scripts/test, which installs it from PyPI")
        });
    let report = format!("{}{}", String::from_utf8_lossy(&validate.stdout), String::from_utf8_lossy(&validate.stderr));
    let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in report.lines().filter(|l| l.starts_with("ERROR") || l.contains("Error")) {
        let file = files.iter().find(|f| line.contains(&*f.to_string_lossy()));
        let Some(file) = file else { panic!("kubernetes-validate: {line}") };
        let number = file.file_name().and_then(|n| n.to_str()).unwrap_or("").split('.').next().unwrap_or("").to_owned();
        let message = line.replace(&*file.to_string_lossy(), "FILE");
        errors.entry(number).or_default().push(message);
    }
    errors
}

#[test]
fn corpus_is_injected_validated_and_uninjected_byte_for_byte() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let corpus = tmp.path().join("corpus");
    copy_tree(&shared().join("corpus"), &corpus);
    let mut original = BTreeMap::new();
    read_tree(&corpus, &corpus, &mut original);

    let out = run_expect(&["inject", "--write", arg(&corpus)], 0);
    let summary = String::from_utf8_lossy(&out.stderr);
    let injected_lines = summary.lines().filter(|l| l.contains(" injected: ") && !l.contains(" not injected")).count();
    assert!(injected_lines >= 100, "few workloads injected ({injected_lines}):\n{summary}");
    let mut after = BTreeMap::new();
    read_tree(&corpus, &corpus, &mut after);
    let changed = original.iter().filter(|(p, bytes)| after.get(*p) != Some(*bytes)).count();
    assert!(changed > 0, "inject --write changed no file");
    assert_eq!(after.len(), original.len(), "files appeared or disappeared");

    // (a) Idempotent.
    run_expect(&["inject", "--check", arg(&corpus)], 0);

    // (b) Every injected apps/v1 and batch/v1 object passes `kubernetes-validate --strict`.
    let split = tmp.path().join("split");
    std::fs::create_dir(&split).expect("mkdir");
    let original_corpus = shared().join("corpus");
    let count: usize = python(SPLIT_INJECTED, &[arg(&corpus), arg(&split), arg(&original_corpus)], "")
        .trim()
        .parse()
        .expect("a count from python3");
    assert!(count >= 100, "only {count} injected apps/v1 or batch/v1 objects found");
    let mut all: Vec<PathBuf> =
        std::fs::read_dir(&split).expect("split dir").map(|e| e.expect("entry").path()).collect();
    all.sort();
    let (originals, injected): (Vec<PathBuf>, Vec<PathBuf>) =
        all.into_iter().partition(|p| p.to_string_lossy().ends_with(".orig.json"));
    assert_eq!(injected.len(), count);
    // Injection adds no error: an injected object fails only where its original already
    // did (the corpus holds a few objects that fail on their own, e.g. a Deployment
    // without `spec.selector`), and with the same messages.
    let injected_errors = validation_errors(&injected);
    let original_errors = validation_errors(&originals);
    assert_eq!(injected_errors, original_errors, "injection changed what kubernetes-validate --strict reports");
    assert!(
        injected_errors.len() < 5,
        "too many corpus objects fail validation even before injection: {injected_errors:?}"
    );

    // (c) Uninject gives back every file byte for byte.
    run_expect(&["uninject", "--write", arg(&corpus)], 0);
    let mut restored = BTreeMap::new();
    read_tree(&corpus, &corpus, &mut restored);
    assert_eq!(restored.len(), original.len());
    for (path, bytes) in &original {
        assert!(restored.get(path) == Some(bytes), "{}: not restored byte for byte by uninject", path.display());
    }
}
