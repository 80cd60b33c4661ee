//! `job-with-sidecar`: a Job or CronJob whose pods get the sidecar, so they never
//! complete: the proxy keeps running after the job's container exits.

use super::{Context, Sink};
use crate::istio::Profile;
use crate::istio::decide::Outcome;
use crate::model::PodTemplate;

const NATIVE_SIDECAR: &str = "sidecar.istio.io/nativeSidecar";

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    for object in cx.definitions().filter(|o| matches!(o.kind, "Job" | "CronJob")) {
        let Some(template) = PodTemplate::of(object) else { continue };
        if cx.engine.decide(object, &template).outcome != Outcome::Injected {
            continue;
        }
        let help = match cx.profile {
            Profile::Istio02 => {
                "opt the Job out with the annotation `sidecar.istio.io/inject: \"false\"` on its metadata, which the 0.2 initializer reads".to_owned()
            }
            Profile::Modern => {
                // Istio 1.27 injects the proxy as a native sidecar (an init container that
                // Kubernetes stops when the job's containers exit), unless turned off.
                let native_off = template
                    .annotations()
                    .and_then(|a| a.get(NATIVE_SIDECAR))
                    .and_then(|v| v.scalar())
                    .is_some_and(|v| v.eq_ignore_ascii_case("false"));
                let version = cx.modern.version;
                if version >= crate::istio::modern::Version::NATIVE_SIDECARS && !native_off {
                    continue;
                }
                if native_off {
                    format!(
                        "remove `{NATIVE_SIDECAR}: \"false\"` so that Istio {}.{} injects a native sidecar, which ends with the job; or opt the pod out with the label `sidecar.istio.io/inject: \"false\"`, or have the job call the proxy's `POST localhost:15020/quitquitquit` when it is done",
                        version.major, version.minor
                    )
                } else {
                    format!(
                        "Istio {}.{} injects a regular sidecar: turn native sidecars on with the pod annotation `{NATIVE_SIDECAR}: \"true\"` (the default from Istio 1.27), opt the pod out with the label `sidecar.istio.io/inject: \"false\"`, or have the job call the proxy's `POST localhost:15020/quitquitquit` when it is done",
                        version.major, version.minor
                    )
                }
            }
        };
        let d = sink.report(
            object,
            object.kind_span(),
            format!(
                "the pods of {} get the Istio sidecar and never complete: the proxy keeps running after the job's container exits",
                object.display_name()
            ),
        );
        d.primary.message = "injected batch workload".into();
        d.help = Some(help);
    }
}
