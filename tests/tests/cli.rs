//! The command line's contract: exit codes, output files and errors on bad
//! input, exercised in-process through `covenant::cli::run_from`.

use covenant::cli::{EXIT_BAD_INPUT, EXIT_COMPLIANT, EXIT_FINDINGS, EXIT_RULE_ERROR};
use covenant_e2e::{arg as path, fixture, policy_with_hostile, run_cli as run};

#[test]
fn exit_codes_follow_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    assert_eq!(
        run(&[
            "report",
            "-o",
            path(&out),
            path(&fixture("compliant.jsonl"))
        ]),
        EXIT_COMPLIANT
    );
    assert_eq!(
        run(&[
            "report",
            "-o",
            path(&out),
            path(&fixture("retention.jsonl"))
        ]),
        EXIT_FINDINGS
    );
    assert_eq!(
        run(&["report", "-o", path(&out), "no-such-file.jsonl"]),
        EXIT_BAD_INPUT
    );
    assert_eq!(
        run(&[
            "report",
            "--format",
            "pdf",
            path(&fixture("compliant.jsonl"))
        ]),
        EXIT_BAD_INPUT
    );
    assert_eq!(run(&["report"]), EXIT_BAD_INPUT);
    let policy = policy_with_hostile(dir.path(), "panic-in-observe", "").unwrap();
    let log = fixture("compliant.jsonl");
    let args = [
        "report",
        "--policy",
        path(&policy),
        "-o",
        path(&out),
        path(&log),
    ];
    assert_eq!(run(&args), EXIT_RULE_ERROR);
}

#[test]
fn output_format_follows_the_extension() {
    let dir = tempfile::tempdir().unwrap();
    for (name, starts) in [
        ("r.json", "{"),
        ("r.md", "# Covenant report"),
        ("r.txt", "Covenant report"),
    ] {
        let out = dir.path().join(name);
        run(&[
            "report",
            "-o",
            path(&out),
            path(&fixture("compliant.jsonl")),
        ]);
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.starts_with(starts), "{name}: {text}");
    }
    let json = std::fs::read_to_string(dir.path().join("r.json")).unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["schema"], "covenant/report/v1");
    assert_eq!(value["summary"]["compliant"], true);
}

/// Writes `text` as a log, runs a report over it and returns the exit code
/// and whether a report file appeared.
fn run_on_log(text: &[u8]) -> (u8, bool) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.jsonl");
    std::fs::write(&log, text).unwrap();
    let out = dir.path().join("r.json");
    let code = run(&["report", "-o", path(&out), path(&log)]);
    (code, out.exists())
}

#[test]
fn bad_input_is_exit_2_and_reports_nothing() {
    let good = r#"{"id":"e1","time":"2026-01-01T00:00:00Z","action":"store"}"#;
    let cases: &[&[u8]] = &[
        b"{not json}\n",
        br#"{"time":"2026-01-01T00:00:00Z","action":"store"}"#,
        br#"{"id":"e1","time":"2026-13-01T00:00:00Z","action":"store"}"#,
        br#"{"id":"e1","time":"2026-01-01T00:00:00Z","action":7}"#,
        b"\xff\n",
    ];
    for case in cases {
        assert_eq!(
            run_on_log(case),
            (EXIT_BAD_INPUT, false),
            "{}",
            String::from_utf8_lossy(case)
        );
    }
    let duplicate = format!("{good}\n{good}\n");
    assert_eq!(run_on_log(duplicate.as_bytes()), (EXIT_BAD_INPUT, false));
}

#[test]
fn as_of_before_the_log_ends_is_refused_and_after_it_counts() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let log = fixture("compliant.jsonl");
    assert_eq!(
        run(&[
            "report",
            "--as-of",
            "2026-05-01T00:00:00Z",
            "-o",
            path(&out),
            path(&log)
        ]),
        EXIT_BAD_INPUT
    );
    assert_eq!(
        run(&[
            "report",
            "--as-of",
            "2026-05-10T00:00:00Z",
            "-o",
            path(&out),
            path(&log)
        ]),
        EXIT_COMPLIANT
    );
    // A later as-of makes undeleted data overdue.
    let retention = fixture("retention.jsonl");
    run(&[
        "report",
        "--as-of",
        "2026-06-01T00:00:00Z",
        "-o",
        path(&out),
        path(&retention),
    ]);
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let retention_findings = value["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "retention")
        .unwrap()["findings"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        retention_findings, 6,
        "calc-cat (due 05-08) and the AI response (due 05-20) become overdue"
    );
}

#[test]
fn several_formats_come_from_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let names = [
        ("r.txt", "Covenant report"),
        ("r.json", "{"),
        ("r.md", "# Covenant report"),
        ("r.html", "<!DOCTYPE html>"),
        ("r.sarif", "{"),
        ("r.csv", "rule,severity,status,event_id"),
        ("r.xml", "<?xml"),
    ];
    let mut args = vec!["report".to_string()];
    for (name, _) in names {
        args.push("-o".into());
        args.push(path(&dir.path().join(name)).into());
    }
    args.push(path(&fixture("retention.jsonl")).into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(run(&args), EXIT_FINDINGS);
    for (name, starts) in names {
        let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
        assert!(
            text.starts_with(starts),
            "{name} starts {:?}",
            text.get(..40)
        );
    }
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.sarif")).unwrap())
            .unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    // Nothing but the reports: no temporary files left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), names.len());
}

#[test]
fn outputs_whose_format_is_unclear_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let log = fixture("compliant.jsonl");
    let txt = dir.path().join("r.txt");
    let pdf = dir.path().join("r.pdf");
    for args in [
        vec!["report", "--format", "json", "-o", path(&txt), path(&log)],
        vec!["report", "-o", path(&pdf), path(&log)],
        vec!["report", "-o", path(&txt), "-o", path(&txt), path(&log)],
        vec!["report", "-o", "-", "-o", "-", path(&log)],
    ] {
        assert_eq!(run(&args), EXIT_BAD_INPUT, "{args:?}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    let json = dir.path().join("r.json");
    let args = ["report", "--format", "json", "-o", path(&json), path(&log)];
    assert_eq!(run(&args), EXIT_COMPLIANT);
}

#[test]
fn fail_on_sets_the_lowest_severity_that_fails() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    // Retention findings are medium; segregation findings are critical.
    let cases = [
        ("retention.jsonl", None, EXIT_FINDINGS),
        ("retention.jsonl", Some("medium"), EXIT_FINDINGS),
        ("retention.jsonl", Some("high"), EXIT_COMPLIANT),
        ("segregation.jsonl", Some("critical"), EXIT_FINDINGS),
        ("compliant.jsonl", Some("info"), EXIT_COMPLIANT),
    ];
    for (log, fail_on, expected) in cases {
        let log = fixture(log);
        let mut args = vec!["report", "-o", path(&out), path(&log)];
        if let Some(level) = fail_on {
            args.extend(["--fail-on", level]);
        }
        assert_eq!(run(&args), expected, "{args:?}");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(report["summary"]["compliant"], true);
    // A finding below --fail-on still makes the report not compliant.
    let log = fixture("retention.jsonl");
    run(&[
        "report",
        "--fail-on",
        "critical",
        "-o",
        path(&out),
        path(&log),
    ]);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(report["summary"]["compliant"], false);
    assert_eq!(report["summary"]["open_by_severity"]["medium"], 4);
    assert_eq!(
        run(&["report", "--fail-on", "severe", path(&log)]),
        EXIT_BAD_INPUT
    );
}

/// Runs the retention fixture with `waivers` (TOML) and returns the exit
/// code and the JSON report.
fn run_with_waivers(waivers: &str, extra: &[&str]) -> (u8, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("waivers.toml");
    std::fs::write(&file, waivers).unwrap();
    let out = dir.path().join("r.json");
    let log = fixture("retention.jsonl");
    let mut args = vec![
        "report",
        "--waivers",
        path(&file),
        "-o",
        path(&out),
        path(&log),
    ];
    args.extend_from_slice(extra);
    let code = run(&args);
    let report = std::fs::read_to_string(&out)
        .map(|text| serde_json::from_str(&text).unwrap())
        .unwrap_or(serde_json::Value::Null);
    (code, report)
}

const WAIVE_RETENTION: &str = "[[waiver]]\nid = \"W-1\"\nrule = \"retention\"\n\
    reason = \"legal hold\"\napprover = \"dpo@example.com\"\n";

#[test]
fn waived_findings_stay_in_the_report_and_stop_counting() {
    let (code, report) = run_with_waivers(&format!("{WAIVE_RETENTION}expires = 2030-01-01\n"), &[]);
    assert_eq!(code, EXIT_COMPLIANT);
    assert_eq!(report["summary"]["findings"], 4);
    assert_eq!(report["summary"]["waived"], 4);
    assert_eq!(report["summary"]["open"], 0);
    let retention = &report["rules"][3];
    assert_eq!(retention["id"], "retention");
    assert_eq!(retention["status"], "pass");
    let waived = &retention["findings"][0]["waived"];
    assert_eq!(waived["waiver"], "W-1");
    assert_eq!(waived["reason"], "legal hold");
    assert_eq!(report["waivers"][0]["status"], "active");
    assert_eq!(report["waivers"][0]["findings"], 4);
}

#[test]
fn an_expired_waiver_stops_waiving_and_is_reported() {
    // The fixture's latest event is in 2026: the report is as of then.
    let (code, report) = run_with_waivers(&format!("{WAIVE_RETENTION}expires = 2026-01-01\n"), &[]);
    assert_eq!(code, EXIT_FINDINGS);
    assert_eq!(report["summary"]["waived"], 0);
    assert_eq!(report["summary"]["waivers_expired"], 1);
    assert_eq!(report["waivers"][0]["status"], "expired");
    assert_eq!(report["waivers"][0]["findings"], 4);
}

#[test]
fn a_waiver_that_matches_nothing_is_reported_stale() {
    let waivers = format!("{WAIVE_RETENTION}expires = 2030-01-01\ntenants = [\"nobody\"]\n");
    let (code, report) = run_with_waivers(&waivers, &[]);
    assert_eq!(code, EXIT_FINDINGS);
    assert_eq!(report["summary"]["waivers_stale"], 1);
    assert_eq!(report["waivers"][0]["status"], "stale");
}

#[test]
fn waivers_without_accountability_are_refused() {
    for bad in [
        // No approver.
        "[[waiver]]\nid = \"W-1\"\nrule = \"retention\"\nreason = \"r\"\nexpires = 2030-01-01\n",
        // No expiry.
        "[[waiver]]\nid = \"W-1\"\nrule = \"retention\"\nreason = \"r\"\napprover = \"a\"\n",
        // A rule the policy does not have.
        "[[waiver]]\nid = \"W-1\"\nrule = \"retension\"\nreason = \"r\"\napprover = \"a\"\nexpires = 2030-01-01\n",
        // An empty file.
        "",
    ] {
        assert_eq!(
            run_with_waivers(bad, &[]),
            (EXIT_BAD_INPUT, serde_json::Value::Null),
            "{bad}"
        );
    }
}

#[test]
fn redaction_hides_identifiers_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let formats = [
        "r.txt", "r.json", "r.md", "r.html", "r.sarif", "r.csv", "r.xml",
    ];
    let mut args = vec!["report".to_string(), "--redact".into()];
    for name in formats {
        args.push("-o".into());
        args.push(path(&dir.path().join(name)).into());
    }
    // The waivers quote data ids and name approvers at the customer.
    args.push("--waivers".into());
    args.push("../examples/waivers.toml".into());
    args.push("../examples/defender-demo.jsonl".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(run(&args), EXIT_FINDINGS);
    let contoso = covenant::policy::redact::Redactor::new(Vec::new(), b"").hash("contoso");
    for name in formats {
        let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
        for identifier in [
            "contoso",
            "fabrikam",
            "alert-9",
            "log-17",
            "engineer-7",
            "sub-contoso",
        ] {
            assert!(
                !text.contains(identifier),
                "{name} still shows {identifier}"
            );
        }
        assert!(
            text.contains(&contoso),
            "{name} lacks the stable hash of contoso"
        );
    }
}

#[test]
fn redaction_needs_fields_named_by_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.toml");
    std::fs::write(
        &policy,
        "[policy]\ntitle = \"t\"\n[[rule]]\nplugin = \"builtin:retention\"\ncommitment = \"c\"\n",
    )
    .unwrap();
    let log = fixture("compliant.jsonl");
    let args = ["report", "--redact", "--policy", path(&policy), path(&log)];
    assert_eq!(run(&args), EXIT_BAD_INPUT);
}

#[test]
fn diff_lists_what_changed_between_two_reports() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.json");
    let new = dir.path().join("new.json");
    let log = fixture("retention.jsonl");
    run(&["report", "-o", path(&old), path(&log)]);
    // A later as-of makes more data overdue: findings appear.
    run(&[
        "report",
        "--as-of",
        "2027-01-01T00:00:00Z",
        "-o",
        path(&new),
        path(&log),
    ]);
    assert_eq!(run(&["diff", path(&old), path(&new)]), EXIT_FINDINGS);
    assert_eq!(run(&["diff", path(&old), path(&old)]), EXIT_COMPLIANT);
    let not_a_report = dir.path().join("x.json");
    std::fs::write(&not_a_report, "{\"schema\": 1}").unwrap();
    assert_eq!(
        run(&["diff", path(&old), path(&not_a_report)]),
        EXIT_BAD_INPUT
    );
    assert_eq!(run(&["diff", path(&old), "missing.json"]), EXIT_BAD_INPUT);

    let old: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&old).unwrap()).unwrap();
    let new: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&new).unwrap()).unwrap();
    let diff = covenant::report::diff::ReportDiff::between(
        &dir.path().join("old.json"),
        &dir.path().join("new.json"),
    )
    .unwrap();
    let count = |r: &serde_json::Value| r["summary"]["findings"].as_u64().unwrap() as usize;
    assert!(!diff.appeared.is_empty());
    assert_eq!(
        count(&old) + diff.appeared.len() - diff.disappeared.len(),
        count(&new)
    );
}

#[test]
fn the_readme_documents_every_exit_code() {
    let readme = std::fs::read_to_string("../README.md").unwrap();
    for (code, meaning) in [
        (EXIT_COMPLIANT, "| 0 |"),
        (EXIT_FINDINGS, "| 1 |"),
        (EXIT_BAD_INPUT, "| 2 |"),
        (EXIT_RULE_ERROR, "| 3 |"),
    ] {
        assert!(readme.contains(meaning), "README lacks exit code {code}");
    }
}

#[test]
fn validate_exits_0_for_a_valid_log_and_2_for_any_invalid_record() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.jsonl");
    let good = r#"{"id":"e1","time":"2026-01-01T00:00:00Z","action":"store"}"#;
    std::fs::write(&log, format!("{good}\n")).unwrap();
    assert_eq!(run(&["validate", path(&log)]), EXIT_COMPLIANT);
    std::fs::write(&log, format!("{good}\n{{not json}}\n")).unwrap();
    assert_eq!(run(&["validate", path(&log)]), EXIT_BAD_INPUT);
    // Listing every invalid record still fails the check.
    assert_eq!(
        run(&["validate", "--skip-invalid", path(&log)]),
        EXIT_BAD_INPUT
    );
    assert_eq!(
        run(&["validate", path(&dir.path().join("missing.jsonl"))]),
        EXIT_BAD_INPUT
    );
}
