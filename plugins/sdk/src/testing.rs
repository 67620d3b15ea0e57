//! Helpers for a rule's unit tests: build events tersely and run a rule the
//! way the host does, without compiling to WebAssembly.
//!
//! ```
//! use covenant_sdk::testing::{event, with_events};
//! use covenant_sdk::{Field, Reads};
//!
//! let e = event("e1", "2026-01-01T00:00:00Z", "access")
//!     .tenant("a")
//!     .data("d1", "a")
//!     .purpose("threat-investigation");
//! // Sent as the host sends it to a rule that reads only these fields:
//! let reads = Reads::fields(&[Field::Tenant, Field::DataTenant]);
//! with_events(&[e], &reads, |e| {
//!     assert_eq!(e.data.unwrap().tenant, Some("a"));
//!     assert_eq!(e.purpose, None);
//! });
//! ```

use std::hash::{Hash, Hasher};

use covenant_frame::{DataRecord, Decoder, Encoder, EventRecord, FrameWriter, Key};

use crate::evaluator::Session;
use crate::{Event, Reads, Rule, Timestamp};

/// An event for a test, owning its strings: made by [`event`], given its
/// other fields by the methods (`.tenant("a").data("d1", "a")`), and sent
/// to a rule by [`evaluate`] or [`with_events`] as the host would send it.
#[derive(Debug, Clone)]
#[must_use = "a TestEvent does nothing until a test sends it to a rule"]
pub struct TestEvent {
    id: String,
    time: Timestamp,
    action: String,
    tenant: Option<String>,
    actor: Option<(String, Option<String>)>,
    purpose: Option<String>,
    scope: Option<String>,
    layer: Option<String>,
    region: Option<String>,
    data: Option<TestData>,
    /// Extra attributes: `None` where the value is not a JSON string.
    extra: Vec<(String, Option<String>)>,
}

#[derive(Debug, Clone, Default)]
struct TestData {
    id: Option<String>,
    category: Option<String>,
    tenant: Option<String>,
    store: Option<String>,
    sources: Vec<String>,
}

/// A finding as a test sees it: the id of the event it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The id of the event the finding is about.
    pub event_id: String,
    /// The rule's explanation.
    pub message: String,
}

/// An event with only the required fields set, to add the rest to with the
/// [`TestEvent`] methods (`.tenant("a").data("d1", "a")`). `time` is
/// RFC 3339.
///
/// # Panics
/// If `time` is not RFC 3339: this is for tests, where that is a typo.
pub fn event(id: &str, time: &str, action: &str) -> TestEvent {
    TestEvent {
        id: id.to_string(),
        time: Timestamp::parse_rfc3339(time).expect("test event time"),
        action: action.to_string(),
        tenant: None,
        actor: None,
        purpose: None,
        scope: None,
        layer: None,
        region: None,
        data: None,
        extra: Vec::new(),
    }
}

impl TestEvent {
    /// The event's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The event's time: events go to a rule in (time, id) order.
    pub fn time(&self) -> Timestamp {
        self.time
    }

    /// Sets the tenant whose context the event ran in.
    pub fn tenant(mut self, tenant: &str) -> Self {
        self.tenant = Some(tenant.to_string());
        self
    }

    /// Sets the declared purpose.
    pub fn purpose(mut self, purpose: &str) -> Self {
        self.purpose = Some(purpose.to_string());
        self
    }

    /// Sets the consent scope.
    pub fn scope(mut self, scope: &str) -> Self {
        self.scope = Some(scope.to_string());
        self
    }

    /// Sets the actor.
    pub fn actor(mut self, kind: &str, id: &str) -> Self {
        self.actor = Some((kind.to_string(), Some(id.to_string())));
        self
    }

    /// Sets the actor's kind, with no id.
    pub fn actor_kind(mut self, kind: &str) -> Self {
        self.actor = Some((kind.to_string(), None));
        self
    }

    /// Sets the data item's id and organisation tag.
    pub fn data(mut self, id: &str, tenant: &str) -> Self {
        let data = self.data.get_or_insert_with(TestData::default);
        data.id = Some(id.to_string());
        data.tenant = Some(tenant.to_string());
        self
    }

    /// Gives the event a data item, with nothing of it set yet.
    pub fn data_item(mut self) -> Self {
        self.data.get_or_insert_with(TestData::default);
        self
    }

    /// Sets the data item's organisation tag alone.
    pub fn data_tenant(mut self, tenant: &str) -> Self {
        self.data.get_or_insert_with(TestData::default).tenant = Some(tenant.to_string());
        self
    }

    /// Sets the data item's id alone, with no organisation tag.
    pub fn data_id(mut self, id: &str) -> Self {
        self.data.get_or_insert_with(TestData::default).id = Some(id.to_string());
        self
    }

    /// Sets the data item's category, creating the item if needed.
    pub fn category(mut self, category: &str) -> Self {
        self.data.get_or_insert_with(TestData::default).category = Some(category.to_string());
        self
    }

    /// Sets the data item's store, creating the item if needed.
    pub fn store(mut self, store: &str) -> Self {
        self.data.get_or_insert_with(TestData::default).store = Some(store.to_string());
        self
    }

    /// Sets the ids the data item was derived from, creating it if needed.
    pub fn sources(mut self, sources: &[&str]) -> Self {
        self.data.get_or_insert_with(TestData::default).sources =
            sources.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Adds an extra attribute with a string value.
    pub fn extra(mut self, name: &str, value: &str) -> Self {
        self.extra.push((name.to_string(), Some(value.to_string())));
        self
    }

    /// Adds an extra attribute with any JSON value: one that is not a
    /// string reads as absent, as it does from the host.
    ///
    /// # Panics
    /// If `json` is not JSON.
    pub fn extra_json(mut self, name: &str, json: &str) -> Self {
        let value: serde_json::Value = serde_json::from_str(json).expect("test attribute JSON");
        let text = value.as_str().map(str::to_string);
        self.extra.push((name.to_string(), text));
        self
    }

    /// Sets the layer (the component that emitted the event).
    pub fn layer(mut self, layer: &str) -> Self {
        self.layer = Some(layer.to_string());
        self
    }

    /// Sets the region.
    pub fn region(mut self, region: &str) -> Self {
        self.region = Some(region.to_string());
        self
    }
}

/// Events per frame, as the host batches them by default.
const FRAME_EVENTS: usize = 1_000;

/// The frames the host would send a rule that reads `reads`, with `events`
/// as the run's events in order.
fn frames(events: &[TestEvent], reads: &Reads) -> Vec<Vec<u8>> {
    frames_from(events, reads, 0)
}

/// [`frames`] for a run whose first event is the audit's `first`th.
fn frames_from(events: &[TestEvent], reads: &Reads, first: u64) -> Vec<Vec<u8>> {
    let names = reads.attribute_names().to_vec();
    let mut encoder = Encoder::new(names.clone()).starting_at(first);
    let mut writer =
        FrameWriter::new(reads.projection(), &names).expect("the attributes are the encoder's");
    let mut frames = Vec::new();
    for chunk in events.chunks(FRAME_EVENTS) {
        for event in chunk {
            push(&mut encoder, event, &names);
        }
        let mut bytes = Vec::new();
        writer.write(&encoder.take(), &mut bytes);
        frames.push(bytes);
    }
    frames
}

fn push(encoder: &mut Encoder, event: &TestEvent, names: &[String]) {
    let attributes: Vec<Option<&str>> = (names.iter())
        .map(|name| {
            let found = event.extra.iter().rev().find(|(n, _)| n == name);
            found.and_then(|(_, value)| value.as_deref())
        })
        .collect();
    let sources: Vec<(&str, Key)> = (event.data.iter())
        .flat_map(|d| &d.sources)
        .map(|s| (s.as_str(), key(s)))
        .collect();
    encoder.push(&EventRecord {
        id: &event.id,
        seconds: event.time.seconds,
        nanos: event.time.nanos,
        action: &event.action,
        tenant: event.tenant.as_deref(),
        actor: (event.actor.as_ref()).map(|(kind, id)| (kind.as_str(), id.as_deref())),
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

/// A data id's key, as the host makes one, but with a fixed key, so that
/// tests are repeatable.
fn key(id: &str) -> Key {
    let half = |salt: u8| {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (salt, id).hash(&mut hasher);
        hasher.finish().to_le_bytes()
    };
    let mut key = [0; 16];
    key[..8].copy_from_slice(&half(0));
    key[8..].copy_from_slice(&half(1));
    key
}

/// Calls `each` with every event of `events` that `reads` selects, as a
/// rule that reads `reads` would be sent it: for testing code that takes
/// an [`Event`] outside a rule, such as [`Settings`](crate::Settings).
pub fn with_events(events: &[TestEvent], reads: &Reads, mut each: impl FnMut(&Event<'_>)) {
    let mut decoder = Decoder::new(&reads.projection());
    for frame in frames(events, reads) {
        let decoded = decoder.decode(&frame).expect("the SDK's own frame decodes");
        for view in decoded.events() {
            each(&Event::read(view, reads.attribute_names()));
        }
    }
}

/// Runs rule `R` as the host would: configuration from JSON text, the
/// events it reads sent in frames as the host sends them (only the fields
/// and actions its [`Rule::reads`] names), then `finish` at `as_of`
/// (RFC 3339). Its findings; [`conclude`] gives what it could not assess
/// too.
///
/// The host sends events in time order, ties broken by id; give them in
/// that order. A configuration the rule rejects is the `Err`, with the
/// message the host would show (see [`parse_config`](crate::parse_config)).
pub fn evaluate<R: Rule>(
    config: &str,
    events: &[TestEvent],
    as_of: &str,
) -> Result<Vec<Finding>, String> {
    conclude::<R>(config, events, as_of).map(|outcome| outcome.findings)
}

/// Everything a run of rule `R` reports, as [`evaluate`] runs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Its findings, in the order reported.
    pub findings: Vec<Finding>,
    /// The subjects it said it could not assess
    /// ([`Findings::cannot_assess`](crate::Findings::cannot_assess)), in
    /// the order it said so.
    pub unassessable: Vec<Unassessable>,
}

/// A subject a rule could not assess from the log, as a test sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unassessable {
    /// What could not be judged: a subscription, tenant or data item id.
    pub subject: String,
    /// Why.
    pub reason: String,
}

/// [`evaluate`], with what the rule could not assess as well.
pub fn conclude<R: Rule>(
    config: &str,
    events: &[TestEvent],
    as_of: &str,
) -> Result<Outcome, String> {
    run_in_parts::<R>(config, events, None, as_of)
}

/// [`conclude`] as two runs: the first over `events[..cut]`, whose saved
/// state the second, over the rest, carries on from, as a continuous audit
/// does (README, "Continuous audits"). A rule whose state carries over
/// gives what [`conclude`] gives, however the log is cut; test that.
///
/// An `Err` is also what the host would refuse: a state that names an
/// event the first run was not sent, or does not restore.
pub fn evaluate_resumed<R: Rule>(
    config: &str,
    events: &[TestEvent],
    cut: usize,
    as_of: &str,
) -> Result<Outcome, String> {
    run_in_parts::<R>(config, events, Some(cut), as_of)
}

/// Runs `R` over `events` in one run, or in two cut before `cut`.
fn run_in_parts<R: Rule>(
    config: &str,
    events: &[TestEvent],
    cut: Option<usize>,
    as_of: &str,
) -> Result<Outcome, String> {
    let as_of = Timestamp::parse_rfc3339(as_of)?;
    let cut = cut.map_or(events.len(), |cut| cut.min(events.len()));
    let (before, after) = events.split_at(cut);
    let mut session = Session::<R>::new(config)?;
    let mut found = Vec::new();
    for frame in frames(before, session.reads()) {
        found.extend(session.observe(&frame)?);
    }
    if !after.is_empty() {
        let (state, cites) = session.save()?;
        if let Some(&unsent) = cites.iter().find(|&&ordinal| ordinal >= cut as u64) {
            return Err(format!(
                "the saved state cites event {unsent}, which was not sent"
            ));
        }
        session = Session::<R>::restore(config, &state)?;
        for frame in frames_from(after, session.reads(), cut as u64) {
            found.extend(session.observe(&frame)?);
        }
    }
    let (last, unassessable) = session.finish(as_of);
    found.extend(last);
    Ok(Outcome {
        findings: (found.into_iter())
            .map(|(ordinal, message)| Finding {
                event_id: events[ordinal as usize].id.clone(),
                message,
            })
            .collect(),
        unassessable: (unassessable.into_iter())
            .map(|(subject, reason)| Unassessable { subject, reason })
            .collect(),
    })
}

/// A log already encoded into the frames rule `R` is sent ([`encode`]),
/// for timing a rule's own logic natively with [`evaluate_encoded`]: the
/// host encodes a batch once for every rule, so a benchmark that encoded
/// once a rule would count that work against the rule.
#[derive(Debug, Clone)]
pub struct EncodedLog {
    frames: Vec<Vec<u8>>,
}

/// `events` as the frames the host would send rule `R`, configured by the
/// JSON text `config`, which is checked as [`evaluate`] checks it.
pub fn encode<R: Rule>(config: &str, events: &[TestEvent]) -> Result<EncodedLog, String> {
    let session = Session::<R>::new(config)?;
    Ok(EncodedLog {
        frames: frames(events, session.reads()),
    })
}

/// [`evaluate`] over a log [`encode`]d for `R`: the number of findings,
/// which name events by ordinal, since the log's ids are not kept.
pub fn evaluate_encoded<R: Rule>(
    config: &str,
    log: &EncodedLog,
    as_of: &str,
) -> Result<usize, String> {
    let as_of = Timestamp::parse_rfc3339(as_of)?;
    let mut session = Session::<R>::new(config)?;
    let mut findings = 0;
    for frame in &log.frames {
        findings += session.observe(frame)?.len();
    }
    Ok(findings + session.finish(as_of).0.len())
}

/// The ids of the events that `findings` name, in order: what most rule
/// tests assert on.
pub fn event_ids(findings: &[Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.event_id.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::{EventRef, Findings, Severity};

    /// Reports every `share`, and at the end the last event it saw.
    #[derive(Serialize, Deserialize)]
    struct Shares {
        last: Option<EventRef>,
    }

    impl Rule for Shares {
        const ID: &'static str = "shares";
        const DESCRIPTION: &'static str = "Reports shares.";
        const COMMITMENT: &'static str = "None.";
        const SEVERITY: Severity = Severity::Low;
        type Config = ();

        fn new(_config: ()) -> Result<Self, String> {
            Ok(Shares { last: None })
        }

        fn observe(&mut self, event: &Event<'_>, findings: &mut Findings) {
            if event.action == "share" {
                findings.report(event, "a share");
            }
            self.last = Some(EventRef::from(event));
        }

        fn finish(&mut self, _as_of: Timestamp, findings: &mut Findings) {
            if let Some(last) = self.last {
                findings.report(last, "the last");
            }
        }
    }

    #[test]
    fn an_encoded_log_gives_what_evaluate_gives_over_several_frames() {
        let events: Vec<TestEvent> = (0..2_500)
            .map(|n| {
                let action = if n % 7 == 0 { "share" } else { "access" };
                event(&format!("e{n:05}"), "2026-01-01T00:00:00Z", action)
            })
            .collect();
        let as_of = "2026-01-02T00:00:00Z";
        let found = evaluate::<Shares>("null", &events, as_of).unwrap();
        let encoded = encode::<Shares>("null", &events).unwrap();
        assert_eq!(encoded.frames.len(), 3);
        assert_eq!(
            evaluate_encoded::<Shares>("null", &encoded, as_of),
            Ok(found.len())
        );
        assert_eq!(found.len(), 2_500 / 7 + 1 + 1);
    }

    #[test]
    fn encoding_checks_the_configuration() {
        assert!(encode::<Shares>("{\"unknown\": 1}", &[]).is_err());
    }
}
