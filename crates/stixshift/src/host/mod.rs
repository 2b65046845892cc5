//! `stixshift host`: the HTTP server that stix-shifter's `proxy` connector
//! drives (the endpoints of the old `stix-shifter host`, done right).
//!
//! Every endpoint is a `POST` whose body is JSON whatever its content type
//! (the proxy client sends `text/plain`); every answer is a JSON body in
//! stix-shifter's own result format, errors included, because the client
//! ignores the status and parses the body. `GET /health` answers `{"status": "ok"}`.

use std::future::Future;
use std::io;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use futures_util::FutureExt;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::error::{envelope, Error, ErrorCode, Stage};
use crate::transmit::ClientKey;

mod ops;
pub mod tls;

/// Largest request body accepted (events for `/translate_results` included).
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024 * 1024;
/// How long one request may take before it is answered with an error.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a client may take to send a request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long in-flight requests may run on after shutdown was asked for.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Where request log lines go.
pub type LogSink = Arc<dyn Fn(&str) + Send + Sync>;

/// What every request handler can see.
#[derive(Clone)]
pub struct HostState {
    inner: Arc<Inner>,
}

struct Inner {
    config: HostConfig,
    log: LogSink,
    next_id: AtomicU64,
    /// Equal keys share one client (and its pooled TCP/TLS connections).
    clients: std::sync::Mutex<std::collections::HashMap<ClientKey, stixshift_transmit::Client>>,
}

/// Most cached clients; the cache is emptied when it is full.
const MAX_CLIENTS: usize = 64;

/// Server settings.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// The identity given on the command line: replaces the one in
    /// `/translate_results` and `/create_results_stix_connection` requests.
    pub identity: Option<Value>,
    /// Largest request body, bytes.
    pub body_limit: usize,
    /// Per-request time limit (reading the body included).
    pub request_timeout: Duration,
    /// The clock for default query windows.
    pub now_ms: fn() -> i64,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            identity: None,
            body_limit: DEFAULT_BODY_LIMIT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            now_ms: crate::env::now_ms,
        }
    }
}

/// A JSON response with stix-shifter's body.
fn json_response(status: StatusCode, body: &Value) -> Response {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    let outcome = Outcome(outcome_of(body));
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(text),
    )
        .into_response();
    response.extensions_mut().insert(outcome);
    response
}

/// `ok`, or the stix-shifter error code of an answer (for the request log).
#[derive(Clone, Debug)]
struct Outcome(String);

fn outcome_of(body: &Value) -> String {
    match body.get("success") {
        Some(Value::Bool(false)) => body
            .get("code")
            .and_then(Value::as_str)
            .unwrap_or("error")
            .to_owned(),
        _ => "ok".to_owned(),
    }
}

/// The shape of the errors answered on `path`: the translation endpoints'
/// or the transmission endpoints' (`error` before `code`).
fn stage_of(path: &str) -> Stage {
    match path {
        "/transform_query" | "/parse_query" | "/translate_results" => Stage::Translation,
        _ => Stage::Transmission,
    }
}

/// The error document for `e` answered on `path`.
fn error_json(path: &str, e: &Error) -> Value {
    e.to_json_in(stage_of(path))
}

/// An error answer of the server's own (`code`, `message`) on `path`.
fn server_error(status: StatusCode, path: &str, code: ErrorCode, message: &str) -> Response {
    json_response(
        status,
        &envelope(stage_of(path), code, message, crate::error::CONNECTOR),
    )
}

/// An error document for a request that could not be understood.
fn reject(status: StatusCode, path: &str, message: &str) -> Response {
    server_error(status, path, ErrorCode::InvalidParameter, message)
}

/// The router; request logs go to stderr.
pub fn app(config: HostConfig) -> Router {
    app_with_log(config, Arc::new(|line: &str| eprintln!("{line}")))
}

/// The router, with request log lines handed to `log`.
pub fn app_with_log(config: HostConfig, log: LogSink) -> Router {
    let state = HostState {
        inner: Arc::new(Inner {
            config,
            log,
            next_id: AtomicU64::new(1),
            clients: std::sync::Mutex::new(std::collections::HashMap::new()),
        }),
    };
    let mut router = Router::new().route(
        "/health",
        get(|| async { json_response(StatusCode::OK, &json!({"status": "ok"})) }),
    );
    for path in ops::PATHS {
        router = router.route(path, post(dispatch));
    }
    router
        .fallback(|method: Method, uri: axum::http::Uri| async move {
            reject(
                StatusCode::NOT_FOUND,
                uri.path(),
                &format!("no such endpoint: {method} {}", uri.path()),
            )
        })
        .method_not_allowed_fallback(|method: Method, uri: axum::http::Uri| async move {
            reject(
                StatusCode::METHOD_NOT_ALLOWED,
                uri.path(),
                &format!("{} takes POST (GET /health), not {method}", uri.path()),
            )
        })
        .layer(middleware::from_fn_with_state(state.clone(), log_requests))
        .with_state(state)
}

/// One line per request on stderr, `key=value` fields: request number,
/// method, path, status, outcome (`ok` or the error code), bytes in and out,
/// duration. Never the body or headers (the body carries credentials).
async fn log_requests(State(state): State<HostState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = state.inner.next_id.fetch_add(1, Ordering::Relaxed);
    let method = req.method().clone();
    let path: String = req
        .uri()
        .path()
        .chars()
        .take(200)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect();
    let bytes_in = content_length(req.headers());
    let response = next.run(req).await;
    let outcome = response
        .extensions()
        .get::<Outcome>()
        .map_or("-", |o| o.0.as_str());
    let bytes_out = axum::body::HttpBody::size_hint(response.body())
        .exact()
        .map_or_else(|| "-".to_owned(), |n| n.to_string());
    (state.inner.log)(&format!(
        "stixshift host: id={id} method={method} path={path} status={} outcome={outcome} bytes_in={bytes_in} bytes_out={bytes_out} ms={:.1}",
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1e3
    ));
    response
}

fn content_length(headers: &axum::http::HeaderMap) -> String {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned()
}

async fn dispatch(State(state): State<HostState>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let timeout = state.inner.config.request_timeout;
    let answer = AssertUnwindSafe(answer(&state, &path, req)).catch_unwind();
    match tokio::time::timeout(timeout, answer).await {
        Ok(Ok(response)) => response,
        Ok(Err(_panic)) => server_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &path,
            ErrorCode::Unknown,
            "internal error while answering the request",
        ),
        Err(_) => server_error(
            StatusCode::GATEWAY_TIMEOUT,
            &path,
            ErrorCode::ServiceUnavailable,
            &format!(
                "server timeout_error: the request took more than {} s",
                timeout.as_secs()
            ),
        ),
    }
}

/// Read the body (at most the body limit), parse it, answer it.
async fn answer(state: &HostState, path: &str, req: Request) -> Response {
    let limit = state.inner.config.body_limit;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(path, limit);
    }
    let bytes: Bytes = match axum::body::to_bytes(req.into_body(), limit).await {
        Ok(b) => b,
        Err(e) => {
            return if is_length_limit(&e) {
                too_large(path, limit)
            } else {
                reject(
                    StatusCode::BAD_REQUEST,
                    path,
                    &format!("cannot read the request body: {e}"),
                )
            };
        }
    };
    // `/translate_results`: the events (`data`, most of the body) are kept
    // as their JSON text for the streaming translator, not parsed into a
    // `Value` with the rest.
    if path == "/translate_results" {
        if let Some((body, data)) = split_data(&bytes) {
            let data = data.map(|range| bytes.slice(range));
            return respond(path, ops::handle(state, path, body, data).await);
        }
    }
    let body: Value = match serde_json::from_slice(&bytes) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => {
            return reject(
                StatusCode::BAD_REQUEST,
                path,
                "the request body must be a JSON object",
            )
        }
        Err(e) => {
            return reject(
                StatusCode::BAD_REQUEST,
                path,
                &format!("the request body is not JSON: {e}"),
            )
        }
    };
    respond(path, ops::handle(state, path, body, None).await)
}

/// A request body (a JSON object) without its `data` member, and where the
/// member's JSON text is in `bytes` (`None` without one); `None` if the
/// body is not such an object (the caller's full parse words the error).
fn split_data(bytes: &[u8]) -> Option<(Value, Option<std::ops::Range<usize>>)> {
    #[derive(serde::Deserialize)]
    struct Split<'a> {
        #[serde(borrow, default)]
        data: Option<&'a serde_json::value::RawValue>,
        #[serde(flatten)]
        rest: serde_json::Map<String, Value>,
    }
    let split: Split<'_> = serde_json::from_slice(bytes).ok()?;
    // The member's place in the body, from its address: a borrowed
    // `RawValue` is a slice of `bytes` (its lifetime says so), so the range
    // needs only a bounds check, not a comparison of megabytes with
    // themselves.
    let Some(raw) = split.data.map(|r| r.get().as_bytes()) else {
        return Some((Value::Object(split.rest), None));
    };
    let start = (raw.as_ptr() as usize).checked_sub(bytes.as_ptr() as usize)?;
    let range = start..start + raw.len();
    bytes.get(range.clone())?;
    Some((Value::Object(split.rest), Some(range)))
}

/// The response to an answered request.
fn respond(path: &str, answer: Result<crate::transmit::Answer, Error>) -> Response {
    match answer {
        Ok(crate::transmit::Answer::Doc(value)) => json_response(StatusCode::OK, &value),
        // A rendered bundle (`results_stix`) goes out as it is, compacted.
        Ok(answer) => {
            let mut response = (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                Body::from(answer.to_compact()),
            )
                .into_response();
            response.extensions_mut().insert(Outcome("ok".to_owned()));
            response
        }
        Err(e) => json_response(StatusCode::OK, &error_json(path, &e)),
    }
}

fn too_large(path: &str, limit: usize) -> Response {
    reject(
        StatusCode::PAYLOAD_TOO_LARGE,
        path,
        &format!("request body too large (limit {limit} bytes)"),
    )
}

/// Did reading the body stop at the body limit?
fn is_length_limit(e: &axum::Error) -> bool {
    std::error::Error::source(e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
}

impl HostState {
    /// The Sysdig client for `conn`, built once per distinct connection.
    pub(crate) fn client(
        &self,
        conn: &crate::connection::ConnectionConfig,
    ) -> Result<stixshift_transmit::Client, crate::error::Error> {
        let key = ClientKey::of(conn);
        let cache = || {
            self.inner
                .clients
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some(c) = cache().get(&key) {
            return Ok(c.clone());
        }
        // Built without the lock (it reads the system's trust roots): other
        // requests go on meanwhile; two racing builds keep the first.
        let client = key.client()?;
        let mut cache = cache();
        if cache.len() >= MAX_CLIENTS {
            cache.clear();
        }
        Ok(cache.entry(key).or_insert(client).clone())
    }

    pub(crate) fn identity(&self) -> Option<&Value> {
        self.inner.config.identity.as_ref()
    }

    pub(crate) fn now_ms(&self) -> i64 {
        (self.inner.config.now_ms)()
    }
}

/// Serve `router` on `listener`, over TLS when `tls` is given, until
/// `shutdown` completes; in-flight requests then finish (at most 30 s) while
/// idle keep-alive connections are closed. Slow clients are bounded: 10 s
/// for the TLS handshake, 30 s for a request's headers.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    let mut failures = 0u32;
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => {
                    failures = 0;
                    pair
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::Interrupted) => continue,
                Err(e) => {
                    // Out of file descriptors and the like: back off and go on
                    // (bounded: a listener that keeps failing is given up).
                    failures += 1;
                    if failures > 1000 {
                        return Err(e);
                    }
                    eprintln!("stixshift host: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        while tasks.try_join_next().is_some() {}
        let _ = stream.set_nodelay(true);
        let acceptor = tls.clone();
        let router = router.clone();
        let stop = stop_rx.clone();
        tasks.spawn(async move {
            match acceptor {
                Some(acceptor) => {
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    else {
                        return;
                    };
                    serve_connection(stream, router, stop).await;
                }
                None => serve_connection(stream, router, stop).await,
            }
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(DRAIN_TIMEOUT, drain).await.is_err() {
        tasks.abort_all();
    }
    Ok(())
}

/// One HTTP/1.1 connection, closed gracefully when `stop` turns true.
async fn serve_connection<S>(
    stream: S,
    router: Router,
    mut stop: tokio::sync::watch::Receiver<bool>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper_util::service::TowerToHyperService::new(router);
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
    tokio::pin!(conn);
    let stopping = async move {
        let _ = stop.wait_for(|s| *s).await.map(|_| ());
    };
    tokio::select! {
        _ = conn.as_mut() => {}
        () = stopping => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
