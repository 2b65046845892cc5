//! The HTTP(S) server: configuration, router, accept loop and the in-process
//! test helper [`spawn`].

mod conn;
mod faults;
mod handlers;
mod log;
mod store;
mod tls;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

pub use faults::{CursorFailure, FaultPlan, Faults, StatusFault};
pub use log::{Auth, RequestRecord, MAX_RECORDS};
pub use store::StoreError;
pub use tls::{generate_tls, tls_acceptor, TlsError};

use conn::{ConnControl, ResetIo};
use handlers::{Gen, Outcome};
use log::RequestLog;
use store::Store;

/// The demo bearer token accepted when none is configured.
pub const DEFAULT_TOKEN: &str = "stixshift-demo-token";
/// The legacy list endpoint.
pub const LEGACY_EVENTS_PATH: &str = "/api/v1/secureEvents";
/// The legacy status endpoint (the reference's ping).
pub const LEGACY_STATUS_PATH: &str = "/api/v1/secureEvents/status";
/// The v1 ("Next Gen") list endpoint.
pub const V1_EVENTS_PATH: &str = "/secure/events/v1/events";
/// Response header carrying why a request got 400 (the body is the API's
/// generic `{"message":"bad request",…}`).
pub const REASON_HEADER: &str = "x-stixshift-simulator-reason";
/// 14 days in nanoseconds: the longest `from`/`to` window.
pub const MAX_WINDOW_NS: i64 = 14 * 86_400 * 1_000_000_000;

/// The server's notion of "now" (used by the rate limit only).
#[derive(Debug, Clone, Default)]
pub struct Clock(Option<Arc<AtomicI64>>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock(None)
    }

    /// A clock that stands still at `start_ns` until moved.
    pub fn manual(start_ns: i64) -> Self {
        Clock(Some(Arc::new(AtomicI64::new(start_ns))))
    }

    /// Unix nanoseconds now.
    pub fn now_ns(&self) -> i64 {
        match &self.0 {
            Some(t) => t.load(Ordering::SeqCst),
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
                .unwrap_or(0),
        }
    }

    /// Moves a manual clock forward (no effect on the system clock).
    pub fn advance(&self, by: Duration) {
        if let Some(t) = &self.0 {
            t.fetch_add(
                i64::try_from(by.as_nanos()).unwrap_or(i64::MAX),
                Ordering::SeqCst,
            );
        }
    }
}

/// Everything the server needs. `Config::default()` is a plain-HTTP server
/// with the demo token, the seed examples only, and no faults.
#[derive(Debug, Clone)]
pub struct Config {
    /// The bearer token that is accepted.
    pub token: String,
    /// A token that is recognised but lacks the events permission (403).
    pub forbidden_token: Option<String>,
    /// The events served (any order; timestamps RFC 3339 or nanoseconds).
    pub events: Vec<Value>,
    /// Smallest legacy `limit` (0: `limit=0` answers an empty page).
    pub legacy_min_limit: u32,
    /// Largest legacy `limit` (999, what every known client sends at most).
    pub legacy_max_limit: u32,
    /// Legacy `limit` when absent.
    pub legacy_default_limit: u32,
    /// Largest v1 `limit` (documented: 200).
    pub v1_max_limit: u32,
    /// v1 `limit` when absent (documented: 25).
    pub v1_default_limit: u32,
    /// The longest `to - from` accepted.
    pub max_window_ns: i64,
    /// If `true`, cursor pages stop at the `from` of the query they came from.
    /// Default `false`: like the real API (as far as is known), a cursor
    /// keeps going into older events, and the client must guard.
    pub cursor_bounded_by_window: bool,
    /// Faults pending at start.
    pub faults: FaultPlan,
    /// Serve HTTPS with a freshly generated certificate.
    pub tls: bool,
    /// Extra names for the certificate's SAN (besides localhost, 127.0.0.1, ::1).
    pub tls_names: Vec<String>,
    /// The clock for the rate limit.
    pub clock: Clock,
    /// `X-RateLimit-Limit` (requests per minute) sent when no rate limit is set.
    pub rate_limit_header: u32,
    /// Print one line per request on stderr.
    pub log_to_stderr: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            token: DEFAULT_TOKEN.to_owned(),
            forbidden_token: None,
            events: crate::generate::seed_examples(),
            legacy_min_limit: 0,
            legacy_max_limit: 999,
            legacy_default_limit: 25,
            v1_max_limit: 200,
            v1_default_limit: 25,
            max_window_ns: MAX_WINDOW_NS,
            cursor_bounded_by_window: false,
            faults: FaultPlan::default(),
            tls: false,
            tls_names: Vec::new(),
            clock: Clock::system(),
            rate_limit_header: 600,
            log_to_stderr: false,
        }
    }
}

impl Config {
    /// The default configuration serving `events`.
    pub fn with_events(events: Vec<Value>) -> Self {
        Config {
            events,
            ..Config::default()
        }
    }
}

/// Why the server could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The events could not be loaded.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The certificate could not be made.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// Binding or accepting failed.
    #[error("cannot listen: {0}")]
    Io(#[from] io::Error),
}

/// The shared server state (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    pub(crate) config: Arc<Config>,
    pub(crate) store: Arc<Store>,
    pub(crate) faults: Faults,
    pub(crate) log: RequestLog,
    pub(crate) tls: Option<tls::Tls>,
    seq: Arc<AtomicU64>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("events", &self.store.len())
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Loads the events, generates the certificate if `config.tls`.
    /// The events move into the store (`config().events` is then empty).
    pub fn new(mut config: Config) -> Result<AppState, SetupError> {
        let store = Store::new(std::mem::take(&mut config.events))?;
        let tls = if config.tls {
            Some(tls::generate(&config.tls_names)?)
        } else {
            None
        };
        let faults = Faults::new(config.faults.clone(), config.clock.clone());
        Ok(AppState {
            config: Arc::new(config),
            store: Arc::new(store),
            faults,
            log: RequestLog::default(),
            tls,
            seq: Arc::new(AtomicU64::new(0)),
        })
    }

    /// How many events are served.
    pub fn event_count(&self) -> usize {
        self.store.len()
    }

    /// The CA certificate (PEM) clients must trust, when serving TLS.
    pub fn cert_pem(&self) -> Option<String> {
        self.tls.as_ref().map(|t| t.ca_pem.clone())
    }

    /// The fault handle.
    pub fn faults(&self) -> Faults {
        self.faults.clone()
    }

    /// A copy of the request log.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.log.snapshot()
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        self.log.clear();
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// A deterministic 32-hex-digit `requestId` (from the request counter).
    pub(crate) fn request_id(&self) -> String {
        let mut rng = crate::generate::Rng::new(self.seq.load(Ordering::SeqCst));
        format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64())
    }
}

/// The router: the legacy and v1 endpoints behind the front door (faults,
/// rate-limit header, request log).
pub fn app(state: AppState) -> Router {
    Router::new()
        .route(LEGACY_STATUS_PATH, get(handlers::legacy_status))
        .route(LEGACY_EVENTS_PATH, get(handlers::legacy_events))
        .route(V1_EVENTS_PATH, get(handlers::v1_events))
        .fallback(handlers::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), front_door))
        .with_state(state)
}

async fn front_door(
    axum::extract::State(st): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let seq = st.next_seq();
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let (raw_query, params) = log::split_query(req.uri().query());
    let gen = if path.starts_with("/secure/") {
        Gen::V1
    } else {
        Gen::Legacy
    };
    let ctl = req.extensions().get::<ConnControl>().cloned();
    let decision = st.faults.decide();
    let mut fault: Vec<String> = Vec::new();
    if let Some(d) = decision.delay {
        fault.push(format!("delay {} ms", d.as_millis()));
        tokio::time::sleep(d).await;
    }
    let mut reset = false;
    let mut resp = match &decision.action {
        Some(faults::Action::RateLimited { retry_after }) => {
            fault.push("rate limit".to_owned());
            too_many(&st, gen, *retry_after)
        }
        Some(faults::Action::TooMany { retry_after }) => {
            fault.push("429".to_owned());
            too_many(&st, gen, *retry_after)
        }
        Some(faults::Action::Status(s)) => {
            fault.push(format!("status {s}"));
            let status = StatusCode::from_u16(*s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            handlers::fault_status(&st, gen, status)
        }
        Some(faults::Action::Reset) => {
            fault.push("reset".to_owned());
            reset = true;
            if let Some(c) = &ctl {
                c.reset();
            }
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        None => next.run(req).await,
    };
    let outcome = resp
        .extensions_mut()
        .remove::<Outcome>()
        .unwrap_or_default();
    if let Some(f) = outcome.fault {
        fault.push(f);
    }
    let per_minute = st
        .faults
        .rate_limit_per_minute()
        .unwrap_or(st.config.rate_limit_header);
    resp.headers_mut()
        .insert("x-ratelimit-limit", HeaderValue::from(per_minute));
    if decision.truncate {
        fault.push("truncated".to_owned());
        resp = truncate(resp, ctl).await;
    }
    let record = RequestRecord {
        seq,
        method,
        path,
        raw_query,
        params,
        auth: outcome.auth,
        status: (!reset).then(|| resp.status().as_u16()),
        fault: (!fault.is_empty()).then(|| fault.join(", ")),
        error: outcome.error,
        events: outcome.events,
    };
    if st.config.log_to_stderr {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("[simulator] {}", record.summary());
        }
    }
    st.log.push(record);
    resp
}

fn too_many(st: &AppState, gen: Gen, retry_after: u64) -> Response {
    let mut resp = handlers::error_body(
        st,
        gen,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
        "too many requests",
    );
    resp.headers_mut()
        .insert("retry-after", HeaderValue::from(retry_after));
    resp
}

/// Keeps the full `Content-Length`, sends half the body, waits until that
/// half has been flushed to the socket, then fails the body stream so hyper
/// closes the connection mid-body.
async fn truncate(resp: Response, ctl: Option<ConnControl>) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let half = bytes.slice(..bytes.len() / 2);
    parts
        .headers
        .insert("content-length", HeaderValue::from(bytes.len()));
    let flushes = ctl.map(|c| c.flushes());
    let stream = futures_util::stream::unfold(
        (0u8, Some(half), flushes),
        |(step, half, mut flushes)| async move {
            match step {
                0 => Some((Ok(half.unwrap_or_default()), (1, None, flushes))),
                1 => {
                    if let Some(rx) = flushes.as_mut() {
                        let seen = *rx.borrow_and_update();
                        let _ = tokio::time::timeout(
                            Duration::from_secs(10),
                            rx.wait_for(|n| *n > seen),
                        )
                        .await;
                    }
                    Some((
                        Err(io::Error::other("body truncated (simulated fault)")),
                        (2, None, flushes),
                    ))
                }
                _ => None,
            }
        },
    );
    Response::from_parts(parts, Body::from_stream(stream))
}

/// Serves `state` on `listener` (plain HTTP/1.1, or HTTPS when the state was
/// built with `tls`) until `shutdown` completes; then closes idle
/// connections, lets in-flight requests finish (at most 10 s) and returns.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let router = app(state.clone());
    let acceptor = state.tls.as_ref().map(|t| t.acceptor.clone());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) if is_transient(&e) => continue,
                Err(e) => return Err(e),
            },
            () = &mut shutdown => break,
        };
        while tasks.try_join_next().is_some() {}
        let router = router.clone();
        let acceptor = acceptor.clone();
        let stop = stop_rx.clone();
        tasks.spawn(async move {
            let _ = stream.set_nodelay(true);
            let ctl = ConnControl::default();
            let io = ResetIo::new(stream, ctl.clone());
            let service =
                hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ctl.clone());
                    router.clone().oneshot(req)
                });
            match acceptor {
                Some(acceptor) => {
                    let Ok(Ok(tls)) =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(io)).await
                    else {
                        return;
                    };
                    drive(hyper_util::rt::TokioIo::new(tls), service, stop).await;
                }
                None => drive(hyper_util::rt::TokioIo::new(io), service, stop).await,
            }
        });
    }
    let _ = stop_tx.send(true);
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(10), drain)
        .await
        .is_err()
    {
        tasks.abort_all();
    }
    Ok(())
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

async fn drive<I, S>(io: I, service: S, mut stop: watch::Receiver<bool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<hyper::body::Incoming> + Send,
    S::Future: Send + 'static,
    S::ResBody: Send + 'static,
    <S::ResBody as hyper::body::Body>::Data: Send,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let stopped = tokio::select! {
        _ = conn.as_mut() => false,
        r = stop.wait_for(|stopped| *stopped) => r.is_ok(),
    };
    if stopped {
        conn.as_mut().graceful_shutdown();
        let _ = conn.await;
    }
}

/// A simulator running in the background on `127.0.0.1:<ephemeral>`.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<io::Result<()>>>,
    started: Instant,
}

/// Starts a simulator on `127.0.0.1:0` in the current tokio runtime.
///
/// # Panics
/// If the events cannot be loaded, the certificate cannot be generated or
/// nothing can bind on 127.0.0.1 (this is a test helper; see [`try_spawn`]).
pub async fn spawn(config: Config) -> Running {
    match try_spawn(config).await {
        Ok(r) => r,
        Err(e) => panic!("cannot start the simulator: {e}"),
    }
}

/// [`spawn`] without the panic.
pub async fn try_spawn(config: Config) -> Result<Running, SetupError> {
    let state = AppState::new(config)?;
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, state.clone(), async move {
        let _ = rx.await;
    }));
    Ok(Running {
        addr,
        state,
        stop: Some(tx),
        task: Some(task),
        started: Instant::now(),
    })
}

impl Running {
    /// `http://127.0.0.1:<port>` or `https://127.0.0.1:<port>` (the
    /// certificate also names `localhost`).
    pub fn base_url(&self) -> String {
        let scheme = if self.state.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}:{}", self.host(), self.port())
    }

    /// `127.0.0.1`.
    pub fn host(&self) -> String {
        self.addr.ip().to_string()
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA certificate PEM to trust (TLS only).
    pub fn cert_pem(&self) -> Option<String> {
        self.state.cert_pem()
    }

    /// The fault handle.
    pub fn faults(&self) -> Faults {
        self.state.faults()
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.state.requests()
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        self.state.clear_requests();
    }

    /// The server state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// How long the server has been up.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Stops accepting, finishes in-flight requests and waits for the server.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
