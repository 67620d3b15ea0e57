//! The Spark job (`integrations/spark/covenant_spark.py`) in Spark's local
//! mode, started by `spark-submit` and by plain `python3`, with the
//! `covenant` binary under test: its merged report equals
//! one run over the whole log, a retried shard is counted once, and a shard
//! or an input that fails fails the job with its error.
//!
//! pyspark comes from PyPI and Java from Debian; `.ci/run` installs both
//! (`pip install -r integrations/spark/requirements.txt`). Without them each
//! test prints a note and passes, except on CI (`CI` set), where it fails:
//! CI installs them, so a missing one there is a broken setup.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

mod common;

use common::{covenant, stderr};

const COVENANT: &str = env!("CARGO_BIN_EXE_covenant");

/// Whether pyspark and a Java runtime are installed; off CI, a note when
/// not.
fn spark_installed() -> bool {
    let works = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    let missing = if !works("python3", &["-c", "import pyspark"]) {
        "pyspark"
    } else if !works("java", &["-version"]) {
        "java"
    } else {
        return true;
    };
    assert!(
        std::env::var_os("CI").is_none(),
        "{missing} is missing on CI, which .ci/run installs"
    );
    eprintln!("note: leaving out the Spark job's test: no {missing} (.ci/run installs it)");
    false
}

fn job_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../integrations/spark/covenant_spark.py")
}

/// How the job is started: both ways the README gives.
enum Launch {
    /// `spark-submit --master MASTER covenant_spark.py ...`
    SparkSubmit,
    /// `python3 covenant_spark.py --master MASTER ...`
    Python,
}

/// Runs the job in local mode with `covenant` as its binary.
fn spark_job(dir: &Path, launch: Launch, master: &str, covenant: &Path, args: &[&str]) -> Output {
    let mut command = match launch {
        Launch::SparkSubmit => {
            let mut command = Command::new("spark-submit");
            command.args(["--master", master]).arg(job_script());
            command
        }
        Launch::Python => {
            let mut command = Command::new("python3");
            command.arg(job_script()).args(["--master", master]);
            command
        }
    };
    command
        .arg("--covenant")
        .arg(covenant)
        .args(args)
        .current_dir(dir)
        .env("COVENANT_CACHE_DIR", dir.join("cache"))
        .stdin(Stdio::null())
        .output()
        .expect("the job starts")
}

/// A generated log with cross-tenant derivations, laid out as an auditor
/// is handed one: `logs/` holds a plain file, a gzipped one a level down,
/// and a CloudTrail trail (a document with a repeated record, and the
/// trail's digest). Returns the whole generated log too.
fn log_directory(dir: &Path) -> PathBuf {
    let whole = dir.join("whole.jsonl");
    let generate = covenant(
        dir,
        &[
            "generate",
            "--events",
            "3000",
            "--tenants",
            "9",
            "--seed",
            "11",
            "--violation-rate",
            "0.05",
            "-o",
            whole.to_str().unwrap(),
        ],
    );
    assert!(generate.status.success(), "{}", stderr(&generate));
    let text = std::fs::read_to_string(&whole).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let logs = dir.join("logs");
    std::fs::create_dir_all(logs.join("day-2")).unwrap();
    std::fs::write(logs.join("day-1.jsonl"), lines[..1500].join("\n")).unwrap();
    let gz = std::fs::File::create(logs.join("day-2/events.jsonl.gz")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(gz, flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, lines[1500..].join("\n").as_bytes()).unwrap();
    gz.finish().unwrap();
    let trail = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/formats/cloudtrail");
    std::fs::create_dir_all(logs.join("trail")).unwrap();
    for entry in std::fs::read_dir(trail).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), logs.join("trail").join(entry.file_name())).unwrap();
    }
    logs
}

/// A `covenant` that fails (`exit CODE`, saying so) on the reports of
/// shards whose file name the `case` pattern `shards` matches. With `once`,
/// only the first such report fails, and after writing its part, so that
/// Spark's retry of the task succeeds.
fn failing_covenant(dir: &Path, shards: &str, code: u8, once: bool) -> PathBuf {
    let marker = dir.join("failed-once");
    let before_failing = match once {
        true => format!(
            "mkdir '{}' 2>/dev/null || exec '{COVENANT}' \"$@\"\n'{COVENANT}' \"$@\"",
            marker.display()
        ),
        false => String::new(),
    };
    let script = format!(
        "#!/bin/sh\n\
         case \"$1 $*\" in\n\
         report*{shards}*)\n\
         {before_failing}\n\
         echo \"covenant: error: the test failed this shard's report\" >&2\n\
         exit {code};;\n\
         esac\n\
         exec '{COVENANT}' \"$@\"\n"
    );
    let path = dir.join("bin/covenant");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A report without what differs between shards and one run by design:
/// the list of inputs and each finding's place.
fn without_places(mut report: Value) -> Value {
    report.as_object_mut().unwrap().remove("inputs");
    for rule in report["rules"].as_array_mut().unwrap() {
        for finding in rule["findings"].as_array_mut().unwrap() {
            let finding = finding.as_object_mut().unwrap();
            for place in ["file", "line", "element", "location"] {
                finding.remove(place);
            }
        }
    }
    report
}

/// The job over a log in several files and formats, with a policy and
/// waivers shipped to the executors and each shard's first report failing
/// once after writing its part, gives the report of one run over the same
/// files and `covenant split`'s lineage: same findings, waivers, counts,
/// as-of and verdict.
#[test]
fn the_job_merges_into_the_report_of_one_run_with_retried_shards_counted_once() {
    if !spark_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    log_directory(dir);
    let policy = dir.join("policy/defender.toml");
    std::fs::create_dir_all(policy.parent().unwrap()).unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/defender-for-cloud.toml");
    std::fs::copy(shipped, &policy).unwrap();
    std::fs::write(
        dir.join("waivers.toml"),
        "[[waiver]]\nid = \"W-1\"\nrule = \"segregation\"\nreason = \"test\"\n\
         approver = \"dpo@example.com\"\nexpires = 2099-01-01\ntenants = [\"tenant-0003\"]\n",
    )
    .unwrap();
    let rules = [
        "--policy",
        "policy/defender.toml",
        "--waivers",
        "waivers.toml",
    ];
    let flaky = failing_covenant(dir, "shard-", 3, true);
    // local[2,2]: two cores, and a failed task is tried twice.
    let mut args = vec!["--shards", "4", "-o", "merged.json", "-o", "merged.sarif"];
    args.extend(rules);
    args.push("logs");
    let job = spark_job(dir, Launch::SparkSubmit, "local[2,2]", &flaky, &args);
    assert_eq!(job.status.code(), Some(1), "findings: {}", stderr(&job));
    assert!(
        dir.join("failed-once").exists(),
        "a shard's report failed once"
    );

    let split = covenant(dir, &["split", "--shards", "1", "--dir", "split", "logs"]);
    assert!(split.status.success(), "{}", stderr(&split));
    let mut args = vec!["report", "--quiet", "-o", "single.json"];
    args.extend(rules);
    args.extend(["logs", "split/lineage.jsonl"]);
    let single = covenant(dir, &args);
    assert_eq!(single.status.code(), Some(1), "{}", stderr(&single));

    let merged = read(&dir.join("merged.json"));
    let single = read(&dir.join("single.json"));
    assert_eq!(without_places(merged.clone()), without_places(single));
    let waived = merged["waivers"].as_array().unwrap();
    assert!(waived.iter().any(|w| w["id"] == "W-1"), "{waived:?}");

    // The job's lineage is split's, byte for byte, and every shard read it.
    let lineage = std::fs::read(dir.join("split/lineage.jsonl")).unwrap();
    assert!(!lineage.is_empty(), "the log has cross-tenant derivations");
    let inputs = merged["inputs"].as_array().unwrap();
    let shared = inputs
        .iter()
        .find(|i| i["name"] == "lineage.jsonl")
        .unwrap();
    use sha2::Digest;
    assert_eq!(shared["sha256"], hex(&sha2::Sha256::digest(&lineage)));
    // Not vacuous: more than one shard, each event in one of them.
    let shards: Vec<&Value> = inputs
        .iter()
        .filter(|i| i["name"] != "lineage.jsonl")
        .collect();
    assert!(shards.len() > 1, "{inputs:?}");
    let sharded: u64 = shards.iter().map(|i| i["events"].as_u64().unwrap()).sum();
    assert_eq!(
        sharded + shared["events"].as_u64().unwrap(),
        merged["summary"]["events"]
    );
    assert!(
        std::fs::read_to_string(dir.join("merged.sarif"))
            .unwrap()
            .contains("\"segregation\"")
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A shard whose report fails fails the job with that shard's error and
/// exit code, and no merged report is written.
#[test]
fn a_shard_whose_report_fails_fails_the_job_with_its_error() {
    if !spark_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    log_directory(dir);
    let broken = failing_covenant(dir, "shard-1.jsonl", 2, false);
    let job = spark_job(
        dir,
        Launch::Python,
        "local[2]",
        &broken,
        &["--shards", "4", "-o", "merged.json", "logs"],
    );
    assert_eq!(job.status.code(), Some(2), "{}", stderr(&job));
    assert!(
        stderr(&job).contains(
            "covenant-spark: shard 1: covenant report exited 2: covenant: error: the test failed this shard's report"
        ),
        "{}",
        stderr(&job)
    );
    assert!(!dir.join("merged.json").exists());
}

/// An input that is not a valid log fails the job with covenant's error,
/// naming the file as the job was given it and the line.
#[test]
fn an_invalid_record_fails_the_job_naming_its_file_and_line() {
    if !spark_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let logs = log_directory(dir);
    std::fs::write(
        logs.join("day-3.jsonl"),
        "{\"id\":\"late-1\",\"time\":\"2026-02-01T00:00:00Z\",\"action\":\"access\"}\n{\"id\":\"late-2\"}\n",
    )
    .unwrap();
    let job = spark_job(
        dir,
        Launch::Python,
        "local[2]",
        Path::new(COVENANT),
        &["--shards", "2", "-o", "merged.json", "logs"],
    );
    assert_eq!(job.status.code(), Some(2), "{}", stderr(&job));
    let said = stderr(&job);
    let line = said
        .lines()
        .find_map(|l| l.find("covenant-spark: ").map(|at| &l[at..]))
        .unwrap_or_else(|| panic!("{said}"));
    assert!(line.contains("covenant convert exited 2: "), "{line}");
    assert!(line.contains("day-3.jsonl:2: "), "{line}");
    assert!(!dir.join("merged.json").exists());
}
