//! `non-string-annotation`: a label, annotation or selector value that Kubernetes reads
//! as a boolean, number or null (YAML 1.1), which the API server rejects.

use super::{Context, Sink};
use crate::model::PodTemplate;
use crate::yaml::{NodeRef, ScalarType};

pub fn check(cx: &Context<'_>, sink: &mut Sink) {
    // Every definition, patches included: any copy with a bad value is rejected when applied.
    for object in &cx.index.objects {
        let template = PodTemplate::of(object).filter(|t| t.node.id() != object.node.id());
        let selector =
            if object.kind == "Service" { &["spec", "selector"][..] } else { &["spec", "selector", "matchLabels"] };
        let maps = [
            ("label", object.node.path(&["metadata", "labels"])),
            ("annotation", object.node.path(&["metadata", "annotations"])),
            ("label", template.and_then(|t| t.labels())),
            ("annotation", template.and_then(|t| t.annotations())),
            ("selector", object.node.path(selector)),
        ];
        for (what, map) in maps.into_iter().filter_map(|(w, m)| Some((w, m.filter(NodeRef::is_map)?))) {
            for (key, value) in map.entries() {
                let Some(ty) = value.k8s_type().filter(|t| *t != ScalarType::Str) else { continue };
                let key_text = key.scalar().unwrap_or("");
                let raw = value.scalar().unwrap_or("");
                let (type_name, quoted) = match ty {
                    ScalarType::Bool => ("a boolean", format!("\"{raw}\"")),
                    ScalarType::Int => ("an integer", format!("\"{raw}\"")),
                    ScalarType::Float => ("a number", format!("\"{raw}\"")),
                    ScalarType::Null => ("null", "\"\"".to_owned()),
                    ScalarType::Str => continue,
                };
                let span = if raw.is_empty() { key.span() } else { value.span() };
                let d = sink.report(
                    object,
                    span,
                    format!("{what} `{key_text}` has {type_name} value, which the API server rejects: {what} values must be strings"),
                );
                d.primary.message = format!("read as {type_name}");
                d.help = Some(format!("quote the value: `{key_text}: {quoted}`"));
            }
        }
    }
}
