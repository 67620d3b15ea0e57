//! `resource-graph-inactivity`: with no Defender plan enabled, a
//! subscription's data leaves Azure Resource Graph after 30 days without
//! activity in the Defender for Cloud portal.
//!
//! The inactivity clock runs from the later of the subscription's latest
//! portal event and the end of its latest paid plan (while a plan is paid,
//! nothing is promised, so serving data is never a finding). Serving its
//! data from Resource Graph more than 30 days after that is a finding;
//! exactly 30 days is not. A subscription whose data is served with no
//! paid plan and no clock start in the log is not judged on a guess: its
//! last interaction is before the log, so the rule says it cannot assess
//! it. The document's 24-hour allowance is for data to reappear after an
//! interaction: it only ever makes serving data compliant, and serving
//! within 30 days of an interaction already is.

use covenant_sdk::defender::PlanSetting;
use covenant_sdk::{
    Deadline, Event, Field, Findings, PerKey, Reads, Rule, Settings, Severity, export_rule,
    same_term,
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

/// What started a subscription's inactivity clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum ClockStart {
    /// An interaction in the portal.
    Portal,
    /// The end of a paid plan, which kept the data until then.
    PlanEnded,
}

/// The rule's state: its settings; per subscription the event its
/// inactivity clock runs from (the later of its latest portal event and
/// the end of its latest paid plan); and per subscription served before
/// any such event, the first serve, which the log cannot judge.
#[derive(Serialize, Deserialize)]
pub struct ResourceGraphInactivity {
    config: Config,
    settings: Settings,
    clock: PerKey<ClockStart>,
    unjudged: PerKey<()>,
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
            clock: PerKey::default(),
            unjudged: PerKey::default(),
        })
    }

    /// Every action: a plan change, a portal event or a serve of any
    /// subscription.
    fn reads(&self) -> Reads {
        Reads::fields(&[Field::Layer, Field::DataStore]).attributes(Settings::ATTRIBUTES)
    }

    fn observe(&mut self, event: &Event<'_>, findings: &mut Findings) {
        let Some(subscription) = event.subscription() else {
            self.settings.observe(event);
            return;
        };
        let plan = &self.config.plan;
        let was_paid = plan.paid_plan(&self.settings, subscription).is_some();
        self.settings.observe(event);
        let paid = plan.paid_plan(&self.settings, subscription).is_some();
        if was_paid && !paid {
            self.clock
                .record(subscription.to_string(), ClockStart::PlanEnded, event);
        }
        let served = event.action == "access"
            && (event.data)
                .is_some_and(|d| d.store.is_some_and(|s| same_term(s, &self.config.store)));
        if served && !paid {
            match self.clock.get(subscription) {
                Some(start) => {
                    if let Some(late) =
                        Deadline::days_after(start.time, self.config.inactivity_days)
                            .late_by(event.time)
                    {
                        let since = match start.value {
                            ClockStart::Portal => "its last portal activity was",
                            ClockStart::PlanEnded => {
                                "its paid plan ended, with no portal activity since, in"
                            }
                        };
                        findings.report(
                            event,
                            format!(
                                "{} served data of subscription {subscription} from Resource Graph \
                                 {late} after the {}-day inactivity limit; {since} {}",
                                event.cite(),
                                self.config.inactivity_days,
                                start.cite()
                            ),
                        );
                    }
                }
                None => {
                    self.unjudged
                        .record_first(subscription.to_string(), (), event);
                }
            }
        }
        if (event.layer).is_some_and(|layer| same_term(layer, &self.config.portal_layer)) {
            self.clock
                .record(subscription.to_string(), ClockStart::Portal, event);
        }
    }

    fn finish(&mut self, _as_of: covenant_sdk::Timestamp, findings: &mut Findings) {
        for (subscription, first) in self.unjudged.iter() {
            findings.cannot_assess(
                subscription.as_str(),
                format!(
                    "its data was served from Resource Graph with no paid plan (first in {}) before \
                     the log shows any interaction in the Defender for Cloud portal or a paid plan \
                     ending: its inactivity clock started before the log, so whether those serves \
                     came within {} days of its last interaction needs the log from before them",
                    first.cite(),
                    self.config.inactivity_days
                ),
            );
        }
    }
}

export_rule!(ResourceGraphInactivity);

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_sdk::testing::{
        TestEvent, conclude, evaluate, evaluate_resumed, event, event_ids,
    };

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
    fn without_a_portal_visit_or_a_plan_ending_in_the_log_it_cannot_assess() {
        let events = [
            served("first", "2026-01-01T00:00:00Z"),
            served("later", "2026-02-15T00:00:00Z"),
            portal("visit", "2026-02-16T00:00:00Z"),
            served("late", "2026-03-20T00:00:00Z"),
        ];
        let outcome =
            conclude::<ResourceGraphInactivity>("{}", &events, "2026-06-01T00:00:00Z").unwrap();
        assert_eq!(event_ids(&outcome.findings), ["late"]);
        assert_eq!(outcome.unassessable.len(), 1);
        let unassessable = &outcome.unassessable[0];
        assert_eq!(unassessable.subject, "s1");
        assert!(
            unassessable
                .reason
                .contains("(first in event first at 2026-01-01T00:00:00Z)"),
            "{}",
            unassessable.reason
        );
    }

    fn plan(id: &str, time: &str, value: &str) -> TestEvent {
        event(id, time, "config-change")
            .extra("subscription", "s1")
            .extra("setting", "defender-plan")
            .extra("value", value)
    }

    #[test]
    fn the_clock_runs_from_the_end_of_a_paid_plan_when_that_is_later() {
        let events = [
            portal("visit", "2026-01-01T00:00:00Z"),
            plan("paid", "2026-01-05T00:00:00Z", "standard"),
            served("while-paid", "2026-03-01T00:00:00Z"),
            plan("ended", "2026-03-10T00:00:00Z", "free"),
            served("within", "2026-04-09T00:00:00Z"),
            served("past", "2026-04-09T00:00:01Z"),
        ];
        let outcome =
            conclude::<ResourceGraphInactivity>("{}", &events, "2026-06-01T00:00:00Z").unwrap();
        assert_eq!(event_ids(&outcome.findings), ["past"]);
        assert!(
            outcome.findings[0]
                .message
                .contains("its paid plan ended, with no portal activity since, in event ended"),
            "{}",
            outcome.findings[0].message
        );
        assert!(outcome.unassessable.is_empty());
    }

    #[test]
    fn a_plan_ending_with_no_visit_in_the_log_starts_the_clock() {
        let events = [
            plan("paid", "2026-01-01T00:00:00Z", "standard"),
            plan("ended", "2026-01-02T00:00:00Z", "off"),
            served("past", "2026-02-15T00:00:00Z"),
        ];
        let outcome =
            conclude::<ResourceGraphInactivity>("{}", &events, "2026-06-01T00:00:00Z").unwrap();
        assert_eq!(event_ids(&outcome.findings), ["past"]);
        assert!(outcome.unassessable.is_empty());
    }

    #[test]
    fn what_it_cannot_assess_carries_over_a_resumed_run() {
        let events = [
            served("first", "2026-01-01T00:00:00Z"),
            portal("visit", "2026-01-02T00:00:00Z"),
            served("late", "2026-03-20T00:00:00Z"),
        ];
        let as_of = "2026-06-01T00:00:00Z";
        let whole = conclude::<ResourceGraphInactivity>("{}", &events, as_of).unwrap();
        assert_eq!(whole.unassessable.len(), 1);
        for cut in 0..=events.len() {
            let resumed =
                evaluate_resumed::<ResourceGraphInactivity>("{}", &events, cut, as_of).unwrap();
            assert_eq!(resumed, whole, "cut before event {cut}");
        }
    }
}
