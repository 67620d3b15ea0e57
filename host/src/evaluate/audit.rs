//! One audit run, end to end: load the rules, read the events, evaluate,
//! and build the report. Each stage is its own module; this only wires them
//! together, in the one direction data flows.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use crate::evaluate::state::{
    Checkpoint, CitedEvents, Citing, RuleState, SavedRule, SavedState, chain_link,
};
use crate::evaluate::{Checkpoints, DEFAULT_BATCH_LEN, Evaluation, Midway, RuleOutcome};
use crate::events::mapping::FormatChoice;
use crate::events::{
    EventPlace, EventReader, Location, ReadLog, ReadProgress, SourcePlaces, Timestamp,
    in_time_order,
};
use crate::policy::redact::{RedactField, Redactor};
use crate::policy::waivers::{Waiver, check_waiver_rules};
use crate::policy::{Policy, RuleSpec, Severity};
use crate::report::{PluginProvenance, Report, RuleResult};
use crate::runtime::{Finding, PluginRuntime, RuleInstance, RuleSnapshot};

/// A request an audit cannot honour. It names the problem, not a flag:
/// the command line says which of its flags asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestProblem {
    /// Redaction was asked for, but the policy names no field to redact.
    NothingToRedact,
    /// Redaction was asked of a run that carries on an earlier one, whose
    /// identifiers it never read and so could not redact.
    RedactResumed,
    /// A run carrying on from a saved state read an event from before the
    /// state's last event.
    BeforeSavedState {
        /// The first such event's id.
        id: String,
        /// Its time.
        time: Timestamp,
        /// The saved state's last event time.
        last: Timestamp,
    },
    /// The report was to be taken as of an instant before its latest event.
    AsOfBeforeLatest {
        /// The instant asked for.
        as_of: Timestamp,
        /// The latest event's time.
        latest: Timestamp,
    },
    /// A run carrying on from a saved state was to be taken as of an
    /// instant before the as-of of the run that saved it.
    AsOfBeforeSaved {
        /// The instant asked for.
        as_of: Timestamp,
        /// The as-of of the run that saved the state.
        saved: Timestamp,
    },
}

impl std::fmt::Display for RequestProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestProblem::NothingToRedact => f.write_str(
                "redaction was asked for, but the policy names no fields to redact; add `[redact] fields = [\"tenant\", \"data.id\"]` to it",
            ),
            RequestProblem::RedactResumed => f.write_str(
                "a run that resumes a saved state cannot be redacted: the findings may quote identifiers of the earlier runs, which this one never read; run the chain unredacted",
            ),
            RequestProblem::BeforeSavedState { id, time, last } => write!(
                f,
                "event `{id}` at {time} is before the saved state's last event ({last}); a resumed run takes only the events from then on, so give it the log that follows the one the state was saved after"
            ),
            RequestProblem::AsOfBeforeLatest { as_of, latest } => write!(
                f,
                "the as-of time {as_of} is before the latest event ({latest}); a report cannot be taken as of a time its log runs past"
            ),
            RequestProblem::AsOfBeforeSaved { as_of, saved } => write!(
                f,
                "the as-of time {as_of} is before {saved}, the as-of of the run whose state this one carries on from; a chain's reports go forward in time"
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
    /// How the inputs are read: told per file from its first record
    /// unless `--input-format` or `--mapping` says.
    pub input_format: FormatChoice,
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
    /// Carry on from an earlier run's saved state: the rules start from
    /// their states in it, and only events from its last event on are
    /// taken.
    pub resume: Option<SavedState>,
    /// Keep the rules' states after the run, with what a later run needs
    /// ([`Audited::state`]).
    pub save_state: bool,
    /// Save a checkpoint of the run to this file every so many events, for
    /// a run killed part-way to be resumed from.
    pub checkpoints: Option<(u64, PathBuf)>,
}

impl Audit {
    /// An audit of `inputs` under `policy` with default tuning.
    pub fn new(policy: Policy, inputs: Vec<PathBuf>) -> Audit {
        Audit {
            policy,
            inputs,
            input_format: FormatChoice::Auto,
            as_of: None,
            batch_len: DEFAULT_BATCH_LEN,
            sort_run_len: crate::events::DEFAULT_RUN_LEN,
            skip_invalid: false,
            waivers: Vec::new(),
            redact_key: None,
            resume: None,
            save_state: false,
            checkpoints: None,
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
        self.run_chained(runtime, progress)
            .map(|audited| audited.report)
    }

    /// The attributes any of `rules` is sent, and those redaction reads if
    /// the report is redacted: all a run needs of an event's attributes.
    fn read_attributes(&self, rules: &[Result<RuleInstance, String>]) -> Vec<String> {
        let mut names: Vec<String> = (rules.iter().flatten())
            .flat_map(|rule| rule.reads().attributes)
            .collect();
        if self.redact_key.is_some() {
            names.extend(self.policy.redact.iter().filter_map(|field| match field {
                RedactField::Attribute(name) => Some(name.clone()),
                _ => None,
            }));
        }
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Runs the audit as one run of a chain: from [`resume`](Self::resume)'s
    /// state if it is set, and saving the rules' states at the end if
    /// [`save_state`](Self::save_state) is.
    pub fn run_chained(
        &self,
        runtime: &PluginRuntime,
        progress: Option<Box<dyn ReadProgress>>,
    ) -> Result<Audited> {
        let mut waivers = self.policy.waivers.clone();
        waivers.extend(self.waivers.iter().cloned());
        let rule_ids: HashSet<String> = self.policy.rules.iter().map(|r| r.id.clone()).collect();
        check_waiver_rules(&waivers, &rule_ids, "waivers")?;
        if self.redact_key.is_some() && self.policy.redact.is_empty() {
            return Err(RequestProblem::NothingToRedact.into());
        }
        if self.redact_key.is_some() && self.resume.is_some() {
            return Err(RequestProblem::RedactResumed.into());
        }
        let plugins: Vec<Result<Cow<'static, [u8]>, String>> = (self.policy.rules.iter())
            .map(|spec| spec.plugin.read())
            .collect();
        let digests: Vec<Option<String>> = (plugins.iter())
            .map(|bytes| bytes.as_ref().ok().map(|b| crate::policy::sha256_hex(b)))
            .collect();
        if let Some(state) = &self.resume {
            state.check_fits(&self.policy, &digests)?;
        }
        let last_saved = self.resume.as_ref().and_then(|state| state.last_event);
        let checkpoint = self
            .resume
            .as_ref()
            .and_then(|state| state.checkpoint.as_ref());
        let skip = checkpoint.map_or(0, |c| c.events);
        let carried = (self.resume.as_ref())
            .map(SavedState::carried)
            .transpose()?;
        let start_rules = || -> (Vec<StartedRule>, Vec<_>) {
            (self.policy.rules.iter())
                .zip(&plugins)
                .enumerate()
                .map(|(n, (spec, bytes))| {
                    let saved = (self.resume.as_ref().zip(carried.as_ref()))
                        .map(|(state, carried)| (&state.rules[n], &carried[n][..]));
                    start_rule(runtime, spec, bytes, saved, checkpoint.is_some())
                })
                .unzip()
        };
        // The rules are started before the read, so that it keeps of each
        // event only the attributes they (and redaction) read.
        let first = start_rules();
        let mut reader = EventReader::from_paths_as(&self.inputs, &self.input_format)?
            .keeping_attributes(self.read_attributes(&first.1));
        let mut started = Some(first);
        if let Some(progress) = progress {
            reader = reader.with_progress(progress);
        }
        // Each pass starts the rules afresh: a pass abandoned because the
        // log was out of order has shown them part of it.
        let (provenance, evaluation, log, redactor) = in_time_order(
            &reader,
            self.skip_invalid,
            self.sort_run_len,
            |feed| {
                let (provenance, instances) = started.take().unwrap_or_else(start_rules);
                let mut redactor = (self.redact_key.as_ref())
                    .map(|key| Redactor::new(self.policy.redact.clone(), key));
                let mut evaluation = Evaluation::new(instances);
                if let Some(state) = &self.resume {
                    evaluation = evaluation.resuming(state.position);
                }
                let mut save = |midway: Midway| self.save_checkpoint(&digests, skip, midway);
                let checkpoints = (self.checkpoints.as_ref()).map(|(every, _)| Checkpoints {
                    every: *every,
                    save: &mut save,
                });
                let mut read: u64 = 0;
                let (evaluation, log) = evaluation.run(self.batch_len, checkpoints, |sink| {
                    feed(&mut |event| {
                        if let Some(last) = last_saved
                            && event.time < last
                        {
                            let (id, time) = (event.id.clone(), event.time);
                            return Err(RequestProblem::BeforeSavedState { id, time, last }.into());
                        }
                        if let Some(redactor) = &mut redactor {
                            redactor.observe(&event);
                        }
                        read += 1;
                        if read < skip {
                            return Ok(());
                        }
                        if let Some(checkpoint) = checkpoint
                            && read == skip
                        {
                            return checkpoint.check_last(read, &event.id, event.time);
                        }
                        sink(event)
                    })
                })?;
                if let Some(checkpoint) = checkpoint
                    && read < skip
                {
                    bail!(
                        "the log holds {read} events, but the checkpoint was taken after {}; resume a checkpoint with the inputs of the run it was taken of",
                        checkpoint.events
                    );
                }
                Ok((provenance, evaluation, log, redactor))
            },
        )?;
        let latest = log.latest.max(last_saved);
        let saved_as_of = self.resume.as_ref().and_then(|state| state.as_of);
        let as_of = self.as_of.or(latest.max(saved_as_of));
        if let (Some(as_of), Some(latest)) = (self.as_of, latest)
            && as_of < latest
        {
            return Err(RequestProblem::AsOfBeforeLatest { as_of, latest }.into());
        }
        if let (Some(as_of), Some(saved)) = (self.as_of, saved_as_of)
            && as_of < saved
        {
            return Err(RequestProblem::AsOfBeforeSaved { as_of, saved }.into());
        }
        let mut evaluation = evaluation;
        let snapshots = self.save_state.then(|| evaluation.snapshot());
        let position = evaluation.position().expect("the evaluation has run");
        let epoch = Timestamp {
            seconds: 0,
            nanos: 0,
        };
        let mut outcomes = evaluation.finish(as_of.unwrap_or(epoch));
        if let Some(checkpoint) = checkpoint {
            for (outcome, before) in outcomes.iter_mut().zip(&checkpoint.findings) {
                let before = before.iter().map(|(event_id, message)| Finding {
                    event_id: event_id.clone(),
                    message: message.clone(),
                });
                outcome.findings.splice(0..0, before);
            }
        }
        let earlier = self.resume.as_ref().map(|state| &state.cited);
        let (places, cited) =
            self.place(&reader, &log, &outcomes, snapshots.as_deref(), earlier)?;
        let after = self.resume.as_ref().and_then(|state| state.chain.as_ref());
        let link = chain_link(after, &log.inputs);
        let state = (snapshots.zip(cited)).map(|(snapshots, cited)| SavedState {
            covenant_version: env!("CARGO_PKG_VERSION").to_string(),
            policy_sha256: self.policy.sha256.clone(),
            chain: Some(link.clone()),
            position,
            last_event: latest,
            as_of,
            rules: self.saved_rules(&digests, snapshots),
            cited,
            checkpoint: None,
        });
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
        let chained = self.resume.is_some() || self.save_state;
        let mut report = Report::build(
            &self.policy,
            results,
            &log,
            &places,
            as_of,
            &waivers,
            chained.then_some(link),
        );
        if let Some(redactor) = redactor {
            let fields = self.policy.redact.iter().map(|f| f.to_string()).collect();
            report.redact(&redactor.finish(), fields);
        }
        Ok(Audited { report, state })
    }

    /// The places of the events the rules' findings name, for the report,
    /// and, when a state is to be saved, the table of the events its
    /// `snapshots` cite. This run's events are placed by reading their
    /// lines again, all in one pass; an earlier run's come from the state
    /// it saved (`earlier`). Fails if this run read an event with the id of
    /// one an earlier run placed, since a finding naming that id could mean
    /// either.
    fn place(
        &self,
        reader: &EventReader,
        log: &ReadLog,
        outcomes: &[RuleOutcome],
        snapshots: Option<&[Result<RuleSnapshot, String>]>,
        earlier: Option<&CitedEvents>,
    ) -> Result<(SourcePlaces, Option<CitedEvents>)> {
        let none = CitedEvents::default();
        let earlier = earlier.unwrap_or(&none);
        check_ids_unused(reader, log, earlier)?;
        let found: HashSet<&str> = (outcomes.iter())
            .flat_map(|o| &o.findings)
            .map(|f| f.event_id.as_str())
            .collect();
        let mut citing = snapshots
            .map(|snapshots| Citing::new(snapshots.iter().flatten(), earlier, &log.inputs));
        let wanted = citing.as_ref().map(Citing::wanted).unwrap_or_default();
        let mut places = SourcePlaces::new();
        reader.visit_places(
            log,
            found.iter().copied().chain(wanted),
            |location, event| {
                if found.contains(event.id.as_ref()) && !places.contains_key(event.id.as_ref()) {
                    let place = EventPlace {
                        time: event.time,
                        location,
                        tenant: event.filed_tenant().map(str::to_string),
                        data_id: event.data_id().map(str::to_string),
                    };
                    places.insert(event.id.to_string(), log.source_place(&place));
                }
                if let Some(citing) = &mut citing {
                    citing.place(location, event);
                }
            },
        )?;
        let before: HashSet<&str> = (found.into_iter())
            .filter(|id| !places.contains_key(*id))
            .collect();
        if !before.is_empty() {
            places.extend(earlier.places_of(&before));
        }
        Ok((places, citing.map(Citing::finish).transpose()?))
    }

    /// Saves `midway` as a checkpoint of this run, `skip` events of which an
    /// earlier checkpoint had already seen.
    fn save_checkpoint(&self, digests: &[Option<String>], skip: u64, midway: Midway) -> Result<()> {
        let (_, path) = self
            .checkpoints
            .as_ref()
            .expect("checkpoints were asked for");
        let resumed = self.resume.as_ref();
        let before = resumed.and_then(|state| state.checkpoint.as_ref());
        let findings = (midway.findings.into_iter().enumerate())
            .map(|(n, now)| {
                let earlier = before.map(|c| c.findings[n].clone()).unwrap_or_default();
                let now = now.into_iter().map(|f| (f.event_id, f.message));
                earlier.into_iter().chain(now).collect()
            })
            .collect();
        let none = CitedEvents::default();
        let earlier = resumed.map_or(&none, |state| &state.cited);
        let cited = Citing::new(midway.snapshots.iter().flatten(), earlier, &[]).finish_unplaced();
        let state = SavedState {
            covenant_version: env!("CARGO_PKG_VERSION").to_string(),
            policy_sha256: self.policy.sha256.clone(),
            chain: resumed.and_then(|state| state.chain.clone()),
            position: midway.position,
            last_event: resumed.and_then(|state| state.last_event),
            as_of: resumed.and_then(|state| state.as_of),
            rules: self.saved_rules(digests, midway.snapshots),
            cited,
            checkpoint: Some(Checkpoint {
                events: skip + midway.events,
                last_id: midway.last_id,
                last_time: midway.last_time,
                findings,
            }),
        };
        state.write(path).context("checkpoint")
    }

    /// The policy's rules with their plugins' digests and `snapshots`.
    fn saved_rules(
        &self,
        digests: &[Option<String>],
        snapshots: Vec<Result<RuleSnapshot, String>>,
    ) -> Vec<SavedRule> {
        (self.policy.rules.iter())
            .zip(digests)
            .zip(snapshots)
            .map(|((spec, digest), snapshot)| SavedRule {
                id: spec.id.clone(),
                plugin_sha256: digest.clone().unwrap_or_default(),
                state: snapshot.map(|snapshot| RuleState {
                    cites: snapshot
                        .cited
                        .into_iter()
                        .map(|(ordinal, _)| ordinal)
                        .collect(),
                    bytes: snapshot.state,
                }),
            })
            .collect()
    }
}

/// Fails if `log` holds an event with the id of one an earlier run of the
/// chain placed and its state still cites (`earlier`): a finding naming
/// that id could mean either. Event ids are checked across a chain only
/// that far; the README says so.
fn check_ids_unused(reader: &EventReader, log: &ReadLog, earlier: &CitedEvents) -> Result<()> {
    let placed = || (earlier.iter()).filter(|event| event.place.is_some());
    // The id ledger finds the events whose ids hash like a cited one's:
    // none, unless an id is reused (or, rarely, two hashes meet), so the
    // millions of cited ids cost a pass over the ledger, not a set.
    let mut met: HashMap<String, Location> = HashMap::new();
    reader.visit_places(log, placed().map(|event| event.id), |location, event| {
        met.entry(event.id.to_string()).or_insert(location);
    })?;
    if met.is_empty() {
        return Ok(());
    }
    if let Some(event) = placed().find(|event| met.contains_key(event.id)) {
        let then = earlier.source_place(&event.place.expect("placed"));
        bail!(
            "event id `{}` at {} was used by an earlier run of the chain too, at {}, for an event the saved state still names; event ids must be unique across a chain",
            event.id,
            log.describe(met[event.id]),
            then.describe()
        );
    }
    Ok(())
}

/// What an audit gives: its report, and the state to carry on from when
/// [`Audit::save_state`] asked for it.
pub struct Audited {
    /// The run's report.
    pub report: Report,
    /// The rules' states after the run, with what a later run needs.
    pub state: Option<SavedState>,
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
///
/// With `saved`, the rule carries on from its state in an earlier run of
/// a chain, or (`midway`) from a checkpoint of this run; a rule that had
/// failed by then fails again, with the reason, rather than start afresh
/// and miss what came before.
fn start_rule(
    runtime: &PluginRuntime,
    spec: &RuleSpec,
    bytes: &Result<Cow<'static, [u8]>, String>,
    saved: Option<(&SavedRule, &[(u64, &str)])>,
    midway: bool,
) -> (StartedRule, Result<RuleInstance, String>) {
    let mut started = StartedRule::unloaded(spec);
    let bytes = match bytes {
        Ok(bytes) => bytes,
        Err(reason) => return (started, Err(reason.clone())),
    };
    let digest = crate::policy::sha256_hex(bytes);
    started.provenance.sha256 = Some(digest.clone());
    if let Some(pinned) = &spec.sha256
        && *pinned != digest
    {
        let reason =
            format!("plugin sha256 is {digest} but the policy pins {pinned}; refusing to run it");
        return (started, Err(reason));
    }
    let plugin = match runtime.load(bytes, spec.limits) {
        Ok(plugin) => plugin,
        Err(e) => return (started, Err(format!("cannot load plugin: {e:#}"))),
    };
    let metadata = plugin.metadata();
    started.provenance.name = Some(metadata.id.clone());
    started.provenance.version = Some(metadata.version.clone());
    started.description = Some(metadata.description.clone());
    started.severity = Some(metadata.severity);
    let config = spec.config.to_string();
    let instance = match saved.map(|(rule, cited)| (&rule.state, cited)) {
        None => plugin.start(&config).map_err(|e| format!("{e:#}")),
        Some((Ok(state), cited)) => (plugin.restore(&config, &state.bytes, cited))
            .map_err(|e| format!("cannot carry on from its saved state: {e:#}")),
        Some((Err(reason), _)) if midway => Err(reason.clone()),
        Some((Err(reason), _)) => Err(format!(
            "failed in an earlier run of the chain, so it has no state to carry on from: {reason}"
        )),
    };
    if let Ok(instance) = &instance {
        started.provenance.reads = Some(instance.reads());
    }
    (started, instance)
}
