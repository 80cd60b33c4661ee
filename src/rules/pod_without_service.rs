//! `pod-without-service`: no Service selects a long-running workload's pods.

use super::{Context, Sink};

/// Kinds whose pods serve traffic; batch pods (`Job`, `CronJob`) are usually clients only.
const SERVING_KINDS: &[&str] =
    &["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Pod"];

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    // Modern Istio meshes a pod without a Service for its outbound traffic; only Istio
    // 0.2 required every pod of the mesh to belong to a Service.
    if cx.profile != crate::istio::Profile::Istio02 {
        return;
    }
    for (i, object) in cx.indexed_definitions() {
        if !SERVING_KINDS.contains(&object.kind) || !cx.in_mesh_scope(object) {
            continue;
        }
        let Some(template) = crate::model::PodTemplate::of(object) else { continue };
        if !cx.index.selecting_services(i, &template).is_empty() {
            continue;
        }
        let d = sink.report(
            object,
            template.labels_span(),
            format!(
                "no Service in namespace `{}` selects the pods of {}: Istio 0.2 requires every pod of the mesh to belong to one Service, and gives these no mesh routing",
                object.effective_namespace,
                object.display_name()
            ),
        );
        d.primary.message = "no Service selector matches these labels".into();
        d.help = Some("add a Service whose `spec.selector` matches these labels, in the same namespace: Istio 0.2's requirement holds for every pod in the mesh, clients that only make outbound calls included; a pod that should stay outside the mesh can opt out with the annotation `sidecar.istio.io/inject: \"false\"` instead".into());
    }
}
