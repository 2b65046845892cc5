//! The to-STIX map: stix-shifter's `to_stix_map.json` format, embedded
//! defaults, user overrides, and the checks both go through.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use serde::Deserialize;
use serde_json::Value;

use crate::error::ResultsError;
use crate::transform::Transformer;

const DEFAULT_20: &str = include_str!("../data/sysdig/to_stix_map.json");
const DEFAULT_21: &str = include_str!("../data/sysdig/stix_2_1/to_stix_map.json");

static RAW_20: LazyLock<Value> =
    LazyLock::new(|| serde_json::from_str(DEFAULT_20).unwrap_or_default());
static RAW_21: LazyLock<Value> =
    LazyLock::new(|| serde_json::from_str(DEFAULT_21).unwrap_or_default());
static MAP_20: LazyLock<Result<Arc<ToStixMap>, String>> = LazyLock::new(|| {
    ToStixMap::parse(&RAW_20)
        .map(Arc::new)
        .map_err(|e| e.to_string())
});
static MAP_21: LazyLock<Result<Arc<ToStixMap>, String>> = LazyLock::new(|| {
    ToStixMap::parse(&RAW_21)
        .map(Arc::new)
        .map_err(|e| e.to_string())
});

/// The embedded default to-STIX map as raw JSON (what `stixshift mapping
/// sysdig` prints): the STIX 2.1 variant when `stix_2_1`.
pub fn default_to_stix_map(stix_2_1: bool) -> &'static Value {
    if stix_2_1 {
        &RAW_21
    } else {
        &RAW_20
    }
}

/// The parsed map for a configuration: the override if given, else the default.
pub(crate) fn load(stix_2_1: bool, user: Option<&Value>) -> Result<Arc<ToStixMap>, ResultsError> {
    match user {
        Some(v) => ToStixMap::parse(v).map(Arc::new),
        None => {
            let m = if stix_2_1 { &*MAP_21 } else { &*MAP_20 };
            m.clone().map_err(ResultsError::Mapping)
        }
    }
}

/// One mapping entry as the file spells it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    key: String,
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    transformer: Option<String>,
    #[serde(default)]
    references: Option<RawRefs>,
    /// stix-shifter marks observation-level keys with `"cybox": false`; the
    /// key having no dot says the same, so the flag is accepted and ignored.
    #[serde(default)]
    #[allow(dead_code)]
    cybox: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawRefs {
    One(String),
    Many(Vec<String>),
}

/// A parsed, checked to-STIX map.
#[derive(Debug)]
pub(crate) struct ToStixMap {
    pub(crate) root: Level,
    /// Object names, indexed by slot.
    pub(crate) slots: Vec<String>,
}

#[derive(Debug, Default)]
pub(crate) struct Level {
    nodes: Vec<Node>,
    index: KeyIndex,
}

impl Level {
    #[inline]
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        self.index.get(key).map(|i| &self.nodes[i])
    }

    /// Where `key`'s node is in this level ([`Level::node`]).
    #[inline]
    pub(crate) fn position(&self, key: &str) -> Option<usize> {
        self.index.get(key)
    }

    /// The node at `i`, a [`Level::position`] of this level.
    #[inline]
    pub(crate) fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }

    fn insert(&mut self, key: &str, node: Node) {
        match self.index.get(key) {
            // A repeated key in the map file: the last one wins, like a JSON object.
            Some(i) => self.nodes[i] = node,
            None => {
                self.index.insert(key, self.nodes.len());
                self.nodes.push(node);
            }
        }
    }
}

/// Key → position, looked up for every key of every event: open addressing
/// on the key's length and its first and last eight bytes (two loads), which
/// are also compared directly; only keys longer than 16 bytes compare all
/// their bytes too (inline, a word at a time: `memcmp` calls for the middle
/// bytes had 2.6% of the cycles of one thread translating the simulator's
/// events, whose keys missed the reader's memo then).
#[derive(Debug, Default)]
struct KeyIndex {
    table: Vec<Slot>,
    keys: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    head: u64,
    tail: u64,
    len: usize,
    /// Position + 1; 0 = empty.
    pos: usize,
}

/// (head, tail, hash) of a key: its first and last eight bytes (zero-padded
/// when shorter; `tail` 0 when at most 8 bytes).
#[inline]
pub(crate) fn key_parts(key: &[u8]) -> (u64, u64, u64) {
    let n = key.len();
    let load = |b: &[u8]| {
        let mut w = [0u8; 8];
        w[..b.len()].copy_from_slice(b);
        u64::from_le_bytes(w)
    };
    let (head, tail) = if n > 8 {
        (load(&key[..8]), load(&key[n - 8..]))
    } else {
        (load(key), 0)
    };
    let h = (head ^ (n as u64).rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let h = (h ^ tail.rotate_left(29)).wrapping_mul(0xf135_7aea_2e62_a9c5) ^ (h >> 29);
    (head, tail, h)
}

impl KeyIndex {
    #[inline]
    fn get(&self, key: &str) -> Option<usize> {
        if self.table.is_empty() {
            return None;
        }
        let mask = self.table.len() - 1;
        let k = key.as_bytes();
        let (head, tail, h) = key_parts(k);
        let mut i = (h >> 40) as usize & mask;
        loop {
            let slot = self.table[i];
            if slot.pos == 0 {
                return None;
            }
            if slot.head == head
                && slot.tail == tail
                && slot.len == k.len()
                && (k.len() <= 16
                    || crate::fastjson::same_bytes(self.keys[slot.pos - 1].as_bytes(), k))
            {
                return Some(slot.pos - 1);
            }
            i = (i + 1) & mask;
        }
    }

    fn insert(&mut self, key: &str, pos: usize) {
        self.keys.push(key.to_owned());
        debug_assert_eq!(self.keys.len(), pos + 1);
        if self.table.len() < self.keys.len() * 4 {
            let size = (self.keys.len() * 4).next_power_of_two().max(16);
            self.table = vec![Slot::default(); size];
            for (p, k) in self.keys.iter().enumerate() {
                Self::place(&mut self.table, k.as_bytes(), p + 1);
            }
        } else {
            Self::place(&mut self.table, key.as_bytes(), pos + 1);
        }
    }

    fn place(table: &mut [Slot], key: &[u8], pos: usize) {
        let (head, tail, h) = key_parts(key);
        let mask = table.len() - 1;
        let mut i = (h >> 40) as usize & mask;
        while table[i].pos != 0 {
            i = (i + 1) & mask;
        }
        table[i] = Slot {
            head,
            tail,
            len: key.len(),
            pos,
        };
    }
}

#[derive(Debug)]
pub(crate) enum Node {
    Entries(Vec<Entry>),
    Level(Level),
}

#[derive(Debug)]
pub(crate) enum Refs {
    One(usize),
    Many(Vec<usize>),
}

/// Which values an object property accepts (STIX formats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueCheck {
    Any,
    Ipv4,
    Ipv6,
    DomainName,
    Mac,
}

/// One checked entry.
#[derive(Debug)]
pub(crate) struct Entry {
    /// `None` for observation-level keys (`first_observed`).
    pub(crate) object: Option<ObjectTarget>,
    /// Observation-level property name when `object` is `None`.
    pub(crate) obs_key: String,
    pub(crate) transformer: Option<Transformer>,
    pub(crate) refs: Option<Refs>,
}

#[derive(Debug)]
pub(crate) struct ObjectTarget {
    pub(crate) ty: String,
    pub(crate) prop: String,
    /// Further key segments: the value nests as `{seg1: {seg2: value}}`.
    pub(crate) nested: Vec<String>,
    pub(crate) slot: usize,
    pub(crate) is_ref_prop: bool,
    /// Same number for the same property name, map-wide.
    pub(crate) prop_id: u32,
    /// Values the target cannot hold are left out.
    pub(crate) check: ValueCheck,
    /// `"<prop>": ` as the bundle writes it.
    pub(crate) key_json: String,
}

fn pointer(path: &[String]) -> String {
    path.iter()
        .map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1")))
        .collect()
}

struct Parser {
    prop_ids: HashMap<String, u32>,
    slot_index: HashMap<String, usize>,
    slots: Vec<String>,
    pending_refs: Vec<(Vec<String>, String)>,
}

impl Parser {
    fn slot(&mut self, name: &str) -> usize {
        if let Some(&i) = self.slot_index.get(name) {
            return i;
        }
        self.slots.push(name.to_owned());
        self.slot_index
            .insert(name.to_owned(), self.slots.len() - 1);
        self.slots.len() - 1
    }

    fn level(&mut self, v: &Value, path: &mut Vec<String>) -> Result<Level, ResultsError> {
        let Value::Object(obj) = v else {
            return Err(ResultsError::Mapping(format!(
                "{}: expected an object of event keys",
                pointer(path)
            )));
        };
        let mut level = Level::default();
        for (k, child) in obj {
            path.push(k.clone());
            let node = match child {
                Value::Object(o) if o.contains_key("key") => {
                    Node::Entries(vec![self.entry(child, path)?])
                }
                Value::Object(_) => Node::Level(self.level(child, path)?),
                Value::Array(items) => {
                    let mut entries = Vec::with_capacity(items.len());
                    for (i, item) in items.iter().enumerate() {
                        path.push(i.to_string());
                        entries.push(self.entry(item, path)?);
                        path.pop();
                    }
                    Node::Entries(entries)
                }
                other => {
                    return Err(ResultsError::Mapping(format!(
                        "{}: expected an entry, a list of entries or an object, found {}",
                        pointer(path),
                        crate::preprocess::kind(other)
                    )))
                }
            };
            path.pop();
            level.insert(k, node);
        }
        Ok(level)
    }

    fn entry(&mut self, v: &Value, path: &[String]) -> Result<Entry, ResultsError> {
        let raw = RawEntry::deserialize(v)
            .map_err(|e| ResultsError::Mapping(format!("{}: {e}", pointer(path))))?;
        let transformer = match &raw.transformer {
            None => None,
            Some(name) => Some(Transformer::from_name(name).ok_or_else(|| {
                ResultsError::Mapping(format!("{}: unknown transformer `{name}`", pointer(path)))
            })?),
        };
        let segments: Vec<&str> = raw.key.split('.').collect();
        if segments.iter().any(|s| s.is_empty()) {
            return Err(ResultsError::Mapping(format!(
                "{}: malformed key `{}`",
                pointer(path),
                raw.key
            )));
        }
        if segments.len() == 1 {
            if raw.references.is_some() {
                return Err(ResultsError::Mapping(format!(
                    "{}: observation-level key `{}` cannot have `references`",
                    pointer(path),
                    raw.key
                )));
            }
            return Ok(Entry {
                object: None,
                obs_key: raw.key,
                transformer,
                refs: None,
            });
        }
        let ty = segments[0].to_owned();
        let prop = segments[1].to_owned();
        let name = raw.object.clone().unwrap_or_else(|| ty.clone());
        let slot = self.slot(&name);
        let refs = match raw.references {
            None => None,
            Some(RawRefs::One(r)) => {
                self.pending_refs.push((path.to_vec(), r.clone()));
                Some(Refs::One(self.slot(&r)))
            }
            Some(RawRefs::Many(rs)) => {
                let mut v = Vec::new();
                for r in rs {
                    self.pending_refs.push((path.to_vec(), r.clone()));
                    v.push(self.slot(&r));
                }
                Some(Refs::Many(v))
            }
        };
        let check = match (ty.as_str(), prop.as_str()) {
            ("ipv4-addr", "value") => ValueCheck::Ipv4,
            ("ipv6-addr", "value") => ValueCheck::Ipv6,
            ("domain-name", "value") => ValueCheck::DomainName,
            ("mac-addr", "value") => ValueCheck::Mac,
            _ => ValueCheck::Any,
        };
        let next_id = self.prop_ids.len() as u32;
        let prop_id = *self.prop_ids.entry(prop.clone()).or_insert(next_id);
        let mut key_json = Vec::with_capacity(prop.len() + 4);
        crate::value::write_str(&mut key_json, &prop);
        key_json.extend_from_slice(b": ");
        Ok(Entry {
            object: Some(ObjectTarget {
                ty,
                prop_id,
                check,
                key_json: String::from_utf8(key_json).unwrap_or_default(),
                is_ref_prop: prop.contains("_ref"),
                prop,
                nested: segments[2..].iter().map(|s| (*s).to_owned()).collect(),
                slot,
            }),
            obs_key: String::new(),
            transformer,
            refs,
        })
    }
}

impl ToStixMap {
    /// Parse and check a map in stix-shifter's format.
    pub(crate) fn parse(v: &Value) -> Result<ToStixMap, ResultsError> {
        let mut p = Parser {
            prop_ids: HashMap::new(),
            slot_index: HashMap::new(),
            slots: Vec::new(),
            pending_refs: Vec::new(),
        };
        let root = p.level(v, &mut Vec::new())?;
        // Every `references` must name an object some entry creates.
        let mut defined = std::collections::HashSet::new();
        collect_objects(&root, &p.slots, &mut defined);
        for (path, name) in &p.pending_refs {
            if !defined.contains(name.as_str()) {
                return Err(ResultsError::Mapping(format!(
                    "{}: `references` names `{name}`, which no entry of the map defines as an object",
                    pointer(path)
                )));
            }
        }
        Ok(ToStixMap {
            root,
            slots: p.slots,
        })
    }
}

fn collect_objects<'a>(
    level: &Level,
    slots: &'a [String],
    out: &mut std::collections::HashSet<&'a str>,
) {
    for node in &level.nodes {
        match node {
            Node::Level(l) => collect_objects(l, slots, out),
            Node::Entries(es) => {
                for e in es {
                    if let Some(t) = &e.object {
                        out.insert(slots[t.slot].as_str());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_parse_and_are_consistent() {
        for v21 in [false, true] {
            let m = load(v21, None).expect("default map parses");
            assert!(m.slots.len() > 10);
        }
        // The two maps differ only in the finding severity property.
        let a = pyjson_text(default_to_stix_map(false)).replace("\"x-ibm-finding.severity\"", "X");
        let b = pyjson_text(default_to_stix_map(true)).replace("\"x-ibm-finding.x_severity\"", "X");
        assert_eq!(a, b);
    }

    fn pyjson_text(v: &Value) -> String {
        crate::pyjson::to_string_compact(v)
    }

    #[test]
    fn key_index_finds_exactly_its_keys() {
        let mut level = Level::default();
        let keys: Vec<String> = (0..200)
            .map(|i| format!("{}{i}", "k".repeat(i % 23)))
            .chain([
                "".to_owned(),
                "a".to_owned(),
                "container.label.io.kubernetes.pod.name".to_owned(),
            ])
            .collect();
        for k in &keys {
            level.insert(k, Node::Entries(Vec::new()));
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(level.index.get(k), Some(i), "{k}");
        }
        for k in [
            "b",
            "kk",
            "container.label.io.kubernetes.pod.namf",
            "container.label.io.kubernetes.pod.nXme",
            "k1 ",
            "kkkkkkkkkkkkkkkkkkkkkk",
            "kkkkkkkkk15",
            "\0",
        ] {
            assert_eq!(level.index.get(k), None, "{k}");
        }
    }

    #[test]
    fn bad_overrides_are_mapping_errors() {
        for (map, msg) in [
            (
                json!({"a": {"key": "x.y", "transformer": "Nope"}}),
                "/a: unknown transformer `Nope`",
            ),
            (
                json!({"a": {"key": "x.y", "references": "ghost"}}),
                "/a: `references` names `ghost`",
            ),
            (
                json!({"a": [{"key": "x.y", "bogus": 1}]}),
                "/a/0: unknown field `bogus`",
            ),
            (json!({"a": 3}), "/a: expected an entry"),
            (json!({"a": {"key": "x..y"}}), "/a: malformed key"),
            (json!([1]), "expected an object"),
        ] {
            let err = load(false, Some(&map)).unwrap_err();
            assert_eq!(err.code(), "mapping_error");
            assert!(err.to_string().contains(msg), "{err} / {msg}");
        }
    }
}
