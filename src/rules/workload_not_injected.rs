//! `workload-not-injected`: a workload that will run without a sidecar.

use super::{Context, Sink};
use crate::istio::Profile;
use crate::istio::decide::{Outcome, Reason};
use crate::model::PodTemplate;

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    for object in cx.definitions() {
        let Some(template) = PodTemplate::of(object) else { continue };
        let decision = cx.engine.decide(object, &template);
        if decision.outcome != Outcome::NotInjected || decision.reason == Reason::ExemptNamespace {
            continue;
        }
        // Under the modern profile an unlabelled namespace is `namespace-not-injected`'s.
        if cx.profile == Profile::Modern && decision.reason == Reason::NamespaceNotWatched {
            continue;
        }
        let d = sink.report(
            object,
            object.kind_span(),
            format!("{} will run without the Istio sidecar: {}", object.display_name(), decision.detail),
        );
        d.primary.message = "this workload".into();
        if let Some(evidence) = decision.evidence {
            d.labels.push(evidence);
        }
        let ns = object.effective_namespace;
        d.help = Some(match (decision.reason, cx.profile) {
            // The 0.2 initializer reads its ConfigMap's namespace lists, no namespace label.
            (Reason::NamespaceExcluded, Profile::Istio02) => format!(
                "remove `{ns}` from `excludeNamespaces` in the `istio-inject` ConfigMap if its workloads belong in the mesh (the 0.2 initializer reads no namespace label)"
            ),
            (Reason::NamespaceNotWatched, Profile::Istio02) => format!(
                "add `{ns}` to `namespaces` in the `istio-inject` ConfigMap (or `\"\"` for every namespace) if its workloads belong in the mesh (the 0.2 initializer reads no namespace label)"
            ),
            _ => match decision.reason {
                Reason::KindNotInitialized => "inject it with `meshlint inject` (or `istioctl kube-inject`), or use a kind the initializer handles",
                Reason::AnnotationNoInject | Reason::PodLabelNoInject => {
                    "remove the opt-out or set it to \"true\" if the workload belongs in the mesh"
                }
                Reason::NamespaceExcluded => "label the namespace `istio-injection=enabled` if its workloads belong in the mesh",
                Reason::RevisionUnknown => "use an installed revision or tag (see `--revision`), or install that revision",
                Reason::NeverInjectSelector => "narrow `neverInjectSelector` in the `istio-sidecar-injector` ConfigMap",
                Reason::PolicyDisabled if cx.profile == Profile::Modern => {
                    "add the label `sidecar.istio.io/inject: \"true\"` to the pod template's metadata"
                }
                Reason::PolicyDisabled => "add the annotation `sidecar.istio.io/inject: \"true\"` to the workload's metadata",
                Reason::HostNetwork => "drop `hostNetwork: true` if the workload belongs in the mesh",
                _ => "fix the injection configuration so that the workload's namespace is watched",
            }
            .to_owned(),
        });
    }
}
