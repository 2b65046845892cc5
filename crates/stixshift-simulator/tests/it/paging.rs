//! Following cursors returns every matching event exactly once, in order,
//! for a `prev`-follower (the reference's algorithm) and a `next`-follower.

use serde_json::Value;
use stixshift_simulator::{spawn, Config, Running};

use crate::support::{enc, ev, get_json, ids, BASE};

const STEP: i64 = 1_000;
const FILTER: &str = r#"(ruleName="r")andsource!="auditTrail""#;

/// `n` matching events inside `[BASE, BASE + n*STEP)`, non-matching ones
/// interleaved, matching ones at and after `to` (excluded by the window), and
/// non-matching ones older than `from`. Returns the expected ids, newest first.
fn store(n: usize) -> (Vec<Value>, Vec<String>, i64, i64) {
    let from = BASE;
    let to = BASE + n as i64 * STEP;
    let mut events = Vec::new();
    let mut expected = Vec::new();
    for i in 0..n {
        events.push(ev(&format!("m{i}"), from + i as i64 * STEP, "syscall"));
        events.push(ev(
            &format!("x{i}"),
            from + i as i64 * STEP + 1,
            "auditTrail",
        ));
        expected.push(format!("m{i}"));
    }
    // Half-open window: an event exactly at `to` is out, one exactly at `from` in.
    events.push(ev("at-to", to, "syscall"));
    events.push(ev("newer", to + 5 * STEP, "syscall"));
    events.push(ev("older-nonmatching", from - 1, "auditTrail"));
    expected.reverse();
    (events, expected, from, to)
}

/// The reference connector's paging (sysdig-connector.md §8.3) for
/// `offset = 0, length`: first page with from/to, then `cursor` = `page.prev`
/// with `filter` and `limit = min(remaining, 999)`, stopping on a short page.
async fn follow_prev(run: &Running, from: i64, to: i64, length: usize) -> Vec<String> {
    let filter = enc(FILTER);
    let limit = length.min(999);
    let (status, body) = get_json(
        run,
        &format!("/api/v1/secureEvents?from={from}&to={to}&filter={filter}&limit={limit}"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let mut got = ids(&body);
    let mut token = body["page"]["prev"].as_str().map(str::to_owned);
    assert!(token.is_some(), "legacy pages always carry prev");
    if got.len() < limit {
        token = None;
    }
    for _ in 0..(length / 999 + 3) {
        let Some(t) = token.take() else { break };
        let remaining = length - got.len();
        if remaining == 0 {
            break;
        }
        let limit = remaining.min(999);
        let (status, body) = get_json(
            run,
            &format!("/api/v1/secureEvents?&cursor={t}&filter={filter}&limit={limit}"),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let page = ids(&body);
        let short = page.len() < limit;
        got.extend(page);
        token = body["page"]["prev"].as_str().map(str::to_owned);
        if short {
            token = None;
        }
    }
    assert!(
        token.is_none() || got.len() >= length,
        "paging loop bound reached"
    );
    got
}

/// A `next`-follower: first page with from/to, then only `cursor` (the
/// filter travels in the cursor) until `page.next` is absent.
async fn follow_next(
    run: &Running,
    path: &str,
    from: i64,
    to: i64,
    limit: usize,
    bound: usize,
) -> Vec<String> {
    let filter = enc(FILTER);
    let (status, mut body) = get_json(
        run,
        &format!("{path}?from={from}&to={to}&filter={filter}&limit={limit}"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let mut got = ids(&body);
    for _ in 0..bound {
        let Some(next) = body["page"]["next"].as_str().map(str::to_owned) else {
            return got;
        };
        let (status, b) = get_json(run, &format!("{path}?cursor={next}&limit={limit}")).await;
        assert_eq!(status, 200, "{b}");
        got.extend(ids(&b));
        body = b;
    }
    panic!("`next` still present after {bound} pages");
}

#[tokio::test]
async fn every_matching_event_exactly_once_in_order() {
    for n in [0usize, 1, 998, 999, 1000, 2500] {
        let (events, expected, from, to) = store(n);
        let run = spawn(Config::with_events(events)).await;

        let via_prev = follow_prev(&run, from, to, n + 10).await;
        assert_eq!(via_prev, expected, "prev-follower, n={n}");

        let via_next = follow_next(&run, "/api/v1/secureEvents", from, to, 999, n / 999 + 3).await;
        assert_eq!(via_next, expected, "next-follower (legacy), n={n}");

        let via_v1 =
            follow_next(&run, "/secure/events/v1/events", from, to, 200, n / 200 + 3).await;
        assert_eq!(via_v1, expected, "next-follower (v1), n={n}");

        // page.total counts the window's matches on the first page.
        let (_, first) = get_json(
            &run,
            &format!(
                "/api/v1/secureEvents?from={from}&to={to}&filter={}&limit=1",
                enc(FILTER)
            ),
        )
        .await;
        assert_eq!(first["page"]["total"], n);
        run.shutdown().await;
    }
}

#[tokio::test]
async fn reference_request_sequence_for_2500_of_3000() {
    let events: Vec<Value> = (0..3000)
        .map(|i| ev(&format!("ev{i}"), BASE - i * STEP, "syscall"))
        .collect();
    let run = spawn(Config::with_events(events)).await;
    let (from, to) = (BASE - 3000 * STEP, BASE + 1);
    let got = follow_prev(&run, from, to, 2500).await;
    assert_eq!(got, (0..2500).map(|i| format!("ev{i}")).collect::<Vec<_>>());
    let log = run.requests();
    let limits: Vec<_> = log
        .iter()
        .map(|r| r.param("limit").unwrap_or("-").to_owned())
        .collect();
    assert_eq!(limits, ["999", "999", "502"]);
    assert!(log[0].param("from").is_some() && log[0].param("cursor").is_none());
    for r in &log[1..] {
        assert!(r.param("from").is_none() && r.param("to").is_none());
        assert_eq!(r.param("filter"), Some(FILTER));
        assert!(r.raw_query.as_deref().unwrap().starts_with("&cursor="));
    }
    run.shutdown().await;
}

/// A cursor page is not bounded by the window of the query it continues (as
/// the real API is not guaranteed to be): the client must guard. With
/// `cursor_bounded_by_window` it is.
#[tokio::test]
async fn cursor_pages_run_past_the_window_unless_bounded() {
    let events: Vec<Value> = (0..10)
        .map(|i| ev(&format!("e{i}"), BASE - i * STEP, "syscall"))
        .collect();
    // Window holds e0..e4 (ts > BASE - 5*STEP).
    let (from, to) = (BASE - 4 * STEP, BASE + 1);
    for (bounded, expected) in [
        (false, vec!["e2", "e3", "e4", "e5"]),
        (true, vec!["e2", "e3", "e4"]),
    ] {
        let run = spawn(Config {
            cursor_bounded_by_window: bounded,
            ..Config::with_events(events.clone())
        })
        .await;
        let (_, first) = get_json(
            &run,
            &format!("/api/v1/secureEvents?from={from}&to={to}&limit=2"),
        )
        .await;
        assert_eq!(ids(&first), ["e0", "e1"]);
        assert_eq!(first["page"]["total"], 5);
        let prev = first["page"]["prev"].as_str().unwrap();
        let (_, second) =
            get_json(&run, &format!("/api/v1/secureEvents?cursor={prev}&limit=4")).await;
        assert_eq!(ids(&second), expected, "bounded={bounded}");
        run.shutdown().await;
    }
}

#[tokio::test]
async fn v1_prev_goes_back_to_newer_events_and_event_cursors_continue_after_the_event() {
    let events: Vec<Value> = (0..6)
        .map(|i| ev(&format!("e{i}"), BASE - i * STEP, "syscall"))
        .collect();
    let run = spawn(Config::with_events(events)).await;
    let (from, to) = (BASE - 10 * STEP, BASE + 1);
    let (_, p1) = get_json(
        &run,
        &format!("/secure/events/v1/events?from={from}&to={to}&limit=2"),
    )
    .await;
    assert!(
        p1["page"].get("prev").is_none(),
        "nothing newer than the first page"
    );
    assert!(
        p1["data"][0]["timestamp"].is_i64(),
        "v1 timestamps are nanoseconds"
    );
    assert_eq!(p1["data"][0]["content"]["type"], "workloadRuntimeDetection");
    let next = p1["page"]["next"].as_str().unwrap();
    let (_, p2) = get_json(
        &run,
        &format!("/secure/events/v1/events?cursor={next}&limit=2"),
    )
    .await;
    assert_eq!(ids(&p2), ["e2", "e3"]);
    let prev = p2["page"]["prev"].as_str().unwrap();
    let (_, back) = get_json(
        &run,
        &format!("/secure/events/v1/events?cursor={prev}&limit=2"),
    )
    .await;
    assert_eq!(ids(&back), ["e0", "e1"]);
    // An event's own cursor continues with the events after it.
    let c = p1["data"][1]["cursor"].as_str().unwrap();
    let (_, after) = get_json(&run, &format!("/api/v1/secureEvents?cursor={c}&limit=3")).await;
    assert_eq!(ids(&after), ["e2", "e3", "e4"]);
    run.shutdown().await;
}
