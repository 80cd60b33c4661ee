//! The rule documentation in `rules/<name>.md`: every registered rule has one, with the
//! four fixed sections, and its examples are executed through the library: *Example*
//! must trigger the rule and *Use instead* must not. No doc may exist without its rule.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use meshlint::config::Config;
use meshlint::engine::{self, ContextMode, Input, Options};
use meshlint::rules::{RULES, Rule};

const SECTIONS: [&str; 4] = ["What it does", "Why is this bad?", "Example", "Use instead"];

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")
}

/// The `## ` sections of a doc, in order, with their bodies.
fn sections(doc: &str) -> Vec<(&str, String)> {
    let mut out: Vec<(&str, String)> = Vec::new();
    for line in doc.lines() {
        if let Some(title) = line.strip_prefix("## ") {
            out.push((title.trim(), String::new()));
        } else if let Some((_, body)) = out.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out
}

/// The ```` ```yaml ```` blocks of a section body.
fn yaml_blocks(body: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in body.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```yaml") => current = Some(String::new()),
            (Some(_), "```") => blocks.push(current.take().expect("inside a block")),
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "unterminated code block in:\n{body}");
    blocks
}

/// The problems of one rule's doc, empty when it is complete.
fn doc_problems(rule: &Rule) -> Vec<String> {
    let mut problems = Vec::new();
    let path = docs_dir().join(format!("{}.md", rule.name));
    match std::fs::read_to_string(&path) {
        Ok(on_disk) if on_disk == rule.doc => {}
        Ok(_) => problems.push("the embedded doc differs from the file on disk".to_owned()),
        Err(e) => problems.push(format!("cannot read {}: {e}", path.display())),
    }
    let title = format!("# {}", rule.name);
    if rule.doc.lines().next() != Some(title.as_str()) {
        problems.push(format!("first line is not `{title}`"));
    }
    let found = sections(rule.doc);
    let titles: Vec<&str> = found.iter().map(|(t, _)| *t).collect();
    if titles != SECTIONS {
        problems.push(format!("sections are {titles:?}, expected {SECTIONS:?}"));
    }
    for (title, body) in &found {
        if body.trim().is_empty() {
            problems.push(format!("section `{title}` is empty"));
        }
    }
    for title in ["Example", "Use instead"] {
        let blocks = found.iter().find(|(t, _)| *t == title).map(|(_, b)| yaml_blocks(b)).unwrap_or_default();
        if blocks.len() != 1 {
            problems.push(format!("section `{title}` has {} yaml blocks, expected 1", blocks.len()));
        }
    }
    problems
}

/// The one yaml block of a section.
fn block(rule: &Rule, title: &str) -> String {
    let (_, body) = sections(rule.doc).into_iter().find(|(t, _)| *t == title).expect("section exists");
    yaml_blocks(&body).pop().expect("one yaml block")
}

/// Rule names reported for `text` saved as a manifest file.
fn rules_reported(text: &str) -> Vec<&'static str> {
    rules_reported_as(text, None)
}

/// Rule names reported for `text` saved as a manifest file, under a profile.
fn rules_reported_as(text: &str, profile: Option<meshlint::istio::Profile>) -> Vec<&'static str> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("example.yaml");
    std::fs::write(&path, text).expect("write example");
    let mut options = Options::new(vec![Input::Path(path)]);
    options.context = ContextMode::Off;
    options.profile = profile;
    let report = engine::check(&options);
    assert!(report.errors.is_empty(), "tool errors: {:?}", report.errors);
    assert_eq!(report.files.len(), 1);
    report.diagnostics.iter().map(|d| d.rule).collect()
}

/// Rule names reported for a section's example of `rule`.
fn rules_reported_by_example(rule: &Rule, title: &str) -> Vec<&'static str> {
    let text = block(rule, title);
    // Special case: the examples of `invalid-config` are meshlint configuration files,
    // not manifests. Run them as `--config` over a trivial manifest instead.
    if rule.name == "invalid-config" {
        return rules_reported_with_config(&text);
    }
    // `templates-only` is about a folder: run its examples as a folder's one file.
    if rule.name == "templates-only" {
        return rules_reported_in_folder(&text);
    }
    // The rendering rules are about a chart: run their examples as a chart's template,
    // with the real helm, except for the Example of `not-rendered` (no helm).
    if rule.name == "not-rendered" {
        return rules_reported_in_chart(&text, title != "Example");
    }
    if rule.name == "render-failed" {
        return rules_reported_in_chart(&text, true);
    }
    rules_reported(&text)
}

/// Rule names reported for `text` saved as the one file of a folder that is named.
fn rules_reported_in_folder(text: &str) -> Vec<&'static str> {
    let dir = tempfile::tempdir().expect("tempdir");
    let chart = dir.path().join("chart");
    std::fs::create_dir(&chart).expect("mkdir");
    std::fs::write(chart.join("deployment.yaml"), text).expect("write example");
    let mut options = Options::new(vec![Input::Path(chart)]);
    options.context = ContextMode::Off;
    let report = engine::check(&options);
    assert!(report.errors.is_empty(), "tool errors: {:?}", report.errors);
    report.diagnostics.iter().map(|d| d.rule).collect()
}

/// Rule names reported for `text` as the one template of a chart (with `enabled: true`
/// in its values), rendered with the helm that scripts/tools installs, or with none.
fn rules_reported_in_chart(text: &str, with_helm: bool) -> Vec<&'static str> {
    let dir = tempfile::tempdir().expect("tempdir");
    let chart = dir.path().join("chart");
    std::fs::create_dir_all(chart.join("templates")).expect("mkdir");
    std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: web\nversion: 0.1.0\n").expect("Chart.yaml");
    std::fs::write(chart.join("values.yaml"), "enabled: true\n").expect("values.yaml");
    std::fs::write(chart.join("templates/web.yaml"), text).expect("write example");
    let mut options = Options::new(vec![Input::Path(chart)]);
    options.context = ContextMode::Off;
    if with_helm {
        options.tools.helm = Some(common::tools().join("helm"));
    }
    let report = engine::check(&options);
    assert!(report.errors.is_empty(), "tool errors: {:?}", report.errors);
    report.diagnostics.iter().map(|d| d.rule).collect()
}

/// Rule names reported for a trivial manifest checked with `config_text` as the
/// meshlint configuration file (what `--config FILE` does).
fn rules_reported_with_config(config_text: &str) -> Vec<&'static str> {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = dir.path().join("manifest.yaml");
    std::fs::write(&manifest, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: trivial\ndata:\n  a: b\n")
        .expect("write manifest");
    let config_path = dir.path().join("meshlint-config.yaml");
    std::fs::write(&config_path, config_text).expect("write config");
    let mut options = Options::new(vec![Input::Path(manifest)]);
    options.context = ContextMode::Off;
    options.config = Config::load(&config_path).expect("config readable");
    let report = engine::check(&options);
    assert!(report.errors.is_empty(), "tool errors: {:?}", report.errors);
    report.diagnostics.iter().map(|d| d.rule).collect()
}

#[test]
fn every_rule_has_a_doc_with_the_four_sections() {
    let problems: Vec<String> = RULES
        .iter()
        .flat_map(|rule| doc_problems(rule).into_iter().map(move |p| format!("{}: {p}", rule.name)))
        .collect();
    assert!(problems.is_empty(), "incomplete rule docs:\n{}", problems.join("\n"));
}

#[test]
fn example_triggers_the_rule_and_use_instead_does_not() {
    let mut problems = Vec::new();
    for rule in RULES.iter().filter(|r| doc_problems(r).is_empty()) {
        let example = rules_reported_by_example(rule, "Example");
        if !example.contains(&rule.name) {
            problems.push(format!("{}: Example does not trigger it (reported: {example:?})", rule.name));
        }
        let fixed = rules_reported_by_example(rule, "Use instead");
        if fixed.contains(&rule.name) {
            problems.push(format!("{}: Use instead triggers it", rule.name));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_examples_of_the_loading_rules_report_exactly_their_rule() {
    // The parse-level rules stop everything else: nothing but the rule itself may fire.
    for name in ["invalid-yaml", "template-skipped"] {
        let rule = meshlint::rules::find(name).expect("registered");
        assert_eq!(rules_reported(&block(rule, "Example")), [name], "{name}");
        assert_eq!(rules_reported(&block(rule, "Use instead")), Vec::<&str>::new(), "{name}");
    }
}

#[test]
fn a_rule_that_does_not_run_under_a_profile_never_fires_there() {
    use meshlint::istio::Profile;
    for rule in RULES.iter().filter(|r| r.check.is_some() && !["invalid-config", "templates-only"].contains(&r.name)) {
        for profile in [Profile::Istio02, Profile::Modern] {
            if !meshlint::rules::runs_under(rule, profile) {
                let reported = rules_reported_as(&block(rule, "Example"), Some(profile));
                assert!(!reported.contains(&rule.name), "{} fired under {}", rule.name, profile.name());
            }
        }
    }
}

#[test]
fn every_doc_belongs_to_a_registered_rule() {
    let registered: BTreeSet<&str> = RULES.iter().map(|r| r.name).collect();
    let mut docs = BTreeSet::new();
    for entry in std::fs::read_dir(docs_dir()).expect("rules/ exists") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            docs.insert(path.file_stem().expect("stem").to_string_lossy().into_owned());
        }
    }
    let orphans: Vec<&String> = docs.iter().filter(|d| !registered.contains(d.as_str())).collect();
    assert!(orphans.is_empty(), "docs without a rule: {orphans:?}");
    assert_eq!(docs.len(), RULES.len(), "one doc per rule");
}

#[test]
fn the_doc_helpers_find_sections_and_blocks() {
    let doc = "# r\n\n## What it does\n\nx\n\n## Example\n\n```yaml\na: 1\n```\n\ntext\n\n```yaml\nb: 2\n```\n";
    let found = sections(doc);
    assert_eq!(found.iter().map(|(t, _)| *t).collect::<Vec<_>>(), ["What it does", "Example"]);
    assert_eq!(yaml_blocks(&found[1].1), ["a: 1\n", "b: 2\n"]);
}

#[test]
fn the_invalid_config_example_reports_exactly_its_mistakes() {
    // Run as a configuration file: the misspelt key and the misspelt rule, nothing else.
    let rule = meshlint::rules::find("invalid-config").expect("registered");
    assert_eq!(rules_reported_with_config(&block(rule, "Example")), ["invalid-config", "invalid-config"]);
    assert_eq!(rules_reported_with_config(&block(rule, "Use instead")), Vec::<&str>::new());
}

#[test]
fn the_unused_suppression_example_fires_as_written() {
    let rule = meshlint::rules::find("unused-suppression").expect("registered");
    assert_eq!(rules_reported(&block(rule, "Example")), ["unused-suppression"]);
    assert_eq!(rules_reported(&block(rule, "Use instead")), Vec::<&str>::new());
}
