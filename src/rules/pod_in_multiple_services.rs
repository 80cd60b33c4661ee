//! `pod-in-multiple-services`: several Services select the same pods.

use super::{Context, Sink};
use crate::diag::Label;
use crate::model::{Object, PodTemplate, Service};

/// Workload definitions in mesh scope whose pods two or more Services select, with those
/// Services.
fn shared_pods<'c, 'a>(
    cx: &'c Context<'a>,
) -> impl Iterator<Item = (&'c Object<'a>, PodTemplate<'a>, Vec<usize>)> + 'c {
    cx.indexed_definitions().filter_map(|(i, object)| {
        let template = PodTemplate::of(object).filter(|_| cx.in_mesh_scope(object))?;
        let services = cx.index.selecting_services(i, &template);
        (services.len() >= 2).then_some((object, template, services))
    })
}

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    if !cx.profile.single_service_only() {
        return modern(cx, sink);
    }
    for (object, template, services) in shared_pods(cx) {
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
        d.help = Some("keep one Service per set of pods: merge the Services' ports into one, or give each Service a selector that matches distinct pods".into());
    }
}

/// Modern Istio accepts several Services per pod unless two of them use one port number
/// with different protocols (IST0116) or one target port under different port numbers
/// (IST0137).
fn modern(cx: &Context<'_>, sink: &mut Sink) {
    for (object, template, services) in shared_pods(cx) {
        // istioctl analyzes only workloads it takes to be in the mesh.
        if !in_mesh_for_istioctl(cx, object, &template) {
            continue;
        }
        // (service, port number, protocol, target port, port node)
        let mut ports = Vec::new();
        for &s in &services {
            let service = &cx.index.objects[s];
            let Some(svc) = Service::of(service) else { continue };
            for p in &svc.ports {
                let Some(number) = p.port.and_then(|n| n.as_i64()) else { continue };
                // IST0116 compares the Kubernetes protocol (TCP, UDP, SCTP), not names.
                let protocol = p.protocol().to_ascii_uppercase();
                let target = p.target_port.and_then(|t| t.scalar()).map_or_else(|| number.to_string(), str::to_owned);
                ports.push((s, number, protocol, target, *p));
            }
        }
        let mut reported = false;
        // (Each pair once; `ports[a..]` would also pair a port with itself, which the
        // same-Service test skips.)
        for (a, pa) in ports.iter().enumerate() {
            for pb in &ports[a + 1..] {
                if reported || pa.0 == pb.0 {
                    continue;
                }
                let (message, code) = if pa.1 == pb.1 && pa.2 != pb.2 {
                    (
                        format!(
                            "Services `{}` and `{}` both select the pods of {} and use port {} with different protocols ({} and {})",
                            name(cx, pa.0),
                            name(cx, pb.0),
                            object.display_name(),
                            pa.1,
                            pa.2,
                            pb.2
                        ),
                        "IST0116",
                    )
                } else if pa.3 == pb.3 && pa.1 != pb.1 {
                    (
                        format!(
                            "Services `{}` and `{}` both select the pods of {} and send ports {} and {} to the same target port {}",
                            name(cx, pa.0),
                            name(cx, pb.0),
                            object.display_name(),
                            pa.1,
                            pb.1,
                            pa.3
                        ),
                        "IST0137",
                    )
                } else {
                    continue;
                };
                let d = sink.report(object, template.labels_span(), message);
                d.primary.message = "these pods".into();
                for p in [pa, pb] {
                    let service = &cx.index.objects[p.0];
                    d.labels.push(Label::new(service.file, p.4.span(), format!("port of Service `{}`", name(cx, p.0))));
                }
                d.istio_code = Some(code);
                d.help = Some("give the port one protocol in every Service that selects these pods, or one port number per target port".into());
                reported = true;
            }
        }
    }
}

fn name<'a>(cx: &'a Context<'_>, object: usize) -> &'a str {
    cx.index.objects[object].name.unwrap_or("")
}

/// Whether `istioctl analyze` takes a workload to be in the mesh: it has an
/// `istio-proxy` container, the injection label or annotation `"true"`, or its namespace
/// is labelled `istio-injection=enabled`.
fn in_mesh_for_istioctl(cx: &Context<'_>, object: &Object<'_>, template: &PodTemplate<'_>) -> bool {
    use crate::istio::decide::{INJECT_ANNOTATION, PROXY_CONTAINER};
    let proxy = template.containers().any(|c| c.get("name").and_then(|n| n.scalar()) == Some(PROXY_CONTAINER));
    let says_true = |m: Option<crate::yaml::NodeRef<'_>>| {
        m.and_then(|m| m.get(INJECT_ANNOTATION)).and_then(|v| v.scalar()).is_some_and(|v| v == "true")
    };
    let namespace_enabled = cx
        .modern
        .namespaces
        .get(object.effective_namespace)
        .and_then(|ns| ns.labels.get(crate::istio::modern::INJECTION_LABEL))
        .is_some_and(|(v, _)| v == "enabled");
    proxy || says_true(template.labels()) || says_true(template.annotations()) || namespace_enabled
}
