//! Event schema v1: the input contract, and how logs become events.
//!
//! An event is one recorded operation on customer data. [`parse_event`]
//! turns one JSON object into an [`Event`], naming the field at fault when it
//! cannot; [`EventReader`] finds and reads the log files; [`TimeOrder`] puts
//! the events in the time order the rules need; [`validate`] checks a log
//! with no rule and [`generate`] writes synthetic ones.
//!
//! This is the first stage: it imports no other stage of the crate.

pub mod generate;
mod order;
mod reader;
mod spill;
mod timestamp;
pub mod validate;

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

pub use order::{
    DEFAULT_RUN_LEN, Feed, OrderCheck, OutOfOrder, SortedEvents, TimeOrder, in_time_order,
};
pub use reader::{
    EventIndex, EventReader, IndexEntry, Input, InputFormat, InputSummary, Location,
    MAX_LINE_BYTES, ReadLog, ReadProgress, Rejection,
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

/// Why a JSON value is not a schema v1 event. The reader adds where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// The field at fault, as a path such as `data.sources[2]`; empty when
    /// the value as a whole is wrong.
    pub field: String,
    /// What is wrong with the field (or the value), for the error message.
    pub problem: String,
}

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.problem)
        } else {
            write!(f, "field `{}`: {}", self.field, self.problem)
        }
    }
}

fn schema_error(field: &str, problem: impl Into<String>) -> SchemaError {
    SchemaError {
        field: field.to_string(),
        problem: problem.into(),
    }
}

/// Turns one JSON value into an event, checking every field the schema
/// names and keeping the rest as extra attributes.
pub fn parse_event(value: Value) -> Result<Event, SchemaError> {
    match value {
        Value::Object(map) => event_from_fields(Fields::from_map(&EVENT_FIELDS, map)),
        other => Err(not_an_object(kind_of(&other))),
    }
}

/// Parses one JSON text into an event, as [`parse_event`] does, without
/// building the whole JSON value first: known fields go straight to their
/// slot and keys are not copied, which is most of the cost of reading.
/// Malformed JSON is an `Err(None)`, with serde_json's message.
pub fn parse_event_text(text: &str) -> Result<Event, ParseError> {
    let mut json = serde_json::Deserializer::from_str(text);
    let parsed = FieldsSeed(&EVENT_FIELDS).deserialize(&mut json);
    let field = parsed.and_then(|field| json.end().map(|()| field));
    match field.map_err(ParseError::Json)? {
        Field::Object(fields) => event_from_fields(*fields).map_err(ParseError::Schema),
        Field::Value(other) => Err(ParseError::Schema(not_an_object(kind_of(&other)))),
    }
}

/// Why a text is not an event: not JSON at all, or JSON that breaks the schema.
#[derive(Debug)]
pub enum ParseError {
    /// The text is not well-formed JSON: serde_json's error.
    Json(serde_json::Error),
    /// The text is JSON, but not a schema v1 event.
    Schema(SchemaError),
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::Json(e) => write!(f, "malformed JSON: {e}"),
            ParseError::Schema(e) => e.fmt(f),
        }
    }
}

fn not_an_object(kind: &str) -> SchemaError {
    schema_error("", format!("expected a JSON object, found {kind}"))
}

fn event_from_fields(mut fields: Fields) -> Result<Event, SchemaError> {
    let id = required_string(&mut fields, "id", "")?;
    if id.is_empty() {
        return Err(schema_error("id", "must not be empty"));
    }
    let time_text = required_string(&mut fields, "time", "")?;
    let time =
        Timestamp::parse_rfc3339(&time_text).map_err(|problem| schema_error("time", problem))?;
    let action = required_string(&mut fields, "action", "")?;
    let tenant = optional_string(&mut fields, "tenant", "")?;
    let actor = match optional_object(&mut fields, "actor")? {
        None => None,
        Some(mut actor) => {
            let kind = required_string(&mut actor, "type", "actor.")?;
            let id = optional_string(&mut actor, "id", "actor.")?;
            Some(Actor { kind, id })
        }
    };
    let purpose = optional_string(&mut fields, "purpose", "")?;
    let scope = optional_string(&mut fields, "scope", "")?;
    let layer = optional_string(&mut fields, "layer", "")?;
    let region = optional_string(&mut fields, "region", "")?;
    let data = match optional_object(&mut fields, "data")? {
        None => None,
        Some(mut data) => Some(DataItem {
            id: optional_string(&mut data, "id", "data.")?,
            category: optional_string(&mut data, "category", "data.")?,
            tenant: optional_string(&mut data, "tenant", "data.")?,
            store: optional_string(&mut data, "store", "data.")?,
            sources: string_list(&mut data, "sources", "data.")?,
            extra: data.rest,
        }),
    };
    Ok(Event {
        id,
        time,
        action,
        tenant,
        actor,
        purpose,
        scope,
        layer,
        region,
        data,
        extra: fields.rest,
    })
}

/// The fields schema v1 names at the top of an event, in an actor and in
/// a data item. Anything else is kept as an extra attribute.
const EVENT_FIELDS: [&str; 10] = [
    "id", "time", "action", "tenant", "actor", "purpose", "scope", "layer", "region", "data",
];
const ACTOR_FIELDS: [&str; 2] = ["type", "id"];
const DATA_FIELDS: [&str; 5] = ["id", "category", "tenant", "store", "sources"];

/// The fields of the objects the schema nests in an event, by name.
fn nested_fields(parent: &[&str], name: &str) -> Option<&'static [&'static str]> {
    match name {
        "actor" if parent == EVENT_FIELDS => Some(&ACTOR_FIELDS),
        "data" if parent == EVENT_FIELDS => Some(&DATA_FIELDS),
        _ => None,
    }
}

/// A JSON object with the schema's fields set apart from the rest.
struct Fields {
    names: &'static [&'static str],
    known: [Option<Field>; EVENT_FIELDS.len()],
    rest: BTreeMap<String, Value>,
}

/// A known field's value: an object the schema describes is kept as its
/// fields, anything else as JSON.
enum Field {
    Value(Value),
    Object(Box<Fields>),
}

impl Fields {
    fn new(names: &'static [&'static str]) -> Fields {
        Fields {
            names,
            known: Default::default(),
            rest: BTreeMap::new(),
        }
    }

    fn from_map(names: &'static [&'static str], map: Map<String, Value>) -> Fields {
        let mut fields = Fields::new(names);
        for (name, value) in map {
            let Some(slot) = fields.slot(&name) else {
                fields.rest.insert(name, value);
                continue;
            };
            fields.known[slot] = Some(match (nested_fields(names, &name), value) {
                (Some(nested), Value::Object(map)) => {
                    Field::Object(Box::new(Fields::from_map(nested, map)))
                }
                (_, value) => Field::Value(value),
            });
        }
        fields
    }

    fn slot(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|known| *known == name)
    }

    fn remove(&mut self, name: &str) -> Option<Field> {
        let slot = self.slot(name)?;
        self.known[slot].take()
    }
}

/// Reads a JSON value as [`Fields`] when it is an object, for the names given.
struct FieldsSeed(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for FieldsSeed {
    type Value = Field;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Field, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FieldsSeed {
    type Value = Field;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Field, A::Error> {
        let mut fields = Fields::new(self.0);
        while let Some(Key(name)) = map.next_key()? {
            let Some(slot) = fields.slot(&name) else {
                fields.rest.insert(name.into_owned(), map.next_value()?);
                continue;
            };
            fields.known[slot] = Some(match nested_fields(self.0, &name) {
                Some(nested) => map.next_value_seed(FieldsSeed(nested))?,
                None => Field::Value(map.next_value()?),
            });
        }
        Ok(Field::Object(Box::new(fields)))
    }

    // Anything but an object is kept as it is, for the error to name it.
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Field, A::Error> {
        let value = Value::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
        Ok(Field::Value(value))
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Field, E> {
        Ok(Field::Value(Value::Bool(v)))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Field, E> {
        Ok(Field::Value(Value::from(v)))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Field, E> {
        Ok(Field::Value(Value::from(v)))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Field, E> {
        Ok(Field::Value(Value::from(v)))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Field, E> {
        Ok(Field::Value(Value::String(v.to_string())))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Field, E> {
        Ok(Field::Value(Value::String(v)))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Field, E> {
        Ok(Field::Value(Value::Null))
    }
}

/// An object's key, borrowed from the text unless it had escapes.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(v.into()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(v.to_string().into()))
            }
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(v.into()))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

fn required_string(fields: &mut Fields, name: &str, prefix: &str) -> Result<String, SchemaError> {
    match fields.remove(name) {
        Some(Field::Value(Value::String(s))) => Ok(s),
        None | Some(Field::Value(Value::Null)) => {
            Err(schema_error(&format!("{prefix}{name}"), "is required"))
        }
        Some(other) => Err(schema_error(
            &format!("{prefix}{name}"),
            format!("expected a string, found {}", field_kind(&other)),
        )),
    }
}

fn optional_string(
    fields: &mut Fields,
    name: &str,
    prefix: &str,
) -> Result<Option<String>, SchemaError> {
    match fields.remove(name) {
        Some(Field::Value(Value::String(s))) => Ok(Some(s)),
        None | Some(Field::Value(Value::Null)) => Ok(None),
        Some(other) => Err(schema_error(
            &format!("{prefix}{name}"),
            format!("expected a string, found {}", field_kind(&other)),
        )),
    }
}

fn optional_object(fields: &mut Fields, name: &str) -> Result<Option<Fields>, SchemaError> {
    match fields.remove(name) {
        None | Some(Field::Value(Value::Null)) => Ok(None),
        Some(Field::Object(object)) => Ok(Some(*object)),
        Some(Field::Value(other)) => Err(schema_error(
            name,
            format!("expected an object, found {}", kind_of(&other)),
        )),
    }
}

fn string_list(fields: &mut Fields, name: &str, prefix: &str) -> Result<Vec<String>, SchemaError> {
    match fields.remove(name) {
        None | Some(Field::Value(Value::Null)) => Ok(Vec::new()),
        Some(Field::Value(Value::Array(items))) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s),
                other => Err(schema_error(
                    &format!("{prefix}{name}[{i}]"),
                    format!("expected a string, found {}", kind_of(&other)),
                )),
            })
            .collect(),
        Some(other) => Err(schema_error(
            &format!("{prefix}{name}"),
            format!("expected a list of strings, found {}", field_kind(&other)),
        )),
    }
}

fn field_kind(field: &Field) -> &'static str {
    match field {
        Field::Value(value) => kind_of(value),
        Field::Object(_) => "an object",
    }
}

/// "a number", "an object": for error messages.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<Event, String> {
        parse_event(value).map_err(|e| e.to_string())
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

/// The text parser that reads logs and the value parser that reads `.json`
/// arrays must agree on every input, events and errors alike.
#[cfg(test)]
mod agreement {
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
        fn text_and_value_parsers_agree(
            fields in proptest::collection::vec((key(), value()), 0..12),
            base in any::<bool>(),
        ) {
            let mut body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            if base {
                // Valid required fields first, so the rest is reached.
                body.insert(0, r#""id":"e","time":"2026-01-01T00:00:00Z","action":"x""#.to_string());
            }
            let text = format!("{{{}}}", body.join(","));
            let by_value = serde_json::from_str::<Value>(&text)
                .map_err(|e| format!("malformed JSON: {e}"))
                .and_then(|value| parse_event(value).map_err(|e| e.to_string()));
            let by_text = parse_event_text(&text).map_err(|e| e.to_string());
            prop_assert_eq!(by_text, by_value, "{}", text);
        }
    }
}
