//! A strict, bounded parser for STIX 2.0 and 2.1 patterns.
//!
//! It accepts exactly what the OASIS pattern validator (`stix2-patterns`)
//! accepts — grammar, the validator's bracket pre-check, the 2.1
//! duplicate-qualifier rule and the hash-format rule — and reports the first
//! error with its byte span. The one deliberate difference: a negative list
//! index (`x:list[-1]`) is accepted, where the validator crashes.
//!
//! This crate does no I/O and depends on nothing else of stixshift.
//!
//! ```
//! use stixshift_pattern::{parse, Version};
//!
//! let p = parse("[file:name = 'a.exe'] AND [process:pid > 4]", Version::V21).unwrap();
//! assert_eq!(p.to_string(), "[file:name = 'a.exe'] AND [process:pid > 4]");
//!
//! let err = parse("[file:name = 'a.exe'", Version::V21).unwrap_err();
//! assert_eq!(err.span.start, 20);
//! ```

pub mod ast;
pub mod error;
mod lexer;
mod parser;
mod print;

pub use ast::*;
pub use error::{ErrorKind, Expect, PatternError};
pub use print::{constant_text, set_text};

/// The STIX version whose grammar applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Version {
    /// STIX 2.0: no `EXISTS`; repeated qualifier kinds allowed.
    V20,
    /// STIX 2.1 (the validator's default).
    #[default]
    V21,
}

/// Size limits, so that no input can exhaust the stack or memory. The tree
/// is at most about `MAX_COMPARISONS + MAX_OBSERVATIONS + MAX_QUALIFIERS`
/// deep, which recursive walks over it handle on a 2 MiB thread stack.
pub mod limits {
    /// Longest pattern text, in bytes.
    pub const MAX_PATTERN_BYTES: usize = 1 << 20;
    /// Deepest nesting of `[`, `(` groups.
    pub const MAX_DEPTH: usize = 64;
    /// Most comparisons in one pattern.
    pub const MAX_COMPARISONS: usize = 1000;
    /// Most observations (`[...]`) in one pattern.
    pub const MAX_OBSERVATIONS: usize = 256;
    /// Most qualifiers in one pattern.
    pub const MAX_QUALIFIERS: usize = 256;
}

/// Parse a pattern strictly.
pub fn parse(pattern: &str, version: Version) -> Result<Pattern, PatternError> {
    if pattern.len() > limits::MAX_PATTERN_BYTES {
        return Err(PatternError::new(
            ErrorKind::LimitExceeded {
                what: "bytes",
                limit: limits::MAX_PATTERN_BYTES,
            },
            Span::new(limits::MAX_PATTERN_BYTES, pattern.len()),
        ));
    }
    let parsed = parser::Parser::new(pattern, version)?.pattern()?;
    brackets_check(pattern)?;
    Ok(parsed)
}

/// The validator's pre-check: after any whitespace and `(`, the first
/// character must be `[` (so a leading comment is rejected).
fn brackets_check(pattern: &str) -> Result<(), PatternError> {
    let first = pattern
        .char_indices()
        .find(|(_, c)| *c != '(' && !(c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(c)));
    match first {
        Some((_, '[')) => Ok(()),
        Some((i, _)) => Err(PatternError::new(
            ErrorKind::MissingBrackets,
            Span::new(i, i + 1),
        )),
        None => Err(PatternError::new(
            ErrorKind::MissingBrackets,
            Span::new(0, 0),
        )),
    }
}
