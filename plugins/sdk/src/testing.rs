//! Helpers for a rule's unit tests: build events tersely and run a rule the
//! way the host does, without compiling to WebAssembly.
//!
//! ```
//! use covenant_sdk::testing::event;
//!
//! let e = event("e1", "2026-01-01T00:00:00Z", "access")
//!     .tenant("a")
//!     .data("d1", "a")
//!     .purpose("threat-investigation")
//!     .build();
//! assert_eq!(e.data.unwrap().tenant.as_deref(), Some("a"));
//! ```

use crate::{Actor, Attribute, DataItem, Event, Finding, Findings, Rule, Timestamp};

/// An event under construction, from [`event`]: each method sets one
/// field, and [`EventBuilder::build`] gives the [`Event`].
///
/// A builder of its own, rather than methods on [`Event`], so that these
/// conveniences for tests are not part of the type rules read in
/// production.
#[derive(Debug, Clone)]
#[must_use = "an EventBuilder does nothing until `build` gives its event"]
pub struct EventBuilder(Event);

/// An event with only the required fields set, to add the rest to with the
/// [`EventBuilder`] methods (`.tenant("a").data("d1", "a")`) before
/// [`EventBuilder::build`]. `time` is RFC 3339.
///
/// # Panics
/// If `time` is not RFC 3339: this is for tests, where that is a typo.
pub fn event(id: &str, time: &str, action: &str) -> EventBuilder {
    EventBuilder(Event {
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
    })
}

impl EventBuilder {
    /// The event built.
    pub fn build(self) -> Event {
        self.0
    }

    /// Sets the tenant whose context the event ran in.
    pub fn tenant(mut self, tenant: &str) -> Self {
        self.0.tenant = Some(tenant.to_string());
        self
    }

    /// Sets the declared purpose.
    pub fn purpose(mut self, purpose: &str) -> Self {
        self.0.purpose = Some(purpose.to_string());
        self
    }

    /// Sets the consent scope.
    pub fn scope(mut self, scope: &str) -> Self {
        self.0.scope = Some(scope.to_string());
        self
    }

    /// Sets the actor.
    pub fn actor(mut self, kind: &str, id: &str) -> Self {
        self.0.actor = Some(Actor {
            kind: kind.to_string(),
            id: Some(id.to_string()),
        });
        self
    }

    /// Sets the data item's id and organisation tag.
    pub fn data(mut self, id: &str, tenant: &str) -> Self {
        let data = self.data_item();
        data.id = Some(id.to_string());
        data.tenant = Some(tenant.to_string());
        self
    }

    /// Sets the data item's category, creating the item if needed.
    pub fn category(mut self, category: &str) -> Self {
        self.data_item().category = Some(category.to_string());
        self
    }

    /// Adds an extra attribute with a string value.
    pub fn extra(mut self, name: &str, value: &str) -> Self {
        self.0.extra.push(Attribute {
            name: name.to_string(),
            json: serde_json::Value::String(value.to_string()).to_string(),
        });
        self
    }

    /// Sets the layer (the component that emitted the event).
    pub fn layer(mut self, layer: &str) -> Self {
        self.0.layer = Some(layer.to_string());
        self
    }

    /// Sets the region.
    pub fn region(mut self, region: &str) -> Self {
        self.0.region = Some(region.to_string());
        self
    }

    /// Sets the data item's store, creating the item if needed.
    pub fn store(mut self, store: &str) -> Self {
        self.data_item().store = Some(store.to_string());
        self
    }

    /// Sets the ids the data item was derived from, creating it if needed.
    pub fn sources(mut self, sources: &[&str]) -> Self {
        self.data_item().sources = sources.iter().map(|s| s.to_string()).collect();
        self
    }

    /// The event's data item, created empty if it has none yet.
    fn data_item(&mut self) -> &mut DataItem {
        self.0.data.get_or_insert_with(|| DataItem {
            id: None,
            category: None,
            tenant: None,
            store: None,
            sources: Vec::new(),
            extra: Vec::new(),
        })
    }
}

/// Runs rule `R` as the host would: configuration from JSON text, every
/// event observed in the given order, then `finish` at `as_of` (RFC 3339).
///
/// The host sends events in time order, ties broken by id; give them in
/// that order. A configuration the rule rejects is the `Err`, with the
/// message the host would show (see [`parse_config`](crate::parse_config)).
pub fn evaluate<R: Rule>(
    config: &str,
    events: &[Event],
    as_of: &str,
) -> Result<Vec<Finding>, String> {
    let mut rule = crate::build::<R>(config)?;
    let mut findings = Findings::default();
    for event in events {
        rule.observe(event, &mut findings);
    }
    rule.finish(Timestamp::parse_rfc3339(as_of)?, &mut findings);
    Ok(findings.take())
}

/// The ids of the events that `findings` name, in order: what most rule
/// tests assert on.
pub fn event_ids(findings: &[Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.event_id.as_str()).collect()
}
