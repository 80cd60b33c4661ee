//! `inject-annotation-value`: `sidecar.istio.io/inject` with a value other than
//! `"true"` or `"false"`.

use super::{Context, Sink};
use crate::istio::decide::{INJECT_ANNOTATION, annotation_injects};
use crate::yaml::ScalarType;

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    for object in cx.definitions() {
        let Some(value) = object.annotations().and_then(|a| a.get(INJECT_ANNOTATION)) else { continue };
        let Some(raw) = value.scalar() else { continue };
        // A non-string value is `non-string-annotation`'s finding.
        if raw == "true" || raw == "false" || value.k8s_type() != Some(ScalarType::Str) {
            continue;
        }
        let effect = if annotation_injects(raw) { "injects the sidecar" } else { "does not inject the sidecar" };
        let d = sink.report(
            object,
            value.span(),
            format!("`{INJECT_ANNOTATION}: \"{raw}\"` is neither \"true\" nor \"false\": Istio 0.2 {effect}"),
        );
        d.primary.message = format!("Istio reads this as {}", if annotation_injects(raw) { "true" } else { "false" });
        let want = if annotation_injects(raw) { "true" } else { "false" };
        d.help = Some(format!("write `{INJECT_ANNOTATION}: \"{want}\"`"));
    }
}
