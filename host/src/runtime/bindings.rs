//! The types and calls generated from the WIT (`wit/v3`), and their
//! conversions to and from the host's own types, all in one place. Nothing
//! outside the runtime names a generated type.

wasmtime::component::bindgen!({
    path: "../wit/v3",
    world: "plugin",
});

use covenant_frame::{Field, Fields, Projection};

pub(super) use self::covenant::rule::types as wit;

use crate::events;
use crate::policy::Severity;

/// An instant as the interface's record.
pub(super) fn timestamp(time: events::Timestamp) -> wit::Timestamp {
    wit::Timestamp {
        seconds: time.seconds,
        nanos: time.nanos,
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

/// The frame's projection for the one a rule declared.
pub(super) fn projection(declared: wit::Projection) -> Projection {
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
