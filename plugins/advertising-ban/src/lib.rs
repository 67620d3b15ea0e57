//! `advertising-ban`: customer data is never used, nor anything derived from
//! it, for advertising or similar commercial purposes.

use covenant_sdk::{Event, Field, Findings, Reads, Rule, Severity, Terms, export_rule};
use serde::{Deserialize, Serialize};

/// Configuration from the policy's `[rules.config]` table.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Purposes that are advertising or similar commercial use. Compared
    /// without regard to ASCII case, so `Advertising` is caught too.
    #[serde(default = "default_banned_purposes")]
    pub banned_purposes: Terms,
}

fn default_banned_purposes() -> Terms {
    Terms::new([
        "advertising",
        "marketing",
        "ad-targeting",
        "commercial-profiling",
    ])
}

/// The rule holds only its configuration: each event is judged alone.
#[derive(Serialize, Deserialize)]
pub struct AdvertisingBan {
    config: Config,
}

impl Rule for AdvertisingBan {
    const ID: &'static str = "advertising-ban";
    const DESCRIPTION: &'static str = "No event that touches customer data declares an advertising or similar \
         commercial purpose.";
    const COMMITMENT: &'static str = "Microsoft won't use Customer Data or derive information from it for any \
         advertising or similar commercial purposes.";
    const SEVERITY: Severity = Severity::Critical;
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        if let Some((i, empty)) = config
            .banned_purposes
            .as_slice()
            .iter()
            .enumerate()
            .find(|(_, p)| p.trim().is_empty())
        {
            return Err(format!(
                "config.banned_purposes[{i}]: {empty:?} is an empty purpose; name a purpose or remove it"
            ));
        }
        Ok(AdvertisingBan { config })
    }

    fn reads(&self) -> Reads {
        Reads::fields(&[Field::Purpose, Field::DataId, Field::DataTenant])
    }

    fn observe(&mut self, event: &Event<'_>, findings: &mut Findings) {
        let (Some(data), Some(purpose)) = (&event.data, &event.purpose) else {
            return;
        };
        if self.config.banned_purposes.contains(purpose) {
            let tenant = data.tenant.map_or("with no tenant tag".to_string(), |t| {
                format!("of tenant {t}")
            });
            findings.report(
                event,
                format!(
                    "{} uses {} {tenant} for `{purpose}`, a banned commercial purpose",
                    event.cite_with_action(),
                    data.name()
                ),
            );
        }
    }
}

export_rule!(AdvertisingBan);

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_sdk::testing::{TestEvent, evaluate, event, event_ids};

    const T: &str = "2026-01-01T00:00:00Z";

    fn flagged(config: &str, events: &[TestEvent]) -> Vec<String> {
        let findings = evaluate::<AdvertisingBan>(config, events, T).unwrap();
        event_ids(&findings).into_iter().map(String::from).collect()
    }

    #[test]
    fn every_default_banned_purpose_is_a_finding() {
        let events: Vec<TestEvent> = [
            "advertising",
            "marketing",
            "ad-targeting",
            "commercial-profiling",
        ]
        .iter()
        .enumerate()
        .map(|(i, p)| {
            event(&format!("e{i}"), T, "access")
                .tenant("a")
                .data("d1", "a")
                .purpose(p)
        })
        .collect();
        assert_eq!(flagged("{}", &events), ["e0", "e1", "e2", "e3"]);
    }

    #[test]
    fn case_does_not_hide_a_banned_purpose() {
        let e = event("e1", T, "derive")
            .data("d1", "a")
            .purpose("Advertising");
        assert_eq!(flagged("{}", &[e]), ["e1"]);
    }

    #[test]
    fn allowed_purposes_and_events_without_data_pass() {
        let events = [
            event("e1", T, "access")
                .data("d1", "a")
                .purpose("threat-detection"),
            event("e2", T, "config-change").purpose("advertising"),
            event("e3", T, "access").data("d1", "a"),
        ];
        assert!(flagged("{}", &events).is_empty());
    }

    #[test]
    fn banned_list_comes_from_config() {
        let e = event("e1", T, "access").data("d1", "a").purpose("resale");
        assert_eq!(
            flagged(
                r#"{"banned_purposes": ["resale"]}"#,
                std::slice::from_ref(&e)
            ),
            ["e1"]
        );
        assert!(flagged("{}", &[e]).is_empty());
    }

    #[test]
    fn empty_banned_purpose_is_a_config_error() {
        let err =
            evaluate::<AdvertisingBan>(r#"{"banned_purposes": ["ads", " "]}"#, &[], T).unwrap_err();
        assert_eq!(
            err,
            r#"rule advertising-ban: config.banned_purposes[1]: " " is an empty purpose; name a purpose or remove it"#
        );
    }

    #[test]
    fn unknown_config_field_is_rejected() {
        let err = evaluate::<AdvertisingBan>(r#"{"banned": []}"#, &[], T).unwrap_err();
        assert!(
            err.starts_with("rule advertising-ban: config.banned: unknown field `banned`"),
            "{err}"
        );
    }
}
