//! The request log: what each client sent, without its token.

use std::sync::{Arc, Mutex};

/// Query parameter names whose values are never logged.
const SECRET_PARAMS: &[&str] = &[
    "token",
    "access_token",
    "api_token",
    "apikey",
    "api_key",
    "authorization",
];

/// How the bearer token of a request was judged (if it got that far).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// No `Authorization: Bearer …` header.
    Missing,
    /// A token that is not the configured one.
    Invalid,
    /// The configured token.
    Valid,
    /// The configured forbidden token (no events permission).
    Forbidden,
}

/// One request as the simulator saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// 1, 2, 3, … in arrival order.
    pub seq: u64,
    /// `GET`, …
    pub method: String,
    /// The path, e.g. `/api/v1/secureEvents`.
    pub path: String,
    /// The query string as received (percent-encoded); secret parameters removed.
    pub raw_query: Option<String>,
    /// The decoded query parameters in order (`+` is a space, as in forms);
    /// empty names (from `?&cursor=…`) skipped, secret parameters removed.
    pub params: Vec<(String, String)>,
    /// The token check, if the request reached it.
    pub auth: Option<Auth>,
    /// The status sent, or `None` when the connection was reset.
    pub status: Option<u16>,
    /// The injected fault, if any (`"429"`, `"status 503"`, `"reset"`, …).
    pub fault: Option<String>,
    /// Why a request was rejected (400s).
    pub error: Option<String>,
    /// How many events the answer held.
    pub events: Option<usize>,
}

impl RequestRecord {
    /// The first value of a decoded parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// One human-readable line.
    pub fn summary(&self) -> String {
        let params = self
            .params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ");
        let status = self
            .status
            .map(|s| s.to_string())
            .unwrap_or_else(|| "reset".to_owned());
        let mut line = format!("#{} {} {}", self.seq, self.method, self.path);
        if !params.is_empty() {
            line.push_str(&format!(" [{params}]"));
        }
        line.push_str(&format!(" -> {status}"));
        if let Some(n) = self.events {
            line.push_str(&format!(" {n} events"));
        }
        if let Some(f) = &self.fault {
            line.push_str(&format!(" (fault: {f})"));
        }
        if let Some(e) = &self.error {
            line.push_str(&format!(" ({e})"));
        }
        line
    }
}

/// Every parameter of a query string (named ones), decoded: what the
/// handlers judge, secret-named ones included.
pub(crate) fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|raw| {
        form_urlencoded::parse(raw.as_bytes())
            .into_owned()
            .filter(|(k, _)| !k.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

/// The query string and parameters as the request log keeps them: without
/// secret-named parameters.
pub(crate) fn split_query(raw: Option<&str>) -> (Option<String>, Vec<(String, String)>) {
    let Some(raw) = raw else {
        return (None, Vec::new());
    };
    let all = parse_query(Some(raw));
    let secret = |k: &str| SECRET_PARAMS.iter().any(|s| s.eq_ignore_ascii_case(k));
    if all.iter().any(|(k, _)| secret(k)) {
        let kept: Vec<(String, String)> = all.into_iter().filter(|(k, _)| !secret(k)).collect();
        let raw = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(kept.iter())
            .finish();
        (Some(raw), kept)
    } else {
        (Some(raw.to_owned()), all)
    }
}

/// The in-memory log (bounded: the oldest records are dropped past
/// [`MAX_RECORDS`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestLog(Arc<Mutex<Vec<RequestRecord>>>);

/// How many records the log keeps.
pub const MAX_RECORDS: usize = 100_000;

impl RequestLog {
    pub(crate) fn push(&self, r: RequestRecord) {
        let mut v = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if v.len() >= MAX_RECORDS {
            v.drain(..MAX_RECORDS / 10);
        }
        v.push(r);
    }

    pub(crate) fn snapshot(&self) -> Vec<RequestRecord> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}
