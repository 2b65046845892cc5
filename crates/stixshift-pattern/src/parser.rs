//! Recursive descent over the token stream. Precedence lives in the
//! `observation_*` and `comparison_*` ladders below.

use crate::ast::*;
use crate::error::{ErrorKind, Expect, PatternError};
use crate::lexer::{Keyword, Lexer, Tok, Token};
use crate::{limits, Version};

pub(crate) struct Parser<'a> {
    lexer: Lexer<'a>,
    current: Token,
    /// End of the token consumed last (spans end there, not at the next
    /// token, which may come after white space or a comment).
    prev_end: usize,
    version: Version,
    depth: usize,
    comparisons: usize,
    observations: usize,
    qualifiers: usize,
}

type PResult<T> = Result<T, PatternError>;

impl<'a> Parser<'a> {
    pub(crate) fn new(src: &'a str, version: Version) -> PResult<Self> {
        let mut lexer = Lexer::new(src, version);
        let current = lexer.next_token()?;
        Ok(Parser {
            lexer,
            current,
            prev_end: 0,
            version,
            depth: 0,
            comparisons: 0,
            observations: 0,
            qualifiers: 0,
        })
    }

    fn bump(&mut self) -> PResult<Token> {
        let next = self.lexer.next_token()?;
        self.prev_end = self.current.span.end;
        Ok(std::mem::replace(&mut self.current, next))
    }

    fn expected<T>(&self, expected: Expect) -> PResult<T> {
        Err(PatternError::new(
            ErrorKind::Expected {
                expected,
                found: self.current.tok.describe(),
            },
            self.current.span,
        ))
    }

    fn is(&self, tok: &Tok) -> bool {
        &self.current.tok == tok
    }

    fn is_kw(&self, k: Keyword) -> bool {
        self.current.tok == Tok::Keyword(k)
    }

    fn eat(&mut self, tok: &Tok, expect: Expect) -> PResult<Token> {
        if self.is(tok) {
            self.bump()
        } else {
            self.expected(expect)
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > limits::MAX_DEPTH {
            return Err(PatternError::new(
                ErrorKind::LimitExceeded {
                    what: "levels of nesting",
                    limit: limits::MAX_DEPTH,
                },
                self.current.span,
            ));
        }
        Ok(())
    }

    fn count(counter: &mut usize, limit: usize, what: &'static str, span: Span) -> PResult<()> {
        *counter += 1;
        if *counter > limit {
            return Err(PatternError::new(
                ErrorKind::LimitExceeded { what, limit },
                span,
            ));
        }
        Ok(())
    }

    pub(crate) fn pattern(&mut self) -> PResult<Pattern> {
        let expr = self.observation_seq()?;
        if !self.is(&Tok::Eof) {
            return self.expected(Expect::ObservationOperatorOrEnd);
        }
        Ok(Pattern { expr })
    }

    /// `FOLLOWEDBY`, loosest.
    fn observation_seq(&mut self) -> PResult<ObservationExpr> {
        self.observation_binary(ObservationOp::FollowedBy)
    }

    /// One rung of the observation ladder: FOLLOWEDBY > OR > AND > qualified.
    fn observation_binary(&mut self, op: ObservationOp) -> PResult<ObservationExpr> {
        let (keyword, tighter) = match op {
            ObservationOp::FollowedBy => (Keyword::FollowedBy, Some(ObservationOp::Or)),
            ObservationOp::Or => (Keyword::Or, Some(ObservationOp::And)),
            ObservationOp::And => (Keyword::And, None),
        };
        let operand = |p: &mut Self| match tighter {
            Some(t) => p.observation_binary(t),
            None => p.observation_qualified(),
        };
        let mut left = operand(self)?;
        while self.is_kw(keyword) {
            self.bump()?;
            let right = operand(self)?;
            left = ObservationExpr::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
        Ok(left)
    }

    fn observation_qualified(&mut self) -> PResult<ObservationExpr> {
        let bare = self.is(&Tok::LBracket);
        let mut expr = self.observation_atom()?;
        let mut seen: Vec<&'static str> = Vec::new();
        while let Tok::Keyword(Keyword::Start | Keyword::Within | Keyword::Repeats) =
            self.current.tok
        {
            let qualifier = self.qualifier()?;
            Self::count(
                &mut self.qualifiers,
                limits::MAX_QUALIFIERS,
                "qualifiers",
                qualifier.span,
            )?;
            let name = qualifier.kind.name();
            if bare && self.version == Version::V21 {
                if seen.contains(&name) {
                    return Err(PatternError::new(
                        ErrorKind::DuplicateQualifier(name),
                        qualifier.span,
                    ));
                }
                seen.push(name);
            }
            expr = ObservationExpr::Qualified {
                expr: Box::new(expr),
                qualifier,
            };
        }
        Ok(expr)
    }

    fn observation_atom(&mut self) -> PResult<ObservationExpr> {
        match self.current.tok {
            Tok::LBracket => {
                let open = self.bump()?.span;
                Self::count(
                    &mut self.observations,
                    limits::MAX_OBSERVATIONS,
                    "observations",
                    open,
                )?;
                self.enter()?;
                let comparison = self.comparison_or()?;
                if !self.is(&Tok::RBracket) {
                    return self.expected(Expect::ComparisonOperatorOrEnd);
                }
                let close = self.bump()?.span;
                self.depth -= 1;
                Ok(ObservationExpr::Observation(Observation {
                    comparison,
                    span: open.to(close),
                }))
            }
            Tok::LParen => {
                self.bump()?;
                self.enter()?;
                let expr = self.observation_seq()?;
                self.eat(&Tok::RParen, Expect::CloseParen)?;
                self.depth -= 1;
                Ok(expr)
            }
            _ => self.expected(Expect::ObservationStart),
        }
    }

    fn qualifier(&mut self) -> PResult<Qualifier> {
        let first = self.bump()?;
        let start = first.span;
        let kind = match first.tok {
            Tok::Keyword(Keyword::Start) => {
                let from = self.timestamp()?;
                self.eat(&Tok::Keyword(Keyword::Stop), Expect::Stop)?;
                let stop = self.timestamp()?;
                QualifierKind::StartStop { start: from, stop }
            }
            Tok::Keyword(Keyword::Within) => {
                let n = match &self.current.tok {
                    Tok::Int(text, sign) if *sign != Some('-') => text.clone(),
                    Tok::Float(text, _, sign) if *sign != Some('-') => text.clone(),
                    _ => return self.expected(Expect::NonNegativeNumber),
                };
                self.bump()?;
                self.eat(&Tok::Keyword(Keyword::Seconds), Expect::Seconds)?;
                QualifierKind::Within(n)
            }
            _ => {
                let n = match &self.current.tok {
                    Tok::Int(text, sign) if *sign != Some('-') => text.clone(),
                    _ => return self.expected(Expect::NonNegativeInteger),
                };
                self.bump()?;
                self.eat(&Tok::Keyword(Keyword::Times), Expect::Times)?;
                QualifierKind::Repeats(n)
            }
        };
        let end = self.prev_end;
        Ok(Qualifier {
            kind,
            span: Span::new(start.start, end),
        })
    }

    fn timestamp(&mut self) -> PResult<Timestamp> {
        if !matches!(self.current.tok, Tok::Timestamp(_)) {
            return self.expected(Expect::Timestamp);
        }
        match self.bump()?.tok {
            Tok::Timestamp(t) => Ok(t),
            _ => self.expected(Expect::Timestamp),
        }
    }

    fn comparison_or(&mut self) -> PResult<ComparisonExpr> {
        let mut left = self.comparison_and()?;
        while self.is_kw(Keyword::Or) {
            self.bump()?;
            let right = self.comparison_and()?;
            left = ComparisonExpr::Binary {
                op: BoolOp::Or,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
        Ok(left)
    }

    fn comparison_and(&mut self) -> PResult<ComparisonExpr> {
        let mut left = self.comparison_atom()?;
        while self.is_kw(Keyword::And) {
            self.bump()?;
            let right = self.comparison_atom()?;
            left = ComparisonExpr::Binary {
                op: BoolOp::And,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
        Ok(left)
    }

    fn comparison_atom(&mut self) -> PResult<ComparisonExpr> {
        if self.is(&Tok::LParen) {
            self.bump()?;
            self.enter()?;
            let inner = self.comparison_or()?;
            self.eat(&Tok::RParen, Expect::CloseParen)?;
            self.depth -= 1;
            return Ok(inner);
        }
        let start = self.current.span;
        Self::count(
            &mut self.comparisons,
            limits::MAX_COMPARISONS,
            "comparisons",
            start,
        )?;
        // `[NOT] EXISTS path` (2.1 only: in 2.0 `EXISTS` is not a keyword).
        if self.version == Version::V21 && (self.is_kw(Keyword::Not) || self.is_kw(Keyword::Exists))
        {
            let negated = self.is_kw(Keyword::Not);
            if negated {
                self.bump()?;
            }
            self.eat(&Tok::Keyword(Keyword::Exists), Expect::Exists)?;
            let path = self.object_path()?;
            return Ok(ComparisonExpr::Comparison(Comparison {
                path,
                negated,
                op: ComparisonOp::Exists,
                operand: Operand::None,
                span: Span::new(start.start, self.prev_end),
            }));
        }
        let path = self.object_path()?;
        let negated = self.is_kw(Keyword::Not);
        if negated {
            self.bump()?;
        }
        let op = match self.current.tok {
            Tok::Eq => ComparisonOp::Equal,
            Tok::Ne => ComparisonOp::NotEqual,
            Tok::Lt => ComparisonOp::LessThan,
            Tok::Le => ComparisonOp::LessThanOrEqual,
            Tok::Gt => ComparisonOp::GreaterThan,
            Tok::Ge => ComparisonOp::GreaterThanOrEqual,
            Tok::Keyword(Keyword::In) => ComparisonOp::In,
            Tok::Keyword(Keyword::Like) => ComparisonOp::Like,
            Tok::Keyword(Keyword::Matches) => ComparisonOp::Matches,
            Tok::Keyword(Keyword::IsSubset) => ComparisonOp::IsSubset,
            Tok::Keyword(Keyword::IsSuperset) => ComparisonOp::IsSuperset,
            _ => return self.expected(Expect::Operator),
        };
        self.bump()?;
        let operand = match op {
            ComparisonOp::Equal | ComparisonOp::NotEqual => {
                Operand::Constant(self.constant(Expect::Literal)?)
            }
            ComparisonOp::LessThan
            | ComparisonOp::LessThanOrEqual
            | ComparisonOp::GreaterThan
            | ComparisonOp::GreaterThanOrEqual => {
                Operand::Constant(self.constant(Expect::OrderableLiteral)?)
            }
            ComparisonOp::In => Operand::Set(self.set()?),
            _ => match self.current.tok {
                Tok::Str(_) => match self.bump()?.tok {
                    Tok::Str(s) => Operand::Constant(Constant::String(s)),
                    _ => return self.expected(Expect::StringLiteral),
                },
                _ => return self.expected(Expect::StringLiteral),
            },
        };
        let comparison = Comparison {
            path,
            negated,
            op,
            operand,
            span: Span::new(start.start, self.prev_end),
        };
        check_hash(&comparison)?;
        Ok(ComparisonExpr::Comparison(comparison))
    }

    fn set(&mut self) -> PResult<Vec<Constant>> {
        self.eat(&Tok::LParen, Expect::SetOpen)?;
        let mut items = Vec::new();
        if self.is(&Tok::RParen) {
            self.bump()?;
            return Ok(items);
        }
        loop {
            items.push(self.constant(Expect::Literal)?);
            match self.current.tok {
                Tok::Comma => {
                    self.bump()?;
                }
                Tok::RParen => {
                    self.bump()?;
                    return Ok(items);
                }
                _ => return self.expected(Expect::SetSeparator),
            }
        }
    }

    /// A literal; booleans only where `expect` is [`Expect::Literal`].
    fn constant(&mut self, expect: Expect) -> PResult<Constant> {
        let literal = match self.current.tok {
            Tok::Int(..)
            | Tok::Float(..)
            | Tok::Str(_)
            | Tok::Timestamp(_)
            | Tok::Hex(_)
            | Tok::Binary(_) => true,
            Tok::Bool(_) => expect == Expect::Literal,
            _ => false,
        };
        if !literal {
            return self.expected(expect);
        }
        // The token's text moves into the tree (no copy).
        Ok(match self.bump()?.tok {
            Tok::Int(text, _) => Constant::Int(text),
            Tok::Float(_, v, _) => Constant::Float(v),
            Tok::Str(s) => Constant::String(s),
            Tok::Bool(b) => Constant::Bool(b),
            Tok::Timestamp(t) => Constant::Timestamp(t),
            Tok::Hex(h) => Constant::Hex(h),
            Tok::Binary(b) => Constant::Binary(b),
            _ => return self.expected(expect),
        })
    }

    fn object_path(&mut self) -> PResult<ObjectPath> {
        if !matches!(self.current.tok, Tok::Ident(..)) {
            return self.expected(Expect::ObjectType);
        }
        let object_type = match self.bump()?.tok {
            Tok::Ident(name, _) => name,
            _ => return self.expected(Expect::ObjectType),
        };
        self.eat(&Tok::Colon, Expect::Colon)?;
        let mut steps = vec![PathStep::Key(self.key()?)];
        loop {
            match self.current.tok {
                Tok::Dot => {
                    self.bump()?;
                    steps.push(PathStep::Key(self.key()?));
                }
                Tok::LBracket => {
                    self.bump()?;
                    let step = match &self.current.tok {
                        Tok::Int(n, _) => PathStep::Index(n.clone()),
                        Tok::Star => PathStep::AnyIndex,
                        _ => return self.expected(Expect::Index),
                    };
                    self.bump()?;
                    self.eat(&Tok::RBracket, Expect::CloseBracket)?;
                    steps.push(step);
                }
                _ => return Ok(ObjectPath { object_type, steps }),
            }
        }
    }

    fn key(&mut self) -> PResult<String> {
        if !matches!(self.current.tok, Tok::Ident(_, false) | Tok::Str(_)) {
            return self.expected(Expect::PropertyKey);
        }
        match self.bump()?.tok {
            Tok::Ident(name, _) | Tok::Str(name) => Ok(name),
            _ => self.expected(Expect::PropertyKey),
        }
    }
}

/// Hash algorithms whose values the OASIS validator checks, by normalised
/// name (upper case, `-` removed), with the accepted lengths of hex digits.
const HASH_HEX_LENGTHS: &[(&str, &[usize])] = &[
    ("MD5", &[32]),
    ("RIPEMD160", &[40]),
    ("SHA1", &[40]),
    ("SHA224", &[56]),
    ("SHA256", &[64]),
    ("SHA384", &[96]),
    ("SHA512", &[128]),
    ("SHA3224", &[56]),
    ("SHA3256", &[64]),
    ("SHA3384", &[96]),
    ("SHA3512", &[128]),
    ("WHIRLPOOL", &[128]),
];

/// The validator's hash-format rule: a path with a `hashes` step whose last
/// step is a named key with a known algorithm must compare against a value
/// of that algorithm's shape.
fn check_hash(c: &Comparison) -> PResult<()> {
    let has_hashes = c
        .path
        .steps
        .iter()
        .any(|s| matches!(s, PathStep::Key(k) if k == "hashes"));
    let Some(PathStep::Key(algorithm)) = c.path.steps.last() else {
        return Ok(());
    };
    if !has_hashes {
        return Ok(());
    }
    let name: String = algorithm
        .to_uppercase()
        .chars()
        .filter(|ch| *ch != '-' && *ch != '\'')
        .collect();
    // The validator checks the literal's text with quotes removed.
    let value = match &c.operand {
        Operand::Constant(k) => crate::print::constant_text(k).replace('\'', ""),
        Operand::Set(items) => crate::print::set_text(items).replace('\'', ""),
        Operand::None => return Ok(()),
    };
    let hex = |v: &str, lens: &[usize]| {
        v.bytes().all(|b| b.is_ascii_hexdigit()) && lens.contains(&v.len())
    };
    let ok = match name.as_str() {
        // MD6's validator pattern accepts anything that starts with 32 hex digits.
        "MD6" => value.len() >= 32 && value.as_bytes()[..32].iter().all(u8::is_ascii_hexdigit),
        "SSDEEP" => {
            (1..=128).contains(&value.len())
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/+:.".contains(&b))
        }
        other => match HASH_HEX_LENGTHS.iter().find(|(n, _)| *n == other) {
            Some((_, lens)) => hex(&value, lens),
            None => true,
        },
    };
    if ok {
        Ok(())
    } else {
        Err(PatternError::new(
            ErrorKind::InvalidHash {
                value,
                algorithm: algorithm.clone(),
            },
            c.span,
        ))
    }
}
