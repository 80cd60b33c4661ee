//! `pod-in-multiple-services`: several Services select the same pods.

use super::{Context, Sink};
use crate::diag::Label;
use crate::model::{PodTemplate, Service};

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    if !cx.profile.single_service_only() {
        return;
    }
    for (i, object) in cx.index.canonical() {
        let Some(template) = PodTemplate::of(object) else { continue };
        if !cx.in_mesh_scope(object) {
            continue;
        }
        let services = cx.index.selecting_services(object.effective_namespace, &template);
        if services.len() < 2 {
            continue;
        }
        let names: Vec<String> =
            services.iter().map(|&s| format!("`{}`", cx.index.objects[s].name.unwrap_or(""))).collect();
        let d = sink.report(
            object,
            template.labels_span(),
            format!(
                "pods of {} are selected by {} Services ({}); Istio 0.2 supports one Service per pod",
                object.display_name(),
                services.len(),
                names.join(", ")
            ),
        );
        d.primary.message = "these labels match every selector below".into();
        for &s in &services {
            let service = &cx.index.objects[s];
            let selector =
                Service::of(service).and_then(|svc| svc.selector).map_or_else(|| service.kind_span(), |n| n.span());
            d.labels.push(Label::new(
                service.file,
                selector,
                format!("selector of Service `{}`", service.name.unwrap_or("")),
            ));
        }
        cx.label_other_definitions(d, i);
        d.help = Some("keep one Service per set of pods: merge the Services' ports into one, or give each Service a selector that matches distinct pods".into());
    }
}
