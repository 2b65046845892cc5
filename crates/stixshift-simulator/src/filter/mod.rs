//! The Sysdig Secure event filter language: a parser, an evaluator and a
//! canonical printer.
//!
//! ```
//! use stixshift_simulator::filter;
//! let expr = filter::parse(r#"(ruleName="a" or severity<2)andsource!="auditTrail""#).unwrap();
//! assert_eq!(expr.to_string(), r#"(ruleName="a" or severity<2) and source!="auditTrail""#);
//! let event = serde_json::json!({
//!     "source": "syscall", "severity": 1, "content": {"ruleName": "b", "fields": {}}, "labels": {}
//! });
//! assert!(expr.matches(&event));
//! ```
//!
//! # Grammar
//!
//! ```text
//! filter     = or
//! or         = and { "or" and }
//! and        = unary { "and" unary }
//! unary      = "not" unary | "(" or ")" | comparison
//! comparison = field ( cmp_op value
//!                    | "in" list | "not" "in" list
//!                    | "contains" string | "startsWith" string | "starts" "with" string
//!                    | "exists" | "not" "exists" )
//! cmp_op     = "=" | "!=" | "<" | "<=" | ">" | ">="
//! list       = "(" [ value { "," value } ] ")"
//! value      = string | number
//! string     = '"' { any char but '"' and '\' | '\"' | '\\' } '"'
//! number     = [ "-" ] digit { digit } [ "." digit { digit } ]
//! field      = (letter | "_") { letter | digit | "_" | "." | "-" | "[" | "]" | "/" }
//! ```
//!
//! Choices made where Sysdig's public documentation is silent (see also
//! `../shared/spec/sysdig-secure-api.md` §8, which fixes several of them):
//!
//! * **Precedence**: `not` binds tightest, then `and`, then `or`; `and` and `or`
//!   are left-associative.
//! * **Keywords** (`and`, `or`, `not`, `in`, `exists`, `contains`, `startsWith`,
//!   `starts with`) are ASCII case-insensitive (`OR` is what the reference
//!   emits between alternative fields). After a value or a `)`, `and`/`or` are
//!   recognised as a prefix with or without spaces, so `"x"andy="z"` is
//!   `"x" and y="z"` and `)andsource!=…` is `) and source!=…`. `not` needs a
//!   space or `(` after it; `in`, `exists`, `contains` and `startsWith` need a
//!   space before them (otherwise they would be part of the field name).
//! * **Escapes**: inside a quoted string only `\"` and `\\`; any other
//!   backslash sequence is an error (so the reference's `"O\'Brien"` is
//!   rejected), as is an unescaped `"` in the middle of a value.
//! * **Values** are double-quoted strings or unquoted decimal numbers
//!   (`-?\d+(\.\d+)?`, as the reference emits for integer fields). Bare words,
//!   booleans and single quotes are errors.
//! * `in ()` (an empty list, which the reference emits for an empty STIX set)
//!   is accepted and matches nothing; `not in ()` matches every event that has
//!   the field.
//! * `freeText` accepts only `=` and `!=`.
//!
//! # Evaluation
//!
//! See [`Expr::matches`]: a field name resolves, first match wins, against the
//! event's top-level keys, then the keys of `content` (where the legacy API
//! keeps `ruleName`, `policyId`, `ruleType`, `ruleSubType`), then `labels`,
//! then `content.fields`. A comparison on a missing (or `null`) field is false
//! for every operator, `!=` and `not in` included; `not` is plain negation.

mod eval;
mod parse;

use std::fmt;

pub use eval::resolve_field;
pub use parse::{parse, MAX_DEPTH, MAX_FILTER_LEN};

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// `left or right`
    Or(Box<Expr>, Box<Expr>),
    /// `left and right`
    And(Box<Expr>, Box<Expr>),
    /// `not expr`
    Not(Box<Expr>),
    /// `field <op> value`
    Compare {
        /// The attribute name, as written.
        field: String,
        /// The operator.
        op: CompareOp,
        /// The right-hand side.
        value: Literal,
    },
    /// `field in (…)` or `field not in (…)`
    In {
        /// The attribute name, as written.
        field: String,
        /// `true` for `not in`.
        negated: bool,
        /// The list (possibly empty).
        values: Vec<Literal>,
    },
    /// `field exists` or `field not exists`
    Exists {
        /// The attribute name, as written.
        field: String,
        /// `true` for `not exists`.
        negated: bool,
    },
}

/// A binary comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `contains` (substring, case-sensitive)
    Contains,
    /// `startsWith` (also written `starts with`)
    StartsWith,
}

impl CompareOp {
    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::Contains => "contains",
            CompareOp::StartsWith => "startsWith",
        }
    }
}

/// A constant on the right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Literal {
    /// A double-quoted string, unescaped.
    String(String),
    /// An unquoted decimal number, kept as written.
    Number(Number),
}

/// An unquoted decimal number as written in the filter (`-?\d+(\.\d+)?`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Number(String);

impl Number {
    /// Validates `text` as a filter number.
    pub fn new(text: &str) -> Option<Number> {
        eval::Num::parse(text).map(|_| Number(text.to_owned()))
    }

    /// The number as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<i64> for Number {
    fn from(n: i64) -> Self {
        Number(n.to_string())
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Literal {
    /// Strings are printed quoted with `\` and `"` escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Number(n) => write!(f, "{n}"),
            Literal::String(s) => {
                f.write_str("\"")?;
                for c in s.chars() {
                    match c {
                        '"' => f.write_str("\\\"")?,
                        '\\' => f.write_str("\\\\")?,
                        c => write!(f, "{c}")?,
                    }
                }
                f.write_str("\"")
            }
        }
    }
}

impl Expr {
    fn write_child(&self, f: &mut fmt::Formatter<'_>, parens: bool) -> fmt::Result {
        if parens {
            write!(f, "({self})")
        } else {
            write!(f, "{self}")
        }
    }
}

impl fmt::Display for Expr {
    /// Canonical filter text: `and`/`or`/`not` lower-case with single spaces,
    /// comparisons without spaces (`field="v"`, `field<5`), lists as
    /// `field in ("a", 1)`, and the fewest parentheses that keep the tree:
    /// `parse(expr.to_string()) == expr`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Or(l, r) => {
                l.write_child(f, false)?;
                f.write_str(" or ")?;
                r.write_child(f, matches!(**r, Expr::Or(..)))
            }
            Expr::And(l, r) => {
                l.write_child(f, matches!(**l, Expr::Or(..)))?;
                f.write_str(" and ")?;
                r.write_child(f, matches!(**r, Expr::Or(..) | Expr::And(..)))
            }
            Expr::Not(e) => {
                f.write_str("not ")?;
                e.write_child(f, matches!(**e, Expr::Or(..) | Expr::And(..)))
            }
            Expr::Compare { field, op, value } => match op {
                CompareOp::Contains | CompareOp::StartsWith => {
                    write!(f, "{field} {} {value}", op.as_str())
                }
                _ => write!(f, "{field}{}{value}", op.as_str()),
            },
            Expr::In {
                field,
                negated,
                values,
            } => {
                write!(f, "{field} {}in (", if *negated { "not " } else { "" })?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str(")")
            }
            Expr::Exists { field, negated } => {
                write!(f, "{field} {}exists", if *negated { "not " } else { "" })
            }
        }
    }
}

/// Why a filter was rejected, and where (a byte offset into the filter text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {pos}")]
pub struct FilterError {
    /// Byte offset of the offending input.
    pub pos: usize,
    /// What went wrong.
    pub kind: FilterErrorKind,
}

/// The kinds of [`FilterError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FilterErrorKind {
    /// The filter is empty or only whitespace.
    #[error("empty filter")]
    Empty,
    /// The filter is longer than [`MAX_FILTER_LEN`] bytes.
    #[error("filter is {len} bytes long, the limit is {max}")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Parentheses and `not` nest deeper than [`MAX_DEPTH`].
    #[error("filter nests deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// Something else was expected here.
    #[error("expected {expected}, found {found}")]
    Expected {
        /// What the parser could accept.
        expected: Expected,
        /// A short description of what it saw.
        found: String,
    },
    /// A `"` string runs to the end of the filter.
    #[error("unterminated string")]
    UnterminatedString,
    /// A backslash followed by something other than `"` or `\`.
    #[error("invalid escape `\\{0}` (only `\\\"` and `\\\\` are allowed)")]
    InvalidEscape(char),
    /// `freeText` with an operator other than `=` or `!=`.
    #[error("`freeText` supports only `=` and `!=`")]
    FreeTextOperator,
}

/// What the parser can want next; each variant names an input that triggers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expected {
    /// `and x="1"`: a field name, `(` or `not`.
    Operand,
    /// `x "1"`: a comparison operator.
    Operator,
    /// `x=abc`: a quoted string or a number.
    Value,
    /// `x contains 1`: a quoted string.
    String,
    /// `x in "a"`: `(`.
    OpenParen,
    /// `(x="1"`: `)`.
    CloseParen,
    /// `x in ("a" "b")`: `,` or `)`.
    CommaOrCloseParen,
    /// `x="1" y="2"`: `and`, `or` or the end of the filter.
    BinaryOperatorOrEnd,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expected::Operand => "a field name, `(` or `not`",
            Expected::Operator => {
                "an operator (`=`, `!=`, `<`, `<=`, `>`, `>=`, `in`, `not in`, `contains`, `startsWith`, `exists`, `not exists`)"
            }
            Expected::Value => "a quoted string or a number",
            Expected::String => "a quoted string",
            Expected::OpenParen => "`(`",
            Expected::CloseParen => "`)`, `and` or `or`",
            Expected::CommaOrCloseParen => "`,` or `)`",
            Expected::BinaryOperatorOrEnd => "`and`, `or` or the end of the filter",
        })
    }
}
