//! A misbehaving plugin fails alone: its rule ends with status `error` and
//! a one-line reason, and every other rule's result is unchanged.

use std::path::Path;

use covenant::evaluate::audit::Audit;
use covenant::policy::Policy;
use covenant::report::{Report, Status};
use covenant_e2e::{fixture, policy_with_hostile, report, test_plugin};

/// Runs the default rules plus the hostile plugin over a fixture, checks the
/// other rules are untouched, and returns the hostile rule's error.
fn hostile_error(attack: &str, limits: &str) -> String {
    hostile_error_after(attack, limits, |_, _| {})
}

/// Like [`hostile_error`] with a well-behaved plugin, after `tamper` has
/// changed the plugin file or the policy (given the folder and the policy).
fn tampered_hostile_error(tamper: impl FnOnce(&Path, &Path)) -> String {
    hostile_error_after("none", "", tamper)
}

fn hostile_error_after(attack: &str, limits: &str, tamper: impl FnOnce(&Path, &Path)) -> String {
    let dir = tempfile::tempdir().unwrap();
    let policy_path = policy_with_hostile(dir.path(), attack, limits).unwrap();
    tamper(dir.path(), &policy_path);
    let policy = Policy::load(&policy_path).unwrap();
    let inputs = vec![fixture("ai-training-consent.jsonl")];
    let with_hostile = Audit::new(policy, inputs.clone()).run().unwrap();
    let baseline = report(&inputs).unwrap();
    assert_same_default_rules(&with_hostile, &baseline);
    let hostile = with_hostile
        .rules
        .iter()
        .find(|r| r.id == "hostile")
        .unwrap();
    assert_eq!(hostile.status, Status::Error);
    let error = hostile.error.clone().unwrap();
    assert!(!error.contains('\n'), "one line: {error}");
    error
}

fn assert_same_default_rules(a: &Report, b: &Report) {
    let json = |r: &Report| {
        let others: Vec<_> = r.rules.iter().filter(|rule| rule.id != "hostile").collect();
        serde_json::to_value(others).unwrap()
    };
    assert_eq!(json(a), json(b));
}

#[test]
fn a_well_behaved_plugin_from_a_file_runs_beside_the_builtins() {
    let dir = tempfile::tempdir().unwrap();
    let policy = Policy::load(&policy_with_hostile(dir.path(), "none", "").unwrap()).unwrap();
    let report = Audit::new(policy, vec![fixture("ai-training-consent.jsonl")])
        .run()
        .unwrap();
    let hostile = report.rules.iter().find(|r| r.id == "hostile").unwrap();
    assert_eq!(hostile.status, Status::Fail);
    assert_eq!(hostile.findings.len(), 7, "one per train event");
}

#[test]
fn a_panic_traps_and_names_the_call_and_message() {
    let error = hostile_error("panic-in-observe", "");
    assert!(error.starts_with("observe: trapped"), "{error}");
    assert!(error.contains("hostile plugin panics on event"), "{error}");
}

#[test]
fn an_infinite_loop_in_observe_runs_out_of_fuel() {
    let error = hostile_error(
        "loop-in-observe",
        "[rule.limits]\nfuel_per_call = 50_000_000",
    );
    assert_eq!(
        error,
        "observe: exceeded its CPU limit of 50000000 fuel per call"
    );
}

#[test]
fn an_infinite_loop_in_the_constructor_runs_out_of_fuel() {
    let error = hostile_error("loop-in-new", "[rule.limits]\nfuel_per_call = 50_000_000");
    assert_eq!(
        error,
        "constructor: exceeded its CPU limit of 50000000 fuel per call"
    );
}

#[test]
fn sleeping_traps_instead_of_hanging_the_host() {
    let error = hostile_error("sleep-in-observe", "");
    assert!(
        error.contains("called subscribe-duration: the sandbox has no clock to wait on"),
        "{error}"
    );
}

#[test]
fn unbounded_memory_growth_hits_the_cap() {
    let error = hostile_error("grow-memory-in-observe", "[rule.limits]\nmemory_mib = 16");
    assert_eq!(error, "observe: exceeded its memory limit of 16 MiB");
}

#[test]
fn a_bad_configuration_is_the_rule_error_not_a_crash() {
    let error = hostile_error("teleport", "");
    assert!(
        error.starts_with(
            "rejected its configuration: rule hostile: config.attack: unknown variant `teleport`"
        ),
        "{error}"
    );
}

#[test]
fn an_infinite_loop_in_finish_runs_out_of_fuel() {
    let error = hostile_error(
        "loop-in-finish",
        "[rule.limits]\nfuel_per_call = 50_000_000",
    );
    assert_eq!(
        error,
        "finish: exceeded its CPU limit of 50000000 fuel per call"
    );
}

#[test]
fn unreachable_traps() {
    let error = hostile_error("unreachable", "");
    assert_eq!(
        error,
        "observe: trapped (wasm trap: wasm `unreachable` instruction executed)"
    );
}

#[test]
fn deep_recursion_overflows_the_stack_and_traps() {
    // Rust keeps its stack in linear memory below the data, so running off
    // its end is an out-of-bounds access rather than wasm's own stack limit.
    let error = hostile_error("stack-overflow", "");
    assert_eq!(
        error,
        "observe: trapped (wasm trap: out of bounds memory access)"
    );
}

#[test]
fn one_huge_allocation_hits_the_memory_cap() {
    let error = hostile_error("huge-allocation", "");
    assert_eq!(error, "observe: exceeded its memory limit of 256 MiB");
}

#[test]
fn the_host_filesystem_is_not_there() {
    let error = hostile_error("read-file", "");
    assert!(error.contains("file: "), "{error}");
    assert!(!error.contains("read a host file"), "{error}");
    let error = hostile_error("list-directory", "");
    assert!(error.contains("directory: "), "{error}");
    assert!(!error.contains("listed the host's root"), "{error}");
}

#[test]
fn the_environment_and_arguments_are_empty() {
    let error = hostile_error("read-env", "");
    assert!(
        error.contains("environment: 0 variables, 0 arguments"),
        "{error}"
    );
}

#[test]
fn sockets_are_refused() {
    let error = hostile_error("open-socket", "");
    assert!(error.contains("socket: "), "{error}");
    assert!(!error.contains("connected to the host"), "{error}");
}

#[test]
fn the_clock_is_frozen_at_the_epoch() {
    let error = hostile_error("read-clock", "");
    assert!(error.contains("clock: Ok(0)"), "{error}");
}

#[test]
fn randomness_is_the_same_every_run() {
    let first = hostile_error("read-random", "");
    assert!(first.contains("random: "), "{first}");
    assert_eq!(first, hostile_error("read-random", ""));
}

#[test]
fn exiting_the_process_only_ends_the_plugin() {
    let error = hostile_error("exit", "");
    assert!(
        error.starts_with("observe: ") && error.contains("exit"),
        "{error}"
    );
}

#[test]
fn a_finding_on_every_event_hits_the_findings_limit() {
    let error = hostile_error("many-findings", "[rule.limits]\nmax_findings = 5");
    assert_eq!(error, "reported more than 5 findings (limit max_findings)");
}

#[test]
fn a_100_mb_message_hits_the_message_limit() {
    let error = hostile_error("huge-message", "");
    assert_eq!(
        error,
        "reported a finding of 104857600 bytes, over the limit of 4096 (max_message_bytes)"
    );
}

#[test]
fn a_plugin_for_another_major_version_is_refused_by_name() {
    let error = tampered_hostile_error(|dir, _| {
        std::fs::write(dir.join("hostile.wasm"), test_plugin("wrong-version")).unwrap();
    });
    assert_eq!(
        error,
        "cannot load plugin: was built for covenant:rule/rule@2.0.0, but this host runs \
         covenant:rule/rule@3.x plugins; rebuild it against wit/v3 (with the SDK, in Rust)"
    );
}

#[test]
fn a_component_that_implements_nothing_is_refused() {
    // The smallest valid component: the preamble and no sections.
    let error = tampered_hostile_error(|dir, _| {
        std::fs::write(dir.join("hostile.wasm"), b"\0asm\x0d\0\x01\0").unwrap();
    });
    assert_eq!(
        error,
        "cannot load plugin: does not implement covenant:rule/rule of any version this host runs \
         (3.x): it exports nothing"
    );
}

#[test]
fn a_pinned_digest_that_does_not_match_is_refused_before_running() {
    let error = tampered_hostile_error(|_, policy| {
        let pin = format!("plugin = \"hostile.wasm\"\nsha256 = \"{}\"", "0".repeat(64));
        let text = std::fs::read_to_string(policy).unwrap();
        std::fs::write(policy, text.replace("plugin = \"hostile.wasm\"", &pin)).unwrap();
    });
    assert!(error.contains("but the policy pins 0000"), "{error}");
}

#[test]
fn a_file_that_is_not_wasm_is_a_rule_error() {
    let error = tampered_hostile_error(|dir, _| {
        std::fs::write(dir.join("hostile.wasm"), b"not wasm at all").unwrap();
    });
    assert!(
        error.starts_with("cannot load plugin: not a valid wasm component"),
        "{error}"
    );
}
