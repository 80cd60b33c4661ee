//! The properties the fuzz targets (`fuzz/`) and the mutation test (`tests/mutations.rs`)
//! hold meshlint to, on one input file's bytes:
//!
//! - [`check`]: loading, checking and rendering in every format never panic;
//! - [`round_trip`]: `inject` then `inject` again then `uninject` either refuses at some
//!   step or gives back exactly the original text, and the second `inject` changes
//!   nothing;
//! - [`parsers_agree`]: the block-subset YAML parser either declines the text or builds
//!   the tree the general parser builds, which finds no error in it.
//!
//! Not part of meshlint's interface: it exists so that the fuzzers and the tests run the
//! same code.

use std::io::Write as _;
use std::path::Path;

use crate::engine::{self, ContextMode, Input, Options};
use crate::inject::{self, Settings};
use crate::istio::config::InjectConfig;
use crate::istio::decide::Mode;
use crate::istio::template::{Mesh, Params};
use crate::load::{self, LoadedFile};
use crate::model::{Index, ModelOptions};
use crate::render::{self, Format, Style};

/// Check `bytes` as the file `path` (written there first) and render the report in every
/// format. Returns the number of findings; panics only if meshlint does.
pub fn check(path: &Path, bytes: &[u8]) -> std::io::Result<usize> {
    std::fs::File::create(path)?.write_all(bytes)?;
    let mut options = Options::new(vec![Input::Path(path.to_owned())]);
    options.context = ContextMode::Off;
    let report = engine::check(&options);
    for format in [Format::Human, Format::Concise, Format::Json, Format::Sarif, Format::Github] {
        render::report(
            &mut std::io::sink(),
            &report,
            format,
            Style { color: format == Format::Human, verbose: false },
        )?;
    }
    Ok(report.diagnostics.len())
}

/// How a round trip ended, when it did not break a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundTrip {
    /// Nothing to inject: the text is unchanged.
    Unchanged,
    /// A step refused (a file that does not parse, a layout meshlint does not rewrite).
    Refused,
    /// Injected, injected again without change, and uninjected to the original text.
    Exact,
    /// Injected and injected again without change; the original already carried
    /// injection that `uninject` also removes, so its result is not compared.
    NotComparable,
}

fn load_text(text: &str) -> LoadedFile {
    load::load(0, "round-trip.yaml".into(), None, text.as_bytes().to_vec())
}

fn parses(file: &LoadedFile) -> bool {
    !file.problems.iter().any(|d| d.rule == "invalid-yaml")
}

enum Step {
    Inject,
    Uninject,
}

/// One rewrite of `text`: `None` when refused.
fn rewrite(text: &str, step: &Step) -> Option<String> {
    let files = [load_text(text)];
    if !parses(&files[0]) {
        return None;
    }
    let options = ModelOptions::new("default");
    let index = Index::build(&files, &options);
    let change = match step {
        Step::Inject => {
            let settings = Settings { mode: Mode::KubeInject, params: Params::default(), mesh: Mesh::default() };
            inject::inject_file(&files, &index, 0, &InjectConfig::default(), &settings)
        }
        Step::Uninject => inject::uninject_file(&files, &index, 0),
    };
    match change {
        Ok(change) if change.errors.is_empty() => Some(change.new_text),
        _ => None,
    }
}

/// Inject, inject again, uninject: see the module's documentation.
///
/// # Errors
/// The property that broke, with the texts involved.
pub fn round_trip(bytes: &[u8]) -> Result<RoundTrip, String> {
    let file = load::load(0, "round-trip.yaml".into(), None, bytes.to_vec());
    if !parses(&file) {
        return Ok(RoundTrip::Refused);
    }
    let original = file.source.text.clone();
    drop(file);
    let Some(once) = rewrite(&original, &Step::Inject) else { return Ok(RoundTrip::Refused) };
    if once == original {
        return Ok(RoundTrip::Unchanged);
    }
    let Some(twice) = rewrite(&once, &Step::Inject) else { return Ok(RoundTrip::Refused) };
    if twice != once {
        return Err(format!("a second inject changed the text\n--- once\n{once}\n--- twice\n{twice}"));
    }
    // `uninject` of the original must change nothing for the original to come back.
    if rewrite(&original, &Step::Uninject).as_deref() != Some(original.as_str()) {
        return Ok(RoundTrip::NotComparable);
    }
    let Some(back) = rewrite(&once, &Step::Uninject) else { return Ok(RoundTrip::Refused) };
    if back != original {
        return Err(format!(
            "uninject did not give back the original\n--- original\n{original}\n--- injected\n{once}\n--- uninjected\n{back}"
        ));
    }
    Ok(RoundTrip::Exact)
}

/// The block-subset YAML parser (`yaml::parse_block_subset`) either declines `bytes` or
/// builds exactly the stream that the general parser builds, which finds no error in
/// it. Returns whether the subset parser accepted the text.
///
/// # Errors
/// The property that broke, with the text.
pub fn parsers_agree(bytes: &[u8]) -> Result<bool, String> {
    let Ok(text) = std::str::from_utf8(bytes) else { return Ok(false) };
    let Some(block) = crate::yaml::parse_block_subset(text) else { return Ok(false) };
    let general = crate::yaml::parse_general(text);
    if let Some(error) = general.errors.first() {
        return Err(format!(
            "the subset parser accepts a text in which the general parser finds {error:?}\n--- text\n{text}"
        ));
    }
    if block != general {
        return Err(format!(
            "the two parsers build different trees\n--- text\n{text}\n--- subset\n{block:#?}\n--- general\n{general:#?}"
        ));
    }
    Ok(true)
}
