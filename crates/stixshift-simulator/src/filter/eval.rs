//! Evaluation of a parsed filter against one event.

use std::cmp::Ordering;

use serde_json::Value;

use super::{CompareOp, Expr, Literal};

/// A number for comparisons: exact for integers, `f64` otherwise.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    /// Parses `-?\d+(\.\d+)?` (the only number syntax of the filter language;
    /// digit strings in events are read with the same rule).
    pub(crate) fn parse(text: &str) -> Option<Num> {
        let digits = text.strip_prefix('-').unwrap_or(text);
        let (int, frac) = match digits.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (digits, None),
        };
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        match frac {
            Some(f) if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) => None,
            Some(_) => text.parse::<f64>().ok().map(Num::Float),
            None => Some(
                text.parse::<i128>()
                    .map(Num::Int)
                    .unwrap_or_else(|_| Num::Float(text.parse::<f64>().unwrap_or(f64::NAN))),
            ),
        }
    }

    fn from_json(n: &serde_json::Number) -> Option<Num> {
        if let Some(i) = n.as_i64() {
            Some(Num::Int(i128::from(i)))
        } else if let Some(u) = n.as_u64() {
            Some(Num::Int(i128::from(u)))
        } else {
            n.as_f64().map(Num::Float)
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    fn compare(self, other: Num) -> Option<Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
        }
    }
}

/// Finds the value a filter field name refers to: the event's top-level key,
/// else a key of `content`, else of `labels`, else of `content.fields`.
/// `null` counts as absent.
///
/// ```
/// use serde_json::json;
/// use stixshift_simulator::filter::resolve_field;
/// let ev = json!({"source": "syscall", "content": {"ruleName": "r", "fields": {"proc.name": "sh"}},
///                 "labels": {"host.hostName": "h"}});
/// assert_eq!(resolve_field(&ev, "ruleName"), Some(&json!("r")));
/// assert_eq!(resolve_field(&ev, "proc.name"), Some(&json!("sh")));
/// assert_eq!(resolve_field(&ev, "host.hostName"), Some(&json!("h")));
/// assert_eq!(resolve_field(&ev, "nope"), None);
/// ```
pub fn resolve_field<'a>(event: &'a Value, field: &str) -> Option<&'a Value> {
    let found = event
        .get(field)
        .or_else(|| event.get("content").and_then(|c| c.get(field)))
        .or_else(|| event.get("labels").and_then(|l| l.get(field)))
        .or_else(|| {
            event
                .get("content")
                .and_then(|c| c.get("fields"))
                .and_then(|f| f.get(field))
        });
    found.filter(|v| !v.is_null())
}

/// Orders an event scalar against a literal, or `None` if they do not compare.
///
/// * If either side is a number (a JSON number in the event or an unquoted
///   literal), the comparison is numeric and the other side must be a number
///   or a digit string (`-?\d+(\.\d+)?`).
/// * Two strings compare exactly, by bytes (so `<`/`>` are lexicographic).
/// * A boolean compares as the string `true`/`false`; objects and arrays
///   compare with nothing.
fn compare(event: &Value, lit: &Literal) -> Option<Ordering> {
    match (event, lit) {
        (Value::Number(n), Literal::Number(l)) => {
            Num::from_json(n)?.compare(Num::parse(l.as_str())?)
        }
        (Value::Number(n), Literal::String(s)) => Num::from_json(n)?.compare(Num::parse(s)?),
        (Value::String(s), Literal::Number(l)) => Num::parse(s)?.compare(Num::parse(l.as_str())?),
        (Value::String(s), Literal::String(t)) => Some(s.as_str().cmp(t.as_str())),
        (Value::Bool(b), Literal::String(t)) => {
            Some(if *b { "true" } else { "false" }.cmp(t.as_str()))
        }
        _ => None,
    }
}

/// The elements an operator looks at: the items of an array, else the value.
fn elements(value: &Value) -> &[Value] {
    match value {
        Value::Array(items) => items,
        other => std::slice::from_ref(other),
    }
}

fn equals(value: &Value, lit: &Literal) -> bool {
    elements(value)
        .iter()
        .any(|e| compare(e, lit) == Some(Ordering::Equal))
}

fn text_of(lit: &Literal) -> &str {
    match lit {
        Literal::String(s) => s,
        Literal::Number(n) => n.as_str(),
    }
}

fn contains_text(value: &Value, needle_lower: &str) -> bool {
    match value {
        Value::String(s) => s.to_lowercase().contains(needle_lower),
        Value::Array(items) => items.iter().any(|v| contains_text(v, needle_lower)),
        Value::Object(map) => map.values().any(|v| contains_text(v, needle_lower)),
        _ => false,
    }
}

impl Expr {
    /// Whether `event` satisfies the filter.
    ///
    /// * Fields resolve as [`resolve_field`] says.
    /// * A comparison on a missing or `null` field is false for every
    ///   operator, `!=` and `not in` included; `exists` is the only test of
    ///   presence (`not exists` its negation). `not` is logical negation.
    /// * Numbers compare numerically, strings exactly (case-sensitive), see
    ///   the crate README for the full table; a JSON array field matches a
    ///   positive operator when any element does, and `!=`/`not in` when no
    ///   element is equal.
    /// * `contains`/`startsWith` look at string values only.
    /// * `freeText="x"` matches when any string value anywhere in the event
    ///   contains `x`, ignoring case; `freeText!="x"` is its negation.
    pub fn matches(&self, event: &Value) -> bool {
        match self {
            Expr::Or(l, r) => l.matches(event) || r.matches(event),
            Expr::And(l, r) => l.matches(event) && r.matches(event),
            Expr::Not(e) => !e.matches(event),
            Expr::Compare { field, op, value } if field == "freeText" => {
                let hit = contains_text(event, &text_of(value).to_lowercase());
                match op {
                    CompareOp::Ne => !hit,
                    _ => hit,
                }
            }
            Expr::Compare { field, op, value } => {
                let Some(found) = resolve_field(event, field) else {
                    return false;
                };
                let any = |want: fn(Ordering) -> bool| {
                    elements(found)
                        .iter()
                        .any(|e| compare(e, value).is_some_and(want))
                };
                match op {
                    CompareOp::Eq => equals(found, value),
                    CompareOp::Ne => !equals(found, value),
                    CompareOp::Lt => any(Ordering::is_lt),
                    CompareOp::Le => any(Ordering::is_le),
                    CompareOp::Gt => any(Ordering::is_gt),
                    CompareOp::Ge => any(Ordering::is_ge),
                    CompareOp::Contains => elements(found)
                        .iter()
                        .any(|e| e.as_str().is_some_and(|s| s.contains(text_of(value)))),
                    CompareOp::StartsWith => elements(found)
                        .iter()
                        .any(|e| e.as_str().is_some_and(|s| s.starts_with(text_of(value)))),
                }
            }
            Expr::In {
                field,
                negated,
                values,
            } => {
                let Some(found) = resolve_field(event, field) else {
                    return false;
                };
                let hit = values.iter().any(|v| equals(found, v));
                hit != *negated
            }
            Expr::Exists { field, negated } => resolve_field(event, field).is_some() != *negated,
        }
    }
}
