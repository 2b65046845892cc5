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

use crate::engine::Op;
use crate::error::Warning;
use crate::value::{write_compact, write_pretty, write_str, Val, HOLE};
use crate::writer::{FastHash, Format};

/// Hole numbers of the writer's own per-event values.
pub(crate) const HOLE_ID: u32 = u32::MAX;
pub(crate) const HOLE_NOW: u32 = u32::MAX - 1;

/// Templates kept at most; past it the cache starts again.
const MAX_TEMPLATES: usize = 512;

/// Events seen before deciding whether templates pay: when most events so
/// far needed a new template, templates are given up (a miss costs a little
/// more than writing the event directly).
const TRIAL_EVENTS: u64 = 256;

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
            // Always the writers' nine bytes (no written JSON holds a raw NUL).
            let Some(&[_, a, b, c, d, e, f, g, h]) = written.get(at..at + 9) else {
                text.extend_from_slice(&written[at..]);
                i = written.len();
                break;
            };
            let level = u32::from_le_bytes([e, f, g, h]);
            holes.push((
                text.len(),
                u32::from_le_bytes([a, b, c, d]),
                usize::try_from(level).unwrap_or(usize::MAX),
            ));
            i = at + 9;
        }
        text.extend_from_slice(&written[i..]);
        Template {
            text,
            holes,
            warnings,
            skip,
        }
    }

    /// The observed-data of one event: the text, with the values (`value`
    /// of each hole number), the observed-data's id and the translation time
    /// in the holes.
    pub(crate) fn fill<'v, 'a: 'v>(
        &self,
        out: &mut Vec<u8>,
        f: Format,
        value: impl Fn(usize) -> Option<&'v Val<'a>>,
        id: &str,
        now: &str,
    ) {
        out.reserve(self.text.len() + 1024);
        let mut from = 0;
        for &(at, n, level) in &self.holes {
            out.extend_from_slice(&self.text[from..at]);
            from = at;
            match n {
                HOLE_ID => write_str(out, id),
                HOLE_NOW => write_str(out, now),
                n => {
                    let Some(v) = value(n as usize) else {
                        continue;
                    };
                    // Strings, most values, are written alike in both formats.
                    if let Val::Str(s) = v {
                        write_str(out, s);
                        continue;
                    }
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

/// Templates by the operations that make them (entry addresses, in order).
#[derive(Debug, Default)]
pub(crate) struct Templates {
    map: HashMap<Box<[usize]>, Arc<Template>, FastHash>,
    /// The shape of the operations [`Templates::get`] was last asked for
    /// (a buffer kept from event to event).
    shape: Vec<usize>,
    pub(crate) hits: u64,
    pub(crate) misses: u64,
}

impl Templates {
    /// Whether templates are worth trying for the next event: not when, after
    /// [`TRIAL_EVENTS`] events, more than half of them needed a new one.
    pub(crate) fn worth_it(&self) -> bool {
        self.hits + self.misses < TRIAL_EVENTS || self.misses * 2 <= self.hits + self.misses
    }

    /// The template made earlier for operations of the same shape (the
    /// same map entries in the same order), if any; the shape is kept for
    /// [`Templates::insert`].
    pub(crate) fn get(&mut self, ops: &[Op<'_, '_>]) -> Option<Arc<Template>> {
        self.shape.clear();
        self.shape.extend(
            ops.iter()
                .map(|op| op.entry().map_or(0, |e| std::ptr::from_ref(e) as usize)),
        );
        let t = self.map.get(&self.shape[..]).cloned();
        if t.is_some() {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        t
    }

    /// Keep `t` as the template of the shape the last [`Templates::get`]
    /// did not find.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::write_pretty;

    #[test]
    fn holes_are_cut_out_and_filled_at_their_level() {
        let mut written = b"{\"a\": ".to_vec();
        write_pretty(&mut written, &Val::Hole(1), 2);
        written.extend_from_slice(b", \"id\": ");
        write_pretty(&mut written, &Val::Hole(HOLE_ID), 0);
        written.push(b'}');
        let t = Template::compile(&written, Vec::new(), false);
        assert_eq!(t.text, b"{\"a\": , \"id\": }");
        let vals = [
            Val::Null,
            Val::Arr(vec![Val::Str("x".into()), Val::Str("é".into())]),
        ];
        let mut out = Vec::new();
        t.fill(
            &mut out,
            Format::Bundle,
            |n| vals.get(n),
            "observed-data--1",
            "now",
        );
        let want = "{\"a\": [\n            \"x\",\n            \"\\u00e9\"\n        ], \"id\": \"observed-data--1\"}";
        assert_eq!(String::from_utf8(out).unwrap(), want);
        let mut out = Vec::new();
        t.fill(&mut out, Format::Ndjson, |n| vals.get(n), "i", "n");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"a\": [\"x\", \"\\u00e9\"], \"id\": \"i\"}"
        );
    }

    /// Pieces of text of many lengths, first, last and between holes, come
    /// out exactly, after what the output held.
    #[test]
    fn text_pieces_of_every_length_are_copied_exactly() {
        // Lengths around 128 bytes, where a block copy of short pieces (since
        // taken out) switched to `memcpy`: any later copy rule with a
        // length threshold is checked on both sides of one.
        const SHORT: usize = 128;
        for first in [0, 1, 15, SHORT - 1, SHORT, SHORT + 1, 3 * SHORT] {
            for last in [0, 1, SHORT - 1, SHORT, SHORT + 1, 2 * SHORT + 5] {
                let piece =
                    |n: usize, c: u8| -> Vec<u8> { (0..n).map(|i| c + (i % 7) as u8).collect() };
                let mut written = piece(first, b'a');
                let mut want = b"before".to_vec();
                want.extend_from_slice(&written);
                for (k, n) in [(0u32, 3usize), (1, SHORT), (2, 0), (3, SHORT + 2)] {
                    write_pretty(&mut written, &Val::Hole(k), 1);
                    want.extend_from_slice(format!("\"v{k}\"").as_bytes());
                    let p = piece(n, b'k');
                    written.extend_from_slice(&p);
                    want.extend_from_slice(&p);
                }
                let tail = piece(last, b'A');
                written.extend_from_slice(&tail);
                want.extend_from_slice(&tail);
                let t = Template::compile(&written, Vec::new(), false);
                let vals: Vec<Val<'_>> = (0..4).map(|k| Val::Str(format!("v{k}").into())).collect();
                let mut out = b"before".to_vec();
                t.fill(&mut out, Format::Bundle, |n| vals.get(n), "i", "n");
                assert_eq!(out, want, "first {first}, last {last}");
            }
        }
    }

    #[test]
    fn a_cut_short_hole_stays_text() {
        let t = Template::compile(&[b'x', HOLE, 1, 2], Vec::new(), false);
        assert_eq!(t.text, [b'x', HOLE, 1, 2]);
        assert!(t.holes.is_empty());
    }

    #[test]
    fn templates_are_given_up_when_most_events_need_a_new_one() {
        // Operation lists of different lengths have different shapes.
        let ops = |n: u64| -> Vec<Op<'static, 'static>> {
            (0..n)
                .map(|_| Op::Fallback(Box::new(("k".into(), Val::Null))))
                .collect()
        };
        let mut ts = Templates::default();
        for i in 0..TRIAL_EVENTS {
            assert!(ts.worth_it());
            if ts.get(&ops(i + 1)).is_none() {
                ts.insert(Template::compile(b"", Vec::new(), true));
            }
        }
        assert!(!ts.worth_it());
        let mut same = Templates::default();
        for _ in 0..TRIAL_EVENTS * 2 {
            if same.get(&ops(7)).is_none() {
                same.insert(Template::compile(b"", Vec::new(), true));
            }
        }
        assert!(same.worth_it());
        assert_eq!(same.misses, 1);
    }
}
