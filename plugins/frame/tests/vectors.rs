//! The frame's test vectors (`wit/v3/frame-vectors.json`), and the
//! decoder's refusals.
//!
//! The vectors are what this crate's encoder writes for a fixed set of
//! cases; a test fails when it writes anything else, so a change to the
//! layout shows up as a changed file, reviewed like any snapshot
//! (`COVENANT_UPDATE_VECTORS=1 cargo test -p covenant-frame` rewrites it).
//! Every decoder, in any language, reads the file's frames and checks they
//! give the events written beside them; this one does so too, from the
//! file alone.

use std::path::PathBuf;

use covenant_frame::{
    DataRecord, Decoder, Encoder, EventRecord, EventView, Field, Fields, FrameWriter, Key,
    Projection, Text,
};
use proptest::prelude::*;
use serde_json::{Value, json};

fn vectors_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../wit/v3/frame-vectors.json")
}

/// A made-up key, so that the vectors do not depend on a hash.
fn key(id: &str) -> Key {
    let mut key = [0u8; 16];
    for (i, byte) in id.bytes().enumerate() {
        key[i % 16] = key[i % 16].wrapping_mul(31).wrapping_add(byte);
    }
    key[15] |= 1;
    key
}

/// The events every case encodes: two batches of a small audit, with the
/// shapes a decoder must handle (no actor, an actor without an id, no data,
/// data without an id, sources, attributes that are strings or not).
fn batches() -> Vec<Vec<EventRecord<'static>>> {
    fn leak<T>(value: T) -> &'static T {
        Box::leak(Box::new(value))
    }
    let sources: &'static [(&str, Key)] = leak([("d1", key("d1")), ("d2", key("d2"))]);
    let plain = |id: &'static str, seconds, action| EventRecord {
        id,
        seconds,
        nanos: 0,
        action,
        tenant: Some("contoso"),
        actor: None,
        purpose: None,
        scope: None,
        layer: None,
        region: None,
        data: None,
        attributes: &[None, None],
    };
    let data = |id: Option<&'static str>| DataRecord {
        id: id.map(|id| (id, key(id))),
        category: Some("customer-data"),
        tenant: Some("contoso"),
        store: Some("s3-eu"),
        sources: &[],
    };
    vec![
        vec![
            EventRecord {
                actor: Some(("service", None)),
                data: Some(data(Some("d1"))),
                region: Some("westeurope"),
                attributes: leak([Some("sub-1"), None]),
                ..plain("e1", 1_767_225_600, "store")
            },
            EventRecord {
                nanos: 500_000_000,
                actor: Some(("personnel", Some("alice"))),
                purpose: Some("threat-investigation"),
                data: Some(data(Some("d1"))),
                attributes: leak([Some("sub-1"), Some("Ünïcode ✓")]),
                ..plain("e2", 1_767_225_601, "access")
            },
            EventRecord {
                tenant: None,
                scope: Some("ai-training"),
                ..plain("e3", 1_767_225_602, "consent-granted")
            },
        ],
        vec![
            EventRecord {
                data: Some(DataRecord {
                    sources,
                    ..data(Some("d3"))
                }),
                layer: Some("model"),
                ..plain("e4", 1_767_225_700, "derive")
            },
            EventRecord {
                data: Some(data(None)),
                tenant: Some("fabrikam"),
                ..plain("e5", 1_767_225_701, "access")
            },
            EventRecord {
                seconds: -1,
                nanos: 999_999_999,
                ..plain("e6", 1_767_225_702, "delete")
            },
        ],
    ]
}

const ATTRIBUTES: [&str; 2] = ["subscription", "destination"];

/// The cases: a projection, and a symbol cap for the batches.
fn cases() -> Vec<(&'static str, Projection, u32)> {
    let every: Fields = Field::ALL.into_iter().collect();
    let names = |names: &[&str]| names.iter().map(|s| s.to_string()).collect();
    vec![
        (
            "every field, every action",
            Projection {
                fields: every,
                actions: vec![],
                attributes: names(&ATTRIBUTES),
            },
            covenant_frame::MAX_SYMBOLS,
        ),
        (
            "a few fields, two actions, one attribute",
            Projection {
                fields: [Field::Id, Field::Action, Field::DataId]
                    .into_iter()
                    .collect(),
                actions: names(&["access", "delete"]),
                attributes: names(&["subscription"]),
            },
            covenant_frame::MAX_SYMBOLS,
        ),
        (
            "time and ordinal alone",
            Projection::default(),
            covenant_frame::MAX_SYMBOLS,
        ),
        (
            "a dictionary capped at 3 symbols, so later strings travel inline",
            Projection {
                fields: every,
                actions: vec![],
                attributes: names(&ATTRIBUTES),
            },
            3,
        ),
    ]
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn projection_json(projection: &Projection) -> Value {
    json!({
        "fields": projection.fields.iter().map(Field::name).collect::<Vec<_>>(),
        "actions": projection.actions,
        "attributes": projection.attributes,
    })
}

fn projection_from(value: &Value) -> Projection {
    let strings = |key: &str| -> Vec<String> {
        value[key]
            .as_array()
            .expect("a list")
            .iter()
            .map(|v| v.as_str().expect("a string").to_string())
            .collect()
    };
    Projection {
        fields: strings("fields")
            .iter()
            .map(|name| {
                *Field::ALL
                    .iter()
                    .find(|f| f.name() == name)
                    .expect("a field")
            })
            .collect(),
        actions: strings("actions"),
        attributes: strings("attributes"),
    }
}

fn text_json(text: Text<'_>) -> Value {
    match text {
        Text::Absent => Value::Null,
        Text::Symbol(number, text) => json!({ "symbol": number, "text": text }),
        Text::Inline(text) => json!({ "inline": text }),
    }
}

/// What a decoder must make of an event: every field the projection sends.
fn event_json(event: &EventView<'_, '_>, projection: &Projection) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("ordinal".into(), json!(event.ordinal()));
    out.insert("time".into(), json!([event.time().0, event.time().1]));
    out.insert("actor".into(), json!(event.has_actor()));
    out.insert("data".into(), json!(event.has_data()));
    for field in projection.fields.iter() {
        let value = match field {
            Field::Id => json!(event.id()),
            Field::DataId => match event.data_id() {
                Some((id, key)) => json!({ "id": id, "key": hex(&key) }),
                None => Value::Null,
            },
            Field::DataSources => event
                .sources()
                .map(|s| json!({ "id": s.id, "key": hex(&s.key) }))
                .collect(),
            text => text_json(event.text(text)),
        };
        out.insert(field.name().into(), value);
    }
    let attributes = (0..projection.attributes.len())
        .map(|i| text_json(event.attribute(i)))
        .collect();
    out.insert("attributes".into(), attributes);
    Value::Object(out)
}

/// Every case's frames, written by the encoder, with their events as this
/// crate's decoder reads them.
fn written() -> Value {
    let cases = cases().into_iter().map(|(name, projection, cap)| {
        let names: Vec<String> = ATTRIBUTES.iter().map(|s| s.to_string()).collect();
        let mut encoder = Encoder::with_symbol_cap(names.clone(), cap);
        let mut writer = FrameWriter::new(projection.clone(), &names).expect("a writer");
        let mut decoder = Decoder::new(&projection);
        let mut frames = Vec::new();
        for events in batches() {
            for event in &events {
                encoder.push(event);
            }
            let mut bytes = Vec::new();
            writer.write(&encoder.take(), &mut bytes);
            let frame = decoder.decode(&bytes).expect("the encoder's frame decodes");
            let events: Vec<Value> = frame
                .events()
                .map(|e| event_json(&e, &projection))
                .collect();
            frames.push(json!({ "hex": hex(&bytes), "events": events }));
        }
        json!({ "name": name, "projection": projection_json(&projection), "frames": frames })
    });
    json!({
        "about": "Frames of covenant:rule@3.0.0 (layout 1, wit/v3/frame.md) and the events each decodes to, frame after frame with one dictionary per case. Written by plugins/frame/tests/vectors.rs; any decoder checks itself against them.",
        "cases": cases.collect::<Vec<_>>(),
    })
}

#[test]
fn the_encoder_writes_the_vectors() {
    let written = serde_json::to_string_pretty(&written()).expect("JSON") + "\n";
    let path = vectors_path();
    if std::env::var_os("COVENANT_UPDATE_VECTORS").is_some() {
        std::fs::write(&path, &written).expect("write the vectors");
    }
    let stored = std::fs::read_to_string(&path).expect("wit/v3/frame-vectors.json");
    assert!(
        stored == written,
        "the encoder no longer writes wit/v3/frame-vectors.json; if the layout changed on purpose, \
         bump it and rerun with COVENANT_UPDATE_VECTORS=1"
    );
}

#[test]
fn the_stored_vectors_decode_to_their_events() {
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(vectors_path()).expect("vectors"))
            .expect("JSON");
    let cases = stored["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 4);
    for case in cases {
        let projection = projection_from(&case["projection"]);
        let mut decoder = Decoder::new(&projection);
        for frame in case["frames"].as_array().expect("frames") {
            let bytes = unhex(frame["hex"].as_str().expect("hex"));
            let decoded = decoder.decode(&bytes).expect("a stored frame decodes");
            let events: Vec<Value> = decoded
                .events()
                .map(|e| event_json(&e, &projection))
                .collect();
            assert_eq!(Value::from(events), frame["events"], "{}", case["name"]);
        }
    }
}

/// The first case's first frame and a fresh decoder for it.
fn first_frame() -> (Vec<u8>, Projection) {
    let (_, projection, _) = cases().remove(0);
    let names: Vec<String> = ATTRIBUTES.iter().map(|s| s.to_string()).collect();
    let mut encoder = Encoder::new(names.clone());
    for event in &batches()[0] {
        encoder.push(event);
    }
    let mut bytes = Vec::new();
    FrameWriter::new(projection.clone(), &names)
        .unwrap()
        .write(&encoder.take(), &mut bytes);
    (bytes, projection)
}

fn refusal(bytes: &[u8], projection: &Projection) -> String {
    match Decoder::new(projection).decode(bytes) {
        Ok(_) => panic!("decoded a damaged frame"),
        Err(e) => e.to_string(),
    }
}

/// A change that damages a frame.
type Damage = fn(&mut Vec<u8>);

fn put32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

#[test]
fn a_damaged_frame_is_refused_with_what_is_wrong() {
    let (good, projection) = first_frame();
    let damaged = |change: Damage| {
        let mut bytes = good.clone();
        change(&mut bytes);
        refusal(&bytes, &projection)
    };
    let cases: Vec<(&str, Damage)> = vec![
        ("does not start with", |b| b[0] = b'X'),
        ("layout 2", |b| b[4] = 2),
        ("reserved bytes", |b| b[47] = 1),
        ("projection declared", |b| b[16] ^= 1),
        ("bytes follow the heap", |b| b.push(0)),
        ("run past its end", |b| b.truncate(b.len() - 1)),
        // The first new symbol's number: 0, then a second definition of 1.
        ("outside 1 to", |b| put32(b, 48, 0)),
        ("defined again", |b| put32(b, 60, 1)),
        // The first new symbol's span, past the heap.
        ("outside the heap", |b| put32(b, 52, 1 << 20)),
        ("not UTF-8", |b| *b.last_mut().unwrap() = 0xff),
    ];
    for (want, change) in cases {
        let got = damaged(change);
        assert!(got.contains(want), "{want:?} not in {got:?}");
        assert!(got.starts_with("malformed frame: "), "{got}");
    }
}

#[test]
fn cells_that_name_what_is_not_there_are_refused() {
    let (good, projection) = first_frame();
    let header = covenant_frame::HEADER_BYTES;
    let word = |at: usize| u32::from_le_bytes(good[at..at + 4].try_into().unwrap()) as usize;
    let (count, symbols, inline) = (word(20), word(24), word(28));
    let ordinals = header + symbols * 12 + inline * 8;
    let times = ordinals + count * 4;
    let presence = times + count * 12;
    let ids = presence + count;
    let action = ids + count * 8;
    let damaged = |at: usize, value: u32| {
        let mut bytes = good.clone();
        put32(&mut bytes, at, value);
        refusal(&bytes, &projection)
    };
    assert!(damaged(ordinals, 1).contains("out of order"));
    assert!(damaged(ordinals + 8, 1).contains("out of order"));
    assert!(damaged(times + 8, 1_000_000_000).contains("nanoseconds"));
    assert!(damaged(action, 60_000).contains("symbol 60000 is not defined"));
    assert!(damaged(action, 1 << 31).contains("inline string 0 is not in the frame"));
    let mut bytes = good.clone();
    bytes[presence] = 4;
    assert!(refusal(&bytes, &projection).contains("presence"));
}

#[test]
fn an_action_filter_keeps_the_ordinals_of_the_whole_run() {
    let names: Vec<String> = ATTRIBUTES.iter().map(|s| s.to_string()).collect();
    let projection = Projection {
        actions: vec!["access".into()],
        ..Projection::default()
    };
    let mut encoder = Encoder::new(names.clone());
    let mut writer = FrameWriter::new(projection.clone(), &names).unwrap();
    let mut decoder = Decoder::new(&projection);
    let mut ordinals = Vec::new();
    for events in batches() {
        events.iter().for_each(|e| encoder.push(e));
        let mut bytes = Vec::new();
        writer.write(&encoder.take(), &mut bytes);
        let frame = decoder.decode(&bytes).unwrap();
        ordinals.extend(frame.events().map(|e| e.ordinal()));
    }
    // "access" is the second event of the first batch and of the second.
    assert_eq!(ordinals, [1, 4]);
}

#[test]
fn a_symbol_made_in_an_earlier_batch_is_sent_when_a_rule_first_needs_it() {
    let names: Vec<String> = ATTRIBUTES.iter().map(|s| s.to_string()).collect();
    // Nothing of the first batch is deleted, so its frame for this rule
    // sends no symbol, though the batch made `contoso`.
    let projection = Projection {
        fields: Fields::NONE.with(Field::Tenant),
        actions: vec!["delete".into()],
        ..Projection::default()
    };
    let mut encoder = Encoder::new(names.clone());
    let mut writer = FrameWriter::new(projection.clone(), &names).unwrap();
    let mut decoder = Decoder::new(&projection);
    let mut tenants = Vec::new();
    for events in batches() {
        events.iter().for_each(|e| encoder.push(e));
        let mut bytes = Vec::new();
        writer.write(&encoder.take(), &mut bytes);
        let frame = decoder.decode(&bytes).unwrap();
        tenants.extend(frame.events().map(|e| text_json(e.text(Field::Tenant))));
    }
    assert_eq!(tenants, [json!({ "symbol": 2, "text": "contoso" })]);
}

#[test]
#[should_panic(expected = "every batch goes to every writer, in order")]
fn a_writer_given_a_batch_after_one_it_missed_stops() {
    let names: Vec<String> = ATTRIBUTES.iter().map(|s| s.to_string()).collect();
    let mut encoder = Encoder::new(names.clone());
    let mut writer = FrameWriter::new(Projection::default(), &names).unwrap();
    let [first, second] = <[_; 2]>::try_from(batches()).unwrap();
    first.iter().for_each(|e| encoder.push(e));
    encoder.take();
    second.iter().for_each(|e| encoder.push(e));
    writer.write(&encoder.take(), &mut Vec::new());
}

#[test]
fn a_writer_refuses_an_attribute_the_batches_do_not_carry() {
    let projection = Projection {
        attributes: vec!["colour".into()],
        ..Projection::default()
    };
    let error = FrameWriter::new(projection, &["subscription".to_string()]).unwrap_err();
    assert!(error.contains("`colour`"), "{error}");
}

proptest! {
    /// Whatever is done to a frame, decoding it gives events or an error,
    /// never a panic, and reading every field of what it gives is safe.
    #[test]
    fn damage_never_panics(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4), cut in any::<usize>()) {
        let (mut bytes, projection) = first_frame();
        for (at, value) in flips {
            let at = at % bytes.len();
            bytes[at] = value;
        }
        if cut % 3 == 0 {
            bytes.truncate(cut % (bytes.len() + 1));
        }
        let mut decoder = Decoder::new(&projection);
        if let Ok(frame) = decoder.decode(&bytes) {
            for event in frame.events() {
                let _ = event_json(&event, &projection);
            }
        }
    }
}
