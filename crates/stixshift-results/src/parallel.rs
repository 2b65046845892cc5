//! Batches of events translated on several threads (STIX 2.0 only: each
//! observed-data depends on its event alone, so parts of a batch can be
//! translated apart and their output joined in input order, byte for byte
//! what one thread writes, apart from the random ids).
//!
//! Two kinds of batch:
//! * [`BundleWriter::write_events_json`]: events whose texts are already
//!   separated (an API page): parts are runs of events;
//! * [`BundleWriter::write_window`]: a window of a JSON array being read.
//!   Where one event ends is only known by parsing everything before it, so
//!   the window is cut where the next element *probably* starts (after a
//!   `,`, the first event's opening bytes `{"<first key>"`), and each thread
//!   parses from its cut. A part is kept only if the part before it, parsing
//!   from a known element start, ended exactly on its cut; a thread whose
//!   predecessor overran its cut goes on into the next part itself. A wrong
//!   guess thus costs time, never a wrong result.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use memchr::memmem;
use serde::de::IgnoredAny;

use crate::env::Env;
use crate::error::{ResultsError, Warning};
use crate::fastjson::{is_ws, skip_ws, FastError};
use crate::writer::{BundleWriter, Stats, Worker};

/// Smallest part of a window worth a thread (bytes), unless the batch
/// itself is smaller (tests use small batches to get many parts).
const MIN_PART_BYTES: usize = 32 << 10;

/// Smallest run of separated events worth a thread.
const MIN_PART_EVENTS: usize = 16;

/// Parts per thread: threads take parts as they become free, so a thread
/// slowed down (the machine is shared) holds the batch up by one small part.
const PARTS_PER_THREAD: usize = 4;

/// What a thread did with one part.
struct PartOut {
    /// The part's output, its counters and warnings (event numbers
    /// relative to the part).
    buf: Vec<u8>,
    stats: Stats,
    warnings: Vec<Warning>,
    /// End of the last event translated (relative to the window).
    last_end: Option<usize>,
    /// The next part whose start this one reached exactly, if any.
    landed: Option<usize>,
    /// The error that stopped the part (runs of separated events only).
    error: Option<ResultsError>,
}

/// The opening bytes of the first element, `{` to the closing quote of its
/// first key (`{"id"`), if it has a plain first key. In valid JSON these
/// bytes after a `,` can only open an object that is an array element: were
/// the `{` inside a string, the `"` after it would close the string and a
/// key's letters cannot follow a string.
fn signature(w: &[u8]) -> Option<&[u8]> {
    if w.first() != Some(&b'{') {
        return None;
    }
    let q = skip_ws(w, 1);
    if w.get(q) != Some(&b'"') {
        return None;
    }
    let len = w.get(q + 1..)?.iter().take(64).position(|&b| b == b'"')?;
    let key = &w[q + 1..q + 1 + len];
    if len == 0 || key.iter().any(|&b| b == b'\\' || b < 0x20) {
        return None;
    }
    Some(&w[..q + 2 + len])
}

/// Where parts 1.. of the window probably start (part 0 starts at 0).
fn cut_points(w: &[u8], parts: usize) -> Vec<usize> {
    let mut starts = vec![0];
    let Some(sig) = signature(w) else {
        return starts;
    };
    let finder = memmem::Finder::new(sig);
    for k in 1..parts {
        let mut from = (k * w.len() / parts).max(starts[starts.len() - 1] + 1);
        let found = loop {
            let Some(i) = w.get(from..).and_then(|rest| finder.find(rest)) else {
                break false;
            };
            let p = from + i;
            let mut q = p;
            while q > 0 && is_ws(w[q - 1]) {
                q -= 1;
            }
            if q > 0 && w[q - 1] == b',' {
                starts.push(p);
                break true;
            }
            from = p + 1;
        };
        // Later parts would search a part of what was just searched.
        if !found {
            break;
        }
    }
    starts
}

/// Translate events from `starts[k]` on until the start of a later part is
/// reached exactly, or until an incomplete event at the end of the window or
/// one that fails (left to the one-event path, which reports it in order).
fn run_part(worker: &mut Worker, w: &str, starts: &[usize], k: usize) -> PartOut {
    let b = w.as_bytes();
    let mut pos = starts[k];
    let mut next = k + 1;
    let mut out = PartOut::new();
    loop {
        while next < starts.len() && starts[next] < pos {
            next += 1;
        }
        if next < starts.len() && starts[next] == pos {
            out.landed = Some(next);
            break;
        }
        let done = match b.get(pos) {
            None | Some(b']') => break,
            Some(b'{') => match worker.write_event_fast(&w[pos..], false) {
                Ok((used, Ok(warnings))) => Some((used, warnings)),
                // An element the fast parser leaves to serde_json (a float,
                // a surrogate pair...): serde_json translates it here, as the
                // one-event path would, and the part goes on.
                Err(FastError::Bail) => slow_event(worker, &w[pos..]),
                _ => None,
            },
            // Not an object: skipped with its warning, as on the one-event path.
            Some(_) => slow_event(worker, &w[pos..]),
        };
        let Some((used, warnings)) = done else { break };
        out.warnings.extend(warnings);
        pos += used;
        out.last_end = Some(pos);
        pos = skip_ws(b, pos);
        if b.get(pos) != Some(&b',') {
            break;
        }
        pos = skip_ws(b, pos + 1);
    }
    out
}

/// The element at the start of `rest`, translated through
/// serde_json: the bytes it took and its warnings; `None` if it is
/// incomplete or fails. An element that reaches the end of the window may
/// go on past it (a number: `12` of `123`), so it is incomplete too.
fn slow_event(worker: &mut Worker, rest: &str) -> Option<(usize, Vec<Warning>)> {
    let mut values = serde_json::Deserializer::from_str(rest).into_iter::<IgnoredAny>();
    values.next()?.ok()?;
    let used = values.byte_offset();
    if used >= rest.len() {
        return None;
    }
    let warnings = worker.write_event_slice(&rest.as_bytes()[..used]).ok()?;
    Some((used, warnings))
}

impl PartOut {
    fn new() -> Self {
        PartOut {
            buf: Vec::new(),
            stats: Stats::default(),
            warnings: Vec::new(),
            last_end: None,
            landed: None,
            error: None,
        }
    }
}

/// Take jobs `0..jobs` (the next one from `next`) until none is left,
/// each translated by `w` into a buffer from `pool`; the outputs with
/// their job numbers.
fn take_jobs(
    next: &AtomicUsize,
    jobs: usize,
    pool: &Mutex<Vec<Vec<u8>>>,
    w: &mut Worker,
    job: impl Fn(usize, &mut Worker) -> PartOut,
) -> Vec<(usize, PartOut)> {
    let mut done = Vec::new();
    loop {
        let k = next.fetch_add(1, Ordering::Relaxed);
        if k >= jobs {
            return done;
        }
        w.set_buffer(
            pool.lock()
                .map(|mut s| s.pop().unwrap_or_default())
                .unwrap_or_default(),
        );
        let mut out = job(k, w);
        (out.buf, out.stats) = w.take_output();
        done.push((k, out));
    }
}

/// Run jobs `0..jobs` on the workers (the first on this thread), each
/// worker taking the next job when it is done with one; each job's output
/// is taken from its worker into the job's [`PartOut`], in buffers from
/// `spare`. For jobs on borrowed data (a page's events): the other threads
/// are started for these jobs and end with them.
fn run_jobs(
    workers: &mut [Worker],
    jobs: usize,
    spare: &mut Vec<Vec<u8>>,
    job: impl Fn(usize, &mut Worker) -> PartOut + Sync,
) -> Vec<PartOut> {
    let next = AtomicUsize::new(0);
    let pool = Mutex::new(std::mem::take(spare));
    let work = |w: &mut Worker| take_jobs(&next, jobs, &pool, w, &job);
    let work = &work;
    let mut all: Vec<(usize, PartOut)> = std::thread::scope(|s| {
        let mut iter = workers.iter_mut();
        let first = iter.next();
        let handles: Vec<_> = iter.map(|w| s.spawn(move || work(w))).collect();
        let mut all = first.map(work).unwrap_or_default();
        for h in handles {
            all.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        all
    });
    all.sort_unstable_by_key(|(k, _)| *k);
    *spare = pool.into_inner().unwrap_or_default();
    all.into_iter().map(|(_, o)| o).collect()
}

/// One window's parts, shared by the threads translating them.
struct Window {
    /// The input block (moved out of the reader for the window's time).
    text: String,
    /// The window in `text`.
    range: std::ops::Range<usize>,
    /// Where the parts probably start, relative to the window.
    starts: Vec<usize>,
    /// The next part to take.
    next: AtomicUsize,
    /// Output buffers.
    pool: Mutex<Vec<Vec<u8>>>,
}

impl Window {
    fn work(&self, w: &mut Worker) -> Vec<(usize, PartOut)> {
        let window = self.text.get(self.range.clone()).unwrap_or("");
        take_jobs(&self.next, self.starts.len(), &self.pool, w, |k, w| {
            run_part(w, window, &self.starts, k)
        })
    }
}

/// How long [`spin_recv`] watches a channel before it sleeps on it: less
/// than a window takes (1.2–2 ms for 1 MiB on this machine).
const SPIN: std::time::Duration = std::time::Duration::from_micros(500);

/// The next message of `rx` (`None` once its senders are gone), watched
/// for up to [`SPIN`] before sleeping on the channel. A thread that slept
/// often woke late: 10,000 events, profile-guided builds, fifteen
/// interleaved runs, in-process medians 33.8 ms watching against 41.6 ms
/// sleeping at once. Between rounds of checks it yields its CPU, so that a
/// thread sharing the CPU with it runs.
fn spin_recv<T>(rx: &std::sync::mpsc::Receiver<T>) -> Option<T> {
    use std::sync::mpsc::TryRecvError;
    let start = std::time::Instant::now();
    loop {
        for _ in 0..64 {
            match rx.try_recv() {
                Ok(m) => return Some(m),
                Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty) => std::hint::spin_loop(),
            }
        }
        if start.elapsed() >= SPIN {
            return rx.recv().ok();
        }
        std::thread::yield_now();
    }
}

/// A job for a helper thread.
type Job = Box<dyn FnOnce() + Send>;

/// What a helper hands back: its worker and its parts, or the panic that
/// stopped it.
type Done = (Worker, std::thread::Result<Vec<(usize, PartOut)>>);

/// Threads kept for a writer's lifetime to translate windows with it.
/// Threads started for each window began late in about every other window
/// (10,000 events: 1.5 to 2 ms of a 1.6 ms window), only once the starting
/// thread had done its share, as if put on its CPU. In a test program, a
/// thread started while its starter worked 700 µs began after about 760 µs
/// every other time; a waiting thread woken through a channel mostly began
/// within 21–51 µs.
#[derive(Default)]
pub(crate) struct Helpers {
    threads: Vec<(std::sync::mpsc::Sender<Job>, std::thread::JoinHandle<()>)>,
}

impl Helpers {
    /// At least `n` threads; `false` if they cannot be started.
    fn ensure(&mut self, n: usize) -> bool {
        while self.threads.len() < n {
            let (tx, rx) = std::sync::mpsc::channel::<Job>();
            let started = std::thread::Builder::new()
                .name("stixshift-translate".into())
                .spawn(move || {
                    while let Some(job) = spin_recv(&rx) {
                        job();
                    }
                });
            match started {
                Ok(h) => self.threads.push((tx, h)),
                Err(_) => return false,
            }
        }
        true
    }

    /// Run `job` on helper `i`, or on this thread if that one has ended.
    fn run(&self, i: usize, job: Job) {
        if let Err(std::sync::mpsc::SendError(job)) = self.threads[i].0.send(job) {
            job();
        }
    }
}

impl Drop for Helpers {
    fn drop(&mut self) {
        for (tx, h) in self.threads.drain(..) {
            drop(tx);
            let _ = h.join();
        }
    }
}

impl<W: Write, E: Env> BundleWriter<W, E> {
    /// Write a part's output after what is written, count its events, and
    /// return its warnings numbered in this writer, with the number of
    /// events written before the part.
    fn merge_part(&mut self, part: &mut PartOut) -> Result<(Vec<Warning>, usize), ResultsError> {
        let base = self.stats().events;
        self.absorb(&part.buf, part.stats)?;
        let mut warnings = std::mem::take(&mut part.warnings);
        for w in &mut warnings {
            w.event = w.event.map(|i| i + base);
        }
        Ok((warnings, base))
    }

    /// Translate the events at the start of the window `range` of `text`
    /// (which starts at an array element's `{`), as many as can be done in
    /// parallel, and write them in order. Returns the bytes taken (up to the
    /// end of the last event translated, before its separator) and the
    /// number of events; `(0, 0)` leaves everything to the one-event path
    /// (a window too small to split, or a first event the fast path does
    /// not take). `text` is lent to the helper threads and given back.
    /// This thread runs `meanwhile` (reading the next input block) once
    /// the helpers have their parts, before it takes a part itself.
    pub(crate) fn write_window(
        &mut self,
        text: &mut String,
        range: std::ops::Range<usize>,
        meanwhile: &mut dyn FnMut(),
        on_warning: &mut dyn FnMut(&Warning),
    ) -> Result<(usize, usize), ResultsError> {
        let threads = self.threads();
        let Some(window) = text.get(range.clone()) else {
            return Ok((0, 0));
        };
        let min_part =
            (self.batch_bytes() / (2 * threads * PARTS_PER_THREAD)).clamp(256, MIN_PART_BYTES);
        let parts = (threads * PARTS_PER_THREAD).min(window.len() / min_part);
        if parts < 2 {
            return Ok((0, 0));
        }
        let starts = cut_points(window.as_bytes(), parts);
        if starts.len() < 2 || !self.helpers.ensure(threads - 1) {
            return Ok((0, 0));
        }
        let Some((mut workers, spare)) = self.take_workers(threads) else {
            return Ok((0, 0));
        };
        let task = std::sync::Arc::new(Window {
            text: std::mem::take(text),
            range,
            starts,
            next: AtomicUsize::new(0),
            pool: Mutex::new(spare),
        });
        let (done_tx, done_rx) = std::sync::mpsc::channel::<Done>();
        let mut mine = workers.pop();
        let helpers = workers.len();
        for (i, mut w) in workers.drain(..).enumerate() {
            let task = task.clone();
            let done = done_tx.clone();
            self.helpers.run(
                i,
                Box::new(move || {
                    let parts = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        task.work(&mut w)
                    }));
                    // The window is given back once every helper let go of it.
                    drop(task);
                    let _ = done.send((w, parts));
                }),
            );
        }
        drop(done_tx);
        meanwhile();
        let mut all = mine.as_mut().map(|w| task.work(w)).unwrap_or_default();
        workers.extend(mine);
        for _ in 0..helpers {
            // Each job sends once, unless its thread is gone (then it ran here).
            let Some((w, parts)) = spin_recv(&done_rx) else {
                break;
            };
            workers.push(w);
            all.extend(parts.unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        let mut spare = match std::sync::Arc::try_unwrap(task) {
            Ok(task) => {
                *text = task.text;
                task.pool.into_inner().unwrap_or_default()
            }
            // Not reached (every helper has answered): copy the text back.
            Err(task) => {
                text.clone_from(&task.text);
                Vec::new()
            }
        };
        all.sort_unstable_by_key(|(k, _)| *k);
        let mut outs: Vec<PartOut> = all.into_iter().map(|(_, o)| o).collect();
        let (mut taken, mut events) = (0, 0);
        let mut k = 0;
        let result = loop {
            let Some(out) = outs.get_mut(k) else {
                break Ok((taken, events));
            };
            let done = out.stats.events;
            match self.merge_part(out) {
                Ok((warnings, _)) => warnings.iter().for_each(&mut *on_warning),
                Err(e) => break Err(e),
            }
            if k > 0 {
                self.count_parallel(done);
            }
            events += done;
            if let Some(end) = out.last_end {
                taken = end;
            }
            match out.landed {
                Some(j) => k = j,
                None => break Ok((taken, events)),
            }
        };
        spare.extend(outs.into_iter().map(|o| o.buf));
        self.return_workers(workers, spare);
        result
    }

    /// Translate and write events given as their JSON texts, in order,
    /// several threads at once when there are enough of them (STIX 2.0).
    /// Returns the warnings (event indices counted in this writer). On an
    /// error, the events before the failing one have been written.
    pub fn write_events_json(&mut self, events: &[&str]) -> Result<Vec<Warning>, ResultsError> {
        let threads = self.threads();
        let parts = (threads * PARTS_PER_THREAD).min(events.len() / MIN_PART_EVENTS);
        let taken = if threads >= 2 && parts >= 2 {
            self.take_workers(threads)
        } else {
            None
        };
        let Some((mut workers, mut spare)) = taken else {
            let mut warnings = Vec::new();
            let mut result = Ok(());
            for e in events {
                match self.write_event_text(e) {
                    Ok(ws) => warnings.extend(ws),
                    Err(err) => {
                        result = Err(err);
                        break;
                    }
                }
            }
            // Handed on once (and before an error: the output shows how
            // far it got).
            self.flush_buffered()?;
            return result.map(|()| warnings);
        };
        let bounds: Vec<usize> = (0..=parts).map(|k| k * events.len() / parts).collect();
        let mut outs = run_jobs(&mut workers, parts, &mut spare, |k, w| {
            let mut out = PartOut::new();
            for e in &events[bounds[k]..bounds[k + 1]] {
                match w.write_event_text(e) {
                    Ok(ws) => out.warnings.extend(ws),
                    Err(err) => {
                        out.error = Some(err);
                        break;
                    }
                }
            }
            out
        });
        let mut warnings = Vec::new();
        let mut result = Ok(());
        for (k, out) in outs.iter_mut().enumerate() {
            let base = match self.merge_part(out) {
                Ok((ws, base)) => {
                    warnings.extend(ws);
                    if k > 0 {
                        self.count_parallel(out.stats.events);
                    }
                    base
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            };
            if let Some(err) = out.error.take() {
                result = Err(match err {
                    ResultsError::BadEvent { index, detail } => ResultsError::BadEvent {
                        index: index + base,
                        detail,
                    },
                    other => other,
                });
                break;
            }
        }
        spare.extend(outs.into_iter().map(|o| o.buf));
        self.return_workers(workers, spare);
        result.map(|()| warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An NDJSON writer on `threads` threads with small batches.
    fn ndjson_writer(
        out: &mut Vec<u8>,
        threads: usize,
    ) -> BundleWriter<&mut Vec<u8>, crate::env::SystemEnv> {
        let identity = serde_json::json!({"type": "identity", "id": "identity--x", "name": "n"});
        let config = crate::writer::Config {
            threads,
            batch_bytes: 4096,
            ..crate::writer::Config::default()
        };
        BundleWriter::new(
            out,
            &identity,
            &config,
            crate::env::SystemEnv,
            crate::writer::Format::Ndjson,
        )
        .unwrap()
    }

    #[test]
    fn an_element_ending_with_the_window_is_left_for_later() {
        let identity = serde_json::json!({"type": "identity", "id": "identity--x", "name": "n"});
        let env: Box<dyn crate::env::Env + Send> = Box::new(crate::env::SystemEnv);
        let mut w = Worker::new(
            std::io::sink(),
            &identity,
            &crate::writer::Config::default(),
            env,
            crate::writer::Format::Ndjson,
        )
        .unwrap();
        // `12` may be the start of `123`: not taken.
        assert!(slow_event(&mut w, "12").is_none());
        assert!(slow_event(&mut w, "1.5").is_none());
        // Complete once something follows it.
        let (used, warnings) = slow_event(&mut w, "12, {").unwrap();
        assert_eq!(used, 2);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(slow_event(&mut w, "{\"a\": 1.5}]").map(|t| t.0), Some(10));
    }

    /// A window whose cuts land inside events (arrays of objects with the
    /// events' first key, after a `,`): the parts started there are thrown
    /// away, and the output is what one thread writes.
    #[test]
    fn parts_cut_inside_an_event_are_redone() {
        let events: Vec<String> = (0..40)
            .map(|i| {
                let decoys: Vec<String> = (0..60).map(|j| format!(r#"{{"id":{j}}}"#)).collect();
                format!(
                    r#"{{"id":"ev{i}","content":{{"fields":{{"proc.name":"p{i}"}}}},"extra":[{}]}}"#,
                    decoys.join(",")
                )
            })
            .collect();
        let window = format!("{}]", events.join(","));
        let mut starts = vec![0];
        for e in &events[..39] {
            starts.push(starts[starts.len() - 1] + e.len() + 1);
        }
        let cuts = cut_points(window.as_bytes(), 8);
        assert!(
            cuts.iter().any(|c| !starts.contains(c)),
            "no cut inside an event: {cuts:?}"
        );
        let lines = |threads: usize| {
            let mut out = Vec::new();
            let mut w = ndjson_writer(&mut out, threads);
            let (taken, done) = if threads > 1 {
                let mut text = window.clone();
                let all = 0..text.len();
                w.write_window(&mut text, all, &mut || {}, &mut |_| {})
                    .unwrap()
            } else {
                for e in &events {
                    w.write_event_json(e).unwrap();
                }
                (window.len() - 1, events.len())
            };
            w.finish().unwrap();
            // Ids are random and times the clock's: compared without them.
            let objects: Vec<serde_json::Value> = String::from_utf8(out)
                .unwrap()
                .lines()
                .map(|l| {
                    let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                    let o = v.as_object_mut().unwrap();
                    for k in [
                        "id",
                        "created",
                        "modified",
                        "first_observed",
                        "last_observed",
                    ] {
                        o.remove(k);
                    }
                    v
                })
                .collect();
            (taken, done, objects)
        };
        let (one, two) = (lines(1), lines(2));
        assert_eq!(two.1, 40);
        assert_eq!((one.0, one.1), (two.0, two.1));
        assert!(one.2 == two.2, "outputs differ");
    }

    /// A writer's helper threads are started once and translate window
    /// after window; the text lent to them comes back unchanged, and what
    /// is to be done meanwhile is done once per window.
    #[test]
    fn helpers_are_kept_and_the_text_comes_back() {
        let events: Vec<String> = (0..64)
            .map(|i| format!(r#"{{"id":"ev{i}","content":{{"fields":{{"proc.name":"p{i}"}}}}}}"#))
            .collect();
        // A gap before the window, as in the reader's blocks.
        let gap = 100;
        let text0 = format!("{}{}]", " ".repeat(gap), events.join(","));
        let mut out = Vec::new();
        let mut w = ndjson_writer(&mut out, 3);
        let mut meanwhile = 0;
        let mut first_threads = None;
        for _ in 0..3 {
            let mut text = text0.clone();
            let range = gap..text.len();
            let (taken, done) = w
                .write_window(&mut text, range, &mut || meanwhile += 1, &mut |_| {})
                .unwrap();
            assert!(text == text0, "the text changed");
            assert_eq!((taken, done), (text0.len() - gap - 1, 64));
            let ids: Vec<_> = w
                .helpers
                .threads
                .iter()
                .map(|(_, h)| h.thread().id())
                .collect();
            assert_eq!(ids.len(), 2);
            assert_eq!(*first_threads.get_or_insert(ids.clone()), ids);
        }
        assert_eq!(meanwhile, 3);
        w.finish().unwrap();
        let lines: Vec<String> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["objects"]["0"]["name"].as_str().unwrap_or("").to_owned()
            })
            .collect();
        let want: Vec<String> = (0..3)
            .flat_map(|_| (0..64).map(|i| format!("p{i}")))
            .collect();
        assert_eq!(lines, want);
    }

    /// A message sent while the receiver watches, one sent after it went
    /// to sleep on the channel, in order; the end once the sender is gone.
    #[test]
    fn spin_recv_gets_every_message_then_the_end() {
        let (tx, rx) = std::sync::mpsc::channel::<u32>();
        let sender = std::thread::spawn(move || {
            tx.send(1).unwrap();
            std::thread::sleep(SPIN * 20);
            tx.send(2).unwrap();
            tx.send(3).unwrap();
            std::thread::sleep(SPIN * 4);
        });
        assert_eq!(spin_recv(&rx), Some(1));
        let slept = std::time::Instant::now();
        assert_eq!(spin_recv(&rx), Some(2));
        assert!(slept.elapsed() >= SPIN * 5, "2 came before it was sent");
        assert_eq!(spin_recv(&rx), Some(3));
        assert_eq!(spin_recv(&rx), None);
        sender.join().unwrap();
    }

    #[test]
    fn signature_is_the_first_key() {
        assert_eq!(signature(br#"{"id":1}"#), Some(&br#"{"id""#[..]));
        assert_eq!(signature(b"{\n    \"id\": 1}"), Some(&b"{\n    \"id\""[..]));
        assert_eq!(signature(br#"{"a\"b":1}"#), None);
        assert_eq!(signature(br#"{}"#), None);
        assert_eq!(signature(br#"[1]"#), None);
    }

    #[test]
    fn cuts_follow_a_comma_and_increase() {
        let w = br#"{"id":1},{"id":2}, {"x":"{\"id\": ,{\"id\""},{"id":3},
{"id":4}"#;
        let cuts = cut_points(w, 4);
        assert_eq!(cuts[0], 0);
        for c in &cuts[1..] {
            assert!(w[*c..].starts_with(br#"{"id""#), "{c}");
        }
        assert!(cuts.windows(2).all(|p| p[0] < p[1]));
        // Elements each holding an object with the same first key after a
        // `:` (not an element): every cut is an element's start, one per part.
        let elements: Vec<String> = (0..8)
            .map(|i| format!(r#"{{"id":{i},"pad":"{}","n":{{"id":0}}}}"#, "p".repeat(20)))
            .collect();
        let text = elements.join(",");
        let mut starts = vec![0];
        for e in &elements[..7] {
            starts.push(starts[starts.len() - 1] + e.len() + 1);
        }
        let cuts = cut_points(text.as_bytes(), 3);
        assert_eq!(cuts.len(), 3, "{cuts:?}");
        assert!(
            cuts.iter().all(|c| starts.contains(c)),
            "{cuts:?} {starts:?}"
        );
    }
}
