//! One event → its STIX objects (sysdig-connector.md §6, contract §6.3), with
//! the pre-processing of §7.3 applied while the event is read.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::Warning;
use crate::fastjson::{FastDe, FastError, KeyMemo};
use crate::mapping::{Entry, Level, Node, ObjectTarget, Refs, ToStixMap, ValueCheck};
use crate::preprocess::{self, ANAMES, FINDING_TYPE, NA, THREAT};
use crate::timestamp;
use crate::transform::{is_domain_name, is_ipv4, is_ipv6, is_mac, Transformer};
use crate::value::{CowStr, Val};

/// Everything an event translation needs that does not change per event.
pub(crate) struct Engine {
    pub(crate) map: std::sync::Arc<ToStixMap>,
    pub(crate) preprocess: bool,
    /// `x-<identity name>` type of the `unmapped_fallback` object, if enabled.
    pub(crate) fallback_type: Option<String>,
    /// STIX 2.0: a user-account needs `user_id`; without one it is dropped.
    pub(crate) require_user_id: bool,
    /// Property names the writer gives every object itself: an event key of
    /// that name in the fallback object is renamed `x_<name>` (written as is,
    /// the object would hold the name twice).
    pub(crate) reserved: &'static [&'static str],
}

/// [`Engine::reserved`] for STIX 2.0 (`type`) and 2.1 (`type`, `id`, `spec_version`).
pub(crate) const RESERVED_20: &[&str] = &["type"];
pub(crate) const RESERVED_21: &[&str] = &["type", "id", "spec_version"];

/// A property value while an event is read: references hold map slots
/// until [`Builder::finish`] turns them into positions in place.
type P<'de> = FinalProp<'de>;

struct Obj<'m, 'de> {
    ty: &'m str,
    touch: u32,
    real: Option<u32>,
    props: Vec<(Name<'m, 'de>, P<'de>)>,
}

/// A final property value: references hold positions in [`Translated::objects`].
#[derive(Debug)]
pub(crate) enum FinalProp<'de> {
    V(Val<'de>),
    Ref(usize),
    Refs(Vec<usize>),
}

#[derive(Debug)]
pub(crate) struct FinalObj<'m, 'de> {
    pub(crate) ty: &'m str,
    pub(crate) props: Vec<(Name<'m, 'de>, FinalProp<'de>)>,
}

/// The translation of one event.
#[derive(Debug, Default)]
pub(crate) struct Translated<'m, 'de> {
    /// In index order (`"0"`, `"1"`, ... densely).
    pub(crate) objects: Vec<FinalObj<'m, 'de>>,
    /// Positions in the order objects first received a real property (STIX 2.1 `object_refs`).
    pub(crate) real_order: Vec<usize>,
    /// Observation-level properties (`first_observed`, `last_observed`) that were valid.
    pub(crate) obs: Vec<(&'m str, Val<'de>)>,
    pub(crate) warnings: Vec<Warning>,
    /// The element was not a JSON object.
    pub(crate) not_object: Option<&'static str>,
}

enum ItemKind<'m> {
    Mapped(&'m [Entry]),
    Unmapped,
}

/// A mapped (or, with the fallback object, unmapped) value of the event:
/// the value phase ([`Ctx::apply`]) turns it into operations.
struct Item<'m, 'de> {
    kind: ItemKind<'m>,
    key: Cow<'de, str>,
    path: u16,
    val: Val<'de>,
}

/// An item whose value phase waits for the end of the event: a key of the
/// event itself that a `connect` event's pre-processing may set again
/// ([`preprocess::CONNECT_KEYS`]). The new value takes the old one's place,
/// as a Python dict assignment does.
struct Deferred<'m, 'de> {
    item: Item<'m, 'de>,
    /// Its number among the event's items (orders the warnings).
    ord: u32,
    /// Where its operations go in [`Ctx::ops`].
    at_op: usize,
}

#[derive(Default)]
struct Pre<'de> {
    saw_fields: bool,
    connect: bool,
    fd_name: Option<Val<'de>>,
    l4proto: Option<Val<'de>>,
    anames: Vec<Val<'de>>,
    has_anames: bool,
    has_finding_type: bool,
}

/// One event while it is read. Each value goes through the value phase as
/// soon as it is read (no list of items in between), apart from the few
/// the pre-processing may replace ([`Deferred`]).
pub(crate) struct Ctx<'m, 'de> {
    engine: &'m Engine,
    /// The operations so far, in item order (deferred items' operations
    /// are put in their place at the end).
    ops: Vec<Op<'m, 'de>>,
    /// False once an operation's objects depend on its value ([`Ops::structural`]).
    structural: bool,
    /// Items seen so far (numbers them).
    items: u32,
    deferred: Vec<Deferred<'m, 'de>>,
    /// Visited levels as (parent, key); entry 0 is the event itself.
    paths: Vec<(u16, Cow<'de, str>)>,
    pre: Pre<'de>,
    /// Warnings while reading and pre-processing.
    warnings: Vec<Warning>,
    /// Warnings of the value phase, with their item's number: they follow
    /// [`Ctx::warnings`], in item order.
    value_warnings: Vec<(u32, Warning)>,
    /// Keys given twice in one object: whether to look for them (text
    /// readers; a parsed `Value` has none), and whether one was found.
    repeats: Repeats,
}

/// Looking for a key given twice in one object of the event.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Repeats {
    Unchecked,
    Checked,
    Found,
}

/// The dotted name of level `path` (`""` for the event itself), for warnings.
fn path_text(paths: &[(u16, Cow<'_, str>)], path: u16) -> String {
    let mut parts = Vec::new();
    let mut p = path;
    while p != 0 {
        let (parent, key) = &paths[usize::from(p)];
        parts.push(key.as_ref());
        p = *parent;
    }
    parts.reverse();
    parts.join(".")
}

/// The dotted name of field `key` at level `path`, for warnings.
fn field_path(paths: &[(u16, Cow<'_, str>)], path: u16, key: &str) -> String {
    let p = path_text(paths, path);
    if p.is_empty() {
        key.to_owned()
    } else {
        format!("{p}.{key}")
    }
}

/// A key of `content.fields` the pre-processing reads, or a key of the
/// event itself that it may set ([`Deferred`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Special {
    No,
    /// One of [`preprocess::CONNECT_KEYS`], in the event itself.
    Connect,
    EvtType,
    FdName,
    L4Proto,
    /// `proc.anames` itself.
    Anames,
    /// `proc.aname[N]` (any other key holding `proc.aname`).
    Aname,
}

impl Special {
    fn of(key: &str) -> Special {
        match key {
            "evt.type" => Special::EvtType,
            "fd.name" => Special::FdName,
            "fd.l4proto" => Special::L4Proto,
            ANAMES => Special::Anames,
            k if preprocess::is_aname_key(k) => Special::Aname,
            _ => Special::No,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Root,
    Content,
    Fields,
    Other,
}

struct LevelSeed<'a, 'm, 'de> {
    ctx: &'a mut Ctx<'m, 'de>,
    at: Child<'m>,
}

/// What the root seed saw when the element was not an object.
struct NotObject(&'static str);

impl<'de> DeserializeSeed<'de> for LevelSeed<'_, '_, 'de> {
    type Value = Option<NotObject>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

macro_rules! not_object {
    ($($f:ident($t:ty) => $k:expr;)*) => {$(
        fn $f<E: de::Error>(self, _v: $t) -> Result<Self::Value, E> {
            Ok(Some(NotObject($k)))
        }
    )*};
}

impl<'de> Visitor<'de> for LevelSeed<'_, '_, 'de> {
    type Value = Option<NotObject>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    not_object! {
        visit_bool(bool) => "a boolean";
        visit_i64(i64) => "a number";
        visit_u64(u64) => "a number";
        visit_f64(f64) => "a number";
        visit_str(&str) => "a string";
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Some(NotObject("null")))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Some(NotObject("an array")))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let LevelSeed { ctx, at } = self;
        // The keys read, to find one given twice (`Engine::read_text`).
        let mut keys = (ctx.repeats == Repeats::Checked).then(std::collections::HashSet::new);
        while let Some(CowStr(key)) = map.next_key::<CowStr<'de>>()? {
            if keys.as_mut().is_some_and(|k| !k.insert(key.clone())) {
                ctx.repeats = Repeats::Found;
                return Err(de::Error::custom("a key given twice in one object"));
            }
            let facts = ctx.facts(at.level, at.kind, &key);
            match ctx.key(at, &key, facts) {
                Step::Descend(child) => {
                    let seed = LevelSeed {
                        ctx: &mut *ctx,
                        at: child,
                    };
                    if let Some(NotObject(found)) = map.next_value_seed(seed)? {
                        ctx.not_object(child, found);
                    }
                }
                Step::Skip => {
                    map.next_value::<IgnoredAny>()?;
                }
                Step::Value(mapped, special) => {
                    let val = map.next_value()?;
                    ctx.value(at.kind, at.path, key, mapped, special, val);
                }
            }
        }
        ctx.end_level(at.level, at.kind, at.path);
        Ok(None)
    }
}

/// A nested level of the event to read: its map level, kind and path index.
#[derive(Clone, Copy)]
pub(crate) struct Child<'m> {
    pub(crate) level: Option<&'m Level>,
    pub(crate) kind: Kind,
    pub(crate) path: u16,
}

/// What a key means in its level ([`Ctx::facts`]); readers may keep them
/// for a key they see again at the same place ([`KeyMemo`]).
#[derive(Clone, Copy)]
pub(crate) struct KeyFacts {
    /// The key's position in the map level.
    node: Option<u32>,
    child_kind: Kind,
    finding_type: bool,
    special: Special,
}

#[cfg(test)]
impl KeyFacts {
    /// Facts of a key that means nothing in its level.
    pub(crate) fn none() -> Self {
        KeyFacts {
            node: None,
            child_kind: Kind::Other,
            finding_type: false,
            special: Special::No,
        }
    }
}

/// What a reader does with the value of a key, decided from the key alone.
pub(crate) enum Step<'m> {
    /// A level to read key by key (an object is expected).
    Descend(Child<'m>),
    /// Not needed.
    Skip,
    /// Read the value and hand it to [`Ctx::value`].
    Value(Option<&'m [Entry]>, Special),
}

impl<'m, 'de> Ctx<'m, 'de> {
    pub(crate) fn new(engine: &'m Engine) -> Self {
        Self::with_ops(engine, Vec::new())
    }

    /// A context that pushes its operations on `ops` (an empty buffer kept
    /// from an earlier event).
    pub(crate) fn with_ops(engine: &'m Engine, mut ops: Vec<Op<'m, 'de>>) -> Self {
        ops.clear();
        ops.reserve(96);
        Ctx {
            engine,
            ops,
            structural: true,
            items: 0,
            deferred: Vec::new(),
            value_warnings: Vec::new(),
            // The event, `content`, `content.fields`, `labels` and a few
            // more without growing.
            paths: {
                let mut p = Vec::with_capacity(8);
                p.push((0, Cow::Borrowed("")));
                p
            },
            pre: Pre::default(),
            warnings: Vec::new(),
            repeats: Repeats::Unchecked,
        }
    }

    /// What the key `key` of a level of kind `kind` (map level `level`)
    /// means, from the key alone: the same for the same three.
    #[inline]
    pub(crate) fn facts(&self, level: Option<&'m Level>, kind: Kind, key: &str) -> KeyFacts {
        let pre_on = self.engine.preprocess;
        KeyFacts {
            node: level.and_then(|l| l.position(key)).map(|i| i as u32),
            child_kind: match (kind, key) {
                (Kind::Root, "content") => Kind::Content,
                (Kind::Content, "fields") => Kind::Fields,
                _ => Kind::Other,
            },
            finding_type: kind == Kind::Root && key == FINDING_TYPE,
            special: if kind == Kind::Fields && pre_on {
                Special::of(key)
            } else if kind == Kind::Root && pre_on && preprocess::CONNECT_KEYS.contains(&key) {
                Special::Connect
            } else {
                Special::No
            },
        }
    }

    /// A key of the level `at`, with its [`Ctx::facts`].
    // `&Cow`, not `&str`: a level's key is kept (cloned, still borrowing
    // from the input when it did) for warnings about its fields.
    #[allow(clippy::ptr_arg)]
    #[inline]
    pub(crate) fn key(&mut self, at: Child<'m>, key: &Cow<'de, str>, facts: KeyFacts) -> Step<'m> {
        let node = match (at.level, facts.node) {
            (Some(l), Some(i)) => Some(l.node(i as usize)),
            _ => None,
        };
        let child_kind = facts.child_kind;
        if facts.finding_type {
            self.pre.has_finding_type = true;
        }
        let descend_level = match node {
            Some(Node::Level(l)) => Some(Some(l)),
            None if self.engine.preprocess && child_kind != Kind::Other => Some(None),
            _ => None,
        };
        if let Some(child_level) = descend_level {
            self.paths.push((at.path, key.clone()));
            if child_kind == Kind::Fields {
                self.pre.saw_fields = true;
            }
            return Step::Descend(Child {
                level: child_level,
                kind: child_kind,
                path: (self.paths.len() - 1) as u16,
            });
        }
        let mapped = match node {
            Some(Node::Entries(es)) => Some(es.as_slice()),
            _ => None,
        };
        if mapped.is_none() && facts.special == Special::No && self.engine.fallback_type.is_none() {
            return Step::Skip;
        }
        Step::Value(mapped, facts.special)
    }

    /// The value of a [`Step::Descend`] key was not an object (`found`
    /// says what it was).
    pub(crate) fn not_object(&mut self, child: Child<'m>, found: &'static str) {
        let f = path_text(&self.paths, child.path);
        if child.kind == Kind::Fields {
            self.pre.saw_fields = false;
        }
        self.warnings.push(Warning::new(
            Some(&f),
            format!("expected an object, found {found}; ignored"),
        ));
    }

    /// The value of a [`Step::Value`] key.
    #[inline(always)]
    pub(crate) fn value(
        &mut self,
        kind: Kind,
        path: u16,
        key: Cow<'de, str>,
        mapped: Option<&'m [Entry]>,
        special: Special,
        mut val: Val<'de>,
    ) {
        if kind == Kind::Fields && self.engine.preprocess {
            if val.as_str() == Some(NA) {
                val = Val::Str(Cow::Borrowed(""));
            }
            match special {
                Special::No | Special::Connect => {}
                Special::EvtType => self.pre.connect = val.as_str() == Some("connect"),
                Special::FdName => self.pre.fd_name = Some(val.clone()),
                Special::L4Proto => self.pre.l4proto = Some(val.clone()),
                Special::Anames => self.pre.has_anames = true,
                Special::Aname => match &val {
                    Val::Str(s) if !s.is_empty() => self.pre.anames.push(val.clone()),
                    Val::Str(_) | Val::Null => {}
                    other => {
                        let f = field_path(&self.paths, path, &key);
                        self.warnings.push(Warning::new(
                            Some(&f),
                            format!(
                                "expected a string, found {}; not added to `proc.anames`",
                                other.kind()
                            ),
                        ));
                    }
                },
            }
        }
        let Some((kind_item, ord)) = self.admit(mapped) else {
            crate::value::discard(val);
            return;
        };
        // Known from the key (its facts), not compared with the seven names
        // for every value of the event itself.
        if special == Special::Connect {
            self.deferred.push(Deferred {
                item: Item {
                    kind: kind_item,
                    key,
                    path,
                    val,
                },
                ord,
                at_op: self.ops.len(),
            });
            return;
        }
        // The item's parts: an `Item` is made only for a deferred key.
        self.apply(kind_item, key, path, &mut val, ord);
        crate::value::discard(val);
    }

    /// What a value of a key with the map entries `mapped` is: mapped, or
    /// an unmapped key for the fallback object, numbered as the next item;
    /// `None` when nothing takes it.
    fn admit(&mut self, mapped: Option<&'m [Entry]>) -> Option<(ItemKind<'m>, u32)> {
        let kind = match mapped {
            Some(es) => ItemKind::Mapped(es),
            None if self.engine.fallback_type.is_some() => ItemKind::Unmapped,
            None => return None,
        };
        let ord = self.items;
        self.items += 1;
        Some((kind, ord))
    }

    /// The value phase of one item: each entry applied to the value
    /// (transformers, the checks of the target, empty values dropped),
    /// operations pushed on [`Ctx::ops`]. The value is taken (left `Null`)
    /// only by its last use: passed by value, it was copied whole into this
    /// function right after the reader wrote it, a copy that waited on the
    /// stores (11.6% of the reader's samples at that one load).
    #[inline]
    fn apply(
        &mut self,
        kind: ItemKind<'m>,
        key: Cow<'de, str>,
        path: u16,
        val: &mut Val<'de>,
        ord: u32,
    ) {
        let engine = self.engine;
        if matches!(val, Val::Null) {
            return;
        }
        let entries = match kind {
            ItemKind::Mapped(es) => es,
            // Only made with a fallback object (`admit`).
            ItemKind::Unmapped => {
                if is_empty(val) {
                    return;
                }
                let val = std::mem::replace(val, Val::Null);
                let (mut prop, nested, cut) = split_fallback_key(key);
                if cut {
                    // The parts that nest, then `…` (the key may be huge).
                    let key: Vec<&str> = std::iter::once(prop.as_ref())
                        .chain(nested[..nested.len() - 1].iter().map(String::as_str))
                        .chain(std::iter::once("…"))
                        .collect();
                    let path = field_path(&self.paths, path, &key.join("."));
                    self.value_warnings.push((ord, Warning::new(
                        Some(&path),
                        format!(
                            "more than {MAX_FALLBACK_PARTS} dotted parts; the rest of the key is one property name"
                        ),
                    )));
                }
                if engine.reserved.contains(&&*prop) {
                    prop = Cow::Owned(format!("x_{prop}"));
                }
                let v = wrap(nested.into_iter().map(Cow::Owned), val);
                self.structural = false;
                self.ops.push(Op::Fallback(Box::new((prop, v))));
                return;
            }
        };
        // The last entry takes the value itself; those before it, copies.
        let Some((last, rest)) = entries.split_last() else {
            return;
        };
        // No `Option` around the values: moving a value into one right
        // after it was written stalled on store forwarding.
        for e in rest {
            let v = match e.transformer {
                None => val.clone(),
                Some(t) => match t.apply(val) {
                    Some(v) => v,
                    None => {
                        self.not_converted(t, val, &key, path, ord);
                        continue;
                    }
                },
            };
            self.emit(e, v);
        }
        let v = match last.transformer {
            None => std::mem::replace(val, Val::Null),
            Some(t) => match t.apply(val) {
                Some(v) => v,
                None => return self.not_converted(t, val, &key, path, ord),
            },
        };
        self.emit(last, v);
    }

    /// The transformer `t` of an entry gave nothing for the value `val` of
    /// the key `key` at level `path`: a warning, unless the value was empty.
    #[cold]
    fn not_converted(&mut self, t: Transformer, val: &Val<'de>, key: &str, path: u16, ord: u32) {
        if is_empty(val) {
            return;
        }
        let f = field_path(&self.paths, path, key);
        self.value_warnings.push((
            ord,
            Warning::new(
                Some(&f),
                format!("{} cannot convert this value; property dropped", t.name()),
            ),
        ));
    }

    /// One entry's value after its transformer: an operation, unless the
    /// target cannot hold it or it is empty.
    #[inline]
    fn emit(&mut self, e: &'m Entry, v: Val<'de>) {
        let Some(target) = &e.object else {
            // What TimestampConversion gives is a STIX timestamp already.
            if matches!(e.obs_key.as_str(), "first_observed" | "last_observed")
                && e.transformer != Some(Transformer::TimestampConversion)
                && !v.as_str().is_some_and(timestamp::is_stix_timestamp)
            {
                crate::value::discard(v);
                return;
            }
            self.ops.push(Op::Map(e, v));
            return;
        };
        if e.refs.is_some() {
            crate::value::discard(v);
            self.ops.push(Op::Map(e, Val::Null));
            return;
        }
        let ok = match target.check {
            ValueCheck::Any => true,
            ValueCheck::Ipv4 => v.as_str().is_some_and(is_ipv4),
            ValueCheck::Ipv6 => v.as_str().is_some_and(is_ipv6),
            ValueCheck::DomainName => v.as_str().is_some_and(is_domain_name),
            ValueCheck::Mac => v.as_str().is_some_and(is_mac),
        };
        if !ok || is_empty(&v) {
            crate::value::discard(v);
            return;
        }
        if matches!(v, Val::Obj(_)) {
            self.structural = false;
        }
        self.ops.push(Op::Map(e, v));
    }

    /// After the last key of a level.
    pub(crate) fn end_level(&mut self, level: Option<&'m Level>, kind: Kind, path: u16) {
        if kind == Kind::Fields && self.engine.preprocess && !self.pre.has_anames {
            let anames = Val::Arr(std::mem::take(&mut self.pre.anames));
            push_synthetic(self, level, path, ANAMES, anames);
        }
    }
}

/// Set a key the pre-processing derives: replace the value in place when the
/// event already has the key (only the keys of [`Deferred`] items can be
/// there), else append it (Python dict assignment).
fn push_synthetic<'m, 'de>(
    ctx: &mut Ctx<'m, 'de>,
    level: Option<&'m Level>,
    path: u16,
    key: &'static str,
    mut val: Val<'de>,
) {
    if let Some(d) = ctx
        .deferred
        .iter_mut()
        .find(|d| d.item.path == path && d.item.key == key)
    {
        d.item.val = val;
        return;
    }
    let mapped = match level.and_then(|l| l.get(key)) {
        Some(Node::Entries(es)) => Some(es.as_slice()),
        _ => None,
    };
    if let Some((kind, ord)) = ctx.admit(mapped) {
        ctx.apply(kind, Cow::Borrowed(key), path, &mut val, ord);
        crate::value::discard(val);
    }
}

/// A `connect` event's derived keys ([`preprocess::connect_derived`]) set
/// on the event, each value made by `text` from its part of `fd_name` or
/// `l4proto`; or the warning why there are none.
fn push_connect<'a, 'm, 'de>(
    ctx: &mut Ctx<'m, 'de>,
    root: Option<&'m Level>,
    fd_name: Option<&'a str>,
    l4proto: Option<&'a str>,
    text: impl Fn(&'a str) -> Cow<'de, str>,
) {
    match preprocess::connect_derived(fd_name, l4proto) {
        Ok(keys) => {
            for (k, v) in keys {
                push_synthetic(ctx, root, 0, k, Val::Str(text(v)));
            }
        }
        Err(w) => ctx.warnings.push(w),
    }
}

/// One mapping entry applied to one value of an event, after every check
/// that looks at the value: what [`Engine::assemble`] needs, which decides
/// the objects' structure from the operations alone.
pub(crate) enum Op<'m, 'de> {
    /// A mapped value (an observation property, a reference, or an object
    /// property, as the entry says).
    Map(&'m Entry, Val<'de>),
    /// An unmapped key into the fallback object: property name and value
    /// (already nested along the key's dots). Boxed: rare, and an
    /// operation is moved several times per value (40 bytes, not 64).
    Fallback(Box<(Cow<'de, str>, Val<'de>)>),
}

impl<'m, 'de> Op<'m, 'de> {
    /// The map entry of a mapped value (`None` for the fallback object).
    pub(crate) fn entry(&self) -> Option<&'m Entry> {
        match self {
            Op::Map(e, _) => Some(e),
            Op::Fallback(..) => None,
        }
    }

    pub(crate) fn value(&self) -> &Val<'de> {
        match self {
            Op::Map(_, v) => v,
            Op::Fallback(kv) => &kv.1,
        }
    }
}

/// An event read and checked, before its objects are assembled.
pub(crate) struct Ops<'m, 'de> {
    pub(crate) ops: Vec<Op<'m, 'de>>,
    /// Warnings about the event's values.
    pub(crate) warnings: Vec<Warning>,
    /// The element was not a JSON object.
    pub(crate) not_object: Option<&'static str>,
    /// See [`Ops::structural`] (set while the operations are made).
    structural: bool,
}

impl<'m, 'de> Ops<'m, 'de> {
    /// The same operations with [`Val::Hole`]s for values, numbered in
    /// order (no warnings).
    pub(crate) fn with_holes(&self) -> Ops<'m, 'de> {
        let ops = (0u32..)
            .zip(&self.ops)
            .map(|(n, op)| match op {
                Op::Map(e, _) => Op::Map(e, Val::Hole(n)),
                Op::Fallback(kv) => Op::Fallback(Box::new((kv.0.clone(), Val::Hole(n)))),
            })
            .collect();
        Ops {
            ops,
            warnings: Vec::new(),
            not_object: self.not_object,
            structural: self.structural,
        }
    }

    /// Whether the objects assembled from these operations depend on which
    /// operations there are, in which order, and not on the values: true
    /// unless a value merges with another (an object property's value is
    /// an object) or a property is named by the event (the fallback object).
    pub(crate) fn structural(&self) -> bool {
        self.not_object.is_none() && self.structural
    }
}

impl Engine {
    /// Read one event from a parsed `Value`: the operations it maps to.
    pub(crate) fn read<'m: 'de, 'de>(
        &'m self,
        event: &'de serde_json::Value,
    ) -> Result<Ops<'m, 'de>, serde_json::Error> {
        let mut ctx = Ctx::new(self);
        let not_object = self.seed(event, &mut ctx)?;
        Ok(self.done(ctx, not_object))
    }

    /// Read one event from JSON text: the operations it maps to, or `None`
    /// when an object of it gives a key twice (Python's `json`, the
    /// reference's, keeps the last value, which only the parsed `Value`
    /// knows: read that instead).
    pub(crate) fn read_text<'m: 'de, 'de, D: Deserializer<'de>>(
        &'m self,
        d: D,
    ) -> Result<Option<Ops<'m, 'de>>, D::Error> {
        let mut ctx = Ctx::new(self);
        ctx.repeats = Repeats::Checked;
        match self.seed(d, &mut ctx) {
            Ok(not_object) => Ok(Some(self.done(ctx, not_object))),
            Err(_) if ctx.repeats == Repeats::Found => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The event's levels read from `d` into `ctx`; what the event was if
    /// not an object.
    fn seed<'m: 'de, 'de, D: Deserializer<'de>>(
        &'m self,
        d: D,
        ctx: &mut Ctx<'m, 'de>,
    ) -> Result<Option<NotObject>, D::Error> {
        LevelSeed {
            ctx,
            at: self.root(),
        }
        .deserialize(d)
    }

    /// The operations of an event read into `ctx`.
    fn done<'m: 'de, 'de>(
        &'m self,
        ctx: Ctx<'m, 'de>,
        not_object: Option<NotObject>,
    ) -> Ops<'m, 'de> {
        match not_object {
            Some(NotObject(k)) => Ops {
                ops: Vec::new(),
                warnings: Vec::new(),
                not_object: Some(k),
                structural: false,
            },
            None => self.finish(ctx),
        }
    }

    /// Read one event straight from the fast parser's bytes (the streaming
    /// path): the same operations as [`Engine::read`], or
    /// [`FastError::Bail`] for anything the fast parser leaves to serde_json,
    /// an element that is not an object included.
    pub(crate) fn read_fast<'m: 'de, 'de>(
        &'m self,
        de: &mut FastDe<'de>,
        memo: &mut KeyMemo,
        ops: Vec<Op<'m, 'de>>,
    ) -> Result<Ops<'m, 'de>, FastError> {
        let mut ctx = Ctx::with_ops(self, ops);
        de.read_level(&mut ctx, self.root(), memo)?;
        Ok(self.finish(ctx))
    }

    /// The event itself, the level readers start from.
    fn root(&self) -> Child<'_> {
        Child {
            level: Some(&self.map.root),
            kind: Kind::Root,
            path: 0,
        }
    }

    /// The event's keys are read: the pre-processing's derived keys, then the value phase.
    fn finish<'m: 'de, 'de>(&'m self, mut ctx: Ctx<'m, 'de>) -> Ops<'m, 'de> {
        if self.preprocess {
            self.finish_preprocess(&mut ctx);
        }
        self.ops(ctx)
    }

    fn finish_preprocess<'m, 'de>(&'m self, ctx: &mut Ctx<'m, 'de>) {
        let root = Some(&self.map.root);
        if !ctx.pre.saw_fields {
            ctx.warnings.push(Warning::new(
                Some("content.fields"),
                "missing; no process, user or network details",
            ));
        }
        if !ctx.pre.has_finding_type {
            push_synthetic(ctx, root, 0, FINDING_TYPE, Val::Str(Cow::Borrowed(THREAT)));
        }
        if !ctx.pre.connect {
            return;
        }
        let fd_name = ctx.pre.fd_name.take();
        let l4 = ctx.pre.l4proto.take();
        // The derived values are parts of `fd.name` (and `fd.l4proto`):
        // borrowed from the input when those are, else copied.
        let owned = |v: &Option<Val<'_>>| matches!(v, Some(Val::Str(Cow::Owned(_))));
        if owned(&fd_name) || owned(&l4) {
            push_connect(
                ctx,
                root,
                fd_name.as_ref().and_then(Val::as_str),
                l4.as_ref().and_then(Val::as_str),
                |v| Cow::Owned(v.to_owned()),
            );
        } else {
            let borrowed = |v: Option<Val<'de>>| match v {
                Some(Val::Str(Cow::Borrowed(s))) => Some(s),
                _ => None,
            };
            push_connect(ctx, root, borrowed(fd_name), borrowed(l4), Cow::Borrowed);
        }
    }

    /// The end of the value phase: the deferred items' operations put in
    /// their places, the warnings in order.
    fn ops<'m: 'de, 'de>(&'m self, mut ctx: Ctx<'m, 'de>) -> Ops<'m, 'de> {
        let mut ops = std::mem::take(&mut ctx.ops);
        let deferred = std::mem::take(&mut ctx.deferred);
        let sorted = deferred.is_empty();
        // From the last: inserting a run shifts only the runs after it.
        // Each run is made in `ctx.ops`, empty meanwhile.
        for d in deferred.into_iter().rev() {
            let Item {
                kind,
                key,
                path,
                mut val,
            } = d.item;
            ctx.apply(kind, key, path, &mut val, d.ord);
            crate::value::discard(val);
            ops.splice(d.at_op..d.at_op, ctx.ops.drain(..));
        }
        let mut warnings = ctx.warnings;
        if !sorted {
            ctx.value_warnings.sort_by_key(|(ord, _)| *ord);
        }
        warnings.extend(ctx.value_warnings.into_iter().map(|(_, w)| w));
        Ops {
            ops,
            warnings,
            not_object: None,
            structural: ctx.structural,
        }
    }

    /// The structure phase: the objects, their properties and references,
    /// from the operations (which values they hold is not looked at, apart
    /// from merging object values: see [`Ops::structural`]).
    pub(crate) fn assemble<'m: 'de, 'de>(
        &'m self,
        ops: Ops<'m, 'de>,
        pool: &mut Pool,
    ) -> Translated<'m, 'de> {
        if let Some(k) = ops.not_object {
            return Translated {
                not_object: Some(k),
                warnings: ops.warnings,
                ..Translated::default()
            };
        }
        let n_slots = self.map.slots.len() + 1;
        let fallback_slot = n_slots - 1;
        let mut b = Builder {
            pool,
            objs: (0..n_slots).map(|_| None).collect(),
            touch: 0,
            real: 0,
            pending: Vec::new(),
        };
        let mut obs: Vec<(&'m str, Val<'de>)> = Vec::new();
        for op in ops.ops {
            let (e, v) = match op {
                Op::Fallback(kv) => {
                    let (prop, v) = *kv;
                    if let Some(ty) = self.fallback_type.as_deref() {
                        b.set(fallback_slot, ty, Name::Ev(prop), P::V(v), true);
                    }
                    continue;
                }
                Op::Map(e, v) => (e, v),
            };
            let Some(target) = &e.object else {
                let key = e.obs_key.as_str();
                if !obs.iter().any(|(k, _)| *k == key) {
                    obs.push((key, v));
                }
                continue;
            };
            let prop = target;
            match &e.refs {
                Some(Refs::One(t)) => {
                    if b.objs[*t].is_some() {
                        b.set(target.slot, &target.ty, Name::Map(prop), P::Ref(*t), false);
                    } else {
                        b.pending.push((target.slot, prop, P::Ref(*t)));
                    }
                }
                Some(Refs::Many(ts)) => {
                    if ts.iter().any(|t| b.objs[*t].is_some()) {
                        b.set(
                            target.slot,
                            &target.ty,
                            Name::Map(prop),
                            P::Refs(ts.clone()),
                            false,
                        );
                    } else {
                        b.pending.push((target.slot, prop, P::Refs(ts.clone())));
                    }
                }
                None => b.set_value(target, v),
            }
        }
        b.finish(obs, ops.warnings, self.require_user_id)
    }
}

/// A property name: from the map, or (fallback object) from the event.
#[derive(Debug, Clone)]
pub(crate) enum Name<'m, 'de> {
    Map(&'m ObjectTarget),
    Ev(Cow<'de, str>),
}

impl Name<'_, '_> {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Name::Map(t) => &t.prop,
            Name::Ev(s) => s,
        }
    }

    fn same(&self, other: &Name<'_, '_>) -> bool {
        match (self, other) {
            (Name::Map(a), Name::Map(b)) => a.prop_id == b.prop_id,
            _ => self.as_str() == other.as_str(),
        }
    }
}

/// Dotted parts of an unmapped key that nest in the fallback object; the
/// rest of a longer key stays one property name in the last level (a key of
/// thousands of dots must not nest thousands of levels deep).
const MAX_FALLBACK_PARTS: usize = 32;

/// The property name and the nested names of an unmapped key, and whether
/// it had more than [`MAX_FALLBACK_PARTS`] parts.
fn split_fallback_key(key: Cow<'_, str>) -> (Cow<'_, str>, Vec<String>, bool) {
    if !key.contains('.') {
        return (key, Vec::new(), false);
    }
    let mut parts = key.splitn(MAX_FALLBACK_PARTS, '.').map(str::to_owned);
    let first = parts.next().unwrap_or_default();
    let nested: Vec<String> = parts.collect();
    let cut = nested.len() + 1 == MAX_FALLBACK_PARTS
        && nested.last().is_some_and(|last| last.contains('.'));
    (Cow::Owned(first), nested, cut)
}

fn is_empty(v: &Val<'_>) -> bool {
    match v {
        Val::Str(s) => s.is_empty(),
        Val::Arr(a) => a.is_empty(),
        _ => false,
    }
}

/// `{path[0]: {path[1]: ... v}}`.
fn wrap<'de>(path: impl DoubleEndedIterator<Item = Cow<'de, str>>, v: Val<'de>) -> Val<'de> {
    path.rev().fold(v, |v, seg| Val::Obj(vec![(seg, v)]))
}

/// [`wrap`] along a mapped path.
fn borrowed(path: &[String]) -> impl DoubleEndedIterator<Item = Cow<'_, str>> {
    path.iter().map(|s| Cow::Borrowed(s.as_str()))
}

/// `merge(node, wrap(path, v))`, walking the existing part of the path.
fn insert_path<'m: 'de, 'de>(node: &mut Val<'de>, path: &'m [String], v: Val<'de>) {
    let Some((seg, rest)) = path.split_first() else {
        merge(node, v);
        return;
    };
    // Not an object: the first value wins.
    let Val::Obj(o) = node else { return };
    match o.iter().position(|(k, _)| k == seg) {
        Some(j) => insert_path(&mut o[j].1, rest, v),
        None => o.push((Cow::Borrowed(seg.as_str()), wrap(borrowed(rest), v))),
    }
}

/// Deep merge, first value wins (stix-shifter's rule for `extensions`).
fn merge<'de>(old: &mut Val<'de>, new: Val<'de>) {
    if let (Val::Obj(o), Val::Obj(n)) = (old, new) {
        for (k, v) in n {
            match o.iter_mut().find(|(ok, _)| *ok == k) {
                Some((_, ov)) => merge(ov, v),
                None => o.push((k, v)),
            }
        }
    }
}

/// Property lists of objects already written, kept for the next events (their
/// allocations reused; the lists are empty).
#[derive(Default)]
pub(crate) struct Pool {
    props: Vec<PropList<'static, 'static>>,
}

type PropList<'m, 'de> = Vec<(Name<'m, 'de>, FinalProp<'de>)>;

impl Pool {
    /// Take back the property lists of a written translation.
    pub(crate) fn recycle(&mut self, t: Translated<'_, '_>) {
        for o in t.objects {
            let mut props = o.props;
            props.clear();
            // An empty list re-typed in place: same allocation, no element.
            self.props
                .push(props.into_iter().map(|_| unreachable!()).collect());
        }
    }

    fn take<'m, 'de>(&mut self) -> Vec<(Name<'m, 'de>, P<'de>)> {
        match self.props.pop() {
            Some(v) => v.into_iter().map(|_| unreachable!()).collect(),
            None => Vec::with_capacity(8),
        }
    }
}

struct Builder<'a, 'm, 'de> {
    pool: &'a mut Pool,
    objs: Vec<Option<Obj<'m, 'de>>>,
    touch: u32,
    real: u32,
    pending: Vec<(usize, &'m ObjectTarget, P<'de>)>,
}

impl<'m: 'de, 'de> Builder<'_, 'm, 'de> {
    fn set(&mut self, slot: usize, ty: &'m str, prop: Name<'m, 'de>, v: P<'de>, real: bool) {
        let obj = self.objs[slot].get_or_insert_with(|| {
            self.touch += 1;
            Obj {
                ty,
                touch: self.touch,
                real: None,
                props: self.pool.take(),
            }
        });
        match obj.props.iter_mut().find(|(p, _)| p.same(&prop)) {
            Some((_, P::V(old))) => {
                if let P::V(new) = v {
                    merge(old, new);
                }
            }
            Some(_) => {}
            None => obj.props.push((prop, v)),
        }
        if real && obj.real.is_none() {
            self.real += 1;
            obj.real = Some(self.real);
        }
    }

    /// [`set`](Self::set) of a mapped value, at `target.nested` inside the
    /// property if that is not empty: as setting `{nested[0]: {nested[1]:
    /// ... v}}` and merging, without building that value when the path
    /// already exists.
    fn set_value(&mut self, target: &'m ObjectTarget, v: Val<'de>) {
        let exists = !target.nested.is_empty()
            && self.objs[target.slot].as_ref().is_some_and(|o| {
                o.props
                    .iter()
                    .any(|(p, _)| matches!(p, Name::Map(t) if t.prop_id == target.prop_id))
            });
        if !exists {
            let v = wrap(borrowed(&target.nested), v);
            self.set(
                target.slot,
                &target.ty,
                Name::Map(target),
                P::V(v),
                !target.is_ref_prop,
            );
            return;
        }
        let Some(obj) = self.objs[target.slot].as_mut() else {
            return;
        };
        if let Some((_, P::V(old))) = obj
            .props
            .iter_mut()
            .find(|(p, _)| matches!(p, Name::Map(t) if t.prop_id == target.prop_id))
        {
            insert_path(old, &target.nested, v);
        }
        if !target.is_ref_prop && obj.real.is_none() {
            self.real += 1;
            obj.real = Some(self.real);
        }
    }

    fn finish(
        mut self,
        obs: Vec<(&'m str, Val<'de>)>,
        mut warnings: Vec<Warning>,
        require_user_id: bool,
    ) -> Translated<'m, 'de> {
        for (slot, prop, v) in std::mem::take(&mut self.pending) {
            if let Some(obj) = &mut self.objs[slot] {
                if !obj.props.iter().any(|(p, _)| p.same(&Name::Map(prop))) {
                    obj.props.push((Name::Map(prop), v));
                }
            }
        }
        let mut kept: Vec<bool> = self
            .objs
            .iter()
            .map(|o| o.as_ref().is_some_and(|o| o.real.is_some()))
            .collect();
        // Objects STIX rejects are dropped (with their references): in STIX
        // 2.0 a user-account without `user_id`; a process with no standard
        // property (only `x_` ones, or references to dropped objects).
        loop {
            let mut changed = false;
            for (slot, o) in self.objs.iter().enumerate() {
                let Some(o) = o else { continue };
                if !kept[slot] {
                    continue;
                }
                let why = match o.ty {
                    "user-account"
                        if require_user_id
                            && !o.props.iter().any(|(p, _)| p.as_str() == "user_id") =>
                    {
                        "user-account without user_id dropped (invalid STIX 2.0)"
                    }
                    "process"
                        if !o.props.iter().any(|(p, v)| {
                            !p.as_str().starts_with("x_")
                                && match v {
                                    P::V(_) => true,
                                    P::Ref(t) => kept[*t],
                                    P::Refs(ts) => ts.iter().any(|t| kept[*t]),
                                }
                        }) =>
                    {
                        "process with only custom properties dropped (invalid STIX)"
                    }
                    _ => continue,
                };
                kept[slot] = false;
                changed = true;
                warnings.push(Warning::new(None, why));
            }
            if !changed {
                break;
            }
        }
        // STIX requires network-traffic to have protocols and an endpoint.
        for (slot, o) in self.objs.iter().enumerate() {
            let Some(o) = o else { continue };
            if !kept[slot] || o.ty != "network-traffic" {
                continue;
            }
            let endpoint = o.props.iter().any(|(p, v)| {
                matches!(p.as_str(), "src_ref" | "dst_ref") && matches!(v, P::Ref(t) if kept[*t])
            });
            let protocols = o.props.iter().any(|(p, _)| p.as_str() == "protocols");
            if !endpoint || !protocols {
                kept[slot] = false;
                warnings.push(Warning::new(
                    None,
                    "network-traffic without protocols or without a valid endpoint address dropped (invalid STIX)",
                ));
            }
        }
        let mut order: Vec<usize> = (0..self.objs.len()).filter(|&s| kept[s]).collect();
        order.sort_by_key(|&s| self.objs[s].as_ref().map_or(0, |o| o.touch));
        let mut position = vec![usize::MAX; self.objs.len()];
        for (i, &s) in order.iter().enumerate() {
            position[s] = i;
        }
        let mut real_order: Vec<(u32, usize)> = order
            .iter()
            .enumerate()
            .map(|(i, &s)| (self.objs[s].as_ref().and_then(|o| o.real).unwrap_or(0), i))
            .collect();
        real_order.sort_unstable();
        let mut objects = Vec::with_capacity(order.len());
        for &s in &order {
            let Some(o) = self.objs[s].take() else {
                continue;
            };
            // References: slots → positions; to dropped objects: removed.
            let resolve = |t: &mut usize| match position.get(*t) {
                Some(&i) if i != usize::MAX => {
                    *t = i;
                    true
                }
                _ => false,
            };
            let mut props = o.props;
            props.retain_mut(|(_, v)| match v {
                P::V(_) => true,
                P::Ref(t) => resolve(t),
                P::Refs(ts) => {
                    ts.retain_mut(|t| resolve(t));
                    !ts.is_empty()
                }
            });
            objects.push(FinalObj { ty: o.ty, props });
        }
        Translated {
            objects,
            real_order: real_order.into_iter().map(|(_, i)| i).collect(),
            obs,
            warnings,
            not_object: None,
        }
    }
}
