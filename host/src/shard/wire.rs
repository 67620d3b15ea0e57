//! Events written back as schema v1 JSON, one compact line each: what
//! `split` and `convert` write, so that every tool reading their files
//! reads them as it reads any log.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::Value;

use crate::events::{Event, Timestamp};

/// Writes `event` to `out` (the file at `path`) as one line of schema v1 JSON.
pub fn write_line(out: &mut dyn Write, path: &Path, event: &Event) -> Result<()> {
    serde_json::to_writer(&mut *out, &WireEvent::from(event))
        .map_err(std::io::Error::from)
        .and_then(|()| out.write_all(b"\n"))
        .with_context(|| format!("{}: cannot write", path.display()))
}

/// An event as schema v1 JSON (the host's [`Event`] names fields for its
/// own use): absent fields are left out, unnamed ones kept.
#[derive(Serialize)]
struct WireEvent<'a> {
    id: &'a str,
    time: Timestamp,
    action: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor: Option<WireActor<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purpose: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    layer: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<WireData<'a>>,
    #[serde(flatten)]
    extra: &'a BTreeMap<String, Value>,
}

/// An event's actor as schema v1 JSON: its kind is `type`.
#[derive(Serialize)]
struct WireActor<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
}

/// An event's data item as schema v1 JSON.
#[derive(Serialize)]
struct WireData<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    store: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    sources: &'a [String],
    #[serde(flatten)]
    extra: &'a BTreeMap<String, Value>,
}

impl<'a> From<&'a Event> for WireEvent<'a> {
    fn from(event: &'a Event) -> Self {
        WireEvent {
            id: &event.id,
            time: event.time,
            action: &event.action,
            tenant: event.tenant.as_deref(),
            actor: event.actor.as_ref().map(|actor| WireActor {
                kind: &actor.kind,
                id: actor.id.as_deref(),
            }),
            purpose: event.purpose.as_deref(),
            scope: event.scope.as_deref(),
            layer: event.layer.as_deref(),
            region: event.region.as_deref(),
            data: event.data.as_ref().map(|data| WireData {
                id: data.id.as_deref(),
                category: data.category.as_deref(),
                tenant: data.tenant.as_deref(),
                store: data.store.as_deref(),
                sources: &data.sources,
                extra: &data.extra,
            }),
            extra: &event.extra,
        }
    }
}
