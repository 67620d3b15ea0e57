//! Evaluation: streaming time-ordered events through every rule's sandbox.
//!
//! Events go to the rules in batches (one call carries many events, which
//! costs far less per event than a call each). A rule that fails (a trap,
//! a limit, an error it returns, a finding about an event it was never
//! sent) stops there with the reason, keeping the findings of the calls
//! before; the others carry on unaffected.
//!
//! The rules run on their own threads, fed batches through short queues by
//! whoever produces the events ([`Evaluation::run`], [`schedule`]), so that
//! reading and decoding the log overlaps with the sandboxes, and the
//! sandboxes with each other. [`audit`] wires one whole run: policy, log and rules in, a
//! [`crate::report::Report`] out.
//!
//! It may import [`crate::events`], [`crate::policy`], [`crate::runtime`]
//! and, to hand its results on, [`crate::report`]; none of those imports
//! it.

pub mod audit;
mod schedule;
pub mod state;

use std::sync::Mutex;

use anyhow::{Result, anyhow};

use crate::events::{Event, Timestamp};
use crate::runtime::{
    BatchBuilder, Conclusion, Finding, RuleInstance, RuleSnapshot, RunPosition, Unassessable,
    too_many_findings,
};
use schedule::{BreakOnPanic, Schedule};

/// Events per `observe` call.
pub const DEFAULT_BATCH_LEN: usize = 1_000;

/// What became of one rule.
#[derive(Debug, Default)]
pub struct RuleOutcome {
    /// Findings the rule reported before it finished or failed.
    pub findings: Vec<Finding>,
    /// What the rule said, when it finished, the log could not show.
    pub unassessable: Vec<Unassessable>,
    /// Why the rule could not finish, in one line.
    pub error: Option<String>,
}

/// One rule's place in the run: its instance while it is healthy.
struct Slot {
    instance: Option<RuleInstance>,
    outcome: RuleOutcome,
}

impl Slot {
    /// Keeps the findings of a successful call after checking them against
    /// the rule's limits; or retires the rule with the reason.
    fn settle(&mut self, result: Result<Conclusion>) {
        let failure = match result {
            Ok(conclusion) => match self.check(&conclusion) {
                Ok(()) => {
                    self.outcome.findings.extend(conclusion.findings);
                    self.outcome.unassessable.extend(conclusion.unassessable);
                    return;
                }
                Err(reason) => reason,
            },
            Err(e) => e.to_string(),
        };
        self.outcome.error = Some(failure);
        self.instance = None;
    }

    /// Refuses more findings (or subjects not assessed) than the rule may
    /// report, and texts longer than it may write: both `max_findings` and
    /// `max_message_bytes` bound each kind alike.
    fn check(&self, conclusion: &Conclusion) -> Result<(), String> {
        let limits = self
            .instance
            .as_ref()
            .expect("only live rules are called")
            .limits();
        let total = self.outcome.findings.len() as u64 + conclusion.findings.len() as u64;
        if total > limits.max_findings {
            return Err(too_many_findings(limits.max_findings));
        }
        if conclusion.unassessable.len() as u64 > limits.max_findings {
            return Err(format!(
                "reported more than {} subjects it could not assess (limit max_findings)",
                limits.max_findings
            ));
        }
        let texts = (conclusion
            .findings
            .iter()
            .map(|f| ("a finding", f.message.as_str())))
        .chain(conclusion.unassessable.iter().flat_map(|u| {
            [
                ("a subject it could not assess", u.subject.as_str()),
                ("why it could not assess one", u.reason.as_str()),
            ]
        }));
        for (what, text) in texts {
            let bytes = text.len() as u64;
            if bytes > limits.max_message_bytes {
                return Err(format!(
                    "reported {what} of {bytes} bytes, over the limit of {} (max_message_bytes)",
                    limits.max_message_bytes
                ));
            }
        }
        Ok(())
    }
}

impl Slot {
    /// The rule's state after the batches it has observed, or why it has
    /// none.
    fn snapshot(&mut self) -> Result<RuleSnapshot, String> {
        match &mut self.instance {
            Some(instance) => {
                (instance.snapshot()).map_err(|e| format!("its state could not be saved: {e:#}"))
            }
            None => Err(self.outcome.error.clone().unwrap_or_default()),
        }
    }
}

/// A run part-way through, between two batches: what a checkpoint saves.
pub struct Midway {
    /// Each rule's state, or why it has none, in the order the rules were
    /// given.
    pub snapshots: Vec<Result<RuleSnapshot, String>>,
    /// Each rule's findings so far.
    pub findings: Vec<Vec<Finding>>,
    /// Where the run's events stand.
    pub position: RunPosition,
    /// Events the rules have observed in this run.
    pub events: u64,
    /// The last of them: its id.
    pub last_id: String,
    /// The last of them: its time.
    pub last_time: Timestamp,
}

/// Every `every` events, hand the run's [`Midway`] state to `save`; its
/// error stops the run.
pub struct Checkpoints<'a> {
    /// Events between two checkpoints.
    pub every: u64,
    /// Saves one checkpoint.
    pub save: &'a mut dyn FnMut(Midway) -> Result<()>,
}

/// Every rule of one run, with what each has reported so far.
pub struct Evaluation {
    slots: Vec<Slot>,
    /// Where the run's events start, when it carries on an earlier run;
    /// once it has run, where they stopped.
    position: Option<RunPosition>,
}

impl Evaluation {
    /// Starts an evaluation of `rules`. A rule given as `Err` failed to load
    /// or start; its reason is carried into its outcome.
    pub fn new(rules: Vec<Result<RuleInstance, String>>) -> Evaluation {
        let slots = rules
            .into_iter()
            .map(|rule| match rule {
                Ok(instance) => Slot {
                    instance: Some(instance),
                    outcome: RuleOutcome::default(),
                },
                Err(error) => Slot {
                    instance: None,
                    outcome: RuleOutcome {
                        error: Some(error),
                        ..RuleOutcome::default()
                    },
                },
            })
            .collect();
        Evaluation {
            slots,
            position: None,
        }
    }

    /// This evaluation carries on an earlier run that stopped at
    /// `position`: its rules were restored from that run's saved states.
    pub fn resuming(self, position: RunPosition) -> Evaluation {
        Evaluation {
            position: Some(position),
            ..self
        }
    }

    /// Where the run's events stopped, for a later run to carry on from;
    /// `None` before [`run`](Self::run).
    pub fn position(&self) -> Option<RunPosition> {
        self.position
    }

    /// Runs `produce` on this thread and the rules on others. `produce` is
    /// handed a sink for the events in time order; the sink batches them
    /// `batch_len` at a time. Returns the evaluation (every batch observed)
    /// with what `produce` returned, or `produce`'s error.
    ///
    /// Each rule has its own store, so rules are independent: one thread a
    /// core takes, batch by batch, whichever rule is furthest behind
    /// ([`schedule`]). Which thread runs a rule changes nothing in what it
    /// reports.
    ///
    /// With `checkpoints`, the producer also waits, every so many events,
    /// until the rules have observed everything sent, and hands their
    /// states to be saved.
    pub fn run<T>(
        self,
        batch_len: usize,
        mut checkpoints: Option<Checkpoints<'_>>,
        produce: impl FnOnce(&mut dyn FnMut(Event) -> Result<()>) -> Result<T>,
    ) -> Result<(Evaluation, T)> {
        let batch_len = batch_len.max(1);
        // Built here, on the producer's thread, once for every rule.
        let live = self.slots.iter().filter_map(|slot| slot.instance.as_ref());
        let mut builder = match self.position {
            Some(position) => BatchBuilder::resume(live, position)?,
            None => BatchBuilder::new(live)?,
        };
        let threads = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(self.slots.len())
            .max(1);
        let schedule = Schedule::new(self.slots.len());
        let slots: Vec<Mutex<Slot>> = self.slots.into_iter().map(Mutex::new).collect();
        let produced = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let _guard = BreakOnPanic(&schedule);
                        while let Some((rule, batch)) = schedule.take() {
                            let mut slot = slots[rule].lock().unwrap_or_else(|e| e.into_inner());
                            if let Some(instance) = &mut slot.instance {
                                let result = instance.observe(&batch).map(Conclusion::from);
                                slot.settle(result);
                            }
                            drop(slot);
                            schedule.put_back(rule);
                        }
                    })
                })
                .collect();
            let stopped = |_| anyhow!("the rules stopped before the events ran out");
            let mut sent: u64 = 0;
            let mut sink = |event: Event| -> Result<()> {
                sent += 1;
                let due = (checkpoints.as_ref()).filter(|c| sent.is_multiple_of(c.every.max(1)));
                let last = due.map(|_| (event.id.clone(), event.time));
                builder.push(event);
                if builder.len() == batch_len || (due.is_some() && !builder.is_empty()) {
                    schedule.send(builder.take()?).map_err(stopped)?;
                }
                if let Some((last_id, last_time)) = last
                    && let Some(checkpoints) = &mut checkpoints
                {
                    schedule.wait_idle().map_err(stopped)?;
                    let mut snapshots = Vec::new();
                    let mut findings = Vec::new();
                    for slot in &slots {
                        let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
                        snapshots.push(slot.snapshot());
                        findings.push(slot.outcome.findings.clone());
                    }
                    (checkpoints.save)(Midway {
                        snapshots,
                        findings,
                        position: builder.position(),
                        events: sent,
                        last_id,
                        last_time,
                    })?;
                }
                Ok(())
            };
            let mut produced = produce(&mut sink);
            if produced.is_ok() && !builder.is_empty() {
                produced = builder
                    .take()
                    .and_then(|batch| schedule.send(batch).map_err(stopped))
                    .and(produced);
            }
            schedule.close();
            for worker in workers {
                worker
                    .join()
                    .map_err(|_| anyhow!("a thread running rules panicked"))?;
            }
            Ok::<_, anyhow::Error>(produced)
        })?;
        let slots = (slots.into_iter())
            .map(|slot| slot.into_inner().unwrap_or_else(|e| e.into_inner()))
            .collect();
        let evaluation = Evaluation {
            slots,
            position: Some(builder.position()),
        };
        Ok((evaluation, produced?))
    }

    /// Each rule's state after every batch, for a later run to carry on
    /// from, in the order the rules were given; taken before
    /// [`finish`](Self::finish). A rule that failed, or whose state could
    /// not be taken, gives why instead: a later run reports it as failed,
    /// rather than starting it afresh and missing what came before.
    pub fn snapshot(&mut self) -> Vec<Result<RuleSnapshot, String>> {
        self.slots.iter_mut().map(Slot::snapshot).collect()
    }

    /// Asks every healthy rule for its last findings as of `as_of`, and
    /// returns one outcome per rule in the order the rules were given.
    /// Every finding names an event the rule was sent, in this run or, for
    /// a restored rule, in an earlier one: the runtime resolved it from the
    /// ordinal the rule gave.
    pub fn finish(mut self, as_of: Timestamp) -> Vec<RuleOutcome> {
        for slot in &mut self.slots {
            if let Some(instance) = &mut slot.instance {
                let result = instance.finish(as_of);
                slot.settle(result);
            }
        }
        self.slots.into_iter().map(|slot| slot.outcome).collect()
    }
}
