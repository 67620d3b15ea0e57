//! `collection-opt-out`: once a subscription turns data collection off, its
//! machines' data is no longer collected (VM disk snapshots and artifacts
//! excepted), and collection cannot be turned off while a paid plan needs it.

use covenant_sdk::defender::PlanSetting;
use covenant_sdk::{Event, Field, Findings, Reads, Rule, Settings, Severity, export_rule};
use serde::{Deserialize, Serialize};

/// Configuration from the policy's `[rule.config]` table.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The `config-change` setting that switches collection.
    pub collection_setting: String,
    /// How to tell whether the subscription has a paid plan.
    pub plan: PlanSetting,
    /// Values of either setting that mean "off".
    pub off_values: Vec<String>,
    /// Data categories still collected after collection is turned off.
    pub exempt_categories: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            collection_setting: "data-collection".to_string(),
            plan: PlanSetting::default(),
            off_values: vec!["off".to_string()],
            exempt_categories: vec!["vm-disk-snapshot".to_string(), "artifact".to_string()],
        }
    }
}

impl Config {
    /// Whether a setting's value means "off" (compared without regard to
    /// ASCII case).
    fn is_off(&self, value: &str) -> bool {
        self.off_values
            .iter()
            .any(|v| v.eq_ignore_ascii_case(value))
    }
}

/// The rule's state: the settings in effect per subscription.
#[derive(Serialize, Deserialize)]
pub struct CollectionOptOut {
    config: Config,
    settings: Settings,
}

impl Rule for CollectionOptOut {
    const ID: &'static str = "collection-opt-out";
    const DESCRIPTION: &'static str = "After a subscription turns data collection off, no more data is collected from \
         its machines except VM disk snapshots and artifacts; and collection is never turned off on a \
         subscription with a paid plan.";
    const COMMITMENT: &'static str = "If you aren't using Microsoft Defender for Cloud's enhanced security features, \
         you can also disable data collection from virtual machines in the Security Policy. Data Collection is \
         required for subscriptions that are protected by enhanced security features. VM disk snapshots and \
         artifact collection will still be enabled even if data collection has been disabled.";
    const SEVERITY: Severity = Severity::Medium;
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        Ok(CollectionOptOut {
            config,
            settings: Settings::default(),
        })
    }

    fn reads(&self) -> Reads {
        Reads::fields(&[Field::DataCategory])
            .actions(["config-change", "collect"])
            .attributes(Settings::ATTRIBUTES)
    }

    fn observe(&mut self, event: &Event<'_>, findings: &mut Findings) {
        let config = &self.config;
        if let Some((subscription, setting, change)) = self.settings.observe(event) {
            if setting == config.collection_setting
                && config.is_off(&change.value)
                && let Some(plan) = config.plan.paid_plan(&self.settings, &subscription)
            {
                findings.report(event,
                    format!(
                        "{} turned data collection off on subscription {subscription}, which has the \
                         paid plan `{}` (set by {}) that requires collection",
                        event.cite(),
                        plan.value,
                        plan.cite()
                    ),
                );
            }
            return;
        }
        if event.action != "collect" {
            return;
        }
        let Some(subscription) = event.subscription() else {
            return;
        };
        let category = event.data.and_then(|d| d.category);
        if category.is_some_and(|c| config.exempt_categories.iter().any(|e| e == c)) {
            return;
        }
        let Some(off) = self.settings.get(subscription, &config.collection_setting) else {
            return;
        };
        if config.is_off(&off.value) {
            findings.report(event,
                format!(
                    "{} collected {} data from subscription {subscription} after event {} turned data \
                     collection off at {}",
                    event.cite(),
                    category.unwrap_or("uncategorised"),
                    off.event_id,
                    off.time
                ),
            );
        }
    }
}

export_rule!(CollectionOptOut);

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_sdk::testing::{TestEvent, evaluate, event, event_ids};

    fn set(id: &str, time: &str, sub: &str, setting: &str, value: &str) -> TestEvent {
        event(id, time, "config-change")
            .extra("subscription", sub)
            .extra("setting", setting)
            .extra("value", value)
    }

    fn collect(id: &str, time: &str, sub: &str, category: &str) -> TestEvent {
        event(id, time, "collect")
            .extra("subscription", sub)
            .data(id, "a")
            .category(category)
    }

    fn flagged(events: &[TestEvent]) -> Vec<String> {
        let findings = evaluate::<CollectionOptOut>("{}", events, "2026-02-01T00:00:00Z").unwrap();
        event_ids(&findings).into_iter().map(String::from).collect()
    }

    #[test]
    fn collection_after_opt_out_is_a_finding_except_snapshots_and_artifacts() {
        let events = [
            collect("before", "2026-01-01T00:00:00Z", "s1", "event-log"),
            set(
                "off",
                "2026-01-02T00:00:00Z",
                "s1",
                "data-collection",
                "off",
            ),
            collect("after", "2026-01-03T00:00:00Z", "s1", "event-log"),
            collect("snapshot", "2026-01-03T00:00:00Z", "s1", "vm-disk-snapshot"),
            collect("artifact", "2026-01-03T00:00:00Z", "s1", "artifact"),
            collect("other-sub", "2026-01-03T00:00:00Z", "s2", "event-log"),
            set("on", "2026-01-04T00:00:00Z", "s1", "data-collection", "on"),
            collect("back-on", "2026-01-05T00:00:00Z", "s1", "event-log"),
        ];
        assert_eq!(flagged(&events), ["after"]);
    }

    #[test]
    fn unknown_config_field_is_rejected() {
        let err = evaluate::<CollectionOptOut>(r#"{"off_value": []}"#, &[], "2026-01-01T00:00:00Z")
            .unwrap_err();
        assert!(
            err.starts_with("rule collection-opt-out: config.off_value: unknown field `off_value`"),
            "{err}"
        );
    }

    #[test]
    fn turning_collection_off_under_a_paid_plan_is_a_finding() {
        let events = [
            set(
                "plan",
                "2026-01-01T00:00:00Z",
                "s1",
                "defender-plan",
                "standard",
            ),
            set(
                "off-paid",
                "2026-01-02T00:00:00Z",
                "s1",
                "data-collection",
                "off",
            ),
            set(
                "free",
                "2026-01-03T00:00:00Z",
                "s2",
                "defender-plan",
                "free",
            ),
            set(
                "off-free",
                "2026-01-04T00:00:00Z",
                "s2",
                "data-collection",
                "off",
            ),
        ];
        assert_eq!(flagged(&events), ["off-paid"]);
    }
}
