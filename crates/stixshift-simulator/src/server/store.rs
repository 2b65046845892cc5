//! The event store: events sorted newest first, pre-rendered, with a cache of
//! which events match each filter, and the cursor codec.
//!
//! Positions are indices into the sorted store (ties on the timestamp keep
//! the input order). A page is a slice of the list of matching indices, found
//! by binary search, so serving a page costs O(log n + limit) once a filter's
//! match list is cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::filter::Expr;
use crate::time::{event_timestamp_nanos, format_rfc3339_nanos};

/// Why the events could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An event is not a JSON object.
    #[error("event {index} is not a JSON object")]
    NotAnObject {
        /// Its position in the input.
        index: usize,
    },
    /// An event has no `timestamp` that reads as RFC 3339 or nanoseconds.
    #[error("event {index} has no usable `timestamp` (RFC 3339 text or integer nanoseconds)")]
    BadTimestamp {
        /// Its position in the input.
        index: usize,
    },
}

pub(crate) struct Stored {
    pub(crate) ts: i64,
    pub(crate) value: Value,
    /// The legacy rendering (RFC 3339 timestamp, our `cursor`), as JSON bytes.
    pub(crate) legacy: Bytes,
}

/// Which way a cursor continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Events at store indices `>= pos` (older), nearest first.
    Older,
    /// Events at store indices `< pos` (newer), the `limit` nearest to `pos`.
    Newer,
}

/// A decoded cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub(crate) dir: Direction,
    pub(crate) pos: usize,
    /// Interned filter id (0 = no filter).
    pub(crate) filter: u32,
    /// The `from` of the query the cursor came from, if any.
    pub(crate) from: Option<i64>,
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn b64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn b64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let vals: Option<Vec<u32>> = text
        .bytes()
        .map(|c| B64.iter().position(|b| *b == c).map(|p| p as u32))
        .collect();
    let vals = vals?;
    for chunk in vals.chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, v)| acc | (v << (18 - 6 * i)));
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

impl Cursor {
    /// `base64url("sim1:<o|n>:<pos>:<filter id>:<from or empty>")`.
    pub(crate) fn encode(&self) -> String {
        let dir = match self.dir {
            Direction::Older => 'o',
            Direction::Newer => 'n',
        };
        let from = self.from.map(|f| f.to_string()).unwrap_or_default();
        b64_encode(format!("sim1:{dir}:{}:{}:{from}", self.pos, self.filter).as_bytes())
    }

    pub(crate) fn decode(text: &str) -> Option<Cursor> {
        let raw = String::from_utf8(b64_decode(text)?).ok()?;
        let mut parts = raw.split(':');
        if parts.next()? != "sim1" {
            return None;
        }
        let dir = match parts.next()? {
            "o" => Direction::Older,
            "n" => Direction::Newer,
            _ => return None,
        };
        let pos = parts.next()?.parse().ok()?;
        let filter = parts.next()?.parse().ok()?;
        let from = match parts.next()? {
            "" => None,
            f => Some(f.parse().ok()?),
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Cursor {
            dir,
            pos,
            filter,
            from,
        })
    }
}

/// The indices of the events a filter matches, ascending (newest first).
pub(crate) enum Matches {
    All(usize),
    List(Vec<u32>),
}

impl Matches {
    /// How many matching events lie at indices `< idx`.
    pub(crate) fn count_before(&self, idx: usize) -> usize {
        match self {
            Matches::All(n) => idx.min(*n),
            Matches::List(l) => l.partition_point(|&i| (i as usize) < idx),
        }
    }

    /// The store index of the `k`-th match.
    pub(crate) fn nth(&self, k: usize) -> usize {
        match self {
            Matches::All(_) => k,
            Matches::List(l) => l[k] as usize,
        }
    }
}

/// The bound on cached match lists; the cache is emptied when it is full.
const MATCH_CACHE_ENTRIES: usize = 64;

pub(crate) struct Store {
    pub(crate) events: Vec<Stored>,
    all: Arc<Matches>,
    cache: Mutex<HashMap<String, Arc<Matches>>>,
    filters: Mutex<(Vec<String>, HashMap<String, u32>)>,
}

impl Store {
    pub(crate) fn new(events: Vec<Value>) -> Result<Store, StoreError> {
        let mut rows = Vec::with_capacity(events.len());
        for (index, ev) in events.into_iter().enumerate() {
            if !ev.is_object() {
                return Err(StoreError::NotAnObject { index });
            }
            let ts = ev
                .get("timestamp")
                .and_then(event_timestamp_nanos)
                .ok_or(StoreError::BadTimestamp { index })?;
            rows.push((ts, ev));
        }
        // Newest first; ties keep the input order.
        rows.sort_by_key(|r| std::cmp::Reverse(r.0));
        let events = rows
            .into_iter()
            .enumerate()
            .map(|(i, (ts, ev))| {
                let cursor = Cursor {
                    dir: Direction::Older,
                    pos: i + 1,
                    filter: 0,
                    from: None,
                }
                .encode();
                let value = legacy_shape(ev, ts, cursor);
                let legacy = Bytes::from(serde_json::to_vec(&value).unwrap_or_default());
                Stored { ts, value, legacy }
            })
            .collect::<Vec<_>>();
        Ok(Store {
            all: Arc::new(Matches::All(events.len())),
            events,
            cache: Mutex::new(HashMap::new()),
            filters: Mutex::new((vec![String::new()], HashMap::new())),
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.events.len()
    }

    /// Store indices `[lo, hi)` of the events with `from <= ts < to`.
    pub(crate) fn window(&self, from: i64, to: i64) -> (usize, usize) {
        let lo = self.events.partition_point(|e| e.ts >= to);
        let hi = self.events.partition_point(|e| e.ts >= from);
        (lo, hi.max(lo))
    }

    /// The first store index with `ts < from` (the end of a window bounded below).
    pub(crate) fn older_bound(&self, from: i64) -> usize {
        self.events.partition_point(|e| e.ts >= from)
    }

    /// The match list for a filter (cached by its canonical text).
    pub(crate) fn matches(&self, filter: Option<&Expr>) -> Arc<Matches> {
        let Some(expr) = filter else {
            return self.all.clone();
        };
        let key = expr.to_string();
        if let Some(m) = self.lock_cache().get(&key) {
            return m.clone();
        }
        let list: Vec<u32> = self
            .events
            .iter()
            .enumerate()
            .filter(|(_, e)| expr.matches(&e.value))
            .map(|(i, _)| i as u32)
            .collect();
        let m = Arc::new(Matches::List(list));
        let mut cache = self.lock_cache();
        if cache.len() >= MATCH_CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(key, m.clone());
        m
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Matches>>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The id under which a filter text travels inside cursors (0 = none).
    pub(crate) fn intern_filter(&self, text: &str) -> u32 {
        if text.is_empty() {
            return 0;
        }
        let mut t = self.filters.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(id) = t.1.get(text) {
            return *id;
        }
        let id = t.0.len() as u32;
        t.0.push(text.to_owned());
        t.1.insert(text.to_owned(), id);
        id
    }

    pub(crate) fn filter_text(&self, id: u32) -> Option<String> {
        let t = self.filters.lock().unwrap_or_else(|e| e.into_inner());
        t.0.get(id as usize).cloned()
    }
}

/// The event as the legacy API returns it: `cursor` right after `id` (ours,
/// replacing any loaded one) and `timestamp` as RFC 3339 with 9 digits.
fn legacy_shape(ev: Value, ts: i64, cursor: String) -> Value {
    let Value::Object(map) = ev else {
        return ev;
    };
    let mut out = Map::with_capacity(map.len() + 1);
    let has_id = map.contains_key("id");
    if !has_id {
        out.insert("cursor".to_owned(), Value::String(cursor.clone()));
    }
    let mut cursor = Some(cursor);
    for (k, v) in map {
        match k.as_str() {
            "cursor" => {}
            "timestamp" => {
                out.insert(k, Value::String(format_rfc3339_nanos(ts)));
            }
            "id" => {
                out.insert(k, v);
                if let Some(c) = cursor.take() {
                    out.insert("cursor".to_owned(), Value::String(c));
                }
            }
            _ => {
                out.insert(k, v);
            }
        }
    }
    Value::Object(out)
}

/// The v1 rendering of a stored event: integer nanosecond `timestamp` and a
/// `content.type` (`workloadRuntimeDetection` unless the event has one).
pub(crate) fn v1_shape(stored: &Stored) -> Value {
    let mut v = stored.value.clone();
    if let Some(obj) = v.as_object_mut() {
        if let Some(t) = obj.get_mut("timestamp") {
            *t = Value::from(stored.ts);
        }
        if let Some(Value::Object(content)) = obj.get_mut("content") {
            if !content.contains_key("type") {
                let mut c = Map::with_capacity(content.len() + 1);
                c.insert(
                    "type".to_owned(),
                    Value::String("workloadRuntimeDetection".to_owned()),
                );
                c.extend(std::mem::take(content));
                *content = c;
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip() {
        for c in [
            Cursor {
                dir: Direction::Older,
                pos: 0,
                filter: 0,
                from: None,
            },
            Cursor {
                dir: Direction::Newer,
                pos: 123_456,
                filter: 7,
                from: Some(-1_000_000_000),
            },
        ] {
            let text = c.encode();
            assert!(text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            assert_eq!(Cursor::decode(&text), Some(c));
        }
        for bad in ["", "x", "off3", "c2ltMTpvOjE", "!!!!"] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn base64_matches_known_vectors() {
        assert_eq!(b64_encode(b"f"), "Zg");
        assert_eq!(b64_encode(b"fo"), "Zm8");
        assert_eq!(b64_encode(b"foo"), "Zm9v");
        assert_eq!(b64_encode(b"foob"), "Zm9vYg");
        assert_eq!(b64_decode("Zm9vYg").as_deref(), Some(&b"foob"[..]));
    }
}
