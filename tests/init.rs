//! `meshlint init` writes a configuration that explains itself: the profile it detects and
//! why, the namespaces kustomizations give, the folders whose objects name none; and the
//! file it writes is a valid configuration that meshlint reads without a mistake.

mod common;

use std::path::Path;

fn copy_tree(from: &Path, to: &Path) {
    common::copy_tree(from, to);
    // The fixture's own configuration is what `init` would write: start without it.
    std::fs::remove_file(to.join(".meshlint.yaml")).ok();
}

/// `meshlint init` in a copy of a fixture tree: the file it wrote.
fn init(fixture: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&common::root().join(fixture), dir.path());
    let output = common::meshlint_in(dir.path()).arg("init").output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let text = std::fs::read_to_string(dir.path().join(".meshlint.yaml")).unwrap();
    let config = meshlint::config::Config::parse(&text, dir.path().to_owned());
    assert!(config.problems.is_empty(), "{:?}\n{text}", config.problems);
    // A second run does not overwrite it; --force does.
    let again = common::meshlint_in(dir.path()).arg("init").output().unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert_eq!(common::meshlint_in(dir.path()).args(["init", "--force"]).output().unwrap().status.code(), Some(0));
    text
}

#[test]
fn a_0_2_repository_gets_the_0_2_profile_and_why() {
    let text = init("examples/shop");
    assert!(text.contains("\nprofile: istio-0.2\n"), "{text}");
    assert!(text.contains("# Detected: the 0.2 initializer's `istio-inject` ConfigMap at "), "{text}");
}

#[test]
fn a_modern_repository_gets_the_modern_profile() {
    let text = init("fixtures/repos/profile-virtualservice");
    assert!(text.contains("\nprofile: istio-modern\n"), "{text}");
    assert!(text.contains("VirtualService"), "{text}");
}

#[test]
fn a_repository_with_no_evidence_says_the_default() {
    let text = init("fixtures/repos/paths");
    assert!(text.contains("Istio 0.2 is the default") && text.contains("\nprofile: istio-0.2\n"), "{text}");
    // Its apps name no namespace: a commented map to fill in.
    assert!(text.contains("#   \"apps/shop/**\": shop    # 2 objects"), "{text}");
    assert!(text.contains("#   \"apps/travel/**\": travel    # 2 objects"), "{text}");
}

#[test]
fn kustomize_namespaces_are_listed() {
    let text = init("fixtures/repos/kustomize");
    assert!(text.contains("#   bases/backend -> dev, production, staging"), "{text}");
    assert!(text.contains("#   bases/common -> dev, production, staging"), "{text}");
}
