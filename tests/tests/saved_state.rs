//! A rule's saved state carries a run on: a log cut into parts, each part
//! run from the saved states of the part before, gives every built-in
//! rule's findings that one run over the whole log gives. This is the
//! runtime's half of continuous audits: `snapshot` and `restore` through
//! the sandbox, the SDK's serde encoding of each rule, the events a state
//! cites carried to the next part, and ordinals and data keys that go on
//! from part to part.

use std::collections::BTreeSet;

use covenant::events::generate::{LogSpec, generate};
use covenant::events::{Event, EventReader, Timestamp};
use covenant::policy::{Limits, Policy};
use covenant::runtime::{
    BatchBuilder, PluginRuntime, RuleInstance, RulePlugin, RuleSnapshot, RunPosition,
};
use covenant_e2e::test_plugin;

/// Events per `observe` call, as a report sends them.
const BATCH: usize = covenant::evaluate::DEFAULT_BATCH_LEN;

/// One rule of a chain: its plugin and configuration.
struct ChainRule {
    id: String,
    plugin: RulePlugin,
    config: String,
}

/// What a chain and a run are compared by: rule, event and message for a
/// finding; rule, subject and reason for what a rule could not assess.
type Seen = BTreeSet<(String, String, String)>;

/// The built-in rules of the default policy, loaded.
fn builtin_rules(runtime: &PluginRuntime) -> Vec<ChainRule> {
    let policy = Policy::builtin().unwrap();
    (policy.rules.into_iter())
        .map(|spec| ChainRule {
            plugin: runtime
                .load(&spec.plugin.read().unwrap(), spec.limits)
                .unwrap(),
            config: spec.config.to_string(),
            id: spec.id,
        })
        .collect()
}

/// A generated log of `n` events, in time order, with violations of every
/// commitment mixed in.
fn generated_events(n: u64) -> Vec<Event> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let spec = LogSpec {
        events: n,
        tenants: 4,
        seed: 17,
        violation_rate: 0.05,
    };
    generate(&spec, &mut std::fs::File::create(&path).unwrap()).unwrap();
    let mut events = Vec::new();
    let reader = EventReader::from_paths(&[path]).unwrap();
    reader
        .read(false, |event| {
            events.push(event);
            Ok(())
        })
        .unwrap();
    events
}

/// Runs `rules` over `events` as consecutive runs cut before each index of
/// `cuts`, each part starting from the states the part before saved, and
/// finishing only the last at `as_of`. What every part reported, by rule.
fn run_chain(rules: &[ChainRule], events: &[Event], cuts: &[usize], as_of: Timestamp) -> Seen {
    let mut seen = Seen::new();
    let mut saved: Option<(RunPosition, Vec<RuleSnapshot>)> = None;
    let bounds: Vec<usize> = (cuts.iter().copied()).chain([events.len()]).collect();
    let mut start = 0;
    for (part, &end) in bounds.iter().enumerate() {
        let mut instances: Vec<RuleInstance> = match &saved {
            None => (rules.iter())
                .map(|rule| rule.plugin.start(&rule.config).unwrap())
                .collect(),
            Some((_, snapshots)) => (rules.iter().zip(snapshots))
                .map(|(rule, snapshot)| {
                    let cited: Vec<(u64, &str)> = (snapshot.cited.iter())
                        .map(|(n, id)| (*n, id.as_str()))
                        .collect();
                    (rule.plugin.restore(&rule.config, &snapshot.state, &cited))
                        .unwrap_or_else(|e| panic!("{} does not restore: {e:#}", rule.id))
                })
                .collect(),
        };
        let mut builder = match &saved {
            None => BatchBuilder::new(&instances).unwrap(),
            Some((position, _)) => BatchBuilder::resume(&instances, *position).unwrap(),
        };
        let mut observe = |builder: &mut BatchBuilder, instances: &mut [RuleInstance]| {
            let batch = builder.take().unwrap();
            for (rule, instance) in rules.iter().zip(instances.iter_mut()) {
                let findings = (instance.observe(&batch))
                    .unwrap_or_else(|e| panic!("{} fails in part {part}: {e:#}", rule.id));
                record(&mut seen, rule, findings);
            }
        };
        for event in &events[start..end] {
            builder.push(event.clone());
            if builder.len() == BATCH {
                observe(&mut builder, &mut instances);
            }
        }
        if !builder.is_empty() {
            observe(&mut builder, &mut instances);
        }
        if end == events.len() {
            for (rule, instance) in rules.iter().zip(&mut instances) {
                let concluded = instance.finish(as_of).unwrap();
                record(&mut seen, rule, concluded.findings);
                seen.extend((concluded.unassessable.into_iter()).map(|u| {
                    (
                        rule.id.clone(),
                        format!("not assessable: {}", u.subject),
                        u.reason,
                    )
                }));
            }
        } else {
            let snapshots = (rules.iter().zip(&mut instances))
                .map(|(rule, instance)| {
                    (instance.snapshot())
                        .unwrap_or_else(|e| panic!("{} does not save: {e:#}", rule.id))
                })
                .collect();
            saved = Some((builder.position(), snapshots));
        }
        start = end;
    }
    seen
}

fn record(seen: &mut Seen, rule: &ChainRule, findings: Vec<covenant::runtime::Finding>) {
    seen.extend((findings.into_iter()).map(|f| (rule.id.clone(), f.event_id, f.message)));
}

#[test]
fn a_log_cut_into_parts_and_resumed_gives_every_built_in_rule_s_findings_of_one_run() {
    let runtime = PluginRuntime::new().unwrap();
    let rules = builtin_rules(&runtime);
    let events = generated_events(12_000);
    let as_of = events.last().unwrap().time;
    let whole = run_chain(&rules, &events, &[], as_of);
    let flagged: BTreeSet<&str> = whole.iter().map(|(rule, _, _)| rule.as_str()).collect();
    assert!(
        flagged.len() >= 6,
        "the log should breach most commitments, but only {flagged:?} flagged anything"
    );
    // Cuts inside a batch and on its edge, early and late.
    for cuts in [vec![6_000], vec![1, 2_500, 2_501, 9_999]] {
        let chain = run_chain(&rules, &events, &cuts, as_of);
        let missing: Vec<_> = whole.difference(&chain).take(3).collect();
        let extra: Vec<_> = chain.difference(&whole).take(3).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "cut at {cuts:?}: missing {missing:?}, extra {extra:?}"
        );
    }
}

/// The frame rule's log: its state is the first event it flagged, e1.
const LOG: &str = r#"{"id":"e0","time":"2026-01-01T00:00:00Z","action":"store","tenant":"contoso","data":{"id":"d1","tenant":"contoso"}}
{"id":"e1","time":"2026-01-01T00:00:01Z","action":"access","tenant":"contoso","data":{"id":"d1","tenant":"contoso"}}
{"id":"e2","time":"2026-01-01T00:00:02Z","action":"access","tenant":"contoso","data":{"id":"d1","tenant":"contoso"}}
{"id":"e3","time":"2026-01-01T00:00:03Z","action":"access","tenant":"contoso","data":{"id":"d1","tenant":"contoso"}}
"#;

fn log_events() -> Vec<Event> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    std::fs::write(&path, LOG).unwrap();
    let mut events = Vec::new();
    (EventReader::from_paths(&[path]).unwrap())
        .read(false, |event| {
            events.push(event);
            Ok(())
        })
        .unwrap();
    events
}

fn frame_rule(runtime: &PluginRuntime, lie: &str) -> ChainRule {
    ChainRule {
        id: "frame-rule".to_string(),
        plugin: (runtime.load(test_plugin("frame-rule"), Limits::default())).unwrap(),
        config: format!(r#"{{"tenant":"contoso","lie":"{lie}"}}"#),
    }
}

#[test]
fn a_finding_after_a_resume_may_cite_an_event_the_saved_state_names() {
    let runtime = PluginRuntime::new().unwrap();
    let rules = [frame_rule(&runtime, "")];
    let events = log_events();
    let as_of = events.last().unwrap().time;
    // Its finish cites e1, flagged in the first part, from the second.
    let chain = run_chain(&rules, &events, &[2], as_of);
    assert_eq!(chain, run_chain(&rules, &events, &[], as_of));
    assert!(
        chain.contains(&(
            "frame-rule".to_string(),
            "e1".to_string(),
            "the first access flagged was event e1".to_string()
        )),
        "{chain:?}"
    );
}

/// The error the frame rule's snapshot fails with, lying as `lie` says.
fn snapshot_refusal(lie: &str) -> String {
    let runtime = PluginRuntime::new().unwrap();
    let rule = frame_rule(&runtime, lie);
    let mut instance = rule.plugin.start(&rule.config).unwrap();
    let mut builder = BatchBuilder::new([&instance]).unwrap();
    for event in log_events() {
        builder.push(event);
    }
    instance.observe(&builder.take().unwrap()).unwrap();
    format!("{:#}", instance.snapshot().unwrap_err())
}

#[test]
fn a_saved_state_that_cites_an_event_the_rule_was_not_sent_is_refused() {
    let error = snapshot_refusal("cite-unsent");
    assert!(
        error.starts_with("saved a state that cites event 0, which it was not sent"),
        "{error}"
    );
    assert_eq!(
        snapshot_refusal("cite-twice"),
        "saved a state whose citations are not in increasing order (event 1 before event 1)"
    );
}
