//! The API's JSON as this client reads it (its own types: the simulator, the
//! independent witness, has separate ones).

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

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
/// Events stay untouched JSON text (parsed only by whoever consumes them).
#[derive(Debug, Deserialize)]
pub(crate) struct EventsPage {
    pub(crate) data: Vec<Box<RawValue>>,
    #[serde(default)]
    pub(crate) page: Option<PageInfo>,
}

/// The `page` object. Only `prev` is followed (the legacy API's "older
/// events" cursor, as every known legacy client does).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageInfo {
    #[serde(default)]
    pub(crate) prev: Option<String>,
}

/// Parses a list-events body.
pub(crate) fn events_page(body: &[u8]) -> Result<EventsPage, String> {
    serde_json::from_slice::<EventsPage>(body).map_err(|e| {
        if e.is_data() {
            format!("not an events page: {e}")
        } else {
            format!("not JSON: {e}")
        }
    })
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
