//! The `meshlint` command line: parses flags, runs the engine, renders, and maps the
//! outcome to an exit status (0 clean, 1 findings at or above `--fail-on`, 2 tool error).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use meshlint::diag::Severity;
use meshlint::engine::{self, ContextMode, Input, Options};
use meshlint::istio::Profile;
use meshlint::istio::config::Policy;
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
    /// Predict, for every workload, whether Istio will inject the sidecar, and why.
    Audit(AuditArgs),
    /// List every rule.
    Rules,
    /// Print the documentation of one rule.
    Explain {
        /// The rule's name, e.g. `unnamed-service-port`.
        rule: String,
    },
    /// Read and parse only, without checking: the baseline of the benchmarks.
    #[command(hide = true)]
    ParseOnly { paths: Vec<PathBuf> },
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
    /// Namespace of objects that name none (where the files will be applied).
    #[arg(long, default_value = "default")]
    namespace: String,
    /// The Istio behaviour to check against.
    #[arg(long, value_enum, default_value_t = Profile::Istio02)]
    profile: Profile,
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
}

impl InputArgs {
    fn options(&self) -> Options {
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
        Options {
            inputs,
            namespace: self.namespace.clone(),
            profile: self.profile,
            context,
            inject_config: self.inject_config.clone(),
            policy: self.policy,
        }
    }
}

#[derive(clap::Args)]
struct CheckArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Exit 1 when a finding is at least this severe.
    #[arg(long, value_enum, default_value_t = Severity::Warning)]
    fail_on: Severity,
}

#[derive(clap::Args)]
struct AuditArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = AuditFormat::Table)]
    format: AuditFormat,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("meshlint: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cli.command {
        Command::Check(args) => check(&args, &mut out),
        Command::Audit(args) => {
            let audit = meshlint::audit::audit(&args.input.options());
            render::audit(&mut out, &audit, args.format, Style::detect())?;
            out.flush()?;
            for err in &audit.errors {
                eprintln!("meshlint: error: {err}");
            }
            Ok(if audit.errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
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
            Ok(ExitCode::SUCCESS)
        }
        Command::ParseOnly { paths } => {
            let inputs: Vec<_> = paths.into_iter().map(Input::Path).collect();
            let mut errors = Vec::new();
            let files = engine::read_inputs(&inputs, &mut errors);
            let documents: usize = files.iter().map(|f| f.documents.len()).sum();
            writeln!(out, "{} files, {documents} documents", files.len())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn check(args: &CheckArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let options = args.input.options();
    let report = engine::check(&options);
    render::report(out, &report, args.format, Style::detect())?;
    out.flush()?;
    for err in &report.errors {
        eprintln!("meshlint: error: {err}");
    }
    Ok(if !report.errors.is_empty() {
        ExitCode::from(2)
    } else if report.max_severity().is_some_and(|s| s >= args.fail_on) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
