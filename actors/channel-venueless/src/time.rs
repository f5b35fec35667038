//! Unix milliseconds as the ISO 8601 text venueless puts in `timestamp` and `edited`.
//!
//! The webapp hands these strings to moment.js to show times and to merge a sender's messages
//! sent within 15 minutes; upstream writes Python's `isoformat()` of a UTC time, so the same form
//! (with an explicit `+00:00`) is used here. No date crate is needed for one conversion.

/// `1700000000123` -> `2023-11-14T22:13:20.123+00:00`.
pub fn iso8601(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let millis = unix_ms % 1000;
    let days = secs / 86_400;
    let rest = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}+00:00",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`,
/// restricted to dates from 1970 on, which unsigned milliseconds cannot go below).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01 so leap days fall at the end of each 400-year era.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // March = 0
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000+00:00");
        assert_eq!(iso8601(1_700_000_000_123), "2023-11-14T22:13:20.123+00:00");
        // A leap day, and the last millisecond of a leap year.
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000+00:00");
        assert_eq!(iso8601(1_735_689_599_999), "2024-12-31T23:59:59.999+00:00");
        assert_eq!(iso8601(4_107_542_400_000), "2100-03-01T00:00:00.000+00:00");
    }

    #[test]
    fn every_month_has_its_length_over_five_centuries() {
        // Counts the days each month gets while walking day by day from 1970.
        let mut counts: std::collections::BTreeMap<(u64, u64), u64> = Default::default();
        let mut previous = (1969, 12, 31);
        for days in 0..(500 * 366) {
            let date = civil_from_days(days);
            assert!(date > previous, "{previous:?} -> {date:?}");
            *counts.entry((date.0, date.1)).or_default() += 1;
            previous = date;
        }
        counts.pop_last(); // the month the walk stopped in
        for ((year, month), days) in counts {
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
            let expected = match month {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            assert_eq!(days, expected, "{year}-{month}");
        }
    }
}
