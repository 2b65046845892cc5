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

/// Parses a list-events body, with what `splitter` found while it arrived.
///
/// The usual body (an object with `data`, an array of objects, and `page`)
/// is split by a structural scan: each event's extent is found by its
/// brackets and strings, not validated (its parser does that, and reports
/// an event that is not JSON as such). Anything else goes to serde_json,
/// which words the error.
pub(crate) fn events_page(body: Vec<u8>, splitter: Splitter) -> Result<EventsPage, String> {
    let text = String::from_utf8(body).map_err(|e| format!("not JSON: {}", e.utf8_error()))?;
    if let Some((data, page)) = splitter.finish(&text) {
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

/// Splits the events of a body that starts `{"data": [` while it arrives
/// ([`Splitter::feed`] after each part), so that little is left to do once
/// the last part is in.
#[derive(Debug, Default)]
pub(crate) struct Splitter {
    state: Split,
    /// Where the scan goes on: after the `[` or a `,` (`Elements`), or
    /// after the `]` (`After`).
    pos: usize,
    events: Vec<Range<usize>>,
    /// The body's length before which no scan is tried again: an unfinished
    /// part is scanned again from its start, so only once it has doubled
    /// (one huge event arriving in small parts costs linear time).
    retry_at: usize,
    /// Scans tried (to test the above).
    #[cfg(test)]
    scans: usize,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Split {
    /// Before `[`.
    #[default]
    Start,
    /// In the array.
    Elements,
    /// After the array.
    After,
    /// Not the usual start, or not the usual elements: left to
    /// [`Splitter::finish`]'s other ways.
    Other,
}

impl Splitter {
    /// The elements of an array whose `[` is at `b[i]`.
    fn array(b: &[u8], i: usize) -> Splitter {
        let mut s = Splitter {
            state: if b.get(i) == Some(&b'[') {
                Split::Elements
            } else {
                Split::Other
            },
            pos: i + 1,
            events: Vec::new(),
            retry_at: 0,
            #[cfg(test)]
            scans: 0,
        };
        s.feed(b);
        s
    }

    /// Scan the body received so far (`b`, which only grows) as far as it
    /// is complete.
    pub(crate) fn feed(&mut self, b: &[u8]) {
        if b.len() < self.retry_at {
            return;
        }
        #[cfg(test)]
        {
            self.scans += 1;
        }
        // Where a scan that runs out of body leaves off: try again once
        // what is unfinished has doubled.
        let wait = |from: usize| b.len() + (b.len() - from.min(b.len()));
        if self.state == Split::Start {
            match data_start(b) {
                Some(Some(i)) => {
                    self.state = Split::Elements;
                    self.pos = i;
                }
                Some(None) => {
                    self.retry_at = wait(0);
                    return;
                }
                None => {
                    self.state = Split::Other;
                    return;
                }
            }
        }
        while self.state == Split::Elements {
            let i = peek::ws(b, self.pos);
            match b.get(i) {
                // `[]`; after a `,`, a `]` is left to serde_json.
                Some(b']') if self.events.is_empty() => {
                    self.pos = i + 1;
                    self.state = Split::After;
                }
                Some(b'{') => {
                    // Incomplete (or not JSON: decided once all is in).
                    let Some(end) = peek::value_end(b, i) else {
                        self.retry_at = wait(i);
                        return;
                    };
                    let j = peek::ws(b, end);
                    match b.get(j) {
                        None => {
                            self.retry_at = wait(i);
                            return;
                        }
                        Some(b',') => self.pos = j + 1,
                        Some(b']') => {
                            self.pos = j + 1;
                            self.state = Split::After;
                        }
                        Some(_) => {
                            self.state = Split::Other;
                            return;
                        }
                    }
                    self.events.push(i..end);
                }
                None => {
                    self.retry_at = wait(self.pos);
                    return;
                }
                Some(_) => self.state = Split::Other,
            }
        }
    }

    /// The events and the `page` object of the whole body `text`, if it is
    /// an object with `data` (an array of objects) and maybe `page` and
    /// other members; `None` for anything else (a key given twice or
    /// escaped, an element that is not an object, `page` not as expected,
    /// text after the object...).
    pub(crate) fn finish(mut self, text: &str) -> Option<(Vec<Range<usize>>, Option<PageInfo>)> {
        let b = text.as_bytes();
        self.retry_at = 0;
        self.feed(b);
        if self.state == Split::After {
            return members(text, self.pos, Some(self.events), false);
        }
        // Another order of members (or not an events page at all).
        let i = peek::ws(b, 0);
        if b.get(i) != Some(&b'{') {
            return None;
        }
        let i = peek::ws(b, i + 1);
        if b.get(i) == Some(&b'}') {
            return None;
        }
        members(text, i, None, true)
    }
}

/// Where the elements of `{"data": [` start, white space allowed between
/// the tokens: `Some(None)` while `b` is too short to tell, `None` if `b`
/// starts otherwise.
fn data_start(b: &[u8]) -> Option<Option<usize>> {
    let mut i = 0;
    for token in [&b"{"[..], b"\"data\"", b":", b"["] {
        i = peek::ws(b, i);
        let have = &b[i.min(b.len())..(i + token.len()).min(b.len())];
        if !token.starts_with(have) {
            return None;
        }
        if have.len() < token.len() {
            return Some(None);
        }
        i += token.len();
    }
    Some(Some(i))
}

/// The members of the body's object from `text[i]` on (`at_key`: at a
/// member's key, else after a member), up to the end of the text, with
/// the events already split, if any.
fn members(
    text: &str,
    mut i: usize,
    mut data: Option<Vec<Range<usize>>>,
    mut at_key: bool,
) -> Option<(Vec<Range<usize>>, Option<PageInfo>)> {
    let b = text.as_bytes();
    let mut page = None;
    loop {
        if !at_key {
            i = peek::ws(b, i);
            match b.get(i)? {
                b',' => i = peek::ws(b, i + 1),
                b'}' => break,
                _ => return None,
            }
        }
        at_key = false;
        let key_end = (b.get(i) == Some(&b'"')).then(|| peek::string_end(b, i))??;
        let key = &text[i + 1..key_end - 1];
        i = peek::ws(b, key_end);
        if key.contains('\\') || b.get(i) != Some(&b':') {
            return None;
        }
        i = peek::ws(b, i + 1);
        match key {
            "data" if data.is_none() => {
                let split = Splitter::array(b, i);
                if split.state != Split::After {
                    return None;
                }
                data = Some(split.events);
                i = split.pos;
            }
            "page" if page.is_none() => {
                let end = peek::value_end(b, i)?;
                page = Some(serde_json::from_str::<Option<PageInfo>>(&text[i..end]).ok()?);
                i = end;
            }
            "data" | "page" => return None,
            _ => i = peek::value_end(b, i)?,
        }
    }
    if peek::ws(b, i + 1) != b.len() {
        return None;
    }
    Some((data?, page.flatten()))
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
    use proptest::prelude::*;

    /// A body parsed as it would arrive in parts of `part` bytes.
    fn parse_in_parts(body: &[u8], part: usize) -> Result<EventsPage, String> {
        let mut splitter = Splitter::default();
        let mut got = Vec::new();
        for piece in body.chunks(part.max(1)) {
            got.extend_from_slice(piece);
            splitter.feed(&got);
        }
        events_page(got, splitter)
    }

    fn events_page_(body: &[u8]) -> Result<EventsPage, String> {
        events_page(body.to_vec(), Splitter::default())
    }

    /// What serde_json reads: the events' texts and `page.prev`.
    fn serde_view(body: &str) -> Option<(Vec<String>, Option<String>)> {
        let p: BorrowedPage = serde_json::from_str(body).ok()?;
        Some((
            p.data.iter().map(|r| r.get().to_owned()).collect(),
            p.page.and_then(|p| p.prev),
        ))
    }

    fn our_view(p: &EventsPage) -> (Vec<String>, Option<String>) {
        (
            p.data
                .iter()
                .map(|r| p.text[r.clone()].to_owned())
                .collect(),
            p.page.as_ref().and_then(|p| p.prev.clone()),
        )
    }

    #[test]
    fn pages() {
        let p = events_page_(
            br#"{"data":[{"id":"a","z":1,"b":2}],"page":{"total":1,"prev":"c1","next":"c2"}}"#,
        )
        .unwrap();
        assert_eq!(p.data.len(), 1);
        assert_eq!(&p.text[p.data[0].clone()], r#"{"id":"a","z":1,"b":2}"#);
        assert_eq!(p.page.unwrap().prev.as_deref(), Some("c1"));
        let p = events_page_(br#"{"data":[]}"#).unwrap();
        assert!(p.page.is_none());
        assert_eq!(
            events_page_(b"{\"page\":{}}").unwrap_err(),
            "not an events page: missing field `data` at line 1 column 11"
        );
        assert!(events_page_(b"<html>")
            .unwrap_err()
            .starts_with("not JSON: "));
        assert!(events_page_(br#"{"data":[],"page":{"prev":5}}"#).is_err());
    }

    /// One event far larger than the parts the body arrives in is scanned
    /// again only each time what is unfinished has doubled: the bytes
    /// looked at stay a small multiple of the body's length.
    #[test]
    fn a_huge_event_in_small_parts_is_not_scanned_again_for_each_part() {
        let big = format!(r#"{{"id":"x","output":"{}"}}"#, "y".repeat(1 << 20));
        let body = format!(r#"{{"data":[{{"id":"a"}},{big},{{"id":"c"}}],"page":{{"prev":"p"}}}}"#);
        let mut splitter = Splitter::default();
        for end in (0..body.len()).step_by(1000).skip(1).chain([body.len()]) {
            splitter.feed(&body.as_bytes()[..end]);
        }
        // About 1,050 parts; a scan after each would read ~550 MB.
        assert!(splitter.scans < 40, "{} scans", splitter.scans);
        let (events, page) = splitter.finish(&body).unwrap();
        assert_eq!(events.len(), 3);
        assert_eq!(&body[events[1].clone()], big);
        assert_eq!(page.and_then(|p| p.prev).as_deref(), Some("p"));
    }

    /// The scan finds where events end, it does not check them: an event
    /// that is not JSON inside a well-formed page is handed on as it is,
    /// and its parser rejects it (`results`: "an event is not JSON";
    /// `execute`: the bundle writer's error naming the event).
    #[test]
    fn an_event_that_is_not_json_is_left_to_its_parser() {
        let body = br#"{"data":[{"id":"a"},{"id":tru, "x":"\q"},{"id":"c"}],"page":{"prev":"p"}}"#;
        let p = parse_in_parts(body, 5).unwrap();
        let (events, prev) = our_view(&p);
        assert_eq!(
            events,
            [r#"{"id":"a"}"#, r#"{"id":tru, "x":"\q"}"#, r#"{"id":"c"}"#]
        );
        assert_eq!(prev.as_deref(), Some("p"));
        assert!(serde_json::from_str::<serde_json::Value>(&events[1]).is_err());
    }

    /// Bodies of other shapes than the usual one, split whole or in parts:
    /// what serde_json reads, or its error.
    #[test]
    fn other_shapes_read_as_serde_reads_them() {
        let bodies = [
            r#"{"page":{"prev":"p"},"data":[{"a":1},{"b":[{"c":"]}"}]}]}"#,
            r#" { "total" : 3 , "data" : [ { "a" : "x\"}]" } ] , "page" : null } "#,
            r#"{"data":[{"a":1}],"data":[{"b":2}]}"#,
            r#"{"data":[1, "x", {"a":1}],"page":{}}"#,
            r#"{"data":[{"a":1},],"page":{}}"#,
            r#"{"data":[{"a":1}]} x"#,
            r#"{"data":[{"a":1}],"page":{"prev":"c"}"#,
            r#"{"data":[{"a":1}"#,
            r#"{"dat\u0061":[{"a":1}]}"#,
            r#"{"data":[{"a":1}],"page":{"prev":"c","prev":"d"}}"#,
            r#"{"data":[]}"#,
            r#"{"data":[ ],"page":{"prev":null}}"#,
            r#"{}"#,
            r#"[]"#,
        ];
        for body in bodies {
            for part in [1, 2, 3, 7, body.len()] {
                let ours = parse_in_parts(body.as_bytes(), part);
                match serde_view(body) {
                    Some(view) => {
                        let p = ours.unwrap_or_else(|e| panic!("{body} / {part}: {e}"));
                        assert_eq!(our_view(&p), view, "{body} / {part}");
                    }
                    None => assert!(ours.is_err(), "{body} / {part}: {ours:?}"),
                }
            }
        }
    }

    /// JSON values that may appear in events: nested, with escapes and
    /// brackets inside strings.
    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            "[ -~\\n\"\\\\{}\\[\\]é]{0,40}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::btree_map("[a-z\"\\\\{]{0,4}", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Any bytes, in parts of any size: a page or an error, never a
        /// panic.
        #[test]
        fn any_body_gives_a_page_or_an_error(
            body in "[{}\\[\\]\",:\\\\ a-z0-9é\n]{0,60}",
            prefix in any::<bool>(),
            part in 1usize..16,
        ) {
            let body = if prefix { format!(r#"{{"data":[{body}"#) } else { body };
            let _ = parse_in_parts(body.as_bytes(), part);
        }

        /// The usual body, compact or pretty, in parts of any size: the
        /// same events and cursor as serde_json.
        #[test]
        fn the_split_agrees_with_serde(
            events in prop::collection::vec(
                prop::collection::btree_map("[a-z\"]{1,5}", json_value(), 0..5), 0..6),
            prev in proptest::option::of("[a-zA-Z0-9=]{1,10}"),
            pretty in any::<bool>(),
            part in 1usize..64,
        ) {
            let data: Vec<serde_json::Value> = events
                .into_iter()
                .map(|m| serde_json::Value::Object(m.into_iter().collect()))
                .collect();
            let body = serde_json::json!({"data": data, "page": {"prev": prev, "total": 9}});
            let text = if pretty {
                serde_json::to_string_pretty(&body).unwrap()
            } else {
                body.to_string()
            };
            let ours = parse_in_parts(text.as_bytes(), part).unwrap();
            prop_assert_eq!(our_view(&ours), serde_view(&text).unwrap());
            // By the scan itself, not by its serde_json fallback.
            let mut splitter = Splitter::default();
            for end in (part..text.len()).step_by(part).chain([text.len()]) {
                splitter.feed(&text.as_bytes()[..end]);
            }
            let (events, page) = splitter.finish(&text).expect("the scan gave up");
            prop_assert_eq!(events, ours.data);
            prop_assert_eq!(page.and_then(|p| p.prev), ours.page.and_then(|p| p.prev));
        }
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
