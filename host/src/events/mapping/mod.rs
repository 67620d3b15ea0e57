//! Log formats: mapping files that turn other formats' records into
//! schema v1 events, and the shipped profiles (CloudTrail, OCSF,
//! OpenLineage) that are themselves such files.
//!
//! A mapping turns one JSON record into the text of zero or more schema v1
//! events, and the reader then checks that text as it checks any event. So
//! a mapping cannot make an event the rules would not accept from a log:
//! whatever it gets wrong is a reported error of the record, with its place.
//! The README's "Log formats" section is the reference for the file.

mod expr;
mod profiles;

use std::collections::BTreeMap;
use std::path::Path as FilePath;

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::Timestamp;
use super::parse::kind_of;
pub use expr::Scope;
use expr::{Condition, Path, Template, scalar_text};
pub use profiles::{Detected, FormatChoice, detect, shipped};

/// A compiled mapping file: how one format's records become events.
#[derive(Debug)]
pub struct Mapping {
    name: String,
    description: String,
    /// The mapping file's text, which `covenant formats show` prints.
    text: String,
    detect: Option<Condition>,
    container: Option<String>,
    root: Option<Path>,
    each: Option<Path>,
    skip: Vec<Condition>,
    fold_repeats: bool,
    ignore: bool,
    event: EventSpec,
}

/// What one record came to.
#[derive(Debug, PartialEq)]
pub enum Mapped {
    /// The texts of the schema v1 events it maps to, in order.
    Events(Vec<String>),
    /// None: the record is of a kind the mapping leaves out (a skip
    /// condition held, or no action was mapped), counted in the summary.
    Skipped,
}

#[derive(Debug)]
struct EventSpec {
    id: Spec,
    time: Spec,
    action: Spec,
    strings: Vec<(&'static str, Spec)>,
    actor: Option<(Spec, Option<Spec>)>,
    data: Vec<(&'static str, Spec)>,
    sources: Option<Spec>,
    extra: Vec<(String, Spec)>,
}

/// The fields of an event a mapping may fill, beyond the required ones,
/// in the order schema v1 lists them.
const OPTIONAL_FIELDS: [&str; 5] = ["tenant", "purpose", "scope", "layer", "region"];
const DATA_FIELDS: [&str; 4] = ["id", "category", "tenant", "store"];
const SCHEMA_FIELDS: [&str; 10] = [
    "id", "time", "action", "tenant", "actor", "purpose", "scope", "layer", "region", "data",
];

/// Where a field's value comes from: alternatives tried in order, and a
/// default when none gives one.
#[derive(Debug)]
struct Spec {
    alternatives: Vec<Alternative>,
    default: Option<String>,
    /// How the file wrote it, for messages.
    written: String,
}

#[derive(Debug)]
struct Alternative {
    source: Source,
    /// When it applies; always, if not given.
    when: Option<Condition>,
    /// For a list field, the array whose elements each give one value.
    each: Option<Path>,
    map: Option<BTreeMap<String, String>>,
    keep_unmapped: bool,
    time: TimeFormat,
}

#[derive(Debug)]
enum Source {
    Path(Path),
    Template(Template),
    Const(String),
    /// This prefix and the first 16 hex digits of the SHA-256 of the
    /// record's canonical JSON: an id for records that carry none, equal
    /// for equal records.
    Digest(String),
}

/// How a time is written in the record.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
enum TimeFormat {
    #[serde(rename = "rfc3339")]
    Rfc3339,
    #[serde(rename = "epoch-s")]
    EpochSeconds,
    #[serde(rename = "epoch-ms")]
    EpochMillis,
    #[serde(rename = "epoch-us")]
    EpochMicros,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    name: String,
    description: Option<String>,
    detect: Option<String>,
    #[serde(default)]
    records: RecordsFile,
    event: EventFile,
    #[serde(default)]
    extra: BTreeMap<String, toml::Value>,
    #[serde(default)]
    maps: Maps,
}

/// The value maps a mapping file names under `[maps.NAME]`.
type Maps = BTreeMap<String, BTreeMap<String, String>>;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RecordsFile {
    container: Option<String>,
    root: Option<String>,
    each: Option<String>,
    #[serde(default)]
    skip: Vec<String>,
    repeats: Option<String>,
    #[serde(default)]
    ignore: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventFile {
    id: Option<toml::Value>,
    time: Option<toml::Value>,
    action: Option<toml::Value>,
    tenant: Option<toml::Value>,
    purpose: Option<toml::Value>,
    scope: Option<toml::Value>,
    layer: Option<toml::Value>,
    region: Option<toml::Value>,
    actor: Option<ActorFile>,
    data: Option<DataFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActorFile {
    #[serde(rename = "type")]
    kind: toml::Value,
    id: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DataFile {
    id: Option<toml::Value>,
    category: Option<toml::Value>,
    tenant: Option<toml::Value>,
    store: Option<toml::Value>,
    sources: Option<toml::Value>,
}

impl Mapping {
    /// Reads and compiles a mapping file, naming the file and the field
    /// at fault when it cannot.
    pub fn from_file(path: &FilePath) -> Result<Mapping> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read mapping {}", path.display()))?;
        Mapping::parse(&text).with_context(|| format!("mapping {}", path.display()))
    }

    /// Compiles a mapping from its TOML text.
    pub fn parse(text: &str) -> Result<Mapping> {
        let file: MappingFile = toml::from_str(text).map_err(|e| anyhow!("{}", e.message()))?;
        if file.name.is_empty()
            || !(file.name.bytes())
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            bail!(
                "`name` must be lower-case letters, digits and `-`, not `{}`",
                file.name
            );
        }
        if file.name == "covenant" || file.name == "auto" {
            bail!("`name` `{}` is taken by `--input-format`", file.name);
        }
        let records = file.records;
        let fold_repeats = match records.repeats.as_deref() {
            None | Some("fold") => true,
            Some("error") => false,
            Some(other) => bail!("`records.repeats` is `fold` or `error`, not `{other}`"),
        };
        let path = |field: &str, text: Option<String>| {
            text.map(|t| Path::parse(&t).with_context(|| format!("`{field}`")))
                .transpose()
        };
        let event = file.event;
        let maps = &file.maps;
        let required = |field: &str, value: Option<toml::Value>| {
            let value = value.ok_or_else(|| anyhow!("`event.{field}` is required"))?;
            Spec::compile(&format!("event.{field}"), &value, maps)
        };
        let optional = |field: &str, value: Option<toml::Value>| {
            value
                .map(|value| Spec::compile(field, &value, maps))
                .transpose()
        };
        let time = required("time", event.time)?;
        let strings = OPTIONAL_FIELDS
            .into_iter()
            .zip([
                event.tenant,
                event.purpose,
                event.scope,
                event.layer,
                event.region,
            ])
            .filter_map(|(name, value)| {
                optional(&format!("event.{name}"), value)
                    .transpose()
                    .map(|spec| spec.map(|spec| (name, spec)))
            })
            .collect::<Result<Vec<_>>>()?;
        let actor = event
            .actor
            .map(|actor| -> Result<_> {
                Ok((
                    Spec::compile("event.actor.type", &actor.kind, maps)?,
                    optional("event.actor.id", actor.id)?,
                ))
            })
            .transpose()?;
        let (data, sources) = match event.data {
            None => (Vec::new(), None),
            Some(data) => {
                let fields = DATA_FIELDS
                    .into_iter()
                    .zip([data.id, data.category, data.tenant, data.store])
                    .filter_map(|(name, value)| {
                        optional(&format!("event.data.{name}"), value)
                            .transpose()
                            .map(|spec| spec.map(|spec| (name, spec)))
                    })
                    .collect::<Result<Vec<_>>>()?;
                (fields, optional("event.data.sources", data.sources)?)
            }
        };
        let mut extra = Vec::new();
        for (name, value) in file.extra {
            if SCHEMA_FIELDS.contains(&name.as_str()) {
                bail!("`extra.{name}` is a schema field: set it under [event]");
            }
            extra.push((
                name.clone(),
                Spec::compile(&format!("extra.{name}"), &value, maps)?,
            ));
        }
        Ok(Mapping {
            description: file.description.unwrap_or_default(),
            text: text.to_string(),
            detect: file
                .detect
                .map(|c| Condition::parse(&c).context("`detect`"))
                .transpose()?,
            container: records.container,
            root: path("records.root", records.root)?,
            each: path("records.each", records.each)?,
            skip: (records.skip.iter())
                .map(|c| Condition::parse(c).context("`records.skip`"))
                .collect::<Result<_>>()?,
            fold_repeats,
            ignore: records.ignore,
            event: EventSpec {
                id: required("id", event.id)?,
                time,
                action: required("action", event.action)?,
                strings,
                actor,
                data,
                sources,
                extra,
            },
            name: file.name,
        })
    }

    /// The name reports give inputs read with it, e.g. `cloudtrail`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the mapping reads, in a line.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The mapping file's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// In a `.json` document, the key of the array holding the records
    /// (`Records` for CloudTrail), if the records are not the document
    /// itself or its top-level array.
    pub fn container(&self) -> Option<&str> {
        self.container.as_deref()
    }

    /// Whether a record repeated with the same content is folded into one
    /// (and counted) rather than rejected as a duplicate id: what a format
    /// delivered at least once needs.
    pub fn folds_repeats(&self) -> bool {
        self.fold_repeats
    }

    /// Whether inputs in this format hold no events at all, and are only
    /// recognised so that they are not mistaken for logs (CloudTrail's
    /// digest files).
    pub fn ignores_input(&self) -> bool {
        self.ignore
    }

    /// The record inside what was read: the `records.root` object when it
    /// is there (an EventBridge envelope's `detail`), else all of it.
    fn unwrap<'v>(&self, value: &'v Value) -> &'v Value {
        let scope = Scope {
            record: value,
            element: None,
        };
        match self.root.as_ref().and_then(|root| root.first(scope)) {
            Some(inner) if inner.is_object() => inner,
            _ => value,
        }
    }

    /// Whether `value`, the first record of an input, looks like this
    /// format's: what `--input-format auto` asks.
    pub fn recognises(&self, value: &Value) -> bool {
        let record = self.unwrap(value);
        record.is_object()
            && self.detect.as_ref().is_some_and(|detect| {
                detect.holds(Scope {
                    record,
                    element: None,
                })
            })
    }

    /// Maps the record in `text` to events, or says why it cannot: the
    /// message the reader puts after the record's place.
    pub fn apply(&self, text: &str) -> Result<Mapped, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("malformed JSON: {e}"))?;
        if !value.is_object() {
            return Err(format!(
                "a {} record must be a JSON object, not {}",
                self.name,
                kind_of(&value)
            ));
        }
        let record = self.unwrap(&value);
        let whole = Scope {
            record,
            element: None,
        };
        if self.skip.iter().any(|condition| condition.holds(whole)) {
            return Ok(Mapped::Skipped);
        }
        let elements = match &self.each {
            Some(each) => each.all(whole),
            None => Vec::new(),
        };
        let scopes: Vec<Scope> = if elements.is_empty() {
            vec![whole]
        } else {
            (elements.iter())
                .map(|element| Scope {
                    record,
                    element: Some(element),
                })
                .collect()
        };
        let fanned = scopes.len() > 1;
        let mut events = Vec::new();
        for (n, scope) in scopes.into_iter().enumerate() {
            let Some(event) = self.event(scope, fanned.then_some(n))? else {
                continue;
            };
            events.push(Value::Object(event).to_string());
        }
        Ok(if events.is_empty() {
            Mapped::Skipped
        } else {
            Mapped::Events(events)
        })
    }

    /// The event for one scope (the record, or one element of its
    /// fan-out, numbered `part`), or none when no action is mapped.
    fn event(
        &self,
        scope: Scope<'_>,
        part: Option<usize>,
    ) -> Result<Option<Map<String, Value>>, String> {
        let spec = &self.event;
        let Some(action) = spec.action.text(scope)? else {
            return Ok(None);
        };
        let mut id = spec.id.text(scope)?.ok_or_else(|| {
            format!(
                "mapped as {}: no `id` (looked at {})",
                self.name, spec.id.written
            )
        })?;
        if let Some(part) = part {
            id = format!("{id}#{part}");
        }
        let time = spec.time.time(scope)?.ok_or_else(|| {
            format!(
                "mapped as {}: no `time` (looked at {})",
                self.name, spec.time.written
            )
        })?;
        let mut event = Map::new();
        event.insert("id".into(), id.into());
        event.insert("time".into(), time.to_rfc3339().into());
        event.insert("action".into(), action.into());
        for (name, field) in &spec.strings {
            if let Some(text) = field.text(scope)? {
                event.insert((*name).into(), text.into());
            }
        }
        if let Some((kind, actor_id)) = &spec.actor
            && let Some(kind) = kind.text(scope)?
        {
            let mut actor = Map::new();
            actor.insert("type".into(), kind.into());
            if let Some(actor_id) = actor_id
                .as_ref()
                .map(|s| s.text(scope))
                .transpose()?
                .flatten()
            {
                actor.insert("id".into(), actor_id.into());
            }
            event.insert("actor".into(), actor.into());
        }
        let mut data = Map::new();
        for (name, field) in &spec.data {
            if let Some(text) = field.text(scope)? {
                data.insert((*name).into(), text.into());
            }
        }
        if let Some(sources) = &spec.sources {
            let sources = sources.list(scope)?;
            if !sources.is_empty() {
                data.insert("sources".into(), sources.into());
            }
        }
        if !data.is_empty() {
            event.insert("data".into(), data.into());
        }
        for (name, field) in &spec.extra {
            if let Some(value) = field.value(scope)? {
                event.insert(name.clone(), value);
            }
        }
        Ok(Some(event))
    }
}

impl Spec {
    /// Compiles a field's spec: a path, a list of alternatives, or a table
    /// with one of `path`, `template`, `const` and `digest`.
    fn compile(field: &str, value: &toml::Value, maps: &Maps) -> Result<Spec> {
        let written = value.to_string();
        let mut alternatives = Vec::new();
        let mut default = None;
        let items: Vec<&toml::Value> = match value {
            toml::Value::Array(items) if !items.is_empty() => items.iter().collect(),
            toml::Value::Array(_) => bail!("`{field}`: an empty list of alternatives"),
            other => vec![other],
        };
        for item in items {
            let (alternative, item_default) = Alternative::compile(field, item, maps)?;
            if item_default.is_some() {
                default = item_default;
            }
            alternatives.push(alternative);
        }
        Ok(Spec {
            alternatives,
            default,
            written,
        })
    }

    /// The field as text: the first alternative that gives one, else the default.
    fn text(&self, scope: Scope<'_>) -> Result<Option<String>, String> {
        for alternative in &self.alternatives {
            if alternative.applies(scope)
                && let Some(text) = alternative.mapped(alternative.source_text(scope))
            {
                return Ok(Some(text));
            }
        }
        Ok(self.default.clone())
    }

    /// The field as JSON, as an extra attribute keeps it: a path's value
    /// as it is, anything else as text.
    fn value(&self, scope: Scope<'_>) -> Result<Option<Value>, String> {
        for alternative in &self.alternatives {
            if let Some(value) = alternative.value(scope) {
                if alternative.map.is_none() {
                    return Ok(Some(value));
                }
                if let Some(text) = alternative.mapped(scalar_text(&value)) {
                    return Ok(Some(text.into()));
                }
            }
        }
        Ok(self.default.clone().map(Value::from))
    }

    /// A list field: the first alternative that gives any values.
    fn list(&self, scope: Scope<'_>) -> Result<Vec<String>, String> {
        for alternative in &self.alternatives {
            if !alternative.applies(scope) {
                continue;
            }
            let values: Vec<String> = match &alternative.each {
                Some(each) => each
                    .all(scope)
                    .into_iter()
                    .filter_map(|element| {
                        let inner = Scope {
                            record: scope.record,
                            element: Some(element),
                        };
                        alternative.mapped(alternative.source_text(inner))
                    })
                    .collect(),
                None => alternative
                    .mapped(alternative.source_text(scope))
                    .into_iter()
                    .collect(),
            };
            if !values.is_empty() {
                return Ok(values);
            }
        }
        Ok(self.default.clone().into_iter().collect())
    }

    /// The field as a time. A value that is there but is not a time in the
    /// format given is an error, not a reason to look further: a log whose
    /// times do not parse is broken, and must not be read at another time.
    fn time(&self, scope: Scope<'_>) -> Result<Option<Timestamp>, String> {
        for alternative in &self.alternatives {
            if let Some(value) = alternative.value(scope) {
                return alternative.time.parse(&value).map(Some);
            }
        }
        match &self.default {
            Some(text) => Timestamp::parse_rfc3339(text).map(Some),
            None => Ok(None),
        }
    }
}

impl Alternative {
    fn compile(
        field: &str,
        item: &toml::Value,
        maps: &Maps,
    ) -> Result<(Alternative, Option<String>)> {
        let plain = |source| Alternative {
            source,
            when: None,
            each: None,
            map: None,
            keep_unmapped: false,
            time: TimeFormat::Rfc3339,
        };
        let table = match item {
            toml::Value::String(path) => {
                let path = Path::parse(path).with_context(|| format!("`{field}`"))?;
                return Ok((plain(Source::Path(path)), None));
            }
            toml::Value::Table(table) => table,
            other => bail!(
                "`{field}`: expected a path, a list or a table, found {}",
                other.type_str()
            ),
        };
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Table {
            path: Option<String>,
            template: Option<String>,
            #[serde(rename = "const")]
            constant: Option<String>,
            digest: Option<String>,
            each: Option<String>,
            when: Option<String>,
            map: Option<MapRef>,
            #[serde(default)]
            keep_unmapped: bool,
            default: Option<String>,
            format: Option<TimeFormat>,
        }
        let parsed: Table = toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| anyhow!("`{field}`: {}", e.message()))?;
        let mut sources = Vec::new();
        if let Some(path) = &parsed.path {
            sources.push(Source::Path(
                Path::parse(path).with_context(|| format!("`{field}`"))?,
            ));
        }
        if let Some(template) = &parsed.template {
            sources.push(Source::Template(
                Template::parse(template).with_context(|| format!("`{field}`"))?,
            ));
        }
        if let Some(constant) = parsed.constant {
            sources.push(Source::Const(constant));
        }
        if let Some(prefix) = parsed.digest {
            sources.push(Source::Digest(prefix));
        }
        let source = match sources.len() {
            1 => sources.remove(0),
            0 if parsed.default.is_some() => {
                Source::Const(parsed.default.clone().unwrap_or_default())
            }
            _ => bail!("`{field}`: give exactly one of `path`, `template`, `const` and `digest`"),
        };
        if parsed.each.is_some() && field != "event.data.sources" {
            bail!("`{field}`: `each` is only for `event.data.sources`");
        }
        if parsed.format.is_some() && field != "event.time" {
            bail!("`{field}`: `format` is only for `event.time`");
        }
        Ok((
            Alternative {
                source,
                when: (parsed.when.as_deref())
                    .map(|when| Condition::parse(when).with_context(|| format!("`{field}.when`")))
                    .transpose()?,
                each: (parsed.each.as_deref())
                    .map(|each| Path::parse(each).with_context(|| format!("`{field}.each`")))
                    .transpose()?,
                map: match parsed.map {
                    None => None,
                    Some(MapRef::Inline(map)) => Some(map),
                    Some(MapRef::Named(name)) => Some(
                        maps.get(&name)
                            .cloned()
                            .ok_or_else(|| anyhow!("`{field}`: no `[maps.{name}]` table"))?,
                    ),
                },
                keep_unmapped: parsed.keep_unmapped,
                time: parsed.format.unwrap_or(TimeFormat::Rfc3339),
            },
            parsed.default,
        ))
    }

    /// What the source gives in `scope`, as JSON: nothing when its
    /// `when` does not hold.
    fn value(&self, scope: Scope<'_>) -> Option<Value> {
        self.applies(scope)
            .then(|| self.source_value(scope))
            .flatten()
    }

    /// Whether its `when` holds in `scope` (or it has none).
    fn applies(&self, scope: Scope<'_>) -> bool {
        self.when.as_ref().is_none_or(|when| when.holds(scope))
    }

    /// What the source gives in `scope` as text, `when` or not, with no
    /// JSON value made on the way.
    fn source_text(&self, scope: Scope<'_>) -> Option<String> {
        match &self.source {
            Source::Path(path) => path.text(scope),
            Source::Template(template) => template.fill(scope),
            Source::Const(text) => Some(text.clone()),
            Source::Digest(_) => self.source_value(scope).as_ref().and_then(scalar_text),
        }
    }

    /// What the source gives in `scope`, `when` or not.
    fn source_value(&self, scope: Scope<'_>) -> Option<Value> {
        match &self.source {
            Source::Path(path) => path.first(scope).cloned(),
            Source::Template(template) => template.fill(scope).map(Value::from),
            Source::Const(text) => Some(text.clone().into()),
            Source::Digest(prefix) => {
                let digest = Sha256::digest(canonical(scope.record).as_bytes());
                let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
                Some(format!("{prefix}{hex}").into())
            }
        }
    }

    /// `text` through the value map, if there is one.
    fn mapped(&self, text: Option<String>) -> Option<String> {
        let text = text?;
        match &self.map {
            None => Some(text),
            Some(map) => match map.get(&text) {
                Some(mapped) => Some(mapped.clone()),
                None => self.keep_unmapped.then_some(text),
            },
        }
    }
}

/// A value map, written in place or named: `map = "actions"` for the
/// `[maps.actions]` table, which keeps long maps readable.
#[derive(Deserialize)]
#[serde(untagged)]
enum MapRef {
    Named(String),
    Inline(BTreeMap<String, String>),
}

impl TimeFormat {
    fn parse(self, value: &Value) -> Result<Timestamp, String> {
        let shown = || match value {
            Value::String(s) => format!("`{s}`"),
            other => other.to_string(),
        };
        if self == TimeFormat::Rfc3339 {
            let text = value
                .as_str()
                .ok_or_else(|| format!("time {}: expected an RFC 3339 string", shown()))?;
            return Timestamp::parse_rfc3339(text).map_err(|e| format!("time {}: {e}", shown()));
        }
        let (per_second, unit) = match self {
            TimeFormat::EpochSeconds => (1, "seconds"),
            TimeFormat::EpochMillis => (1_000, "milliseconds"),
            _ => (1_000_000, "microseconds"),
        };
        let count = match value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        }
        .ok_or_else(|| {
            format!(
                "time {}: expected a whole number of {unit} since 1970",
                shown()
            )
        })?;
        let seconds = count.div_euclid(per_second);
        let nanos = (count.rem_euclid(per_second) * (1_000_000_000 / per_second)) as u32;
        Timestamp::from_unix(seconds, nanos)
            .ok_or_else(|| format!("time {}: out of range", shown()))
    }
}

/// JSON with every object's keys in order: equal for records that hold
/// the same, however they were written.
pub fn canonical(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, key) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::from(key.as_str()).to_string());
                    out.push(':');
                    write(&map[key], out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

#[cfg(test)]
mod tests;
