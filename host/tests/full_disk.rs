//! A disk that fills during a run: the run exits 2 with the OS error and
//! the path, removes its temporary files, writes no output by halves and
//! leaves an earlier run's output as it was.
//!
//! A full disk is simulated with the file size limit (`ulimit -f`), which
//! fails any write past it with EFBIG ("File too large") just where a full
//! disk fails with ENOSPC, with SIGXFSZ ignored so the write returns the
//! error instead of ending the process.

#![cfg(unix)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output};

/// Runs `covenant ARGS` in `dir` with writes limited to `limit_kib` KiB
/// per file, and temporary files in `dir/tmp`.
fn run_limited(dir: &Path, limit_kib: u32, args: &[&str]) -> Output {
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    Command::new("bash")
        .current_dir(dir)
        .arg("-c")
        .arg(format!(
            r#"trap '' XFSZ; ulimit -f {limit_kib}; exec "$0" "$@""#
        ))
        .arg(env!("CARGO_BIN_EXE_covenant"))
        .args(args)
        .env("COVENANT_CACHE_DIR", "off")
        .env("TMPDIR", dir.join("tmp"))
        .output()
        .expect("bash runs")
}

/// A log of `events` small events a second apart, in time order or
/// backwards.
fn write_log(path: &Path, events: u32, backwards: bool) {
    let mut text = String::new();
    for n in 0..events {
        let n = if backwards { events - n } else { n };
        let tenant = n % 7;
        let (day, hour, minute, second) = (1 + n / 86_400, n / 3600 % 24, n / 60 % 60, n % 60);
        let _ = writeln!(
            text,
            r#"{{"id":"e{n}","time":"2026-01-{day:02}T{hour:02}:{minute:02}:{second:02}Z","action":"store","tenant":"t{tenant}","data":{{"id":"d{n}","tenant":"t{tenant}"}}}}"#
        );
    }
    std::fs::write(path, text).unwrap();
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn an_output_that_fills_the_disk_is_not_written_and_the_old_one_stays() {
    let dir = tempfile::tempdir().unwrap();
    write_log(&dir.path().join("log.jsonl"), 20_000, false);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("shard-0.jsonl"), "an earlier split\n").unwrap();
    let run = run_limited(
        dir.path(),
        256,
        &["split", "--shards", "1", "--dir", "out", "log.jsonl"],
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("shard-0.jsonl: cannot write") && stderr.contains("File too large"),
        "{stderr}"
    );
    assert_eq!(
        entries(&out),
        ["shard-0.jsonl"],
        "no temporary file is left"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("shard-0.jsonl")).unwrap(),
        "an earlier split\n"
    );
}

#[test]
fn a_sort_that_fills_the_disk_fails_naming_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    // More events than the sorter holds in memory, backwards, so that it
    // spills a run to disk.
    write_log(&dir.path().join("log.jsonl"), 100_001, true);
    let run = run_limited(
        dir.path(),
        1024,
        &["split", "--shards", "1", "--dir", "out", "log.jsonl"],
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    let tmp = dir.path().join("tmp");
    assert!(
        stderr.contains(&format!(
            "cannot write sorted events to a temporary file in {}",
            tmp.display()
        )) && stderr.contains("File too large"),
        "{stderr}"
    );
    assert_eq!(entries(&tmp), Vec::<String>::new());
    assert_eq!(entries(&dir.path().join("out")), Vec::<String>::new());
}

#[test]
fn a_report_output_that_fills_the_disk_is_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/defender-demo.jsonl");
    std::fs::write(dir.path().join("report.html"), "an earlier report\n").unwrap();
    let run = run_limited(
        dir.path(),
        8,
        &["report", "-o", "report.html", example.to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("report.html: cannot write") && stderr.contains("File too large"),
        "{stderr}"
    );
    assert_eq!(entries(dir.path()), ["report.html", "tmp"]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("report.html")).unwrap(),
        "an earlier report\n"
    );
}
