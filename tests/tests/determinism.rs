//! Property: the same events give the same verdicts whatever the order of
//! lines and files, the batch size and the sort-run length; the same files
//! give byte-identical reports. The generated events also fuzz the host/
//! plugin boundary: no built-in rule may fail on any schema-valid event.

use std::path::Path;

use covenant::evaluate::audit::Audit;
use covenant::policy::Policy;
use covenant::report::{Format, Report, Status};
use proptest::prelude::*;
use serde_json::{Value, json};

/// A schema-valid event; ids are unique by construction, times collide
/// often so that ties are exercised, and strings stray outside ASCII.
fn event(n: usize) -> impl Strategy<Value = Value> {
    let action = prop::sample::select(vec![
        "collect",
        "store",
        "derive",
        "access",
        "share",
        "train",
        "delete",
        "consent-granted",
        "consent-revoked",
        "config-change",
        "exfiltrate",
    ]);
    let tenant = prop::option::of(prop::sample::select(vec!["a", "b", "", "ünïcode"]));
    let purpose = prop::option::of(prop::sample::select(vec![
        "advertising",
        "Marketing",
        "model-training",
        "threat-intelligence",
        "threat-detection",
    ]));
    let actor = prop::sample::select(vec!["customer", "service", "personnel", "partner"]);
    let data = prop::option::of((
        0..6u8,
        tenant.clone(),
        prop::option::of(prop::sample::select(vec![
            "ai-prompt",
            "calculated",
            "event-log",
        ])),
        prop::collection::vec(0..6u8, 0..3),
    ));
    (0..40i64, action, tenant, purpose, actor, data, "\\PC{0,12}").prop_map(
        move |(minute, action, tenant, purpose, actor, data, note)| {
            let mut e = json!({
                "id": format!("e{n:03}"),
                "time": format!("2026-01-{:02}T00:{:02}:00+01:00", 1 + minute / 2, minute % 60),
                "action": action,
                "actor": {"type": actor, "id": "x"},
                "scope": "ai-training",
                "note": note,
            });
            if let Some(t) = tenant {
                e["tenant"] = json!(t);
            }
            if let Some(p) = purpose {
                e["purpose"] = json!(p);
            }
            if let Some((id, t, category, sources)) = data {
                e["data"] = json!({
                    "id": format!("d{id}"),
                    "tenant": t,
                    "category": category,
                    "sources": sources.iter().map(|s| format!("d{s}")).collect::<Vec<_>>(),
                });
            }
            e
        },
    )
}

fn log() -> impl Strategy<Value = Vec<Value>> {
    (1..60usize).prop_flat_map(|len| (0..len).map(event).collect::<Vec<_>>())
}

/// Writes `lines` into `files` files in `dir`, dealing them out in order.
fn write_split(dir: &Path, lines: &[String], files: usize) {
    for f in 0..files {
        let part: Vec<&str> = lines
            .iter()
            .skip(f)
            .step_by(files)
            .map(String::as_str)
            .collect();
        std::fs::write(dir.join(format!("part-{f}.jsonl")), part.join("\n")).unwrap();
    }
}

fn run(dir: &Path, batch_len: usize, sort_run_len: usize) -> Report {
    let mut audit = Audit::new(Policy::builtin().unwrap(), vec![dir.to_path_buf()]);
    audit.batch_len = batch_len;
    audit.sort_run_len = sort_run_len;
    audit.run().unwrap()
}

/// The verdicts: each rule's status and findings, without input locations.
fn verdicts(report: &Report) -> Value {
    let mut rules = serde_json::to_value(&report.rules).unwrap();
    for rule in rules.as_array_mut().unwrap() {
        for finding in rule["findings"].as_array_mut().unwrap() {
            // Where an event sits in the input changes with the split.
            let finding = finding.as_object_mut().unwrap();
            for key in ["location", "file", "line", "element"] {
                finding.remove(key);
            }
        }
    }
    rules
}

proptest! {
    // CI runs the default; set PROPTEST_CASES for a longer run.
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(24)
        ))]

    #[test]
    fn verdicts_ignore_order_split_batch_and_run_length(
        events in log(),
        shuffle_seed in any::<u64>(),
        files in 1..4usize,
        batch_len in 1..40usize,
        sort_run_len in 1..40usize,
    ) {
        let lines: Vec<String> = events.iter().map(Value::to_string).collect();
        let whole = tempfile::tempdir().unwrap();
        write_split(whole.path(), &lines, 1);
        let baseline = run(whole.path(), 1000, 100_000);
        prop_assert!(baseline.rules.iter().all(|r| r.status != Status::Error), "{:?}", baseline.rules.iter().map(|r| &r.error).collect::<Vec<_>>());

        let mut shuffled = lines.clone();
        let mut state = shuffle_seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let split = tempfile::tempdir().unwrap();
        write_split(split.path(), &shuffled, files);
        let first = run(split.path(), batch_len, sort_run_len);
        prop_assert_eq!(verdicts(&first), verdicts(&baseline));

        let again = run(split.path(), 1000, 100_000);
        prop_assert_eq!(Format::Json.render(&first, false), Format::Json.render(&again, false));
    }
}
