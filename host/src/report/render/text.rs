//! Plain text: for a terminal or a CI log, in colour on a terminal.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use super::{plural, severity_line, verdict};
use crate::report::{Report, Status, WaiverStatus};

/// Paints text in a style, or leaves it plain.
struct Paint {
    colour: bool,
}

impl Paint {
    fn paint(&self, style: Style, text: &str) -> String {
        if self.colour {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }

    fn status(&self, status: Status) -> String {
        let (label, colour) = match status {
            Status::Pass => ("PASS ", AnsiColor::Green),
            Status::Fail => ("FAIL ", AnsiColor::Red),
            Status::Error => ("ERROR", AnsiColor::Magenta),
        };
        self.paint(Style::new().fg_color(Some(colour.into())).bold(), label)
    }

    fn dim(&self, text: &str) -> String {
        self.paint(Style::new().dimmed(), text)
    }

    fn bold(&self, text: &str) -> String {
        self.paint(Style::new().bold(), text)
    }
}

pub(super) fn render(report: &Report, colour: bool) -> String {
    let paint = Paint { colour };
    let mut out = String::new();
    let _ = writeln!(out, "Covenant report: {}", report.policy.title);
    let _ = writeln!(out, "{}", paint.bold(&verdict(report)));
    if let Some(line) = severity_line(report) {
        let _ = writeln!(out, "{line}");
    }
    out.push('\n');
    for rule in &report.rules {
        let severity = rule.severity.map_or(String::new(), |s| format!(" [{s}]"));
        let _ = write!(out, "{} {}{severity}", paint.status(rule.status), rule.id);
        let waived = rule.findings.len() - rule.open().count();
        match (rule.findings.len(), waived) {
            (0, _) => {}
            (n, 0) => {
                let _ = write!(out, " ({})", plural(n as u64, "finding"));
            }
            (n, w) => {
                let _ = write!(out, " ({}, {w} waived)", plural(n as u64, "finding"));
            }
        }
        out.push('\n');
        if let Some(error) = &rule.error {
            let _ = writeln!(out, "      error: {error}");
        }
        for finding in &rule.findings {
            let head = format!(
                "      {}  {}  {}",
                finding.event_id, finding.time, finding.location
            );
            match &finding.waived {
                None => {
                    let _ = writeln!(out, "{head}\n        {}", finding.message);
                }
                Some(by) => {
                    let text = format!(
                        "{head}\n        {}\n        waived by {}: {}",
                        finding.message, by.waiver, by.reason
                    );
                    let _ = writeln!(out, "{}", paint.dim(&text));
                }
            }
        }
        for item in &rule.unassessable {
            let _ = writeln!(
                out,
                "      not assessable: {}\n        {}",
                item.subject, item.reason
            );
        }
    }
    if !report.controls.is_empty() {
        let _ = writeln!(out, "\nControls:");
        for control in &report.controls {
            let _ = writeln!(
                out,
                "{} {}: {} ({} open)",
                paint.status(control.status),
                control.id,
                control.rules.join(", "),
                control.open
            );
        }
    }
    let attention: Vec<_> = report
        .waivers
        .iter()
        .filter(|w| w.status != WaiverStatus::Active)
        .collect();
    if !attention.is_empty() {
        let _ = writeln!(out, "\nWaivers needing attention:");
        for report in attention {
            let waiver = &report.waiver;
            let line = match report.status {
                WaiverStatus::Expired => format!(
                    "EXPIRED {} ({}, expired {}, approved by {}): {} open again",
                    waiver.id,
                    waiver.rule,
                    waiver.expires,
                    waiver.approver,
                    plural(report.findings, "finding")
                ),
                _ => format!(
                    "STALE   {} ({}): matched no finding",
                    waiver.id, waiver.rule
                ),
            };
            let _ = writeln!(out, "{line}");
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
    if !report.redacted.is_empty() {
        let _ = writeln!(
            out,
            "\nRedacted: values of {} are replaced by hashes.",
            report.redacted.join(", ")
        );
    }
    out
}
