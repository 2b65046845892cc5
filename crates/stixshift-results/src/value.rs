//! A small JSON value that borrows strings from the input when it can, and
//! the Python-layout writer the bundle is printed with.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

/// A JSON value; strings and keys borrow from the input where possible.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val<'a> {
    Null,
    Bool(bool),
    Num(Number),
    Str(Cow<'a, str>),
    Arr(Vec<Val<'a>>),
    Obj(Vec<(Cow<'a, str>, Val<'a>)>),
    /// A value left open in an output template (`crate::template`): the
    /// writers put [`HOLE`] and its number and level where it goes.
    Hole(u32),
}

/// First byte of a [`Val::Hole`] in written output, followed by the hole's
/// number and its nesting level (4 bytes each, little-endian). Written
/// JSON never holds a raw NUL (strings escape every control character).
pub(crate) const HOLE: u8 = 0;

fn write_hole(out: &mut Vec<u8>, n: u32, level: usize) {
    out.push(HOLE);
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&u32::try_from(level).unwrap_or(u32::MAX).to_le_bytes());
}

impl Val<'_> {
    /// What kind of JSON value this is, for messages (as
    /// `preprocess::kind` words it).
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Val::Null => "null",
            Val::Bool(_) => "a boolean",
            Val::Num(_) => "a number",
            Val::Str(_) => "a string",
            Val::Arr(_) => "an array",
            Val::Obj(_) => "an object",
            Val::Hole(_) => "a template hole",
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn from_value(v: &Value) -> Val<'_> {
        match v {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => Val::Num(n.clone()),
            Value::String(s) => Val::Str(Cow::Borrowed(s)),
            Value::Array(a) => Val::Arr(a.iter().map(Val::from_value).collect()),
            Value::Object(o) => Val::Obj(
                o.iter()
                    .map(|(k, v)| (Cow::Borrowed(k.as_str()), Val::from_value(v)))
                    .collect(),
            ),
        }
    }

    #[cfg(test)]
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(*b),
            Val::Num(n) => Value::Number(n.clone()),
            Val::Str(s) => Value::String(s.to_string()),
            Val::Arr(a) => Value::Array(a.iter().map(Val::to_value).collect()),
            Val::Obj(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| (k.to_string(), v.to_value()))
                    .collect(),
            ),
            Val::Hole(_) => Value::Null,
        }
    }

    /// Compact JSON with sorted keys and UTF-8 kept (the STIX 2.1 id name form).
    pub(crate) fn write_canonical(&self, out: &mut Vec<u8>) {
        match self {
            Val::Obj(o) => {
                let mut keys: Vec<&(Cow<'_, str>, Val<'_>)> = o.iter().collect();
                keys.sort_by(|a, b| a.0.cmp(&b.0));
                write_seq(out, b'{', b",", b'}', keys, |out, (k, v)| {
                    write_str_utf8(out, k);
                    out.push(b':');
                    v.write_canonical(out);
                });
            }
            Val::Arr(a) => write_seq(out, b'[', b",", b']', a, |out, v| v.write_canonical(out)),
            Val::Str(s) => write_str_utf8(out, s),
            other => write_scalar(out, other),
        }
    }
}

impl<'de> Deserialize<'de> for Val<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValVisitor)
    }
}

struct ValVisitor;

impl<'de> Visitor<'de> for ValVisitor {
    type Value = Val<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Val::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Val::Num(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Val::Num(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Number::from_f64(v).map_or(Val::Null, Val::Num))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Val::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Val::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Val::Str(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Val::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Val::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Val::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(Val::Arr(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out: Vec<(Cow<'de, str>, Val<'de>)> = Vec::new();
        while let Some(k) = map.next_key::<CowStr<'de>>()? {
            let v: Val<'de> = map.next_value()?;
            // JSON objects with duplicate keys: the last value wins, as in Python.
            if let Some(slot) = out.iter_mut().find(|(key, _)| *key == k.0) {
                slot.1 = v;
            } else {
                out.push((k.0, v));
            }
        }
        Ok(Val::Obj(out))
    }
}

/// A map key or string that borrows when the deserializer allows it.
pub(crate) struct CowStr<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

// ---------------------------------------------------------------------------
// Writing, in `json.dumps(..., indent=4)` layout.

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Bytes `write_str` must escape: controls, `"`, `\\`, DEL and non-ASCII.
static NEEDS_ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = i < 0x20 || i >= 0x7f || i == b'"' as usize || i == b'\\' as usize;
        i += 1;
    }
    t
};

/// Drop a value that is no longer wanted, without a call to its drop glue
/// when it owns nothing (a borrowed string, `null`, a boolean, a number
/// unless numbers own text: most values an event drops).
#[inline(always)]
pub(crate) fn discard(v: Val<'_>) {
    let owns_nothing = match v {
        Val::Str(Cow::Borrowed(_)) | Val::Null | Val::Bool(_) | Val::Hole(_) => true,
        // serde_json's `arbitrary_precision` keeps a number's text.
        Val::Num(_) => !std::mem::needs_drop::<Number>(),
        _ => false,
    };
    if owns_nothing {
        // No memory to free: nothing leaks.
        std::mem::forget(v);
    } else {
        drop(v);
    }
}

/// A JSON string with Python's escaping: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`,
/// `\f`, other controls and every non-ASCII character as `\uXXXX`.
#[inline]
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    match first_to_escape(bytes) {
        None => out.extend_from_slice(bytes),
        Some(i) => write_str_escaped(out, s, i),
    }
    out.push(b'"');
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The eight bytes at `i`, as a little-endian word, if there are eight.
#[inline]
pub(crate) fn word_at(bytes: &[u8], i: usize) -> Option<u64> {
    let chunk = bytes.get(i..i + 8)?;
    let mut w = [0u8; 8];
    w.copy_from_slice(chunk);
    Some(u64::from_le_bytes(w))
}

/// The four bytes at `i` as a little-endian word, read from the slice
/// itself (for strings under eight bytes: copying them into a padded word
/// and loading it back stalls on the stores).
#[inline]
pub(crate) fn half_word_at(bytes: &[u8], i: usize) -> Option<u32> {
    let chunk = bytes.get(i..i + 4)?;
    Some(u32::from_le_bytes(<[u8; 4]>::try_from(chunk).ok()?))
}

/// The bytes of `x` that are `"`, `\` or below 0x20, each flagged by its
/// high bit. Exact for the lowest flagged byte (borrows only ever flag bytes
/// above a true one), which is all the scanners use.
#[inline]
pub(crate) fn json_specials(x: u64) -> u64 {
    let quote = x ^ (ONES * u64::from(b'"'));
    let backslash = x ^ (ONES * u64::from(b'\\'));
    ((quote.wrapping_sub(ONES) & !quote)
        | (backslash.wrapping_sub(ONES) & !backslash)
        | (x.wrapping_sub(ONES * 0x20) & !x))
        & HIGH
}

/// Position of the first byte [`write_str`] must escape, eight bytes at a time.
#[inline]
fn first_to_escape(bytes: &[u8]) -> Option<usize> {
    // JSON's specials, and 0x7f or above (the high bit set, or 0x7f's low
    // seven bits carrying into it).
    fn flagged(x: u64) -> u64 {
        json_specials(x) | ((x | ((x & !HIGH) + ONES)) & HIGH)
    }
    let at = |i: usize, flags: u64| (flags != 0).then(|| i + (flags.trailing_zeros() / 8) as usize);
    let n = bytes.len();
    if n < 8 {
        // Not copied into a padded word: loading eight bytes right after
        // storing them one by one stalls (store forwarding fails), and
        // that stall was a quarter of writing an event's values.
        if n < 4 {
            return bytes.iter().position(|&b| NEEDS_ESCAPE[usize::from(b)]);
        }
        // The first and the last four bytes (overlapping below eight), read
        // from the string itself. A flag in the upper half is exact when
        // the lower half has none (borrows only run upwards from a true one).
        let half = |at: usize| u64::from(half_word_at(bytes, at).unwrap_or(0));
        let flags = flagged(half(0) | (half(n - 4) << 32));
        return (flags != 0).then(|| match (flags.trailing_zeros() / 8) as usize {
            j if j < 4 => j,
            j => n + j - 8,
        });
    }
    let mut i = 0;
    while let Some(x) = word_at(bytes, i) {
        if let Some(p) = at(i, flagged(x)) {
            return Some(p);
        }
        i += 8;
    }
    // The last eight bytes, overlapping the last whole word: the bytes
    // before `i` are clean, so the first flagged one is at `i` or after.
    if i < n {
        at(n - 8, flagged(word_at(bytes, n - 8)?))
    } else {
        None
    }
}

/// The escaping part of [`write_str`], from byte `first` (the first byte
/// that needs escaping) on.
#[cold]
fn write_str_escaped(out: &mut Vec<u8>, s: &str, first: usize) {
    let bytes = s.as_bytes();
    out.extend_from_slice(&bytes[..first]);
    let mut start = first;
    for (i, &b) in bytes.iter().enumerate().skip(first) {
        if !NEEDS_ESCAPE[usize::from(b)] {
            continue;
        }
        if b >= 0x80 {
            // Handled per char below; only at char starts.
            if b & 0xC0 == 0x80 {
                continue;
            }
        }
        out.extend_from_slice(&bytes[start..i]);
        if b < 0x80 {
            push_escaped_ascii(out, b);
            start = i + 1;
            continue;
        }
        let c = s[i..].chars().next().unwrap_or('\u{fffd}');
        let mut units = [0u16; 2];
        for u in c.encode_utf16(&mut units) {
            push_u(out, *u);
        }
        start = i + c.len_utf8();
    }
    out.extend_from_slice(&bytes[start..]);
}

/// The escape of an ASCII byte that JSON text cannot hold as is (`"`, `\\`,
/// a control, DEL), as Python writes it.
fn push_escaped_ascii(out: &mut Vec<u8>, b: u8) {
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        _ => push_u(out, u16::from(b)),
    }
}

fn push_u(out: &mut Vec<u8>, u: u16) {
    out.extend_from_slice(b"\\u");
    for shift in [12, 8, 4, 0] {
        out.push(HEX[usize::from((u >> shift) & 0xf)]);
    }
}

/// A JSON string with only the mandatory escapes (UTF-8 kept), as Python's
/// `json.dumps(..., ensure_ascii=False)`.
pub(crate) fn write_str_utf8(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        push_escaped_ascii(out, b);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

fn write_number(out: &mut Vec<u8>, n: &Number) {
    if let Some(i) = n.as_i64() {
        out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
    } else if let Some(u) = n.as_u64() {
        out.extend_from_slice(itoa::Buffer::new().format(u).as_bytes());
    } else if let Some(f) = n.as_f64() {
        out.extend_from_slice(crate::pyjson::python_float_repr(f).as_bytes());
    }
}

fn write_scalar(out: &mut Vec<u8>, v: &Val<'_>) {
    match v {
        Val::Null => out.extend_from_slice(b"null"),
        Val::Bool(true) => out.extend_from_slice(b"true"),
        Val::Bool(false) => out.extend_from_slice(b"false"),
        Val::Num(n) => write_number(out, n),
        Val::Str(s) => write_str(out, s),
        Val::Hole(n) => write_hole(out, *n, 0),
        Val::Arr(_) | Val::Obj(_) => {}
    }
}

/// A newline and 4 spaces per level, for the usual depths.
const NEWLINE_INDENT: &[u8; 65] =
    b"\n                                                                ";

#[inline]
pub(crate) fn newline(out: &mut Vec<u8>, level: usize) {
    match NEWLINE_INDENT.get(..1 + level * 4) {
        Some(text) => out.extend_from_slice(text),
        None => {
            out.push(b'\n');
            out.resize(out.len() + level * 4, b' ');
        }
    }
}

/// `json.dumps(v, indent=4)` of `v`, whose first line is already positioned
/// and whose nesting level is `level`.
pub(crate) fn write_pretty(out: &mut Vec<u8>, v: &Val<'_>, level: usize) {
    match v {
        Val::Arr(a) if a.is_empty() => out.extend_from_slice(b"[]"),
        Val::Obj(o) if o.is_empty() => out.extend_from_slice(b"{}"),
        Val::Arr(a) => {
            out.push(b'[');
            for (i, item) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                newline(out, level + 1);
                write_pretty(out, item, level + 1);
            }
            newline(out, level);
            out.push(b']');
        }
        Val::Obj(o) => {
            out.push(b'{');
            for (i, (k, item)) in o.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                newline(out, level + 1);
                write_str(out, k);
                out.extend_from_slice(b": ");
                write_pretty(out, item, level + 1);
            }
            newline(out, level);
            out.push(b'}');
        }
        Val::Hole(n) => write_hole(out, *n, level),
        other => write_scalar(out, other),
    }
}

/// `open`, the items written by `item` with `sep` between them, `close`.
pub(crate) fn write_seq<T>(
    out: &mut Vec<u8>,
    open: u8,
    sep: &[u8],
    close: u8,
    items: impl IntoIterator<Item = T>,
    mut item: impl FnMut(&mut Vec<u8>, T),
) {
    out.push(open);
    for (i, x) in items.into_iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(sep);
        }
        item(out, x);
    }
    out.push(close);
}

/// `json.dumps(v)` (one line, `", "` and `": "` separators).
pub(crate) fn write_compact(out: &mut Vec<u8>, v: &Val<'_>) {
    match v {
        Val::Arr(a) => write_seq(out, b'[', b", ", b']', a, write_compact),
        Val::Obj(o) => write_seq(out, b'{', b", ", b'}', o, |out, (k, item)| {
            write_str(out, k);
            out.extend_from_slice(b": ");
            write_compact(out, item);
        }),
        other => write_scalar(out, other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn first_to_escape_finds_the_first_such_byte_at_every_length_and_place() {
        let naive = |b: &[u8]| b.iter().position(|&c| NEEDS_ESCAPE[usize::from(c)]);
        for n in 0..=24usize {
            let clean = vec![b'x'; n];
            assert_eq!(first_to_escape(&clean), None, "{n}");
            for i in 0..n {
                for special in [b'"', b'\\', b'\n', 0x1f, 0x7f, 0xc3] {
                    let mut b = clean.clone();
                    b[i] = special;
                    // A later special byte must not hide the first.
                    if i + 1 < n {
                        b[n - 1] = b'"';
                    }
                    assert_eq!(first_to_escape(&b), naive(&b), "{n} {i} {special}");
                    assert_eq!(first_to_escape(&b), Some(i));
                }
            }
        }
    }

    #[test]
    fn writer_matches_pyjson() {
        let v = json!({"a": ["x\"\\\n\u{1}é😀", 1, -2, 1.5, true, null, [], {}], "b": {"c": {"d": 1e20}}});
        let mut out = Vec::new();
        write_pretty(&mut out, &Val::from_value(&v), 0);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            crate::pyjson::to_string_pretty(&v)
        );
        let mut out = Vec::new();
        write_compact(&mut out, &Val::from_value(&v));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            crate::pyjson::to_string_compact(&v)
        );
    }

    #[test]
    fn escaping_finds_every_special_byte_at_every_offset() {
        for pad in 0..20 {
            for special in ["\"", "\\", "\n", "\u{1}", "\u{1f}", "\u{7f}", "é", "😀"] {
                for tail in ["", "abc", "\"x"] {
                    let s = format!("{}{special}{tail}", "a".repeat(pad));
                    let mut out = Vec::new();
                    write_str(&mut out, &s);
                    assert_eq!(
                        String::from_utf8(out).unwrap(),
                        crate::pyjson::to_string_compact(&serde_json::Value::from(s.as_str())),
                        "{s:?}"
                    );
                }
            }
            let plain = format!("{} ~}}{{", "a".repeat(pad));
            assert_eq!(first_to_escape(plain.as_bytes()), None, "{plain:?}");
        }
    }

    #[test]
    fn canonical_strings_escape_as_json_requires() {
        // Every ASCII byte, DEL and non-ASCII kept: what `json.dumps(...,
        // ensure_ascii=False)` and serde_json write alike.
        let s: String = (0u8..0x80).map(char::from).chain("é😀".chars()).collect();
        let mut out = Vec::new();
        write_str_utf8(&mut out, &s);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string(&s).unwrap()
        );
    }

    #[test]
    fn canonical_sorts_keys_and_keeps_utf8() {
        let v = json!({"value": "é", "a": [1, "x"]});
        let mut out = Vec::new();
        Val::from_value(&v).write_canonical(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"a\":[1,\"x\"],\"value\":\"é\"}"
        );
    }
}
