//! Plain text: for a terminal or a CI log.

use std::fmt::Write;

use super::{Report, Status, plural, verdict};

pub(super) fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Covenant report: {}", report.policy.title);
    let _ = writeln!(out, "{}\n", verdict(report));
    for rule in &report.rules {
        let label = match rule.status {
            Status::Pass => "PASS ",
            Status::Fail => "FAIL ",
            Status::Error => "ERROR",
        };
        let _ = write!(out, "{label} {}", rule.id);
        if !rule.findings.is_empty() {
            let _ = write!(out, " ({})", plural(rule.findings.len() as u64, "finding"));
        }
        out.push('\n');
        if let Some(error) = &rule.error {
            let _ = writeln!(out, "      error: {error}");
        }
        for finding in &rule.findings {
            let _ = writeln!(
                out,
                "      {}  {}  {}",
                finding.event_id, finding.time, finding.location
            );
            let _ = writeln!(out, "        {}", finding.message);
        }
    }
    if !report.rejected.is_empty() {
        let _ = writeln!(
            out,
            "\nREJECTED {} (not checked):",
            plural(report.rejected.len() as u64, "record")
        );
        for rejection in &report.rejected {
            let _ = writeln!(out, "      {}: {}", rejection.location, rejection.reason);
        }
    }
    out
}
