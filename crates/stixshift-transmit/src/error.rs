//! [`TransmitError`]: everything a call to the Sysdig API can end in, with the
//! stix-shifter code and message each one maps to (`sysdig-connector.md`
//! §8.6, `stix-shifter-contract.md` §7.3).
//!
//! The `Display` text is the message stix-shifter would print after
//! `sysdig connector error => ` (the façade adds that prefix), kept identical
//! to the reference where the reference's text is meaningful and improved
//! where it is not. No message ever contains the token: texts that come from
//! the server are scrubbed of it before they are stored here.

use std::time::Duration;

/// The reference's text for a 400 whose body `message` is `bad request`
/// (Sysdig answers a too-wide window and a bad filter alike).
pub const BAD_REQUEST_TEXT: &str =
    "Query time range can be maximum up to 14 days or The given query is invalid";

/// The reference's text for a 401.
pub const UNAUTHORIZED_TEXT: &str = "cannot verify credentials";

/// Why a call to the API failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransmitError {
    /// HTTP 401 (bad or missing token).
    #[error("{UNAUTHORIZED_TEXT}")]
    Unauthorized {
        /// The API's `message`, if the body had one.
        message: Option<String>,
    },
    /// HTTP 403 on an events request (the token lacks the permission).
    #[error("{}", message.as_deref().unwrap_or("Forbidden"))]
    Forbidden {
        /// The API's `message`, if the body had one.
        message: Option<String>,
    },
    /// HTTP 400 on an events request: a window over 14 days, a filter the
    /// API rejects, an invalid cursor.
    #[error("{}", bad_request(message.as_deref()))]
    BadRequest {
        /// The API's `message`, if the body had one.
        message: Option<String>,
    },
    /// HTTP 422 on an events request.
    #[error("{}", message.as_deref().unwrap_or("unprocessable query (HTTP 422)"))]
    InvalidQuery {
        /// The API's `message`, if the body had one.
        message: Option<String>,
    },
    /// HTTP 429 on every attempt the retry policy allowed.
    #[error("Max retries exceeded. too_many_requests with max retry ({attempts})")]
    TooManyRequests {
        /// Attempts made.
        attempts: u32,
        /// The last `Retry-After` the API sent.
        retry_after: Option<Duration>,
    },
    /// HTTP 408, 502, 503 or 504 (on every attempt, for the retried ones).
    #[error("{} (HTTP {status} {}, {attempts} attempt{})", message.as_deref().unwrap_or("service unavailable"), reason(*status), plural(*attempts))]
    Unavailable {
        /// The last status.
        status: u16,
        /// The API's `message`, if the last body had one (proxies send HTML).
        message: Option<String>,
        /// Attempts made.
        attempts: u32,
    },
    /// Any other non-success status on an events request (404, 500, …).
    #[error("{}", status_text(*status, message.as_deref()))]
    Status {
        /// The HTTP status.
        status: u16,
        /// The API's `message` (or `error`), if the body had one.
        message: Option<String>,
    },
    /// A non-success status other than 401 and 429 on the ping request.
    #[error("ping failed: HTTP {status} {}{}", reason(*status), message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    PingFailed {
        /// The HTTP status.
        status: u16,
        /// The API's `message`, if the body had one.
        message: Option<String>,
    },
    /// The host could not be reached (refused, unresolvable, unroutable).
    #[error("cannot connect to host `{address}`: {detail}")]
    Connect {
        /// `host:port`.
        address: String,
        /// The operating system's reason.
        detail: String,
    },
    /// No complete response within `options.timeout` (or the connect timeout).
    #[error("timeout_error ({} sec): no complete response from `{address}`", seconds(*after))]
    Timeout {
        /// `host:port`.
        address: String,
        /// The timeout that expired.
        after: Duration,
    },
    /// The server's certificate is not trusted (unknown issuer, wrong name,
    /// expired, …).
    #[error("certificate verify failed for `{address}`: {detail}")]
    Certificate {
        /// `host:port`.
        address: String,
        /// What the verifier said.
        detail: String,
    },
    /// Another TLS failure (handshake, protocol).
    #[error("TLS handshake with `{address}` failed: {detail}")]
    Tls {
        /// `host:port`.
        address: String,
        /// What the TLS layer said.
        detail: String,
    },
    /// `selfSignedCert` is not a usable PEM certificate.
    #[error("Unable to load certificate for ssl context: ({detail})")]
    InvalidCertificate {
        /// Why.
        detail: String,
    },
    /// The connection was reset (or closed) before a response arrived, on
    /// every attempt.
    #[error("connection to `{address}` was reset before a response arrived ({attempts} attempt{})", plural(*attempts))]
    ConnectionReset {
        /// `host:port`.
        address: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The response body was cut short, on every attempt.
    #[error("response from `{address}` was cut short ({attempts} attempt{})", plural(*attempts))]
    Truncated {
        /// `host:port`.
        address: String,
        /// Attempts made.
        attempts: u32,
    },
    /// A success status with a body that is not an events page.
    #[error("invalid response (HTTP {status}): {detail}")]
    InvalidResponse {
        /// The HTTP status.
        status: u16,
        /// What is wrong with it.
        detail: String,
    },
    /// The `metadata` argument of `results` is not `{result_count, prev_page_token}`.
    #[error("Invalid metadata: {reason}")]
    InvalidMetadata {
        /// What is wrong (the façade may put the reference's Python repr here).
        reason: String,
    },
    /// The search id is not `from=<ns>&to=<ns>&filter=<filter>`.
    #[error("invalid search id: {reason}")]
    InvalidSearchId {
        /// What is wrong.
        reason: String,
    },
    /// The connection settings cannot make a client (bad host, port 0, a
    /// token that cannot be sent in a header).
    #[error("invalid connection: {reason}")]
    InvalidConnection {
        /// What is wrong.
        reason: String,
    },
    /// Anything else from the HTTP stack.
    #[error("HTTP client error: {detail}")]
    Http {
        /// The HTTP stack's text.
        detail: String,
    },
}

fn bad_request(message: Option<&str>) -> String {
    match message {
        Some("bad request") => BAD_REQUEST_TEXT.to_owned(),
        Some(m) => m.to_owned(),
        None => "bad request (HTTP 400)".to_owned(),
    }
}

fn status_text(status: u16, message: Option<&str>) -> String {
    match message {
        Some(m) => m.to_owned(),
        None => format!(
            "HTTP {status} {} (no error message in the body)",
            reason(status)
        ),
    }
}

pub(crate) fn reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

fn plural(n: u32) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn seconds(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        d.as_secs().to_string()
    } else {
        format!("{}", d.as_secs_f64())
    }
}

impl TransmitError {
    /// stix-shifter's error code for this error (exhaustive: a new variant
    /// must choose one).
    pub fn code(&self) -> &'static str {
        match self {
            TransmitError::Unauthorized { .. } => "authentication_fail",
            TransmitError::Forbidden { .. } => "forbidden",
            TransmitError::BadRequest { .. } => "invalid_parameter",
            TransmitError::InvalidQuery { .. } => "invalid_query",
            TransmitError::TooManyRequests { .. } => "too_many_requests",
            TransmitError::Unavailable { .. } => "service_unavailable",
            TransmitError::Status { .. } => "unknown",
            TransmitError::PingFailed { status, .. } => match status {
                400 => "invalid_parameter",
                403 => "forbidden",
                408 | 502..=504 => "service_unavailable",
                422 => "invalid_query",
                _ => "unknown",
            },
            TransmitError::Connect { .. } => "service_unavailable",
            TransmitError::Timeout { .. } => "service_unavailable",
            TransmitError::Certificate { .. } => "certificate_fail",
            TransmitError::Tls { .. } => "service_unavailable",
            TransmitError::InvalidCertificate { .. } => "certificate_fail",
            TransmitError::ConnectionReset { .. } => "service_unavailable",
            TransmitError::Truncated { .. } => "service_unavailable",
            TransmitError::InvalidResponse { .. } => "unknown",
            TransmitError::InvalidMetadata { .. } => "invalid_parameter",
            TransmitError::InvalidSearchId { .. } => "invalid_parameter",
            TransmitError::InvalidConnection { .. } => "invalid_parameter",
            TransmitError::Http { .. } => "unknown",
        }
    }

    /// The HTTP status the API answered, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            TransmitError::Unauthorized { .. } => Some(401),
            TransmitError::Forbidden { .. } => Some(403),
            TransmitError::BadRequest { .. } => Some(400),
            TransmitError::InvalidQuery { .. } => Some(422),
            TransmitError::TooManyRequests { .. } => Some(429),
            TransmitError::Unavailable { status, .. }
            | TransmitError::Status { status, .. }
            | TransmitError::PingFailed { status, .. }
            | TransmitError::InvalidResponse { status, .. } => Some(*status),
            TransmitError::Connect { .. }
            | TransmitError::Timeout { .. }
            | TransmitError::Certificate { .. }
            | TransmitError::Tls { .. }
            | TransmitError::InvalidCertificate { .. }
            | TransmitError::ConnectionReset { .. }
            | TransmitError::Truncated { .. }
            | TransmitError::InvalidMetadata { .. }
            | TransmitError::InvalidSearchId { .. }
            | TransmitError::InvalidConnection { .. }
            | TransmitError::Http { .. } => None,
        }
    }

    /// The API's own error message, when the body had one.
    pub fn api_message(&self) -> Option<&str> {
        match self {
            TransmitError::Unauthorized { message }
            | TransmitError::Forbidden { message }
            | TransmitError::BadRequest { message }
            | TransmitError::InvalidQuery { message }
            | TransmitError::Unavailable { message, .. }
            | TransmitError::Status { message, .. }
            | TransmitError::PingFailed { message, .. } => message.as_deref(),
            _ => None,
        }
    }

    /// Whether the failure is transient: the same call may succeed later
    /// (the client has already retried it as far as its policy allows).
    pub fn is_retriable(&self) -> bool {
        match self {
            TransmitError::TooManyRequests { .. }
            | TransmitError::Unavailable { .. }
            | TransmitError::Timeout { .. }
            | TransmitError::ConnectionReset { .. }
            | TransmitError::Truncated { .. } => true,
            TransmitError::PingFailed { status, .. } => matches!(status, 408 | 502..=504),
            TransmitError::Unauthorized { .. }
            | TransmitError::Forbidden { .. }
            | TransmitError::BadRequest { .. }
            | TransmitError::InvalidQuery { .. }
            | TransmitError::Status { .. }
            | TransmitError::Connect { .. }
            | TransmitError::Certificate { .. }
            | TransmitError::Tls { .. }
            | TransmitError::InvalidCertificate { .. }
            | TransmitError::InvalidResponse { .. }
            | TransmitError::InvalidMetadata { .. }
            | TransmitError::InvalidSearchId { .. }
            | TransmitError::InvalidConnection { .. }
            | TransmitError::Http { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    /// The error table of the crate README, as data: (error, code, message).
    #[test]
    fn codes_and_messages() {
        let a = "127.0.0.1:1".to_owned();
        let cases: Vec<(TransmitError, &str, &str)> = vec![
            (TransmitError::Unauthorized { message: m("Bad authentication.") }, "authentication_fail", "cannot verify credentials"),
            (TransmitError::Forbidden { message: m("Forbidden") }, "forbidden", "Forbidden"),
            (TransmitError::Forbidden { message: None }, "forbidden", "Forbidden"),
            (TransmitError::BadRequest { message: m("bad request") }, "invalid_parameter", BAD_REQUEST_TEXT),
            (TransmitError::BadRequest { message: m("invalid filter") }, "invalid_parameter", "invalid filter"),
            (TransmitError::BadRequest { message: None }, "invalid_parameter", "bad request (HTTP 400)"),
            (TransmitError::InvalidQuery { message: m("unprocessable") }, "invalid_query", "unprocessable"),
            (TransmitError::TooManyRequests { attempts: 3, retry_after: None }, "too_many_requests", "Max retries exceeded. too_many_requests with max retry (3)"),
            (TransmitError::Unavailable { status: 503, message: None, attempts: 3 }, "service_unavailable", "service unavailable (HTTP 503 Service Unavailable, 3 attempts)"),
            (TransmitError::Unavailable { status: 408, message: m("slow"), attempts: 1 }, "service_unavailable", "slow (HTTP 408 Request Timeout, 1 attempt)"),
            (TransmitError::Status { status: 500, message: m("boom") }, "unknown", "boom"),
            (TransmitError::Status { status: 404, message: None }, "unknown", "HTTP 404 Not Found (no error message in the body)"),
            (TransmitError::PingFailed { status: 500, message: m("internal server error") }, "unknown", "ping failed: HTTP 500 Internal Server Error: internal server error"),
            (TransmitError::PingFailed { status: 403, message: m("Forbidden") }, "forbidden", "ping failed: HTTP 403 Forbidden: Forbidden"),
            (TransmitError::PingFailed { status: 502, message: None }, "service_unavailable", "ping failed: HTTP 502 Bad Gateway"),
            (TransmitError::Connect { address: a.clone(), detail: "connection refused".into() }, "service_unavailable", "cannot connect to host `127.0.0.1:1`: connection refused"),
            (TransmitError::Timeout { address: a.clone(), after: Duration::from_secs(2) }, "service_unavailable", "timeout_error (2 sec): no complete response from `127.0.0.1:1`"),
            (TransmitError::Timeout { address: a.clone(), after: Duration::from_millis(250) }, "service_unavailable", "timeout_error (0.25 sec): no complete response from `127.0.0.1:1`"),
            (TransmitError::Certificate { address: a.clone(), detail: "invalid peer certificate: UnknownIssuer".into() }, "certificate_fail", "certificate verify failed for `127.0.0.1:1`: invalid peer certificate: UnknownIssuer"),
            (TransmitError::Tls { address: a.clone(), detail: "x".into() }, "service_unavailable", "TLS handshake with `127.0.0.1:1` failed: x"),
            (TransmitError::InvalidCertificate { detail: "no certificate found in the PEM text".into() }, "certificate_fail", "Unable to load certificate for ssl context: (no certificate found in the PEM text)"),
            (TransmitError::ConnectionReset { address: a.clone(), attempts: 2 }, "service_unavailable", "connection to `127.0.0.1:1` was reset before a response arrived (2 attempts)"),
            (TransmitError::Truncated { address: a, attempts: 1 }, "service_unavailable", "response from `127.0.0.1:1` was cut short (1 attempt)"),
            (TransmitError::InvalidResponse { status: 200, detail: "no `data` array".into() }, "unknown", "invalid response (HTTP 200): no `data` array"),
            (TransmitError::InvalidMetadata { reason: "{'foo': 1}".into() }, "invalid_parameter", "Invalid metadata: {'foo': 1}"),
            (TransmitError::InvalidSearchId { reason: "no `&filter=` parameter".into() }, "invalid_parameter", "invalid search id: no `&filter=` parameter"),
            (TransmitError::InvalidConnection { reason: "port 0".into() }, "invalid_parameter", "invalid connection: port 0"),
            (TransmitError::Http { detail: "x".into() }, "unknown", "HTTP client error: x"),
        ];
        for (e, code, msg) in cases {
            assert_eq!(e.code(), code, "{e:?}");
            assert_eq!(e.to_string(), msg, "{e:?}");
        }
    }

    #[test]
    fn status_and_retriable() {
        assert_eq!(
            TransmitError::Unauthorized { message: None }.status(),
            Some(401)
        );
        assert_eq!(
            TransmitError::Status {
                status: 500,
                message: m("boom")
            }
            .api_message(),
            Some("boom")
        );
        assert!(TransmitError::TooManyRequests {
            attempts: 1,
            retry_after: None
        }
        .is_retriable());
        assert!(!TransmitError::BadRequest { message: None }.is_retriable());
        assert!(!TransmitError::Status {
            status: 500,
            message: None
        }
        .is_retriable());
    }
}
