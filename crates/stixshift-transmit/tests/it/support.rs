use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use stixshift_simulator::time::format_rfc3339_nanos;
use stixshift_simulator::{spawn, Config, RequestRecord, Running, DEFAULT_TOKEN};
use stixshift_transmit::{Client, Connection, RetryPolicy, Scheme, SearchId, Token, TransmitError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// 2023-11-01T00:00:00Z: events are placed just before it.
pub(crate) const BASE: i64 = 1_698_796_800_000_000_000;
/// The test window: one day up to `BASE`.
pub(crate) const FROM: i64 = BASE - 86_400_000_000_000;
pub(crate) const TO: i64 = BASE;
/// The filter every test event matches.
pub(crate) const FILTER: &str = r#"(ruleName="a")andsource!="auditTrail""#;

/// Event `ev<i>` at `BASE - (i + 1) ms`: `ev0` is the newest.
pub(crate) fn ev(i: usize) -> Value {
    ev_at(&format!("ev{i}"), BASE - (i as i64 + 1) * 1_000_000, "a")
}

pub(crate) fn ev_at(id: &str, ts: i64, rule: &str) -> Value {
    json!({
        "id": id,
        "timestamp": format_rfc3339_nanos(ts),
        "originator": "policy",
        "source": "syscall",
        "severity": 3,
        "content": {"ruleName": rule, "fields": {"proc.name": "p", "user.name": "<NA>"}},
        "labels": {"host.hostName": "h"}
    })
}

/// `n` matching events in the test window.
pub(crate) fn events(n: usize) -> Vec<Value> {
    (0..n).map(ev).collect()
}

pub(crate) async fn sim(n: usize) -> Running {
    spawn(Config::with_events(events(n))).await
}

pub(crate) fn search() -> SearchId {
    SearchId::new(FROM, TO, FILTER)
}

/// A plain-HTTP connection to the simulator, retries without back-off.
pub(crate) fn conn(run: &Running) -> Connection {
    Connection {
        scheme: Scheme::Http,
        port: run.port(),
        timeout: Duration::from_secs(20),
        retry: RetryPolicy::immediate(3),
        ..Connection::new(run.host())
    }
}

pub(crate) fn client(run: &Running) -> Client {
    Client::new(&conn(run), Token::new(DEFAULT_TOKEN)).expect("client")
}

pub(crate) fn client_with(conn: &Connection) -> Client {
    Client::new(conn, Token::new(DEFAULT_TOKEN)).expect("client")
}

/// The client plus the waits it asked for (it never really waits).
pub(crate) fn recording(client: Client) -> (Client, Arc<Mutex<Vec<Duration>>>) {
    let waits = Arc::new(Mutex::new(Vec::new()));
    let w = waits.clone();
    let client = client.with_sleeper(move |d| {
        w.lock().unwrap().push(d);
        Box::pin(async {})
    });
    (client, waits)
}

pub(crate) fn ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["id"].as_str().expect("id").to_owned())
        .collect()
}

pub(crate) fn ev_ids(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("ev{i}")).collect()
}

/// The events requests the simulator saw: `(cursor?, limit)`.
pub(crate) fn event_requests(run: &Running) -> Vec<RequestRecord> {
    run.requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/secureEvents")
        .collect()
}

pub(crate) fn limits(run: &Running) -> Vec<u64> {
    event_requests(run)
        .iter()
        .map(|r| r.param("limit").expect("limit").parse().expect("number"))
        .collect()
}

/// Asserts an error's code and message, and that the token shows nowhere.
#[track_caller]
pub(crate) fn check_err(e: &TransmitError, code: &str, message: &str) {
    assert_eq!(e.code(), code, "{e:?}");
    assert_eq!(e.to_string(), message, "{e:?}");
    assert_no_token(e, DEFAULT_TOKEN);
}

#[track_caller]
pub(crate) fn assert_no_token(e: &TransmitError, token: &str) {
    assert!(!e.to_string().contains(token), "{e}");
    assert!(!format!("{e:?}").contains(token), "{e:?}");
}

/// A one-shot raw HTTP server: answers the `i`-th connection with
/// `responses[i]` (then closes it) and records each request head.
pub(crate) struct Mock {
    pub(crate) port: u16,
    pub(crate) heads: Arc<Mutex<Vec<String>>>,
}

pub(crate) async fn mock(responses: Vec<Vec<u8>>) -> Mock {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let h = heads.clone();
    tokio::spawn(async move {
        for resp in responses {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 65_536 {
                match tokio::time::timeout(Duration::from_secs(10), s.read(&mut chunk)).await {
                    Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
                    _ => break,
                }
            }
            h.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf).into_owned());
            let _ = s.write_all(&resp).await;
            let _ = s.shutdown().await;
        }
    });
    Mock { port, heads }
}

pub(crate) fn http_response(status: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

pub(crate) fn mock_conn(port: u16) -> Connection {
    Connection {
        scheme: Scheme::Http,
        port,
        timeout: Duration::from_secs(20),
        retry: RetryPolicy::immediate(1),
        ..Connection::new("127.0.0.1")
    }
}
