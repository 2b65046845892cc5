//! Date arithmetic (proleptic Gregorian, UTC) and the `TimestampConversion`
//! parsing, without a date library.

use std::borrow::Cow;

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Civil date of a day count since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for milliseconds since the epoch.
pub(crate) fn format_unix_millis(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let (date, tod) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, d) = civil_from_days(date);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    )
}

struct Parsed<'a> {
    y: i64,
    mo: u32,
    d: u32,
    h: u32,
    mi: u32,
    s: u32,
    sep: u8,
    frac: Option<&'a str>,
    /// Offset east of UTC in minutes; `None` for `Z`.
    offset: Option<i32>,
    zulu: bool,
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let part = b.get(at..at + n)?;
    if !part.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(part.iter().fold(0, |acc, c| acc * 10 + u32::from(c - b'0')))
}

fn parse(s: &str) -> Option<Parsed<'_>> {
    let b = s.as_bytes();
    let y = digits(b, 0, 4)?;
    let ok = b.get(4) == Some(&b'-') && b.get(7) == Some(&b'-') && b.get(13) == Some(&b':');
    if !ok || b.get(16) != Some(&b':') {
        return None;
    }
    let (mo, d) = (digits(b, 5, 2)?, digits(b, 8, 2)?);
    let sep = *b.get(10)?;
    if sep != b'T' && sep != b' ' {
        return None;
    }
    let (h, mi, sec) = (digits(b, 11, 2)?, digits(b, 14, 2)?, digits(b, 17, 2)?);
    let mut i = 19;
    let mut frac = None;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        let mut end = start;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        if end == start || end - start > 9 {
            return None;
        }
        frac = Some(&s[start..end]);
        i = end;
    }
    let rest = &b[i..];
    let (offset, zulu) = match rest {
        [] => (Some(0), false),
        [b'Z'] | [b'z'] => (None, true),
        [sign @ (b'+' | b'-'), ..] => {
            let (oh, om) = match rest.len() {
                6 if rest[3] == b':' => (digits(rest, 1, 2)?, digits(rest, 4, 2)?),
                5 => (digits(rest, 1, 2)?, digits(rest, 3, 2)?),
                3 => (digits(rest, 1, 2)?, 0),
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            let off = (oh * 60 + om) as i32;
            (Some(if *sign == b'-' { -off } else { off }), false)
        }
        _ => return None,
    };
    let y = i64::from(y);
    if !(1..=12).contains(&mo)
        || d == 0
        || d > days_in_month(y, mo)
        || h > 23
        || mi > 59
        || sec > 59
    {
        return None;
    }
    Some(Parsed {
        y,
        mo,
        d,
        h,
        mi,
        s: sec,
        sep,
        frac,
        offset,
        zulu,
    })
}

/// Whether `s` is a STIX timestamp as the bundle needs it:
/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z` with valid ranges.
pub(crate) fn is_stix_timestamp(s: &str) -> bool {
    matches!(parse(s), Some(p) if p.sep == b'T' && p.zulu)
}

/// `TimestampConversion`: Sysdig/ISO text to a STIX UTC timestamp.
///
/// * already `…THH:MM:SS[.f]Z` → unchanged (nanoseconds kept);
/// * `YYYY-MM-DD HH:MM:SS.f+HH:MM` (the reference's form) → the fraction padded
///   to 6 digits (`.000` when absent), **converted to UTC**;
/// * other offsets, `T` separator, no offset (taken as UTC), 7–9 fraction
///   digits → converted to UTC, fraction kept as written;
/// * anything else → `None`.
///
/// What it returns is always a STIX timestamp ([`is_stix_timestamp`]).
pub(crate) fn convert(s: &str) -> Option<Cow<'_, str>> {
    let p = parse(s)?;
    if p.zulu && p.sep == b'T' {
        return Some(Cow::Borrowed(s));
    }
    let offset = i64::from(p.offset.unwrap_or(0));
    let local = days_from_civil(p.y, p.mo, p.d) * 86400
        + i64::from(p.h) * 3600
        + i64::from(p.mi) * 60
        + i64::from(p.s);
    let utc = local - offset * 60;
    let (date, tod) = (utc.div_euclid(86400), utc.rem_euclid(86400));
    let (y, m, d) = civil_from_days(date);
    if !(0..=9999).contains(&y) {
        return None;
    }
    let frac = match p.frac {
        None => "000".to_owned(),
        Some(f) if p.sep == b' ' && f.len() <= 6 => format!("{f:0<6}"),
        Some(f) => f.to_owned(),
    };
    Some(Cow::Owned(format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac}Z",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for z in [-800_000, -1, 0, 1, 59, 10_957, 19_662, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn millis_format() {
        assert_eq!(format_unix_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_unix_millis(1_698_858_914_635),
            "2023-11-01T17:15:14.635Z"
        );
        assert_eq!(format_unix_millis(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn conversions() {
        for (input, out) in [
            (
                "2023-11-01T17:15:14.635115435Z",
                Some("2023-11-01T17:15:14.635115435Z"),
            ),
            (
                "2023-11-01 17:15:14.1+00:00",
                Some("2023-11-01T17:15:14.100000Z"),
            ),
            (
                "2023-11-01 17:15:14+00:00",
                Some("2023-11-01T17:15:14.000Z"),
            ),
            (
                "2023-11-01 17:15:14.123456+05:30",
                Some("2023-11-01T11:45:14.123456Z"),
            ),
            (
                "2023-11-01 22:15:14.5-05:00",
                Some("2023-11-02T03:15:14.500000Z"),
            ),
            (
                "2024-03-01T00:30:00.123456789+01:00",
                Some("2024-02-29T23:30:00.123456789Z"),
            ),
            ("2023-11-01 17:15:14", Some("2023-11-01T17:15:14.000Z")),
            ("abc", None),
            ("", None),
            ("2023-02-30 10:00:00+00:00", None),
            ("2023-13-01T10:00:00Z", None),
            ("2023-11-01T17:15:14.1234567890Z", None),
            ("x2023-11-01T17:15:14Z", None),
        ] {
            assert_eq!(convert(input).as_deref(), out, "{input}");
            // The engine relies on it (no second check of a converted time).
            assert!(
                convert(input).is_none_or(|c| is_stix_timestamp(&c)),
                "{input}"
            );
        }
    }
}
