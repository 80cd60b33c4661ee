//! `namespace-not-injected`: a workload in a namespace without any injection label
//! (modern profile), so no webhook injects its pods.

use super::{Context, Sink};
use crate::istio::Profile;
use crate::istio::decide::{Outcome, Reason};
use crate::model::PodTemplate;

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    if cx.profile != Profile::Modern {
        return;
    }
    for object in cx.definitions() {
        let Some(template) = PodTemplate::of(object) else { continue };
        let decision = cx.engine.decide(object, &template);
        if decision.outcome != Outcome::NotInjected || decision.reason != Reason::NamespaceNotWatched {
            continue;
        }
        let d = sink.report(object, object.kind_span(), format!("{}: {}", object.display_name(), decision.detail));
        d.primary.message = "no sidecar for these pods".into();
        if let Some(e) = decision.evidence {
            d.labels.push(e);
        }
        d.help = Some(format!(
            "label namespace `{}` with `istio-injection=enabled` (or `istio.io/rev=<revision>`), or say where it is labelled with `--namespace-label`",
            object.effective_namespace
        ));
    }
}
