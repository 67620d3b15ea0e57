//! The Covenant rule SDK: write a rule as one struct and one trait impl.
//!
//! A Covenant rule checks one published commitment against recorded
//! data-handling events. It runs inside the Covenant host as a sandboxed
//! WebAssembly component; this crate hides the component bindings so that a
//! rule author only deals with plain Rust types:
//!
//! - [`Rule`]: the trait a rule implements, with its typed configuration
//!   ([`Rule::Config`]); [`export_rule!`] makes it the component's export.
//! - [`Event`], [`Findings`]: what a rule reads and what it reports.
//! - [`PerKey`] and [`Recorded`]: state per tenant, subscription or data
//!   item, with the event that recorded it, for the message.
//! - [`Deadline`], [`Timestamp`] arithmetic and [`format_duration`]:
//!   "within 14 days", exactly-at-is-in-time, and how late in words.
//! - [`Settings`]: the subscription settings that `config-change` events
//!   record; [`defender::PlanSetting`] reads Defender's plan from them.
//! - [`testing`]: event builders and a native runner for unit tests.
//!
//! # A complete rule
//!
//! The `lib.rs` of a rule crate (`crate-type = ["cdylib", "rlib"]`,
//! depending on `covenant-sdk` and `serde` with `derive`), with its unit
//! tests. Its configuration has defaults, so a policy may give only what
//! it changes, and rejects unknown keys, so a typo is an error rather than
//! a silently ignored setting; it keeps one [`Deadline`] per tenant in a
//! [`PerKey`].
//!
#![doc = concat!("```rust\n", include_str!("../examples/offboarding_erasure.rs"), "```")]
//!
//! Build it with `cargo build --release --target wasm32-wasip2` and point a
//! policy at the `.wasm` file; run its tests natively with `cargo test`.
//! PLUGINS.md walks through the whole cycle.
//!
//! # Configuration errors
//!
//! The host hands the rule its policy's `[rule.config]` table as JSON. When
//! it does not fit [`Rule::Config`], the rule is not run, and its error
//! names the rule and the offending key's path, then says what was wrong
//! (see [`parse_config`]):
//!
//! ```text
//! rule offboarding-erasure: config.grace_days: invalid type: string "30", expected u32
//! rule offboarding-erasure: config.grace_day: unknown field `grace_day`, expected `grace_days` or `offboard_action`
//! ```

#![warn(missing_docs)]

mod config;
pub mod defender;
mod evaluator;
mod event;
mod key_map;
mod settings;
mod snapshot;
mod state;
mod terms;
pub mod testing;
mod time;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The raw bindings generated from `wit/v3`. Rule authors do not need them;
/// they are public only so that [`export_rule!`] can reach them.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/v3",
        world: "plugin",
        pub_export_macro: true,
        export_macro_name: "__export_plugin",
        additional_derives: [PartialEq, Eq, PartialOrd, Ord, Hash],
    });
}

pub use bindings::covenant::rule::types::{Severity, Timestamp};
pub use config::parse_config;
pub use covenant_frame::Field;
#[doc(hidden)]
pub use evaluator::{Evaluator, metadata};
pub use event::{Actor, DataItem, DataKey, Event, KeyHasher, KeySet, Reads, Source, TextMap, cite};
pub use key_map::KeyMap;
pub use settings::Settings;
pub use state::{PerKey, Recorded};
pub use terms::{Terms, same_term};
pub use time::{Deadline, format_duration};

/// A rule: the state it keeps while events stream past, and what it reports.
///
/// The host creates one value per run with [`Rule::new`], asks it once
/// what it [`reads`](Rule::reads), calls [`Rule::observe`] for every event
/// it reads, in time order (ties broken by event id), then calls
/// [`Rule::finish`] once. Everything the rule needs to remember between
/// events lives in `self`.
///
/// So `self` is also what carries over from one run to the next (the
/// continuous audits of the README): derive `Serialize` and `Deserialize`
/// for the rule and what it holds (its `Config` too), and the SDK saves
/// and restores it. The SDK's own state types ([`KeyMap`], [`PerKey`],
/// [`Recorded`], [`EventRef`], [`Settings`], [`Timestamp`]) already are.
pub trait Rule: Sized + Serialize + DeserializeOwned + 'static {
    /// Stable identifier: the rule's id in policies and reports.
    const ID: &'static str;
    /// One sentence saying what the rule checks.
    const DESCRIPTION: &'static str;
    /// The published commitment the rule checks, quoted.
    const COMMITMENT: &'static str;
    /// How serious a finding is unless the policy overrides it: `Critical`
    /// and `High` make SARIF errors, `Medium` warnings, the rest notes.
    const SEVERITY: Severity;

    /// The rule's configuration, deserialised from the policy's
    /// `[rule.config]` table (`{}` when the policy has none).
    ///
    /// Mark the struct `#[serde(deny_unknown_fields)]`, so that a misspelt
    /// key is an error naming it rather than a setting silently ignored,
    /// and give defaults (`#[serde(default)]` with a `Default` impl, or
    /// `#[serde(default = "...")]` per field) holding the commitment's own
    /// values, so a policy states only what it changes. A field can be a
    /// [`Timestamp`] (RFC 3339 in the policy) or a [`defender::PlanSetting`].
    /// When the table does not fit, the rule is rejected with the key's
    /// path: see [`parse_config`].
    type Config: DeserializeOwned;

    /// Builds the rule from its configuration, checking what serde cannot
    /// (a list that must not be empty, say); an error message rejects it.
    ///
    /// The SDK puts `rule ID: ` in front of the message, so write it like
    /// the configuration errors: the key's path, then what is wrong with
    /// it, as in `config.regions: must name at least one region`.
    fn new(config: Self::Config) -> Result<Self, String>;

    /// The fields, actions and attributes the rule reads; asked once,
    /// after [`Rule::new`]. The host sends nothing else, and a field not
    /// named reads as absent, so name everything [`Rule::observe`] looks
    /// at: the unit tests ([`testing::evaluate`]) send exactly what the
    /// host would, so they catch a field left out. The default is every
    /// field of every event: correct, and the slowest.
    fn reads(&self) -> Reads {
        Reads::everything()
    }

    /// Looks at the next event, reporting any breach it shows.
    fn observe(&mut self, event: &Event<'_>, findings: &mut Findings);

    /// Reports what can only be known once every event has been seen, such
    /// as something that should have happened by `as_of` and did not.
    fn finish(&mut self, as_of: Timestamp, findings: &mut Findings) {
        let _ = (as_of, findings);
    }
}

/// An event a finding can be about: one the rule was sent, as an
/// [`Event`] or as the event a [`Recorded`] value was recorded by.
///
/// Keep one in a rule's state to report on the event later, in this run
/// or, through the rule's saved state, a later one. They order as their
/// events came: in time order, ties broken by event id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct EventRef(u64);

impl EventRef {
    /// The event's number in the run's order: for state packed tighter
    /// than an `EventRef`'s 8 bytes a value (ordinals of real logs fit in
    /// far fewer bits). Turn it back with [`EventRef::from_ordinal`] to
    /// report on or save the event.
    pub fn ordinal(self) -> u64 {
        self.0
    }

    /// The event [`EventRef::ordinal`] gave `ordinal` for. The host checks
    /// every ordinal a finding names, but one the rule was sent is taken
    /// as the event meant: a wrong number cites the wrong event.
    pub fn from_ordinal(ordinal: u64) -> EventRef {
        EventRef(ordinal)
    }
}

/// Its ordinal; saving a rule's state also tells the host the state names
/// the event, so that a later run may cite it.
impl Serialize for EventRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        snapshot::cite(self.0);
        serializer.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for EventRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        u64::deserialize(deserializer).map(EventRef)
    }
}

impl From<&Event<'_>> for EventRef {
    fn from(event: &Event<'_>) -> EventRef {
        EventRef(event.ordinal)
    }
}

impl<V> From<&Recorded<V>> for EventRef {
    fn from(recorded: &Recorded<V>) -> EventRef {
        recorded.event
    }
}

/// The findings a rule reports from one call, handed to
/// [`Rule::observe`] and [`Rule::finish`] to add to with
/// [`Findings::report`].
#[derive(Debug, Default)]
pub struct Findings {
    found: Vec<(EventRef, String)>,
    unassessable: Vec<(String, String)>,
}

impl Findings {
    /// Reports a breach shown by `event` (the one observed, or one a
    /// [`Recorded`] value names), explained in `message` with the ids and
    /// times an auditor needs to look it up.
    ///
    /// Two reports about one event from one call become one finding, the
    /// messages joined by `; `: the host takes an event named twice in one
    /// call for a plugin flooding it.
    pub fn report(&mut self, event: impl Into<EventRef>, message: impl Into<String>) {
        self.found.push((event.into(), message.into()));
    }

    /// Says the log cannot show whether `subject` (a subscription, tenant
    /// or data item id) keeps the commitment, and `why`, in words that say
    /// what the log would need to hold: neither a pass nor a finding, and
    /// a verdict of its own in the report. A rule that would otherwise
    /// judge on a guess (a history that starts before the log) says this
    /// instead. Reported from any call, it reaches the report when the
    /// rule finishes.
    pub fn cannot_assess(&mut self, subject: impl Into<String>, why: impl Into<String>) {
        self.unassessable.push((subject.into(), why.into()));
    }

    /// Takes the subjects not assessed out, leaving none.
    pub(crate) fn take_unassessable(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.unassessable)
    }

    /// Takes the findings out as ordinals and messages, one per event in
    /// the order first reported, leaving none.
    pub(crate) fn take(&mut self) -> Vec<(u64, String)> {
        let mut taken: Vec<(u64, String)> = Vec::with_capacity(self.found.len());
        let mut at: std::collections::HashMap<u64, usize> = std::collections::HashMap::new();
        for (event, message) in self.found.drain(..) {
            match at.entry(event.0) {
                std::collections::hash_map::Entry::Occupied(entry) => {
                    let joined = &mut taken[*entry.get()].1;
                    joined.push_str("; ");
                    joined.push_str(&message);
                }
                std::collections::hash_map::Entry::Vacant(entry) => {
                    entry.insert(taken.len());
                    taken.push((event.0, message));
                }
            }
        }
        taken
    }
}

/// Builds rule `R` from its configuration's JSON text as the host does:
/// [`parse_config`], then [`Rule::new`], whose error gets the same
/// `rule ID: ` prefix as a configuration error.
pub(crate) fn build<R: Rule>(config: &str) -> Result<R, String> {
    R::new(parse_config::<R>(config)?).map_err(|e| format!("rule {}: {e}", R::ID))
}

/// Exports a [`Rule`] as the plugin's implementation of the Covenant world.
///
/// Call it once, at the top level of the plugin crate. The version the
/// plugin reports is that crate's own (`version` in its `Cargo.toml`):
/// the macro is expanded there, so `CARGO_PKG_VERSION` is the rule's, not
/// the SDK's.
///
/// It expands to nothing on native targets, so that the same crate builds
/// natively for its unit tests, where the component's export names are not
/// valid symbols.
#[macro_export]
macro_rules! export_rule {
    ($rule:ty) => {
        #[cfg(target_family = "wasm")]
        struct __CovenantPlugin;
        #[cfg(target_family = "wasm")]
        impl $crate::bindings::exports::covenant::rule::rule::Guest for __CovenantPlugin {
            type Evaluator = $crate::Evaluator<$rule>;

            fn describe() -> $crate::bindings::covenant::rule::types::Metadata {
                $crate::metadata::<$rule>(env!("CARGO_PKG_VERSION"))
            }
        }
        #[cfg(target_family = "wasm")]
        $crate::bindings::__export_plugin!(__CovenantPlugin with_types_in $crate::bindings);
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Quiet;

    impl Rule for Quiet {
        const ID: &'static str = "quiet";
        const DESCRIPTION: &'static str = "Reports nothing.";
        const COMMITMENT: &'static str = "None.";
        const SEVERITY: Severity = Severity::Low;
        type Config = ();

        fn new(_config: ()) -> Result<Self, String> {
            Ok(Quiet)
        }

        fn observe(&mut self, _event: &Event<'_>, _findings: &mut Findings) {}
    }

    #[test]
    fn two_reports_about_one_event_in_one_call_are_one_finding() {
        let mut findings = Findings::default();
        findings.report(EventRef(4), "first");
        findings.report(EventRef(2), "other");
        findings.report(EventRef(4), "second");
        assert_eq!(
            findings.take(),
            [(4, "first; second".to_string()), (2, "other".to_string())]
        );
        assert!(findings.take().is_empty());
    }

    #[test]
    fn the_metadata_carries_the_version_export_rule_passes() {
        let metadata = metadata::<Quiet>("2.3.4");
        assert_eq!(
            (metadata.id.as_str(), metadata.version.as_str()),
            ("quiet", "2.3.4")
        );
        assert_eq!(metadata.severity, Severity::Low);
    }
}
