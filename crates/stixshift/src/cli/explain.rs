//! `translate sysdig query --explain`: a readable account of a translation.

use std::fmt::Write as _;

use stixshift_translate::query::Translation;
use stixshift_translate::time::format_millis;

fn when(ns: i128) -> String {
    let ms = ns.div_euclid(1_000_000);
    i64::try_from(ms).map_or_else(|_| format!("{ns} ns"), format_millis)
}

/// Render the explanation.
pub(super) fn render(t: &Translation) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "pattern: {}", t.pattern);
    if !t.dropped.is_empty() {
        let _ = writeln!(
            out,
            "dropped (no mapping, inside OR): {}",
            t.dropped.join(", ")
        );
    }
    for (i, c) in t.comparisons.iter().enumerate() {
        let _ = writeln!(out, "comparison {}: {}", i + 1, c.comparison);
        let _ = writeln!(out, "  field:  {} ({})", c.fields.join(", "), c.field_type);
        let _ = writeln!(out, "  rule:   {}", c.rule);
        let _ = writeln!(out, "  filter: {}", c.filter);
    }
    for (i, (q, w)) in t.queries.iter().zip(&t.windows).enumerate() {
        let _ = writeln!(
            out,
            "query {}: window [{}, {}) ({} s)",
            i + 1,
            when(w.from),
            when(w.to),
            (w.to - w.from) / 1_000_000_000
        );
        let _ = writeln!(out, "  {q}");
    }
    out
}
