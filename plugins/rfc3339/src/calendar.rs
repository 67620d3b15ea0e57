//! The proleptic Gregorian calendar as day numbers, 1970-01-01 being day 0,
//! which reading a time and printing one both need.
//!
//! The conversions count years from 1 March, so that 29 February, when a
//! year has it, is the last day of the year and every other month's length
//! follows one formula; this is Howard Hinnant's well-known method
//! (`days_from_civil` and `civil_from_days`).

/// Days in a 400-year cycle, after which the calendar repeats.
const DAYS_PER_ERA: i64 = 146_097;

/// The day number of 0000-03-01, the start of the era the method counts
/// from, relative to 1970-01-01.
const ERA_START_TO_EPOCH: i64 = 719_468;

/// Whether `year` has a 29 February.
fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// The number of days in `month` (1 to 12) of `year`.
pub(crate) fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The day number of a valid date.
pub(crate) fn days_from_date(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * DAYS_PER_ERA + day_of_era - ERA_START_TO_EPOCH
}

/// The date of day number `days`: year, month (1 to 12) and day.
pub(crate) fn date_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + ERA_START_TO_EPOCH;
    let era = days.div_euclid(DAYS_PER_ERA);
    let day_of_era = days.rem_euclid(DAYS_PER_ERA);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = (month_from_march + 2) % 12 + 1;
    let year = era * 400 + year_of_era + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates_have_their_day_numbers() {
        for (date, days) in [
            ((1970, 1, 1), 0),
            ((1969, 12, 31), -1),
            ((2000, 2, 29), 11_016),
            ((2000, 3, 1), 11_017),
            ((2026, 1, 1), 20_454),
            ((0, 1, 1), -719_528),
            ((-1, 12, 31), -719_529),
            ((9999, 12, 31), 2_932_896),
        ] {
            assert_eq!(days_from_date(date.0, date.1, date.2), days, "{date:?}");
            assert_eq!(date_from_days(days), date, "{days}");
        }
    }

    #[test]
    fn every_day_of_a_few_cycles_round_trips_in_order() {
        let mut previous = date_from_days(-2 * DAYS_PER_ERA - 1);
        for days in -2 * DAYS_PER_ERA..2 * DAYS_PER_ERA {
            let (year, month, day) = date_from_days(days);
            assert!((1..=12).contains(&month), "{days}");
            assert!((1..=days_in_month(year, month)).contains(&day), "{days}");
            assert!((year, month, day) > previous, "{days}");
            assert_eq!(days_from_date(year, month, day), days);
            previous = (year, month, day);
        }
    }

    #[test]
    fn leap_years_follow_the_gregorian_rule() {
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2026, 2), 28);
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(0, 2), 29);
        assert_eq!(days_in_month(-4, 2), 29);
        assert_eq!(days_in_month(2026, 4), 30);
        assert_eq!(days_in_month(2026, 12), 31);
    }
}
