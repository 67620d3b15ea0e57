//! `covenant diff`: which findings appeared or disappeared between two JSON
//! reports, for whoever reviews a change to a policy, a rule or a log.
//!
//! A finding is the same in both reports when its rule, event id and
//! message are. A finding in both whose waiver changed is listed too,
//! because a new waiver hides a breach as surely as a deleted finding.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use anyhow::Result;

use crate::report::read_json;

/// A finding's identity across reports: rule, event id, message.
type Key = (String, String, String);

/// The findings one report holds: identity → (time, waiver).
type Findings = BTreeMap<Key, (String, Option<String>)>;

/// One finding, as a diff lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffedFinding {
    /// The id of the rule that reported the finding.
    pub rule: String,
    /// The id of the event the finding is about.
    pub event_id: String,
    /// The finding's message.
    pub message: String,
    /// The event's time, in RFC 3339 as the report gives it.
    pub time: String,
}

/// A finding in both reports under different waivers (`None`: open).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewaived {
    /// The finding, as the new report has it.
    pub finding: DiffedFinding,
    /// The id of the waiver that covered it in the old report; `None` if it was open.
    pub before: Option<String>,
    /// The id of the waiver that covers it in the new report; `None` if it is open.
    pub after: Option<String>,
}

/// The difference between two reports' findings, sorted by rule, event id
/// and message.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReportDiff {
    /// In the new report only.
    pub appeared: Vec<DiffedFinding>,
    /// In the old report only.
    pub disappeared: Vec<DiffedFinding>,
    /// In both, with a different waiver.
    pub rewaived: Vec<Rewaived>,
}

fn diffed(key: &Key, time: &str) -> DiffedFinding {
    DiffedFinding {
        rule: key.0.clone(),
        event_id: key.1.clone(),
        message: key.2.clone(),
        time: time.to_string(),
    }
}

impl ReportDiff {
    /// Compares the reports in two JSON files.
    pub fn between(old: &Path, new: &Path) -> Result<ReportDiff> {
        Ok(ReportDiff::of(&findings(old)?, &findings(new)?))
    }

    fn of(old: &Findings, new: &Findings) -> ReportDiff {
        let mut diff = ReportDiff::default();
        for (key, (time, waiver)) in new {
            match old.get(key) {
                None => diff.appeared.push(diffed(key, time)),
                Some((_, before)) if before != waiver => diff.rewaived.push(Rewaived {
                    finding: diffed(key, time),
                    before: before.clone(),
                    after: waiver.clone(),
                }),
                Some(_) => {}
            }
        }
        for (key, (time, _)) in old {
            if !new.contains_key(key) {
                diff.disappeared.push(diffed(key, time));
            }
        }
        diff
    }

    /// Whether the reports have the same findings under the same waivers.
    pub fn is_empty(&self) -> bool {
        self.appeared.is_empty() && self.disappeared.is_empty() && self.rewaived.is_empty()
    }

    /// The diff as text: `+` appeared, `-` disappeared, `~` waiver changed.
    pub fn render(&self) -> String {
        let mut out = format!(
            "{} appeared, {} disappeared, {} changed waiver\n",
            self.appeared.len(),
            self.disappeared.len(),
            self.rewaived.len()
        );
        for (sign, findings) in [('+', &self.appeared), ('-', &self.disappeared)] {
            for f in findings {
                let _ = writeln!(
                    out,
                    "{sign} {} {} {}: {}",
                    f.rule, f.event_id, f.time, f.message
                );
            }
        }
        let state = |w: &Option<String>| {
            w.as_ref()
                .map_or("open".to_string(), |w| format!("waived by {w}"))
        };
        for change in &self.rewaived {
            let f = &change.finding;
            let _ = writeln!(
                out,
                "~ {} {}: {} ({} -> {})",
                f.rule,
                f.event_id,
                f.message,
                state(&change.before),
                state(&change.after)
            );
        }
        out
    }
}

/// Reads a JSON report's findings, refusing anything that is not one.
fn findings(path: &Path) -> Result<Findings> {
    let mut findings = Findings::new();
    for rule in read_json(path)?.rules {
        for finding in rule.findings {
            findings.insert(
                (rule.id.clone(), finding.event_id, finding.message),
                (finding.time.to_string(), finding.waived.map(|w| w.waiver)),
            );
        }
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings(items: &[(&str, &str, Option<&str>)]) -> Findings {
        items
            .iter()
            .map(|(rule, event, waiver)| {
                (
                    (rule.to_string(), event.to_string(), "m".to_string()),
                    ("t".to_string(), waiver.map(str::to_string)),
                )
            })
            .collect()
    }

    #[test]
    fn lists_appeared_disappeared_and_rewaived_findings() {
        let old = findings(&[("r", "e1", None), ("r", "e2", None), ("r", "e3", None)]);
        let new = findings(&[
            ("r", "e2", None),
            ("r", "e3", Some("W-1")),
            ("s", "e4", None),
        ]);
        let diff = ReportDiff::of(&old, &new);
        assert_eq!(
            diff.render(),
            "1 appeared, 1 disappeared, 1 changed waiver\n\
             + s e4 t: m\n\
             - r e1 t: m\n\
             ~ r e3: m (open -> waived by W-1)\n"
        );
        assert!(!diff.is_empty());
        assert!(ReportDiff::of(&old, &old).is_empty());
    }
}
