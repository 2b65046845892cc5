//! `stixshift host`: the HTTP server that stix-shifter's `proxy` connector
//! drives (the endpoints of the old `stix-shifter host`, done right).
//!
//! Every endpoint is a `POST` whose body is JSON whatever its content type
//! (the proxy client sends `text/plain`); every answer is a JSON body in
//! stix-shifter's own result format, errors included, because the client
//! ignores the status and parses the body. `GET /health` answers `{"status": "ok"}`.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::error::{envelope, ErrorCode, Stage};

mod ops;
pub mod tls;

/// Largest request body accepted (events for `/translate_results` included).
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024 * 1024;
/// How long one request may take before it is answered with an error.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// What every request handler can see.
#[derive(Clone)]
pub struct HostState {
    inner: Arc<Inner>,
}

struct Inner {
    identity: Option<Value>,
    request_timeout: Duration,
    now_ms: fn() -> i64,
}

/// Server settings.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// The identity given on the command line: replaces the one in
    /// `/translate_results` and `/create_results_stix_connection` requests.
    pub identity: Option<Value>,
    /// Largest request body, bytes.
    pub body_limit: usize,
    /// Per-request time limit.
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
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(text),
    )
        .into_response()
}

/// An error document for a request that could not be understood.
fn bad_request(message: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        &envelope(
            Stage::Translation,
            ErrorCode::InvalidParameter,
            message,
            crate::error::CONNECTOR,
        ),
    )
}

/// The router.
pub fn app(config: HostConfig) -> Router {
    let state = HostState {
        inner: Arc::new(Inner {
            identity: config.identity,
            request_timeout: config.request_timeout,
            now_ms: config.now_ms,
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
        .fallback(|method: Method| async move {
            json_response(
                StatusCode::NOT_FOUND,
                &envelope(
                    Stage::Translation,
                    ErrorCode::InvalidParameter,
                    &format!("no such endpoint for {method}"),
                    crate::error::CONNECTOR,
                ),
            )
        })
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(middleware::from_fn(log_requests))
        .with_state(state)
}

/// One line per request on stderr: method, path, status, duration. Never the
/// body (it carries credentials).
async fn log_requests(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    eprintln!(
        "stixshift host: method={method} path={path} status={} ms={:.1}",
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1e3
    );
    response
}

async fn dispatch(State(state): State<HostState>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let bytes: Bytes = match axum::body::to_bytes(req.into_body(), usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.to_string().contains("length limit"))
                || e.to_string().contains("length limit");
            return if too_large {
                json_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &envelope(
                        Stage::Translation,
                        ErrorCode::InvalidParameter,
                        "request body too large",
                        crate::error::CONNECTOR,
                    ),
                )
            } else {
                bad_request(&format!("cannot read the request body: {e}"))
            };
        }
    };
    let body: Value = match serde_json::from_slice(&bytes) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => return bad_request("the request body must be a JSON object"),
        Err(e) => return bad_request(&format!("the request body is not JSON: {e}")),
    };
    let timeout = state.inner.request_timeout;
    match tokio::time::timeout(timeout, ops::handle(&state, &path, body)).await {
        Ok(Ok(value)) => json_response(StatusCode::OK, &value),
        Ok(Err(e)) => json_response(StatusCode::OK, &e.to_json()),
        Err(_) => json_response(
            StatusCode::GATEWAY_TIMEOUT,
            &envelope(
                Stage::Transmission,
                ErrorCode::ServiceUnavailable,
                &format!("request timed out after {} s", timeout.as_secs()),
                crate::error::CONNECTOR,
            ),
        ),
    }
}

impl HostState {
    pub(crate) fn identity(&self) -> Option<&Value> {
        self.inner.identity.as_ref()
    }

    pub(crate) fn now_ms(&self) -> i64 {
        (self.inner.now_ms)()
    }
}

/// Serve `router` on `listener`, over TLS when `tls` is given, until
/// `shutdown` completes; in-flight requests then finish (at most 30 s).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let Some(acceptor) = tls else {
        return axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await;
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::Interrupted) => continue,
                Err(e) => return Err(e),
            },
            () = &mut shutdown => break,
        };
        while tasks.try_join_next().is_some() {}
        let acceptor = acceptor.clone();
        let router = router.clone();
        let mut stop = stop_rx.clone();
        tasks.spawn(async move {
            let Ok(Ok(tls)) =
                tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await
            else {
                return;
            };
            let service = hyper_util::service::TowerToHyperService::new(router);
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service);
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
        });
    }
    let _ = stop_tx.send(true);
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(30), drain)
        .await
        .is_err()
    {
        tasks.abort_all();
    }
    Ok(())
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
