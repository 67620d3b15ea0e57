//! A log on standard input gives the report the same log in a file gives,
//! in time order or not, when it is many of the reader's blocks long: the
//! copy standard input is read again from must hold all of it, not only
//! what the first, abandoned attempt read.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs `covenant report --format json -o OUT LOG` in `dir`, with `stdin`
/// piped in when given; returns the report.
fn report(dir: &Path, log: &str, stdin: Option<&[u8]>, out: &str) -> serde_json::Value {
    let mut child = Command::new(env!("CARGO_BIN_EXE_covenant"))
        .current_dir(dir)
        .args(["report", "--quiet", "--format", "json", "-o", out, log])
        .env("COVENANT_CACHE_DIR", dir.join("cache"))
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the covenant binary runs");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let bytes = bytes.to_vec();
        std::thread::spawn(move || pipe.write_all(&bytes));
    }
    let output = child.wait_with_output().unwrap();
    let code = output.status.code();
    assert!(
        code == Some(0) || code == Some(1),
        "exit {code:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&std::fs::read(dir.join(out)).unwrap()).unwrap()
}

/// What must not depend on where the log came from: the summary and each
/// rule's findings, by event.
fn verdicts(report: &serde_json::Value) -> (serde_json::Value, Vec<(String, Vec<String>)>) {
    let rules = report["rules"].as_array().unwrap();
    let findings = rules
        .iter()
        .map(|rule| {
            let ids = rule["findings"].as_array().unwrap();
            let ids = ids
                .iter()
                .map(|f| f["event_id"].as_str().unwrap().to_string());
            (rule["id"].as_str().unwrap().to_string(), ids.collect())
        })
        .collect();
    (report["summary"].clone(), findings)
}

#[test]
fn standard_input_reads_as_the_same_log_in_a_file_in_order_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_covenant"))
        .current_dir(dir.path())
        .args([
            "generate",
            "--events",
            "20000",
            "--seed",
            "3",
            "--violation-rate",
            "0.01",
            "-o",
            "log.jsonl",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let ordered = std::fs::read(dir.path().join("log.jsonl")).unwrap();
    assert!(ordered.len() > 4 * (256 << 10), "the log spans many blocks");
    let mut lines: Vec<&[u8]> = ordered
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    lines.reverse();
    let reversed = lines.join(&b'\n');

    let from_file = verdicts(&report(dir.path(), "log.jsonl", None, "file.json"));
    assert!(
        from_file.0["findings"].as_u64().unwrap() > 0,
        "{:?}",
        from_file.0
    );
    for (name, bytes) in [("ordered", &ordered), ("reversed", &reversed)] {
        let from_stdin = verdicts(&report(dir.path(), "-", Some(bytes), "stdin.json"));
        assert_eq!(from_stdin, from_file, "standard input, {name}");
    }
}
