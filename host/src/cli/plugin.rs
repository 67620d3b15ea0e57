//! `covenant plugin`: the plugin author's commands.

use std::path::PathBuf;

use anyhow::{Result, anyhow};

use super::{EXIT_BAD_INPUT, EXIT_COMPLIANT, EXIT_FINDINGS, write_stdout};
use crate::kit::cases::{Outcome, discover, render};
use crate::kit::inspect::inspect;
use crate::kit::scaffold::{Language, Scaffold};
use crate::policy::PluginRef;
use crate::runtime::PluginRuntime;

#[derive(Debug, clap::Subcommand)]
pub(super) enum PluginCommand {
    /// Create a ready-to-build plugin project in a new folder NAME, with the
    /// interface, a rule skeleton, a fixture case, a policy and a README.
    New(NewArgs),

    /// Run a plugin over fixture logs and compare its findings with each
    /// log's NAME.expected.toml.
    ///
    /// Exit codes: 0 every case passed (or was updated), 1 a case failed,
    /// 2 bad input (unreadable case, or a plugin this host refuses).
    Test(TestArgs),

    /// Print a plugin's metadata, interface version, imports, size and
    /// sha256, and whether this host will load it.
    ///
    /// Exit codes: 0 it loads, 2 it does not (or cannot be read).
    Inspect(InspectArgs),
}

#[derive(Debug, clap::Args)]
pub(super) struct NewArgs {
    /// The rule id, which also names the folder: lowercase letters, digits
    /// and hyphens (e.g. `personnel-purpose`).
    #[arg(value_name = "NAME")]
    name: String,

    /// The language to write the rule in.
    #[arg(long, value_enum, default_value = "rust")]
    lang: Language,

    /// Create the project here instead of in ./NAME. It must not exist, or
    /// be empty.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,

    /// The covenant-sdk folder a Rust project depends on. Defaults to the
    /// SDK in the checkout this binary was built from.
    #[arg(long, value_name = "PATH")]
    sdk: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub(super) struct TestArgs {
    /// The plugin: a `.wasm` component, or `builtin:NAME`.
    #[arg(value_name = "PLUGIN")]
    plugin: String,

    /// Fixture logs (`.jsonl` or `.json`), or folders searched recursively
    /// for them. Each log's expectations are in NAME.expected.toml beside it.
    #[arg(required = true, value_name = "CASES")]
    cases: Vec<PathBuf>,

    /// Rewrite each failing or missing expected file from the plugin's
    /// findings (keeping its comments, `as_of` and `config`), then review
    /// the change. Cases that expect an error are never rewritten.
    #[arg(long)]
    update: bool,
}

#[derive(Debug, clap::Args)]
pub(super) struct InspectArgs {
    /// The plugin: a `.wasm` component, or `builtin:NAME`.
    #[arg(value_name = "PLUGIN")]
    plugin: String,
}

pub(super) fn run(command: PluginCommand) -> Result<u8> {
    match command {
        PluginCommand::New(args) => new(args),
        PluginCommand::Test(args) => test(args),
        PluginCommand::Inspect(args) => {
            let runtime = PluginRuntime::new()?;
            let plugin = PluginRef::parse(&args.plugin, std::path::Path::new("."))?;
            let inspection = inspect(&runtime, &plugin)?;
            write_stdout(&inspection.render())?;
            Ok(if inspection.verdict.is_ok() {
                EXIT_COMPLIANT
            } else {
                EXIT_BAD_INPUT
            })
        }
    }
}

fn new(args: NewArgs) -> Result<u8> {
    let dir = args.dir.unwrap_or_else(|| PathBuf::from(&args.name));
    let scaffold = Scaffold {
        id: args.name,
        language: args.lang,
        dir,
        sdk: args.sdk,
    };
    let written = scaffold.write()?;
    let mut out = format!("created {} with:\n", scaffold.dir.display());
    for file in written {
        out.push_str(&format!("  {}\n", file.display()));
    }
    out.push_str(&format!(
        "next: cd {} and follow README.md to build it and run `covenant plugin test`\n",
        scaffold.dir.display()
    ));
    write_stdout(&out)?;
    Ok(EXIT_COMPLIANT)
}

fn test(args: TestArgs) -> Result<u8> {
    let cases = discover(&args.cases)?;
    let runtime = PluginRuntime::new()?;
    let plugin = PluginRef::parse(&args.plugin, std::path::Path::new("."))?;
    // The load-time validation first: a plugin the host refuses fails once,
    // clearly, rather than once per case.
    let inspection = inspect(&runtime, &plugin)?;
    let rule = inspection
        .verdict
        .map_err(|reason| anyhow!("{plugin}: {reason}"))?;
    let (mut failed, mut updated) = (0, 0);
    let mut out = String::new();
    for case in &cases {
        let outcome = case.run(&runtime, &plugin, &rule.id, args.update)?;
        match outcome {
            Outcome::Updated => updated += 1,
            _ if !outcome.passed() => failed += 1,
            _ => {}
        }
        out.push_str(&render(case, &outcome));
    }
    let passed = cases.len() - failed - updated;
    out.push_str(&format!(
        "\n{}: {passed} passed, {updated} updated, {failed} failed, of {} case(s) for rule {}\n",
        if failed == 0 { "ok" } else { "FAILED" },
        cases.len(),
        rule.id
    ));
    write_stdout(&out)?;
    Ok(if failed == 0 {
        EXIT_COMPLIANT
    } else {
        EXIT_FINDINGS
    })
}
