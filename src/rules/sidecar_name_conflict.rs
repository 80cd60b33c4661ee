//! `sidecar-name-conflict`: a pod that will be injected already has a container, init
//! container or volume with a name injection adds, so the injected pod has two items of
//! one name and the API server rejects it.

use super::{Context, Sink};
use crate::istio::Profile;
use crate::istio::decide::Outcome;
use crate::istio::template::{self, Params};
use crate::model::PodTemplate;

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    // Modern Istio merges its template into the pod by name (that is how a pod customises
    // its sidecar), so a name it adds is not a duplicate there.
    if cx.profile != Profile::Istio02 {
        return;
    }
    let params = Params::from_config(cx.inject);
    for object in cx.definitions() {
        let Some(template) = PodTemplate::of(object) else { continue };
        let conflicts = template::name_conflicts(&template, &params);
        if conflicts.is_empty() || cx.engine.decide(object, &template).outcome != Outcome::Injected {
            continue;
        }
        for conflict in conflicts {
            let d = sink.report(
                object,
                conflict.node.span(),
                format!(
                    "{} has {} named `{}`, and injection adds {} of that name: the API server rejects the injected pod (duplicate name)",
                    object.display_name(),
                    template::article(conflict.what),
                    conflict.name,
                    template::article(conflict.added),
                ),
            );
            d.primary.message = format!("injection adds another `{}`", conflict.name);
            d.help = Some(format!(
                "rename this {} (and every reference to it, such as volumeMounts), or opt the workload out with the annotation `sidecar.istio.io/inject: \"false\"` on its metadata",
                conflict.what
            ));
        }
    }
}
