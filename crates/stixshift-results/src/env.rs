//! Clock and id source, passed in so that translation itself is deterministic.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::timestamp::format_unix_millis;

/// Where "now" and random UUIDs come from.
pub trait Env {
    /// Current UTC time as `YYYY-MM-DDTHH:MM:SS.mmmZ` (milliseconds truncated).
    fn now(&mut self) -> String;
    /// A random (version 4) UUID in hyphenated lower-case form.
    fn uuid4(&mut self) -> String;
    /// An independent environment for another thread, if this one can have
    /// them. Translation runs in parallel only then; environments whose
    /// answers depend on the order of calls (such as [`FixedEnv`]'s counter)
    /// return `None` and keep translation on one thread.
    fn fork(&self) -> Option<Box<dyn Env + Send>> {
        None
    }
    /// [`Env::now`] appended to `out` (environments may avoid the `String`).
    fn push_now(&mut self, out: &mut String) {
        out.push_str(&self.now());
    }
    /// [`Env::uuid4`] appended to `out` (environments may avoid the `String`).
    fn push_uuid4(&mut self, out: &mut String) {
        out.push_str(&self.uuid4());
    }
}

impl<E: Env + ?Sized> Env for Box<E> {
    fn now(&mut self) -> String {
        (**self).now()
    }
    fn uuid4(&mut self) -> String {
        (**self).uuid4()
    }
    fn fork(&self) -> Option<Box<dyn Env + Send>> {
        (**self).fork()
    }
    fn push_now(&mut self, out: &mut String) {
        (**self).push_now(out);
    }
    fn push_uuid4(&mut self, out: &mut String) {
        (**self).push_uuid4(out);
    }
}

/// The real clock and random UUIDv4s: a ChaCha20 keystream per thread,
/// keyed once from the OS random source (one system call per thread instead
/// of one per id).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemEnv;

/// ChaCha20 (RFC 8439 block function) used as a random byte generator.
struct ChaCha20 {
    state: [u32; 16],
    block: [u8; 64],
    used: usize,
}

impl ChaCha20 {
    fn new(key: [u8; 32], nonce: [u8; 12]) -> Self {
        let mut state = [0u32; 16];
        state[..4].copy_from_slice(&[0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]);
        for (i, c) in key.chunks_exact(4).enumerate() {
            state[4 + i] = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        for (i, c) in nonce.chunks_exact(4).enumerate() {
            state[13 + i] = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        ChaCha20 {
            state,
            block: [0; 64],
            used: 64,
        }
    }

    fn from_os() -> Self {
        let a = uuid::Uuid::new_v4().into_bytes();
        let b = uuid::Uuid::new_v4().into_bytes();
        let c = uuid::Uuid::new_v4().into_bytes();
        let mut key = [0u8; 32];
        key[..16].copy_from_slice(&a);
        key[16..].copy_from_slice(&b);
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&c[..12]);
        ChaCha20::new(key, nonce)
    }

    /// The next keystream block (the block counter is `state[12]`).
    fn refill(&mut self) {
        let mut x = self.state;
        for _ in 0..10 {
            quarter(&mut x, 0, 4, 8, 12);
            quarter(&mut x, 1, 5, 9, 13);
            quarter(&mut x, 2, 6, 10, 14);
            quarter(&mut x, 3, 7, 11, 15);
            quarter(&mut x, 0, 5, 10, 15);
            quarter(&mut x, 1, 6, 11, 12);
            quarter(&mut x, 2, 7, 8, 13);
            quarter(&mut x, 3, 4, 9, 14);
        }
        for (i, w) in x.iter().enumerate() {
            let v = w.wrapping_add(self.state[i]);
            self.block[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
        }
        self.state[12] = self.state[12].wrapping_add(1);
        if self.state[12] == 0 {
            // 2^32 blocks used: move on to another nonce.
            self.state[13] = self.state[13].wrapping_add(1);
        }
        self.used = 0;
    }

    fn bytes16(&mut self) -> [u8; 16] {
        if self.used + 16 > 64 {
            self.refill();
        }
        let mut out = [0u8; 16];
        out.copy_from_slice(&self.block[self.used..self.used + 16]);
        self.used += 16;
        out
    }
}

fn quarter(x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(16);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(12);
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(8);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(7);
}

thread_local! {
    static RNG: std::cell::RefCell<Option<ChaCha20>> = const { std::cell::RefCell::new(None) };
}

/// Hyphenated lower-case form of a UUID given as bytes, version 4 and the
/// RFC 4122 variant set.
fn format_uuid4(b: [u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    push_uuid4(&mut s, b);
    s
}

fn push_uuid4(s: &mut String, mut b: [u8; 16]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    // Made in place, then appended once (a push per character, each with
    // its own check for room, cost more than the random bytes).
    let mut text = [b'-'; 36];
    let mut at = 0;
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            at += 1;
        }
        text[at] = HEX[usize::from(byte >> 4)];
        text[at + 1] = HEX[usize::from(byte & 0xf)];
        at += 2;
    }
    // Hex digits and dashes only.
    s.push_str(std::str::from_utf8(&text).unwrap_or_default());
}

fn unix_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// 16 random bytes from this thread's generator.
fn random16() -> [u8; 16] {
    RNG.with(|r| {
        r.borrow_mut()
            .get_or_insert_with(ChaCha20::from_os)
            .bytes16()
    })
}

thread_local! {
    /// The last millisecond formatted, and its text.
    static NOW: std::cell::RefCell<(i64, String)> = const { std::cell::RefCell::new((i64::MIN, String::new())) };
}

impl Env for SystemEnv {
    fn now(&mut self) -> String {
        let mut s = String::new();
        self.push_now(&mut s);
        s
    }
    fn uuid4(&mut self) -> String {
        format_uuid4(random16())
    }
    fn push_uuid4(&mut self, out: &mut String) {
        push_uuid4(out, random16());
    }
    fn push_now(&mut self, out: &mut String) {
        let ms = unix_millis();
        NOW.with(|n| {
            let mut n = n.borrow_mut();
            if n.0 != ms {
                *n = (ms, format_unix_millis(ms));
            }
            out.push_str(&n.1);
        });
    }
    fn fork(&self) -> Option<Box<dyn Env + Send>> {
        // Each thread keys its own generator; the clock is shared.
        Some(Box::new(SystemEnv))
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
    fn push_now(&mut self, out: &mut String) {
        out.push_str(&self.now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chacha20_rfc8439_block() {
        // RFC 8439 §2.3.2: key 00..1f, nonce 00 00 00 09 00 00 00 4a 00 00 00 00, counter 1.
        let key: [u8; 32] = std::array::from_fn(|i| i as u8);
        let nonce = [0, 0, 0, 9, 0, 0, 0, 0x4a, 0, 0, 0, 0];
        let mut c = ChaCha20::new(key, nonce);
        c.state[12] = 1;
        c.refill();
        assert_eq!(
            &c.block[..16],
            &[
                0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15, 0x50, 0x0f, 0xdd, 0x1f, 0xa3, 0x20,
                0x71, 0xc4
            ]
        );
        assert_eq!(&c.block[60..], &[0xa2, 0x50, 0x3c, 0x4e]);
    }

    #[test]
    fn uuid_text_of_known_bytes() {
        let bytes: [u8; 16] = std::array::from_fn(|i| i as u8);
        // Version nibble 4 in byte 6, variant bits 10 in byte 8.
        assert_eq!(format_uuid4(bytes), "00010203-0405-4607-8809-0a0b0c0d0e0f");
        let mut s = String::from("x--");
        push_uuid4(&mut s, [0xff; 16]);
        assert_eq!(s, "x--ffffffff-ffff-4fff-bfff-ffffffffffff");
    }

    #[test]
    fn system_uuids_are_v4_and_distinct() {
        let mut env = SystemEnv;
        // Half as Strings, half appended after a prefix (as the writer does).
        let ids: Vec<String> = (0..1000)
            .map(|i| {
                if i % 2 == 0 {
                    return env.uuid4();
                }
                let mut s = String::from("observed-data--");
                env.push_uuid4(&mut s);
                s.split_off("observed-data--".len())
            })
            .collect();
        let set: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(set.len(), ids.len());
        for id in &ids {
            let u = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(u.get_version_num(), 4);
            assert_eq!(u.get_variant(), uuid::Variant::RFC4122);
            assert_eq!(&u.hyphenated().to_string(), id);
        }
    }

    #[test]
    fn system_now_appended_is_now() {
        let mut env = SystemEnv;
        let mut s = String::from("x");
        env.push_now(&mut s);
        let now = env.now();
        // The same millisecond, or the next ones.
        assert!(s[1..] <= *now, "{s} {now}");
        assert!(crate::timestamp::is_stix_timestamp(&s[1..]), "{s}");
        assert_eq!(s.len(), 1 + now.len());
    }
}
