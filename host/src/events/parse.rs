//! One JSON text into one event, borrowing its strings from the text.
//!
//! Reading is the ceiling of every report, and allocating every string of
//! every event was most of its cost. [`parse_event_ref`] parses straight
//! into slots for the fields schema v1 names, borrowing each string (an
//! escaped string is the one that must be copied) and keeping other fields
//! as raw JSON text. [`EventRef::into_event`] makes the owned [`Event`]
//! that rules are given; `covenant validate` never needs it.
//!
//! The checks run after the whole text has parsed, in a fixed order of
//! fields, so malformed JSON anywhere wins over a schema error, and the
//! field an error names does not depend on the order of keys.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::scan;
use super::{Actor, DataItem, Event, Timestamp};

/// An event whose strings are borrowed from the text it was parsed from.
#[derive(Debug)]
pub struct EventRef<'a> {
    /// The event's id: non-empty.
    pub id: Cow<'a, str>,
    /// When the operation happened, in UTC.
    pub time: Timestamp,
    action: Cow<'a, str>,
    /// The organisation the operation ran for, if named.
    pub tenant: Option<Cow<'a, str>>,
    actor: Option<(Cow<'a, str>, Option<Cow<'a, str>>)>,
    purpose: Option<Cow<'a, str>>,
    scope: Option<Cow<'a, str>>,
    layer: Option<Cow<'a, str>>,
    region: Option<Cow<'a, str>>,
    /// The data item touched, if any.
    pub data: Option<DataRef<'a>>,
    extra: Vec<(Cow<'a, str>, &'a str)>,
}

/// A data item whose strings are borrowed, as in [`EventRef`].
#[derive(Debug)]
pub struct DataRef<'a> {
    /// The item's id, if given.
    pub id: Option<Cow<'a, str>>,
    category: Option<Cow<'a, str>>,
    /// The organisation tag the item carries, if given.
    pub tenant: Option<Cow<'a, str>>,
    store: Option<Cow<'a, str>>,
    sources: Vec<Cow<'a, str>>,
    extra: Vec<(Cow<'a, str>, &'a str)>,
}

impl EventRef<'_> {
    /// The event's tenant, or its data's when the event names none: what
    /// reports and waivers file a finding under.
    pub fn filed_tenant(&self) -> Option<&str> {
        (self.tenant.as_deref()).or_else(|| self.data.as_ref().and_then(|d| d.tenant.as_deref()))
    }

    /// The id of the data item the event touches, if any.
    pub fn data_id(&self) -> Option<&str> {
        self.data.as_ref().and_then(|d| d.id.as_deref())
    }

    /// The owned event, with the attributes the schema does not name that
    /// `kept` keeps, parsed into JSON values.
    pub fn into_event(self, kept: KeptAttributes<'_>) -> Event {
        let owned = |s: Option<Cow<'_, str>>| s.map(Cow::into_owned);
        Event {
            id: self.id.into_owned(),
            time: self.time,
            action: self.action.into_owned(),
            tenant: owned(self.tenant),
            actor: self.actor.map(|(kind, id)| Actor {
                kind: kind.into_owned(),
                id: owned(id),
            }),
            purpose: owned(self.purpose),
            scope: owned(self.scope),
            layer: owned(self.layer),
            region: owned(self.region),
            data: self.data.map(|data| DataItem {
                id: owned(data.id),
                category: owned(data.category),
                tenant: owned(data.tenant),
                store: owned(data.store),
                sources: data.sources.into_iter().map(Cow::into_owned).collect(),
                extra: attributes(data.extra, kept.of_data()),
            }),
            extra: attributes(self.extra, kept),
        }
    }
}

/// Which of an event's attributes (the fields the schema does not name)
/// reading keeps in the owned [`Event`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeptAttributes<'a> {
    /// Every one, the event's and its data item's: what converting a log
    /// or cutting it into shards writes out again.
    #[default]
    All,
    /// Only the event's own attributes with these names, and none of its
    /// data item's: what a report's rules and redaction read. The others
    /// would be parsed into JSON values and dropped unread, at a cost of
    /// several allocations an event.
    Only(&'a [String]),
}

impl KeptAttributes<'_> {
    fn keeps(self, name: &str) -> bool {
        match self {
            KeptAttributes::All => true,
            KeptAttributes::Only(names) => names.iter().any(|kept| kept == name),
        }
    }

    /// What is kept of a data item's attributes.
    fn of_data(self) -> Self {
        match self {
            KeptAttributes::All => KeptAttributes::All,
            KeptAttributes::Only(_) => KeptAttributes::Only(&[]),
        }
    }
}

/// The raw attributes `kept` keeps, as JSON values; of a key given twice,
/// the last counts.
fn attributes(raw: Vec<(Cow<'_, str>, &str)>, kept: KeptAttributes<'_>) -> BTreeMap<String, Value> {
    raw.into_iter()
        .filter(|(name, _)| kept.keeps(name))
        .map(|(name, value)| {
            // The text parsed as JSON already, and nesting deep enough to
            // fail here sent the whole line through serde_json first.
            let value = serde_json::from_str(value).unwrap_or(Value::Null);
            (name.into_owned(), value)
        })
        .collect()
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

/// serde_json refuses JSON nested deeper than this; values this parser
/// skips over are not depth-checked by serde_json, so a text that could be
/// this deep is first parsed the slow, exact way.
const JSON_DEPTH_LIMIT: usize = 128;

/// Parses one JSON text into an event, naming the field at fault when it
/// is not one.
pub fn parse_event_ref(text: &str) -> Result<EventRef<'_>, ParseError> {
    parse(text, true)
}

/// Checks one JSON text as [`parse_event_ref`] does, with the same verdict,
/// without keeping the attributes the schema does not name: what
/// `covenant validate` needs.
pub fn check_event(text: &str) -> Result<EventRef<'_>, ParseError> {
    parse(text, false)
}

fn parse(text: &str, keep_attributes: bool) -> Result<EventRef<'_>, ParseError> {
    let mut fields = Fields::new();
    match scan::scan(text, keep_attributes, &mut fields) {
        Some(()) => event_from_slots(&mut fields).map_err(ParseError::Schema),
        None => parse_exact(text, keep_attributes),
    }
}

/// The parse through serde_json, exact for every text: the one that names
/// what is wrong with a text [`scan`] does not take.
fn parse_exact(text: &str, keep_attributes: bool) -> Result<EventRef<'_>, ParseError> {
    let trimmed = text.trim_start_matches([' ', '\t', '\n', '\r']);
    let openings = memchr::memchr2_iter(b'[', b'{', text.as_bytes()).count();
    if !trimmed.starts_with('{') || openings >= JSON_DEPTH_LIMIT {
        // Rare texts: anything but an object, and anything that may nest
        // too deep. serde_json's own parse gives the exact verdict.
        let value: Value = serde_json::from_str(text).map_err(ParseError::Json)?;
        if !value.is_object() {
            return Err(ParseError::Schema(not_an_object(kind_of(&value))));
        }
    }
    let mut json = serde_json::Deserializer::from_str(text);
    let mut fields = Fields::new();
    let seed = SlotSeed {
        shape: Shape::Object(Table::Event),
        keep_attributes,
        fields: &mut fields,
    };
    let slot = (seed.deserialize(&mut json))
        .and_then(|slot| json.end().map(|()| slot))
        .map_err(ParseError::Json)?;
    match slot {
        Slot::Object => event_from_slots(&mut fields).map_err(ParseError::Schema),
        Slot::Plain(other) => Err(ParseError::Schema(not_an_object(other.kind()))),
        Slot::List(_) => Err(ParseError::Schema(not_an_object("a list"))),
    }
}

/// The exact parse alone, for tests to hold the scanner to.
#[cfg(test)]
pub(super) fn parse_event_exact(text: &str) -> Result<Event, ParseError> {
    parse_exact(text, true).map(|event| event.into_event(KeptAttributes::All))
}

/// Parses one JSON text into an owned event: [`parse_event_ref`], then
/// [`EventRef::into_event`].
pub fn parse_event_text(text: &str) -> Result<Event, ParseError> {
    parse_event_ref(text).map(|event| event.into_event(KeptAttributes::All))
}

fn not_an_object(kind: &str) -> SchemaError {
    schema_error("", format!("expected a JSON object, found {kind}"))
}

/// The objects schema v1 describes: an event, its actor and its data item.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Table {
    Event,
    Actor,
    Data,
}

impl Table {
    /// The slot in [`Fields`] and the shape of the field `name`, if the
    /// schema names it; any other field is kept as an extra attribute (but
    /// for an actor's, which the schema drops).
    pub(super) fn field(self, name: &str) -> Option<(usize, Shape)> {
        use Shape::{Object, Plain, Strings};
        Some(match (self, name) {
            (Table::Event, "id") => (0, Plain),
            (Table::Event, "time") => (1, Plain),
            (Table::Event, "action") => (2, Plain),
            (Table::Event, "tenant") => (3, Plain),
            (Table::Event, "actor") => (4, Object(Table::Actor)),
            (Table::Event, "purpose") => (5, Plain),
            (Table::Event, "scope") => (6, Plain),
            (Table::Event, "layer") => (7, Plain),
            (Table::Event, "region") => (8, Plain),
            (Table::Event, "data") => (9, Object(Table::Data)),
            (Table::Actor, "type") => (ACTOR, Plain),
            (Table::Actor, "id") => (ACTOR + 1, Plain),
            (Table::Data, "id") => (DATA, Plain),
            (Table::Data, "category") => (DATA + 1, Plain),
            (Table::Data, "tenant") => (DATA + 2, Plain),
            (Table::Data, "store") => (DATA + 3, Plain),
            (Table::Data, "sources") => (DATA + 4, Strings),
            _ => return None,
        })
    }

    /// The slots of this object's fields in [`Fields`].
    fn slots(self) -> std::ops::Range<usize> {
        match self {
            Table::Event => 0..ACTOR,
            Table::Actor => ACTOR..DATA,
            Table::Data => DATA..SLOTS,
        }
    }

    /// Where in [`Fields::rest`] this object's other fields go; an actor's
    /// are dropped.
    pub(super) fn rest(self) -> Option<usize> {
        match self {
            Table::Event => Some(0),
            Table::Actor => None,
            Table::Data => Some(1),
        }
    }
}

/// The first slot of an actor's fields, and of a data item's, in [`Fields`].
const ACTOR: usize = 10;
const DATA: usize = 12;
/// Slots in all: the event's ten, the actor's two, the data item's five.
const SLOTS: usize = 17;

/// The names [`Table::field`] knows, for tests to build events from.
#[cfg(test)]
pub(super) const EVENT_FIELDS: [&str; 10] = [
    "id", "time", "action", "tenant", "actor", "purpose", "scope", "layer", "region", "data",
];
#[cfg(test)]
pub(super) const ACTOR_FIELDS: [&str; 2] = ["type", "id"];
#[cfg(test)]
pub(super) const DATA_FIELDS: [&str; 5] = ["id", "category", "tenant", "store", "sources"];

/// How a known field's value is read, by where it is.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Shape {
    /// A string, or anything else to name in an error.
    Plain,
    /// An object the schema describes.
    Object(Table),
    /// A list of strings (`data.sources`).
    Strings,
}

/// A JSON value where a string is expected: the string, or what it was instead.
pub(super) enum Plain<'a> {
    Null,
    Str(Cow<'a, str>),
    Other(&'static str),
}

impl Plain<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Plain::Null => "null",
            Plain::Str(_) => "a string",
            Plain::Other(kind) => kind,
        }
    }
}

/// A known field's value, as its [`Shape`] reads it.
pub(super) enum Slot<'a> {
    Plain(Plain<'a>),
    /// An object the schema describes; its fields are in its
    /// [`Table::slots`].
    Object,
    /// A list: its strings, or the first item that is not one.
    List(Result<Vec<Cow<'a, str>>, (usize, &'static str)>),
}

impl Slot<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Slot::Plain(plain) => plain.kind(),
            Slot::Object => "an object",
            Slot::List(_) => "a list",
        }
    }
}

/// Every field the schema names, of an event and of the actor and data
/// objects in it, in one flat table of slots; the other fields as raw text.
/// One table, not one per object, so that reading an event allocates
/// nothing for its objects.
pub(super) struct Fields<'a> {
    pub(super) known: [Option<Slot<'a>>; SLOTS],
    /// The event's other fields, then its data item's ([`Table::rest`]).
    pub(super) rest: [Vec<(Cow<'a, str>, &'a str)>; 2],
}

impl Fields<'_> {
    /// A table with every slot empty.
    pub(super) fn new() -> Self {
        Fields {
            known: Default::default(),
            rest: Default::default(),
        }
    }

    /// Empties `table`'s slots and other fields, as an object of it
    /// starts: of a key given twice, the last object counts whole.
    pub(super) fn start(&mut self, table: Table) {
        self.known[table.slots()].fill_with(|| None);
        if let Some(rest) = table.rest() {
            self.rest[rest].clear();
        }
    }
}

/// Reads one value as its [`Shape`] asks, into `fields` if it is an
/// object the schema describes, keeping the attributes of the objects in
/// it or not.
struct SlotSeed<'f, 'a> {
    shape: Shape,
    keep_attributes: bool,
    fields: &'f mut Fields<'a>,
}

impl<'de> DeserializeSeed<'de> for SlotSeed<'_, 'de> {
    type Value = Slot<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Slot<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// Reads one value as its [`Shape`] asks; a value of another shape is
/// kept as its kind, for the error to name.
impl<'de> Visitor<'de> for SlotSeed<'_, 'de> {
    type Value = Slot<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Slot<'de>, A::Error> {
        let Shape::Object(table) = self.shape else {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(Slot::Plain(Plain::Other("an object")));
        };
        let fields = self.fields;
        fields.start(table);
        let rest = table.rest().filter(|_| self.keep_attributes);
        while let Some(Key(name)) = map.next_key()? {
            match (table.field(&name), rest) {
                (Some((slot, shape)), _) => {
                    let seed = SlotSeed {
                        shape,
                        keep_attributes: self.keep_attributes,
                        fields: &mut *fields,
                    };
                    fields.known[slot] = Some(map.next_value_seed(seed)?);
                }
                (None, Some(rest)) => {
                    let value: &'de RawValue = map.next_value()?;
                    fields.rest[rest].push((name, value.get()));
                }
                (None, None) => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Slot::Object)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Slot<'de>, A::Error> {
        if self.shape != Shape::Strings {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(Slot::Plain(Plain::Other("a list")));
        }
        let mut items = Ok(Vec::new());
        let mut index = 0;
        loop {
            let seed = SlotSeed {
                shape: Shape::Plain,
                keep_attributes: false,
                fields: &mut *self.fields,
            };
            let Some(item) = seq.next_element_seed(seed)? else {
                break;
            };
            match (&mut items, item) {
                (Ok(strings), Slot::Plain(Plain::Str(s))) => strings.push(s),
                (Ok(_), other) => items = Err((index, other.kind())),
                (Err(_), _) => {}
            }
            index += 1;
        }
        Ok(Slot::List(items))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Slot<'de>, E> {
        Ok(Slot::Plain(Plain::Str(Cow::Borrowed(v))))
    }

    fn visit_str<E>(self, v: &str) -> Result<Slot<'de>, E> {
        Ok(Slot::Plain(Plain::Str(Cow::Owned(v.to_string()))))
    }

    fn visit_string<E>(self, v: String) -> Result<Slot<'de>, E> {
        Ok(Slot::Plain(Plain::Str(Cow::Owned(v))))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Slot<'de>, E> {
        Ok(Slot::Plain(Plain::Other("a boolean")))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Slot<'de>, E> {
        Ok(Slot::Plain(Plain::Other("a number")))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Slot<'de>, E> {
        Ok(Slot::Plain(Plain::Other("a number")))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Slot<'de>, E> {
        Ok(Slot::Plain(Plain::Other("a number")))
    }

    fn visit_unit<E>(self) -> Result<Slot<'de>, E> {
        Ok(Slot::Plain(Plain::Null))
    }
}

/// An object's key, borrowed from the text unless it had escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
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

// The table is taken by reference: moving it is a copy of every slot.
fn event_from_slots<'a>(fields: &mut Fields<'a>) -> Result<EventRef<'a>, SchemaError> {
    let id = required_string(fields, (0, "id"))?;
    if id.is_empty() {
        return Err(schema_error("id", "must not be empty"));
    }
    let time_text = required_string(fields, (1, "time"))?;
    let time =
        Timestamp::parse_rfc3339(&time_text).map_err(|problem| schema_error("time", problem))?;
    let action = required_string(fields, (2, "action"))?;
    let tenant = optional_string(fields, (3, "tenant"))?;
    let actor = match has_object(fields, (4, "actor"))? {
        false => None,
        true => {
            let kind = required_string(fields, (ACTOR, "actor.type"))?;
            let id = optional_string(fields, (ACTOR + 1, "actor.id"))?;
            Some((kind, id))
        }
    };
    let purpose = optional_string(fields, (5, "purpose"))?;
    let scope = optional_string(fields, (6, "scope"))?;
    let layer = optional_string(fields, (7, "layer"))?;
    let region = optional_string(fields, (8, "region"))?;
    let data = match has_object(fields, (9, "data"))? {
        false => None,
        true => Some(DataRef {
            id: optional_string(fields, (DATA, "data.id"))?,
            category: optional_string(fields, (DATA + 1, "data.category"))?,
            tenant: optional_string(fields, (DATA + 2, "data.tenant"))?,
            store: optional_string(fields, (DATA + 3, "data.store"))?,
            sources: string_list(fields, (DATA + 4, "data.sources"))?,
            extra: std::mem::take(&mut fields.rest[1]),
        }),
    };
    Ok(EventRef {
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
        extra: std::mem::take(&mut fields.rest[0]),
    })
}

/// A known field: its slot in [`Fields`], and its path for errors.
type Field = (usize, &'static str);

fn required_string<'a>(
    fields: &mut Fields<'a>,
    (slot, path): Field,
) -> Result<Cow<'a, str>, SchemaError> {
    optional_string(fields, (slot, path))?.ok_or_else(|| schema_error(path, "is required"))
}

fn optional_string<'a>(
    fields: &mut Fields<'a>,
    (slot, path): Field,
) -> Result<Option<Cow<'a, str>>, SchemaError> {
    match fields.known[slot].take() {
        Some(Slot::Plain(Plain::Str(s))) => Ok(Some(s)),
        None | Some(Slot::Plain(Plain::Null)) => Ok(None),
        Some(other) => Err(schema_error(
            path,
            format!("expected a string, found {}", other.kind()),
        )),
    }
}

/// Whether the object at `slot` was given (its fields are in its table's
/// slots); null is not giving it.
fn has_object(fields: &mut Fields<'_>, (slot, path): Field) -> Result<bool, SchemaError> {
    match fields.known[slot].take() {
        None | Some(Slot::Plain(Plain::Null)) => Ok(false),
        Some(Slot::Object) => Ok(true),
        Some(other) => Err(schema_error(
            path,
            format!("expected an object, found {}", other.kind()),
        )),
    }
}

fn string_list<'a>(
    fields: &mut Fields<'a>,
    (slot, path): Field,
) -> Result<Vec<Cow<'a, str>>, SchemaError> {
    match fields.known[slot].take() {
        None | Some(Slot::Plain(Plain::Null)) => Ok(Vec::new()),
        Some(Slot::List(Ok(items))) => Ok(items),
        Some(Slot::List(Err((index, kind)))) => Err(schema_error(
            &format!("{path}[{index}]"),
            format!("expected a string, found {kind}"),
        )),
        Some(other) => Err(schema_error(
            path,
            format!("expected a list of strings, found {}", other.kind()),
        )),
    }
}

/// "a number", "an object": for error messages.
pub(super) fn kind_of(value: &Value) -> &'static str {
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

    #[test]
    fn the_field_lists_tests_use_are_the_tables() {
        let tables = [
            (Table::Event, &EVENT_FIELDS[..]),
            (Table::Actor, &ACTOR_FIELDS[..]),
            (Table::Data, &DATA_FIELDS[..]),
        ];
        let mut next = 0;
        for (table, names) in tables {
            // Each object's fields fill its own slots, one after another.
            assert_eq!(table.slots(), next..next + names.len());
            for (slot, name) in (next..).zip(names) {
                assert_eq!(table.field(name).map(|(s, _)| s), Some(slot), "{name}");
            }
            next += names.len();
        }
        assert_eq!(next, SLOTS);
        assert!(Table::Actor.field("tenant").is_none());
    }
}
