//! Event schema v1: the input contract, and how logs become events.
//!
//! An event is one recorded operation on customer data. [`parse_event_ref`]
//! turns one JSON text into an [`EventRef`], naming the field at fault when it
//! cannot (`scan` reads plain lines fast, `parse` the rest exactly);
//! [`EventReader`] finds and reads the log files, decoding them on every
//! core (`chunks`), merging files that are each in time order (`merge`) and
//! checking ids unique in 16 bytes an event (`ids`); [`TimeOrder`] puts the
//! events in the time order the rules need when the log is not; [`validate`]
//! checks a log with no rule and [`generate`] writes synthetic ones.
//!
//! This is the first stage: it imports no other stage of the crate.

mod chunks;
mod compressed;
mod files;
pub mod generate;
mod ids;
pub mod mapping;
mod merge;
mod order;
mod parse;
mod reader;
mod scan;
mod spill;
mod timestamp;
pub mod validate;

use std::collections::BTreeMap;

use serde_json::Value;

pub use ids::{BYTES_PER_ID, ID_BUDGET_BYTES};
pub use order::{
    DEFAULT_RUN_LEN, Feed, OrderCheck, OutOfOrder, SortedEvents, TimeOrder, in_time_order,
};
pub use parse::{DataRef, EventRef, ParseError, SchemaError, parse_event_ref, parse_event_text};
pub use reader::{
    EventPlace, EventReader, Input, InputFormat, InputSummary, Location, MAX_LINE_BYTES, Pass,
    Places, ReadLog, ReadProgress, Rejection, SourcePlace, SourcePlaces, formats_read,
};
pub use timestamp::Timestamp;

/// One recorded operation (schema v1).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The event's id: non-empty, and unique across all inputs.
    pub id: String,
    /// When the operation happened, normalised to UTC.
    pub time: Timestamp,
    /// What was done, e.g. `collect`, `store`, `derive`, `share` or `delete`;
    /// any other action is allowed.
    pub action: String,
    /// The organisation in whose context the operation ran.
    pub tenant: Option<String>,
    /// Who performed the operation, if the log says.
    pub actor: Option<Actor>,
    /// Why the operation ran, e.g. `threat-detection` or `model-training`.
    pub purpose: Option<String>,
    /// On consent events, what the consent covers, e.g. `ai-training`.
    pub scope: Option<String>,
    /// The component of the service that emitted the event, e.g. `portal`.
    pub layer: Option<String>,
    /// The region the operation took place in, e.g. where a `store` kept the data.
    pub region: Option<String>,
    /// The customer data item the operation touched, if any.
    pub data: Option<DataItem>,
    /// Fields the schema does not name, kept for rules that want them.
    pub extra: BTreeMap<String, Value>,
}

/// Who performed an operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    /// `type` in the log: `service`, `personnel`, `customer` or `partner`.
    pub kind: String,
    /// The actor's own identifier, if the log records one.
    pub id: Option<String>,
}

/// The customer data item an event touches.
#[derive(Debug, Clone, PartialEq)]
pub struct DataItem {
    /// The data item's id, which rules track the item by.
    pub id: Option<String>,
    /// What kind of data it is, e.g. `event-log`, `ai-prompt` or `calculated`.
    pub category: Option<String>,
    /// The organisation tag the item carries, which may differ from the event's `tenant`.
    pub tenant: Option<String>,
    /// Where the item is kept, e.g. `resource-graph`.
    pub store: Option<String>,
    /// On a `derive`, the ids of the items it was computed from; empty when none are given.
    pub sources: Vec<String>,
    /// Fields of `data` the schema does not name, kept for rules that want them.
    pub extra: BTreeMap<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<Event, String> {
        parse_event_text(&value.to_string()).map_err(|e| e.to_string())
    }

    #[test]
    fn parses_every_field_and_keeps_the_rest() {
        let event = parse(json!({
            "id": "e1", "time": "2026-01-01T02:00:00+02:00", "action": "derive",
            "tenant": "a", "actor": {"type": "service", "id": "svc"}, "purpose": "threat-detection",
            "scope": "s", "layer": "analytics", "region": "westeurope",
            "data": {"id": "d1", "category": "calculated", "tenant": "a", "store": "graph",
                     "sources": ["d0"], "size": 10},
            "ticket": "T-1"
        }))
        .unwrap();
        assert_eq!(
            event.time,
            Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").unwrap()
        );
        assert_eq!(event.actor.as_ref().unwrap().kind, "service");
        let data = event.data.as_ref().unwrap();
        assert_eq!(data.sources, ["d0"]);
        assert_eq!(data.extra["size"], json!(10));
        assert_eq!(event.extra["ticket"], json!("T-1"));
    }

    #[test]
    fn missing_required_fields_are_named() {
        assert_eq!(
            parse(json!({"time": "2026-01-01T00:00:00Z", "action": "x"})).unwrap_err(),
            "field `id`: is required"
        );
        assert_eq!(
            parse(json!({"id": "e", "action": "x"})).unwrap_err(),
            "field `time`: is required"
        );
        assert_eq!(
            parse(json!({"id": "e", "time": "2026-01-01T00:00:00Z"})).unwrap_err(),
            "field `action`: is required"
        );
    }

    #[test]
    fn mistyped_fields_are_named() {
        let base = |extra: Value| {
            let mut v = json!({"id": "e", "time": "2026-01-01T00:00:00Z", "action": "x"});
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            parse(v).unwrap_err()
        };
        assert_eq!(
            base(json!({"id": 7})),
            "field `id`: expected a string, found a number"
        );
        assert_eq!(
            base(json!({"tenant": ["a"]})),
            "field `tenant`: expected a string, found a list"
        );
        assert_eq!(
            base(json!({"actor": {"id": "x"}})),
            "field `actor.type`: is required"
        );
        assert_eq!(
            base(json!({"data": {"sources": ["a", 1]}})),
            "field `data.sources[1]`: expected a string, found a number"
        );
        assert_eq!(
            base(json!({"data": "d1"})),
            "field `data`: expected an object, found a string"
        );
        assert!(base(json!({"time": "yesterday"})).starts_with("field `time`: "));
    }

    #[test]
    fn rejects_non_objects_and_empty_ids() {
        assert_eq!(
            parse(json!([1])).unwrap_err(),
            "expected a JSON object, found a list"
        );
        assert_eq!(
            parse(json!({"id": "", "time": "2026-01-01T00:00:00Z", "action": "x"})).unwrap_err(),
            "field `id`: must not be empty"
        );
    }
}

/// The parser must not depend on how a JSON object is written: the order
/// of its keys, escapes in them, or a key given twice (the last counts, as
/// in serde_json's own `Value`). Re-writing a text through `Value` changes
/// all three, and must not change the event or the error.
#[cfg(test)]
mod agreement {
    use super::parse::{ACTOR_FIELDS, DATA_FIELDS, EVENT_FIELDS};
    use super::*;
    use proptest::prelude::*;

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::sample::select(
                EVENT_FIELDS
                    .iter()
                    .chain(&ACTOR_FIELDS)
                    .chain(&DATA_FIELDS)
                    .map(|k| k.to_string())
                    .collect::<Vec<_>>()
            ),
            "[a-z]{1,6}",
            Just("tim\\u0065".to_string()),
        ]
    }

    fn value() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_string()),
            Just("7".to_string()),
            Just("true".to_string()),
            Just("\"2026-01-01T00:00:00Z\"".to_string()),
            "\"[a-z]{0,4}\"",
            Just("\"a\\u00e9\"".to_string()),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                proptest::collection::vec((key(), inner), 0..5).prop_map(|fields| {
                    let body: Vec<String> =
                        fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                    format!("{{{}}}", body.join(","))
                }),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(512)
        ))]

        #[test]
        fn the_way_an_object_is_written_does_not_change_its_event(
            fields in proptest::collection::vec((key(), value()), 0..12),
            base in any::<bool>(),
        ) {
            let mut body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            if base {
                // Valid required fields first, so the rest is reached.
                body.insert(0, r#""id":"e","time":"2026-01-01T00:00:00Z","action":"x""#.to_string());
            }
            let text = format!("{{{}}}", body.join(","));
            let value: Value = serde_json::from_str(&text).unwrap();
            let rewritten = value.to_string();
            let as_written = parse_event_text(&text).map_err(|e| e.to_string());
            let as_rewritten = parse_event_text(&rewritten).map_err(|e| e.to_string());
            prop_assert_eq!(&as_written, &as_rewritten, "{} against {}", text, rewritten);
            // Checking without keeping attributes gives the same verdict.
            let checked = parse::check_event(&text).map(|e| e.id.into_owned()).map_err(|e| e.to_string());
            prop_assert_eq!(checked, as_written.map(|e| e.id));
        }
    }
}
