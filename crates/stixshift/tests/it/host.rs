//! `stixshift host`: the router endpoint by endpoint (axum `oneshot`), the
//! server on a real loopback socket (TLS, graceful shutdown, the binary with
//! its certificate arguments), and a bounded load test with 200 concurrent
//! clients against the real binary (no errors, memory flat; latencies printed
//! for `bench/host_load.sh`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use stixshift::host::{self, HostConfig};
use stixshift_simulator::{Config as SimConfig, Running, DEFAULT_TOKEN};
use tower::ServiceExt;

use crate::examples::NOW_MS;

/// Every test's time limit.
const TEST_LIMIT: Duration = Duration::from_secs(120);

fn identity() -> Value {
    crate::json_doc(crate::IDENTITY)
}

/// Log lines the router wrote.
type Lines = Arc<Mutex<Vec<String>>>;

fn router_with(config: HostConfig) -> (Router, Lines) {
    let lines: Lines = Arc::default();
    let sink = lines.clone();
    let router = host::app_with_log(
        config,
        Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned())),
    );
    (router, lines)
}

fn config() -> HostConfig {
    HostConfig {
        now_ms: || NOW_MS,
        ..HostConfig::default()
    }
}

fn router() -> Router {
    router_with(config()).0
}

/// Send one request through the router; the answer must be JSON whatever the
/// status. Returns (status, body).
async fn call(router: &Router, method: &str, path: &str, body: Body) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(body)
        .unwrap();
    let response = tokio::time::timeout(TEST_LIMIT, router.clone().oneshot(request))
        .await
        .expect("the router answers in time")
        .unwrap();
    let status = response.status();
    assert_eq!(
        response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap()),
        Some("application/json"),
        "{path}: every answer is JSON"
    );
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let value: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{path}: not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    (status, value)
}

async fn post(router: &Router, path: &str, body: &Value) -> (StatusCode, Value) {
    call(router, "POST", path, Body::from(body.to_string())).await
}

/// `POST /translate_results` of `data`, with `data_source` if given.
async fn translate_results(
    r: &Router,
    data_source: Option<Value>,
    data: Value,
) -> (StatusCode, Value) {
    let mut body = json!({"module": "sysdig", "data": data, "options": {}});
    if let Some(ds) = data_source {
        body["data_source"] = ds;
    }
    post(r, "/translate_results", &body).await
}

/// The CLI's answer (the same clock), as JSON.
fn cli_json(args: &[&str]) -> Value {
    let mut argv = vec!["stixshift"];
    argv.extend_from_slice(args);
    crate::json_doc(&crate::run_cli(&argv, "").1)
}

/// A stix-shifter error document: `success: false`, a code, a message.
fn assert_error(doc: &Value, code: &str) {
    assert_eq!(doc["success"], json!(false), "{doc}");
    assert_eq!(doc["code"], json!(code), "{doc}");
    assert!(
        doc["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{doc}"
    );
}

/// Keys in order (the envelope's order tells transmission from translation).
fn keys(doc: &Value) -> Vec<&str> {
    doc.as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

// ------------------------------------------------------------ translation

const PATTERN: &str = "[x-ibm-finding:severity > 50 AND x-sysdig-cluster:name != 'dummycluster'] START t'2023-12-01T00:00:00Z' STOP t'2024-01-01T00:00:00Z'";

#[tokio::test]
async fn health() {
    let (status, body) = call(&router(), "GET", "/health", Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status": "ok"}));
}

#[tokio::test]
async fn transform_query_equals_the_cli() {
    let body = json!({"module": "sysdig", "data_source": {}, "data": PATTERN, "options": {"result_limit": 4000, "timeout": 30}});
    let (status, answer) = post(&router(), "/transform_query", &body).await;
    assert_eq!(status, StatusCode::OK);
    let cli = cli_json(&[
        "translate",
        "sysdig",
        "query",
        "{}",
        PATTERN,
        r#"{"result_limit": 4000, "timeout": 30}"#,
    ]);
    assert_eq!(answer, cli);
    assert_eq!(answer["queries"].as_array().map(Vec::len), Some(3));
    // The old host also took the options from `connection.options`.
    let body =
        json!({"module": "sysdig", "data": PATTERN, "connection": {"options": {"timeout": 30}}});
    assert_eq!(post(&router(), "/transform_query", &body).await.1, cli);
    // The default window uses the server's clock.
    let body = json!({"module": "sysdig", "data": "[x-ibm-finding:name = 'a']", "options": {}});
    assert_eq!(
        post(&router(), "/transform_query", &body).await.1,
        cli_json(&[
            "translate",
            "sysdig",
            "query",
            "{}",
            "[x-ibm-finding:name = 'a']"
        ])
    );
}

#[tokio::test]
async fn transform_query_errors_are_translation_errors() {
    let r = router();
    let (status, doc) = post(
        &r,
        "/transform_query",
        &json!({"module": "sysdig", "data": "[x-ibm-finding:foo = 'a']", "options": {}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_error(&doc, "mapping_error");
    assert_eq!(keys(&doc), ["success", "connector", "code", "error"]);
    assert_eq!(
        doc,
        cli_json(&[
            "translate",
            "sysdig",
            "query",
            "{}",
            "[x-ibm-finding:foo = 'a']"
        ])
    );
    let (_, doc) = post(
        &r,
        "/transform_query",
        &json!({"module": "nosuch", "data": PATTERN, "options": {}}),
    )
    .await;
    assert_error(&doc, "not_implemented");
    assert_eq!(doc["connector"], json!("nosuch"));
    let (_, doc) = post(
        &r,
        "/transform_query",
        &json!({"module": "sysdig", "data": PATTERN, "options": {"time_range": "x"}}),
    )
    .await;
    assert_eq!(doc["success"], json!(false), "{doc}");
    let (_, doc) = post(
        &r,
        "/transform_query",
        &json!({"module": "sysdig", "data": "[x-ibm-finding:name = ", "options": {}}),
    )
    .await;
    assert_error(&doc, "invalid_parameter");
}

#[tokio::test]
async fn parse_query_equals_the_cli() {
    let body = json!({"module": "sysdig", "data_source": {}, "data": PATTERN, "options": {}});
    let (status, answer) = post(&router(), "/parse_query", &body).await;
    assert_eq!(status, StatusCode::OK);
    let quoted = serde_json::to_string(PATTERN).unwrap();
    assert_eq!(
        answer,
        cli_json(&["translate", "sysdig", "parse", "{}", &quoted])
    );
    assert_eq!(answer["parsed_stix"].as_array().map(Vec::len), Some(2));
}

fn events() -> Vec<Value> {
    stixshift_simulator::generate::generate(
        12,
        3,
        1_704_067_200_000_000_000,
        1_704_153_600_000_000_000,
    )
}

fn observed_count(bundle: &Value) -> usize {
    bundle["objects"].as_array().map_or(0, |o| {
        o.iter().filter(|o| o["type"] == "observed-data").count()
    })
}

#[tokio::test]
async fn translate_results_equals_the_cli() {
    let events = Value::Array(events());
    let r = router();
    let (status, bundle) = translate_results(&r, Some(identity()), json!(events)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bundle["type"], json!("bundle"));
    assert_eq!(bundle["objects"][0], identity());
    assert_eq!(observed_count(&bundle), 12);
    let cli = cli_json(&[
        "translate",
        "sysdig",
        "results",
        &identity().to_string(),
        &events.to_string(),
    ]);
    assert_eq!(crate::scrub(bundle.clone()), crate::scrub(cli));
    // The events may come as JSON text (stix-shifter's `json.dumps(data)`),
    // and so may the identity.
    let (_, text) = translate_results(
        &r,
        Some(json!(identity().to_string())),
        json!(events.to_string()),
    )
    .await;
    assert_eq!(crate::scrub(text), crate::scrub(bundle));
}

#[tokio::test]
async fn the_command_line_identity_replaces_the_requests() {
    let other = json!({"type": "identity", "id": "identity--00000000-0000-4000-8000-000000000001", "name": "cli", "identity_class": "system"});
    let (r, _) = router_with(HostConfig {
        identity: Some(other.clone()),
        ..config()
    });
    let (_, bundle) = translate_results(&r, Some(identity()), Value::Array(events())).await;
    assert_eq!(bundle["objects"][0], other);
    // Without a `data_source` at all.
    let (_, bundle) = translate_results(&r, None, Value::Array(events())).await;
    assert_eq!(bundle["objects"][0], other);
}

#[tokio::test]
async fn translate_results_bad_data() {
    let r = router();
    for data in [json!({"not": "a list"}), json!("not json ["), json!(7)] {
        let (status, doc) = translate_results(&r, Some(identity()), json!(data)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(doc["success"], json!(false), "{data}: {doc}");
    }
    // Events text that is not JSON: the results translator's error, as
    // `translate sysdig results` (and stix-shifter) answer it.
    let (_, doc) = translate_results(&r, Some(identity()), json!("not json [")).await;
    assert_error(&doc, "results_translation_error");
    let (_, doc) = translate_results(&r, Some(json!("not json")), json!([])).await;
    assert_error(&doc, "invalid_parameter");
    let (_, doc) = translate_results(&r, Some(json!([1])), json!([])).await;
    assert_error(&doc, "invalid_parameter");
}

/// The events of `/translate_results` are read from the body's text: the
/// same bundle with white space around them, and with `data` given twice
/// (the last one counts, as when the whole body is parsed); `data: null`
/// is a missing `data`.
#[tokio::test]
async fn translate_results_reads_the_events_from_the_body_text() {
    let r = router();
    let ds = identity().to_string();
    let list = json!(events());
    let events = list.to_string();
    let (_, plain) = translate_results(&r, Some(identity()), list).await;
    assert_eq!(plain["type"], json!("bundle"), "{plain}");
    let spaced = format!(
        "{{\"module\": \"sysdig\", \"data_source\": {ds}, \"data\":  \n {events} \n, \"options\": {{}}}}"
    );
    let twice = format!(
        "{{\"data\": [7], \"module\": \"sysdig\", \"data_source\": {ds}, \"data\": {events}}}"
    );
    for body in [spaced, twice] {
        let (status, doc) = call(&r, "POST", "/translate_results", Body::from(body)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(crate::scrub(doc), crate::scrub(plain.clone()));
    }
    let none = format!("{{\"module\": \"sysdig\", \"data_source\": {ds}, \"data\": null}}");
    let (_, doc) = call(&r, "POST", "/translate_results", Body::from(none)).await;
    assert_error(&doc, "invalid_parameter");
    assert!(doc["error"].as_str().unwrap().contains("`data`"), "{doc}");
}

// ------------------------------------------------------------ bad requests

/// Every endpoint, with every kind of malformed body: a stix-shifter error
/// document (JSON), never a 500, never HTML.
#[tokio::test]
async fn bad_bodies_get_error_json() {
    let r = router();
    let paths = [
        "/transform_query",
        "/parse_query",
        "/translate_results",
        "/create_query_connection",
        "/create_status_connection",
        "/create_results_connection",
        "/create_results_stix_connection",
        "/delete_query_connection",
        "/ping",
        "/is_async",
    ];
    let bodies: [&[u8]; 9] = [
        b"",
        b"not json",
        b"{\"unterminated\": ",
        b"[1, 2]",
        b"\"a string\"",
        b"null",
        b"{}",
        b"{\"connection\": 5, \"configuration\": [], \"module\": 3, \"data\": {}}",
        b"\xff\xfe invalid utf-8",
    ];
    for path in paths {
        for body in bodies {
            let (status, doc) = call(&r, "POST", path, Body::from(body.to_vec())).await;
            assert!(
                status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
                "{path} {:?}: {status}",
                String::from_utf8_lossy(body)
            );
            assert_eq!(doc["success"], json!(false), "{path}: {doc}");
            assert!(doc["code"].is_string(), "{path}: {doc}");
            assert!(doc["error"].is_string(), "{path}: {doc}");
        }
    }
    // Transmission endpoints answer transmission-shaped errors (`error` before `code`).
    let (_, doc) = call(&r, "POST", "/ping", Body::from("nope")).await;
    assert_eq!(keys(&doc), ["success", "connector", "error", "code"]);
    let (_, doc) = post(&r, "/create_results_connection", &json!({})).await;
    assert_eq!(keys(&doc), ["success", "connector", "error", "code"]);
    let (_, doc) = call(&r, "POST", "/transform_query", Body::from("nope")).await;
    assert_eq!(keys(&doc), ["success", "connector", "code", "error"]);
}

#[tokio::test]
async fn unknown_paths_and_methods_get_error_json() {
    let r = router();
    let (status, doc) = call(&r, "POST", "/nosuch", Body::from("{}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&doc, "invalid_parameter");
    let (status, doc) = call(&r, "GET", "/ping", Body::empty()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_error(&doc, "invalid_parameter");
    let (status, doc) = call(&r, "DELETE", "/health", Body::empty()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_error(&doc, "invalid_parameter");
}

#[tokio::test]
async fn the_body_limit_holds_with_and_without_a_length() {
    let (r, _) = router_with(HostConfig {
        body_limit: 1024,
        ..config()
    });
    let big = json!({"module": "sysdig", "data": "x".repeat(4096), "options": {}}).to_string();
    let (status, doc) = call(&r, "POST", "/transform_query", Body::from(big.clone())).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_error(&doc, "invalid_parameter");
    // Chunked: no Content-Length, the limit still applies while reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.as_bytes().chunks(100).map(|c| Ok(c.to_vec())).collect();
    let stream = futures_util::stream::iter(chunks);
    let (status, doc) = call(&r, "POST", "/transform_query", Body::from_stream(stream)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_error(&doc, "invalid_parameter");
    // Under the limit is fine.
    let small = json!({"module": "sysdig", "data": PATTERN, "options": {}});
    assert_eq!(post(&r, "/transform_query", &small).await.0, StatusCode::OK);
}

// ------------------------------------------------------------ transmission

async fn simulator(events: Vec<Value>) -> Running {
    stixshift_simulator::try_spawn(SimConfig {
        tls: true,
        ..SimConfig::with_events(events)
    })
    .await
    .expect("the simulator starts on loopback")
}

/// `{"connection": C, "configuration": K}` for the simulator, as the proxy
/// client sends them (unwrapped from `destination`).
fn destination(sim: &Running, token: &str) -> Value {
    json!({
        "connection": {
            "type": "sysdig",
            "host": sim.host(),
            "port": sim.port(),
            "selfSignedCert": sim.cert_pem().unwrap(),
            "options": {"result_limit": 4000, "timeout": 30}
        },
        "configuration": {"auth": {"token": token}}
    })
}

fn with(base: &Value, extra: &Value) -> Value {
    let mut out = base.clone();
    for (k, v) in extra.as_object().unwrap() {
        out[k] = v.clone();
    }
    out
}

/// The query for the simulator's whole event range.
fn search_id() -> String {
    let t = stixshift::connector::translate_query(
        "[x-ibm-finding:severity >= 1] START t'2024-01-01T00:00:00Z' STOP t'2024-01-02T00:00:00Z'",
        &stixshift::options::parse(None).unwrap(),
        NOW_MS,
        false,
    )
    .unwrap();
    stixshift::connector::queries_json(&t)["queries"][0]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn direct(dest: &Value, op: stixshift::transmit::Operation) -> Value {
    let conn = stixshift::connection::parse(&dest["connection"], &dest["configuration"]).unwrap();
    match stixshift::transmit::run(&conn, op, &mut |_| {}).await {
        Ok(answer) => answer.into_value(),
        Err(e) => e.to_json(),
    }
}

#[tokio::test]
async fn transmission_endpoints_against_the_simulator() {
    let sim = simulator(events()).await;
    let dest = destination(&sim, DEFAULT_TOKEN);
    let (r, lines) = router_with(config());
    let q = search_id();

    let (status, doc) = post(&r, "/ping", &dest).await;
    assert_eq!((status, doc), (StatusCode::OK, json!({"success": true})));

    let (_, doc) = post(
        &r,
        "/create_query_connection",
        &with(&dest, &json!({"query": q})),
    )
    .await;
    assert_eq!(doc, json!({"success": true, "search_id": q}));

    let (_, doc) = post(
        &r,
        "/create_status_connection",
        &with(&dest, &json!({"search_id": q})),
    )
    .await;
    assert_eq!(
        doc,
        json!({"success": true, "status": "COMPLETED", "progress": 100})
    );

    let (_, doc) = post(
        &r,
        "/delete_query_connection",
        &with(&dest, &json!({"search_id": q})),
    )
    .await;
    assert_eq!(doc, json!({"success": true}));

    // A JSON boolean, not Python's `False`.
    let (_, doc) = post(&r, "/is_async", &dest).await;
    assert_eq!(doc, json!(false));

    // Results: offset and length as numbers or as the CLI's strings, metadata null.
    let (_, page1) = post(
        &r,
        "/create_results_connection",
        &with(
            &dest,
            &json!({"search_id": q, "offset": 0, "length": 5, "metadata": null}),
        ),
    )
    .await;
    assert_eq!(page1["success"], json!(true), "{page1}");
    assert_eq!(page1["data"].as_array().map(Vec::len), Some(5));
    assert_eq!(
        page1,
        direct(
            &dest,
            stixshift::transmit::Operation::Results {
                search_id: q.clone(),
                offset: 0,
                length: 5,
                metadata: None
            }
        )
        .await
    );
    let meta = page1["metadata"].clone();
    assert_eq!(meta["result_count"], json!(5), "{page1}");
    assert!(meta["prev_page_token"].is_string(), "{page1}");

    // Metadata is forwarded: the next page through the cursor equals offset paging.
    let (_, page2) = post(
        &r,
        "/create_results_connection",
        &with(
            &dest,
            &json!({"search_id": q, "offset": "5", "length": "5", "metadata": meta}),
        ),
    )
    .await;
    let (_, by_offset) = post(
        &r,
        "/create_results_connection",
        &with(&dest, &json!({"search_id": q, "offset": 5, "length": 5})),
    )
    .await;
    assert_eq!(page2["data"], by_offset["data"]);
    assert_eq!(page2["data"].as_array().map(Vec::len), Some(5));
    assert_ne!(page2["data"], page1["data"]);

    // results_stix: the bundle, `stats`, `metadata`; identity as JSON text.
    let (_, bundle) = post(
        &r,
        "/create_results_stix_connection",
        &with(
            &dest,
            &json!({"search_id": q, "offset": "0", "length": "4", "data_source": identity().to_string(), "metadata": null}),
        ),
    )
    .await;
    assert_eq!(bundle["type"], json!("bundle"), "{bundle}");
    assert_eq!(bundle["objects"][0], identity());
    assert_eq!(observed_count(&bundle), 4);
    assert_eq!(bundle["stats"][0]["action"], json!("transmission"));
    assert_eq!(bundle["stats"][1]["action"], json!("translation"));
    assert_eq!(bundle["metadata"]["result_count"], json!(4));
    let expected = direct(
        &dest,
        stixshift::transmit::Operation::ResultsStix {
            search_id: q.clone(),
            offset: 0,
            length: 4,
            identity: identity(),
            metadata: None,
        },
    )
    .await;
    assert_eq!(crate::scrub(bundle), crate::scrub(expected));

    // `connection.type` is case-insensitive, as in the old host.
    let mut upper = dest.clone();
    upper["connection"]["type"] = json!("SYSDIG");
    assert_eq!(post(&r, "/ping", &upper).await.1, json!({"success": true}));

    // The log has one line per request and never the token.
    let lines = lines.lock().unwrap().clone();
    assert_eq!(lines.len(), 10, "{lines:#?}");
    assert!(lines.iter().all(|l| !l.contains(DEFAULT_TOKEN)));
    assert!(
        lines[0].contains("path=/ping")
            && lines[0].contains("status=200")
            && lines[0].contains("outcome=ok")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn transmission_errors_are_stix_shifter_documents() {
    let sim = simulator(events()).await;
    let (r, lines) = router_with(config());
    let bad = destination(&sim, "wrong-token");
    let (status, doc) = post(&r, "/ping", &bad).await;
    assert_eq!(status, StatusCode::OK);
    assert_error(&doc, "authentication_fail");
    assert_eq!(keys(&doc), ["success", "connector", "error", "code"]);
    assert_eq!(
        doc,
        direct(&bad, stixshift::transmit::Operation::Ping).await
    );
    assert!(lines.lock().unwrap()[0].contains("outcome=authentication_fail"));

    let dest = destination(&sim, DEFAULT_TOKEN);
    // Missing or malformed fields, with a valid search id otherwise: each
    // is refused for the field it names.
    let q = search_id();
    for (extra, field) in [
        (json!({}), "search_id"),
        (
            json!({"search_id": 5, "offset": 0, "length": 1}),
            "search_id",
        ),
        (json!({"search_id": q, "offset": -1, "length": 1}), "offset"),
        (
            json!({"search_id": q, "offset": "abc", "length": 1}),
            "offset",
        ),
        (json!({"search_id": q, "offset": 0}), "length"),
        (
            json!({"search_id": q, "offset": 0, "length": 1, "metadata": "not json"}),
            "metadata",
        ),
    ] {
        let (status, doc) = post(&r, "/create_results_connection", &with(&dest, &extra)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(doc["success"], json!(false), "{extra}: {doc}");
        assert_eq!(doc["code"], json!("invalid_parameter"), "{extra}: {doc}");
        let message = doc["error"].as_str().unwrap_or_default().to_lowercase();
        assert!(message.contains(field), "{extra}: {doc}");
    }
    // An unknown module.
    let mut other = dest.clone();
    other["connection"]["type"] = json!("nosuch");
    let (_, doc) = post(&r, "/ping", &other).await;
    assert_eq!(doc["success"], json!(false), "{doc}");
    // A connection that fails validation (no host).
    let mut no_host = dest.clone();
    no_host["connection"]
        .as_object_mut()
        .unwrap()
        .remove("host");
    let (_, doc) = post(&r, "/ping", &no_host).await;
    assert_eq!(doc["success"], json!(false), "{doc}");
    // The Sysdig API failing (more often than the client retries).
    sim.faults().fail(503, 50);
    let (status, doc) = post(
        &r,
        "/create_results_connection",
        &with(&dest, &json!({"search_id": q, "offset": 0, "length": 3})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_error(&doc, "service_unavailable");
    sim.faults().clear();
    assert!(lines
        .lock()
        .unwrap()
        .iter()
        .all(|l| !l.contains(DEFAULT_TOKEN)));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_slow_request_times_out_with_error_json() {
    let sim = simulator(events()).await;
    sim.faults().delay(Duration::from_secs(5), 1);
    let (r, _) = router_with(HostConfig {
        request_timeout: Duration::from_millis(300),
        ..config()
    });
    let started = Instant::now();
    let (status, doc) = post(&r, "/ping", &destination(&sim, DEFAULT_TOKEN)).await;
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_error(&doc, "service_unavailable");
    sim.shutdown().await;
}

// ------------------------------------------------------------ real sockets

/// A minimal HTTP/1.1 client (keep-alive, Content-Length bodies), enough to
/// drive the server over a real socket without another HTTP stack.
struct Http<S> {
    io: tokio::io::BufReader<S>,
}

impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin> Http<S> {
    fn new(stream: S) -> Self {
        Http {
            io: tokio::io::BufReader::new(stream),
        }
    }

    async fn request(
        &mut self,
        method: &str,
        path: &str,
        body: &str,
    ) -> std::io::Result<(u16, String)> {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let stream = self.io.get_mut();
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        stream.flush().await?;
        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_owned());
        let mut line = String::new();
        self.io.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(&format!("bad status line {line:?}")))?;
        let mut length = None;
        for _ in 0..100 {
            line.clear();
            if self.io.read_line(&mut line).await? == 0 {
                return Err(bad("connection closed in the headers"));
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse::<usize>().ok();
                }
            }
        }
        let length = length.ok_or_else(|| bad("no Content-Length"))?;
        let mut buf = vec![0; length];
        self.io.read_exact(&mut buf).await?;
        Ok((
            status,
            String::from_utf8(buf).map_err(|_| bad("not UTF-8"))?,
        ))
    }
}

fn tls_connector(ca_pem: &str) -> tokio_rustls::TlsConnector {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

async fn tls_client(
    connector: &tokio_rustls::TlsConnector,
    addr: std::net::SocketAddr,
) -> std::io::Result<Http<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    Ok(Http::new(connector.connect(name, tcp).await?))
}

/// In process over TLS: requests in flight when shutdown is asked for finish;
/// then `serve` returns and the port is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_over_tls_and_shut_down_gracefully() {
    let sim = simulator(events()).await;
    let (acceptor, ca) = host::tls::generate(&[]).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(host::serve(
        listener,
        router(),
        Some(acceptor),
        async move {
            let _ = stop_rx.await;
        },
    ));
    let connector = tls_connector(&ca);
    let mut client = tls_client(&connector, addr).await.unwrap();
    let (status, body) = client.request("GET", "/health", "").await.unwrap();
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));

    // A slow request (the simulator holds it 600 ms), then shutdown.
    sim.faults().delay(Duration::from_millis(600), 1);
    let dest = destination(&sim, DEFAULT_TOKEN).to_string();
    let slow = tokio::spawn(async move {
        let mut c = tls_client(&connector, addr).await.unwrap();
        c.request("POST", "/ping", &dest).await
    });
    // Wait (bounded) until the simulator has the request, then stop.
    let deadline = Instant::now() + TEST_LIMIT;
    while sim.requests().is_empty() {
        assert!(Instant::now() < deadline, "the slow request never arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop_tx.send(()).unwrap();
    let (status, body) = tokio::time::timeout(TEST_LIMIT, slow)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!((status, body.as_str()), (200, r#"{"success":true}"#));
    tokio::time::timeout(TEST_LIMIT, server)
        .await
        .expect("serve returns after the drain")
        .unwrap()
        .unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    sim.shutdown().await;
}

/// The real binary, its stderr drained in the background.
struct HostProcess {
    child: std::process::Child,
    addr: std::net::SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl HostProcess {
    fn start(args: &[&str]) -> HostProcess {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_stixshift"))
            .arg("host")
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the stixshift binary starts");
        let stderr = child.stderr.take().unwrap();
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on ").nth(1) {
                    if let Some(t) = tx.take() {
                        let _ = t.send(rest.to_owned());
                    }
                }
                sink.lock().unwrap().push(line);
            }
        });
        let mut process = HostProcess {
            child,
            addr: "127.0.0.1:0".parse().unwrap(),
            log,
        };
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                panic!("the host never listened: {:?}", process.log.lock().unwrap())
            });
        process.addr = url.rsplit("://").next().unwrap().parse().unwrap();
        process
    }

    /// Resident memory of the process, KiB (Linux), else 0.
    fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0)
    }
}

/// The binary's own certificate arguments: positional `cert key` (the old
/// host's shape) and `--cert/--key`; the identity argument as JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_given_certificates() {
    let dir = std::env::temp_dir().join(format!("stixshift-host-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let (c, k) = (cert_path.to_str().unwrap(), key_path.to_str().unwrap());
    let connector = tls_connector(&cert.pem());
    let id = identity().to_string();
    for args in [
        vec![id.as_str(), "127.0.0.1:0", c, k],
        vec!["", "127.0.0.1:0", "--cert", c, "--key", k],
    ] {
        let process = HostProcess::start(&args);
        // Certificates from files are served like generated ones: HTTP/1.1
        // chosen by ALPN for a client that offers it.
        let alpn = {
            let mut config = rustls::ClientConfig::clone(connector.config());
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            tokio_rustls::TlsConnector::from(Arc::new(config))
        };
        let tcp = tokio::net::TcpStream::connect(process.addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let tls = alpn.connect(name, tcp).await.unwrap();
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
        drop(tls);
        let mut client = tls_client(&connector, process.addr).await.unwrap();
        let (status, body) = client.request("GET", "/health", "").await.unwrap();
        assert_eq!(
            (status, body.as_str()),
            (200, r#"{"status":"ok"}"#),
            "{args:?}"
        );
        let body = json!({"module": "sysdig", "data": events(), "options": {}}).to_string();
        let (status, body) = client
            .request("POST", "/translate_results", &body)
            .await
            .unwrap();
        assert_eq!(status, 200);
        let bundle: Value = serde_json::from_str(&body).unwrap();
        if args[0].is_empty() {
            // No identity anywhere: an error document, not a crash.
            assert_eq!(bundle["success"], json!(false), "{bundle}");
        } else {
            assert_eq!(bundle["objects"][0], identity());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// One client's requests: method, path, body.
type Plan = Vec<(&'static str, &'static str, String)>;

/// Percentile of sorted latencies.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// 200 concurrent TLS clients against the real binary on loopback, each with
/// its own keep-alive connection, a mix of translation, transmission against
/// the simulator and health requests, in rounds. Every request must succeed
/// and the server's resident memory must not keep growing after the first
/// round. Latencies are printed (the benchmark table, not a threshold).
/// `STIXSHIFT_LOAD_ROUNDS` (default 3) and `STIXSHIFT_LOAD_CLIENTS`
/// (default 200) scale it for `bench/host_load.sh`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_200_concurrent_clients() {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let clients = env("STIXSHIFT_LOAD_CLIENTS", 200);
    let rounds = env("STIXSHIFT_LOAD_ROUNDS", 3).max(2);
    let sim = simulator(stixshift_simulator::generate::generate(
        2000,
        5,
        1_704_067_200_000_000_000,
        1_704_153_600_000_000_000,
    ))
    .await;
    let dir = std::env::temp_dir().join(format!("stixshift-host-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_path = dir.join("ca.pem");
    let process = HostProcess::start(&["", "127.0.0.1:0", "--ca-out", ca_path.to_str().unwrap()]);
    let connector = tls_connector(&std::fs::read_to_string(&ca_path).unwrap());
    let dest = destination(&sim, DEFAULT_TOKEN);
    let q = search_id();
    // Every client: a query translation, a status and a health check; every
    // fourth client also fetches a page of 20 events from the simulator.
    let plan = |client: usize| -> Plan {
        let mut list = vec![
            (
                "POST",
                "/transform_query",
                json!({"module": "sysdig", "data_source": {}, "data": PATTERN, "options": {"timeout": 30}})
                    .to_string(),
            ),
            (
                "POST",
                "/create_status_connection",
                with(&dest, &json!({"search_id": q})).to_string(),
            ),
            ("GET", "/health", String::new()),
        ];
        if client.is_multiple_of(4) {
            list.push((
                "POST",
                "/create_results_connection",
                with(
                    &dest,
                    &json!({"search_id": q, "offset": 0, "length": 20, "metadata": null}),
                )
                .to_string(),
            ));
        }
        list
    };
    let plans: Arc<Vec<Plan>> = Arc::new((0..clients).map(plan).collect());
    let per_round: usize = plans.iter().map(Vec::len).sum();
    let started = Instant::now();
    let mut rss = Vec::new();
    let mut latencies: Vec<Duration> = Vec::new();
    let mut by_path: std::collections::BTreeMap<&'static str, Vec<Duration>> = Default::default();
    let mut round_times = Vec::new();
    for round in 0..rounds {
        let round_started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for client in 0..clients {
            let connector = connector.clone();
            let plans = plans.clone();
            let addr = process.addr;
            tasks.spawn(async move {
                let mut http = tls_client(&connector, addr)
                    .await
                    .map_err(|e| format!("client {client}: connect: {e}"))?;
                let requests = &plans[client];
                let mut times = Vec::with_capacity(requests.len());
                for (method, path, body) in requests {
                    let t = Instant::now();
                    let (status, text) = http
                        .request(method, path, body)
                        .await
                        .map_err(|e| format!("client {client} {path}: {e}"))?;
                    times.push((*path, t.elapsed()));
                    let doc: Value = serde_json::from_str(&text)
                        .map_err(|e| format!("client {client} {path}: {e}: {text}"))?;
                    if status != 200 || doc.get("success") == Some(&json!(false)) {
                        return Err(format!("client {client} {path}: {status} {text}"));
                    }
                }
                Ok::<_, String>(times)
            });
        }
        let mut errors = Vec::new();
        let outcome = tokio::time::timeout(TEST_LIMIT, async {
            while let Some(joined) = tasks.join_next().await {
                match joined.unwrap() {
                    Ok(times) => {
                        for (path, t) in times {
                            latencies.push(t);
                            by_path.entry(path).or_default().push(t);
                        }
                    }
                    Err(e) => errors.push(e),
                }
            }
        })
        .await;
        assert!(
            outcome.is_ok(),
            "round {round} did not finish in {TEST_LIMIT:?}"
        );
        assert!(
            errors.is_empty(),
            "round {round}: {} errors, e.g. {:?}",
            errors.len(),
            &errors[..errors.len().min(3)]
        );
        round_times.push(round_started.elapsed());
        rss.push(process.rss_kib());
    }
    let total = started.elapsed();
    latencies.sort();
    let n = latencies.len();
    assert_eq!(n, per_round * rounds);
    // The server logs before it answers, but the lines reach this process
    // through a pipe and a reader thread: wait for them (bounded).
    let count = |log: &[String]| {
        log.iter()
            .filter(|l| l.contains("stixshift host: id="))
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while count(&process.log.lock().unwrap()) < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = process.log.lock().unwrap().clone();
    assert_eq!(count(&log), n, "one log line per request");
    assert!(log.iter().all(|l| !l.contains(DEFAULT_TOKEN)));
    println!(
        "host load: {clients} concurrent TLS clients, {per_round} requests per round x {rounds} rounds = {n} requests in {:.2} s ({:.0} req/s); latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; rounds {:?}; server RSS KiB per round {rss:?}",
        total.as_secs_f64(),
        n as f64 / total.as_secs_f64(),
        percentile(&latencies, 50.0).as_secs_f64() * 1e3,
        percentile(&latencies, 99.0).as_secs_f64() * 1e3,
        latencies[n - 1].as_secs_f64() * 1e3,
        round_times.iter().map(|d| format!("{:.2}s", d.as_secs_f64())).collect::<Vec<_>>(),
    );
    for (path, times) in &mut by_path {
        times.sort();
        println!(
            "host load: {path:<32} n {:>6}  p50 {:>8.1} ms  p99 {:>8.1} ms",
            times.len(),
            percentile(times, 50.0).as_secs_f64() * 1e3,
            percentile(times, 99.0).as_secs_f64() * 1e3,
        );
    }
    // Flat: after the first round (allocator warm-up, 200 connections' buffers)
    // the resident size may move by noise, not grow with the request count.
    if rss[0] > 0 {
        let first = rss[0];
        let last = *rss.last().unwrap();
        assert!(
            last <= first + first / 4 + 16 * 1024,
            "server memory grew from {first} KiB to {last} KiB over {rounds} rounds: {rss:?}"
        );
        // From the second round on, growth stays within noise (10% + 2 MiB;
        // seen: under 2 MiB): a leak of 8 KiB per request, 5 MiB a round of
        // 650 requests, exceeds it.
        if rss.len() >= 3 {
            let second = rss[1];
            let allowed = second / 10 + 2048;
            assert!(
                last <= second + allowed,
                "server memory grew from {second} KiB (round 2) to {last} KiB: {rss:?}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    drop(process);
    sim.shutdown().await;
}

/// Translation warnings are logged, one line per request (never the body).
#[tokio::test]
async fn translate_results_logs_its_warnings_once() {
    let (r, lines) = router_with(config());
    let events = json!([
        {"severity": 3, "content": {"fields": {"proc.name": "a", "proc.pid": "not-a-pid"}}},
        {"severity": 3, "content": {"fields": {"proc.name": "b", "proc.pid": "nor-this"}}}
    ]);
    let (status, bundle) = translate_results(&r, Some(identity()), events).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(observed_count(&bundle), 2);
    let lines = lines.lock().unwrap();
    let warned: Vec<&String> = lines.iter().filter(|l| l.contains("warnings=")).collect();
    assert_eq!(warned.len(), 1, "{lines:?}");
    assert!(warned[0].contains("warnings=2"), "{warned:?}");
    assert!(warned[0].contains("proc.pid"), "{warned:?}");
    assert!(!warned[0].contains("not-a-pid"), "{warned:?}");
}

/// `results_stix` logs its translation warnings like `/translate_results`:
/// one line for the request, however many events warned (it was a line per
/// warning, up to `result_limit` of them).
#[tokio::test]
async fn results_stix_logs_its_warnings_once() {
    let mut evs = events();
    for e in evs.iter_mut().take(3) {
        e["content"]["fields"]["proc.pid"] = json!("not-a-pid");
    }
    let sim = simulator(evs).await;
    let dest = destination(&sim, DEFAULT_TOKEN);
    let (r, lines) = router_with(config());
    let (status, bundle) = post(
        &r,
        "/create_results_stix_connection",
        &with(
            &dest,
            &json!({"search_id": search_id(), "offset": 0, "length": 12, "data_source": identity()}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    // The query's window holds 11 of the 12 events (the last is at its end).
    assert_eq!(observed_count(&bundle), 11);
    let lines = lines.lock().unwrap().clone();
    let warned: Vec<&String> = lines.iter().filter(|l| l.contains("warnings=")).collect();
    assert_eq!(warned.len(), 1, "{lines:#?}");
    assert!(
        warned[0].contains("path=/create_results_stix_connection")
            && warned[0].contains("warnings=3")
            && warned[0].contains("proc.pid"),
        "{warned:?}"
    );
    assert!(!warned[0].contains("not-a-pid"), "{warned:?}");
    assert!(
        lines
            .iter()
            .all(|l| !l.contains("stixshift host: warning:")),
        "{lines:#?}"
    );
    sim.shutdown().await;
}
