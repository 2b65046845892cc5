//! Error statuses of the events request → code and message (§8.6).

use stixshift_simulator::{spawn, Config};
use stixshift_transmit::{Client, Metadata, SearchId, Token, TransmitError, BAD_REQUEST_TEXT};

use crate::support::{
    assert_no_token, check_err, client, conn, http_response, limits, mock, mock_conn, search, sim,
    FILTER, FROM,
};

#[tokio::test]
async fn window_over_14_days_is_the_reference_text() {
    let run = sim(10).await;
    let wide = SearchId::new(FROM - 14 * 86_400_000_000_000, FROM + 1, FILTER);
    let e = client(&run).results(&wide, 0, 10, None).await.unwrap_err();
    assert_eq!(
        e,
        TransmitError::BadRequest {
            message: Some("bad request".into())
        }
    );
    check_err(&e, "invalid_parameter", BAD_REQUEST_TEXT);
    assert!(run.requests()[0]
        .error
        .as_deref()
        .unwrap()
        .contains("14 days"));
    run.shutdown().await;
}

#[tokio::test]
async fn bad_filter_is_the_reference_text() {
    let run = sim(10).await;
    let bad = SearchId::new(FROM, FROM + 1, r#"ruleName="#);
    let e = client(&run).results(&bad, 0, 10, None).await.unwrap_err();
    check_err(&e, "invalid_parameter", BAD_REQUEST_TEXT);
    assert!(run.requests()[0]
        .error
        .as_deref()
        .unwrap()
        .starts_with("invalid filter"));
    run.shutdown().await;
}

#[tokio::test]
async fn statuses_on_events() {
    let run = spawn(Config {
        forbidden_token: Some("read-only".into()),
        ..Config::with_events(crate::support::events(10))
    })
    .await;
    let c = client(&run);
    let e = Client::new(&conn(&run), Token::new("nope-nope"))
        .unwrap()
        .results(&search(), 0, 1, None)
        .await
        .unwrap_err();
    check_err(&e, "authentication_fail", "cannot verify credentials");
    assert_no_token(&e, "nope-nope");
    let e = Client::new(&conn(&run), Token::new("read-only"))
        .unwrap()
        .results(&search(), 0, 1, None)
        .await
        .unwrap_err();
    check_err(&e, "forbidden", "Forbidden");
    for (status, code, message) in [
        (400, "invalid_parameter", BAD_REQUEST_TEXT),
        (404, "unknown", "not found"),
        (422, "invalid_query", "unprocessable entity"),
        (500, "unknown", "internal server error"),
        (501, "unknown", "not implemented"),
    ] {
        run.faults().fail(status, 1);
        let e = c.results(&search(), 0, 1, None).await.unwrap_err();
        check_err(&e, code, message);
        assert_eq!(e.status(), Some(status));
        assert!(!e.is_retriable());
    }
    run.shutdown().await;
}

#[tokio::test]
async fn cursor_page_failure_discards_the_call() {
    let run = sim(1500).await;
    run.faults().fail_cursor_after(1);
    let e = client(&run)
        .results(&search(), 0, 1500, None)
        .await
        .unwrap_err();
    // The API's `message` (the reference read `error` on later pages).
    check_err(&e, "unknown", "internal server error");
    assert_eq!(limits(&run), [999, 501]);
    run.shutdown().await;
}

#[tokio::test]
async fn invalid_metadata_sends_nothing() {
    let run = sim(10).await;
    let m = Metadata {
        result_count: 3,
        prev_page_token: String::new(),
    };
    let e = client(&run)
        .results(&search(), 0, 10, Some(&m))
        .await
        .unwrap_err();
    check_err(
        &e,
        "invalid_parameter",
        "Invalid metadata: `prev_page_token` is empty",
    );
    assert!(run.requests().is_empty());
    run.shutdown().await;
}

#[tokio::test]
async fn api_messages_from_a_raw_server() {
    let token = "very-secret-token-42";
    let m = mock(vec![
        http_response(
            "400 Bad Request",
            "application/json",
            r#"{"message": "invalid filter"}"#,
        ),
        http_response(
            "422 Unprocessable Entity",
            "application/json",
            r#"{"message": "unprocessable"}"#,
        ),
        http_response(
            "403 Forbidden",
            "application/json",
            r#"{"message": "Forbidden"}"#,
        ),
        http_response(
            "500 Internal Server Error",
            "application/json",
            r#"{"message": "boom"}"#,
        ),
        http_response(
            "500 Internal Server Error",
            "application/json",
            r#"{"error": "page2 boom"}"#,
        ),
        http_response(
            "400 Bad Request",
            "application/json",
            &format!(r#"{{"message": "token {token} rejected"}}"#),
        ),
        http_response("500 Internal Server Error", "text/plain", "oops"),
        http_response("200 OK", "application/json", "not json"),
        http_response("200 OK", "application/json", r#"{"page": {}}"#),
        http_response("200 OK", "application/json", r#"{"data": [1, 2, 3]}"#),
        http_response("302 Found", "text/plain", ""),
    ])
    .await;
    let c = Client::new(&mock_conn(m.port), Token::new(token)).unwrap();
    let expected = [
        ("invalid_parameter", "invalid filter".to_owned()),
        ("invalid_query", "unprocessable".to_owned()),
        ("forbidden", "Forbidden".to_owned()),
        ("unknown", "boom".to_owned()),
        ("unknown", "page2 boom".to_owned()),
        ("invalid_parameter", "token *** rejected".to_owned()),
        ("unknown", "HTTP 500 Internal Server Error (no error message in the body)".to_owned()),
        ("unknown", "invalid response (HTTP 200): not JSON: expected ident at line 1 column 2".to_owned()),
        ("unknown", "invalid response (HTTP 200): not an events page: missing field `data` at line 1 column 12".to_owned()),
        ("unknown", "invalid response (HTTP 200): 3 events in a page of at most 2".to_owned()),
        ("unknown", "HTTP 302 Found (no error message in the body)".to_owned()),
    ];
    for (i, (code, message)) in expected.iter().enumerate() {
        let e = c.results(&search(), 0, 2, None).await.unwrap_err();
        assert_eq!(e.code(), *code, "response {i}: {e:?}");
        assert_eq!(e.to_string(), *message, "response {i}");
        assert_no_token(&e, token);
    }
}
