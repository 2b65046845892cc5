//! The pattern syntax tree, named after the STIX patterning grammar.
//!
//! Two levels: observation expressions (`[...]` joined by `AND`, `OR`,
//! `FOLLOWEDBY`, with qualifiers) and, inside each observation, a tree of
//! comparisons joined by `AND` and `OR`. Grouping parentheses are not kept:
//! the tree shape carries them, and [`Display`](std::fmt::Display) prints
//! the parentheses the shape needs.

use std::ops::Range;

/// A byte range in the pattern text.
///
/// Spans are metadata: two spans always compare equal, so that two trees
/// parsed from differently spaced texts are equal when their meaning is
/// (the same convention as sqlparser's attached tokens). Compare
/// [`Span::range`] to test positions.
#[derive(Clone, Copy, Debug, Default)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end` (byte offsets).
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The byte range.
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

impl PartialEq for Span {
    fn eq(&self, _other: &Span) -> bool {
        true
    }
}

impl Eq for Span {}

/// A whole pattern: one observation expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    /// The top-level observation expression.
    pub expr: ObservationExpr,
}

/// Operators between observation expressions, loosest last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObservationOp {
    /// `AND`
    And,
    /// `OR`
    Or,
    /// `FOLLOWEDBY`
    FollowedBy,
}

impl ObservationOp {
    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            ObservationOp::And => "AND",
            ObservationOp::Or => "OR",
            ObservationOp::FollowedBy => "FOLLOWEDBY",
        }
    }

    /// Binding strength: higher binds tighter.
    pub fn precedence(self) -> u8 {
        match self {
            ObservationOp::And => 3,
            ObservationOp::Or => 2,
            ObservationOp::FollowedBy => 1,
        }
    }
}

/// An observation expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObservationExpr {
    /// `[ comparisons ]`
    Observation(Observation),
    /// `left OP right`
    Binary {
        /// The operator.
        op: ObservationOp,
        /// Left operand.
        left: Box<ObservationExpr>,
        /// Right operand.
        right: Box<ObservationExpr>,
    },
    /// `expr QUALIFIER`: a qualifier applied to the unit before it.
    Qualified {
        /// The qualified expression.
        expr: Box<ObservationExpr>,
        /// The qualifier.
        qualifier: Qualifier,
    },
}

/// One bracketed observation `[...]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    /// The comparison tree inside the brackets.
    pub comparison: ComparisonExpr,
    /// From `[` to `]`.
    pub span: Span,
}

/// A qualifier with its span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Qualifier {
    /// What the qualifier says.
    pub kind: QualifierKind,
    /// From the first keyword to the last token.
    pub span: Span,
}

/// The three qualifiers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QualifierKind {
    /// `START t'..' STOP t'..'`
    StartStop {
        /// The start timestamp.
        start: Timestamp,
        /// The stop timestamp.
        stop: Timestamp,
    },
    /// `WITHIN n SECONDS` (a non-negative integer or decimal, as written
    /// without a leading `+`).
    Within(String),
    /// `REPEATS n TIMES` (a non-negative integer, without a leading `+`).
    Repeats(String),
}

impl QualifierKind {
    /// The name the 2.1 validator uses for duplicate checks.
    pub fn name(&self) -> &'static str {
        match self {
            QualifierKind::StartStop { .. } => "STARTSTOP",
            QualifierKind::Within(_) => "WITHIN",
            QualifierKind::Repeats(_) => "REPEATS",
        }
    }
}

/// Operators between comparisons inside an observation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BoolOp {
    /// `AND`
    And,
    /// `OR`
    Or,
}

impl BoolOp {
    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            BoolOp::And => "AND",
            BoolOp::Or => "OR",
        }
    }
}

/// A comparison expression inside `[...]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ComparisonExpr {
    /// One comparison.
    Comparison(Comparison),
    /// `left OP right`
    Binary {
        /// The operator.
        op: BoolOp,
        /// Left operand.
        left: Box<ComparisonExpr>,
        /// Right operand.
        right: Box<ComparisonExpr>,
    },
}

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ComparisonOp {
    /// `=` (also written `==`)
    Equal,
    /// `!=` (also written `<>`)
    NotEqual,
    /// `<`
    LessThan,
    /// `<=`
    LessThanOrEqual,
    /// `>`
    GreaterThan,
    /// `>=`
    GreaterThanOrEqual,
    /// `IN (...)`
    In,
    /// `LIKE '...'`
    Like,
    /// `MATCHES '...'`
    Matches,
    /// `ISSUBSET '...'`
    IsSubset,
    /// `ISSUPERSET '...'`
    IsSuperset,
    /// `EXISTS path` (STIX 2.1 only)
    Exists,
}

impl ComparisonOp {
    /// The operator as printed.
    pub fn symbol(self) -> &'static str {
        match self {
            ComparisonOp::Equal => "=",
            ComparisonOp::NotEqual => "!=",
            ComparisonOp::LessThan => "<",
            ComparisonOp::LessThanOrEqual => "<=",
            ComparisonOp::GreaterThan => ">",
            ComparisonOp::GreaterThanOrEqual => ">=",
            ComparisonOp::In => "IN",
            ComparisonOp::Like => "LIKE",
            ComparisonOp::Matches => "MATCHES",
            ComparisonOp::IsSubset => "ISSUBSET",
            ComparisonOp::IsSuperset => "ISSUPERSET",
            ComparisonOp::Exists => "EXISTS",
        }
    }

    /// stix-shifter's enum name (`ComparisonComparators.<name>`), used as the
    /// key of `operators.json` and in its error messages.
    pub fn stix_shifter_name(self) -> &'static str {
        match self {
            ComparisonOp::Equal => "Equal",
            ComparisonOp::NotEqual => "NotEqual",
            ComparisonOp::LessThan => "LessThan",
            ComparisonOp::LessThanOrEqual => "LessThanOrEqual",
            ComparisonOp::GreaterThan => "GreaterThan",
            ComparisonOp::GreaterThanOrEqual => "GreaterThanOrEqual",
            ComparisonOp::In => "In",
            ComparisonOp::Like => "Like",
            ComparisonOp::Matches => "Matches",
            ComparisonOp::IsSubset => "IsSubSet",
            ComparisonOp::IsSuperset => "IsSuperSet",
            ComparisonOp::Exists => "Exists",
        }
    }
}

/// The right-hand side of a comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operand {
    /// A single literal.
    Constant(Constant),
    /// A parenthesised list (for `IN`), possibly empty.
    Set(Vec<Constant>),
    /// Nothing (for `EXISTS`).
    None,
}

/// One comparison: `path [NOT] op operand`, or `[NOT] EXISTS path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comparison {
    /// The object path on the left.
    pub path: ObjectPath,
    /// Whether `NOT` was written.
    pub negated: bool,
    /// The operator.
    pub op: ComparisonOp,
    /// The right-hand side.
    pub operand: Operand,
    /// The whole comparison.
    pub span: Span,
}

/// An object path `type:key.key[0].'quoted key'`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectPath {
    /// The object type (`x-oca-asset`).
    pub object_type: String,
    /// The property steps; the first is always a key.
    pub steps: Vec<PathStep>,
}

/// One step of an object path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathStep {
    /// `.name` or `.'quoted name'`: the key itself, without quotes.
    Key(String),
    /// `[n]` (a decimal integer without `+`, possibly negative).
    Index(String),
    /// `[*]`
    AnyIndex,
}

impl ObjectPath {
    /// The property part as stix-shifter's mapping files spell it:
    /// `extensions.'x-oca-container-ext'.name`, `hashes.'SHA-256'`,
    /// `x_parent_names[*]`. Keys that are not plain identifiers are quoted.
    pub fn property_text(&self) -> String {
        let mut out = String::new();
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                PathStep::Key(k) => {
                    if i > 0 {
                        out.push('.');
                    }
                    crate::print::write_key(&mut out, k);
                }
                PathStep::Index(n) => {
                    out.push('[');
                    out.push_str(n);
                    out.push(']');
                }
                PathStep::AnyIndex => out.push_str("[*]"),
            }
        }
        out
    }

    /// `type:property`, as stix-shifter names attributes.
    pub fn attribute_text(&self) -> String {
        format!("{}:{}", self.object_type, self.property_text())
    }
}

/// A literal value.
#[derive(Clone, Debug, PartialEq)]
pub enum Constant {
    /// An integer of any size, in canonical decimal (`-5`, `0`, `12`; no `+`,
    /// no `-0`).
    Int(String),
    /// A decimal number.
    Float(f64),
    /// A string, unescaped.
    String(String),
    /// `true` / `false`.
    Bool(bool),
    /// `t'...'`
    Timestamp(Timestamp),
    /// `h'...'`: the hex digits as written.
    Hex(String),
    /// `b'...'`: the base64 text as written.
    Binary(String),
}

// Floats come only from decimal literals, so they are never NaN.
impl Eq for Constant {}

/// A STIX timestamp literal, lexically valid (`YYYY-MM-DDTHH:MM:SS[.f+]Z`,
/// month 01-12, day 01-31, hour 00-23, minute 00-59, second 00-60). The
/// calendar is not checked here (`02-30` is a valid literal).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Timestamp {
    /// The text between the quotes.
    pub text: String,
}

impl Timestamp {
    /// Year, month, day, hour, minute, second and the fraction digits.
    pub fn parts(&self) -> TimestampParts<'_> {
        let t = self.text.as_bytes();
        let num = |a: usize, b: usize| -> u32 {
            t[a..b]
                .iter()
                .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
        };
        let fraction = if t.len() > 20 && t[19] == b'.' {
            &self.text[20..self.text.len() - 1]
        } else {
            ""
        };
        TimestampParts {
            year: num(0, 4) as i32,
            month: num(5, 7),
            day: num(8, 10),
            hour: num(11, 13),
            minute: num(14, 16),
            second: num(17, 19),
            fraction,
        }
    }
}

/// The fields of a [`Timestamp`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimestampParts<'a> {
    /// Four-digit year.
    pub year: i32,
    /// 1-12.
    pub month: u32,
    /// 1-31.
    pub day: u32,
    /// 0-23.
    pub hour: u32,
    /// 0-59.
    pub minute: u32,
    /// 0-60.
    pub second: u32,
    /// The fraction digits after the `.`, possibly empty.
    pub fraction: &'a str,
}
