//! A fast, conservative JSON reader for the streaming path.
//!
//! It reads one event straight out of the input buffer (no copy, strings
//! borrowed) and hands the engine the keys and values that the serde
//! visitors of `crate::engine` hand it on the `serde_json` path, through the
//! same [`Ctx`] steps, so the translation is the same. It accepts a strict
//! subset of what `serde_json` accepts and produces the same values for it;
//! anything else (floats, surrogate escapes, deep nesting, any syntax error,
//! an element that is not an object, ...) makes it give up with
//! [`FastError::Bail`], and the caller translates the event again with
//! `serde_json` (which then reports errors in its own words). It never has
//! to decide between "malformed" and "valid but unusual".
//!
//! When the buffer ends inside the value it answers [`FastError::NeedMore`].

use std::borrow::Cow;

use crate::engine::{Child, Ctx, KeyFacts, Kind, Step};
use crate::mapping::Level;
use crate::value::{json_specials, word_at, Val};

/// Why the fast path did not produce a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FastError {
    /// The value continues past the end of the buffer.
    NeedMore,
    /// Not handled here: use the `serde_json` path.
    Bail,
}

/// What kind of JSON value starts with byte `b` (of a value known to be
/// well-formed or about to be checked), for messages.
pub(crate) fn kind_of_first(b: u8) -> &'static str {
    match b {
        b'{' => "an object",
        b'[' => "an array",
        b'"' => "a string",
        b't' | b'f' => "a boolean",
        b'n' => "null",
        _ => "a number",
    }
}

type Result<T> = std::result::Result<T, FastError>;

/// Byte classes inside strings: 0 plain, 1 `"`, 2 `\`, 3 control.
static STR_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if i < 0x20 {
            3
        } else if i == b'"' as usize {
            1
        } else if i == b'\\' as usize {
            2
        } else {
            0
        };
        i += 1;
    }
    t
};

/// JSON white space.
#[inline]
pub(crate) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// The first position from `pos` on that is not JSON white space.
#[inline]
pub(crate) fn skip_ws(b: &[u8], mut pos: usize) -> usize {
    while b.get(pos).copied().is_some_and(is_ws) {
        pos += 1;
    }
    pos
}

/// Deepest nesting handled here (serde_json's own limit is 128).
const MAX_DEPTH: u32 = 100;

pub(crate) struct FastDe<'de> {
    text: &'de str,
    s: &'de [u8],
    pos: usize,
    depth: u32,
}

impl<'de> FastDe<'de> {
    pub(crate) fn new(text: &'de str) -> Self {
        FastDe {
            text,
            s: text.as_bytes(),
            pos: 0,
            depth: 0,
        }
    }

    /// Bytes consumed so far.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    #[inline]
    fn skip_ws(&mut self) -> Result<u8> {
        self.pos = skip_ws(self.s, self.pos);
        self.s.get(self.pos).copied().ok_or(FastError::NeedMore)
    }

    /// At the byte after the opening quote: find the closing quote. Returns
    /// the content range and whether it has escapes.
    #[inline]
    fn scan_str(&mut self) -> Result<(usize, usize, bool)> {
        let start = self.pos;
        let mut i = start;
        let mut escaped = false;
        let s = self.s;
        loop {
            // Eight bytes at a time: the lowest flagged byte of a word is its
            // first `"`, `\` or control byte.
            while let Some(x) = word_at(s, i) {
                let special = json_specials(x);
                if special == 0 {
                    i += 8;
                    continue;
                }
                i += (special.trailing_zeros() / 8) as usize;
                break;
            }
            let Some(&b) = s.get(i) else {
                return Err(FastError::NeedMore);
            };
            match STR_CLASS[usize::from(b)] {
                0 => i += 1,
                1 => break,
                2 => {
                    escaped = true;
                    // Skip the escaped byte; validated when decoded.
                    if i + 1 >= s.len() {
                        return Err(FastError::NeedMore);
                    }
                    i += 2;
                }
                _ => return Err(FastError::Bail),
            }
        }
        self.pos = i + 1;
        Ok((start, i, escaped))
    }

    #[inline(always)]
    fn parse_str(&mut self) -> Result<Cow<'de, str>> {
        let (start, end, escaped) = self.scan_str()?;
        // Both ends are next to an ASCII quote: char boundaries.
        let text: &'de str = self.text.get(start..end).ok_or(FastError::Bail)?;
        if !escaped {
            return Ok(Cow::Borrowed(text));
        }
        Ok(Cow::Owned(unescape(text)?))
    }

    /// Skip a string (validating the escapes, as serde_json does).
    fn skip_str(&mut self) -> Result<()> {
        let (start, end, escaped) = self.scan_str()?;
        if escaped {
            unescape(self.text.get(start..end).ok_or(FastError::Bail)?)?;
        }
        Ok(())
    }

    fn parse_int(&mut self) -> Result<Num> {
        let s = self.s;
        let mut i = self.pos;
        let neg = s.get(i) == Some(&b'-');
        if neg {
            i += 1;
        }
        let first = i;
        let mut v: u64 = 0;
        while let Some(&b) = s.get(i) {
            if !b.is_ascii_digit() {
                break;
            }
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(b - b'0')))
                .ok_or(FastError::Bail)?;
            i += 1;
        }
        let Some(&next) = s.get(i) else {
            return Err(FastError::NeedMore);
        };
        let digits = i - first;
        if digits == 0 || (digits > 1 && s[first] == b'0') || matches!(next, b'.' | b'e' | b'E') {
            return Err(FastError::Bail);
        }
        self.pos = i;
        if !neg {
            return Ok(Num::U(v));
        }
        // serde_json turns `-0` into a float; leave such cases to it.
        if v == 0 || v > (i64::MAX as u64) + 1 {
            return Err(FastError::Bail);
        }
        Ok(Num::I((v as i64).wrapping_neg()))
    }

    fn literal(&mut self, lit: &[u8]) -> Result<()> {
        let s = self.s;
        let end = self.pos + lit.len();
        if end > s.len() {
            return if lit.starts_with(&s[self.pos..]) {
                Err(FastError::NeedMore)
            } else {
                Err(FastError::Bail)
            };
        }
        if &s[self.pos..end] != lit {
            return Err(FastError::Bail);
        }
        self.pos = end;
        Ok(())
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(FastError::Bail);
        }
        Ok(())
    }

    /// Between the items of an object or array closed by `close`: consume
    /// the `,` before every item but the first, or the closing byte; `true`
    /// when another item follows.
    fn next_item(&mut self, close: u8, first: &mut bool) -> Result<bool> {
        let b = self.skip_ws()?;
        if b == close {
            self.pos += 1;
            return Ok(false);
        }
        if !*first {
            if b != b',' {
                return Err(FastError::Bail);
            }
            self.pos += 1;
        }
        *first = false;
        Ok(true)
    }

    /// Skip any value.
    fn skip_value(&mut self) -> Result<()> {
        match self.skip_ws()? {
            b'"' => {
                self.pos += 1;
                self.skip_str()
            }
            b'{' => {
                self.pos += 1;
                self.enter()?;
                let mut first = true;
                while self.next_item(b'}', &mut first)? {
                    if self.skip_ws()? != b'"' {
                        return Err(FastError::Bail);
                    }
                    self.pos += 1;
                    self.skip_str()?;
                    if self.skip_ws()? != b':' {
                        return Err(FastError::Bail);
                    }
                    self.pos += 1;
                    self.skip_value()?;
                }
                self.depth -= 1;
                Ok(())
            }
            b'[' => {
                self.pos += 1;
                self.enter()?;
                let mut first = true;
                while self.next_item(b']', &mut first)? {
                    self.skip_value()?;
                }
                self.depth -= 1;
                Ok(())
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.parse_int().map(|_| ()),
            _ => Err(FastError::Bail),
        }
    }
}

enum Num {
    U(u64),
    I(i64),
}

/// Levels of an event (by their order of appearance) whose keys a
/// [`KeyMemo`] keeps, keys kept per level, and the longest key kept.
const MEMO_LEVELS: usize = 16;
const MEMO_KEYS: usize = 256;
const MEMO_KEY_BYTES: usize = 128;

/// The keys of each level of the last event a reader read, in order, with
/// their [`KeyFacts`]: events of one source repeat their keys in the same
/// order, so a key is mostly recognised by comparing its bytes with the one
/// at the same place last time, without decoding it or looking it up in the
/// map. Per reader (each thread has its own).
#[derive(Default)]
pub(crate) struct KeyMemo {
    levels: Vec<LevelMemo>,
}

#[derive(Default)]
struct LevelMemo {
    /// The map level (its address) and the kind the keys were read as;
    /// `None`: a level whose keys are not kept.
    id: Option<(usize, Kind)>,
    /// The keys by ordinal: the first `len` are the level's; those after
    /// are spare buffers, written over when a later key is remembered (a
    /// key that differs from last time costs no allocation).
    keys: Vec<(String, KeyFacts)>,
    len: usize,
}

fn level_id(at: Child<'_>) -> (usize, Kind) {
    (
        at.level
            .map_or(0, |l| std::ptr::from_ref::<Level>(l) as usize),
        at.kind,
    )
}

impl KeyMemo {
    /// The keys last seen in the level `at` (none if another level was
    /// there); given back with [`KeyMemo::put`]. Levels past the first
    /// [`MEMO_LEVELS`] get a memo that remembers nothing.
    fn take(&mut self, at: Child<'_>) -> LevelMemo {
        let slot = usize::from(at.path);
        if slot >= MEMO_LEVELS {
            return LevelMemo::default();
        }
        let id = Some(level_id(at));
        let mut m = self
            .levels
            .get_mut(slot)
            .map(std::mem::take)
            .unwrap_or_default();
        if m.id != id {
            m.id = id;
            m.len = 0;
        }
        m
    }

    fn put(&mut self, at: Child<'_>, m: LevelMemo) {
        let slot = usize::from(at.path);
        if slot >= MEMO_LEVELS {
            return;
        }
        if self.levels.len() <= slot {
            self.levels.resize_with(slot + 1, LevelMemo::default);
        }
        self.levels[slot] = m;
    }
}

impl LevelMemo {
    /// `k` (with its facts) was the level's key number `ord`, written
    /// without escapes (its bytes in the input are the key).
    fn remember(&mut self, ord: usize, k: &str, facts: KeyFacts) {
        if self.id.is_none() || k.len() > MEMO_KEY_BYTES || ord >= MEMO_KEYS || ord > self.len {
            return;
        }
        match self.keys.get_mut(ord) {
            Some((key, f)) => {
                key.clear();
                key.push_str(k);
                *f = facts;
            }
            None => self.keys.push((k.to_owned(), facts)),
        }
        self.len = self.len.max(ord + 1);
    }

    /// The key remembered as number `ord`, with its facts.
    fn get(&self, ord: usize) -> Option<&(String, KeyFacts)> {
        self.keys[..self.len].get(ord)
    }
}

/// `a == b` for two slices of the same length, eight bytes at a time
/// inline: keys are short, and a call to `memcmp` per key cost more than
/// the comparison itself.
#[inline]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a == b;
    }
    // Whole words, then the last eight bytes (overlapping the last word).
    let mut i = 0;
    while i + 8 < n {
        if word_at(a, i) != word_at(b, i) {
            return false;
        }
        i += 8;
    }
    word_at(a, n - 8) == word_at(b, n - 8)
}

/// The direct reader of the streaming path: an event's keys handed to the
/// engine's [`Ctx`] as the serde visitors hand them (`engine::LevelSeed`),
/// without the serde calls in between.
impl<'de> FastDe<'de> {
    /// An object key and its `:`.
    #[inline]
    fn key(&mut self) -> Result<Cow<'de, str>> {
        if self.skip_ws()? != b'"' {
            return Err(FastError::Bail);
        }
        self.pos += 1;
        let k = self.parse_str()?;
        self.colon()?;
        Ok(k)
    }

    #[inline]
    fn colon(&mut self) -> Result<()> {
        if self.skip_ws()? != b':' {
            return Err(FastError::Bail);
        }
        self.pos += 1;
        Ok(())
    }

    /// At a key's opening quote: the key `known` if the input holds it
    /// (then consumed up to its closing quote).
    #[inline]
    fn known_key(&mut self, known: &str) -> Option<&'de str> {
        let start = self.pos + 1;
        let end = start + known.len();
        if !self
            .s
            .get(start..end)
            .is_some_and(|k| same_bytes(k, known.as_bytes()))
            || self.s.get(end) != Some(&b'"')
        {
            return None;
        }
        // Both ends are next to an ASCII quote: char boundaries.
        let key = self.text.get(start..end)?;
        self.pos = end + 1;
        Some(key)
    }

    /// The object at the current position, key by key into `ctx`, as the
    /// level `at`; anything but an object gives up. Keys seen at the same
    /// place in the previous event are recognised from `memo`.
    pub(crate) fn read_level<'m>(
        &mut self,
        ctx: &mut Ctx<'m, 'de>,
        at: Child<'m>,
        memo: &mut KeyMemo,
    ) -> Result<()> {
        if self.skip_ws()? != b'{' {
            return Err(FastError::Bail);
        }
        self.pos += 1;
        self.enter()?;
        let mut level_memo = memo.take(at);
        let mut first = true;
        let mut ord = 0;
        while self.next_item(b'}', &mut first)? {
            if self.skip_ws()? != b'"' {
                return Err(FastError::Bail);
            }
            let known = level_memo
                .get(ord)
                .and_then(|(k, f)| Some((self.known_key(k)?, *f)));
            let (key, facts) = match known {
                Some((k, f)) => (Cow::Borrowed(k), f),
                None => {
                    self.pos += 1;
                    let k = self.parse_str()?;
                    let f = ctx.facts(at.level, at.kind, &k);
                    if let Cow::Borrowed(plain) = k {
                        level_memo.remember(ord, plain, f);
                    }
                    (k, f)
                }
            };
            ord += 1;
            self.colon()?;
            match ctx.key(at, &key, facts) {
                Step::Descend(child) => {
                    let found = match self.skip_ws()? {
                        b'{' => {
                            self.read_level(ctx, child, memo)?;
                            continue;
                        }
                        b => kind_of_first(b),
                    };
                    self.skip_value()?;
                    ctx.not_object(child, found);
                }
                Step::Skip => self.skip_value()?,
                Step::Value(mapped, special) => {
                    // Strings (most values) here, the rest through `val`.
                    let v = if self.skip_ws()? == b'"' {
                        self.pos += 1;
                        Val::Str(self.parse_str()?)
                    } else {
                        self.val()?
                    };
                    ctx.value(at.kind, at.path, key, mapped, special, v);
                }
            }
        }
        self.depth -= 1;
        memo.put(at, level_memo);
        ctx.end_level(at.level, at.kind, at.path);
        Ok(())
    }

    /// Any value, as `Val`'s serde visitor makes it.
    pub(crate) fn val(&mut self) -> Result<Val<'de>> {
        match self.skip_ws()? {
            b'"' => {
                self.pos += 1;
                Ok(Val::Str(self.parse_str()?))
            }
            b'{' => {
                self.pos += 1;
                self.enter()?;
                let mut out: Vec<(Cow<'de, str>, Val<'de>)> = Vec::new();
                let mut first = true;
                while self.next_item(b'}', &mut first)? {
                    let k = self.key()?;
                    let v = self.val()?;
                    // Duplicate keys: the last value wins, as in Python.
                    if let Some(slot) = out.iter_mut().find(|(key, _)| *key == k) {
                        slot.1 = v;
                    } else {
                        out.push((k, v));
                    }
                }
                self.depth -= 1;
                Ok(Val::Obj(out))
            }
            b'[' => {
                self.pos += 1;
                self.enter()?;
                let mut out = Vec::new();
                let mut first = true;
                while self.next_item(b']', &mut first)? {
                    out.push(self.val()?);
                }
                self.depth -= 1;
                Ok(Val::Arr(out))
            }
            b't' => self.literal(b"true").map(|()| Val::Bool(true)),
            b'f' => self.literal(b"false").map(|()| Val::Bool(false)),
            b'n' => self.literal(b"null").map(|()| Val::Null),
            b'-' | b'0'..=b'9' => Ok(Val::Num(match self.parse_int()? {
                Num::U(u) => u.into(),
                Num::I(i) => i.into(),
            })),
            _ => Err(FastError::Bail),
        }
    }
}

/// Decode the escapes of a string's content (no surrogates: those are left
/// to serde_json).
fn unescape(text: &str) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let b = rest.as_bytes();
        let Some(&e) = b.get(i + 1) else {
            return Err(FastError::Bail);
        };
        let mut used = 2;
        match e {
            b'"' => out.push('"'),
            b'\\' => out.push('\\'),
            b'/' => out.push('/'),
            b'b' => out.push('\u{8}'),
            b'f' => out.push('\u{c}'),
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'u' => {
                let hex = rest.get(i + 2..i + 6).ok_or(FastError::Bail)?;
                if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
                    return Err(FastError::Bail);
                }
                let code = u32::from_str_radix(hex, 16).map_err(|_| FastError::Bail)?;
                // Surrogates (pairs or lone): serde_json's business.
                let c = char::from_u32(code).ok_or(FastError::Bail)?;
                out.push(c);
                used = 6;
            }
            _ => return Err(FastError::Bail),
        }
        rest = &rest[i + used..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Val;

    fn fast(text: &str) -> Result<Val<'_>> {
        FastDe::new(text).val()
    }

    #[test]
    fn agrees_with_serde_json_or_gives_up() {
        for text in [
            r#"{"a": [1, -2, true, false, null, "x\"\\\/\b\f\n\r\t\u00e9y", "é😀", {}, []], "b": {"c": 18446744073709551615}} "#,
            r#"{"a":1,"a":2}"#,
            r#"{"k\u0041y": "v"} "#,
            "[1, 2] ",
            "\"s\" ",
            "-9223372036854775808 ",
        ] {
            let ours = fast(text).unwrap();
            let theirs: Val<'_> = serde_json::from_str(text).unwrap();
            assert_eq!(ours, theirs, "{text}");
        }
        for (text, e) in [
            ("{\"a\":1", FastError::NeedMore),
            ("{\"a\":\"xy", FastError::NeedMore),
            ("{\"a\":12", FastError::NeedMore),
            ("{\"a\":tr", FastError::NeedMore),
            ("{\"a\":1.5}", FastError::Bail),
            ("{\"a\":-0}", FastError::Bail),
            ("{\"a\":01}", FastError::Bail),
            ("{\"a\":18446744073709551616}", FastError::Bail),
            ("{\"a\":-9223372036854775809}", FastError::Bail),
            ("{\"a\":\"\\ud83d\\ude00\"}", FastError::Bail),
            ("{\"a\":\"\\x\"}", FastError::Bail),
            ("{\"a\":\"\u{1}\"}", FastError::Bail),
            ("{\"a\":1,}", FastError::Bail),
            ("{\"a\" 1}", FastError::Bail),
            ("{\"a\":1 \"b\":2}", FastError::Bail),
            ("{a:1}", FastError::Bail),
            ("[1,]", FastError::Bail),
            ("{\"a\":nul}", FastError::Bail),
        ] {
            assert_eq!(fast(text).unwrap_err(), e, "{text}");
        }
        let deep = format!("{}{}", "[".repeat(101), "]".repeat(101));
        assert_eq!(fast(&deep).unwrap_err(), FastError::Bail);
    }

    #[test]
    fn string_scan_finds_every_special_byte_at_every_offset() {
        for pad in 0..20 {
            let body = "a".repeat(pad);
            for (tail, ok) in [
                ("\"", true),
                ("\\n\"", true),
                ("é\"", true),
                ("\u{1}\"", false),
                ("\u{1f}\"", false),
            ] {
                let text = format!("\"{body}{tail} ");
                let mut de = FastDe::new(&text);
                de.pos = 1;
                let got = de.parse_str().map(Cow::into_owned);
                if ok {
                    let want: String = serde_json::from_str(text.trim_end()).unwrap();
                    assert_eq!(got.unwrap(), want, "{text:?}");
                    assert_eq!(de.position(), text.len() - 1);
                } else {
                    assert_eq!(got.unwrap_err(), FastError::Bail, "{text:?}");
                }
            }
        }
    }

    #[test]
    fn same_bytes_is_slice_equality() {
        for n in 0..40usize {
            let a: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(same_bytes(&a, &a.clone()));
            for i in 0..n {
                let mut b = a.clone();
                b[i] ^= 0x20;
                assert!(!same_bytes(&a, &b), "{n} {i}");
            }
            assert!(!same_bytes(&a, &a[..n.saturating_sub(1)]) || n == 0);
        }
    }

    #[test]
    fn a_known_key_matches_whole_keys_only() {
        for (text, known, hit) in [
            ("\"proc.name\":1", "proc.name", true),
            ("\"proc.name2\":1", "proc.name", false),
            ("\"proc.name :\":1", "proc.name", false),
            ("\"proc.nam\":1", "proc.name", false),
            ("\"proc.nam\\u0065\":1", "proc.name", false),
            ("\"proc.na", "proc.name", false),
        ] {
            let mut de = FastDe::new(text);
            let got = de.known_key(known);
            assert_eq!(got.is_some(), hit, "{text}");
            assert_eq!(
                de.position(),
                if hit { known.len() + 2 } else { 0 },
                "{text}"
            );
        }
    }

    #[test]
    fn the_memo_keeps_the_first_levels_only_and_forgets_a_replaced_level() {
        let level = |path, kind| Child {
            level: None,
            kind,
            path,
        };
        let facts = KeyFacts::none();
        let mut memo = KeyMemo::default();
        for (path, kept) in [(0u16, true), (15, true), (16, false), (400, false)] {
            let at = level(path, Kind::Other);
            let mut m = memo.take(at);
            m.remember(0, "proc.name", facts);
            // Not even copied for a level that is not kept.
            assert_eq!(m.keys.len(), usize::from(kept), "level {path}");
            memo.put(at, m);
            assert_eq!(memo.take(at).len, usize::from(kept), "level {path}");
        }
        let at = level(3, Kind::Other);
        let mut m = memo.take(at);
        m.remember(0, "proc.name", facts);
        memo.put(at, m);
        // Another kind of level at the same place starts empty.
        let other = memo.take(level(3, Kind::Fields));
        assert_eq!(other.len, 0);
        assert!(other.get(0).is_none());
    }

    /// A level's keys after another level's: only those remembered since
    /// count, written over the other level's buffers.
    #[test]
    fn a_replaced_level_reuses_its_buffers_and_forgets_its_keys() {
        let level = |kind| Child {
            level: None,
            kind,
            path: 2,
        };
        let facts = KeyFacts::none();
        let mut memo = KeyMemo::default();
        let mut m = memo.take(level(Kind::Other));
        m.remember(0, "proc.name", facts);
        m.remember(1, "proc.pid", facts);
        m.remember(3, "skipped: not next", facts);
        assert_eq!(m.len, 2);
        memo.put(level(Kind::Other), m);
        let mut m = memo.take(level(Kind::Fields));
        assert!(m.get(0).is_none() && m.get(1).is_none());
        m.remember(0, "user.uid", facts);
        assert_eq!(m.get(0).map(|(k, _)| k.as_str()), Some("user.uid"));
        assert!(m.get(1).is_none(), "the other level's second key");
        assert_eq!(m.keys.len(), 2, "buffers kept");
        // Written over in place: `proc.pid`'s buffer now holds the new key.
        m.remember(1, "user.name", facts);
        assert_eq!(m.get(1).map(|(k, _)| k.as_str()), Some("user.name"));
        assert_eq!(m.keys.len(), 2);
    }

    #[test]
    fn skipping_is_as_strict() {
        let text = r#"{"a": [1, {"b": "c\n"}, "\u00e9"], "d": 2} "#;
        let mut de = FastDe::new(text);
        de.skip_value().unwrap();
        assert_eq!(de.position(), text.len() - 1);
        for text in ["[1.5]", "[\"\\q\"]", "{\"a\" 1}"] {
            assert_eq!(FastDe::new(text).skip_value(), Err(FastError::Bail));
        }
    }
}
