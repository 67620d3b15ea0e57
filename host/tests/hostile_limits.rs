//! Hostile logs at the host's own limits: the host's memory stays bounded
//! by what the README documents, however many distinct values a log
//! holds, however wide or deep an event is.
//!
//! Each case runs the `covenant` binary and reads its peak resident memory
//! from the kernel (`wait4`), so the figure is the whole process's.

#![cfg(unix)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs `covenant ARGS` and returns its exit code and peak RSS in MiB.
/// Plugins come compiled from a cache in `dir`, since compiling them takes
/// more memory than any log here, and varies from run to run.
#[expect(
    clippy::zombie_processes,
    reason = "the child is reaped by wait4 below, which also gives its rusage"
)]
fn run_measured(dir: &Path, args: &[&str]) -> (i32, u64) {
    let child = Command::new(env!("CARGO_BIN_EXE_covenant"))
        .args(args)
        .env("COVENANT_CACHE_DIR", dir.join("cache"))
        .env("COVENANT_CACHE_KEY", "ab".repeat(32))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the covenant binary runs");
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our own child's, not yet waited for, and both
    // pointers are to live locals.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t);
    assert!(libc::WIFEXITED(status), "the run was killed: {status}");
    // ru_maxrss is in KiB on Linux.
    (libc::WEXITSTATUS(status), usage.ru_maxrss as u64 / 1024)
}

/// The time `seconds` after the start of 2026, in RFC 3339.
fn time(seconds: u32) -> String {
    let (day, hour) = (1 + seconds / 86_400, seconds / 3600 % 24);
    let (minute, second) = (seconds / 60 % 60, seconds % 60);
    format!("2026-01-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}

/// `events` events, each with its own tenant, purpose and category when
/// `distinct`, else all with the same.
fn write_wide_log(path: &Path, events: u32, distinct: bool) {
    let mut text = String::with_capacity(events as usize * 200);
    for n in 0..events {
        let v = if distinct { n } else { 0 };
        let _ = writeln!(
            text,
            r#"{{"id":"e{n}","time":"{}","action":"store","tenant":"tenant-{v}","purpose":"purpose-{v}","data":{{"id":"d{n}","tenant":"tenant-{v}","category":"category-{v}"}}}}"#,
            time(n)
        );
    }
    std::fs::write(path, text).unwrap();
}

/// Distinct tenants, purposes and categories cost the host no more than
/// the distinct tenants it interns for finding places: 10^6 of each, read
/// as a report reads them, stay within 160 bytes of memory per distinct
/// tenant over the same log with one of each (README, "Other limits").
#[test]
fn a_million_distinct_tenants_purposes_and_categories_stay_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let (same, distinct) = (
        dir.path().join("same.jsonl"),
        dir.path().join("distinct.jsonl"),
    );
    write_wide_log(&same, 1_000_000, false);
    write_wide_log(&distinct, 1_000_000, true);
    let (code, same_mib) = run_measured(dir.path(), &["validate", same.to_str().unwrap()]);
    assert_eq!(code, 0);
    let (code, distinct_mib) = run_measured(dir.path(), &["validate", distinct.to_str().unwrap()]);
    assert_eq!(code, 0);
    let allowed = 160 * 1_000_000 / (1 << 20);
    assert!(
        distinct_mib <= same_mib + allowed,
        "{distinct_mib} MiB with 10^6 distinct values against {same_mib} MiB without"
    );
}

/// One event with 10^5 sources, within the 1 MiB line limit, is read and
/// handed to every rule; a run over it needs what a tiny log needs plus a
/// few copies of that one event.
#[test]
fn one_event_with_a_hundred_thousand_sources_is_checked_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("wide.jsonl");
    let sources: Vec<String> = (0..100_000).map(|n| format!("\"s{n}\"")).collect();
    let line = format!(
        r#"{{"id":"wide","time":"2026-01-01T00:00:00Z","action":"derive","tenant":"a","data":{{"id":"d","tenant":"a","sources":[{}]}}}}"#,
        sources.join(",")
    );
    assert!(line.len() < 1 << 20);
    std::fs::write(&log, line + "\n").unwrap();
    let small = dir.path().join("small.jsonl");
    std::fs::write(
        &small,
        r#"{"id":"small","time":"2026-01-01T00:00:00Z","action":"derive","tenant":"a","data":{"id":"d","tenant":"a","sources":["s"]}}"#.to_string() + "\n",
    )
    .unwrap();
    run_measured(dir.path(), &["report", small.to_str().unwrap()]);
    let (code, small_mib) = run_measured(dir.path(), &["report", small.to_str().unwrap()]);
    assert_eq!(code, 0);
    let (code, wide_mib) = run_measured(dir.path(), &["report", log.to_str().unwrap()]);
    // Segregation finds each source untagged-by-another-tenant; any verdict
    // will do, so long as every rule finished.
    assert!(code == 0 || code == 1, "exit {code}");
    assert!(
        wide_mib <= small_mib + 64,
        "{wide_mib} MiB for one event with 10^5 sources against {small_mib} MiB"
    );
}

/// Attributes nested just inside the depth limit on every line are read
/// and handed to the rules; deeper ones are refused, and neither grows
/// memory past a log of flat lines.
#[test]
fn attributes_nested_to_the_depth_limit_on_every_line_stay_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let (flat, deep) = (dir.path().join("flat.jsonl"), dir.path().join("deep.jsonl"));
    // The event object itself is one level; the attribute takes the rest.
    let nested = format!("{}1{}", "[".repeat(126), "]".repeat(126));
    let mut flat_text = String::new();
    let mut deep_text = String::new();
    for n in 0..20_000u32 {
        let head = format!(
            r#"{{"id":"e{n}","time":"{}","action":"access","tenant":"a","data":{{"id":"d{n}","tenant":"a"}},"depth":"#,
            time(n)
        );
        let _ = writeln!(flat_text, "{head}1}}");
        let _ = writeln!(deep_text, "{head}{nested}}}");
    }
    std::fs::write(&flat, flat_text).unwrap();
    std::fs::write(&deep, deep_text).unwrap();
    run_measured(dir.path(), &["report", flat.to_str().unwrap()]);
    let (code, flat_mib) = run_measured(dir.path(), &["report", flat.to_str().unwrap()]);
    assert_eq!(code, 0);
    let (code, deep_mib) = run_measured(dir.path(), &["report", deep.to_str().unwrap()]);
    assert_eq!(code, 0, "lines within the depth limit are valid events");
    assert!(
        deep_mib <= flat_mib + 64,
        "{deep_mib} MiB with deep attributes against {flat_mib} MiB flat"
    );

    let deeper = dir.path().join("deeper.jsonl");
    let too_deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    std::fs::write(
        &deeper,
        format!(
            r#"{{"id":"x","time":"2026-01-01T00:00:00Z","action":"access","depth":{too_deep}}}"#
        ) + "\n",
    )
    .unwrap();
    let (code, _) = run_measured(dir.path(), &["validate", deeper.to_str().unwrap()]);
    assert_eq!(code, 2, "past the depth limit is an invalid record");
}
