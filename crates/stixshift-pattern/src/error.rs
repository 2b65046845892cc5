//! Pattern errors: what went wrong and where.

use std::fmt;

use crate::ast::Span;

/// What the parser wanted at the point of an error. Each variant names an
/// input that triggers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expect {
    /// `[` or `(` to start an observation: `x:y = 1`.
    ObservationStart,
    /// An object type such as `file`: `[= 1]`.
    ObjectType,
    /// `:` after the object type: `[file name = 1]`.
    Colon,
    /// A property name or quoted key: `[file:AND = 1]`, `[a:b.0 = 1]`.
    PropertyKey,
    /// A comparison operator: `[file:name 'a']`.
    Operator,
    /// `EXISTS` after a leading `NOT`: `[NOT file:name = 'a']`.
    Exists,
    /// A literal: `[file:name = ]`.
    Literal,
    /// A literal other than a boolean: `[file:size > true]`.
    OrderableLiteral,
    /// A string literal: `[file:name LIKE 5]`.
    StringLiteral,
    /// `(` opening a set: `[file:name IN 'a']`.
    SetOpen,
    /// `,` or `)` in a set: `[file:name IN ('a' 'b')]`.
    SetSeparator,
    /// An index or `*`: `[a:b[x] = 1]`.
    Index,
    /// `]`: `[file:name = 'a'`.
    CloseBracket,
    /// `)`: `([a:b = 1]`.
    CloseParen,
    /// A `t'...'` timestamp: `START '2020-01-01T00:00:00Z'`.
    Timestamp,
    /// `STOP`: `START t'..' t'..'`.
    Stop,
    /// A non-negative number: `WITHIN -5 SECONDS`.
    NonNegativeNumber,
    /// A non-negative integer: `REPEATS 2.5 TIMES`.
    NonNegativeInteger,
    /// `SECONDS`: `WITHIN 5`.
    Seconds,
    /// `TIMES`: `REPEATS 5`.
    Times,
    /// An observation operator, a qualifier or the end: `[a:b = 1] ()`.
    ObservationOperatorOrEnd,
    /// `AND`, `OR` or `]` inside brackets: `[a:b = 1 and a:c = 2]`.
    ComparisonOperatorOrEnd,
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expect::ObservationStart => "`[` or `(`",
            Expect::ObjectType => "an object type",
            Expect::Colon => "`:`",
            Expect::PropertyKey => "a property name or quoted key",
            Expect::Operator => "a comparison operator",
            Expect::Exists => "`EXISTS`",
            Expect::Literal => "a literal",
            Expect::OrderableLiteral => "a literal other than a boolean",
            Expect::StringLiteral => "a string literal",
            Expect::SetOpen => "`(`",
            Expect::SetSeparator => "`,` or `)`",
            Expect::Index => "an integer index or `*`",
            Expect::CloseBracket => "`]`",
            Expect::CloseParen => "`)`",
            Expect::Timestamp => "a timestamp `t'...'`",
            Expect::Stop => "`STOP`",
            Expect::NonNegativeNumber => "a non-negative number",
            Expect::NonNegativeInteger => "a non-negative integer",
            Expect::Seconds => "`SECONDS`",
            Expect::Times => "`TIMES`",
            Expect::ObservationOperatorOrEnd => {
                "`AND`, `OR`, `FOLLOWEDBY`, a qualifier or the end of the pattern"
            }
            Expect::ComparisonOperatorOrEnd => "`AND`, `OR` or `]`",
        })
    }
}

/// The kinds of pattern error.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The parser wanted something else.
    Expected {
        /// What it wanted.
        expected: Expect,
        /// What it found, described for people.
        found: String,
    },
    /// A string literal without its closing quote.
    UnterminatedString,
    /// A `/*` comment without `*/`.
    UnterminatedComment,
    /// A backslash escape other than `\'` and `\\`.
    InvalidEscape(char),
    /// A character that starts no token.
    InvalidCharacter(char),
    /// A number that does not parse.
    InvalidNumber,
    /// `h'...'` with an odd number of digits or a non-hex digit.
    InvalidHex,
    /// `b'...'` that is not base64 in groups of four.
    InvalidBinary,
    /// `t'...'` that is not `YYYY-MM-DDTHH:MM:SS[.fraction]Z` in range.
    InvalidTimestamp,
    /// The same qualifier kind twice on one bracketed observation (2.1).
    DuplicateQualifier(&'static str),
    /// A `hashes` value that does not fit the named hash algorithm.
    InvalidHash {
        /// The compared value.
        value: String,
        /// The hash name as written.
        algorithm: String,
    },
    /// The pattern does not start with `[` after any `(` (the OASIS
    /// validator's pre-check).
    MissingBrackets,
    /// A limit of [`crate::limits`] was exceeded.
    LimitExceeded {
        /// What was counted.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Expected { expected, found } => {
                write!(f, "expected {expected}, found {found}")
            }
            ErrorKind::UnterminatedString => f.write_str("unterminated string literal"),
            ErrorKind::UnterminatedComment => f.write_str("unterminated `/*` comment"),
            ErrorKind::InvalidEscape(c) => write!(
                f,
                "invalid escape `\\{c}` in a string (only `\\'` and `\\\\` exist)"
            ),
            ErrorKind::InvalidCharacter(c) => write!(f, "unexpected character `{c}`"),
            ErrorKind::InvalidNumber => f.write_str("invalid number"),
            ErrorKind::InvalidHex => {
                f.write_str("invalid hex literal (an even number of hex digits is required)")
            }
            ErrorKind::InvalidBinary => f.write_str("invalid binary literal (base64 expected)"),
            ErrorKind::InvalidTimestamp => {
                f.write_str("invalid timestamp (expected `t'YYYY-MM-DDTHH:MM:SS[.s]Z'`)")
            }
            ErrorKind::DuplicateQualifier(kind) => {
                write!(f, "duplicate qualifier type encountered: {kind}")
            }
            ErrorKind::InvalidHash { value, algorithm } => {
                write!(f, "'{value}' is not a valid {algorithm} hash")
            }
            ErrorKind::MissingBrackets => f.write_str("input is missing square brackets"),
            ErrorKind::LimitExceeded { what, limit } => {
                write!(f, "pattern too large: more than {limit} {what}")
            }
        }
    }
}

/// A pattern error with the byte span it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Where (byte offsets into the pattern).
    pub span: Span,
}

impl PatternError {
    pub(crate) fn new(kind: ErrorKind, span: Span) -> Self {
        PatternError { kind, span }
    }

    /// 1-based line and 0-based column (in characters) of the error start,
    /// as ANTLR-based validators report positions.
    pub fn line_col(&self, pattern: &str) -> (usize, usize) {
        let start = self.span.start.min(pattern.len());
        let before = pattern.get(..start).unwrap_or(pattern);
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count());
        (line, col)
    }

    /// The one-line form used in stix-shifter error JSON:
    /// `FAIL: Error found at line 1:25. expected `]`, found end of pattern`.
    pub fn validator_line(&self, pattern: &str) -> String {
        let (line, col) = self.line_col(pattern);
        format!("FAIL: Error found at line {line}:{col}. {}", self.kind)
    }

    /// The message for people: the error, the pattern line and a caret line
    /// under the span.
    pub fn render(&self, pattern: &str) -> String {
        let (line_no, col) = self.line_col(pattern);
        let line = pattern.lines().nth(line_no - 1).unwrap_or("");
        let width = {
            let start = self.span.start.min(pattern.len());
            let end = self.span.end.clamp(start, pattern.len());
            let in_line = pattern
                .get(start..end)
                .unwrap_or("")
                .split('\n')
                .next()
                .unwrap_or("");
            in_line.chars().count().max(1)
        };
        let pad: String = line
            .chars()
            .take(col)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        format!(
            "{} at line {line_no}, column {}\n  {line}\n  {pad}{}",
            self.kind,
            col + 1,
            "^".repeat(width)
        )
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind, self.span.start)
    }
}

impl std::error::Error for PatternError {}
