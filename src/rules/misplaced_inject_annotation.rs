//! `misplaced-inject-annotation`: `sidecar.istio.io/inject` where the 0.2 initializer
//! never reads it.

use super::{Context, Sink};
use crate::istio::decide::INJECT_ANNOTATION;
use crate::model::PodTemplate;

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    if cx.profile == crate::istio::Profile::Modern {
        return check_modern(cx, sink);
    }
    for object in cx.definitions() {
        let template = PodTemplate::of(object).filter(|t| t.node.id() != object.node.id());
        let on_workload = object.annotations().and_then(|a| a.get_entry(INJECT_ANNOTATION));
        if let Some((key, _)) = template.and_then(|t| t.annotations()).and_then(|a| a.get_entry(INJECT_ANNOTATION)) {
            let d = sink.report(
                object,
                key.span(),
                format!("the 0.2 initializer reads `{INJECT_ANNOTATION}` from the {}'s own metadata, not from its pod template", object.kind),
            );
            d.primary.message = "ignored here".into();
            d.help = Some(format!("move the annotation to the {}'s `metadata.annotations`", object.kind));
        }
        let labels = [object.node.path(&["metadata", "labels"]), template.and_then(|t| t.labels())];
        for (key, _) in labels.into_iter().flatten().filter_map(|l| l.get_entry(INJECT_ANNOTATION)) {
            let d = sink.report(
                object,
                key.span(),
                format!("`{INJECT_ANNOTATION}` is a label here; the 0.2 initializer reads only the annotation"),
            );
            d.primary.message = "a label, not an annotation".into();
            d.help = Some(format!("make it an annotation in the {}'s `metadata.annotations`", object.kind));
        }
        if let Some((key, _)) = on_workload {
            if PodTemplate::of(object).is_some() && !cx.inject.initializes_kind(object.kind) {
                let d = sink.report(
                    object,
                    key.span(),
                    format!("a {} never reaches the initializer, so its inject annotation has no effect", object.kind),
                );
                d.primary.message = "never read".into();
                d.help =
                    Some("inject it with `meshlint inject`, or use a Deployment, StatefulSet, Job or DaemonSet".into());
            }
        }
    }
}

/// Modern Istio reads `sidecar.istio.io/inject` from the pod template, and prefers the
/// label to the annotation.
fn check_modern(cx: &Context<'_>, sink: &mut Sink) {
    for object in cx.definitions() {
        let Some(template) = PodTemplate::of(object).filter(|t| t.node.id() != object.node.id()) else { continue };
        let on_workload = [object.annotations(), object.node.path(&["metadata", "labels"])];
        for (key, _) in on_workload.into_iter().flatten().filter_map(|m| m.get_entry(INJECT_ANNOTATION)) {
            let d = sink.report(
                object,
                key.span(),
                format!(
                    "istiod reads `{INJECT_ANNOTATION}` from the pod template, not from the {}'s metadata",
                    object.kind
                ),
            );
            d.primary.message = "never read here".into();
            d.help = Some("move it to the pod template's `metadata.labels`".into());
        }
        let label = template.labels().and_then(|l| l.get(INJECT_ANNOTATION));
        if let (Some((key, _)), None) = (template.annotations().and_then(|a| a.get_entry(INJECT_ANNOTATION)), label) {
            let d = sink.report(
                object,
                key.span(),
                format!(
                    "`{INJECT_ANNOTATION}` as an annotation is deprecated: the webhook's selectors only see the label"
                ),
            );
            d.primary.message = "use the label".into();
            d.help = Some("make it a label of the pod template (`metadata.labels`)".into());
            d.istio_code = Some("IST0135");
        }
    }
}
