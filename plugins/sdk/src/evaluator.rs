//! A rule running as the host drives it: frames in, findings out. The
//! component's export ([`Evaluator`]) and the unit tests'
//! [`testing::evaluate`](crate::testing::evaluate) both go through
//! [`Session`], so a rule's tests see exactly what the host would send.

use std::cell::RefCell;

use covenant_frame::{Decoder, Field};

use crate::bindings::covenant::rule::types as wit;
use crate::bindings::exports::covenant::rule::rule::{self, GuestEvaluator};
use crate::{Event, Findings, Reads, Rule, Timestamp};

/// One rule, its reads, and the decoder of the frames it is sent.
pub(crate) struct Session<R> {
    rule: R,
    reads: Reads,
    decoder: Decoder,
    /// Subjects the rule could not assess, as it said so while observing:
    /// the interface takes them from `finish`.
    unassessable: Vec<(String, String)>,
}

/// What a rule concluded when it finished: findings as ordinals and
/// messages, and the subjects it could not assess with why.
pub(crate) type Concluded = (Vec<(u64, String)>, Vec<(String, String)>);

impl<R: Rule> Session<R> {
    /// Builds the rule from its configuration's JSON text and asks what it
    /// reads.
    pub(crate) fn new(config: &str) -> Result<Session<R>, String> {
        Ok(Session::of(crate::build::<R>(config)?))
    }

    /// The rule as an earlier run saved it ([`Session::save`]), under the
    /// configuration `config`, which is checked as [`Session::new`] does.
    pub(crate) fn restore(config: &str, state: &[u8]) -> Result<Session<R>, String> {
        crate::build::<R>(config)?;
        let (rule, unassessable) =
            crate::snapshot::load(state).map_err(|e| format!("rule {}: {e}", R::ID))?;
        Ok(Session {
            unassessable,
            ..Session::of(rule)
        })
    }

    fn of(rule: R) -> Session<R> {
        let reads = rule.reads();
        let decoder = Decoder::new(&reads.projection());
        Session {
            rule,
            reads,
            decoder,
            unassessable: Vec::new(),
        }
    }

    /// The rule's state, with what it has said it cannot assess so far, and
    /// the ordinals of the events the state names.
    pub(crate) fn save(&self) -> Result<(Vec<u8>, Vec<u64>), String> {
        crate::snapshot::save(&(&self.rule, &self.unassessable))
            .map_err(|e| format!("rule {}: {e}", R::ID))
    }

    /// What the rule reads.
    pub(crate) fn reads(&self) -> &Reads {
        &self.reads
    }

    /// Observes every event of `frame`; returns the findings as ordinals
    /// and messages.
    pub(crate) fn observe(&mut self, frame: &[u8]) -> Result<Vec<(u64, String)>, String> {
        let decoded = (self.decoder.decode(frame))
            .map_err(|e| format!("rule {}: the host sent {e}", R::ID))?;
        let names = self.reads.attribute_names();
        let mut findings = Findings::default();
        for view in decoded.events() {
            self.rule.observe(&Event::read(view, names), &mut findings);
        }
        self.unassessable.extend(findings.take_unassessable());
        Ok(findings.take())
    }

    /// Ends the evaluation at `as_of`.
    pub(crate) fn finish(&mut self, as_of: Timestamp) -> Concluded {
        let mut findings = Findings::default();
        self.rule.finish(as_of, &mut findings);
        let mut unassessable = std::mem::take(&mut self.unassessable);
        unassessable.extend(findings.take_unassessable());
        (findings.take(), unassessable)
    }
}

/// One evaluator resource, owning a rule's [`Session`].
#[doc(hidden)]
pub struct Evaluator<R> {
    session: RefCell<Session<R>>,
}

/// What the component says about rule `R` when the host asks, with the
/// `version` of the crate that [`export_rule!`](crate::export_rule) is
/// expanded in.
#[doc(hidden)]
pub fn metadata<R: Rule>(version: &str) -> wit::Metadata {
    wit::Metadata {
        id: R::ID.to_string(),
        version: version.to_string(),
        description: R::DESCRIPTION.to_string(),
        commitment: R::COMMITMENT.to_string(),
        severity: R::SEVERITY,
    }
}

fn findings(found: Vec<(u64, String)>) -> Vec<wit::Finding> {
    (found.into_iter())
        .map(|(event, message)| wit::Finding { event, message })
        .collect()
}

impl<R: Rule> GuestEvaluator for Evaluator<R> {
    fn new(config: String) -> Result<Self, String> {
        Ok(Evaluator {
            session: RefCell::new(Session::new(&config)?),
        })
    }

    fn restore(config: String, state: Vec<u8>) -> Result<rule::Evaluator, String> {
        Ok(rule::Evaluator::new(Evaluator {
            session: RefCell::new(Session::<R>::restore(&config, &state)?),
        }))
    }

    fn projection(&self) -> wit::Projection {
        let projection = self.session.borrow().reads().projection();
        wit::Projection {
            fields: (projection.fields.iter())
                .fold(wit::Fields::empty(), |set, field| set | wit_field(field)),
            actions: projection.actions,
            attributes: projection.attributes,
        }
    }

    fn observe(&self, frame: Vec<u8>) -> Result<Vec<wit::Finding>, String> {
        Ok(findings(self.session.borrow_mut().observe(&frame)?))
    }

    fn finish(&self, as_of: Timestamp) -> Result<wit::Conclusion, String> {
        let (found, unassessable) = self.session.borrow_mut().finish(as_of);
        Ok(wit::Conclusion {
            findings: findings(found),
            unassessable: (unassessable.into_iter())
                .map(|(subject, reason)| wit::Unassessable { subject, reason })
                .collect(),
        })
    }

    fn snapshot(&self) -> Result<wit::Snapshot, String> {
        let (state, cites) = self.session.borrow().save()?;
        Ok(wit::Snapshot { state, cites })
    }
}

/// A field as the interface's flag.
fn wit_field(field: Field) -> wit::Fields {
    match field {
        Field::Id => wit::Fields::ID,
        Field::Action => wit::Fields::ACTION,
        Field::Tenant => wit::Fields::TENANT,
        Field::ActorKind => wit::Fields::ACTOR_KIND,
        Field::ActorId => wit::Fields::ACTOR_ID,
        Field::Purpose => wit::Fields::PURPOSE,
        Field::Scope => wit::Fields::SCOPE,
        Field::Layer => wit::Fields::LAYER,
        Field::Region => wit::Fields::REGION,
        Field::DataId => wit::Fields::DATA_ID,
        Field::DataCategory => wit::Fields::DATA_CATEGORY,
        Field::DataTenant => wit::Fields::DATA_TENANT,
        Field::DataStore => wit::Fields::DATA_STORE,
        Field::DataSources => wit::Fields::DATA_SOURCES,
    }
}
