//! A rule built straight against `covenant:rule@3.0.0` (`wit/v3`), with no
//! SDK: it reads frames with `covenant-frame`'s decoder, so the host's v3
//! path (projections, frames, ordinals) can be tested before the SDK moves.
//!
//! It reads `access` events only, with their id, tenant and `subscription`
//! attribute, and flags each one in its configuration's `tenant`; at the
//! end it cites the first event it flagged again, and that event is what
//! its snapshot keeps (its ordinal, cited, and its id). A snapshot with
//! `"lie": "cite-unsent"` cites event 0 too, which it was not sent, and
//! with `"cite-twice"` cites its one event twice. Its configuration can
//! instead make it report an ordinal it must not (`"lie": "unsent"`, event
//! 0, which the tests' logs make an action it is not sent; `"future"`, one not sent yet; `"twice"`, one
//! ordinal twice in one call), for the tests of the host's refusals, or
//! (`"unassessable"`) say it cannot assess subscription `s1`.

wit_bindgen::generate!({
    path: "../../../wit/v3",
    world: "plugin",
});

use std::cell::RefCell;

use covenant::rule::types::{
    Conclusion, Fields, Finding, Metadata, Projection as WitProjection, Severity, Snapshot,
    Timestamp, Unassessable,
};
use covenant_frame::{Decoder, Field, Projection};
use exports::covenant::rule::rule::{Evaluator as EvaluatorHandle, Guest, GuestEvaluator};

struct Plugin;

struct Evaluator {
    tenant: String,
    lie: String,
    decoder: RefCell<Decoder>,
    first: RefCell<Option<(u64, String)>>,
}

fn projection() -> Projection {
    Projection {
        fields: [Field::Id, Field::Action, Field::Tenant]
            .into_iter()
            .collect(),
        actions: vec!["access".to_string()],
        attributes: vec!["subscription".to_string()],
    }
}

/// The string value of `key` in a flat JSON object, crudely: the tests'
/// configurations are written by the tests.
fn config_value(config: &str, key: &str) -> String {
    let pattern = format!("\"{key}\":\"");
    config
        .split_once(&pattern)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map_or(String::new(), |(value, _)| value.to_string())
}

impl Guest for Plugin {
    type Evaluator = Evaluator;

    fn describe() -> Metadata {
        Metadata {
            id: "frame-rule".to_string(),
            version: "0.1.0".to_string(),
            description: "Flags access in one tenant, reading frames.".to_string(),
            commitment: "No access in the configured tenant.".to_string(),
            severity: Severity::Low,
        }
    }
}

impl Evaluator {
    fn observe_frame(&self, frame: &[u8]) -> Result<Vec<Finding>, String> {
        let mut decoder = self.decoder.borrow_mut();
        let frame = decoder.decode(frame).map_err(|e| e.to_string())?;
        let mut findings = Vec::new();
        let mut last = None;
        for event in frame.events() {
            last = Some(event.ordinal());
            if event.text(Field::Action).as_str() != Some("access") {
                return Err("was sent an action it did not ask for".to_string());
            }
            if event.text(Field::Tenant).as_str() != Some(self.tenant.as_str()) {
                continue;
            }
            let id = event.id().unwrap_or_default().to_string();
            let subscription = event.attribute(0).as_str().unwrap_or("none");
            findings.push(Finding {
                event: event.ordinal(),
                message: format!(
                    "event {id} accessed data in {} (subscription {subscription})",
                    self.tenant
                ),
            });
            self.first.borrow_mut().get_or_insert((event.ordinal(), id));
        }
        if let Some(last) = last {
            match self.lie.as_str() {
                "unsent" => findings.push(Finding {
                    event: 0,
                    message: "lie".into(),
                }),
                "future" => findings.push(Finding {
                    event: last + 1_000,
                    message: "lie".into(),
                }),
                "twice" => {
                    findings.push(Finding {
                        event: last,
                        message: "once".into(),
                    });
                    findings.push(Finding {
                        event: last,
                        message: "twice".into(),
                    });
                }
                _ => {}
            }
        }
        Ok(findings)
    }
}

impl GuestEvaluator for Evaluator {
    fn new(config: String) -> Result<Self, String> {
        Ok(Evaluator {
            tenant: config_value(&config, "tenant"),
            lie: config_value(&config, "lie"),
            decoder: RefCell::new(Decoder::new(&projection())),
            first: RefCell::new(None),
        })
    }

    fn restore(config: String, state: Vec<u8>) -> Result<EvaluatorHandle, String> {
        let evaluator = Evaluator::new(config)?;
        if !state.is_empty() {
            let (ordinal, id) = state
                .split_at_checked(8)
                .ok_or("the state is shorter than an ordinal")?;
            let ordinal = u64::from_le_bytes(ordinal.try_into().expect("8 bytes"));
            let id = String::from_utf8(id.to_vec()).map_err(|e| e.to_string())?;
            *evaluator.first.borrow_mut() = Some((ordinal, id));
        }
        Ok(EvaluatorHandle::new(evaluator))
    }

    fn projection(&self) -> WitProjection {
        WitProjection {
            fields: Fields::ID | Fields::ACTION | Fields::TENANT,
            actions: projection().actions,
            attributes: projection().attributes,
        }
    }

    fn observe(&self, frame: Vec<u8>) -> Result<Vec<Finding>, String> {
        self.observe_frame(&frame)
    }

    fn finish(&self, _as_of: Timestamp) -> Result<Conclusion, String> {
        let findings = (self.first.borrow().iter())
            .map(|(ordinal, id)| Finding {
                event: *ordinal,
                message: format!("the first access flagged was event {id}"),
            })
            .collect();
        let unassessable = match self.lie.as_str() {
            "unassessable" => vec![Unassessable {
                subject: "s1".to_string(),
                reason: "its history starts before the log".to_string(),
            }],
            _ => Vec::new(),
        };
        Ok(Conclusion {
            findings,
            unassessable,
        })
    }

    fn snapshot(&self) -> Result<Snapshot, String> {
        let mut snapshot = Snapshot {
            state: Vec::new(),
            cites: Vec::new(),
        };
        if let Some((ordinal, id)) = &*self.first.borrow() {
            snapshot.state.extend(ordinal.to_le_bytes());
            snapshot.state.extend(id.as_bytes());
            snapshot.cites.push(*ordinal);
        }
        match self.lie.as_str() {
            "cite-unsent" => snapshot.cites.insert(0, 0),
            "cite-twice" => snapshot.cites.extend(snapshot.cites.clone()),
            _ => {}
        }
        Ok(snapshot)
    }
}

#[cfg(target_family = "wasm")]
export!(Plugin);
