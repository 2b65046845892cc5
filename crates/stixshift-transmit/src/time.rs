//! Event timestamps → Unix nanoseconds, for the window guard.

use serde_json::Value;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// An event's `timestamp` in Unix nanoseconds: an integer (the v1 API), a
/// string of digits, or RFC 3339 text with up to 9 fraction digits and `Z`
/// or a `±HH:MM` offset (the legacy API: `2023-11-01T17:15:14.635115435Z`).
/// `None` when absent or unreadable.
/// The nanoseconds of an event's `timestamp` value (integer ns, digit
/// string, or RFC 3339 text).
pub(crate) fn timestamp_value_ns(value: &Value) -> Option<i128> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        Value::String(s) => {
            let digits = s.strip_prefix('-').unwrap_or(s);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                s.parse::<i128>().ok()
            } else {
                parse_rfc3339(s)
            }
        }
        _ => None,
    }
}

/// ASCII digits → number (at most 9 digits, so no overflow).
fn num(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
}

/// RFC 3339 date-time → Unix nanoseconds.
pub(crate) fn parse_rfc3339(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let year = i64::from(num(&b[0..4])?);
    let month = num(&b[5..7])?;
    let day = num(&b[8..10])?;
    let hour = num(&b[11..13])?;
    let minute = num(&b[14..16])?;
    let second = num(&b[17..19])?;
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &b[19..];
    let mut nanos: i128 = 0;
    if let Some(frac) = rest.strip_prefix(b".") {
        let len = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if len == 0 || len > 9 {
            return None;
        }
        let digits = num(&frac[..len])?;
        nanos = i128::from(digits) * 10i128.pow(9 - len as u32);
        rest = &frac[len..];
    }
    let offset_s: i64 = match rest {
        b"Z" | b"z" => 0,
        rb => {
            if rb.len() != 6 || rb[3] != b':' {
                return None;
            }
            let sign = match rb[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let oh = num(&rb[1..3])?;
            let om = num(&rb[4..6])?;
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (i64::from(oh) * 3600 + i64::from(om) * 60)
        }
    };
    let secs = days_from_civil(year, month, day) * 86_400
        + i64::from(hour) * 3600
        + i64::from(minute) * 60
        + i64::from(second)
        - offset_s;
    Some(i128::from(secs) * 1_000_000_000 + nanos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc3339() {
        let cases = [
            ("1970-01-01T00:00:00Z", Some(0)),
            (
                "2023-11-01T17:15:14.635115435Z",
                Some(1_698_858_914_635_115_435),
            ),
            ("2023-11-01T17:15:14.6Z", Some(1_698_858_914_600_000_000)),
            ("2023-11-01T18:15:14+01:00", Some(1_698_858_914_000_000_000)),
            ("2023-11-01 17:15:14z", Some(1_698_858_914_000_000_000)),
            ("1969-12-31T23:59:59.999999999Z", Some(-1)),
            ("2024-02-29T00:00:00Z", Some(1_709_164_800_000_000_000)),
            ("2023-02-29T00:00:00Z", None),
            ("2023-11-01T17:15:14.0123456789Z", None),
            ("2023-11-01T17:15:14.Z", None),
            ("2023-11-01T17:15:14", None),
            ("2023-11-01T24:00:00Z", None),
            ("2023-13-01T00:00:00Z", None),
            ("2023-11-01T17:15:14+0100", None),
            ("x", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_rfc3339(text), expected, "{text}");
        }
    }

    #[test]
    fn event_timestamps() {
        assert_eq!(timestamp_value_ns(&json!(5)), Some(5));
        assert_eq!(timestamp_value_ns(&json!("-5")), Some(-5));
        assert_eq!(
            timestamp_value_ns(&json!("1970-01-01T00:00:01Z")),
            Some(1_000_000_000)
        );
        assert_eq!(timestamp_value_ns(&json!(1.5)), None);
        assert_eq!(timestamp_value_ns(&json!(null)), None);
    }

    #[test]
    fn never_panics_on_odd_text() {
        for s in [
            "",
            "2023-11-01T17:15:14.Ωx",
            "ΩΩΩΩΩΩΩΩΩΩΩΩΩΩΩΩΩΩΩΩ",
            "2023-11-01T17:15:1ΩZ",
        ] {
            let _ = parse_rfc3339(s);
        }
    }
}
