//! Reading a few top-level fields of an event without parsing the rest, and
//! finding where a value ends (the page split, `crate::wire::Splitter`).
//!
//! The paging guard needs each event's `timestamp` and `execute` its `id`.
//! Both come first in Sysdig's events, so a scan that stops once the wanted
//! keys are seen reads a few dozen bytes of a 2 KB event instead of all of
//! it. Events are slices of the page's body, delimited but not validated:
//! these scans assume JSON and, on text that is not, give a wrong answer or
//! `None` but never panic (every index they return follows an ASCII byte, so
//! slicing at it is safe); the event's parser rejects it later.

pub(crate) fn ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// `b[i]` is an opening quote: the index after the closing one.
///
/// Eight bytes at a time: most strings of an event are a few words long,
/// where a `memchr2` call per string cost more than the scan itself.
pub(crate) fn string_end(b: &[u8], mut i: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The bytes of `x` equal to `c`, flagged by their high bit (exact for
    // the lowest flagged byte, which is all that is used).
    fn flagged(x: u64, c: u8) -> u64 {
        let y = x ^ (ONES * u64::from(c));
        y.wrapping_sub(ONES) & !y & HIGH
    }
    i += 1;
    loop {
        while let Some(w) = b.get(i..i + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()) {
            let x = u64::from_le_bytes(w);
            let m = flagged(x, b'"') | flagged(x, b'\\');
            if m != 0 {
                i += (m.trailing_zeros() / 8) as usize;
                break;
            }
            i += 8;
        }
        match *b.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

/// The index after the value starting at `b[i]` (valid JSON assumed).
pub(crate) fn value_end(b: &[u8], mut i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => string_end(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            loop {
                match *b.get(i)? {
                    b'"' => {
                        i = string_end(b, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            while !matches!(
                b.get(i),
                None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            ) {
                i += 1;
            }
            Some(i)
        }
    }
}

/// The raw JSON text of the values of `keys` in the object `text` (valid
/// JSON), each the first occurrence of its key. The scan stops as soon as
/// every key was seen. `None` when `text` is not an object or a key before
/// them is escaped: the caller then parses the event properly.
///
/// A key given twice is read at its first occurrence, where Python's `json`
/// (and the parsing fallback of [`field`]) keeps the last: Sysdig's events
/// never repeat a key, and looking for a repeat would mean scanning every
/// event to its end.
pub fn top_level<'a, const N: usize>(
    text: &'a str,
    keys: [&str; N],
) -> Option<[Option<&'a str>; N]> {
    let b = text.as_bytes();
    let mut found = [None; N];
    let mut left = N;
    let mut i = ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    loop {
        i = ws(b, i);
        match b.get(i)? {
            b'}' => return Some(found),
            b',' => i = ws(b, i + 1),
            _ => {}
        }
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = string_end(b, i)?;
        let key = &text[i + 1..key_end - 1];
        if key.contains('\\') {
            return None;
        }
        i = ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = ws(b, i + 1);
        let end = value_end(b, i)?;
        if let Some(k) = keys.iter().position(|k| *k == key) {
            if found[k].is_none() {
                found[k] = Some(&text[i..end]);
                left -= 1;
                if left == 0 {
                    return Some(found);
                }
            }
        }
        i = end;
    }
}

/// The value of the top-level `key` of the event `text` (valid JSON), read
/// by [`top_level`] when it can be, else by parsing the whole event. `None`
/// when the key is missing or its value is not a `T`.
pub fn field<T: serde::de::DeserializeOwned>(text: &str, key: &str) -> Option<T> {
    match top_level(text, [key]) {
        Some([raw]) => serde_json::from_str(raw?).ok(),
        None => {
            let mut event: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(text).ok()?;
            serde_json::from_value(event.remove(key)?).ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The end of strings of every length up to a few words, with an
    /// escaped quote or backslash at every place, then more text after the
    /// closing quote: the same as a byte-by-byte scan.
    #[test]
    fn string_end_at_every_length_and_escape_place() {
        let naive = |b: &[u8], mut i: usize| -> Option<usize> {
            i += 1;
            loop {
                match *b.get(i)? {
                    b'"' => return Some(i + 1),
                    b'\\' => i += 2,
                    _ => i += 1,
                }
            }
        };
        for n in 0..30usize {
            for esc in [None, Some(&b"\\\""[..]), Some(&b"\\\\"[..])] {
                for at in 0..=n {
                    let mut body = b"\"".to_vec();
                    body.extend(std::iter::repeat_n(b'a', n));
                    if let Some(e) = esc {
                        body.splice(1 + at..1 + at, e.iter().copied());
                    }
                    body.extend_from_slice(b"\" , \"next\": \"x\"");
                    let end = string_end(&body, 0);
                    assert_eq!(end, naive(&body, 0), "{}", String::from_utf8_lossy(&body));
                    assert_eq!(body[end.unwrap() - 1], b'"');
                    assert_eq!(body[end.unwrap()], b' ');
                    if esc.is_none() {
                        break;
                    }
                }
            }
            // Unterminated: no end, at any length.
            let open: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'a', n))
                .collect();
            assert_eq!(string_end(&open, 0), None);
        }
    }

    #[test]
    fn finds_fields_anywhere_at_the_top_level_only() {
        let e = r#" { "nested": {"id": "no", "a": [1, {"timestamp": 0}], "s": "x\"}{"},
            "n": -1.5e3, "t": true, "id" : "ev1", "timestamp": "2023-11-01T00:00:00Z", "id": "dup" } "#;
        assert_eq!(
            top_level(e, ["id", "timestamp"]),
            Some([Some(r#""ev1""#), Some(r#""2023-11-01T00:00:00Z""#)])
        );
        assert_eq!(top_level(e, ["missing"]), Some([None]));
        assert_eq!(top_level(r#"{"id":1}"#, ["id"]), Some([Some("1")]));
        assert_eq!(
            top_level(r#"{"a":"\\","id":[]}"#, ["id"]),
            Some([Some("[]")])
        );
        // Escaped keys and non-objects are left to a real parser.
        assert_eq!(top_level(r#"{"\u0069d": 1}"#, ["id"]), None);
        assert_eq!(top_level(r#"[1]"#, ["id"]), None);
        // ... which `field` falls back to.
        assert_eq!(field::<u32>(r#"{"\u0069d": 1}"#, "id"), Some(1));
        assert_eq!(
            field::<String>(r#"{"a": {"id": "x"}, "id": "y"}"#, "id"),
            Some("y".into())
        );
        assert_eq!(field::<String>(r#"{"id": 5}"#, "id"), None);
        assert_eq!(field::<String>(r#"{"a": 5}"#, "id"), None);
    }

    proptest::proptest! {
        /// Text that is not JSON (events are not validated before these
        /// scans): an answer or `None`, never a panic.
        #[test]
        fn never_panics_on_text_that_is_not_json(
            text in "[{}\\[\\]\",:\\\\ a-z0-9é€\n]{0,80}",
        ) {
            let _ = top_level(&text, ["id", "timestamp"]);
            let _ = field::<serde_json::Value>(&text, "timestamp");
            for i in 0..=text.len() {
                let _ = value_end(text.as_bytes(), i);
            }
        }
    }

    #[test]
    fn agrees_with_serde_on_generated_objects() {
        use serde_json::{json, Value};
        for i in 0..200u32 {
            let mut m = serde_json::Map::new();
            for k in 0..(i % 7) {
                m.insert(
                    format!("k{k}"),
                    json!({"id": k, "s": "a\"b\\", "l": [k, "x"]}),
                );
            }
            if i % 3 != 0 {
                m.insert("id".into(), json!(format!("e{i}\n\"")));
            }
            m.insert("tail".into(), json!([[], {}, null, false, 1.5]));
            let text = if i % 2 == 0 {
                Value::Object(m.clone()).to_string()
            } else {
                serde_json::to_string_pretty(&Value::Object(m.clone())).unwrap()
            };
            let [got] = top_level(&text, ["id"]).unwrap();
            let got: Option<Value> = got.map(|g| serde_json::from_str(g).unwrap());
            assert_eq!(got.as_ref(), m.get("id"), "{text}");
        }
    }
}
