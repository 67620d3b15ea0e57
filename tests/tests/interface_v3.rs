//! The host runs `covenant:rule@3.0.0` plugins: frames with only what a
//! rule's projection names, and findings by ordinal, which the host turns
//! back into event ids and refuses when a rule was not sent the event. The
//! plugin is `tests/plugins/frame-rule`, built against `wit/v3` with no
//! SDK, so that it can lie about ordinals as no SDK rule can.

use std::path::{Path, PathBuf};

use covenant::evaluate::audit::Audit;
use covenant::policy::Policy;
use covenant::report::{Format, Report, Status};
use covenant_e2e::test_plugin;

/// Five events: one the rule is not sent (a store), three accesses (two in
/// contoso, one elsewhere), a delete.
const LOG: &str = r#"{"id":"e0","time":"2026-01-01T00:00:00Z","action":"store","tenant":"contoso","data":{"id":"d1","tenant":"contoso"}}
{"id":"e1","time":"2026-01-01T00:00:01Z","action":"access","tenant":"contoso","subscription":"s1","data":{"id":"d1","tenant":"contoso"}}
{"id":"e2","time":"2026-01-01T00:00:02Z","action":"access","tenant":"fabrikam","data":{"id":"d9","tenant":"fabrikam"}}
{"id":"e3","time":"2026-01-01T00:00:03Z","action":"access","tenant":"contoso","subscription":7,"data":{"id":"d1","tenant":"contoso"}}
{"id":"e4","time":"2026-01-01T00:00:04Z","action":"delete","tenant":"contoso","data":{"id":"d1","tenant":"contoso"}}
"#;

/// Runs the built-in rules and the frame rule with `lie` over [`LOG`].
fn run(dir: &Path, lie: &str) -> Report {
    run_in_batches(dir, lie, covenant::evaluate::DEFAULT_BATCH_LEN)
}

/// [`run`], `batch_len` events to a frame.
fn run_in_batches(dir: &Path, lie: &str, batch_len: usize) -> Report {
    std::fs::write(dir.join("frame-rule.wasm"), test_plugin("frame-rule")).unwrap();
    let mut policy = covenant::policy::DEFAULT_POLICY.to_string();
    policy.push_str(&format!(
        "\n[[rule]]\nid = \"frame-rule\"\nplugin = \"frame-rule.wasm\"\ncommitment = \"test\"\n\
         [rule.config]\ntenant = \"contoso\"\nlie = \"{lie}\"\n"
    ));
    std::fs::write(dir.join("policy.toml"), policy).unwrap();
    let log: PathBuf = dir.join("log.jsonl");
    std::fs::write(&log, LOG).unwrap();
    let policy = Policy::load(&dir.join("policy.toml")).unwrap();
    let mut audit = Audit::new(policy, vec![log]);
    audit.batch_len = batch_len;
    audit.run().unwrap()
}

fn frame_rule(report: &Report) -> &covenant::report::RuleReport {
    report.rules.iter().find(|r| r.id == "frame-rule").unwrap()
}

#[test]
fn a_v3_rule_is_sent_what_it_asked_for_and_its_ordinals_become_ids() {
    let dir = tempfile::tempdir().unwrap();
    let report = run(dir.path(), "");
    let rule = frame_rule(&report);
    assert_eq!(rule.status, Status::Fail, "{:?}", rule.error);
    let mut findings: Vec<(&str, &str)> = (rule.findings.iter())
        .map(|f| (f.event_id.as_str(), f.message.as_str()))
        .collect();
    findings.sort();
    assert_eq!(
        findings,
        [
            ("e1", "event e1 accessed data in contoso (subscription s1)"),
            // Named again at the end: an ordinal from an earlier call.
            ("e1", "the first access flagged was event e1"),
            // A subscription that is not a JSON string is not sent.
            (
                "e3",
                "event e3 accessed data in contoso (subscription none)"
            ),
        ]
    );
    // The findings are placed like any rule's.
    let e3 = rule.findings.iter().find(|f| f.event_id == "e3").unwrap();
    assert_eq!(e3.line, Some(4));
    assert_eq!(e3.tenant.as_deref(), Some("contoso"));
}

#[test]
fn the_built_in_rules_beside_the_frame_rule_report_as_they_do_alone() {
    let dir = tempfile::tempdir().unwrap();
    let with_v3 = run(dir.path(), "");
    let log = dir.path().join("log.jsonl");
    let alone = Audit::new(Policy::builtin().unwrap(), vec![log])
        .run()
        .unwrap();
    let json = |report: &Report, skip: &str| -> Vec<String> {
        (report.rules.iter())
            .filter(|r| r.id != skip)
            .map(|r| format!("{} {:?} {:?}", r.id, r.status, r.findings))
            .collect()
    };
    assert_eq!(json(&with_v3, "frame-rule"), json(&alone, ""));
}

#[test]
fn an_ordinal_a_rule_was_not_sent_fails_the_rule_with_it_named() {
    for (lie, want) in [
        (
            "unsent",
            "reported a finding about event 0, which it was not sent (5 events have gone by)",
        ),
        (
            "future",
            "reported a finding about event 1003, which it was not sent",
        ),
        ("twice", "reported event 3 twice in one call"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let report = run(dir.path(), lie);
        let rule = frame_rule(&report);
        assert_eq!(rule.status, Status::Error, "{lie}");
        let error = rule.error.as_deref().unwrap_or_default();
        assert!(error.contains(want), "{lie}: {error}");
        // Nothing the failing call reported is kept.
        assert!(rule.findings.iter().all(|f| f.message != "lie"), "{lie}");
    }
}

#[test]
fn a_subject_a_rule_cannot_assess_is_a_verdict_of_its_own_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let report = run(dir.path(), "unassessable");
    let rule = frame_rule(&report);
    assert_eq!(rule.status, Status::Fail, "{:?}", rule.error);
    assert_eq!(rule.findings.len(), 3, "the findings stand beside it");
    let subjects: Vec<(&str, &str)> = (rule.unassessable.iter())
        .map(|u| (u.subject.as_str(), u.reason.as_str()))
        .collect();
    assert_eq!(subjects, [("s1", "its history starts before the log")]);
    assert_eq!(report.summary.unassessable, 1);
    assert!(
        covenant::report::verdict(&report).ends_with("; 1 subject the log cannot show either way"),
        "{}",
        covenant::report::verdict(&report)
    );
    for format in [
        Format::Text,
        Format::Json,
        Format::Markdown,
        Format::Html,
        Format::Sarif,
        Format::Csv,
        Format::Junit,
    ] {
        let text = format.render(&report, false);
        assert!(
            text.contains("s1") && text.contains("its history starts before the log"),
            "{format:?} leaves it out:\n{text}"
        );
    }
    let sarif: serde_json::Value =
        serde_json::from_str(&Format::Sarif.render(&report, false)).unwrap();
    let invocation = &sarif["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], true, "{invocation}");
    let note = &invocation["toolExecutionNotifications"][0];
    assert_eq!(note["level"], "note", "{note}");
    assert_eq!(note["associatedRule"]["id"], "frame-rule", "{note}");
    let junit = Format::Junit.render(&report, false);
    assert!(
        junit.contains(
            "<testcase name=\"not assessable from this log: s1\" classname=\"covenant.frame-rule\">"
        ) && junit.contains("<skipped message=\"its history starts before the log\"/>"),
        "{junit}"
    );
    let csv = Format::Csv.render(&report, false);
    assert!(
        csv.lines().any(|line| line.starts_with("frame-rule,low,not-assessable,")
            && line.ends_with(",s1")),
        "{csv}"
    );
}

#[test]
fn what_a_v3_rule_reads_is_on_record_in_the_report_and_in_inspect() {
    let dir = tempfile::tempdir().unwrap();
    let report = run(dir.path(), "");
    let reads = frame_rule(&report).plugin.reads.clone().unwrap();
    assert_eq!(reads.fields, ["id", "action", "tenant"]);
    assert_eq!(reads.actions, ["access"]);
    assert_eq!(reads.attributes, ["subscription"]);
    // Every built-in rule (v3, through the SDK) says what it reads too.
    let retention = report.rules.iter().find(|r| r.id == "retention").unwrap();
    let reads = retention.plugin.reads.clone().unwrap();
    assert_eq!(reads.fields, ["id", "action", "data-id", "data-category"]);
    assert!(reads.actions.is_empty());
    let json = serde_json::to_value(&report).unwrap();
    let recorded = (json["rules"].as_array().unwrap().iter())
        .find(|r| r["id"] == "frame-rule")
        .map(|r| r["plugin"]["reads"].clone())
        .unwrap();
    assert_eq!(recorded["actions"], serde_json::json!(["access"]));

    let inspection = covenant::kit::inspect::inspect(
        &covenant::runtime::PluginRuntime::new().unwrap(),
        &covenant::policy::PluginRef::File(dir.path().join("frame-rule.wasm")),
    )
    .unwrap();
    let text = inspection.render();
    assert!(
        text.contains(
            "reads      time, id, action, tenant of access events; attributes subscription"
        ),
        "{text}"
    );
}

#[test]
fn frames_of_two_events_give_what_one_frame_gives() {
    // Three frames: symbols sent in the first are used by the later ones
    // without being sent again, and the finding at the end names an event
    // of the first frame.
    let findings = |batch_len| {
        let dir = tempfile::tempdir().unwrap();
        let report = run_in_batches(dir.path(), "", batch_len);
        let rule = frame_rule(&report);
        assert_eq!(rule.error, None, "batches of {batch_len}");
        let mut found: Vec<(String, String)> = (rule.findings.iter())
            .map(|f| (f.event_id.clone(), f.message.clone()))
            .collect();
        found.sort();
        found
    };
    assert_eq!(findings(2), findings(1000));
    assert_eq!(findings(1), findings(1000));
}
