//! `segregation`: every use of customer data carries its organisation's tag,
//! runs in that organisation's context, and is derived only from that
//! organisation's data, except for the cross-tenant purposes the policy
//! allows (threat intelligence, by default).

use covenant_sdk::{
    Event, Field, Findings, KeyMap, Reads, Rule, Severity, Terms, TextMap, export_rule,
};
use serde::{Deserialize, Serialize};

/// Configuration from the policy's `[rules.config]` table.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Purposes for which a `derive` may combine several tenants' data.
    #[serde(default = "default_cross_tenant_purposes")]
    pub cross_tenant_purposes: Terms,
}

fn default_cross_tenant_purposes() -> Terms {
    Terms::new(["threat-intelligence"])
}

/// The segregation rule's state: the organisation tag last seen on each data
/// item, so that a `derive` can be checked against its sources' tags.
///
/// Items are keyed by the host's key for their id, and tags (few) are
/// numbered once: an item costs a [`KeyMap`] slot of 20 bytes (about 23
/// with the map's free slots), whatever the lengths of its id and tag.
#[derive(Serialize, Deserialize)]
pub struct Segregation {
    config: Config,
    tags: KeyMap<u32>,
    tag_names: Vec<String>,
    tag_numbers: TextMap<u32>,
}

impl Rule for Segregation {
    const ID: &'static str = "segregation";
    const DESCRIPTION: &'static str = "Every event that touches customer data carries a non-empty organisation tag on \
         the data and a tenant context, the two agree, and derived data comes only from \
         the same organisation's data unless the purpose is an allowed cross-tenant one.";
    const COMMITMENT: &'static str = "All data is tagged per organization. This tagging persists throughout the data \
         lifecycle, and it's enforced at each layer of the service.";
    const SEVERITY: Severity = Severity::Critical;
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        Ok(Segregation {
            config,
            tags: KeyMap::default(),
            tag_names: Vec::new(),
            tag_numbers: TextMap::default(),
        })
    }

    fn reads(&self) -> Reads {
        Reads::fields(&[
            Field::Action,
            Field::Tenant,
            Field::Purpose,
            Field::DataId,
            Field::DataTenant,
            Field::DataSources,
        ])
    }

    fn observe(&mut self, event: &Event<'_>, findings: &mut Findings) {
        let Some(data) = event.data else { return };
        let tag = data.tenant.filter(|t| !t.is_empty());
        let context = event.tenant.filter(|t| !t.is_empty());
        // Messages are written only for findings: most events have none.
        let at = || event.cite_with_action();
        match (tag, context) {
            (None, _) => findings.report(
                event,
                format!(
                    "{} touches {}, which carries no organisation tag",
                    at(),
                    data.name()
                ),
            ),
            (Some(_), None) => findings.report(
                event,
                format!("{} touches {} with no tenant context", at(), data.name()),
            ),
            (Some(tag), Some(context)) if tag != context => findings.report(
                event,
                format!(
                    "{} ran in tenant {context}'s context but touches {}, tagged for tenant {tag}",
                    at(),
                    data.name()
                ),
            ),
            _ => {}
        }

        let owner = tag.or(context);
        if event.action == "derive" && !self.allows_cross_tenant(event.purpose) {
            let foreign: Vec<String> = data
                .sources()
                .filter_map(|source| {
                    let source_tag = self.tag_names[*self.tags.get(&source.key)? as usize].as_str();
                    (Some(source_tag) != owner)
                        .then(|| format!("{} (tenant {source_tag})", source.id))
                })
                .collect();
            if !foreign.is_empty() {
                let purpose = match event.purpose {
                    Some(purpose) => format!("purpose `{purpose}` is not"),
                    None => "no purpose is declared, and none is".to_string(),
                };
                let owner = owner.map_or("no tenant".to_string(), |o| format!("tenant {o}"));
                findings.report(
                    event,
                    format!(
                        "{} derives {} for {owner} from another tenant's data: {}; \
                         {purpose} an allowed cross-tenant purpose",
                        at(),
                        data.name(),
                        foreign.join(", ")
                    ),
                );
            }
        }

        if let (Some(key), Some(tag)) = (data.key, tag) {
            let number = self.tag_number(tag);
            self.tags.insert(key, number);
        }
    }
}

/// The data item as messages name it.
impl Segregation {
    /// The number of `tag`, made the first time it is seen.
    fn tag_number(&mut self, tag: &str) -> u32 {
        if let Some(&number) = self.tag_numbers.get(tag) {
            return number;
        }
        let number = self.tag_names.len() as u32;
        self.tag_names.push(tag.to_string());
        self.tag_numbers.insert(tag.to_string(), number);
        number
    }

    fn allows_cross_tenant(&self, purpose: Option<&str>) -> bool {
        purpose.is_some_and(|p| self.config.cross_tenant_purposes.contains(p))
    }
}

export_rule!(Segregation);

#[cfg(test)]
mod tests {
    use super::*;
    use covenant_sdk::testing::{TestEvent, evaluate, event, event_ids};

    fn run(events: &[TestEvent]) -> Vec<String> {
        let findings = evaluate::<Segregation>("{}", events, "2026-02-01T00:00:00Z").unwrap();
        event_ids(&findings).into_iter().map(String::from).collect()
    }

    const T: &str = "2026-01-01T00:00:00Z";

    #[test]
    fn matching_tags_pass() {
        assert!(run(&[event("e1", T, "store").tenant("a").data("d1", "a")]).is_empty());
    }

    #[test]
    fn events_without_data_are_not_checked() {
        assert!(run(&[event("e1", T, "config-change")]).is_empty());
    }

    #[test]
    fn missing_or_empty_tags_are_findings() {
        let untagged = event("e1", T, "store").tenant("a").data("d1", "");
        let no_context = event("e2", T, "store").data("d2", "a");
        let empty_context = event("e3", T, "store").tenant("").data("d3", "a");
        assert_eq!(
            run(&[untagged, no_context, empty_context]),
            ["e1", "e2", "e3"]
        );
    }

    #[test]
    fn context_and_tag_must_agree() {
        assert_eq!(
            run(&[event("e1", T, "access").tenant("a").data("d1", "b")]),
            ["e1"]
        );
    }

    #[test]
    fn derive_from_another_tenants_data_is_a_finding() {
        let events = [
            event("e1", T, "store").tenant("a").data("d1", "a"),
            event("e2", T, "store").tenant("b").data("d2", "b"),
            event("e3", T, "derive")
                .tenant("a")
                .data("d3", "a")
                .sources(&["d1", "d2"]),
        ];
        let findings = evaluate::<Segregation>("{}", &events, T).unwrap();
        assert_eq!(event_ids(&findings), ["e3"]);
        assert!(
            findings[0].message.contains("d2 (tenant b)"),
            "{}",
            findings[0].message
        );
        assert!(
            !findings[0].message.contains("d1 ("),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn allowed_purpose_may_cross_tenants() {
        let events = [
            event("e1", T, "store").tenant("b").data("d1", "b"),
            event("e2", T, "derive")
                .tenant("a")
                .data("d2", "a")
                .sources(&["d1"])
                .purpose("threat-intelligence"),
        ];
        assert!(run(&events).is_empty());
    }

    #[test]
    fn allow_list_comes_from_config() {
        let events = [
            event("e1", T, "store").tenant("b").data("d1", "b"),
            event("e2", T, "derive")
                .tenant("a")
                .data("d2", "a")
                .sources(&["d1"])
                .purpose("threat-intelligence"),
        ];
        let strict =
            evaluate::<Segregation>(r#"{"cross_tenant_purposes": []}"#, &events, T).unwrap();
        assert_eq!(event_ids(&strict), ["e2"]);
    }

    #[test]
    fn unknown_sources_are_not_findings() {
        let e = event("e1", T, "derive")
            .tenant("a")
            .data("d2", "a")
            .sources(&["never-seen"]);
        assert!(run(&[e]).is_empty());
    }

    #[test]
    fn unknown_config_field_is_rejected() {
        let err = evaluate::<Segregation>(r#"{"cross_tenant": []}"#, &[], T).unwrap_err();
        assert!(
            err.starts_with("rule segregation: config.cross_tenant: unknown field `cross_tenant`"),
            "{err}"
        );
    }
}
