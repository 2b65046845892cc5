//! Nanosecond timestamps and their RFC 3339 form.
//!
//! The legacy API carries event timestamps as RFC 3339 UTC strings with exactly
//! nine fraction digits (`2023-11-01T17:15:14.635115435Z`); the v1 API and every
//! query parameter use Unix nanoseconds (`i64`). Only UTC (`Z` or `+00:00`) and
//! explicit offsets are read; output is always `Z` with nine digits.

/// Nanoseconds in one second.
pub const NANOS_PER_SEC: i64 = 1_000_000_000;
/// Nanoseconds in one day.
pub const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SEC;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Formats Unix nanoseconds as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
///
/// ```
/// use stixshift_simulator::time::format_rfc3339_nanos;
/// assert_eq!(format_rfc3339_nanos(1_698_858_914_635_115_435), "2023-11-01T17:15:14.635115435Z");
/// ```
pub fn format_rfc3339_nanos(ns: i64) -> String {
    let secs = ns.div_euclid(NANOS_PER_SEC);
    let frac = ns.rem_euclid(NANOS_PER_SEC);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:09}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

fn digits(s: &[u8], at: usize, n: usize) -> Option<i64> {
    let part = s.get(at..at + n)?;
    if !part.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        part.iter()
            .fold(0i64, |acc, b| acc * 10 + i64::from(b - b'0')),
    )
}

/// Parses an RFC 3339 timestamp (`T` or space separator, 0–9 fraction digits,
/// `Z` or `±HH:MM`) into Unix nanoseconds. Returns `None` for anything else.
///
/// ```
/// use stixshift_simulator::time::parse_rfc3339_nanos;
/// assert_eq!(parse_rfc3339_nanos("2023-11-01T17:15:14.635115435Z"), Some(1_698_858_914_635_115_435));
/// assert_eq!(parse_rfc3339_nanos("1970-01-01T01:00:00+01:00"), Some(0));
/// assert_eq!(parse_rfc3339_nanos("2023-02-30T00:00:00Z"), None);
/// ```
pub fn parse_rfc3339_nanos(text: &str) -> Option<i64> {
    let s = text.as_bytes();
    let y = digits(s, 0, 4)?;
    let mo = digits(s, 5, 2)?;
    let d = digits(s, 8, 2)?;
    let h = digits(s, 11, 2)?;
    let mi = digits(s, 14, 2)?;
    let se = digits(s, 17, 2)?;
    if s.get(4) != Some(&b'-')
        || s.get(7) != Some(&b'-')
        || !matches!(s.get(10), Some(b'T' | b't' | b' '))
        || s.get(13) != Some(&b':')
        || s.get(16) != Some(&b':')
    {
        return None;
    }
    if !(1..=12).contains(&mo) || h > 23 || mi > 59 || se > 59 {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if d < 1 || d > month_days[(mo - 1) as usize] {
        return None;
    }
    let mut i = 19;
    let mut frac = 0i64;
    if s.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        let n = i - start;
        if n == 0 || n > 9 {
            return None;
        }
        frac = digits(s, start, n)? * 10i64.pow((9 - n) as u32);
    }
    let offset_secs = match s.get(i) {
        Some(b'Z' | b'z') if i + 1 == s.len() => 0,
        Some(sign @ (b'+' | b'-')) if i + 6 == s.len() && s[i + 3] == b':' => {
            let oh = digits(s, i + 1, 2)?;
            let om = digits(s, i + 4, 2)?;
            let off = oh * 3600 + om * 60;
            if *sign == b'+' {
                off
            } else {
                -off
            }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset_secs;
    secs.checked_mul(NANOS_PER_SEC)?.checked_add(frac)
}

/// Reads an event `timestamp`: an RFC 3339 string (legacy) or integer
/// nanoseconds (v1), either as a JSON number or a digit string.
pub fn event_timestamp_nanos(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.parse::<i64>().ok().or_else(|| parse_rfc3339_nanos(s)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for ns in [
            0,
            1,
            -1,
            1_698_252_206_000_000_000,
            1_699_202_606_003_000_064,
            -1_000_000_000,
            4_102_444_799_999_999_999,
        ] {
            let text = format_rfc3339_nanos(ns);
            assert_eq!(parse_rfc3339_nanos(&text), Some(ns), "{text}");
        }
        assert_eq!(format_rfc3339_nanos(-1), "1969-12-31T23:59:59.999999999Z");
    }

    #[test]
    fn parses_short_fractions_and_offsets() {
        assert_eq!(
            parse_rfc3339_nanos("2023-10-25T16:43:26.5Z"),
            Some(1_698_252_206_500_000_000)
        );
        assert_eq!(
            parse_rfc3339_nanos("2023-10-25T16:43:26Z"),
            Some(1_698_252_206_000_000_000)
        );
        assert_eq!(
            parse_rfc3339_nanos("2023-10-25T18:43:26+02:00"),
            Some(1_698_252_206_000_000_000)
        );
        for bad in [
            "",
            "2023-13-01T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "2023-10-25T16:43:26.1234567890Z",
            "2023-10-25T16:43:26",
            "2023-10-25T16:43:26.Z",
            "2023-10-25T24:00:00Z",
        ] {
            assert_eq!(parse_rfc3339_nanos(bad), None, "{bad}");
        }
        assert_eq!(
            parse_rfc3339_nanos("2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000_000_000)
        );
    }
}
