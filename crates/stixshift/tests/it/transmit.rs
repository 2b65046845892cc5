//! `transmit`, `execute` and `demo` through the CLI entry point, against the
//! simulator over real HTTPS on 127.0.0.1.

use serde_json::{json, Value};
use stixshift_simulator::{generate, Config, Running, DEFAULT_TOKEN};

use crate::{json_doc, run_cli, scrub, translate_results, IDENTITY};

/// 2023-11-01T00:00:00Z .. 2023-11-08T00:00:00Z.
const FROM_NS: i64 = 1_698_796_800_000_000_000;
const TO_NS: i64 = 1_699_401_600_000_000_000;
const WINDOW: &str = "START t'2023-11-01T00:00:00Z' STOP t'2023-11-08T00:00:00Z'";

struct Sim {
    runtime: tokio::runtime::Runtime,
    running: Option<Running>,
    events: Vec<Value>,
}

impl Sim {
    fn start(n: usize) -> Sim {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let events = generate::generate(n, 7, FROM_NS, TO_NS);
        let mut config = Config::with_events(events.clone());
        config.tls = true;
        let running = runtime.block_on(stixshift_simulator::spawn(config));
        Sim {
            runtime,
            running: Some(running),
            events,
        }
    }

    fn running(&self) -> &Running {
        self.running.as_ref().unwrap()
    }

    fn connection(&self, options: Value) -> String {
        json!({
            "host": "localhost",
            "port": self.running().port(),
            "selfSignedCert": self.running().cert_pem().unwrap(),
            "options": options,
        })
        .to_string()
    }

    /// The events the simulator holds that `filter` selects in the window.
    fn matching(&self, filter: &str) -> Vec<Value> {
        let expr = stixshift_simulator::filter::parse(filter).unwrap();
        self.events
            .iter()
            .filter(|e| expr.matches(e))
            .cloned()
            .collect()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            self.runtime.block_on(r.shutdown());
        }
    }
}

/// `stixshift transmit sysdig <conn> <token> <op...>`.
fn transmit(conn: &str, op: &[&str]) -> (i32, String, String) {
    let token = token();
    let mut args = vec!["stixshift", "transmit", "sysdig", conn, &token];
    args.extend_from_slice(op);
    run_cli(&args, "")
}

/// `stixshift execute sysdig sysdig <identity> <conn> <token> <pattern...>`.
fn execute(conn: &str, rest: &[&str]) -> (i32, String, String) {
    let token = token();
    let mut args = vec![
        "stixshift",
        "execute",
        "sysdig",
        "sysdig",
        IDENTITY,
        conn,
        &token,
    ];
    args.extend_from_slice(rest);
    run_cli(&args, "")
}

fn token() -> String {
    json!({"auth": {"token": DEFAULT_TOKEN}}).to_string()
}

fn query_for(pattern: &str) -> String {
    let (code, out, _) = run_cli(
        &["stixshift", "translate", "sysdig", "query", "{}", pattern],
        "",
    );
    assert_eq!(code, 0, "{out}");
    let v = json_doc(&out);
    assert_eq!(v["queries"].as_array().unwrap().len(), 1);
    v["queries"][0].as_str().unwrap().to_owned()
}

#[test]
fn ping_over_tls_and_its_failures() {
    let sim = Sim::start(10);
    let conn = sim.connection(json!({}));
    let (code, out, _) = transmit(&conn, &["ping"]);
    assert_eq!((code, json_doc(&out)), (0, json!({"success": true})));

    let wrong = json!({"auth": {"token": "not-the-token-xyz"}}).to_string();
    let (code, out, err) = run_cli(
        &["stixshift", "transmit", "sysdig", &conn, &wrong, "ping"],
        "",
    );
    assert_eq!(code, 1);
    let v = json_doc(&out);
    assert_eq!(v["code"], "authentication_fail");
    assert_eq!(v["success"], false);
    assert!(!out.contains("not-the-token-xyz") && !err.contains("not-the-token-xyz"));

    // Without the simulator's CA the certificate is not trusted.
    let untrusted = json!({"host": "localhost", "port": sim.running().port()}).to_string();
    let (code, out, _) = run_cli(
        &[
            "stixshift",
            "transmit",
            "sysdig",
            &untrusted,
            &token(),
            "ping",
        ],
        "",
    );
    assert_eq!(code, 1);
    assert_eq!(json_doc(&out)["code"], "certificate_fail");

    let (code, out, _) = transmit(&conn, &["is_async"]);
    assert_eq!((code, out.trim()), (0, "false"));
}

#[test]
fn results_page_with_metadata_and_results_stix() {
    let sim = Sim::start(300);
    let conn = sim.connection(json!({}));
    let query = query_for(&format!("[x-ibm-finding:severity >= 10] {WINDOW}"));
    let search = stixshift_transmit::SearchId::parse(&query).unwrap();
    let filter = search.filter();
    let expected = sim.matching(filter);
    assert!(expected.len() > 150, "{}", expected.len());

    let (code, out, _) = transmit(&conn, &["results", &query, "0", "100"]);
    assert_eq!(code, 0, "{out}");
    let first = json_doc(&out);
    assert_eq!(first["data"].as_array().unwrap().len(), 100);
    assert_eq!(
        first["data"][0]["finding_type"], "threat",
        "events are pre-processed"
    );
    let meta = first["metadata"].to_string();
    assert_eq!(first["metadata"]["result_count"], 100);

    let (code, out, _) = transmit(&conn, &["results", &query, "0", "10000", &meta]);
    assert_eq!(code, 0, "{out}");
    let rest = json_doc(&out);
    let ids: Vec<&Value> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["data"].as_array().unwrap())
        .map(|e| &e["id"])
        .collect();
    let want: Vec<&Value> = expected.iter().map(|e| &e["id"]).collect();
    assert_eq!(ids, want, "every matching event once, newest first");
    assert!(rest.get("metadata").is_none());

    let (code, out, _) = transmit(&conn, &["results_stix", &query, "0", "5", IDENTITY]);
    assert_eq!(code, 0, "{out}");
    let bundle = json_doc(&out);
    assert_eq!(bundle["type"], "bundle");
    assert_eq!(bundle["objects"].as_array().unwrap().len(), 6);
    assert_eq!(bundle["stats"][0]["action"], "transmission");
    assert_eq!(bundle["metadata"]["result_count"], 5);

    // From an offset (the events before it are read and dropped): the
    // bundle `translate results` makes of the same events.
    let (code, out, _) = transmit(&conn, &["results_stix", &query, "20", "150", IDENTITY]);
    assert_eq!(code, 0, "{out}");
    let mut stix = json_doc(&out);
    assert_eq!(stix["metadata"]["result_count"], 170);
    let stix = stix.as_object_mut().unwrap();
    stix.remove("stats");
    stix.remove("metadata");
    let events = Value::Array(expected[20..170].to_vec());
    let (code, out, _) = translate_results(IDENTITY, &events.to_string(), &[], "");
    assert_eq!(code, 0);
    assert_eq!(scrub(Value::Object(stix.clone())), scrub(json_doc(&out)));

    let (code, out, _) = transmit(&conn, &["results", &query, "0", "5", "notjson"]);
    assert_eq!(code, 1);
    assert_eq!(json_doc(&out)["code"], "invalid_parameter");
}

/// An event that is not JSON inside a well-formed page: each operation
/// fails with an error that says so (exit 1), instead of failing the page
/// as a whole; `execute` names the event.
#[test]
fn an_event_that_is_not_json_fails_with_an_error_that_names_it() {
    let sim = Sim::start(300);
    let conn = sim.connection(json!({}));
    let pattern = format!("[x-ibm-finding:severity >= 10] {WINDOW}");
    let query = query_for(&pattern);
    let faults = sim.running().faults();

    faults.corrupt_event(1);
    let (code, out, _) = transmit(&conn, &["results", &query, "0", "50"]);
    assert_eq!(code, 1, "{out}");
    let doc = json_doc(&out);
    assert_eq!(doc["success"], false);
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("an event is not JSON"),
        "{doc}"
    );

    faults.corrupt_event(1);
    let (code, out, _) = transmit(&conn, &["results_stix", &query, "0", "50", IDENTITY]);
    assert_eq!(code, 1, "{out}");
    let doc = json_doc(&out);
    assert_eq!(doc["success"], false, "{doc}");
    assert!(doc["error"].as_str().unwrap().contains("event 0"), "{doc}");

    faults.corrupt_event(1);
    let (code, out, err) = execute(&conn, &[&pattern, "-r", "50"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("event 0") || err.contains("event 0"),
        "{out}\n{err}"
    );

    // The fault used up, the same calls succeed.
    assert_eq!(faults.pending().corrupt_event, 0);
    let (code, out, _) = execute(&conn, &[&pattern, "-r", "50"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn execute_equals_translate_results_over_the_selected_events() {
    let sim = Sim::start(2000);
    let conn = sim.connection(json!({}));
    let pattern = format!(
        "[x-sysdig-cluster:name = 'prod-eks-use1' AND x-ibm-finding:severity >= 70] {WINDOW}"
    );
    let query = query_for(&pattern);
    let search = stixshift_transmit::SearchId::parse(&query).unwrap();
    let filter = search.filter();
    let expected_events = sim.matching(filter);
    assert!(expected_events.len() > 20, "{}", expected_events.len());

    let (code, out, err) = execute(&conn, &[&pattern, "-r", "100000"]);
    assert_eq!(code, 0, "{err}");
    let executed = json_doc(&out);
    let (code, out, _) = translate_results(
        IDENTITY,
        &Value::Array(expected_events.clone()).to_string(),
        &[],
        "",
    );
    assert_eq!(code, 0);
    let translated = json_doc(&out);
    assert_eq!(
        executed["objects"].as_array().unwrap().len(),
        expected_events.len() + 1
    );
    assert_eq!(scrub(executed), scrub(translated));
}

#[test]
fn execute_deduplicates_events_two_windows_return_and_limits_per_query() {
    let sim = Sim::start(500);
    let conn = sim.connection(json!({}));
    // The same observation twice with overlapping windows: two queries.
    let pattern = "[x-ibm-finding:severity >= 10] START t'2023-11-01T00:00:00Z' STOP t'2023-11-05T00:00:00Z' OR [x-ibm-finding:severity >= 10] START t'2023-11-03T00:00:00Z' STOP t'2023-11-08T00:00:00Z'";
    let (code, out, _) = execute(&conn, &[pattern, "-r", "100000"]);
    assert_eq!(code, 0);
    let bundle = json_doc(&out);
    // STIX score >= 10 is Sysdig severity <= 9; the two windows cover every
    // event (auditTrail events are always excluded), and days 3-5 were
    // fetched twice: each event must appear once.
    let selected = sim.matching(r#"severity<=9 and source!="auditTrail""#);
    assert!(selected.len() > 300, "{}", selected.len());
    assert_eq!(
        bundle["objects"].as_array().unwrap().len(),
        selected.len() + 1
    );

    let (code, out, _) = execute(&conn, &[pattern, "-r", "7"]);
    assert_eq!(code, 0);
    // At most 7 events a query (two queries, the identity): more than one
    // query's worth, so both contributed.
    let n = json_doc(&out)["objects"].as_array().unwrap().len();
    assert!((9..=15).contains(&n), "{n}");

    // A translation error: nothing on stdout but the error document.
    let (code, out, _) = execute(&conn, &["[x-ibm-finding:foo = 1]"]);
    assert_eq!(code, 1);
    assert_eq!(json_doc(&out)["code"], "mapping_error");
}

#[test]
fn demo_runs_on_the_built_in_simulator() {
    let (code, out, err) = run_cli(&["stixshift", "demo", "--events", "500"], "");
    assert_eq!(code, 0, "{err}");
    let bundle = json_doc(&out);
    assert_eq!(bundle["type"], "bundle");
    assert!(bundle["objects"].as_array().unwrap().len() > 1);
    assert!(
        err.contains("stixshift demo:") && err.contains("observed-data"),
        "{err}"
    );
}

/// A bad argument of a transmission operation is a transmission-shaped
/// error (`error` before `code`), as the `host` server answers it.
#[test]
fn transmit_argument_errors_have_the_transmission_shape() {
    let conn = json!({"host": "127.0.0.1", "port": 9}).to_string();
    for op in [
        &["results", "q", "x", "10"][..],
        &["results_stix", "q", "0", "-1", "{}"][..],
    ] {
        let (code, out, _) = transmit(&conn, op);
        assert_eq!(code, 1, "{out}");
        let doc = json_doc(&out);
        assert_eq!(doc["code"], "invalid_parameter", "{out}");
        let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["success", "connector", "error", "code"], "{out}");
    }
}
