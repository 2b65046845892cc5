//! The reference's transmission examples (`examples.md` §4, T01–T18): our
//! requests are the equivalent ones, correctly encoded. (T16/T17 are event
//! pre-processing, done by the façade.)

use serde_json::json;
use stixshift_simulator::time::format_rfc3339_nanos;
use stixshift_simulator::{spawn, Config, Running};
use stixshift_transmit::{Client, Connection, Metadata, SearchId, TransmitError, BAD_REQUEST_TEXT};

use crate::support::{check_err, client, client_with, conn, event_requests, ids};

const QUERY: &str = r#"from=1698252206000000000&to=1699202606003000064&filter=(ruleName="a")andsource!="auditTrail""#;
const FIRST_PAGE: &str = "from=1698252206000000000&to=1699202606003000064&filter=%28ruleName%3D%22a%22%29andsource%21%3D%22auditTrail%22";
const ENCODED_FILTER: &str = "%28ruleName%3D%22a%22%29andsource%21%3D%22auditTrail%22";
/// 2023-11-01T17:15:00.000000001Z
const T0: i64 = 1_698_858_900_000_000_001;

/// `evN` of the examples (timestamps a second apart, ev0 the oldest there;
/// here ev0 is the newest so that the API's order is ev0, ev1, …).
fn example_event(i: usize) -> serde_json::Value {
    json!({
        "id": format!("ev{i}"),
        "timestamp": format_rfc3339_nanos(T0 - i as i64 * 1_000_000_000),
        "originator": "policy", "category": "runtime", "source": "syscall",
        "severity": i % 8, "agentId": 1000 + i, "containerId": format!("c{i}"),
        "machineId": "10:10:10:10:10:aa",
        "content": {
            "fields": {"evt.type": "open", "proc.name": format!("p{i}"), "proc.aname[2]": "bash",
                       "proc.aname[3]": "<NA>", "user.name": "<NA>"},
            "ruleName": "a", "policyId": 7, "ruleType": 6, "ruleSubType": 0
        },
        "labels": {"host.hostName": "ip-10-0-0-1.ec2.internal"}
    })
}

async fn example_sim(n: usize) -> Running {
    spawn(Config::with_events((0..n).map(example_event).collect())).await
}

fn raw_queries(run: &Running) -> Vec<String> {
    event_requests(run)
        .into_iter()
        .map(|r| r.raw_query.unwrap_or_default())
        .collect()
}

fn query() -> SearchId {
    SearchId::parse(QUERY).unwrap()
}

#[tokio::test]
async fn t01_t06_t07_ping_first_page_continuation() {
    let run = example_sim(3).await;
    let c = client(&run);
    c.ping().await.unwrap();
    assert_eq!(run.requests()[0].path, "/api/v1/secureEvents/status");

    // T06: offset 0, length 2 → one request, the same parameters as the
    // reference's `…&filter=(ruleName=%22a%22)andsource!=%22auditTrail%22&limit=2`.
    let p = c.results(&query(), 0, 2, None).await.unwrap();
    assert_eq!(ids(&p.events), ["ev0", "ev1"]);
    // Unmodified: the API's key order, `<NA>` kept, nothing added.
    let keys: Vec<&str> = p.events[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(&keys[..3], ["id", "cursor", "timestamp"]);
    assert_eq!(p.events[0]["content"]["fields"]["user.name"], "<NA>");
    assert!(p.events[0].get("finding_type").is_none());
    let m = p.metadata.clone().unwrap();
    assert_eq!(m.result_count, 2);
    assert_eq!(raw_queries(&run), [format!("{FIRST_PAGE}&limit=2")]);
    let r = &event_requests(&run)[0];
    assert_eq!(
        r.params,
        [
            ("from".to_owned(), "1698252206000000000".to_owned()),
            ("to".to_owned(), "1699202606003000064".to_owned()),
            (
                "filter".to_owned(),
                r#"(ruleName="a")andsource!="auditTrail""#.to_owned()
            ),
            ("limit".to_owned(), "2".to_owned()),
        ]
    );
    run.clear_requests();

    // T07: continuation → `cursor`, `filter`, `limit` (no leading `&`).
    let p = c.results(&query(), 2, 2, Some(&m)).await.unwrap();
    assert_eq!(ids(&p.events), ["ev2"]);
    assert!(p.metadata.is_none());
    assert_eq!(
        raw_queries(&run),
        [format!(
            "cursor={}&filter={ENCODED_FILTER}&limit=2",
            m.prev_page_token
        )]
    );
    run.shutdown().await;
}

#[tokio::test]
async fn t08_invalid_metadata() {
    let e = Metadata::from_value(&json!({"prev_page_token": "off2"})).unwrap_err();
    check_err(
        &e,
        "invalid_parameter",
        "Invalid metadata: `result_count` is missing",
    );
}

#[tokio::test]
async fn t09_to_t14_statuses() {
    let run = example_sim(3).await;
    let c = client(&run);
    for (status, code, message) in [
        (400, "invalid_parameter", BAD_REQUEST_TEXT),
        (403, "forbidden", "forbidden"),
        (422, "invalid_query", "unprocessable entity"),
        (500, "unknown", "internal server error"),
    ] {
        run.faults().fail(status, 1);
        let e = c.results(&query(), 0, 2, None).await.unwrap_err();
        check_err(&e, code, message);
    }
    let bad = Client::new(&conn(&run), stixshift_transmit::Token::new("x-x-x")).unwrap();
    let e = bad.results(&query(), 0, 2, None).await.unwrap_err();
    check_err(&e, "authentication_fail", "cannot verify credentials");
    assert!(raw_queries(&run)
        .iter()
        .all(|q| q == &format!("{FIRST_PAGE}&limit=2")));
    run.shutdown().await;
}

#[tokio::test]
async fn t15_timeout() {
    let run = example_sim(3).await;
    let c = client_with(&Connection {
        timeout: std::time::Duration::from_millis(100),
        ..conn(&run)
    });
    run.faults().delay(std::time::Duration::from_secs(5), 1);
    let e = c.results(&query(), 0, 1, None).await.unwrap_err();
    assert!(matches!(e, TransmitError::Timeout { .. }), "{e:?}");
    assert_eq!(e.code(), "service_unavailable");
    assert!(e.to_string().starts_with("timeout_error (0.1 sec)"), "{e}");
    drop(run);
}

#[tokio::test]
async fn t18_second_page_fails() {
    let run = example_sim(1500).await;
    run.faults().fail_cursor_after(1);
    let e = client(&run)
        .results(&query(), 0, 1500, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "unknown");
    assert_eq!(e.status(), Some(500));
    let q = raw_queries(&run);
    assert_eq!(q.len(), 2);
    assert_eq!(q[0], format!("{FIRST_PAGE}&limit=999"));
    assert!(
        q[1].starts_with("cursor=")
            && q[1].ends_with(&format!("&filter={ENCODED_FILTER}&limit=501")),
        "{}",
        q[1]
    );
    run.shutdown().await;
}
