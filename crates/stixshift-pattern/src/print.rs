//! Canonical pattern text: single spaces, `=` and `!=` spellings, the
//! parentheses the tree needs and no others. `parse(print(p)) == p`.

use std::fmt::{self, Write as _};

use crate::ast::*;

/// Is `key` printable without quotes (a plain identifier that is no keyword
/// of either version, nor a boolean)?
fn is_plain_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && crate::lexer::Keyword::from_word(key, crate::Version::V21).is_none()
        && !matches!(key, "true" | "false")
}

/// Append a property key, quoted when it is not a plain identifier.
pub(crate) fn write_key(out: &mut String, key: &str) {
    if is_plain_key(key) {
        out.push_str(key);
    } else {
        write_string(out, key);
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
}

/// A float as a pattern literal: always with a `.` and never an exponent.
fn float_text(f: f64) -> String {
    let s = format!("{f}");
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

/// The canonical literal text of a constant.
pub fn constant_text(c: &Constant) -> String {
    let mut out = String::new();
    write_constant(&mut out, c);
    out
}

/// The canonical text of a set: `('a', 1)`.
pub fn set_text(items: &[Constant]) -> String {
    let mut out = String::from("(");
    for (i, c) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_constant(&mut out, c);
    }
    out.push(')');
    out
}

fn write_constant(out: &mut String, c: &Constant) {
    match c {
        Constant::Int(s) => out.push_str(s),
        Constant::Float(f) => out.push_str(&float_text(*f)),
        Constant::String(s) => write_string(out, s),
        Constant::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Constant::Timestamp(t) => {
            let _ = write!(out, "t'{}'", t.text);
        }
        Constant::Hex(h) => {
            let _ = write!(out, "h'{h}'");
        }
        Constant::Binary(b) => {
            let _ = write!(out, "b'{b}'");
        }
    }
}

impl fmt::Display for Constant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&constant_text(self))
    }
}

impl fmt::Display for ObjectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.attribute_text())
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let not = if self.negated { "NOT " } else { "" };
        if self.op == ComparisonOp::Exists {
            return write!(f, "{not}EXISTS {}", self.path);
        }
        write!(f, "{} {not}{} ", self.path, self.op.symbol())?;
        match &self.operand {
            Operand::Constant(c) => write!(f, "{c}"),
            Operand::Set(items) => f.write_str(&set_text(items)),
            Operand::None => Ok(()),
        }
    }
}

/// `left OP right` for a left-associative operator of precedence `prec`;
/// each operand comes with its own precedence (`None` for an atom) and gets
/// parentheses where the tree needs them: a looser operand on either side, an
/// equally tight one on the right.
fn write_binary(
    f: &mut fmt::Formatter<'_>,
    keyword: &str,
    prec: u8,
    (left, left_prec): (&impl fmt::Display, Option<u8>),
    (right, right_prec): (&impl fmt::Display, Option<u8>),
) -> fmt::Result {
    if left_prec.is_some_and(|p| p < prec) {
        write!(f, "({left})")?;
    } else {
        write!(f, "{left}")?;
    }
    write!(f, " {keyword} ")?;
    if right_prec.is_some_and(|p| p <= prec) {
        write!(f, "({right})")
    } else {
        write!(f, "{right}")
    }
}

fn bool_prec(op: BoolOp) -> u8 {
    match op {
        BoolOp::And => 2,
        BoolOp::Or => 1,
    }
}

impl fmt::Display for ComparisonExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ComparisonExpr::Comparison(c) => write!(f, "{c}"),
            ComparisonExpr::Binary { op, left, right } => {
                let prec = |e: &ComparisonExpr| match e {
                    ComparisonExpr::Binary { op, .. } => Some(bool_prec(*op)),
                    ComparisonExpr::Comparison(_) => None,
                };
                write_binary(
                    f,
                    op.keyword(),
                    bool_prec(*op),
                    (left, prec(left)),
                    (right, prec(right)),
                )
            }
        }
    }
}

impl fmt::Display for Qualifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            QualifierKind::StartStop { start, stop } => {
                write!(f, "START t'{}' STOP t'{}'", start.text, stop.text)
            }
            QualifierKind::Within(n) => write!(f, "WITHIN {n} SECONDS"),
            QualifierKind::Repeats(n) => write!(f, "REPEATS {n} TIMES"),
        }
    }
}

/// Would printing `expr QUALIFIER` without parentheses put two qualifiers of
/// the same kind directly on one bracketed observation (which the 2.1
/// grammar rejects)?
fn repeats_kind_on_bare_observation(expr: &ObservationExpr, kind: &str) -> bool {
    let mut e = expr;
    let mut seen = false;
    loop {
        match e {
            ObservationExpr::Qualified { expr, qualifier } => {
                seen |= qualifier.kind.name() == kind;
                e = expr;
            }
            ObservationExpr::Observation(_) => return seen,
            ObservationExpr::Binary { .. } => return false,
        }
    }
}

impl fmt::Display for ObservationExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObservationExpr::Observation(o) => write!(f, "[{}]", o.comparison),
            ObservationExpr::Qualified { expr, qualifier } => {
                let parens = matches!(**expr, ObservationExpr::Binary { .. })
                    || repeats_kind_on_bare_observation(expr, qualifier.kind.name());
                if parens {
                    write!(f, "({expr}) {qualifier}")
                } else {
                    write!(f, "{expr} {qualifier}")
                }
            }
            ObservationExpr::Binary { op, left, right } => {
                let prec = |e: &ObservationExpr| match e {
                    ObservationExpr::Binary { op, .. } => Some(op.precedence()),
                    _ => None,
                };
                write_binary(
                    f,
                    op.keyword(),
                    op.precedence(),
                    (left, prec(left)),
                    (right, prec(right)),
                )
            }
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.expr)
    }
}
