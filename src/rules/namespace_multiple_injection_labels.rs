//! `namespace-multiple-injection-labels`: a Namespace with more than one kind of injection
//! label (modern profile, IST0123), counted as `istioctl analyze` counts them:
//! `istio-injection` always; `istio.io/rev` and `istio.io/dataplane-mode: ambient` only
//! when `istio-injection` is absent or `enabled` (a namespace with injection disabled may
//! carry a revision label for later).

use super::{Context, Sink};
use crate::diag::Label;
use crate::istio::Profile;
use crate::istio::modern::{INJECTION_LABEL, REV_LABEL};

const DATAPLANE_LABEL: &str = "istio.io/dataplane-mode";

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    if cx.profile != Profile::Modern {
        return;
    }
    for object in cx.definitions().filter(|o| o.kind == "Namespace") {
        let Some(labels) = object.node.path(&["metadata", "labels"]) else { continue };
        let injection = labels.get_entry(INJECTION_LABEL);
        let injection_value = injection.and_then(|(_, v)| v.scalar());
        let others_count = injection_value.is_none_or(|v| v == "enabled");
        let mut counted = Vec::new();
        if let Some(entry) = injection {
            counted.push((INJECTION_LABEL, entry));
        }
        if others_count {
            if let Some(entry) = labels.get_entry(REV_LABEL) {
                counted.push((REV_LABEL, entry));
            }
            if let Some(entry) = labels.get_entry(DATAPLANE_LABEL).filter(|(_, v)| v.scalar() == Some("ambient")) {
                counted.push((DATAPLANE_LABEL, entry));
            }
        }
        if counted.len() < 2 {
            continue;
        }
        let names: Vec<String> = counted.iter().map(|(name, _)| format!("`{name}`")).collect();
        let (_, (first_key, first_value)) = counted[0];
        let d = sink.report(
            object,
            first_key.span().start..first_value.span().end,
            format!(
                "namespace `{}` has more than one kind of injection label ({}): which one decides is undefined",
                object.name.unwrap_or(""),
                names.join(", ")
            ),
        );
        d.primary.message = "one injection label".into();
        for (name, (k, v)) in &counted[1..] {
            d.labels.push(Label::new(object.file, k.span().start..v.span().end, format!("and `{name}`")));
        }
        d.help = Some(format!(
            "keep one: `{REV_LABEL}` for revisions, `{INJECTION_LABEL}: enabled` for the default revision, or `{DATAPLANE_LABEL}: ambient` for ambient mode"
        ));
    }
}
