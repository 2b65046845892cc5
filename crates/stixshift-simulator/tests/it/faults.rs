//! Every fault mode, observed over real HTTP.

use std::time::{Duration, Instant};

use serde_json::Value;
use stixshift_simulator::{spawn, Clock, Config, DEFAULT_TOKEN};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{ev, get, get_json, ids, BASE};

const STATUS: &str = "/api/v1/secureEvents/status";
const W: &str = "from=1698796700000000000&to=1698796800000000001";

fn small() -> Config {
    Config::with_events(
        (0..5)
            .map(|i| ev(&format!("e{i}"), BASE - i * 1000, "syscall"))
            .collect(),
    )
}

/// Sends one raw HTTP/1.1 request and reads until EOF or error.
async fn raw(addr: std::net::SocketAddr, path: &str) -> (Vec<u8>, Option<std::io::Error>) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {DEFAULT_TOKEN}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), s.read(&mut chunk)).await {
            Err(_) => panic!("no EOF within 10 s"),
            Ok(Ok(0)) => return (buf, None),
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Ok(Err(e)) => return (buf, Some(e)),
        }
    }
}

#[tokio::test]
async fn too_many_requests_with_retry_after_then_success() {
    let run = spawn(small()).await;
    run.faults().too_many_requests(2, 7);
    for _ in 0..2 {
        let resp = get(&run, STATUS).await;
        assert_eq!(resp.status(), 429);
        assert_eq!(resp.headers()["retry-after"], "7");
        assert_eq!(
            resp.json::<Value>().await.unwrap()["message"],
            "too many requests"
        );
    }
    assert_eq!(get(&run, STATUS).await.status(), 200);
    let faults: Vec<_> = run.requests().iter().map(|r| r.fault.clone()).collect();
    assert_eq!(
        faults,
        [Some("429".to_owned()), Some("429".to_owned()), None]
    );
    run.shutdown().await;
}

#[tokio::test]
async fn status_failures_in_order() {
    let run = spawn(small()).await;
    run.faults().fail(500, 1);
    run.faults().fail(502, 1);
    run.faults().fail(503, 2);
    let mut seen = Vec::new();
    for _ in 0..5 {
        let resp = get(&run, &format!("/api/v1/secureEvents?{W}")).await;
        let status = resp.status().as_u16();
        let ctype = resp.headers()["content-type"].to_str().unwrap().to_owned();
        let body = resp.text().await.unwrap();
        seen.push(status);
        match status {
            500 => {
                assert_eq!(ctype, "application/json");
                assert_eq!(
                    serde_json::from_str::<Value>(&body).unwrap()["message"],
                    "internal server error"
                );
            }
            502 | 503 => {
                assert_eq!(ctype, "text/html");
                assert!(body.contains(&format!("<h1>{status} ")), "{body}");
            }
            _ => assert_eq!(
                serde_json::from_str::<Value>(&body).unwrap()["data"]
                    .as_array()
                    .unwrap()
                    .len(),
                5
            ),
        }
    }
    assert_eq!(seen, [500, 502, 503, 503, 200]);
    assert!(run.faults().pending().statuses.is_empty());
    run.shutdown().await;
}

#[tokio::test]
async fn delay_applies_to_the_next_requests_only() {
    let run = spawn(small()).await;
    run.faults().delay(Duration::from_millis(150), 1);
    let t = Instant::now();
    assert_eq!(get(&run, STATUS).await.status(), 200);
    assert!(
        t.elapsed() >= Duration::from_millis(150),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(get(&run, STATUS).await.status(), 200);
    let faults: Vec<_> = run.requests().iter().map(|r| r.fault.clone()).collect();
    assert_eq!(faults, [Some("delay 150 ms".to_owned()), None]);
    run.shutdown().await;
}

#[tokio::test]
async fn truncated_body() {
    let run = spawn(small()).await;
    run.faults().truncate_body(2);
    // A client sees a body error.
    let resp = get(&run, &format!("/api/v1/secureEvents?{W}")).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.bytes().await.is_err(), "body should be cut");
    // On the wire: Content-Length announces more than arrives.
    let (bytes, _) = raw(run.addr(), &format!("/api/v1/secureEvents?{W}")).await;
    let text = String::from_utf8_lossy(&bytes);
    let (head, body) = text.split_once("\r\n\r\n").expect("headers");
    let announced: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .expect("content-length")
        .parse()
        .unwrap();
    assert_eq!(body.len(), announced / 2, "{head}");
    // Then normal service.
    let (status, body) = get_json(&run, &format!("/api/v1/secureEvents?{W}")).await;
    assert_eq!((status, ids(&body).len()), (200, 5));
    run.shutdown().await;
}

#[tokio::test]
async fn connection_reset() {
    let run = spawn(small()).await;
    run.faults().reset_connection(2);
    let err = crate::support::client()
        .get(format!("{}{STATUS}", run.base_url()))
        .bearer_auth(DEFAULT_TOKEN)
        .send()
        .await
        .expect_err("reset");
    assert!(err.is_request() || err.is_connect(), "{err:?}");
    let (bytes, err) = raw(run.addr(), STATUS).await;
    assert!(bytes.is_empty());
    assert_eq!(
        err.map(|e| e.kind()),
        Some(std::io::ErrorKind::ConnectionReset)
    );
    assert_eq!(get(&run, STATUS).await.status(), 200);
    let log = run.requests();
    assert_eq!(log[0].status, None);
    assert_eq!(log[0].fault.as_deref(), Some("reset"));
    assert_eq!(log[2].status, Some(200));
    run.shutdown().await;
}

#[tokio::test]
async fn cursor_fails_mid_paging() {
    let run = spawn(small()).await;
    run.faults().fail_cursor_after(1);
    let (status, p1) = get_json(&run, &format!("/api/v1/secureEvents?{W}&limit=2")).await;
    assert_eq!(status, 200);
    let prev = p1["page"]["prev"].as_str().unwrap().to_owned();
    let (status, failed) =
        get_json(&run, &format!("/api/v1/secureEvents?cursor={prev}&limit=2")).await;
    assert_eq!(status, 500);
    assert_eq!(failed["error"], "cursor failure (simulated)");
    // Once only: the same cursor then works.
    let (status, p2) = get_json(&run, &format!("/api/v1/secureEvents?cursor={prev}&limit=2")).await;
    assert_eq!(
        (status, ids(&p2)),
        (200, vec!["e2".to_owned(), "e3".to_owned()])
    );
    assert_eq!(run.requests()[1].fault.as_deref(), Some("cursor failure"));
    run.shutdown().await;
}

#[tokio::test]
async fn rate_limit_per_clock_second() {
    let clock = Clock::manual(BASE);
    let run = spawn(Config {
        clock: clock.clone(),
        ..small()
    })
    .await;
    run.faults().rate_limit(Some(3));
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let resp = get(&run, STATUS).await;
        assert_eq!(resp.headers()["x-ratelimit-limit"], "180");
        if resp.status() == 429 {
            assert_eq!(resp.headers()["retry-after"], "1");
        }
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    clock.advance(Duration::from_secs(1));
    assert_eq!(get(&run, STATUS).await.status(), 200);
    run.faults().rate_limit(None);
    for _ in 0..5 {
        assert_eq!(get(&run, STATUS).await.status(), 200);
    }
    run.shutdown().await;
}

#[tokio::test]
async fn faults_from_the_initial_config() {
    let mut config = small();
    config.faults.too_many_requests = 1;
    config.faults.retry_after_secs = 3;
    let run = spawn(config).await;
    let resp = get(&run, STATUS).await;
    assert_eq!(
        (
            resp.status().as_u16(),
            resp.headers()["retry-after"].to_str().unwrap()
        ),
        (429, "3")
    );
    assert_eq!(get(&run, STATUS).await.status(), 200);
    run.faults().fail(503, 1);
    run.faults().clear();
    assert_eq!(get(&run, STATUS).await.status(), 200);
    run.shutdown().await;
}
