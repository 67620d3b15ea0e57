//! The batches every rule of a run is sent, built once on the thread that
//! reads the log and shared by the threads that run the rules.
//!
//! A batch holds the events encoded once (`covenant-frame`), with every
//! field any rule reads; each rule's own frame is cut from it. Encoding
//! once, rather than once a rule, is what keeps the cost of a rule to its
//! frame's copy; so is hashing each data id into its key once, for all of
//! them, and keeping each event's id once ([`RunIds`]), for the findings
//! of all of them.

use std::sync::Arc;

use anyhow::{Result, anyhow};
use covenant_frame::{DataRecord, Encoder, EventRecord, Field, Key};
use siphasher::sip128::{Hasher128, SipHasher13};

use super::RuleInstance;
use super::ordinals::RunIds;
use crate::events::Event;

/// Events on their way into the sandboxes, encoded once for every rule.
#[derive(Debug)]
pub struct EventBatch {
    len: usize,
    pub(super) frame: FrameBatch,
}

/// A batch as rules' frames are cut from it.
#[derive(Debug)]
pub(super) struct FrameBatch {
    pub(super) batch: covenant_frame::Batch,
    /// The attributes its events carry: every rule's, in one order.
    pub(super) attributes: Arc<[String]>,
    /// The ids of the run's events, this batch's included.
    pub(super) ids: Arc<RunIds>,
}

impl EventBatch {
    /// The number of events in the batch.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the batch holds no event.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A batch that says it holds `len` events and holds none, for tests
    /// of what carries batches without reading them.
    #[cfg(test)]
    pub(crate) fn for_test(len: usize) -> EventBatch {
        EventBatch {
            len,
            frame: FrameBatch {
                batch: Encoder::new(Vec::new()).take(),
                attributes: Arc::from([]),
                ids: Arc::new(RunIds::new(0).expect("a temporary file")),
            },
        }
    }
}

/// Builds the run's [`EventBatch`]es for a given set of rules.
pub struct BatchBuilder {
    len: usize,
    encoder: Encoder,
    /// The attributes the batches carry: the union of the rules'.
    attributes: Arc<[String]>,
    /// Whether any rule reads data ids or sources, which are sent with
    /// their keys; none are hashed otherwise.
    keyed: bool,
    key: IdKey,
    ids: Arc<RunIds>,
}

/// Where a run's events stand, for a later run that carries on from its
/// rules' saved states ([`RuleInstance::snapshot`]): those states name
/// events by ordinal and data items by key, so the later run must go on
/// counting from here, and key ids with the same secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunPosition {
    /// The ordinal the next event gets.
    pub next_ordinal: u64,
    /// The key of the keyed hash of data ids; keep it as secret as the log.
    pub id_key: [u8; 16],
}

impl BatchBuilder {
    /// A builder of the batches `rules` read: with the union of their
    /// attributes, and data ids keyed if one of them reads ids.
    pub fn new<'a>(rules: impl IntoIterator<Item = &'a RuleInstance>) -> Result<BatchBuilder> {
        let position = RunPosition {
            next_ordinal: 0,
            id_key: IdKey::random()?.0,
        };
        BatchBuilder::resume(rules, position)
    }

    /// [`BatchBuilder::new`] for a run that carries on from `position`,
    /// where an earlier one stopped. Fails if the run's table of event ids
    /// cannot be made in `$TMPDIR`.
    pub fn resume<'a>(
        rules: impl IntoIterator<Item = &'a RuleInstance>,
        position: RunPosition,
    ) -> Result<BatchBuilder> {
        let reads: Vec<_> = rules.into_iter().map(RuleInstance::reads).collect();
        let mut attributes: Vec<String> = Vec::new();
        for name in reads.iter().flat_map(|r| &r.attributes) {
            if !attributes.contains(name) {
                attributes.push(name.clone());
            }
        }
        let keyed_names = [Field::DataId.name(), Field::DataSources.name()];
        let keyed =
            (reads.iter().flat_map(|r| &r.fields)).any(|f| keyed_names.contains(&f.as_str()));
        Ok(BatchBuilder {
            len: 0,
            encoder: Encoder::new(attributes.clone()).starting_at(position.next_ordinal),
            attributes: attributes.into(),
            keyed,
            key: IdKey(position.id_key),
            ids: Arc::new(RunIds::new(position.next_ordinal)?),
        })
    }

    /// Where the run stands: after the events pushed so far, taken or not.
    pub fn position(&self) -> RunPosition {
        let batch = self.encoder.batch();
        RunPosition {
            next_ordinal: batch.first_ordinal() + batch.len() as u64,
            id_key: self.key.0,
        }
    }

    /// The number of events in the batch being built.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the batch being built holds no event.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The batch built so far; the next starts empty. Its events' ids go
    /// to the run's table first, which fails only if `$TMPDIR` cannot
    /// take them.
    pub fn take(&mut self) -> Result<EventBatch> {
        let batch = self.encoder.take();
        (self.ids).extend((0..batch.len()).map(|row| batch.id(row)))?;
        Ok(EventBatch {
            len: std::mem::take(&mut self.len),
            frame: FrameBatch {
                batch,
                attributes: Arc::clone(&self.attributes),
                ids: Arc::clone(&self.ids),
            },
        })
    }

    /// Adds `event`, the next in time order.
    pub fn push(&mut self, event: Event) {
        self.len += 1;
        let key = |id: &str| match self.keyed {
            true => self.key.key(id),
            false => [0; 16],
        };
        let attributes: Vec<Option<&str>> = (self.attributes.iter())
            .map(|name| event.extra.get(name).and_then(serde_json::Value::as_str))
            .collect();
        let sources: Vec<(&str, Key)> = match &event.data {
            Some(data) if self.keyed => data.sources.iter().map(|s| (s.as_str(), key(s))).collect(),
            _ => Vec::new(),
        };
        self.encoder.push(&EventRecord {
            id: &event.id,
            seconds: event.time.seconds,
            nanos: event.time.nanos,
            action: &event.action,
            tenant: event.tenant.as_deref(),
            actor: (event.actor.as_ref()).map(|a| (a.kind.as_str(), a.id.as_deref())),
            purpose: event.purpose.as_deref(),
            scope: event.scope.as_deref(),
            layer: event.layer.as_deref(),
            region: event.region.as_deref(),
            data: event.data.as_ref().map(|d| DataRecord {
                id: d.id.as_deref().map(|id| (id, key(id))),
                category: d.category.as_deref(),
                tenant: d.tenant.as_deref(),
                store: d.store.as_deref(),
                sources: &sources,
            }),
            attributes: &attributes,
        });
    }
}

/// The key of the keyed 128-bit hash data ids are sent with: random per
/// run, so nobody can choose ids whose keys collide.
#[derive(Clone, Copy, Debug)]
struct IdKey([u8; 16]);

impl IdKey {
    /// A fresh random key.
    fn random() -> Result<IdKey> {
        let mut key = [0; 16];
        getrandom::fill(&mut key).map_err(|e| anyhow!("no random key for data ids: {e}"))?;
        Ok(IdKey(key))
    }

    fn key(self, id: &str) -> Key {
        let mut hasher = SipHasher13::new_with_key(&self.0);
        std::hash::Hasher::write(&mut hasher, id.as_bytes());
        hasher.finish128().as_bytes()
    }
}
