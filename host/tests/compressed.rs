//! A gzip or zstd log gives the report the plain log gives, byte for byte
//! once the file names agree, in time order or not (so through the sort
//! and every second read); one cut short fails the run, naming the file.

use std::io::Write;
use std::path::Path;

mod common;

use common::{covenant, stderr};

/// The JSON report over `log`, with its name written as `plain`.
fn report(dir: &Path, log: &str, plain: &str) -> String {
    let out = format!("{log}.report.json");
    let run = covenant(
        dir,
        &["report", "--quiet", "--format", "json", "-o", &out, log],
    );
    let code = run.status.code();
    assert!(
        code == Some(0) || code == Some(1),
        "{log}: exit {code:?}: {}",
        stderr(&run)
    );
    std::fs::read_to_string(dir.join(out))
        .unwrap()
        .replace(log, plain)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    out.write_all(bytes).unwrap();
    out.finish().unwrap()
}

#[test]
fn a_compressed_log_reports_as_the_plain_one() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let generated = covenant(
        dir,
        &[
            "generate",
            "--events",
            "20000",
            "--seed",
            "7",
            "--violation-rate",
            "0.01",
            "-o",
            "log.jsonl",
        ],
    );
    assert!(generated.status.success());
    let text = std::fs::read(dir.join("log.jsonl")).unwrap();
    // Reversed, so that the report sorts the log and reads it again.
    let mut lines: Vec<&[u8]> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    lines.reverse();
    let reversed = [lines.join(&b'\n'), b"\n".to_vec()].concat();
    for (plain, bytes) in [("log.jsonl", text), ("reversed.jsonl", reversed)] {
        std::fs::write(dir.join(plain), &bytes).unwrap();
        let want = report(dir, plain, plain);
        assert!(want.contains("\"findings\""), "a report with findings");
        let gz = format!("{plain}.gz");
        // Two members, as a shipper appending to a file writes them.
        let half = bytes.len() / 2;
        let cut = half + bytes[half..].iter().position(|&b| b == b'\n').unwrap() + 1;
        let members = [gzip(&bytes[..cut]), gzip(&bytes[cut..])].concat();
        std::fs::write(dir.join(&gz), members).unwrap();
        assert_eq!(report(dir, &gz, plain), want, "{gz}");
        let zst = format!("{plain}.zst");
        std::fs::write(dir.join(&zst), zstd::encode_all(&bytes[..], 3).unwrap()).unwrap();
        assert_eq!(report(dir, &zst, plain), want, "{zst}");
    }
}

#[test]
fn a_directory_finds_compressed_logs_and_a_cut_one_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let logs = dir.join("logs");
    std::fs::create_dir(&logs).unwrap();
    let line = |id: &str, second: u32| {
        format!(
            r#"{{"id":"{id}","time":"2026-01-01T00:00:{second:02}Z","action":"access","tenant":"t1"}}"#
        ) + "\n"
    };
    std::fs::write(logs.join("a.jsonl.gz"), gzip(line("a", 1).as_bytes())).unwrap();
    let b = zstd::encode_all(line("b", 2).as_bytes(), 1).unwrap();
    std::fs::write(logs.join("b.jsonl.zst"), b).unwrap();
    let validated = covenant(dir, &["validate", "logs"]);
    let stdout = String::from_utf8_lossy(&validated.stdout);
    assert!(validated.status.success(), "{}", stderr(&validated));
    assert!(stdout.starts_with("2 events in 2 inputs"), "{stdout}");

    let many: String = (0..2000).map(|n| line(&format!("c{n}"), 3)).collect();
    let whole = gzip(many.as_bytes());
    std::fs::write(logs.join("c.jsonl.gz"), &whole[..whole.len() / 2]).unwrap();
    let cut = covenant(dir, &["validate", "logs"]);
    let stderr = stderr(&cut);
    assert_eq!(cut.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("c.jsonl.gz: read failed"), "{stderr}");
}
