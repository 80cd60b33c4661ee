//! `meshlint init`: a `.meshlint.yaml` for the repository, written from what meshlint sees
//! in it: the profile it detects and why, the namespaces kustomizations give, the folders
//! whose objects name no namespace (a commented `namespaces:` map to fill in), and the
//! levels and excludes as commented defaults. A configuration that explains itself.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::engine::{self, Options};
use crate::istio::Profile;
use crate::model::{Index, ModelOptions};

/// The text of the configuration for the repository `options` reads.
#[must_use]
pub fn configuration(options: &Options) -> String {
    let loaded = engine::load_all(options);
    let files = &loaded.files;
    let model_options = ModelOptions::new(options.namespace.clone());
    let index = Index::build(files, &model_options);
    let (profile, reason) = engine::choose_profile(options, &index);
    let mut out =
        String::from("# meshlint configuration, written by `meshlint init`; see the README's Configuration.\n\n");

    // The profile, and why.
    let _ = writeln!(out, "# The Istio whose behaviour meshlint checks against: istio-0.2 or istio-modern.");
    if reason == engine::DEFAULT_PROFILE_REASON {
        let _ = writeln!(out, "# Nothing in the repository says which Istio it is for; Istio 0.2 is the default.");
        let _ = writeln!(out, "# For Istio 1.x, write `profile: istio-modern`.");
    } else {
        let _ = writeln!(out, "# Detected: {}.", crate::escape::text(&reason));
    }
    let _ = writeln!(out, "profile: {}\n", profile.name());

    // Namespaces: what kustomizations give, and folders whose objects name none.
    let kustomized = crate::kustomize::namespaces(files, &crate::kustomize::Idents::new(files));
    let mut by_kustomization: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut unnamespaced: BTreeMap<String, usize> = BTreeMap::new();
    // Folders relative to the repository (where the configuration is written).
    let root = options.inputs.iter().find_map(|i| match i {
        engine::Input::Path(p) => Some(crate::escape::path(p)),
        engine::Input::Stdin(_) => None,
    });
    let relative = |name: &str| -> String {
        let name = root.as_deref().and_then(|r| name.strip_prefix(r)).map_or(name, |n| n.trim_start_matches('/'));
        name.rsplit_once('/').map_or(".", |(d, _)| d).to_owned()
    };
    // kustomize's own files are not objects that reach a cluster.
    let applied = |o: &&crate::model::Object<'_>| !o.partial && !["Kustomization", "Component"].contains(&o.kind);
    for object in index.objects.iter().filter(applied) {
        let folder = relative(&files[object.file].source.name);
        match &kustomized[object.file] {
            Some(namespaces) => {
                let list = by_kustomization.entry(folder).or_default();
                for ns in namespaces.iter().flatten() {
                    if !list.contains(ns) {
                        list.push(ns);
                    }
                }
            }
            None if object.namespace.is_none() && !crate::kustomize::CLUSTER_SCOPED.contains(&object.kind) => {
                *unnamespaced.entry(folder).or_default() += 1;
            }
            None => {}
        }
    }
    let _ = writeln!(out, "# Namespace of objects that name none (else `--namespace`, else `default`).");
    let _ = writeln!(out, "# namespace: default\n");
    if !by_kustomization.is_empty() {
        let _ = writeln!(out, "# Kustomizations put the objects of these folders in these namespaces (read from");
        let _ = writeln!(out, "# the kustomization files themselves; nothing to set here):");
        for (folder, namespaces) in &by_kustomization {
            let _ = writeln!(out, "#   {} -> {}", crate::escape::text(folder), namespaces.join(", "));
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "# Where objects that name no namespace are applied with `kubectl apply -n`, by path:");
    if unnamespaced.is_empty() {
        let _ = writeln!(out, "# namespaces:\n#   \"apps/shop/**\": shop");
    } else {
        let _ = writeln!(out, "# (these folders hold objects that name no namespace)");
        let _ = writeln!(out, "# namespaces:");
        for (folder, count) in &unnamespaced {
            let leaf = folder.rsplit('/').next().unwrap_or(folder);
            let guess: String =
                leaf.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
            let guess = guess.trim_matches('-');
            let guess = if guess.is_empty() { "default" } else { guess };
            let _ = writeln!(out, "#   \"{}/**\": {guess}    # {count} objects", crate::escape::text(folder));
        }
    }
    let _ = writeln!(out);

    // Levels and excludes.
    let _ = writeln!(out, "# Exit 1 when a finding is at least this severe: error, warning or info.");
    let _ = writeln!(out, "fail-on: warning\n");
    let _ = writeln!(out, "# Rules to turn off or give another level (`meshlint rules` lists them):");
    let _ = writeln!(out, "# rules:");
    let example = if profile == Profile::Istio02 { "pod-without-service" } else { "namespace-not-injected" };
    let _ = writeln!(out, "#   {example}: off");
    let _ = writeln!(out, "#   missing-app-label: info\n");
    let _ = writeln!(out, "# Files not to read (globs relative to this file):");
    let _ = writeln!(out, "# exclude:\n#   - vendor\n#   - \"**/*.generated.yaml\"");
    out
}
