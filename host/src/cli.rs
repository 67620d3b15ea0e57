//! The `covenant` command line: flags, output files and exit codes.
//!
//! Exit codes (also in the README):
//! - 0: compliant: every rule ran and found nothing;
//! - 1: findings;
//! - 2: bad input or usage: nothing was reported;
//! - 3: a rule could not finish (it failed to load, trapped or hit a limit);
//!   this wins over 1, because the verdict is incomplete.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::audit::Audit;
use crate::events::Timestamp;
use crate::policy::Policy;
use crate::report::{Format, Report};

/// Exit code: every rule ran and found nothing.
pub const EXIT_COMPLIANT: u8 = 0;
/// Exit code: at least one finding.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code: bad input or usage; nothing was reported.
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code: a rule could not finish.
pub const EXIT_RULE_ERROR: u8 = 3;

/// Checks recorded data-handling events against published commitments.
///
/// Each commitment is a rule, and each rule is a WebAssembly component run
/// in a sandbox with no access to files, network, environment or clock.
#[derive(Debug, Parser)]
#[command(name = "covenant", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check event logs against a policy and report what breaches it.
    ///
    /// Exit codes: 0 compliant, 1 findings, 2 bad input or usage, 3 a rule
    /// could not finish.
    Report(ReportArgs),

    /// Print every paragraph of the policy's source document with the rules
    /// that check it, or why logs cannot show it.
    Coverage(CoverageArgs),
}

#[derive(Debug, clap::Args)]
struct CoverageArgs {
    /// Policy file (TOML). Defaults to the embedded Defender for Cloud policy.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct ReportArgs {
    /// Event logs: JSON Lines files, `.json` files holding an array,
    /// directories (searched recursively for both), or `-` for standard input.
    #[arg(required = true, value_name = "EVENTS")]
    events: Vec<PathBuf>,

    /// Policy file (TOML). Defaults to the embedded Defender for Cloud policy.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,

    /// Take the report as of this RFC 3339 time: data due for deletion by
    /// then must be gone. Defaults to the latest event's time, so the same
    /// log always gives the same report. Must not be before the latest event.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    as_of: Option<Timestamp>,

    /// Output format. Defaults to the output file's extension (`.json`,
    /// `.md`, `.txt`), or text.
    #[arg(long, value_enum)]
    format: Option<Format>,

    /// Do not stop at records that are not valid events: list each one,
    /// with where it is and why, in the report, and check the rest.
    #[arg(long)]
    skip_invalid: bool,

    /// Write the report to FILE instead of standard output. The file is
    /// replaced atomically, so an interrupted run never leaves half a report.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

fn parse_time(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse_rfc3339(text)
}

/// Runs the command the process's arguments name.
pub fn main() -> ExitCode {
    ExitCode::from(run_from(std::env::args_os()))
}

/// Parses `args` (the first is the program name), runs the command and
/// returns its exit code. Errors go to stderr as one line with their causes.
pub fn run_from<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap exits 0 for --help and --version and 2 for usage errors.
            return u8::try_from(e.exit_code()).unwrap_or(EXIT_BAD_INPUT);
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("covenant: error: {e:#}");
            EXIT_BAD_INPUT
        }
    }
}

fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Report(args) => report(args),
        Command::Coverage(args) => {
            let policy = load_policy(args.policy.as_deref())?;
            print!("{}", coverage(&policy));
            Ok(EXIT_COMPLIANT)
        }
    }
}

fn load_policy(path: Option<&Path>) -> Result<Policy> {
    match path {
        Some(path) => Policy::load(path),
        None => Policy::builtin(),
    }
}

/// The coverage map as text: each paragraph under the rules that check it.
pub fn coverage(policy: &Policy) -> String {
    let checked = policy
        .coverage
        .iter()
        .filter(|c| !c.rules.is_empty())
        .count();
    let mut out = format!(
        "Coverage of {} by {}\n{} paragraphs: {checked} checked by rules, {} that logs cannot show.\n",
        policy.document.as_deref().unwrap_or("the source document"),
        policy.source,
        policy.coverage.len(),
        policy.coverage.len() - checked
    );
    for paragraph in &policy.coverage {
        let by = if paragraph.rules.is_empty() {
            "not checkable".to_string()
        } else {
            paragraph.rules.join(", ")
        };
        out.push_str(&format!("\n[{by}] {}\n", paragraph.text));
        if let Some(note) = &paragraph.note {
            out.push_str(&format!("    note: {note}\n"));
        }
    }
    out
}

fn report(args: ReportArgs) -> Result<u8> {
    let policy = load_policy(args.policy.as_deref())?;
    let mut audit = Audit::new(policy, args.events);
    audit.as_of = args.as_of;
    audit.skip_invalid = args.skip_invalid;
    let report = audit.run()?;
    let format = args
        .format
        .or_else(|| args.output.as_deref().and_then(Format::from_extension))
        .unwrap_or(Format::Text);
    let rendered = format.render(&report);
    match &args.output {
        Some(path) => write_atomically(path, rendered.as_bytes())?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(rendered.as_bytes())
                .context("cannot write the report to stdout")?;
            stdout
                .flush()
                .context("cannot write the report to stdout")?;
        }
    }
    Ok(exit_code(&report))
}

/// The exit code a report calls for.
pub fn exit_code(report: &Report) -> u8 {
    if report.summary.rules_errored > 0 {
        EXIT_RULE_ERROR
    } else if report.summary.findings > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_COMPLIANT
    }
}

/// Writes to a temporary file beside `path`, then renames it into place.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("{}: cannot create the report file", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.as_file().sync_all())
        .with_context(|| format!("{}: cannot write the report", path.display()))?;
    file.persist(path)
        .with_context(|| format!("{}: cannot replace the report file", path.display()))?;
    Ok(())
}
