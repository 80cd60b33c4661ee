//! Rendering what will actually be applied: Helm charts with `helm template` and
//! kustomize overlays with `kustomize build` (or `kubectl kustomize`), run by the real
//! tools when they are found, offline, with a time limit. The rendered output becomes
//! files of the run (named after the template or overlay they come from, marked as
//! rendered), and the chart's or overlay's own files stay as sources that findings are
//! moved back to (`remap`).
//!
//! Nothing here downloads anything: `helm template` runs without `--dependency-update`,
//! so a chart whose `charts/` lacks a dependency fails with helm's own message.

pub mod helm;
pub mod overlay;
pub mod remap;

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The rendering tools of a run, resolved by the command line (flag, configuration,
/// `PATH`). The library default finds none: nothing is rendered unless asked.
#[derive(Debug, Clone, Default)]
pub struct Tools {
    pub helm: Option<PathBuf>,
    pub kustomize: Option<Kustomizer>,
    /// Rendering turned off (`--no-render`): charts and overlays are read as files.
    pub disabled: bool,
    /// How long one rendering may take.
    pub timeout: Option<Duration>,
}

/// The time limit of one rendering when none is configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// What builds kustomizations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kustomizer {
    /// `kustomize build DIR`.
    Kustomize(PathBuf),
    /// `kubectl kustomize DIR`.
    Kubectl(PathBuf),
}

impl Kustomizer {
    /// The tool a path names: `kubectl…` runs `kubectl kustomize`, anything else
    /// `kustomize build`.
    #[must_use]
    pub fn from_path(path: PathBuf) -> Self {
        let kubectl = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("kubectl"));
        if kubectl { Self::Kubectl(path) } else { Self::Kustomize(path) }
    }

    fn command(&self, dir: &Path) -> Command {
        match self {
            Self::Kustomize(bin) => {
                let mut c = Command::new(bin);
                c.arg("build").arg(dir);
                c
            }
            Self::Kubectl(bin) => {
                let mut c = Command::new(bin);
                c.arg("kustomize").arg(dir);
                c
            }
        }
    }

    /// How the tool is named in notes.
    #[must_use]
    pub fn describe(&self) -> &'static str {
        match self {
            Self::Kustomize(_) => "kustomize build",
            Self::Kubectl(_) => "kubectl kustomize",
        }
    }
}

impl Tools {
    /// Tools found on `PATH`: `helm`, and `kustomize` before `kubectl`.
    #[must_use]
    pub fn from_path() -> Self {
        Self {
            helm: find_on_path("helm"),
            kustomize: find_on_path("kustomize")
                .map(Kustomizer::Kustomize)
                .or_else(|| find_on_path("kubectl").map(Kustomizer::Kubectl)),
            disabled: false,
            timeout: None,
        }
    }
}

/// An executable file named `name` in a folder of `PATH`.
#[must_use]
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| d.join(name))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// Which tool rendered a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Helm,
    Kustomize,
}

/// What marks a file of the run as rendered output rather than a file on disk.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub tool: Tool,
    /// The rendering this file came from (an index into the run's renderings), so
    /// that cross-file rules never mix two overlays of one base.
    pub rendering: usize,
    /// The chart or overlay folder, as shown.
    pub origin: String,
    /// How it was rendered, for the location line: `rendered with values.yaml`.
    pub how: String,
    /// The template file helm names in its `# Source:` comment, in the run, when on
    /// disk.
    pub source_file: Option<crate::source::FileId>,
    /// An overlay's kustomization tree (its resources and patches).
    pub tree: Option<crate::kustomize::Tree>,
}

/// One chart or overlay to render.
#[derive(Debug, Clone)]
pub struct Job {
    pub kind: JobKind,
    /// The folder, as found by the walk.
    pub dir: PathBuf,
    /// The folder as shown.
    pub shown: String,
    /// Whether a named input is in it (or it in a named input).
    pub target: bool,
}

#[derive(Debug, Clone)]
pub enum JobKind {
    Chart(helm::Settings),
    /// An overlay, with the remote resources its tree names (then it is not built).
    Overlay(Vec<String>),
}

/// What rendering one job gave.
#[derive(Debug)]
pub enum Outcome {
    /// Rendered files: (name, template on disk, text).
    Files(Vec<(String, Option<PathBuf>, String)>),
    /// The tool failed (its stderr) or was stopped at the time limit.
    Failed(String),
    /// No tool to render it with.
    NoTool,
    /// Rendering is turned off.
    Disabled,
    /// The overlay names remote resources, which meshlint does not fetch.
    Remote(Vec<String>),
}

/// Render every job, several at a time, in job order.
#[must_use]
pub fn render_all(jobs: &[Job], tools: &Tools) -> Vec<Outcome> {
    let timeout = tools.timeout.unwrap_or(DEFAULT_TIMEOUT);
    let render = |job: &Job| -> Outcome {
        if tools.disabled || !job.target {
            return Outcome::Disabled;
        }
        match &job.kind {
            JobKind::Chart(settings) => match &tools.helm {
                None => Outcome::NoTool,
                Some(bin) => match run(helm::command(bin, &job.dir, settings), timeout) {
                    Ok(text) => Outcome::Files(helm::split(&text, &job.dir, &job.shown)),
                    Err(e) => Outcome::Failed(e),
                },
            },
            JobKind::Overlay(remote) if !remote.is_empty() => Outcome::Remote(remote.clone()),
            JobKind::Overlay(_) => match &tools.kustomize {
                None => Outcome::NoTool,
                Some(k) => match run(k.command(&job.dir), timeout) {
                    Ok(text) => Outcome::Files(vec![(overlay::rendered_name(&job.shown), None, text)]),
                    Err(e) => Outcome::Failed(e),
                },
            },
        }
    };
    // Each rendering is a process of its own: a few at a time, each waited for by a
    // thread of its own, while the files are parsed on the others.
    let mut out: Vec<Option<Outcome>> = (0..jobs.len()).map(|_| None).collect();
    for (chunk, slots) in jobs.chunks(4).zip(out.chunks_mut(4)) {
        std::thread::scope(|s| {
            let handles: Vec<_> = chunk.iter().map(|job| s.spawn(|| render(job))).collect();
            for (slot, h) in slots.iter_mut().zip(handles) {
                *slot = Some(h.join().unwrap_or_else(|_| Outcome::Failed("the rendering thread panicked".into())));
            }
        });
    }
    out.into_iter().map(|o| o.expect("every job rendered")).collect()
}

/// Output larger than this is not read whole (as for files).
const OUTPUT_LIMIT: u64 = crate::load::MAX_FILE_BYTES as u64;

/// Run a rendering command with no standard input and a time limit: its standard
/// output, or why it failed (its standard error, cleaned).
fn run(mut command: Command, timeout: Duration) -> Result<String, String> {
    // No network, no prompts: helm and kubectl read no plugin repositories when told
    // nothing, and nothing they need asks on a terminal.
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command.spawn().map_err(|e| format!("cannot run `{program}`: {e}"))?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = (&mut stdout).take(OUTPUT_LIMIT).read_to_end(&mut bytes);
        // Drain the rest so that the tool is never blocked on a full pipe.
        let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        bytes
    });
    let err = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = (&mut stderr).take(64 * 1024).read_to_end(&mut bytes);
        let _ = std::io::copy(&mut stderr, &mut std::io::sink());
        bytes
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if start.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("cannot wait for `{program}`: {e}")),
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&err.join().unwrap_or_default()).trim().to_owned();
    match status {
        None => {
            Err(format!("stopped after {} s, the time limit (`render-timeout` in .meshlint.yaml)", timeout.as_secs()))
        }
        Some(s) if !s.success() => Err(if stderr.is_empty() { format!("`{program}` exited with {s}") } else { stderr }),
        Some(_) => String::from_utf8(stdout).map_err(|_| format!("`{program}` wrote output that is not UTF-8")),
    }
}

/// A path without its `.` components (`./charts/shop` is `charts/shop`), so that a file
/// named on the command line and the same file found by walking the repository compare
/// equal.
#[must_use]
pub fn clean(path: &Path) -> PathBuf {
    let cleaned: PathBuf = path.components().filter(|c| !matches!(c, std::path::Component::CurDir)).collect();
    if cleaned.as_os_str().is_empty() { PathBuf::from(".") } else { cleaned }
}

/// Whether a cleaned path lies in a cleaned folder (`.`: everything does).
fn within(path: &Path, dir: &Path) -> bool {
    dir == Path::new(".") || path.starts_with(dir)
}

/// A file found by the walk, as planning sees it.
pub struct Walked<'a> {
    pub name: &'a str,
    pub path: &'a Path,
    pub target: bool,
}

/// The charts and overlays among the walked files. A chart is a folder with
/// `Chart.yaml` (not one inside another chart: a subchart renders with its parent); an
/// overlay is a kustomization named in the configuration, else one that no other
/// includes. Each is a target when a named file is in it (for an overlay: in the folder
/// of any kustomization its tree reaches). Nothing is planned when rendering is off.
#[must_use]
pub fn plan(walked: &[Walked<'_>], config: &crate::config::Config, tools: &Tools) -> Vec<Job> {
    if tools.disabled {
        return Vec::new();
    }
    let parent = |p: &Path| clean(p.parent().unwrap_or(Path::new("")));
    let shown_dir = |name: &str| name.rsplit_once('/').map_or(".", |(d, _)| d).to_owned();
    let mut jobs = Vec::new();
    let charts: Vec<&Walked<'_>> = walked.iter().filter(|w| helm::is_chart_file(w.path)).collect();
    for chart in &charts {
        let dir = parent(chart.path);
        let nested = charts.iter().any(|o| {
            let other = parent(o.path);
            other != dir && within(&dir, &other)
        });
        if nested {
            continue;
        }
        let target = walked.iter().any(|w| w.target && within(&clean(w.path), &dir));
        let settings = config.helm.settings(&dir, &config.root);
        jobs.push(Job { kind: JobKind::Chart(settings), shown: shown_dir(chart.name), dir, target });
    }
    let kustomizations: Vec<&Walked<'_>> =
        walked.iter().filter(|w| crate::kustomize::is_kustomization(w.path)).collect();
    if !kustomizations.is_empty() {
        let loaded: Vec<LoadedFile> = kustomizations
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let bytes = std::fs::read(w.path).unwrap_or_default();
                crate::load::load(i, w.name.to_owned(), Some(w.path.to_owned()), bytes)
            })
            .collect();
        let in_chart = |d: &Path| jobs.iter().any(|j: &Job| matches!(j.kind, JobKind::Chart(_)) && within(d, &j.dir));
        let mut overlays = Vec::new();
        for (dir, dirs, remote) in overlay::plan(&loaded, &config.overlays, &config.root) {
            let dir = clean(&dir);
            if in_chart(&dir) {
                continue;
            }
            let dirs: Vec<PathBuf> = dirs.iter().map(|d| clean(d)).collect();
            let target = walked.iter().any(|w| w.target && dirs.iter().any(|d| within(&clean(w.path), d)));
            let name = loaded
                .iter()
                .find(|f| f.source.path.as_deref().and_then(Path::parent).map(clean).as_ref() == Some(&dir))
                .map_or_else(|| crate::escape::path(&dir), |f| f.source.name.clone());
            overlays.push(Job { kind: JobKind::Overlay(remote), shown: shown_dir(&name), dir, target });
        }
        jobs.extend(overlays);
    }
    jobs
}

use crate::diag::{Diagnostic, Label, Severity};
use crate::load::LoadedFile;

/// Add what rendering gave to the run's files: each rendered file (a target when its
/// chart or overlay is), the templates it names that were not read, the chart's and
/// overlay's files marked as consumed, and, on the chart's `Chart.yaml` or the overlay's
/// kustomization, a `render-failed` error or a `not-rendered` warning.
pub fn attach(
    files: &mut Vec<LoadedFile>,
    targets: &mut Vec<bool>,
    jobs: &[Job],
    outcomes: Vec<Outcome>,
    tools: &Tools,
) {
    // The files' cleaned paths, once (files added below are rendered or templates).
    let mut paths: Vec<Option<PathBuf>> = files.iter().map(|f| f.source.path.as_deref().map(clean)).collect();
    let own_of = |job: &Job| {
        paths.iter().position(|p| {
            p.as_deref().is_some_and(|p| {
                let own = match job.kind {
                    JobKind::Chart(_) => helm::is_chart_file(p),
                    JobKind::Overlay(_) => crate::kustomize::is_kustomization(p),
                };
                own && clean(p.parent().unwrap_or(Path::new(""))) == job.dir
            })
        })
    };
    let owns: Vec<Option<usize>> = jobs.iter().map(own_of).collect();
    // The trees of the overlays that rendered, from one graph of the kustomizations.
    let rendered_overlays: Vec<usize> = jobs
        .iter()
        .zip(&owns)
        .zip(&outcomes)
        .filter(|((j, _), o)| matches!(j.kind, JobKind::Overlay(_)) && matches!(o, Outcome::Files(_)))
        .filter_map(|((_, own), _)| *own)
        .collect();
    let mut trees: HashMap<usize, crate::kustomize::Tree> =
        rendered_overlays.iter().copied().zip(crate::kustomize::trees(files, &rendered_overlays)).collect();
    for (r, (job, outcome)) in jobs.iter().zip(outcomes).enumerate() {
        let inside: Vec<usize> =
            (0..paths.len()).filter(|&i| paths[i].as_deref().is_some_and(|p| within(p, &job.dir))).collect();
        let own_file = owns[r];
        let is_chart = matches!(job.kind, JobKind::Chart(_));
        if is_chart && !matches!(outcome, Outcome::Disabled) {
            // The chart is judged as a chart (rendered, or a finding says why not), not
            // as templates that were skipped one by one.
            for &i in &inside {
                files[i].problems.retain(|d| d.rule != "template-skipped");
            }
        }
        match outcome {
            Outcome::Disabled => {}
            Outcome::NoTool => {
                if let (true, Some(f)) = (is_chart, own_file) {
                    let d = not_rendered(&files[f], f, &job.shown);
                    files[f].problems.push(d);
                }
            }
            Outcome::Remote(remote) => {
                if let Some(f) = own_file {
                    let d = remote_overlay(&files[f], f, &job.shown, &remote);
                    files[f].problems.push(d);
                }
            }
            Outcome::Failed(error) => {
                if let Some(f) = own_file {
                    let d = render_failed(&files[f], f, job, &error, tools);
                    files[f].problems.push(d);
                }
            }
            Outcome::Files(rendered) => {
                let tree = match (&job.kind, own_file) {
                    (JobKind::Overlay(_), Some(k)) => trees.remove(&k),
                    _ => None,
                };
                let consumed: Vec<usize> = match &tree {
                    Some(t) => t.files.clone(),
                    None if is_chart => inside.clone(),
                    None => own_file.into_iter().collect(),
                };
                for &i in &consumed {
                    files[i].consumed = true;
                }
                let how = match (&job.kind, &tools.kustomize) {
                    (JobKind::Chart(settings), _) => settings.how(),
                    (JobKind::Overlay(_), Some(k)) => format!("rendered by {}", k.describe()),
                    (JobKind::Overlay(_), None) => "rendered".to_owned(),
                };
                for (name, source, text) in rendered {
                    let source_file = source.as_deref().map(|p| source_id(files, targets, &mut paths, p, job.target));
                    let id = files.len();
                    let mut file = crate::load::load(id, name, None, text.into_bytes());
                    file.rendered = Some(Box::new(Rendered {
                        tool: if is_chart { Tool::Helm } else { Tool::Kustomize },
                        rendering: r,
                        origin: job.shown.clone(),
                        how: how.clone(),
                        source_file,
                        tree: tree.clone(),
                    }));
                    files.push(file);
                    targets.push(job.target);
                    paths.push(None);
                }
            }
        }
    }
}

/// The file of the run that is the template at `path` (compared by cleaned path: the
/// chart's folder and its templates come from the same walk), read now when it was not
/// (a template with an extension the walk does not pick).
fn source_id(
    files: &mut Vec<LoadedFile>,
    targets: &mut Vec<bool>,
    paths: &mut Vec<Option<PathBuf>>,
    path: &Path,
    target: bool,
) -> usize {
    let want = clean(path);
    if let Some(i) = paths.iter().position(|p| p.as_ref() == Some(&want)) {
        return i;
    }
    let id = files.len();
    let bytes = std::fs::read(path).unwrap_or_default();
    let mut file = crate::load::load(id, crate::escape::path(path), Some(path.to_owned()), bytes);
    file.problems.clear();
    file.documents.clear();
    file.consumed = true;
    files.push(file);
    targets.push(target);
    paths.push(Some(want));
    id
}

/// Where a finding about a whole chart or overlay points: the chart's `name:` (or the
/// kustomization's first key), else the file's start.
fn about_file(file: &LoadedFile, id: usize) -> Label {
    let root = file.documents.first().map(crate::yaml::Document::root);
    let span = root
        .and_then(|r| r.get_entry("name").or_else(|| r.entries().next()))
        .map_or(0..0, |(k, v)| k.span().start..v.span().end.max(k.span().end));
    Label::new(id, span, "")
}

fn not_rendered(file: &LoadedFile, id: usize, shown: &str) -> Diagnostic {
    let mut label = about_file(file, id);
    label.message = "this chart".into();
    Diagnostic::new(
        "not-rendered",
        Severity::Warning,
        format!("Helm chart `{shown}` was not checked: no `helm` was found to render it"),
        label,
    )
    .with_help(format!(
        "install helm (or name it with `--helm PATH` or `helm:` in .meshlint.yaml) so that meshlint renders the chart; or render it yourself: `helm template {shown} | meshlint check -`"
    ))
}

/// The tool's message is cut after this many characters.
const MESSAGE_CHARS: usize = 600;

fn remote_overlay(file: &LoadedFile, id: usize, shown: &str, remote: &[String]) -> Diagnostic {
    let mut label = about_file(file, id);
    label.message = "this kustomization".into();
    let names: Vec<String> = remote.iter().take(3).map(|r| format!("`{r}`")).collect();
    Diagnostic::new(
        "not-rendered",
        Severity::Warning,
        format!(
            "kustomization `{shown}` was not built: it names remote resources ({}), which meshlint does not fetch; its local files were read as plain manifests",
            names.join(", ")
        ),
        label,
    )
    .with_help(format!(
        "vendor the remote bases into the repository so that the overlay builds offline, or build it yourself and check the output: `kubectl kustomize {shown} | meshlint check -`"
    ))
}

fn render_failed(file: &LoadedFile, id: usize, job: &Job, error: &str, tools: &Tools) -> Diagnostic {
    let (what, tool) = match (&job.kind, &tools.kustomize) {
        (JobKind::Chart(_), _) => ("Helm chart", "helm template"),
        (JobKind::Overlay(_), Some(k)) => ("kustomization", k.describe()),
        (JobKind::Overlay(_), None) => ("kustomization", "kustomize build"),
    };
    let mut label = about_file(file, id);
    label.message = format!("`{tool}` failed here");
    // The tool's message on one line (kustomize's spans several), not endless, without
    // its deprecation warnings.
    let joined = error
        .lines()
        .filter(|l| !l.trim_start().trim_start_matches('#').trim_start().to_ascii_lowercase().starts_with("warning"))
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ");
    let joined = joined.strip_prefix("Error: ").or_else(|| joined.strip_prefix("error: ")).unwrap_or(&joined);
    // helm's advice for its own command line, not meshlint's.
    let joined = joined.trim_end_matches("Use --debug flag to render out invalid YAML").trim_end();
    let line = match joined.char_indices().nth(MESSAGE_CHARS) {
        Some((at, _)) => format!("{}…", &joined[..at]),
        None if joined.is_empty() => "no message".to_owned(),
        None => joined.to_owned(),
    };
    let help = match job.kind {
        JobKind::Chart(_) if error.contains("missing in charts/") => format!(
            "meshlint renders offline: run `helm dependency build {}` so that `charts/` holds the dependencies",
            job.shown
        ),
        // `required` values, or a value the templates use without a default.
        JobKind::Chart(_) => format!(
            "run `{tool} {}` to see the whole error; nothing in it was checked. A chart that needs values to render takes them from `helm: {{values: [FILE]}}` (or per chart, `helm: {{charts: {{{}: {{values: [FILE]}}}}}}`) in .meshlint.yaml",
            job.shown, job.shown
        ),
        JobKind::Overlay(_) => format!("run `{tool} {}` to see the whole error; nothing in it was checked", job.shown),
    };
    Diagnostic::new("render-failed", Severity::Error, format!("{what} `{}` did not render: {line}", job.shown), label)
        .with_help(help)
}
