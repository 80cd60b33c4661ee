//! `duplicate-app-label`: two workloads in one namespace with the same `app` and `version`.

use std::collections::BTreeMap;

use super::{Context, Sink};
use crate::diag::Label;
use crate::model::PodTemplate;

/// (namespace, app, version, overlay) of a workload.
type AppKey<'a> = (&'a str, &'a str, Option<&'a str>, Option<usize>);

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    let mut groups: BTreeMap<AppKey<'_>, Vec<(usize, PodTemplate<'_>)>> = BTreeMap::new();
    for (i, object) in cx.indexed_definitions() {
        // Batch pods are clients, not services: only serving workloads name a service.
        if matches!(object.kind, "Job" | "CronJob") || !cx.in_mesh_scope(object) {
            continue;
        }
        let Some(template) = PodTemplate::of(object) else { continue };
        let Some(app) = template.label("app") else { continue };
        let members =
            groups.entry((object.effective_namespace, app, template.label("version"), object.variant)).or_default();
        // Definitions of one object in several files are one workload, not two.
        if !members.iter().any(|(m, _)| cx.index.objects[*m].identity() == object.identity()) {
            members.push((i, template));
        }
    }
    let mut found: Vec<_> = groups.into_iter().filter(|(_, members)| members.len() > 1).collect();
    found.sort_by_key(|(_, members)| members[0].0);
    for ((namespace, app, version, _), members) in found {
        let (first, first_template) = members[0];
        let object = &cx.index.objects[first];
        let app_span = |t: &PodTemplate<'_>| t.labels().and_then(|l| l.get("app")).map(|n| n.span());
        let version_text = version.map_or_else(|| "no `version` label".to_owned(), |v| format!("`version: {v}`"));
        let others: Vec<String> = members[1..].iter().map(|&(o, _)| cx.index.objects[o].display_name()).collect();
        let d = sink.report(
            object,
            app_span(&first_template).unwrap_or_else(|| first_template.labels_span()),
            format!(
                "{} and {} in namespace `{namespace}` share `app: {app}` with {version_text}",
                object.display_name(),
                others.join(", ")
            ),
        );
        d.primary.message = "first workload with this `app`".into();
        for (o, template) in &members[1..] {
            let other = &cx.index.objects[*o];
            let span = app_span(template).unwrap_or_else(|| template.labels_span());
            d.labels.push(Label::new(other.file, span, format!("{} has the same `app`", other.display_name())));
        }
        d.help = Some("give each workload its own `app` label, or distinct `version` labels when they are versions of one service".into());
    }
}
