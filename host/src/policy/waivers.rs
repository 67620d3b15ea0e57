//! Waivers: accepted exceptions to a rule, each with a reason, an approver
//! and an expiry.
//!
//! A waiver never hides a finding: the finding stays in the report, marked
//! waived with the waiver's id and reason, and stops counting towards the
//! verdict and the exit code. A waiver past its expiry stops waiving and is
//! itself reported, as is one that matched nothing (stale), so that the
//! list of exceptions cannot quietly rot.
//!
//! Waivers come from `[[waiver]]` entries in the policy or in files given
//! with `--waivers`; both use the same TOML shape (see the README).

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::events::Timestamp;

/// One accepted exception.
///
/// It reads back from a report (for `covenant merge`) with the same checks
/// as from a `[[waiver]]` table, its expiry worked out again from `expires`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "WaiverRecord")]
pub struct Waiver {
    /// Unique among all waivers of a run, e.g. a ticket number.
    pub id: String,
    /// The rule whose findings it waives.
    pub rule: String,
    /// Why the exception is acceptable.
    pub reason: String,
    /// Who accepted it.
    pub approver: String,
    /// The expiry as written: a date waives through the end of that day
    /// (UTC), a date-time up to that instant.
    pub expires: String,
    /// Waive only findings about these events (any, when empty).
    pub event_ids: Vec<String>,
    /// Waive only findings about these data items (any, when empty).
    pub data_ids: Vec<String>,
    /// Waive only findings about events of these tenants (any, when empty).
    pub tenants: Vec<String>,
    /// Waive only findings about events at or after this time.
    pub from: Option<Timestamp>,
    /// Waive only findings about events before this time (a date means
    /// through the end of that day).
    pub until: Option<Timestamp>,
    /// The first instant at which the waiver no longer applies.
    #[serde(skip)]
    pub expires_at: Timestamp,
}

/// What a finding must be about for a waiver to match it.
pub struct FindingFacts<'a> {
    /// The id of the rule that reported the finding.
    pub rule: &'a str,
    /// The id of the event the finding is about.
    pub event_id: &'a str,
    /// The event's time, which `from` and `until` are compared with.
    pub time: Timestamp,
    /// The event's tenant, or its data's when the event names none.
    pub tenant: Option<&'a str>,
    /// The id of the data item the event touches, if any.
    pub data_id: Option<&'a str>,
}

impl Waiver {
    /// Whether the waiver covers a finding, ignoring expiry. Every selector
    /// given must match; a list matches if any of its values does.
    pub fn matches(&self, finding: &FindingFacts<'_>) -> bool {
        let listed = |values: &[String], value: Option<&str>| {
            values.is_empty() || value.is_some_and(|v| values.iter().any(|w| w == v))
        };
        self.rule == finding.rule
            && listed(&self.event_ids, Some(finding.event_id))
            && listed(&self.data_ids, finding.data_id)
            && listed(&self.tenants, finding.tenant)
            && self.from.is_none_or(|from| finding.time >= from)
            && self.until.is_none_or(|until| finding.time < until)
    }

    /// Whether the waiver has expired by `as_of`.
    pub fn expired_by(&self, as_of: Option<Timestamp>) -> bool {
        as_of.is_some_and(|as_of| as_of >= self.expires_at)
    }
}

/// A waiver as a report records it, with `from` and `until` already
/// resolved to instants.
#[derive(Deserialize)]
struct WaiverRecord {
    id: String,
    rule: String,
    reason: String,
    approver: String,
    expires: String,
    event_ids: Vec<String>,
    data_ids: Vec<String>,
    tenants: Vec<String>,
    from: Option<Timestamp>,
    until: Option<Timestamp>,
}

impl TryFrom<WaiverRecord> for Waiver {
    type Error = String;

    fn try_from(record: WaiverRecord) -> Result<Waiver, String> {
        let at = format!("waiver `{}`", record.id);
        let check = || -> Result<Timestamp> {
            check_accountable(
                &record.id,
                &record.rule,
                &record.reason,
                &record.approver,
                &at,
            )?;
            let expires: toml::value::Datetime = record.expires.parse().with_context(|| {
                format!(
                    "{at}: `expires`: `{}` is not a date or date-time",
                    record.expires
                )
            })?;
            let expires_at = end_of(&expires).with_context(|| format!("{at}: `expires`"))?;
            check_window(record.from, record.until, &at)?;
            Ok(expires_at)
        };
        let expires_at = check().map_err(|e| format!("{e:#}"))?;
        Ok(Waiver {
            id: record.id,
            rule: record.rule,
            reason: record.reason,
            approver: record.approver,
            expires: record.expires,
            event_ids: record.event_ids,
            data_ids: record.data_ids,
            tenants: record.tenants,
            from: record.from,
            until: record.until,
            expires_at,
        })
    }
}

/// Refuses a waiver without every field that makes it accountable.
fn check_accountable(id: &str, rule: &str, reason: &str, approver: &str, at: &str) -> Result<()> {
    for (field, value) in [
        ("id", id),
        ("rule", rule),
        ("reason", reason),
        ("approver", approver),
    ] {
        if value.trim().is_empty() {
            bail!("{at}: `{field}` must not be empty");
        }
    }
    Ok(())
}

/// Refuses a window that holds no instant.
fn check_window(from: Option<Timestamp>, until: Option<Timestamp>, at: &str) -> Result<()> {
    if let (Some(from), Some(until)) = (from, until)
        && from >= until
    {
        bail!("{at}: `from` must be before `until`");
    }
    Ok(())
}

/// A `[[waiver]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaiverEntry {
    id: String,
    rule: String,
    reason: String,
    approver: String,
    expires: toml::value::Datetime,
    #[serde(default)]
    event_ids: Vec<String>,
    #[serde(default)]
    data_ids: Vec<String>,
    #[serde(default)]
    tenants: Vec<String>,
    from: Option<toml::value::Datetime>,
    until: Option<toml::value::Datetime>,
}

/// A file of `[[waiver]]` entries, given with `--waivers`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WaiverFile {
    #[serde(default)]
    waiver: Vec<WaiverEntry>,
}

/// Reads a waivers file. Rule ids are checked against the policy by
/// [`check_waiver_rules`].
pub fn load_waivers(path: &Path) -> Result<Vec<Waiver>> {
    let source = path.display().to_string();
    let text =
        std::fs::read_to_string(path).with_context(|| format!("{source}: cannot read waivers"))?;
    let file: WaiverFile =
        toml::from_str(&text).with_context(|| format!("{source}: invalid waivers file"))?;
    if file.waiver.is_empty() {
        bail!("{source}: the file has no [[waiver]] entries");
    }
    parse_waivers(file.waiver, &source)
}

/// Validates `[[waiver]]` entries from `source`: every field that makes a
/// waiver accountable must be filled in, and times must be well formed.
pub fn parse_waivers(entries: Vec<WaiverEntry>, source: &str) -> Result<Vec<Waiver>> {
    entries
        .into_iter()
        .enumerate()
        .map(|(n, entry)| {
            let at = format!("{source}: waiver {}", n + 1);
            check_accountable(&entry.id, &entry.rule, &entry.reason, &entry.approver, &at)?;
            let at = format!("{source}: waiver `{}`", entry.id);
            let expires_at = end_of(&entry.expires).with_context(|| format!("{at}: `expires`"))?;
            let from = entry
                .from
                .as_ref()
                .map(start_of)
                .transpose()
                .with_context(|| format!("{at}: `from`"))?;
            let until = entry
                .until
                .as_ref()
                .map(end_of)
                .transpose()
                .with_context(|| format!("{at}: `until`"))?;
            check_window(from, until, &at)?;
            Ok(Waiver {
                id: entry.id,
                rule: entry.rule,
                reason: entry.reason.trim().to_string(),
                approver: entry.approver.trim().to_string(),
                expires: entry.expires.to_string(),
                event_ids: entry.event_ids,
                data_ids: entry.data_ids,
                tenants: entry.tenants,
                from,
                until,
                expires_at,
            })
        })
        .collect()
}

/// Refuses waivers that name a rule the policy does not have, or share an
/// id: either would make the report's account of exceptions ambiguous.
pub fn check_waiver_rules(waivers: &[Waiver], rules: &HashSet<String>, source: &str) -> Result<()> {
    let mut ids = HashSet::new();
    for waiver in waivers {
        if !rules.contains(&waiver.rule) {
            bail!(
                "{source}: waiver `{}` names rule `{}`, which the policy does not have",
                waiver.id,
                waiver.rule
            );
        }
        if !ids.insert(waiver.id.as_str()) {
            bail!("{source}: waiver id `{}` is used twice", waiver.id);
        }
    }
    Ok(())
}

/// The instant a TOML date or date-time starts: a date starts at 00:00 UTC.
fn start_of(value: &toml::value::Datetime) -> Result<Timestamp> {
    instant(value, false)
}

/// The first instant after what a TOML date or date-time covers: a date
/// covers the whole day (UTC), a date-time is that instant.
fn end_of(value: &toml::value::Datetime) -> Result<Timestamp> {
    instant(value, true)
}

fn instant(value: &toml::value::Datetime, whole_day: bool) -> Result<Timestamp> {
    match (&value.date, &value.time, &value.offset) {
        (Some(date), None, None) => {
            let start = Timestamp::parse_rfc3339(&format!("{date}T00:00:00Z"))
                .map_err(anyhow::Error::msg)?;
            Ok(if whole_day { start.plus_days(1) } else { start })
        }
        (Some(_), Some(_), Some(_)) => {
            Timestamp::parse_rfc3339(&value.to_string()).map_err(anyhow::Error::msg)
        }
        _ => bail!("`{value}` needs a date (2026-12-31) or a date-time with an offset"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Waiver>> {
        let file: WaiverFile = toml::from_str(text)?;
        parse_waivers(file.waiver, "w.toml")
    }

    const BASE: &str = "[[waiver]]\nid = \"W-1\"\nrule = \"retention\"\nreason = \"legal hold\"\napprover = \"dpo@example.com\"\n";

    fn time(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap()
    }

    fn facts(time: Timestamp) -> FindingFacts<'static> {
        FindingFacts {
            rule: "retention",
            event_id: "e1",
            time,
            tenant: Some("contoso"),
            data_id: Some("d1"),
        }
    }

    #[test]
    fn a_date_expiry_waives_through_the_end_of_that_day() {
        let waiver = &parse(&format!("{BASE}expires = 2026-12-31\n")).unwrap()[0];
        assert!(!waiver.expired_by(Some(time("2026-12-31T23:59:59Z"))));
        assert!(waiver.expired_by(Some(time("2027-01-01T00:00:00Z"))));
        assert!(!waiver.expired_by(None));
        assert_eq!(waiver.expires, "2026-12-31");
    }

    #[test]
    fn every_selector_given_must_match() {
        let waiver = &parse(&format!(
            "{BASE}expires = 2027-01-01\ntenants = [\"contoso\", \"fabrikam\"]\nfrom = 2026-06-01\nuntil = 2026-06-30\n"
        ))
        .unwrap()[0];
        assert!(waiver.matches(&facts(time("2026-06-01T00:00:00Z"))));
        assert!(waiver.matches(&facts(time("2026-06-30T23:00:00Z"))));
        assert!(!waiver.matches(&facts(time("2026-07-01T00:00:00Z"))));
        assert!(!waiver.matches(&facts(time("2026-05-31T23:59:59Z"))));
        let other_tenant = FindingFacts {
            tenant: Some("woodgrove"),
            ..facts(time("2026-06-02T00:00:00Z"))
        };
        assert!(!waiver.matches(&other_tenant));
        let other_rule = FindingFacts {
            rule: "segregation",
            ..facts(time("2026-06-02T00:00:00Z"))
        };
        assert!(!waiver.matches(&other_rule));
        let no_tenant = FindingFacts {
            tenant: None,
            ..facts(time("2026-06-02T00:00:00Z"))
        };
        assert!(!waiver.matches(&no_tenant));
    }

    #[test]
    fn accountability_fields_and_times_are_checked() {
        let empty_reason = BASE.replace("legal hold", " ");
        let error = parse(&format!("{empty_reason}expires = 2027-01-01\n")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "w.toml: waiver 1: `reason` must not be empty"
        );

        let missing =
            "[[waiver]]\nid = \"W-1\"\nrule = \"r\"\nreason = \"x\"\nexpires = 2027-01-01\n";
        assert!(format!("{:#}", parse(missing).unwrap_err()).contains("missing field `approver`"));

        let local = parse(&format!("{BASE}expires = 2027-01-01T00:00:00\n")).unwrap_err();
        assert!(
            format!("{local:#}")
                .contains("waiver `W-1`: `expires`: `2027-01-01T00:00:00` needs a date")
        );

        let backwards = parse(&format!(
            "{BASE}expires = 2027-01-01\nfrom = 2026-02-01\nuntil = 2026-01-01\n"
        ))
        .unwrap_err();
        assert!(
            backwards
                .to_string()
                .contains("`from` must be before `until`")
        );
    }

    #[test]
    fn unknown_rules_and_repeated_ids_are_refused() {
        let waivers = parse(&format!(
            "{BASE}expires = 2027-01-01\n{BASE}expires = 2027-01-01\n"
        ))
        .unwrap();
        let rules: HashSet<String> = ["retention".to_string()].into();
        let error = check_waiver_rules(&waivers, &rules, "w.toml").unwrap_err();
        assert_eq!(error.to_string(), "w.toml: waiver id `W-1` is used twice");
        let error = check_waiver_rules(&waivers[..1], &HashSet::new(), "w.toml").unwrap_err();
        assert!(error.to_string().contains("names rule `retention`"));
    }
}
