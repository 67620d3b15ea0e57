//! The command line's contract: exit codes, output files and errors on bad
//! input, exercised in-process through `covenant::cli::run_from`.

use std::path::Path;

use covenant::cli::{EXIT_BAD_INPUT, EXIT_COMPLIANT, EXIT_FINDINGS, EXIT_RULE_ERROR, run_from};
use covenant_e2e::{fixture, policy_with_hostile};

fn run(args: &[&str]) -> u8 {
    let mut full = vec!["covenant"];
    full.extend_from_slice(args);
    run_from(full)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

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
