//! `namespace-injected-by-default`: a Namespace with no injection label whose pods the
//! injector injects anyway, because it enables namespaces by default (modern profile,
//! IST0148).

use super::{Context, Sink};
use crate::istio::Profile;

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    if cx.profile != Profile::Modern || !cx.modern.enable_namespaces_by_default {
        return;
    }
    for object in cx.definitions().filter(|o| super::namespace_not_injected::unlabelled(o)) {
        let name = object.name.unwrap_or("");
        let d = sink.report(
            object,
            object.name_span(),
            format!(
                "namespace `{name}` has no injection label, but the injector enables namespaces by default: its pods get the sidecar"
            ),
        );
        d.primary.message = "injected by default".into();
        if let Some(source) = &cx.modern.injector {
            d.labels.push(source.label("enableNamespacesByDefault"));
        }
        d.help = Some(
            "label it `istio-injection: enabled` to say so, or `istio-injection: disabled` to keep it out of the mesh"
                .into(),
        );
    }
}
