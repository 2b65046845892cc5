//! Ping, TLS and the request headers.

use stixshift_simulator::{spawn, Auth, Config, DEFAULT_TOKEN};
use stixshift_transmit::{Client, Connection, Scheme, Token, TransmitError};

use crate::support::{assert_no_token, check_err, client, conn, http_response, mock, mock_conn};

#[tokio::test]
async fn ping_ok() {
    let run = spawn(Config::default()).await;
    client(&run).ping().await.expect("ping");
    let reqs = run.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path, "/api/v1/secureEvents/status");
    assert_eq!(reqs[0].raw_query, None);
    assert_eq!(reqs[0].auth, Some(Auth::Valid));
    assert_eq!(reqs[0].status, Some(200));
    run.shutdown().await;
}

#[tokio::test]
async fn ping_401_keeps_the_reference_text_and_hides_the_token() {
    let run = spawn(Config::default()).await;
    let token = "wrong-token-1234567890";
    let c = Client::new(&conn(&run), Token::new(token)).unwrap();
    let e = c.ping().await.unwrap_err();
    assert_eq!(
        e,
        TransmitError::Unauthorized {
            message: Some("Bad authentication.".into())
        }
    );
    check_err(&e, "authentication_fail", "cannot verify credentials");
    assert_no_token(&e, token);
    assert!(!format!("{c:?}").contains(token));
    assert_eq!(run.requests()[0].auth, Some(Auth::Invalid));
    run.shutdown().await;
}

#[tokio::test]
async fn ping_403_reports_status_and_body() {
    let run = spawn(Config {
        forbidden_token: Some("read-only".into()),
        ..Config::default()
    })
    .await;
    let c = Client::new(&conn(&run), Token::new("read-only")).unwrap();
    let e = c.ping().await.unwrap_err();
    check_err(
        &e,
        "forbidden",
        "ping failed: HTTP 403 Forbidden: Forbidden",
    );
    assert_no_token(&e, "read-only");
    run.shutdown().await;
}

#[tokio::test]
async fn ping_500_reports_status_and_body() {
    let run = spawn(Config::default()).await;
    run.faults().fail(500, 1);
    let e = client(&run).ping().await.unwrap_err();
    check_err(
        &e,
        "unknown",
        "ping failed: HTTP 500 Internal Server Error: internal server error",
    );
    assert_eq!(e.status(), Some(500));
    assert_eq!(run.requests().len(), 1, "500 is not retried");
    run.shutdown().await;
}

#[tokio::test]
async fn ping_unreachable_host() {
    // A port nobody listens on: bind, note it, release it.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = Client::new(&mock_conn(port), Token::new(DEFAULT_TOKEN)).unwrap();
    let e = c.ping().await.unwrap_err();
    assert!(matches!(e, TransmitError::Connect { .. }), "{e:?}");
    assert_eq!(e.code(), "service_unavailable");
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("cannot connect to host `127.0.0.1:{port}`: ")),
        "{text}"
    );
    assert!(text.to_lowercase().contains("refused"), "{text}");
    assert_no_token(&e, DEFAULT_TOKEN);
}

fn tls_conn(run: &stixshift_simulator::Running, cert: Option<String>) -> Connection {
    Connection {
        scheme: Scheme::Https,
        self_signed_cert: cert,
        ..conn(run)
    }
}

#[tokio::test]
async fn tls_with_the_simulators_certificate() {
    let run = spawn(Config {
        tls: true,
        ..Config::default()
    })
    .await;
    let pem = run.cert_pem().expect("pem");
    let c = Client::new(&tls_conn(&run, Some(pem)), Token::new(DEFAULT_TOKEN)).unwrap();
    assert!(c.base_url().starts_with("https://127.0.0.1:"));
    c.ping().await.expect("ping over TLS");
    assert_eq!(run.requests()[0].auth, Some(Auth::Valid));
    run.shutdown().await;
}

#[tokio::test]
async fn tls_without_the_certificate_is_a_certificate_error() {
    let run = spawn(Config {
        tls: true,
        ..Config::default()
    })
    .await;
    let c = Client::new(&tls_conn(&run, None), Token::new(DEFAULT_TOKEN)).unwrap();
    let e = c.ping().await.unwrap_err();
    assert!(matches!(e, TransmitError::Certificate { .. }), "{e:?}");
    assert_eq!(e.code(), "certificate_fail");
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "certificate verify failed for `127.0.0.1:{}`: ",
            run.port()
        )),
        "{text}"
    );
    assert!(text.contains("UnknownIssuer"), "{text}");
    assert!(run.requests().is_empty(), "no request reached the server");
    run.shutdown().await;
}

#[tokio::test]
async fn tls_with_another_certificate_is_a_certificate_error() {
    let run = spawn(Config {
        tls: true,
        ..Config::default()
    })
    .await;
    let other = spawn(Config {
        tls: true,
        ..Config::default()
    })
    .await;
    let c = Client::new(&tls_conn(&run, other.cert_pem()), Token::new(DEFAULT_TOKEN)).unwrap();
    let e = c.ping().await.unwrap_err();
    assert_eq!(e.code(), "certificate_fail", "{e:?}");
    run.shutdown().await;
    other.shutdown().await;
}

#[tokio::test]
async fn https_against_a_plain_http_server_is_a_tls_error() {
    let run = spawn(Config::default()).await;
    let c = Client::new(&tls_conn(&run, None), Token::new(DEFAULT_TOKEN)).unwrap();
    let e = c.ping().await.unwrap_err();
    assert!(matches!(e, TransmitError::Tls { .. }), "{e:?}");
    assert_eq!(e.code(), "service_unavailable");
    run.shutdown().await;
}

#[tokio::test]
async fn invalid_pem_is_a_certificate_error_before_any_request() {
    let conn = Connection {
        self_signed_cert: Some(
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(),
        ),
        ..Connection::new("127.0.0.1")
    };
    let e = Client::new(&conn, Token::new(DEFAULT_TOKEN)).unwrap_err();
    assert!(
        matches!(e, TransmitError::InvalidCertificate { .. }),
        "{e:?}"
    );
    assert_eq!(e.code(), "certificate_fail");
    assert!(
        e.to_string()
            .starts_with("Unable to load certificate for ssl context: (certificate 1: "),
        "{e}"
    );
}

#[tokio::test]
async fn headers_and_request_line() {
    let m = mock(vec![
        http_response("200 OK", "application/json", r#"{"status":"ok"}"#),
        http_response(
            "200 OK",
            "application/json",
            r#"{"data":[],"page":{"total":0}}"#,
        ),
    ])
    .await;
    let c = Client::new(&mock_conn(m.port), Token::new("tok-123")).unwrap();
    c.ping().await.unwrap();
    let search = stixshift_transmit::SearchId::parse(r#"from=1&to=2&filter=a="x+y&z""#).unwrap();
    let page = c.results(&search, 0, 5, None).await.unwrap();
    assert!(page.events.is_empty() && page.metadata.is_none());
    let heads = m.heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 2);
    let lines = |h: &str| {
        h.lines()
            .map(|l| l.to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        heads[0].lines().next(),
        Some("GET /api/v1/secureEvents/status HTTP/1.1")
    );
    assert_eq!(
        heads[1].lines().next(),
        Some("GET /api/v1/secureEvents?from=1&to=2&filter=a%3D%22x%2By%26z%22&limit=5 HTTP/1.1")
    );
    for h in &heads {
        let l = lines(h);
        assert!(
            l.contains(&"authorization: bearer tok-123".to_owned()),
            "{h}"
        );
        assert!(l.contains(&"accept: application/json".to_owned()), "{h}");
        assert!(
            l.contains(&format!(
                "user-agent: stixshift/{}",
                env!("CARGO_PKG_VERSION")
            )),
            "{h}"
        );
    }
}
