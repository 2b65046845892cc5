//! The API's JSON as this client reads it (its own types: the simulator, the
//! independent witness, has separate ones).

use std::ops::Range;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::peek;

/// Ping: `GET /api/v1/secureEvents/status`.
pub const STATUS_PATH: &str = "/api/v1/secureEvents/status";
/// List events: `GET /api/v1/secureEvents?...`.
pub const EVENTS_PATH: &str = "/api/v1/secureEvents";
/// The largest `limit` sent (what the reference and `sdcclient` use).
pub const PAGE_SIZE: u64 = 999;
/// The `User-Agent` header.
pub const USER_AGENT: &str = concat!("stixshift/", env!("CARGO_PKG_VERSION"));
/// The longest error message kept from a response body (characters).
const MAX_MESSAGE_CHARS: usize = 1000;

/// A successful list-events body: `{"data": [...], "page": {"prev", "next", "total"}}`.
/// Events stay untouched JSON text, slices of the body (parsed only by
/// whoever consumes them).
#[derive(Debug)]
pub(crate) struct EventsPage {
    /// The body.
    pub(crate) text: String,
    /// Where each element of `data` is in `text`.
    pub(crate) data: Vec<Range<usize>>,
    pub(crate) page: Option<PageInfo>,
}

/// The `page` object. Only `prev` is followed (the legacy API's "older
/// events" cursor, as every known legacy client does).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageInfo {
    #[serde(default)]
    pub(crate) prev: Option<String>,
}

/// The body as serde_json reads it (the fallback of [`events_page`]).
#[derive(Deserialize)]
struct BorrowedPage<'a> {
    #[serde(borrow)]
    data: Vec<&'a RawValue>,
    #[serde(default)]
    page: Option<PageInfo>,
}

/// Parses a list-events body.
///
/// The usual body (an object with `data`, an array of objects, and `page`)
/// is split by a structural scan: each event's extent is found by its
/// brackets and strings, not validated (its parser does that, and reports
/// an event that is not JSON as such). Anything else goes to serde_json,
/// which words the error.
pub(crate) fn events_page(body: Vec<u8>) -> Result<EventsPage, String> {
    let text = String::from_utf8(body).map_err(|e| format!("not JSON: {}", e.utf8_error()))?;
    if let Some((data, page)) = split_page(&text) {
        return Ok(EventsPage { text, data, page });
    }
    let parsed = serde_json::from_str::<BorrowedPage>(&text).map_err(|e| {
        if e.is_data() {
            format!("not an events page: {e}")
        } else {
            format!("not JSON: {e}")
        }
    })?;
    // A borrowed raw value is a slice of the text: its place follows.
    let base = text.as_ptr() as usize;
    let data = parsed
        .data
        .iter()
        .map(|raw| {
            let at = raw.get().as_ptr() as usize - base;
            at..at + raw.get().len()
        })
        .collect();
    let page = parsed.page;
    Ok(EventsPage { text, data, page })
}

/// The usual body split by [`crate::peek`]'s scanner: `None` for anything
/// else (a key given twice or escaped, an element that is not an object,
/// `page` not as expected, text after the object...).
fn split_page(text: &str) -> Option<(Vec<Range<usize>>, Option<PageInfo>)> {
    let b = text.as_bytes();
    let mut data = None;
    let mut page = None;
    let mut i = peek::ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = peek::ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return None;
    }
    loop {
        let key_end = (b.get(i) == Some(&b'"')).then(|| peek::string_end(b, i))??;
        let key = &text[i + 1..key_end - 1];
        i = peek::ws(b, key_end);
        if key.contains('\\') || b.get(i) != Some(&b':') {
            return None;
        }
        i = peek::ws(b, i + 1);
        match key {
            "data" if data.is_none() => {
                let (events, end) = split_array(b, i)?;
                data = Some(events);
                i = end;
            }
            "page" if page.is_none() => {
                let end = peek::value_end(b, i)?;
                page = Some(serde_json::from_str::<Option<PageInfo>>(&text[i..end]).ok()?);
                i = end;
            }
            "data" | "page" => return None,
            _ => i = peek::value_end(b, i)?,
        }
        i = peek::ws(b, i);
        match b.get(i)? {
            b',' => i = peek::ws(b, i + 1),
            b'}' => break,
            _ => return None,
        }
    }
    if peek::ws(b, i + 1) != b.len() {
        return None;
    }
    Some((data?, page.flatten()))
}

/// The elements (objects) of the array at `b[i]`, and the index after it.
fn split_array(b: &[u8], mut i: usize) -> Option<(Vec<Range<usize>>, usize)> {
    if b.get(i) != Some(&b'[') {
        return None;
    }
    let mut events = Vec::new();
    i = peek::ws(b, i + 1);
    if b.get(i) == Some(&b']') {
        return Some((events, i + 1));
    }
    loop {
        if b.get(i) != Some(&b'{') {
            return None;
        }
        let end = peek::value_end(b, i)?;
        events.push(i..end);
        i = peek::ws(b, end);
        match b.get(i)? {
            b',' => i = peek::ws(b, i + 1),
            b']' => return Some((events, i + 1)),
            _ => return None,
        }
    }
}

/// The error message of an error body: its `message`, else its `error`
/// (the reference read one or the other depending on the page), else none.
/// Non-JSON bodies (a proxy's HTML page) have none. `secret` is replaced by
/// `***` wherever the server echoed it.
pub(crate) fn error_message(body: &[u8], secret: &str) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let text = ["message", "error"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str))?;
    let mut text = redact(text, secret);
    if let Some((i, _)) = text.char_indices().nth(MAX_MESSAGE_CHARS) {
        text.truncate(i);
        text.push('…');
    }
    Some(text)
}

/// `text` with every occurrence of `secret` replaced by `***`.
pub(crate) fn redact(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        text.to_owned()
    } else {
        text.replace(secret, "***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages() {
        let p = events_page(
            br#"{"data":[{"id":"a","z":1,"b":2}],"page":{"total":1,"prev":"c1","next":"c2"}}"#,
        )
        .unwrap();
        assert_eq!(p.data.len(), 1);
        assert_eq!(
            serde_json::to_string(&p.data[0]).unwrap(),
            r#"{"id":"a","z":1,"b":2}"#
        );
        assert_eq!(p.page.unwrap().prev.as_deref(), Some("c1"));
        let p = events_page(br#"{"data":[]}"#).unwrap();
        assert!(p.page.is_none());
        assert_eq!(
            events_page(b"{\"page\":{}}").unwrap_err(),
            "not an events page: missing field `data` at line 1 column 11"
        );
        assert!(events_page(b"<html>")
            .unwrap_err()
            .starts_with("not JSON: "));
        assert!(events_page(br#"{"data":[],"page":{"prev":5}}"#).is_err());
    }

    #[test]
    fn messages() {
        assert_eq!(
            error_message(br#"{"message":"bad request","requestId":"x"}"#, "tok").as_deref(),
            Some("bad request")
        );
        assert_eq!(
            error_message(br#"{"error":"page2 boom"}"#, "tok").as_deref(),
            Some("page2 boom")
        );
        assert_eq!(
            error_message(br#"{"message":"p2","error":"page2 boom"}"#, "tok").as_deref(),
            Some("p2")
        );
        assert_eq!(
            error_message(br#"{"message":"bad token s3cr3t!"}"#, "s3cr3t").as_deref(),
            Some("bad token ***!")
        );
        assert_eq!(error_message(b"<html>503</html>", "tok"), None);
        assert_eq!(error_message(br#"{"message":5}"#, "tok"), None);
        let long = format!(r#"{{"message":"{}"}}"#, "x".repeat(5000));
        assert_eq!(
            error_message(long.as_bytes(), "").unwrap().chars().count(),
            1001
        );
    }
}
