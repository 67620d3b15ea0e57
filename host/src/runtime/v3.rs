//! Plugins built for `covenant:rule@3.0.0` (`wit/v3`): the bindings
//! generated from it, and what the host does for such a rule beyond
//! calling it, which is the frame.
//!
//! Each v3 rule turns the batches every rule shares into its own frames
//! (`covenant-frame`), with only the fields and actions its projection
//! names; it keeps the ids of the events it was sent ([`SentIds`]) so that
//! the ordinals its findings name become event ids again.
//!
//! This is the first step of moving to v3: the batches are still built as
//! v2 records (which the v2 rules are sent), and each v3 rule encodes its
//! frames from them on its own thread.

use anyhow::{Result, anyhow};
use covenant_frame::{Batch, DataRecord, EventRecord, Field, Fields, FrameWriter, Key, Projection};
use siphasher::sip128::{Hasher128, SipHasher13};

use super::bindings::wit as v2;
use super::ordinals::SentIds;

pub(super) mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/v3",
        world: "plugin",
    });
}

use bindings::covenant::rule::types as wit;

/// The key of the keyed 128-bit hash data ids are sent with: random per
/// run, so nobody can choose ids whose keys collide.
#[derive(Clone, Copy, Debug)]
pub(super) struct IdKey([u8; 16]);

impl IdKey {
    /// A fresh random key.
    pub(super) fn random() -> Result<IdKey> {
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

/// The frames of one v3 rule: its projection, the batch it encodes, the
/// writer that cuts its frames, and the ids it was sent.
pub(super) struct Frames {
    projection: Projection,
    key: IdKey,
    batch: Batch,
    writer: FrameWriter,
    frame: Vec<u8>,
    sent: SentIds,
}

impl Frames {
    /// The frames for a rule that declared `declared`; an error names what
    /// in it this host cannot send.
    pub(super) fn new(declared: wit::Projection, key: IdKey) -> Result<Frames> {
        let projection = projection(declared);
        let batch = Batch::new(projection.attributes.clone());
        let writer = FrameWriter::new(projection.clone(), batch.attribute_names())
            .map_err(|e| anyhow!("declared a projection the host cannot send: {e}"))?;
        Ok(Frames {
            projection,
            key,
            batch,
            writer,
            frame: Vec::new(),
            sent: SentIds::new()?,
        })
    }

    /// What the rule declared it reads, in words.
    pub(super) fn reads(&self) -> super::RuleReads {
        let projection = &self.projection;
        super::RuleReads {
            fields: projection
                .fields
                .iter()
                .map(|f| f.name().to_string())
                .collect(),
            actions: projection.actions.clone(),
            attributes: projection.attributes.clone(),
        }
    }

    /// The frame of `events`, the run's next batch, for this rule.
    pub(super) fn frame(&mut self, events: &[v2::Event]) -> Result<&[u8]> {
        self.batch.clear();
        let first = self.batch.first_ordinal();
        // A key is a hash an id; none is made for ids the rule is not sent.
        let fields = self.projection.fields;
        let key = |id: &str| match fields.contains(Field::DataId)
            || fields.contains(Field::DataSources)
        {
            true => self.key.key(id),
            false => [0; 16],
        };
        let mut attributes = Vec::new();
        let mut sources = Vec::new();
        for event in events {
            attributes.clear();
            attributes.extend(self.projection.attributes.iter().map(|name| {
                let attribute = event.extra.iter().rev().find(|a| &a.name == name)?;
                string_value(&attribute.json)
            }));
            sources.clear();
            if let (Some(data), true) = (&event.data, fields.contains(Field::DataSources)) {
                sources.extend(data.sources.iter().map(|s| (s.as_str(), key(s))));
            }
            let attributes: Vec<Option<&str>> = attributes.iter().map(Option::as_deref).collect();
            self.batch.push(&EventRecord {
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
        for &row in self.writer.write(&self.batch, &mut self.frame) {
            self.sent.push(first + row as u64, &events[row].id)?;
        }
        self.sent.pass(first + events.len() as u64);
        Ok(&self.frame)
    }

    /// The host's findings for a call's: each ordinal as the event id it
    /// was sent as.
    pub(super) fn findings(&mut self, findings: Vec<wit::Finding>) -> Result<Vec<super::Finding>> {
        let ordinals: Vec<u64> = findings.iter().map(|f| f.event).collect();
        let ids = self.sent.resolve(&ordinals)?;
        Ok(ids
            .into_iter()
            .zip(findings)
            .map(|(event_id, finding)| super::Finding {
                event_id,
                message: finding.message,
            })
            .collect())
    }
}

/// Fails the rule if it reported subjects it could not assess: the report
/// has no place for that verdict yet (issue #16 adds it to every format),
/// and dropping them would lose what the rule said.
pub(super) fn refuse_unassessable(conclusion: &wit::Conclusion) -> Result<()> {
    match conclusion.unassessable.first() {
        None => Ok(()),
        Some(first) => Err(anyhow!(
            "reported {} subjects it could not assess (the first, {}: {}), which this host cannot report yet",
            conclusion.unassessable.len(),
            first.subject,
            first.reason
        )),
    }
}

/// A JSON text's value, if it is a string.
fn string_value(json: &str) -> Option<String> {
    match serde_json::from_str(json) {
        Ok(serde_json::Value::String(s)) => Some(s),
        _ => None,
    }
}

/// The frame's projection for the one a rule declared.
fn projection(declared: wit::Projection) -> Projection {
    use wit::Fields as F;
    let flags = [
        (F::ID, Field::Id),
        (F::ACTION, Field::Action),
        (F::TENANT, Field::Tenant),
        (F::ACTOR_KIND, Field::ActorKind),
        (F::ACTOR_ID, Field::ActorId),
        (F::PURPOSE, Field::Purpose),
        (F::SCOPE, Field::Scope),
        (F::LAYER, Field::Layer),
        (F::REGION, Field::Region),
        (F::DATA_ID, Field::DataId),
        (F::DATA_CATEGORY, Field::DataCategory),
        (F::DATA_TENANT, Field::DataTenant),
        (F::DATA_STORE, Field::DataStore),
        (F::DATA_SOURCES, Field::DataSources),
    ];
    let fields: Fields = (flags.into_iter())
        .filter(|(flag, _)| declared.fields.contains(*flag))
        .map(|(_, field)| field)
        .collect();
    Projection {
        fields,
        actions: declared.actions,
        attributes: declared.attributes,
    }
}

/// An instant as the interface's record.
pub(super) fn timestamp(time: crate::events::Timestamp) -> wit::Timestamp {
    wit::Timestamp {
        seconds: time.seconds,
        nanos: time.nanos,
    }
}

/// A plugin's description of its rule, as the host keeps it: v3's record
/// is v2's, field for field.
pub(super) fn metadata(metadata: wit::Metadata) -> super::RuleMetadata {
    super::bindings::metadata(v2::Metadata {
        id: metadata.id,
        version: metadata.version,
        description: metadata.description,
        commitment: metadata.commitment,
        severity: match metadata.severity {
            wit::Severity::Info => v2::Severity::Info,
            wit::Severity::Low => v2::Severity::Low,
            wit::Severity::Medium => v2::Severity::Medium,
            wit::Severity::High => v2::Severity::High,
            wit::Severity::Critical => v2::Severity::Critical,
        },
    })
}
