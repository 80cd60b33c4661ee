//! `missing-api-version`: an object with `kind` and a named `metadata` but no
//! `apiVersion`, which `kubectl apply` rejects. The rest of the object is still checked.

use super::{Context, Sink};

/// Keys a Kubernetes object has at its top level besides `apiVersion`.
const OBJECT_KEYS: &[&str] = &[
    "kind",
    "metadata",
    "spec",
    "status",
    "data",
    "binaryData",
    "stringData",
    "type",
    "items",
    "rules",
    "subjects",
    "roleRef",
    "webhooks",
    "immutable",
    "secrets",
    "imagePullSecrets",
    "automountServiceAccountToken",
];

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    for object in cx.index.objects.iter().filter(|o| o.missing_api_version) {
        let kind = object.kind;
        // Written but empty or null (at the value, or at the key when there is none); a
        // key that reads like a misspelling of it; or nothing, at the kind.
        let (span, label, missing, help) = if let Some((key, value)) = object.node.get_entry("apiVersion") {
            let span = if value.span().is_empty() { key.span() } else { value.span() };
            (span, "no API version", "an empty", format!("set the `apiVersion` of `{kind}` (e.g. `v1` or `apps/v1`)"))
        } else if let Some((key, name)) = object
            .node
            .entries()
            .find_map(|(k, _)| k.scalar().filter(|k| looks_like_api_version(k)).map(|name| (k, name)))
        {
            (key.span(), "did you mean `apiVersion`?", "no", format!("rename `{name}` to `apiVersion`"))
        } else {
            let help = format!("add the `apiVersion` of `{kind}` (e.g. `v1` or `apps/v1`)");
            (object.kind_span(), "no `apiVersion` beside this `kind`", "no", help)
        };
        let d = sink.report(
            object,
            span,
            format!("{} has {missing} `apiVersion`: `kubectl apply` rejects it", object.display_name()),
        );
        d.primary.message = label.into();
        d.help = Some(help);
    }
}

/// A top-level key that is probably a misspelt `apiVersion`: not one of an object's
/// other keys, and close to it (case, a missing prefix, a typo). (`apiVersion` itself is
/// never asked about: an object with that key is reported as having it empty.)
fn looks_like_api_version(key: &str) -> bool {
    if OBJECT_KEYS.contains(&key) {
        return false;
    }
    let lower = key.to_ascii_lowercase();
    lower.contains("version") || crate::istio::config::did_you_mean(key, &["apiVersion"]).is_some()
}
