//! JSON text exactly as Python's `json.dumps(value, indent=4)` writes it
//! (stix-shifter's CLI output): four-space indent, `": "` between key and
//! value, non-ASCII escaped as `\uXXXX` (astral characters as surrogate
//! pairs), floats in Python's `repr` form.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{Formatter, PrettyFormatter};

/// A `serde_json` formatter that reproduces Python's `json.dumps` output.
///
/// With `indent = true` it matches `json.dumps(v, indent=4)`; with
/// `indent = false` it matches `json.dumps(v)` (separators `", "` and `": "`).
pub struct PyFormatter {
    pretty: Option<PrettyFormatter<'static>>,
}

impl PyFormatter {
    /// `json.dumps(v, indent=4)`.
    pub fn pretty() -> Self {
        PyFormatter {
            pretty: Some(PrettyFormatter::with_indent(b"    ")),
        }
    }

    /// `json.dumps(v)`: one line, `", "` and `": "` separators.
    pub fn compact() -> Self {
        PyFormatter { pretty: None }
    }
}

macro_rules! delegate {
    ($($name:ident ( $($arg:ident : $ty:ty),* ) => $compact:expr;)*) => {
        $(
            fn $name<W: ?Sized + Write>(&mut self, writer: &mut W $(, $arg: $ty)*) -> io::Result<()> {
                match &mut self.pretty {
                    Some(p) => p.$name(writer $(, $arg)*),
                    None => {
                        let compact: &dyn Fn(&mut W) -> io::Result<()> = &$compact;
                        compact(writer)
                    }
                }
            }
        )*
    };
}

impl Formatter for PyFormatter {
    delegate! {
        begin_array() => |w: &mut W| w.write_all(b"[");
        end_array() => |w: &mut W| w.write_all(b"]");
        begin_array_value(first: bool) => |w: &mut W| if first { Ok(()) } else { w.write_all(b", ") };
        end_array_value() => |_w: &mut W| Ok(());
        begin_object() => |w: &mut W| w.write_all(b"{");
        end_object() => |w: &mut W| w.write_all(b"}");
        begin_object_key(first: bool) => |w: &mut W| if first { Ok(()) } else { w.write_all(b", ") };
        begin_object_value() => |w: &mut W| w.write_all(b": ");
        end_object_value() => |_w: &mut W| Ok(());
    }

    fn write_f64<W: ?Sized + Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(python_float_repr(value).as_bytes())
    }

    fn write_f32<W: ?Sized + Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(writer, f64::from(value))
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // Most text is plain ASCII: one check, one write.
        if fragment.bytes().all(|b| b < 0x7f) {
            return writer.write_all(fragment.as_bytes());
        }
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            // Python escapes everything outside ' '..='~' (DEL included).
            if c.is_ascii() && c != '\x7f' {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[start..i])?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// Python's `repr(float)`: shortest round-trip digits, fixed notation for
/// decimal exponents in `-4..16`, otherwise `1e+16` / `1.5e-05` style.
pub fn python_float_repr(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    // `{:e}` gives the shortest round-trip digits, e.g. "1.5e-5", "-1e16".
    let sci = format!("{value:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1; // position of the decimal point in `digits`
        let body = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if point as usize >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            format!(
                "{}.{}",
                &digits[..point as usize],
                &digits[point as usize..]
            )
        };
        format!("{sign}{body}")
    } else {
        let mant = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mant}e{esign}{:02}", exp.abs())
    }
}

/// Write `value` as `json.dumps(value, indent=4)` does.
pub fn to_writer_pretty<W: Write, T: Serialize + ?Sized>(writer: W, value: &T) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(writer, PyFormatter::pretty());
    value.serialize(&mut ser).map_err(io::Error::from)
}

/// `json.dumps(value, indent=4)` as a `String`.
pub fn to_string_pretty<T: Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail, and serde_json::Value always serializes.
    let _ = to_writer_pretty(&mut out, value);
    String::from_utf8(out).unwrap_or_default()
}

/// Write `value` as `json.dumps(value)` does (one line).
pub fn to_writer_compact<W: Write, T: Serialize + ?Sized>(writer: W, value: &T) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(writer, PyFormatter::compact());
    value.serialize(&mut ser).map_err(io::Error::from)
}

/// `json.dumps(value)` (one line) as a `String`.
pub fn to_string_compact<T: Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::new();
    let _ = to_writer_compact(&mut out, value);
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pretty_matches_python_layout() {
        let v = json!({"queries": ["a\"b", "é😀\u{7f}"], "e": [], "o": {}, "n": 1});
        assert_eq!(
            to_string_pretty(&v),
            "{\n    \"queries\": [\n        \"a\\\"b\",\n        \"\\u00e9\\ud83d\\ude00\\u007f\"\n    ],\n    \"e\": [],\n    \"o\": {},\n    \"n\": 1\n}"
        );
    }

    #[test]
    fn compact_uses_python_separators() {
        let v = json!({"a": [1, 2], "b": "x"});
        assert_eq!(to_string_compact(&v), "{\"a\": [1, 2], \"b\": \"x\"}");
    }

    #[test]
    fn float_repr_follows_python() {
        for (f, s) in [
            (1.5, "1.5"),
            (1.0, "1.0"),
            (0.5, "0.5"),
            (-0.5, "-0.5"),
            (1e16, "1e+16"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (123456789012345.0, "123456789012345.0"),
            (1234567890123456.0, "1234567890123456.0"),
            (0.1 + 0.2, "0.30000000000000004"),
        ] {
            assert_eq!(python_float_repr(f), s, "{f}");
        }
    }
}
