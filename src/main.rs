//! The `meshlint` command line: parses flags, runs the engine, renders, and maps the
//! outcome to an exit status (0 clean, 1 findings at or above `--fail-on`, 2 tool error).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use meshlint::diag::Severity;
use meshlint::engine::{self, ContextMode, Input, Options};
use meshlint::istio::Profile;
use meshlint::render::{self, Format, Style};
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

#[derive(clap::Args)]
struct CheckArgs {
    /// Files and directories to check; `-` reads standard input.
    #[arg(default_value = ".")]
    paths: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Exit 1 when a finding is at least this severe.
    #[arg(long, value_enum, default_value_t = Severity::Warning)]
    fail_on: Severity,
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
        Command::Check(args) => check(args, &mut out),
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

fn check(args: CheckArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let inputs = args
        .paths
        .iter()
        .map(|p| if p == "-" { Input::Stdin(args.stdin_filename.clone()) } else { Input::Path(p.into()) })
        .collect();
    let context = match (args.no_context, args.context) {
        (true, _) => ContextMode::Off,
        (false, Some(dir)) => ContextMode::Dir(dir),
        (false, None) => ContextMode::Auto,
    };
    let options = Options { inputs, namespace: args.namespace, profile: args.profile, context };
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
