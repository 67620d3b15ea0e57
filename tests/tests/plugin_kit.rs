//! The plugin author's kit: `covenant plugin test`, `inspect` and `new`,
//! including a scaffolded Rust project built and tested from nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use covenant::cli::{EXIT_BAD_INPUT, EXIT_COMPLIANT, EXIT_FINDINGS};
use covenant::kit::cases::{Difference, Outcome, discover, render};
use covenant::policy::PluginRef;
use covenant::runtime::PluginRuntime;
use covenant_e2e::{arg as path, fixture, run_cli as run, test_plugin};

/// Each built-in rule passes its own fixture case through the same harness
/// a plugin author uses.
#[test]
fn builtin_rules_pass_their_fixture_cases() {
    for name in covenant::policy::builtin::names() {
        let log = fixture(&format!("{name}.jsonl"));
        assert_eq!(
            run(&["plugin", "test", &format!("builtin:{name}"), path(&log)]),
            EXIT_COMPLIANT,
            "{name}"
        );
    }
}

/// `covenant plugin test [--update] builtin:retention LOG`'s exit code.
fn test_retention(log: &Path, update: bool) -> u8 {
    let mut args = vec!["plugin", "test"];
    if update {
        args.push("--update");
    }
    args.extend(["builtin:retention", path(log)]);
    run(&args)
}

/// A case copied beside an edited expected file, for tests that break it.
fn retention_case(dir: &Path, expected: &str) -> PathBuf {
    let log = dir.join("retention.jsonl");
    std::fs::copy(fixture("retention.jsonl"), &log).unwrap();
    std::fs::write(dir.join("retention.expected.toml"), expected).unwrap();
    log
}

/// A wrong expectation fails with a diff naming each difference, and
/// `--update` rewrites only the findings, after which the case passes.
#[test]
fn a_mismatch_shows_a_diff_and_update_accepts_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let real = std::fs::read_to_string(fixture("retention.expected.toml")).unwrap();
    // Drop the first finding's event, expect one that never happens, and
    // change one message.
    let edited = real
        .replacen(
            "event = \"ret-03-store-raw\"",
            "event = \"ret-99-imagined\"",
            1,
        )
        .replacen("9 days after its deadline", "8 days after its deadline", 1);
    assert_ne!(
        edited, real,
        "the fixture's expectations changed; update this test"
    );
    let log = retention_case(dir.path(), &format!("# keep me\n{edited}"));
    let plugin = PluginRef::Builtin("retention".to_string());
    let runtime = PluginRuntime::new().unwrap();
    let case = &discover(std::slice::from_ref(&log)).unwrap()[0];

    let outcome = case.run(&runtime, &plugin, "retention", false).unwrap();
    let Outcome::Fail(differences) = &outcome else {
        panic!("expected a failure, got {outcome:?}");
    };
    assert!(
        differences
            .iter()
            .any(|d| matches!(d, Difference::Missing(f) if f.event == "ret-99-imagined"))
    );
    assert!(
        differences
            .iter()
            .any(|d| matches!(d, Difference::Unexpected(f) if f.event == "ret-03-store-raw"))
    );
    assert!(
        differences
            .iter()
            .any(|d| matches!(d, Difference::Message { .. }))
    );
    let text = render(case, &outcome);
    assert!(
        text.starts_with(&format!("FAIL    {}:\n", log.display())),
        "{text}"
    );
    assert!(text.contains("  - retention ret-99-imagined"), "{text}");
    assert!(text.contains("  + retention ret-03-store-raw"), "{text}");
    assert!(text.contains("      - "), "{text}");
    assert_eq!(test_retention(&log, false), EXIT_FINDINGS);

    assert_eq!(test_retention(&log, true), EXIT_COMPLIANT);
    let updated = std::fs::read_to_string(dir.path().join("retention.expected.toml")).unwrap();
    assert!(updated.starts_with("# keep me\n"), "{updated}");
    assert_eq!(test_retention(&log, false), EXIT_COMPLIANT);
}

/// A case can expect the rule to refuse its configuration, and a case
/// whose expected file is not valid is bad input, not a failing plugin.
#[test]
fn cases_can_expect_errors_and_broken_cases_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let log = retention_case(
        dir.path(),
        "error = \"unknown field `no_such_setting`\"\n[config]\nno_such_setting = 1\n",
    );
    assert_eq!(test_retention(&log, false), EXIT_COMPLIANT);
    std::fs::write(
        dir.path().join("retention.expected.toml"),
        "[[finding]]\nrule = 1\n",
    )
    .unwrap();
    assert_eq!(test_retention(&log, false), EXIT_BAD_INPUT);
    assert_eq!(
        run(&[
            "plugin",
            "test",
            "builtin:retention",
            path(&dir.path().join("none.jsonl"))
        ]),
        EXIT_BAD_INPUT
    );
    // A log without expectations fails until --update writes them.
    std::fs::remove_file(dir.path().join("retention.expected.toml")).unwrap();
    assert_eq!(test_retention(&log, false), EXIT_FINDINGS);
    assert_eq!(test_retention(&log, true), EXIT_COMPLIANT);
    assert_eq!(test_retention(&log, false), EXIT_COMPLIANT);
}

/// `inspect` accepts a plugin the host runs and refuses, naming both
/// versions, one built for an older interface; `plugin test` refuses it
/// before running any case.
#[test]
fn inspect_validates_what_a_policy_would_load() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        run(&["plugin", "inspect", "builtin:segregation"]),
        EXIT_COMPLIANT
    );
    let old = dir.path().join("old.wasm");
    std::fs::write(&old, test_plugin("wrong-version")).unwrap();
    assert_eq!(run(&["plugin", "inspect", path(&old)]), EXIT_BAD_INPUT);
    let inspection = covenant::kit::inspect::inspect(
        &PluginRuntime::new().unwrap(),
        &PluginRef::File(old.clone()),
    )
    .unwrap();
    let text = inspection.render();
    assert!(
        text.contains("covenant:rule/plugin@2.0.0 (this host runs 3.x"),
        "{text}"
    );
    assert!(
        text.contains("REFUSED: was built for covenant:rule/rule@2.0.0, but this host runs covenant:rule/rule@3.x plugins"),
        "{text}"
    );
    let log = fixture("retention.jsonl");
    assert_eq!(
        run(&["plugin", "test", path(&old), path(&log)]),
        EXIT_BAD_INPUT
    );
    let not_wasm = dir.path().join("not.wasm");
    std::fs::write(&not_wasm, "hello").unwrap();
    assert_eq!(run(&["plugin", "inspect", path(&not_wasm)]), EXIT_BAD_INPUT);
}

/// `plugin new` refuses ids that cannot name a crate and folders that hold
/// files.
#[test]
fn plugin_new_refuses_bad_names_and_used_folders() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("p");
    assert_eq!(
        run(&["plugin", "new", "Bad_Name", "--dir", path(&target)]),
        EXIT_BAD_INPUT
    );
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("mine.txt"), "x").unwrap();
    assert_eq!(
        run(&["plugin", "new", "ok-name", "--dir", path(&target)]),
        EXIT_BAD_INPUT
    );
}

/// The whole Rust path of the tutorial: scaffold, run the project's own
/// unit tests, build the component, pass its fixture case, inspect it, and
/// run it in its policy. Its build shares one target folder across runs so
/// only the first run pays for compiling the SDK's dependencies.
#[test]
fn a_scaffolded_rust_plugin_builds_tests_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("no-partner-leaks");
    assert_eq!(
        run(&["plugin", "new", "no-partner-leaks", "--dir", path(&project)]),
        EXIT_COMPLIANT
    );
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/scaffold");
    let cargo = |args: &[&str]| {
        let status = Command::new(env!("CARGO"))
            .args(args)
            .current_dir(&project)
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "cargo {args:?} failed in the scaffolded project"
        );
    };
    cargo(&["test", "--quiet"]);
    cargo(&["build", "--release", "--target", "wasm32-wasip2", "--quiet"]);
    let wasm = project.join("no_partner_leaks.wasm");
    std::fs::copy(
        target.join("wasm32-wasip2/release/no_partner_leaks.wasm"),
        &wasm,
    )
    .unwrap();

    let cases = project.join("tests/cases");
    assert_eq!(
        run(&["plugin", "test", path(&wasm), path(&cases)]),
        EXIT_COMPLIANT
    );
    assert_eq!(run(&["plugin", "inspect", path(&wasm)]), EXIT_COMPLIANT);
    // The project's policy names the plugin where cargo puts it by default.
    let policy = std::fs::read_to_string(project.join("policy.toml"))
        .unwrap()
        .replace(
            "target/wasm32-wasip2/release/no_partner_leaks.wasm",
            "no_partner_leaks.wasm",
        );
    std::fs::write(project.join("policy.toml"), policy).unwrap();
    let report = project.join("report.json");
    assert_eq!(
        run(&[
            "report",
            "--policy",
            path(&project.join("policy.toml")),
            "-o",
            path(&report),
            path(&cases.join("example.jsonl")),
        ]),
        EXIT_FINDINGS
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let rule = &report["rules"][0];
    assert_eq!(rule["id"], "no-partner-leaks");
    assert_eq!(rule["findings"][0]["event_id"], "e1-share-with-adnet");
    assert_eq!(rule["findings"].as_array().unwrap().len(), 1);
}
