//! The ecosystem around `check`, end to end through the binary: SARIF 2.1.0 validated
//! against its schema, GitHub workflow commands, the three ways to suppress a finding
//! (with `unused-suppression` for stale ones), `.meshlint.yaml` (levels, fail-on,
//! namespace, excludes, mistakes with positions, discovery up to the repository root),
//! baselines, shell completions, the pre-commit hooks and a quiet stderr in pipes.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};
use tempfile::TempDir;

use common::{Diag, code, diags, meshlint_in, num, root, stderr, stdout, text};

// ---------------------------------------------------------------------------------------
// Helpers

fn run_in(dir: &Path, args: &[&str]) -> Output {
    let output = meshlint_in(dir).args(args).output().expect("meshlint runs");
    let err = stderr(&output);
    assert!(!err.contains("panicked"), "meshlint {args:?} panicked:\n{err}");
    assert!(matches!(output.status.code(), Some(0..=2)), "meshlint {args:?} exited with {:?}:\n{err}", output.status);
    output
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is one JSON document ({e}):\n{}\n{}", stdout(output), stderr(output)))
}

/// `check --format json` of `args`, run from `dir`: the exit code and the diagnostics.
fn check_json(dir: &Path, args: &[&str]) -> (i32, Vec<Diag>) {
    let mut all = vec!["check", "--format", "json"];
    all.extend_from_slice(args);
    let out = run_in(dir, &all);
    assert!(code(&out) != 2, "{all:?} failed: {}", stderr(&out));
    (code(&out), diags(&json_of(&out)))
}

/// `rule` at `path:line` for each diagnostic, the form most assertions compare.
fn rule_lines(diags: &[Diag]) -> Vec<(String, String, usize)> {
    diags.iter().map(|d| (d.rule.clone(), d.path.clone(), d.line)).collect()
}

/// (rule, line, column) of each diagnostic.
fn places(diags: &[Diag]) -> Vec<(&str, usize, usize)> {
    diags.iter().map(|d| (d.rule.as_str(), d.line, d.column)).collect()
}

fn rules_of(diags: &[Diag]) -> Vec<&str> {
    diags.iter().map(|d| d.rule.as_str()).collect()
}

/// A temporary repository (it has a `.git` directory, so configuration discovery stops
/// there) holding `files`.
fn repo(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join(".git")).expect("mkdir .git");
    for (name, content) in files {
        write(dir.path(), name, content);
    }
    dir
}

fn write(dir: &Path, name: &str, content: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir -p");
    std::fs::write(&path, content).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// A Service `name` selecting `app: name`, with one port as given (YAML list item body).
fn service(name: &str, namespace: Option<&str>, port: &str) -> String {
    let ns = namespace.map(|n| format!("\n  namespace: {n}")).unwrap_or_default();
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}{ns}\nspec:\n  selector:\n    app: {name}\n  ports:\n  - {port}\n"
    )
}

/// A Deployment `name` with pods labelled `app: name`.
fn deployment(name: &str, namespace: Option<&str>) -> String {
    let ns = namespace.map(|n| format!("\n  namespace: {n}")).unwrap_or_default();
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}{ns}\nspec:\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n      - name: {name}\n        image: nginx:1.13\n"
    )
}

const FORMATS: [&str; 5] = ["human", "concise", "json", "sarif", "github"];

// ---------------------------------------------------------------------------------------
// SARIF

#[test]
fn sarif_of_the_corpus_validates_and_matches_the_json_findings() {
    // The corpus mixes projects for several Istio releases: judge it as Istio 0.2.
    let sarif_out = run_in(root(), &["check", "--profile", "istio-0.2", "--format", "sarif", "../shared/corpus"]);
    let json_out = run_in(root(), &["check", "--profile", "istio-0.2", "--format", "json", "../shared/corpus"]);
    assert_eq!(code(&sarif_out), code(&json_out), "{}", stderr(&sarif_out));
    assert_ne!(code(&sarif_out), 2, "{}", stderr(&sarif_out));
    let sarif = json_of(&sarif_out);
    let expected = diags(&json_of(&json_out));

    let schema_text = std::fs::read_to_string(root().join("schemas/sarif-2.1.0-rtm.5.json")).expect("schema");
    let mut schema: Value = serde_json::from_str(&schema_text).expect("schema is JSON");
    // The schema's `language` patterns (of `run` and `toolComponent`) have a stray `]`,
    // valid in a JavaScript regular expression but rejected by the crate's `regex` format
    // check of the meta-schema: escape it (same meaning) so that the schema compiles with
    // format validation on.
    for def in ["run", "toolComponent"] {
        let pattern = &mut schema["definitions"][def]["properties"]["language"]["pattern"];
        assert_eq!(pattern, "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$", "{def}");
        *pattern = json!("^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\\]?$");
    }
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles");
    let errors: Vec<String> =
        validator.iter_errors(&sarif).take(20).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "SARIF schema violations:\n{}", errors.join("\n"));
    // The validator does reject a broken log: the check above is not vacuous.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = json!("fatal");
    broken["version"] = json!("2.0");
    assert!(!validator.is_valid(&broken), "a log with an unknown level and version validates");

    let run = &sarif["runs"][0];
    let results = run["results"].as_array().expect("results");
    assert!(!results.is_empty(), "the corpus has findings");
    assert_eq!(results.len(), expected.len(), "SARIF results and JSON diagnostics");
    let rules = run["tool"]["driver"]["rules"].as_array().expect("driver rules");
    for (result, d) in results.iter().zip(&expected) {
        let id = result["ruleId"].as_str().expect("ruleId");
        assert_eq!(id, d.rule);
        let index = usize::try_from(result["ruleIndex"].as_u64().expect("ruleIndex")).expect("fits");
        let rule = &rules[index];
        assert_eq!(rule["id"], id, "ruleIndex {index} of {id}");
        let help = rule["help"]["text"].as_str().unwrap_or("");
        assert!(help.starts_with(&format!("# {id}\n")), "help of {id}: {help:?}");
        assert!(rule["shortDescription"]["text"].as_str().is_some_and(|t| !t.is_empty()), "{id}");
        let region = &result["locations"][0]["physicalLocation"]["region"];
        assert_eq!((num(region, "startLine"), num(region, "startColumn")), (d.line, d.column), "{id}");
        assert_eq!((num(region, "endLine"), num(region, "endColumn")), (d.end_line, d.end_column), "{id}");
        let uri = text(&result["locations"][0]["physicalLocation"]["artifactLocation"], "uri");
        assert_eq!(uri.replace("%20", " "), d.path, "{id}");
        let level = result["level"].as_str().expect("level");
        let want = match d.severity.as_str() {
            "error" => "error",
            "warning" => "warning",
            _ => "note",
        };
        assert_eq!(level, want, "{id}");
    }
    let multi: Vec<&Value> = results.iter().filter(|r| r["ruleId"] == "pod-in-multiple-services").collect();
    assert!(!multi.is_empty(), "the corpus has pods in several Services");
    for result in multi {
        let related = result["relatedLocations"].as_array().expect("relatedLocations of pod-in-multiple-services");
        assert!(related.len() >= 2, "one related location per selecting Service: {result}");
        for r in related {
            assert!(r["physicalLocation"]["artifactLocation"]["uri"].is_string(), "{r}");
            assert!(num(&r["physicalLocation"]["region"], "startLine") >= 1, "{r}");
        }
        let selectors = related
            .iter()
            .filter(|r| r["message"]["text"].as_str().is_some_and(|t| t.starts_with("selector of Service")));
        assert!(selectors.count() >= 2, "{result}");
    }
}

/// A repository with only warnings, and one with only an info finding.
fn severity_repos() -> (TempDir, TempDir) {
    let warnings = repo(&[("app.yaml", &service("web", None, "port: 80"))]);
    let info = repo(&[(
        "app.yaml",
        &service("web", None, "name: http # meshlint: ignore[unnamed-service-port]\n    port: 80"),
    )]);
    (warnings, info)
}

#[test]
fn fail_on_gives_the_same_exit_codes_in_every_format() {
    let (warnings, info) = severity_repos();
    assert_eq!(rules_of(&check_json(warnings.path(), &["."]).1), ["unnamed-service-port"]);
    assert_eq!(rules_of(&check_json(info.path(), &["."]).1), ["unused-suppression"]);
    let cases = [
        (warnings.path(), "error", 0),
        (warnings.path(), "warning", 1),
        (warnings.path(), "info", 1),
        (info.path(), "error", 0),
        (info.path(), "warning", 0),
        (info.path(), "info", 1),
    ];
    for (dir, fail_on, want) in cases {
        for format in FORMATS {
            let out = run_in(dir, &["check", "--format", format, "--fail-on", fail_on, "."]);
            assert_eq!(code(&out), want, "--format {format} --fail-on {fail_on}: {}", stderr(&out));
            assert!(!stdout(&out).is_empty(), "--format {format} prints the finding");
        }
    }
}

// ---------------------------------------------------------------------------------------
// GitHub workflow commands

/// `%`, CR and LF escaped as workflow command data; with `property`, `:` and `,` too.
fn github_escape(text: &str, property: bool) -> String {
    let mut out = text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    if property {
        out = out.replace(':', "%3A").replace(',', "%2C");
    }
    out
}

/// A `::command key=value,...::message` line: the command, its properties and message.
fn parse_github(line: &str) -> (String, Vec<(String, String)>, String) {
    let rest = line.strip_prefix("::").unwrap_or_else(|| panic!("not a workflow command: {line:?}"));
    let (command, rest) = rest.split_once(' ').unwrap_or_else(|| panic!("no properties: {line:?}"));
    let (props, message) = rest.split_once("::").unwrap_or_else(|| panic!("no message: {line:?}"));
    let props = props
        .split(',')
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or_else(|| panic!("property without `=` in {line:?}"));
            (k.to_owned(), v.to_owned())
        })
        .collect();
    (command.to_owned(), props, message.to_owned())
}

#[test]
fn github_format_is_one_annotation_per_json_finding() {
    let twin = unsuppressed_twin();
    let trees = [twin.path().to_owned(), root().join("fixtures/trees/suppress")];
    let mut commands = BTreeSet::new();
    let mut newlines = 0;
    for dir in &trees {
        let (_, expected) = check_json(dir, &["."]);
        let out = run_in(dir, &["check", "--format", "github", "."]);
        let text = stdout(&out);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), expected.len(), "one line per finding:\n{text}");
        for (line, d) in lines.iter().zip(&expected) {
            let (command, props, message) = parse_github(line);
            let want_command = match d.severity.as_str() {
                "error" => "error",
                "warning" => "warning",
                _ => "notice",
            };
            assert_eq!(command, want_command, "{line}");
            commands.insert(command);
            let keys: Vec<&str> = props.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(keys, ["file", "line", "col", "endLine", "endColumn", "title"], "{line}");
            let value = |k: &str| props.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()).expect("present");
            assert_eq!(value("file"), github_escape(&d.path, true), "{line}");
            let numbers: Vec<usize> =
                ["line", "col", "endLine", "endColumn"].iter().map(|k| value(k).parse().expect("a number")).collect();
            assert_eq!(numbers, [d.line, d.column, d.end_line, d.end_column], "{line}");
            assert_eq!(value("title"), format!("meshlint {}", d.rule), "{line}");
            let full = match &d.help {
                Some(help) => format!("{}\nhelp: {help}", d.message),
                None => d.message.clone(),
            };
            assert_eq!(message, github_escape(&full, false), "{line}");
            newlines += usize::from(message.contains("%0A"));
        }
    }
    assert_eq!(commands, BTreeSet::from(["error".to_owned(), "notice".to_owned(), "warning".to_owned()]));
    assert!(newlines > 0, "help text follows the message after an escaped newline");
}

#[test]
fn github_escapes_newlines_commas_and_colons() {
    // A file name with a comma and a colon, a message with backticks; the help after %0A.
    let dir = repo(&[("a,b:c.yaml", &service("web", None, "port: 80"))]);
    let out = run_in(dir.path(), &["check", "--format", "github", "."]);
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with("::warning file=a%2Cb%3Ac.yaml,line=9,col=11,endLine=9,endColumn=13,"), "{text}");
    assert!(text.contains(",title=meshlint unnamed-service-port::port 80 of Service `web`"), "{text}");
    assert!(text.trim_end().contains("plain TCP%0Ahelp: name it `http-web`"), "{text}");
}

// ---------------------------------------------------------------------------------------
// Suppressions

fn suppress_tree() -> PathBuf {
    root().join("fixtures/trees/suppress")
}

/// Every finding of the suppression tree with its suppressions removed: the rule, the
/// file and line, and how the tree suppresses it.
const SUPPRESSED: &[(&str, &str, usize, &str)] = &[
    ("proxy-uid-conflict", "annotated.yaml", 35, "annotation on the Deployment"),
    ("misplaced-inject-annotation", "annotated.yaml", 61, "annotation on the pod template"),
    ("non-string-annotation", "annotated.yaml", 88, "annotation on the Deployment"),
    ("workload-not-injected", "annotated.yaml", 116, "annotation, a folded list of two rules"),
    ("inject-annotation-value", "annotated.yaml", 121, "annotation, a folded list of two rules"),
    ("duplicate-key", "annotated.yaml", 150, "comment block above the document"),
    ("pod-in-multiple-services", "config-ignored.yaml", 42, "config ignore by rules and objects"),
    ("duplicate-app-label", "config-ignored.yaml", 74, "config ignore by rules and objects"),
    ("pod-without-service", "legacy/ratings.yaml", 14, "config ignore by paths"),
    ("missing-app-label", "legacy/ratings.yaml", 46, "config ignore by paths"),
    ("unnamed-service-port", "services.yaml", 11, "comment on the finding's line"),
    ("unknown-port-protocol", "services.yaml", 23, "comment on the line before"),
    ("proxy-port-conflict", "workloads.yaml", 20, "comment on the line before"),
    ("workload-not-injected", "workloads.yaml", 23, "comment on the finding's line"),
    ("invalid-inject-config", "workloads.yaml", 51, "comment block above the document"),
];

/// The rules a manifest can trigger (parse-level rules, which stop everything else in
/// their file, and the rules about meshlint's own inputs aside), as of the suppression
/// tree; each has one suppressed finding there.
const MANIFEST_RULES: &[&str] = &[
    "unnamed-service-port",
    "unknown-port-protocol",
    "pod-in-multiple-services",
    "pod-without-service",
    "missing-app-label",
    "duplicate-app-label",
    "non-string-annotation",
    "workload-not-injected",
    "inject-annotation-value",
    "misplaced-inject-annotation",
    "proxy-uid-conflict",
    "proxy-port-conflict",
    "duplicate-key",
    "invalid-inject-config",
];

/// A copy of the suppression tree with every suppression disabled: no `.meshlint.yaml`,
/// the annotation renamed, the comments no longer suppression comments. Same lines.
fn unsuppressed_twin() -> TempDir {
    fn copy(from: &Path, to: &Path, changed: &mut usize) {
        for entry in std::fs::read_dir(from).expect("read fixture dir") {
            let path = entry.expect("entry").path();
            let name = path.file_name().expect("name").to_owned();
            if path.is_dir() {
                copy(&path, &to.join(&name), changed);
            } else if name != ".meshlint.yaml" {
                let original = std::fs::read_to_string(&path).expect("fixture is UTF-8");
                let text =
                    original.replace("meshlint.io/ignore", "example.com/note").replace("meshlint: ignore[", "note: [");
                *changed += usize::from(text != original);
                std::fs::create_dir_all(to).expect("mkdir");
                std::fs::write(to.join(&name), text).expect("write twin");
            }
        }
    }
    let dir = repo(&[]);
    let mut changed = 0;
    copy(&suppress_tree(), dir.path(), &mut changed);
    assert_eq!(changed, 3, "suppressions removed from annotated.yaml, services.yaml and workloads.yaml");
    dir
}

#[test]
fn every_suppressed_finding_fires_without_its_suppression() {
    let twin = unsuppressed_twin();
    let (exit, found) = check_json(twin.path(), &["."]);
    assert_eq!(exit, 1);
    let want: Vec<(String, String, usize)> =
        SUPPRESSED.iter().map(|(rule, path, line, _)| ((*rule).to_owned(), (*path).to_owned(), *line)).collect();
    let mut got = rule_lines(&found);
    got.sort_by(|a, b| (&a.1, a.2, &a.0).cmp(&(&b.1, b.2, &b.0)));
    assert_eq!(got, want, "the unsuppressed twin reports exactly the suppressed findings");
    // One finding of every rule that manifests can trigger.
    let covered: BTreeSet<&str> = SUPPRESSED.iter().map(|(rule, ..)| *rule).collect();
    let triggerable: BTreeSet<&str> = MANIFEST_RULES.iter().copied().collect();
    assert_eq!(covered, triggerable, "the suppression tree covers every manifest rule");
    assert!(MANIFEST_RULES.iter().all(|r| meshlint::rules::find(r).is_some()), "registered rules");
    let ways: BTreeSet<&str> = SUPPRESSED.iter().map(|(.., how)| *how).collect();
    assert_eq!(ways.len(), 8, "{ways:?}");
}

#[test]
fn the_suppressed_tree_reports_only_its_stale_and_misspelt_suppressions() {
    // Run from the tree itself so that its `.meshlint.yaml` is found.
    let (exit, found) = check_json(&suppress_tree(), &["."]);
    let got: Vec<(String, usize, usize, &str, &str)> = found
        .iter()
        .map(|d| {
            // The configuration is shown by the path it was found at.
            let path = if d.path.ends_with("/.meshlint.yaml") { ".meshlint.yaml".to_owned() } else { d.path.clone() };
            (path, d.line, d.column, d.rule.as_str(), d.severity.as_str())
        })
        .collect();
    assert_eq!(
        got,
        [
            (".meshlint.yaml".to_owned(), 8, 5, "unused-suppression", "info"),
            ("annotated.yaml".to_owned(), 21, 46, "unused-suppression", "info"),
            ("services.yaml".to_owned(), 25, 35, "unused-suppression", "info"),
        ]
    );
    let messages: Vec<&str> = found.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "suppression of `proxy-port-conflict` matches no finding",
            "suppression names `pod-without-servce`, which is not a rule",
            "suppression of `unnamed-service-port` matches no finding",
        ]
    );
    // The misspelt name and the stale rule are pointed at exactly.
    let annotated = std::fs::read_to_string(suppress_tree().join("annotated.yaml")).expect("fixture");
    let line = annotated.lines().nth(20).expect("line 21");
    assert_eq!(&line[45..45 + "pod-without-servce".len()], "pod-without-servce");
    let services = std::fs::read_to_string(suppress_tree().join("services.yaml")).expect("fixture");
    let line = services.lines().nth(24).expect("line 25");
    assert!(line[34..].starts_with("unnamed-service-port]"), "{line}");
    assert_eq!(exit, 0, "unused suppressions are infos");
    let strict = run_in(&suppress_tree(), &["check", "--format", "json", "--fail-on", "info", "."]);
    assert_eq!(code(&strict), 1);
}

#[test]
fn a_suppression_covers_only_its_own_rule_and_place() {
    // The comment names another rule: the finding stays, and the comment is unused.
    let dir =
        repo(&[("app.yaml", &service("web", None, "port: 80 # meshlint: ignore[unknown-port-protocol] wrong rule"))]);
    let (_, found) = check_json(dir.path(), &["."]);
    assert_eq!(rules_of(&found), ["unnamed-service-port", "unused-suppression"]);
    // A comment two lines above the finding (not the line before it) suppresses nothing.
    let text = service("web", None, "port: 80")
        .replace("  ports:\n", "  # meshlint: ignore[unnamed-service-port]\n  ports:\n");
    let dir = repo(&[("app.yaml", &text)]);
    let (_, found) = check_json(dir.path(), &["."]);
    assert_eq!(rules_of(&found), ["unused-suppression", "unnamed-service-port"]);
}

#[test]
fn a_comment_above_a_document_covers_that_document_only() {
    // Three Services with unnamed ports; the comment stands above the second. The first
    // and the third are still reported (a range opened too early would cover the first).
    let text = format!(
        "{}---\n# meshlint: ignore[unnamed-service-port] a legacy Service\n{}---\n{}",
        service("a", None, "port: 80"),
        service("b", None, "port: 81"),
        service("c", None, "port: 82")
    );
    let dir = repo(&[("app.yaml", &text)]);
    let (_, found) = check_json(dir.path(), &["--profile", "istio-0.2", "."]);
    let places: Vec<(&str, usize)> = found.iter().map(|d| (d.rule.as_str(), d.line)).collect();
    let line = |port: &str| text.lines().position(|l| l.contains(port)).expect("the port") + 1;
    assert_eq!(places, [("unnamed-service-port", line("port: 80")), ("unnamed-service-port", line("port: 82"))]);
}

#[test]
fn a_suppression_covers_a_finding_at_the_first_byte_of_its_document() {
    // `apiversion` (misspelt) is the first key: the finding starts where the document
    // does, and the comment above the document and the annotation both cover it.
    let object = "apiversion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n";
    let commented = format!("# meshlint: ignore[missing-api-version] written by a generator\n{object}");
    let annotated = format!("{object}  annotations:\n    meshlint.io/ignore: missing-api-version\n");
    for text in [&commented, &annotated] {
        let dir = repo(&[("app.yaml", text)]);
        let (_, found) = check_json(dir.path(), &["--profile", "istio-0.2", "."]);
        assert_eq!(rules_of(&found), Vec::<&str>::new(), "{text}");
    }
    // Without either, the finding is there, on the first line.
    let dir = repo(&[("app.yaml", object)]);
    let (_, found) = check_json(dir.path(), &["--profile", "istio-0.2", "."]);
    assert_eq!(places(&found), [("missing-api-version", 1, 1)]);
}

#[test]
fn a_misspelt_rule_in_an_annotation_is_pointed_at_whether_quoted_or_plain() {
    // The same list written plainly, in double and in single quotes: the unknown name is
    // found at its own column, not at the start of the value.
    // `apiversion` (misspelt) gives the finding the first name suppresses.
    let object = "apiversion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  annotations:\n";
    for value in [
        "missing-api-version, no-such-rule",
        "\"missing-api-version, no-such-rule\"",
        "'missing-api-version, no-such-rule'",
    ] {
        let text = format!("{object}    meshlint.io/ignore: {value}\n");
        let dir = repo(&[("app.yaml", &text)]);
        let (_, found) = check_json(dir.path(), &["--profile", "istio-0.2", "."]);
        let line = text.lines().nth(5).expect("the annotation");
        let column = line.find("no-such-rule").expect("the name") + 1;
        assert_eq!(places(&found), [("unused-suppression", 6, column)], "{value}");
    }
}

#[test]
fn an_object_without_api_version_is_reported_at_its_kind_or_at_the_misspelt_key() {
    // No key like `apiVersion` at all: the finding is at the kind (`ConfigMap`, column 7)
    // and asks for one. A key
    // that reads like it (`apiversion`, `version`) is named as the misspelling.
    let bare = "kind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n";
    let dir = repo(&[("app.yaml", bare)]);
    let (_, found) = check_json(dir.path(), &["--profile", "istio-0.2", "."]);
    assert_eq!(places(&found), [("missing-api-version", 1, "kind: ".len() + 1)]);
    assert_eq!(found[0].help.as_deref(), Some("add the `apiVersion` of `ConfigMap` (e.g. `v1` or `apps/v1`)"));
    // A key with `version` in it, however far from `apiVersion`, and a typo of it
    // without the word.
    for key in ["version", "objectVersion", "apiVersoin"] {
        let misspelt = format!("{bare}{key}: v1\n");
        let dir = repo(&[("app.yaml", &misspelt)]);
        let (_, found) = check_json(dir.path(), &["--profile", "istio-0.2", "."]);
        assert_eq!(places(&found), [("missing-api-version", 6, 1)], "{key}");
        assert_eq!(found[0].help, Some(format!("rename `{key}` to `apiVersion`")));
    }
    // `apiVersion` written with no value, `~`, `null` or `""`: `kubectl apply` rejects it
    // as it does a missing one, and the object is still checked (its port has no name).
    let service = "kind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n";
    for (value, column) in [("", 1), (" ~", 13), (" null", 13), (" \"\"", 13)] {
        let text = format!("apiVersion:{value}\n{service}");
        let dir = repo(&[("app.yaml", &text)]);
        let (_, found) = check_json(dir.path(), &["--profile", "istio-0.2", "."]);
        assert_eq!(places(&found), [("missing-api-version", 1, column), ("unnamed-service-port", 7, 11)], "{value:?}");
        assert!(found[0].message.contains("empty `apiVersion`"), "{value:?}: {}", found[0].message);
        assert_eq!(found[0].help.as_deref(), Some("set the `apiVersion` of `Service` (e.g. `v1` or `apps/v1`)"));
    }
}

#[test]
fn unnamed_ports_of_one_service_are_given_distinct_names() {
    // Nothing says which protocol ports 9998 and 9999 carry: plain TCP named after the
    // Service, and with two ports, after the number too, so that the names differ.
    let two = service("odd", None, "port: 9998\n  - port: 9999");
    let one = service("odd", None, "port: 9999");
    for (text, want) in [(&two, vec!["tcp-odd-9998", "tcp-odd-9999"]), (&one, vec!["tcp-odd"])] {
        let dir = repo(&[("app.yaml", text)]);
        let (_, found) = check_json(dir.path(), &["--profile", "istio-0.2", "."]);
        let names: Vec<&str> =
            found.iter().filter_map(|d| d.help.as_deref()?.strip_prefix("name it `")?.split('`').next()).collect();
        assert_eq!(names, want, "{text}");
    }
}

#[test]
fn a_stale_suppression_in_a_context_file_is_not_reported() {
    // Pre-commit names one file; the others are read as context and reported on by their
    // own commits: a stale comment there says nothing now, and is reported when its file
    // is named.
    let stale = service("db", None, "name: tcp-db # meshlint: ignore[unnamed-service-port] stale\n    port: 5432");
    let dir = repo(&[("web.yaml", &service("web", None, "name: http\n    port: 80")), ("db.yaml", &stale)]);
    let (_, found) = check_json(dir.path(), &["--profile", "istio-0.2", "web.yaml"]);
    assert_eq!(rules_of(&found), Vec::<&str>::new());
    let (_, found) = check_json(dir.path(), &["--profile", "istio-0.2", "db.yaml"]);
    assert_eq!(rules_of(&found), ["unused-suppression"]);
}

#[test]
fn an_unused_suppression_of_every_rule_points_at_its_comment() {
    // `ignore[]` names no rule, so it covers every rule of its line; with nothing there
    // it is reported where its comment starts.
    let text = service("web", None, "name: http # meshlint: ignore[] nothing to hide\n    port: 80");
    let dir = repo(&[("app.yaml", &text)]);
    let (_, found) = check_json(dir.path(), &["--profile", "istio-0.2", "."]);
    let line = text.lines().position(|l| l.contains("ignore[]")).expect("the comment");
    let column = text.lines().nth(line).and_then(|l| l.find('#')).expect("#") + 1;
    assert_eq!(places(&found), [("unused-suppression", line + 1, column)]);
    assert_eq!(found[0].message, "this suppression matches no finding");
}

#[test]
fn a_comment_above_a_document_may_stand_above_other_comments_blank_lines_and_the_marker() {
    let document = service("web", None, "port: 80");
    for between in ["# the port is named by the operator\n", "\n", "---\n", "\n# reason\n\n---\n"] {
        let text = format!("# meshlint: ignore[unnamed-service-port]\n{between}{document}");
        let dir = repo(&[("app.yaml", &text)]);
        let (_, found) = check_json(dir.path(), &["--profile", "istio-0.2", "."]);
        assert_eq!(rules_of(&found), Vec::<&str>::new(), "{text}");
    }
}

#[test]
fn a_suppression_comment_is_found_after_quotes_apostrophes_and_escapes() {
    // In YAML a quote opens a quoted scalar only where a node starts; `''` is a quote
    // inside single quotes and `\"` one inside double quotes; a `#` inside a quoted
    // scalar is text. Each line below holds one real comment, whose `#` is the one before
    // `meshlint`: the comment is read (here it covers nothing, so it is reported unused,
    // at the rule it names, which is where it is when the right `#` was taken).
    let values = [
        "appProtocol: it's",
        "appProtocol: \"it's\"",
        "appProtocol: 'a\"b'",
        "appProtocol: 'a # b'",
        "appProtocol: \"a # b\"",
        "appProtocol: 'it''s # x'",
        "appProtocol: \"a\\\" # b\"",
        "appProtocol: [x, 'y # z', \"w\"]",
        "appProtocol: &p 'a # b'",
        "appProtocol: !!str \"a # b\"",
    ];
    for value in values {
        let line = format!("{value} # meshlint: ignore[unnamed-service-port]");
        let text = service("web", None, &format!("port: 80\n    {line}"));
        let dir = repo(&[("app.yaml", &text)]);
        let (_, found) = check_json(dir.path(), &["--profile", "istio-0.2", "."]);
        let number = text.lines().position(|l| l.ends_with(&line)).expect("the line") + 1;
        let column = text.lines().nth(number - 1).and_then(|l| l.find("unnamed-service-port")).expect("rule") + 1;
        let places: Vec<(&str, usize, usize)> = found.iter().map(|d| (d.rule.as_str(), d.line, d.column)).collect();
        assert_eq!(places[1..], [("unused-suppression", number, column)], "{value}");
    }
    // On the finding's own line, after a quoted `#` and an apostrophe, it suppresses.
    let text = service("web", None, "{port: 80, appProtocol: \"it's # x\"} # meshlint: ignore[unnamed-service-port]");
    let dir = repo(&[("app.yaml", &text)]);
    let (_, found) = check_json(dir.path(), &["--profile", "istio-0.2", "."]);
    assert_eq!(rules_of(&found), Vec::<&str>::new());
}

#[test]
fn a_suppression_inside_a_scalar_over_several_lines_is_text() {
    // The second line of a quoted scalar folded over lines, and a line of a block scalar,
    // are part of the text: a `# meshlint: ignore[...]` there suppresses nothing and is
    // not reported. A real
    // comment after the scalar's end on its last line is read, from the scalar's end
    // (the `# x` before the closing quote is text).
    for value in [
        "\"a long\n      # meshlint: ignore[unnamed-service-port] text\"",
        "'a long\n      # meshlint: ignore[unnamed-service-port]'",
        "|\n      # meshlint: ignore[unnamed-service-port]\n      text",
    ] {
        let text = service("web", None, &format!("port: 80\n    appProtocol: {value}"));
        let dir = repo(&[("app.yaml", &text)]);
        let (_, found) = check_json(dir.path(), &["--profile", "istio-0.2", "."]);
        assert_eq!(rules_of(&found), ["unnamed-service-port"], "{text}");
    }
    // A comment after a block scalar's indicator is a comment (read, here unused).
    let text =
        service("web", None, "port: 80\n    appProtocol: | # meshlint: ignore[unnamed-service-port]\n      text");
    let dir = repo(&[("app.yaml", &text)]);
    let (_, found) = check_json(dir.path(), &["--profile", "istio-0.2", "."]);
    assert_eq!(rules_of(&found), ["unnamed-service-port", "unused-suppression"], "{text}");
    let text = service(
        "web",
        None,
        "port: 80\n    appProtocol: \"a long\n      text # x\" # meshlint: ignore[unnamed-service-port]",
    );
    let dir = repo(&[("app.yaml", &text)]);
    let (_, found) = check_json(dir.path(), &["--profile", "istio-0.2", "."]);
    let number = text.lines().position(|l| l.contains("# meshlint")).expect("the comment") + 1;
    let column = text.lines().nth(number - 1).and_then(|l| l.find("unnamed-service-port")).expect("rule") + 1;
    let places: Vec<(&str, usize, usize)> = found.iter().map(|d| (d.rule.as_str(), d.line, d.column)).collect();
    // The finding is at the port number, `- port: 80`, two lines above the comment.
    let port = text.lines().position(|l| l.ends_with("- port: 80")).expect("the port");
    let port_column = text.lines().nth(port).and_then(|l| l.find("80")).expect("80") + 1;
    assert_eq!(places, [("unnamed-service-port", port + 1, port_column), ("unused-suppression", number, column)]);
}

#[test]
fn a_suppression_comment_on_the_last_lines_of_a_file_is_unused() {
    // Nothing below it: no document, no line; reported, whatever follows it (nothing,
    // a line break, blank and comment lines).
    for tail in ["", "\n", "\n\n# end\n"] {
        let text = format!(
            "{}# meshlint: ignore[unnamed-service-port]{tail}",
            service("web", None, "name: http\n    port: 80")
        );
        let dir = repo(&[("app.yaml", &text)]);
        let (_, found) = check_json(dir.path(), &["--profile", "istio-0.2", "."]);
        assert_eq!(rules_of(&found), ["unused-suppression"], "{text:?}");
    }
}

#[test]
fn config_levels_apply_to_unused_suppression() {
    let manifest = service("web", None, "name: http # meshlint: ignore[unnamed-service-port]\n    port: 80");
    let off = repo(&[("app.yaml", &manifest), (".meshlint.yaml", "rules:\n  unused-suppression: off\n")]);
    assert_eq!(rules_of(&check_json(off.path(), &["."]).1), Vec::<&str>::new());
    let error = repo(&[("app.yaml", &manifest), (".meshlint.yaml", "rules:\n  unused-suppression: error\n")]);
    let (exit, found) = check_json(error.path(), &["."]);
    assert_eq!(found.iter().map(|d| d.severity.as_str()).collect::<Vec<_>>(), ["error"]);
    assert_eq!(exit, 1);
}

#[test]
fn config_ignore_objects_use_the_effective_namespace() {
    let config = "namespace: shop\nignore:\n  - objects: [\"Service/shop/web\"]\n";
    let dir = repo(&[("app.yaml", &service("web", None, "port: 80")), (".meshlint.yaml", config)]);
    let (_, found) = check_json(dir.path(), &["."]);
    assert_eq!(rules_of(&found), Vec::<&str>::new());
}

// ---------------------------------------------------------------------------------------
// Configuration

/// A Service (no namespace, an unnamed port) and a Deployment in `shop` it selects only
/// when objects without a namespace land in `shop`.
fn shop_manifest() -> String {
    format!("{}---\n{}", service("web", None, "port: 80"), deployment("web", Some("shop")))
}

#[test]
fn config_rule_levels_drop_or_raise_findings_and_the_exit_code() {
    let plain = repo(&[("app.yaml", &shop_manifest())]);
    let (exit, found) = check_json(plain.path(), &["--fail-on", "error", "."]);
    assert_eq!(rules_of(&found), ["unnamed-service-port", "pod-without-service"]);
    assert!(found.iter().all(|d| d.severity == "warning"));
    assert_eq!(exit, 0, "only warnings under --fail-on error");

    let config = "rules:\n  pod-without-service: off\n  unnamed-service-port: error\n";
    let configured = repo(&[("app.yaml", &shop_manifest()), (".meshlint.yaml", config)]);
    let (exit, found) = check_json(configured.path(), &["--fail-on", "error", "."]);
    assert_eq!(rules_of(&found), ["unnamed-service-port"], "off drops pod-without-service");
    assert_eq!(found[0].severity, "error", "error raises the warning");
    assert_eq!(exit, 1, "an error fails under --fail-on error");

    let config = "rules:\n  unnamed-service-port: info\n  pod-without-service: info\n";
    let lowered = repo(&[("app.yaml", &shop_manifest()), (".meshlint.yaml", config)]);
    let (exit, found) = check_json(lowered.path(), &["."]);
    assert_eq!(found.iter().map(|d| d.severity.as_str()).collect::<Vec<_>>(), ["info", "info"]);
    assert_eq!(exit, 0, "infos do not fail under the default --fail-on warning");
}

#[test]
fn config_fail_on_and_namespace_apply_and_flags_override_them() {
    let config = "namespace: shop\nfail-on: error\n";
    let dir = repo(&[("app.yaml", &shop_manifest()), (".meshlint.yaml", config)]);
    // The Service lands in `shop` and selects the Deployment; the warning does not fail.
    let (exit, found) = check_json(dir.path(), &["."]);
    assert_eq!(rules_of(&found), ["unnamed-service-port"]);
    assert_eq!(exit, 0, "fail-on: error from the configuration");
    // Flags win.
    let (exit, found) = check_json(dir.path(), &["--fail-on", "warning", "."]);
    assert_eq!((exit, rules_of(&found)), (1, vec!["unnamed-service-port"]));
    let (exit, found) = check_json(dir.path(), &["--namespace", "default", "."]);
    assert_eq!((exit, rules_of(&found)), (0, vec!["unnamed-service-port", "pod-without-service"]));
    // `--config` names another file, which replaces the discovered one.
    write(dir.path(), "other.yml.txt", "fail-on: info\n");
    let (exit, found) = check_json(dir.path(), &["--config", "other.yml.txt", "."]);
    assert_eq!((exit, rules_of(&found)), (1, vec!["unnamed-service-port", "pod-without-service"]));
}

#[test]
fn config_exclude_globs_skip_files() {
    let files = [
        ("app.yaml", service("web", None, "port: 80")),
        ("vendor/chart/svc.yaml", service("vendored", None, "port: 81")),
        ("deploy/gen.generated.yaml", service("generated", None, "port: 82")),
        ("deploy/kept.yaml", service("kept", None, "port: 83")),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let dir = repo(&files);
    let (_, all) = check_json(dir.path(), &["."]);
    let paths: BTreeSet<&str> = all.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths.len(), 4, "without excludes every file is reported: {paths:?}");
    write(dir.path(), ".meshlint.yaml", "exclude:\n  - vendor\n  - \"**/*.generated.yaml\"\n");
    let (_, found) = check_json(dir.path(), &["."]);
    let paths: Vec<&str> = found.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, ["app.yaml", "deploy/kept.yaml"]);
}

#[test]
fn config_mistakes_are_invalid_config_at_their_position() {
    let config = "\
profil: istio-0.2
namespace: [a, b]
rules:
  unamed-service-port: off
  pod-without-service: loud
fail-on: 3
ignore:
  - rules: [pod-without-service]
    object: [\"Deployment/*\"]
";
    let dir = repo(&[("app.yaml", &shop_manifest()), (".meshlint.yaml", config)]);
    let (exit, found) = check_json(dir.path(), &["."]);
    assert_eq!(exit, 1, "invalid-config is an error");
    let got: Vec<(usize, usize, usize, &str, Option<&str>)> = found
        .iter()
        .filter(|d| d.rule == "invalid-config")
        .map(|d| {
            assert!(d.path.ends_with(".meshlint.yaml"), "{d:?}");
            assert_eq!(d.severity, "error");
            (d.line, d.column, d.end_column, d.message.as_str(), d.help.as_deref())
        })
        .collect();
    assert_eq!(
        got,
        [
            (1, 1, 7, "unknown key `profil` in the meshlint configuration", Some("did you mean `profile`?")),
            (2, 12, 18, "expected a string in the meshlint configuration", None),
            (
                4,
                3,
                22,
                "unknown rule `unamed-service-port` in the meshlint configuration",
                Some("did you mean `unnamed-service-port`?")
            ),
            (5, 24, 28, "expected `off`, `info`, `warning` or `error` in the meshlint configuration", None),
            (6, 10, 11, "expected `error`, `warning` or `info` in the meshlint configuration", None),
            (9, 5, 11, "unknown key `object` in the meshlint configuration", Some("did you mean `objects`?")),
        ]
    );
    // The manifest is still checked, and the valid parts of the file still apply.
    assert!(found.iter().any(|d| d.rule == "unnamed-service-port" && d.path == "app.yaml"));
    assert!(!found.iter().any(|d| d.rule == "pod-without-service"), "the ignore entry's rules still apply");
}

/// A clean manifest and a configuration file that is not YAML.
fn broken_config_repo() -> TempDir {
    repo(&[("app.yaml", &service("web", None, "name: http\n    port: 80")), (".meshlint.yaml", "rules: [\n")])
}

#[test]
fn config_that_is_not_yaml_is_invalid_config_and_an_unreadable_one_an_error() {
    let dir = broken_config_repo();
    let (exit, found) = check_json(dir.path(), &["."]);
    let config: Vec<&Diag> = found.iter().filter(|d| d.rule == "invalid-config").collect();
    assert_eq!(config.len(), 1, "{found:?}");
    assert!(config[0].message.starts_with("the configuration is not valid YAML"), "{found:?}");
    assert_eq!((config[0].line, config[0].column), (2, 1));
    assert_eq!(exit, 1);
    let out = run_in(dir.path(), &["check", "--config", "missing.yaml", "."]);
    assert_eq!(code(&out), 2, "a --config that cannot be read is a tool error");
    assert!(stderr(&out).contains("missing.yaml"), "{}", stderr(&out));
}

#[test]
fn config_that_is_not_yaml_is_reported_once() {
    let dir = broken_config_repo();
    let (_, found) = check_json(dir.path(), &["."]);
    assert_eq!(rules_of(&found), ["invalid-config"]);
}

#[test]
fn a_discovered_config_is_shown_relative_to_the_working_directory() {
    let dir =
        repo(&[("app.yaml", &service("web", None, "name: http\n    port: 80")), (".meshlint.yaml", "profil: x\n")]);
    let (_, found) = check_json(dir.path(), &["."]);
    let paths: Vec<&str> = found.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, [".meshlint.yaml"]);
}

#[test]
fn config_is_found_from_a_subdirectory_up_to_the_repository_root_and_not_above() {
    let off = "rules:\n  unnamed-service-port: off\n";
    let manifest = service("web", None, "port: 80");
    // In the repository root, found from two levels below.
    let inside = repo(&[("sub/app.yaml", &manifest), (".meshlint.yaml", off)]);
    std::fs::create_dir_all(inside.path().join("sub/deep")).expect("mkdir");
    let (_, found) = check_json(&inside.path().join("sub/deep"), &[".."]);
    assert_eq!(rules_of(&found), Vec::<&str>::new(), "the root's configuration applies");
    // Above the repository root: not found.
    let outer = tempfile::tempdir().expect("tempdir");
    write(outer.path(), ".meshlint.yaml", off);
    write(outer.path(), "repo/sub/app.yaml", &manifest);
    std::fs::create_dir_all(outer.path().join("repo/.git")).expect("mkdir .git");
    std::fs::create_dir_all(outer.path().join("repo/sub/deep")).expect("mkdir");
    let (_, found) = check_json(&outer.path().join("repo/sub/deep"), &[".."]);
    assert_eq!(rules_of(&found), ["unnamed-service-port"], "a configuration above the root is not used");
    // The same file does apply from a directory beside it.
    let (_, found) = check_json(outer.path(), &["repo"]);
    assert_eq!(rules_of(&found), Vec::<&str>::new());
}

// ---------------------------------------------------------------------------------------
// Baselines

const BASELINE_APP: &str = "\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - port: 80
  - name: http2foo
    port: 81
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
spec:
  selector:
    matchLabels:
      app: worker
  template:
    metadata:
      labels:
        app: worker
    spec:
      containers:
      - name: worker
        image: nginx:1.13
";

fn baseline_fingerprints(path: &Path) -> Vec<String> {
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("baseline written")).expect("JSON");
    file["findings"].as_array().expect("findings").iter().map(|f| text(f, "fingerprint")).collect()
}

#[test]
fn a_baseline_hides_known_findings_through_line_shifts_and_reports_new_ones() {
    let dir = repo(&[("manifests/app.yaml", BASELINE_APP)]);
    let d = dir.path();
    let (exit, before) = check_json(d, &["manifests"]);
    assert_eq!(exit, 1);
    assert_eq!(rules_of(&before), ["unnamed-service-port", "unknown-port-protocol", "pod-without-service"]);

    let out = run_in(d, &["check", "--write-baseline", "b.json", "manifests"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "writing a baseline prints no report");
    assert_eq!(baseline_fingerprints(&d.join("b.json")).len(), 3);
    for format in FORMATS {
        let out = run_in(d, &["check", "--format", format, "--baseline", "b.json", "manifests"]);
        assert_eq!(code(&out), 0, "--format {format}: {}", stderr(&out));
    }
    let (exit, found) = check_json(d, &["--baseline", "b.json", "manifests"]);
    assert_eq!((exit, found), (0, vec![]));

    // Lines inserted above the findings: comments and an unrelated Service.
    let shifted = format!(
        "# The web tier.\n# Owned by the platform team.\n{}---\n{BASELINE_APP}",
        service("unrelated", None, "name: http\n    port: 8080")
    );
    write(d, "manifests/app.yaml", &shifted);
    let (exit, found) = check_json(d, &["--baseline", "b.json", "manifests"]);
    assert_eq!((exit, rule_lines(&found)), (0, vec![]), "shifted findings are still known");
    let (_, all) = check_json(d, &["manifests"]);
    assert_eq!(all.len(), 3, "without the baseline the shifted findings are reported");
    assert!(all.iter().all(|f| f.line > 20), "{all:?}");

    // A new violation: exactly that one is reported.
    let with_new = format!("{shifted}---\n{}", service("api", None, "port: 9090"));
    write(d, "manifests/app.yaml", &with_new);
    let (exit, found) = check_json(d, &["--baseline", "b.json", "manifests"]);
    assert_eq!(exit, 1);
    assert_eq!(rules_of(&found), ["unnamed-service-port"]);
    assert!(found[0].message.contains("Service `api`"), "{found:?}");

    // Fix the web Service's unnamed port and rewrite: its entry is gone, the new one added.
    write(d, "manifests/app.yaml", &with_new.replace("  - port: 80\n", "  - name: http-web\n    port: 80\n"));
    let out = run_in(d, &["check", "--write-baseline", "b.json", "manifests"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let prints = baseline_fingerprints(&d.join("b.json"));
    assert_eq!(
        prints,
        [
            "pod-without-service|Deployment/default/worker|spec.template.metadata.labels.app",
            "unknown-port-protocol|Service/default/web|spec.ports[name=http2foo].name",
            "unnamed-service-port|Service/default/api|spec.ports[0].port",
        ]
    );
    let (exit, found) = check_json(d, &["--baseline", "b.json", "manifests"]);
    assert_eq!((exit, found), (0, vec![]));
}

#[test]
fn a_baseline_that_is_not_one_is_a_tool_error() {
    let dir = repo(&[("app.yaml", BASELINE_APP), ("b.txt", "{\"not\": \"a baseline\"}")]);
    let out = run_in(dir.path(), &["check", "--baseline", "b.txt", "app.yaml"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("not a meshlint baseline"), "{}", stderr(&out));
}

// ---------------------------------------------------------------------------------------
// Completions, pre-commit, progress

#[test]
fn completions_print_a_script_for_each_shell() {
    for (shell, marker) in [("bash", "complete "), ("zsh", "#compdef meshlint"), ("fish", "complete -c meshlint")] {
        let out = run_in(root(), &["completions", shell]);
        assert_eq!(code(&out), 0, "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(script.contains("meshlint"), "{shell}: {script}");
        assert!(script.contains(marker), "{shell} script lacks {marker:?}");
        assert!(script.contains("check"), "{shell} completes the subcommands");
    }
    let out = run_in(root(), &["completions", "tcsh"]);
    assert_eq!(code(&out), 2, "an unknown shell is a usage error");
}

#[test]
fn pre_commit_hooks_run_meshlint_check() {
    let text = std::fs::read_to_string(root().join(".pre-commit-hooks.yaml")).expect("hooks file");
    let stream = meshlint::yaml::parse_stream(&text);
    assert!(stream.errors.is_empty(), "{:?}", stream.errors);
    assert_eq!(stream.documents.len(), 1);
    let hooks = stream.documents[0].root();
    assert!(hooks.is_seq(), "the hooks file is a list");
    let entry = hooks.items().find(|h| h.get("id").and_then(|n| n.as_str()) == Some("meshlint")).expect("id meshlint");
    let field = |key: &str| entry.get(key).and_then(|n| n.as_str()).unwrap_or_else(|| panic!("`{key}` is a string"));
    assert_eq!(field("language"), "rust");
    assert!(field("entry").starts_with("meshlint check"), "{}", field("entry"));
    assert!(!field("name").is_empty());
    for hook in hooks.items() {
        for key in ["id", "name", "entry", "language"] {
            assert!(hook.get(key).and_then(|n| n.as_str()).is_some(), "every hook has `{key}`");
        }
    }
}

#[test]
fn piped_machine_formats_leave_stderr_empty_on_a_clean_run() {
    for format in FORMATS {
        let out = run_in(root(), &["check", "--no-context", "--format", format, "fixtures/trees/clean"]);
        assert_eq!(code(&out), 0, "--format {format}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "--format {format}");
    }
    let out = run_in(root(), &["check", "--no-context", "--format", "json", "fixtures/trees/clean"]);
    assert_eq!(json_of(&out)["diagnostics"], json!([]));
}
