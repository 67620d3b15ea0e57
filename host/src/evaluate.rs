//! Evaluation: streaming time-ordered events through every rule's sandbox.
//!
//! Events go to the rules in batches (one call carries many events, which
//! costs far less per event than a call each). A rule that fails (a trap,
//! a limit, an error it returns, a finding about an event it was never
//! sent) stops there with the reason; the others carry on unaffected.

use anyhow::Result;

use crate::events::{Event, EventIndex, Timestamp};
use crate::sandbox::{Finding, RuleInstance, to_wit};

/// Events per `observe` call.
pub const DEFAULT_BATCH_LEN: usize = 1_000;

/// What became of one rule.
#[derive(Debug, Default)]
pub struct RuleOutcome {
    /// Findings the rule reported before it finished or failed.
    pub findings: Vec<Finding>,
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
    /// the rule's limits and the input; or retires the rule with the reason.
    fn settle(&mut self, result: Result<Vec<Finding>>, index: &EventIndex) {
        let failure = match result {
            Ok(findings) => match self.check(&findings, index) {
                Ok(()) => {
                    self.outcome.findings.extend(findings);
                    return;
                }
                Err(reason) => reason,
            },
            Err(e) => e.to_string(),
        };
        self.outcome.error = Some(failure);
        self.instance = None;
    }

    fn check(&self, findings: &[Finding], index: &EventIndex) -> Result<(), String> {
        let limits = self
            .instance
            .as_ref()
            .expect("only live rules are called")
            .limits();
        let total = self.outcome.findings.len() as u64 + findings.len() as u64;
        if total > limits.max_findings {
            return Err(format!(
                "reported more than {} findings (limit max_findings)",
                limits.max_findings
            ));
        }
        for finding in findings {
            let longest = finding.message.len().max(finding.event_id.len()) as u64;
            if longest > limits.max_message_bytes {
                return Err(format!(
                    "reported a finding of {longest} bytes, over the limit of {} (max_message_bytes)",
                    limits.max_message_bytes
                ));
            }
            if index.get(&finding.event_id).is_none() {
                return Err(format!(
                    "reported a finding about event `{}`, which is not in the input",
                    finding.event_id
                ));
            }
        }
        Ok(())
    }
}

/// Runs `rules` over `events` (already in time order) and returns one
/// outcome per rule, in the same order. A rule given as `Err` failed to
/// load or start; its reason is carried into its outcome.
///
/// Errors only when reading the events fails; rule failures are outcomes.
pub fn evaluate(
    rules: Vec<Result<RuleInstance, String>>,
    events: impl Iterator<Item = Result<Event>>,
    as_of: Timestamp,
    index: &EventIndex,
    batch_len: usize,
) -> Result<Vec<RuleOutcome>> {
    let mut slots: Vec<Slot> = rules
        .into_iter()
        .map(|rule| match rule {
            Ok(instance) => Slot {
                instance: Some(instance),
                outcome: RuleOutcome::default(),
            },
            Err(error) => Slot {
                instance: None,
                outcome: RuleOutcome {
                    findings: Vec::new(),
                    error: Some(error),
                },
            },
        })
        .collect();

    let mut batch = Vec::with_capacity(batch_len);
    let mut events = events.peekable();
    while events.peek().is_some() {
        batch.clear();
        for event in events.by_ref().take(batch_len.max(1)) {
            batch.push(event?);
        }
        let wit_batch = to_wit(&batch);
        for slot in &mut slots {
            if let Some(instance) = &mut slot.instance {
                let result = instance.observe(&wit_batch);
                slot.settle(result, index);
            }
        }
    }
    for slot in &mut slots {
        if let Some(instance) = &mut slot.instance {
            let result = instance.finish(as_of);
            slot.settle(result, index);
        }
    }
    Ok(slots.into_iter().map(|slot| slot.outcome).collect())
}
