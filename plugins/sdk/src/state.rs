//! The state rules keep between events: per tenant, subscription or data
//! item, a value and the event that recorded it.
//!
//! Almost every rule that remembers something remembers it per key (the
//! consent decision per tenant, the setting per subscription, the first
//! store per data item), and its findings then cite the event that set it:
//! "revoked in event c2 at 2026-01-05T00:00:00Z". [`PerKey`] and
//! [`Recorded`] keep the value, the event's id and its time together, so a
//! rule neither forgets the id it will have to cite nor writes the same
//! map-of-structs again.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use serde::{Deserialize, Serialize};

use crate::{Event, EventRef, Timestamp};

/// A value and the event that recorded it.
///
/// A finding about a later event must say what earlier event it relies on,
/// with its id and time, so an auditor can look both up; this keeps them
/// next to the value. [`Recorded::cite`] writes them the way finding
/// messages do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded<V> {
    /// What was recorded: a decision, a setting's value, an item's state.
    pub value: V,
    /// The id of the event that recorded it.
    pub event_id: String,
    /// The time of that event.
    pub time: Timestamp,
    /// That event, for a finding about it: `findings.report(&recorded, ...)`.
    pub(crate) event: EventRef,
}

impl<V> Recorded<V> {
    /// `value`, as recorded by `event`. [`PerKey`] calls it; call it
    /// yourself for state kept outside one, such as the single latest
    /// event of some kind.
    pub fn new(value: V, event: &Event<'_>) -> Recorded<V> {
        Recorded {
            value,
            event_id: event.id.to_string(),
            time: event.time,
            event: EventRef::from(event),
        }
    }

    /// The recording event as a finding message names it:
    /// `event c2 at 2026-01-05T00:00:00Z`.
    pub fn cite(&self) -> String {
        crate::event::cite(&self.event_id, self.time)
    }
}

/// A [`Recorded`] value per key: per tenant, per subscription, per data id.
///
/// The key is a `String` unless given (`PerKey<bool>` is a flag per tenant;
/// `PerKey<String, (String, String)>` a value per subscription and
/// setting). Since events arrive in time order, [`PerKey::record`] keeps
/// the latest value (what is in effect now) and [`PerKey::record_first`]
/// the earliest (when a clock started). Iteration is in key order, so a
/// rule that reports from its state in [`Rule::finish`] does so in the
/// same order on every run.
///
/// [`Rule::finish`]: crate::Rule::finish
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(
    serialize = "K: Serialize, V: Serialize",
    deserialize = "K: Deserialize<'de> + Ord, V: Deserialize<'de>"
))]
pub struct PerKey<V, K = String> {
    entries: BTreeMap<K, Recorded<V>>,
}

impl<V, K> Default for PerKey<V, K> {
    fn default() -> Self {
        PerKey {
            entries: BTreeMap::new(),
        }
    }
}

impl<V, K: Ord> PerKey<V, K> {
    /// Records `value` for `key` as set by `event`, replacing any earlier
    /// value: the latest decision or setting is the one in effect.
    pub fn record(&mut self, key: K, value: V, event: &Event<'_>) -> &mut Recorded<V> {
        let recorded = Recorded::new(value, event);
        match self.entries.entry(key) {
            Entry::Occupied(entry) => {
                let entry = entry.into_mut();
                *entry = recorded;
                entry
            }
            Entry::Vacant(entry) => entry.insert(recorded),
        }
    }

    /// Records `value` for `key` as set by `event` unless `key` already has
    /// a value, which is kept: the first sighting starts a clock. Returns
    /// the value in effect either way.
    pub fn record_first(&mut self, key: K, value: V, event: &Event<'_>) -> &mut Recorded<V> {
        self.entries
            .entry(key)
            .or_insert_with(|| Recorded::new(value, event))
    }

    /// The value recorded for `key`, if any.
    pub fn get<Q>(&self, key: &Q) -> Option<&Recorded<V>>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.entries.get(key)
    }

    /// The value recorded for `key`, to update in place (say, to mark a
    /// data item deleted) without changing which event recorded it.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut Recorded<V>>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.entries.get_mut(key)
    }

    /// Every key and its value, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &Recorded<V>)> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Reads;
    use crate::testing::{event, with_events};

    #[test]
    fn record_keeps_the_latest_and_record_first_the_earliest() {
        let mut latest = PerKey::<bool>::default();
        let mut first = PerKey::<bool>::default();
        let events = [
            event("e1", "2026-01-01T00:00:00Z", "x"),
            event("e2", "2026-01-02T00:00:00Z", "x"),
        ];
        with_events(&events, &Reads::everything(), |e| {
            let granted = e.id == "e1";
            latest.record("a".to_string(), granted, e);
            first.record_first("a".to_string(), granted, e);
        });
        let latest = latest.get("a").unwrap();
        assert_eq!((latest.value, latest.event_id.as_str()), (false, "e2"));
        assert_eq!(latest.cite(), "event e2 at 2026-01-02T00:00:00Z");
        assert_eq!(EventRef::from(latest), EventRef(1));
        let first = first.get("a").unwrap();
        assert_eq!((first.value, first.event_id.as_str()), (true, "e1"));
    }

    #[test]
    fn updates_in_place_keep_the_recording_event_and_iteration_is_in_key_order() {
        let mut items = PerKey::<u32>::default();
        let e = event("s", "2026-01-01T00:00:00Z", "store");
        with_events(&[e], &Reads::everything(), |e| {
            for key in ["c", "a", "b"] {
                items.record(key.to_string(), 0, e);
            }
        });
        items.get_mut("b").unwrap().value = 7;
        let seen: Vec<(&str, u32, &str)> = items
            .iter()
            .map(|(k, r)| (k.as_str(), r.value, r.event_id.as_str()))
            .collect();
        assert_eq!(seen, [("a", 0, "s"), ("b", 7, "s"), ("c", 0, "s")]);
        assert!(items.get("d").is_none());
    }
}
