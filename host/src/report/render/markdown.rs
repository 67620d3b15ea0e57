//! Markdown: for people, pasted into a ticket, a wiki or a pull request.

use std::fmt::Write;

use super::{plural, severity_line, verdict};
use crate::report::{Report, WaiverStatus};

pub(super) fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Covenant report: {}\n", cell(&report.policy.title));
    let _ = writeln!(out, "**{}**\n", verdict(report));
    if let Some(line) = severity_line(report) {
        let _ = writeln!(out, "{line}\n");
    }
    out.push_str("| Rule | Severity | Status | Open | Waived |\n|---|---|---|---|---|\n");
    for rule in &report.rules {
        let open = rule.open().count();
        let _ = writeln!(
            out,
            "| [{}](#{}) | {} | {} | {} | {} |",
            rule.id,
            rule.id,
            rule.severity.map_or("-", |s| s.as_str()),
            rule.status.as_str(),
            open,
            rule.findings.len() - open
        );
    }
    if !report.controls.is_empty() {
        out.push_str("\n## Controls\n\n| Control | Status | Rules | Open |\n|---|---|---|---|\n");
        for control in &report.controls {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                cell(&control.id),
                control.status.as_str(),
                control.rules.join(", "),
                control.open
            );
        }
    }
    for rule in &report.rules {
        let _ = writeln!(out, "\n## {}\n", rule.id);
        let _ = writeln!(out, "Status: **{}**\n", rule.status.as_str());
        if let Some(severity) = rule.severity {
            let _ = writeln!(out, "Severity: {severity}\n");
        }
        if !rule.controls.is_empty() {
            let _ = writeln!(out, "Controls: {}\n", cell(&rule.controls.join(", ")));
        }
        let _ = writeln!(out, "> {}\n", cell(&rule.commitment));
        if let Some(description) = &rule.description {
            let _ = writeln!(out, "{}\n", cell(description));
        }
        if let Some(error) = &rule.error {
            let _ = writeln!(out, "Error: `{}`\n", error.replace('`', "'"));
        }
        if !rule.unassessable.is_empty() {
            let _ = writeln!(
                out,
                "Not assessable from this log ({}):\n",
                plural(rule.unassessable.len() as u64, "subject")
            );
            out.push_str("| Subject | Why |\n|---|---|\n");
            for item in &rule.unassessable {
                let _ = writeln!(
                    out,
                    "| `{}` | {} |",
                    cell(&item.subject),
                    cell(&item.reason)
                );
            }
            out.push('\n');
        }
        if rule.findings.is_empty() {
            if rule.error.is_none() {
                out.push_str("No findings.\n");
            }
            continue;
        }
        let _ = writeln!(out, "{}:\n", plural(rule.findings.len() as u64, "finding"));
        out.push_str("| Event | Time | Location | Finding | Waived |\n|---|---|---|---|---|\n");
        for finding in &rule.findings {
            let waived = finding
                .waived
                .as_ref()
                .map_or(String::new(), |by| format!("{}: {}", by.waiver, by.reason));
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                cell(&finding.event_id),
                finding.time,
                cell(&finding.location),
                cell(&finding.message),
                cell(&waived)
            );
        }
    }
    if !report.waivers.is_empty() {
        out.push_str("\n## Waivers\n\n| Waiver | Rule | Status | Findings | Expires | Approver | Reason |\n|---|---|---|---|---|---|---|\n");
        for waiver in &report.waivers {
            let status = match waiver.status {
                WaiverStatus::Active => "active",
                WaiverStatus::Expired => "**expired**",
                WaiverStatus::Stale => "**stale**",
            };
            let w = &waiver.waiver;
            let _ = writeln!(
                out,
                "| {} | {} | {status} | {} | {} | {} | {} |",
                cell(&w.id),
                w.rule,
                waiver.findings,
                w.expires,
                cell(&w.approver),
                cell(&w.reason)
            );
        }
    }
    if !report.rejected.is_empty() {
        let _ = writeln!(out, "\n## Rejected records\n");
        let _ = writeln!(
            out,
            "{} not checked:\n",
            plural(report.rejected.len() as u64, "record")
        );
        out.push_str("| Location | Reason |\n|---|---|\n");
        for rejection in &report.rejected {
            let _ = writeln!(
                out,
                "| {} | {} |",
                cell(&rejection.location),
                cell(&rejection.reason)
            );
        }
    }
    if !report.coverage.is_empty() {
        let checked = report
            .coverage
            .iter()
            .filter(|c| !c.rules.is_empty())
            .count();
        let _ = writeln!(out, "\n## Coverage of the source document\n");
        let _ = writeln!(
            out,
            "{} of {} paragraphs are checked by rules; the rest say why logs cannot show them.\n",
            checked,
            report.coverage.len()
        );
        out.push_str("| Paragraph | Checked by | Note |\n|---|---|---|\n");
        for paragraph in &report.coverage {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                cell(&paragraph.text),
                paragraph.rules.join(", "),
                cell(paragraph.note.as_deref().unwrap_or(""))
            );
        }
    }
    if !report.redacted.is_empty() {
        let _ = writeln!(
            out,
            "\nRedacted: values of {} are replaced by hashes.",
            report.redacted.join(", ")
        );
    }
    out.push_str("\n## Provenance\n\n");
    let _ = writeln!(
        out,
        "- Covenant {}, report schema `{}`",
        report.covenant_version, report.schema
    );
    let _ = writeln!(
        out,
        "- Policy: {} (sha256 `{}`)",
        cell(&report.policy.source),
        report.policy.sha256
    );
    for input in &report.inputs {
        let _ = writeln!(
            out,
            "- Input: {} ({}, {}, sha256 `{}`)",
            cell(&input.name),
            input.describe_format(),
            plural(input.events, "event"),
            input.sha256
        );
    }
    for rule in &report.rules {
        let plugin = &rule.plugin;
        let _ = writeln!(
            out,
            "- Rule `{}`: plugin {} {} (sha256 `{}`)",
            rule.id,
            cell(&plugin.source),
            plugin.version.as_deref().unwrap_or("(not loaded)"),
            plugin.sha256.as_deref().unwrap_or("-")
        );
    }
    out
}

/// Text made safe for a table cell or a single line: no pipes or breaks.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\r', '\n'], " ")
}
