//! Every `istioctl analyze` code meshlint emits exists in Istio's own message table
//! (`../shared/reference/istio-api/messages.yaml`) with the name and level meshlint gives
//! it, and every rule that carries a code under the modern profile reports at that level.

mod common;

use meshlint::diag::Severity;
use meshlint::istio::{ANALYZER_MESSAGES, Profile};
use meshlint::rules::RULES;

/// (code, name, level) of every message in Istio's table, read with meshlint's parser.
fn istio_messages() -> Vec<(String, String, String)> {
    let text =
        std::fs::read_to_string(common::shared().join("reference/istio-api/messages.yaml")).expect("messages.yaml");
    let stream = meshlint::yaml::parse_stream(&text);
    let root = stream.documents[0].root();
    root.get("messages")
        .expect("messages")
        .items()
        .map(|m| {
            let field = |k: &str| m.get(k).and_then(|v| v.scalar()).unwrap_or_default().to_owned();
            (field("code"), field("name"), field("level"))
        })
        .collect()
}

fn level_name(s: Severity) -> &'static str {
    match s {
        Severity::Error => "Error",
        Severity::Warning => "Warning",
        Severity::Info => "Info",
    }
}

#[test]
fn meshlints_table_matches_istios() {
    let istio = istio_messages();
    assert!(istio.len() > 50, "the table is read: {} messages", istio.len());
    for (code, name, level) in ANALYZER_MESSAGES {
        let found =
            istio.iter().find(|(c, _, _)| c == code).unwrap_or_else(|| panic!("{code} is not an istioctl code"));
        assert_eq!((found.1.as_str(), found.2.as_str()), (*name, level_name(*level)), "{code}");
    }
}

#[test]
fn every_code_a_rule_carries_is_in_the_table_and_sets_its_level() {
    for rule in RULES {
        if let Some(code) = Profile::Modern.istio_code(rule.name) {
            let level = meshlint::istio::analyzer_level(code)
                .unwrap_or_else(|| panic!("{}: {code} not in the table", rule.name));
            assert_eq!(Profile::Modern.level(rule.name), Some(level), "{}", rule.name);
        }
        assert_eq!(Profile::Istio02.level(rule.name), None, "{}: 0.2 keeps the rule's own level", rule.name);
    }
}

#[test]
fn a_modern_port_finding_is_info_and_a_0_2_one_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 9000\n",
    )
    .unwrap();
    for (profile, want) in [("istio-0.2", "warning"), ("istio-modern", "info")] {
        let output = common::meshlint_in(dir.path())
            .args(["check", "--format", "json", "--profile", profile, "s.yaml"])
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let d = &report["diagnostics"][0];
        assert_eq!(
            (d["rule"].as_str(), d["severity"].as_str()),
            (Some("unnamed-service-port"), Some(want)),
            "{profile}"
        );
    }
}
