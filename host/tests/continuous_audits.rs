//! Continuous audits: a log cut by time into consecutive runs, each run
//! resuming the state the run before saved, gives the findings of one run
//! over the whole log once `covenant merge` combines the chain's reports;
//! and a saved state that was changed, cut short, or made under another
//! policy, plugin or key is refused with exit 2 and a message saying what
//! differs.
//!
//! The command line runs as a child process, so that its messages can be
//! read and its state key set through the environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use covenant::evaluate::state::SavedState;
use covenant::events::Timestamp;
use covenant::events::generate::{LogSpec, generate};
use proptest::prelude::*;
use serde_json::Value;

/// A state key for the tests, so that none touches the user's own.
const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// Runs `covenant ARGS` with the tests' state key and a cache of its own.
fn covenant(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_covenant"))
        .args(args)
        .env("COVENANT_STATE_KEY", KEY)
        .env("COVENANT_CACHE_DIR", dir.join("cache"))
        .env("COVENANT_CACHE_KEY", KEY)
        .output()
        .expect("the covenant binary runs")
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 test path")
}

/// A generated log of `events` events whose times are stretched to span
/// `days` days, so that retention's 14-, 28- and 30-day deadlines fall
/// inside it: each line with its time.
fn stretched_log(events: u64, seed: u64, days: i64) -> Vec<(Timestamp, String)> {
    let spec = LogSpec {
        events,
        tenants: 4,
        seed,
        violation_rate: 0.05,
    };
    let mut text = Vec::new();
    generate(&spec, &mut text).unwrap();
    let records: Vec<Value> = (String::from_utf8(text).unwrap().lines())
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let time = |record: &Value| Timestamp::parse_rfc3339(record["time"].as_str().unwrap()).unwrap();
    let start = time(&records[0]).seconds;
    let span = (time(&records[records.len() - 1]).seconds - start).max(1);
    let stretch = days * 86_400 / span;
    (records.into_iter())
        .map(|mut record| {
            let t = time(&record);
            let stretched = Timestamp {
                seconds: start + (t.seconds - start) * stretch,
                nanos: t.nanos,
            };
            record["time"] = Value::String(stretched.to_rfc3339());
            (stretched, serde_json::to_string(&record).unwrap())
        })
        .collect()
}

/// Writes `lines` to `path`, one a line.
fn write_log<'a>(path: &Path, lines: impl IntoIterator<Item = &'a String>) {
    let text: String = lines.into_iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(path, text).unwrap();
}

/// Runs a report, expecting a verdict (exit 0 or 1), and returns its JSON.
fn report(dir: &Path, out: &Path, extra: &[&str], log: &Path) -> Value {
    let mut args = vec!["report", "--quiet", "-o", arg(out)];
    args.extend_from_slice(extra);
    args.push(arg(log));
    let run = covenant(dir, &args);
    let code = run.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "{args:?} exited {code:?}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

/// Runs `parts` as one chain, each resuming the state the one before
/// saved, and returns the paths of their reports.
fn run_chain(dir: &Path, parts: &[PathBuf]) -> Vec<PathBuf> {
    let state = dir.join("state.bin");
    let mut reports = Vec::new();
    for (n, part) in parts.iter().enumerate() {
        let out = dir.join(format!("run-{n:02}.json"));
        let mut extra = vec!["--save-state", arg(&state)];
        if n > 0 {
            extra.extend(["--resume", arg(&state)]);
        }
        report(dir, &out, &extra, part);
        reports.push(out);
    }
    reports
}

/// What a chain and one run are compared by: each rule's findings by
/// event, with time, tenant, data id and message, and what it could not
/// assess; and the summary's counts.
fn verdicts(report: &Value) -> (BTreeMap<String, Vec<Value>>, Value) {
    let mut by_rule = BTreeMap::new();
    for rule in report["rules"].as_array().unwrap() {
        let mut seen: Vec<Value> = (rule["findings"].as_array().unwrap().iter())
            .map(|f| {
                serde_json::json!([
                    f["event_id"],
                    f["time"],
                    f["tenant"],
                    f["data_id"],
                    f["message"]
                ])
            })
            .collect();
        seen.push(rule["unassessable"].clone());
        seen.push(rule["error"].clone());
        by_rule.insert(rule["id"].as_str().unwrap().to_string(), seen);
    }
    (by_rule, report["summary"].clone())
}

/// Every finding of `report` names the line of its file that holds the
/// event it is about.
fn assert_placed(dir: &Path, report: &Value) {
    let mut files: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for rule in report["rules"].as_array().unwrap() {
        for finding in rule["findings"].as_array().unwrap() {
            let file = finding["file"].as_str().unwrap().to_string();
            let lines = files.entry(file.clone()).or_insert_with(|| {
                let path = Path::new(&file);
                let path = if path.is_absolute() {
                    path.to_path_buf()
                } else {
                    dir.join(path)
                };
                std::fs::read_to_string(path)
                    .unwrap()
                    .lines()
                    .map(str::to_string)
                    .collect()
            });
            let line = finding["line"].as_u64().unwrap() as usize;
            let record: Value = serde_json::from_str(&lines[line - 1]).unwrap();
            assert_eq!(record["id"], finding["event_id"], "{file}:{line}");
        }
    }
}

/// Merges `reports` with `covenant merge` into `out`, expecting a verdict.
fn merge(dir: &Path, out: &Path, reports: &[PathBuf]) -> Value {
    let mut args = vec!["merge", "-o", arg(out)];
    args.extend(reports.iter().map(|p| arg(p)));
    let run = covenant(dir, &args);
    assert!(
        matches!(run.status.code(), Some(0 | 1)),
        "merge failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

#[test]
fn thirty_daily_runs_merge_into_the_report_of_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let log = stretched_log(12_000, 5, 30);
    let whole = dir.join("whole.jsonl");
    write_log(&whole, log.iter().map(|(_, line)| line));
    let mut days: BTreeMap<i64, Vec<&String>> = BTreeMap::new();
    for (time, line) in &log {
        days.entry(time.seconds.div_euclid(86_400))
            .or_default()
            .push(line);
    }
    assert!(days.len() >= 30, "the log spans {} days", days.len());
    let parts: Vec<PathBuf> = (days.values().enumerate())
        .map(|(n, lines)| {
            let path = dir.join(format!("day-{n:02}.jsonl"));
            write_log(&path, lines.iter().copied());
            path
        })
        .collect();

    let one = report(dir, &dir.join("one.json"), &[], &whole);
    let reports = run_chain(dir, &parts);
    // Given in any order, the chain's reports are put in chain order.
    let mut shuffled = reports.clone();
    shuffled.reverse();
    let merged = merge(dir, &dir.join("merged.json"), &shuffled);

    assert_eq!(verdicts(&merged), verdicts(&one));
    assert_placed(dir, &merged);
    assert_eq!(merged["chain"]["part"], parts.len() as u64);
    // The chain has findings a later day rewrote: an earlier run said one
    // thing about an event, the merged report says what the last one did.
    let final_words: BTreeMap<(String, String), Value> = (merged["rules"].as_array().unwrap())
        .iter()
        .flat_map(|rule| {
            (rule["findings"].as_array().unwrap().iter()).map(move |f| {
                let key = (rule["id"].to_string(), f["event_id"].to_string());
                (key, f["message"].clone())
            })
        })
        .collect();
    let rewritten = reports.iter().any(|path| {
        let run: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        (run["rules"].as_array().unwrap().iter()).any(|rule| {
            (rule["findings"].as_array().unwrap().iter()).any(|f| {
                let key = (rule["id"].to_string(), f["event_id"].to_string());
                final_words.get(&key).is_some_and(|m| *m != f["message"])
            })
        })
    });
    assert!(rewritten, "no run's finding was rewritten by a later one");

    // A chain with a day missing, or a day given twice, does not merge.
    merge_refused(dir, &[&reports[0], &reports[2]], "is missing");
    merge_refused(dir, &[&reports[1], &reports[1]], "given twice");
}

/// Merges `reports`, expecting exit 2 and a message holding `says`.
fn merge_refused(dir: &Path, reports: &[&Path], says: &str) {
    let out = dir.join("refused-merge.json");
    let mut args = vec!["merge", "-o", arg(&out)];
    args.extend(reports.iter().map(|path| arg(path)));
    let run = covenant(dir, &args);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(says), "expected `{says}` in: {stderr}");
    assert!(!out.exists(), "a refused merge wrote a report");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    /// Any cut of a generated log by time, into any number of consecutive
    /// runs, merges into the report of one run.
    #[test]
    fn a_chain_cut_anywhere_equals_one_run(
        seed in 0u64..1000,
        cuts in proptest::collection::btree_set(1u64..999, 1..5),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        let log = stretched_log(3_000, seed, 20);
        let whole = dir.join("whole.jsonl");
        write_log(&whole, log.iter().map(|(_, line)| line));
        let (first, last) = (log[0].0.seconds, log[log.len() - 1].0.seconds);
        // Cut points in thousandths of the log's span; events at one
        // instant stay in one run.
        let bounds: Vec<i64> = (cuts.iter())
            .map(|&c| first + (last - first) * c as i64 / 1000)
            .chain([i64::MAX])
            .collect();
        let mut parts = Vec::new();
        let mut from = i64::MIN;
        for (n, &to) in bounds.iter().enumerate() {
            let path = dir.join(format!("part-{n}.jsonl"));
            let lines = log.iter().filter(|(t, _)| from <= t.seconds && t.seconds < to);
            write_log(&path, lines.map(|(_, line)| line));
            parts.push(path);
            from = to;
        }
        let one = report(dir, &dir.join("one.json"), &[], &whole);
        let merged = merge(dir, &dir.join("merged.json"), &run_chain(dir, &parts));
        prop_assert_eq!(verdicts(&merged), verdicts(&one));
    }
}

/// A day's log and the state saved after it, and the next day's log.
struct Saved {
    dir: tempfile::TempDir,
    state: PathBuf,
    next: PathBuf,
}

/// Saves the state of a day's run under the policy `make_policy` writes
/// into the run's folder (`None`: the default policy).
fn saved_state(make_policy: impl FnOnce(&Path) -> Option<PathBuf>) -> Saved {
    let dir = tempfile::tempdir().unwrap();
    let policy = make_policy(dir.path());
    let log = stretched_log(2_000, 9, 2);
    let middle = log[log.len() / 2].0;
    let (day1, day2): (Vec<_>, Vec<_>) = log.iter().partition(|(t, _)| *t < middle);
    let first = dir.path().join("day1.jsonl");
    let next = dir.path().join("day2.jsonl");
    write_log(&first, day1.iter().map(|(_, l)| l));
    write_log(&next, day2.iter().map(|(_, l)| l));
    let state = dir.path().join("state.bin");
    let mut extra = vec!["--save-state", arg(&state)];
    if let Some(policy) = &policy {
        extra.extend(["--policy", arg(policy)]);
    }
    report(dir.path(), &dir.path().join("day1.json"), &extra, &first);
    Saved { dir, state, next }
}

/// Resumes `state` over the next day's log with `extra` flags; expects
/// exit 2 and a message holding `says`.
fn refused(saved: &Saved, state: &Path, extra: &[&str], says: &str) {
    let dir = saved.dir.path();
    let out = dir.join("refused.json");
    let mut args = vec!["report", "--quiet", "--resume", arg(state), "-o", arg(&out)];
    args.extend_from_slice(extra);
    args.push(arg(&saved.next));
    let run = covenant(dir, &args);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(says), "expected `{says}` in: {stderr}");
    assert!(!out.exists(), "a refused run wrote a report");
}

/// The state file at `path`, read under the tests' key.
fn read_state(path: &Path) -> SavedState {
    let key: Vec<u8> = (0..KEY.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&KEY[i..i + 2], 16).unwrap())
        .collect();
    SavedState::from_bytes(&std::fs::read(path).unwrap(), &key).unwrap()
}

#[test]
fn an_event_id_the_saved_state_still_names_is_refused_in_a_later_run() {
    let saved = saved_state(|_| None);
    let state = read_state(&saved.state);
    let cited = (state.cited.iter())
        .find(|event| event.place.is_some())
        .expect("day 1's state cites an event");
    let reused = saved.dir.path().join("reused.jsonl");
    let text = std::fs::read_to_string(&saved.next).unwrap();
    let mut lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    lines[0]["id"] = Value::String(cited.id.to_string());
    write_log(
        &reused,
        &lines.iter().map(Value::to_string).collect::<Vec<_>>(),
    );
    let shown = reused.display().to_string();
    let reusing = Saved {
        next: reused,
        ..saved
    };
    refused(
        &reusing,
        &reusing.state,
        &[],
        &format!(
            "event id `{}` at {shown}:1 was used by an earlier run of the chain too, at",
            cited.id
        ),
    );
}

#[test]
fn a_state_changed_or_cut_short_is_refused() {
    let saved = saved_state(|_| None);
    let bytes = std::fs::read(&saved.state).unwrap();
    let tampered = saved.dir.path().join("tampered.bin");
    let mut changed = bytes.clone();
    let middle = changed.len() / 2;
    changed[middle] ^= 1;
    std::fs::write(&tampered, &changed).unwrap();
    refused(&saved, &tampered, &[], "seal does not match");
    let truncated = saved.dir.path().join("truncated.bin");
    std::fs::write(&truncated, &bytes[..bytes.len() - 10]).unwrap();
    refused(&saved, &truncated, &[], "seal does not match");
    let junk = saved.dir.path().join("junk.bin");
    std::fs::write(&junk, b"{\"not\": \"a state\"}").unwrap();
    refused(&saved, &junk, &[], "not a Covenant state file");
    // Sealed under another key: as good as tampered.
    let other = "f".repeat(64);
    assert!(SavedState::from_bytes(&bytes, other.as_bytes()).is_err());
    // And the untouched state resumes.
    let out = saved.dir.path().join("day2.json");
    report(
        saved.dir.path(),
        &out,
        &["--resume", arg(&saved.state)],
        &saved.next,
    );
}

const BUILTIN_POLICY: &str = include_str!("../../policies/defender-for-cloud.toml");

#[test]
fn a_state_from_another_policy_is_refused() {
    let saved = saved_state(|_| None);
    let other = saved.dir.path().join("other.toml");
    std::fs::write(&other, format!("{BUILTIN_POLICY}\n# edited\n")).unwrap();
    refused(
        &saved,
        &saved.state,
        &["--policy", arg(&other)],
        "saved under a policy with sha256",
    );
}

#[test]
fn a_state_from_another_build_of_a_plugin_is_refused() {
    // The policy runs retention from a file beside it, which is then
    // rebuilt: the same policy text, another plugin.
    let policy = |dir: &Path| {
        let bytes = covenant::policy::builtin::plugin("retention").unwrap();
        std::fs::write(dir.join("retention.wasm"), bytes).unwrap();
        let text = BUILTIN_POLICY.replacen("\"builtin:retention\"", "\"retention.wasm\"", 1);
        assert_ne!(text, BUILTIN_POLICY, "the policy names builtin:retention");
        std::fs::write(dir.join("policy.toml"), text).unwrap();
        Some(dir.join("policy.toml"))
    };
    let saved = saved_state(policy);
    let dir = saved.dir.path();
    // A custom section more: another build, as far as its digest goes.
    let mut rebuilt = std::fs::read(dir.join("retention.wasm")).unwrap();
    rebuilt.extend_from_slice(&[0, 5, 4, b'b', b'u', b'm', b'p']);
    std::fs::write(dir.join("retention.wasm"), rebuilt).unwrap();
    let policy = dir.join("policy.toml");
    refused(
        &saved,
        &saved.state,
        &["--policy", arg(&policy)],
        "saved by the plugin with sha256",
    );
}

#[test]
fn a_resumed_run_refuses_events_before_the_saved_state_ends() {
    let saved = saved_state(|_| None);
    let dir = saved.dir.path();
    let early = dir.join("early.jsonl");
    let mut text = std::fs::read_to_string(&saved.next).unwrap();
    text.push_str(&std::fs::read_to_string(dir.join("day1.jsonl")).unwrap());
    std::fs::write(&early, text).unwrap();
    let out = dir.join("early.json");
    let run = covenant(
        dir,
        &[
            "report",
            "--quiet",
            "--resume",
            arg(&saved.state),
            "-o",
            arg(&out),
            arg(&early),
        ],
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("is before the saved state's last event"),
        "{stderr}"
    );
    let run = covenant(
        dir,
        &[
            "report",
            "--quiet",
            "--resume",
            arg(&saved.state),
            "--redact",
            "-o",
            arg(&out),
            arg(&saved.next),
        ],
    );
    assert_eq!(run.status.code(), Some(2));
}

#[test]
fn a_resumed_run_is_taken_as_of_no_earlier_than_the_run_before() {
    let saved = saved_state(|_| None);
    let dir = saved.dir.path();
    let last = read_state(&saved.state)
        .last_event
        .expect("day 1 has events");
    let later = |hours: i64| {
        Timestamp {
            seconds: last.seconds + hours * 3_600,
            nanos: 0,
        }
        .to_rfc3339()
    };
    // Day 1 again, as of two days after its last event, saving its state.
    let first = dir.join("day1.jsonl");
    let state = dir.join("as-of.state");
    let as_of = later(48);
    let extra = ["--as-of", as_of.as_str(), "--save-state", arg(&state)];
    report(dir, &dir.join("as-of.json"), &extra, &first);
    let empty = dir.join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let resumed = |as_of: Option<&str>| {
        let out = dir.join("resumed.json");
        let mut args = vec![
            "report",
            "--quiet",
            "--resume",
            arg(&state),
            "-o",
            arg(&out),
        ];
        if let Some(as_of) = as_of {
            args.extend(["--as-of", as_of]);
        }
        args.push(arg(&empty));
        covenant(dir, &args)
    };
    // After the saved run's last event but before its as-of: refused.
    let early = later(24);
    let run = resumed(Some(&early));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--as-of with --resume"), "{stderr}");
    assert!(
        stderr.contains("a chain's reports go forward in time"),
        "{stderr}"
    );
    // Unasked, the resumed run is taken as of the saved run's as-of.
    let run = resumed(None);
    assert!(
        matches!(run.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("resumed.json")).unwrap()).unwrap();
    assert_eq!(report["as_of"], Value::String(as_of));
}

#[test]
fn a_run_killed_midway_resumes_from_its_checkpoint_to_the_same_report() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let log = dir.join("log.jsonl");
    write_log(
        &log,
        stretched_log(60_000, 3, 10).iter().map(|(_, line)| line),
    );
    let whole = report(
        dir,
        &dir.join("whole.json"),
        &["--save-state", arg(&dir.join("whole.state"))],
        &log,
    );

    let state = dir.join("killed.state");
    let killed = dir.join("killed.json");
    let args = [
        "report",
        "--quiet",
        "--checkpoint-every",
        "4000",
        "--save-state",
        arg(&state),
        "-o",
        arg(&killed),
        arg(&log),
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_covenant"))
        .args(args)
        .env("COVENANT_STATE_KEY", KEY)
        .env("COVENANT_CACHE_DIR", dir.join("cache"))
        .env("COVENANT_CACHE_KEY", KEY)
        .spawn()
        .unwrap();
    while !state.exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before its first checkpoint"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!killed.exists(), "a killed run wrote its report");
    let checkpoint = read_state(&state);
    let taken = checkpoint
        .checkpoint
        .expect("the state on disk is a checkpoint");
    assert!(taken.events > 0 && taken.events < 60_000);
    let checkpointed = dir.join("checkpoint.state");
    std::fs::copy(&state, &checkpointed).unwrap();

    let resumed = report(
        dir,
        &dir.join("resumed.json"),
        &["--resume", arg(&state), "--save-state", arg(&state)],
        &log,
    );
    assert_eq!(resumed, whole);

    // A checkpoint resumed over another log is refused.
    let other = dir.join("other.jsonl");
    write_log(
        &other,
        stretched_log(60_000, 4, 10).iter().map(|(_, line)| line),
    );
    let run = covenant(
        dir,
        &[
            "report",
            "--quiet",
            "--resume",
            arg(&checkpointed),
            "-o",
            arg(&dir.join("o.json")),
            arg(&other),
        ],
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("the checkpoint was taken after"));
}
