//! The connection settings, the token, and the HTTP client with its retry
//! loop.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, RETRY_AFTER};

use crate::error::TransmitError;
use crate::retry::{
    classify, jitter_sample, parse_retry_after, Attempt, Decision, Outcome, RetryPolicy,
};
use crate::wire::{self, EventsPage, STATUS_PATH, USER_AGENT};

/// The Sysdig API token. `Debug` and `Display` print `***`; the text is only
/// ever written into the `Authorization` header (marked sensitive).
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Token {
        Token(token.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Token {
    fn from(s: String) -> Token {
        Token(s)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// `https` (always, for a real Sysdig) or `http` (only for the plain-HTTP
/// simulator in tests and demos).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scheme {
    /// `https://` (the default; the reference knows no other).
    #[default]
    Https,
    /// `http://`: test/simulator use only; the token travels in clear text.
    Http,
}

/// The default `port`.
pub const DEFAULT_PORT: u16 = 443;
/// The default `options.timeout` (total time for one request).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default connect timeout (the reference's `STIXSHIFTER_CONNECT_TIMEOUT`).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default `options.result_limit`.
pub const DEFAULT_RESULT_LIMIT: u64 = 10_000;
/// The largest response body read (a full page of 999 events is a few MB).
const MAX_BODY_BYTES: usize = 256 << 20;

/// Where and how to reach the API: stix-shifter's `connection` object, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    /// `connection.host`: a DNS name or an IP address (IPv6 with or
    /// without brackets); no scheme, no path.
    pub host: String,
    /// `connection.port` (default 443).
    pub port: u16,
    /// `https` unless talking to the plain-HTTP simulator.
    pub scheme: Scheme,
    /// `connection.selfSignedCert`: PEM text of one or more certificates
    /// trusted in addition to the system's roots.
    pub self_signed_cert: Option<String>,
    /// `options.timeout`: the total time one HTTP request may take, body
    /// included (per attempt).
    pub timeout: Duration,
    /// The time a TCP + TLS connection may take.
    pub connect_timeout: Duration,
    /// `options.result_limit`: no search yields more events than this.
    pub result_limit: u64,
    /// Retries of one request.
    pub retry: RetryPolicy,
}

impl Connection {
    /// `https://<host>:443` with every default.
    pub fn new(host: impl Into<String>) -> Connection {
        Connection {
            host: host.into(),
            port: DEFAULT_PORT,
            scheme: Scheme::Https,
            self_signed_cert: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            result_limit: DEFAULT_RESULT_LIMIT,
            retry: RetryPolicy::default(),
        }
    }
}

/// How the client waits between attempts (a test hook, see [`Client::with_sleeper`]).
pub type SleepFn = Arc<dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// The client for one connection (cheap to clone; clones share the
/// connection pool).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    /// `scheme://host:port`.
    base: Arc<str>,
    /// `host:port`, for messages.
    address: Arc<str>,
    token: Token,
    timeout: Duration,
    connect_timeout: Duration,
    pub(crate) result_limit: u64,
    retry: RetryPolicy,
    sleep: SleepFn,
}

/// Buffers of events pages already read, handed back when their
/// [`RawPage`](crate::RawPage) is dropped, to read later pages into: a page
/// is megabytes, and a fresh buffer costs a page fault per 4 KiB written
/// (execute, 10 pages of 10,000 events: page faults, zeroing and the
/// kernel's memory accounting had a fifth of the fetching thread's samples,
/// 572 of 2,962, in one profile). One set per paging stream, so the memory
/// goes with the stream.
#[derive(Debug, Default)]
pub(crate) struct Bodies(std::sync::Mutex<Vec<Vec<u8>>>);

impl Bodies {
    /// Buffers kept at most: pages in flight in `execute` (two waiting, one
    /// being translated, one being read).
    pub(crate) const KEEP: usize = 4;

    /// An empty buffer, with room for `capacity` bytes if one kept has it.
    pub(crate) fn take(&self, capacity: usize) -> Vec<u8> {
        let kept = self.0.lock().ok().and_then(|mut v| v.pop());
        match kept {
            Some(mut b) => {
                b.reserve(capacity);
                b
            }
            None => Vec::with_capacity(capacity),
        }
    }

    /// Keep `buf` to be filled again (emptied), unless enough are kept.
    pub(crate) fn give(&self, mut buf: Vec<u8>) {
        buf.clear();
        if let Ok(mut v) = self.0.lock() {
            if v.len() < Self::KEEP {
                v.push(buf);
            }
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("token", &self.token)
            .field("timeout", &self.timeout)
            .field("result_limit", &self.result_limit)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// Which request a status belongs to: ping errors are worded differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Ping,
    Events,
}

/// The final answer of the retry loop.
#[derive(Debug)]
struct Answer {
    status: u16,
    retry_after: Option<Duration>,
    body: Vec<u8>,
    /// The events found while the body arrived (events pages).
    splitter: Option<wire::Splitter>,
}

/// A failed attempt.
#[derive(Debug)]
enum Failure {
    Timeout { connect: bool },
    Connect(String),
    Certificate(String),
    Tls(String),
    Reset,
    Truncated,
    TooLarge(u16),
    Other(String),
}

impl Failure {
    fn outcome(&self) -> Outcome {
        match self {
            Failure::Timeout { .. } => Outcome::Timeout,
            Failure::Connect(_) => Outcome::Connect,
            Failure::Certificate(_) | Failure::Tls(_) => Outcome::Tls,
            Failure::Reset => Outcome::Reset,
            Failure::Truncated => Outcome::Truncated,
            Failure::TooLarge(_) | Failure::Other(_) => Outcome::Other,
        }
    }
}

fn valid_host(host: &str) -> Result<String, TransmitError> {
    let invalid = |reason: String| TransmitError::InvalidConnection { reason };
    if host.is_empty() {
        return Err(invalid("the host is empty".to_owned()));
    }
    if let Some(c) = host
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "/?#@\\%".contains(*c))
    {
        return Err(invalid(format!(
            "the host `{host}` contains `{}`; give a host name or address only (no scheme, path or port)",
            c.escape_default()
        )));
    }
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    Ok(match bare {
        Some(_) => host.to_owned(),
        None if host.contains(':') => {
            if host.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(invalid(format!(
                    "the host `{host}` contains `:`; give the port as `port`"
                )));
            }
            format!("[{host}]")
        }
        None => host.to_owned(),
    })
}

impl Client {
    /// Builds the client for `conn`: one reqwest client (rustls, the system
    /// trust roots plus `self_signed_cert`, no proxy, no redirects), the
    /// `Authorization: Bearer`, `Accept: application/json` and
    /// `User-Agent: stixshift/<version>` headers on every request.
    pub fn new(conn: &Connection, token: Token) -> Result<Client, TransmitError> {
        let invalid = |reason: &str| TransmitError::InvalidConnection {
            reason: reason.to_owned(),
        };
        let host = valid_host(&conn.host)?;
        if conn.port == 0 {
            return Err(invalid("the port is 0"));
        }
        if conn.timeout.is_zero() {
            return Err(invalid("the timeout is 0"));
        }
        if conn.connect_timeout.is_zero() {
            return Err(invalid("the connect timeout is 0"));
        }
        let scheme = match conn.scheme {
            Scheme::Https => "https",
            Scheme::Http => "http",
        };
        let address = format!("{host}:{}", conn.port);
        let base = format!("{scheme}://{address}");
        reqwest::Url::parse(&base).map_err(|e| TransmitError::InvalidConnection {
            reason: format!("`{base}` is not a valid URL: {e}"),
        })?;

        let mut auth =
            HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                invalid("the token holds characters that cannot be sent in an HTTP header")
            })?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, auth);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));

        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(USER_AGENT)
            .default_headers(headers)
            .timeout(conn.timeout)
            .connect_timeout(conn.connect_timeout)
            // The system's roots are added below (for https only), read
            // once per process.
            .tls_built_in_native_certs(false);
        if conn.scheme == Scheme::Https {
            for cert in crate::tls::system_roots() {
                builder = builder.add_root_certificate(cert.clone());
            }
        }
        if let Some(pem) = &conn.self_signed_cert {
            for cert in crate::tls::trust_roots(pem)? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().map_err(|e| TransmitError::Http {
            detail: root_cause(&e),
        })?;
        Ok(Client {
            http,
            base: base.into(),
            address: address.into(),
            token,
            timeout: conn.timeout,
            connect_timeout: conn.connect_timeout,
            result_limit: conn.result_limit,
            retry: conn.retry.clone(),
            sleep: Arc::new(|d| Box::pin(tokio::time::sleep(d))),
        })
    }

    /// Replaces how the client waits between attempts (default:
    /// `tokio::time::sleep`). For tests: record the waits instead of
    /// sleeping.
    pub fn with_sleeper(
        mut self,
        sleep: impl Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync + 'static,
    ) -> Client {
        self.sleep = Arc::new(sleep);
        self
    }

    /// `scheme://host:port`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `GET /api/v1/secureEvents/status`: `Ok` on a 2xx answer.
    ///
    /// Errors: 401 → [`TransmitError::Unauthorized`] (the reference's
    /// "cannot verify credentials"), 429 after retries →
    /// [`TransmitError::TooManyRequests`], other statuses →
    /// [`TransmitError::PingFailed`] with the status and the API's message
    /// (the reference said "cannot verify credentials" for every status),
    /// transport errors as for every request.
    pub async fn ping(&self) -> Result<(), TransmitError> {
        let (answer, attempts) = self.send(STATUS_PATH, None).await?;
        if (200..300).contains(&answer.status) {
            Ok(())
        } else {
            Err(self.status_error(&answer, Op::Ping, attempts))
        }
    }

    /// One events page: `GET /api/v1/secureEvents?<query>` (with retries).
    /// The body is read into a buffer from `bodies`.
    pub(crate) async fn events_page(
        &self,
        query: &str,
        bodies: &Bodies,
    ) -> Result<EventsPage, TransmitError> {
        let path = format!("{}?{query}", wire::EVENTS_PATH);
        let (answer, attempts) = self.send(&path, Some(bodies)).await?;
        if !(200..300).contains(&answer.status) {
            return Err(self.status_error(&answer, Op::Events, attempts));
        }
        let splitter = answer.splitter.unwrap_or_default();
        wire::events_page(answer.body, splitter).map_err(|detail| TransmitError::InvalidResponse {
            status: answer.status,
            detail: wire::redact(&detail, self.token.expose()),
        })
    }

    fn status_error(&self, a: &Answer, op: Op, attempts: u32) -> TransmitError {
        let message = wire::error_message(&a.body, self.token.expose());
        match (op, a.status) {
            (_, 401) => TransmitError::Unauthorized { message },
            (_, 429) => TransmitError::TooManyRequests {
                attempts,
                retry_after: a.retry_after,
            },
            (Op::Ping, status) => TransmitError::PingFailed { status, message },
            (Op::Events, 400) => TransmitError::BadRequest { message },
            (Op::Events, 403) => TransmitError::Forbidden { message },
            (Op::Events, 422) => TransmitError::InvalidQuery { message },
            (Op::Events, status @ (408 | 502..=504)) => TransmitError::Unavailable {
                status,
                message,
                attempts,
            },
            (Op::Events, status) => TransmitError::Status { status, message },
        }
    }

    /// GETs `path_and_query` under the retry policy; returns the last
    /// answer (any status) with the number of attempts made, or the last
    /// transport failure as an error.
    /// `page`: the answer is an events page, split while it arrives, its
    /// body read into a buffer from these.
    async fn send(
        &self,
        path_and_query: &str,
        page: Option<&Bodies>,
    ) -> Result<(Answer, u32), TransmitError> {
        let url = format!("{}{path_and_query}", self.base);
        let start = Instant::now();
        let max = self.retry.max_attempts.max(1);
        let mut number = 0u32;
        loop {
            number += 1;
            let result = self.attempt(&url, page).await;
            let outcome = match &result {
                Ok(a) => Outcome::Status {
                    status: a.status,
                    retry_after: a.retry_after,
                },
                Err(f) => f.outcome(),
            };
            let attempt = Attempt {
                number,
                elapsed: start.elapsed(),
                jitter: jitter_sample(),
            };
            match classify(&outcome, &attempt, &self.retry) {
                // `classify` never retries at `max`; the guard keeps the loop
                // visibly bounded.
                Decision::Retry(wait) if number < max => (self.sleep)(wait).await,
                Decision::Retry(_) | Decision::GiveUp => {
                    return match result {
                        Ok(a) => Ok((a, number)),
                        Err(f) => Err(self.failure_error(f, number)),
                    };
                }
            }
        }
    }

    async fn attempt(&self, url: &str, page: Option<&Bodies>) -> Result<Answer, Failure> {
        let mut resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| classify_error(&e, false))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        // Sized once from the announced length (a page is megabytes: growing
        // by doubling would copy it several times); a length announced but
        // not sent costs no more than 32 MiB of untouched address space.
        let announced = resp.content_length().unwrap_or(0);
        let capacity = usize::try_from(announced).map_or(0, |n| n.min(32 << 20));
        let mut body = match page {
            Some(bodies) => bodies.take(capacity),
            None => Vec::with_capacity(capacity),
        };
        let mut splitter =
            (page.is_some() && (200..300).contains(&status)).then(wire::Splitter::default);
        while let Some(chunk) = resp.chunk().await.map_err(|e| classify_error(&e, true))? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(Failure::TooLarge(status));
            }
            body.extend_from_slice(&chunk);
            // Scanned while the rest is on its way.
            if let Some(s) = splitter.as_mut() {
                s.feed(&body);
            }
        }
        Ok(Answer {
            status,
            retry_after,
            body,
            splitter,
        })
    }

    fn failure_error(&self, f: Failure, attempts: u32) -> TransmitError {
        let address = self.address.to_string();
        let secret = self.token.expose();
        match f {
            Failure::Timeout { connect } => TransmitError::Timeout {
                address,
                after: if connect {
                    self.connect_timeout
                } else {
                    self.timeout
                },
            },
            Failure::Connect(detail) => TransmitError::Connect {
                address,
                detail: wire::redact(&detail, secret),
            },
            Failure::Certificate(detail) => TransmitError::Certificate {
                address,
                detail: wire::redact(&detail, secret),
            },
            Failure::Tls(detail) => TransmitError::Tls {
                address,
                detail: wire::redact(&detail, secret),
            },
            Failure::Reset => TransmitError::ConnectionReset { address, attempts },
            Failure::Truncated => TransmitError::Truncated { address, attempts },
            Failure::TooLarge(status) => TransmitError::InvalidResponse {
                status,
                detail: format!("the body is larger than {} MiB", MAX_BODY_BYTES >> 20),
            },
            Failure::Other(detail) => TransmitError::Http {
                detail: wire::redact(&detail, secret),
            },
        }
    }
}

/// The innermost error's text (the operating system's or TLS layer's
/// reason, without reqwest's "error sending request for url (…)").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    layers(e)
        .last()
        .map_or_else(|| e.to_string(), |l| l.to_string())
}

/// Every error inside `e`: its `source()` chain, descending into nested
/// `io::Error`s (whose `source()` skips the error they wrap).
fn layers<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Vec<&'a (dyn std::error::Error + 'static)> {
    let mut out = Vec::new();
    let mut cur = Some(e);
    while let Some(err) = cur {
        if out.len() >= 32 {
            break;
        }
        out.push(err);
        cur = match err.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    out
}

/// A reqwest error → what it means for retrying and reporting; by type,
/// never by message text.
fn classify_error(e: &reqwest::Error, in_body: bool) -> Failure {
    if e.is_timeout() {
        return Failure::Timeout {
            connect: e.is_connect(),
        };
    }
    let layers = layers(e);
    if let Some(t) = layers
        .iter()
        .find_map(|l| l.downcast_ref::<rustls::Error>())
    {
        return if crate::tls::is_certificate_error(t) {
            Failure::Certificate(t.to_string())
        } else {
            Failure::Tls(t.to_string())
        };
    }
    let broken = if in_body {
        Failure::Truncated
    } else {
        Failure::Reset
    };
    for layer in &layers {
        if let Some(io) = layer.downcast_ref::<io::Error>() {
            match io.kind() {
                io::ErrorKind::ConnectionRefused
                | io::ErrorKind::AddrNotAvailable
                | io::ErrorKind::HostUnreachable
                | io::ErrorKind::NetworkUnreachable => {
                    return Failure::Connect(root_cause(*layer));
                }
                io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof => return broken,
                io::ErrorKind::TimedOut => {
                    return Failure::Timeout {
                        connect: e.is_connect(),
                    }
                }
                _ => {}
            }
        }
        if let Some(h) = layer.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_canceled() || h.is_closed() {
                return broken;
            }
        }
    }
    if in_body {
        Failure::Truncated
    } else if e.is_connect() {
        Failure::Connect(root_cause(e))
    } else {
        Failure::Other(root_cause(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_never_printed() {
        let t = Token::new("s3cr3t");
        assert_eq!(format!("{t}"), "***");
        assert_eq!(format!("{t:?}"), "***");
        let c = Client::new(&Connection::new("localhost"), t).unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("s3cr3t"), "{dbg}");
        assert!(dbg.contains("https://localhost:443"), "{dbg}");
    }

    fn invalid(host: &str) -> String {
        match Client::new(&Connection::new(host), Token::new("t")) {
            Err(TransmitError::InvalidConnection { reason }) => reason,
            other => panic!("{host}: {other:?}"),
        }
    }

    #[test]
    fn hosts() {
        for (host, base) in [
            ("localhost", "https://localhost:443"),
            ("10.0.0.1", "https://10.0.0.1:443"),
            ("::1", "https://[::1]:443"),
            ("[::1]", "https://[::1]:443"),
            ("secure.sysdig.com", "https://secure.sysdig.com:443"),
        ] {
            let c = Client::new(&Connection::new(host), Token::new("t")).unwrap();
            assert_eq!(c.base_url(), base);
        }
        assert_eq!(invalid(""), "the host is empty");
        assert_eq!(
            invalid("https://localhost"),
            "the host `https://localhost` contains `/`; give a host name or address only (no scheme, path or port)"
        );
        assert_eq!(
            invalid("localhost:443"),
            "the host `localhost:443` contains `:`; give the port as `port`"
        );
        assert_eq!(
            invalid("a b"),
            "the host `a b` contains ` `; give a host name or address only (no scheme, path or port)"
        );
    }

    #[test]
    fn bad_settings() {
        let mut c = Connection::new("h");
        c.port = 0;
        assert_eq!(
            Client::new(&c, Token::new("t")).unwrap_err().to_string(),
            "invalid connection: the port is 0"
        );
        let c = Connection {
            timeout: Duration::ZERO,
            ..Connection::new("h")
        };
        assert_eq!(
            Client::new(&c, Token::new("t")).unwrap_err().to_string(),
            "invalid connection: the timeout is 0"
        );
        let e = Client::new(&Connection::new("h"), Token::new("bad\ntoken\u{1}")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid connection: the token holds characters that cannot be sent in an HTTP header"
        );
        let c = Connection {
            self_signed_cert: Some("nope".into()),
            ..Connection::new("h")
        };
        let e = Client::new(&c, Token::new("t")).unwrap_err();
        assert_eq!(e.code(), "certificate_fail");
    }
}
