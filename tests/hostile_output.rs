//! Hostile text in the inputs never reaches a terminal or a CI log raw: object names,
//! label values, port names, namespaces and file names carrying line breaks, forged
//! GitHub workflow commands and terminal escape sequences (ESC, OSC 8 hyperlinks) are
//! shown escaped in every text format of `check`, `audit` and `inject`; non-UTF-8 file
//! names are escaped losslessly; `audit` names the files it could not read; SARIF reports
//! tool errors as notifications; a finding with thousands of labels renders in linear time.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::{Value, json};
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------
// Helpers

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The binary, run from `dir`, without colours.
fn meshlint_in(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_meshlint"));
    cmd.current_dir(dir).env("NO_COLOR", "1").env_remove("RAYON_NUM_THREADS");
    cmd
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    let output = meshlint_in(dir).args(args).output().expect("meshlint runs");
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(!err.contains("panicked"), "meshlint {args:?} panicked:\n{err}");
    assert!(matches!(output.status.code(), Some(0..=2)), "meshlint {args:?} exited with {:?}:\n{err}", output.status);
    output
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exited, not killed by a signal")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is one JSON document ({e}):\n{}", text(&output.stdout)))
}

fn write(dir: &Path, name: impl AsRef<OsStr>, content: &[u8]) {
    let path = dir.join(name.as_ref());
    std::fs::write(&path, content).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// A forged workflow command, an OSC 8 hyperlink and a screen-clearing CSI, in YAML
/// double-quoted escapes (the file itself is plain ASCII).
const EVIL: &str = r"x\n::error::forged\e]8;;http://evil.example\e\\click\e]8;;\e\\\r\t\x9b2J\x7f";

/// File name with a line break, a forged command and an escape sequence.
const EVIL_FILE: &str = "ev\nil::error::named\x1b[31m.yaml";

/// A Deployment `name` whose namespace, annotation, labels, container and port names
/// are hostile.
fn deployment(name: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: \"{name}{EVIL}\"\n  namespace: \"ns{EVIL}\"\n  annotations:\n    sidecar.istio.io/inject: \"maybe{EVIL}\"\nspec:\n  selector:\n    matchLabels:\n      app: \"web{EVIL}\"\n  template:\n    metadata:\n      labels:\n        app: \"web{EVIL}\"\n    spec:\n      containers:\n      - name: \"c{EVIL}\"\n        image: nginx:1.13\n        ports:\n        - containerPort: 80\n          name: \"p{EVIL}\"\n"
    )
}

/// A Service `name` selecting the Deployments above, one port with a hostile name and one
/// without a name.
fn service(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: \"{name}{EVIL}\"\n  namespace: \"ns{EVIL}\"\nspec:\n  selector:\n    app: \"web{EVIL}\"\n  ports:\n  - name: \"http{EVIL}\"\n    port: 80\n  - port: 81\n"
    )
}

/// A repository (with `.git`) of objects whose names, namespace, labels and port names are
/// hostile, in a file whose name is hostile too, plus files that do not parse.
fn hostile_repo() -> TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join(".git")).expect("mkdir .git");
    let workloads = format!("{}---\n{}---\n{}", deployment("a"), deployment("b"), service("s"));
    write(dir.path(), "workloads.yaml", workloads.as_bytes());
    write(dir.path(), EVIL_FILE, service("t").as_bytes());
    // Raw control bytes inside a source line that a snippet shows.
    write(dir.path(), "raw.yaml", b"kind: [\x1b]8;;http://evil.example\x1b\\ \xc2\x9b \x07\n");
    write(dir.path(), "broken\x1b[2J.yaml", b"kind: [\n");
    dir
}

/// No control character other than the line breaks meshlint writes, and no line that a
/// CI would take for a workflow command unless `github` says it is one of meshlint's.
fn assert_clean(what: &str, bytes: &[u8], github: bool) {
    let out = String::from_utf8(bytes.to_vec()).unwrap_or_else(|e| panic!("{what}: not UTF-8 ({e})"));
    let bad: Vec<(usize, char)> = out.char_indices().filter(|&(_, c)| c.is_control() && c != '\n').collect();
    assert!(bad.is_empty(), "{what}: raw control characters {bad:?} in:\n{}", out.escape_debug());
    for line in out.lines() {
        if github {
            let known = ["::error file=", "::warning file=", "::notice file="];
            assert!(known.iter().any(|k| line.starts_with(k)), "{what}: not one of meshlint's commands: {line:?}");
            let (_, rest) = line.split_once(' ').expect("properties");
            let (_, message) = rest.split_once("::").expect("a message");
            // The message may contain `::`, escaped data cannot start a new command.
            assert!(!message.contains('\n'), "{what}: {line:?}");
        } else {
            assert!(!line.trim_start().starts_with("::"), "{what}: a line reads as a workflow command: {line:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Output injection

#[test]
fn check_text_formats_escape_hostile_names_labels_ports_and_file_names() {
    let dir = hostile_repo();
    for format in ["human", "concise", "github"] {
        let out = run_in(dir.path(), &["check", "--format", format, "."]);
        assert_eq!(code(&out), 1, "--format {format}: findings:\n{}", text(&out.stderr));
        assert_clean(&format!("check --format {format} (stdout)"), &out.stdout, format == "github");
        assert_clean(&format!("check --format {format} (stderr)"), &out.stderr, false);
        let shown = text(&out.stdout);
        // The hostile text is shown, escaped, not dropped.
        assert!(shown.contains(r"\u{1b}]8;;http"), "--format {format}: {shown}");
        assert!(shown.contains(r"\u{9b}2J\u{7f}"), "--format {format}: {shown}");
        let file = if format == "github" {
            r"ev\nil%3A%3Aerror%3A%3Anamed\u{1b}[31m.yaml"
        } else {
            r"ev\nil::error::named\u{1b}[31m.yaml"
        };
        assert!(shown.contains(file), "--format {format}: the file name: {shown}");
    }
    let concise = text(&run_in(dir.path(), &["check", "--format", "concise", "."]).stdout);
    assert!(concise.contains(r"x\n::error::forged\u{1b}]8;;http://evil.example\u{1b}\click"), "{concise}");
    assert!(concise.contains(r"\r\t\u{9b}2J\u{7f}"), "{concise}");
    // JSON keeps the real text (serde escapes it): machines read the names as they are.
    let json = json_of(&run_in(dir.path(), &["check", "--format", "json", "."]));
    let paths: Vec<&str> =
        json["diagnostics"].as_array().expect("diagnostics").iter().filter_map(|d| d["path"].as_str()).collect();
    assert!(paths.contains(&EVIL_FILE), "{paths:?}");
}

#[test]
fn human_snippets_show_control_bytes_of_the_source_as_placeholders_at_the_same_columns() {
    let dir = hostile_repo();
    let out = run_in(dir.path(), &["check", "--format", "human", "raw.yaml"]);
    assert_clean("human snippet of raw.yaml", &out.stdout, false);
    let shown = text(&out.stdout);
    let source_line = shown.lines().find(|l| l.contains("kind: [")).unwrap_or_else(|| panic!("snippet:\n{shown}"));
    assert!(source_line.contains("kind: [?]8;;http://evil.example?\\ ¿ ?"), "{source_line:?}");
    // The caret stands at the column the concise format gives: the placeholders kept
    // every character in place.
    let concise = text(&run_in(dir.path(), &["check", "--format", "concise", "raw.yaml"]).stdout);
    let column: usize = concise.split(':').nth(2).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("{concise}"));
    let lines: Vec<&str> = shown.lines().collect();
    let at = lines.iter().position(|l| l == &source_line).expect("the source line");
    let text_start = |l: &str| l.chars().position(|c| c == '│').expect("border") + 2;
    let caret = lines[at + 1].chars().position(|c| c == '^').expect("a caret");
    assert_eq!(caret - text_start(lines[at + 1]) + 1, column, "{shown}");
    assert!(column > 8, "the position is past the first control character: {concise}");
}

#[test]
fn github_format_escapes_controls_in_properties_and_data() {
    let dir = hostile_repo();
    let out = run_in(dir.path(), &["check", "--format", "github", "."]);
    let shown = text(&out.stdout);
    assert_clean("github", &out.stdout, true);
    // The file property: `:` and `,` percent-encoded, control characters shown.
    assert!(shown.contains(r"file=ev\nil%3A%3Aerror%3A%3Anamed\u{1b}[31m.yaml,line="), "{shown}");
    // The data: `%` escaped, the hostile line break shown, not decoded as one.
    assert!(shown.contains(r"x\n::error::forged\u{1b}]8;;http://evil.example"), "{shown}");
}

#[test]
fn audit_table_and_csv_escape_hostile_text() {
    let dir = hostile_repo();
    for format in ["table", "csv"] {
        let out = run_in(dir.path(), &["audit", "--format", format, "."]);
        assert_eq!(code(&out), 0, "{}", text(&out.stderr));
        assert_clean(&format!("audit --format {format}"), &out.stdout, false);
        assert_clean(&format!("audit --format {format} (stderr)"), &out.stderr, false);
        let shown = text(&out.stdout);
        assert!(shown.contains(r"ax\n::error::forged\u{1b}]8;;http://evil.example"), "--format {format}: {shown}");
    }
}

#[test]
fn inject_diff_and_its_summary_escape_hostile_text() {
    let dir = hostile_repo();
    std::fs::remove_file(dir.path().join("raw.yaml")).expect("rm");
    for name in std::fs::read_dir(dir.path()).expect("ls").flatten().map(|e| e.file_name()) {
        if name.as_bytes().starts_with(b"broken") {
            std::fs::remove_file(dir.path().join(name)).expect("rm");
        }
    }
    // Injected: its app label goes into the sidecar's arguments.
    let injected = deployment("c").replace(&format!("\"maybe{EVIL}\""), "\"true\"");
    write(dir.path(), "dep\n::error::x\x1b[31m.yaml", injected.as_bytes());
    let out = run_in(dir.path(), &["inject", "--diff", "."]);
    assert_clean("inject --diff (stderr)", &out.stderr, false);
    // The diff's headers are meshlint's; its body is the file's text before and after,
    // where the values were written in YAML escapes (ESC and the other C0 controls as
    // `\e`, `\u001b`...): no C0 control but the line break reaches the terminal.
    let diff = text(&out.stdout);
    let headers: Vec<&str> = diff.lines().filter(|l| l.starts_with("--- ") || l.starts_with("+++ ")).collect();
    let headers = headers.join("\n");
    assert_eq!(headers.lines().count(), 2, "{diff}");
    assert_clean("inject --diff (headers)", headers.as_bytes(), false);
    let c0: Vec<char> = diff.chars().filter(|&c| c.is_ascii_control() && c != '\n' && c != '\x7f').collect();
    assert!(c0.is_empty(), "{c0:?} in:\n{}", diff.escape_debug());
    let summary = text(&out.stderr);
    assert!(summary.contains(r"ax\n::error::forged\u{1b}]8;;http://evil.example"), "{summary}");
    assert!(text(&out.stdout).contains(r"+++ b/dep\n::error::x\u{1b}[31m.yaml"), "{}", text(&out.stdout));
}

#[test]
fn non_utf8_file_names_are_escaped_losslessly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let name = OsStr::from_bytes(b"bad\xff\xfename.yaml");
    write(dir.path(), name, b"apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector:\n    app: web\n  ports:\n  - port: 80\n");
    let out = run_in(dir.path(), &["check", "--format", "concise", "."]);
    let shown = text(&out.stdout);
    assert!(shown.starts_with(r"bad\xff\xfename.yaml:9:"), "{shown}");
    assert!(!shown.contains('\u{fffd}'), "{shown}");
    let sarif = json_of(&run_in(dir.path(), &["check", "--format", "sarif", "."]));
    let uri = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
    assert_eq!(uri, "bad%FF%FEname.yaml");
}

#[test]
fn sarif_uris_percent_encode_control_characters() {
    let dir = hostile_repo();
    let sarif = json_of(&run_in(dir.path(), &["check", "--format", "sarif", "."]));
    let uris: Vec<String> = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().expect("uri").to_owned())
        .collect();
    assert!(uris.iter().any(|u| u == "ev%0Ail::error::named%1B[31m.yaml"), "{uris:?}");
    assert!(uris.iter().all(|u| !u.chars().any(char::is_control)), "{uris:?}");
}

// ---------------------------------------------------------------------------------------
// Audit: files that were not read

#[test]
fn audit_names_the_files_it_could_not_read() {
    let dir = hostile_repo();
    let table = text(&run_in(dir.path(), &["audit", "."]).stdout);
    assert!(table.contains("2 files could not be read and were not audited:"), "{table}");
    assert!(table.contains(r"  broken\u{1b}[2J.yaml:2:1: invalid-yaml: invalid YAML: "), "{table}");
    assert!(table.contains("raw.yaml:1:"), "{table}");
    let audit = json_of(&run_in(dir.path(), &["audit", "--format", "json", "."]));
    let problems = audit["problems"].as_array().unwrap_or_else(|| panic!("problems: {audit}"));
    let paths: Vec<&str> = problems.iter().map(|p| p["path"].as_str().expect("path")).collect();
    assert_eq!(paths, ["broken\x1b[2J.yaml", "raw.yaml"]);
    for p in problems {
        assert_eq!(p["rule"], "invalid-yaml", "{p}");
        assert!(p["line"].as_u64().is_some_and(|l| l >= 1) && p["column"].as_u64().is_some_and(|c| c >= 1), "{p}");
        assert!(p["message"].as_str().is_some_and(|m| m.starts_with("invalid YAML")), "{p}");
    }
    // A clean tree lists none.
    let clean = json_of(&run_in(&root().join("fixtures/trees/clean"), &["audit", "--format", "json", "."]));
    assert_eq!(clean["problems"], json!([]), "{clean}");
}

// ---------------------------------------------------------------------------------------
// SARIF: tool errors

fn sarif_validator() -> jsonschema::Validator {
    let schema_text = std::fs::read_to_string(root().join("schemas/sarif-2.1.0-rtm.5.json")).expect("schema");
    let mut schema: Value = serde_json::from_str(&schema_text).expect("schema is JSON");
    // The schema's `language` patterns have a stray `]` that the crate's `regex` format
    // check rejects: escaped, same meaning.
    for def in ["run", "toolComponent"] {
        let pattern = &mut schema["definitions"][def]["properties"]["language"]["pattern"];
        assert_eq!(pattern, "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$", "{def}");
        *pattern = json!("^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\\]?$");
    }
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles")
}

fn assert_valid(validator: &jsonschema::Validator, sarif: &Value) {
    let errors: Vec<String> =
        validator.iter_errors(sarif).take(20).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "SARIF schema violations:\n{}", errors.join("\n"));
}

#[test]
fn sarif_reports_tool_errors_as_notifications() {
    let validator = sarif_validator();
    let dir = hostile_repo();
    let out = run_in(dir.path(), &["check", "--format", "sarif", ".", "missing.yaml"]);
    assert_eq!(code(&out), 2);
    let sarif = json_of(&out);
    assert_valid(&validator, &sarif);
    let invocation = &sarif["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false, "{invocation}");
    let notes = invocation["toolExecutionNotifications"].as_array().unwrap_or_else(|| panic!("{invocation}"));
    assert_eq!(notes.len(), 1, "{invocation}");
    assert_eq!(notes[0]["level"], "error");
    let message = notes[0]["message"]["text"].as_str().expect("text");
    assert!(message.starts_with("missing.yaml: "), "{message}");

    let corpus = run_in(root(), &["check", "--format", "sarif", "../shared/corpus"]);
    assert_ne!(code(&corpus), 2);
    let sarif = json_of(&corpus);
    assert_valid(&validator, &sarif);
    let invocation = &sarif["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], true, "{invocation}");
    assert!(invocation.get("toolExecutionNotifications").is_none_or(|n| n == &json!([])), "{invocation}");
}

// ---------------------------------------------------------------------------------------
// Many labels

/// One Deployment and `n` Services selecting its pods, all on one line of a JSON file:
/// one `pod-in-multiple-services` finding with `n` labels on that line.
fn many_services_on_one_line(n: usize) -> TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut items = vec![json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.13"}]}}}
    })];
    for i in 0..n {
        items.push(json!({
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": format!("s{i}")},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]}
        }));
    }
    let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
    write(dir.path(), "all.json", serde_json::to_string(&list).expect("json").as_bytes());
    dir
}

#[test]
fn a_finding_with_twenty_thousand_labels_renders_in_linear_time() {
    let n = 20_000;
    let dir = many_services_on_one_line(n);
    let start = Instant::now();
    let out = meshlint_in(dir.path())
        .args(["check", "--format", "human", "all.json"])
        .timeout(Duration::from_secs(120))
        .output()
        .expect("meshlint runs");
    let took = start.elapsed();
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    assert!(took < Duration::from_secs(20), "human output of {n} labels took {took:?}");
    let shown = text(&out.stdout);
    // Every label is still named, once.
    for i in [0, 1, n / 2, n - 1] {
        let label = format!("selector of Service `s{i}`");
        assert_eq!(shown.matches(&label).count(), 1, "{label}");
    }
    assert!(shown.len() < 20 * n * 100, "output of {} bytes", shown.len());
}

#[test]
fn many_labels_are_drawn_up_to_a_bound_then_listed_at_their_exact_positions() {
    let n = 100;
    let dir = many_services_on_one_line(n);
    let source = std::fs::read_to_string(dir.path().join("all.json")).expect("read");
    // Each Service's selector starts at the `{` after `"selector":`; ASCII, so the column
    // is the byte offset plus one.
    let want: Vec<(usize, usize, String)> = source
        .match_indices(r#""selector":{"app":"web"}"#)
        .enumerate()
        .map(|(i, (at, _))| (1, at + r#""selector":"#.len() + 1, format!("selector of Service `s{i}`")))
        .collect();
    assert_eq!(want.len(), n);
    let json = json_of(&run_in(dir.path(), &["check", "--format", "json", "all.json"]));
    let labels: Vec<(usize, usize, String)> = json["diagnostics"][0]["labels"]
        .as_array()
        .expect("labels")
        .iter()
        .map(|l| {
            let num = |k: &str| usize::try_from(l[k].as_u64().expect("number")).expect("fits");
            (num("line"), num("column"), l["message"].as_str().expect("message").to_owned())
        })
        .collect();
    assert_eq!(labels, want);
    let human = text(&run_in(dir.path(), &["check", "--format", "human", "all.json"]).stdout);
    // The line is too long for a snippet: a window of it is shown, and every label is
    // listed at its exact position.
    assert!(human.contains("bytes long: a window around column"), "{human}");
    for (line, column, message) in &want {
        let listed = format!("   = all.json:{line}:{column}: {message}\n");
        assert_eq!(human.matches(&listed).count(), 1, "{listed:?} in:\n{human}");
    }

    // On short lines, the first 32 are drawn under the snippet and the rest listed.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut yaml = String::from(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.13\n",
    );
    for i in 0..40 {
        yaml.push_str(&format!("---\napiVersion: v1\nkind: Service\nmetadata:\n  name: s{i}\nspec:\n  selector: {{app: web}}\n  ports:\n  - name: http\n    port: 80\n"));
    }
    write(dir.path(), "all.yaml", yaml.as_bytes());
    let human = text(&run_in(dir.path(), &["check", "--format", "human", "all.yaml"]).stdout);
    assert!(human.contains("= and 8 more places:"), "{human}");
    for i in 0..40 {
        let drawn = format!("│             ---------- selector of Service `s{i}`\n");
        let listed = format!(": selector of Service `s{i}`\n");
        let (d, l) = (human.matches(&drawn).count(), human.matches(&listed).count());
        assert_eq!((d, l), if i < 32 { (1, 0) } else { (0, 1) }, "s{i} in:\n{human}");
    }
}
