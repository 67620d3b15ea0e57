//! One audit run, end to end: load the rules, read the events, evaluate,
//! and build the report. Each stage is its own module; this only wires them
//! together, in the one direction data flows.

use std::path::PathBuf;

use anyhow::Result;

use std::collections::HashSet;

use crate::evaluate::{DEFAULT_BATCH_LEN, Evaluation};
use crate::events::{EventReader, ReadProgress, Timestamp, in_time_order};
use crate::policy::redact::Redactor;
use crate::policy::waivers::{Waiver, check_waiver_rules};
use crate::policy::{Policy, RuleSpec, Severity};
use crate::report::{PluginProvenance, Report, RuleResult};
use crate::runtime::{PluginRuntime, RuleInstance};

/// A request an audit cannot honour. It names the problem, not a flag:
/// the command line says which of its flags asked for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestProblem {
    /// Redaction was asked for, but the policy names no field to redact.
    NothingToRedact,
    /// The report was to be taken as of an instant before its latest event.
    AsOfBeforeLatest {
        /// The instant asked for.
        as_of: Timestamp,
        /// The latest event's time.
        latest: Timestamp,
    },
}

impl std::fmt::Display for RequestProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestProblem::NothingToRedact => f.write_str(
                "redaction was asked for, but the policy names no fields to redact; add `[redact] fields = [\"tenant\", \"data.id\"]` to it",
            ),
            RequestProblem::AsOfBeforeLatest { as_of, latest } => write!(
                f,
                "the as-of time {as_of} is before the latest event ({latest}); a report cannot be taken as of a time its log runs past"
            ),
        }
    }
}

impl std::error::Error for RequestProblem {}

/// What to check, against what, as of when.
pub struct Audit {
    /// The policy whose rules run, with its own waivers and `[redact]` fields.
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
    /// Waivers from files, in force alongside the policy's own.
    pub waivers: Vec<Waiver>,
    /// Replace the policy's `[redact]` fields with hashes keyed by this
    /// (empty for unkeyed hashes); `None` leaves the report as read.
    pub redact_key: Option<Vec<u8>>,
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
            waivers: Vec::new(),
            redact_key: None,
        }
    }

    /// Runs the audit. An error means the input or the request was bad and
    /// nothing was reported; a rule that fails is recorded in the report.
    pub fn run(&self) -> Result<Report> {
        self.run_watched(None)
    }

    /// Runs the audit, telling `progress` how reading goes.
    pub fn run_watched(&self, progress: Option<Box<dyn ReadProgress>>) -> Result<Report> {
        self.run_in(&PluginRuntime::new()?, progress)
    }

    /// Runs the audit with plugins compiled by `runtime`, which keeps them
    /// compiled for the next audit that uses the same plugin.
    pub fn run_in(
        &self,
        runtime: &PluginRuntime,
        progress: Option<Box<dyn ReadProgress>>,
    ) -> Result<Report> {
        let mut waivers = self.policy.waivers.clone();
        waivers.extend(self.waivers.iter().cloned());
        let rule_ids: HashSet<String> = self.policy.rules.iter().map(|r| r.id.clone()).collect();
        check_waiver_rules(&waivers, &rule_ids, "waivers")?;
        if self.redact_key.is_some() && self.policy.redact.is_empty() {
            return Err(RequestProblem::NothingToRedact.into());
        }
        let mut reader = EventReader::from_paths(&self.inputs)?;
        if let Some(progress) = progress {
            reader = reader.with_progress(progress);
        }
        // Each pass starts the rules afresh: a pass abandoned because the
        // log was out of order has shown them part of it.
        let (provenance, evaluation, log, redactor) =
            in_time_order(&reader, self.skip_invalid, self.sort_run_len, |feed| {
                let (provenance, instances): (Vec<StartedRule>, Vec<_>) = (self.policy.rules)
                    .iter()
                    .map(|spec| start_rule(runtime, spec))
                    .unzip();
                let mut redactor = (self.redact_key.as_ref())
                    .map(|key| Redactor::new(self.policy.redact.clone(), key));
                let (evaluation, log) = Evaluation::new(instances).run(self.batch_len, |sink| {
                    feed(&mut |event| {
                        if let Some(redactor) = &mut redactor {
                            redactor.observe(&event);
                        }
                        sink(event)
                    })
                })?;
                Ok((provenance, evaluation, log, redactor))
            })?;
        let as_of = self.as_of.or(log.latest);
        if let (Some(as_of), Some(latest)) = (self.as_of, log.latest)
            && as_of < latest
        {
            return Err(RequestProblem::AsOfBeforeLatest { as_of, latest }.into());
        }
        let epoch = Timestamp {
            seconds: 0,
            nanos: 0,
        };
        let (outcomes, places) =
            evaluation.finish(as_of.unwrap_or(epoch), |ids| reader.places(&log, ids))?;
        let results = self
            .policy
            .rules
            .iter()
            .zip(provenance)
            .zip(outcomes)
            .map(|((spec, started), outcome)| RuleResult {
                spec,
                plugin: started.provenance,
                description: started.description,
                default_severity: started.severity,
                findings: outcome.findings,
                unassessable: outcome.unassessable,
                error: outcome.error,
            })
            .collect();
        let mut report = Report::build(&self.policy, results, &log, &places, as_of, &waivers);
        if let Some(redactor) = redactor {
            let fields = self.policy.redact.iter().map(|f| f.to_string()).collect();
            report.redact(&redactor.finish(), fields);
        }
        Ok(report)
    }
}

/// What loading a rule's plugin established, whether or not it started.
struct StartedRule {
    provenance: PluginProvenance,
    description: Option<String>,
    severity: Option<Severity>,
}

impl StartedRule {
    /// What is known of a rule before its plugin is read: where it is.
    fn unloaded(spec: &RuleSpec) -> StartedRule {
        StartedRule {
            provenance: PluginProvenance {
                source: spec.plugin.to_string(),
                ..PluginProvenance::default()
            },
            description: None,
            severity: None,
        }
    }
}

/// Loads, verifies and starts one rule's plugin. Failure is the rule's
/// outcome, not the run's: the reason goes into the report.
fn start_rule(
    runtime: &PluginRuntime,
    spec: &RuleSpec,
) -> (StartedRule, Result<RuleInstance, String>) {
    let mut started = StartedRule::unloaded(spec);
    let bytes = match spec.plugin.read() {
        Ok(bytes) => bytes,
        Err(reason) => return (started, Err(reason)),
    };
    let digest = crate::policy::sha256_hex(&bytes);
    started.provenance.sha256 = Some(digest.clone());
    if let Some(pinned) = &spec.sha256
        && *pinned != digest
    {
        let reason =
            format!("plugin sha256 is {digest} but the policy pins {pinned}; refusing to run it");
        return (started, Err(reason));
    }
    let plugin = match runtime.load(&bytes, spec.limits) {
        Ok(plugin) => plugin,
        Err(e) => return (started, Err(format!("cannot load plugin: {e:#}"))),
    };
    let metadata = plugin.metadata();
    started.provenance.name = Some(metadata.id.clone());
    started.provenance.version = Some(metadata.version.clone());
    started.description = Some(metadata.description.clone());
    started.severity = Some(metadata.severity);
    let instance = plugin
        .start(&spec.config.to_string())
        .map_err(|e| format!("{e:#}"));
    if let Ok(instance) = &instance {
        started.provenance.reads = Some(instance.reads());
    }
    (started, instance)
}
