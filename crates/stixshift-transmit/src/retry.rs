//! Retries: a policy, and a pure classifier that turns the outcome of one
//! attempt into "retry after d" or "give up".
//!
//! Retried: HTTP 429, 502, 503, 504, a connection reset (or closed) before
//! the response, a response body cut short. Not retried: every other status
//! (500 included: Sysdig's own errors are not transient), timeouts (the
//! attempt already used the whole `options.timeout`), refused connections,
//! TLS failures.
//!
//! The wait before attempt `n + 1` is the exponential back-off
//! `min(max_delay, base_delay × 2^(n−1))` with "equal jitter" (a uniformly
//! random point in its upper half), and at least the `Retry-After` the
//! server sent. No retry is made after `max_attempts` attempts, nor when the
//! wait would end after `deadline` (counted from the first attempt).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How persistent the client is with one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 = never retry; 0 counts as 1).
    pub max_attempts: u32,
    /// The back-off before the second attempt (before jitter).
    pub base_delay: Duration,
    /// The longest back-off (before jitter). `Retry-After` may exceed it.
    pub max_delay: Duration,
    /// No retry whose wait would end later than this after the first attempt
    /// started. It does not cut an attempt short (`options.timeout` does).
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    /// 3 attempts, 0.5 s then 1 s back-off (jittered), at most 10 s per
    /// wait, 60 s in all.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
            deadline: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retry (the reference's default).
    pub fn never() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// `max_attempts` attempts with no back-off (tests): only a server's
    /// `Retry-After` still makes the client wait.
    pub fn immediate(max_attempts: u32) -> Self {
        RetryPolicy {
            max_attempts,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            deadline: Duration::from_secs(60),
        }
    }

    /// The back-off before attempt `attempt + 1`, without jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let shift = attempt.saturating_sub(1).min(30);
        self.base_delay
            .checked_mul(1u32 << shift)
            .unwrap_or(Duration::MAX)
            .min(self.max_delay)
    }
}

/// What one attempt ended in, as far as retrying is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The server answered with this status (and maybe `Retry-After`).
    Status {
        /// The HTTP status.
        status: u16,
        /// The parsed `Retry-After` header.
        retry_after: Option<Duration>,
    },
    /// The connection was reset or closed before a response arrived.
    Reset,
    /// The response body was cut short.
    Truncated,
    /// The attempt timed out.
    Timeout,
    /// The host could not be reached.
    Connect,
    /// TLS failed (certificate or handshake).
    Tls,
    /// Anything else.
    Other,
}

/// One finished attempt.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Attempt {
    /// 1 for the first attempt.
    pub number: u32,
    /// Time since the first attempt started.
    pub elapsed: Duration,
    /// A random sample in `[0, 1]` for the jitter (0: shortest wait).
    pub jitter: f64,
}

/// What to do after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then try again.
    Retry(Duration),
    /// Stop: the outcome is final.
    GiveUp,
}

/// Whether an outcome is worth another attempt at all.
pub fn is_transient(outcome: &Outcome) -> bool {
    match outcome {
        Outcome::Status { status, .. } => matches!(status, 429 | 502 | 503 | 504),
        Outcome::Reset | Outcome::Truncated => true,
        Outcome::Timeout | Outcome::Connect | Outcome::Tls | Outcome::Other => false,
    }
}

/// The retry decision for one attempt (pure: the randomness comes in
/// through `attempt.jitter`).
pub fn classify(outcome: &Outcome, attempt: &Attempt, policy: &RetryPolicy) -> Decision {
    if !is_transient(outcome) || attempt.number >= policy.max_attempts.max(1) {
        return Decision::GiveUp;
    }
    let backoff = policy.backoff(attempt.number);
    let jitter = attempt.jitter.clamp(0.0, 1.0);
    let mut wait = backoff / 2 + backoff.mul_f64(jitter) / 2;
    if let Outcome::Status {
        retry_after: Some(ra),
        ..
    } = outcome
    {
        wait = wait.max(*ra);
    }
    match attempt.elapsed.checked_add(wait) {
        Some(end) if end <= policy.deadline => Decision::Retry(wait),
        _ => Decision::GiveUp,
    }
}

/// Parses a `Retry-After` value: delta-seconds (`120`) or an HTTP date
/// (`Sun, 06 Nov 1994 08:49:37 GMT`, relative to `now`; a past date is 0).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    let at = parse_http_date(value)?;
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) → Unix seconds.
fn parse_http_date(s: &str) -> Option<u64> {
    let rest = s.split_once(", ")?.1;
    let mut parts = rest.split(' ');
    let day: u64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':');
    let h: u64 = hms.next()?.parse().ok()?;
    let m: u64 = hms.next()?.parse().ok()?;
    let sec: u64 = hms.next()?.parse().ok()?;
    if parts.next()? != "GMT" || parts.next().is_some() || hms.next().is_some() {
        return None;
    }
    if !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let days = crate::time::days_from_civil(year, month, day as u32);
    u64::try_from(days)
        .ok()
        .map(|d| d * 86_400 + h * 3600 + m * 60 + sec)
}

/// A jitter sample in `[0, 1)` (std's randomly keyed hasher over a counter
/// and the clock: no dependency, good enough to de-synchronise clients).
pub(crate) fn jitter_sample() -> f64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(number: u32, elapsed_ms: u64, jitter: f64) -> Attempt {
        Attempt {
            number,
            elapsed: Duration::from_millis(elapsed_ms),
            jitter,
        }
    }

    fn status(s: u16) -> Outcome {
        Outcome::Status {
            status: s,
            retry_after: None,
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn transient_outcomes_are_retried_others_are_not() {
        let p = RetryPolicy::default();
        for o in [
            status(429),
            status(502),
            status(503),
            status(504),
            Outcome::Reset,
            Outcome::Truncated,
        ] {
            assert!(
                matches!(classify(&o, &at(1, 0, 0.0), &p), Decision::Retry(_)),
                "{o:?}"
            );
        }
        for o in [
            status(200),
            status(400),
            status(401),
            status(403),
            status(404),
            status(422),
            status(500),
            status(501),
            Outcome::Timeout,
            Outcome::Connect,
            Outcome::Tls,
            Outcome::Other,
        ] {
            assert_eq!(classify(&o, &at(1, 0, 0.0), &p), Decision::GiveUp, "{o:?}");
        }
    }

    #[test]
    fn exponential_backoff_with_equal_jitter_and_cap() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: ms(100),
            max_delay: ms(1000),
            deadline: Duration::from_secs(3600),
        };
        let r = |n, j| classify(&status(503), &at(n, 0, j), &p);
        assert_eq!(r(1, 0.0), Decision::Retry(ms(50)));
        assert_eq!(r(1, 1.0), Decision::Retry(ms(100)));
        assert_eq!(r(2, 0.0), Decision::Retry(ms(100)));
        assert_eq!(r(3, 0.5), Decision::Retry(ms(300)));
        assert_eq!(r(5, 1.0), Decision::Retry(ms(1000)));
        assert_eq!(r(9, 0.0), Decision::Retry(ms(500)));
        // Out-of-range samples are clamped.
        assert_eq!(r(1, 7.0), Decision::Retry(ms(100)));
        assert_eq!(r(1, -1.0), Decision::Retry(ms(50)));
        assert_eq!(p.backoff(u32::MAX), ms(1000));
    }

    #[test]
    fn attempts_are_bounded() {
        let p = RetryPolicy::immediate(3);
        assert_eq!(
            classify(&Outcome::Reset, &at(1, 0, 0.3), &p),
            Decision::Retry(Duration::ZERO)
        );
        assert_eq!(
            classify(&Outcome::Reset, &at(2, 0, 0.3), &p),
            Decision::Retry(Duration::ZERO)
        );
        assert_eq!(
            classify(&Outcome::Reset, &at(3, 0, 0.3), &p),
            Decision::GiveUp
        );
        assert_eq!(
            classify(&Outcome::Reset, &at(1, 0, 0.3), &RetryPolicy::never()),
            Decision::GiveUp
        );
        let zero = RetryPolicy {
            max_attempts: 0,
            ..RetryPolicy::immediate(0)
        };
        assert_eq!(
            classify(&Outcome::Reset, &at(1, 0, 0.3), &zero),
            Decision::GiveUp
        );
    }

    #[test]
    fn retry_after_is_honoured() {
        let p = RetryPolicy::default();
        let o = Outcome::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(7)),
        };
        assert_eq!(
            classify(&o, &at(1, 0, 1.0), &p),
            Decision::Retry(Duration::from_secs(7))
        );
        // A back-off longer than Retry-After wins.
        let short = Outcome::Status {
            status: 503,
            retry_after: Some(ms(1)),
        };
        assert_eq!(
            classify(&short, &at(2, 0, 1.0), &p),
            Decision::Retry(ms(1000))
        );
        // Retry-After beyond max_delay is still honoured within the deadline…
        let long = Outcome::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(30)),
        };
        assert_eq!(
            classify(&long, &at(1, 0, 0.0), &p),
            Decision::Retry(Duration::from_secs(30))
        );
        // …but not past it.
        assert_eq!(classify(&long, &at(1, 30_001, 0.0), &p), Decision::GiveUp);
        let never = Outcome::Status {
            status: 429,
            retry_after: Some(Duration::MAX),
        };
        assert_eq!(classify(&never, &at(1, 0, 0.0), &p), Decision::GiveUp);
    }

    #[test]
    fn deadline_stops_retries() {
        let p = RetryPolicy {
            deadline: ms(1000),
            ..RetryPolicy::default()
        };
        assert_eq!(
            classify(&status(502), &at(1, 500, 1.0), &p),
            Decision::Retry(ms(500))
        );
        assert_eq!(
            classify(&status(502), &at(1, 501, 1.0), &p),
            Decision::GiveUp
        );
    }

    #[test]
    fn retry_after_values() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_770); // Sun, 06 Nov 1994 08:49:30 GMT
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Sat, 05 Nov 1994 08:49:37 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        for bad in [
            "",
            "-1",
            "1.5",
            "soon",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad}");
        }
    }

    #[test]
    fn jitter_samples_are_in_range() {
        for _ in 0..100 {
            let j = jitter_sample();
            assert!((0.0..1.0).contains(&j));
        }
    }
}
