//! The `covenant` command line: flags, output files and exit codes, with
//! the terminal's [`progress`] bar. It is the top of the crate: it may
//! import every stage and tool, nothing imports it, and it is the only
//! place that speaks in flags; the library's errors name the problem.
//!
//! Exit codes (also in the README):
//! - 0: no open finding at or above `--fail-on` (and every rule finished);
//! - 1: open findings at or above `--fail-on`;
//! - 2: bad input or usage: nothing was reported;
//! - 3: a rule could not finish (it failed to load, trapped or hit a limit);
//!   this wins over 1, because the verdict is incomplete;
//! - 130, 143: stopped by SIGINT (Ctrl-C) or SIGTERM, with the outputs
//!   still being written removed.
//!
//! `covenant diff` exits 0 when two reports have the same findings and 1
//! when they differ. `covenant merge` exits as `report` does. `validate`,
//! `split` and `generate` exit 0 or 2.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

mod plugin;
pub mod progress;

use crate::cli::progress::ProgressBar;
use crate::evaluate::audit::{Audit, RequestProblem};
use crate::evaluate::state::{SavedState, max_state_bytes, state_key};
use crate::events::generate::{LogSpec, SpecProblem, generate as generate_log};
use crate::events::mapping::FormatChoice;
use crate::events::validate::LogCheck;
use crate::events::{EventReader, Timestamp};
use crate::policy::waivers::load_waivers;
use crate::policy::{Policy, Severity};
use crate::report::diff::ReportDiff;
use crate::report::{Format, Report};
use crate::runtime::PluginRuntime;

/// Exit code: no open finding at or above `--fail-on`.
pub const EXIT_COMPLIANT: u8 = 0;
/// Exit code: open findings at or above `--fail-on` (for `diff`: the
/// reports differ).
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
    /// Exit codes: 0 no open finding at or above --fail-on, 1 open findings
    /// at or above it, 2 bad input or usage, 3 a rule could not finish.
    Report(ReportArgs),

    /// Print every paragraph of the policy's source document with the rules
    /// that check it, or why logs cannot show it.
    Coverage(CoverageArgs),

    /// List the findings that appeared or disappeared between two JSON
    /// reports, as a reviewer of a policy or code change wants to see.
    ///
    /// Exit codes: 0 same findings, 1 they differ, 2 bad input.
    Diff(DiffArgs),

    /// Merge the JSON reports of a log's tenant shards into the report one
    /// run over the whole log gives, in any format.
    ///
    /// Exit codes: as for `report`, and 2 when the parts cannot be merged.
    Merge(MergeArgs),

    /// Read event logs and check them against schema v1 without running any
    /// rule: every field, unique ids, and whether the log is in time order.
    ///
    /// Exit codes: 0 every record is a valid event, 2 otherwise.
    Validate(ValidateArgs),

    /// Split event logs by tenant into N shards, each to be reported on by
    /// its own worker, and write the lineage file every shard shares.
    ///
    /// Exit codes: 0 written, 2 bad input or usage (nothing written).
    Split(SplitArgs),

    /// Write event logs in any format read as schema v1 events, one a line,
    /// in time order with repeats folded: what a shard file holds, for
    /// sharding by other means than `split` (the Spark job).
    ///
    /// Exit codes: 0 written, 2 bad input or usage (nothing written).
    Convert(ConvertArgs),

    /// List the log formats read besides schema v1, or print one's mapping
    /// file, to copy and change for `--mapping`.
    Formats(FormatsArgs),

    /// Write a synthetic event log (schema v1) for demos, tests and
    /// benchmarks: the same options always give the same log.
    Generate(GenerateArgs),

    /// Write, test and inspect rule plugins: `plugin new`, `plugin test`,
    /// `plugin inspect`.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
}

#[derive(Debug, clap::Args)]
struct DiffArgs {
    /// The earlier report (`covenant report -o old.json`).
    #[arg(value_name = "OLD")]
    old: PathBuf,
    /// The later report.
    #[arg(value_name = "NEW")]
    new: PathBuf,
}

#[derive(Debug, clap::Args)]
struct MergeArgs {
    /// The shards' reports (`covenant report --as-of TIME -o part-N.json`),
    /// all made with the same policy, plugins, waivers and --as-of.
    #[arg(required = true, value_name = "PART")]
    parts: Vec<PathBuf>,

    #[command(flatten)]
    out: OutputArgs,
}

/// How the event logs are read, for every command that reads them.
#[derive(Debug, clap::Args)]
struct InputArgs {
    /// The logs' format: `auto` tells each file's from its first record
    /// (standard input is then `covenant`); `covenant` is schema v1;
    /// `cloudtrail`, `ocsf` and `openlineage` are the shipped profiles
    /// (`covenant formats` lists them).
    #[arg(long, value_name = "FORMAT", default_value = "auto")]
    input_format: String,

    /// Read every log through this mapping file (TOML; see the README's
    /// "Log formats"), instead of an --input-format.
    #[arg(long, value_name = "FILE", conflicts_with = "input_format")]
    mapping: Option<PathBuf>,
}

impl InputArgs {
    fn choice(&self) -> Result<FormatChoice> {
        match &self.mapping {
            Some(path) => FormatChoice::from_file(path).context("--mapping"),
            None => FormatChoice::named(&self.input_format).context("--input-format"),
        }
    }
}

#[derive(Debug, clap::Args)]
struct ValidateArgs {
    /// List every invalid record and go on, instead of stopping at the
    /// first; the exit code is still 2 if there was one.
    #[arg(long)]
    skip_invalid: bool,

    /// Event logs, as for `report`.
    #[arg(required = true, value_name = "EVENTS")]
    events: Vec<PathBuf>,

    #[command(flatten)]
    input: InputArgs,
}

#[derive(Debug, clap::Args)]
struct SplitArgs {
    /// Shards to write, from 1 to 1000: DIR/shard-0.jsonl and on.
    #[arg(long, value_name = "N")]
    shards: u32,

    /// The directory to write the shards and lineage.jsonl into (created
    /// when missing).
    #[arg(long, value_name = "DIR", default_value = ".")]
    dir: PathBuf,

    /// Event logs, as for `report`.
    #[arg(required = true, value_name = "EVENTS")]
    events: Vec<PathBuf>,

    #[command(flatten)]
    input: InputArgs,
}

#[derive(Debug, clap::Args)]
struct ConvertArgs {
    /// The file to write (replaced only when whole); standard output when
    /// not given, spooled through a temporary file of about its size, since
    /// a log found out of time order part-way is read again to sort it.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,

    /// Event logs, as for `report`.
    #[arg(required = true, value_name = "EVENTS")]
    events: Vec<PathBuf>,

    #[command(flatten)]
    input: InputArgs,
}

#[derive(Debug, clap::Args)]
struct FormatsArgs {
    /// A format whose mapping file to print, e.g. `cloudtrail`.
    #[arg(value_name = "FORMAT")]
    name: Option<String>,
}

#[derive(Debug, clap::Args)]
struct GenerateArgs {
    /// Events to write.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    events: u64,

    /// Organisations the events belong to (at least 2).
    #[arg(long, value_name = "N", default_value_t = 100)]
    tenants: u32,

    /// Seed of the random choices; the same seed gives the same log.
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed: u64,

    /// Share of operations, from 0 to 1, that break a commitment.
    #[arg(long, value_name = "RATE", default_value_t = 0.001)]
    violation_rate: f64,

    /// Write to FILE (atomically) instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct CoverageArgs {
    /// Policy file (TOML). Defaults to the embedded Defender for Cloud policy.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct ReportArgs {
    /// Event logs: JSON Lines files, `.json` files (an array of records,
    /// or a document such as CloudTrail's `{"Records": [...]}`), any of
    /// them gzip- or zstd-compressed, directories (searched recursively
    /// for all of these), or `-` for standard input.
    #[arg(required = true, value_name = "EVENTS")]
    events: Vec<PathBuf>,

    #[command(flatten)]
    input: InputArgs,

    /// Policy file (TOML). Defaults to the embedded Defender for Cloud policy.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,

    /// Take the report as of this RFC 3339 time: data due for deletion by
    /// then must be gone. Defaults to the latest event's time, so the same
    /// log always gives the same report. Must not be before the latest event.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    as_of: Option<Timestamp>,

    #[command(flatten)]
    out: OutputArgs,

    /// A TOML file of `[[waiver]]` entries, in force alongside the policy's
    /// own; repeatable.
    #[arg(long, value_name = "FILE")]
    waivers: Vec<PathBuf>,

    /// Replace the values of the policy's `[redact] fields` with stable
    /// hashes in every output. Set COVENANT_REDACT_KEY to key the hashes,
    /// so that nobody without the key can confirm a guessed identifier.
    #[arg(long)]
    redact: bool,

    /// Do not stop at records that are not valid events: list each one,
    /// with where it is and why, in the report, and check the rest.
    #[arg(long)]
    skip_invalid: bool,

    /// Never show the progress bar (shown on standard error only when it
    /// is a terminal).
    #[arg(long)]
    quiet: bool,

    /// Carry on from the state an earlier run saved with --save-state, as
    /// if this log followed that run's in one: the rules start from their
    /// saved states, and only events from the saved last event's instant
    /// on are taken. Refused (exit 2) if the file was changed, or saved by
    /// another Covenant, under another policy or by another plugin build.
    #[arg(long, value_name = "FILE")]
    resume: Option<PathBuf>,

    /// After the report, save the rules' states to FILE, sealed and
    /// readable only by you, for a later run's --resume. It may be the
    /// --resume file: it is replaced only once the new state is whole.
    #[arg(long, value_name = "FILE")]
    save_state: Option<PathBuf>,

    /// Also save the state to the --save-state file every N events, so
    /// that a run killed part-way can be finished: give the same command
    /// with `--resume FILE` (the checkpoint) and the same inputs, and the
    /// report is the one the whole run would have written.
    #[arg(long, value_name = "N", requires = "save_state", value_parser = clap::value_parser!(u64).range(1..))]
    checkpoint_every: Option<u64>,
}

/// Where a report goes and what exit code it gives: shared by `report`
/// and `merge`, whose outputs are the same.
#[derive(Debug, clap::Args)]
struct OutputArgs {
    /// Output format for every output. Without it, each `-o` file's
    /// extension decides (`.txt`, `.json`, `.md`, `.html`, `.sarif`, `.csv`,
    /// `.xml` for JUnit) and standard output gets text.
    #[arg(long, value_enum)]
    format: Option<Format>,

    /// Write the report to FILE; repeat for several formats from one run
    /// (`-o report.html -o report.sarif`). `-` is standard output. Each file
    /// is replaced atomically, so an interrupted run never leaves half a
    /// report. Without `-o`, the report goes to standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Vec<PathBuf>,

    /// The lowest severity of open finding that makes the exit code 1.
    /// Lower findings are still reported.
    #[arg(long, value_enum, value_name = "LEVEL", default_value = "info")]
    fail_on: Severity,

    /// Colour in text output: `auto` colours only a terminal (and honours
    /// NO_COLOR).
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    color: ColorChoice,
}

/// When to colour text output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

fn parse_time(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse_rfc3339(text)
}

/// Runs the command the process's arguments name.
pub fn main() -> ExitCode {
    if let Err(e) = exit_cleanly_on_signals() {
        eprintln!("covenant: warning: cannot handle interruption: {e}");
    }
    ExitCode::from(run_from(std::env::args_os()))
}

/// On SIGINT (Ctrl-C) or SIGTERM, removes the outputs still being written
/// and exits 128 + the signal's number (130, 143). A signal would otherwise
/// end the process without the destructors that remove temporary files;
/// every output is renamed into place only when whole, so none is left
/// half-written, and an earlier run's file stays as it was. Spilled sort
/// runs need nothing: they are unlinked from the moment they are made.
#[cfg(unix)]
fn exit_cleanly_on_signals() -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            crate::report::atomic_file::remove_unfinished();
            let name = if signal == SIGINT {
                "SIGINT"
            } else {
                "SIGTERM"
            };
            eprintln!("covenant: stopped by {name}; outputs not yet complete were not written");
            std::process::exit(128 + signal);
        }
    });
    Ok(())
}

#[cfg(not(unix))]
fn exit_cleanly_on_signals() -> std::io::Result<()> {
    Ok(())
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
        Command::Plugin(command) => plugin::run(command),
        Command::Generate(args) => generate(args),
        Command::Validate(args) => validate(args),
        Command::Split(args) => split(args),
        Command::Convert(args) => convert(args),
        Command::Formats(args) => formats(args),
        Command::Merge(args) => {
            let outputs = outputs(&args.out.output, args.out.format)?;
            let report = crate::shard::merge::merge(&args.parts)?;
            write_report(&report, &outputs, args.out.color)?;
            Ok(exit_code(&report, args.out.fail_on))
        }
        Command::Coverage(args) => {
            let policy = load_policy(args.policy.as_deref())?;
            write_stdout(&policy.coverage_text())?;
            Ok(EXIT_COMPLIANT)
        }
        Command::Diff(args) => {
            let diff = ReportDiff::between(&args.old, &args.new)?;
            write_stdout(&diff.render())?;
            Ok(if diff.is_empty() {
                EXIT_COMPLIANT
            } else {
                EXIT_FINDINGS
            })
        }
    }
}

fn generate(args: GenerateArgs) -> Result<u8> {
    let spec = LogSpec {
        events: args.events,
        tenants: args.tenants,
        seed: args.seed,
        violation_rate: args.violation_rate,
    };
    // Checked before any file is created.
    spec.check().map_err(|problem| {
        let flag = match problem {
            SpecProblem::Tenants(_) => "--tenants",
            SpecProblem::ViolationRate(_) => "--violation-rate",
        };
        anyhow::anyhow!("{flag}: {problem}")
    })?;
    let stats = match &args.output {
        Some(path) => crate::report::atomic_file::write_atomically_with(path, |out| {
            Ok(generate_log(&spec, out)?)
        })?,
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let stats = generate_log(&spec, &mut out).context("cannot write to standard output")?;
            out.flush().context("cannot write to standard output")?;
            stats
        }
    };
    eprintln!(
        "covenant: wrote {} events for {} tenants (seed {}): {} operations, {} of them breaking a commitment",
        stats.events, spec.tenants, spec.seed, stats.operations, stats.violations
    );
    Ok(EXIT_COMPLIANT)
}

/// Lists the shipped log formats, or prints one's mapping file.
fn formats(args: FormatsArgs) -> Result<u8> {
    let shipped = crate::events::mapping::shipped();
    let text = match &args.name {
        None => {
            let mut text = String::from(
                "covenant  Covenant's own schema v1 (the README's \"Event schema v1\")\n",
            );
            for mapping in shipped {
                text.push_str(&format!(
                    "{:<9} {}\n",
                    mapping.name(),
                    mapping.description()
                ));
            }
            text
        }
        Some(name) => match shipped.iter().find(|m| m.name() == name) {
            Some(mapping) => mapping.text().to_string(),
            None => {
                FormatChoice::named(name).context("formats")?;
                bail!("formats: `{name}` is not read through a mapping file");
            }
        },
    };
    write_stdout(&text)?;
    Ok(EXIT_COMPLIANT)
}

/// Reads the logs as a report would, with no rule.
fn validate(args: ValidateArgs) -> Result<u8> {
    let reader = EventReader::from_paths_as(&args.events, &args.input.choice()?)?;
    let check = LogCheck::read(&reader, args.skip_invalid)?;
    write_stdout(&format!("{check}\n"))?;
    Ok(match check.is_valid() {
        true => EXIT_COMPLIANT,
        false => EXIT_BAD_INPUT,
    })
}

/// Splits the logs into tenant shards and their shared lineage.
fn split(args: SplitArgs) -> Result<u8> {
    crate::shard::split::check_shards(args.shards)
        .map_err(|problem| anyhow::anyhow!("--shards: {problem}"))?;
    let reader = EventReader::from_paths_as(&args.events, &args.input.choice()?)?;
    let summary = crate::shard::split::split(&reader, args.shards, &args.dir)?;
    let counts: Vec<String> = summary.shard_events.iter().map(u64::to_string).collect();
    eprintln!(
        "covenant: split {} events into {} shards in {} (events by shard: {}) and {} lineage records into {}",
        summary.shard_events.iter().sum::<u64>(),
        counts.len(),
        args.dir.display(),
        counts.join(", "),
        summary.lineage_records,
        crate::shard::split::LINEAGE_FILE
    );
    Ok(EXIT_COMPLIANT)
}

/// Writes the logs back as the schema v1 events a shard file holds.
fn convert(args: ConvertArgs) -> Result<u8> {
    let reader = EventReader::from_paths_as(&args.events, &args.input.choice()?)?;
    let log = crate::shard::convert::convert(&reader, args.output.as_deref())?;
    let folded: u64 = log.inputs.iter().map(|input| input.folded).sum();
    eprintln!(
        "covenant: converted {} events from {} inputs ({})",
        log.events,
        log.inputs.len(),
        match folded {
            0 => "no repeats".to_string(),
            n => format!("{n} repeats folded"),
        }
    );
    Ok(EXIT_COMPLIANT)
}

fn write_stdout(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("cannot write to standard output")
}

fn load_policy(path: Option<&Path>) -> Result<Policy> {
    match path {
        Some(path) => Policy::load(path),
        None => Policy::builtin(),
    }
}

/// Puts the flag that asked for it in front of a request the audit
/// refused.
fn blame_flag(error: anyhow::Error) -> anyhow::Error {
    let flag = match error.downcast_ref::<RequestProblem>() {
        Some(RequestProblem::NothingToRedact) => "--redact",
        Some(RequestProblem::RedactResumed) => "--redact with --resume",
        Some(RequestProblem::BeforeSavedState { .. }) => "--resume",
        Some(RequestProblem::AsOfBeforeLatest { .. }) => "--as-of",
        Some(RequestProblem::AsOfBeforeSaved { .. }) => "--as-of with --resume",
        None => return error,
    };
    error.context(flag)
}

fn report(args: ReportArgs) -> Result<u8> {
    // Every output's format is settled before any work, so a typo in a
    // file name costs nothing.
    let outputs = outputs(&args.out.output, args.out.format)?;
    let policy = load_policy(args.policy.as_deref())?;
    let mut audit = Audit::new(policy, args.events);
    audit.input_format = args.input.choice()?;
    audit.as_of = args.as_of;
    audit.skip_invalid = args.skip_invalid;
    for path in &args.waivers {
        audit.waivers.extend(load_waivers(path)?);
    }
    if args.redact {
        let key = std::env::var_os("COVENANT_REDACT_KEY").unwrap_or_default();
        audit.redact_key = Some(key.into_encoded_bytes());
    }
    if let Some(path) = &args.resume {
        let max_bytes = max_state_bytes(&audit.policy);
        audit.resume = Some(SavedState::read(path, max_bytes).context("--resume")?);
    }
    if args.save_state.is_some() {
        state_key().context("--save-state")?;
    }
    audit.save_state = args.save_state.is_some();
    audit.checkpoints = (args.checkpoint_every).zip(args.save_state.clone());
    let runtime = PluginRuntime::new()?;
    let show_progress = !args.quiet && std::io::stderr().is_terminal();
    let audited = if show_progress {
        let bar = ProgressBar::start();
        let audited = audit.run_chained(&runtime, Some(Box::new(bar.clone())));
        bar.finish();
        audited
    } else {
        audit.run_chained(&runtime, None)
    }
    .map_err(blame_flag)?;

    if args.input.mapping.is_none()
        && args.input.input_format == "auto"
        && let Some(formats) = crate::events::formats_read(&audited.report.inputs)
    {
        eprintln!("covenant: read as {formats}, told from each file's first record");
    }
    write_report(&audited.report, &outputs, args.out.color)?;
    // Saved last: a state saved for a run whose report was not written
    // would let the next run carry on past events nobody reported.
    if let (Some(path), Some(state)) = (&args.save_state, &audited.state) {
        state.write(path).context(
            "the report was written, but the state was not saved; the next run must resume from the state before, with this log and the next",
        )?;
    }
    Ok(exit_code(&audited.report, args.out.fail_on))
}

/// Writes `report` to every output; when all are files, the verdict goes
/// to standard error for the CI log.
fn write_report(
    report: &Report,
    outputs: &[(Option<PathBuf>, Format)],
    color: ColorChoice,
) -> Result<()> {
    let colour = wants_colour(
        color,
        std::io::stdout().is_terminal(),
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
    );
    for (destination, format) in outputs {
        match destination {
            None => write_stdout(&format.render(report, colour))?,
            Some(path) => crate::report::atomic_file::write_atomically(
                path,
                format.render(report, false).as_bytes(),
            )?,
        }
    }
    if outputs.iter().all(|(destination, _)| destination.is_some()) {
        eprintln!("covenant: {}", crate::report::verdict(report));
    }
    Ok(())
}

/// Whether text on standard output gets colour: `auto` colours a terminal
/// unless NO_COLOR is set (https://no-color.org); files never get colour.
fn wants_colour(choice: ColorChoice, stdout_is_terminal: bool, no_color: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => stdout_is_terminal && !no_color,
    }
}

/// Where each output goes (`None` is standard output) and in which format.
fn outputs(paths: &[PathBuf], format: Option<Format>) -> Result<Vec<(Option<PathBuf>, Format)>> {
    if paths.is_empty() {
        return Ok(vec![(None, format.unwrap_or(Format::Text))]);
    }
    let mut outputs = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            if outputs
                .iter()
                .any(|(d, _): &(Option<PathBuf>, Format)| d.is_none())
            {
                bail!("-o -: standard output is named twice");
            }
            outputs.push((None, format.unwrap_or(Format::Text)));
            continue;
        }
        if outputs.iter().any(|(d, _)| d.as_ref() == Some(path)) {
            bail!("-o {}: the same file is named twice", path.display());
        }
        let implied = Format::from_extension(path);
        let chosen = match (format, implied) {
            (Some(given), Some(implied)) if given != implied => bail!(
                "-o {}: the extension says {} but --format says {}; rename the file or drop --format",
                path.display(),
                format_name(implied),
                format_name(given)
            ),
            (Some(given), _) => given,
            (None, Some(implied)) => implied,
            (None, None) => bail!(
                "-o {}: cannot tell the format from the extension; use .txt, .json, .md, .html, .sarif, .csv or .xml, or give --format",
                path.display()
            ),
        };
        outputs.push((Some(path.clone()), chosen));
    }
    Ok(outputs)
}

fn format_name(format: Format) -> String {
    use clap::ValueEnum;
    format
        .to_possible_value()
        .map_or_else(|| format!("{format:?}"), |v| v.get_name().to_string())
}

/// The exit code a report calls for, gating on open findings at or above
/// `fail_on`.
pub fn exit_code(report: &Report, fail_on: Severity) -> u8 {
    if report.summary.rules_errored > 0 {
        EXIT_RULE_ERROR
    } else if report.worst_open().is_some_and(|worst| worst >= fail_on) {
        EXIT_FINDINGS
    } else {
        EXIT_COMPLIANT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_unless_forced() {
        assert!(wants_colour(ColorChoice::Auto, true, false));
        assert!(!wants_colour(ColorChoice::Auto, false, false));
        assert!(!wants_colour(ColorChoice::Auto, true, true));
        assert!(wants_colour(ColorChoice::Always, false, true));
        assert!(!wants_colour(ColorChoice::Never, true, false));
    }

    #[test]
    fn outputs_take_their_format_from_the_extension_or_flag() {
        let paths = [
            PathBuf::from("a.html"),
            PathBuf::from("-"),
            PathBuf::from("b.XML"),
        ];
        let chosen = outputs(&paths, None).unwrap();
        let formats: Vec<Format> = chosen.iter().map(|(_, f)| *f).collect();
        assert_eq!(formats, [Format::Html, Format::Text, Format::Junit]);
        assert_eq!(chosen[1].0, None);
        assert_eq!(
            outputs(&[], Some(Format::Csv)).unwrap(),
            [(None, Format::Csv)]
        );
        let error = outputs(&[PathBuf::from("r.txt")], Some(Format::Json)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "-o r.txt: the extension says text but --format says json; rename the file or drop --format"
        );
    }
}
