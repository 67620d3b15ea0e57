//! Tracking the settings that `config-change` events record, which several
//! rules depend on.
//!
//! A setting change is an event like
//! `{"action": "config-change", "subscription": "sub-1",
//!   "setting": "data-collection", "value": "off"}`: the latest value of each
//! setting per subscription is in effect until the next change.

use crate::{Event, Recorded, TextMap};

/// The settings in effect for each subscription, as `config-change` events
/// have recorded them so far.
///
/// Subscription-level commitments depend on settings (the plan, data
/// collection, the workspace region); feed every event to
/// [`Settings::observe`] and ask what is in effect when a later event needs
/// it. Each value comes with the event that set it, for the message. What
/// a setting's values mean is the rule's to say.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Settings {
    /// Per subscription, each setting's change in effect; a subscription
    /// has a handful of settings, so a list, looked up without allocating.
    current: TextMap<Vec<(String, Recorded<String>)>>,
}

impl Settings {
    /// The attributes [`Settings::observe`] reads: name them in the rule's
    /// [`Reads`](crate::Reads), with the `config-change` action.
    pub const ATTRIBUTES: [&str; 3] = ["subscription", "setting", "value"];

    /// Records the event if it is a `config-change` with a `subscription`,
    /// a `setting` and a `value`; returns the subscription, the setting and
    /// the change it recorded, for a rule that judges the change itself.
    pub fn observe(&mut self, event: &Event<'_>) -> Option<(String, String, Recorded<String>)> {
        if event.action != "config-change" {
            return None;
        }
        let subscription = event.subscription()?;
        let setting = event.attribute("setting")?;
        let change = Recorded::new(event.attribute("value")?.to_string(), event);
        let settings = self.current.entry(subscription.to_string()).or_default();
        match settings.iter_mut().find(|(name, _)| name == setting) {
            Some((_, current)) => *current = change.clone(),
            None => settings.push((setting.to_string(), change.clone())),
        }
        Some((subscription.to_string(), setting.to_string(), change))
    }

    /// The change currently in effect for `setting` on `subscription`:
    /// its value and the event that set it.
    pub fn get(&self, subscription: &str, setting: &str) -> Option<&Recorded<String>> {
        let settings = self.current.get(subscription)?;
        let (_, change) = settings.iter().find(|(name, _)| name == setting)?;
        Some(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Reads;
    use crate::testing::{event, with_events};

    #[test]
    fn the_latest_change_per_subscription_is_in_effect() {
        let mut settings = Settings::default();
        let change = |id: &str, sub: &str, value: &str| {
            event(id, "2026-01-01T00:00:00Z", "config-change")
                .extra("subscription", sub)
                .extra("setting", "data-collection")
                .extra("value", value)
        };
        let events = [
            change("c1", "s1", "off"),
            change("c2", "s2", "off"),
            change("c3", "s1", "on"),
        ];
        let reads = Reads::everything().attributes(Settings::ATTRIBUTES);
        with_events(&events, &reads, |e| {
            settings.observe(e);
        });
        assert_eq!(settings.get("s1", "data-collection").unwrap().value, "on");
        assert_eq!(
            settings.get("s2", "data-collection").unwrap().event_id,
            "c2"
        );
        assert!(settings.get("s3", "data-collection").is_none());
    }
}
