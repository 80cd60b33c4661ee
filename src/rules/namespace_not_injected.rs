//! `namespace-not-injected`: a namespace with no injection label (modern profile,
//! IST0102), so no webhook injects its pods. Reported on the Namespace object, as
//! `istioctl analyze` does, even with no workload in it; for a workload whose namespace
//! is not among the files, on the workload. `namespace-injected-by-default` (IST0148)
//! speaks of the same namespaces when the injector enables them by default.

use std::collections::BTreeSet;

use super::{Context, Sink};
use crate::istio::Profile;
use crate::istio::decide::{Outcome, Reason};
use crate::istio::modern::{self, INJECTION_LABEL, REV_LABEL};
use crate::model::{Object, PodTemplate};

/// Namespaces `istioctl analyze` does not report.
const SYSTEM: &[&str] = &["kube-system", "kube-public", "kube-node-lease", "local-path-storage", "istio-system"];

/// A Namespace object with no injection label that is not in ambient mode.
pub fn unlabelled(object: &Object<'_>) -> bool {
    let labels = object.node.path(&["metadata", "labels"]);
    let label = |k: &str| labels.and_then(|l| l.get(k));
    object.kind == "Namespace"
        && !SYSTEM.contains(&object.name.unwrap_or(""))
        && label(INJECTION_LABEL).is_none()
        && label(REV_LABEL).is_none()
        && label("istio.io/dataplane-mode").and_then(|v| v.scalar()) != Some("ambient")
}

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    if cx.profile != Profile::Modern {
        return;
    }
    let in_files: BTreeSet<&str> = cx.definitions().filter(|o| o.kind == "Namespace").filter_map(|o| o.name).collect();
    if !cx.modern.enable_namespaces_by_default {
        for object in cx.definitions().filter(|o| unlabelled(o)) {
            let name = object.name.unwrap_or("");
            let d = sink.report(
                object,
                object.name_span(),
                format!("namespace `{name}` is not enabled for Istio injection: no webhook injects its pods"),
            );
            d.primary.message = "no `istio-injection` or `istio.io/rev` label".into();
            d.help = Some(
                "label it `istio-injection: enabled` (or `istio.io/rev: <revision>`) if its workloads belong in the mesh, or `istio-injection: disabled` to say they do not"
                    .to_owned(),
            );
        }
    }
    for object in cx.definitions() {
        if in_files.contains(object.effective_namespace) {
            continue;
        }
        let Some(template) = PodTemplate::of(object) else { continue };
        let decision = cx.engine.decide(object, &template);
        if decision.outcome != Outcome::NotInjected || decision.reason != Reason::NamespaceNotWatched {
            continue;
        }
        // Pods that would stay out with the namespace labelled too (an opt-out,
        // `hostNetwork`, a namespace istiod never injects): the namespace is not what
        // keeps them out, and labelling it is no advice for them (`workload-not-injected`
        // says what is).
        if modern::decide_in_enabled_namespace(cx.modern, object, &template).outcome == Outcome::NotInjected {
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
