//! Time arithmetic on [`Timestamp`], which rules need for deadlines and for
//! messages an auditor can read, and [`Deadline`], the one convention every
//! time limit in a commitment follows.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Timestamp;

const SECONDS_PER_DAY: i64 = 86_400;

impl Timestamp {
    /// The instant `days` whole days (of 86,400 seconds) after this one.
    ///
    /// Commitments count in days ("retained for 14 days"), and the host
    /// normalises every time to UTC, so a day is always 86,400 seconds.
    /// For a limit, [`Deadline::days_after`] says this and what "late" means.
    pub fn plus_days(&self, days: u32) -> Timestamp {
        Timestamp {
            seconds: self
                .seconds
                .saturating_add(i64::from(days) * SECONDS_PER_DAY),
            nanos: self.nanos,
        }
    }

    /// Parses an RFC 3339 time (any offset), as rule configurations and
    /// tests write them. A configuration field can be a `Timestamp`
    /// directly: it deserialises from the same text.
    ///
    /// It reads a time exactly as the host reads the times in logs, so the
    /// two agree on every instant: a leap second (`23:59:60`) is the next
    /// minute's first instant, and `nanos` is always below 10^9.
    pub fn parse_rfc3339(text: &str) -> Result<Timestamp, String> {
        let (seconds, nanos) = covenant_rfc3339::parse(text).map_err(|e| {
            format!("`{text}` is not an RFC 3339 time (such as 2026-08-18T00:00:00+08:00): {e}")
        })?;
        Ok(Timestamp { seconds, nanos })
    }

    /// RFC 3339 in UTC, with only as many fractional digits as needed.
    pub fn to_rfc3339(&self) -> String {
        covenant_rfc3339::format(self.seconds, self.nanos)
    }
}

/// Prints RFC 3339 in UTC, as finding messages quote times.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// Reads an RFC 3339 string, so that a configuration field holding an
/// instant (a retirement date, a cut-over) can be typed `Timestamp` and a
/// bad one is rejected with its key's path before the rule runs. From a
/// binary format (a rule's saved state) it reads seconds and nanoseconds.
impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if !deserializer.is_human_readable() {
            let (seconds, nanos) = <(i64, u32)>::deserialize(deserializer)?;
            return Ok(Timestamp { seconds, nanos });
        }
        let text = String::deserialize(deserializer)?;
        Timestamp::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

/// The other way round: RFC 3339 for people, seconds and nanoseconds for a
/// rule's saved state.
impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match serializer.is_human_readable() {
            true => serializer.serialize_str(&self.to_rfc3339()),
            false => (self.seconds, self.nanos).serialize(serializer),
        }
    }
}

/// An instant by which something must have happened, or after which it
/// must no longer happen: a retention limit, an inactivity limit, a
/// retirement date.
///
/// Every such limit in a commitment reads the same way, and this type holds
/// that reading in one place: exactly at the deadline is still in time, and
/// anything later, even by a nanosecond, is late. Its [`Display`] is the
/// instant in RFC 3339, for messages.
///
/// ```
/// use covenant_sdk::{Deadline, Timestamp};
///
/// let stored = Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
/// let deadline = Deadline::days_after(stored, 14);
/// let at = |t| Timestamp::parse_rfc3339(t).unwrap();
/// assert_eq!(deadline.late_by(at("2026-01-15T00:00:00Z")), None);
/// assert_eq!(
///     deadline.late_by(at("2026-01-16T01:00:00Z")).as_deref(),
///     Some("1 day 1h")
/// );
/// ```
///
/// [`Display`]: fmt::Display
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Deadline(Timestamp);

impl Deadline {
    /// The deadline at a fixed instant, such as a retirement date from the
    /// rule's configuration.
    pub fn at(time: Timestamp) -> Deadline {
        Deadline(time)
    }

    /// The deadline `days` whole days after `start`: "deleted within 14
    /// days of being stored", "removed after 30 days of inactivity".
    pub fn days_after(start: Timestamp, days: u32) -> Deadline {
        Deadline(start.plus_days(days))
    }

    /// Whether `time` is after the deadline. Exactly at it is not.
    pub fn passed_at(&self, time: Timestamp) -> bool {
        time > self.0
    }

    /// How late `time` is, in the words of [`format_duration`] ("3 days
    /// 4h"), or `None` when it is at or before the deadline. Finding
    /// messages say how late something was, so the check and the words
    /// come together.
    pub fn late_by(&self, time: Timestamp) -> Option<String> {
        self.passed_at(time)
            .then(|| format_duration(&self.0, &time))
    }
}

impl fmt::Display for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The time from `from` to `to` in words, to the second: "3 days 4h 5m 6s".
///
/// Auditors read findings, so "17 days after its deadline" beats a count of
/// seconds. [`Deadline::late_by`] uses it for lateness; call it directly for
/// other spans, such as how long after a consent a use came.
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
    fn a_leap_second_is_the_next_minutes_first_instant() {
        let leap = Timestamp::parse_rfc3339("2016-12-31T23:59:60Z").unwrap();
        assert_eq!(leap, at(1_483_228_800, 0));
        assert_eq!(leap.to_string(), "2017-01-01T00:00:00Z");
        let half = Timestamp::parse_rfc3339("2016-12-31T23:59:60.5Z").unwrap();
        assert_eq!(half, at(1_483_228_800, 500_000_000));
        let before = Timestamp::parse_rfc3339("2016-12-31T23:59:59.999Z").unwrap();
        assert!(before < leap);
    }

    #[test]
    fn a_bad_time_says_what_a_time_looks_like_and_what_is_wrong() {
        assert_eq!(
            Timestamp::parse_rfc3339("2026-02-30T00:00:00Z").unwrap_err(),
            "`2026-02-30T00:00:00Z` is not an RFC 3339 time \
             (such as 2026-08-18T00:00:00+08:00): input is out of range"
        );
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
    fn exactly_at_a_deadline_is_in_time() {
        let deadline = Deadline::days_after(at(100, 5), 1);
        assert_eq!(deadline, Deadline::at(at(86_500, 5)));
        assert!(!deadline.passed_at(at(86_500, 5)));
        assert_eq!(deadline.late_by(at(86_500, 5)), None);
        assert!(deadline.passed_at(at(86_500, 6)));
        assert_eq!(deadline.late_by(at(86_500, 6)).as_deref(), Some("0s"));
        assert_eq!(deadline.late_by(at(90_100, 5)).as_deref(), Some("1h"));
        assert_eq!(Deadline::at(at(0, 0)).to_string(), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn deserialises_from_rfc3339() {
        let t: Timestamp = serde_json::from_str(r#""2026-01-01T02:00:00+02:00""#).unwrap();
        assert_eq!(t.to_string(), "2026-01-01T00:00:00Z");
        assert!(serde_json::from_str::<Timestamp>("1767225600").is_err());
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
