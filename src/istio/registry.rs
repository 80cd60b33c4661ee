//! Istio's registry of annotations and labels: for each name, the kinds of object it
//! belongs on and whether it is deprecated. Embedded from `data/istio/` (Istio's own
//! `annotations.yaml` and `labels.yaml`) and read once.

use std::sync::OnceLock;

/// One registered annotation or label.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    /// Kinds it belongs on (`Any`: every kind).
    pub resources: Vec<String>,
    pub deprecated: bool,
}

/// The registry: annotations and labels.
#[derive(Debug, Default)]
pub struct Registry {
    pub annotations: Vec<Entry>,
    pub labels: Vec<Entry>,
}

const ANNOTATIONS: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/istio/annotations.yaml"));
const LABELS: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/istio/labels.yaml"));

fn entries(text: &str, key: &str) -> Vec<Entry> {
    let stream = crate::yaml::parse_stream(text);
    let Some(doc) = stream.documents.first() else { return Vec::new() };
    let list = doc.root().get(key);
    list.into_iter()
        .flat_map(crate::yaml::NodeRef::items)
        .filter_map(|item| {
            Some(Entry {
                name: item.get("name")?.scalar()?.to_owned(),
                resources: item
                    .get("resources")
                    .into_iter()
                    .flat_map(crate::yaml::NodeRef::items)
                    .filter_map(|r| r.scalar().map(str::to_owned))
                    .collect(),
                deprecated: item.get("deprecated").and_then(|d| d.as_bool()).unwrap_or(false),
            })
        })
        .collect()
}

/// The registry, read on first use.
#[must_use]
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry {
        annotations: entries(ANNOTATIONS, "annotations"),
        labels: entries(LABELS, "labels"),
    })
}

/// Whether a key is under one of Istio's prefixes (`istio.io/`, `*.istio.io/`).
#[must_use]
pub fn is_istio_key(key: &str) -> bool {
    key.split_once('/').is_some_and(|(domain, _)| domain == "istio.io" || domain.ends_with(".istio.io"))
}

impl Registry {
    #[must_use]
    pub fn annotation(&self, name: &str) -> Option<&Entry> {
        self.annotations.iter().find(|e| e.name == name)
    }

    #[must_use]
    pub fn label(&self, name: &str) -> Option<&Entry> {
        self.labels.iter().find(|e| e.name == name)
    }

    /// The registered name closest to a misspelt one, annotations and labels alike.
    #[must_use]
    pub fn did_you_mean(&self, name: &str) -> Option<&str> {
        let names: Vec<&str> = self.annotations.iter().chain(&self.labels).map(|e| e.name.as_str()).collect();
        crate::istio::config::did_you_mean(name, &names)
    }
}
