//! Rendering a [`Report`]: one module per format, each a pure function
//! from the report to text, so the same report gives the same bytes.

mod csv;
mod html;
mod junit;
mod markdown;
mod sarif;
mod text;

use crate::report::Report;

/// The ways a report can be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For a terminal (`.txt`).
    Text,
    /// For machines: the `covenant/report/v1` schema (`.json`).
    Json,
    /// For people: headings and tables, to paste into a ticket or a wiki
    /// (`.md`).
    Markdown,
    /// For people: one self-contained page with a chart (`.html`).
    Html,
    /// For code-scanning tools: SARIF 2.1.0 (`.sarif`).
    Sarif,
    /// For spreadsheets: one row per finding (`.csv`).
    Csv,
    /// For CI test views: JUnit XML, a suite per rule (`.xml`).
    Junit,
}

impl Format {
    /// The format a file name's extension implies, if any.
    pub fn from_extension(path: &std::path::Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            "md" | "markdown" => Some(Format::Markdown),
            "txt" => Some(Format::Text),
            "html" | "htm" => Some(Format::Html),
            "sarif" => Some(Format::Sarif),
            "csv" => Some(Format::Csv),
            "xml" => Some(Format::Junit),
            _ => None,
        }
    }

    /// Renders `report` in this format. `colour` asks for ANSI colour,
    /// which only the text format uses.
    pub fn render(self, report: &Report, colour: bool) -> String {
        match self {
            Format::Json => {
                let mut json =
                    serde_json::to_string_pretty(report).expect("a report always serialises");
                json.push('\n');
                json
            }
            Format::Markdown => markdown::render(report),
            Format::Text => text::render(report, colour),
            Format::Html => html::render(report),
            Format::Sarif => sarif::render(report),
            Format::Csv => csv::render(report),
            Format::Junit => junit::render(report),
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

/// "Open: 1 critical, 2 medium", or nothing when no finding is open.
fn severity_line(report: &Report) -> Option<String> {
    let counts: Vec<String> = report
        .summary
        .open_by_severity
        .iter()
        .rev()
        .filter(|(_, count)| **count > 0)
        .map(|(severity, count)| format!("{count} {severity}"))
        .collect();
    (!counts.is_empty()).then(|| format!("Open findings by severity: {}", counts.join(", ")))
}

/// The one-line verdict the human formats open with.
pub fn verdict(report: &Report) -> String {
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
    let waived = match s.waived {
        0 => String::new(),
        n => format!(" (and {n} waived)"),
    };
    let unassessable = match s.unassessable {
        0 => String::new(),
        n => format!("; {} the log cannot show either way", plural(n, "subject")),
    };
    format!(
        "{state}: {}{waived} from {}{rejected} in {}, {as_of}{unassessable}",
        plural(s.open, "open finding"),
        plural(s.events, "event"),
        plural(report.rules.len() as u64, "rule")
    )
}
