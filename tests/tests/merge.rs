//! `covenant split` and `covenant merge`: a log split into tenant shards,
//! each reported on alone, merges into the report of one run over the
//! whole log; a split is deterministic and refuses what it cannot split,
//! and parts that cannot be merged are refused.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use covenant_e2e::{arg, run_cli};
use serde_json::Value;

const AS_OF: &str = "2026-03-01T00:00:00Z";
const SHARDS: usize = 3;

/// Splits `log` with `covenant split` into `dir/shards/`: the shard files,
/// the shared lineage file and its number of records.
fn split(log: &Path, dir: &Path) -> (Vec<PathBuf>, PathBuf, usize) {
    let out = dir.join("shards");
    let shards = SHARDS.to_string();
    let args = ["split", "--shards", &shards, "--dir", arg(&out), arg(log)];
    assert_eq!(run_cli(&args), 0);
    let paths = (0..SHARDS)
        .map(|i| out.join(format!("shard-{i}.jsonl")))
        .collect();
    let lineage = out.join("lineage.jsonl");
    let records = std::fs::read_to_string(&lineage).unwrap().lines().count();
    (paths, lineage, records)
}

fn report(dir: &Path, name: &str, inputs: &[&Path], as_of: &str) -> PathBuf {
    let out = dir.join(name);
    let mut args = vec!["report", "--quiet", "--as-of", as_of, "-o", arg(&out)];
    args.extend(inputs.iter().map(|p| arg(p)));
    assert_eq!(run_cli(&args), 1, "{name}: a report with findings exits 1");
    out
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn merge(dir: &Path, name: &str, parts: &[PathBuf]) -> (u8, PathBuf) {
    let out = dir.join(name);
    let mut args = vec!["merge", "-o", arg(&out)];
    args.extend(parts.iter().map(|p| arg(p)));
    (run_cli(&args), out)
}

/// A report with the places of its findings checked and removed: they
/// name the shard file and line the event was read from, which differ from
/// one run's place in the whole log by design. The list of inputs differs
/// for the same reason. Everything else must be equal.
fn without_places(mut report: Value) -> Value {
    let report_map = report.as_object_mut().unwrap();
    report_map.remove("inputs");
    for rule in report_map["rules"].as_array_mut().unwrap() {
        for finding in rule["findings"].as_array_mut().unwrap() {
            let finding = finding.as_object_mut().unwrap();
            let file = finding.remove("file").unwrap();
            let line = finding.remove("line").unwrap().as_u64().unwrap() as usize;
            let text = std::fs::read_to_string(file.as_str().unwrap()).unwrap();
            let event: Value = serde_json::from_str(text.lines().nth(line - 1).unwrap()).unwrap();
            assert_eq!(
                event["id"], finding["event_id"],
                "a finding's place names its event"
            );
            finding.remove("location");
            finding.remove("element");
        }
    }
    report
}

fn findings_by_rule(report: &Value) -> BTreeMap<String, usize> {
    report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["findings"].as_array().unwrap().len(),
            )
        })
        .collect()
}

/// A generated log split by tenant into three shards, each run on its own
/// with the shared lineage, merges into the report of one run over the
/// whole log, cross-tenant derivations included.
#[test]
fn a_merge_of_tenant_shards_equals_one_run_over_the_whole_log() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let whole = generated(
        dir,
        &[
            "--events",
            "3000",
            "--tenants",
            "9",
            "--seed",
            "11",
            "--violation-rate",
            "0.05",
        ],
    );
    let (shards, lineage, records) = split(&whole, dir);
    assert!(records > 0, "the log has cross-tenant derivations");

    let parts: Vec<PathBuf> = shards
        .iter()
        .enumerate()
        .map(|(i, shard)| report(dir, &format!("part-{i}.json"), &[shard, &lineage], AS_OF))
        .collect();
    let (code, merged) = merge(dir, "merged.json", &parts);
    assert_eq!(code, 1, "merge exits as report does: findings are open");
    let merged = read(&merged);

    // One run over every input the parts read, each once: the same report.
    let single = read(&report(dir, "single.json", &[&whole, &lineage], AS_OF));
    assert_eq!(without_places(merged.clone()), without_places(single));

    // The lineage records change no verdict: one run over the log alone
    // has the same findings, and counts only the log's events.
    let mut alone = without_places(read(&report(dir, "alone.json", &[&whole], AS_OF)));
    let mut expected = without_places(merged.clone());
    assert_eq!(alone["summary"]["events"], 3000);
    for counts in [&mut alone["summary"], &mut expected["summary"]] {
        let counts = counts.as_object_mut().unwrap();
        counts.remove("events");
        counts.remove("read");
    }
    assert_eq!(alone, expected);

    // Not vacuous: several rules found something, segregation among them
    // a derivation from another tenant's data.
    let by_rule = findings_by_rule(&merged);
    let rules_with_findings: BTreeSet<&String> = by_rule
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(r, _)| r)
        .collect();
    assert!(rules_with_findings.len() >= 5, "{by_rule:?}");
    let cross_tenant = |report: &Value| {
        report["rules"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["id"] == "segregation")
            .flat_map(|r| r["findings"].as_array().unwrap())
            .filter(|f| {
                f["message"]
                    .as_str()
                    .unwrap()
                    .contains("from another tenant's data")
            })
            .count()
    };
    assert!(cross_tenant(&merged) > 0);

    // Without the shared lineage, the shards miss those derivations.
    let unlinked: Vec<PathBuf> = shards
        .iter()
        .enumerate()
        .map(|(i, shard)| report(dir, &format!("unlinked-{i}.json"), &[shard], AS_OF))
        .collect();
    let (_, unlinked) = merge(dir, "unlinked.json", &unlinked);
    assert!(cross_tenant(&read(&unlinked)) < cross_tenant(&merged));

    // Every format renders the merged report.
    let rendered = dir.join("merged.sarif");
    let html = dir.join("merged.html");
    let mut args = vec!["merge", "-o", arg(&rendered), "-o", arg(&html)];
    args.extend(parts.iter().map(|p| arg(p)));
    assert_eq!(run_cli(&args), 1);
    assert!(
        std::fs::read_to_string(&rendered)
            .unwrap()
            .contains("\"segregation\"")
    );
}

/// Parts that could not be one run's are refused with exit code 2 and a
/// reason naming the file.
#[test]
fn parts_that_cannot_be_merged_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let whole = generated(dir, &["--events", "300", "--tenants", "4"]);
    let (shards, _, _) = split(&whole, dir);
    let (shard_a, shard_b) = (&shards[0], &shards[1]);
    let as_of = "2026-12-31T00:00:00Z";
    let run = |name: &str, shard: &Path, as_of: &str| {
        let out = dir.join(name);
        let args = ["report", "--as-of", as_of, "-o", arg(&out), arg(shard)];
        assert!(run_cli(&args) <= 1);
        out
    };
    let part_a = run("a.json", shard_a, as_of);
    let part_b = run("b.json", shard_b, as_of);
    let late_b = run("late-b.json", shard_b, "2027-01-01T00:00:00Z");
    let merged = dir.join("merged.json");
    assert!(run_cli(&["merge", "-o", arg(&merged), arg(&part_a), arg(&part_b)]) <= 1);

    let refused = |parts: &[&PathBuf]| {
        let paths: Vec<PathBuf> = parts.iter().map(|p| p.to_path_buf()).collect();
        let mut args = vec!["merge", "-o", "-"];
        args.extend(parts.iter().map(|p| arg(p)));
        assert_eq!(run_cli(&args), 2);
        format!("{:#}", covenant::shard::merge::merge(&paths).unwrap_err())
    };
    let error = refused(&[&part_a, &late_b]);
    assert!(
        error.contains("run every shard with the same --as-of"),
        "{error}"
    );
    assert!(error.contains("late-b.json"), "{error}");

    let error = refused(&[&part_a, &part_a]);
    assert!(error.contains("every part read the same inputs"), "{error}");

    let error = refused(&[&part_a, &whole]);
    assert!(error.contains("not a Covenant JSON report"), "{error}");
    let not_json = dir.join("not.json");
    std::fs::write(&not_json, "{\"schema\": \"covenant/report/v9\"}").unwrap();
    let error = refused(&[&part_a, &not_json]);
    assert!(
        error.contains("report schema is `covenant/report/v9`"),
        "{error}"
    );
    let error = refused(&[&part_a, &dir.join("missing.json")]);
    assert!(
        error.contains("missing.json: cannot read report"),
        "{error}"
    );

    let policy = dir.join("policy.toml");
    let text = covenant::policy::DEFAULT_POLICY.replacen(
        "\n[[rule]]\n",
        "\n[[rule]]\nseverity = \"low\"\n",
        1,
    );
    std::fs::write(&policy, text).unwrap();
    let other = dir.join("other.json");
    let args = [
        "report",
        "--policy",
        arg(&policy),
        "--as-of",
        as_of,
        "-o",
        arg(&other),
        arg(shard_b),
    ];
    assert!(run_cli(&args) <= 1);
    let error = refused(&[&part_a, &other]);
    assert!(
        error.contains("were made under different policies"),
        "{error}"
    );
}

/// `whole.jsonl` in `dir`, written by `covenant generate` with `options`.
fn generated(dir: &Path, options: &[&str]) -> PathBuf {
    let log = dir.join("whole.jsonl");
    let mut args = vec!["generate"];
    args.extend_from_slice(options);
    args.extend(["-o", arg(&log)]);
    assert_eq!(run_cli(&args), 0);
    log
}

/// The same log always splits into the same bytes, whatever the order of
/// its lines, and every event lands in exactly one shard, with all of its
/// tenant's events.
#[test]
fn a_split_is_deterministic_and_puts_every_event_in_one_shard() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let whole = generated(dir, &["--events", "2000", "--tenants", "7"]);
    let text = std::fs::read_to_string(&whole).unwrap();
    let reversed = dir.join("reversed.jsonl");
    let mut lines: Vec<&str> = text.lines().collect();
    lines.reverse();
    std::fs::write(&reversed, lines.join("\n")).unwrap();

    let names: Vec<String> = (0..SHARDS)
        .map(|i| format!("shard-{i}.jsonl"))
        .chain(["lineage.jsonl".to_string()])
        .collect();
    let bytes = |log: &Path, out: &str| -> Vec<Vec<u8>> {
        let out = dir.join(out);
        let args = ["split", "--shards", "3", "--dir", arg(&out), arg(log)];
        assert_eq!(run_cli(&args), 0);
        names
            .iter()
            .map(|n| std::fs::read(out.join(n)).unwrap())
            .collect()
    };
    let first = bytes(&whole, "first");
    assert_eq!(first, bytes(&whole, "again"), "same log, same bytes");
    assert_eq!(first, bytes(&reversed, "reversed"), "any order, same bytes");

    let tenant = |event: &Value| {
        event["tenant"]
            .as_str()
            .or(event["data"]["tenant"].as_str())
            .map(str::to_string)
    };
    let mut shard_of_id = BTreeMap::new();
    let mut shards_of_tenant: BTreeMap<Option<String>, BTreeSet<usize>> = BTreeMap::new();
    for (shard, content) in first[..SHARDS].iter().enumerate() {
        for line in std::str::from_utf8(content).unwrap().lines() {
            let event: Value = serde_json::from_str(line).unwrap();
            let id = event["id"].as_str().unwrap().to_string();
            assert!(
                shard_of_id.insert(id, shard).is_none(),
                "{line} in two shards"
            );
            shards_of_tenant
                .entry(tenant(&event))
                .or_default()
                .insert(shard);
        }
    }
    let ids: BTreeSet<String> = lines
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(shard_of_id.keys().cloned().collect::<BTreeSet<_>>(), ids);
    assert!(
        shards_of_tenant.values().all(|s| s.len() == 1),
        "{shards_of_tenant:?}"
    );
    let used: BTreeSet<usize> = shard_of_id.values().copied().collect();
    assert_eq!(used.len(), SHARDS, "7 tenants spread over every shard");
}

/// Zero shards, a bad log and an unknown file are refused with exit code 2,
/// and nothing is written.
#[test]
fn a_split_refuses_what_it_cannot_split() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let whole = generated(dir, &["--events", "100", "--tenants", "3"]);
    let out = dir.join("out");
    let split = |shards: &str, log: &Path| {
        run_cli(&["split", "--shards", shards, "--dir", arg(&out), arg(log)])
    };
    assert_eq!(split("0", &whole), 2);
    let bad = dir.join("bad.jsonl");
    let mut text = std::fs::read_to_string(&whole).unwrap();
    text.push_str("{\"id\": \"late\", \"time\": \"yesterday\", \"action\": \"store\"}\n");
    std::fs::write(&bad, text).unwrap();
    assert_eq!(split("2", &bad), 2);
    assert_eq!(split("2", &dir.join("missing.jsonl")), 2);
    let written = std::fs::read_dir(&out).map_or(0, |entries| entries.count());
    assert_eq!(written, 0, "nothing is written");
    assert_eq!(split("2", &whole), 0);
}

/// A report read back through the one report model and merged alone is
/// the same report, byte for byte: merge drops nothing the report holds,
/// waivers and their fates, rejected records and coverage included.
#[test]
fn a_report_merged_alone_round_trips_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.jsonl");
    let mut text = std::fs::read_to_string("../examples/defender-demo.jsonl").unwrap();
    text.push_str("{\"not\": \"an event\"}\n");
    std::fs::write(&log, text).unwrap();
    let part = dir.path().join("part.json");
    let args = [
        "report",
        "--quiet",
        "--skip-invalid",
        "--waivers",
        "../examples/waivers.toml",
        "-o",
        arg(&part),
        arg(&log),
    ];
    assert_eq!(run_cli(&args), 1);
    let part_json = read(&part);
    assert_eq!(part_json["summary"]["rejected"], 1);
    assert!(part_json["waivers"].as_array().unwrap().len() >= 3);
    let (code, merged) = merge(dir.path(), "merged.json", std::slice::from_ref(&part));
    assert_eq!(code, 1);
    assert_eq!(
        std::fs::read_to_string(&merged).unwrap(),
        std::fs::read_to_string(&part).unwrap()
    );
}
