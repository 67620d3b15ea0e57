//! Printing an instant as RFC 3339.

use std::fmt;

use crate::calendar::date_from_days;

const NANOS_PER_SECOND: u32 = 1_000_000_000;

/// The years printed as dates. Outside them an instant is printed as a
/// count of seconds: these are the limits the host and the SDK had before
/// this crate, kept so that no report or message changes.
const YEARS: std::ops::RangeInclusive<i64> = -262_143..=262_142;

/// Prints `seconds` and `nanos` since 1970-01-01T00:00:00Z as RFC 3339 in
/// UTC, with `Z` and only as many fractional digits (none, 3, 6 or 9) as
/// the nanoseconds need: `2026-01-01T00:00:00.500Z`.
///
/// [`parse`](crate::parse) never yields 10^9 nanoseconds or more, but a
/// rule can build such an instant itself. With the seconds at the last
/// second of a minute, it is that minute's leap second, printed as second
/// `60`. Such nanoseconds in any other second, 2×10^9 nanoseconds or more,
/// or a year outside ±262,000 or so, have no date to print; the instant is
/// then written exactly in seconds, as
/// `-9223372036854775808.000000000s since 1970-01-01T00:00:00Z`. A year
/// past 9999 or before 0 has its sign and at least four digits:
/// `+10000-01-01T00:00:00Z`.
pub fn format(seconds: i64, nanos: u32) -> String {
    Instant { seconds, nanos }.to_string()
}

/// What [`format`] prints, so that writing it is one `Display` impl.
struct Instant {
    seconds: i64,
    nanos: u32,
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Instant { seconds, nanos } = *self;
        let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
        let (year, month, day) = date_from_days(days);
        let leap = nanos >= NANOS_PER_SECOND;
        if nanos >= 2 * NANOS_PER_SECOND
            || (leap && second_of_day % 60 != 59)
            || !YEARS.contains(&year)
        {
            return write!(f, "{seconds}.{nanos:09}s since 1970-01-01T00:00:00Z");
        }
        let (second, nanos) = if leap {
            (60, nanos - NANOS_PER_SECOND)
        } else {
            (second_of_day % 60, nanos)
        };
        if (0..=9999).contains(&year) {
            write!(f, "{year:04}")?;
        } else {
            write!(f, "{year:+05}")?;
        }
        write!(
            f,
            "-{month:02}-{day:02}T{:02}:{:02}:{second:02}",
            second_of_day / 3600,
            second_of_day / 60 % 60
        )?;
        // Milliseconds, microseconds or nanoseconds, whichever is exact.
        match nanos {
            0 => {}
            n if n % 1_000_000 == 0 => write!(f, ".{:03}", n / 1_000_000)?,
            n if n % 1_000 == 0 => write!(f, ".{:06}", n / 1_000)?,
            n => write!(f, ".{n:09}")?,
        }
        f.write_str("Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    #[test]
    fn instants_print_in_utc_with_z() {
        assert_eq!(format(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(format(-1, 0), "1969-12-31T23:59:59Z");
        assert_eq!(format(1_767_225_600, 0), "2026-01-01T00:00:00Z");
        assert_eq!(format(1_709_208_000, 0), "2024-02-29T12:00:00Z");
        assert_eq!(format(253_402_300_799, 0), "9999-12-31T23:59:59Z");
        assert_eq!(format(-62_167_219_200, 0), "0000-01-01T00:00:00Z");
    }

    #[test]
    fn fractions_have_as_many_digits_as_they_need() {
        assert_eq!(format(0, 500_000_000), "1970-01-01T00:00:00.500Z");
        assert_eq!(format(0, 120_000), "1970-01-01T00:00:00.000120Z");
        assert_eq!(format(0, 1), "1970-01-01T00:00:00.000000001Z");
        assert_eq!(format(-1, 999_999_999), "1969-12-31T23:59:59.999999999Z");
    }

    #[test]
    fn years_outside_four_digits_carry_a_sign() {
        assert_eq!(format(253_402_300_800, 0), "+10000-01-01T00:00:00Z");
        assert_eq!(format(-62_167_219_201, 0), "-0001-12-31T23:59:59Z");
    }

    #[test]
    fn nanos_of_a_second_or_more_are_a_leap_second_only_at_59() {
        assert_eq!(format(1_483_228_799, 1_000_000_000), "2016-12-31T23:59:60Z");
        assert_eq!(
            format(1_483_228_799, 1_500_000_000),
            "2016-12-31T23:59:60.500Z"
        );
        assert_eq!(
            format(1_483_228_800, 1_000_000_000),
            "1483228800.1000000000s since 1970-01-01T00:00:00Z"
        );
        assert_eq!(
            format(1_483_228_799, 2_000_000_000),
            "1483228799.2000000000s since 1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn instants_without_a_date_are_written_in_seconds() {
        assert_eq!(
            format(i64::MAX, 0),
            "9223372036854775807.000000000s since 1970-01-01T00:00:00Z"
        );
        assert_eq!(
            format(i64::MIN, 7),
            "-9223372036854775808.000000007s since 1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn the_last_and_first_dates_printed_are_those_of_years_262142_and_minus_262143() {
        let last = midnight(262_142, 12, 31) + 86_399;
        assert_eq!(format(last, 0), "+262142-12-31T23:59:59Z");
        assert_eq!(
            format(last + 1, 0),
            format!("{}.000000000s since 1970-01-01T00:00:00Z", last + 1)
        );
        let first = midnight(-262_143, 1, 1);
        assert_eq!(format(first, 0), "-262143-01-01T00:00:00Z");
        assert_eq!(
            format(first - 1, 0),
            format!("{}.000000000s since 1970-01-01T00:00:00Z", first - 1)
        );
    }

    /// Midnight UTC at the start of a date, as seconds since the epoch.
    fn midnight(year: i64, month: i64, day: i64) -> i64 {
        crate::calendar::days_from_date(year, month, day) * 86_400
    }

    #[test]
    fn what_format_prints_parse_reads_back() {
        for (seconds, nanos) in [
            (0, 0),
            (-1, 999_999_999),
            (1_767_225_600, 500_000_000),
            (1_767_225_600, 1_000),
            (253_402_300_799, 1),
            (-62_167_219_200, 0),
        ] {
            assert_eq!(parse(&format(seconds, nanos)), Ok((seconds, nanos)));
        }
    }
}
