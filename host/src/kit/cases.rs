//! `covenant plugin test`: fixture-based tests for one rule plugin.
//!
//! A case is a fixture log, `NAME.jsonl` (or `.json`), and beside it the
//! findings the plugin must report over it, `NAME.expected.toml`:
//!
//! ```toml
//! as_of = "2026-04-10T00:00:00Z"  # optional: the report's as-of time
//! [config]                        # optional: the rule's configuration
//! banned = ["advertising"]
//!
//! [[finding]]
//! rule = "no-ads"
//! event = "evt-2"
//! message = "..."                 # optional: compared exactly when given
//!
//! [[unassessable]]                # what the rule says it cannot assess
//! rule = "no-ads"
//! subject = "sub-3"
//! reason = "..."                  # optional: compared exactly when given
//! ```
//!
//! `error = "text"` instead of findings expects the rule to fail with a
//! message containing the text, which is how a case tests that a bad
//! configuration is refused. Each case runs exactly as `covenant report`
//! would run a one-rule policy, through the same sandbox and limits.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::evaluate::audit::Audit;
use crate::events::Timestamp;
use crate::policy::{Limits, PluginRef, Policy, RuleSpec};
use crate::runtime::PluginRuntime;

/// One fixture log and the file holding what it must produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The fixture log: a `.jsonl` or `.json` file of events.
    pub log: PathBuf,
    /// `NAME.expected.toml` beside the log; it need not exist yet.
    pub expected: PathBuf,
}

/// The contents of an `.expected.toml` file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expectation {
    as_of: Option<String>,
    config: Option<toml::Table>,
    error: Option<String>,
    #[serde(default)]
    finding: Vec<ExpectedFinding>,
    #[serde(default)]
    unassessable: Vec<ExpectedUnassessable>,
}

/// A subject a case expects the rule to say it cannot assess, and
/// optionally the exact reason.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedUnassessable {
    /// The id of the rule that cannot assess it.
    pub rule: String,
    /// What it cannot assess: a subscription, tenant or data item id.
    pub subject: String,
    /// The exact reason expected; when absent, any reason matches.
    pub reason: Option<String>,
}

/// What a rule reported over a case, in the expected file's terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reported {
    /// Its findings.
    pub findings: Vec<ExpectedFinding>,
    /// The subjects it could not assess.
    pub unassessable: Vec<ExpectedUnassessable>,
}

/// A finding a case expects: the rule, the event, and optionally the exact
/// message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedFinding {
    /// The id of the rule that reports the finding.
    pub rule: String,
    /// The id of the event the finding is about.
    pub event: String,
    /// The exact message expected; when absent, any message matches.
    pub message: Option<String>,
}

/// How a case went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The plugin's output matches the expectation (or the expected error).
    Pass,
    /// The plugin's output differs from the expectation.
    Fail(Vec<Difference>),
    /// There is no expected file yet (and `--update` was not given).
    NoExpectation {
        /// What the plugin reported, which `--update` would write down.
        actual: Reported,
    },
    /// `--update` rewrote the expected file from the plugin's output.
    Updated,
}

/// One way the plugin's output differs from a case's expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// Expected, but the plugin did not report it.
    Missing(ExpectedFinding),
    /// Reported, but not expected.
    Unexpected(ExpectedFinding),
    /// Expected not to be assessable, but the plugin did not say so (or
    /// gave another reason).
    MissingUnassessable(ExpectedUnassessable),
    /// Said not to be assessable, but not expected.
    UnexpectedUnassessable(ExpectedUnassessable),
    /// Reported for the expected event, with another message.
    Message {
        /// The id of the rule that reported the finding.
        rule: String,
        /// The id of the event the finding is about.
        event: String,
        /// The message the case expects.
        expected: String,
        /// The message the plugin reported.
        actual: String,
    },
    /// The rule failed, and the case expected findings.
    RuleFailed(String),
    /// The case expected the rule to fail with `expected`, but it did not
    /// (`actual` is `None`) or failed otherwise.
    ErrorExpected {
        /// The text the case expects the rule's error to contain.
        expected: String,
        /// The rule's error, or `None` when it did not fail.
        actual: Option<String>,
    },
}

/// The cases under `paths`: each `.jsonl`/`.json` file given, and those in
/// each folder given (recursively, in name order). `.expected.toml` files
/// need not exist yet.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<Case>> {
    let mut cases = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
                let entry = entry.with_context(|| format!("{}: cannot list", path.display()))?;
                if entry.file_type().is_file() && is_log(entry.path()) {
                    found.push(case_for(entry.path()));
                }
            }
            if found.is_empty() {
                bail!("{}: no .jsonl or .json fixture logs in it", path.display());
            }
            cases.extend(found);
        } else if path.is_file() {
            if !is_log(path) {
                bail!(
                    "{}: a case is a .jsonl or .json fixture log (its expectations go beside it in NAME.expected.toml)",
                    path.display()
                );
            }
            cases.push(case_for(path));
        } else {
            bail!("{}: no such file or folder", path.display());
        }
    }
    Ok(cases)
}

fn is_log(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("jsonl" | "json")
    )
}

fn case_for(log: &Path) -> Case {
    let stem = log.file_stem().unwrap_or_default().to_string_lossy();
    Case {
        log: log.to_path_buf(),
        expected: log.with_file_name(format!("{stem}.expected.toml")),
    }
}

impl Case {
    /// Runs `plugin` (whose rule id is `rule_id`) over the case and compares
    /// or, with `update`, rewrites the expectation. An error means the case
    /// itself is broken (an unreadable log or expected file), not that the
    /// plugin got it wrong.
    pub fn run(
        &self,
        runtime: &PluginRuntime,
        plugin: &PluginRef,
        rule_id: &str,
        update: bool,
    ) -> Result<Outcome> {
        let (expectation, text) = self.read_expectation()?;
        let outcome = self.evaluate(runtime, plugin, rule_id, expectation.as_ref())?;
        let (actual, failure) = match outcome {
            Ok(actual) => (actual, None),
            Err(failure) => (Reported::default(), Some(failure)),
        };
        let Some(expectation) = expectation else {
            if update {
                let header = format!(
                    "# Findings `covenant plugin test` expects over {}.\n\
                     # Written by --update: review them before you commit.\n",
                    self.log.file_name().unwrap_or_default().to_string_lossy()
                );
                write_expectation(&self.expected, &header, &actual)?;
                return Ok(Outcome::Updated);
            }
            return match failure {
                Some(failure) => Ok(Outcome::Fail(vec![Difference::RuleFailed(failure)])),
                None => Ok(Outcome::NoExpectation { actual }),
            };
        };
        let differences = compare(&expectation, &actual, failure);
        if differences.is_empty() {
            return Ok(Outcome::Pass);
        }
        let only_findings_differ = expectation.error.is_none()
            && differences
                .iter()
                .all(|d| !matches!(d, Difference::RuleFailed(_)));
        if update && only_findings_differ {
            write_expectation(&self.expected, &text, &actual)?;
            return Ok(Outcome::Updated);
        }
        Ok(Outcome::Fail(differences))
    }

    fn read_expectation(&self) -> Result<(Option<Expectation>, String)> {
        let text = match std::fs::read_to_string(&self.expected) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((None, String::new()));
            }
            Err(e) => {
                return Err(e).with_context(|| format!("{}: cannot read", self.expected.display()));
            }
        };
        let expectation: Expectation = toml::from_str(&text)
            .with_context(|| format!("{}: invalid expected findings", self.expected.display()))?;
        if expectation.error.is_some()
            && !(expectation.finding.is_empty() && expectation.unassessable.is_empty())
        {
            bail!(
                "{}: expects both an error and findings; a rule that fails reports none",
                self.expected.display()
            );
        }
        Ok((Some(expectation), text))
    }

    /// The plugin's findings over the log, or the rule's failure.
    fn evaluate(
        &self,
        runtime: &PluginRuntime,
        plugin: &PluginRef,
        rule_id: &str,
        expectation: Option<&Expectation>,
    ) -> Result<Result<Reported, String>> {
        let at = || self.expected.display().to_string();
        let config = match expectation.and_then(|e| e.config.clone()) {
            Some(table) => {
                serde_json::to_value(table).with_context(|| format!("{}: config", at()))?
            }
            None => serde_json::json!({}),
        };
        let as_of = match expectation.and_then(|e| e.as_of.as_deref()) {
            Some(text) => Some(
                Timestamp::parse_rfc3339(text)
                    .map_err(|e| anyhow::anyhow!("{}: as_of: {e}", at()))?,
            ),
            None => None,
        };
        let mut audit = Audit::new(
            one_rule_policy(plugin, rule_id, config),
            vec![self.log.clone()],
        );
        audit.as_of = as_of;
        let report = audit
            .run_in(runtime, None)
            .with_context(|| format!("case {}", self.log.display()))?;
        let rule = &report.rules[0];
        if let Some(error) = &rule.error {
            return Ok(Err(error.clone()));
        }
        Ok(Ok(Reported {
            findings: (rule.findings.iter())
                .map(|f| ExpectedFinding {
                    rule: rule.id.clone(),
                    event: f.event_id.clone(),
                    message: Some(f.message.clone()),
                })
                .collect(),
            unassessable: (rule.unassessable.iter())
                .map(|u| ExpectedUnassessable {
                    rule: rule.id.clone(),
                    subject: u.subject.clone(),
                    reason: Some(u.reason.clone()),
                })
                .collect(),
        }))
    }
}

/// A policy of one rule, as a case runs it.
fn one_rule_policy(plugin: &PluginRef, rule_id: &str, config: serde_json::Value) -> Policy {
    Policy {
        title: format!("plugin test of {plugin}"),
        document: None,
        source: "covenant plugin test".to_string(),
        sha256: String::new(),
        rules: vec![RuleSpec {
            id: rule_id.to_string(),
            plugin: plugin.clone(),
            sha256: None,
            commitment: String::new(),
            config,
            limits: Limits::default(),
            severity: None,
            controls: Vec::new(),
        }],
        coverage: Vec::new(),
        waivers: Vec::new(),
        redact: Vec::new(),
    }
}

/// The differences between what a case expects and what the plugin did.
/// Findings are matched as a multiset, each expected one to the first
/// unmatched actual one for the same rule and event, preferring one whose
/// message matches.
fn compare(
    expectation: &Expectation,
    reported: &Reported,
    failure: Option<String>,
) -> Vec<Difference> {
    match (&expectation.error, failure) {
        (Some(expected), Some(actual)) if actual.contains(expected.as_str()) => return Vec::new(),
        (Some(expected), actual) => {
            return vec![Difference::ErrorExpected {
                expected: expected.clone(),
                actual,
            }];
        }
        (None, Some(failure)) => return vec![Difference::RuleFailed(failure)],
        (None, None) => {}
    }
    let mut differences = compare_findings(&expectation.finding, &reported.findings);
    let mut unmatched: Vec<Option<&ExpectedUnassessable>> =
        reported.unassessable.iter().map(Some).collect();
    for expected in &expectation.unassessable {
        let found = unmatched.iter().position(|a| {
            a.is_some_and(|a| {
                a.rule == expected.rule
                    && a.subject == expected.subject
                    && (expected.reason.is_none() || a.reason == expected.reason)
            })
        });
        match found {
            Some(i) => unmatched[i] = None,
            None => differences.push(Difference::MissingUnassessable(expected.clone())),
        }
    }
    differences
        .extend((unmatched.into_iter().flatten().cloned()).map(Difference::UnexpectedUnassessable));
    differences
}

/// [`compare`]'s findings half.
fn compare_findings(expected: &[ExpectedFinding], actual: &[ExpectedFinding]) -> Vec<Difference> {
    let mut unmatched: Vec<Option<&ExpectedFinding>> = actual.iter().map(Some).collect();
    let mut differences = Vec::new();
    let mut wrong_message = Vec::new();
    for expected in expected {
        let same_event =
            |a: &&ExpectedFinding| a.rule == expected.rule && a.event == expected.event;
        let exact = unmatched.iter().position(|a| {
            a.filter(same_event)
                .is_some_and(|a| expected.message.is_none() || a.message == expected.message)
        });
        match exact {
            Some(i) => unmatched[i] = None,
            None => wrong_message.push(expected),
        }
    }
    // Only after every exact match is taken can a finding for the right
    // event be blamed for its message.
    for expected in wrong_message {
        let same_event = unmatched
            .iter()
            .position(|a| a.is_some_and(|a| a.rule == expected.rule && a.event == expected.event));
        match same_event {
            Some(i) => {
                let found = unmatched[i].take().expect("position found it unmatched");
                differences.push(Difference::Message {
                    rule: expected.rule.clone(),
                    event: expected.event.clone(),
                    expected: expected.message.clone().unwrap_or_default(),
                    actual: found.message.clone().unwrap_or_default(),
                });
            }
            None => differences.push(Difference::Missing(expected.clone())),
        }
    }
    differences.extend(
        unmatched
            .into_iter()
            .flatten()
            .cloned()
            .map(Difference::Unexpected),
    );
    differences
}

/// Writes what was `reported` as the `[[finding]]` and `[[unassessable]]`
/// entries of the expected file, keeping everything else `old` held
/// (comments, `as_of`, `config`).
fn write_expectation(path: &Path, old: &str, reported: &Reported) -> Result<()> {
    let mut document: toml_edit::DocumentMut = old
        .parse()
        .with_context(|| format!("{}: invalid TOML", path.display()))?;
    let mut entries = toml_edit::ArrayOfTables::new();
    for finding in &reported.findings {
        let mut table = toml_edit::Table::new();
        table["rule"] = toml_edit::value(&finding.rule);
        table["event"] = toml_edit::value(&finding.event);
        if let Some(message) = &finding.message {
            table["message"] = toml_edit::value(message);
        }
        entries.push(table);
    }
    // Comments above the first finding belong to the file, not to that
    // finding: carry them over to the new first one.
    let mut header = document
        .get("finding")
        .and_then(|item| item.as_array_of_tables())
        .and_then(|old| old.get(0))
        .and_then(|first| first.decor().prefix())
        .and_then(|prefix| prefix.as_str())
        .unwrap_or_default()
        .to_string();
    document.remove("finding");
    document.remove("unassessable");
    // In a file of nothing else but comments, toml_edit holds them as
    // trailing text, which would print after the findings.
    if document.as_table().is_empty() {
        let trailing = document.trailing().as_str().unwrap_or_default();
        if !trailing.trim().is_empty() {
            header = format!("{}\n{header}", trailing.trim_end());
        }
        document.set_trailing("");
    }
    if !header.trim().is_empty() {
        // A file's opening comment stands apart; one among settings sits
        // right above the findings it explains.
        let prefix = if document.as_table().is_empty() {
            format!("{}\n\n", header.trim())
        } else {
            format!("\n{}\n", header.trim())
        };
        match entries.get_mut(0) {
            Some(first) => first.decor_mut().set_prefix(prefix),
            None => document.set_trailing(prefix),
        }
    }
    if !entries.is_empty() {
        document.insert("finding", toml_edit::Item::ArrayOfTables(entries));
    }
    let mut unassessable = toml_edit::ArrayOfTables::new();
    for item in &reported.unassessable {
        let mut table = toml_edit::Table::new();
        table["rule"] = toml_edit::value(&item.rule);
        table["subject"] = toml_edit::value(&item.subject);
        if let Some(reason) = &item.reason {
            table["reason"] = toml_edit::value(reason);
        }
        unassessable.push(table);
    }
    if !unassessable.is_empty() {
        document.insert("unassessable", toml_edit::Item::ArrayOfTables(unassessable));
    }
    crate::report::atomic_file::write_atomically(path, document.to_string().as_bytes())
}

impl Outcome {
    /// Whether the case counts as passed.
    pub fn passed(&self) -> bool {
        matches!(self, Outcome::Pass | Outcome::Updated)
    }
}

/// The outcome of one case as text: one status line, then a `-`/`+` diff
/// of what was expected against what the plugin reported.
pub fn render(case: &Case, outcome: &Outcome) -> String {
    let log = case.log.display();
    match outcome {
        Outcome::Pass => format!("ok      {log}\n"),
        Outcome::Updated => format!("updated {log}: wrote {}\n", case.expected.display()),
        Outcome::NoExpectation { actual } => {
            let mut out = format!(
                "FAIL    {log}: no {} yet; run with --update to write it from these {} finding(s):\n",
                case.expected.display(),
                actual.findings.len()
            );
            for finding in &actual.findings {
                out.push_str(&format!("  + {}\n", finding_line(finding)));
            }
            for item in &actual.unassessable {
                out.push_str(&format!("  + {}\n", unassessable_line(item)));
            }
            out
        }
        Outcome::Fail(differences) => {
            let mut out = format!("FAIL    {log}:\n");
            for difference in differences {
                match difference {
                    Difference::Missing(f) => {
                        out.push_str(&format!("  - {}   (expected, not reported)\n", finding_line(f)));
                    }
                    Difference::Unexpected(f) => {
                        out.push_str(&format!("  + {}   (reported, not expected)\n", finding_line(f)));
                    }
                    Difference::MissingUnassessable(u) => {
                        let line = unassessable_line(u);
                        out.push_str(&format!("  - {line}   (expected, not said)\n"));
                    }
                    Difference::UnexpectedUnassessable(u) => {
                        let line = unassessable_line(u);
                        out.push_str(&format!("  + {line}   (said, not expected)\n"));
                    }
                    Difference::Message {
                        rule,
                        event,
                        expected,
                        actual,
                    } => {
                        out.push_str(&format!(
                            "  ~ {rule} {event}: message differs\n      - {expected}\n      + {actual}\n"
                        ));
                    }
                    Difference::RuleFailed(error) => {
                        out.push_str(&format!("  ! the rule failed: {error}\n"));
                    }
                    Difference::ErrorExpected { expected, actual } => match actual {
                        Some(actual) => out.push_str(&format!(
                            "  ! expected the rule to fail with \"{expected}\", but it failed with: {actual}\n"
                        )),
                        None => out.push_str(&format!(
                            "  ! expected the rule to fail with \"{expected}\", but it ran\n"
                        )),
                    },
                }
            }
            out
        }
    }
}

fn unassessable_line(item: &ExpectedUnassessable) -> String {
    match &item.reason {
        Some(reason) => format!("{} cannot assess {}: {reason}", item.rule, item.subject),
        None => format!("{} cannot assess {}", item.rule, item.subject),
    }
}

fn finding_line(finding: &ExpectedFinding) -> String {
    match &finding.message {
        Some(message) => format!("{} {}: {message}", finding.rule, finding.event),
        None => format!("{} {}", finding.rule, finding.event),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(event: &str, message: Option<&str>) -> ExpectedFinding {
        ExpectedFinding {
            rule: "r".to_string(),
            event: event.to_string(),
            message: message.map(str::to_string),
        }
    }

    fn reported(findings: &[ExpectedFinding]) -> Reported {
        Reported {
            findings: findings.to_vec(),
            unassessable: Vec::new(),
        }
    }

    fn unassessable(subject: &str, reason: Option<&str>) -> ExpectedUnassessable {
        ExpectedUnassessable {
            rule: "r".to_string(),
            subject: subject.to_string(),
            reason: reason.map(str::to_string),
        }
    }

    #[test]
    fn what_a_rule_cannot_assess_is_compared_and_written_too() {
        let expected = Expectation {
            unassessable: vec![unassessable("s1", None), unassessable("s2", Some("old"))],
            ..Expectation::default()
        };
        let actual = Reported {
            findings: Vec::new(),
            unassessable: vec![
                unassessable("s1", Some("any")),
                unassessable("s2", Some("new")),
            ],
        };
        assert_eq!(
            compare(&expected, &actual, None),
            vec![
                Difference::MissingUnassessable(unassessable("s2", Some("old"))),
                Difference::UnexpectedUnassessable(unassessable("s2", Some("new"))),
            ]
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.expected.toml");
        write_expectation(&path, "", &actual).unwrap();
        let parsed: Expectation = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(parsed.unassessable, actual.unassessable);
    }

    fn expecting(findings: Vec<ExpectedFinding>) -> Expectation {
        Expectation {
            finding: findings,
            ..Expectation::default()
        }
    }

    #[test]
    fn findings_match_as_a_multiset_with_optional_messages() {
        let expected = expecting(vec![finding("e1", None), finding("e2", Some("m2"))]);
        let actual = [finding("e2", Some("m2")), finding("e1", Some("anything"))];
        assert_eq!(compare(&expected, &reported(&actual), None), vec![]);
    }

    #[test]
    fn each_kind_of_difference_is_named() {
        let expected = expecting(vec![
            finding("e1", None),
            finding("e2", Some("old words")),
            finding("e2", Some("same")),
        ]);
        let actual = [
            finding("e2", Some("same")),
            finding("e2", Some("new words")),
            finding("e3", Some("m3")),
        ];
        assert_eq!(
            compare(&expected, &reported(&actual), None),
            vec![
                Difference::Missing(finding("e1", None)),
                Difference::Message {
                    rule: "r".to_string(),
                    event: "e2".to_string(),
                    expected: "old words".to_string(),
                    actual: "new words".to_string(),
                },
                Difference::Unexpected(finding("e3", Some("m3"))),
            ]
        );
    }

    #[test]
    fn an_expected_error_must_be_the_one_raised() {
        let expected = Expectation {
            error: Some("unknown field".to_string()),
            ..Expectation::default()
        };
        let failure = "rejected its configuration: rule r: config: unknown field `x`".to_string();
        assert_eq!(
            compare(&expected, &Reported::default(), Some(failure)),
            vec![]
        );
        assert_eq!(
            compare(&expected, &Reported::default(), None),
            vec![Difference::ErrorExpected {
                expected: "unknown field".to_string(),
                actual: None
            }]
        );
    }

    #[test]
    fn update_keeps_a_comment_only_header_on_top() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.expected.toml");
        write_expectation(&path, "# header\n", &reported(&[finding("e1", None)])).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "# header\n\n[[finding]]\nrule = \"r\"\nevent = \"e1\"\n"
        );
    }

    #[test]
    fn update_keeps_comments_and_settings_and_replaces_findings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.expected.toml");
        let old = "# why this case exists\nas_of = \"2026-01-01T00:00:00Z\"\n\n[config]\ndays = 3\n\n[[finding]]\nrule = \"r\"\nevent = \"gone\"\n";
        write_expectation(&path, old, &reported(&[finding("e1", Some("m \"1\""))])).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# why this case exists\n"), "{text}");
        let parsed: Expectation = toml::from_str(&text).unwrap();
        assert_eq!(parsed.as_of.as_deref(), Some("2026-01-01T00:00:00Z"));
        assert_eq!(parsed.config.unwrap()["days"].as_integer(), Some(3));
        assert_eq!(parsed.finding, vec![finding("e1", Some("m \"1\""))]);
    }
}
