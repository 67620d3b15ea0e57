//! `collection-opt-out`: once a subscription turns data collection off, its
//! machines' data is no longer collected (VM disk snapshots and artifacts
//! excepted), and collection is never off while a paid plan needs it:
//! neither turned off under a paid plan, nor left off when one is enabled.
//!
//! The document's section is "Manage data collection from machines", and
//! what may be disabled is "data collection from virtual machines": data of
//! other kinds (security alerts, network metadata, service configuration)
//! comes from other sources, and collecting it after the opt-out is not a
//! breach. Data with no category cannot be told apart, so the rule says it
//! cannot assess the subscription rather than guess.

use covenant_sdk::defender::{self, PlanSetting};
use covenant_sdk::{
    Event, Field, Findings, PerKey, Reads, Recorded, Rule, Settings, Severity, Terms, Timestamp,
    export_rule,
};
use serde::{Deserialize, Serialize};

/// Configuration from the policy's `[rule.config]` table.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The `config-change` setting that switches collection.
    pub collection_setting: String,
    /// How to tell whether the subscription has a paid plan.
    pub plan: PlanSetting,
    /// Values of the collection setting that mean "off".
    pub off_values: Terms,
    /// Categories of data that come from machines: what the opt-out
    /// stops. The same list as data-residency's `machine_categories`.
    pub machine_categories: Terms,
    /// Machine data still collected after collection is turned off.
    pub exempt_categories: Terms,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            collection_setting: "data-collection".to_string(),
            plan: PlanSetting::default(),
            off_values: Terms::new(["off"]),
            machine_categories: defender::machine_categories(),
            exempt_categories: Terms::new(["vm-disk-snapshot", "artifact"]),
        }
    }
}

impl Config {
    /// The change that turned `subscription`'s collection off, if it is off.
    fn collection_off<'s>(
        &self,
        settings: &'s Settings,
        subscription: &str,
    ) -> Option<&'s Recorded<String>> {
        (settings.get(subscription, &self.collection_setting))
            .filter(|change| self.off_values.contains(&change.value))
    }
}

/// The rule's state: the settings in effect per subscription, and per
/// subscription whose collection is off the first collect of data with no
/// category since, which the log cannot judge.
#[derive(Serialize, Deserialize)]
pub struct CollectionOptOut {
    config: Config,
    settings: Settings,
    uncategorised: PerKey<()>,
}

impl Rule for CollectionOptOut {
    const ID: &'static str = "collection-opt-out";
    const DESCRIPTION: &'static str = "After a subscription turns data collection off, no more data is collected from \
         its machines except VM disk snapshots and artifacts; and collection is never off while the \
         subscription has a paid plan, whether turned off under one or left off when one is enabled.";
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
            uncategorised: PerKey::default(),
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
            if setting == config.collection_setting && config.off_values.contains(&change.value) {
                if let Some(plan) = config.plan.paid_plan(&self.settings, &subscription) {
                    findings.report(
                        event,
                        format!(
                            "{} turned data collection off on subscription {subscription}, which has \
                             the paid plan `{}` (set by {}) that requires collection",
                            event.cite(),
                            plan.value,
                            plan.cite()
                        ),
                    );
                }
            } else if setting == config.plan.setting
                && config
                    .plan
                    .paid_plan(&self.settings, &subscription)
                    .is_some()
                && let Some(off) = config.collection_off(&self.settings, &subscription)
            {
                findings.report(
                    event,
                    format!(
                        "{} enabled the paid plan `{}` on subscription {subscription}, which requires \
                         data collection, but collection has been off since {}",
                        event.cite(),
                        change.value,
                        off.cite()
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
        let Some(off) = config.collection_off(&self.settings, subscription) else {
            return;
        };
        match event.data.and_then(|d| d.category) {
            Some(category)
                if config.machine_categories.contains(category)
                    && !config.exempt_categories.contains(category) =>
            {
                findings.report(
                    event,
                    format!(
                        "{} collected {category} data from the machines of subscription \
                         {subscription} after {} turned data collection off",
                        event.cite(),
                        off.cite()
                    ),
                );
            }
            Some(_) => {}
            None => {
                self.uncategorised
                    .record_first(subscription.to_string(), (), event);
            }
        }
    }

    fn finish(&mut self, _as_of: Timestamp, findings: &mut Findings) {
        for (subscription, first) in self.uncategorised.iter() {
            findings.cannot_assess(
                subscription.as_str(),
                format!(
                    "data with no category was collected after data collection was turned off \
                     (first in {}): whether it came from the subscription's machines, which the \
                     opt-out covers, the log does not say",
                    first.cite()
                ),
            );
        }
    }
}

export_rule!(CollectionOptOut);

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_sdk::testing::{TestEvent, conclude, evaluate, event, event_ids};

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
    fn only_machine_data_counts_and_uncategorised_data_cannot_be_assessed() {
        let events = [
            set(
                "off",
                "2026-01-02T00:00:00Z",
                "s1",
                "data-collection",
                "Off",
            ),
            collect("alerts", "2026-01-03T00:00:00Z", "s1", "security-alert"),
            collect("network", "2026-01-03T00:00:01Z", "s1", "network-metadata"),
            collect("process", "2026-01-03T00:00:02Z", "s1", "Process-Event"),
            event("unknown", "2026-01-03T00:00:03Z", "collect")
                .extra("subscription", "s1")
                .data("u", "a"),
        ];
        let outcome = conclude::<CollectionOptOut>("{}", &events, "2026-02-01T00:00:00Z").unwrap();
        assert_eq!(event_ids(&outcome.findings), ["process"]);
        assert_eq!(outcome.unassessable.len(), 1);
        assert_eq!(outcome.unassessable[0].subject, "s1");
        assert!(
            outcome.unassessable[0]
                .reason
                .contains("(first in event unknown at"),
            "{}",
            outcome.unassessable[0].reason
        );
    }

    #[test]
    fn enabling_a_paid_plan_while_collection_is_off_is_a_finding() {
        let events = [
            set(
                "off",
                "2026-01-02T00:00:00Z",
                "s1",
                "data-collection",
                "off",
            ),
            set(
                "free",
                "2026-01-03T00:00:00Z",
                "s1",
                "defender-plan",
                "free",
            ),
            set(
                "paid",
                "2026-01-04T00:00:00Z",
                "s1",
                "defender-plan",
                "standard",
            ),
            set("on", "2026-01-05T00:00:00Z", "s2", "data-collection", "on"),
            set(
                "paid-on",
                "2026-01-06T00:00:00Z",
                "s2",
                "defender-plan",
                "standard",
            ),
        ];
        assert_eq!(flagged(&events), ["paid"]);
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
