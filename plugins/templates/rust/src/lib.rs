//! `{{id}}`: a Covenant rule.
//!
//! This skeleton flags every `share` of customer data with a partner that
//! the configuration does not allow. Replace the check with your own; keep
//! the shape: configuration in, one call per event, findings out.

use covenant_sdk::{Event, Field, Findings, Reads, Rule, Severity, export_rule};
use serde::{Deserialize, Serialize};

/// The rule's `config` table from the policy. Unknown keys are refused, so
/// a typo in a policy is an error rather than a silently ignored setting.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Partner ids that may receive shared customer data.
    pub allowed_partners: Vec<String>,
}

/// The rule's state while events stream past; here, only its configuration.
/// It is what a continuous audit carries from one run to the next, so it is
/// `Serialize` and `Deserialize`, and so is everything it holds.
#[derive(Serialize, Deserialize)]
pub struct {{type}} {
    config: Config,
}

impl Rule for {{type}} {
    const ID: &'static str = "{{id}}";
    const DESCRIPTION: &'static str =
        "No customer data is shared with a partner the configuration does not allow.";
    const COMMITMENT: &'static str = "We do not share your data with third parties.";
    const SEVERITY: Severity = Severity::High;
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        Ok({{type}} { config })
    }

    /// What the check below looks at: the host sends the rule nothing else
    /// (the event's id, time and action always come). A field left out
    /// reads as absent, and the tests below would catch it.
    fn reads(&self) -> Reads {
        Reads::fields(&[Field::ActorKind, Field::ActorId]).actions(["share"])
    }

    fn observe(&mut self, event: &Event<'_>, findings: &mut Findings) {
        let Some(actor) = event.actor else { return };
        if event.data.is_none() || actor.kind != "partner" {
            return;
        }
        let partner = actor.id.unwrap_or("(no id)");
        if !self.config.allowed_partners.iter().any(|p| p == partner) {
            findings.report(
                event,
                format!(
                    "event {} shares customer data with partner {partner}, which is not allowed",
                    event.id
                ),
            );
        }
    }
}

export_rule!({{type}});

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_sdk::testing::{evaluate, event, event_ids};

    #[test]
    fn flags_sharing_with_a_partner_not_allowed() {
        let share = |id, partner| {
            event(id, "2026-03-01T00:00:00Z", "share")
                .actor("partner", partner)
                .data("d-1", "tenant-a")
        };
        let findings = evaluate::<{{type}}>(
            r#"{"allowed_partners": ["auditor"]}"#,
            &[share("e1", "adnet"), share("e2", "auditor")],
            "2026-03-02T00:00:00Z",
        )
        .unwrap();
        assert_eq!(event_ids(&findings), ["e1"]);
    }

    #[test]
    fn a_misspelt_setting_is_refused() {
        let result = evaluate::<{{type}}>(r#"{"allowed_partner": []}"#, &[], "2026-03-02T00:00:00Z");
        assert!(result.is_err());
    }
}
