//! One audit run, end to end: load the rules, read the events, evaluate,
//! and build the report. Each stage is its own module; this only wires them
//! together, in the one direction data flows.

use std::path::PathBuf;

use anyhow::{Result, bail};

use std::collections::HashSet;

use crate::evaluate::{DEFAULT_BATCH_LEN, Evaluation};
use crate::events::{
    EventReader, OrderCheck, OutOfOrder, ReadLog, ReadProgress, TimeOrder, Timestamp,
};
use crate::policy::redact::Redactor;
use crate::policy::waivers::{Waiver, check_waiver_rules};
use crate::policy::{Policy, RuleSpec, Severity};
use crate::report::{PluginProvenance, Report, RuleResult};
use crate::runtime::{PluginRuntime, RuleInstance};

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
            bail!(
                "--redact: the policy names no fields to redact; add `[redact] fields = [\"tenant\", \"data.id\"]` to it"
            );
        }
        let new_redactor = || {
            self.redact_key
                .as_ref()
                .map(|key| Redactor::new(self.policy.redact.clone(), key))
        };
        let start_rules = || -> (Vec<StartedRule>, Vec<Result<RuleInstance, String>>) {
            (self.policy.rules.iter())
                .map(|spec| start_rule(runtime, spec))
                .unzip()
        };
        let (mut provenance, instances) = start_rules();

        let mut reader = EventReader::from_paths(&self.inputs)?;
        if let Some(progress) = progress {
            reader = reader.with_progress(progress);
        }

        // Most logs are written in time order. Then the events go straight
        // from the reader to the rules, read once and never held. The first
        // event out of order abandons that attempt: the rules start afresh
        // and the log is read again through the sorter. Standard input
        // cannot be read twice, so it always goes through the sorter.
        let mut redactor = new_redactor();
        let (evaluation, log) = if reader.rereadable() {
            match self.evaluate_as_read(&reader, instances, &mut redactor)? {
                Some(done) => done,
                None => {
                    let (again, instances) = start_rules();
                    provenance = again;
                    redactor = new_redactor();
                    self.evaluate_sorted(&reader, instances, &mut redactor)?
                }
            }
        } else {
            self.evaluate_sorted(&reader, instances, &mut redactor)?
        };
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
        let outcomes = evaluation.finish(as_of.unwrap_or(epoch), &log.index);
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
                error: outcome.error,
            })
            .collect();
        let mut report = Report::build(&self.policy, results, &log, as_of, &waivers);
        if let Some(redactor) = redactor {
            let fields = self.policy.redact.iter().map(|f| f.to_string()).collect();
            report.redact(&redactor.finish(), fields);
        }
        Ok(report)
    }

    /// Evaluates the log as it is read, on the bet that it is in time
    /// order, as most logs are written: then it is read once and never
    /// held. `None` when an event turns out to be out of order; the rules
    /// have seen part of the log by then and must not be reused.
    fn evaluate_as_read(
        &self,
        reader: &EventReader,
        rules: Vec<Result<RuleInstance, String>>,
        redactor: &mut Option<Redactor>,
    ) -> Result<Option<(Evaluation, ReadLog)>> {
        let attempt = Evaluation::new(rules).run(self.batch_len, |sink| {
            let mut last = OrderCheck::default();
            reader.read(self.skip_invalid, |event| {
                if !last.advance(&event) {
                    return Err(OutOfOrder.into());
                }
                if let Some(redactor) = redactor {
                    redactor.observe(&event);
                }
                sink(event)
            })
        });
        match attempt {
            Err(e) if e.is::<OutOfOrder>() => Ok(None),
            other => other.map(Some),
        }
    }

    /// Reads the whole log into the time sorter (which spills to disk past
    /// [`Audit::sort_run_len`] events), then evaluates it in order.
    fn evaluate_sorted(
        &self,
        reader: &EventReader,
        rules: Vec<Result<RuleInstance, String>>,
        redactor: &mut Option<Redactor>,
    ) -> Result<(Evaluation, ReadLog)> {
        Evaluation::new(rules).run(self.batch_len, |sink| {
            let mut order = TimeOrder::new(self.sort_run_len);
            let log = reader.read(self.skip_invalid, |event| {
                if let Some(redactor) = redactor {
                    redactor.observe(&event);
                }
                order.push(event)
            })?;
            for event in order.into_sorted()? {
                sink(event?)?;
            }
            Ok(log)
        })
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
    (started, instance)
}
