//! Broken and hostile logs: every bad record is named with its place and
//! reason, either as the run's error or, under `--skip-invalid`, in the
//! report, and never dropped silently.

use std::path::PathBuf;

use covenant::evaluate::audit::Audit;
use covenant::policy::Policy;
use covenant::report::Format;

const GOOD: &str = r#"{"id":"ok-1","time":"2026-01-01T00:00:00Z","action":"store","tenant":"a","data":{"id":"d","tenant":"a"}}"#;

/// A log with one of each kind of bad record between good ones.
fn hostile_log() -> Vec<u8> {
    let mut log = Vec::new();
    log.extend_from_slice(b"\xEF\xBB\xBF");
    log.extend_from_slice(GOOD.as_bytes());
    log.extend_from_slice(b"\r\n");
    log.extend_from_slice(b"{\"id\": \"truncated\", \"time\n");
    log.extend_from_slice(b"\xc3\x28\n");
    log.extend_from_slice(
        br#"{"id":"n","time":"2026-01-01T00:00:00Z","action":"access","tenant":42}"#,
    );
    log.push(b'\n');
    log.extend_from_slice(br#"{"id":"t","time":"2026-02-30T00:00:00Z","action":"access"}"#);
    log.push(b'\n');
    log.extend_from_slice(format!("{}{}\n", "[".repeat(5000), "]".repeat(5000)).as_bytes());
    log.extend_from_slice(format!("{{\"pad\":\"{}\"}}\n", "x".repeat(50 << 20)).as_bytes());
    log.extend_from_slice(GOOD.as_bytes());
    log.push(b'\n');
    log.extend_from_slice(br#"{"id":"leap","time":"2016-12-31T23:59:60+01:00","action":"access","tenant":"a","data":{"id":"d","tenant":"a"}}"#);
    log.push(b'\n');
    log.extend_from_slice(br#"{"id":"late","time":"2026-01-01T00:00"#);
    log
}

fn write_log(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("hostile.jsonl");
    std::fs::write(&path, hostile_log()).unwrap();
    path
}

#[test]
fn without_skip_invalid_the_first_bad_record_is_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path());
    let error = Audit::new(Policy::builtin().unwrap(), vec![log.clone()])
        .run()
        .unwrap_err();
    let expected = format!("{}:2: malformed JSON: ", log.display());
    assert!(format!("{error:#}").starts_with(&expected), "{error:#}");
}

#[test]
fn skip_invalid_lists_every_bad_record_and_checks_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path());
    let mut audit = Audit::new(Policy::builtin().unwrap(), vec![log.clone()]);
    audit.skip_invalid = true;
    let report = audit.run().unwrap();
    let name = log.display().to_string();
    let rejected: Vec<(String, String)> = report
        .rejected
        .iter()
        .map(|r| {
            (
                r.location.replace(&name, "log"),
                r.reason.chars().take(60).collect(),
            )
        })
        .collect();
    let reasons: Vec<(&str, &str)> = rejected
        .iter()
        .map(|(l, r)| (l.as_str(), r.as_str()))
        .collect();
    assert_eq!(reasons.len(), 8, "{reasons:#?}");
    assert!(
        reasons[0].0 == "log:2" && reasons[0].1.starts_with("malformed JSON: "),
        "{:?}",
        reasons[0]
    );
    assert_eq!(reasons[1], ("log:3", "not valid UTF-8 (at byte 1)"));
    assert_eq!(
        reasons[2],
        ("log:4", "field `tenant`: expected a string, found a number")
    );
    assert!(
        reasons[3].0 == "log:5" && reasons[3].1.starts_with("field `time`: `2026-02-30"),
        "{:?}",
        reasons[3]
    );
    assert!(
        reasons[4].0 == "log:6" && reasons[4].1.contains("recursion limit"),
        "{:?}",
        reasons[4]
    );
    assert_eq!(reasons[5], ("log:7", "line is longer than the 1 MiB limit"));
    assert!(
        reasons[6].0 == "log:8"
            && reasons[6]
                .1
                .starts_with("field `id`: duplicate event id `ok-1` (first seen at line 1)")
    );
    assert!(
        reasons[7].0 == "log:10" && reasons[7].1.starts_with("malformed JSON: "),
        "{:?}",
        reasons[7]
    );
    assert_eq!(
        (
            report.summary.read,
            report.summary.events,
            report.summary.rejected
        ),
        (10, 2, 8)
    );
    assert_eq!(report.inputs[0].rejected, 8);
    let text = Format::Text.render(&report, false);
    assert!(
        text.contains("(8 records rejected as invalid and not checked)"),
        "{text}"
    );
}

#[test]
fn an_empty_file_is_an_empty_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("empty.jsonl");
    std::fs::write(&log, b"").unwrap();
    let report = Audit::new(Policy::builtin().unwrap(), vec![log])
        .run()
        .unwrap();
    assert_eq!(report.summary.events, 0);
    assert!(report.summary.compliant);
    assert_eq!(report.as_of, None);
}
