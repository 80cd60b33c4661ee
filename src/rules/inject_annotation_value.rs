//! `inject-annotation-value`: `sidecar.istio.io/inject` with a value other than
//! `"true"` or `"false"`.

use super::{Context, Sink};
use crate::istio::Profile;
use crate::istio::decide::{INJECT_ANNOTATION, annotation_injects};
use crate::istio::modern::{self, Value, Version};
use crate::model::PodTemplate;
use crate::yaml::{NodeRef, ScalarType};

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    if cx.profile == Profile::Modern {
        return check_modern(cx, sink);
    }
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

fn describe(v: Value) -> &'static str {
    match v {
        Value::Yes => "injects",
        Value::No => "does not inject",
        Value::Unset => "ignores the value (unset: the namespace and policy decide)",
    }
}

/// Modern Istio reads the label and annotation of the pod template; 1.20-1.26 accept
/// `y`, `yes`, `on` (any case) as yes and everything else as no, 1.27+ only `true` and
/// `false`, treating anything else as unset. Report values where the two differ.
fn check_modern(cx: &Context<'_>, sink: &mut Sink) {
    let old = Version { major: 1, minor: 26 };
    let new = Version { major: 1, minor: 27 };
    for object in cx.definitions() {
        let Some(template) = PodTemplate::of(object) else { continue };
        let places = [("label", template.labels()), ("annotation", template.annotations())];
        for (what, map) in places {
            let Some(value) = map.and_then(|m| m.get(modern::INJECT_LABEL)) else { continue };
            let Some(raw) = value.scalar().filter(|_| value.k8s_type() == Some(ScalarType::Str)) else { continue };
            if raw == "true" || raw == "false" {
                continue;
            }
            let (before, after) = (modern::read_value(raw, old), modern::read_value(raw, new));
            report_modern(sink, object, value, what, raw, before, after, cx.modern.version);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn report_modern(
    sink: &mut Sink,
    object: &crate::model::Object<'_>,
    value: NodeRef<'_>,
    what: &str,
    raw: &str,
    before: Value,
    after: Value,
    version: Version,
) {
    let d = sink.report(
        object,
        value.span(),
        format!(
            "pod {what} `{}: \"{raw}\"` is neither \"true\" nor \"false\": Istio 1.20-1.26 {}; Istio 1.27 and later {}",
            modern::INJECT_LABEL,
            describe(before),
            describe(after)
        ),
    );
    let now = modern::read_value(raw, version);
    d.primary.message = format!("Istio {version} {}", describe(now));
    let want = if before == Value::Yes { "true" } else { "false" };
    d.help = Some(format!("write `{}: \"{want}\"`", modern::INJECT_LABEL));
}
