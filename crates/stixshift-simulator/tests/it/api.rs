//! Endpoints, tokens, validation, the request log, TLS.

use serde_json::{json, Value};
use stixshift_simulator::{spawn, Auth, Config, DEFAULT_TOKEN, MAX_WINDOW_NS, REASON_HEADER};

use crate::support::{client, enc, ev, get, get_json, get_with, ids, BASE};

fn small() -> Config {
    Config {
        forbidden_token: Some("no-events-permission".to_owned()),
        ..Config::with_events(
            (0..5)
                .map(|i| ev(&format!("e{i}"), BASE - i * 1000, "syscall"))
                .collect(),
        )
    }
}

const W: &str = "from=1698796700000000000&to=1698796800000000001";

#[tokio::test]
async fn status_and_tokens() {
    let run = spawn(small()).await;
    let ok = get(&run, "/api/v1/secureEvents/status").await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["x-ratelimit-limit"], "600");
    assert_eq!(ok.json::<Value>().await.unwrap(), json!({"status": "ok"}));

    for token in [None, Some("wrong")] {
        for path in [
            "/api/v1/secureEvents/status".to_owned(),
            format!("/api/v1/secureEvents?{W}"),
        ] {
            let resp = get_with(&run, &path, token).await;
            assert_eq!(resp.status(), 401);
            let body: Value = resp.json().await.unwrap();
            assert_eq!(body["message"], "Bad authentication.");
            assert_eq!(body["requestId"].as_str().unwrap().len(), 32);
        }
    }
    let resp = get_with(
        &run,
        &format!("/api/v1/secureEvents?{W}"),
        Some("no-events-permission"),
    )
    .await;
    assert_eq!(resp.status(), 403);
    assert_eq!(resp.json::<Value>().await.unwrap()["message"], "Forbidden");
    let resp = get_with(
        &run,
        &format!("/secure/events/v1/events?{W}"),
        Some("wrong"),
    )
    .await;
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!({"type": "unauthorized", "message": "Bad authentication.", "details": []})
    );

    let auths: Vec<_> = run.requests().iter().map(|r| r.auth).collect();
    assert_eq!(auths[0], Some(Auth::Valid));
    assert_eq!(auths[1], Some(Auth::Missing));
    assert_eq!(auths[3], Some(Auth::Invalid));
    assert_eq!(auths[5], Some(Auth::Forbidden));
    run.shutdown().await;
}

/// (query, reason the simulator gives in its header)
#[tokio::test]
async fn bad_requests_get_the_legacy_generic_400() {
    let run = spawn(small()).await;
    let wide_to = 1_698_796_700_000_000_000 + MAX_WINDOW_NS + 1;
    let cases: Vec<(String, &str)> = vec![
        (
            format!("from=1698796700000000000&to={wide_to}"),
            "the time range is longer than the maximum",
        ),
        ("from=5&to=4".to_owned(), "`from` (5) is after `to` (4)"),
        ("from=5".to_owned(), "a time range is required"),
        (String::new(), "a time range is required"),
        ("from=abc&to=1".to_owned(), "`from` is not an integer"),
        (
            format!("{W}&filter={}", enc(r#"ruleName="a"b\c""#)),
            "invalid filter: expected `and`, `or` or the end of the filter, found `b` at byte 12",
        ),
        (
            format!("{W}&filter={}", enc(r#"ruleName="O\'Brien""#)),
            "invalid filter: invalid escape",
        ),
        (
            format!("{W}&limit=1000"),
            "`limit` must be between 0 and 999, got 1000",
        ),
        (format!("{W}&limit=-1"), "`limit` must be between 0 and 999"),
        (format!("{W}&limit=ten"), "`limit` is not an integer"),
        (
            format!("{W}&cursor=abc"),
            "`cursor` cannot be combined with `from`/`to`",
        ),
        ("cursor=bm90LWEtY3Vyc29y".to_owned(), "invalid cursor"),
        (
            format!("{W}&filter=a&filter=b"),
            "parameter `filter` given more than once",
        ),
    ];
    for (query, reason) in &cases {
        let resp = get(&run, &format!("/api/v1/secureEvents?{query}")).await;
        assert_eq!(resp.status(), 400, "{query}");
        let header = resp.headers()[REASON_HEADER].to_str().unwrap().to_owned();
        assert!(header.starts_with(reason), "{query}: {header}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["message"], "bad request", "{query}");
        assert_eq!(
            body.as_object().unwrap().len(),
            2,
            "only message and requestId: {body}"
        );
    }
    // Exactly 14 days is allowed.
    let (status, _) = get_json(
        &run,
        &format!("/api/v1/secureEvents?from=0&to={MAX_WINDOW_NS}"),
    )
    .await;
    assert_eq!(status, 200);
    // The log keeps the reasons.
    let errors: Vec<_> = run
        .requests()
        .iter()
        .filter_map(|r| r.error.clone())
        .collect();
    assert_eq!(errors.len(), cases.len());
    run.shutdown().await;
}

#[tokio::test]
async fn limits_unknown_parameters_and_the_window() {
    let run = spawn(small()).await;
    // limit=0: an empty page (the reference sends it for length 0).
    let (status, body) = get_json(&run, &format!("/api/v1/secureEvents?{W}&limit=0")).await;
    assert_eq!(
        (
            status,
            body["data"].as_array().unwrap().len(),
            &body["page"]["total"]
        ),
        (200, 0, &json!(5))
    );
    // Without a limit: every one of the 5 events (the default, 25, is
    // checked on a larger store below); max 999.
    let (_, body) = get_json(&run, &format!("/api/v1/secureEvents?{W}")).await;
    assert_eq!(ids(&body).len(), 5);
    let (status, _) = get_json(&run, &format!("/api/v1/secureEvents?{W}&limit=999")).await;
    assert_eq!(status, 200);
    // Unknown parameters: ignored by the legacy endpoint, 400 on v1.
    let (status, _) = get_json(&run, &format!("/api/v1/secureEvents?{W}&zones=1&debug=yes")).await;
    assert_eq!(status, 200);
    let resp = get(&run, &format!("/secure/events/v1/events?{W}&debug=yes")).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["message"],
        "unknown parameter `debug`"
    );
    // A secret-named parameter is left out of the request log, not out of
    // the validation.
    let resp = get(&run, &format!("/secure/events/v1/events?{W}&token=x")).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["message"],
        "unknown parameter `token`"
    );
    let (status, _) = get_json(
        &run,
        &format!("/secure/events/v1/events?{W}&zones=1&zones=2"),
    )
    .await;
    assert_eq!(status, 200);
    for bad in ["limit=0", "limit=201"] {
        let resp = get(&run, &format!("/secure/events/v1/events?{W}&{bad}")).await;
        assert_eq!(resp.status(), 400, "{bad}");
    }
    // Half-open window [from, to): e0 is at BASE.
    let (_, body) = get_json(
        &run,
        &format!("/api/v1/secureEvents?from={}&to={BASE}", BASE - 1000),
    )
    .await;
    assert_eq!(ids(&body), ["e1"]);
    let (_, body) = get_json(
        &run,
        &format!("/api/v1/secureEvents?from={BASE}&to={}", BASE + 1),
    )
    .await;
    assert_eq!(ids(&body), ["e0"]);
    let (_, body) = get_json(&run, &format!("/api/v1/secureEvents?from={BASE}&to={BASE}")).await;
    assert_eq!(ids(&body), Vec::<String>::new());
    // Unknown path.
    let resp = get(&run, "/api/v1/nothing").await;
    assert_eq!(resp.status(), 404);
    run.shutdown().await;
}

#[tokio::test]
async fn legacy_events_look_like_the_api() {
    let run = spawn(Config::default()).await;
    let (status, body) = get_json(
        &run,
        &format!(
            "/api/v1/secureEvents?from=1700000000000000000&to=1700900000000000000&filter={}",
            enc(r#"(ruleName="Contact EC2")andsource!="auditTrail""#)
        ),
    )
    .await;
    assert_eq!(status, 200);
    let e = &body["data"][0];
    assert_eq!(ids(&body), ["12345678910"]);
    assert_eq!(e["timestamp"], "2023-11-22T11:16:28.101680299Z");
    let keys: Vec<_> = e.as_object().unwrap().keys().take(3).cloned().collect();
    assert_eq!(keys, ["id", "cursor", "timestamp"]);
    assert_eq!(
        e["content"]["fields"]["fd.name"],
        "111.111.11.111:10000->101.101.101.101:10"
    );
    assert!(body["page"]["prev"].is_string());
    assert!(body["page"].get("next").is_none(), "nothing older matches");
    run.shutdown().await;
}

#[tokio::test]
async fn request_log_decodes_parameters_and_never_holds_the_token() {
    let run = spawn(small()).await;
    // As the reference sends it: `"` percent-encoded, spaces as `+`, a leading `&`.
    let q = "?&cursor=c2ltMTpvOjE6MDo&filter=(ruleName=%22a+b%22)andsource!=%22auditTrail%22&limit=3&token=s3cret";
    let resp = get(&run, &format!("/api/v1/secureEvents{q}")).await;
    assert_eq!(resp.status(), 200);
    let log = run.requests();
    let r = &log[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("GET", "/api/v1/secureEvents")
    );
    assert_eq!(
        r.param("filter"),
        Some(r#"(ruleName="a b")andsource!="auditTrail""#)
    );
    assert_eq!(r.param("limit"), Some("3"));
    assert_eq!(r.param("token"), None);
    assert_eq!(r.status, Some(200));
    assert_eq!(r.events, Some(0));
    let all = format!("{log:?}");
    assert!(
        !all.contains("s3cret") && !all.contains(DEFAULT_TOKEN),
        "{all}"
    );
    assert!(r.summary().contains("GET /api/v1/secureEvents"));
    run.clear_requests();
    assert!(run.requests().is_empty());
    run.shutdown().await;
}

#[tokio::test]
async fn tls_with_the_generated_ca() {
    let run = spawn(Config {
        tls: true,
        ..small()
    })
    .await;
    assert!(run.base_url().starts_with("https://127.0.0.1:"));
    let pem = run.cert_pem().expect("pem");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let trusting = reqwest::Client::builder()
        .no_proxy()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    for host in ["127.0.0.1", "localhost"] {
        let url = format!("https://{host}:{}/api/v1/secureEvents/status", run.port());
        let resp = trusting
            .get(&url)
            .bearer_auth(DEFAULT_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{host}");
    }
    // Without the CA: a certificate error, and no request reaches the API.
    let before = run.requests().len();
    let err = client()
        .get(format!("{}/api/v1/secureEvents/status", run.base_url()))
        .send()
        .await
        .expect_err("untrusted certificate");
    assert!(err.is_connect() || err.is_request(), "{err:?}");
    assert_eq!(run.requests().len(), before);
    run.shutdown().await;
}

/// Both endpoints answer 25 events when no `limit` is given.
#[tokio::test]
async fn default_limit_is_25() {
    let run = spawn(Config::with_events(
        (0..40)
            .map(|i| ev(&format!("e{i}"), BASE - i * 1000, "syscall"))
            .collect(),
    ))
    .await;
    for path in [
        format!("/api/v1/secureEvents?{W}"),
        format!("/secure/events/v1/events?{W}"),
    ] {
        let (status, body) = get_json(&run, &path).await;
        assert_eq!((status, ids(&body).len()), (200, 25), "{path}");
    }
    run.shutdown().await;
}
