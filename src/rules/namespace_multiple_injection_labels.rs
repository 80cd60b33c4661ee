//! `namespace-multiple-injection-labels`: a Namespace labelled both `istio-injection`
//! and `istio.io/rev` (modern profile).

use super::{Context, Sink};
use crate::istio::Profile;
use crate::istio::modern::{INJECTION_LABEL, REV_LABEL};

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    if cx.profile != Profile::Modern {
        return;
    }
    for object in cx.definitions().filter(|o| o.kind == "Namespace") {
        let Some(labels) = object.node.path(&["metadata", "labels"]) else { continue };
        let (Some((inj, inj_v)), Some((rev, rev_v))) = (labels.get_entry(INJECTION_LABEL), labels.get_entry(REV_LABEL))
        else {
            continue;
        };
        let d = sink.report(
            object,
            rev.span().start..rev_v.span().end,
            format!(
                "namespace `{}` has both `{INJECTION_LABEL}` and `{REV_LABEL}`: `{INJECTION_LABEL}` wins and the revision is ignored",
                object.name.unwrap_or("")
            ),
        );
        d.primary.message = "ignored".into();
        d.labels.push(crate::diag::Label::new(object.file, inj.span().start..inj_v.span().end, "this label decides"));
        d.help =
            Some(format!("keep one injection label: `{REV_LABEL}` for revisions, or `{INJECTION_LABEL}: enabled`"));
    }
}
