//! Recursive-descent parser over a byte cursor. The grammar is context
//! sensitive in one place only (keywords glued to a preceding value or `)`),
//! so there is no separate token stream.

use super::{CompareOp, Expected, Expr, FilterError, FilterErrorKind, Literal, Number};

/// The longest filter accepted, in bytes (the v1 API documents 2048; the
/// legacy API's limit is unknown, so the parser itself allows more).
pub const MAX_FILTER_LEN: usize = 64 * 1024;
/// The deepest nesting of `(` and `not` accepted.
pub const MAX_DEPTH: usize = 128;

/// Parses a filter. Never panics; errors carry the byte offset.
///
/// ```
/// use stixshift_simulator::filter::parse;
/// assert!(parse(r#"x="a"andy in ("b", 2)"#).is_ok());
/// let err = parse(r#"ruleName="a"b\c""#).unwrap_err();
/// assert_eq!(err.pos, 12);
/// assert_eq!(err.to_string(), "expected `and`, `or` or the end of the filter, found `b` at byte 12");
/// ```
pub fn parse(input: &str) -> Result<Expr, FilterError> {
    if input.len() > MAX_FILTER_LEN {
        return Err(FilterError {
            pos: MAX_FILTER_LEN,
            kind: FilterErrorKind::TooLong {
                len: input.len(),
                max: MAX_FILTER_LEN,
            },
        });
    }
    let mut p = Parser {
        src: input,
        b: input.as_bytes(),
        pos: 0,
        depth: 0,
    };
    p.skip_ws();
    if p.pos == p.b.len() {
        return Err(p.err(FilterErrorKind::Empty));
    }
    let expr = p.parse_or()?;
    p.skip_ws();
    if p.pos != p.b.len() {
        return Err(p.expected(Expected::BinaryOperatorOrEnd));
    }
    Ok(expr)
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'[' | b']' | b'/')
}

struct Parser<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn err(&self, kind: FilterErrorKind) -> FilterError {
        FilterError {
            pos: self.pos,
            kind,
        }
    }

    /// "expected X, found Y" at the current position.
    fn expected(&self, expected: Expected) -> FilterError {
        self.err(FilterErrorKind::Expected {
            expected,
            found: self.found(),
        })
    }

    fn found(&self) -> String {
        let rest = &self.src[self.pos..];
        let Some(c) = rest.chars().next() else {
            return "end of filter".to_owned();
        };
        let word: String = if c.is_ascii() && is_ident_char(c as u8) {
            rest.bytes()
                .take_while(|b| is_ident_char(*b))
                .take(40)
                .map(char::from)
                .collect()
        } else {
            c.to_string()
        };
        format!("`{word}`")
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn skip_ws(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// Whether the input at `at` starts with `kw`, ASCII case-insensitively.
    fn has_keyword_at(&self, at: usize, kw: &str) -> bool {
        self.b
            .get(at..at + kw.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(kw.as_bytes()))
    }

    /// A keyword that must not run on into an identifier (`in`, `exists`, ...).
    fn has_word_at(&self, at: usize, kw: &str) -> bool {
        self.has_keyword_at(at, kw) && !self.b.get(at + kw.len()).is_some_and(|b| is_ident_char(*b))
    }

    /// After an operand: optional spaces, then `kw` as a prefix (`"x"andy`).
    fn eat_binary(&mut self, kw: &str) -> bool {
        let save = self.pos;
        self.skip_ws();
        if self.has_keyword_at(self.pos, kw) {
            self.pos += kw.len();
            true
        } else {
            self.pos = save;
            false
        }
    }

    fn enter(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(FilterErrorKind::TooDeep { max: MAX_DEPTH }));
        }
        Ok(())
    }

    fn parse_or(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.parse_and()?;
        while self.eat_binary("or") {
            let right = self.parse_and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_and(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.parse_unary()?;
        while self.eat_binary("and") {
            let right = self.parse_unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_unary(&mut self) -> Result<Expr, FilterError> {
        self.skip_ws();
        if self.has_keyword_at(self.pos, "not")
            && matches!(
                self.b.get(self.pos + 3),
                Some(b' ' | b'\t' | b'\n' | b'\r' | b'(')
            )
        {
            self.pos += 3;
            self.enter()?;
            let inner = self.parse_unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        if self.peek() == Some(b'(') {
            self.pos += 1;
            self.enter()?;
            let inner = self.parse_or()?;
            self.skip_ws();
            if self.peek() != Some(b')') {
                return Err(self.expected(Expected::CloseParen));
            }
            self.pos += 1;
            self.depth -= 1;
            return Ok(inner);
        }
        self.parse_comparison()
    }

    fn parse_field(&mut self) -> Result<String, FilterError> {
        match self.peek() {
            Some(b) if is_ident_start(b) => {
                let start = self.pos;
                while self.peek().is_some_and(is_ident_char) {
                    self.pos += 1;
                }
                Ok(self.src[start..self.pos].to_owned())
            }
            _ => Err(self.expected(Expected::Operand)),
        }
    }

    fn parse_comparison(&mut self) -> Result<Expr, FilterError> {
        let field = self.parse_field()?;
        let spaced = self.skip_ws() > 0;
        let op_pos = self.pos;
        let symbol = match (self.peek(), self.b.get(self.pos + 1)) {
            (Some(b'!'), Some(b'=')) => Some((CompareOp::Ne, 2)),
            (Some(b'<'), Some(b'=')) => Some((CompareOp::Le, 2)),
            (Some(b'>'), Some(b'=')) => Some((CompareOp::Ge, 2)),
            (Some(b'='), _) => Some((CompareOp::Eq, 1)),
            (Some(b'<'), _) => Some((CompareOp::Lt, 1)),
            (Some(b'>'), _) => Some((CompareOp::Gt, 1)),
            _ => None,
        };
        if let Some((op, len)) = symbol {
            if field == "freeText" && !matches!(op, CompareOp::Eq | CompareOp::Ne) {
                return Err(FilterError {
                    pos: op_pos,
                    kind: FilterErrorKind::FreeTextOperator,
                });
            }
            self.pos += len;
            self.skip_ws();
            let value = self.parse_literal()?;
            return Ok(Expr::Compare { field, op, value });
        }
        if !spaced {
            return Err(self.expected(Expected::Operator));
        }
        let at = self.pos;
        let (negated, at) = if self.has_word_at(at, "not") {
            let mut p = at + 3;
            while matches!(self.b.get(p), Some(b' ' | b'\t' | b'\n' | b'\r')) {
                p += 1;
            }
            if p == at + 3 {
                return Err(self.expected(Expected::Operator));
            }
            (true, p)
        } else {
            (false, at)
        };
        if self.has_word_at(at, "in") {
            self.pos = at + 2;
            let values = self.parse_list()?;
            return self.freetext_check(
                op_pos,
                Expr::In {
                    field,
                    negated,
                    values,
                },
            );
        }
        if self.has_word_at(at, "exists") {
            self.pos = at + 6;
            return self.freetext_check(op_pos, Expr::Exists { field, negated });
        }
        if negated {
            self.pos = at;
            return Err(self.expected(Expected::Operator));
        }
        let op = if self.has_word_at(at, "contains") {
            self.pos = at + 8;
            CompareOp::Contains
        } else if self.has_word_at(at, "startsWith") {
            self.pos = at + 10;
            CompareOp::StartsWith
        } else if self.has_word_at(at, "starts") {
            let mut p = at + 6;
            while matches!(self.b.get(p), Some(b' ' | b'\t' | b'\n' | b'\r')) {
                p += 1;
            }
            if p == at + 6 || !self.has_word_at(p, "with") {
                self.pos = p;
                return Err(self.expected(Expected::Operator));
            }
            self.pos = p + 4;
            CompareOp::StartsWith
        } else {
            return Err(self.expected(Expected::Operator));
        };
        self.skip_ws();
        if self.peek() != Some(b'"') {
            return Err(self.expected(Expected::String));
        }
        let value = self.parse_literal()?;
        self.freetext_check(op_pos, Expr::Compare { field, op, value })
    }

    /// `freeText` takes only `=` and `!=` (`freeText in (…)` and the like are
    /// rejected at the operator's position).
    fn freetext_check(&self, op_pos: usize, e: Expr) -> Result<Expr, FilterError> {
        let field = match &e {
            Expr::Compare { field, .. } | Expr::In { field, .. } | Expr::Exists { field, .. } => {
                field
            }
            _ => return Ok(e),
        };
        if field == "freeText" {
            return Err(FilterError {
                pos: op_pos,
                kind: FilterErrorKind::FreeTextOperator,
            });
        }
        Ok(e)
    }

    fn parse_list(&mut self) -> Result<Vec<Literal>, FilterError> {
        self.skip_ws();
        if self.peek() != Some(b'(') {
            return Err(self.expected(Expected::OpenParen));
        }
        self.pos += 1;
        let mut values = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b')') {
            self.pos += 1;
            return Ok(values);
        }
        loop {
            self.skip_ws();
            values.push(self.parse_literal()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b')') => {
                    self.pos += 1;
                    return Ok(values);
                }
                _ => return Err(self.expected(Expected::CommaOrCloseParen)),
            }
        }
    }

    fn parse_literal(&mut self) -> Result<Literal, FilterError> {
        match self.peek() {
            Some(b'"') => self.parse_string().map(Literal::String),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.pos;
                if self.peek() == Some(b'-') {
                    self.pos += 1;
                }
                let int_start = self.pos;
                while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                    self.pos += 1;
                }
                if self.pos == int_start {
                    self.pos = start;
                    return Err(self.expected(Expected::Value));
                }
                if self.peek() == Some(b'.')
                    && self.b.get(self.pos + 1).is_some_and(u8::is_ascii_digit)
                {
                    self.pos += 1;
                    while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                        self.pos += 1;
                    }
                }
                let text = &self.src[start..self.pos];
                match Number::new(text) {
                    Some(n) => Ok(Literal::Number(n)),
                    None => {
                        self.pos = start;
                        Err(self.expected(Expected::Value))
                    }
                }
            }
            _ => Err(self.expected(Expected::Value)),
        }
    }

    fn parse_string(&mut self) -> Result<String, FilterError> {
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        let mut chunk = self.pos;
        loop {
            match self.peek() {
                None => {
                    self.pos = open;
                    return Err(self.err(FilterErrorKind::UnterminatedString));
                }
                Some(b'"') => {
                    out.push_str(&self.src[chunk..self.pos]);
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    out.push_str(&self.src[chunk..self.pos]);
                    match self.b.get(self.pos + 1) {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push('\\'),
                        Some(_) => {
                            let c = self.src[self.pos + 1..].chars().next().unwrap_or('?');
                            return Err(self.err(FilterErrorKind::InvalidEscape(c)));
                        }
                        None => {
                            self.pos = open;
                            return Err(self.err(FilterErrorKind::UnterminatedString));
                        }
                    }
                    self.pos += 2;
                    chunk = self.pos;
                }
                Some(_) => self.pos += 1,
            }
        }
    }
}
