//! Reading an RFC 3339 time.

use crate::Error;
use crate::calendar::{days_from_date, days_in_month};

/// Parses an RFC 3339 time with any offset into seconds and nanoseconds
/// since 1970-01-01T00:00:00Z, nanoseconds below 10^9.
///
/// The syntax is RFC 3339's `date-time`, with what the host has always
/// also accepted: `t`, `z` and a space (between date and time) in any
/// case, a MINUS SIGN (U+2212) for a negative offset, and any number of
/// fractional digits, of which those past the ninth are ignored. An offset
/// is at most `23:59` either way. That is the syntax, and those are the
/// errors, that the host had from chrono before; `tests/chrono_agrees.rs`
/// holds this parser to chrono's, input for input.
///
/// A leap second, `23:59:60`, is read as the first instant of the next
/// minute, so that it still sorts after `23:59:59.999999999` and no time
/// has 10^9 nanoseconds or more. It is accepted at the end of any minute,
/// with any offset, as it always was.
///
/// ```
/// use covenant_rfc3339::{Error, parse};
///
/// assert_eq!(parse("1970-01-01T01:00:00.25+01:00"), Ok((0, 250_000_000)));
/// assert_eq!(parse("2016-12-31T23:59:60Z"), parse("2017-01-01T00:00:00Z"));
/// assert_eq!(parse("2026-02-30T00:00:00Z"), Err(Error::OutOfRange));
/// ```
///
/// When several things are wrong, the error is the first one met reading
/// from the left, except that a time of day out of range (`25:00:00`) is
/// noticed only after the fraction has been read, and an offset out of
/// range only after all the text has.
pub fn parse(text: &str) -> Result<(i64, u32), Error> {
    let bytes = text.as_bytes();
    // Date and time of day without fraction or offset; a text shorter than
    // that is judged short before any of its characters are looked at.
    if bytes.len() < 19 {
        return Err(Error::Truncated);
    }
    let year = digits(&bytes[0..4])?;
    separator(bytes[4], b"-")?;
    let month = digits(&bytes[5..7])?;
    separator(bytes[7], b"-")?;
    let day = digits(&bytes[8..10])?;
    if !(1..=12).contains(&month) || !(1..=days_in_month(year, month)).contains(&day) {
        return Err(Error::OutOfRange);
    }
    separator(bytes[10], b"Tt ")?;
    let hour = digits(&bytes[11..13])?;
    separator(bytes[13], b":")?;
    let minute = digits(&bytes[14..16])?;
    separator(bytes[16], b":")?;
    let second = digits(&bytes[17..19])?;
    let (rest, nanos) = match &bytes[19..] {
        [b'.', rest @ ..] => fraction(rest)?,
        rest => (rest, 0),
    };
    // Second 60 is a leap second, which the sum below makes the next
    // minute's first.
    if hour > 23 || minute > 59 || second > 60 {
        return Err(Error::OutOfRange);
    }
    let (rest, offset) = offset(rest)?;
    if !rest.is_empty() {
        return Err(Error::TrailingInput);
    }
    if offset.abs() >= 24 * 3600 {
        return Err(Error::OutOfRange);
    }
    let seconds =
        days_from_date(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Ok((seconds, nanos))
}

/// The number the ASCII digits `bytes` spell; any other byte is an invalid
/// character.
fn digits(bytes: &[u8]) -> Result<i64, Error> {
    bytes.iter().try_fold(0, |n, &b| match b {
        b'0'..=b'9' => Ok(n * 10 + i64::from(b - b'0')),
        _ => Err(Error::InvalidCharacter),
    })
}

/// Checks that `byte` is one of `allowed`.
fn separator(byte: u8, allowed: &[u8]) -> Result<(), Error> {
    if allowed.contains(&byte) {
        Ok(())
    } else {
        Err(Error::InvalidCharacter)
    }
}

/// Reads the digits after a second's `.` as nanoseconds; returns what
/// follows them.
fn fraction(bytes: &[u8]) -> Result<(&[u8], u32), Error> {
    let count = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    match (count, bytes.is_empty()) {
        (0, true) => return Err(Error::Truncated),
        (0, false) => return Err(Error::InvalidCharacter),
        _ => {}
    }
    // Digits past the ninth are below a nanosecond: dropped, not rounded.
    let kept = count.min(9);
    let nanos = bytes[..kept]
        .iter()
        .fold(0, |n, &b| n * 10 + u32::from(b - b'0'))
        * 10u32.pow(9 - kept as u32);
    Ok((&bytes[count..], nanos))
}

/// Reads `Z` or `±hh:mm` as seconds east of UTC; returns what follows.
fn offset(bytes: &[u8]) -> Result<(&[u8], i64), Error> {
    const MINUS_SIGN: &[u8] = "\u{2212}".as_bytes();
    let (sign, rest) = match bytes {
        [b'Z' | b'z', rest @ ..] => return Ok((rest, 0)),
        [b'+', rest @ ..] => (1, rest),
        [b'-', rest @ ..] => (-1, rest),
        _ if bytes.starts_with(MINUS_SIGN) => (-1, &bytes[MINUS_SIGN.len()..]),
        [] => return Err(Error::Truncated),
        _ => return Err(Error::InvalidCharacter),
    };
    let (hours, rest) = match rest {
        [h1, h2, rest @ ..] => (digits(&[*h1, *h2])?, rest),
        _ => return Err(Error::Truncated),
    };
    let rest = match rest {
        [b':', rest @ ..] => rest,
        [] => return Err(Error::Truncated),
        _ => return Err(Error::InvalidCharacter),
    };
    // Hours may be anything up to 99, the range being checked once the
    // whole text is read; minutes must be below 60 here.
    let (minutes, rest) = match rest {
        [m1 @ b'0'..=b'5', m2 @ b'0'..=b'9', rest @ ..] => (digits(&[*m1, *m2])?, rest),
        [b'6'..=b'9', b'0'..=b'9', ..] => return Err(Error::OutOfRange),
        [_, _, ..] => return Err(Error::InvalidCharacter),
        _ => return Err(Error::Truncated),
    };
    Ok((rest, sign * (hours * 3600 + minutes * 60)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> Error {
        parse(text).unwrap_err()
    }

    #[test]
    fn utc_times_count_from_the_epoch() {
        assert_eq!(parse("1970-01-01T00:00:00Z"), Ok((0, 0)));
        assert_eq!(parse("2026-01-01T00:00:00Z"), Ok((1_767_225_600, 0)));
        assert_eq!(parse("1969-12-31T23:59:59Z"), Ok((-1, 0)));
        assert_eq!(parse("0000-01-01T00:00:00Z"), Ok((-62_167_219_200, 0)));
        assert_eq!(parse("9999-12-31T23:59:59Z"), Ok((253_402_300_799, 0)));
        assert_eq!(parse("2024-02-29T12:00:00Z"), Ok((1_709_208_000, 0)));
    }

    #[test]
    fn offsets_are_normalised_to_utc() {
        let utc = parse("2026-03-01T06:30:00Z").unwrap();
        assert_eq!(parse("2026-03-01T12:00:00+05:30"), Ok(utc));
        assert_eq!(parse("2026-03-01T01:30:00-05:00"), Ok(utc));
        assert_eq!(parse("2026-03-01T01:30:00\u{2212}05:00"), Ok(utc));
        assert_eq!(parse("2026-03-01T06:30:00+00:00"), Ok(utc));
        assert_eq!(parse("2026-03-01T06:30:00-00:00"), Ok(utc));
        // Across a day, a year and the epoch.
        assert_eq!(
            parse("2026-01-01T00:00:00+08:00"),
            parse("2025-12-31T16:00:00Z")
        );
        assert_eq!(parse("1970-01-01T00:00:00+23:59"), Ok((-86_340, 0)));
        assert_eq!(parse("1969-12-31T00:01:00-23:59"), Ok((0, 0)));
    }

    #[test]
    fn an_offset_of_a_day_or_more_is_out_of_range() {
        assert_eq!(error("2026-01-01T00:00:00+24:00"), Error::OutOfRange);
        assert_eq!(error("2026-01-01T00:00:00-99:59"), Error::OutOfRange);
        assert_eq!(error("2026-01-01T00:00:00+00:60"), Error::OutOfRange);
    }

    #[test]
    fn a_leap_second_is_the_next_minutes_first_instant() {
        assert_eq!(parse("2016-12-31T23:59:60Z"), parse("2017-01-01T00:00:00Z"));
        let (seconds, nanos) = parse("2016-12-31T23:59:60.5Z").unwrap();
        assert_eq!((seconds, nanos), (1_483_228_800, 500_000_000));
        assert!(parse("2016-12-31T23:59:59.999999999Z").unwrap() < (seconds, 0));
        // With an offset, and in any minute.
        assert_eq!(
            parse("2017-01-01T08:59:60+09:00"),
            parse("2017-01-01T00:00:00Z")
        );
        assert_eq!(parse("2026-05-05T10:20:60Z"), parse("2026-05-05T10:21:00Z"));
        assert_eq!(error("2016-12-31T23:59:61Z"), Error::OutOfRange);
    }

    #[test]
    fn fractions_keep_nine_digits_and_drop_the_rest() {
        assert_eq!(parse("1970-01-01T00:00:00.5Z"), Ok((0, 500_000_000)));
        assert_eq!(parse("1970-01-01T00:00:00.000000001Z"), Ok((0, 1)));
        assert_eq!(
            parse("1970-01-01T00:00:00.1234567899999Z"),
            Ok((0, 123_456_789))
        );
        assert_eq!(parse("1969-12-31T23:59:59.75Z"), Ok((-1, 750_000_000)));
        assert_eq!(error("1970-01-01T00:00:00.Z"), Error::InvalidCharacter);
        assert_eq!(error("1970-01-01T00:00:00."), Error::Truncated);
    }

    #[test]
    fn separators_may_be_lower_case_or_a_space() {
        let t = parse("2026-01-01T00:00:00Z");
        assert_eq!(parse("2026-01-01t00:00:00z"), t);
        assert_eq!(parse("2026-01-01 00:00:00Z"), t);
        assert_eq!(error("2026-01-01_00:00:00Z"), Error::InvalidCharacter);
    }

    #[test]
    fn impossible_dates_and_times_are_out_of_range() {
        for text in [
            "2026-02-29T00:00:00Z",
            "2100-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-00-01T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-00T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:60:00Z",
        ] {
            assert_eq!(error(text), Error::OutOfRange, "{text}");
        }
    }

    #[test]
    fn short_text_and_trailing_text_are_named_as_such() {
        assert_eq!(error(""), Error::Truncated);
        assert_eq!(error("soon"), Error::Truncated);
        assert_eq!(error("2026-01-01"), Error::Truncated);
        assert_eq!(error("2026-01-01T00:00:00"), Error::Truncated);
        assert_eq!(error("2026-01-01T00:00:00+08"), Error::Truncated);
        assert_eq!(error("2026-01-01T00:00:00+08:0"), Error::Truncated);
        assert_eq!(error("2026-01-01T00:00:00Z "), Error::TrailingInput);
        assert_eq!(error("2026-01-01T00:00:00+08:00:00"), Error::TrailingInput);
    }

    #[test]
    fn anything_but_the_syntax_is_an_invalid_character() {
        for text in [
            "yesterday at noon!!",
            "2026/01/01T00:00:00Z",
            "+2026-01-01T00:00:00Z",
            "2026-1-01T00:00:00Z0",
            "2026-01-01T00:00:00 Z",
            "2026-01-01T00:00:00+0800",
            "2026-01-01T00:00:00UTC",
            "2026-01-01T00:00:00+08:x0",
            "２０２６-01-01T00:00:00Z",
        ] {
            assert_eq!(error(text), Error::InvalidCharacter, "{text}");
        }
    }

    #[test]
    fn the_first_problem_from_the_left_decides_the_error() {
        // The date is judged before the separator after it ...
        assert_eq!(error("2026-02-30x00:00:00Z"), Error::OutOfRange);
        // ... the fraction before the time of day ...
        assert_eq!(error("2026-01-01T25:00:00.xZ"), Error::InvalidCharacter);
        assert_eq!(error("2026-01-01T25:00:00Z"), Error::OutOfRange);
        // ... and the offset's range only once the text has ended.
        assert_eq!(error("2026-01-01T00:00:00+24:00!"), Error::TrailingInput);
    }

    #[test]
    fn errors_read_as_the_host_has_always_written_them() {
        assert_eq!(Error::Truncated.to_string(), "premature end of input");
        assert_eq!(
            Error::InvalidCharacter.to_string(),
            "input contains invalid characters"
        );
        assert_eq!(Error::OutOfRange.to_string(), "input is out of range");
        assert_eq!(Error::TrailingInput.to_string(), "trailing input");
    }
}
