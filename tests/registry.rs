//! Istio's registry of annotations and labels, as meshlint embeds it: the same files as
//! the reference, every registered name known, misspellings given the closest name,
//! misplaced and deprecated annotations reported with istioctl's codes (modern only).

mod common;

use serde_json::Value;

fn reference(name: &str) -> String {
    std::fs::read_to_string(common::shared().join("reference/istio-api").join(name)).expect("reference file")
}

/// (key, istio code, help) of the `istio-annotation` findings for `text`.
fn findings(text: &str, profile: &str) -> Vec<(String, String, String)> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.yaml"), text).unwrap();
    let output = common::meshlint_in(dir.path())
        .args(["check", "--format", "json", "--profile", profile, "m.yaml"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let source = text.to_owned();
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["rule"] == "istio-annotation")
        .map(|d| {
            let line = source.lines().nth(d["line"].as_u64().unwrap() as usize - 1).unwrap();
            let key = line.trim().split(':').next().unwrap().trim_matches('"').to_owned();
            (key, d["istio_code"].as_str().unwrap_or("-").to_owned(), d["help"].as_str().unwrap_or("").to_owned())
        })
        .collect()
}

/// Registered names of a registry file (`  - name: X` lines), read without meshlint.
fn names(text: &str) -> Vec<String> {
    text.lines().filter_map(|l| l.strip_prefix("  - name: ")).map(|n| n.trim().to_owned()).collect()
}

fn pod(annotations: &[String], labels: &[String]) -> String {
    let mut text = String::from("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: shop\n");
    if !labels.is_empty() {
        text.push_str("  labels:\n");
        for l in labels {
            text.push_str(&format!("    {l}: \"x\"\n"));
        }
    }
    if !annotations.is_empty() {
        text.push_str("  annotations:\n");
        for a in annotations {
            text.push_str(&format!("    {a}: \"x\"\n"));
        }
    }
    text.push_str("spec:\n  containers:\n  - name: c\n    image: c:1\n");
    text
}

#[test]
fn the_embedded_registry_is_the_references() {
    for name in ["annotations.yaml", "labels.yaml"] {
        let embedded = std::fs::read_to_string(common::root().join("data/istio").join(name)).unwrap();
        assert_eq!(embedded, reference(name), "{name}");
    }
}

#[test]
fn every_registered_name_is_known() {
    let annotations = names(&reference("annotations.yaml"));
    let labels = names(&reference("labels.yaml"));
    assert!(annotations.len() > 60 && labels.len() > 20, "{} {}", annotations.len(), labels.len());
    let found = findings(&pod(&annotations, &labels), "istio-modern");
    let unknown: Vec<_> = found.iter().filter(|(_, code, _)| code == "IST0108").collect();
    assert!(unknown.is_empty(), "{unknown:#?}");
}

#[test]
fn a_misspelt_name_gets_the_closest_one() {
    let text = pod(&["sidecar.istio.io/injet".into(), "proxy.istio.io/confg".into()], &["istio.io/rve".into()]);
    let found = findings(&text, "istio-modern");
    let want = [
        ("istio.io/rve", "IST0108", "did you mean `istio.io/rev`?"),
        ("sidecar.istio.io/injet", "IST0108", "did you mean `sidecar.istio.io/inject`?"),
        ("proxy.istio.io/confg", "IST0108", "did you mean `proxy.istio.io/config`?"),
    ];
    let want: Vec<(String, String, String)> =
        want.iter().map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned())).collect();
    assert_eq!(found, want);
}

#[test]
fn misplaced_and_deprecated_annotations_have_istioctls_codes() {
    // A Pod annotation on a Deployment's own metadata and on a Namespace: IST0107.
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  namespace: shop\n  annotations:\n    sidecar.istio.io/proxyCPU: 100m\nspec:\n  selector:\n    matchLabels:\n      app: d\n  template:\n    metadata:\n      labels:\n        app: d\n      annotations:\n        sidecar.istio.io/proxyMemory: 128Mi\n    spec:\n      containers:\n      - name: d\n        image: d:1\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  annotations:\n    sidecar.istio.io/proxyCPU: 100m\n";
    let found = findings(deployment, "istio-modern");
    let codes: Vec<(&str, &str)> = found.iter().map(|(k, c, _)| (k.as_str(), c.as_str())).collect();
    assert_eq!(codes, [("sidecar.istio.io/proxyCPU", "IST0107"), ("sidecar.istio.io/proxyCPU", "IST0107")]);
    assert_eq!(found[0].2, "move it to the pod template's `metadata.annotations`");
    // A Service annotation (the reference lists only `Service` for `exportTo`) on a
    // Deployment: it goes to the Service, not to the pods.
    let exported = deployment
        .split("---")
        .next()
        .unwrap()
        .replace("sidecar.istio.io/proxyCPU: 100m", "networking.istio.io/exportTo: \".\"");
    let found = findings(&exported, "istio-modern");
    assert_eq!(
        found,
        [(
            "networking.istio.io/exportTo".to_owned(),
            "IST0107".to_owned(),
            "move it to the Service it configures".to_owned()
        )]
    );
    // A deprecated annotation on a bare Pod: IST0135.
    let found = findings(&pod(&["sidecar.istio.io/statsInclusionPrefixes".into()], &[]), "istio-modern");
    assert_eq!(
        found.iter().map(|(k, c, _)| (k.as_str(), c.as_str())).collect::<Vec<_>>(),
        [("sidecar.istio.io/statsInclusionPrefixes", "IST0135")]
    );
}

#[test]
fn the_0_2_profile_does_not_apply_the_modern_registry() {
    let text = pod(&["sidecar.istio.io/injet".into(), "sidecar.istio.io/statsInclusionPrefixes".into()], &[]);
    assert!(findings(&text, "istio-0.2").is_empty());
}

#[test]
fn registry_findings_have_istioctls_levels_and_name_their_object() {
    let text = pod(&["sidecar.istio.io/injet".into(), "sidecar.istio.io/statsInclusionPrefixes".into()], &[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.yaml"), &text).unwrap();
    let output = common::meshlint_in(dir.path())
        .args(["check", "--format", "json", "--profile", "istio-modern", "m.yaml"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let levels: Vec<(String, String, String)> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["rule"] == "istio-annotation")
        .map(|d| {
            (
                d["istio_code"].as_str().unwrap().to_owned(),
                d["severity"].as_str().unwrap().to_owned(),
                d["object"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want = [("IST0108", "warning", "p"), ("IST0135", "info", "p")];
    let want: Vec<(String, String, String)> =
        want.iter().map(|(a, b, c)| ((*a).into(), (*b).into(), (*c).into())).collect();
    assert_eq!(levels, want);
}
