//! Clock and id source, passed in so that translation itself is deterministic.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::timestamp::format_unix_millis;

/// Where "now" and random UUIDs come from.
pub trait Env {
    /// Current UTC time as `YYYY-MM-DDTHH:MM:SS.mmmZ` (milliseconds truncated).
    fn now(&mut self) -> String;
    /// A random (version 4) UUID in hyphenated lower-case form.
    fn uuid4(&mut self) -> String;
}

impl<E: Env + ?Sized> Env for &mut E {
    fn now(&mut self) -> String {
        (**self).now()
    }
    fn uuid4(&mut self) -> String {
        (**self).uuid4()
    }
}

impl<E: Env + ?Sized> Env for Box<E> {
    fn now(&mut self) -> String {
        (**self).now()
    }
    fn uuid4(&mut self) -> String {
        (**self).uuid4()
    }
}

/// The real clock and random UUIDv4s (from the OS random source).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemEnv;

impl Env for SystemEnv {
    fn now(&mut self) -> String {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        format_unix_millis(ms)
    }
    fn uuid4(&mut self) -> String {
        uuid::Uuid::new_v4().hyphenated().to_string()
    }
}

/// A deterministic environment for tests: a fixed clock and UUIDv4-shaped ids
/// counting up from 1 (`00000000-0000-4000-8000-000000000001`, ...).
#[derive(Debug, Clone)]
pub struct FixedEnv {
    /// The value `now()` returns.
    pub now: String,
    counter: u64,
}

impl FixedEnv {
    /// A fixed environment answering `now` for the time.
    pub fn new(now: impl Into<String>) -> Self {
        FixedEnv {
            now: now.into(),
            counter: 0,
        }
    }
}

impl Default for FixedEnv {
    fn default() -> Self {
        FixedEnv::new("2024-01-02T03:04:05.678Z")
    }
}

impl Env for FixedEnv {
    fn now(&mut self) -> String {
        self.now.clone()
    }
    fn uuid4(&mut self) -> String {
        self.counter += 1;
        format!("00000000-0000-4000-8000-{:012x}", self.counter)
    }
}
