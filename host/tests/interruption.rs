//! A run stopped by SIGTERM or SIGINT exits 143 or 130, leaves no
//! temporary file behind and no output half-written, and keeps the file an
//! earlier run wrote. Each run reads standard input that never ends, so it
//! is certainly still running when the signal comes.

use std::io::Write;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

const EVENT: &str = r#"{"id":"e1","time":"2026-01-01T00:00:00Z","action":"store","tenant":"t1","data":{"id":"d1","tenant":"t1"}}"#;

/// Starts `covenant ARGS` in `dir` reading a standard input that stays
/// open, after one event, until the returned handle is dropped. Hold it
/// until the run has exited: closing it first would let the run finish
/// its input and rename its outputs while the signal is on its way.
fn start(dir: &Path, args: &[&str]) -> (Child, ChildStdin) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_covenant"))
        .current_dir(dir)
        .args(args)
        .env("COVENANT_CACHE_DIR", "off")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the covenant binary runs");
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{EVENT}").unwrap();
    stdin.flush().unwrap();
    (child, stdin)
}

/// Waits until `ready` holds, for at most a minute (a debug build starts
/// the rules slowly).
fn wait_for(mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < Duration::from_secs(60), "timed out");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn temporary_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".tmp"))
        .collect()
}

fn signal(child: &Child, signal: i32) {
    // SAFETY: kill has no memory-safety preconditions; the pid is our
    // own child's, which has not been waited for yet.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    assert_eq!(sent, 0);
}

#[test]
fn sigterm_during_a_split_removes_the_shards_being_written() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shard-0.jsonl"), "an earlier split\n").unwrap();
    let (child, _input) = start(dir.path(), &["split", "--shards", "2", "--dir", ".", "-"]);
    // Every shard and the lineage are open beside their places while the
    // input is read.
    wait_for(|| temporary_files(dir.path()).len() == 3);
    signal(&child, libc::SIGTERM);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(143));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("stopped by SIGTERM"), "{stderr}");
    assert_eq!(temporary_files(dir.path()), Vec::<String>::new());
    let mut left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert_eq!(left, ["shard-0.jsonl"]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("shard-0.jsonl")).unwrap(),
        "an earlier split\n"
    );
}

#[test]
fn sigint_during_a_report_exits_130_and_keeps_the_earlier_report() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("report.json"), "an earlier report\n").unwrap();
    let (child, _input) = start(dir.path(), &["report", "--quiet", "-o", "report.json", "-"]);
    // The signal handler is in place before any argument is read; give the
    // run time to be reading.
    std::thread::sleep(Duration::from_millis(500));
    signal(&child, libc::SIGINT);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130));
    assert_eq!(temporary_files(dir.path()), Vec::<String>::new());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("report.json")).unwrap(),
        "an earlier report\n"
    );
}
