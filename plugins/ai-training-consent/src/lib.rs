//! `ai-training-consent`: customer data is used to train AI only while the
//! data's own organisation has AI-training consent in effect.
//!
//! Consent is in effect at an instant when the organisation's latest consent
//! event for the configured scope, at or before that instant, is a grant.
//! Only grants from the customer count; a revocation counts whoever records
//! it, and at the same instant a revocation outweighs a grant.

use covenant_sdk::{
    Event, EventRef, Field, Findings, PerKey, Reads, Rule, Severity, Terms, Timestamp, export_rule,
};
use serde::{Deserialize, Serialize};

/// Configuration from the policy's `[rules.config]` table.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The consent scope that covers AI training.
    pub scope: String,
    /// Actions that are training whatever their purpose.
    pub training_actions: Vec<String>,
    /// Purposes that are training whatever their action.
    pub training_purposes: Terms,
    /// Actor kinds whose grants count as the customer's consent.
    pub consenting_actors: Terms,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            scope: "ai-training".to_string(),
            training_actions: vec!["train".to_string()],
            training_purposes: Terms::new(["model-training"]),
            consenting_actors: Terms::new(["customer"]),
        }
    }
}

/// A training use waiting until every event at its instant has been seen,
/// because a consent event at the same instant counts even if its id sorts
/// later.
#[derive(Serialize, Deserialize)]
struct TrainingUse {
    event: EventRef,
    description: String,
    tenant: Option<String>,
}

/// The rule's state: each organisation's latest decision (granted or not),
/// the latest grant that did not count (with who made it), and the uses at
/// the current instant.
#[derive(Serialize, Deserialize)]
pub struct AiTrainingConsent {
    config: Config,
    decisions: PerKey<bool>,
    ignored_grants: PerKey<String>,
    pending: Vec<TrainingUse>,
    pending_time: Option<Timestamp>,
}

impl Rule for AiTrainingConsent {
    const ID: &'static str = "ai-training-consent";
    const DESCRIPTION: &'static str = "Customer data is used for AI training (a `train` action or a `model-training` \
         purpose) only while the data's organisation has an AI-training consent in effect, \
         granted by the customer and not since revoked.";
    const COMMITMENT: &'static str = "Microsoft Defender for Cloud does not use Customer Data to train AI models \
         without user consent.";
    const SEVERITY: Severity = Severity::High;
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        Ok(AiTrainingConsent {
            config,
            decisions: PerKey::default(),
            ignored_grants: PerKey::default(),
            pending: Vec::new(),
            pending_time: None,
        })
    }

    fn reads(&self) -> Reads {
        Reads::fields(&[
            Field::Tenant,
            Field::ActorKind,
            Field::Purpose,
            Field::Scope,
            Field::DataId,
            Field::DataTenant,
        ])
    }

    fn observe(&mut self, event: &Event<'_>, findings: &mut Findings) {
        if self.pending_time != Some(event.time) {
            self.judge_pending(findings);
            self.pending_time = Some(event.time);
        }
        self.record_consent(event);
        if self.is_training(event) {
            let tenant = (event.data).and_then(|d| d.tenant).map(str::to_string);
            let data = event.data.as_ref().map_or("data".to_string(), |d| d.name());
            let how = match (event.purpose, self.is_training_action(event)) {
                (Some(purpose), false) => format!("uses {data} for `{purpose}`"),
                _ => format!("trains on {data}"),
            };
            self.pending.push(TrainingUse {
                event: EventRef::from(event),
                description: format!("{} {how}", event.cite_with_action()),
                tenant,
            });
        }
    }

    fn finish(&mut self, _as_of: Timestamp, findings: &mut Findings) {
        self.judge_pending(findings);
    }
}

impl AiTrainingConsent {
    fn is_training_action(&self, event: &Event<'_>) -> bool {
        self.config
            .training_actions
            .iter()
            .any(|a| a == event.action)
    }

    fn is_training(&self, event: &Event<'_>) -> bool {
        event.data.is_some()
            && (self.is_training_action(event)
                || (event.purpose).is_some_and(|p| self.config.training_purposes.contains(p)))
    }

    fn record_consent(&mut self, event: &Event<'_>) {
        let granted = match event.action {
            "consent-granted" => true,
            "consent-revoked" => false,
            _ => return,
        };
        if event.scope != Some(self.config.scope.as_str()) {
            return;
        }
        let Some(tenant) = event.tenant.filter(|t| !t.is_empty()).map(str::to_string) else {
            return;
        };
        if granted {
            let actor = event.actor.map(|a| a.kind);
            if !actor.is_some_and(|kind| self.config.consenting_actors.contains(kind)) {
                let by = actor.map_or("no actor".to_string(), |kind| format!("a {kind} actor"));
                self.ignored_grants.record(tenant, by, event);
                return;
            }
            let revoked_now = self
                .decisions
                .get(&tenant)
                .is_some_and(|d| !d.value && d.time == event.time);
            if revoked_now {
                return;
            }
        }
        self.decisions.record(tenant, granted, event);
    }

    fn judge_pending(&mut self, findings: &mut Findings) {
        for using in std::mem::take(&mut self.pending) {
            let Some(tenant) = &using.tenant else {
                findings.report(
                    using.event,
                    format!(
                        "{}, which carries no organisation tag, so no consent can cover it",
                        using.description
                    ),
                );
                continue;
            };
            let reason = match self.decisions.get(tenant) {
                Some(d) if d.value => continue,
                Some(d) => format!(
                    "tenant {tenant} revoked AI-training consent in {}",
                    d.cite()
                ),
                None => format!("tenant {tenant} never granted AI-training consent"),
            };
            let ignored = self
                .ignored_grants
                .get(tenant)
                .map(|grant| {
                    format!(
                        "; the grant in event {} came from {} and does not count",
                        grant.event_id, grant.value
                    )
                })
                .unwrap_or_default();
            findings.report(
                using.event,
                format!("{} without consent: {reason}{ignored}", using.description),
            );
        }
    }
}

export_rule!(AiTrainingConsent);

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_sdk::testing::{TestEvent, evaluate, event, event_ids};

    fn flagged(events: &[TestEvent]) -> Vec<String> {
        let findings = evaluate::<AiTrainingConsent>("{}", events, "2026-03-01T00:00:00Z").unwrap();
        event_ids(&findings).into_iter().map(String::from).collect()
    }

    fn grant(id: &str, time: &str, tenant: &str) -> TestEvent {
        event(id, time, "consent-granted")
            .tenant(tenant)
            .scope("ai-training")
            .actor("customer", "c1")
    }

    fn revoke(id: &str, time: &str, tenant: &str) -> TestEvent {
        event(id, time, "consent-revoked")
            .tenant(tenant)
            .scope("ai-training")
            .actor("customer", "c1")
    }

    fn train(id: &str, time: &str, tenant: &str) -> TestEvent {
        event(id, time, "train").tenant(tenant).data("d1", tenant)
    }

    #[test]
    fn training_without_any_consent_is_a_finding() {
        assert_eq!(flagged(&[train("t1", "2026-01-02T00:00:00Z", "a")]), ["t1"]);
    }

    #[test]
    fn model_training_purpose_counts_as_training() {
        let e = event("t1", "2026-01-02T00:00:00Z", "access")
            .tenant("a")
            .data("d1", "a")
            .purpose("model-training");
        assert_eq!(flagged(&[e]), ["t1"]);
    }

    #[test]
    fn training_without_data_is_not_a_use_of_customer_data() {
        let e = event("t1", "2026-01-02T00:00:00Z", "train").tenant("a");
        assert!(flagged(&[e]).is_empty());
    }

    #[test]
    fn consent_in_effect_permits_training() {
        let events = [
            grant("c1", "2026-01-01T00:00:00Z", "a"),
            train("t1", "2026-01-02T00:00:00Z", "a"),
        ];
        assert!(flagged(&events).is_empty());
    }

    #[test]
    fn consent_at_the_same_instant_counts_whatever_the_ids() {
        // "z-grant" sorts after "a-train", so the host sends the training first.
        let events = [
            train("a-train", "2026-01-02T00:00:00Z", "a"),
            grant("z-grant", "2026-01-02T00:00:00Z", "a"),
        ];
        assert!(flagged(&events).is_empty());
    }

    #[test]
    fn revocation_ends_consent() {
        let events = [
            grant("c1", "2026-01-01T00:00:00Z", "a"),
            revoke("c2", "2026-01-05T00:00:00Z", "a"),
            train("t1", "2026-01-04T23:59:59Z", "a"),
            train("t2", "2026-01-05T00:00:01Z", "a"),
        ];
        let mut sorted = events.to_vec();
        sorted.sort_by(|x, y| (x.time(), x.id()).cmp(&(y.time(), y.id())));
        assert_eq!(flagged(&sorted), ["t2"]);
    }

    #[test]
    fn revocation_outweighs_a_grant_at_the_same_instant() {
        let events = [
            grant("c1", "2026-01-01T00:00:00Z", "a"),
            revoke("c2", "2026-01-05T00:00:00Z", "a"),
            grant("c3", "2026-01-05T00:00:00Z", "a"),
            train("t1", "2026-01-06T00:00:00Z", "a"),
        ];
        assert_eq!(flagged(&events), ["t1"]);
    }

    #[test]
    fn consent_of_another_tenant_does_not_count() {
        let events = [
            grant("c1", "2026-01-01T00:00:00Z", "b"),
            train("t1", "2026-01-02T00:00:00Z", "a"),
        ];
        assert_eq!(flagged(&events), ["t1"]);
    }

    #[test]
    fn consent_for_another_scope_does_not_count() {
        let g = grant("c1", "2026-01-01T00:00:00Z", "a").scope("marketing");
        assert_eq!(
            flagged(&[g, train("t1", "2026-01-02T00:00:00Z", "a")]),
            ["t1"]
        );
    }

    #[test]
    fn grant_by_a_non_customer_does_not_count() {
        let g = event("c1", "2026-01-01T00:00:00Z", "consent-granted")
            .tenant("a")
            .scope("ai-training")
            .actor("service", "s1");
        let findings = evaluate::<AiTrainingConsent>(
            "{}",
            &[g, train("t1", "2026-01-02T00:00:00Z", "a")],
            "2026-03-01T00:00:00Z",
        )
        .unwrap();
        assert_eq!(event_ids(&findings), ["t1"]);
        assert!(
            findings[0].message.contains("came from a service actor"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn data_tenant_decides_not_the_context() {
        let events = [
            grant("c1", "2026-01-01T00:00:00Z", "a"),
            event("t1", "2026-01-02T00:00:00Z", "train")
                .tenant("a")
                .data("d1", "b"),
        ];
        assert_eq!(flagged(&events), ["t1"]);
    }

    #[test]
    fn unknown_config_field_is_rejected() {
        let err = evaluate::<AiTrainingConsent>(r#"{"scopes": []}"#, &[], "2026-01-01T00:00:00Z")
            .unwrap_err();
        assert!(
            err.starts_with("rule ai-training-consent: config.scopes: unknown field `scopes`"),
            "{err}"
        );
    }

    #[test]
    fn untagged_data_cannot_be_covered() {
        let e = event("t1", "2026-01-02T00:00:00Z", "train")
            .tenant("a")
            .data_id("d1");
        assert_eq!(
            flagged(&[grant("c1", "2026-01-01T00:00:00Z", "a"), e]),
            ["t1"]
        );
    }
}
