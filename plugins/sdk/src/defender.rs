//! Microsoft Defender for Cloud's plans, which several of its commitments
//! turn on: a paid plan brings data sharing with Defender XDR, requires
//! data collection, and keeps Resource Graph data.
//!
//! The plan is one more setting that `config-change` events record, so
//! [`Settings`] tracks it with the rest; this module says which setting it
//! is and which of its values are not a paid plan, so that every rule that
//! depends on the plan reads it the same way.

use serde::{Deserialize, Serialize};

use crate::{Recorded, Settings, Terms};

/// Which `config-change` setting names a subscription's Defender plan, and
/// which of its values are not a paid plan. Rules that depend on the plan
/// take it as their `plan` configuration table, so that every such rule
/// reads the plan the same way and a policy configures it the same way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlanSetting {
    /// The `config-change` setting that records the plan.
    pub setting: String,
    /// Values that mean no paid plan (the case rule: [`Terms`]).
    pub free: Terms,
}

impl Default for PlanSetting {
    fn default() -> Self {
        PlanSetting {
            setting: "defender-plan".to_string(),
            free: Terms::new(["free", "off"]),
        }
    }
}

/// The data categories that come from a subscription's machines (virtual
/// machines and servers): what "data collected from your machines" means
/// to every rule that checks it (collection-opt-out, data-residency), so
/// that they agree unless a policy configures them apart.
pub fn machine_categories() -> Terms {
    Terms::new(["event-log", "process-event", "config"])
}

impl PlanSetting {
    /// The change that put `subscription` on a paid plan, if one is in
    /// effect in `settings`: the plan setting's value is not one of
    /// [`PlanSetting::free`] (compared without regard to ASCII case). A
    /// subscription that never set its plan has none.
    pub fn paid_plan<'s>(
        &self,
        settings: &'s Settings,
        subscription: &str,
    ) -> Option<&'s Recorded<String>> {
        (settings.get(subscription, &self.setting))
            .filter(|change| !self.free.contains(&change.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{TestEvent, event, with_events};

    fn plan(id: &str, sub: &str, setting: &str, value: &str) -> TestEvent {
        event(id, "2026-01-01T00:00:00Z", "config-change")
            .extra("subscription", sub)
            .extra("setting", setting)
            .extra("value", value)
    }

    /// The settings `events` record.
    fn settings(events: &[TestEvent]) -> Settings {
        let mut settings = Settings::default();
        let reads = crate::Reads::everything().attributes(Settings::ATTRIBUTES);
        with_events(events, &reads, |e| {
            settings.observe(e);
        });
        settings
    }

    #[test]
    fn a_plan_not_listed_as_free_is_paid_whatever_its_case() {
        let settings = settings(&[
            plan("p1", "s1", "defender-plan", "standard"),
            plan("p2", "s2", "defender-plan", "Free"),
            plan("p3", "s3", "defender-plan", "OFF"),
            plan("p4", "s4", "data-collection", "on"),
        ]);
        let plan = PlanSetting::default();
        assert_eq!(plan.paid_plan(&settings, "s1").unwrap().event_id, "p1");
        for unpaid in ["s2", "s3", "s4", "never-seen"] {
            assert!(plan.paid_plan(&settings, unpaid).is_none(), "{unpaid}");
        }
    }

    #[test]
    fn the_setting_and_the_free_values_come_from_the_configuration() {
        let settings = settings(&[
            plan("p1", "s1", "tier", "basic"),
            plan("p2", "s2", "tier", "premium"),
        ]);
        let plan: PlanSetting =
            serde_json::from_str(r#"{"setting": "tier", "free": ["basic"]}"#).unwrap();
        assert!(plan.paid_plan(&settings, "s1").is_none());
        assert_eq!(plan.paid_plan(&settings, "s2").unwrap().value, "premium");
        assert!(serde_json::from_str::<PlanSetting>(r#"{"settings": "tier"}"#).is_err());
    }
}
