//! Holds the crate to chrono, which the host and the SDK both used to read
//! and print times before it: every text must get the same instant or the
//! same error, and every instant the same text, as they got from chrono
//! (with the host's reading of a leap second).
//!
//! The texts are valid times of every shape and, from each, every prefix
//! and every one-character deletion, replacement and insertion, so that
//! each position's errors are compared; and a grid of dates, times and
//! offsets around every field's limits.

use chrono::{DateTime, NaiveDate, SecondsFormat};

/// What the host made of a text with chrono.
fn chrono_parse(text: &str) -> Result<(i64, u32), String> {
    let parsed = DateTime::parse_from_rfc3339(text).map_err(|e| e.to_string())?;
    let (seconds, nanos) = (parsed.timestamp(), parsed.timestamp_subsec_nanos());
    Ok(if nanos >= 1_000_000_000 {
        (seconds + 1, nanos - 1_000_000_000)
    } else {
        (seconds, nanos)
    })
}

/// What the host and the SDK printed for an instant with chrono.
fn chrono_format(seconds: i64, nanos: u32) -> String {
    DateTime::from_timestamp(seconds, nanos)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .unwrap_or_else(|| format!("{seconds}.{nanos:09}s since 1970-01-01T00:00:00Z"))
}

fn assert_same_reading(text: &str) {
    let ours = covenant_rfc3339::parse(text).map_err(|e| e.to_string());
    assert_eq!(ours, chrono_parse(text), "reading {text:?}");
}

const SEEDS: &[&str] = &[
    "2026-01-01T00:00:00Z",
    "2016-12-31T23:59:60Z",
    "2016-12-31T23:59:60.5+01:00",
    "2024-02-29t12:34:56.789z",
    "0000-01-01 00:00:00-23:59",
    "9999-12-31T23:59:59.999999999+23:59",
    "2026-03-01T12:00:00.1234567891234\u{2212}05:30",
    "1969-12-31T23:59:59.000001Z",
    "2100-02-28T00:00:00+00:00",
];

const CHARACTERS: &[char] = &[
    '0', '1', '2', '3', '5', '6', '9', '-', '+', ':', '.', 'T', 't', ' ', 'Z', 'z', 'x',
    '\u{2212}', 'é',
];

#[test]
fn every_edit_of_a_valid_time_reads_as_chrono_read_it() {
    let mut count = 0;
    for seed in SEEDS {
        let chars: Vec<char> = seed.chars().collect();
        let text = |chars: &[char]| chars.iter().collect::<String>();
        for i in 0..=chars.len() {
            assert_same_reading(&text(&chars[..i]));
            for &c in CHARACTERS {
                let mut inserted = chars.clone();
                inserted.insert(i, c);
                assert_same_reading(&text(&inserted));
                if i < chars.len() {
                    let mut replaced = chars.clone();
                    replaced[i] = c;
                    assert_same_reading(&text(&replaced));
                }
            }
            if i < chars.len() {
                let mut deleted = chars.clone();
                deleted.remove(i);
                assert_same_reading(&text(&deleted));
            }
            count += 1;
        }
    }
    assert!(count > 250, "{count}");
}

#[test]
fn every_field_at_and_past_its_limits_reads_as_chrono_read_it() {
    for year in ["0000", "1900", "1970", "2000", "2024", "2026", "9999"] {
        for month in ["00", "01", "02", "04", "12", "13", "99"] {
            for day in ["00", "01", "28", "29", "30", "31", "32"] {
                for time in [
                    "00:00:00", "23:59:59", "23:59:60", "23:59:61", "24:00:00", "12:60:00",
                    "12:30:60", "99:99:99",
                ] {
                    for rest in [
                        "Z", ".5Z", ".Z", "+23:59", "-23:59", "+24:00", "-00:00", "+99:59",
                        "+05:60", "+05:6", "+05", "+0530", "",
                    ] {
                        assert_same_reading(&format!("{year}-{month}-{day}T{time}{rest}"));
                    }
                }
            }
        }
    }
}

#[test]
fn every_instant_prints_as_chrono_printed_it() {
    let last_date = NaiveDate::MAX
        .and_hms_opt(23, 59, 59)
        .unwrap()
        .and_utc()
        .timestamp();
    let first_date = NaiveDate::MIN
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp();
    let mut seconds = vec![
        0,
        -1,
        59,
        60,
        1_483_228_799,
        1_767_225_600,
        253_402_300_799,
        253_402_300_800,
        -62_167_219_200,
        -62_167_219_201,
        last_date,
        last_date + 1,
        first_date,
        first_date - 1,
        i64::MAX,
        i64::MIN,
    ];
    // And a spread of others, from a fixed linear congruential sequence.
    let mut state: u64 = 1;
    for _ in 0..2_000 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        seconds.push((state >> 20) as i64 - (1 << 43));
    }
    let nanos = [
        0,
        1,
        999,
        1_000,
        120_000,
        1_000_000,
        500_000_000,
        999_999_999,
        1_000_000_000,
        1_500_000_001,
        1_999_999_999,
        2_000_000_000,
        u32::MAX,
    ];
    for &s in &seconds {
        // The second itself, and the last of its minute, which may be a
        // leap second.
        let last_of_minute = s
            .checked_sub(s.rem_euclid(60))
            .and_then(|minute| minute.checked_add(59));
        for t in [Some(s), last_of_minute].into_iter().flatten() {
            for n in nanos {
                assert_eq!(
                    covenant_rfc3339::format(t, n),
                    chrono_format(t, n),
                    "printing ({t}, {n})"
                );
            }
        }
    }
}
