//! HTML: one self-contained page for people, to open in a browser or attach
//! to an audit ticket.
//!
//! The page fetches nothing: its style and script are inline and its
//! Content-Security-Policy forbids every network request, so it can be
//! opened offline and cannot leak what it shows. The chart of findings over
//! time is SVG drawn by [`chart`], so it shows even without JavaScript.
//!
//! A report can hold 10^5 findings, too many for one table, so the findings
//! are embedded once as JSON and a small script pages through them (100
//! rows at a time, with a filter box). Everything shown comes from plugins
//! and logs and is untrusted: markup is escaped here, the JSON is made safe
//! to sit inside `<script>`, and the script builds rows with `textContent`.
//!
//! Like every format, the page depends only on the report: the same report
//! always gives the same bytes.

mod chart;

use std::fmt::Write;

use serde::Serialize;

use super::{plural, verdict};
use crate::events::Timestamp;
use crate::report::{Report, RuleReport, Status, WaiverStatus};

/// Findings rows the script shows per page; the test of long reports
/// relies on a page being small.
const PAGE_ROWS: usize = 100;

/// Rejected records listed in the page; the rest are counted, and every
/// one is in the JSON report.
const MAX_REJECTED_ROWS: usize = 1000;

/// The page's policy: nothing may be fetched, only inline style and script
/// run, and images may only be `data:` URLs.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; \
                   img-src data:; base-uri 'none'; form-action 'none'";

/// Renders the whole page.
pub(super) fn render(report: &Report) -> String {
    let mut out = String::new();
    head(&mut out, report);
    out.push_str("<body>\n<main>\n");
    summary(&mut out, report);
    chart::chart(&mut out, report);
    rules(&mut out, report);
    controls(&mut out, report);
    waivers(&mut out, report);
    rejected(&mut out, report);
    coverage(&mut out, report);
    provenance(&mut out, report);
    out.push_str("</main>\n");
    let _ = writeln!(
        out,
        "<script type=\"application/json\" id=\"findings-data\">{}</script>",
        findings_json(report)
    );
    let _ = writeln!(out, "<script>{SCRIPT}</script>");
    out.push_str("</body>\n</html>\n");
    out
}

/// Text made safe for HTML content and for quoted attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The doctype and `<head>`: encoding, security policy, title and style.
fn head(out: &mut String, report: &Report) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"Covenant {}\">\n\
         <title>Covenant report: {}</title>\n<style>{STYLE}</style>\n</head>\n",
        escape(&report.covenant_version),
        escape(&report.policy.title)
    );
}

/// The verdict's CSS class: pass, fail, or error for an incomplete run.
fn verdict_class(report: &Report) -> &'static str {
    if report.summary.compliant {
        "pass"
    } else if report.summary.rules_errored > 0 {
        "error"
    } else {
        "fail"
    }
}

/// The heading, verdict, headline numbers, the tables by rule and by
/// severity, and the sections' table of contents.
fn summary(out: &mut String, report: &Report) {
    let s = &report.summary;
    let _ = writeln!(
        out,
        "<header id=\"summary\">\n<h1>Covenant report: {}</h1>",
        escape(&report.policy.title)
    );
    let _ = writeln!(
        out,
        "<p id=\"verdict\" class=\"verdict {}\">{}</p>",
        verdict_class(report),
        escape(&verdict(report))
    );
    if !report.redacted.is_empty() {
        let fields: Vec<String> = report
            .redacted
            .iter()
            .map(|f| format!("<code>{}</code>", escape(f)))
            .collect();
        let _ = writeln!(
            out,
            "<p id=\"redacted\" class=\"note\">Redacted: values of {} are replaced by hashes.</p>",
            fields.join(", ")
        );
    }
    let as_of = report
        .as_of
        .map_or("no events".to_string(), |t| t.to_string());
    out.push_str("<div class=\"cards\">\n");
    card(out, "open", &s.open.to_string(), "open findings");
    card(out, "waived", &s.waived.to_string(), "waived findings");
    card(out, "events", &s.events.to_string(), "events checked");
    card(out, "read", &s.read.to_string(), "records read");
    if s.rejected > 0 {
        card(out, "rejected", &s.rejected.to_string(), "records rejected");
    }
    card(
        out,
        "rules",
        &format!(
            "{} / {} / {}",
            s.rules_passed, s.rules_failed, s.rules_errored
        ),
        "rules passed / failed / errored",
    );
    card(out, "as-of", &as_of, "as of (UTC)");
    out.push_str("</div>\n");
    if s.waivers_expired > 0 || s.waivers_stale > 0 {
        let _ = writeln!(
            out,
            "<p class=\"note\">Waivers: {} expired (their findings are open again), {} stale \
             (matching no finding). See <a href=\"#waivers\">Waivers</a>.</p>",
            s.waivers_expired, s.waivers_stale
        );
    }
    out.push_str("<div class=\"split\">\n");
    rule_table(out, report);
    severity_table(out, report);
    out.push_str("</div>\n");
    toc(out, report);
    out.push_str("</header>\n");
}

/// One headline number with its label.
fn card(out: &mut String, id: &str, value: &str, label: &str) {
    let _ = writeln!(
        out,
        "<div class=\"card\" id=\"card-{id}\"><span class=\"num\">{}</span>\
         <span class=\"label\">{}</span></div>",
        escape(value),
        escape(label)
    );
}

/// Counts by rule: severity, status, open and waived findings.
fn rule_table(out: &mut String, report: &Report) {
    out.push_str(
        "<table id=\"by-rule\" class=\"counts\"><caption>Findings by rule</caption>\n\
         <thead><tr><th>Rule</th><th>Severity</th><th>Status</th>\
         <th class=\"num\">Open</th><th class=\"num\">Waived</th></tr></thead>\n<tbody>\n",
    );
    for rule in &report.rules {
        let open = rule.open().count();
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#rule-{id}\">{id}</a></td><td>{}</td><td>{}</td>\
             <td class=\"num\">{open}</td><td class=\"num\">{}</td></tr>",
            severity_badge(rule),
            status_badge(rule.status),
            rule.findings.len() - open,
            id = escape(&rule.id),
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

/// Open findings by severity, highest first, every severity listed.
fn severity_table(out: &mut String, report: &Report) {
    out.push_str(
        "<table id=\"by-severity\" class=\"counts\"><caption>Open findings by severity</caption>\n\
         <thead><tr><th>Severity</th><th class=\"num\">Open</th></tr></thead>\n<tbody>\n",
    );
    for (severity, count) in report.summary.open_by_severity.iter().rev() {
        let _ = writeln!(
            out,
            "<tr><td><span class=\"sev sev-{severity}\">{severity}</span></td>\
             <td class=\"num\">{count}</td></tr>"
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

/// Links to the page's sections; only sections with content are listed.
fn toc(out: &mut String, report: &Report) {
    let sections = [
        ("chart", "Findings over time", true),
        ("rules", "Rules", true),
        ("controls", "Controls", !report.controls.is_empty()),
        ("waivers", "Waivers", !report.waivers.is_empty()),
        ("rejected", "Rejected records", !report.rejected.is_empty()),
        ("coverage", "Coverage", !report.coverage.is_empty()),
        ("provenance", "Provenance", true),
    ];
    out.push_str("<nav class=\"toc\">");
    for (id, title, shown) in sections {
        if shown {
            let _ = write!(out, "<a href=\"#{id}\">{title}</a>");
        }
    }
    out.push_str("</nav>\n");
}

/// A status as a coloured badge.
fn status_badge(status: Status) -> String {
    let status = status.as_str();
    format!("<span class=\"badge status-{status}\">{status}</span>")
}

/// A rule's severity as a badge, or a dash when it is unknown.
fn severity_badge(rule: &RuleReport) -> String {
    rule.severity.map_or("-".to_string(), |s| {
        format!("<span class=\"sev sev-{s}\">{s}</span>")
    })
}

/// A section per rule, each with an empty findings table the script fills.
fn rules(out: &mut String, report: &Report) {
    out.push_str("<section id=\"rules\">\n<h2>Rules</h2>\n");
    if report.rules.iter().any(|r| !r.findings.is_empty()) {
        out.push_str(
            "<noscript><p class=\"note\">The findings tables need JavaScript. The same \
             findings are in the JSON and CSV formats (<code>--format json</code>, \
             <code>--format csv</code>).</p></noscript>\n",
        );
    }
    for (index, rule) in report.rules.iter().enumerate() {
        rule_section(out, index, rule);
    }
    out.push_str("</section>\n");
}

/// One rule: what it checks, how it fared, and its findings.
fn rule_section(out: &mut String, index: usize, rule: &RuleReport) {
    let id = escape(&rule.id);
    let _ = writeln!(
        out,
        "<section class=\"rule\" id=\"rule-{id}\" data-rule=\"{id}\">\n\
         <h3><span class=\"rule-id\">{id}</span> {} {}</h3>",
        status_badge(rule.status),
        severity_badge(rule)
    );
    if !rule.controls.is_empty() {
        let controls: Vec<String> = rule.controls.iter().map(|c| escape(c)).collect();
        let _ = writeln!(
            out,
            "<p class=\"controls\">Controls: {}</p>",
            controls.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "<blockquote class=\"commitment\">{}</blockquote>",
        escape(&rule.commitment)
    );
    if let Some(description) = &rule.description {
        let _ = writeln!(out, "<p class=\"description\">{}</p>", escape(description));
    }
    if let Some(error) = &rule.error {
        let _ = writeln!(
            out,
            "<p>The rule could not finish:</p>\n<pre class=\"error\">{}</pre>",
            escape(error)
        );
    }
    if !rule.unassessable.is_empty() {
        let _ = writeln!(
            out,
            "<details class=\"unassessable\" open><summary>Not assessable from this log: {}</summary>\n\
             <table><thead><tr><th>Subject</th><th>Why</th></tr></thead><tbody>",
            plural(rule.unassessable.len() as u64, "subject")
        );
        for item in &rule.unassessable {
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td></tr>",
                escape(&item.subject),
                escape(&item.reason)
            );
        }
        out.push_str("</tbody></table></details>\n");
    }
    if rule.findings.is_empty() {
        if rule.error.is_none() {
            out.push_str("<p class=\"no-findings\">No findings.</p>\n");
        }
        out.push_str("</section>\n");
        return;
    }
    let open = rule.open().count() as u64;
    let total = rule.findings.len() as u64;
    let _ = writeln!(
        out,
        "<p class=\"finding-count\">{}: {open} open, {} waived.</p>",
        plural(total, "finding"),
        total - open
    );
    let _ = writeln!(
        out,
        "<div class=\"pager\" hidden><input type=\"search\" class=\"filter\" \
         placeholder=\"Filter findings\" aria-label=\"Filter the findings of {id}\">\
         <button type=\"button\" class=\"prev\">Previous</button>\
         <span class=\"pager-label\" aria-live=\"polite\"></span>\
         <button type=\"button\" class=\"next\">Next</button></div>\n\
         <table class=\"findings\" data-index=\"{index}\"><thead><tr><th>Event</th>\
         <th>Time</th><th>Location</th><th>Finding</th><th>Waived by</th></tr></thead>\
         <tbody></tbody></table>\n</section>"
    );
}

/// Each control with its status, the rules supporting it, and their open
/// findings.
fn controls(out: &mut String, report: &Report) {
    if report.controls.is_empty() {
        return;
    }
    out.push_str(
        "<section id=\"controls\">\n<h2>Controls</h2>\n<table class=\"controls\">\
         <thead><tr><th>Control</th><th>Status</th><th>Rules</th><th class=\"num\">Open</th>\
         </tr></thead>\n<tbody>\n",
    );
    for control in &report.controls {
        let rules: Vec<String> = control
            .rules
            .iter()
            .map(|r| format!("<a href=\"#rule-{id}\">{id}</a>", id = escape(r)))
            .collect();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            escape(&control.id),
            status_badge(control.status),
            rules.join(", "),
            control.open
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

/// Every waiver in force and what became of it.
fn waivers(out: &mut String, report: &Report) {
    if report.waivers.is_empty() {
        return;
    }
    out.push_str(
        "<section id=\"waivers\">\n<h2>Waivers</h2>\n<table class=\"waivers\">\
         <thead><tr><th>Waiver</th><th>Rule</th><th>Status</th><th class=\"num\">Findings</th>\
         <th>Expires</th><th>Approver</th><th>Reason</th><th>Applies to</th></tr></thead>\n\
         <tbody>\n",
    );
    for entry in &report.waivers {
        let w = &entry.waiver;
        let status = match entry.status {
            WaiverStatus::Active => "active",
            WaiverStatus::Expired => "expired",
            WaiverStatus::Stale => "stale",
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td><a href=\"#rule-{rule}\">{rule}</a></td>\
             <td><span class=\"badge waiver-{status}\">{status}</span></td>\
             <td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&w.id),
            entry.findings,
            escape(&w.expires),
            escape(&w.approver),
            escape(&w.reason),
            escape(&waiver_scope(entry)),
            rule = escape(&w.rule),
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

/// What a waiver selects, in words: "tenants: a, b; from 2026-03-01".
fn waiver_scope(entry: &crate::report::WaiverReport) -> String {
    let w = &entry.waiver;
    let mut parts = Vec::new();
    for (name, values) in [
        ("events", &w.event_ids),
        ("data", &w.data_ids),
        ("tenants", &w.tenants),
    ] {
        if !values.is_empty() {
            parts.push(format!("{name}: {}", values.join(", ")));
        }
    }
    if let Some(from) = w.from {
        parts.push(format!("from {from}"));
    }
    if let Some(until) = w.until {
        parts.push(format!("until {until}"));
    }
    if parts.is_empty() {
        "every finding of the rule".to_string()
    } else {
        parts.join("; ")
    }
}

/// Records that were not valid events, up to [`MAX_REJECTED_ROWS`].
fn rejected(out: &mut String, report: &Report) {
    if report.rejected.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<section id=\"rejected\">\n<h2>Rejected records</h2>\n<p>{} not checked.</p>",
        plural(report.rejected.len() as u64, "record")
    );
    out.push_str(
        "<table class=\"rejected\"><thead><tr><th>Location</th><th>Reason</th></tr></thead>\n\
         <tbody>\n",
    );
    for rejection in report.rejected.iter().take(MAX_REJECTED_ROWS) {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(&rejection.location),
            escape(&rejection.reason)
        );
    }
    out.push_str("</tbody>\n</table>\n");
    if report.rejected.len() > MAX_REJECTED_ROWS {
        let _ = writeln!(
            out,
            "<p class=\"note\">The first {MAX_REJECTED_ROWS} are listed; the JSON format \
             lists all {}.</p>",
            report.rejected.len()
        );
    }
    out.push_str("</section>\n");
}

/// Every paragraph of the policy's source document, with the rules that
/// check it or why logs cannot show it.
fn coverage(out: &mut String, report: &Report) {
    if report.coverage.is_empty() {
        return;
    }
    let checked = report
        .coverage
        .iter()
        .filter(|c| !c.rules.is_empty())
        .count();
    let _ = writeln!(
        out,
        "<section id=\"coverage\">\n<h2>Coverage of the source document</h2>\n\
         <p>{checked} of {} paragraphs are checked by rules; the rest say why logs cannot \
         show them.</p>",
        report.coverage.len()
    );
    out.push_str(
        "<table class=\"coverage\"><thead><tr><th>Paragraph</th><th>Checked by</th>\
         <th>Note</th></tr></thead>\n<tbody>\n",
    );
    for paragraph in &report.coverage {
        let rules: Vec<String> = paragraph
            .rules
            .iter()
            .map(|r| format!("<a href=\"#rule-{id}\">{id}</a>", id = escape(r)))
            .collect();
        let class = if paragraph.rules.is_empty() {
            "unchecked"
        } else {
            "checked"
        };
        let _ = writeln!(
            out,
            "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&paragraph.text),
            rules.join(", "),
            escape(paragraph.note.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

/// What produced the report: Covenant, the policy, each input and each
/// rule's plugin, with digests.
fn provenance(out: &mut String, report: &Report) {
    let policy = &report.policy;
    let _ = writeln!(
        out,
        "<section id=\"provenance\">\n<h2>Provenance</h2>\n<dl class=\"facts\">\
         <dt>Covenant</dt><dd>{}</dd><dt>Report schema</dt><dd><code>{}</code></dd>\
         <dt>Policy</dt><dd>{}</dd><dt>Policy source</dt><dd><code>{}</code></dd>\
         <dt>Policy sha256</dt><dd><code>{}</code></dd>",
        escape(&report.covenant_version),
        escape(&report.schema),
        escape(&policy.title),
        escape(&policy.source),
        escape(&policy.sha256)
    );
    if let Some(document) = &policy.document {
        let _ = writeln!(out, "<dt>Source document</dt><dd>{}</dd>", escape(document));
    }
    out.push_str("</dl>\n");
    out.push_str(
        "<h3>Inputs</h3>\n<table class=\"inputs\"><thead><tr><th>Input</th><th>Format</th>\
         <th class=\"num\">Events</th><th class=\"num\">Rejected</th><th>sha256</th></tr>\
         </thead>\n<tbody>\n",
    );
    for input in &report.inputs {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td><code>{}</code></td></tr>",
            escape(&input.name),
            escape(input.format.as_str()),
            input.events,
            input.rejected,
            escape(&input.sha256)
        );
    }
    out.push_str(
        "</tbody>\n</table>\n<h3>Plugins</h3>\n<table class=\"plugins\"><thead><tr>\
         <th>Rule</th><th>Source</th><th>Plugin</th><th>Version</th><th>sha256</th></tr>\
         </thead>\n<tbody>\n",
    );
    for rule in &report.rules {
        let plugin = &rule.plugin;
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            escape(&rule.id),
            escape(&plugin.source),
            escape(plugin.name.as_deref().unwrap_or("(not loaded)")),
            escape(plugin.version.as_deref().unwrap_or("-")),
            escape(plugin.sha256.as_deref().unwrap_or("-"))
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

/// The findings the script pages through: per rule (in report order, so a
/// table's `data-index` finds its rows), one array per finding in the
/// table's column order.
#[derive(Serialize)]
struct FindingsData<'a> {
    page: usize,
    rules: Vec<RuleRows<'a>>,
}

/// One rule's findings rows.
#[derive(Serialize)]
struct RuleRows<'a> {
    id: &'a str,
    /// Event id, time, location, message, and the waiver with its reason
    /// (`null` when open).
    rows: Vec<(&'a str, Timestamp, &'a str, &'a str, Option<String>)>,
}

/// Every finding as JSON, made safe to sit inside a `<script>` element:
/// `</` and `<!--` can only occur inside JSON strings, where `<\/` and
/// `<\u0021--` mean the same and cannot end or confuse the element.
fn findings_json(report: &Report) -> String {
    let data = FindingsData {
        page: PAGE_ROWS,
        rules: report
            .rules
            .iter()
            .map(|rule| RuleRows {
                id: &rule.id,
                rows: rule
                    .findings
                    .iter()
                    .map(|f| {
                        let waived = f
                            .waived
                            .as_ref()
                            .map(|w| format!("{}: {}", w.waiver, w.reason));
                        (
                            f.event_id.as_str(),
                            f.time,
                            f.location.as_str(),
                            f.message.as_str(),
                            waived,
                        )
                    })
                    .collect(),
            })
            .collect(),
    };
    let json = serde_json::to_string(&data).expect("findings always serialise");
    json.replace("</", "<\\/").replace("<!--", "<\\u0021--")
}

/// The page's style: system fonts only, nothing fetched. It lives in its
/// own file to be read and edited as CSS; the file's leading blank line is
/// the newline the page has always had after `<style>`.
const STYLE: &str = include_str!("page.css");

/// The page's script: pages and filters each rule's findings from the
/// embedded JSON, building rows with `textContent` only. Like the style,
/// it is a file of its own, leading blank line included.
const SCRIPT: &str = include_str!("page.js");

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::events::InputSummary;
    use crate::policy::Severity;
    use crate::report::{FindingReport, PluginProvenance, PolicyProvenance, Summary, Waived};

    const HOSTILE: &str = "</script><script>alert(1)</script><!--<img src=x onerror=alert(2)>\"'&";

    /// An instant `seconds` after the epoch. These fixtures are shared with
    /// the chart's tests, which draw the same kind of report.
    pub(super) fn time(seconds: i64) -> Timestamp {
        Timestamp { seconds, nanos: 0 }
    }

    /// An open finding of `event` at `seconds`.
    pub(super) fn finding(event: &str, seconds: i64, message: &str) -> FindingReport {
        FindingReport {
            event_id: event.to_string(),
            time: time(seconds),
            location: format!("log.jsonl:{seconds}"),
            file: "log.jsonl".to_string(),
            line: Some(1),
            element: None,
            tenant: None,
            data_id: None,
            message: message.to_string(),
            waived: None,
        }
    }

    /// A rule that fails exactly when it has `findings`.
    pub(super) fn rule(id: &str, findings: Vec<FindingReport>) -> RuleReport {
        RuleReport {
            id: id.to_string(),
            status: if findings.is_empty() {
                Status::Pass
            } else {
                Status::Fail
            },
            error: None,
            severity: Some(Severity::High),
            controls: vec!["GDPR Art. 5".to_string()],
            commitment: format!("commitment of {id}"),
            description: Some(format!("description of {id}")),
            plugin: PluginProvenance {
                source: format!("builtin:{id}"),
                name: Some(id.to_string()),
                version: Some("0.1.0".to_string()),
                sha256: Some("ab".repeat(32)),
                reads: None,
            },
            findings,
            unassessable: Vec::new(),
        }
    }

    /// A report of `rules`, its summary left at zero.
    pub(super) fn report(rules: Vec<RuleReport>) -> Report {
        Report {
            schema: crate::report::SCHEMA.to_string(),
            covenant_version: "0.1.0".to_string(),
            as_of: Some(time(86_400 * 20)),
            summary: Summary {
                read: 0,
                events: 0,
                rejected: 0,
                findings: 0,
                open: 0,
                waived: 0,
                unassessable: 0,
                open_by_severity: Severity::ALL
                    .iter()
                    .map(|&s| (s, 0))
                    .collect::<BTreeMap<_, _>>(),
                compliant: false,
                rules_passed: 0,
                rules_failed: 0,
                rules_errored: 0,
                waivers_expired: 0,
                waivers_stale: 0,
            },
            policy: PolicyProvenance {
                title: "Test policy".to_string(),
                document: None,
                source: "policy.toml".to_string(),
                sha256: "cd".repeat(32),
            },
            inputs: vec![InputSummary {
                name: "log.jsonl".to_string(),
                format: crate::events::InputFormat::Jsonl,
                events: 3,
                rejected: 0,
                sha256: "ef".repeat(32),
                mapping: None,
                skipped: 0,
                folded: 0,
            }],
            rejected: Vec::new(),
            rules,
            controls: Vec::new(),
            waivers: Vec::new(),
            coverage: Vec::new(),
            redacted: Vec::new(),
            chain: None,
        }
    }

    #[test]
    fn escape_replaces_every_special_character() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn hostile_text_is_escaped_everywhere() {
        let mut hostile = finding(HOSTILE, 100, HOSTILE);
        hostile.location = HOSTILE.to_string();
        hostile.waived = Some(Waived {
            waiver: HOSTILE.to_string(),
            reason: HOSTILE.to_string(),
            approver: HOSTILE.to_string(),
            expires: "2030-01-01".to_string(),
        });
        let mut bad = rule(HOSTILE, vec![hostile]);
        bad.commitment = HOSTILE.to_string();
        bad.description = Some(HOSTILE.to_string());
        bad.error = Some(HOSTILE.to_string());
        bad.controls = vec![HOSTILE.to_string()];
        let mut report = report(vec![bad]);
        report.policy.title = HOSTILE.to_string();
        report.redacted = vec![HOSTILE.to_string()];
        let html = render(&report);
        let open = "id=\"findings-data\">";
        let start = html.find(open).unwrap() + open.len();
        let end = start + html[start..].find("</script>").unwrap();
        let (json, markup) = (&html[start..end], [&html[..start], &html[end..]].concat());
        // The JSON can neither end its element nor open a comment in it...
        assert!(!json.contains("</") && !json.contains("<!--"), "{json}");
        // ...and outside it there is only the page's own markup.
        assert_eq!(markup.matches("<script").count(), 2, "{markup}");
        assert_eq!(markup.matches("</script>").count(), 2);
        assert!(!markup.contains("<img") && !markup.contains("<!--"));
        assert!(markup.contains("&lt;/script&gt;&lt;script&gt;alert(1)"));
        // The JSON still says exactly what the report says.
        let data: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(data["rules"][0]["id"], HOSTILE);
        assert_eq!(data["rules"][0]["rows"][0][3], HOSTILE);
    }

    #[test]
    fn the_page_fetches_nothing() {
        let html = render(&report(vec![rule("a", vec![finding("e1", 5, "m")])]));
        assert!(html.contains(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"
        ));
        for attribute in ["src=", "href=\"http", "href=\"//", "url("] {
            assert!(!html.contains(attribute), "{attribute}");
        }
    }

    #[test]
    fn the_same_report_gives_the_same_bytes() {
        let report = report(vec![rule("a", vec![finding("e1", 5, "m")])]);
        assert_eq!(render(&report), render(&report));
    }
}
