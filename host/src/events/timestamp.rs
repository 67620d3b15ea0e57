//! Instants in UTC with nanosecond precision, ordered and printable.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant, as seconds and nanoseconds since 1970-01-01T00:00:00Z.
///
/// Field order makes the derived ordering chronological. `nanos` is always
/// below 10^9: a leap second (`23:59:60`) is read as the next day's first
/// instant, so that it still sorts after `23:59:59`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Whole seconds since 1970-01-01T00:00:00Z; negative before it.
    pub seconds: i64,
    /// Nanoseconds past `seconds`, always below 10^9.
    pub nanos: u32,
}

impl Timestamp {
    /// Parses RFC 3339 with any offset, normalising to UTC, with the
    /// reader the SDK uses too, so host and plugins agree on every time.
    pub fn parse_rfc3339(text: &str) -> Result<Timestamp, String> {
        covenant_rfc3339::parse(text)
            .map(|(seconds, nanos)| Timestamp { seconds, nanos })
            .map_err(|e| format!("`{text}` is not an RFC 3339 time ({e})"))
    }

    /// The instant `seconds` and `nanos` after 1970-01-01T00:00:00Z, if
    /// RFC 3339 can write it (years 0000 to 9999), as a log must.
    pub fn from_unix(seconds: i64, nanos: u32) -> Option<Timestamp> {
        const EARLIEST: i64 = -62_167_219_200; // 0000-01-01T00:00:00Z
        const LATEST: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
        ((EARLIEST..=LATEST).contains(&seconds) && nanos < 1_000_000_000)
            .then_some(Timestamp { seconds, nanos })
    }

    /// The instant `days` whole days (of 86,400 seconds) later.
    pub fn plus_days(self, days: i64) -> Timestamp {
        Timestamp {
            seconds: self.seconds.saturating_add(days.saturating_mul(86_400)),
            nanos: self.nanos,
        }
    }

    /// RFC 3339 in UTC, with only as many fractional digits as needed.
    pub fn to_rfc3339(self) -> String {
        covenant_rfc3339::format(self.seconds, self.nanos)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_normalise_to_utc() {
        let a = Timestamp::parse_rfc3339("2026-03-01T12:00:00+05:30").unwrap();
        assert_eq!(a.to_rfc3339(), "2026-03-01T06:30:00Z");
    }

    #[test]
    fn leap_second_sorts_after_the_last_ordinary_second() {
        let leap = Timestamp::parse_rfc3339("2016-12-31T23:59:60Z").unwrap();
        let before = Timestamp::parse_rfc3339("2016-12-31T23:59:59.999Z").unwrap();
        assert!(before < leap);
        assert_eq!(leap.to_rfc3339(), "2017-01-01T00:00:00Z");
    }

    #[test]
    fn fractions_keep_their_precision() {
        let t = Timestamp::parse_rfc3339("2026-01-01T00:00:00.000000001Z").unwrap();
        assert_eq!(t.nanos, 1);
        assert_eq!(t.to_rfc3339(), "2026-01-01T00:00:00.000000001Z");
    }
}
