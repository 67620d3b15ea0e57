//! `xdr-sharing`: data goes to Microsoft Defender XDR only from a
//! subscription with a paid Defender plan in effect.

use covenant_sdk::defender::PlanSetting;
use covenant_sdk::{Event, Findings, Reads, Rule, Settings, Severity, Terms, export_rule};
use serde::{Deserialize, Serialize};

/// Configuration from the policy's `[rule.config]` table.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// How to tell whether the subscription has a paid plan.
    pub plan: PlanSetting,
    /// The `destination` attribute values of a `share` that mean XDR.
    pub xdr_destinations: Terms,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            plan: PlanSetting::default(),
            xdr_destinations: Terms::new(["defender-xdr"]),
        }
    }
}

/// The rule's state: the settings in effect per subscription.
#[derive(Serialize, Deserialize)]
pub struct XdrSharing {
    config: Config,
    settings: Settings,
}

impl Rule for XdrSharing {
    const ID: &'static str = "xdr-sharing";
    const DESCRIPTION: &'static str = "Every share to Microsoft Defender XDR comes from a subscription with a paid \
         Defender plan in effect at that moment.";
    const COMMITMENT: &'static str = "When you enable any of Defender for Cloud's paid plans you automatically gain \
         all of the benefits of Microsoft Defender XDR. Information from Defender for Cloud will be shared with \
         Microsoft Defender XDR.";
    const SEVERITY: Severity = Severity::Medium;
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        Ok(XdrSharing {
            config,
            settings: Settings::default(),
        })
    }

    /// Plan changes and shares; nothing of the data shared.
    fn reads(&self) -> Reads {
        Reads::fields(&[])
            .actions(["config-change", "share"])
            .attributes(Settings::ATTRIBUTES)
            .attributes(["destination"])
    }

    fn observe(&mut self, event: &Event<'_>, findings: &mut Findings) {
        self.settings.observe(event);
        let to_xdr = event
            .attribute("destination")
            .is_some_and(|d| self.config.xdr_destinations.contains(d));
        if event.action != "share" || !to_xdr {
            return;
        }
        // Messages are written only for findings: most shares are covered.
        let at = || format!("{} shared data with Defender XDR", event.cite());
        let Some(subscription) = event.subscription() else {
            findings.report(
                event,
                format!(
                    "{} from no subscription, so no paid plan can cover it",
                    at()
                ),
            );
            return;
        };
        if self
            .config
            .plan
            .paid_plan(&self.settings, subscription)
            .is_some()
        {
            return;
        }
        let plan = match self.settings.get(subscription, &self.config.plan.setting) {
            Some(change) => format!("its plan is `{}` since {}", change.value, change.cite()),
            None => "no plan was ever enabled".to_string(),
        };
        findings.report(
            event,
            format!(
                "{} from subscription {subscription}, which has no paid plan: {plan}",
                at()
            ),
        );
    }
}

export_rule!(XdrSharing);

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_sdk::testing::{TestEvent, evaluate, event, event_ids};

    fn plan(id: &str, time: &str, sub: &str, value: &str) -> TestEvent {
        event(id, time, "config-change")
            .extra("subscription", sub)
            .extra("setting", "defender-plan")
            .extra("value", value)
    }

    fn share(id: &str, time: &str, sub: &str) -> TestEvent {
        event(id, time, "share")
            .extra("subscription", sub)
            .extra("destination", "defender-xdr")
            .data(id, "a")
    }

    #[test]
    fn unknown_config_field_is_rejected() {
        let err = evaluate::<XdrSharing>(r#"{"destinations": []}"#, &[], "2026-01-01T00:00:00Z")
            .unwrap_err();
        assert!(
            err.starts_with("rule xdr-sharing: config.destinations: unknown field `destinations`"),
            "{err}"
        );
    }

    #[test]
    fn sharing_needs_a_paid_plan_in_effect() {
        let events = [
            share("before-plan", "2026-01-01T00:00:00Z", "s1"),
            plan("paid", "2026-01-02T00:00:00Z", "s1", "standard"),
            share("with-plan", "2026-01-03T00:00:00Z", "s1"),
            plan("downgrade", "2026-01-04T00:00:00Z", "s1", "free"),
            share("after-downgrade", "2026-01-05T00:00:00Z", "s1"),
            event("elsewhere", "2026-01-05T00:00:00Z", "share")
                .extra("subscription", "s1")
                .extra("destination", "sentinel"),
            event("no-sub", "2026-01-05T00:00:00Z", "share").extra("destination", "defender-xdr"),
        ];
        let findings = evaluate::<XdrSharing>("{}", &events, "2026-02-01T00:00:00Z").unwrap();
        assert_eq!(
            event_ids(&findings),
            ["before-plan", "after-downgrade", "no-sub"]
        );
    }
}
