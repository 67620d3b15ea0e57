//! Logs in the formats auditors are handed: CloudTrail, OCSF and
//! OpenLineage records, told apart per file, mapped to schema v1, with
//! findings placed at the source record; and a format of one's own through
//! a mapping file, with no code.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

mod common;

use common::{covenant, stderr};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/formats")
}

fn stdout(run: &Output) -> String {
    String::from_utf8_lossy(&run.stdout).into_owned()
}

/// The JSON report over `logs`.
fn report(dir: &Path, logs: &[&str]) -> Value {
    let mut args = vec!["report", "--quiet", "--format", "json", "-o", "report.json"];
    args.extend_from_slice(logs);
    let run = covenant(dir, &args);
    let code = run.status.code();
    assert!(
        code == Some(0) || code == Some(1),
        "exit {code:?}: {}",
        stderr(&run)
    );
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

/// Copies the fixture directory `name` into `dir`.
fn copy_fixture(name: &str, dir: &Path) {
    std::fs::create_dir_all(dir.join(name)).unwrap();
    for entry in std::fs::read_dir(fixtures().join(name)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(name).join(entry.file_name())).unwrap();
    }
}

#[test]
fn each_shipped_format_maps_its_fixture_records_to_the_expected_events() {
    // `split` and `convert` write the events a log maps to, in time order:
    // exactly what the rules are given.
    for format in ["cloudtrail", "ocsf", "openlineage"] {
        let dir = tempfile::tempdir().unwrap();
        copy_fixture(format, dir.path());
        let run = covenant(
            dir.path(),
            &["split", "--shards", "1", "--dir", "out", format],
        );
        assert!(run.status.success(), "{format}: {}", stderr(&run));
        let written = std::fs::read_to_string(dir.path().join("out/shard-0.jsonl")).unwrap();
        let expected =
            std::fs::read_to_string(fixtures().join(format!("{format}.expected.jsonl"))).unwrap();
        let lines = |text: &str| -> Vec<Value> {
            text.lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        };
        assert_eq!(lines(&written), lines(&expected), "{format}");

        // `convert` writes the same events, byte for byte, to a file or to
        // standard output.
        let run = covenant(dir.path(), &["convert", "-o", "events.jsonl", format]);
        assert!(run.status.success(), "{format}: {}", stderr(&run));
        let converted = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
        assert_eq!(converted, written, "{format}");
        let run = covenant(dir.path(), &["convert", format]);
        assert!(run.status.success(), "{format}: {}", stderr(&run));
        assert_eq!(stdout(&run), written, "{format}");
    }
}

#[test]
fn findings_are_placed_at_the_record_they_were_mapped_from() {
    let dir = tempfile::tempdir().unwrap();
    // One report each: Security Lake's OCSF copy of a trail names its
    // calls by the trail's own ids, so the two cannot be read together.
    let reports: Vec<Value> = ["cloudtrail", "ocsf", "openlineage"]
        .iter()
        .map(|format| {
            copy_fixture(format, dir.path());
            report(dir.path(), &[format])
        })
        .collect();
    let mut placed = 0;
    for rule in reports.iter().flat_map(|r| r["rules"].as_array().unwrap()) {
        for finding in rule["findings"].as_array().unwrap() {
            let id = finding["event_id"].as_str().unwrap();
            let source_id = id.split('#').next().unwrap();
            let file = dir.path().join(finding["file"].as_str().unwrap());
            let text = std::fs::read_to_string(&file).unwrap();
            let record: Value = match (finding["line"].as_u64(), finding["element"].as_u64()) {
                (Some(line), None) => {
                    serde_json::from_str(text.lines().nth(line as usize - 1).unwrap()).unwrap()
                }
                (None, Some(element)) => {
                    let document: Value = serde_json::from_str(&text).unwrap();
                    document["Records"][element as usize - 1].clone()
                }
                other => panic!("{id}: placed at {other:?}"),
            };
            let record_text = record.to_string();
            let names_it = match source_id.split_once(':') {
                // Digest ids name the record's content; OpenLineage ids its run.
                Some(("ocsf", digest)) => {
                    use sha2::Digest;
                    let sha = sha2::Sha256::digest(record_text.as_bytes());
                    digest
                        == sha[..8]
                            .iter()
                            .map(|b| format!("{b:02x}"))
                            .collect::<String>()
                }
                Some(("ol", rest)) => record_text.contains(rest.split(':').next().unwrap()),
                _ => record_text.contains(source_id),
            };
            assert!(
                names_it,
                "{id} is placed at {}, which holds {record_text}",
                finding["location"]
            );
            placed += 1;
        }
    }
    assert!(placed >= 3, "the fixtures break commitments: {reports:?}");
    let inputs: Vec<&Value> = reports
        .iter()
        .flat_map(|r| r["inputs"].as_array().unwrap())
        .collect();
    let mapping_of = |suffix: &str| {
        let input = inputs
            .iter()
            .find(|i| i["name"].as_str().unwrap().ends_with(suffix))
            .unwrap();
        (
            input["mapping"].as_str().unwrap().to_string(),
            input["skipped"].as_u64().unwrap_or(0),
            input["folded"].as_u64().unwrap_or(0),
        )
    };
    assert_eq!(mapping_of("_x1.json"), ("cloudtrail".into(), 2, 1));
    assert_eq!(
        mapping_of("Digest_eu-west-1_20260301T0905Z.json").0,
        "cloudtrail-digest"
    );
    assert_eq!(mapping_of("security-lake.jsonl"), ("ocsf".into(), 2, 0));
    assert_eq!(mapping_of("airflow.jsonl"), ("openlineage".into(), 2, 1));
}

#[test]
fn a_compressed_cloudtrail_file_reports_as_the_plain_one() {
    let dir = tempfile::tempdir().unwrap();
    let name = "111122223333_CloudTrail_eu-west-1_20260301T0905Z_x1.json";
    let plain = std::fs::read(fixtures().join("cloudtrail").join(name)).unwrap();
    std::fs::write(dir.path().join(name), &plain).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&plain).unwrap();
    std::fs::write(dir.path().join(format!("{name}.gz")), gz.finish().unwrap()).unwrap();
    let zst = zstd::encode_all(&plain[..], 3).unwrap();
    std::fs::write(dir.path().join(format!("{name}.zst")), zst).unwrap();
    let strip = |mut report: Value, file: &str| {
        // The bytes read differ; what was read of them must not.
        for input in report["inputs"].as_array_mut().unwrap() {
            input["sha256"] = Value::Null;
        }
        report.to_string().replace(file, name)
    };
    let expected = strip(report(dir.path(), &[name]), name);
    for compressed in [format!("{name}.gz"), format!("{name}.zst")] {
        let got = strip(report(dir.path(), &[&compressed]), &compressed);
        assert_eq!(got, expected, "{compressed}");
    }
}

#[test]
fn validate_says_what_each_file_was_read_as() {
    let dir = tempfile::tempdir().unwrap();
    copy_fixture("cloudtrail", dir.path());
    let run = covenant(dir.path(), &["validate", "cloudtrail"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let out = stdout(&run);
    assert!(
        out.contains(
            "_x1.json: cloudtrail document, 2 records mapped to no event, 1 repeated record folded, 5 events"
        ),
        "{out}"
    );
    assert!(out.contains("eventbridge.jsonl: cloudtrail lines"), "{out}");
    assert!(
        out.contains("Digest_eu-west-1_20260301T0905Z.json: cloudtrail-digest document, 0 events"),
        "{out}"
    );
}

/// A CloudTrail file whose records are `records`, as JSON texts.
fn trail(dir: &Path, records: &[String]) {
    let text = format!("{{\"Records\":[{}]}}", records.join(","));
    std::fs::write(dir.join("trail.json"), text).unwrap();
}

fn get_object(id: &str, time: &str, key: &str) -> String {
    serde_json::json!({
        "eventVersion": "1.11", "eventID": id, "eventTime": time,
        "eventSource": "s3.amazonaws.com", "eventName": "GetObject", "awsRegion": "eu-west-1",
        "userIdentity": {"type": "AWSService", "invokedBy": "athena.amazonaws.com", "accountId": "111122223333"},
        "requestParameters": {"bucketName": "b", "key": key},
    })
    .to_string()
}

#[test]
fn a_record_the_mapping_cannot_place_is_an_error_naming_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let mut untimed: Value = serde_json::from_str(&get_object("e2", "x", "k")).unwrap();
    untimed.as_object_mut().unwrap().remove("eventTime");
    let mut unnamed: Value = serde_json::from_str(&get_object("e3", "x", "k")).unwrap();
    unnamed["eventID"] = Value::Null;
    unnamed["eventTime"] = "2026-03-01T00:00:03Z".into();
    trail(
        dir.path(),
        &[
            get_object("e1", "2026-03-01T00:00:01Z", "k"),
            untimed.to_string(),
            unnamed.to_string(),
            get_object("e4", "2026-03-01 noon", "k"),
        ],
    );
    let run = covenant(dir.path(), &["validate", "trail.json"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        stderr(&run).contains("trail.json element 2: mapped as cloudtrail: no `time`"),
        "{}",
        stderr(&run)
    );
    let run = covenant(dir.path(), &["validate", "--skip-invalid", "trail.json"]);
    assert_eq!(run.status.code(), Some(2));
    let out = stdout(&run);
    assert!(
        out.contains("trail.json element 3: mapped as cloudtrail: no `id`"),
        "{out}"
    );
    assert!(
        out.contains("trail.json element 4: time `2026-03-01 noon`"),
        "{out}"
    );
    assert!(out.contains("1 events in 1 input"), "{out}");
}

#[test]
fn a_repeated_id_with_other_content_is_still_an_error() {
    let dir = tempfile::tempdir().unwrap();
    trail(
        dir.path(),
        &[
            get_object("e1", "2026-03-01T00:00:01Z", "a"),
            get_object("e1", "2026-03-01T00:00:01Z", "a"),
            get_object("e1", "2026-03-01T00:00:01Z", "b"),
        ],
    );
    let run = covenant(dir.path(), &["report", "trail.json"]);
    assert_eq!(run.status.code(), Some(2), "{}", stdout(&run));
    assert!(
        stderr(&run).contains(
            "trail.json element 3: field `id`: duplicate event id `e1` with other content (first seen at line 1)"
        ),
        "{}",
        stderr(&run)
    );
    // The exact repeat alone folds, and the report counts it.
    trail(
        dir.path(),
        &[
            get_object("e1", "2026-03-01T00:00:01Z", "a"),
            get_object("e1", "2026-03-01T00:00:01Z", "a"),
        ],
    );
    let report = report(dir.path(), &["trail.json"]);
    assert_eq!(report["inputs"][0]["events"], 1);
    assert_eq!(report["inputs"][0]["folded"], 1);
}

#[test]
fn the_readme_example_mapping_reads_its_log_with_no_code() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/formats");
    let mapping = std::fs::read_to_string(examples.join("ticket-audit.toml")).unwrap();
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    assert!(
        readme.contains(mapping.trim()),
        "README.md shows examples/formats/ticket-audit.toml as it is"
    );
    let dir = tempfile::tempdir().unwrap();
    let run = covenant(
        dir.path(),
        &[
            "report",
            "--quiet",
            "--format",
            "json",
            "-o",
            "report.json",
            "--mapping",
            examples.join("ticket-audit.toml").to_str().unwrap(),
            examples.join("ticket-audit.jsonl").to_str().unwrap(),
        ],
    );
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["inputs"][0]["mapping"], "ticket-audit");
    let found: Vec<(&str, &str)> = (report["rules"].as_array().unwrap().iter())
        .flat_map(|rule| {
            let id = rule["id"].as_str().unwrap();
            (rule["findings"].as_array().unwrap().iter())
                .map(move |f| (id, f["event_id"].as_str().unwrap()))
        })
        .collect();
    assert!(found.contains(&("advertising-ban", "T-1003")), "{found:?}");
    assert!(found.contains(&("segregation", "T-1004")), "{found:?}");
}

#[test]
fn formats_lists_the_profiles_and_prints_one_to_copy() {
    let dir = tempfile::tempdir().unwrap();
    let run = covenant(dir.path(), &["formats"]);
    assert!(run.status.success());
    let out = stdout(&run);
    for name in [
        "covenant",
        "cloudtrail",
        "cloudtrail-digest",
        "ocsf",
        "openlineage",
    ] {
        assert!(out.lines().any(|l| l.starts_with(name)), "{name}: {out}");
    }
    let run = covenant(dir.path(), &["formats", "ocsf"]);
    assert!(run.status.success());
    std::fs::write(
        dir.path().join("mine.toml"),
        stdout(&run).replace("name = \"ocsf\"", "name = \"mine\""),
    )
    .unwrap();
    std::fs::copy(
        fixtures().join("ocsf/endpoints.jsonl"),
        dir.path().join("e.jsonl"),
    )
    .unwrap();
    let run = covenant(
        dir.path(),
        &["validate", "--mapping", "mine.toml", "e.jsonl"],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(
        stdout(&run).contains("e.jsonl: mine lines, 3 events"),
        "{}",
        stdout(&run)
    );
}

#[test]
fn bad_choices_of_format_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("log.jsonl"), "").unwrap();
    let run = covenant(
        dir.path(),
        &["report", "--input-format", "syslog", "log.jsonl"],
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(
        stderr(&run).contains("--input-format: unknown input format `syslog` (known: auto, covenant, cloudtrail, cloudtrail-digest, ocsf, openlineage"),
        "{}",
        stderr(&run)
    );
    std::fs::write(
        dir.path().join("bad.toml"),
        "name = \"x\"\n[event]\nid = \"a[\"\n",
    )
    .unwrap();
    let run = covenant(
        dir.path(),
        &["validate", "--mapping", "bad.toml", "log.jsonl"],
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(
        stderr(&run).contains("mapping bad.toml"),
        "{}",
        stderr(&run)
    );
    // A CloudTrail file read as schema v1 on purpose fails as one.
    trail(dir.path(), &[get_object("e1", "2026-03-01T00:00:01Z", "a")]);
    let run = covenant(
        dir.path(),
        &["validate", "--input-format", "covenant", "trail.json"],
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(
        stderr(&run).contains("a .json log must hold an array of events"),
        "{}",
        stderr(&run)
    );
}
