//! Event schema v1: the input contract, and how logs become events.
//!
//! An event is one recorded operation on customer data. [`parse_event`]
//! turns one JSON object into an [`Event`], naming the field at fault when it
//! cannot; [`EventReader`] finds and reads the log files; [`TimeOrder`] puts
//! the events in the time order the rules need.

mod order;
mod reader;
mod timestamp;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use order::{DEFAULT_RUN_LEN, SortedEvents, TimeOrder};
pub use reader::{
    EventIndex, EventReader, IndexEntry, Input, InputSummary, Location, MAX_LINE_BYTES, ReadLog,
    ReadProgress, Rejection,
};
pub use timestamp::Timestamp;

/// One recorded operation (schema v1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub time: Timestamp,
    pub action: String,
    pub tenant: Option<String>,
    pub actor: Option<Actor>,
    pub purpose: Option<String>,
    pub scope: Option<String>,
    pub layer: Option<String>,
    pub region: Option<String>,
    pub data: Option<DataItem>,
    /// Fields the schema does not name, kept for rules that want them.
    pub extra: BTreeMap<String, Value>,
}

/// Who performed an operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    /// `type` in the log: `service`, `personnel`, `customer` or `partner`.
    pub kind: String,
    pub id: Option<String>,
}

/// The customer data item an event touches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataItem {
    pub id: Option<String>,
    pub category: Option<String>,
    pub tenant: Option<String>,
    pub store: Option<String>,
    pub sources: Vec<String>,
    pub extra: BTreeMap<String, Value>,
}

/// Why a JSON value is not a schema v1 event. The reader adds where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// The field at fault, as a path such as `data.sources[2]`; empty when
    /// the value as a whole is wrong.
    pub field: String,
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
    let Value::Object(mut fields) = value else {
        return Err(schema_error(
            "",
            format!("expected a JSON object, found {}", kind_of(&value)),
        ));
    };
    let id = required_string(&mut fields, "id", "")?;
    if id.is_empty() {
        return Err(schema_error("id", "must not be empty"));
    }
    let time_text = required_string(&mut fields, "time", "")?;
    let time =
        Timestamp::parse_rfc3339(&time_text).map_err(|problem| schema_error("time", problem))?;
    let action = required_string(&mut fields, "action", "")?;
    let tenant = optional_string(&mut fields, "tenant", "")?;
    let actor = match fields.remove("actor") {
        None | Some(Value::Null) => None,
        Some(Value::Object(mut actor)) => {
            let kind = required_string(&mut actor, "type", "actor.")?;
            let id = optional_string(&mut actor, "id", "actor.")?;
            Some(Actor { kind, id })
        }
        Some(other) => {
            return Err(schema_error(
                "actor",
                format!("expected an object, found {}", kind_of(&other)),
            ));
        }
    };
    let purpose = optional_string(&mut fields, "purpose", "")?;
    let scope = optional_string(&mut fields, "scope", "")?;
    let layer = optional_string(&mut fields, "layer", "")?;
    let region = optional_string(&mut fields, "region", "")?;
    let data = match fields.remove("data") {
        None | Some(Value::Null) => None,
        Some(Value::Object(mut data)) => Some(DataItem {
            id: optional_string(&mut data, "id", "data.")?,
            category: optional_string(&mut data, "category", "data.")?,
            tenant: optional_string(&mut data, "tenant", "data.")?,
            store: optional_string(&mut data, "store", "data.")?,
            sources: string_list(&mut data, "sources", "data.")?,
            extra: data.into_iter().collect(),
        }),
        Some(other) => {
            return Err(schema_error(
                "data",
                format!("expected an object, found {}", kind_of(&other)),
            ));
        }
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
        extra: fields.into_iter().collect(),
    })
}

fn required_string(
    fields: &mut Map<String, Value>,
    name: &str,
    prefix: &str,
) -> Result<String, SchemaError> {
    match fields.remove(name) {
        Some(Value::String(s)) => Ok(s),
        None | Some(Value::Null) => Err(schema_error(&format!("{prefix}{name}"), "is required")),
        Some(other) => Err(schema_error(
            &format!("{prefix}{name}"),
            format!("expected a string, found {}", kind_of(&other)),
        )),
    }
}

fn optional_string(
    fields: &mut Map<String, Value>,
    name: &str,
    prefix: &str,
) -> Result<Option<String>, SchemaError> {
    match fields.remove(name) {
        Some(Value::String(s)) => Ok(Some(s)),
        None | Some(Value::Null) => Ok(None),
        Some(other) => Err(schema_error(
            &format!("{prefix}{name}"),
            format!("expected a string, found {}", kind_of(&other)),
        )),
    }
}

fn string_list(
    fields: &mut Map<String, Value>,
    name: &str,
    prefix: &str,
) -> Result<Vec<String>, SchemaError> {
    match fields.remove(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
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
            format!("expected a list of strings, found {}", kind_of(&other)),
        )),
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
