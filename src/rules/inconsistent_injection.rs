//! `inconsistent-injection`: one workload defined in several files (variants, copies for
//! environments) whose definitions Istio would not inject alike, so which one is applied
//! decides whether the pods run in the mesh.

use super::{Context, Sink};
use crate::diag::Label;
use crate::model::PodTemplate;

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    for (i, object) in cx.indexed_definitions() {
        // Each group once, from its first whole definition. (`o <= i` would be the same:
        // `other_definitions(i)` never holds `i`.)
        let others: Vec<usize> = cx.index.other_definitions(i).filter(|&o| !cx.index.objects[o].partial).collect();
        if others.is_empty() || others.iter().any(|&o| o < i) {
            continue;
        }
        let Some(template) = PodTemplate::of(object) else { continue };
        let first = cx.engine.decide(object, &template);
        let decisions: Vec<_> = others
            .iter()
            .filter_map(|&o| {
                let other = &cx.index.objects[o];
                Some((other, cx.engine.decide(other, &PodTemplate::of(other)?)))
            })
            .collect();
        if decisions.iter().all(|(_, d)| d.outcome == first.outcome) {
            continue;
        }
        let d = sink.report(
            object,
            object.kind_span(),
            format!(
                "{} is defined {} times, and Istio would not inject them alike: {} here ({})",
                object.display_name(),
                others.len() + 1,
                first.outcome.text(),
                first.detail
            ),
        );
        d.primary.message = format!("{} here", first.outcome.text());
        for (other, decision) in &decisions {
            d.labels.push(Label::new(
                other.file,
                other.kind_span(),
                format!("{} here: {}", decision.outcome.text(), decision.detail),
            ));
        }
        d.help = Some(
            "make the definitions agree on injection (the `sidecar.istio.io/inject` setting, `hostNetwork`, the namespace), or give the variants different names"
                .into(),
        );
    }
}
