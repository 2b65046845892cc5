use serde_json::{json, Value};
use stixshift_simulator::time::format_rfc3339_nanos;
use stixshift_simulator::{Running, DEFAULT_TOKEN};

/// 2023-11-01T00:00:00Z
pub(crate) const BASE: i64 = 1_698_796_800_000_000_000;

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("client")
}

/// GET `path_and_query` with the demo token.
pub(crate) async fn get(run: &Running, path_and_query: &str) -> reqwest::Response {
    get_with(run, path_and_query, Some(DEFAULT_TOKEN)).await
}

pub(crate) async fn get_with(
    run: &Running,
    path_and_query: &str,
    token: Option<&str>,
) -> reqwest::Response {
    let mut req = client().get(format!("{}{path_and_query}", run.base_url()));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("request")
}

pub(crate) async fn get_json(run: &Running, path_and_query: &str) -> (u16, Value) {
    let resp = get(run, path_and_query).await;
    let status = resp.status().as_u16();
    let body = resp.json::<Value>().await.expect("json body");
    (status, body)
}

/// A minimal raw event.
pub(crate) fn ev(id: &str, ts: i64, source: &str) -> Value {
    json!({
        "id": id,
        "timestamp": format_rfc3339_nanos(ts),
        "source": source,
        "severity": 3,
        "content": {"ruleName": "r", "fields": {"proc.name": "p"}},
        "labels": {"kubernetes.cluster.name": "c"}
    })
}

/// Percent-encodes a query value fully.
pub(crate) fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn ids(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .expect("data array")
        .iter()
        .map(|e| e["id"].as_str().expect("id").to_owned())
        .collect()
}
