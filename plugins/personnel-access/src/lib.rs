//! `personnel-access`: Microsoft personnel touch customer data only to
//! provide security recommendations and to investigate potential threats.

use covenant_sdk::{Event, Field, Findings, Reads, Rule, Severity, Terms, export_rule};
use serde::{Deserialize, Serialize};

/// Configuration from the policy's `[rule.config]` table.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Actor kinds this rule governs.
    pub actor_kinds: Terms,
    /// The purposes for which they may touch customer data.
    pub allowed_purposes: Terms,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            actor_kinds: Terms::new(["personnel"]),
            allowed_purposes: Terms::new(["security-recommendations", "threat-investigation"]),
        }
    }
}

/// The rule holds only its configuration: each event is judged alone.
#[derive(Serialize, Deserialize)]
pub struct PersonnelAccess {
    config: Config,
}

impl Rule for PersonnelAccess {
    const ID: &'static str = "personnel-access";
    const DESCRIPTION: &'static str = "Every event in which personnel touch customer data declares an allowed \
         purpose: providing security recommendations or investigating threats.";
    const COMMITMENT: &'static str = "To provide security recommendations and investigate potential security threats, \
         Microsoft personnel might access information collected or analyzed by Azure services, including \
         process creation events, AI prompts and other artifacts.";
    const SEVERITY: Severity = Severity::High;
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        Ok(PersonnelAccess { config })
    }

    fn reads(&self) -> Reads {
        Reads::fields(&[
            Field::ActorKind,
            Field::ActorId,
            Field::Purpose,
            Field::DataId,
        ])
    }

    fn observe(&mut self, event: &Event<'_>, findings: &mut Findings) {
        let (Some(data), Some(actor)) = (&event.data, &event.actor) else {
            return;
        };
        if !self.config.actor_kinds.contains(actor.kind) {
            return;
        }
        let why = match &event.purpose {
            Some(purpose) if self.config.allowed_purposes.contains(purpose) => return,
            Some(purpose) => format!("for `{purpose}`"),
            None => "for no purpose".to_string(),
        };
        let who = match actor.id {
            Some(id) => format!("{} {id}", actor.kind),
            None => format!("{} with no id", actor.kind),
        };
        findings.report(
            event,
            format!(
                "{}: {who} touched {} {why}; allowed purposes are {}",
                event.cite_with_action(),
                data.name(),
                self.config.allowed_purposes.join(", ")
            ),
        );
    }
}

export_rule!(PersonnelAccess);

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_sdk::testing::{TestEvent, evaluate, event, event_ids};

    const T: &str = "2026-01-01T00:00:00Z";

    fn flagged(events: &[TestEvent]) -> Vec<String> {
        let findings = evaluate::<PersonnelAccess>("{}", events, T).unwrap();
        event_ids(&findings).into_iter().map(String::from).collect()
    }

    #[test]
    fn allowed_purposes_pass_and_others_do_not() {
        let read = |id: &str| {
            event(id, T, "access")
                .actor("personnel", "p1")
                .data("d", "a")
        };
        let events = [
            read("ok-1").purpose("security-recommendations"),
            read("ok-2").purpose("threat-investigation"),
            read("bad-1").purpose("curiosity"),
            read("bad-2"),
        ];
        assert_eq!(flagged(&events), ["bad-1", "bad-2"]);
    }

    #[test]
    fn unknown_config_field_is_rejected() {
        let err = evaluate::<PersonnelAccess>(r#"{"allowed": []}"#, &[], T).unwrap_err();
        assert!(
            err.starts_with("rule personnel-access: config.allowed: unknown field `allowed`"),
            "{err}"
        );
    }

    #[test]
    fn other_actors_and_events_without_data_are_not_governed() {
        let events = [
            event("s", T, "access")
                .actor("service", "s")
                .data("d", "a")
                .purpose("curiosity"),
            event("p", T, "access")
                .actor("personnel", "p")
                .purpose("curiosity"),
        ];
        assert!(flagged(&events).is_empty());
    }
}
