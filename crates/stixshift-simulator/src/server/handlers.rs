//! The endpoints: token check, parameter validation, paging, rendering.

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::log::{parse_query, Auth};
use super::store::{v1_shape, Cursor, Direction, Matches};
use super::AppState;
use crate::filter::{self, Expr};

/// Which generation of the API an endpoint belongs to (error shapes differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gen {
    /// `/api/v1/secureEvents…`: errors are `{"message", "requestId"}`.
    Legacy,
    /// `/secure/events/v1/…`: errors are `{"type", "message", "details"}`.
    V1,
}

/// What a handler tells the front door, for the request log.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outcome {
    pub(crate) auth: Option<Auth>,
    pub(crate) error: Option<String>,
    pub(crate) events: Option<usize>,
    pub(crate) fault: Option<String>,
}

fn with_outcome(mut resp: Response, outcome: Outcome) -> Response {
    resp.extensions_mut().insert(outcome);
    resp
}

/// A JSON error in the generation's shape.
pub(crate) fn error_body(
    st: &AppState,
    gen: Gen,
    status: StatusCode,
    kind: &str,
    message: &str,
) -> Response {
    let body = match gen {
        Gen::Legacy => json!({"message": message, "requestId": st.request_id()}),
        Gen::V1 => json!({"type": kind, "message": message, "details": []}),
    };
    json_response(status, serde_json::to_vec(&body).unwrap_or_default())
}

pub(crate) fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// A status fault's answer: the API's JSON for 500 (and other non-gateway
/// statuses), a proxy's HTML page for 502/503/504.
pub(crate) fn fault_status(st: &AppState, gen: Gen, status: StatusCode) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    match status.as_u16() {
        502..=504 => {
            let code = status.as_u16();
            let html = format!(
                "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
            );
            let mut resp = (status, html).into_response();
            resp.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
            resp
        }
        500 => error_body(
            st,
            gen,
            status,
            "internal_server_error",
            "internal server error",
        ),
        _ => error_body(
            st,
            gen,
            status,
            &reason.to_ascii_lowercase().replace(' ', "_"),
            &reason.to_ascii_lowercase(),
        ),
    }
}

fn authorize(st: &AppState, headers: &HeaderMap) -> Auth {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Auth::Missing;
    };
    let Some((scheme, token)) = value.split_once(' ') else {
        return Auth::Missing;
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Auth::Missing;
    }
    let token = token.trim();
    if token == st.config.token {
        Auth::Valid
    } else if st.config.forbidden_token.as_deref() == Some(token) {
        Auth::Forbidden
    } else {
        Auth::Invalid
    }
}

/// 401 / 403, or `None` when the token is good.
fn deny(st: &AppState, gen: Gen, auth: Auth) -> Option<Response> {
    let outcome = Outcome {
        auth: Some(auth),
        ..Outcome::default()
    };
    match auth {
        Auth::Valid => None,
        Auth::Forbidden => Some(with_outcome(
            error_body(st, gen, StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            outcome,
        )),
        Auth::Missing | Auth::Invalid => Some(with_outcome(
            error_body(
                st,
                gen,
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Bad authentication.",
            ),
            outcome,
        )),
    }
}

/// `GET /api/v1/secureEvents/status`: 200 `{"status":"ok"}` for a good token.
pub(crate) async fn legacy_status(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let auth = authorize(&st, &headers);
    if let Some(resp) = deny(&st, Gen::Legacy, auth) {
        return resp;
    }
    with_outcome(
        json_response(StatusCode::OK, br#"{"status":"ok"}"#.to_vec()),
        Outcome {
            auth: Some(auth),
            ..Outcome::default()
        },
    )
}

pub(crate) async fn legacy_events(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    events(&st, &headers, raw.as_deref(), Gen::Legacy)
}

pub(crate) async fn v1_events(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    events(&st, &headers, raw.as_deref(), Gen::V1)
}

pub(crate) async fn not_found(State(st): State<AppState>, uri: axum::http::Uri) -> Response {
    let gen = if uri.path().starts_with("/secure/") {
        Gen::V1
    } else {
        Gen::Legacy
    };
    with_outcome(
        error_body(&st, gen, StatusCode::NOT_FOUND, "not_found", "Not Found"),
        Outcome {
            error: Some("no such endpoint".to_owned()),
            ..Outcome::default()
        },
    )
}

/// Which events a request asks for, before the filter is applied.
#[derive(Debug, Clone, Copy)]
enum Range {
    /// Store indices `[lo, hi)` (a `from`/`to` window, or a cursor going older).
    Slice { lo: usize, hi: usize },
    /// The `limit` events just before store index `end` (a cursor going newer).
    Before { end: usize },
}

struct Plan {
    range: Range,
    limit: usize,
    filter: Option<Expr>,
    filter_id: u32,
    /// The `from` the query started with, carried in cursors.
    from: Option<i64>,
}

const LEGACY_PARAMS: &[&str] = &["from", "to", "cursor", "filter", "limit"];
const V1_PARAMS: &[&str] = &["from", "to", "cursor", "filter", "limit", "zones"];
/// Documented v1 bounds.
const V1_MAX_CURSOR: usize = 512;
const V1_MAX_FILTER: usize = 2048;

fn one<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn parse_i64(params: &[(String, String)], name: &str) -> Result<Option<i64>, String> {
    match one(params, name) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| format!("`{name}` is not an integer: `{v}`")),
    }
}

fn plan(st: &AppState, params: &[(String, String)], gen: Gen) -> Result<Plan, String> {
    let known = match gen {
        Gen::Legacy => LEGACY_PARAMS,
        Gen::V1 => V1_PARAMS,
    };
    for (i, (k, _)) in params.iter().enumerate() {
        if known.contains(&k.as_str()) {
            if k != "zones" && params[..i].iter().any(|(p, _)| p == k) {
                return Err(format!("parameter `{k}` given more than once"));
            }
        } else if gen == Gen::V1 {
            return Err(format!("unknown parameter `{k}`"));
        }
    }
    let cfg = &st.config;
    let (min_limit, max_limit, default_limit) = match gen {
        Gen::Legacy => (
            cfg.legacy_min_limit,
            cfg.legacy_max_limit,
            cfg.legacy_default_limit,
        ),
        Gen::V1 => (1, cfg.v1_max_limit, cfg.v1_default_limit),
    };
    let limit = match parse_i64(params, "limit")? {
        None => default_limit,
        Some(l) if l < i64::from(min_limit) || l > i64::from(max_limit) => {
            return Err(format!(
                "`limit` must be between {min_limit} and {max_limit}, got {l}"
            ))
        }
        Some(l) => l as u32,
    } as usize;
    let from = parse_i64(params, "from")?;
    let to = parse_i64(params, "to")?;
    let cursor_text = one(params, "cursor");
    let store = &st.store;

    let (range, from_carried, cursor_filter) = match cursor_text {
        Some(c) => {
            if from.is_some() || to.is_some() {
                return Err("`cursor` cannot be combined with `from`/`to`".to_owned());
            }
            if gen == Gen::V1 && c.len() > V1_MAX_CURSOR {
                return Err(format!(
                    "`cursor` is longer than {V1_MAX_CURSOR} characters"
                ));
            }
            let cur = Cursor::decode(c)
                .filter(|cur| cur.pos <= store.len())
                .ok_or_else(|| format!("invalid cursor `{c}`"))?;
            let filter_text = store
                .filter_text(cur.filter)
                .ok_or_else(|| format!("invalid cursor `{c}`"))?;
            let range = match cur.dir {
                Direction::Older => {
                    let hi = match (cfg.cursor_bounded_by_window, cur.from) {
                        (true, Some(f)) => store.older_bound(f).max(cur.pos),
                        _ => store.len(),
                    };
                    Range::Slice { lo: cur.pos, hi }
                }
                Direction::Newer => Range::Before { end: cur.pos },
            };
            (range, cur.from, Some(filter_text))
        }
        None => {
            let (Some(from), Some(to)) = (from, to) else {
                return Err("a time range is required: `from` and `to`, or `cursor`".to_owned());
            };
            if gen == Gen::V1 && (from < 0 || to < 0) {
                return Err("`from` and `to` must not be negative".to_owned());
            }
            if from > to {
                return Err(format!("`from` ({from}) is after `to` ({to})"));
            }
            if (i128::from(to) - i128::from(from)) > i128::from(cfg.max_window_ns) {
                return Err(format!(
                    "the time range is longer than the maximum of {} ns (14 days)",
                    cfg.max_window_ns
                ));
            }
            let (lo, hi) = store.window(from, to);
            (Range::Slice { lo, hi }, Some(from), None)
        }
    };

    // A `filter` parameter (even empty) wins over the cursor's own.
    let filter_text = match (one(params, "filter"), cursor_filter) {
        (Some(f), _) => f.to_owned(),
        (None, Some(f)) => f,
        (None, None) => String::new(),
    };
    if gen == Gen::V1 && filter_text.len() > V1_MAX_FILTER {
        return Err(format!(
            "`filter` is longer than {V1_MAX_FILTER} characters"
        ));
    }
    let filter = if filter_text.trim().is_empty() {
        None
    } else {
        Some(filter::parse(&filter_text).map_err(|e| format!("invalid filter: {e}"))?)
    };
    Ok(Plan {
        range,
        limit,
        filter,
        filter_id: store.intern_filter(if filter_text.trim().is_empty() {
            ""
        } else {
            &filter_text
        }),
        from: from_carried,
    })
}

/// One page: store indices, total, and the continuation positions.
struct Page {
    indices: Vec<usize>,
    total: usize,
    /// Where an older-going cursor continues (always defined).
    older_from: usize,
    /// Whether an older-going cursor would find anything.
    has_older: bool,
    /// Where a newer-going cursor ends, if there are newer matches.
    newer_end: Option<usize>,
}

fn page(st: &AppState, plan: &Plan, m: &Matches) -> Page {
    let store = &st.store;
    let (indices, total, fallback) = match plan.range {
        Range::Slice { lo, hi } => {
            let pa = m.count_before(lo);
            let pb = m.count_before(hi);
            let take = plan.limit.min(pb - pa);
            (
                (pa..pa + take).map(|k| m.nth(k)).collect::<Vec<_>>(),
                pb - pa,
                if take == 0 && plan.limit > 0 { hi } else { lo },
            )
        }
        Range::Before { end } => {
            let pb = m.count_before(end);
            let pa = pb.saturating_sub(plan.limit);
            ((pa..pb).map(|k| m.nth(k)).collect::<Vec<_>>(), pb, end)
        }
    };
    let older_from = indices.last().map(|i| i + 1).unwrap_or(fallback);
    let cont_hi = match (st.config.cursor_bounded_by_window, plan.from) {
        (true, Some(f)) => store.older_bound(f).max(older_from),
        _ => store.len(),
    };
    let has_older = m.count_before(cont_hi) > m.count_before(older_from);
    let newer_end = indices
        .first()
        .copied()
        .filter(|first| m.count_before(*first) > 0);
    Page {
        indices,
        total,
        older_from,
        has_older,
        newer_end,
    }
}

fn events(st: &AppState, headers: &HeaderMap, raw: Option<&str>, gen: Gen) -> Response {
    let auth = authorize(st, headers);
    if let Some(resp) = deny(st, gen, auth) {
        return resp;
    }
    let params = parse_query(raw);
    let mut outcome = Outcome {
        auth: Some(auth),
        ..Outcome::default()
    };
    if one(&params, "cursor").is_some() {
        if let Some(status) = st.faults.cursor_should_fail() {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = match gen {
                Gen::Legacy => json!({
                    "message": status.canonical_reason().unwrap_or("error").to_ascii_lowercase(),
                    "error": "cursor failure (simulated)",
                    "requestId": st.request_id(),
                }),
                Gen::V1 => json!({
                    "type": "cursor_failure",
                    "message": "cursor failure (simulated)",
                    "details": [],
                }),
            };
            outcome.fault = Some("cursor failure".to_owned());
            return with_outcome(
                json_response(status, serde_json::to_vec(&body).unwrap_or_default()),
                outcome,
            );
        }
    }
    let plan = match plan(st, &params, gen) {
        Ok(p) => p,
        Err(reason) => {
            // The legacy API answers every rejected query with the same body
            // (`sysdig-secure-api.md` §4.1, §5.3); the reason goes to a header
            // and the request log only.
            let mut resp = error_body(
                st,
                gen,
                StatusCode::BAD_REQUEST,
                "bad_request",
                if gen == Gen::Legacy {
                    "bad request"
                } else {
                    &reason
                },
            );
            if let Ok(v) = HeaderValue::from_str(&reason.replace(['\r', '\n'], " ")) {
                resp.headers_mut().insert(super::REASON_HEADER, v);
            }
            outcome.error = Some(reason);
            return with_outcome(resp, outcome);
        }
    };
    let m = st.store.matches(plan.filter.as_ref());
    let pg = page(st, &plan, &m);
    st.faults.page_served();
    outcome.events = Some(pg.indices.len());
    let cursor = |dir, pos| {
        Cursor {
            dir,
            pos,
            filter: plan.filter_id,
            from: plan.from,
        }
        .encode()
    };
    let older = cursor(Direction::Older, pg.older_from);
    let body = match gen {
        Gen::Legacy => {
            let mut page = serde_json::Map::new();
            page.insert("total".to_owned(), Value::from(pg.total));
            page.insert("prev".to_owned(), Value::String(older.clone()));
            if pg.has_older {
                page.insert("next".to_owned(), Value::String(older));
            }
            let size: usize = pg
                .indices
                .iter()
                .map(|i| st.store.events[*i].legacy.len() + 1)
                .sum();
            let mut body = Vec::with_capacity(size + 256);
            body.extend_from_slice(b"{\"data\":[");
            let corrupt = !pg.indices.is_empty() && st.faults.take_corrupt_event();
            for (n, i) in pg.indices.iter().enumerate() {
                if n > 0 {
                    body.push(b',');
                }
                let event = &st.store.events[*i].legacy;
                if corrupt && n == 0 {
                    // `{x"id": …}`: not JSON, yet balanced.
                    body.extend_from_slice(b"{x");
                    body.extend_from_slice(event.get(1..).unwrap_or_default());
                    outcome.fault = Some("corrupt event".to_owned());
                } else {
                    body.extend_from_slice(event);
                }
            }
            body.extend_from_slice(b"],\"page\":");
            body.extend_from_slice(&serde_json::to_vec(&page).unwrap_or_default());
            body.push(b'}');
            body
        }
        Gen::V1 => {
            let mut page = serde_json::Map::new();
            page.insert("total".to_owned(), Value::from(pg.total));
            if let Some(end) = pg.newer_end {
                page.insert(
                    "prev".to_owned(),
                    Value::String(cursor(Direction::Newer, end)),
                );
            }
            if pg.has_older {
                page.insert("next".to_owned(), Value::String(older));
            }
            let data: Vec<Value> = pg
                .indices
                .iter()
                .map(|i| v1_shape(&st.store.events[*i]))
                .collect();
            serde_json::to_vec(&json!({"data": data, "page": page})).unwrap_or_default()
        }
    };
    with_outcome(json_response(StatusCode::OK, body), outcome)
}
