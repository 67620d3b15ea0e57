//! JUnit XML: a test suite per rule, so CI systems list rules as tests.
//!
//! Each suite holds one test case: the commitment the rule checks. Open
//! findings make it a `failure`, a rule that could not finish an `error`;
//! waived findings are listed in `system-out` so they stay visible. Each
//! subject the rule could not assess from the log is a `skipped` case of
//! its own, which CI views neither pass nor fail.

use std::fmt::Write as _;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::plural;
use crate::report::{Report, RuleReport, Status};

pub(super) fn render(report: &Report) -> String {
    let mut xml = Writer::new_with_indent(Vec::new(), b' ', 2);
    emit(
        &mut xml,
        Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)),
    );
    let count = |status| report.rules.iter().filter(|r| r.status == status).count();
    let skipped = report.summary.unassessable as usize;
    let mut suites = BytesStart::new("testsuites");
    suites.push_attribute((
        "name",
        format!("Covenant: {}", report.policy.title).as_str(),
    ));
    let tests = report.rules.len() + skipped;
    suites.push_attribute(("tests", tests.to_string().as_str()));
    suites.push_attribute(("failures", count(Status::Fail).to_string().as_str()));
    suites.push_attribute(("errors", count(Status::Error).to_string().as_str()));
    if skipped > 0 {
        suites.push_attribute(("skipped", skipped.to_string().as_str()));
    }
    emit(&mut xml, Event::Start(suites));
    for rule in &report.rules {
        suite(&mut xml, rule);
    }
    emit(&mut xml, Event::End(BytesEnd::new("testsuites")));
    let mut out = String::from_utf8(xml.into_inner()).expect("the XML writer emits UTF-8");
    out.push('\n');
    out
}

/// Writes one XML event to an in-memory document.
fn emit(xml: &mut Writer<Vec<u8>>, event: Event<'_>) {
    xml.write_event(event)
        .expect("writing to memory cannot fail");
}

/// One rule as a test suite holding its commitment as a test case.
fn suite(xml: &mut Writer<Vec<u8>>, rule: &RuleReport) {
    let flag = |status| if rule.status == status { "1" } else { "0" };
    let mut start = BytesStart::new("testsuite");
    let skipped = rule.unassessable.len();
    start.push_attribute(("name", rule.id.as_str()));
    start.push_attribute(("tests", (1 + skipped).to_string().as_str()));
    start.push_attribute(("failures", flag(Status::Fail)));
    start.push_attribute(("errors", flag(Status::Error)));
    start.push_attribute(("skipped", skipped.to_string().as_str()));
    let mut properties = vec![(
        "severity",
        rule.severity.map_or("unknown", |s| s.as_str()).to_string(),
    )];
    properties.extend(rule.controls.iter().map(|c| ("control", c.clone())));
    properties.push(("plugin", rule.plugin.source.clone()));
    if let Some(digest) = &rule.plugin.sha256 {
        properties.push(("plugin-sha256", digest.clone()));
    }
    emit(xml, Event::Start(start));
    emit(xml, Event::Start(BytesStart::new("properties")));
    for (name, value) in &properties {
        let mut property = BytesStart::new("property");
        property.push_attribute(("name", *name));
        property.push_attribute(("value", value.as_str()));
        emit(xml, Event::Empty(property));
    }
    emit(xml, Event::End(BytesEnd::new("properties")));

    let mut case = BytesStart::new("testcase");
    case.push_attribute(("name", rule.commitment.as_str()));
    case.push_attribute(("classname", format!("covenant.{}", rule.id).as_str()));
    emit(xml, Event::Start(case));
    let open: Vec<_> = rule.open().collect();
    if let Some(error) = &rule.error {
        let mut start = BytesStart::new("error");
        start.push_attribute(("message", error.as_str()));
        start.push_attribute(("type", "rule-error"));
        emit(xml, Event::Empty(start));
    }
    if !open.is_empty() {
        let mut text = String::new();
        for finding in &open {
            let _ = writeln!(
                text,
                "{} {} {}: {}",
                finding.time, finding.event_id, finding.location, finding.message
            );
        }
        let mut start = BytesStart::new("failure");
        let message = format!("{} open", plural(open.len() as u64, "finding"));
        start.push_attribute(("message", message.as_str()));
        start.push_attribute(("type", rule.severity.map_or("unknown", |s| s.as_str())));
        emit(xml, Event::Start(start));
        emit(xml, Event::Text(BytesText::new(&text)));
        emit(xml, Event::End(BytesEnd::new("failure")));
    }
    let waived: Vec<_> = rule
        .findings
        .iter()
        .filter(|f| f.waived.is_some())
        .collect();
    if !waived.is_empty() {
        let mut text = String::new();
        for finding in waived {
            let by = finding.waived.as_ref().expect("filtered on waived");
            let _ = writeln!(
                text,
                "waived by {} ({}): {} {} {}: {}",
                by.waiver,
                by.reason,
                finding.time,
                finding.event_id,
                finding.location,
                finding.message
            );
        }
        emit(xml, Event::Start(BytesStart::new("system-out")));
        emit(xml, Event::Text(BytesText::new(&text)));
        emit(xml, Event::End(BytesEnd::new("system-out")));
    }
    emit(xml, Event::End(BytesEnd::new("testcase")));
    for item in &rule.unassessable {
        let mut case = BytesStart::new("testcase");
        let name = format!("not assessable from this log: {}", item.subject);
        case.push_attribute(("name", name.as_str()));
        case.push_attribute(("classname", format!("covenant.{}", rule.id).as_str()));
        emit(xml, Event::Start(case));
        let mut skipped = BytesStart::new("skipped");
        skipped.push_attribute(("message", item.reason.as_str()));
        emit(xml, Event::Empty(skipped));
        emit(xml, Event::End(BytesEnd::new("testcase")));
    }
    emit(xml, Event::End(BytesEnd::new("testsuite")));
}
