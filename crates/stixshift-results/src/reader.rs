//! Streaming input: a JSON array read element by element. Each element's
//! bytes are collected into one reused buffer and translated from there, so
//! memory holds one event at a time.

use std::io::{self, BufRead, Read, Write};

use serde::de::IgnoredAny;
use serde_json::Value;

use crate::env::Env;
use crate::error::{ResultsError, Warning};
use crate::fastjson::{kind_of_first, FastError};
use crate::readahead::{Block, Blocks, Plain, GAP};
use crate::writer::{BundleWriter, Config, Format, Stats};

/// Largest single event accepted (bytes): a bound on memory for hostile input.
pub const MAX_EVENT_BYTES: usize = 64 << 20;

/// The input buffer: a `BufRead` for the byte scanner, and a window of
/// validated text (grown on demand) for the fast parser.
///
/// Input is checked as UTF-8 once, as it is read ([`Blocks`]), and kept in a
/// `String`, so the fast parser's strings are slices of it. From the first
/// invalid UTF-8 sequence on, bytes stay raw (`raw`), only the byte scanner
/// and serde_json see them, and the fast path is off.
struct Input<B> {
    src: B,
    /// Validated input; the unconsumed part starts at `pos`.
    text: String,
    pos: usize,
    /// Everything from an invalid UTF-8 sequence on (once `broken`).
    raw: Vec<u8>,
    /// Consumed part of `raw` (only once `text` is used up and `broken`).
    raw_pos: usize,
    broken: bool,
    eof: bool,
}

impl<B: Blocks> Input<B> {
    fn new(src: B) -> Self {
        Input {
            src,
            text: String::new(),
            pos: 0,
            raw: Vec::new(),
            raw_pos: 0,
            broken: false,
            eof: false,
        }
    }

    /// Validated text not consumed yet (empty once `broken` and used up).
    fn window(&self) -> &str {
        self.text.get(self.pos..).unwrap_or("")
    }

    /// Read one block; `false` at the end of the input.
    fn read_chunk(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        match self.src.next_block()? {
            None => {
                self.eof = true;
                Ok(false)
            }
            Some(Block::Text(block)) if !self.broken => {
                self.take_text(block);
                Ok(true)
            }
            // Text after raw bytes (the sources never send it): kept in
            // order, as raw bytes.
            Some(Block::Text(block)) => {
                self.take_raw(&block.as_bytes()[GAP.min(block.len())..]);
                self.src.recycle(block.into_bytes());
                Ok(true)
            }
            Some(Block::Raw(bytes)) => {
                self.broken = true;
                self.take_raw(&bytes);
                self.src.recycle(bytes);
                Ok(true)
            }
        }
    }

    /// A text block after what is left of the window: the block becomes the
    /// window, with the unconsumed rest (an event cut by the block's end)
    /// put in its gap, unless the rest is longer than the gap.
    fn take_text(&mut self, mut block: String) {
        let rest = self.text.get(self.pos.min(self.text.len())..);
        match rest {
            Some(rest) if rest.len() <= GAP && block.is_char_boundary(GAP) => {
                let at = GAP - rest.len();
                block.replace_range(at..GAP, rest);
                let used = std::mem::replace(&mut self.text, block);
                self.pos = at;
                self.src.recycle(used.into_bytes());
            }
            _ => {
                if self.pos >= self.text.len() {
                    self.text.clear();
                    self.pos = 0;
                } else if self.pos > 0 && self.text.is_char_boundary(self.pos) {
                    self.text.drain(..self.pos);
                    self.pos = 0;
                }
                self.text.push_str(block.get(GAP..).unwrap_or(""));
                self.src.recycle(block.into_bytes());
            }
        }
    }

    fn take_raw(&mut self, bytes: &[u8]) {
        if self.raw_pos == self.raw.len() {
            self.raw.clear();
            self.raw_pos = 0;
        }
        self.raw.extend_from_slice(bytes);
    }

    /// Extend the window; `false` when it cannot grow: end of input, invalid
    /// UTF-8 ahead, or a window already larger than any valid event.
    fn more(&mut self) -> io::Result<bool> {
        loop {
            if self.broken || self.text.len() - self.pos.min(self.text.len()) > MAX_EVENT_BYTES {
                return Ok(false);
            }
            let before = self.text.len() - self.pos.min(self.text.len());
            if !self.read_chunk()? {
                return Ok(false);
            }
            if self.text.len() - self.pos > before {
                return Ok(true);
            }
        }
    }
}

impl<B: Blocks> Input<B> {
    /// Grow the window to at least `n` bytes, or as far as it can grow.
    fn fill_to(&mut self, n: usize) -> io::Result<()> {
        while self.window().len() < n && self.more()? {}
        Ok(())
    }
}

impl<B: Blocks> Read for Input<B> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<B: Blocks> BufRead for Input<B> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        loop {
            if self.pos < self.text.len() {
                return Ok(&self.text.as_bytes()[self.pos..]);
            }
            if self.broken && self.raw_pos < self.raw.len() {
                return Ok(&self.raw[self.raw_pos..]);
            }
            if !self.read_chunk()? {
                // At the end: whatever is left raw (nothing, or an
                // incomplete sequence, now `broken`).
                return Ok(&self.raw[self.raw_pos.min(self.raw.len())..]);
            }
        }
    }

    fn consume(&mut self, n: usize) {
        if self.pos < self.text.len() {
            self.pos = (self.pos + n).min(self.text.len());
        } else {
            self.raw_pos = (self.raw_pos + n).min(self.raw.len());
        }
    }
}

struct Scanner<R: BufRead> {
    r: R,
    /// Bytes consumed so far (for error positions).
    offset: u64,
}

impl<R: BufRead> Scanner<R> {
    fn bump(&mut self) {
        self.r.consume(1);
        self.offset += 1;
    }

    fn skip_ws(&mut self) -> Result<Option<u8>, ResultsError> {
        loop {
            let buf = self.r.fill_buf()?;
            if buf.is_empty() {
                return Ok(None);
            }
            let n = buf.iter().position(|&b| !crate::fastjson::is_ws(b));
            match n {
                Some(i) => {
                    let b = buf[i];
                    self.r.consume(i);
                    self.offset += i as u64;
                    return Ok(Some(b));
                }
                None => {
                    let len = buf.len();
                    self.r.consume(len);
                    self.offset += len as u64;
                }
            }
        }
    }

    /// Copy one JSON value (starting at the current byte) into `out`.
    /// Structural only: the value is validated when it is parsed.
    fn take_value(&mut self, out: &mut Vec<u8>, index: usize) -> Result<(), ResultsError> {
        let mut depth: usize = 0;
        let mut in_str = false;
        let mut escape = false;
        let mut scalar = false;
        let mut started = false;
        loop {
            let buf = self.r.fill_buf()?;
            if buf.is_empty() {
                if scalar && depth == 0 {
                    return Ok(());
                }
                return Err(ResultsError::NotJson(format!(
                    "unexpected end of input inside event {index}"
                )));
            }
            let mut end = None;
            for (i, &b) in buf.iter().enumerate() {
                if in_str {
                    if escape {
                        escape = false;
                    } else if b == b'\\' {
                        escape = true;
                    } else if b == b'"' {
                        in_str = false;
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    continue;
                }
                if scalar {
                    if matches!(
                        b,
                        b',' | b']' | b' ' | b'\t' | b'\n' | b'\r' | b'}' | b'[' | b'{' | b'"'
                    ) {
                        end = Some(i);
                        break;
                    }
                    continue;
                }
                match b {
                    b'"' => in_str = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        if depth == 0 {
                            end = Some(i);
                            break;
                        }
                        depth -= 1;
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    _ if !started => scalar = true,
                    _ => {}
                }
                started = true;
            }
            let n = end.unwrap_or(buf.len());
            out.extend_from_slice(&buf[..n]);
            self.r.consume(n);
            self.offset += n as u64;
            if out.len() > MAX_EVENT_BYTES {
                return Err(ResultsError::BadEvent {
                    index,
                    detail: format!("event larger than {MAX_EVENT_BYTES} bytes"),
                });
            }
            if end.is_some() {
                return Ok(());
            }
        }
    }
}

/// Translate a JSON array of events read from `events`, writing the bundle
/// (or NDJSON) to `out` as it goes. Warnings go to `on_warning`.
///
/// Errors found before the first event (identity, map, input not an array)
/// leave `out` untouched. A malformed element stops the translation with
/// [`ResultsError::BadEvent`]; what was written so far is then incomplete.
pub fn translate_reader<R: Read, W: Write, E: Env>(
    identity: &Value,
    events: R,
    config: &Config,
    env: E,
    out: W,
    format: Format,
    on_warning: &mut dyn FnMut(&Warning),
) -> Result<Stats, ResultsError> {
    let events = Plain::new(events);
    translate_blocks(identity, events, config, env, out, format, on_warning)
}

/// [`translate_reader`] over input in blocks: a [`ReadAhead`](crate::ReadAhead)
/// reads a file on a thread of its own while the events are translated.
pub fn translate_blocks<B: Blocks, W: Write, E: Env>(
    identity: &Value,
    events: B,
    config: &Config,
    env: E,
    out: W,
    format: Format,
    on_warning: &mut dyn FnMut(&Warning),
) -> Result<Stats, ResultsError> {
    let mut writer = BundleWriter::new(out, identity, config, env, format)?;
    let mut sc = Scanner {
        r: Input::new(events),
        offset: 0,
    };
    match sc.skip_ws()? {
        Some(b'[') => sc.bump(),
        None => return Err(ResultsError::NotJson("empty input".into())),
        Some(first) => {
            // Valid JSON of another kind, or not JSON at all?
            let rest = sc.r;
            return match serde_json::from_reader::<_, IgnoredAny>(rest) {
                Ok(_) => Err(ResultsError::NotArray(kind_of_first(first))),
                Err(e) => Err(ResultsError::NotJson(e.to_string())),
            };
        }
    }
    match read_events(&mut sc, &mut writer, on_warning) {
        Ok(()) => writer.finish(),
        Err(e) => {
            // What was translated before the error goes out first.
            let _ = writer.flush_buffered();
            Err(e)
        }
    }
}

/// An input of fewer batches than this is translated on one thread. A file,
/// its length known, is read as the events need it; other input is read
/// that far at the start to find out.
const SMALL_BATCHES: usize = 4;

/// Whether an input of `len` bytes is small: fewer than [`SMALL_BATCHES`]
/// batches of `batch` bytes.
pub(crate) fn small_input(len: u64, batch: usize) -> bool {
    len < batch.saturating_mul(SMALL_BATCHES) as u64
}

/// The elements of the array, after its `[`, and what follows the `]`.
fn read_events<B: Blocks, W: Write, E: Env>(
    sc: &mut Scanner<Input<B>>,
    writer: &mut BundleWriter<W, E>,
    on_warning: &mut dyn FnMut(&Warning),
) -> Result<(), ResultsError> {
    let mut buf = Vec::with_capacity(1 << 14);
    let mut index = 0usize;
    let mut expect_value = false;
    let mut slow = false;
    // Input offset before which batches are not tried again. A file small
    // enough for one thread, known by its length, is read as the events
    // need it (growing the window to a batch first copied several blocks
    // together: 2,000 events, 13 ms instead of 9.5).
    let small_file =
        sc.r.src
            .size()
            .is_some_and(|n| small_input(n, writer.batch_bytes()));
    let mut one_by_one_until = if small_file { u64::MAX } else { 0 };
    loop {
        match sc.skip_ws()? {
            None => {
                return Err(ResultsError::NotJson(format!(
                    "unexpected end of input after {index} events (missing `]`)"
                )))
            }
            Some(b']') if !expect_value => {
                sc.bump();
                break;
            }
            Some(b']') => {
                return Err(ResultsError::NotJson(format!(
                    "trailing comma before `]` at byte {}",
                    sc.offset
                )))
            }
            Some(b'{') => {}
            Some(_) => slow = true,
        }
        // Many events at once on several threads, as far as they go.
        if !slow && writer.threads() > 1 && sc.offset >= one_by_one_until {
            let batch = writer.batch_bytes();
            // An input of fewer than SMALL_BATCHES batches is done on this
            // thread: the other threads' start (their memory, their caches)
            // costs more than they save (2.2 MB, fifteen interleaved runs:
            // medians 11 ms on two threads, 9 ms on one). A file's length
            // tells (`small_file`); other input is read that far first to
            // find out. Later, what is left of a block is done before the
            // next block is taken, unless the block's gap holds it (moving
            // more before the next block's text would copy it).
            let first = index == 0 && sc.r.src.size().is_none();
            if first || sc.r.window().len() < batch.min(GAP) {
                sc.r.fill_to(if first { batch * SMALL_BATCHES } else { batch })?;
            }
            let small = first && sc.r.eof && small_input(sc.r.window().len() as u64, batch);
            // The window borrows the text, the next block's read the source.
            let Input { text, pos, src, .. } = &mut sc.r;
            let whole = text.get(*pos..).unwrap_or("");
            // One batch at a time, whatever the block holds.
            let window_len = whole.floor_char_boundary(batch);
            let (used, done) = if small {
                (0, 0)
            } else {
                let range = *pos..*pos + window_len;
                writer.write_window(text, range, &mut || src.prefetch(), on_warning)?
            };
            if done > 0 {
                sc.r.consume(used);
                sc.offset += used as u64;
                index += done;
                if separator(sc, index)? {
                    break;
                }
                expect_value = true;
                continue;
            }
            // Small (all of it), or not splittable (no place where a later
            // element surely starts): one event at a time through the
            // input or this window, instead of searching it again for every
            // event.
            one_by_one_until = if small {
                u64::MAX
            } else {
                sc.offset + window_len as u64
            };
        }
        // Fast path: parse the event in place in the input buffer.
        while !slow {
            match writer.write_event_fast(sc.r.window(), false) {
                Ok((used, written)) => {
                    sc.r.consume(used);
                    sc.offset += used as u64;
                    for w in written? {
                        on_warning(&w);
                    }
                    break;
                }
                Err(FastError::NeedMore) => slow = !sc.r.more()?,
                Err(FastError::Bail) => slow = true,
            }
        }
        if slow {
            // serde_json on the element's bytes: the reference behaviour,
            // errors included.
            buf.clear();
            sc.take_value(&mut buf, index)?;
            for w in writer.write_event_slice(&buf)? {
                on_warning(&w);
            }
            slow = false;
        }
        index += 1;
        if separator(sc, index)? {
            break;
        }
        expect_value = true;
    }
    if let Some(b) = sc.skip_ws()? {
        return Err(ResultsError::NotJson(format!(
            "trailing characters after the array (`{}` at byte {})",
            char::from(b),
            sc.offset
        )));
    }
    Ok(())
}

/// After `index` events: `,` (`false`: more follow) or the closing `]` (`true`).
fn separator<B: Blocks>(sc: &mut Scanner<Input<B>>, index: usize) -> Result<bool, ResultsError> {
    match sc.skip_ws()? {
        Some(b',') => {
            sc.bump();
            Ok(false)
        }
        Some(b']') => {
            sc.bump();
            Ok(true)
        }
        Some(other) => Err(ResultsError::NotJson(format!(
            "expected `,` or `]` after event {}, found `{}` at byte {}",
            index - 1,
            char::from(other),
            sc.offset
        ))),
        None => Err(ResultsError::NotJson(format!(
            "unexpected end of input after {index} events (missing `]`)"
        ))),
    }
}

/// Translate events held in memory into a bundle `Value` (the library's
/// simplest entry point; the binary's callers keep the rendered text).
pub fn translate_values<E: Env>(
    identity: &Value,
    events: &[Value],
    config: &Config,
    env: E,
) -> Result<Value, ResultsError> {
    let (out, _) = render_values_with_warnings(identity, events, config, env)?;
    serde_json::from_slice(&out).map_err(|e| ResultsError::NotJson(e.to_string()))
}

/// Translate events held in memory into a rendered bundle (indented as the
/// CLI prints it, not parsed back into a `Value`), with the warnings.
pub fn render_values_with_warnings<E: Env>(
    identity: &Value,
    events: &[Value],
    config: &Config,
    env: E,
) -> Result<(Vec<u8>, Vec<Warning>), ResultsError> {
    render(identity, config, env, |w| {
        let mut warnings = Vec::new();
        for e in events {
            warnings.extend(w.write_event(e)?);
        }
        Ok(warnings)
    })
}

/// [`render_values_with_warnings`] for events given as their JSON texts (a
/// transmission's pages, kept as text), on all the writer's threads (STIX
/// 2.0); an event that is not JSON is [`ResultsError::BadEvent`].
pub fn render_texts_with_warnings<E: Env>(
    identity: &Value,
    events: &[&str],
    config: &Config,
    env: E,
) -> Result<(Vec<u8>, Vec<Warning>), ResultsError> {
    render(identity, config, env, |w| w.write_events_json(events))
}

/// [`render_values_with_warnings`] for events given as the JSON text of one
/// array: read as [`translate_reader`] reads (all the writer's threads, no
/// `Value` per event).
pub fn render_json_with_warnings<E: Env>(
    identity: &Value,
    events: &[u8],
    config: &Config,
    env: E,
) -> Result<(Vec<u8>, Vec<Warning>), ResultsError> {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    translate_reader(
        identity,
        events,
        config,
        env,
        &mut out,
        Format::Bundle,
        &mut |w| warnings.push(w.clone()),
    )?;
    Ok((out, warnings))
}

/// A bundle rendered into memory by `write`, with its warnings.
fn render<E: Env>(
    identity: &Value,
    config: &Config,
    env: E,
    write: impl FnOnce(&mut BundleWriter<&mut Vec<u8>, E>) -> Result<Vec<Warning>, ResultsError>,
) -> Result<(Vec<u8>, Vec<Warning>), ResultsError> {
    let mut out = Vec::new();
    let mut writer = BundleWriter::new(&mut out, identity, config, env, Format::Bundle)?;
    let warnings = write(&mut writer)?;
    writer.finish()?;
    Ok((out, warnings))
}
