//! `data-residency`: data collected from machines is stored in the
//! workspace region the customer chose for the subscription, or, with no
//! choice made, in a workspace in China (the document's stated default).

use covenant_sdk::defender;
use covenant_sdk::{
    Event, Field, Findings, Reads, Rule, Settings, Severity, Terms, export_rule, same_term,
};
use serde::{Deserialize, Serialize};

/// Configuration from the policy's `[rule.config]` table.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The `config-change` setting that records the chosen region.
    pub region_setting: String,
    /// Where data may be stored when no region was chosen.
    pub default_regions: Terms,
    /// Categories of data that come from machines.
    pub machine_categories: Terms,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            region_setting: "workspace-region".to_string(),
            default_regions: Terms::new([
                "chinaeast",
                "chinaeast2",
                "chinaeast3",
                "chinanorth",
                "chinanorth2",
                "chinanorth3",
            ]),
            machine_categories: defender::machine_categories(),
        }
    }
}

/// The rule's state: the settings in effect per subscription.
#[derive(Serialize, Deserialize)]
pub struct DataResidency {
    config: Config,
    settings: Settings,
}

impl Rule for DataResidency {
    const ID: &'static str = "data-residency";
    const DESCRIPTION: &'static str = "Every store of machine data happens in the region chosen for the \
         subscription's workspace, or in a China region when none was chosen; a store that records no region \
         cannot be shown to comply.";
    const COMMITMENT: &'static str = "You can specify the workspace and region where data collected from your \
         machines is stored. The default is to store data collected from your machines in the nearest workspace \
         in China.";
    const SEVERITY: Severity = Severity::High;
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        if config.default_regions.is_empty() {
            return Err("config.default_regions: must name at least one region".to_string());
        }
        Ok(DataResidency {
            config,
            settings: Settings::default(),
        })
    }

    fn reads(&self) -> Reads {
        Reads::fields(&[Field::Region, Field::DataId, Field::DataCategory])
            .actions(["config-change", "store"])
            .attributes(Settings::ATTRIBUTES)
    }

    fn observe(&mut self, event: &Event<'_>, findings: &mut Findings) {
        self.settings.observe(event);
        let Some(data) = event.data else { return };
        let from_machine =
            (data.category).is_some_and(|c| self.config.machine_categories.contains(c));
        if event.action != "store" || !from_machine {
            return;
        }
        let Some(subscription) = event.subscription() else {
            return;
        };
        let chosen = self.settings.get(subscription, &self.config.region_setting);
        let allowed = |region: &str| match chosen {
            Some(change) => same_term(&change.value, region),
            None => self.config.default_regions.contains(region),
        };
        // Messages are written only for findings: most stores are in place.
        if event.region.is_some_and(allowed) {
            return;
        }
        let at = format!(
            "{} stored {} of subscription {subscription}",
            event.cite(),
            data.name()
        );
        let why = match chosen {
            Some(change) => format!("the customer chose {} in {}", change.value, change.cite()),
            None => format!(
                "no region was chosen, so the default is China ({})",
                self.config.default_regions.join(", ")
            ),
        };
        let message = match &event.region {
            Some(region) => format!("{at} in region {region}, but {why}"),
            None => format!("{at} in no recorded region; {why}"),
        };
        findings.report(event, message);
    }
}

export_rule!(DataResidency);

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_sdk::testing::{TestEvent, evaluate, event, event_ids};

    fn store(id: &str, time: &str, region: Option<&str>) -> TestEvent {
        let e = event(id, time, "store")
            .extra("subscription", "s1")
            .data(id, "a")
            .category("event-log");
        match region {
            Some(r) => e.region(r),
            None => e,
        }
    }

    #[test]
    fn config_errors_name_the_key() {
        let err = |config: &str| {
            evaluate::<DataResidency>(config, &[], "2026-01-01T00:00:00Z").unwrap_err()
        };
        assert_eq!(
            err(r#"{"default_regions": []}"#),
            "rule data-residency: config.default_regions: must name at least one region"
        );
        assert!(
            err(r#"{"default_region": []}"#)
                .starts_with("rule data-residency: config.default_region: unknown field"),
            "{}",
            err(r#"{"default_region": []}"#)
        );
    }

    #[test]
    fn stores_follow_the_chosen_region_or_the_default() {
        let choose = event("choose", "2026-01-02T00:00:00Z", "config-change")
            .extra("subscription", "s1")
            .extra("setting", "workspace-region")
            .extra("value", "westeurope");
        let events = [
            store("default-ok", "2026-01-01T00:00:00Z", Some("chinanorth")),
            store("default-bad", "2026-01-01T00:00:01Z", Some("westeurope")),
            choose,
            store("chosen-ok", "2026-01-03T00:00:00Z", Some("WestEurope")),
            store("chosen-bad", "2026-01-03T00:00:01Z", Some("chinanorth")),
            store("no-region", "2026-01-03T00:00:02Z", None),
            event("alert", "2026-01-03T00:00:03Z", "store")
                .extra("subscription", "s1")
                .data("x", "a")
                .category("security-alert")
                .region("mars"),
        ];
        let findings = evaluate::<DataResidency>("{}", &events, "2026-02-01T00:00:00Z").unwrap();
        assert_eq!(
            event_ids(&findings),
            ["default-bad", "chosen-bad", "no-region"]
        );
    }
}
