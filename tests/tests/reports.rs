//! Snapshots of the reports over the fixture logs: each fixture covers one
//! rule's cases, both sides of every boundary, and the snapshot holds
//! exactly the findings the rule defines.

use covenant::evaluate::audit::Audit;
use covenant::policy::Policy;
use covenant::report::{Format, Report, Status};
use covenant_e2e::{fixture, report};

fn rule<'a>(report: &'a Report, id: &str) -> &'a covenant::report::RuleReport {
    report
        .rules
        .iter()
        .find(|r| r.id == id)
        .expect("rule in report")
}

/// The report rendered for a snapshot. Plugin digests are replaced: they
/// change with the compiler, and `plugin_digests_are_the_embedded_bytes`
/// checks them instead.
fn snapshot(format: Format, report: &Report) -> String {
    let mut report = report.clone();
    for rule in &mut report.rules {
        rule.plugin.sha256 = Some("[plugin sha256]".to_string());
    }
    format.render(&report, false)
}

/// Every format, with the name its snapshots carry.
const FORMATS: [(Format, &str); 7] = [
    (Format::Json, "json"),
    (Format::Text, "text"),
    (Format::Markdown, "markdown"),
    (Format::Csv, "csv"),
    (Format::Junit, "junit"),
    (Format::Sarif, "sarif"),
    (Format::Html, "html"),
];

/// The event ids a rule flagged, in report order.
fn flagged(report: &Report, id: &str) -> Vec<String> {
    rule(report, id)
        .findings
        .iter()
        .map(|f| f.event_id.clone())
        .collect()
}

#[test]
fn segregation_fixture() {
    check_fixture("segregation");
}

#[test]
fn ai_training_consent_fixture() {
    check_fixture("ai-training-consent");
}

#[test]
fn advertising_ban_fixture() {
    check_fixture("advertising-ban");
}

#[test]
fn retention_fixture() {
    // Sorted by event time: the late delete and the undeleted items are
    // reported on their creating events.
    check_fixture("retention");
}

#[test]
fn compliant_log_passes_every_rule() {
    let report = report(&[fixture("compliant.jsonl")]).unwrap();
    assert!(report.summary.compliant);
    assert!(report.rules.iter().all(|r| r.status == Status::Pass));
    insta::assert_snapshot!("compliant_markdown", snapshot(Format::Markdown, &report));
}

#[test]
fn shipped_example_in_every_format() {
    let example = std::path::Path::new("../examples/defender-demo.jsonl").to_path_buf();
    let report = report(&[example]).unwrap();
    for (format, name) in FORMATS {
        insta::assert_snapshot!(format!("example_{name}"), snapshot(format, &report));
    }
}

#[test]
fn shipped_example_with_waivers_redacted_in_every_format() {
    let example = std::path::Path::new("../examples/defender-demo.jsonl").to_path_buf();
    let mut audit = Audit::new(Policy::builtin().unwrap(), vec![example]);
    audit.waivers =
        covenant::policy::waivers::load_waivers(std::path::Path::new("../examples/waivers.toml"))
            .unwrap();
    audit.redact_key = Some(Vec::new());
    let report = audit.run().unwrap();
    let status = |id: &str| {
        let waiver = report.waivers.iter().find(|w| w.waiver.id == id).unwrap();
        (waiver.status, waiver.findings)
    };
    use covenant::report::WaiverStatus::*;
    assert_eq!(status("WVR-101"), (Active, 2));
    assert_eq!(status("WVR-087"), (Expired, 1));
    assert_eq!(status("WVR-090"), (Stale, 0));
    for (format, name) in FORMATS {
        let rendered = snapshot(format, &report);
        assert!(!rendered.contains("contoso"), "{name} names a tenant");
        insta::assert_snapshot!(format!("example_waived_redacted_{name}"), rendered);
    }
}

#[test]
fn verdicts_do_not_depend_on_line_or_file_order() {
    let whole = report(&[
        fixture("retention.jsonl"),
        fixture("ai-training-consent.jsonl"),
    ])
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut lines: Vec<String> = ["retention.jsonl", "ai-training-consent.jsonl"]
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(fixture(f))
                .unwrap()
                .lines()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    lines.reverse();
    let (first, second) = lines.split_at(lines.len() / 3);
    std::fs::write(dir.path().join("b.jsonl"), first.join("\n")).unwrap();
    std::fs::write(dir.path().join("a.jsonl"), second.join("\n")).unwrap();
    // Tiny sort runs and batches force spilling, merging and many calls.
    let mut audit = Audit::new(Policy::builtin().unwrap(), vec![dir.path().to_path_buf()]);
    audit.sort_run_len = 3;
    audit.batch_len = 2;
    let shuffled = audit.run().unwrap();
    let rules = |r: &Report| serde_json::to_value(&r.rules).unwrap();
    let without_locations = |mut v: serde_json::Value| {
        for rule in v.as_array_mut().unwrap() {
            for finding in rule["findings"].as_array_mut().unwrap() {
                // Where an event sits in the input changes with the split.
                let finding = finding.as_object_mut().unwrap();
                for key in ["location", "file", "line", "element"] {
                    finding.remove(key);
                }
            }
        }
        v
    };
    assert_eq!(
        without_locations(rules(&whole)),
        without_locations(rules(&shuffled))
    );
    assert_eq!(whole.summary.events, shuffled.summary.events);
}

#[test]
fn same_input_gives_byte_identical_reports() {
    let a = report(&[fixture("segregation.jsonl")]).unwrap();
    let b = report(&[fixture("segregation.jsonl")]).unwrap();
    for (format, name) in FORMATS {
        assert_eq!(format.render(&a, false), format.render(&b, false), "{name}");
    }
}

#[test]
fn plugin_digests_are_the_embedded_bytes() {
    let report = report(&[fixture("compliant.jsonl")]).unwrap();
    for rule in &report.rules {
        let bytes = covenant::policy::builtin::plugin(&rule.id).unwrap();
        assert_eq!(
            rule.plugin.sha256.as_deref(),
            Some(covenant::policy::sha256_hex(bytes).as_str())
        );
    }
}

/// Runs the default policy over one fixture, checks that it flags exactly
/// the events the fixture's expected file names (the file `covenant plugin
/// test` checks the plugin alone against, in tests/tests/plugin_kit.rs),
/// and snapshots the report in every format but HTML (whose page furniture
/// would repeat in every snapshot; the example's HTML snapshots and
/// tests/tests/html.rs cover it).
fn check_fixture(rule: &str) {
    let report = report(&[fixture(&format!("{rule}.jsonl"))]).unwrap();
    let expected: toml::Table = toml::from_str(
        &std::fs::read_to_string(fixture(&format!("{rule}.expected.toml"))).unwrap(),
    )
    .unwrap();
    let expected: Vec<&str> = expected["finding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["event"].as_str().unwrap())
        .collect();
    assert_eq!(flagged(&report, rule), expected);
    for (format, name) in FORMATS {
        if format != Format::Html {
            insta::assert_snapshot!(
                format!("{}_{name}", rule.replace('-', "_")),
                snapshot(format, &report)
            );
        }
    }
}

#[test]
fn personnel_access_fixture() {
    check_fixture("personnel-access");
}

#[test]
fn collection_opt_out_fixture() {
    check_fixture("collection-opt-out");
}

#[test]
fn data_residency_fixture() {
    check_fixture("data-residency");
}

#[test]
fn xdr_sharing_fixture() {
    check_fixture("xdr-sharing");
}

#[test]
fn resource_graph_inactivity_fixture() {
    check_fixture("resource-graph-inactivity");
}

#[test]
fn service_retirement_fixture() {
    check_fixture("service-retirement");
}

#[test]
fn text_is_coloured_only_when_asked() {
    let report = report(&[fixture("retention.jsonl")]).unwrap();
    let plain = Format::Text.render(&report, false);
    let coloured = Format::Text.render(&report, true);
    assert!(!plain.contains('\x1b'));
    assert!(coloured.contains("\x1b[1m\x1b[31mFAIL"), "{coloured}");
    // Colour only decorates: without the escapes, the text is the same.
    let stripped: String = {
        let mut out = String::new();
        let mut rest = coloured.as_str();
        while let Some(start) = rest.find('\x1b') {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('m').unwrap();
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        out
    };
    assert_eq!(stripped, plain);
}
