//! `resource-graph-inactivity`: with no Defender plan enabled, a
//! subscription's data leaves Azure Resource Graph after 30 days without
//! activity in the Defender for Cloud portal.
//!
//! The inactivity clock runs from the subscription's latest portal event
//! (or, before any, its first event of any kind). Serving its data from
//! Resource Graph more than 30 days after that is a finding; exactly 30
//! days is not. The document's 24-hour allowance is for data to reappear
//! after an interaction: it only ever makes serving data compliant, and
//! serving within 30 days of an interaction already is.

use covenant_sdk::defender::PlanSetting;
use covenant_sdk::{
    Deadline, Event, Field, Findings, PerKey, Reads, Rule, Settings, Severity, export_rule,
};
use serde::{Deserialize, Serialize};

/// Configuration from the policy's `[rule.config]` table.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Days without portal activity after which the data is gone.
    pub inactivity_days: u32,
    /// The `data.store` that is Azure Resource Graph.
    pub store: String,
    /// The `layer` of events that are activity in the portal.
    pub portal_layer: String,
    /// How to tell whether the subscription has a paid plan.
    pub plan: PlanSetting,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            inactivity_days: 30,
            store: "resource-graph".to_string(),
            portal_layer: "portal".to_string(),
            plan: PlanSetting::default(),
        }
    }
}

/// The rule's state: its settings, and per subscription the event its
/// inactivity clock runs from, with whether that event was in the portal
/// (its latest portal event) or not (its first event, before any portal
/// activity).
#[derive(Serialize, Deserialize)]
pub struct ResourceGraphInactivity {
    config: Config,
    settings: Settings,
    activity: PerKey<bool>,
}

impl Rule for ResourceGraphInactivity {
    const ID: &'static str = "resource-graph-inactivity";
    const DESCRIPTION: &'static str = "For a subscription with no Defender plan, Azure Resource Graph serves its data \
         only within 30 days of its last activity in the Defender for Cloud portal.";
    const COMMITMENT: &'static str = "If there are no Defender plans enabled on the subscription, data will be \
         removed from Azure Resource Graph after 30 days of inactivity in the Microsoft Defender for Cloud portal. \
         After interaction with artifacts in the portal related to the subscription, the data should be visible \
         again within 24 hours.";
    const SEVERITY: Severity = Severity::Low;
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        Ok(ResourceGraphInactivity {
            config,
            settings: Settings::default(),
            activity: PerKey::default(),
        })
    }

    /// Every action: any event of a subscription starts its clock.
    fn reads(&self) -> Reads {
        Reads::fields(&[Field::Layer, Field::DataStore]).attributes(Settings::ATTRIBUTES)
    }

    fn observe(&mut self, event: &Event<'_>, findings: &mut Findings) {
        self.settings.observe(event);
        let Some(subscription) = event.subscription() else {
            return;
        };
        let served = event.action == "access"
            && (event.data).is_some_and(|d| d.store == Some(self.config.store.as_str()));
        if served
            && self
                .config
                .plan
                .paid_plan(&self.settings, subscription)
                .is_none()
            && let Some(last) = self.activity.get(subscription)
            && let Some(late) =
                Deadline::days_after(last.time, self.config.inactivity_days).late_by(event.time)
        {
            let since = if last.value {
                "its last portal activity"
            } else {
                "its first event, with no portal activity since,"
            };
            findings.report(event,
                format!(
                    "{} served data of subscription {subscription} from Resource Graph {late} after \
                     the {}-day inactivity limit; {since} was {}",
                    event.cite(),
                    self.config.inactivity_days,
                    last.cite()
                ),
            );
        }
        if event.layer == Some(self.config.portal_layer.as_str()) {
            self.activity.record(subscription.to_string(), true, event);
        } else if self.activity.get(subscription).is_none() {
            // Looked up first: most events are of a subscription seen before.
            self.activity
                .record_first(subscription.to_string(), false, event);
        }
    }
}

export_rule!(ResourceGraphInactivity);

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_sdk::testing::{TestEvent, evaluate, event, event_ids};

    fn portal(id: &str, time: &str) -> TestEvent {
        event(id, time, "access")
            .extra("subscription", "s1")
            .layer("portal")
    }

    fn served(id: &str, time: &str) -> TestEvent {
        event(id, time, "access")
            .extra("subscription", "s1")
            .data("alerts", "a")
            .store("resource-graph")
    }

    fn flagged(events: &[TestEvent]) -> Vec<String> {
        let findings =
            evaluate::<ResourceGraphInactivity>("{}", events, "2026-06-01T00:00:00Z").unwrap();
        event_ids(&findings).into_iter().map(String::from).collect()
    }

    #[test]
    fn serving_after_30_days_of_inactivity_is_a_finding() {
        let events = [
            portal("visit", "2026-01-01T00:00:00Z"),
            served("at-limit", "2026-01-31T00:00:00Z"),
            served("past-limit", "2026-01-31T00:00:01Z"),
            portal("return", "2026-02-10T00:00:00Z"),
            served("after-return", "2026-02-10T12:00:00Z"),
        ];
        assert_eq!(flagged(&events), ["past-limit"]);
    }

    #[test]
    fn a_paid_plan_keeps_the_data() {
        let plan = event("plan", "2026-01-01T00:00:00Z", "config-change")
            .extra("subscription", "s1")
            .extra("setting", "defender-plan")
            .extra("value", "standard");
        assert!(flagged(&[plan, served("late", "2026-03-01T00:00:00Z")]).is_empty());
    }

    #[test]
    fn unknown_config_field_is_rejected() {
        let err = evaluate::<ResourceGraphInactivity>(
            r#"{"plan": {"settings": "x"}}"#,
            &[],
            "2026-01-01T00:00:00Z",
        )
        .unwrap_err();
        assert!(
            err.starts_with(
                "rule resource-graph-inactivity: config.plan.settings: unknown field `settings`"
            ),
            "{err}"
        );
    }

    #[test]
    fn without_any_portal_visit_the_clock_runs_from_the_first_event() {
        let events = [
            served("first", "2026-01-01T00:00:00Z"),
            served("later", "2026-02-15T00:00:00Z"),
        ];
        assert_eq!(flagged(&events), ["later"]);
    }
}
