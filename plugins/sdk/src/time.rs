//! Time arithmetic on [`Timestamp`], which rules need for deadlines and for
//! messages an auditor can read.

use std::fmt;

use chrono::{DateTime, SecondsFormat};

use crate::Timestamp;

const SECONDS_PER_DAY: i64 = 86_400;

impl Timestamp {
    /// The instant `days` whole days (of 86,400 seconds) after this one.
    pub fn plus_days(&self, days: u32) -> Timestamp {
        Timestamp {
            seconds: self
                .seconds
                .saturating_add(i64::from(days) * SECONDS_PER_DAY),
            nanos: self.nanos,
        }
    }

    /// Parses an RFC 3339 time (any offset), as rule configurations and
    /// tests write them.
    pub fn parse_rfc3339(text: &str) -> Result<Timestamp, String> {
        let t = DateTime::parse_from_rfc3339(text)
            .map_err(|e| format!("`{text}` is not an RFC 3339 time: {e}"))?;
        Ok(Timestamp {
            seconds: t.timestamp(),
            nanos: t.timestamp_subsec_nanos(),
        })
    }

    /// RFC 3339 in UTC, with only as many fractional digits as needed.
    pub fn to_rfc3339(&self) -> String {
        match DateTime::from_timestamp(self.seconds, self.nanos) {
            Some(t) => t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            // Out of chrono's range (beyond ±262,000 years): still say
            // something exact rather than nothing.
            None => format!(
                "{}.{:09}s since 1970-01-01T00:00:00Z",
                self.seconds, self.nanos
            ),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// The time from `from` to `to` in words, to the second: "3 days 4h 5m 6s".
///
/// Sub-second parts are dropped, so "0s" means less than a second. A negative
/// span is written with a leading minus sign.
pub fn format_duration(from: &Timestamp, to: &Timestamp) -> String {
    let mut nanos = i128::from(to.seconds) * 1_000_000_000 + i128::from(to.nanos)
        - (i128::from(from.seconds) * 1_000_000_000 + i128::from(from.nanos));
    let sign = if nanos < 0 { "-" } else { "" };
    nanos = nanos.abs();
    let total = nanos / 1_000_000_000;
    let (days, rest) = (
        total / SECONDS_PER_DAY as i128,
        total % SECONDS_PER_DAY as i128,
    );
    let (h, m, s) = (rest / 3600, rest % 3600 / 60, rest % 60);
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(format!("{days} day{}", if days == 1 { "" } else { "s" }));
    }
    for (value, unit) in [(h, "h"), (m, "m"), (s, "s")] {
        if value > 0 {
            parts.push(format!("{value}{unit}"));
        }
    }
    if parts.is_empty() {
        parts.push("0s".to_string());
    }
    format!("{sign}{}", parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64, nanos: u32) -> Timestamp {
        Timestamp { seconds, nanos }
    }

    #[test]
    fn formats_utc_with_minimal_fraction() {
        assert_eq!(at(0, 0).to_rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(
            at(1_767_225_600, 500_000_000).to_rfc3339(),
            "2026-01-01T00:00:00.500Z"
        );
    }

    #[test]
    fn parses_offsets_to_utc() {
        let t = Timestamp::parse_rfc3339("2026-01-01T02:00:00+02:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-01-01T00:00:00Z");
        assert!(Timestamp::parse_rfc3339("yesterday").is_err());
    }

    #[test]
    fn plus_days_keeps_nanos() {
        assert_eq!(at(10, 7).plus_days(14), at(10 + 14 * 86_400, 7));
    }

    #[test]
    fn orders_by_seconds_then_nanos() {
        assert!(at(1, 999) < at(2, 0));
        assert!(at(1, 1) < at(1, 2));
    }

    #[test]
    fn durations_in_words() {
        assert_eq!(format_duration(&at(0, 0), &at(0, 999)), "0s");
        assert_eq!(
            format_duration(&at(0, 0), &at(86_400 + 3_661, 0)),
            "1 day 1h 1m 1s"
        );
        assert_eq!(format_duration(&at(0, 0), &at(2 * 86_400, 0)), "2 days");
        assert_eq!(format_duration(&at(60, 0), &at(0, 0)), "-1m");
    }
}
