//! Pattern text → tokens, longest match first, as the OASIS grammar lexes.

use crate::ast::{Span, Timestamp};
use crate::error::{ErrorKind, PatternError};
use crate::Version;

/// Keywords of the grammar (case-sensitive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keyword {
    And,
    Or,
    Not,
    FollowedBy,
    Like,
    Matches,
    IsSuperset,
    IsSubset,
    Exists,
    Last,
    In,
    Start,
    Stop,
    Seconds,
    Within,
    Repeats,
    Times,
}

impl Keyword {
    pub(crate) fn from_word(word: &str, version: Version) -> Option<Keyword> {
        Some(match word {
            "AND" => Keyword::And,
            "OR" => Keyword::Or,
            "NOT" => Keyword::Not,
            "FOLLOWEDBY" => Keyword::FollowedBy,
            "LIKE" => Keyword::Like,
            "MATCHES" => Keyword::Matches,
            "ISSUPERSET" => Keyword::IsSuperset,
            "ISSUBSET" => Keyword::IsSubset,
            "EXISTS" if version == Version::V21 => Keyword::Exists,
            "LAST" => Keyword::Last,
            "IN" => Keyword::In,
            "START" => Keyword::Start,
            "STOP" => Keyword::Stop,
            "SECONDS" => Keyword::Seconds,
            "WITHIN" => Keyword::Within,
            "REPEATS" => Keyword::Repeats,
            "TIMES" => Keyword::Times,
            _ => return None,
        })
    }

    pub(crate) fn text(self) -> &'static str {
        match self {
            Keyword::And => "AND",
            Keyword::Or => "OR",
            Keyword::Not => "NOT",
            Keyword::FollowedBy => "FOLLOWEDBY",
            Keyword::Like => "LIKE",
            Keyword::Matches => "MATCHES",
            Keyword::IsSuperset => "ISSUPERSET",
            Keyword::IsSubset => "ISSUBSET",
            Keyword::Exists => "EXISTS",
            Keyword::Last => "LAST",
            Keyword::In => "IN",
            Keyword::Start => "START",
            Keyword::Stop => "STOP",
            Keyword::Seconds => "SECONDS",
            Keyword::Within => "WITHIN",
            Keyword::Repeats => "REPEATS",
            Keyword::Times => "TIMES",
        }
    }
}

/// A token.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    LBracket,
    RBracket,
    LParen,
    RParen,
    Colon,
    Dot,
    Comma,
    Star,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Keyword(Keyword),
    /// An identifier; `true` when it contains a hyphen (allowed only as an
    /// object type).
    Ident(String, bool),
    /// Canonical integer text (no `+`, no `-0`) and the sign as written.
    Int(String, Option<char>),
    /// The literal's text without a leading `+`, its value, and the sign as
    /// written.
    Float(String, f64, Option<char>),
    Str(String),
    Bool(bool),
    Hex(String),
    Binary(String),
    Timestamp(Timestamp),
    /// `+ - ^ /`: lexed by the grammar but used by no rule.
    Unused(char),
    Eof,
}

impl Tok {
    /// How a token is named in "found ..." messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::LBracket => "`[`".into(),
            Tok::RBracket => "`]`".into(),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::Colon => "`:`".into(),
            Tok::Dot => "`.`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Star => "`*`".into(),
            Tok::Eq => "`=`".into(),
            Tok::Ne => "`!=`".into(),
            Tok::Lt => "`<`".into(),
            Tok::Le => "`<=`".into(),
            Tok::Gt => "`>`".into(),
            Tok::Ge => "`>=`".into(),
            Tok::Keyword(k) => format!("`{}`", k.text()),
            Tok::Ident(s, _) => format!("identifier `{s}`"),
            Tok::Int(s, _) => format!("integer `{s}`"),
            Tok::Float(..) => "a decimal number".into(),
            Tok::Str(_) => "a string".into(),
            Tok::Bool(b) => format!("`{b}`"),
            Tok::Hex(_) => "a hex literal".into(),
            Tok::Binary(_) => "a binary literal".into(),
            Tok::Timestamp(_) => "a timestamp".into(),
            Tok::Unused(c) => format!("`{c}`"),
            Tok::Eof => "end of pattern".into(),
        }
    }
}

/// A token with its position.
#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) span: Span,
}

/// Whitespace as the grammar defines it.
pub(crate) fn is_pattern_space(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t'
            | '\r'
            | '\n'
            | '\u{0b}'
            | '\u{0c}'
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'
            ..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}'
    )
}

pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    version: Version,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str, version: Version) -> Self {
        Lexer {
            src,
            pos: 0,
            version,
        }
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn peek_byte(&self, ahead: usize) -> Option<u8> {
        self.src.as_bytes().get(self.pos + ahead).copied()
    }

    fn err(&self, kind: ErrorKind, start: usize, end: usize) -> PatternError {
        PatternError::new(kind, Span::new(start, end))
    }

    /// Skip whitespace and comments.
    fn skip_trivia(&mut self) -> Result<(), PatternError> {
        loop {
            // Fast path: ASCII blanks.
            let bytes = self.src.as_bytes();
            while self.pos < bytes.len() && matches!(bytes[self.pos], b' ' | b'\t' | b'\r' | b'\n')
            {
                self.pos += 1;
            }
            let rest = self.rest();
            match rest.as_bytes().first() {
                None => return Ok(()),
                Some(b) if b.is_ascii() && !matches!(b, b'/' | 0x0b | 0x0c) => return Ok(()),
                _ => {}
            }
            if let Some(c) = rest.chars().next() {
                if is_pattern_space(c) {
                    self.pos += c.len_utf8();
                    continue;
                }
            }
            if let Some(body) = rest.strip_prefix("/*") {
                match body.find("*/") {
                    Some(end) => {
                        self.pos += 2 + end + 2;
                        continue;
                    }
                    None => {
                        return Err(self.err(
                            ErrorKind::UnterminatedComment,
                            self.pos,
                            self.src.len(),
                        ))
                    }
                }
            }
            if rest.starts_with("//") {
                let end = rest
                    .find(['\n', '\r'])
                    .map_or(self.src.len(), |i| self.pos + i);
                self.pos = end;
                continue;
            }
            return Ok(());
        }
    }

    pub(crate) fn next_token(&mut self) -> Result<Token, PatternError> {
        self.skip_trivia()?;
        let start = self.pos;
        let Some(c) = self.rest().chars().next() else {
            return Ok(Token {
                tok: Tok::Eof,
                span: Span::new(start, start),
            });
        };
        let tok = match c {
            '[' => self.single(Tok::LBracket),
            ']' => self.single(Tok::RBracket),
            '(' => self.single(Tok::LParen),
            ')' => self.single(Tok::RParen),
            ':' => self.single(Tok::Colon),
            ',' => self.single(Tok::Comma),
            '*' => self.single(Tok::Star),
            '^' => self.single(Tok::Unused('^')),
            '/' => self.single(Tok::Unused('/')),
            '=' => {
                self.pos += if self.peek_byte(1) == Some(b'=') {
                    2
                } else {
                    1
                };
                Tok::Eq
            }
            '!' => {
                if self.peek_byte(1) == Some(b'=') {
                    self.pos += 2;
                    Tok::Ne
                } else {
                    return Err(self.err(ErrorKind::InvalidCharacter('!'), start, start + 1));
                }
            }
            '<' => match self.peek_byte(1) {
                Some(b'=') => {
                    self.pos += 2;
                    Tok::Le
                }
                Some(b'>') => {
                    self.pos += 2;
                    Tok::Ne
                }
                _ => self.single(Tok::Lt),
            },
            '>' => {
                if self.peek_byte(1) == Some(b'=') {
                    self.pos += 2;
                    Tok::Ge
                } else {
                    self.single(Tok::Gt)
                }
            }
            '\'' => self.string()?,
            '.' => {
                if self.peek_byte(1).is_some_and(|b| b.is_ascii_digit()) {
                    self.number()?
                } else {
                    self.single(Tok::Dot)
                }
            }
            '+' | '-' => {
                let next = self.peek_byte(1);
                if next.is_some_and(|b| b.is_ascii_digit())
                    || (next == Some(b'.') && self.peek_byte(2).is_some_and(|b| b.is_ascii_digit()))
                {
                    self.number()?
                } else {
                    self.single(Tok::Unused(c))
                }
            }
            '0'..='9' => self.number()?,
            'h' | 'b' | 't' if self.peek_byte(1) == Some(b'\'') => self.prefixed_literal(c)?,
            c if c.is_ascii_alphabetic() || c == '_' => self.word(),
            other => {
                return Err(self.err(
                    ErrorKind::InvalidCharacter(other),
                    start,
                    start + other.len_utf8(),
                ))
            }
        };
        Ok(Token {
            tok,
            span: Span::new(start, self.pos),
        })
    }

    fn single(&mut self, tok: Tok) -> Tok {
        self.pos += 1;
        tok
    }

    fn word(&mut self) -> Tok {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let mut end = start;
        let mut hyphen = false;
        while end < bytes.len() {
            let b = bytes[end];
            if b.is_ascii_alphanumeric() || b == b'_' {
                end += 1;
            } else if b == b'-' {
                hyphen = true;
                end += 1;
            } else {
                break;
            }
        }
        self.pos = end;
        let word = &self.src[start..end];
        if !hyphen {
            if let Some(k) = Keyword::from_word(word, self.version) {
                return Tok::Keyword(k);
            }
            match word {
                "true" => return Tok::Bool(true),
                "false" => return Tok::Bool(false),
                _ => {}
            }
        }
        Tok::Ident(word.to_owned(), hyphen)
    }

    /// Integers (`'+'? ('0' | [1-9][0-9]*)`, `-` likewise) and floats
    /// (`[+-]? [0-9]* '.' [0-9]+`), longest match.
    fn number(&mut self) -> Result<Tok, PatternError> {
        let bytes = self.src.as_bytes();
        let start = self.pos;
        let mut i = start;
        let sign = match bytes[i] {
            b'+' => Some('+'),
            b'-' => Some('-'),
            _ => None,
        };
        let negative = sign == Some('-');
        if sign.is_some() {
            i += 1;
        }
        let int_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let int_end = i;
        // Float: digits* '.' digits+
        if i < bytes.len()
            && bytes[i] == b'.'
            && bytes.get(i + 1).is_some_and(|b| b.is_ascii_digit())
        {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            let text = self.src[start..j].trim_start_matches('+');
            self.pos = j;
            let value: f64 = text
                .parse()
                .map_err(|_| self.err(ErrorKind::InvalidNumber, start, j))?;
            return Ok(Tok::Float(text.to_owned(), value, sign));
        }
        // Integer: a leading zero ends the literal (`010` lexes as `0` `10`).
        let digits_end = if bytes[int_start] == b'0' {
            int_start + 1
        } else {
            int_end
        };
        self.pos = digits_end;
        let digits = &self.src[int_start..digits_end];
        let text = if negative && digits != "0" {
            format!("-{digits}")
        } else {
            digits.to_owned()
        };
        Ok(Tok::Int(text, sign))
    }

    fn string(&mut self) -> Result<Tok, PatternError> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let mut out = String::new();
        let mut i = start + 1;
        let mut run = i; // start of the text not yet copied
        loop {
            match bytes.get(i) {
                None => {
                    return Err(self.err(ErrorKind::UnterminatedString, start, self.src.len()));
                }
                Some(b'\'') => {
                    out.push_str(&self.src[run..i]);
                    self.pos = i + 1;
                    return Ok(Tok::Str(out));
                }
                Some(b'\\') => {
                    out.push_str(&self.src[run..i]);
                    match bytes.get(i + 1) {
                        Some(b'\'') => out.push('\''),
                        Some(b'\\') => out.push('\\'),
                        Some(_) => {
                            let other = self.src[i + 1..].chars().next().unwrap_or('\\');
                            return Err(self.err(
                                ErrorKind::InvalidEscape(other),
                                i,
                                i + 1 + other.len_utf8(),
                            ));
                        }
                        None => {
                            return Err(self.err(
                                ErrorKind::UnterminatedString,
                                start,
                                self.src.len(),
                            ))
                        }
                    }
                    i += 2;
                    run = i;
                }
                // Multi-byte UTF-8 sequences never contain `'` or `\\` bytes.
                Some(_) => i += 1,
            }
        }
    }

    /// `h'..'`, `b'..'`, `t'..'`.
    fn prefixed_literal(&mut self, prefix: char) -> Result<Tok, PatternError> {
        let start = self.pos;
        let body_start = start + 2;
        let Some(close) = self.src[body_start..].find('\'') else {
            return Err(self.err(ErrorKind::UnterminatedString, start, self.src.len()));
        };
        let body = &self.src[body_start..body_start + close];
        let end = body_start + close + 1;
        let tok = match prefix {
            'h' => {
                if body.len().is_multiple_of(2) && body.bytes().all(|b| b.is_ascii_hexdigit()) {
                    Tok::Hex(body.to_owned())
                } else {
                    return Err(self.err(ErrorKind::InvalidHex, start, end));
                }
            }
            'b' => {
                if is_base64(body) {
                    Tok::Binary(body.to_owned())
                } else {
                    return Err(self.err(ErrorKind::InvalidBinary, start, end));
                }
            }
            _ => {
                if is_timestamp(body) {
                    Tok::Timestamp(Timestamp {
                        text: body.to_owned(),
                    })
                } else {
                    return Err(self.err(ErrorKind::InvalidTimestamp, start, end));
                }
            }
        };
        self.pos = end;
        Ok(tok)
    }
}

/// Base64 as the grammar has it: at least one group of four, the last group
/// may end in `=` or `==`.
fn is_base64(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !b.len().is_multiple_of(4) {
        return false;
    }
    let is_char = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
    let last = &b[b.len() - 4..];
    let body_ok = b[..b.len() - 4].iter().all(|&c| is_char(c));
    let last_ok = match last {
        [a, b2, b'=', b'='] => is_char(*a) && is_char(*b2),
        [a, b2, c, b'='] => is_char(*a) && is_char(*b2) && is_char(*c),
        _ => last.iter().all(|&c| is_char(c)),
    };
    body_ok && last_ok
}

/// `YYYY-MM-DDTHH:MM:SS[.d+]Z` with the grammar's range rules.
pub(crate) fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 {
        return false;
    }
    let d = |i: usize| b[i].is_ascii_digit();
    let two = |i: usize| u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0');
    if !(d(0) && d(1) && d(2) && d(3) && b[4] == b'-' && d(5) && d(6) && b[7] == b'-')
        || !(d(8) && d(9) && b[10] == b'T' && d(11) && d(12) && b[13] == b':')
        || !(d(14) && d(15) && b[16] == b':' && d(17) && d(18))
    {
        return false;
    }
    let (month, day, hour, minute, second) = (two(5), two(8), two(11), two(14), two(17));
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return false;
    }
    match &b[19..] {
        [b'Z'] => true,
        [b'.', frac @ .., b'Z'] => !frac.is_empty() && frac.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        let mut l = Lexer::new(s, Version::V21);
        let mut out = Vec::new();
        loop {
            let t = l.next_token().unwrap();
            if t.tok == Tok::Eof {
                return out;
            }
            out.push(t.tok);
        }
    }

    #[test]
    fn leading_zero_splits_integer() {
        assert_eq!(
            toks("010"),
            vec![Tok::Int("0".into(), None), Tok::Int("10".into(), None)]
        );
    }

    #[test]
    fn floats_need_digits_after_the_point() {
        assert_eq!(toks(".5"), vec![Tok::Float(".5".into(), 0.5, None)]);
        assert_eq!(toks("5."), vec![Tok::Int("5".into(), None), Tok::Dot]);
        assert_eq!(toks("-0"), vec![Tok::Int("0".into(), Some('-'))]);
    }

    #[test]
    fn string_escapes() {
        assert_eq!(toks(r"'it\'s \\'"), vec![Tok::Str(r"it's \".into())]);
        let mut l = Lexer::new(r"'bad\escape'", Version::V21);
        let e = l.next_token().unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidEscape('e'));
        assert_eq!(e.span.range(), 4..6);
    }

    #[test]
    fn timestamps_and_binaries() {
        assert!(is_timestamp("2020-02-30T00:00:60Z"));
        assert!(is_timestamp("2020-01-01T00:00:00.123456789Z"));
        assert!(!is_timestamp("2020-13-01T00:00:00Z"));
        assert!(!is_timestamp("2020-01-01T24:00:00Z"));
        assert!(!is_timestamp("2020-01-01T00:00:00.Z"));
        assert!(!is_timestamp("2020-01-01T00:00:00z"));
        assert!(is_base64("AAA="));
        assert!(is_base64("AA=="));
        assert!(!is_base64("A==="));
        assert!(!is_base64(""));
    }

    #[test]
    fn keywords_are_case_sensitive_and_versioned() {
        assert_eq!(
            toks("AND and"),
            vec![Tok::Keyword(Keyword::And), Tok::Ident("and".into(), false)]
        );
        let mut l = Lexer::new("EXISTS", Version::V20);
        assert_eq!(
            l.next_token().unwrap().tok,
            Tok::Ident("EXISTS".into(), false)
        );
    }
}
