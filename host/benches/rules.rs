//! The cost of the sandbox, as a ratio: each built-in rule's own logic
//! compiled natively, against the same rule as the embedded WebAssembly
//! component, over the same in-memory events (issue #5).
//!
//! For each rule alone, for the four foundation rules together
//! (segregation, ai-training-consent, advertising-ban, retention) and for
//! all ten, over a generated log (10^5 events, 1,000 tenants, seed 1,
//! violation rate 0.001) that is read and time-ordered once, up front:
//!
//! - `native` runs the rule crate's [`covenant_sdk::Rule`] impl natively
//!   through [`covenant_sdk::testing::evaluate_encoded`], over the frames
//!   the host would send it, encoded once, outside the timing
//!   ([`testing::encode`]): the guest's decoding of its frames and the
//!   rule's logic, with no sandbox and no encoding (which the host does
//!   once a batch for every rule, and `conversion/into_wit` times).
//! - `wasm` starts the built-in component (compiled once, outside the
//!   timing) and drives it as the host does: a [`BatchBuilder`] converts
//!   the events into an [`EventBatch`] of [`DEFAULT_BATCH_LEN`] (inside
//!   the timing, once per batch for all the rules), each batch is
//!   sent to every rule's `observe`, then `finish`. Batching consumes
//!   the host's events, so each iteration gets a copy of them made outside
//!   the timing.
//! - `conversion/into_wit` times that conversion alone, the part of `wasm`
//!   that is host-side work rather than the call into the guest.
//!
//! So the sandbox's own cost, per event per rule, is `wasm` less
//! `into_wit` less `native`, over the events and the rules: cutting each
//! rule's frame from the batch, copying it in, and running the same code
//! as WebAssembly under fuel.
//!
//! Both sides include building the rule from its configuration (for
//! `wasm`, instantiating the component too), so that each iteration is one
//! whole evaluation. Reading and parsing are not measured here: that is
//! the `read` bench. Everything runs on one thread, so the ratio is of CPU
//! work, not of how well the host overlaps reading with the rules. Every
//! rule gets its configuration from the default policy, and the native and
//! wasm runs are checked, once, to report the same number of findings per
//! rule, so both sides do identical work. Throughput is in events per
//! second.
//!
//!   cargo bench -p covenant --bench rules
//!   cargo bench -p covenant --bench rules -- --test     # one quick pass (CI)

use std::hint::black_box;

use covenant::evaluate::DEFAULT_BATCH_LEN;
use covenant::events::{DEFAULT_RUN_LEN, Event, EventReader, TimeOrder, Timestamp};
use covenant::policy::{PluginRef, Policy};
use covenant::runtime::{BatchBuilder, EventBatch, PluginRuntime, RulePlugin};
use covenant_sdk::testing;
use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};

mod support;

use support::EVENTS;

/// A built-in rule's native entry points: [`testing::encode`] and
/// [`testing::evaluate_encoded`] for its type.
struct Native {
    encode: fn(&str, &[testing::TestEvent]) -> Result<testing::EncodedLog, String>,
    run: fn(&str, &testing::EncodedLog, &str) -> Result<usize, String>,
}

include!(concat!(env!("OUT_DIR"), "/native_rules.rs"));

/// The foundation rules that issue #5's targets are stated for.
const FOUR: [&str; 4] = [
    "segregation",
    "ai-training-consent",
    "advertising-ban",
    "retention",
];

/// One built-in rule, ready to run either way.
struct BenchRule {
    name: &'static str,
    native: &'static Native,
    /// The default policy's configuration for it, as JSON text.
    config: String,
    /// The log as the frames it is sent, for its native runs.
    encoded: testing::EncodedLog,
    plugin: RulePlugin,
}

/// The events, in the host's form and the SDK's, and the report's time.
struct Log {
    events: Vec<Event>,
    sdk_events: Vec<testing::TestEvent>,
    /// The latest event's time, which `covenant report` finishes at.
    as_of: Timestamp,
}

/// Generates the log and reads and orders it as `covenant report` does.
fn load_log() -> Log {
    let dir = tempfile::tempdir().unwrap();
    let path = support::generated_log(dir.path());
    let mut order = TimeOrder::new(DEFAULT_RUN_LEN);
    let read = EventReader::from_paths(&[path])
        .unwrap()
        .read(false, |event| order.push(event))
        .unwrap();
    let events: Vec<Event> = order.into_sorted().unwrap().map(Result::unwrap).collect();
    Log {
        sdk_events: events.iter().map(to_sdk).collect(),
        as_of: read.latest.unwrap(),
        events,
    }
}

/// The SDK's test form of a host event, which its native runs encode
/// into frames as the host does.
fn to_sdk(event: &Event) -> testing::TestEvent {
    let mut sdk = testing::event(&event.id, &event.time.to_rfc3339(), &event.action);
    let set = |sdk: testing::TestEvent, value: &Option<String>, set: fn(_, &str) -> _| match value {
        Some(value) => set(sdk, value),
        None => sdk,
    };
    sdk = set(sdk, &event.tenant, testing::TestEvent::tenant);
    sdk = set(sdk, &event.purpose, testing::TestEvent::purpose);
    sdk = set(sdk, &event.scope, testing::TestEvent::scope);
    sdk = set(sdk, &event.layer, testing::TestEvent::layer);
    sdk = set(sdk, &event.region, testing::TestEvent::region);
    if let Some(actor) = &event.actor {
        sdk = match &actor.id {
            Some(id) => sdk.actor(&actor.kind, id),
            None => sdk.actor_kind(&actor.kind),
        };
    }
    if let Some(data) = &event.data {
        sdk = sdk.data_item();
        sdk = set(sdk, &data.id, testing::TestEvent::data_id);
        sdk = set(sdk, &data.tenant, testing::TestEvent::data_tenant);
        sdk = set(sdk, &data.category, testing::TestEvent::category);
        sdk = set(sdk, &data.store, testing::TestEvent::store);
        let sources: Vec<&str> = data.sources.iter().map(String::as_str).collect();
        sdk = sdk.sources(&sources);
    }
    for (name, value) in &event.extra {
        sdk = sdk.extra_json(name, &value.to_string());
    }
    sdk
}

/// Every built-in rule with the default policy's configuration and
/// limits, its component compiled and `log` encoded for it.
fn load_rules(runtime: &PluginRuntime, log: &Log) -> Vec<BenchRule> {
    let policy = Policy::builtin().unwrap();
    RULES
        .iter()
        .map(|(name, native)| {
            let spec = policy
                .rules
                .iter()
                .find(|spec| spec.plugin == PluginRef::Builtin(name.to_string()))
                .unwrap_or_else(|| panic!("the default policy has no builtin:{name}"));
            let bytes = spec.plugin.read().unwrap();
            let config = spec.config.to_string();
            BenchRule {
                name,
                native,
                encoded: (native.encode)(&config, &log.sdk_events).unwrap(),
                config,
                plugin: runtime.load(&bytes, spec.limits).unwrap(),
            }
        })
        .collect()
}

/// Runs `rules` natively, one after another over the whole log; returns
/// the number of findings.
fn run_native(rules: &[&BenchRule], as_of: &str) -> usize {
    rules
        .iter()
        .map(|rule| (rule.native.run)(&rule.config, &rule.encoded, as_of).unwrap())
        .sum()
}

/// The events as the host sends them to the sandboxes: converted a batch
/// at a time, into the forms `builder`'s rules read.
fn batches(builder: &mut BatchBuilder, events: Vec<Event>) -> impl Iterator<Item = EventBatch> {
    let mut events = events.into_iter();
    std::iter::from_fn(move || {
        events
            .by_ref()
            .take(DEFAULT_BATCH_LEN)
            .for_each(|event| builder.push(event));
        (!builder.is_empty()).then(|| builder.take().expect("the run's table of ids"))
    })
}

/// Runs `rules` in their sandboxes as the host does: each batch converted
/// once and sent to every rule, then `finish` at `as_of`; returns the
/// number of findings.
fn run_wasm(rules: &[&BenchRule], events: Vec<Event>, as_of: Timestamp) -> usize {
    let mut instances: Vec<_> = rules
        .iter()
        .map(|rule| rule.plugin.start(&rule.config).unwrap())
        .collect();
    let mut builder = BatchBuilder::new(&instances).unwrap();
    let mut findings = 0;
    for batch in batches(&mut builder, events) {
        for instance in &mut instances {
            findings += instance.observe(&batch).unwrap().len();
        }
    }
    for instance in &mut instances {
        findings += instance.finish(as_of).unwrap().findings.len();
    }
    findings
}

fn native_against_wasm(c: &mut Criterion) {
    let log = load_log();
    let as_of = log.as_of.to_rfc3339();
    let runtime = PluginRuntime::new().unwrap();
    let rules = load_rules(&runtime, &log);

    for rule in &rules {
        let native = run_native(&[rule], &as_of);
        let wasm = run_wasm(&[rule], log.events.clone(), log.as_of);
        assert_eq!(
            native, wasm,
            "{}: native and wasm disagree on the findings",
            rule.name
        );
        eprintln!("{}: {native} findings", rule.name);
    }

    let mut selections: Vec<(String, Vec<&BenchRule>)> = rules
        .iter()
        .map(|rule| (rule.name.to_string(), vec![rule]))
        .collect();
    selections.push((
        "the four".to_string(),
        rules.iter().filter(|r| FOUR.contains(&r.name)).collect(),
    ));
    selections.push(("all ten".to_string(), rules.iter().collect()));

    for (name, selected) in &selections {
        let mut group = c.benchmark_group(format!("rules/{name}"));
        group.sample_size(10);
        group.sampling_mode(SamplingMode::Flat);
        group.warm_up_time(std::time::Duration::from_secs(1));
        group.measurement_time(std::time::Duration::from_secs(3));
        group.throughput(Throughput::Elements(EVENTS));
        group.bench_function("native", |b| {
            b.iter(|| black_box(run_native(selected, &as_of)))
        });
        group.bench_function("wasm", |b| {
            b.iter_batched(
                || log.events.clone(),
                |events| run_wasm(selected, events, log.as_of),
                BatchSize::PerIteration,
            )
        });
        group.finish();
    }

    let mut group = c.benchmark_group("conversion");
    group.sample_size(10);
    group.throughput(Throughput::Elements(EVENTS));
    let instances: Vec<_> = (rules.iter())
        .map(|rule| rule.plugin.start(&rule.config).unwrap())
        .collect();
    group.bench_function("into_wit", |b| {
        b.iter_batched(
            || log.events.clone(),
            |events| {
                let mut builder = BatchBuilder::new(&instances).unwrap();
                batches(&mut builder, events).for_each(drop)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, native_against_wasm);
criterion_main!(benches);
