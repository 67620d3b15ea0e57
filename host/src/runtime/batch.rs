//! The batches every rule of a run is sent, built once on the thread that
//! reads the log and shared by the threads that run the rules.
//!
//! A batch holds the events in each form the run's rules need, and only
//! those: v2 records when a v2 rule runs, and one frame batch
//! (`covenant-frame`) when a v3 rule runs, from which each v3 rule's own
//! frame is cut. Encoding once, rather than once a rule, is what keeps the
//! cost of a v3 rule to its frame's copy; so is hashing each data id into
//! its key once, for all of them.

use std::sync::Arc;

use anyhow::{Result, anyhow};
use covenant_frame::{DataRecord, Encoder, EventRecord, Field, Key};
use siphasher::sip128::{Hasher128, SipHasher13};

use super::bindings::{self, wit as v2};
use super::{RuleInstance, RuleReads};
use crate::events::Event;

/// Events on their way into the sandboxes, already in every form the
/// run's rules read, so that each is converted once.
#[derive(Debug)]
pub struct EventBatch {
    len: usize,
    /// The events as v2 records; empty when no v2 rule runs.
    pub(super) records: Vec<v2::Event>,
    /// The events encoded for v3 rules, if any runs.
    pub(super) frame: Option<FrameBatch>,
}

/// A batch as v3 rules' frames are cut from it.
#[derive(Debug)]
pub(super) struct FrameBatch {
    pub(super) batch: covenant_frame::Batch,
    /// The attributes its events carry: every v3 rule's, in one order.
    pub(super) attributes: Arc<[String]>,
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
            records: Vec::new(),
            frame: None,
        }
    }
}

/// Builds the run's [`EventBatch`]es for a given set of rules.
pub struct BatchBuilder {
    len: usize,
    /// Present when a v2 rule runs.
    records: Option<Vec<v2::Event>>,
    /// Present when a v3 rule runs.
    encoding: Option<FrameEncoding>,
}

/// The v3 side of a [`BatchBuilder`].
struct FrameEncoding {
    encoder: Encoder,
    attributes: Arc<[String]>,
    /// Whether any rule reads data ids or sources, which are sent with
    /// their keys; none are hashed otherwise.
    keyed: bool,
    key: IdKey,
}

impl BatchBuilder {
    /// A builder of the batches `rules` read: v2 records if one of them is
    /// a v2 rule; frames carrying the union of the v3 rules' attributes if
    /// one is a v3 rule.
    pub fn new<'a>(rules: impl IntoIterator<Item = &'a RuleInstance>) -> Result<BatchBuilder> {
        let mut records = None;
        let mut reads: Vec<RuleReads> = Vec::new();
        for rule in rules {
            match rule.reads() {
                None => records = Some(Vec::new()),
                Some(rule_reads) => reads.push(rule_reads),
            }
        }
        let encoding = match reads.is_empty() {
            true => None,
            false => {
                let mut attributes: Vec<String> = Vec::new();
                for name in reads.iter().flat_map(|r| &r.attributes) {
                    if !attributes.contains(name) {
                        attributes.push(name.clone());
                    }
                }
                let keyed_names = [Field::DataId.name(), Field::DataSources.name()];
                let keyed = (reads.iter().flat_map(|r| &r.fields))
                    .any(|f| keyed_names.contains(&f.as_str()));
                Some(FrameEncoding {
                    encoder: Encoder::new(attributes.clone()),
                    attributes: attributes.into(),
                    keyed,
                    key: IdKey::random()?,
                })
            }
        };
        Ok(BatchBuilder {
            len: 0,
            records,
            encoding,
        })
    }

    /// Adds `event`, the next in time order.
    pub fn push(&mut self, event: Event) {
        self.len += 1;
        if let Some(encoding) = &mut self.encoding {
            encoding.push(&event);
        }
        if let Some(records) = &mut self.records {
            records.push(bindings::event(event));
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

    /// The batch built so far; the next starts empty.
    pub fn take(&mut self) -> EventBatch {
        let records = match &mut self.records {
            Some(records) => std::mem::replace(records, Vec::with_capacity(records.len())),
            None => Vec::new(),
        };
        let frame = self.encoding.as_mut().map(|encoding| FrameBatch {
            batch: encoding.encoder.take(),
            attributes: Arc::clone(&encoding.attributes),
        });
        EventBatch {
            len: std::mem::take(&mut self.len),
            records,
            frame,
        }
    }
}

impl FrameEncoding {
    fn push(&mut self, event: &Event) {
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
