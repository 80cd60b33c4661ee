//! `image-auto-without-injection`: an `istio-proxy` container with `image: auto` in a
//! pod no webhook will inject (modern profile), so the image is never filled in.

use super::{Context, Sink};
use crate::istio::Profile;
use crate::istio::decide::{Outcome, PROXY_CONTAINER};
use crate::model::PodTemplate;

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    if cx.profile != Profile::Modern {
        return;
    }
    for object in cx.definitions() {
        let Some(template) = PodTemplate::of(object) else { continue };
        let Some(image) = template
            .containers()
            .find(|c| c.get("name").and_then(|n| n.scalar()) == Some(PROXY_CONTAINER))
            .and_then(|c| c.get("image"))
            .filter(|i| i.scalar() == Some("auto"))
        else {
            continue;
        };
        let decision = cx.engine.decide(object, &template);
        if decision.outcome == Outcome::Injected {
            continue;
        }
        let d = sink.report(
            object,
            image.span(),
            format!(
                "`{PROXY_CONTAINER}` has `image: auto` but no webhook injects this pod ({}): the pod cannot start",
                decision.detail
            ),
        );
        d.primary.message = "never replaced".into();
        if let Some(e) = decision.evidence {
            d.labels.push(e);
        }
        d.help = Some("enable injection for the pod, or give the container a real image".into());
        // A bare Pod cannot start at all (an error); a workload's pods will not (a warning).
        d.istio_code = Some(if object.kind == "Pod" { "IST0147" } else { "IST0146" });
    }
}
