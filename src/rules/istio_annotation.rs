//! `istio-annotation`: an annotation or label under an Istio prefix that Istio does not
//! know (IST0108), that sits on a kind it does not belong to (IST0107), or that is
//! deprecated (IST0135), judged against Istio's own registry (modern profile). As
//! `istioctl analyze` does, the metadata of Pods, Deployments, Services and Namespaces is
//! read, and so are pod templates (what their pods will carry). `sidecar.istio.io/inject`
//! is `misplaced-inject-annotation`'s.

use super::{Context, Sink};
use crate::istio::Profile;
use crate::istio::registry::{self, Entry};
use crate::model::{Object, PodTemplate};
use crate::yaml::NodeRef;

/// Kinds whose own annotations `istioctl analyze` reads.
const ANALYZED: &[&str] = &["Pod", "Deployment", "Service", "Namespace"];

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    if cx.profile != Profile::Modern {
        return;
    }
    for object in cx.definitions() {
        let metadata = object.metadata();
        if ANALYZED.contains(&object.kind) {
            annotations(sink, object, metadata.and_then(|m| m.get("annotations")), object.kind, "its metadata");
        }
        labels(sink, object, metadata.and_then(|m| m.get("labels")), "its metadata");
        if let Some(template) = PodTemplate::of(object).filter(|_| object.kind != "Pod") {
            annotations(sink, object, template.annotations(), "Pod", "its pod template");
            labels(sink, object, template.labels(), "its pod template");
        }
    }
}

fn istio_entries(map: Option<NodeRef<'_>>) -> impl Iterator<Item = (NodeRef<'_>, &str)> {
    map.filter(NodeRef::is_map)
        .into_iter()
        .flat_map(NodeRef::entries)
        .filter_map(|(k, _)| Some((k, k.scalar()?)))
        .filter(|(_, key)| registry::is_istio_key(key) && *key != crate::istio::decide::INJECT_ANNOTATION)
}

fn unknown(sink: &mut Sink, object: &Object<'_>, key: NodeRef<'_>, name: &str, what: &str, place: &str) {
    let d = sink.report(object, key.span(), format!("unknown Istio {what} `{name}` on {place}"));
    d.primary.message = format!("not an Istio {what}");
    d.help = Some(match registry::registry().did_you_mean(name) {
        Some(known) => format!("did you mean `{known}`?"),
        None => format!("Istio does not read it; remove it, or check the name in Istio's {what} reference"),
    });
    d.istio_code = Some("IST0108");
}

fn annotations(sink: &mut Sink, object: &Object<'_>, map: Option<NodeRef<'_>>, kind: &str, place: &str) {
    let registry = registry::registry();
    for (key, name) in istio_entries(map) {
        let Some(entry) = registry.annotation(name) else {
            // A label's name used as an annotation is not unknown, only misplaced.
            if registry.label(name).is_none() {
                unknown(sink, object, key, name, "annotation", place);
            }
            continue;
        };
        if entry.deprecated {
            let d = sink.report(object, key.span(), format!("Istio annotation `{name}` is deprecated"));
            d.primary.message = "deprecated".into();
            d.help = Some("see Istio's annotation reference for what replaces it".into());
            d.istio_code = Some("IST0135");
        }
        if !belongs(entry, kind) {
            let d = sink.report(
                object,
                key.span(),
                format!(
                    "Istio annotation `{name}` belongs on {}, not on {place} ({kind}): Istio does not read it there",
                    entry.resources.join(", ")
                ),
            );
            d.primary.message = "misplaced".into();
            d.help = Some(if entry.resources.iter().any(|r| r == "Pod") && object.kind != "Pod" {
                "move it to the pod template's `metadata.annotations`".to_owned()
            } else {
                format!("move it to the {} it configures", entry.resources.join(" or "))
            });
            d.istio_code = Some("IST0107");
        }
    }
}

fn labels(sink: &mut Sink, object: &Object<'_>, map: Option<NodeRef<'_>>, place: &str) {
    let registry = registry::registry();
    for (key, name) in istio_entries(map) {
        if registry.label(name).is_none() && registry.annotation(name).is_none() {
            unknown(sink, object, key, name, "label", place);
        }
    }
}

fn belongs(entry: &Entry, kind: &str) -> bool {
    entry.resources.iter().any(|r| r == kind || r == "Any")
}
