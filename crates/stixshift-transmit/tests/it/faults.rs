//! Retries over real HTTP: 429 (with `Retry-After`), 502/503/504, resets and
//! truncated bodies, injected before and in the middle of paging. No event
//! lost or duplicated; exhausted retries give the right error.

use std::time::Duration;

use futures_util::StreamExt;
use stixshift_simulator::Running;
use stixshift_transmit::{Connection, RetryPolicy, TransmitError};

use crate::support::{
    check_err, client, client_with, conn, ev_ids, event_requests, ids, limits, recording, search,
    sim,
};

fn faults_seen(run: &Running) -> Vec<Option<String>> {
    event_requests(run).into_iter().map(|r| r.fault).collect()
}

#[tokio::test]
async fn too_many_requests_honours_retry_after() {
    let run = sim(10).await;
    let (c, waits) = recording(client(&run));
    run.faults().too_many_requests(2, 7);
    let p = c.results(&search(), 0, 10, None).await.unwrap();
    assert_eq!(ids(&p.events), ev_ids(0..10));
    assert_eq!(
        *waits.lock().unwrap(),
        [Duration::from_secs(7), Duration::from_secs(7)]
    );
    assert_eq!(
        faults_seen(&run),
        [Some("429".into()), Some("429".into()), None]
    );
    run.shutdown().await;
}

#[tokio::test]
async fn retry_after_beyond_the_deadline_gives_up_at_once() {
    let run = sim(10).await;
    let policy = RetryPolicy {
        max_attempts: 5,
        deadline: Duration::from_secs(10),
        ..RetryPolicy::default()
    };
    let (c, waits) = recording(client_with(&Connection {
        retry: policy,
        ..conn(&run)
    }));
    run.faults().too_many_requests(5, 30);
    let e = c.results(&search(), 0, 10, None).await.unwrap_err();
    assert_eq!(
        e,
        TransmitError::TooManyRequests {
            attempts: 1,
            retry_after: Some(Duration::from_secs(30))
        }
    );
    check_err(
        &e,
        "too_many_requests",
        "Max retries exceeded. too_many_requests with max retry (1)",
    );
    assert!(waits.lock().unwrap().is_empty());
    run.shutdown().await;
}

#[tokio::test]
async fn backoff_waits_are_jittered_and_growing() {
    let run = sim(10).await;
    let policy = RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
        deadline: Duration::from_secs(60),
    };
    let (c, waits) = recording(client_with(&Connection {
        retry: policy,
        ..conn(&run)
    }));
    run.faults().fail(503, 3);
    let p = c.results(&search(), 0, 10, None).await.unwrap();
    assert_eq!(p.events.len(), 10);
    let w = waits.lock().unwrap().clone();
    assert_eq!(w.len(), 3);
    for (i, d) in w.iter().enumerate() {
        let full = Duration::from_millis(100 << i);
        assert!(*d >= full / 2 && *d <= full, "wait {i}: {d:?}");
    }
    run.shutdown().await;
}

/// Every transient fault, injected between the pages of one search.
#[tokio::test]
async fn faults_mid_paging_lose_and_duplicate_nothing() {
    type Inject = fn(&Running);
    let injections: &[(&str, Inject)] = &[
        ("429", |r| r.faults().too_many_requests(2, 0)),
        ("502+504", |r| {
            r.faults().fail(502, 1);
            r.faults().fail(504, 1);
        }),
        ("503", |r| r.faults().fail(503, 2)),
        ("reset", |r| r.faults().reset_connection(2)),
        ("truncated", |r| r.faults().truncate_body(2)),
    ];
    for (name, inject) in injections {
        let run = sim(3000).await;
        let c = client(&run);
        let mut stream = c.pages(&search(), 3000);
        let mut got = Vec::new();
        let mut n = 0;
        while let Some(page) = stream.next().await {
            n += 1;
            assert!(n <= 10, "{name}: too many pages");
            got.extend(ids(&page.unwrap_or_else(|e| panic!("{name}: {e}"))));
            if n == 1 {
                inject(&run);
            }
        }
        assert_eq!(got, ev_ids(0..3000), "{name}");
        let f = faults_seen(&run);
        assert_eq!(f.iter().filter(|x| x.is_some()).count(), 2, "{name}: {f:?}");
        assert_eq!(f.last(), Some(&None), "{name}: {f:?}");
        run.shutdown().await;
    }
}

/// Same through `results` + metadata, faults before the continuation and
/// a cursor page failing with 503 inside one call.
#[tokio::test]
async fn faults_during_continuation() {
    let run = sim(3000).await;
    let c = client(&run);
    let p = c.results(&search(), 0, 1000, None).await.unwrap();
    let m = p.metadata.clone().unwrap();
    run.faults().truncate_body(1);
    run.faults().reset_connection(1);
    let q = c.results(&search(), 1000, 1000, Some(&m)).await.unwrap();
    run.faults().fail_cursor_after_with_status(1, 503);
    let r = c
        .results(&search(), 2000, 1000, q.metadata.as_ref())
        .await
        .unwrap();
    let all: Vec<String> = [p, q, r].iter().flat_map(|x| ids(&x.events)).collect();
    assert_eq!(all, ev_ids(0..3000));
    run.shutdown().await;
}

#[tokio::test]
async fn retries_exhausted() {
    let run = sim(10).await;
    let c = client(&run);
    type Case = (fn(&Running), TransmitError, &'static str, String);
    let cases: Vec<Case> = vec![
        (
            |r| r.faults().too_many_requests(5, 0),
            TransmitError::TooManyRequests {
                attempts: 3,
                retry_after: Some(Duration::ZERO),
            },
            "too_many_requests",
            "Max retries exceeded. too_many_requests with max retry (3)".into(),
        ),
        (
            |r| r.faults().fail(503, 5),
            TransmitError::Unavailable {
                status: 503,
                message: None,
                attempts: 3,
            },
            "service_unavailable",
            "service unavailable (HTTP 503 Service Unavailable, 3 attempts)".into(),
        ),
        (
            |r| r.faults().reset_connection(5),
            TransmitError::ConnectionReset {
                address: format!("127.0.0.1:{}", run.port()),
                attempts: 3,
            },
            "service_unavailable",
            format!(
                "connection to `127.0.0.1:{}` was reset before a response arrived (3 attempts)",
                run.port()
            ),
        ),
        (
            |r| r.faults().truncate_body(5),
            TransmitError::Truncated {
                address: format!("127.0.0.1:{}", run.port()),
                attempts: 3,
            },
            "service_unavailable",
            format!(
                "response from `127.0.0.1:{}` was cut short (3 attempts)",
                run.port()
            ),
        ),
    ];
    for (inject, expected, code, message) in cases {
        run.faults().clear();
        run.clear_requests();
        inject(&run);
        let e = c.results(&search(), 0, 10, None).await.unwrap_err();
        assert_eq!(e, expected);
        check_err(&e, code, &message);
        assert!(e.is_retriable());
        assert_eq!(limits(&run), [10, 10, 10], "{message}");
    }
    // The ping is retried the same way.
    run.faults().clear();
    run.faults().too_many_requests(5, 0);
    let e = c.ping().await.unwrap_err();
    check_err(
        &e,
        "too_many_requests",
        "Max retries exceeded. too_many_requests with max retry (3)",
    );
    run.shutdown().await;
}

#[tokio::test]
async fn not_retried() {
    let run = sim(10).await;
    let c = client(&run);
    run.faults().fail(500, 5);
    let e = c.results(&search(), 0, 10, None).await.unwrap_err();
    check_err(&e, "unknown", "internal server error");
    assert_eq!(limits(&run), [10], "500 is not retried");
    run.shutdown().await;
}

#[tokio::test]
async fn timeout() {
    let run = sim(10).await;
    let c = client_with(&Connection {
        timeout: Duration::from_millis(200),
        ..conn(&run)
    });
    run.faults().delay(Duration::from_secs(5), 1);
    let e = c.results(&search(), 0, 1, None).await.unwrap_err();
    check_err(
        &e,
        "service_unavailable",
        &format!(
            "timeout_error (0.2 sec): no complete response from `127.0.0.1:{}`",
            run.port()
        ),
    );
    assert!(matches!(e, TransmitError::Timeout { .. }));
    assert_eq!(
        limits(&run).len(),
        0,
        "the delayed request is still in flight"
    );
    // Not retried: the next call is served normally.
    let p = c.results(&search(), 0, 1, None).await.unwrap();
    assert_eq!(ids(&p.events), ev_ids(0..1));
    drop(run);
}
