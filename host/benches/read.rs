//! Parse-only throughput: reading and decoding a generated log with no rule
//! at all, the practical limit for a report's speed, and the same through
//! the time sorter, which a report uses only for a log out of time order.
//! `host/benches/throughput.sh` times whole runs with rules beside it.
//!
//!   cargo bench -p covenant --bench read

use covenant::events::{DEFAULT_RUN_LEN, EventReader, TimeOrder};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

mod support;

use support::EVENTS;

fn parse_only(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = support::generated_log(dir.path());
    let bytes = std::fs::metadata(&path).unwrap().len();

    let mut group = c.benchmark_group("parse-only");
    group.sample_size(10);
    for (unit, throughput) in [
        ("events", Throughput::Elements(EVENTS)),
        ("bytes", Throughput::Bytes(bytes)),
    ] {
        group.throughput(throughput);
        group.bench_function(format!("read {EVENTS} events ({unit})"), |b| {
            b.iter(|| {
                let reader = EventReader::from_paths(std::slice::from_ref(&path)).unwrap();
                let log = reader.read(false, |_| Ok(())).unwrap();
                assert_eq!(log.events, EVENTS);
            })
        });
        group.bench_function(format!("read and sort {EVENTS} events ({unit})"), |b| {
            b.iter(|| {
                let reader = EventReader::from_paths(std::slice::from_ref(&path)).unwrap();
                let mut order = TimeOrder::new(DEFAULT_RUN_LEN);
                reader.read(false, |event| order.push(event)).unwrap();
                let sorted = order.into_sorted().unwrap().count();
                assert_eq!(sorted as u64, EVENTS);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, parse_only);
criterion_main!(benches);
