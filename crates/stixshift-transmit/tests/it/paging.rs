//! `results` and `pages` against the simulator: every request counted.

use futures_util::StreamExt;
use stixshift_simulator::{spawn, Config, Running};
use stixshift_transmit::{Client, Connection, Metadata, Page, SearchId};

use crate::support::{
    client, client_with, conn, ev_at, ev_ids, event_requests, events, ids, limits, search, sim,
    FILTER, FROM, TO,
};

fn client_rl(run: &Running, result_limit: u64) -> Client {
    client_with(&Connection {
        result_limit,
        ..conn(run)
    })
}

async fn results(c: &Client, offset: u64, length: u64, m: Option<&Metadata>) -> Page {
    c.results(&search(), offset, length, m)
        .await
        .expect("results")
}

/// One call: the ids returned, the `limit`s requested, the metadata count.
#[track_caller]
fn check(
    run: &Running,
    page: &Page,
    ids_range: std::ops::Range<usize>,
    req_limits: &[u64],
    meta: Option<u64>,
) {
    assert_eq!(ids(&page.events), ev_ids(ids_range), "events");
    assert_eq!(limits(run), req_limits, "request limits");
    assert_eq!(
        page.metadata.as_ref().map(|m| m.result_count),
        meta,
        "metadata"
    );
    run.clear_requests();
}

/// The reference's observed sequences (`sysdig-connector.md` §8.4), with
/// the corrections: no `limit=0` request, exact continuation counts.
#[tokio::test]
async fn reference_sequences() {
    let run = sim(5).await;
    let c = client(&run);
    let p = results(&c, 0, 3, None).await;
    check(&run, &p, 0..3, &[3], Some(3));
    let p = results(&c, 3, 3, p.metadata.as_ref()).await;
    check(&run, &p, 3..5, &[3], None);
    let p = results(&c, 2, 3, None).await;
    check(&run, &p, 2..5, &[5], Some(5));
    let p = results(&c, 0, 5, None).await;
    check(&run, &p, 0..5, &[5], Some(5));
    // Continuing after a full last page: one request, nothing more.
    let p = results(&c, 5, 5, p.metadata.as_ref()).await;
    check(&run, &p, 0..0, &[5], None);
    let p = results(&c, 10, 5, None).await;
    check(&run, &p, 0..0, &[15], None);
    // length 0: no request at all (the reference sent `limit=0`).
    let p = results(&c, 0, 0, None).await;
    check(&run, &p, 0..0, &[], None);
    run.shutdown().await;

    let run = sim(3000).await;
    let c = client(&run);
    let p = results(&c, 0, 2500, None).await;
    check(&run, &p, 0..2500, &[999, 999, 502], Some(2500));
    let p = results(&c, 1000, 1500, None).await;
    check(&run, &p, 1000..2500, &[999, 999, 502], Some(2500));
    let p = results(&client_rl(&run, 1500), 0, 2500, None).await;
    check(&run, &p, 0..1500, &[999, 501], None);
    run.shutdown().await;

    let run = sim(5000).await;
    let c = client(&run);
    let first = results(&c, 0, 999, None).await;
    check(&run, &first, 0..999, &[999], Some(999));
    let p = results(&c, 0, 2500, first.metadata.as_ref()).await;
    // The continuation follows the cursor: no request starts again from
    // the newest event.
    let reqs = event_requests(&run);
    assert!(!reqs.is_empty());
    assert!(reqs.iter().all(|r| r.param("cursor").is_some()), "{reqs:?}");
    check(&run, &p, 999..3499, &[999, 999, 502], Some(3499));
    run.shutdown().await;

    let run = sim(999).await;
    let p = results(&client(&run), 0, 2000, None).await;
    check(&run, &p, 0..999, &[999, 999], None);
    run.shutdown().await;

    let run = sim(25).await;
    let c7 = client_rl(&run, 7);
    let p = results(&c7, 0, 20, None).await;
    check(&run, &p, 0..7, &[7], None);
    let p = results(&c7, 5, 20, None).await;
    check(&run, &p, 5..7, &[7], None);
    let c10 = client_rl(&run, 10);
    let m8 = results(&c10, 0, 8, None).await.metadata.expect("metadata");
    run.clear_requests();
    let p = results(&c10, 0, 5, Some(&m8)).await;
    check(&run, &p, 8..10, &[2], None);
    let m10 = Metadata {
        result_count: 10,
        prev_page_token: m8.prev_page_token.clone(),
    };
    let p = results(&c10, 0, 5, Some(&m10)).await;
    check(&run, &p, 0..0, &[], None);
    // Offset at or beyond result_limit: nothing to fetch.
    let p = results(&c10, 10, 5, None).await;
    check(&run, &p, 0..0, &[], None);
    // length 0 with metadata: no request, the metadata stays valid.
    let p = results(&c10, 0, 0, Some(&m8)).await;
    assert_eq!(p.metadata.as_ref(), Some(&m8));
    check(&run, &p, 0..0, &[], Some(8));
    run.shutdown().await;
}

/// Continuation requests carry `cursor`, `filter`, `limit` (never
/// `from`/`to`); the first carries `from`, `to`, `filter`, `limit`.
#[tokio::test]
async fn request_parameters() {
    let run = sim(2000).await;
    let c = client(&run);
    let p = results(&c, 0, 1500, None).await;
    assert_eq!(p.events.len(), 1500);
    let reqs = event_requests(&run);
    let names = |i: usize| {
        reqs[i]
            .params
            .iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(0), ["from", "to", "filter", "limit"]);
    assert_eq!(reqs[0].param("from"), Some(FROM.to_string().as_str()));
    assert_eq!(reqs[0].param("to"), Some(TO.to_string().as_str()));
    assert_eq!(names(1), ["cursor", "filter", "limit"]);
    for r in &reqs {
        assert_eq!(r.param("filter"), Some(FILTER));
        assert_eq!(r.status, Some(200));
    }
    run.shutdown().await;
}

/// The requests a correct pager makes for events `[offset, end)` of `n`:
/// pages of at most 999 up to `end`, stopping at a short page.
fn expected_limits(n: u64, offset: u64, end: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut pos = 0;
    if offset >= end {
        return out;
    }
    while pos < end {
        let lim = (end - pos).min(999);
        let got = lim.min(n - pos.min(n));
        out.push(lim);
        pos += got;
        if got < lim {
            break;
        }
    }
    out
}

/// Sizes 0, 1, 999, 1000, 5000 × offsets/lengths × result limits: exactly
/// the expected slice, no `limit=0`, no limit above 999, no more requests
/// than needed.
#[tokio::test]
async fn offset_length_sweep() {
    let cases: &[(u64, u64)] = &[
        (0, 1),
        (0, 998),
        (0, 999),
        (0, 1000),
        (0, 1998),
        (0, 5000),
        (0, 10_000),
        (1, 998),
        (1, 999),
        (998, 2),
        (999, 1),
        (999, 1000),
        (1000, 10),
        (4999, 5),
        (5000, 1),
        (4000, 2000),
    ];
    for n in [0usize, 1, 999, 1000, 5000] {
        let run = sim(n).await;
        for rl in [10_000u64, 1000] {
            let c = client_rl(&run, rl);
            for &(offset, length) in cases {
                let end = (offset + length).min(rl);
                let expect_end = (end as usize).min(n);
                let expect_start = (offset as usize).min(expect_end);
                let p = results(&c, offset, length, None).await;
                let what = format!("n={n} rl={rl} offset={offset} length={length}");
                assert_eq!(ids(&p.events), ev_ids(expect_start..expect_end), "{what}");
                let l = limits(&run);
                assert!(l.iter().all(|&x| (1..=999).contains(&x)), "{what}: {l:?}");
                assert_eq!(l, expected_limits(n as u64, offset, end), "{what}");
                let meta = (offset < end && end <= n as u64 && end < rl).then_some(end);
                assert_eq!(p.metadata.map(|m| m.result_count), meta, "{what}");
                run.clear_requests();
            }
        }
        run.shutdown().await;
    }
}

/// Walking a whole search through metadata, for several page lengths,
/// yields every event once, in order.
#[tokio::test]
async fn continuation_reads_everything_once() {
    for (n, length) in [
        (25usize, 1u64),
        (1000, 7),
        (5000, 999),
        (5000, 1000),
        (5000, 2500),
        (3000, 3000),
    ] {
        let run = sim(n).await;
        let c = client(&run);
        let mut got = Vec::new();
        let mut meta: Option<Metadata> = None;
        let mut calls = 0;
        loop {
            calls += 1;
            assert!(calls <= n + 2, "n={n} length={length}: too many calls");
            let offset = meta.as_ref().map_or(0, |m| m.result_count);
            let p = results(&c, offset, length, meta.as_ref()).await;
            got.extend(ids(&p.events));
            match p.metadata {
                Some(m) => {
                    assert_eq!(m.result_count as usize, got.len(), "n={n} length={length}");
                    meta = Some(m);
                }
                None => break,
            }
        }
        assert_eq!(got, ev_ids(0..n), "n={n} length={length}");
        // No event was read twice from the API.
        let served: usize = event_requests(&run)
            .iter()
            .map(|r| r.events.unwrap_or(0))
            .sum();
        assert_eq!(served, n, "n={n} length={length}");
        run.shutdown().await;
    }
}

/// A search where some events do not match the filter.
#[tokio::test]
async fn filter_is_applied_on_every_page() {
    let evs: Vec<_> = (0..3000)
        .map(|i| {
            ev_at(
                &format!("e{i}"),
                TO - (i + 1) * 1_000_000,
                if i % 3 == 0 { "a" } else { "b" },
            )
        })
        .collect();
    let run = spawn(Config::with_events(evs)).await;
    let p = results(&client(&run), 0, 10_000, None).await;
    let expected: Vec<String> = (0..3000)
        .filter(|i| i % 3 == 0)
        .map(|i| format!("e{i}"))
        .collect();
    assert_eq!(ids(&p.events), expected);
    assert_eq!(limits(&run), [999, 999]);
    assert!(p.metadata.is_none());
    run.shutdown().await;
}

fn windowed(inside: usize, older: usize) -> Vec<serde_json::Value> {
    let mut evs = events(inside);
    evs.extend(
        (0..older).map(|i| ev_at(&format!("old{i}"), FROM - (i as i64 + 1) * 1_000_000, "a")),
    );
    evs
}

/// The simulator, like the real API as far as is known, lets cursor pages
/// run past the window's start: the guard drops those events and stops.
#[tokio::test]
async fn window_guard_stops_cursor_pages_at_from() {
    let run = spawn(Config::with_events(windowed(5, 10))).await;
    let c = client(&run);
    let p = results(&c, 0, 3, None).await;
    assert_eq!(ids(&p.events), ev_ids(0..3));
    let m = p.metadata.expect("metadata");
    let p = results(&c, 3, 5, Some(&m)).await;
    assert_eq!(ids(&p.events), ev_ids(3..5), "no event older than `from`");
    assert!(p.metadata.is_none(), "paging stops at the window's start");
    assert_eq!(
        event_requests(&run)[1].events,
        Some(5),
        "the simulator did send older events"
    );
    run.shutdown().await;

    let run = spawn(Config::with_events(windowed(1000, 2000))).await;
    let c = client(&run);
    let p = results(&c, 0, 3000, None).await;
    assert_eq!(ids(&p.events), ev_ids(0..1000));
    assert!(p.metadata.is_none());
    assert_eq!(limits(&run), [999, 999]);
    // The stream does the same.
    run.clear_requests();
    let pages: Vec<_> = c.pages(&search(), 3000).collect().await;
    let all: Vec<String> = pages.into_iter().flat_map(|p| ids(&p.unwrap())).collect();
    assert_eq!(all, ev_ids(0..1000));
    assert_eq!(limits(&run), [999, 999]);
    run.shutdown().await;
}

#[tokio::test]
async fn pages_stream() {
    let run = sim(5000).await;
    let c = client(&run);
    let pages: Vec<Vec<String>> = c
        .pages(&search(), 2500)
        .map(|p| ids(&p.expect("page")))
        .collect()
        .await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        [999, 999, 502]
    );
    assert_eq!(pages.concat(), ev_ids(0..2500));
    run.clear_requests();

    let all: Vec<Vec<String>> = c
        .pages(&search(), u64::MAX)
        .map(|p| ids(&p.expect("page")))
        .collect()
        .await;
    assert_eq!(all.concat(), ev_ids(0..5000));
    assert_eq!(limits(&run), [999, 999, 999, 999, 999, 999]);
    run.clear_requests();

    // Capped by result_limit too.
    let capped: usize = client_rl(&run, 1200)
        .pages(&search(), 5000)
        .map(|p| p.expect("page").len())
        .fold(0, |a, n| async move { a + n })
        .await;
    assert_eq!(capped, 1200);
    assert!(c.pages(&search(), 0).next().await.is_none());
    run.shutdown().await;
}

#[tokio::test]
async fn empty_search_and_empty_window() {
    let run = sim(10).await;
    let c = client(&run);
    let empty = SearchId::new(FROM, FROM, FILTER);
    let p = c.results(&empty, 0, 100, None).await.unwrap();
    assert!(p.events.is_empty() && p.metadata.is_none());
    let other = SearchId::new(FROM, TO, r#"ruleName="nope""#);
    let p = c.results(&other, 0, 100, None).await.unwrap();
    assert!(p.events.is_empty() && p.metadata.is_none());
    assert_eq!(limits(&run), [100, 100]);
    run.shutdown().await;
}

fn page_body(stamps: &[i64], prev: &str) -> Vec<u8> {
    let data: Vec<_> = stamps
        .iter()
        .map(|ts| serde_json::json!({"id": format!("t{ts}"), "timestamp": ts}))
        .collect();
    crate::support::http_response(
        "200 OK",
        "application/json",
        &serde_json::json!({"data": data, "page": {"prev": prev, "total": 99}}).to_string(),
    )
}

/// Events newer than `to` are dropped and not counted; numeric (v1-style)
/// timestamps are understood.
#[tokio::test]
async fn guard_drops_events_after_the_window_end() {
    let m = crate::support::mock(vec![
        page_body(&[2500, 1900, 1800, 1700, 1600], "c1"),
        page_body(&[1500], "c2"),
    ])
    .await;
    let c = client_with(&crate::support::mock_conn(m.port));
    let s = SearchId::new(1000, 2000, "x");
    let p = c.results(&s, 0, 5, None).await.unwrap();
    assert_eq!(
        ids(&p.events),
        ["t1900", "t1800", "t1700", "t1600", "t1500"]
    );
    assert_eq!(
        p.metadata,
        Some(Metadata {
            result_count: 5,
            prev_page_token: "c2".into()
        })
    );
    let heads = m.heads.lock().unwrap().clone();
    assert!(heads[0].starts_with("GET /api/v1/secureEvents?from=1000&to=2000&filter=x&limit=5 "));
    assert!(heads[1].starts_with("GET /api/v1/secureEvents?cursor=c1&filter=x&limit=1 "));
}

#[tokio::test]
async fn a_cursor_that_does_not_advance_is_an_error() {
    let m = crate::support::mock(vec![
        page_body(&[1900, 1800], "c1"),
        page_body(&[1700, 1600], "c1"),
    ])
    .await;
    let c = client_with(&crate::support::mock_conn(m.port));
    let e = c
        .results(&SearchId::new(1000, 2000, "x"), 0, 10, None)
        .await;
    // The first page is short (2 < 10): paging ends there, no second request.
    assert_eq!(ids(&e.unwrap().events), ["t1900", "t1800"]);
    let m = crate::support::mock(vec![
        page_body(&[1900, 1800], "c1"),
        page_body(&[1700, 1600], "c1"),
    ])
    .await;
    let c = client_with(&crate::support::mock_conn(m.port));
    let mut stream = c.pages(&SearchId::new(1000, 2000, "x"), 2);
    assert_eq!(
        ids(&stream.next().await.unwrap().unwrap()),
        ["t1900", "t1800"]
    );
    assert!(stream.next().await.is_none());
    let first = Metadata {
        result_count: 2,
        prev_page_token: "c1".into(),
    };
    let e = c
        .results(&SearchId::new(1000, 2000, "x"), 2, 2, Some(&first))
        .await
        .unwrap_err();
    crate::support::check_err(
        &e,
        "unknown",
        "invalid response (HTTP 200): paging does not advance: the API returned the cursor it was given",
    );
}

/// `+`, `&`, `%`, `=` and quotes inside a filter value reach the API
/// intact (the reference turned `+` into a space and split at `&`).
#[tokio::test]
async fn filter_values_arrive_intact() {
    let rule = "a+b&c=%d \"q\" é";
    let evs = vec![
        ev_at("hit", TO - 1_000_000, rule),
        ev_at("miss", TO - 2_000_000, "a b"),
    ];
    let run = spawn(Config::with_events(evs)).await;
    let filter = format!(
        r#"(ruleName="{}")andsource!="auditTrail""#,
        rule.replace('"', "\\\"")
    );
    let s = SearchId::parse(&format!("from={FROM}&to={TO}&filter={filter}")).unwrap();
    let p = client(&run).results(&s, 0, 10, None).await.unwrap();
    assert_eq!(ids(&p.events), ["hit"]);
    let reqs = event_requests(&run);
    assert_eq!(reqs[0].param("filter"), Some(filter.as_str()));
    assert_eq!(reqs[0].params.len(), 4);
    run.shutdown().await;
}
