//! The `meshlint` command line: parses flags, runs the engine, renders, and maps the
//! outcome to an exit status (0 clean, 1 findings at or above `--fail-on`, 2 tool error).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use meshlint::config::Config;
use meshlint::diag::Severity;
use meshlint::engine::{self, ContextMode, Input, Options};
use meshlint::inject::{self, Direction, Settings};
use meshlint::istio::Profile;
use meshlint::istio::config::Policy;
use meshlint::istio::decide::Mode;
use meshlint::istio::modern::Version;
use meshlint::istio::template::{self, Mesh, Params};
use meshlint::render::{self, AuditFormat, Format, Style};
use meshlint::rules;

#[derive(Parser)]
#[command(name = "meshlint", version, about = "Lint Kubernetes manifests for the Istio service mesh, offline")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check manifests (files, directories, `-` for stdin) and report findings.
    Check(CheckArgs),
    /// The context cache of pre-commit mode.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Predict, for every workload, whether Istio will inject the sidecar, and why.
    Audit(AuditArgs),
    /// Add the Istio sidecar to workloads, like `istioctl kube-inject`, keeping every
    /// byte it does not need to change.
    Inject(Box<InjectArgs>),
    /// Remove what `inject` adds.
    Uninject(RewriteArgs),
    /// Write a `.meshlint.yaml` for the repository: the profile detected and why, the
    /// namespaces found, commented defaults.
    Init {
        /// The repository's folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Replace an existing `.meshlint.yaml`.
        #[arg(long)]
        force: bool,
        /// Print the configuration instead of writing it.
        #[arg(long)]
        stdout: bool,
    },
    /// List every rule.
    Rules,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions { shell: clap_complete::Shell },
    /// Print the documentation of one rule.
    Explain {
        /// The rule's name, e.g. `unnamed-service-port`.
        rule: String,
    },
    /// Read and parse only, without checking: the baseline of the benchmarks.
    #[command(hide = true)]
    ParseOnly { paths: Vec<PathBuf> },
}

#[derive(clap::Subcommand)]
enum CacheCommand {
    /// Remove the cache: `.meshlint_cache/` at the root of the repository holding DIR.
    Clean {
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The cache folder to remove instead (as given to `check --cache-dir`).
        #[arg(long, value_name = "DIR")]
        cache_dir: Option<PathBuf>,
    },
}

/// What to read and how objects are placed: shared by `check` and `audit`.
#[derive(clap::Args)]
struct InputArgs {
    /// Files and directories to read; `-` reads standard input.
    #[arg(default_value = ".")]
    paths: Vec<String>,
    /// Name shown for standard input.
    #[arg(long, default_value = "<stdin>")]
    stdin_filename: String,
    /// Namespace of objects that name none, where the files will be applied
    /// [default: the configuration's, else `default`].
    #[arg(long)]
    namespace: Option<String>,
    /// The Istio behaviour to check against [default: the configuration's, else detected
    /// from the repository (Istio API objects, injection labels, the injector's
    /// ConfigMaps), else istio-0.2].
    #[arg(long, value_enum)]
    profile: Option<Profile>,
    /// Istio release for the modern profile (inject values are read differently from
    /// 1.27 on) [default: the newest].
    #[arg(long, value_name = "X.Y")]
    istio_version: Option<String>,
    /// Labels of a namespace that is not in the files (modern profile), e.g.
    /// `shop:istio-injection=enabled`; repeatable.
    #[arg(long, value_name = "NS:KEY=VALUE")]
    namespace_label: Vec<String>,
    /// A revision or tag installed in the cluster besides those found (modern profile);
    /// repeatable.
    #[arg(long)]
    revision: Vec<String>,
    /// The meshlint configuration [default: the nearest `.meshlint.yaml` from the working
    /// directory up to the repository root; outside a repository, the working
    /// directory's].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// When files are named, also read this directory so that cross-file rules see the
    /// rest of the repository [default: the enclosing git repository].
    #[arg(long, value_name = "DIR", conflicts_with = "no_context")]
    context: Option<PathBuf>,
    /// Read only the named inputs, even when they are single files.
    #[arg(long)]
    no_context: bool,
    /// The injection configuration: an `istio-inject` ConfigMap manifest or the bare
    /// config YAML [default: the one found in the inputs, else Istio 0.2.6's defaults].
    #[arg(long, value_name = "FILE")]
    inject_config: Option<PathBuf>,
    /// Override the injection policy.
    #[arg(long, value_enum)]
    policy: Option<Policy>,
    /// The helm binary that renders charts (folders with `Chart.yaml`) [default: the
    /// configuration's `helm:`, else `helm` on PATH].
    #[arg(long, value_name = "PATH")]
    helm: Option<PathBuf>,
    /// The kustomize or kubectl binary that builds overlays [default: the configuration's
    /// `kustomize: {binary}`, else `kustomize`, then `kubectl`, on PATH].
    #[arg(long, value_name = "PATH")]
    kustomize: Option<PathBuf>,
    /// Read charts and kustomizations as plain files instead of rendering them.
    #[arg(long)]
    no_render: bool,
}

impl InputArgs {
    fn options(&self) -> anyhow::Result<Options> {
        let config_path = match &self.config {
            Some(p) => Some(p.clone()),
            // Shown relative to the working directory, like every other path.
            None => std::env::current_dir().ok().and_then(|d| {
                let found = meshlint::config::find(&d)?;
                let cwd = std::fs::canonicalize(&d).ok()?;
                Some(found.strip_prefix(&cwd).map_or_else(|_| found.clone(), std::path::Path::to_path_buf))
            }),
        };
        let mut config = match &config_path {
            Some(p) => Config::load(p).with_context(|| format!("{}", p.display()))?,
            None => Config::default(),
        };
        let namespace = self.namespace.clone().or_else(|| config.namespace.clone()).unwrap_or_else(|| "default".into());
        // A chart is released into the run's namespace unless configured otherwise.
        if config.helm.defaults.namespace.is_none() {
            config.helm.defaults.namespace = Some(namespace.clone());
        }
        let tools = self.tools(&config);
        let inputs = self
            .paths
            .iter()
            .map(|p| if p == "-" { Input::Stdin(self.stdin_filename.clone()) } else { Input::Path(p.into()) })
            .collect();
        let context = match (self.no_context, &self.context) {
            (true, _) => ContextMode::Off,
            (false, Some(dir)) => ContextMode::Dir(dir.clone()),
            (false, None) => ContextMode::Auto,
        };
        Ok(Options {
            inputs,
            namespace,
            profile: self.profile.or(config.profile),
            istio_version: match &self.istio_version {
                Some(v) => Version::parse(v).with_context(|| format!("--istio-version {v}: expected X.Y"))?,
                None => Version::NEWEST,
            },
            namespace_labels: self
                .namespace_label
                .iter()
                .map(|l| parse_namespace_label(l))
                .collect::<anyhow::Result<_>>()?,
            revisions: self.revision.clone(),
            context,
            inject_config: self.inject_config.clone(),
            policy: self.policy,
            config,
            baseline: None,
            write_baseline: None,
            tools,
            cache: meshlint::engine::CacheMode::Off,
        })
    }

    /// The rendering tools: the flag, else the configuration, else `PATH`.
    fn tools(&self, config: &Config) -> meshlint::rendering::Tools {
        use meshlint::rendering::{Kustomizer, Tools};
        let on_path = Tools::from_path();
        Tools {
            helm: self.helm.clone().or_else(|| config.helm.binary.clone()).or(on_path.helm),
            kustomize: self
                .kustomize
                .clone()
                .or_else(|| config.kustomize_binary.clone())
                .map(Kustomizer::from_path)
                .or(on_path.kustomize),
            disabled: self.no_render,
            timeout: config.render_timeout.map(std::time::Duration::from_secs),
        }
    }
}

#[derive(clap::Args)]
struct CheckArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Read every context file: no context cache (`.meshlint_cache/` at the repository
    /// root), neither read nor written.
    #[arg(long)]
    no_cache: bool,
    /// Keep the context cache in this folder instead of `.meshlint_cache/`.
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    cache_dir: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Exit 1 when a finding is at least this severe [default: the configuration's,
    /// else warning].
    #[arg(long, value_enum)]
    fail_on: Option<Severity>,
    /// Report only findings not recorded in this baseline.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Record the current findings as the baseline (replacing the file), then exit 0.
    #[arg(long, value_name = "FILE", conflicts_with = "baseline")]
    write_baseline: Option<PathBuf>,
    /// Human format: show every note (info finding) in full, not one line per group.
    #[arg(short, long)]
    verbose: bool,
}

#[derive(clap::Args)]
struct AuditArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = AuditFormat::Table)]
    format: AuditFormat,
}

/// Where rewritten manifests go.
#[derive(clap::Args)]
struct RewriteArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Read this one file (`-` for standard input) and write the result to standard
    /// output (or `-o`). For directories or several files use --write, --diff or --check.
    #[arg(
        short = 'f',
        long = "filename",
        value_name = "FILE",
        conflicts_with_all = ["write", "diff", "check", "paths"]
    )]
    filename: Option<String>,
    /// With `-f`: write the result here (replaced atomically) instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE", requires = "filename")]
    output: Option<PathBuf>,
    /// Rewrite the files in place (atomically).
    #[arg(long, group = "mode")]
    write: bool,
    /// Print a unified diff of what would change; change nothing.
    #[arg(long, group = "mode")]
    diff: bool,
    /// Change nothing; exit 1 when a file would change.
    #[arg(long, group = "mode")]
    check: bool,
}

#[derive(clap::Args)]
struct InjectArgs {
    #[command(flatten)]
    rewrite: RewriteArgs,
    /// Decide as the cluster's initializer would (policy, namespaces, kinds), so the result
    /// is what `audit` predicts; by default decide as `kube-inject` does.
    #[arg(long)]
    as_initializer: bool,
    /// Registry of the images: `<hub>/proxy_init:<tag>` and `<hub>/proxy:<tag>`.
    #[arg(long)]
    hub: Option<String>,
    /// Tag of the images (with `--hub`).
    #[arg(long)]
    tag: Option<String>,
    #[arg(long)]
    init_image: Option<String>,
    #[arg(long)]
    proxy_image: Option<String>,
    /// `Always`, `IfNotPresent` or `Never`.
    #[arg(long)]
    image_pull_policy: Option<String>,
    #[arg(long)]
    verbosity: Option<i64>,
    /// The version in `sidecar.istio.io/status: injected-version-<version>`.
    #[arg(long)]
    status_version: Option<String>,
    /// Debug proxy image, privileged, writable root filesystem.
    #[arg(long)]
    debug: bool,
    /// Add the `enable-core-dump` init container.
    #[arg(long)]
    core_dump: bool,
    #[arg(long)]
    sidecar_proxy_uid: Option<i64>,
    /// IP ranges to redirect to the proxy (`-i` of `istio-init`).
    #[arg(long)]
    include_ip_ranges: Option<String>,
    /// Mesh values: an `istio` ConfigMap manifest or the bare mesh YAML [default: the
    /// `istio` ConfigMap found in the inputs, else the Istio 0.2.6 install's values].
    #[arg(long, value_name = "FILE")]
    mesh_config: Option<PathBuf>,
}

impl InjectArgs {
    fn apply(&self, p: &mut Params) {
        if self.hub.is_some() || self.tag.is_some() {
            let hub = self.hub.as_deref().unwrap_or("docker.io/istio");
            let tag = self.tag.as_deref().unwrap_or(&p.version);
            let proxy = if self.debug { "proxy_debug" } else { "proxy" };
            p.init_image = format!("{hub}/proxy_init:{tag}");
            p.proxy_image = format!("{hub}/{proxy}:{tag}");
        }
        let set = |target: &mut String, v: &Option<String>| {
            if let Some(v) = v {
                target.clone_from(v);
            }
        };
        set(&mut p.init_image, &self.init_image);
        set(&mut p.proxy_image, &self.proxy_image);
        set(&mut p.version, &self.status_version);
        set(&mut p.include_ip_ranges, &self.include_ip_ranges);
        if let Some(v) = &self.image_pull_policy {
            p.image_pull_policy = template::normalize_pull_policy(v);
        }
        if let Some(v) = self.verbosity {
            p.verbosity = v;
        }
        if let Some(v) = self.sidecar_proxy_uid {
            p.proxy_uid = v;
        }
        p.debug |= self.debug;
        p.core_dump |= self.core_dump;
    }

    fn mesh(&self) -> anyhow::Result<Option<Mesh>> {
        let Some(path) = &self.mesh_config else { return Ok(None) };
        let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
        // A ConfigMap manifest carries the mesh YAML in `data.mesh`.
        let stream = meshlint::yaml::parse_stream(&text);
        let embedded = stream
            .documents
            .first()
            .and_then(|d| d.root().path(&["data", "mesh"]).and_then(|n| n.scalar()).map(str::to_owned));
        let mesh = Mesh::from_yaml(embedded.as_deref().unwrap_or(&text))
            .with_context(|| format!("{}: not valid mesh YAML", path.display()))?;
        Ok(Some(mesh))
    }
}

/// `NS:KEY=VALUE`.
fn parse_namespace_label(text: &str) -> anyhow::Result<(String, String, String)> {
    let (ns, pair) = text.split_once(':').context("--namespace-label: expected NS:KEY=VALUE")?;
    let (key, value) = pair.split_once('=').context("--namespace-label: expected NS:KEY=VALUE")?;
    if !meshlint::config::is_dns_label(ns) {
        anyhow::bail!(
            "--namespace-label {}: `{}` is not a namespace name (lowercase letters, digits and `-`, at most 63; no patterns)",
            meshlint::escape::text(text),
            meshlint::escape::text(ns)
        );
    }
    if key.is_empty() {
        anyhow::bail!("--namespace-label {}: the label key is empty", meshlint::escape::text(text));
    }
    Ok((ns.to_owned(), key.to_owned(), value.to_owned()))
}

/// A line on stderr. Unlike `eprintln!`, never panics when stderr is gone; the text
/// (which may carry names from the input) has its control characters escaped.
macro_rules! say {
    ($($arg:tt)*) => {{
        let line = format!($($arg)*);
        let _ = writeln!(std::io::stderr(), "{}", meshlint::escape::text(&line));
    }};
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        // The reader of the output went away (`meshlint check | head`): nothing to tell it.
        Err(err) if is_broken_pipe(&err) => ExitCode::from(2),
        Err(err) => {
            say!("meshlint: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// Whether the error comes from writing to a closed pipe, however deeply it is wrapped.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    fn io_broken(e: &(dyn std::error::Error + 'static)) -> bool {
        let Some(io) = e.downcast_ref::<std::io::Error>() else { return false };
        io.kind() == std::io::ErrorKind::BrokenPipe || io.get_ref().is_some_and(|inner| io_broken(inner))
    }
    err.chain().any(io_broken)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    // Buffered: a report can be thousands of lines; each `flush` below ends a report.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    match cli.command {
        Command::Check(args) => check(&args, &mut out),
        Command::Audit(args) => {
            let audit = meshlint::audit::audit(&args.input.options()?);
            render::audit(&mut out, &audit, args.format, Style::detect())?;
            out.flush()?;
            for err in &audit.errors {
                say!("meshlint: error: {err}");
            }
            Ok(if audit.errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
        }
        Command::Inject(args) => {
            let direction = Direction::Inject(Box::new(Settings {
                mode: if args.as_initializer { Mode::Initializer } else { Mode::KubeInject },
                params: Params::default(),
                mesh: Mesh::default(),
            }));
            let mesh = args.mesh()?;
            rewrite(&args.rewrite, &direction, mesh.as_ref(), &|p| args.apply(p), &mut out)
        }
        Command::Uninject(args) => rewrite(&args, &Direction::Uninject, None, &|_| {}, &mut out),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "meshlint", &mut out);
            Ok(ExitCode::SUCCESS)
        }
        Command::Init { dir, force, stdout } => {
            let mut options = Options::new(vec![Input::Path(dir.clone())]);
            options.context = ContextMode::Off;
            let text = meshlint::init::configuration(&options);
            if stdout {
                out.write_all(text.as_bytes())?;
                return Ok(ExitCode::SUCCESS);
            }
            let path = dir.join(meshlint::config::FILE_NAME);
            if path.exists() && !force {
                anyhow::bail!(
                    "{} exists; use --force to replace it, or --stdout to see what would be written",
                    path.display()
                );
            }
            std::fs::write(&path, text).with_context(|| format!("{}", path.display()))?;
            say!("meshlint: wrote {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Cache(CacheCommand::Clean { dir, cache_dir }) => {
            let target = match cache_dir {
                Some(d) => d,
                None => engine::repository_root(&dir)
                    .with_context(|| {
                        format!("{}: not in a git repository or a folder with .meshlint.yaml", dir.display())
                    })?
                    .join(meshlint::cache::DIR_NAME),
            };
            let removed = meshlint::cache::clean(&target).with_context(|| format!("{}", target.display()))?;
            say!("meshlint: {} {}", if removed { "removed" } else { "no cache at" }, target.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Rules => {
            render::rules_table(&mut out, Style::detect())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { rule } => {
            let Some(rule) = rules::find(&rule) else {
                let names: Vec<_> = rules::RULES.iter().map(|r| r.name).collect();
                anyhow::bail!("no rule named `{rule}`; rules are: {}", names.join(", "));
            };
            out.write_all(rule.doc.as_bytes())?;
            writeln!(out, "\n## Profiles\n\n{}", rules::profiles_line(rule))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::ParseOnly { paths } => {
            let inputs: Vec<_> = paths.into_iter().map(Input::Path).collect();
            let mut errors = Vec::new();
            let files = engine::read_inputs(&inputs, &mut errors);
            let documents: usize = files.iter().map(|f| f.documents.len()).sum();
            writeln!(out, "{} files, {documents} documents", files.len())?;
            // As `check` does: leave the memory to the OS.
            std::mem::forget(files);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn rewrite(
    args: &RewriteArgs,
    direction: &Direction,
    mesh: Option<&Mesh>,
    overrides: &dyn Fn(&mut Params),
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    if args.filename.is_none() && !(args.write || args.diff || args.check) {
        anyhow::bail!("name one of --write, --diff or --check, or use -f FILE");
    }
    let mut options = args.input.options()?;
    options.context = ContextMode::Off;
    if options.profile == Some(Profile::Modern) {
        anyhow::bail!(
            "rewriting manifests for the istio-modern profile is not supported yet: its webhook injects at admission; use `istioctl kube-inject` of your Istio release"
        );
    }
    if let Some(f) = &args.filename {
        if f != "-" && std::path::Path::new(f).is_dir() {
            anyhow::bail!(
                "-f takes one file or `-`, and `{f}` is a directory: use --write, --diff or --check to rewrite or review a directory"
            );
        }
        options.inputs =
            vec![if f == "-" { Input::Stdin(args.input.stdin_filename.clone()) } else { Input::Path(f.into()) }];
    }
    if args.write || args.output.is_some() {
        meshlint::fsio::remove_temp_files_on_signals().context("cannot watch for signals")?;
    }
    let mut failed = false;
    let mut would_change = false;
    // Each result is written as it comes and dropped: memory does not grow with the
    // number of files already written.
    let mut sink =
        |file: &meshlint::load::LoadedFile, result: Result<inject::FileChange, String>| -> std::io::Result<()> {
            let name = &file.source.name;
            let change = match result {
                Ok(change) => change,
                Err(why) => {
                    say!("meshlint: error: {name}: {why}");
                    failed = true;
                    return Ok(());
                }
            };
            let _ = render::rewrite_summary(&mut std::io::stderr(), name, &change);
            for err in &change.errors {
                say!("meshlint: error: {name}: {err}");
                failed = true;
            }
            let changed = change.changed(&file.source.text);
            would_change |= changed;
            // A byte order mark is not part of the text: give it back.
            let bom: &[u8] = if file.bom { "\u{feff}".as_bytes() } else { b"" };
            let new_text = [bom, change.new_text.as_bytes()];
            let written = if let Some(path) = args.output.as_ref().filter(|_| args.filename.is_some()) {
                meshlint::fsio::write_output(path, &new_text).map_err(|e| format!("{}: {e}", path.display()))
            } else if args.filename.is_some() {
                out.write_all(bom)?;
                out.write_all(change.new_text.as_bytes())?;
                Ok(())
            } else if args.diff {
                render::unified_diff(out, name, &file.source.text, &change.new_text)?;
                Ok(())
            } else if args.write && changed {
                match file.source.path.as_deref() {
                    None => Err(format!("{name}: standard input cannot be rewritten in place")),
                    Some(path) => {
                        let original = [bom, file.source.text.as_bytes()];
                        meshlint::fsio::replace(path, Some(&original), &new_text).map_err(|e| format!("{name}: {e}"))
                    }
                }
            } else {
                Ok(())
            };
            if let Err(why) = written {
                say!("meshlint: error: {why}");
                failed = true;
            }
            Ok(())
        };
    let errors = inject::rewrite(&options, direction, mesh, overrides, &mut sink)?;
    failed |= !errors.is_empty();
    out.flush()?;
    for err in &errors {
        say!("meshlint: error: {err}");
    }
    Ok(if failed {
        ExitCode::from(2)
    } else if args.check && would_change {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn check(args: &CheckArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let mut options = args.input.options()?;
    options.cache = match (&args.cache_dir, args.no_cache) {
        (_, true) => meshlint::engine::CacheMode::Off,
        (Some(dir), false) => meshlint::engine::CacheMode::Dir(dir.clone()),
        (None, false) => meshlint::engine::CacheMode::Auto,
    };
    options.baseline.clone_from(&args.baseline);
    options.write_baseline.clone_from(&args.write_baseline);
    let fail_on = args.fail_on.or(options.config.fail_on).unwrap_or(Severity::Warning);
    let progress = Progress::start(args.format == Format::Human);
    let report = engine::check(&options);
    progress.finish();
    if let Some(path) = &args.write_baseline {
        meshlint::baseline::write(path, &report.diagnostics, &report.files)
            .with_context(|| format!("{}", path.display()))?;
        say!("meshlint: wrote {} findings to {}", report.diagnostics.len(), path.display());
        return Ok(if report.errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) });
    }
    render::report(out, &report, args.format, Style { verbose: args.verbose, ..Style::detect() })?;
    out.flush()?;
    for err in &report.errors {
        say!("meshlint: error: {err}");
    }
    let code = if !report.errors.is_empty() {
        ExitCode::from(2)
    } else if report.max_severity().is_some_and(|s| s >= fail_on) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    // The process ends here: the OS takes the memory back faster than freeing every
    // document one by one would.
    std::mem::forget(report);
    Ok(code)
}

/// A note on stderr when a run takes more than a second, only when stderr is a terminal
/// and the output is for people (never in machine formats or pipes).
struct Progress {
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    fn start(human: bool) -> Self {
        use std::io::IsTerminal;
        use std::sync::atomic::{AtomicBool, Ordering};
        let done = std::sync::Arc::new(AtomicBool::new(false));
        let thread = (human && std::io::stderr().is_terminal()).then(|| {
            let done = done.clone();
            std::thread::spawn(move || {
                let start = std::time::Instant::now();
                let mut shown = false;
                while !done.load(Ordering::Relaxed) {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    if start.elapsed().as_secs() >= 1 {
                        let _ = write!(std::io::stderr(), "\rmeshlint: checking... {}s", start.elapsed().as_secs());
                        shown = true;
                    }
                }
                if shown {
                    let _ = write!(std::io::stderr(), "\r\x1b[2K");
                }
            })
        });
        Self { done, thread }
    }

    fn finish(self) {
        self.done.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread {
            let _ = t.join();
        }
    }
}

/// mimalloc: the YAML tree is many small allocations made and read by several threads.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
