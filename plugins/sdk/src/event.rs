//! What a rule reads: an [`Event`], borrowed from the frame the host sent,
//! with only the parts the rule's [`Reads`] named.

use std::hash::{BuildHasherDefault, Hasher};

use covenant_frame::{EventView, Field, Fields, Projection};

use crate::Timestamp;

/// What a rule reads: the host sends it nothing else, which is both what
/// makes a rule cheap to run and data minimisation (a rule sees only the
/// customer data it needs). A part the rule did not name reads as absent.
///
/// The event's id, time and action are always sent: findings cite them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reads {
    fields: Fields,
    actions: Vec<String>,
    attributes: Vec<String>,
}

impl Reads {
    /// Every field of every event, and no attribute: the default, and the
    /// slowest. Name what the rule reads with [`Reads::fields`] instead.
    pub fn everything() -> Reads {
        Reads::fields(&Field::ALL)
    }

    /// `fields` of every event, and no attribute.
    pub fn fields(fields: &[Field]) -> Reads {
        Reads {
            fields: (fields.iter().copied().collect::<Fields>())
                .with(Field::Id)
                .with(Field::Action),
            actions: Vec::new(),
            attributes: Vec::new(),
        }
    }

    /// Only the events of these actions; the others are not sent at all.
    /// With no call, every action is sent.
    pub fn actions<S: AsRef<str>>(mut self, actions: impl IntoIterator<Item = S>) -> Reads {
        self.actions
            .extend(actions.into_iter().map(|a| a.as_ref().to_string()));
        self
    }

    /// The extra attributes (fields the schema does not name) the rule
    /// reads with [`Event::attribute`], such as `subscription`.
    pub fn attributes<S: AsRef<str>>(mut self, names: impl IntoIterator<Item = S>) -> Reads {
        for name in names {
            let name = name.as_ref();
            if !self.attributes.iter().any(|a| a == name) {
                self.attributes.push(name.to_string());
            }
        }
        self
    }

    /// As the frame's projection.
    pub(crate) fn projection(&self) -> Projection {
        Projection {
            fields: self.fields,
            actions: self.actions.clone(),
            attributes: self.attributes.clone(),
        }
    }

    /// The attributes named, in their columns' order.
    pub(crate) fn attribute_names(&self) -> &[String] {
        &self.attributes
    }
}

/// One recorded data-handling event, as the rule's [`Reads`] let the host
/// send it. A field the rule did not name is `None` (an actor's `kind` is
/// empty).
#[derive(Clone, Copy, Debug)]
pub struct Event<'a> {
    /// The event's id, unique in the log.
    pub id: &'a str,
    /// When it happened, in UTC.
    pub time: Timestamp,
    /// What was done: `collect`, `store`, `derive`, `share`, `delete`, ...
    pub action: &'a str,
    /// The organisation in whose context it ran.
    pub tenant: Option<&'a str>,
    /// Who did it.
    pub actor: Option<Actor<'a>>,
    /// Why.
    pub purpose: Option<&'a str>,
    /// On consent events, what the consent covers.
    pub scope: Option<&'a str>,
    /// The component of the service that emitted it, e.g. `portal`.
    pub layer: Option<&'a str>,
    /// Where it ran.
    pub region: Option<&'a str>,
    /// The customer data item it touched.
    pub data: Option<DataItem<'a>>,
    pub(crate) ordinal: u64,
    view: EventView<'a, 'a>,
    attribute_names: &'a [String],
}

/// Who performed an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Actor<'a> {
    /// `service`, `personnel`, `customer` or `partner`; empty when the rule
    /// does not read it.
    pub kind: &'a str,
    /// The actor's own id, if the log records one.
    pub id: Option<&'a str>,
}

/// The customer data item an event touches.
#[derive(Clone, Copy, Debug)]
pub struct DataItem<'a> {
    /// Its id, as the log gives it: for messages.
    pub id: Option<&'a str>,
    /// Its id's key: for state. See [`DataKey`].
    pub key: Option<DataKey>,
    /// What kind of data it is.
    pub category: Option<&'a str>,
    /// The organisation tag it carries.
    pub tenant: Option<&'a str>,
    /// Where it is kept.
    pub store: Option<&'a str>,
    view: EventView<'a, 'a>,
}

/// A data item's id as a 128-bit key the host computed for it (a keyed
/// hash, with a key random per audit): what a rule keys its per-item state
/// by, with [`KeyMap`](crate::KeyMap), instead of hashing and storing the id's text.
/// Two ids share a key with a chance of about 2^-64 at 10^9 items.
///
/// Keys hold within one audit, which a run's saved state carries on to the
/// next run with the same secret: never show one to the auditor (say the
/// id instead).
///
/// Two 64-bit halves rather than a `u128`, so that a key in a map entry is
/// aligned to 8 bytes, not 16: `(DataKey, u32)` takes 24 bytes, not 32.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct DataKey([u64; 2]);

impl DataKey {
    /// The key of two halves, as [`DataKey::halves`] gives them.
    pub(crate) const fn from_halves(halves: [u64; 2]) -> DataKey {
        DataKey(halves)
    }

    /// The key's two 64-bit halves, each a well-mixed hash.
    pub(crate) fn halves(self) -> [u64; 2] {
        self.0
    }

    fn from_bytes(key: [u8; 16]) -> DataKey {
        let half = |at: usize| u64::from_le_bytes(key[at..at + 8].try_into().expect("8 bytes"));
        DataKey([half(0), half(8)])
    }
}

/// One half of the key is already a well-mixed 64-bit hash.
impl std::hash::Hash for DataKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0[0]);
    }
}

/// A map keyed by text that repeats (tenants, subscriptions, regions),
/// with a hasher far cheaper than the standard library's SipHash on short
/// strings. The seed is random per evaluator; in the sandbox the host
/// fixes the random source, so a rule still behaves the same every run.
pub type TextMap<V> = std::collections::HashMap<String, V, foldhash::fast::RandomState>;

/// A set of [`DataKey`]s, hashing only by taking the key's bits: the key
/// is a keyed hash already. (Per-item values go in a
/// [`KeyMap`](crate::KeyMap), which is more compact.)
pub type KeySet = std::collections::HashSet<DataKey, BuildHasherDefault<KeyHasher>>;

/// The hasher of [`KeySet`]: a [`DataKey`]'s low 64 bits, as they are.
#[derive(Default, Clone, Copy, Debug)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    /// Bytes other than a key's are mixed in (FNV-1a), so that a map keyed
    /// by something else by mistake still works, only slower.
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 ^= value;
    }
}

/// One data item a derived item was computed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Source<'a> {
    /// Its id.
    pub id: &'a str,
    /// Its id's key.
    pub key: DataKey,
}

impl<'a> Event<'a> {
    /// The event `view` holds, read whole; `attribute_names` are the
    /// columns of its attributes.
    ///
    /// An empty optional value is absent, for every rule alike: a region
    /// of `""` is no region, not a region named nothing.
    pub(crate) fn read(view: EventView<'a, 'a>, attribute_names: &'a [String]) -> Event<'a> {
        let text = |field| present(view.text(field).as_str());
        let (seconds, nanos) = view.time();
        Event {
            id: view.id().unwrap_or_default(),
            time: Timestamp { seconds, nanos },
            action: text(Field::Action).unwrap_or_default(),
            tenant: text(Field::Tenant),
            actor: view.has_actor().then(|| Actor {
                kind: text(Field::ActorKind).unwrap_or_default(),
                id: text(Field::ActorId),
            }),
            purpose: text(Field::Purpose),
            scope: text(Field::Scope),
            layer: text(Field::Layer),
            region: text(Field::Region),
            data: view.has_data().then(|| {
                let id = view.data_id().filter(|(id, _)| !id.is_empty());
                DataItem {
                    id: id.map(|(id, _)| id),
                    key: id.map(|(_, key)| DataKey::from_bytes(key)),
                    category: text(Field::DataCategory),
                    tenant: text(Field::DataTenant),
                    store: text(Field::DataStore),
                    view,
                }
            }),
            ordinal: view.ordinal(),
            view,
            attribute_names,
        }
    }

    /// The extra attribute `name` (a field the schema does not name), if
    /// the event has it and it is a JSON string. Logs carry what the schema
    /// does not name this way, such as a `share`'s `destination`.
    ///
    /// # Panics
    /// If the rule's [`Reads`] does not name `name`: the host would never
    /// send it, so reading it is the rule's bug, not an absent value.
    pub fn attribute(&self, name: &str) -> Option<&'a str> {
        let Some(index) = self.attribute_names.iter().position(|n| n == name) else {
            panic!("the rule reads attribute `{name}`, which its Rule::reads does not name");
        };
        present(self.view.attribute(index).as_str())
    }

    /// The subscription the event belongs to: its `subscription` attribute,
    /// which the subscription-level commitments key their state by.
    pub fn subscription(&self) -> Option<&'a str> {
        self.attribute("subscription")
    }

    /// The event as a finding names it, with its action:
    /// `event e7 (access at 2026-01-05T00:00:00Z)`.
    ///
    /// Findings about what an event did open with this, so that every
    /// rule's messages give an auditor the id, the action and the time in
    /// the same words: `format!("{} touches data d1 ...",
    /// event.cite_with_action())`.
    pub fn cite_with_action(&self) -> String {
        format!("event {} ({} at {})", self.id, self.action, self.time)
    }

    /// The event as a finding names it where the message says what it did
    /// in its own words: `event e7 at 2026-01-05T00:00:00Z`, as in `event
    /// e7 at ... turned data collection off`. An earlier event that state
    /// recorded is cited the same way, by [`Recorded::cite`].
    ///
    /// [`Recorded::cite`]: crate::Recorded::cite
    pub fn cite(&self) -> String {
        cite(self.id, self.time)
    }
}

impl<'a> DataItem<'a> {
    /// The item as a finding message names it: `data d1`, or `data with
    /// no id` when it has none, so every rule words an absent id alike.
    pub fn name(&self) -> String {
        match self.id {
            Some(id) => format!("data {id}"),
            None => "data with no id".to_string(),
        }
    }

    /// The items a derived item was computed from (on `derive`), if the
    /// rule reads [`Field::DataSources`].
    pub fn sources(&self) -> impl Iterator<Item = Source<'a>> + use<'a> {
        self.view.sources().map(|source| Source {
            id: source.id,
            key: DataKey::from_bytes(source.key),
        })
    }
}

/// `event ID at TIME`, the one way findings cite an event by its id and
/// time, whether they have the event ([`Event::cite`]), a [`Recorded`]
/// value ([`Recorded::cite`]), or, in state kept compact, only the id and
/// time themselves.
///
/// [`Recorded`]: crate::Recorded
/// [`Recorded::cite`]: crate::Recorded::cite
pub fn cite(event_id: &str, time: Timestamp) -> String {
    format!("event {event_id} at {time}")
}

/// `text` unless it is empty: the SDK's one reading of empty values.
fn present(text: Option<&str>) -> Option<&str> {
    text.filter(|text| !text.is_empty())
}

#[cfg(test)]
mod tests {
    use crate::Reads;
    use crate::testing::{event, with_events};

    #[test]
    fn an_empty_value_is_an_absent_one() {
        let e = event("e", "2026-01-01T00:00:00Z", "store")
            .tenant("")
            .region("")
            .data("", "")
            .category("")
            .extra("subscription", "");
        let reads = Reads::everything().attributes(["subscription"]);
        with_events(&[e], &reads, |e| {
            assert_eq!((e.tenant, e.region, e.subscription()), (None, None, None));
            let data = e.data.as_ref().expect("the event has data");
            assert_eq!(
                (data.id, data.key, data.tenant, data.category),
                (None, None, None, None)
            );
        });
    }

    #[test]
    fn non_string_attributes_are_absent() {
        let e = event("e", "2026-01-01T00:00:00Z", "collect").extra_json("subscription", "42");
        let reads = Reads::everything().attributes(["subscription"]);
        with_events(&[e], &reads, |e| assert_eq!(e.subscription(), None));
    }

    #[test]
    #[should_panic(expected = "attribute `destination`, which its Rule::reads does not name")]
    fn reading_an_attribute_not_named_is_the_rules_bug() {
        let e = event("e", "2026-01-01T00:00:00Z", "share").extra("destination", "x");
        with_events(&[e], &Reads::everything(), |e| {
            e.attribute("destination");
        });
    }

    #[test]
    fn citations_give_the_id_and_time_and_perhaps_the_action() {
        let e = event("e7", "2026-01-05T08:00:00.5+08:00", "access");
        with_events(&[e], &Reads::everything(), |e| {
            assert_eq!(e.cite(), "event e7 at 2026-01-05T00:00:00.500Z");
            assert_eq!(
                e.cite_with_action(),
                "event e7 (access at 2026-01-05T00:00:00.500Z)"
            );
        });
    }

    #[test]
    fn a_field_not_read_is_absent_and_sources_come_with_keys() {
        let e = event("e1", "2026-01-01T00:00:00Z", "derive")
            .tenant("a")
            .data("d3", "a")
            .sources(&["d1", "d2"]);
        let reads = Reads::fields(&[crate::Field::DataSources]);
        with_events(&[e], &reads, |e| {
            assert_eq!((e.id, e.action, e.tenant), ("e1", "derive", None));
            let data = e.data.expect("the event has a data item");
            assert_eq!((data.id, data.key), (None, None));
            let sources: Vec<_> = data.sources().collect();
            assert_eq!(
                sources.iter().map(|s| s.id).collect::<Vec<_>>(),
                ["d1", "d2"]
            );
            assert_ne!(sources[0].key, sources[1].key);
        });
    }
}
