//! Reports: what a run found, with everything needed to trust and repeat it.
//!
//! A [`Report`] is built once from the policy, the rules' outcomes, what
//! was read and the waivers in force, then (optionally) redacted and
//! rendered in any [`Format`]. Everything in it is sorted and nothing
//! depends on the wall clock, so the same inputs always give the same bytes.
//!
//! The model lives here, apart from its renderers ([`render`]) and from
//! the one reader of JSON reports ([`read_json`]) that `merge` and [`diff`]
//! share. It may import [`crate::events`], [`crate::policy`] and the
//! runtime's host-side [`crate::runtime::Finding`],
//! [`crate::runtime::Unassessable`] and [`crate::runtime::RuleReads`]; the
//! stages before it never import it.

pub mod atomic_file;
pub mod diff;
mod read;
pub mod render;

pub use read::read_json;
pub use render::{Format, verdict};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::events::{InputFormat, InputSummary, ReadLog, Rejection, SourcePlaces, Timestamp};
use crate::policy::redact::Redaction;
use crate::policy::waivers::{FindingFacts, Waiver};
use crate::policy::{Coverage, Policy, RuleSpec, Severity};
use crate::runtime::{Finding, RuleReads, Unassessable};

/// The report format's identifier, bumped on incompatible changes.
pub const SCHEMA: &str = "covenant/report/v1";

/// A finished report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// Always [`SCHEMA`]; [`read_json`] refuses any other.
    pub schema: String,
    /// The Covenant version that made the report.
    pub covenant_version: String,
    /// The instant the report is taken as of: `--as-of`, or the latest
    /// event's time; `null` for an empty log without `--as-of`. Waiver
    /// expiry is judged at this instant too.
    pub as_of: Option<Timestamp>,
    /// The verdict and the counts behind it, at a glance.
    pub summary: Summary,
    /// Which policy was applied, with its SHA-256.
    pub policy: PolicyProvenance,
    /// Every input read, in the order read, with its format, counts and SHA-256.
    pub inputs: Vec<InputSummary>,
    /// Records that were not valid events, under `--skip-invalid`.
    pub rejected: Vec<Rejection>,
    /// Each rule's result, in the policy's order.
    pub rules: Vec<RuleReport>,
    /// The framework controls the policy maps rules to, by control id.
    pub controls: Vec<ControlReport>,
    /// Every waiver in force, with what became of it.
    pub waivers: Vec<WaiverReport>,
    /// Every paragraph of the policy's source document, with the rules that
    /// check it or why logs cannot show it.
    pub coverage: Vec<Coverage>,
    /// The event fields whose values `--redact` replaced with hashes; empty
    /// when the report is not redacted.
    pub redacted: Vec<String>,
    /// Where the run stands in a chain of runs that carry state from one
    /// to the next (`--resume`, `--save-state`); absent for a run alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<ChainLink>,
}

/// One run's place in a chain: `covenant merge` puts a chain's reports in
/// order by it, and refuses a chain with a part missing.
///
/// A chain is named by a digest over every input its runs read, in order,
/// so that a run and the same run resumed from a checkpoint name it alike.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainLink {
    /// The run's number in its chain, from 1.
    pub part: u64,
    /// The chain's digest before this run: `null` for the first.
    pub after: Option<String>,
    /// The chain's digest with this run's inputs.
    pub digest: String,
}

/// The verdict at a glance.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Records read: events checked plus records rejected.
    pub read: u64,
    /// Events read and checked.
    pub events: u64,
    /// Records that were not valid events (only under `--skip-invalid`).
    pub rejected: u64,
    /// Every finding, waived or not.
    pub findings: u64,
    /// Findings no waiver covers: the ones that count.
    pub open: u64,
    /// Findings an active waiver covers.
    pub waived: u64,
    /// Subjects a rule could not assess from the log: neither passes nor
    /// findings, and no `--fail-on` gates on them.
    #[serde(default)]
    pub unassessable: u64,
    /// Open findings by severity, every severity listed.
    pub open_by_severity: BTreeMap<Severity, u64>,
    /// True only when every rule ran to the end and no finding is open.
    pub compliant: bool,
    /// Rules with no open finding (waived findings allowed).
    pub rules_passed: u64,
    /// Rules that ran to the end with at least one open finding.
    pub rules_failed: u64,
    /// Rules that could not finish; each says why in its `error`.
    pub rules_errored: u64,
    /// Waivers past their expiry: their findings are open again.
    pub waivers_expired: u64,
    /// Active waivers that matched no finding.
    pub waivers_stale: u64,
}

/// Which policy was applied.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyProvenance {
    /// The policy's title, from its `[policy]` table.
    pub title: String,
    /// The source document whose commitments the policy checks, if it names one.
    pub document: Option<String>,
    /// Where the policy came from: its path, or `builtin:defender-for-cloud`.
    pub source: String,
    /// Hex SHA-256 of the policy file's bytes (the embedded text, for the default).
    pub sha256: String,
}

/// One rule's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleReport {
    /// The rule's id, as the policy names it (by default the built-in plugin's name).
    pub id: String,
    /// Whether the rule held: `pass`, `fail` or `error`.
    pub status: Status,
    /// Why the rule could not finish, when `status` is `error`.
    pub error: Option<String>,
    /// The policy's override, else the plugin's default; absent only when
    /// the plugin never loaded and the policy sets none.
    pub severity: Option<Severity>,
    /// The framework controls the policy says the rule supports.
    pub controls: Vec<String>,
    /// The commitment checked, as the policy quotes it.
    pub commitment: String,
    /// What the plugin says it checks; absent if it never loaded.
    pub description: Option<String>,
    /// Which plugin ran the rule, and its SHA-256.
    pub plugin: PluginProvenance,
    /// Sorted by event time, then event id, then message.
    pub findings: Vec<FindingReport>,
    /// What the rule could not assess from the log, sorted by subject, then
    /// reason: neither a pass nor a finding.
    #[serde(default)]
    pub unassessable: Vec<Unassessable>,
}

impl RuleReport {
    /// Findings no waiver covers.
    pub fn open(&self) -> impl Iterator<Item = &FindingReport> {
        self.findings.iter().filter(|f| f.waived.is_none())
    }
}

/// Whether a rule (or a control) held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every rule ran over every event and no finding is open.
    Pass,
    /// Every rule ran over every event and some finding is open.
    Fail,
    /// A rule could not finish; see its `error`. Findings it made before
    /// failing are kept.
    Error,
}

impl Status {
    /// The lowercase name reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
        }
    }
}

/// Which plugin ran a rule.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PluginProvenance {
    /// As the policy names it: `builtin:NAME` or a path.
    pub source: String,
    /// The plugin's own id and version, once loaded.
    pub name: Option<String>,
    /// The plugin's own version, as its metadata declares it, once loaded.
    pub version: Option<String>,
    /// Hex SHA-256 of the plugin's bytes, once read; absent if they could not be.
    pub sha256: Option<String>,
    /// What the rule declared it reads: it was sent nothing else. Absent
    /// for a rule that did not start. Data minimisation, on record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reads: Option<RuleReads>,
}

/// One breach, placed in time and in the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingReport {
    /// The id of the event the finding is about.
    pub event_id: String,
    /// The event's time, in UTC.
    pub time: Timestamp,
    /// `file:line` (or `file element N` for a `.json` array).
    pub location: String,
    /// The input the event was read from, as `inputs` names it.
    pub file: String,
    /// The 1-based line, for a JSON Lines input.
    pub line: Option<u64>,
    /// The 1-based array element, for a `.json` input.
    pub element: Option<u64>,
    /// The event's tenant (its data's, when the event names none).
    pub tenant: Option<String>,
    /// The id of the data item the event touches (`data.id`), if any.
    pub data_id: Option<String>,
    /// What the breach is, in the plugin's words.
    pub message: String,
    /// Set when an active waiver covers the finding.
    pub waived: Option<Waived>,
}

/// The waiver that covers a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waived {
    /// The covering waiver's id.
    pub waiver: String,
    /// Why the waiver accepts the exception, as it states.
    pub reason: String,
    /// Who approved the waiver.
    pub approver: String,
    /// The waiver's expiry as written: a date (waived through that day, UTC) or a date-time.
    pub expires: String,
}

/// One framework control and how the rules that support it fared.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ControlReport {
    /// The control's id, as the policy's rules list it, e.g. `GDPR Art. 17`.
    pub id: String,
    /// `error` if any of its rules errored, else `fail` if any has an open finding, else `pass`.
    pub status: Status,
    /// The ids of the rules that support the control, in the policy's order.
    pub rules: Vec<String>,
    /// Open findings of those rules.
    pub open: u64,
}

/// A waiver and what became of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WaiverReport {
    #[serde(flatten)]
    /// The waiver as given; its fields sit directly in this object.
    pub waiver: Waiver,
    /// What became of it at the report's as-of time: active, expired or stale.
    pub status: WaiverStatus,
    /// Findings it waived; for an expired waiver, the findings it would
    /// have waived, which are open again.
    pub findings: u64,
}

/// What became of a waiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WaiverStatus {
    /// In force, and it waived at least one finding.
    Active,
    /// Past its expiry at the report's as-of time: it waives nothing.
    Expired,
    /// In force, but it matched no finding: it can probably go.
    Stale,
}

/// One rule's inputs to the report.
pub struct RuleResult<'a> {
    /// The rule as the policy specifies it.
    pub spec: &'a RuleSpec,
    /// Which plugin ran the rule, as far as it was read and loaded.
    pub plugin: PluginProvenance,
    /// What the plugin says it checks; `None` if it never loaded.
    pub description: Option<String>,
    /// The plugin's own default severity, once loaded.
    pub default_severity: Option<Severity>,
    /// Findings the rule reported before it finished or failed.
    pub findings: Vec<Finding>,
    /// What the rule, finishing, said the log could not show.
    pub unassessable: Vec<Unassessable>,
    /// Why the rule could not finish, in one line.
    pub error: Option<String>,
}

impl Report {
    /// Assembles the report. Findings must name events in `places`, which
    /// this run read (`log`) or, in a chain, an earlier run did; evaluation
    /// guarantees that. `chain` is where the run stands in a chain, if it
    /// resumed or saved a state.
    pub fn build(
        policy: &Policy,
        results: Vec<RuleResult<'_>>,
        log: &ReadLog,
        places: &SourcePlaces,
        as_of: Option<Timestamp>,
        waivers: &[Waiver],
        chain: Option<ChainLink>,
    ) -> Report {
        let rules: Vec<RuleReport> = results
            .into_iter()
            .map(|result| {
                let mut findings: Vec<FindingReport> = result
                    .findings
                    .into_iter()
                    .map(|finding| {
                        let entry = places.get(&finding.event_id).expect(
                            "evaluation keeps only findings about events this run or an earlier one read",
                        );
                        let json_array = entry.format == InputFormat::JsonArray;
                        FindingReport {
                            time: entry.time,
                            location: entry.describe(),
                            file: entry.input.clone(),
                            line: (!json_array).then_some(entry.line),
                            element: json_array.then_some(entry.line),
                            tenant: entry.tenant.clone(),
                            data_id: entry.data_id.clone(),
                            event_id: finding.event_id,
                            message: finding.message,
                            waived: None,
                        }
                    })
                    .collect();
                sort_findings(&mut findings);
                findings.dedup();
                let mut unassessable = result.unassessable;
                unassessable.sort();
                unassessable.dedup();
                RuleReport {
                    id: result.spec.id.clone(),
                    // Set by `judge`, once waivers are applied.
                    status: Status::Pass,
                    error: result.error,
                    severity: result.spec.severity.or(result.default_severity),
                    controls: result.spec.controls.clone(),
                    commitment: result.spec.commitment.clone(),
                    description: result.description,
                    plugin: result.plugin,
                    findings,
                    unassessable,
                }
            })
            .collect();
        let mut report = Report {
            schema: SCHEMA.to_string(),
            covenant_version: env!("CARGO_PKG_VERSION").to_string(),
            as_of,
            summary: Summary::default(),
            policy: PolicyProvenance {
                title: policy.title.clone(),
                document: policy.document.clone(),
                source: policy.source.clone(),
                sha256: policy.sha256.clone(),
            },
            inputs: log.inputs.clone(),
            rejected: log.rejected.clone(),
            controls: Vec::new(),
            rules,
            waivers: Vec::new(),
            coverage: policy.coverage.clone(),
            redacted: Vec::new(),
            chain,
        };
        report.judge(waivers, log.events);
        report
    }

    /// Applies `waivers` at the report's as-of time, then derives each
    /// rule's status, the controls, what became of each waiver and the
    /// summary. The rules' findings must be sorted (see [`sort_findings`])
    /// and not yet waived; `events` is the number of events checked.
    ///
    /// Both a run ([`Report::build`]) and `covenant merge` end here, so that
    /// a merged report is judged exactly as one run over the whole log is.
    pub fn judge(&mut self, waivers: &[Waiver], events: u64) {
        let as_of = self.as_of;
        let mut waived_counts = vec![0u64; waivers.len()];
        for rule in &mut self.rules {
            for finding in &mut rule.findings {
                let facts = FindingFacts {
                    rule: &rule.id,
                    event_id: &finding.event_id,
                    time: finding.time,
                    tenant: finding.tenant.as_deref(),
                    data_id: finding.data_id.as_deref(),
                };
                // Every matching waiver is counted, so that none is
                // called stale while it covers findings; the first
                // active one (in the order given) is credited.
                for (n, waiver) in waivers.iter().enumerate() {
                    if !waiver.matches(&facts) {
                        continue;
                    }
                    waived_counts[n] += 1;
                    if finding.waived.is_none() && !waiver.expired_by(as_of) {
                        finding.waived = Some(Waived {
                            waiver: waiver.id.clone(),
                            reason: waiver.reason.clone(),
                            approver: waiver.approver.clone(),
                            expires: waiver.expires.clone(),
                        });
                    }
                }
            }
            rule.status = match (
                &rule.error,
                rule.findings.iter().all(|f| f.waived.is_some()),
            ) {
                (Some(_), _) => Status::Error,
                (None, true) => Status::Pass,
                (None, false) => Status::Fail,
            };
        }

        self.waivers = waivers
            .iter()
            .zip(waived_counts)
            .map(|(waiver, findings)| WaiverReport {
                status: if waiver.expired_by(as_of) {
                    WaiverStatus::Expired
                } else if findings == 0 {
                    WaiverStatus::Stale
                } else {
                    WaiverStatus::Active
                },
                waiver: waiver.clone(),
                findings,
            })
            .collect();

        let rules = &self.rules;
        let count = |status| rules.iter().filter(|r| r.status == status).count() as u64;
        let mut open_by_severity: BTreeMap<Severity, u64> =
            Severity::ALL.iter().map(|&s| (s, 0)).collect();
        for rule in rules {
            // A rule with no known severity never loaded, so it errored and
            // has no findings to count.
            if let Some(severity) = rule.severity {
                *open_by_severity.entry(severity).or_default() += rule.open().count() as u64;
            }
        }
        let findings: u64 = rules.iter().map(|r| r.findings.len() as u64).sum();
        let open: u64 = rules.iter().map(|r| r.open().count() as u64).sum();
        let rejected = self.rejected.len() as u64;
        let waivers_with =
            |status| self.waivers.iter().filter(|w| w.status == status).count() as u64;
        self.summary = Summary {
            read: events + rejected,
            events,
            rejected,
            findings,
            open,
            waived: findings - open,
            unassessable: rules.iter().map(|r| r.unassessable.len() as u64).sum(),
            open_by_severity,
            compliant: rules.iter().all(|r| r.status == Status::Pass),
            rules_passed: count(Status::Pass),
            rules_failed: count(Status::Fail),
            rules_errored: count(Status::Error),
            waivers_expired: waivers_with(WaiverStatus::Expired),
            waivers_stale: waivers_with(WaiverStatus::Stale),
        };
        self.controls = controls(&self.rules);
    }

    /// The highest severity among open findings, if any is open.
    pub fn worst_open(&self) -> Option<Severity> {
        self.summary
            .open_by_severity
            .iter()
            .rev()
            .find(|(_, count)| **count > 0)
            .map(|(severity, _)| *severity)
    }

    /// Replaces customer identifiers everywhere they can appear: in finding
    /// ids, tenants, data ids and messages, rejected records, waivers'
    /// selectors, and input names. `fields` is recorded in the report.
    pub fn redact(&mut self, redaction: &Redaction, fields: Vec<String>) {
        for rule in &mut self.rules {
            for finding in &mut rule.findings {
                for text in [
                    &mut finding.event_id,
                    &mut finding.message,
                    &mut finding.location,
                    &mut finding.file,
                ] {
                    redaction.redact(text);
                }
                for text in [&mut finding.tenant, &mut finding.data_id]
                    .into_iter()
                    .flatten()
                {
                    redaction.redact(text);
                }
                if let Some(waived) = &mut finding.waived {
                    redaction.redact(&mut waived.reason);
                    redaction.redact(&mut waived.approver);
                }
            }
            if let Some(error) = &mut rule.error {
                redaction.redact(error);
            }
            for item in &mut rule.unassessable {
                redaction.redact(&mut item.subject);
                redaction.redact(&mut item.reason);
            }
            rule.unassessable.sort();
            // Redaction can change the order of ids within the same
            // instant; the report's order must not leak it.
            sort_findings(&mut rule.findings);
        }
        for rejection in &mut self.rejected {
            redaction.redact(&mut rejection.location);
            redaction.redact(&mut rejection.reason);
        }
        for input in &mut self.inputs {
            redaction.redact(&mut input.name);
        }
        for report in &mut self.waivers {
            let waiver = &mut report.waiver;
            redaction.redact(&mut waiver.reason);
            redaction.redact(&mut waiver.approver);
            for text in waiver
                .event_ids
                .iter_mut()
                .chain(&mut waiver.data_ids)
                .chain(&mut waiver.tenants)
            {
                redaction.redact(text);
            }
        }
        self.redacted = fields;
    }
}

/// Puts findings in the report's order: by time, then event id, then
/// message, which depends on nothing but the findings themselves.
pub fn sort_findings(findings: &mut [FindingReport]) {
    findings
        .sort_by(|a, b| (a.time, &a.event_id, &a.message).cmp(&(b.time, &b.event_id, &b.message)));
}

/// Groups rules by the controls they support, sorted by control id.
fn controls(rules: &[RuleReport]) -> Vec<ControlReport> {
    let mut by_control: BTreeMap<&str, Vec<&RuleReport>> = BTreeMap::new();
    for rule in rules {
        for control in &rule.controls {
            by_control.entry(control).or_default().push(rule);
        }
    }
    by_control
        .into_iter()
        .map(|(id, rules)| ControlReport {
            id: id.to_string(),
            status: if rules.iter().any(|r| r.status == Status::Error) {
                Status::Error
            } else if rules.iter().any(|r| r.status == Status::Fail) {
                Status::Fail
            } else {
                Status::Pass
            },
            open: rules.iter().map(|r| r.open().count() as u64).sum(),
            rules: rules.iter().map(|r| r.id.clone()).collect(),
        })
        .collect()
}
