//! The SARIF output against the official OASIS SARIF 2.1.0 JSON schema, and
//! against what code-scanning tools rely on: one stable descriptor per rule,
//! results that point at the event's line, levels from severity, waivers as
//! suppressions and rules that errored as tool notifications.

use std::path::{Path, PathBuf};

use covenant::evaluate::audit::Audit;
use covenant::policy::{Policy, Severity, sha256_hex};
use covenant::report::{Format, Report};
use covenant_e2e::{fixture, report};
use serde_json::Value;

/// The vendored official schema; tests/schemas/README.md says where it came
/// from.
const SCHEMA_PATH: &str = "schemas/sarif-schema-2.1.0.json";

/// The digest tests/schemas/README.md records for the schema.
const SCHEMA_SHA256: &str = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e";

/// A validator for the official schema, with `format` (uri, uri-reference,
/// date-time) asserted, not just annotated.
fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(SCHEMA_PATH).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

/// The report's SARIF, parsed.
fn sarif(report: &Report) -> Value {
    serde_json::from_str(&Format::Sarif.render(report, false)).unwrap()
}

/// Every schema violation, one per line; empty when the log is valid.
///
/// The official schema declares draft-04, which has no `uri-reference`
/// format, so a draft-04 validator lets any string through where the schema
/// says `"format": "uri-reference"` (every `artifactLocation.uri`). Those
/// strings are checked here against that format under draft-07, which
/// defines it.
fn violations(validator: &jsonschema::Validator, log: &Value) -> Vec<String> {
    let mut found: Vec<String> = validator
        .iter_errors(log)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    let uri_reference = jsonschema::options()
        .should_validate_formats(true)
        .build(&serde_json::json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "string",
            "format": "uri-reference",
        }))
        .unwrap();
    let mut uris = Vec::new();
    artifact_uris(log, &mut uris);
    for uri in uris {
        if let Err(e) = uri_reference.validate(uri) {
            found.push(format!("artifactLocation.uri {uri}: {e}"));
        }
    }
    found
}

/// Every `uri` of an artifact location anywhere in `value`.
fn artifact_uris<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if (key == "artifactLocation" || key == "location") && inner.get("uri").is_some() {
                    out.push(&inner["uri"]);
                }
                artifact_uris(inner, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| artifact_uris(item, out)),
        _ => {}
    }
}

/// Fails with every violation when `log` is not valid SARIF.
fn assert_valid(validator: &jsonschema::Validator, log: &Value, what: &str) {
    let found = violations(validator, log);
    assert!(
        found.is_empty(),
        "{what}: not valid SARIF 2.1.0:\n{}",
        found.join("\n")
    );
}

/// Every fixture log, and the shipped example.
fn every_log() -> Vec<PathBuf> {
    let mut logs: Vec<PathBuf> = std::fs::read_dir("fixtures")
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "jsonl"))
        .collect();
    logs.sort();
    logs.push(PathBuf::from("../examples/defender-demo.jsonl"));
    logs
}

/// The level a severity must map to.
fn expected_level(severity: Option<Severity>) -> &'static str {
    match severity {
        Some(Severity::Critical | Severity::High) | None => "error",
        Some(Severity::Medium) => "warning",
        Some(Severity::Low | Severity::Info) => "note",
    }
}

/// The run's results.
fn results(log: &Value) -> &Vec<Value> {
    log["runs"][0]["results"].as_array().unwrap()
}

/// Checks what every log must satisfy beyond the schema: one descriptor per
/// rule with the policy's ids in order; results in step with the report's
/// findings, each naming its rule by id and index at the rule's level; and
/// suppressions exactly on waived findings.
fn assert_consistent(report: &Report, log: &Value, what: &str) {
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "Covenant", "{what}");
    assert_eq!(
        run["tool"]["driver"]["version"], report.covenant_version,
        "{what}"
    );
    let descriptors = run["tool"]["driver"]["rules"].as_array().unwrap();
    let ids: Vec<&str> = descriptors
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    let rule_ids: Vec<&str> = report.rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids, rule_ids,
        "{what}: one descriptor per rule, in policy order"
    );
    for (descriptor, rule) in descriptors.iter().zip(&report.rules) {
        assert_eq!(
            descriptor["defaultConfiguration"]["level"],
            expected_level(rule.severity),
            "{what}: {}",
            rule.id
        );
        assert_eq!(
            descriptor["fullDescription"]["text"],
            rule.commitment.as_str()
        );
    }

    let findings: Vec<_> = report
        .rules
        .iter()
        .enumerate()
        .flat_map(|(index, rule)| rule.findings.iter().map(move |f| (index, rule, f)))
        .collect();
    let results = results(log);
    assert_eq!(
        results.len(),
        findings.len(),
        "{what}: one result per finding"
    );
    for (result, (index, rule, finding)) in results.iter().zip(findings) {
        assert_eq!(result["ruleId"], rule.id.as_str(), "{what}");
        assert_eq!(result["ruleIndex"], index, "{what}");
        assert_eq!(descriptors[index]["id"], result["ruleId"], "{what}");
        assert_eq!(result["level"], expected_level(rule.severity), "{what}");
        assert_eq!(
            result["message"]["text"],
            finding.message.as_str(),
            "{what}"
        );
        assert_eq!(
            result["properties"]["eventId"],
            finding.event_id.as_str(),
            "{what}"
        );
        assert_eq!(
            result["suppressions"].is_array(),
            finding.waived.is_some(),
            "{what}: {} suppressed exactly when waived",
            finding.event_id
        );
        let key = result["partialFingerprints"]["covenantFinding/v1"]
            .as_str()
            .unwrap();
        assert_eq!(
            key,
            sha256_hex(
                format!("{}\n{}\n{}", rule.id, finding.event_id, finding.message).as_bytes()
            )
        );
    }
    assert_eq!(
        run["invocations"][0]["executionSuccessful"],
        report.summary.rules_errored == 0,
        "{what}"
    );
}

/// Checks that every result of a JSON Lines log points at the line holding
/// its event: the artifact URI is the log's path and `startLine` is the
/// 1-based line whose record has the event's id.
fn assert_lines_point_at_events(log_path: &Path, log: &Value) {
    let text = std::fs::read_to_string(log_path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let uri = log_path.to_str().unwrap();
    for result in results(log) {
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uri"], uri);
        assert_eq!(location["artifactLocation"]["index"], 0);
        let line = location["region"]["startLine"].as_u64().unwrap();
        let record: Value = serde_json::from_str(lines[line as usize - 1]).unwrap();
        assert_eq!(
            record["id"],
            result["properties"]["eventId"],
            "{}:{line}",
            log_path.display()
        );
    }
}

#[test]
fn the_vendored_schema_is_the_official_one_unchanged() {
    let bytes = std::fs::read(SCHEMA_PATH).unwrap();
    assert_eq!(
        sha256_hex(&bytes),
        SCHEMA_SHA256,
        "see tests/schemas/README.md"
    );
    let schema: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        schema["id"],
        "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    );
}

#[test]
fn every_fixture_report_is_valid_sarif() {
    let validator = validator();
    for log_path in every_log() {
        let what = log_path.display().to_string();
        let report = report(std::slice::from_ref(&log_path)).unwrap();
        let log = sarif(&report);
        assert_valid(&validator, &log, &what);
        assert_consistent(&report, &log, &what);
        assert_lines_point_at_events(&log_path, &log);
        let artifact = &log["runs"][0]["artifacts"][0];
        assert_eq!(artifact["location"]["uri"], log_path.to_str().unwrap());
        assert_eq!(
            artifact["hashes"]["sha-256"],
            sha256_hex(&std::fs::read(&log_path).unwrap())
        );
    }
}

#[test]
fn a_known_finding_points_at_its_line_with_its_rules_severity() {
    let report = report(&[fixture("retention.jsonl")]).unwrap();
    let log = sarif(&report);
    let run = &log["runs"][0];
    let descriptors = run["tool"]["driver"]["rules"].as_array().unwrap();
    let retention = descriptors.iter().find(|d| d["id"] == "retention").unwrap();
    // Retention is medium: a warning, with GitHub's numeric severity.
    assert_eq!(retention["defaultConfiguration"]["level"], "warning");
    assert_eq!(retention["properties"]["severity"], "medium");
    assert_eq!(retention["properties"]["security-severity"], "5.5");
    assert_eq!(retention["properties"]["tags"][0], "GDPR Art. 5(1)(e)");
    // ret-03-store-raw is on line 3 of the fixture.
    let result = results(&log)
        .iter()
        .find(|r| r["properties"]["eventId"] == "ret-03-store-raw")
        .unwrap();
    assert_eq!(result["ruleId"], "retention");
    assert_eq!(result["level"], "warning");
    let location = &result["locations"][0]["physicalLocation"];
    assert_eq!(
        location["artifactLocation"]["uri"],
        "fixtures/retention.jsonl"
    );
    assert_eq!(location["region"]["startLine"], 3);
    assert_eq!(result["properties"]["tenant"], "a");
    assert_eq!(result["properties"]["dataId"], "raw-late");
    assert!(result.get("suppressions").is_none());
}

#[test]
fn waived_findings_carry_accepted_suppressions() {
    // The shipped example with its waivers file, redacted: one active, one
    // expired and one stale waiver.
    let example = PathBuf::from("../examples/defender-demo.jsonl");
    let mut audit = Audit::new(Policy::builtin().unwrap(), vec![example]);
    audit.waivers =
        covenant::policy::waivers::load_waivers(Path::new("../examples/waivers.toml")).unwrap();
    audit.redact_key = Some(Vec::new());
    let report = audit.run().unwrap();
    assert!(report.summary.waived > 0, "the example has waived findings");
    let log = sarif(&report);
    assert_valid(&validator(), &log, "waived, redacted example");
    assert_consistent(&report, &log, "waived, redacted example");

    let suppressed: Vec<&Value> = results(&log)
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len() as u64, report.summary.waived);
    for result in suppressed {
        let suppressions = result["suppressions"].as_array().unwrap();
        assert_eq!(suppressions.len(), 1);
        let suppression = &suppressions[0];
        assert_eq!(suppression["kind"], "external");
        assert_eq!(suppression["status"], "accepted");
        assert_eq!(suppression["properties"]["waiver"], "WVR-101");
        // The approver's address names the customer, so it is redacted too.
        let contoso = covenant::policy::redact::Redactor::new(Vec::new(), b"").hash("contoso");
        assert_eq!(
            suppression["properties"]["approver"],
            format!("dpo@{contoso}.example")
        );
        assert_eq!(suppression["properties"]["expires"], "2026-06-30");
        assert!(
            suppression["justification"]
                .as_str()
                .unwrap()
                .starts_with("Legal hold")
        );
        assert_eq!(result["ruleId"], "retention");
    }
    assert_eq!(
        log["runs"][0]["properties"]["redactedFields"],
        serde_json::to_value(&report.redacted).unwrap()
    );
}

#[test]
fn errored_rules_are_error_notifications_and_the_log_stays_valid() {
    // A policy naming a plugin file that does not exist, with a waiver of
    // its own in a [[waiver]] table.
    let dir = tempfile::tempdir().unwrap();
    let mut policy = covenant::policy::DEFAULT_POLICY.to_string();
    policy.push_str(
        "\n[[rule]]\nid = \"missing\"\nplugin = \"missing.wasm\"\ncommitment = \"Never runs.\"\n\
         \n[[waiver]]\nid = \"W-1\"\nrule = \"retention\"\nreason = \"legal hold\"\n\
         approver = \"dpo@example.com\"\nexpires = 2030-01-01\n",
    );
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, policy).unwrap();
    let audit = Audit::new(
        Policy::load(&path).unwrap(),
        vec![fixture("retention.jsonl")],
    );
    let report = audit.run().unwrap();
    assert_eq!(report.summary.rules_errored, 1);
    let log = sarif(&report);
    assert_valid(&validator(), &log, "errored rule");
    assert_consistent(&report, &log, "errored rule");

    let run = &log["runs"][0];
    let invocation = &run["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let notifications = invocation["toolExecutionNotifications"].as_array().unwrap();
    assert_eq!(notifications.len(), 1);
    let notification = &notifications[0];
    assert_eq!(notification["level"], "error");
    assert_eq!(notification["descriptor"]["id"], "missing");
    assert_eq!(notification["associatedRule"]["id"], "missing");
    let index = report.rules.iter().position(|r| r.id == "missing").unwrap();
    assert_eq!(notification["associatedRule"]["index"], index);
    assert!(
        notification["message"]["text"]
            .as_str()
            .unwrap()
            .contains("missing.wasm"),
        "{notification}"
    );
    // A rule that never loaded has no severity: it is reported as an error.
    let descriptor = &run["tool"]["driver"]["rules"][index];
    assert_eq!(descriptor["defaultConfiguration"]["level"], "error");
    assert_eq!(descriptor["properties"]["status"], "error");

    let waived: Vec<&Value> = results(&log)
        .iter()
        .filter(|r| r["ruleId"] == "retention")
        .collect();
    assert!(!waived.is_empty());
    for result in waived {
        let suppression = &result["suppressions"][0];
        assert_eq!(suppression["status"], "accepted");
        assert_eq!(suppression["justification"], "legal hold");
        assert_eq!(suppression["properties"]["waiver"], "W-1");
    }
}

#[test]
fn json_arrays_odd_file_names_and_standard_input_are_valid_sarif() {
    let validator = validator();
    let dir = tempfile::tempdir().unwrap();

    // A `.json` array under a name with a space and a `#`: no line, so no
    // region; the element is a property, and the absolute path a file URI.
    let text = std::fs::read_to_string(fixture("retention.jsonl")).unwrap();
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let array = dir.path().join("retention log #1.json");
    std::fs::write(&array, serde_json::to_string(&events).unwrap()).unwrap();
    let report = report(std::slice::from_ref(&array)).unwrap();
    let log = sarif(&report);
    assert_valid(&validator, &log, "json array");
    assert_consistent(&report, &log, "json array");
    assert!(!results(&log).is_empty());
    for result in results(&log) {
        let location = &result["locations"][0]["physicalLocation"];
        let uri = location["artifactLocation"]["uri"].as_str().unwrap();
        assert!(uri.starts_with("file:///"), "{uri}");
        assert!(uri.ends_with("/retention%20log%20%231.json"), "{uri}");
        assert!(location.get("region").is_none());
        let element = result["properties"]["arrayElement"].as_u64().unwrap();
        assert_eq!(
            events[element as usize - 1]["id"],
            result["properties"]["eventId"]
        );
    }

    // Standard input has no file: results name the event instead. The
    // report is taken over the fixture and renamed, as the reader names
    // standard input.
    let mut report = covenant_e2e::report(&[fixture("retention.jsonl")]).unwrap();
    for input in &mut report.inputs {
        input.name = "<stdin>".to_string();
    }
    for rule in &mut report.rules {
        for finding in &mut rule.findings {
            finding.file = "<stdin>".to_string();
        }
    }
    let log = sarif(&report);
    assert_valid(&validator, &log, "standard input");
    assert_consistent(&report, &log, "standard input");
    let artifact = &log["runs"][0]["artifacts"][0];
    assert!(artifact.get("location").is_none());
    assert_eq!(artifact["description"]["text"], "standard input");
    let result = results(&log)
        .iter()
        .find(|r| r["properties"]["eventId"] == "ret-03-store-raw")
        .unwrap();
    let location = &result["locations"][0];
    assert!(location.get("physicalLocation").is_none());
    assert_eq!(location["logicalLocations"][0]["name"], "ret-03-store-raw");
    assert_eq!(location["message"]["text"], "standard input, line 3");
}

/// A named change that makes a SARIF log invalid.
type Mutation = (&'static str, fn(&mut Value));

#[test]
fn the_validator_rejects_what_is_not_sarif() {
    // Proves the schema is enforced, so the passing tests mean something.
    let validator = validator();
    let good = sarif(&report(&[fixture("retention.jsonl")]).unwrap());
    assert_valid(&validator, &good, "unchanged");
    let mutations: [Mutation; 7] = [
        ("version 9.9", |log| log["version"] = "9.9".into()),
        ("level fatal", |log| {
            log["runs"][0]["results"][0]["level"] = "fatal".into()
        }),
        ("startLine 0", |log| {
            log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
                0.into()
        }),
        ("unknown property", |log| {
            log["runs"][0]["results"][0]["severity"] = "high".into()
        }),
        ("suppression kind", |log| {
            log["runs"][0]["results"][0]["suppressions"] =
                serde_json::json!([{ "kind": "ignored", "status": "accepted" }])
        }),
        ("URI with a space", |log| {
            log["runs"][0]["artifacts"][0]["location"]["uri"] = "fixtures/a b.jsonl".into()
        }),
        ("repeated tag", |log| {
            log["runs"][0]["tool"]["driver"]["rules"][0]["properties"]["tags"] =
                serde_json::json!(["a", "a"])
        }),
    ];
    for (what, mutate) in mutations {
        let mut bad = good.clone();
        mutate(&mut bad);
        assert!(
            !violations(&validator, &bad).is_empty(),
            "{what} was accepted"
        );
    }
}

#[test]
fn the_same_report_gives_the_same_bytes_and_stable_fingerprints() {
    let first = report(&[fixture("retention.jsonl"), fixture("segregation.jsonl")]).unwrap();
    let second = report(&[fixture("retention.jsonl"), fixture("segregation.jsonl")]).unwrap();
    let text = Format::Sarif.render(&first, false);
    assert_eq!(text, Format::Sarif.render(&second, false));
    assert!(text.ends_with("}\n"));
    let log: Value = serde_json::from_str(&text).unwrap();
    assert_valid(&validator(), &log, "two inputs");
    // The second input's results point at the second artifact.
    let uris: Vec<&str> = log["runs"][0]["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["location"]["uri"].as_str().unwrap())
        .collect();
    assert_eq!(
        uris,
        ["fixtures/retention.jsonl", "fixtures/segregation.jsonl"]
    );
    for result in results(&log) {
        let location = &result["locations"][0]["physicalLocation"]["artifactLocation"];
        let index = location["index"].as_u64().unwrap() as usize;
        assert_eq!(location["uri"], uris[index]);
    }
    // Fingerprints are distinct across results.
    let mut prints: Vec<&str> = results(&log)
        .iter()
        .map(|r| {
            r["partialFingerprints"]["covenantFinding/v1"]
                .as_str()
                .unwrap()
        })
        .collect();
    let count = prints.len();
    prints.sort_unstable();
    prints.dedup();
    assert_eq!(prints.len(), count);
}
