//! `missing-app-label`: a pod template without an `app` label.

use super::{Context, Sink};
use crate::model::PodTemplate;

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    for (i, object) in cx.indexed_definitions() {
        if matches!(object.kind, "Job" | "CronJob") || !cx.in_mesh_scope(object) {
            continue;
        }
        let Some(template) = PodTemplate::of(object) else { continue };
        if template.labels().and_then(|l| l.get("app")).is_some() {
            continue;
        }
        // Modern Istio names the service from `app.kubernetes.io/name` as well.
        let modern = cx.profile == crate::istio::Profile::Modern;
        if modern && template.labels().and_then(|l| l.get("app.kubernetes.io/name")).is_some() {
            continue;
        }
        let d = sink.report(
            object,
            template.labels_span(),
            format!("the pods of {} have no `app` label, so tracing cannot name their service", object.display_name()),
        );
        d.primary.message = "no `app` among these labels".into();
        // The service these pods belong to is the Service that selects them.
        let services = cx.index.selecting_services(i, &template);
        let (name, why) = match services.first().and_then(|&s| cx.index.objects[s].name) {
            Some(service) => (service.to_owned(), format!("the name of Service `{service}`, which selects these pods")),
            None => (object.shown_name(), "the workload's name: no Service selects these pods".to_owned()),
        };
        d.help = Some(format!(
            "add `app: {name}` to the pod template's labels ({why}); Istio uses it as the proxy's service cluster"
        ));
    }
}
