// `offboarding-erasure`: once a tenant offboards, nothing touches its data
// after a grace period. (The example on the SDK's front page; `cargo test
// -p covenant-sdk` runs its tests.)

use covenant_sdk::{Deadline, Event, Field, Findings, PerKey, Reads, Rule, Severity, export_rule};
use serde::{Deserialize, Serialize};

/// The policy's `[rule.config]` table. Every field has a default (the
/// commitment's own numbers), and an unknown key is an error.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Days a tenant's data may still be touched after it offboards.
    pub grace_days: u32,
    /// The action that records a tenant leaving.
    pub offboard_action: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            grace_days: 30,
            offboard_action: "offboard".to_string(),
        }
    }
}

/// The rule's state: per tenant that has offboarded, the end of its grace
/// period, recorded with the offboarding event that started it. A later run
/// carries it on, so it derives serde's traits.
#[derive(Serialize, Deserialize)]
pub struct OffboardingErasure {
    config: Config,
    grace_ends: PerKey<Deadline>,
}

impl Rule for OffboardingErasure {
    const ID: &'static str = "offboarding-erasure";
    const DESCRIPTION: &'static str =
        "No event touches a tenant's data after the grace period that follows its offboarding.";
    const COMMITMENT: &'static str =
        "When you leave the service, we stop processing your data within 30 days.";
    const SEVERITY: Severity = Severity::High;
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        if config.offboard_action.is_empty() {
            // The SDK puts "rule offboarding-erasure: " in front.
            return Err("config.offboard_action: must name an action".to_string());
        }
        Ok(OffboardingErasure {
            config,
            grace_ends: PerKey::default(),
        })
    }

    /// Only what the checks below look at: the host sends nothing else.
    fn reads(&self) -> Reads {
        Reads::fields(&[Field::Action, Field::Tenant, Field::DataTenant])
    }

    fn observe(&mut self, event: &Event<'_>, findings: &mut Findings) {
        if event.action == self.config.offboard_action {
            if let Some(tenant) = event.tenant {
                let grace_end = Deadline::days_after(event.time, self.config.grace_days);
                // A second offboarding does not restart the clock.
                self.grace_ends
                    .record_first(tenant.to_string(), grace_end, event);
            }
            return;
        }
        let Some(data) = event.data else { return };
        let Some(tenant) = data.tenant else { return };
        let Some(offboarded) = self.grace_ends.get(tenant) else {
            return;
        };
        // Exactly at the end of the grace period is still in time.
        if let Some(late) = offboarded.value.late_by(event.time) {
            findings.report(
                event,
                format!(
                    "{} touched data of tenant {tenant} {late} after its grace period ended \
                     at {}; the tenant offboarded in {}",
                    event.cite_with_action(),
                    offboarded.value,
                    offboarded.cite()
                ),
            );
        }
    }
}

export_rule!(OffboardingErasure);

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_sdk::testing::{evaluate, event, event_ids};

    const AS_OF: &str = "2026-06-01T00:00:00Z";

    #[test]
    fn touching_data_after_the_grace_period_is_a_finding() {
        let events = [
            event("leave", "2026-01-01T00:00:00Z", "offboard").tenant("a"),
            event("last-second", "2026-01-31T00:00:00Z", "access").data("d1", "a"),
            event("too-late", "2026-01-31T00:00:01Z", "access").data("d1", "a"),
            event("stayed", "2026-03-01T00:00:00Z", "access").data("d2", "b"),
        ];
        let findings = evaluate::<OffboardingErasure>("{}", &events, AS_OF).unwrap();
        assert_eq!(event_ids(&findings), ["too-late"]);
        assert_eq!(
            findings[0].message,
            "event too-late (access at 2026-01-31T00:00:01Z) touched data of tenant a 1s after \
             its grace period ended at 2026-01-31T00:00:00Z; the tenant offboarded in event \
             leave at 2026-01-01T00:00:00Z"
        );
    }

    #[test]
    fn the_policy_sets_the_grace_period_and_a_typo_is_an_error() {
        let events = [
            event("leave", "2026-01-01T00:00:00Z", "offboard").tenant("a"),
            event("next-week", "2026-01-08T00:00:00Z", "access").data("d1", "a"),
        ];
        let findings = evaluate::<OffboardingErasure>(r#"{"grace_days": 7}"#, &events, AS_OF);
        assert!(findings.unwrap().is_empty());
        let findings = evaluate::<OffboardingErasure>(r#"{"grace_days": 6}"#, &events, AS_OF);
        assert_eq!(event_ids(&findings.unwrap()), ["next-week"]);

        let typo = evaluate::<OffboardingErasure>(r#"{"grace_day": 7}"#, &events, AS_OF);
        assert_eq!(
            typo.unwrap_err(),
            "rule offboarding-erasure: config.grace_day: unknown field `grace_day`, \
             expected `grace_days` or `offboard_action`"
        );
        let empty = evaluate::<OffboardingErasure>(r#"{"offboard_action": ""}"#, &events, AS_OF);
        assert_eq!(
            empty.unwrap_err(),
            "rule offboarding-erasure: config.offboard_action: must name an action"
        );
    }
}
