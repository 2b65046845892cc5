//! Paging: stix-shifter's `results(search_id, offset, length, metadata)`
//! contract, done correctly, and a page stream for `execute`.
//!
//! # The result sequence
//!
//! A search's results are the events the API returns for its window and
//! filter, newest first, numbered 0, 1, 2, … and cut at `result_limit`.
//! The API has no offset parameter, only cursors: the first page is asked
//! for with `from`/`to`/`filter`/`limit`, each following page with the
//! previous page's `page.prev` cursor, `filter` and `limit` (no `from`/`to`:
//! the API takes a window or a cursor, not both).
//!
//! # One call
//!
//! `results(offset, length)` returns events `[offset, min(offset + length,
//! result_limit))`. Without metadata it starts at event 0 (the API offers
//! no other way) and drops the first `offset` events as they arrive, page by
//! page, so at most one page is held besides the answer. With metadata
//! `{result_count: n, prev_page_token: c}` it continues at event `n` from
//! cursor `c` and returns `[n, min(n + length, result_limit))`; `offset` is
//! ignored, as the reference does (callers pass `offset == n`).
//!
//! Each request asks for `min(999, events still wanted)`; paging stops when
//! enough events are in, when a page is shorter than asked (the legacy API
//! sends a `prev` cursor even on its last page), when a page has no `prev`,
//! or when the window guard fires. No request is sent for `length == 0`,
//! for `offset >= result_limit`, or for metadata with
//! `result_count >= result_limit`.
//!
//! The answer carries `metadata = {result_count: <index of the next event>,
//! prev_page_token: <the last page's prev>}` when paging stopped only
//! because enough events were in (the last page was full) and fewer than
//! `result_limit` events have been read. Passing it back continues exactly
//! after the last returned event: nothing is read twice, nothing skipped.
//!
//! # The window guard
//!
//! Cursor pages are not known to stay inside the query's window, so every
//! event's `timestamp` is checked against `[from, to)`: events outside it
//! are dropped (and not counted), and a page holding an event older than
//! `from` is the last one requested. Events whose timestamp cannot be read
//! are kept.

use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;

use futures_core::Stream;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::{Bodies, Client};
use crate::error::TransmitError;
use crate::search::SearchId;
use crate::time::timestamp_value_ns;
use crate::wire::PAGE_SIZE;

/// The continuation token of a search, as stix-shifter passes it between
/// `results` calls: `{"result_count": 999, "prev_page_token": "<cursor>"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// How many events of the search precede the next one (its index).
    pub result_count: u64,
    /// The API cursor of the page after them.
    pub prev_page_token: String,
}

impl Metadata {
    /// Reads metadata from stix-shifter's JSON argument: an object with a
    /// non-negative integer `result_count` (a number or a string of digits,
    /// as the reference's `int()` accepts) and a non-empty string
    /// `prev_page_token`; other keys are ignored. `result_count: 0` is
    /// accepted (the reference rejected it).
    pub fn from_value(value: &Value) -> Result<Metadata, TransmitError> {
        let invalid = |reason: &str| TransmitError::InvalidMetadata {
            reason: reason.to_owned(),
        };
        let obj = value.as_object().ok_or_else(|| {
            invalid("expected an object with `result_count` and `prev_page_token`")
        })?;
        let count = match obj.get("result_count") {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                s.parse().ok()
            }
            None => return Err(invalid("`result_count` is missing")),
            Some(_) => None,
        }
        .ok_or_else(|| invalid("`result_count` is not a non-negative integer"))?;
        let token = match obj.get("prev_page_token") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            None => return Err(invalid("`prev_page_token` is missing")),
            Some(_) => return Err(invalid("`prev_page_token` is not a non-empty string")),
        };
        Ok(Metadata {
            result_count: count,
            prev_page_token: token,
        })
    }

    /// The JSON object stix-shifter prints.
    pub fn to_value(&self) -> Value {
        serde_json::json!({
            "result_count": self.result_count,
            "prev_page_token": self.prev_page_token,
        })
    }
}

/// The stream of [`Client::pages`]: one item per non-empty page, `Unpin`.
pub type PageStream = Pin<Box<dyn Stream<Item = Result<Vec<Value>, TransmitError>> + Send>>;

/// The stream of [`Client::raw_pages`]: the events as unparsed JSON text.
pub type RawPageStream = Pin<Box<dyn Stream<Item = Result<RawPage, TransmitError>> + Send>>;

/// A page's events as unparsed JSON text: slices of the response body,
/// delimited but not validated (whoever parses an event finds out whether
/// it is JSON).
pub struct RawPage {
    text: String,
    events: Vec<Range<usize>>,
    /// Where the body's buffer goes back to once the page is dropped.
    bodies: Arc<Bodies>,
}

impl Drop for RawPage {
    fn drop(&mut self) {
        self.bodies
            .give(std::mem::take(&mut self.text).into_bytes());
    }
}

/// The counts only: a page is megabytes of events.
impl std::fmt::Debug for RawPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawPage")
            .field("events", &self.events.len())
            .field("body_bytes", &self.text.len())
            .finish()
    }
}

impl RawPage {
    /// The events' texts, in the page's order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.events.iter().map(|r| &self.text[r.clone()])
    }

    /// The number of events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// No events.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

/// An event's time, read from its JSON text without building the event.
fn raw_timestamp_ns(event: &str) -> Option<i128> {
    timestamp_value_ns(&crate::peek::field::<Value>(event, "timestamp")?)
}

fn parse_events(page: RawPage) -> Result<Vec<Value>, TransmitError> {
    page.iter()
        .map(|e| {
            serde_json::from_str(e).map_err(|err| TransmitError::InvalidResponse {
                status: 200,
                detail: format!("an event is not JSON: {err}"),
            })
        })
        .collect()
}

/// The answer of [`Client::results`].
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    /// The events, newest first, unmodified.
    pub events: Vec<Value>,
    /// How to continue, when more events may follow.
    pub metadata: Option<Metadata>,
}

/// The answer of [`Client::raw_results`].
#[derive(Debug)]
pub struct RawResults {
    /// The events, newest first, as text, page by page.
    pub pages: Vec<RawPage>,
    /// How to continue, when more events may follow.
    pub metadata: Option<Metadata>,
}

impl RawResults {
    /// The events parsed (an event that is not JSON is an invalid response).
    pub fn parse(self) -> Result<Page, TransmitError> {
        let mut events = Vec::new();
        for page in self.pages {
            events.extend(parse_events(page)?);
        }
        Ok(Page {
            events,
            metadata: self.metadata,
        })
    }
}

/// Where the next request starts.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Next {
    First,
    Cursor(String),
    Done,
}

/// How many consecutive full pages with no event in the window are
/// tolerated before the API is declared broken (bounds the loop).
const MAX_EMPTY_FULL_PAGES: u32 = 3;

/// The paging state of one search.
#[derive(Debug)]
struct Pager {
    client: Client,
    search: SearchId,
    next: Next,
    /// Index of the next event of the result sequence.
    position: u64,
    /// Stop before this index.
    end: u64,
    /// Events with an index below this are read but not returned.
    skip_until: u64,
    empty_full_pages: u32,
    /// Buffers of the pages read, to read the next ones into.
    bodies: Arc<Bodies>,
}

/// Which events of a search's result sequence a [`Pager`] reads and which it
/// returns (indices into the sequence, newest event first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    /// Index of the first event read (where the paging starts).
    position: u64,
    /// Events below this index are read but not returned.
    skip_until: u64,
    /// Stop before this index.
    end: u64,
}

impl Span {
    /// From the newest event on, returning the events `returned`.
    fn from_start(returned: Range<u64>) -> Span {
        Span {
            position: 0,
            skip_until: returned.start,
            end: returned.end,
        }
    }

    /// Continuing where a continuation token left off (after
    /// `returned.start` events), returning every event read.
    fn continuing(returned: Range<u64>) -> Span {
        Span {
            position: returned.start,
            skip_until: returned.start,
            end: returned.end,
        }
    }
}

impl Pager {
    /// Paging of `search` from `next` over `span`.
    fn new(client: &Client, search: &SearchId, next: Next, span: Span) -> Pager {
        Pager {
            client: client.clone(),
            search: search.clone(),
            next,
            position: span.position,
            end: span.end,
            skip_until: span.skip_until,
            empty_full_pages: 0,
            bodies: Arc::default(),
        }
    }

    /// Reads one page; `None` when paging is over. The page may be empty
    /// (all its events skipped or outside the window).
    async fn next_page(&mut self) -> Result<Option<RawPage>, TransmitError> {
        let wanted = self.end.saturating_sub(self.position);
        if wanted == 0 || self.next == Next::Done {
            return Ok(None);
        }
        let limit = wanted.min(PAGE_SIZE);
        let query = match &self.next {
            Next::First => self.search.first_page_query(limit),
            Next::Cursor(c) => self.search.cursor_query(c, limit),
            Next::Done => return Ok(None),
        };
        let page = match self.client.events_page(&query, &self.bodies).await {
            Ok(p) => p,
            Err(e) => {
                self.next = Next::Done;
                return Err(e);
            }
        };
        let received = page.data.len() as u64;
        if received > limit {
            self.next = Next::Done;
            return Err(TransmitError::InvalidResponse {
                status: 200,
                detail: format!("{received} events in a page of at most {limit}"),
            });
        }
        let (from, to) = (
            i128::from(self.search.from_ns()),
            i128::from(self.search.to_ns()),
        );
        let mut left_window = false;
        let mut out = Vec::with_capacity(page.data.len());
        let mut kept = 0u64;
        for event in page.data {
            match raw_timestamp_ns(&page.text[event.clone()]) {
                Some(ts) if ts < from => {
                    left_window = true;
                    continue;
                }
                Some(ts) if ts >= to => continue,
                _ => {}
            }
            if self.position >= self.skip_until {
                out.push(event);
            }
            self.position += 1;
            kept += 1;
        }
        let prev = page.page.and_then(|p| p.prev).filter(|c| !c.is_empty());
        if kept == 0 && received == limit && !left_window {
            self.empty_full_pages += 1;
        } else {
            self.empty_full_pages = 0;
        }
        self.next = match prev {
            _ if left_window || received < limit => Next::Done,
            None => Next::Done,
            Some(c) if Next::Cursor(c.clone()) == self.next => {
                return Err(self.broken("the API returned the cursor it was given"));
            }
            Some(_) if self.empty_full_pages >= MAX_EMPTY_FULL_PAGES => {
                return Err(self.broken("full pages of events outside the query's window"));
            }
            Some(c) => Next::Cursor(c),
        };
        Ok(Some(RawPage {
            text: page.text,
            events: out,
            bodies: Arc::clone(&self.bodies),
        }))
    }

    fn broken(&mut self, why: &str) -> TransmitError {
        self.next = Next::Done;
        TransmitError::InvalidResponse {
            status: 200,
            detail: format!("paging does not advance: {why}"),
        }
    }

    /// The continuation token after this call, if any.
    fn metadata(&self, result_limit: u64) -> Option<Metadata> {
        match &self.next {
            Next::Cursor(c) if self.position < result_limit => Some(Metadata {
                result_count: self.position,
                prev_page_token: c.clone(),
            }),
            _ => None,
        }
    }
}

impl Client {
    /// stix-shifter's `results search_id offset length [metadata]`: events
    /// `[offset, offset + length)` of the search (or `length` events after
    /// `metadata.result_count`), capped by `result_limit`, plus the metadata
    /// to continue. See the [module documentation](crate::paging) for the
    /// exact algorithm.
    pub async fn results(
        &self,
        search: &SearchId,
        offset: u64,
        length: u64,
        metadata: Option<&Metadata>,
    ) -> Result<Page, TransmitError> {
        self.raw_results(search, offset, length, metadata)
            .await?
            .parse()
    }

    /// [`Client::results`] with the events as unparsed JSON text, page by
    /// page, for consumers that parse events themselves (`results_stix`:
    /// no `Value` is built per event).
    pub async fn raw_results(
        &self,
        search: &SearchId,
        offset: u64,
        length: u64,
        metadata: Option<&Metadata>,
    ) -> Result<RawResults, TransmitError> {
        let limit = self.result_limit;
        let empty = |metadata: Option<Metadata>| RawResults {
            pages: Vec::new(),
            metadata,
        };
        let mut pager = match metadata {
            Some(m) => {
                if m.prev_page_token.is_empty() {
                    return Err(TransmitError::InvalidMetadata {
                        reason: "`prev_page_token` is empty".to_owned(),
                    });
                }
                if m.result_count >= limit {
                    return Ok(empty(None));
                }
                if length == 0 {
                    return Ok(empty(Some(m.clone())));
                }
                let end = m.result_count.saturating_add(length).min(limit);
                Pager::new(
                    self,
                    search,
                    Next::Cursor(m.prev_page_token.clone()),
                    Span::continuing(m.result_count..end),
                )
            }
            None => {
                let end = offset.saturating_add(length).min(limit);
                if length == 0 || offset >= end {
                    return Ok(empty(None));
                }
                Pager::new(self, search, Next::First, Span::from_start(offset..end))
            }
        };
        let mut pages = Vec::new();
        while let Some(page) = pager.next_page().await? {
            if !page.is_empty() {
                pages.push(page);
            }
        }
        Ok(RawResults {
            pages,
            metadata: pager.metadata(limit),
        })
    }

    /// The search's events page by page (newest first), at most
    /// `min(limit, result_limit)` in all, for `execute`: one request per
    /// item, nothing buffered beyond the current page, same requests and
    /// window guard as [`Client::results`] at offset 0. Empty pages are
    /// not yielded; after an error the stream ends.
    pub fn pages(&self, search: &SearchId, limit: u64) -> PageStream {
        use futures_util::StreamExt;
        Box::pin(
            self.raw_pages(search, limit)
                .map(|page| page.and_then(parse_events)),
        )
    }

    /// [`Client::pages`] with the events as their unparsed JSON text, for
    /// consumers that parse events themselves (no `Value` is built).
    pub fn raw_pages(&self, search: &SearchId, limit: u64) -> RawPageStream {
        let end = limit.min(self.result_limit);
        let pager = Pager::new(self, search, Next::First, Span::from_start(0..end));
        Box::pin(futures_util::stream::unfold(
            Some(pager),
            |state| async move {
                let mut pager = state?;
                loop {
                    match pager.next_page().await {
                        Ok(Some(events)) if events.is_empty() => continue,
                        Ok(Some(events)) => return Some((Ok(events), Some(pager))),
                        Ok(None) => return None,
                        Err(e) => return Some((Err(e), None)),
                    }
                }
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A page's body buffer goes back to its stream's set when the page is
    /// dropped, emptied, and is what the next page is read into.
    #[test]
    fn a_dropped_page_hands_its_buffer_back() {
        let bodies = Arc::new(Bodies::default());
        let mut text = String::with_capacity(1 << 20);
        text.push_str(r#"[{"id": "a"}]"#);
        let at = text.as_ptr();
        let page = RawPage {
            text,
            events: std::iter::once(1..12).collect(),
            bodies: Arc::clone(&bodies),
        };
        assert_eq!(page.iter().collect::<Vec<_>>(), [r#"{"id": "a"}"#]);
        drop(page);
        let again = bodies.take(1000);
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), at, "the same allocation");
        assert!(again.capacity() >= 1 << 20);
        // Nothing kept: a new buffer with the room asked for.
        let fresh = bodies.take(5000);
        assert!(fresh.capacity() >= 5000);
        // At most `KEEP` are kept.
        for _ in 0..10 {
            bodies.give(vec![1; 10]);
        }
        let kept: Vec<_> = (0..10)
            .map(|_| bodies.take(0))
            .filter(|b| b.capacity() > 0)
            .collect();
        assert_eq!(kept.len(), Bodies::KEEP);
        assert!(kept.iter().all(Vec::is_empty));
    }

    #[test]
    fn raw_timestamps() {
        assert_eq!(
            raw_timestamp_ns(r#"{"id": "a", "timestamp": 7, "x": [1, {"timestamp": 9}]}"#),
            Some(7)
        );
        assert_eq!(
            raw_timestamp_ns(r#"{"timestamp": "1970-01-01T00:00:01Z"}"#),
            Some(1_000_000_000)
        );
        assert_eq!(raw_timestamp_ns("{}"), None);
        assert_eq!(raw_timestamp_ns(r#""x""#), None);
        assert_eq!(raw_timestamp_ns(r#"{"timestamp": null}"#), None);
    }

    fn reason(v: Value) -> String {
        match Metadata::from_value(&v) {
            Err(TransmitError::InvalidMetadata { reason }) => reason,
            other => panic!("{v}: {other:?}"),
        }
    }

    #[test]
    fn metadata_from_json() {
        let m =
            Metadata::from_value(&json!({"result_count": 3, "prev_page_token": "off3", "x": 1}))
                .unwrap();
        assert_eq!(
            m,
            Metadata {
                result_count: 3,
                prev_page_token: "off3".into()
            }
        );
        assert_eq!(
            Metadata::from_value(&json!({"result_count": "0", "prev_page_token": "c"}))
                .unwrap()
                .result_count,
            0
        );
        assert_eq!(
            m.to_value(),
            json!({"result_count": 3, "prev_page_token": "off3"})
        );
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"result_count":3,"prev_page_token":"off3"}"#
        );
        assert_eq!(
            reason(json!("notjson")),
            "expected an object with `result_count` and `prev_page_token`"
        );
        assert_eq!(
            reason(json!({"prev_page_token": "off2"})),
            "`result_count` is missing"
        );
        assert_eq!(
            reason(json!({"result_count": -1, "prev_page_token": "c"})),
            "`result_count` is not a non-negative integer"
        );
        assert_eq!(
            reason(json!({"result_count": 1.5, "prev_page_token": "c"})),
            "`result_count` is not a non-negative integer"
        );
        assert_eq!(
            reason(json!({"result_count": "x", "prev_page_token": "c"})),
            "`result_count` is not a non-negative integer"
        );
        assert_eq!(
            reason(json!({"result_count": 1})),
            "`prev_page_token` is missing"
        );
        assert_eq!(
            reason(json!({"result_count": 1, "prev_page_token": ""})),
            "`prev_page_token` is not a non-empty string"
        );
        assert_eq!(
            reason(json!({"result_count": 1, "prev_page_token": 7})),
            "`prev_page_token` is not a non-empty string"
        );
    }
}
