//! CSV: one row per finding, for spreadsheets and ad-hoc analysis, and one
//! per subject a rule could not assess (status `not-assessable`, with the
//! subject and, as the message, why).

use crate::report::Report;

/// The header row; also the order of every row's fields.
const COLUMNS: [&str; 15] = [
    "rule",
    "severity",
    "status",
    "event_id",
    "time",
    "file",
    "line",
    "element",
    "tenant",
    "data_id",
    "message",
    "waiver",
    "waiver_reason",
    "controls",
    "subject",
];

/// Neutralises a cell a spreadsheet would run as a formula. Messages come
/// from plugins nobody has to trust, so `=HYPERLINK(...)` must arrive as
/// text: a leading `'` is the convention spreadsheets honour.
fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

pub(super) fn render(report: &Report) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(COLUMNS)
        .expect("writing to memory cannot fail");
    for rule in &report.rules {
        let severity = rule.severity.map(|s| s.as_str()).unwrap_or("");
        let controls = rule.controls.join("; ");
        for finding in &rule.findings {
            let number = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
            let (status, waiver, reason) = match &finding.waived {
                Some(waived) => ("waived", waived.waiver.as_str(), waived.reason.as_str()),
                None => ("open", "", ""),
            };
            writer
                .write_record([
                    &rule.id,
                    severity,
                    status,
                    &cell(&finding.event_id),
                    &finding.time.to_rfc3339(),
                    &cell(&finding.file),
                    &number(finding.line),
                    &number(finding.element),
                    &cell(finding.tenant.as_deref().unwrap_or("")),
                    &cell(finding.data_id.as_deref().unwrap_or("")),
                    &cell(&finding.message),
                    &cell(waiver),
                    &cell(reason),
                    &cell(&controls),
                    "",
                ])
                .expect("writing to memory cannot fail");
        }
        for item in &rule.unassessable {
            // No event, so its columns are empty; the reason is the message.
            writer
                .write_record([
                    rule.id.as_str(),
                    severity,
                    "not-assessable",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    &cell(&item.reason),
                    "",
                    "",
                    &cell(&controls),
                    &cell(&item.subject),
                ])
                .expect("writing to memory cannot fail");
        }
    }
    let bytes = writer.into_inner().expect("writing to memory cannot fail");
    String::from_utf8(bytes).expect("every field is UTF-8")
}
