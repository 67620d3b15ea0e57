//! Reports: what a run found, with everything needed to trust and repeat it.
//!
//! A [`Report`] is built once from the policy, the rules' outcomes and what
//! was read, then rendered as JSON, Markdown or text. Everything in it is
//! sorted and nothing depends on the wall clock, so the same inputs always
//! give the same bytes.

mod markdown;
mod text;

use serde::Serialize;

use crate::evaluate::RuleOutcome;
use crate::events::{InputSummary, ReadLog, Rejection, Timestamp};
use crate::policy::{Coverage, Policy, RuleSpec};

/// The report format's identifier, bumped on incompatible changes.
pub const SCHEMA: &str = "covenant/report/v1";

/// A finished report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub covenant_version: &'static str,
    /// The instant the report is taken as of: `--as-of`, or the latest
    /// event's time; `null` for an empty log without `--as-of`.
    pub as_of: Option<Timestamp>,
    pub summary: Summary,
    pub policy: PolicyProvenance,
    pub inputs: Vec<InputSummary>,
    /// Records that were not valid events, under `--skip-invalid`.
    pub rejected: Vec<Rejection>,
    pub rules: Vec<RuleReport>,
    /// Every paragraph of the policy's source document, with the rules that
    /// check it or why logs cannot show it.
    pub coverage: Vec<Coverage>,
}

/// The verdict at a glance.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Records read: events checked plus records rejected.
    pub read: u64,
    /// Events read and checked.
    pub events: u64,
    /// Records that were not valid events (only under `--skip-invalid`).
    pub rejected: u64,
    pub findings: u64,
    /// True only when every rule ran to the end and none found anything.
    pub compliant: bool,
    pub rules_passed: u64,
    pub rules_failed: u64,
    pub rules_errored: u64,
}

/// Which policy was applied.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyProvenance {
    pub title: String,
    pub document: Option<String>,
    pub source: String,
    pub sha256: String,
}

/// One rule's result.
#[derive(Debug, Clone, Serialize)]
pub struct RuleReport {
    pub id: String,
    pub status: Status,
    /// Why the rule could not finish, when `status` is `error`.
    pub error: Option<String>,
    /// The commitment checked, as the policy quotes it.
    pub commitment: String,
    /// What the plugin says it checks; absent if it never loaded.
    pub description: Option<String>,
    pub plugin: PluginProvenance,
    /// Sorted by event time, then event id, then message.
    pub findings: Vec<FindingReport>,
}

/// Whether a rule held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The rule ran over every event and found nothing.
    Pass,
    /// The rule ran over every event and found breaches.
    Fail,
    /// The rule could not finish; see `error`. Findings it made before
    /// failing are kept.
    Error,
}

/// Which plugin ran a rule.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PluginProvenance {
    /// As the policy names it: `builtin:NAME` or a path.
    pub source: String,
    /// The plugin's own id and version, once loaded.
    pub name: Option<String>,
    pub version: Option<String>,
    pub sha256: Option<String>,
}

/// One breach, placed in time and in the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingReport {
    pub event_id: String,
    pub time: Timestamp,
    /// `file:line` (or `file element N` for a `.json` array).
    pub location: String,
    pub message: String,
}

/// One rule's inputs to the report.
pub struct RuleResult<'a> {
    pub spec: &'a RuleSpec,
    pub plugin: PluginProvenance,
    pub description: Option<String>,
    pub outcome: RuleOutcome,
}

impl Report {
    /// Assembles the report. Findings must name events in `log`'s index;
    /// evaluation guarantees that.
    pub fn build(
        policy: &Policy,
        results: Vec<RuleResult<'_>>,
        log: &ReadLog,
        as_of: Option<Timestamp>,
    ) -> Report {
        let rules: Vec<RuleReport> = results
            .into_iter()
            .map(|result| {
                let mut findings: Vec<FindingReport> = result
                    .outcome
                    .findings
                    .into_iter()
                    .map(|finding| {
                        let (time, location) = log
                            .index
                            .get(&finding.event_id)
                            .expect("evaluation keeps only findings about events in the index");
                        FindingReport {
                            event_id: finding.event_id,
                            time,
                            location: log.describe(location),
                            message: finding.message,
                        }
                    })
                    .collect();
                findings.sort_by(|a, b| {
                    (a.time, &a.event_id, &a.message).cmp(&(b.time, &b.event_id, &b.message))
                });
                findings.dedup();
                let status = match (&result.outcome.error, findings.is_empty()) {
                    (Some(_), _) => Status::Error,
                    (None, true) => Status::Pass,
                    (None, false) => Status::Fail,
                };
                RuleReport {
                    id: result.spec.id.clone(),
                    status,
                    error: result.outcome.error,
                    commitment: result.spec.commitment.clone(),
                    description: result.description,
                    plugin: result.plugin,
                    findings,
                }
            })
            .collect();
        let count = |status| rules.iter().filter(|r| r.status == status).count() as u64;
        let summary = Summary {
            read: log.index.len() as u64 + log.rejected.len() as u64,
            events: log.index.len() as u64,
            rejected: log.rejected.len() as u64,
            findings: rules.iter().map(|r| r.findings.len() as u64).sum(),
            compliant: rules.iter().all(|r| r.status == Status::Pass),
            rules_passed: count(Status::Pass),
            rules_failed: count(Status::Fail),
            rules_errored: count(Status::Error),
        };
        Report {
            schema: SCHEMA,
            covenant_version: env!("CARGO_PKG_VERSION"),
            as_of,
            summary,
            policy: PolicyProvenance {
                title: policy.title.clone(),
                document: policy.document.clone(),
                source: policy.source.clone(),
                sha256: policy.sha256.clone(),
            },
            inputs: log.inputs.clone(),
            rejected: log.rejected.clone(),
            rules,
            coverage: policy.coverage.clone(),
        }
    }
}

/// The ways a report can be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For a terminal.
    Text,
    /// For machines: the `covenant/report/v1` schema.
    Json,
    /// For people: headings and tables, to paste into a ticket or a wiki.
    Markdown,
}

impl Format {
    /// The format a file name's extension implies, if any.
    pub fn from_extension(path: &std::path::Path) -> Option<Format> {
        match path.extension()?.to_str()? {
            "json" => Some(Format::Json),
            "md" | "markdown" => Some(Format::Markdown),
            "txt" => Some(Format::Text),
            _ => None,
        }
    }

    /// Renders `report` in this format.
    pub fn render(self, report: &Report) -> String {
        match self {
            Format::Json => {
                let mut json =
                    serde_json::to_string_pretty(report).expect("a report always serialises");
                json.push('\n');
                json
            }
            Format::Markdown => markdown::render(report),
            Format::Text => text::render(report),
        }
    }
}

/// "1 finding", "2 findings".
fn plural(count: u64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// The one-line verdict both human formats open with.
fn verdict(report: &Report) -> String {
    let s = &report.summary;
    let state = if s.compliant {
        "COMPLIANT"
    } else if s.rules_errored > 0 {
        "INCOMPLETE: a rule could not finish"
    } else {
        "NOT COMPLIANT"
    };
    let as_of = report
        .as_of
        .map_or("no events".to_string(), |t| format!("as of {t}"));
    let rejected = match s.rejected {
        0 => String::new(),
        n => format!(
            " ({} rejected as invalid and not checked)",
            plural(n, "record")
        ),
    };
    format!(
        "{state}: {} from {}{rejected} in {}, {as_of}",
        plural(s.findings, "finding"),
        plural(s.events, "event"),
        plural(report.rules.len() as u64, "rule")
    )
}
