//! Exact timestamp arithmetic: STIX timestamps to integer nanoseconds.

use stixshift_pattern::Timestamp;

/// Nanoseconds in one minute.
pub const NANOS_PER_MINUTE: i128 = 60 * 1_000_000_000;

/// Sysdig's longest query window: 14 days, in nanoseconds.
pub const MAX_WINDOW_NS: i128 = 14 * 86_400 * 1_000_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            if leap {
                29
            } else {
                28
            }
        }
    }
}

/// A STIX timestamp as exact nanoseconds since the epoch. Fractions beyond
/// nanoseconds round up, so that `t >= start` and `t < stop` keep their
/// meaning for events with nanosecond timestamps. `None` when the date does
/// not exist (February 30) or the second is a leap second (`60`).
pub fn timestamp_ns(t: &Timestamp) -> Option<i128> {
    let p = t.parts();
    if p.day > days_in_month(p.year, p.month) || p.second > 59 {
        return None;
    }
    let days = i128::from(days_from_civil(i64::from(p.year), p.month, p.day));
    let secs = days * 86_400
        + i128::from(p.hour) * 3600
        + i128::from(p.minute) * 60
        + i128::from(p.second);
    let digits = p.fraction.as_bytes();
    let mut frac: i128 = 0;
    for i in 0..9 {
        frac = frac * 10 + digits.get(i).map_or(0, |d| i128::from(d - b'0'));
    }
    if digits.len() > 9 && digits[9..].iter().any(|d| *d != b'0') {
        frac += 1;
    }
    Some(secs * 1_000_000_000 + frac)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for a time in milliseconds since the epoch.
pub fn format_millis(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

/// The date of a day number (inverse of [`days_from_civil`]).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(s: &str) -> Option<i128> {
        timestamp_ns(&Timestamp { text: s.into() })
    }

    #[test]
    fn exact_nanoseconds() {
        assert_eq!(
            ns("2023-10-25T16:43:26.000Z"),
            Some(1_698_252_206_000_000_000)
        );
        assert_eq!(
            ns("2023-11-05T16:43:26.003Z"),
            Some(1_699_202_606_003_000_000)
        );
        assert_eq!(
            ns("2023-11-05T16:43:26.12Z"),
            Some(1_699_202_606_120_000_000)
        );
        assert_eq!(ns("1969-12-31T23:59:59Z"), Some(-1_000_000_000));
        assert_eq!(
            ns("2023-10-25T16:43:26.123456789Z"),
            Some(1_698_252_206_123_456_789)
        );
        assert_eq!(
            ns("2023-10-25T16:43:26.0000000001Z"),
            Some(1_698_252_206_000_000_001)
        );
        assert_eq!(ns("2024-02-29T00:00:00Z"), Some(1_709_164_800_000_000_000));
        assert_eq!(ns("2023-02-29T00:00:00Z"), None);
        assert_eq!(ns("2023-02-30T16:43:26.000Z"), None);
        assert_eq!(ns("2016-12-31T23:59:60Z"), None);
    }

    #[test]
    fn civil_round_trip() {
        for days in [-800_000, -1, 0, 1, 19_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(format_millis(1_698_252_206_007), "2023-10-25T16:43:26.007Z");
        assert_eq!(format_millis(-1), "1969-12-31T23:59:59.999Z");
    }
}
