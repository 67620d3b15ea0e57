//! The types and calls generated from the WIT (`wit/v2`), and their
//! conversions to and from the host's own types, all in one place. Nothing
//! outside the runtime names a generated type.

wasmtime::component::bindgen!({
    path: "../wit/v2",
    world: "plugin",
});

use std::collections::BTreeMap;

pub(super) use self::covenant::rule::types as wit;

use crate::events;
use crate::policy::Severity;

/// Converts an event to the interface's record, moving its strings rather
/// than copying them: the host keeps nothing of an event once it is batched.
pub(super) fn event(event: events::Event) -> wit::Event {
    wit::Event {
        id: event.id,
        time: timestamp(event.time),
        action: event.action,
        tenant: event.tenant,
        actor: event.actor.map(|a| wit::Actor {
            kind: a.kind,
            id: a.id,
        }),
        purpose: event.purpose,
        scope: event.scope,
        layer: event.layer,
        region: event.region,
        data: event.data.map(|d| wit::DataItem {
            id: d.id,
            category: d.category,
            tenant: d.tenant,
            store: d.store,
            sources: d.sources,
            extra: attributes(d.extra),
        }),
        extra: attributes(event.extra),
    }
}

fn attributes(extra: BTreeMap<String, serde_json::Value>) -> Vec<wit::Attribute> {
    extra
        .into_iter()
        .map(|(name, value)| wit::Attribute {
            json: value.to_string(),
            name,
        })
        .collect()
}

/// An instant as the interface's record.
pub(super) fn timestamp(time: events::Timestamp) -> wit::Timestamp {
    wit::Timestamp {
        seconds: time.seconds,
        nanos: time.nanos,
    }
}

/// A finding as the host keeps it.
pub(super) fn finding(finding: wit::Finding) -> super::Finding {
    super::Finding {
        event_id: finding.event_id,
        message: finding.message,
    }
}

/// A plugin's description of its rule, as the host keeps it.
pub(super) fn metadata(metadata: wit::Metadata) -> super::RuleMetadata {
    super::RuleMetadata {
        id: metadata.id,
        version: metadata.version,
        description: metadata.description,
        commitment: metadata.commitment,
        severity: severity(metadata.severity),
    }
}

/// The host's severity for the one a plugin declares.
fn severity(declared: wit::Severity) -> Severity {
    match declared {
        wit::Severity::Info => Severity::Info,
        wit::Severity::Low => Severity::Low,
        wit::Severity::Medium => Severity::Medium,
        wit::Severity::High => Severity::High,
        wit::Severity::Critical => Severity::Critical,
    }
}
