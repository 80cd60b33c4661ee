//! `deprecated-service-account`: a pod that names its service account only with the
//! deprecated `serviceAccount` field. Istio 0.2 mounts the certificate
//! `istio.<serviceAccountName>`, so such a pod runs as its account but gets the
//! certificate of `default`: a silent identity mismatch under mutual TLS.

use super::{Context, Sink};
use crate::istio::Profile;
use crate::istio::decide::Outcome;
use crate::model::PodTemplate;

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    if cx.profile != Profile::Istio02 {
        return;
    }
    for object in cx.definitions() {
        let Some(template) = PodTemplate::of(object) else { continue };
        let Some(spec) = template.spec() else { continue };
        let Some((key, value)) = spec.get_entry("serviceAccount") else { continue };
        let Some(account) = value.scalar().filter(|a| !a.is_empty() && *a != "default") else { continue };
        if spec.get("serviceAccountName").is_some() {
            continue;
        }
        if cx.engine.decide(object, &template).outcome == Outcome::NotInjected {
            continue;
        }
        let d = sink.report(
            object,
            key.span(),
            format!(
                "{} sets only the deprecated `serviceAccount: {account}`: its pods run as `{account}`, but Istio 0.2 gives their sidecar the certificate `istio.default`, so mutual TLS names them `default`",
                object.display_name()
            ),
        );
        d.primary.message = "deprecated field; Istio 0.2 reads `serviceAccountName`".into();
        d.help = Some(format!("write `serviceAccountName: {account}` instead"));
    }
}
