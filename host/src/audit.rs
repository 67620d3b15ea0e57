//! One audit run, end to end: load the rules, read the events, evaluate,
//! and build the report. Each stage is its own module; this only wires them
//! together, in the one direction data flows.

use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::builtin;
use crate::evaluate::{DEFAULT_BATCH_LEN, evaluate};
use crate::events::{EventReader, TimeOrder, Timestamp};
use crate::policy::{PluginRef, Policy, RuleSpec};
use crate::report::{PluginProvenance, Report, RuleResult};
use crate::sandbox::{PluginRuntime, RuleInstance};

/// What to check, against what, as of when.
pub struct Audit {
    pub policy: Policy,
    /// Files, directories, or `-` for standard input.
    pub inputs: Vec<PathBuf>,
    /// The instant the report is taken as of; defaults to the latest event.
    pub as_of: Option<Timestamp>,
    /// Events per plugin call.
    pub batch_len: usize,
    /// Events held in memory while sorting by time.
    pub sort_run_len: usize,
    /// List invalid records in the report and go on, instead of failing.
    pub skip_invalid: bool,
}

impl Audit {
    /// An audit of `inputs` under `policy` with default tuning.
    pub fn new(policy: Policy, inputs: Vec<PathBuf>) -> Audit {
        Audit {
            policy,
            inputs,
            as_of: None,
            batch_len: DEFAULT_BATCH_LEN,
            sort_run_len: crate::events::DEFAULT_RUN_LEN,
            skip_invalid: false,
        }
    }

    /// Runs the audit. An error means the input or the request was bad and
    /// nothing was reported; a rule that fails is recorded in the report.
    pub fn run(&self) -> Result<Report> {
        let runtime = PluginRuntime::new()?;
        let mut provenance = Vec::new();
        let mut instances = Vec::new();
        for spec in &self.policy.rules {
            let (plugin, description, instance) = start_rule(&runtime, spec);
            provenance.push((plugin, description));
            instances.push(instance);
        }

        let reader = EventReader::from_paths(&self.inputs)?;
        let mut order = TimeOrder::new(self.sort_run_len);
        let log = reader.read(self.skip_invalid, |event| order.push(event))?;
        let as_of = self.as_of.or(log.index.latest());
        if let (Some(as_of), Some(latest)) = (self.as_of, log.index.latest())
            && as_of < latest
        {
            bail!(
                "--as-of {as_of} is before the latest event ({latest}); a report cannot be taken as of a time its log runs past"
            );
        }

        let epoch = Timestamp {
            seconds: 0,
            nanos: 0,
        };
        let outcomes = evaluate(
            instances,
            order.into_sorted()?,
            as_of.unwrap_or(epoch),
            &log.index,
            self.batch_len,
        )?;
        let results = self
            .policy
            .rules
            .iter()
            .zip(provenance)
            .zip(outcomes)
            .map(|((spec, (plugin, description)), outcome)| RuleResult {
                spec,
                plugin,
                description,
                outcome,
            })
            .collect();
        Ok(Report::build(&self.policy, results, &log, as_of))
    }
}

/// Loads, verifies and starts one rule's plugin. Failure is the rule's
/// outcome, not the run's: the reason goes into the report.
fn start_rule(
    runtime: &PluginRuntime,
    spec: &RuleSpec,
) -> (
    PluginProvenance,
    Option<String>,
    Result<RuleInstance, String>,
) {
    let mut provenance = PluginProvenance {
        source: spec.plugin.to_string(),
        ..PluginProvenance::default()
    };
    let bytes = match &spec.plugin {
        PluginRef::Builtin(name) => match builtin::plugin(name) {
            Some(bytes) => bytes.to_vec(),
            None => {
                let known = builtin::names().join(", ");
                return (
                    provenance,
                    None,
                    Err(format!(
                        "no built-in plugin named `{name}` (there are: {known})"
                    )),
                );
            }
        },
        PluginRef::File(path) => match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) => {
                return (
                    provenance,
                    None,
                    Err(format!("cannot read plugin {}: {e}", path.display())),
                );
            }
        },
    };
    let digest = crate::policy::sha256_hex(&bytes);
    provenance.sha256 = Some(digest.clone());
    if let Some(pinned) = &spec.sha256
        && *pinned != digest
    {
        let reason =
            format!("plugin sha256 is {digest} but the policy pins {pinned}; refusing to run it");
        return (provenance, None, Err(reason));
    }
    let plugin = match runtime.load(&bytes, spec.limits) {
        Ok(plugin) => plugin,
        Err(e) => return (provenance, None, Err(format!("cannot load plugin: {e:#}"))),
    };
    let metadata = plugin.metadata();
    provenance.name = Some(metadata.id.clone());
    provenance.version = Some(metadata.version.clone());
    let description = Some(metadata.description.clone());
    let instance = plugin
        .start(&spec.config.to_string())
        .map_err(|e| format!("{e:#}"));
    (provenance, description, instance)
}
