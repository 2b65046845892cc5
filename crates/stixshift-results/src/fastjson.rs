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
use crate::value::{half_word_at, json_specials, word_at, Val};

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
/// Slots of a level's key index (a power of two, twice [`MEMO_KEYS`]).
const MEMO_SLOTS: usize = 2 * MEMO_KEYS;
/// No key (an entry number of a [`LevelMemo`]).
const NO_KEY: u16 = u16::MAX;

/// The keys seen in each level of the events a reader read, with their
/// [`KeyFacts`], and for each key the one that followed it last time.
/// Events of one source repeat their keys in the same order, and events of
/// different shapes (Sysdig's rules) share runs of keys, so a key is mostly
/// recognised by comparing its bytes with the key that followed the
/// previous one last time, without decoding it or looking it up in the map.
/// A key that is not the one expected is looked up among the level's keys
/// (a small hash index) before the map is asked. Per reader (each thread
/// has its own).
///
/// Remembering only the keys of the last event, by their place, missed a
/// third of the simulator's keys, whose events of different rules follow
/// each other (10,000 of them sorted by rule took 58 ms of CPU against 64
/// ms, best of eleven interleaved runs).
#[derive(Default)]
pub(crate) struct KeyMemo {
    levels: Vec<LevelMemo>,
}

struct LevelMemo {
    /// The map level (its address) and the kind the keys were read as;
    /// `None`: a level whose keys are not kept.
    id: Option<(usize, Kind)>,
    keys: Vec<MemoKey>,
    /// The key that came first last time.
    first: u16,
    /// Entry + 1 by the key's hash (open addressing), 0 for none; empty
    /// until a key is kept.
    index: Vec<u16>,
}

impl Default for LevelMemo {
    fn default() -> Self {
        LevelMemo {
            id: None,
            keys: Vec::new(),
            first: NO_KEY,
            index: Vec::new(),
        }
    }
}

struct MemoKey {
    key: String,
    facts: KeyFacts,
    /// The key that followed this one last time.
    next: u16,
}

fn level_id(at: Child<'_>) -> (usize, Kind) {
    (
        at.level
            .map_or(0, |l| std::ptr::from_ref::<Level>(l) as usize),
        at.kind,
    )
}

impl KeyMemo {
    /// The keys seen in the level `at` (none if another level was there);
    /// given back with [`KeyMemo::put`]. Levels past the first
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
            m.keys.clear();
            m.index.fill(0);
            m.first = NO_KEY;
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
    /// The key kept as entry `e` (none for [`NO_KEY`]), with its facts and
    /// the entry of the key that followed it last time.
    #[inline]
    fn entry(&self, e: u16) -> Option<(&str, KeyFacts, u16)> {
        let k = self.keys.get(usize::from(e))?;
        Some((&k.key, k.facts, k.next))
    }

    /// The first slot of `k` in the index.
    fn slot(k: &str) -> usize {
        let (_, _, h) = crate::mapping::key_parts(k.as_bytes());
        (h >> 40) as usize & (MEMO_SLOTS - 1)
    }

    /// The entry of the key `k`, if kept.
    fn find(&self, k: &str) -> Option<(KeyFacts, u16)> {
        if self.index.is_empty() {
            return None;
        }
        let mut s = Self::slot(k);
        loop {
            let e = usize::from(self.index[s]).checked_sub(1)?;
            let kept = &self.keys[e];
            if same_bytes(kept.key.as_bytes(), k.as_bytes()) {
                return Some((kept.facts, e as u16));
            }
            s = (s + 1) & (MEMO_SLOTS - 1);
        }
    }

    /// Keep `k` (written without escapes: its bytes in the input are the
    /// key) with its facts; its entry, or [`NO_KEY`] if it is not kept.
    fn add(&mut self, k: &str, facts: KeyFacts) -> u16 {
        if self.id.is_none() || k.len() > MEMO_KEY_BYTES || self.keys.len() >= MEMO_KEYS {
            return NO_KEY;
        }
        if self.index.is_empty() {
            self.index = vec![0; MEMO_SLOTS];
        }
        let e = self.keys.len();
        self.keys.push(MemoKey {
            key: k.to_owned(),
            facts,
            next: NO_KEY,
        });
        let mut s = Self::slot(k);
        while self.index[s] != 0 {
            s = (s + 1) & (MEMO_SLOTS - 1);
        }
        // At most MEMO_KEYS (256) entries: entry + 1 fits.
        self.index[s] = (e + 1) as u16;
        e as u16
    }

    /// The key `cur` (an entry, or [`NO_KEY`]) came as number `ord`,
    /// after the key `prev`.
    fn follows(&mut self, prev: u16, ord: usize, cur: u16) {
        if ord == 0 {
            self.first = cur;
        } else if let Some(p) = self.keys.get_mut(usize::from(prev)) {
            p.next = cur;
        }
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
        // Without a call to `memcmp`: the first and the last bytes, as two
        // overlapping words (four or two bytes), or the one byte.
        return match n {
            0 => true,
            1 => a[0] == b[0],
            2 | 3 => {
                let w = |s: &[u8], at: usize| s.get(at..at + 2).map(|p| (p[0], p[1]));
                w(a, 0) == w(b, 0) && w(a, n - 2) == w(b, n - 2)
            }
            _ => {
                half_word_at(a, 0) == half_word_at(b, 0)
                    && half_word_at(a, n - 4) == half_word_at(b, n - 4)
            }
        };
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
        // The memo's entries of the previous key and of the key expected
        // next ([`NO_KEY`] for none).
        let mut prev = NO_KEY;
        let mut expected = level_memo.first;
        // The keys read in this object, to find one given twice: by memo
        // entry, or in a list for keys the memo does not keep.
        let mut seen = [0u64; MEMO_KEYS / 64];
        let mut unkept: Vec<Cow<'de, str>> = Vec::new();
        while self.next_item(b'}', &mut first)? {
            if self.skip_ws()? != b'"' {
                return Err(FastError::Bail);
            }
            let known = level_memo
                .entry(expected)
                .and_then(|(k, f, next)| Some((self.known_key(k)?, f, next)));
            // The key, its facts and its entry in the memo.
            let (key, facts, cur) = match known {
                Some((k, f, next)) => {
                    let cur = expected;
                    expected = next;
                    (Cow::Borrowed(k), f, cur)
                }
                None => {
                    self.pos += 1;
                    let k = self.parse_str()?;
                    let (f, e) = match level_memo.find(&k) {
                        Some(found) => found,
                        None => {
                            let f = ctx.facts(at.level, at.kind, &k);
                            match k {
                                Cow::Borrowed(plain) => (f, level_memo.add(plain, f)),
                                // An escaped spelling: its bytes are not the key.
                                Cow::Owned(_) => (f, NO_KEY),
                            }
                        }
                    };
                    level_memo.follows(prev, ord, e);
                    expected = level_memo.entry(e).map_or(NO_KEY, |(_, _, next)| next);
                    if e == NO_KEY {
                        // Rare (escaped, long, or past the memo's room);
                        // many of them are left to serde_json.
                        if unkept.len() >= MEMO_KEYS || unkept.contains(&k) {
                            return Err(FastError::Bail);
                        }
                        unkept.push(k.clone());
                    }
                    (k, f, e)
                }
            };
            // A key given twice: Python's `json` (the reference) keeps the
            // last value, which only the parsed `Value` knows (serde_json).
            if let Some(w) = seen.get_mut(usize::from(cur) / 64) {
                let bit = 1u64 << (cur % 64);
                if *w & bit != 0 {
                    return Err(FastError::Bail);
                }
                *w |= bit;
            }
            prev = cur;
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
            let e = m.add("proc.name", facts);
            m.follows(NO_KEY, 0, e);
            // Not even copied for a level that is not kept.
            assert_eq!(m.keys.len(), usize::from(kept), "level {path}");
            memo.put(at, m);
            let m = memo.take(at);
            assert_eq!(m.keys.len(), usize::from(kept), "level {path}");
            assert_eq!(m.find("proc.name").is_some(), kept, "level {path}");
            assert_eq!(m.entry(m.first).is_some(), kept, "level {path}");
        }
        let at = level(3, Kind::Other);
        let mut m = memo.take(at);
        let e = m.add("proc.name", facts);
        m.follows(NO_KEY, 0, e);
        memo.put(at, m);
        // Another kind of level at the same place starts empty.
        let other = memo.take(level(3, Kind::Fields));
        assert!(other.keys.is_empty());
        assert!(other.entry(other.first).is_none());
        assert!(other.find("proc.name").is_none());
    }

    /// Each key predicts the one that followed it last time; a key out of
    /// turn is found by its bytes, and the links follow the last event.
    #[test]
    fn the_memo_expects_the_key_that_followed_last_time() {
        let at = Child {
            level: None,
            kind: Kind::Fields,
            path: 2,
        };
        let facts = KeyFacts::none();
        let mut memo = KeyMemo::default();
        let mut m = memo.take(at);
        // Event 1: a, b, c.  Event 2: a, x, c.
        let read = |m: &mut LevelMemo, keys: &[&str]| -> Vec<bool> {
            let (mut prev, mut expected) = (NO_KEY, m.first);
            let mut hits = Vec::new();
            for (ord, k) in keys.iter().enumerate() {
                match m.entry(expected) {
                    Some((want, _, next)) if want == *k => {
                        hits.push(true);
                        prev = expected;
                        expected = next;
                    }
                    _ => {
                        hits.push(false);
                        let e = match m.find(k) {
                            Some((_, e)) => e,
                            None => m.add(k, facts),
                        };
                        m.follows(prev, ord, e);
                        prev = e;
                        expected = m.entry(e).map_or(NO_KEY, |(_, _, next)| next);
                    }
                }
            }
            hits
        };
        assert_eq!(read(&mut m, &["a", "b", "c"]), [false, false, false]);
        assert_eq!(read(&mut m, &["a", "b", "c"]), [true, true, true]);
        // `x` is new: what follows it is not known yet.
        assert_eq!(read(&mut m, &["a", "x", "c"]), [true, false, false]);
        // `a` now leads to `x`; `x` to `c`; `b` still to `c`.
        assert_eq!(read(&mut m, &["a", "x", "c"]), [true, true, true]);
        assert_eq!(read(&mut m, &["b", "c"]), [false, true]);
        assert_eq!(m.keys.len(), 4, "each key kept once");
        // Keys longer than MEMO_KEY_BYTES, and past MEMO_KEYS, are not kept.
        let long = "k".repeat(MEMO_KEY_BYTES + 1);
        assert_eq!(m.add(&long, facts), NO_KEY);
        for i in 0..MEMO_KEYS * 2 {
            let k = format!("key{i}");
            if m.find(&k).is_none() {
                m.add(&k, facts);
            }
        }
        assert_eq!(m.keys.len(), MEMO_KEYS);
        for i in 0..MEMO_KEYS - 4 {
            assert!(m.find(&format!("key{i}")).is_some(), "key{i}");
        }
        assert!(m.find(&format!("key{}", MEMO_KEYS)).is_none());
        memo.put(at, m);
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
