//! Output templates for STIX 2.0 observed-data.
//!
//! Which objects an event becomes, their properties, numbering and
//! references depend only on the mapping operations the event produced
//! (which entries applied, in which order), not on the values themselves
//! (see [`crate::engine::Ops::structural`]). Events from the same Falco
//! rule produce the same operations, so the written observed-data is the
//! same text with different values in it. A template is that text with
//! holes where the values go: it is written once, by the one writer, from
//! the operations with [`Val::Hole`]s for values, and then filled for every
//! event with the same operations.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::Warning;
use crate::value::{write_compact, write_pretty, write_str, Val, HOLE};
use crate::writer::Format;

/// Hole numbers of the writer's own per-event values.
pub(crate) const HOLE_ID: u32 = u32::MAX;
pub(crate) const HOLE_NOW: u32 = u32::MAX - 1;

/// Templates kept at most; past it the cache starts again (events of
/// unusually many shapes then cost what they cost without templates).
const MAX_TEMPLATES: usize = 512;

/// A written observed-data with its values left open.
#[derive(Debug)]
pub(crate) struct Template {
    /// The text between the holes.
    text: Vec<u8>,
    /// Each hole: where the text before it ends, which value, and at which
    /// nesting level it is written.
    holes: Vec<(usize, u32, usize)>,
    /// Warnings the structure gives (objects STIX would reject, dropped).
    pub(crate) warnings: Vec<Warning>,
    /// No object could be built: the event is skipped.
    pub(crate) skip: bool,
}

impl Template {
    /// Cut `written` (an observed-data written with holes) at its holes.
    pub(crate) fn compile(written: &[u8], warnings: Vec<Warning>, skip: bool) -> Template {
        let mut text = Vec::with_capacity(written.len());
        let mut holes = Vec::new();
        let mut i = 0;
        while let Some(p) = written[i..].iter().position(|&b| b == HOLE) {
            let at = i + p;
            text.extend_from_slice(&written[i..at]);
            let mut n = [0u8; 4];
            n.copy_from_slice(&written[at + 1..at + 5]);
            holes.push((
                text.len(),
                u32::from_le_bytes(n),
                usize::from(written[at + 5]),
            ));
            i = at + 6;
        }
        text.extend_from_slice(&written[i..]);
        Template {
            text,
            holes,
            warnings,
            skip,
        }
    }

    /// The observed-data of one event: the text, with `vals` (by hole
    /// number), the observed-data's id and the translation time in the holes.
    pub(crate) fn fill(&self, out: &mut Vec<u8>, f: Format, vals: &[Val<'_>], id: &str, now: &str) {
        out.reserve(self.text.len() + 1024);
        let mut from = 0;
        for &(at, n, level) in &self.holes {
            out.extend_from_slice(&self.text[from..at]);
            from = at;
            match n {
                HOLE_ID => write_str(out, id),
                HOLE_NOW => write_str(out, now),
                n => {
                    let Some(v) = vals.get(n as usize) else {
                        continue;
                    };
                    match f {
                        Format::Bundle => write_pretty(out, v, level),
                        Format::Ndjson => write_compact(out, v),
                    }
                }
            }
        }
        out.extend_from_slice(&self.text[from..]);
    }
}

/// Multiply-rotate hashing of the (trusted, in-process) entry addresses.
#[derive(Debug, Default, Clone, Copy)]
struct FastHash;

struct FastHasher(u64);

impl std::hash::BuildHasher for FastHash {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

impl std::hash::Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
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

/// Templates by the operations that make them (entry addresses, in order).
#[derive(Debug, Default)]
pub(crate) struct Templates {
    map: HashMap<Box<[usize]>, Arc<Template>, FastHash>,
    /// The current event's operations (kept to reuse the allocation).
    pub(crate) shape: Vec<usize>,
    pub(crate) hits: u64,
    pub(crate) misses: u64,
}

impl Templates {
    pub(crate) fn get(&mut self) -> Option<Arc<Template>> {
        let t = self.map.get(&self.shape[..]).cloned();
        if t.is_some() {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        t
    }

    pub(crate) fn insert(&mut self, t: Template) -> Arc<Template> {
        if self.map.len() >= MAX_TEMPLATES {
            self.map.clear();
        }
        let t = Arc::new(t);
        self.map
            .insert(self.shape.clone().into_boxed_slice(), t.clone());
        t
    }
}
