//! Reading a rule's configuration, with errors that tell the policy's author
//! which rule rejected it, which key is wrong and what it should be.

use crate::Rule;

/// Parses rule `R`'s configuration from the JSON text the host passes (the
/// rule's `[rule.config]` table; `{}` when the policy has none).
///
/// The SDK calls it before [`Rule::new`], and [`testing::evaluate`]
/// calls it the same way, so a rule's unit tests see exactly the message a
/// policy author would. It is public so that a test can also look at the
/// parsed configuration itself.
///
/// An error names the rule and the path of the offending key, then says
/// what was expected, in the form `rule ID: config.PATH: PROBLEM`:
///
/// ```text
/// rule retention: config.default_days: invalid type: string "x", expected u32
/// rule my-rule: config.limits[1]: invalid type: string "x", expected u32
/// rule segregation: config.cross_tenant: unknown field `cross_tenant`, expected `cross_tenant_purposes`
/// rule service-retirement: config: missing field `retired_at`
/// ```
///
/// The unknown-field error needs `#[serde(deny_unknown_fields)]` on the
/// configuration struct; without it a misspelt key is silently ignored and
/// the rule runs with its default, which is the one mistake a policy author
/// cannot see in the report.
///
/// [`testing::evaluate`]: crate::testing::evaluate
pub fn parse_config<R: Rule>(json: &str) -> Result<R::Config, String> {
    // Going through a `Value` keeps serde_json's line and column out of
    // the message: they would point into JSON the host generated from the
    // policy's TOML, which the author never sees.
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| format!("rule {}: config is not valid JSON: {e}", R::ID))?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let key = match path.as_str() {
            "." => "config".to_string(),
            index if index.starts_with('[') => format!("config{index}"),
            key => format!("config.{key}"),
        };
        format!("rule {}: {key}: {}", R::ID, e.into_inner())
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::parse_config;
    use crate::{Event, Findings, Rule, Severity, Timestamp};

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Config {
        limits: Limits,
        regions: Vec<String>,
        starts: Option<Timestamp>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Limits {
        collected: u32,
        #[serde(default)]
        each: Vec<u32>,
    }

    impl Default for Config {
        fn default() -> Self {
            Config {
                limits: Limits {
                    collected: 14,
                    each: Vec::new(),
                },
                regions: vec!["chinanorth".to_string()],
                starts: None,
            }
        }
    }

    #[derive(serde::Serialize, serde::Deserialize)]
    struct Sample;

    impl Rule for Sample {
        const ID: &'static str = "retention";
        const DESCRIPTION: &'static str = "A rule to parse configurations for.";
        const COMMITMENT: &'static str = "None.";
        const SEVERITY: Severity = Severity::Info;
        type Config = Config;

        fn new(_config: Config) -> Result<Self, String> {
            Ok(Sample)
        }

        fn observe(&mut self, _event: &Event, _findings: &mut Findings) {}
    }

    fn error(json: &str) -> String {
        parse_config::<Sample>(json).unwrap_err()
    }

    #[test]
    fn an_empty_table_gives_the_defaults() {
        assert_eq!(parse_config::<Sample>("{}").unwrap(), Config::default());
    }

    #[test]
    fn a_wrong_type_names_the_rule_and_the_nested_key() {
        assert_eq!(
            error(r#"{"limits": {"collected": "x"}}"#),
            r#"rule retention: config.limits.collected: invalid type: string "x", expected u32"#
        );
    }

    #[test]
    fn a_list_element_is_named_by_its_index() {
        assert_eq!(
            error(r#"{"limits": {"collected": 1, "each": [1, -2]}}"#),
            "rule retention: config.limits.each[1]: invalid value: integer `-2`, expected u32"
        );
        assert_eq!(
            error(r#"{"regions": "chinanorth"}"#),
            r#"rule retention: config.regions: invalid type: string "chinanorth", expected a sequence"#
        );
    }

    #[test]
    fn a_misspelt_key_is_an_error_naming_the_keys_allowed() {
        assert_eq!(
            error(r#"{"limits": {"colected": 1}}"#),
            "rule retention: config.limits.colected: unknown field `colected`, expected `collected` or `each`"
        );
        assert_eq!(
            error(r#"{"region": []}"#),
            "rule retention: config.region: unknown field `region`, \
             expected one of `limits`, `regions`, `starts`"
        );
    }

    #[test]
    fn a_missing_key_names_the_table_it_is_missing_from() {
        assert_eq!(
            error(r#"{"limits": {}}"#),
            "rule retention: config.limits: missing field `collected`"
        );
    }

    #[test]
    fn a_bad_time_says_what_a_time_looks_like() {
        assert_eq!(
            error(r#"{"starts": "soon"}"#),
            "rule retention: config.starts: `soon` is not an RFC 3339 time \
             (such as 2026-08-18T00:00:00+08:00): premature end of input"
        );
        let config = parse_config::<Sample>(r#"{"starts": "2026-01-01T08:00:00+08:00"}"#).unwrap();
        assert_eq!(config.starts.unwrap().to_string(), "2026-01-01T00:00:00Z");
    }

    #[test]
    fn a_config_that_is_not_a_table_or_not_json_is_named_as_such() {
        assert_eq!(
            error(r#""retention""#),
            r#"rule retention: config: invalid type: string "retention", expected struct Config"#
        );
        assert!(
            error("{").starts_with("rule retention: config is not valid JSON: "),
            "{}",
            error("{")
        );
    }
}
