//! What a frame costs per event, natively: the host encoding a batch once,
//! writing one rule's frame from it, and the guest decoding that frame and
//! reading every field the rule asked for. Interface v3's budget for the
//! whole crossing is 0.1 µs an event a rule (issue #15), so these parts
//! must be a fraction of it.
//!
//! The events are shaped like `covenant generate`'s: 1,000 tenants, a
//! unique data id each, a handful of actions, a subscription attribute.
//!
//!   cargo bench -p covenant-frame --bench frame

use std::hint::black_box;

use covenant_frame::{
    Batch, DataRecord, Decoder, Encoder, EventRecord, Field, FrameWriter, Key, Projection,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const EVENTS: usize = 1_000;
const ACTIONS: [&str; 5] = ["access", "store", "derive", "delete", "share"];

struct Owned {
    id: String,
    tenant: String,
    data_id: String,
    subscription: String,
}

fn owned() -> Vec<Owned> {
    (0..EVENTS)
        .map(|n| Owned {
            id: format!("evt-{n:010}"),
            tenant: format!("tenant-{:04}", n * 7919 % 1000),
            data_id: format!("data-{n:08}"),
            subscription: format!("sub-{:04}", n * 7919 % 1000),
        })
        .collect()
}

fn key(n: usize) -> Key {
    let mut key = [0; 16];
    key[..8].copy_from_slice(&(n as u64).to_le_bytes());
    key
}

fn fill(encoder: &mut Encoder, events: &[Owned], attributes: &[[Option<&str>; 1]]) -> Batch {
    for (n, (event, attributes)) in events.iter().zip(attributes).enumerate() {
        encoder.push(&EventRecord {
            id: &event.id,
            seconds: 1_767_225_600 + n as i64,
            nanos: 0,
            action: ACTIONS[n % ACTIONS.len()],
            tenant: Some(&event.tenant),
            actor: Some(("service", None)),
            purpose: Some("threat-investigation"),
            scope: None,
            layer: None,
            region: Some("westeurope"),
            data: Some(DataRecord {
                id: Some((&event.data_id, key(n))),
                category: Some("customer-data"),
                tenant: Some(&event.tenant),
                store: Some("s3-eu"),
                sources: &[],
            }),
            attributes,
        });
    }
    encoder.take()
}

fn frame(c: &mut Criterion) {
    let events = owned();
    let attributes: Vec<[Option<&str>; 1]> = events
        .iter()
        .map(|e| [Some(e.subscription.as_str())])
        .collect();
    let names = vec!["subscription".to_string()];
    // Segregation's kind of projection: tenants and data ids.
    let projection = Projection {
        fields: [
            Field::Id,
            Field::Action,
            Field::Tenant,
            Field::DataId,
            Field::DataTenant,
        ]
        .into_iter()
        .collect(),
        actions: Vec::new(),
        attributes: names.clone(),
    };
    let mut encoder = Encoder::new(names.clone());
    let mut group = c.benchmark_group("frame");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("encode the batch", |b| {
        b.iter(|| fill(&mut encoder, black_box(&events), &attributes).len())
    });
    let batch = fill(&mut encoder, &events, &attributes);
    let mut writer = FrameWriter::new(projection.clone(), &names).expect("a writer");
    let mut bytes = Vec::new();
    group.bench_function("write one rule's frame", |b| {
        b.iter(|| writer.write(black_box(&batch), &mut bytes).len())
    });
    // The first frame carries the symbols; the ones after it, as in a run,
    // only what is new, here nothing.
    let mut decoder = Decoder::new(&projection);
    let mut fresh = FrameWriter::new(projection.clone(), &names).expect("a writer");
    fresh.write(&batch, &mut bytes);
    decoder.decode(&bytes).expect("a frame");
    fresh.write(&batch, &mut bytes);
    group.bench_function("decode and read every field", |b| {
        b.iter(|| {
            let frame = decoder.decode(black_box(&bytes)).expect("a frame");
            let mut seen = 0usize;
            for event in frame.events() {
                seen += event.id().map_or(0, str::len);
                seen += event.text(Field::Tenant).as_str().map_or(0, str::len);
                seen += event.text(Field::DataTenant).as_str().map_or(0, str::len);
                seen += event
                    .data_id()
                    .map_or(0, |(id, key)| id.len() + key[0] as usize);
                seen += event.attribute(0).as_str().map_or(0, str::len);
            }
            seen
        })
    });
    group.finish();
}

criterion_group!(benches, frame);
criterion_main!(benches);
