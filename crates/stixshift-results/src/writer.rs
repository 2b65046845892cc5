//! The bundle writer: STIX 2.0 / 2.1 bundles in `json.dumps(indent=4)`
//! layout, or NDJSON, written incrementally.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io::Write;

use serde_json::Value;

use crate::engine::{Engine, FinalProp, Name, Op, Ops, Pool, Translated};
use crate::env::Env;
use crate::error::{ResultsError, Warning};
use crate::fastjson::{skip_ws, FastDe, FastError, KeyMemo};
use crate::mapping;
use crate::template::{Template, Templates, HOLE_ID, HOLE_NOW};
use crate::value::{
    newline, write_compact, write_pretty, write_seq, write_str, write_str_utf8, Val,
};

/// The warning of an event from which no object could be built.
const NOTHING_MAPPED: &str = "no STIX object could be built from this event; event skipped";

/// Output is handed on in blocks of at least this many bytes.
const FLUSH_AT: usize = 1 << 17;

/// Default [`Config::batch_bytes`]: about 450 typical events. Its parts'
/// output (~460 KB each on two threads: 128 KiB of input, the output being
/// 3.6 times the input for typical events) stays in the
/// CPU's cache while it is written: with 4 MiB batches (parts writing ~1.8
/// MB each) two threads used 12% more CPU than one and were barely faster;
/// with 1 MiB, 100,000 events took 0.29 s instead of 0.39 s (medians of
/// nine, two CPUs; 512 KiB measured the same, 2 MiB and 256 KiB worse).
pub const DEFAULT_BATCH_BYTES: usize = 1 << 20;

/// STIX namespace for deterministic (UUIDv5) cyber-observable ids.
const STIX_NAMESPACE: uuid::Uuid = uuid::uuid!("00abedb4-aa42-466c-9c01-fed23315a9b7");

/// Translation settings (the relevant part of stix-shifter's options).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `stix_2.1`: STIX 2.1 output, using the STIX 2.1 map.
    pub stix_2_1: bool,
    /// `unmapped_fallback`: unmapped event keys go into one custom object.
    pub unmapped_fallback: bool,
    /// `mapping.to_stix_map`: a replacement map (stix-shifter's format).
    pub to_stix_map: Option<Value>,
    /// Apply the transmit-time pre-processing ([`crate::preprocess_event`]) to
    /// each event before translating it. On by default: it is idempotent, so
    /// raw Sysdig events and `transmit results` output translate the same.
    pub preprocess: bool,
    /// Threads translating at once (0: one per available CPU; 1: this
    /// thread only). STIX 2.0 only: every observed-data is independent of
    /// the others, so the output is the same as on one thread. STIX 2.1
    /// output shares objects across events and stays on one thread.
    pub threads: usize,
    /// Input bytes read ahead and split between the threads at a time.
    pub batch_bytes: usize,
    /// STIX 2.0: write the observed-data of events that map the same way
    /// (same entries applied in the same order) from one template, filled
    /// with each event's values. The output is the same either way; off
    /// only to compare the two.
    pub templates: bool,
}

impl Config {
    /// The threads a translation with these settings uses (for an
    /// environment that can fork, as the system one does): `threads`, all
    /// available CPUs for 0, one for STIX 2.1.
    pub fn threads_used(&self) -> usize {
        match self.threads {
            _ if self.stix_2_1 => 1,
            0 => available_cpus(),
            n => n,
        }
    }
}

/// The CPUs this process may use (`std::thread::available_parallelism`, 1
/// if unknown), asked once per process: the answer takes a dozen system
/// calls (the cgroup's CPU quota is read from files), 0.05–0.1 ms of a 5
/// ms translation of 1,000 events, and `open_file` and the writer each
/// asked.
pub fn available_cpus() -> usize {
    static CPUS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from))
}

impl Default for Config {
    fn default() -> Self {
        Config {
            stix_2_1: false,
            unmapped_fallback: false,
            to_stix_map: None,
            preprocess: true,
            threads: 0,
            batch_bytes: DEFAULT_BATCH_BYTES,
            templates: true,
        }
    }
}

impl Config {
    /// Read the options object of `translate` (`stix_2.1`, `unmapped_fallback`,
    /// `mapping.to_stix_map`; other keys are left to the caller's validation).
    pub fn from_options(options: &Value) -> Result<Config, ResultsError> {
        let mut c = Config::default();
        let Value::Object(o) = options else {
            return Err(ResultsError::Options(
                "options must be a JSON object".into(),
            ));
        };
        let flag = |k: &str| match o.get(k) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(ResultsError::Options(format!("`{k}` must be a boolean"))),
        };
        c.stix_2_1 = flag("stix_2.1")?;
        c.unmapped_fallback = flag("unmapped_fallback")?;
        if let Some(m) = o.get("mapping").and_then(|m| m.get("to_stix_map")) {
            c.to_stix_map = Some(m.clone());
        }
        Ok(c)
    }
}

/// Output form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One bundle, as stix-shifter's CLI prints it.
    Bundle,
    /// One JSON object per line: each observed-data (and, for STIX 2.1, each
    /// newly seen object after the observed-data that references it); no
    /// identity and no bundle wrapper.
    Ndjson,
}

/// Counters of one translation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Input elements seen.
    pub events: usize,
    /// observed-data objects written.
    pub observed_data: usize,
    /// Input elements skipped (not an object, or nothing mappable).
    pub skipped: usize,
    /// STIX 2.1 objects written after observed-data (deduplicated).
    pub objects: usize,
    /// Warnings reported.
    pub warnings: usize,
    /// Events translated in a part of a batch other than its first, apart
    /// from the events before them (0 when translation stayed on one thread).
    pub parallel_events: usize,
}

/// Writes a bundle event by event; memory stays flat (apart from the set of
/// STIX 2.1 ids already written).
pub struct BundleWriter<W: Write, E: Env> {
    out: W,
    env: E,
    engine: std::sync::Arc<Engine>,
    identity: Value,
    identity_id: String,
    bundle_id: String,
    format: Format,
    stix_2_1: bool,
    started: bool,
    buf: Vec<u8>,
    /// STIX 2.1: hash of an emitted id → hash of its content.
    emitted: HashMap<u64, u64, FastHash>,
    pool: Pool,
    stats: Stats,
    /// The buffer is handed to `out` once it holds this many bytes.
    flush_at: usize,
    /// Threads for batches of events (1: no parallel translation).
    threads: usize,
    batch_bytes: usize,
    /// Workers kept between batches (their pools reused).
    workers: Vec<Worker>,
    /// Threads kept between windows of a JSON array being read.
    pub(crate) helpers: crate::parallel::Helpers,
    /// Output buffers of parts, kept between batches.
    spare: Vec<Vec<u8>>,
    /// STIX 2.0 observed-data templates by the operations that make them.
    templates: Templates,
    /// The fast reader's keys of the last event.
    key_memo: KeyMemo,
    /// The last event's operations buffer, emptied, for the next event
    /// (about 4 KB: a new one for each event cost a `malloc` and a `free`
    /// outside the allocator's per-thread cache).
    spare_ops: Vec<Op<'static, 'static>>,
    /// The observed-data id and time being written (buffers reused).
    id_now: (String, String),
    /// Templates off (tests compare the two ways).
    no_templates: bool,
}

/// A writer translating part of a batch on another thread: its output stays
/// in its buffer until the owning writer takes it, in input order.
pub(crate) type Worker = BundleWriter<std::io::Sink, Box<dyn Env + Send>>;

/// Multiply-rotate hashing, for keys that are already hashes (STIX 2.1
/// ids) or trusted in-process values (template keys).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FastHash;

pub(crate) struct FastHasher(u64);

impl std::hash::BuildHasher for FastHash {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

/// Drop an event's operations, those that own nothing (borrowed strings,
/// `null`, booleans: most of them) without a call to their drop glue each;
/// the emptied buffer is returned for the next event. Drained first, then
/// collected empty: dropping inside the in-place collect cost 15.1 M
/// instructions for 10,000 events, and this way the run took 2.5 M fewer
/// (callgrind, one thread).
fn drop_ops(mut ops: Vec<Op<'_, '_>>) -> Vec<Op<'static, 'static>> {
    for op in ops.drain(..) {
        match op {
            Op::Map(_, v) => crate::value::discard(v),
            Op::Fallback(kv) => drop(kv),
        }
    }
    reuse_ops(ops)
}

/// An empty operations buffer with other lifetimes, keeping its allocation
/// (collected in place: nothing is moved, the vector is empty).
// `filter` would keep the element type; the point is to change its lifetimes.
#[allow(clippy::unnecessary_filter_map)]
fn reuse_ops<'m, 'de>(ops: Vec<Op<'_, '_>>) -> Vec<Op<'m, 'de>> {
    ops.into_iter().filter_map(|_| None).collect()
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Whole words without a copy each (a template's key, its entries'
        // addresses, comes here as one slice of bytes), then the rest.
        let mut words = bytes.chunks_exact(8);
        for chunk in words.by_ref() {
            let w = <[u8; 8]>::try_from(chunk).map_or(0, u64::from_le_bytes);
            self.write_u64(w);
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

fn hash_bytes(b: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    b.hash(&mut h);
    h.finish()
}

impl<W: Write, E: Env> BundleWriter<W, E> {
    /// Check the identity and the map; nothing is written until the first
    /// event (or [`finish`](Self::finish)), so early errors leave `out` empty.
    pub fn new(
        out: W,
        identity: &Value,
        config: &Config,
        mut env: E,
        format: Format,
    ) -> Result<Self, ResultsError> {
        let Value::Object(id_obj) = identity else {
            return Err(ResultsError::IdentityNotObject);
        };
        let identity_id = match id_obj.get("id") {
            Some(Value::String(s)) => s.clone(),
            _ => return Err(ResultsError::IdentityMissing("id")),
        };
        let name = match id_obj.get("name") {
            Some(Value::String(s)) => s.clone(),
            _ => return Err(ResultsError::IdentityMissing("name")),
        };
        let map = mapping::load(config.stix_2_1, config.to_stix_map.as_ref())?;
        let engine = Engine {
            map,
            preprocess: config.preprocess,
            fallback_type: config
                .unmapped_fallback
                .then(|| format!("x-{}", name.replace('_', "-"))),
            require_user_id: !config.stix_2_1,
            reserved: if config.stix_2_1 {
                crate::engine::RESERVED_21
            } else {
                crate::engine::RESERVED_20
            },
        };
        let bundle_id = format!("bundle--{}", env.uuid4());
        let threads = if env.fork().is_none() {
            1
        } else {
            config.threads_used()
        };
        Ok(BundleWriter {
            out,
            env,
            engine: std::sync::Arc::new(engine),
            identity: identity.clone(),
            identity_id,
            bundle_id,
            format,
            stix_2_1: config.stix_2_1,
            started: false,
            buf: Vec::with_capacity(FLUSH_AT + (1 << 16)),
            emitted: HashMap::default(),
            pool: Pool::default(),
            stats: Stats::default(),
            flush_at: FLUSH_AT,
            threads,
            batch_bytes: config.batch_bytes.max(1),
            workers: Vec::new(),
            helpers: crate::parallel::Helpers::default(),
            spare: Vec::new(),
            templates: Templates::default(),
            key_memo: KeyMemo::default(),
            spare_ops: Vec::new(),
            id_now: Default::default(),
            no_templates: !config.templates,
        })
    }

    /// Threads this writer translates batches on (1: no batches).
    pub(crate) fn threads(&self) -> usize {
        self.threads
    }

    /// Input bytes worth reading ahead for one batch.
    pub(crate) fn batch_bytes(&self) -> usize {
        self.batch_bytes
    }

    /// `n` workers and the spare output buffers, reused from earlier
    /// batches where possible; `None` when the environment cannot be forked.
    pub(crate) fn take_workers(&mut self, n: usize) -> Option<(Vec<Worker>, Vec<Vec<u8>>)> {
        let mut ws = std::mem::take(&mut self.workers);
        while ws.len() < n {
            let env = self.env.fork()?;
            ws.push(BundleWriter {
                out: std::io::sink(),
                env,
                engine: self.engine.clone(),
                identity: Value::Null,
                identity_id: self.identity_id.clone(),
                bundle_id: String::new(),
                format: self.format,
                stix_2_1: self.stix_2_1,
                started: true,
                buf: Vec::new(),
                emitted: HashMap::default(),
                pool: Pool::default(),
                stats: Stats::default(),
                flush_at: usize::MAX,
                threads: 1,
                batch_bytes: self.batch_bytes,
                workers: Vec::new(),
                helpers: crate::parallel::Helpers::default(),
                spare: Vec::new(),
                templates: Templates::default(),
                key_memo: KeyMemo::default(),
                spare_ops: Vec::new(),
                id_now: Default::default(),
                no_templates: self.no_templates,
            });
        }
        Some((ws, std::mem::take(&mut self.spare)))
    }

    /// Keep workers and output buffers (emptied) for the next batch.
    pub(crate) fn return_workers(&mut self, ws: Vec<Worker>, mut spare: Vec<Vec<u8>>) {
        for b in &mut spare {
            b.clear();
        }
        self.workers = ws;
        self.spare = spare;
    }

    /// Write a part's output after what this writer wrote, and count its
    /// events. Its warnings are the caller's (their indices are relative to
    /// the part).
    pub(crate) fn absorb(&mut self, buf: &[u8], s: Stats) -> Result<(), ResultsError> {
        if !buf.is_empty() {
            self.start();
            self.flush_buffered()?;
            self.out.write_all(buf)?;
        }
        self.stats.events += s.events;
        self.stats.observed_data += s.observed_data;
        self.stats.skipped += s.skipped;
        self.stats.objects += s.objects;
        self.stats.warnings += s.warnings;
        Ok(())
    }

    pub(crate) fn count_parallel(&mut self, events: usize) {
        self.stats.parallel_events += events;
    }

    /// A worker: write into `buf` from now on.
    pub(crate) fn set_buffer(&mut self, buf: Vec<u8>) {
        self.buf = buf;
    }

    /// A worker: its output and counters since [`set_buffer`](Self::set_buffer).
    pub(crate) fn take_output(&mut self) -> (Vec<u8>, Stats) {
        (
            std::mem::take(&mut self.buf),
            std::mem::take(&mut self.stats),
        )
    }

    fn start(&mut self) {
        if self.started {
            return;
        }
        self.started = true;
        if self.format == Format::Bundle {
            self.buf
                .extend_from_slice(b"{\n    \"type\": \"bundle\",\n    \"id\": ");
            crate::value::write_str(&mut self.buf, &self.bundle_id);
            self.buf
                .extend_from_slice(b",\n    \"objects\": [\n        ");
            write_pretty(&mut self.buf, &Val::from_value(&self.identity), 2);
        }
    }

    /// Translate and write one event (raw or pre-processed). Returns the
    /// warnings for it (with `event` set to its position in this writer).
    pub fn write_event(&mut self, event: &Value) -> Result<Vec<Warning>, ResultsError> {
        let index = self.stats.events;
        let engine = self.engine.clone();
        let ops = engine.read(event).map_err(|e| ResultsError::BadEvent {
            index,
            detail: e.to_string(),
        })?;
        let warnings = self.write_ops(&engine, ops)?;
        self.flush_buffered()?;
        Ok(warnings)
    }

    /// Translate and write one event given as its complete JSON text (an
    /// element of an API page, say): no `Value` is built. Returns the
    /// warnings for it.
    pub fn write_event_json(&mut self, text: &str) -> Result<Vec<Warning>, ResultsError> {
        let warnings = self.write_event_text(text)?;
        self.flush_buffered()?;
        Ok(warnings)
    }

    /// [`write_event_json`](Self::write_event_json) without handing the
    /// output on (it goes in blocks of `FLUSH_AT` bytes).
    pub(crate) fn write_event_text(&mut self, text: &str) -> Result<Vec<Warning>, ResultsError> {
        match self.write_event_fast(text, true) {
            Ok((_, result)) => result,
            // Not for the fast path: the serde_json path decides (and
            // reports errors in its words).
            Err(_) => self.write_event_slice(text.as_bytes()),
        }
    }

    /// Hand what is buffered to the output (the streaming reader does so
    /// before reporting an error, so that the output shows how far it got).
    pub(crate) fn flush_buffered(&mut self) -> std::io::Result<()> {
        // A worker keeps its output for the writer that owns it.
        if !self.buf.is_empty() && self.flush_at != usize::MAX {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Translate and write one event given as JSON text (the streaming path:
    /// strings are borrowed from `text`).
    pub(crate) fn write_event_slice(&mut self, text: &[u8]) -> Result<Vec<Warning>, ResultsError> {
        let index = self.stats.events;
        let mut de = serde_json::Deserializer::from_slice(text);
        let engine = self.engine.clone();
        let bad = |e: serde_json::Error| ResultsError::BadEvent {
            index,
            detail: e.to_string(),
        };
        match engine.read_text(&mut de).map_err(bad)? {
            Some(ops) => {
                de.end().map_err(bad)?;
                self.write_ops(&engine, ops)
            }
            // A key given twice: the parsed event keeps the last value, as
            // Python's `json` (the reference's) does.
            None => {
                let event: Value = serde_json::from_slice(text).map_err(bad)?;
                let ops = engine.read(&event).map_err(bad)?;
                self.write_ops(&engine, ops)
            }
        }
    }

    /// The fast path of the streaming reader: translate the event at the
    /// start of `window` in place. Nothing is written or counted unless it
    /// succeeds; then it returns the bytes the event took.
    /// With `whole`, `window` must hold the event and nothing else but
    /// white space (checked before anything is written).
    pub(crate) fn write_event_fast(
        &mut self,
        window: &str,
        whole: bool,
    ) -> Result<(usize, Result<Vec<Warning>, ResultsError>), FastError> {
        let mut de = FastDe::new(window);
        let engine = self.engine.clone();
        let spare = reuse_ops(std::mem::take(&mut self.spare_ops));
        let ops = engine.read_fast(&mut de, &mut self.key_memo, spare)?;
        let used = de.position();
        // Anything but JSON white space after the event: serde_json's path
        // decides (and words the error).
        if whole && skip_ws(window.as_bytes(), used) != window.len() {
            return Err(FastError::Bail);
        }
        Ok((used, self.write_ops(&engine, ops)))
    }

    /// Write an event's observed-data from its operations: STIX 2.0 from a
    /// template where the operations allow one, else assembled and written.
    /// `engine` is the writer's own (the caller holds it while `ops` borrow
    /// from it).
    fn write_ops<'m: 'de, 'de>(
        &mut self,
        engine: &'m Engine,
        mut ops: Ops<'m, 'de>,
    ) -> Result<Vec<Warning>, ResultsError> {
        if self.stix_2_1 || self.no_templates || !self.templates.worth_it() || !ops.structural() {
            let t = engine.assemble(ops, &mut self.pool);
            return self.write_translated(t);
        }
        // The entries make the template's key; the values fill it.
        let mut warnings = std::mem::take(&mut ops.warnings);
        let template = match self.templates.get(&ops.ops) {
            Some(t) => t,
            None => {
                let mut t = engine.assemble(ops.with_holes(), &mut self.pool);
                let skip = t.objects.is_empty();
                let mut text = Vec::new();
                if !skip {
                    write_20(
                        &mut text,
                        self.format,
                        &self.identity_id,
                        &t,
                        &Val::Hole(HOLE_ID),
                        &Val::Hole(HOLE_NOW),
                    );
                }
                let template = Template::compile(&text, std::mem::take(&mut t.warnings), skip);
                self.pool.recycle(t);
                self.templates.insert(template)
            }
        };
        warnings.extend(template.warnings.iter().cloned());
        let skip = template.skip.then(|| NOTHING_MAPPED.to_owned());
        let result = self.write_one(warnings, skip, |w, od_id, now| {
            template.fill(
                &mut w.buf,
                w.format,
                |n| ops.ops.get(n).map(Op::value),
                od_id,
                now,
            );
        });
        self.spare_ops = drop_ops(ops.ops);
        result
    }

    fn write_translated(
        &mut self,
        mut t: Translated<'_, '_>,
    ) -> Result<Vec<Warning>, ResultsError> {
        let warnings = std::mem::take(&mut t.warnings);
        let skip = if let Some(kind) = t.not_object {
            Some(format!("expected an object, found {kind}; event skipped"))
        } else if t.objects.is_empty() {
            Some(NOTHING_MAPPED.to_owned())
        } else {
            None
        };
        let result = self.write_one(warnings, skip, |w, od_id, now| {
            if w.stix_2_1 {
                w.write_21(&t, od_id, now);
            } else {
                write_20(
                    &mut w.buf,
                    w.format,
                    &w.identity_id,
                    &t,
                    &Val::Str(Cow::Borrowed(od_id)),
                    &Val::Str(Cow::Borrowed(now)),
                );
            }
        });
        self.pool.recycle(t);
        result
    }

    /// Count one event and write its observed-data with `write(self,
    /// observed-data id, time)`, or skip it with the warning `skip`; its
    /// warnings are numbered with its position.
    fn write_one(
        &mut self,
        mut warnings: Vec<Warning>,
        skip: Option<String>,
        write: impl FnOnce(&mut Self, &str, &str),
    ) -> Result<Vec<Warning>, ResultsError> {
        let index = self.stats.events;
        self.stats.events += 1;
        if let Some(msg) = skip {
            warnings.push(Warning::new(None, msg));
            self.stats.skipped += 1;
        } else {
            self.start();
            // Both in buffers kept from event to event.
            let (mut od_id, mut now) = std::mem::take(&mut self.id_now);
            od_id.clear();
            od_id.push_str("observed-data--");
            self.env.push_uuid4(&mut od_id);
            now.clear();
            self.env.push_now(&mut now);
            write(self, &od_id, &now);
            self.id_now = (od_id, now);
            self.stats.observed_data += 1;
            // Written in blocks of at least FLUSH_AT bytes (big enough for
            // the caller's BufWriter to pass them through without a copy).
            if self.buf.len() >= self.flush_at {
                self.flush_buffered()?;
            }
        }
        for w in &mut warnings {
            w.event = Some(index);
        }
        self.stats.warnings += warnings.len();
        Ok(warnings)
    }

    fn write_21(&mut self, t: &Translated<'_, '_>, od_id: &str, now: &str) {
        let n = t.objects.len();
        let mut ids: Vec<Option<String>> = vec![None; n];
        let mut fresh = vec![false; n];
        // Assign ids so that referenced objects get theirs first.
        loop {
            let mut progress = false;
            let mut pending = false;
            for i in 0..n {
                if ids[i].is_some() {
                    continue;
                }
                let ready = t.objects[i].props.iter().all(|(_, p)| match p {
                    FinalProp::Ref(r) => ids[*r].is_some() || *r == i,
                    FinalProp::Refs(rs) => rs.iter().all(|r| ids[*r].is_some() || *r == i),
                    FinalProp::V(_) => true,
                });
                if !ready {
                    pending = true;
                    continue;
                }
                let (id, is_new) = self.assign_id(t, i, &ids);
                ids[i] = Some(id);
                fresh[i] = is_new;
                progress = true;
            }
            if !pending {
                break;
            }
            if !progress {
                // A reference cycle: random ids for what is left.
                for i in 0..n {
                    if ids[i].is_none() {
                        ids[i] = Some(format!("{}--{}", t.objects[i].ty, self.env.uuid4()));
                        fresh[i] = true;
                    }
                }
                break;
            }
        }
        let ids: Vec<String> = ids.into_iter().map(Option::unwrap_or_default).collect();
        let one = Val::Num(1.into());
        let mut od: Vec<(&str, Out<'_>)> = vec![
            ("id", Out::Str(od_id)),
            ("type", Out::Str("observed-data")),
            ("created_by_ref", Out::Str(&self.identity_id)),
            ("created", Out::Str(now)),
            ("modified", Out::Str(now)),
        ];
        let now_val = Val::Str(Cow::Borrowed(now));
        od.extend(
            observation(t, &now_val)
                .into_iter()
                .map(|(k, v)| (k, Out::V(v))),
        );
        od.push(("number_observed", Out::V(&one)));
        let mut listed: Vec<&str> = Vec::with_capacity(n);
        for &i in &t.real_order {
            if !listed.contains(&ids[i].as_str()) {
                listed.push(&ids[i]);
            }
        }
        od.push(("object_refs", Out::Ids(listed)));
        od.push(("spec_version", Out::Str("2.1")));
        write_entries(&mut self.buf, self.format, &od);
        let mut written: Vec<&str> = Vec::new();
        let spec = Val::Str(Cow::Borrowed("2.1"));
        let mut entries: Vec<(&str, Out<'_>)> = Vec::new();
        for &i in &t.real_order {
            if !fresh[i] || written.contains(&ids[i].as_str()) {
                continue;
            }
            written.push(&ids[i]);
            let o = &t.objects[i];
            entries.clear();
            entries.push(("type", Out::Str(o.ty)));
            for (k, (name, p)) in o.props.iter().enumerate() {
                entries.push((name.as_str(), Out::of(p, |r| &ids[r])));
                if k == 0 {
                    entries.push(("id", Out::Str(&ids[i])));
                    entries.push(("spec_version", Out::V(&spec)));
                }
            }
            write_entries(&mut self.buf, self.format, &entries);
            self.stats.objects += 1;
        }
    }

    /// The id of object `i` and whether it still has to be written.
    fn assign_id(
        &mut self,
        t: &Translated<'_, '_>,
        i: usize,
        ids: &[Option<String>],
    ) -> (String, bool) {
        let o = &t.objects[i];
        // References not assigned yet (only in a cycle) count as "".
        let props: Vec<(&str, Out<'_>)> = o
            .props
            .iter()
            .map(|(k, p)| (k.as_str(), Out::of(p, |r| ids[r].as_deref().unwrap_or(""))))
            .collect();
        let Some(name) = contributing_name(o.ty, &props) else {
            return (join_id(o.ty, &self.env.uuid4()), true);
        };
        let mut full = Vec::with_capacity(256);
        write_entries_canonical(&mut full, &props);
        let content_hash = {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            h.write(o.ty.as_bytes());
            h.write(&full);
            h.finish()
        };
        for candidate in [name.as_slice(), full.as_slice()] {
            let uuid = uuid::Uuid::new_v5(&STIX_NAMESPACE, candidate);
            let id = join_id(
                o.ty,
                uuid.hyphenated()
                    .encode_lower(&mut uuid::Uuid::encode_buffer()),
            );
            let key = hash_bytes(id.as_bytes());
            match self.emitted.get(&key) {
                None => {
                    self.emitted.insert(key, content_hash);
                    return (id, true);
                }
                Some(h) if *h == content_hash => return (id, false),
                // Same identifying properties, different object: never merge.
                Some(_) => {
                    if candidate == full.as_slice() || name == full {
                        break;
                    }
                }
            }
        }
        (join_id(o.ty, &self.env.uuid4()), true)
    }

    /// Close the bundle and flush.
    pub fn finish(mut self) -> Result<Stats, ResultsError> {
        self.start();
        if self.format == Format::Bundle {
            if self.stix_2_1 {
                self.buf.extend_from_slice(b"\n    ]\n}\n");
            } else {
                self.buf
                    .extend_from_slice(b"\n    ],\n    \"spec_version\": \"2.0\"\n}\n");
            }
        }
        self.out.write_all(&self.buf)?;
        self.out.flush()?;
        Ok(self.stats)
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }
}

/// `<type>--<uuid>`.
fn join_id(ty: &str, uuid: &str) -> String {
    let mut id = String::with_capacity(ty.len() + 2 + uuid.len());
    id.push_str(ty);
    id.push_str("--");
    id.push_str(uuid);
    id
}

/// Before an item of an object or array at `level`: the `,` after the
/// item before, then a new line (bundle) or a space (NDJSON, Python's
/// `", "`).
fn item(out: &mut Vec<u8>, f: Format, level: usize, first: bool) {
    if !first {
        out.push(b',');
    }
    match f {
        Format::Bundle => newline(out, level),
        Format::Ndjson if !first => out.push(b' '),
        Format::Ndjson => {}
    }
}

/// Before the closing bracket of a non-empty object or array at `level`.
fn close(out: &mut Vec<u8>, f: Format, level: usize) {
    if f == Format::Bundle {
        newline(out, level);
    }
}

/// A value at `level`, in the layout of `f`.
fn value(out: &mut Vec<u8>, f: Format, v: &Val<'_>, level: usize) {
    match f {
        Format::Bundle => write_pretty(out, v, level),
        Format::Ndjson => write_compact(out, v),
    }
}

/// One top-level object (an observed-data, a STIX 2.1 object) in the layout
/// of `f`: after a `,` and on its own lines in a bundle (as `write_pretty`),
/// a line of NDJSON (as `write_compact`).
fn write_entries(out: &mut Vec<u8>, f: Format, entries: &[(&str, Out<'_>)]) {
    if f == Format::Bundle {
        out.push(b',');
        newline(out, 2);
    }
    out.push(b'{');
    for (i, (k, v)) in entries.iter().enumerate() {
        item(out, f, 3, i == 0);
        write_str(out, k);
        out.extend_from_slice(b": ");
        match v {
            Out::V(v) => value(out, f, v, 3),
            Out::Str(s) => write_str(out, s),
            Out::Ids(list) if list.is_empty() => out.extend_from_slice(b"[]"),
            Out::Ids(list) => {
                out.push(b'[');
                for (j, s) in list.iter().enumerate() {
                    item(out, f, 4, j == 0);
                    write_str(out, s);
                }
                close(out, f, 3);
                out.push(b']');
            }
            // Only in the canonical form ids are computed from.
            Out::Hash(..) => {}
        }
    }
    close(out, f, 2);
    out.push(b'}');
    if f == Format::Ndjson {
        out.push(b'\n');
    }
}

/// The observation properties of an observed-data: `first_observed` and
/// `last_observed` from the event, or the translation time when it has no
/// usable one (contract §6.2), then the others the map gives.
fn observation<'a>(t: &'a Translated<'_, '_>, now: &'a Val<'a>) -> Vec<(&'a str, &'a Val<'a>)> {
    let mut obs: Vec<(&str, &Val<'_>)> = ["first_observed", "last_observed"]
        .into_iter()
        .map(|key| match t.obs.iter().find(|(k, _)| *k == key) {
            Some((_, v)) => (key, v),
            None => (key, now),
        })
        .collect();
    for (k, v) in &t.obs {
        if !matches!(*k, "first_observed" | "last_observed") {
            obs.push((k, v));
        }
    }
    obs
}

/// A property of an object being written or identified, borrowed:
/// a value of the event, or the ids of the objects it references.
enum Out<'a> {
    V(&'a Val<'a>),
    /// A string of the writer's: an id, a type, a time.
    Str(&'a str),
    Ids(Vec<&'a str>),
    /// `hashes` reduced to one hash (for the id's contributing properties).
    Hash(&'a str, &'a Val<'a>),
}

impl<'a> Out<'a> {
    fn of(p: &'a FinalProp<'a>, id: impl Fn(usize) -> &'a str) -> Out<'a> {
        match p {
            FinalProp::V(v) => Out::V(v),
            FinalProp::Ref(r) => Out::Str(id(*r)),
            FinalProp::Refs(rs) => Out::Ids(rs.iter().map(|r| id(*r)).collect()),
        }
    }
}

/// The object made of `entries` in the canonical form ids are computed from
/// ([`Val::write_canonical`]: keys sorted, no spaces, UTF-8 kept).
fn write_entries_canonical(out: &mut Vec<u8>, entries: &[(&str, Out<'_>)]) {
    let mut order: Vec<&(&str, Out<'_>)> = entries.iter().collect();
    order.sort_by(|a, b| a.0.cmp(b.0));
    write_seq(out, b'{', b",", b'}', order, |out, (k, v)| {
        write_str_utf8(out, k);
        out.push(b':');
        match v {
            Out::V(v) => v.write_canonical(out),
            Out::Str(s) => write_str_utf8(out, s),
            Out::Ids(list) => write_seq(out, b'[', b",", b']', list, |out, s| {
                write_str_utf8(out, s);
            }),
            Out::Hash(hk, hv) => {
                out.push(b'{');
                write_str_utf8(out, hk);
                out.push(b':');
                hv.write_canonical(out);
                out.push(b'}');
            }
        }
    });
}

/// STIX 2.1 ID-contributing properties (STIX 2.1 §2.9 and each SCO's section).
fn contributing(ty: &str) -> &'static [&'static str] {
    match ty {
        "artifact" => &["hashes", "payload_bin"],
        "autonomous-system" => &["number"],
        "directory" => &["path"],
        "domain-name" | "email-addr" | "ipv4-addr" | "ipv6-addr" | "mac-addr" | "url" => &["value"],
        "email-message" => &["from_ref", "subject", "body"],
        "file" => &["hashes", "name", "extensions", "parent_directory_ref"],
        "mutex" => &["name"],
        "network-traffic" => &[
            "start",
            "end",
            "src_ref",
            "dst_ref",
            "src_port",
            "dst_port",
            "protocols",
            "extensions",
        ],
        // STIX 2.1 names none for process; stix-shifter uses `x_unique_id`.
        "process" => &["x_unique_id"],
        "software" => &["name", "cpe", "swid", "vendor", "version"],
        "user-account" => &["account_type", "user_id", "account_login"],
        "windows-registry-key" => &["key", "values"],
        "x509-certificate" => &["hashes", "serial_number"],
        _ => &[],
    }
}

const HASH_ORDER: [&str; 4] = ["MD5", "SHA-1", "SHA-256", "SHA-512"];

fn contributing_name(ty: &str, props: &[(&str, Out<'_>)]) -> Option<Vec<u8>> {
    let names = contributing(ty);
    let mut chosen: Vec<(&str, Out<'_>)> = Vec::new();
    for (k, v) in props {
        if !names.contains(k) {
            continue;
        }
        let v = match v {
            Out::V(Val::Obj(hs)) if *k == "hashes" => {
                match HASH_ORDER
                    .iter()
                    .find_map(|h| hs.iter().find(|(k, _)| k == h))
                {
                    Some((hk, hv)) => Out::Hash(hk, hv),
                    None => continue,
                }
            }
            _ if *k == "hashes" => continue,
            Out::V(v) => Out::V(v),
            Out::Str(s) => Out::Str(s),
            Out::Ids(list) => Out::Ids(list.clone()),
            Out::Hash(hk, hv) => Out::Hash(hk, hv),
        };
        chosen.push((k, v));
    }
    if chosen.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(128);
    write_entries_canonical(&mut out, &chosen);
    Some(out)
}

/// A STIX 2.0 observed-data, its objects inside, written straight into
/// the buffer in the bundle or NDJSON layout (no intermediate values).
fn write_20(
    out: &mut Vec<u8>,
    f: Format,
    identity_id: &str,
    t: &Translated<'_, '_>,
    od_id: &Val<'_>,
    now: &Val<'_>,
) {
    if f == Format::Bundle {
        out.push(b',');
        newline(out, 2);
    }
    out.push(b'{');
    item(out, f, 3, true);
    out.extend_from_slice(b"\"id\": ");
    value(out, f, od_id, 3);
    item(out, f, 3, false);
    out.extend_from_slice(b"\"type\": \"observed-data\"");
    item(out, f, 3, false);
    out.extend_from_slice(b"\"created_by_ref\": ");
    write_str(out, identity_id);
    for key in [&b"\"created\": "[..], b"\"modified\": "] {
        item(out, f, 3, false);
        out.extend_from_slice(key);
        value(out, f, now, 3);
    }
    item(out, f, 3, false);
    out.extend_from_slice(b"\"objects\": {");
    let mut num = itoa::Buffer::new();
    for (i, o) in t.objects.iter().enumerate() {
        item(out, f, 4, i == 0);
        out.push(b'"');
        out.extend_from_slice(num.format(i).as_bytes());
        out.extend_from_slice(b"\": {");
        item(out, f, 5, true);
        out.extend_from_slice(b"\"type\": ");
        write_str(out, o.ty);
        for (name, p) in &o.props {
            item(out, f, 5, false);
            match name {
                Name::Map(t) => out.extend_from_slice(t.key_json.as_bytes()),
                Name::Ev(s) => {
                    write_str(out, s);
                    out.extend_from_slice(b": ");
                }
            }
            match p {
                FinalProp::V(v) => value(out, f, v, 5),
                FinalProp::Ref(r) => {
                    out.push(b'"');
                    out.extend_from_slice(num.format(*r).as_bytes());
                    out.push(b'"');
                }
                FinalProp::Refs(rs) if rs.is_empty() => out.extend_from_slice(b"[]"),
                FinalProp::Refs(rs) => {
                    out.push(b'[');
                    for (k, r) in rs.iter().enumerate() {
                        item(out, f, 6, k == 0);
                        out.push(b'"');
                        out.extend_from_slice(num.format(*r).as_bytes());
                        out.push(b'"');
                    }
                    close(out, f, 5);
                    out.push(b']');
                }
            }
        }
        close(out, f, 4);
        out.push(b'}');
    }
    if !t.objects.is_empty() {
        close(out, f, 3);
    }
    out.push(b'}');
    for (key, v) in observation(t, now) {
        item(out, f, 3, false);
        write_str(out, key);
        out.extend_from_slice(b": ");
        value(out, f, v, 3);
    }
    item(out, f, 3, false);
    out.extend_from_slice(b"\"number_observed\": 1");
    close(out, f, 2);
    out.push(b'}');
    if f == Format::Ndjson {
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::FixedEnv;

    /// An event's operations buffer comes back emptied, the same allocation,
    /// and keeps it when its lifetimes change for the next event.
    #[test]
    fn an_operations_buffer_is_kept_for_the_next_event() {
        let mut ops: Vec<Op<'_, '_>> = Vec::with_capacity(96);
        let at = ops.as_ptr() as usize;
        let owned = String::from("owned");
        for k in 0..50 {
            let v = if k % 2 == 0 {
                Val::Str(Cow::Borrowed("borrowed"))
            } else {
                Val::Str(Cow::Owned(owned.clone()))
            };
            ops.push(Op::Fallback(Box::new((Cow::Borrowed("k"), v))));
        }
        let back = drop_ops(ops);
        assert!(back.is_empty());
        assert_eq!(back.as_ptr() as usize, at);
        let again: Vec<Op<'_, '_>> = reuse_ops(back);
        assert_eq!(
            (again.as_ptr() as usize, again.capacity() >= 96),
            (at, true)
        );
    }

    /// Bytes hash as their little-endian words, the last one padded with
    /// zeros, whatever the length.
    #[test]
    fn fast_hasher_hashes_bytes_as_padded_words() {
        let bytes: Vec<u8> = (1..=40u8).collect();
        for n in 0..=bytes.len() {
            let mut a = FastHasher(0);
            a.write(&bytes[..n]);
            let mut b = FastHasher(0);
            for chunk in bytes[..n].chunks(8) {
                let mut w = [0u8; 8];
                w[..chunk.len()].copy_from_slice(chunk);
                b.write_u64(u64::from_le_bytes(w));
            }
            assert_eq!(a.finish(), b.finish(), "{n}");
        }
    }

    /// Events of one shape are written from one template (the test of the
    /// output's equality with templates off is in `tests/it.rs`; this one
    /// checks that path is the one taken).
    #[test]
    fn events_of_one_shape_share_a_template() {
        let identity =
            serde_json::json!({"type": "identity", "id": "identity--x", "name": "sysdig"});
        let events = [
            r#"{"timestamp": "2023-11-01T17:15:14.635115435Z", "severity": 3, "content": {"fields": {"proc.name": "curl", "user.uid": "0"}}}"#,
            r#"{"timestamp": "2023-11-02T17:15:14.635115435Z", "severity": 5, "content": {"fields": {"proc.name": "wget", "user.uid": "33"}}}"#,
            r#"{"timestamp": "2023-11-03T17:15:14.635115435Z", "severity": 1, "content": {"fields": {"proc.name": "sh"}}}"#,
        ];
        let mut outputs = Vec::new();
        for templates in [true, false] {
            let config = Config {
                templates,
                ..Config::default()
            };
            let mut out = Vec::new();
            let mut w = BundleWriter::new(
                &mut out,
                &identity,
                &config,
                FixedEnv::default(),
                Format::Bundle,
            )
            .unwrap();
            for e in events {
                w.write_event_json(e).unwrap();
            }
            assert_eq!(
                (w.templates.hits, w.templates.misses),
                if templates { (1, 2) } else { (0, 0) }
            );
            w.finish().unwrap();
            outputs.push(out);
        }
        assert_eq!(outputs[0], outputs[1]);
    }

    fn writer<'a>(
        out: &'a mut Vec<u8>,
        config: &Config,
    ) -> BundleWriter<&'a mut Vec<u8>, FixedEnv> {
        let identity =
            serde_json::json!({"type": "identity", "id": "identity--x", "name": "sysdig"});
        BundleWriter::new(out, &identity, config, FixedEnv::default(), Format::Ndjson).unwrap()
    }

    /// The output tests compare the fast reader with serde_json's path, so
    /// a fast reader that gave up on everything would pass them: here it
    /// must take the golden varied events and awkward ones itself, and
    /// write what serde_json's path writes.
    #[test]
    fn the_fast_reader_takes_ordinary_and_awkward_events() {
        let varied: Vec<serde_json::Value> =
            serde_json::from_str(include_str!("../tests/golden/varied.events.json")).unwrap();
        let mut texts: Vec<String> = varied.iter().map(ToString::to_string).collect();
        texts.extend(
            [
                r#"{"content": "not an object", "labels": {"host.hostName": "h"}}"#,
                r#"{"content": {"fields": [1, {"proc.name": "x"}]}}"#,
                r#"{"labels": null, "content": {"fields": {"proc.name": "x"}}}"#,
                r#"{"content": {"fields": {"proc.name": "x", "proc.aname[2]": 7}}}"#,
                r#"{"content": {"fields": {"proc.name": {"a": ["b", 1, true, null]}}}}"#,
                r#"{"content": {"fields": {"proc.n\u0061me": "q\"\\\n\u00e9", "user.name": "r\u00f6\u00f6t"}}}"#,
                r#"{"content": {"fields": {"evt.type": false, "proc.name": "x"}}}"#,
            ]
            .map(str::to_owned),
        );
        for unmapped_fallback in [false, true] {
            let config = Config {
                unmapped_fallback,
                ..Config::default()
            };
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            let (mut wf, mut ws) = (writer(&mut fast, &config), writer(&mut slow, &config));
            for t in &texts {
                let taken = wf.write_event_fast(t, true);
                assert!(
                    matches!(taken, Ok((n, Ok(_))) if n <= t.len()),
                    "the fast reader gave up on {t}"
                );
                ws.write_event_slice(t.as_bytes()).unwrap();
            }
            wf.finish().unwrap();
            ws.finish().unwrap();
            assert_eq!(String::from_utf8(fast), String::from_utf8(slow));
        }
    }

    /// After an event given whole, only JSON white space may follow;
    /// anything else (Unicode white space included) is serde_json's to
    /// judge and word.
    #[test]
    fn text_after_a_whole_event_is_judged_as_serde_json_does() {
        let config = Config::default();
        let mut out = Vec::new();
        let mut w = writer(&mut out, &config);
        let event = r#"{"content": {"fields": {"proc.name": "x"}}}"#;
        assert!(w.write_event_json(&format!("{event} \n\t\r")).is_ok());
        for tail in ["\u{c}", "\u{a0}", " x", "{}"] {
            let text = format!("{event}{tail}");
            assert!(
                matches!(w.write_event_fast(&text, true), Err(FastError::Bail)),
                "{tail:?}"
            );
            let err = w.write_event_json(&text).unwrap_err().to_string();
            assert!(err.contains("trailing"), "{tail:?}: {err}");
        }
    }
}
