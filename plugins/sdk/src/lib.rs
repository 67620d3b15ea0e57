//! The Covenant rule SDK: write a rule as one struct and one trait impl.
//!
//! A Covenant rule checks one published commitment against recorded
//! data-handling events. It runs inside the Covenant host as a sandboxed
//! WebAssembly component; this crate hides the component bindings so that a
//! rule author only deals with plain Rust types.
//!
//! ```no_run
//! use covenant_sdk::{Event, Findings, Rule, Severity, export_rule};
//! use serde::Deserialize;
//!
//! /// Flags every `share` of customer data to a partner.
//! struct NoPartnerSharing;
//!
//! #[derive(Deserialize)]
//! struct Config {}
//!
//! impl Rule for NoPartnerSharing {
//!     const ID: &'static str = "no-partner-sharing";
//!     const VERSION: &'static str = env!("CARGO_PKG_VERSION");
//!     const DESCRIPTION: &'static str = "Customer data is never shared with partners.";
//!     const COMMITMENT: &'static str = "We do not share your data with partners.";
//!     const SEVERITY: Severity = Severity::High;
//!     type Config = Config;
//!
//!     fn new(_config: Config) -> Result<Self, String> {
//!         Ok(NoPartnerSharing)
//!     }
//!
//!     fn observe(&mut self, event: &Event, findings: &mut Findings) {
//!         let to_partner = event.actor.as_ref().is_some_and(|a| a.kind == "partner");
//!         if event.action == "share" && event.data.is_some() && to_partner {
//!             findings.report(&event.id, format!("event {} shares customer data with a partner", event.id));
//!         }
//!     }
//! }
//!
//! export_rule!(NoPartnerSharing);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2` and point a
//! policy at the `.wasm` file. PLUGINS.md walks through the whole cycle.

mod settings;
pub mod testing;
mod time;

use std::cell::RefCell;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;

/// The raw bindings generated from `wit/v2`. Rule authors do not need them;
/// they are public only so that [`export_rule!`] can reach them.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/v2",
        world: "plugin",
        pub_export_macro: true,
        export_macro_name: "__export_plugin",
        additional_derives: [PartialEq, Eq, PartialOrd, Ord, Hash],
    });
}

use bindings::exports::covenant::rule::rule::{Guest, GuestEvaluator};

pub use bindings::covenant::rule::types::{
    Actor, Attribute, DataItem, Event, Finding, Severity, Timestamp,
};
pub use settings::{PlanSetting, SettingChange, Settings};
pub use time::format_duration;

/// A rule: the state it keeps while events stream past, and what it reports.
///
/// The host creates one value per run with [`Rule::new`], calls
/// [`Rule::observe`] for every event in time order (ties broken by event id),
/// then calls [`Rule::finish`] once. Everything the rule needs to remember
/// between events lives in `self`.
pub trait Rule: Sized + 'static {
    /// Stable identifier: the rule's id in policies and reports.
    const ID: &'static str;
    /// The plugin's version, normally `env!("CARGO_PKG_VERSION")`.
    const VERSION: &'static str;
    /// One sentence saying what the rule checks.
    const DESCRIPTION: &'static str;
    /// The published commitment the rule checks, quoted.
    const COMMITMENT: &'static str;
    /// How serious a finding is unless the policy overrides it: `Critical`
    /// and `High` make SARIF errors, `Medium` warnings, the rest notes.
    const SEVERITY: Severity;

    /// The rule's configuration, deserialised from the policy's `config`
    /// table. Mark fields `#[serde(default)]` to give the seed's values, and
    /// the struct `#[serde(deny_unknown_fields)]` so typos are errors.
    type Config: DeserializeOwned;

    /// Builds the rule from its configuration; an error message rejects it.
    fn new(config: Self::Config) -> Result<Self, String>;

    /// Looks at the next event, reporting any breach it shows.
    fn observe(&mut self, event: &Event, findings: &mut Findings);

    /// Reports what can only be known once every event has been seen, such
    /// as something that should have happened by `as_of` and did not.
    fn finish(&mut self, as_of: Timestamp, findings: &mut Findings) {
        let _ = (as_of, findings);
    }
}

/// The findings a rule reports from one call.
#[derive(Debug, Default)]
pub struct Findings(Vec<Finding>);

impl Findings {
    /// Reports a breach shown by the event `event_id`, explained in
    /// `message` with the ids and times an auditor needs to look it up.
    pub fn report(&mut self, event_id: impl Into<String>, message: impl Into<String>) {
        self.0.push(Finding {
            event_id: event_id.into(),
            message: message.into(),
        });
    }

    /// The findings reported so far, in the order they were reported.
    pub fn as_slice(&self) -> &[Finding] {
        &self.0
    }

    /// Takes the findings out, leaving this empty.
    pub fn take(&mut self) -> Vec<Finding> {
        std::mem::take(&mut self.0)
    }
}

/// Parses a rule's configuration from the JSON text the host passes.
///
/// Exposed so that rule unit tests can build a rule exactly as the host
/// does, from the same text a policy would produce.
pub fn parse_config<C: DeserializeOwned>(json: &str) -> Result<C, String> {
    serde_json::from_str(json).map_err(|e| format!("invalid configuration: {e}"))
}

/// Connects a [`Rule`] to the component's exports. Use [`export_rule!`].
#[doc(hidden)]
pub struct Plugin<R>(PhantomData<R>);

/// One evaluator resource, owning a rule's state.
#[doc(hidden)]
pub struct Evaluator<R> {
    rule: RefCell<R>,
}

impl<R: Rule> Guest for Plugin<R> {
    type Evaluator = Evaluator<R>;

    fn describe() -> bindings::covenant::rule::types::Metadata {
        bindings::covenant::rule::types::Metadata {
            id: R::ID.to_string(),
            version: R::VERSION.to_string(),
            description: R::DESCRIPTION.to_string(),
            commitment: R::COMMITMENT.to_string(),
            severity: R::SEVERITY,
        }
    }
}

impl<R: Rule> GuestEvaluator for Evaluator<R> {
    fn new(config: String) -> Result<Self, String> {
        let config = parse_config::<R::Config>(&config)?;
        Ok(Evaluator {
            rule: RefCell::new(R::new(config)?),
        })
    }

    fn observe(&self, batch: Vec<Event>) -> Result<Vec<Finding>, String> {
        let mut rule = self.rule.borrow_mut();
        let mut findings = Findings::default();
        for event in &batch {
            rule.observe(event, &mut findings);
        }
        Ok(findings.take())
    }

    fn finish(&self, as_of: Timestamp) -> Result<Vec<Finding>, String> {
        let mut findings = Findings::default();
        self.rule.borrow_mut().finish(as_of, &mut findings);
        Ok(findings.take())
    }
}

/// Exports a [`Rule`] as the plugin's implementation of the Covenant world.
///
/// Call it once, at the top level of the plugin crate. It expands to nothing
/// on native targets, so that the same crate builds natively for its unit
/// tests, where the component's export names are not valid symbols.
#[macro_export]
macro_rules! export_rule {
    ($rule:ty) => {
        #[cfg(target_family = "wasm")]
        type __CovenantPlugin = $crate::Plugin<$rule>;
        #[cfg(target_family = "wasm")]
        $crate::bindings::__export_plugin!(__CovenantPlugin with_types_in $crate::bindings);
    };
}
