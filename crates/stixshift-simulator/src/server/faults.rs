//! Faults on request: each is a counter that requests consume, so every
//! fault is deterministic and bounded (the rate limit, a steady state, is
//! bounded by the clock window and is lifted with `rate_limit(None)`).
//!
//! For each request, in this order:
//! 1. **rate limit** (`r` requests per clock second): over it → 429,
//!    `Retry-After` = seconds to the next clock second (at least 1);
//! 2. **delay**: if a delay is pending, the request waits that long first
//!    (and then goes on to the steps below);
//! 3. at most one of **reset** (the connection is closed with a TCP RST
//!    instead of a response), **429** with `Retry-After`, or a **status**
//!    failure (queued `(status, count)` entries, first in first out);
//! 4. otherwise the request is served; a **cursor failure** fires inside the
//!    events handlers: after `n` successful event pages, the next request
//!    that carries a `cursor` fails once;
//! 5. **truncation**: the response (whatever it is) announces its full
//!    `Content-Length` but the connection is cut after half of the body.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::Clock;

/// A pending "fail with this status" entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusFault {
    /// The HTTP status to answer (500, 502, 503, 504, or any other).
    pub status: u16,
    /// How many more requests get it.
    pub count: u32,
}

/// A pending cursor failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CursorFailure {
    /// Successful event pages still to serve before the failure.
    pub after_pages: u32,
    /// The status of the failing answer (500 by default).
    pub status: u16,
}

/// The faults still to come. `Config::faults` sets the initial plan;
/// [`Faults`] changes it while the server runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultPlan {
    /// The next `n` requests get 429.
    pub too_many_requests: u32,
    /// The `Retry-After` seconds sent with those 429s.
    pub retry_after_secs: u64,
    /// Status failures, consumed first to last.
    pub statuses: VecDeque<StatusFault>,
    /// The next `count` requests wait `delay` before anything else.
    pub delay: Duration,
    /// How many requests the delay still applies to.
    pub delay_count: u32,
    /// The next `n` responses are cut after half their body.
    pub truncate: u32,
    /// The next `n` requests get their connection reset.
    pub reset: u32,
    /// A cursor request fails after this many more event pages.
    pub cursor_failure: Option<CursorFailure>,
    /// At most this many requests per second of the server's clock.
    pub rate_limit: Option<u32>,
    /// The next `n` (legacy) event pages have their first event replaced by
    /// text that is not JSON (`{x"id": …}`: brackets and strings balanced,
    /// so the page's own structure holds).
    pub corrupt_event: u32,
}

impl Default for FaultPlan {
    fn default() -> Self {
        FaultPlan {
            too_many_requests: 0,
            retry_after_secs: 1,
            statuses: VecDeque::new(),
            delay: Duration::ZERO,
            delay_count: 0,
            truncate: 0,
            reset: 0,
            cursor_failure: None,
            rate_limit: None,
            corrupt_event: 0,
        }
    }
}

/// What happens to one request instead of (or on top of) normal service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    RateLimited { retry_after: u64 },
    Reset,
    TooMany { retry_after: u64 },
    Status(u16),
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Decision {
    pub(crate) delay: Option<Duration>,
    pub(crate) action: Option<Action>,
    pub(crate) truncate: bool,
}

#[derive(Debug)]
struct Inner {
    plan: FaultPlan,
    /// (clock second, requests seen in it) for the rate limit.
    window: (i64, u32),
}

/// A handle on the running server's faults (cheap to clone).
#[derive(Debug, Clone)]
pub struct Faults {
    inner: Arc<Mutex<Inner>>,
    clock: Clock,
}

impl Faults {
    pub(crate) fn new(plan: FaultPlan, clock: Clock) -> Self {
        Faults {
            inner: Arc::new(Mutex::new(Inner {
                plan,
                window: (i64::MIN, 0),
            })),
            clock,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next `count` requests get HTTP 429 with `Retry-After: retry_after_secs`.
    pub fn too_many_requests(&self, count: u32, retry_after_secs: u64) {
        let mut i = self.lock();
        i.plan.too_many_requests = count;
        i.plan.retry_after_secs = retry_after_secs;
    }

    /// The next `count` requests (after any already queued status failures)
    /// get `status`. 500 has the API's JSON error body; 502, 503 and 504 an
    /// HTML page as a proxy would send.
    pub fn fail(&self, status: u16, count: u32) {
        self.lock()
            .plan
            .statuses
            .push_back(StatusFault { status, count });
    }

    /// The next `count` requests wait `delay` before being handled.
    pub fn delay(&self, delay: Duration, count: u32) {
        let mut i = self.lock();
        i.plan.delay = delay;
        i.plan.delay_count = count;
    }

    /// The next `count` responses are cut after half their body (the
    /// `Content-Length` header still announces the whole body).
    pub fn truncate_body(&self, count: u32) {
        self.lock().plan.truncate = count;
    }

    /// The first event of the next `count` event pages is not JSON (see
    /// [`FaultPlan::corrupt_event`]).
    pub fn corrupt_event(&self, count: u32) {
        self.lock().plan.corrupt_event = count;
    }

    /// Whether the event page being written gets a corrupt first event.
    pub(crate) fn take_corrupt_event(&self) -> bool {
        let mut i = self.lock();
        let take = i.plan.corrupt_event > 0;
        i.plan.corrupt_event = i.plan.corrupt_event.saturating_sub(1);
        take
    }

    /// The next `count` requests get no response: their TCP connection is
    /// reset (RST).
    pub fn reset_connection(&self, count: u32) {
        self.lock().plan.reset = count;
    }

    /// After `pages` more successful event pages, the next request that
    /// carries a `cursor` fails once with HTTP 500 and the body
    /// `{"message":"internal server error","error":"cursor failure (simulated)",…}`
    /// (the reference reads `error` on a failed continuation page).
    pub fn fail_cursor_after(&self, pages: u32) {
        self.fail_cursor_after_with_status(pages, 500);
    }

    /// As [`Faults::fail_cursor_after`] with another status (e.g. 400 for an
    /// expired cursor).
    pub fn fail_cursor_after_with_status(&self, pages: u32, status: u16) {
        self.lock().plan.cursor_failure = Some(CursorFailure {
            after_pages: pages,
            status,
        });
    }

    /// At most `per_second` requests per second of the server's [`Clock`]
    /// (`None` lifts the limit). With a manual clock, the limit is exact.
    pub fn rate_limit(&self, per_second: Option<u32>) {
        let mut i = self.lock();
        i.plan.rate_limit = per_second;
        i.window = (i64::MIN, 0);
    }

    /// Removes every pending fault.
    pub fn clear(&self) {
        let mut i = self.lock();
        i.plan = FaultPlan::default();
        i.window = (i64::MIN, 0);
    }

    /// The faults still pending.
    pub fn pending(&self) -> FaultPlan {
        self.lock().plan.clone()
    }

    pub(crate) fn rate_limit_per_minute(&self) -> Option<u32> {
        self.lock().plan.rate_limit.map(|r| r.saturating_mul(60))
    }

    /// Consumes what applies to one incoming request.
    pub(crate) fn decide(&self) -> Decision {
        let now = self.clock.now_ns();
        let mut i = self.lock();
        let mut d = Decision::default();
        if let Some(limit) = i.plan.rate_limit {
            let second = now.div_euclid(1_000_000_000);
            if i.window.0 != second {
                i.window = (second, 0);
            }
            i.window.1 = i.window.1.saturating_add(1);
            if i.window.1 > limit {
                let next = (second + 1) * 1_000_000_000;
                let wait = (next - now + 999_999_999) / 1_000_000_000;
                d.action = Some(Action::RateLimited {
                    retry_after: wait.max(1) as u64,
                });
                return d;
            }
        }
        if i.plan.delay_count > 0 {
            i.plan.delay_count -= 1;
            d.delay = Some(i.plan.delay);
        }
        if i.plan.reset > 0 {
            i.plan.reset -= 1;
            d.action = Some(Action::Reset);
        } else if i.plan.too_many_requests > 0 {
            i.plan.too_many_requests -= 1;
            d.action = Some(Action::TooMany {
                retry_after: i.plan.retry_after_secs,
            });
        } else {
            // A plan may hold entries for no request at all (`--fail 503:0`).
            while i.plan.statuses.front().is_some_and(|f| f.count == 0) {
                i.plan.statuses.pop_front();
            }
            if let Some(front) = i.plan.statuses.front_mut() {
                front.count -= 1;
                d.action = Some(Action::Status(front.status));
                if front.count == 0 {
                    i.plan.statuses.pop_front();
                }
            }
        }
        if i.plan.truncate > 0 && d.action != Some(Action::Reset) {
            i.plan.truncate -= 1;
            d.truncate = true;
        }
        d
    }

    /// For a request with a cursor: `Some(status)` if it must fail now.
    pub(crate) fn cursor_should_fail(&self) -> Option<u16> {
        let mut i = self.lock();
        match i.plan.cursor_failure {
            Some(c) if c.after_pages == 0 => {
                i.plan.cursor_failure = None;
                Some(c.status)
            }
            _ => None,
        }
    }

    /// Counts one successful event page.
    pub(crate) fn page_served(&self) {
        let mut i = self.lock();
        if let Some(c) = i.plan.cursor_failure.as_mut() {
            c.after_pages = c.after_pages.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A status fault for no request (`--fail 503:0`) is skipped, never
    /// counted below zero.
    #[test]
    fn status_faults_for_no_request_are_skipped() {
        let mut plan = FaultPlan::default();
        plan.statuses.push_back(StatusFault {
            status: 503,
            count: 0,
        });
        plan.statuses.push_back(StatusFault {
            status: 500,
            count: 1,
        });
        let faults = Faults::new(plan, Clock::manual(0));
        faults.fail(502, 0);
        assert_eq!(faults.decide().action, Some(Action::Status(500)));
        assert_eq!(faults.decide().action, None);
        assert_eq!(faults.decide().action, None);
    }
}
