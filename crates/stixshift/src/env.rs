//! Every environment variable stixshift reads, in one place.

use std::time::{SystemTime, UNIX_EPOCH};

/// Fix "now" (milliseconds since the epoch) for the default query window:
/// reproducible translations and tests. Unset: the system clock, read per
/// call.
pub const STIXSHIFT_NOW_MS: &str = "STIXSHIFT_NOW_MS";

/// "Now" in milliseconds since the epoch: `STIXSHIFT_NOW_MS` or the clock.
pub fn now_ms() -> i64 {
    if let Some(ms) = std::env::var(STIXSHIFT_NOW_MS)
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
    {
        return ms;
    }
    clock_ms()
}

/// The system clock in milliseconds since the epoch (never fixed: for
/// elapsed-time stamps such as `results_stix`'s `stats`).
pub fn clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Threads for results translation (STIX 2.0): a positive number, or unset
/// for one per available CPU. `1` keeps translation on the calling thread.
pub const STIXSHIFT_THREADS: &str = "STIXSHIFT_THREADS";

/// `STIXSHIFT_THREADS` if it holds a positive number, else 0 (automatic).
pub fn threads() -> usize {
    std::env::var(STIXSHIFT_THREADS)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0)
}

/// Set (to anything but `0` or empty): `translate … results` reports on
/// stderr how long the translation took inside the process (from reading
/// the options to the last byte written: start-up and argument parsing
/// excluded), the counterpart of timing stix-shifter's in-process
/// `translate` call.
pub const STIXSHIFT_TIMING: &str = "STIXSHIFT_TIMING";

/// Whether `STIXSHIFT_TIMING` asks for the timing line.
pub fn timing() -> bool {
    std::env::var(STIXSHIFT_TIMING).is_ok_and(|v| !v.is_empty() && v != "0")
}
