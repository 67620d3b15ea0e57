//! `service-retirement`: Defender for Cloud in Azure operated by 21Vianet
//! (the China regions) retires on 2026-08-18; nothing may be processed
//! there after that.

use covenant_sdk::{
    Deadline, Event, Field, Findings, Reads, Rule, Severity, Terms, Timestamp, export_rule,
};
use serde::{Deserialize, Serialize};

/// Configuration from the policy's `[rule.config]` table.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The instant of retirement (RFC 3339 in the policy); processing after
    /// it is a finding, processing exactly at it is not.
    pub retired_at: Timestamp,
    /// The regions the retirement covers.
    pub regions: Terms,
}

/// The rule holds only its configuration: each event is judged alone.
#[derive(Serialize, Deserialize)]
pub struct ServiceRetirement {
    retired_at: Deadline,
    regions: Terms,
}

impl Rule for ServiceRetirement {
    const ID: &'static str = "service-retirement";
    const DESCRIPTION: &'static str =
        "No customer data is processed in the retired regions after the retirement date.";
    const COMMITMENT: &'static str = "All Microsoft Defender for Cloud features will be officially retired in Azure \
         in China region on August 18, 2026 per the announcement posted by 21Vianet.";
    const SEVERITY: Severity = Severity::Low;
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        if config.regions.is_empty() {
            return Err("config.regions: must name at least one region".to_string());
        }
        Ok(ServiceRetirement {
            retired_at: Deadline::at(config.retired_at),
            regions: config.regions,
        })
    }

    fn reads(&self) -> Reads {
        Reads::fields(&[Field::Region, Field::DataId])
    }

    fn observe(&mut self, event: &Event<'_>, findings: &mut Findings) {
        let (Some(data), Some(region)) = (&event.data, &event.region) else {
            return;
        };
        if self.retired_at.passed_at(event.time) && self.regions.contains(region) {
            findings.report(
                event,
                format!(
                    "{} processed {} in region {region}, where the service retired at {}",
                    event.cite_with_action(),
                    data.name(),
                    self.retired_at
                ),
            );
        }
    }
}

export_rule!(ServiceRetirement);

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_sdk::testing::{evaluate, event, event_ids};

    const CONFIG: &str =
        r#"{"retired_at": "2026-08-18T00:00:00+08:00", "regions": ["chinanorth"]}"#;

    #[test]
    fn processing_after_the_instant_in_a_retired_region_is_a_finding() {
        let at = |id: &str, time: &str, region: &str| {
            event(id, time, "store").data("d", "a").region(region)
        };
        let events = [
            at("at", "2026-08-17T16:00:00Z", "chinanorth"),
            at("after", "2026-08-17T16:00:01Z", "ChinaNorth"),
            at("elsewhere", "2026-09-01T00:00:00Z", "westeurope"),
        ];
        let findings =
            evaluate::<ServiceRetirement>(CONFIG, &events, "2026-09-01T00:00:00Z").unwrap();
        assert_eq!(event_ids(&findings), ["after"]);
    }

    #[test]
    fn config_errors_name_the_key() {
        let err = |config: &str| {
            evaluate::<ServiceRetirement>(config, &[], "2026-01-01T00:00:00Z").unwrap_err()
        };
        assert!(
            err(r#"{"retired_at": "soon", "regions": ["x"]}"#).starts_with(
                "rule service-retirement: config.retired_at: `soon` is not an RFC 3339 time"
            ),
            "{}",
            err(r#"{"retired_at": "soon", "regions": ["x"]}"#)
        );
        assert_eq!(
            err(r#"{"retired_at": "2026-08-18T00:00:00+08:00", "regions": []}"#),
            "rule service-retirement: config.regions: must name at least one region"
        );
        assert_eq!(
            err(r#"{"regions": ["x"]}"#),
            "rule service-retirement: config: missing field `retired_at`"
        );
        assert!(
            err(r#"{"retired_at": "2026-08-18T00:00:00+08:00", "regions": [], "region": []}"#)
                .starts_with("rule service-retirement: config.region: unknown field `region`"),
        );
    }
}
