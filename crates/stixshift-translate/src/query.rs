//! STIX pattern → Sysdig Secure filter queries.
//!
//! Each query is `from=<ns>&to=<ns>&filter=(<filter>)andsource!="auditTrail"`,
//! one per distinct time window. The text equals stix-shifter's wherever
//! stix-shifter's query means what the pattern means (operand order and
//! spacing included); where it does not, the smallest correct change is
//! made (see `docs/compatibility.md`):
//! values are escaped, `or` under `and` is parenthesised, severity
//! inequalities are inverted, time is exact, windows over 14 days are split.

use std::fmt::Write as _;

use stixshift_pattern::{
    parse, BoolOp, Comparison, ComparisonExpr, ComparisonOp, Constant, ObservationExpr,
    ObservationOp, Operand, PatternError, QualifierKind, Version,
};

use crate::mapping::{FieldType, QueryMapping};
use crate::time::{timestamp_ns, MAX_WINDOW_NS, NANOS_PER_MINUTE};

/// What a translation needs besides the pattern.
#[derive(Clone, Debug)]
pub struct QueryConfig<'a> {
    /// The mapping files.
    pub mapping: &'a QueryMapping,
    /// Minutes of the default window for observations without START/STOP;
    /// `None` when the option was `null`.
    pub time_range_minutes: Option<u64>,
    /// "Now", in milliseconds since the epoch, for the default window.
    pub now_ms: i64,
    /// Record how each comparison was translated ([`Translation::comparisons`]).
    pub explain: bool,
}

/// Why a pattern could not be translated. `Display` gives stix-shifter's
/// message text (after the `sysdig connector error => ` prefix).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// The pattern is not valid STIX.
    #[error("stix validation error : The STIX pattern has the following errors: [{}]", py_repr(&.error.validator_line(.pattern)))]
    Syntax {
        /// The parser's error.
        error: PatternError,
        /// The pattern text, for rendering.
        pattern: String,
    },
    /// Nothing of the pattern maps to Sysdig.
    #[error("data mapping error : Unable to map the following STIX {} to data source fields", unmapped_text(.attributes, .operators))]
    Unmapped {
        /// `type:property` texts without a mapping.
        attributes: Vec<String>,
        /// Operator names without a mapping (`Like`, `Matches`, ...).
        operators: Vec<String>,
    },
    /// A construct the Sysdig connector does not support.
    #[error("wrong parameter : {0}")]
    Unsupported(String),
    /// Any other translation failure.
    #[error("STIX translation error: {0}")]
    Invalid(String),
}

fn unmapped_text(attributes: &[String], operators: &[String]) -> String {
    let attrs = format!(
        "[{}]",
        attributes
            .iter()
            .map(|a| py_repr(a))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let ops = format!("[{}]", operators.join(", "));
    match (attributes.is_empty(), operators.is_empty()) {
        (false, true) => format!("objects and properties: {attrs}"),
        (true, false) => format!("Operators: {ops}"),
        _ => format!("objects and properties: {attrs} and Operators: {ops}"),
    }
}

/// Python's `repr()` of a string (as stix-shifter renders lists in messages).
pub fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// One query window, `[from, to)` in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    /// Start, inclusive.
    pub from: i128,
    /// End, exclusive.
    pub to: i128,
}

/// How one comparison was translated (for `--explain`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComparisonExplanation {
    /// The comparison in canonical pattern text.
    pub comparison: String,
    /// The Sysdig fields it maps to.
    pub fields: Vec<String>,
    /// The type of the first field.
    pub field_type: &'static str,
    /// The rule applied to the value.
    pub rule: String,
    /// The filter text produced.
    pub filter: String,
}

/// The result of a translation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Translation {
    /// The queries, one per window, in first-seen order.
    pub queries: Vec<String>,
    /// The canonical text of the parsed pattern.
    pub pattern: String,
    /// Attributes dropped because they have no mapping (inside an `OR`).
    pub dropped: Vec<String>,
    /// One entry per translated comparison, in pattern order (only with
    /// [`QueryConfig::explain`]).
    pub comparisons: Vec<ComparisonExplanation>,
    /// The windows, as in `queries`.
    pub windows: Vec<Window>,
}

/// Parse a pattern as translation does (STIX 2.1 grammar, strict); a syntax
/// error becomes [`QueryError::Syntax`].
pub fn parse_pattern(pattern: &str) -> Result<stixshift_pattern::Pattern, QueryError> {
    parse(pattern, Version::V21).map_err(|error| QueryError::Syntax {
        error,
        pattern: pattern.to_owned(),
    })
}

/// Translate a STIX pattern into Sysdig queries.
pub fn translate(pattern: &str, config: &QueryConfig<'_>) -> Result<Translation, QueryError> {
    let parsed = parse_pattern(pattern)?;
    let mut unmapped = Unmapped::default();
    let Some(kept) = prune_observations(&parsed.expr, config.mapping, &mut unmapped) else {
        return Err(QueryError::Unmapped {
            attributes: unmapped.attributes,
            operators: unmapped.operators,
        });
    };

    let mut builder = Builder {
        config,
        default_window: None,
        observations: Vec::new(),
        explanations: Vec::new(),
    };
    builder.observation(&kept, None)?;
    let canonical = if config.explain {
        parsed.to_string()
    } else {
        String::new()
    };

    // Group observation filters by window, in first-seen order.
    let mut groups: Vec<(Window, Vec<String>)> = Vec::new();
    for (window, filter) in builder.observations {
        match groups.iter_mut().find(|(w, _)| *w == window) {
            Some((_, filters)) => filters.push(filter),
            None => groups.push((window, vec![filter])),
        }
    }
    let joiner = format!(
        " {} ",
        config
            .mapping
            .operator("ObservationOperators.Or")
            .unwrap_or("or")
    );
    let mut queries = Vec::new();
    let mut windows = Vec::new();
    for (window, filters) in groups {
        let filter = filters.join(&joiner);
        let pieces = split_window(window);
        if pieces.len() > MAX_QUERIES_PER_WINDOW {
            return Err(QueryError::Unsupported(format!(
                "the START/STOP window spans {} days: more than {MAX_QUERIES_PER_WINDOW} queries of at most 14 days; narrow it",
                (window.to - window.from) / (86_400 * 1_000_000_000)
            )));
        }
        for piece in pieces {
            queries.push(format!(
                "from={}&to={}&filter=({filter})andsource!=\"auditTrail\"",
                piece.from, piece.to
            ));
            windows.push(piece);
        }
    }
    Ok(Translation {
        queries,
        pattern: canonical,
        dropped: unmapped.attributes,
        comparisons: builder.explanations,
        windows,
    })
}

/// Most queries one START/STOP window may be split into (1000 windows of
/// 14 days: 38 years).
pub const MAX_QUERIES_PER_WINDOW: usize = 1000;

/// Consecutive windows of at most 14 days covering `w`.
pub fn split_window(w: Window) -> Vec<Window> {
    let mut out = Vec::new();
    let mut from = w.from;
    while w.to - from > MAX_WINDOW_NS {
        out.push(Window {
            from,
            to: from + MAX_WINDOW_NS,
        });
        from += MAX_WINDOW_NS;
    }
    out.push(Window { from, to: w.to });
    out
}

#[derive(Default)]
struct Unmapped {
    attributes: Vec<String>,
    operators: Vec<String>,
}

impl Unmapped {
    fn note(list: &mut Vec<String>, item: String) {
        if !list.contains(&item) {
            list.push(item);
        }
    }
}

fn operator_key(op: ComparisonOp) -> &'static str {
    match op {
        ComparisonOp::Equal => "ComparisonComparators.Equal",
        ComparisonOp::NotEqual => "ComparisonComparators.NotEqual",
        ComparisonOp::LessThan => "ComparisonComparators.LessThan",
        ComparisonOp::LessThanOrEqual => "ComparisonComparators.LessThanOrEqual",
        ComparisonOp::GreaterThan => "ComparisonComparators.GreaterThan",
        ComparisonOp::GreaterThanOrEqual => "ComparisonComparators.GreaterThanOrEqual",
        ComparisonOp::In => "ComparisonComparators.In",
        ComparisonOp::Like => "ComparisonComparators.Like",
        ComparisonOp::Matches => "ComparisonComparators.Matches",
        ComparisonOp::IsSubset => "ComparisonComparators.IsSubSet",
        ComparisonOp::IsSuperset => "ComparisonComparators.IsSuperSet",
        ComparisonOp::Exists => "ComparisonComparators.Exists",
    }
}

/// The part of the pattern that survives pruning, borrowed from the tree,
/// with each comparison's mapped fields and operator text looked up once.
enum KeptComparison<'a> {
    Comparison {
        c: &'a Comparison,
        fields: &'a [String],
        operator: &'a str,
    },
    Binary {
        op: BoolOp,
        left: Box<KeptComparison<'a>>,
        right: Box<KeptComparison<'a>>,
    },
}

enum KeptObservation<'a> {
    Observation(KeptComparison<'a>),
    Binary {
        op: ObservationOp,
        left: Box<KeptObservation<'a>>,
        right: Box<KeptObservation<'a>>,
    },
    Qualified {
        expr: Box<KeptObservation<'a>>,
        qualifier: &'a stixshift_pattern::Qualifier,
    },
}

/// Drop comparisons with no mapping as stix-shifter does: an `AND` loses
/// both sides, an `OR` keeps the mapped side, an observation left empty
/// disappears with its qualifiers.
fn prune_comparisons<'a>(
    e: &'a ComparisonExpr,
    mapping: &'a QueryMapping,
    unmapped: &mut Unmapped,
) -> Option<KeptComparison<'a>> {
    match e {
        ComparisonExpr::Comparison(c) => {
            let fields = mapping.fields(&c.path.object_type, &c.path.property_text());
            let operator = mapping.operator(operator_key(c.op));
            if fields.is_none() {
                Unmapped::note(&mut unmapped.attributes, c.path.attribute_text());
            }
            if operator.is_none() {
                Unmapped::note(&mut unmapped.operators, c.op.stix_shifter_name().to_owned());
            }
            Some(KeptComparison::Comparison {
                c,
                fields: fields?,
                operator: operator?,
            })
        }
        ComparisonExpr::Binary { op, left, right } => {
            let l = prune_comparisons(left, mapping, unmapped);
            let r = prune_comparisons(right, mapping, unmapped);
            match (op, l, r) {
                (_, Some(l), Some(r)) => Some(KeptComparison::Binary {
                    op: *op,
                    left: Box::new(l),
                    right: Box::new(r),
                }),
                (BoolOp::Or, Some(one), None) | (BoolOp::Or, None, Some(one)) => Some(one),
                _ => None,
            }
        }
    }
}

fn prune_observations<'a>(
    e: &'a ObservationExpr,
    mapping: &'a QueryMapping,
    unmapped: &mut Unmapped,
) -> Option<KeptObservation<'a>> {
    match e {
        ObservationExpr::Observation(o) => Some(KeptObservation::Observation(prune_comparisons(
            &o.comparison,
            mapping,
            unmapped,
        )?)),
        ObservationExpr::Binary { op, left, right } => {
            let l = prune_observations(left, mapping, unmapped);
            let r = prune_observations(right, mapping, unmapped);
            match (l, r) {
                (Some(l), Some(r)) => Some(KeptObservation::Binary {
                    op: *op,
                    left: Box::new(l),
                    right: Box::new(r),
                }),
                (Some(one), None) | (None, Some(one)) => Some(one),
                (None, None) => None,
            }
        }
        ObservationExpr::Qualified { expr, qualifier } => {
            let inner = prune_observations(expr, mapping, unmapped)?;
            Some(KeptObservation::Qualified {
                expr: Box::new(inner),
                qualifier,
            })
        }
    }
}

/// A filter expression with the semantic operator kept apart from its text.
enum Filter {
    Leaf(String),
    Bin {
        op: BoolOp,
        text: String,
        first: Box<Filter>,
        second: Box<Filter>,
    },
}

impl Filter {
    fn render(&self, out: &mut String) {
        match self {
            Filter::Leaf(s) => out.push_str(s),
            Filter::Bin {
                op,
                text,
                first,
                second,
            } => {
                for (i, child) in [first, second].into_iter().enumerate() {
                    if i == 1 {
                        out.push_str(text);
                    }
                    // `and` binds tighter than `or`: an `or` under an `and` needs parentheses.
                    let parens =
                        *op == BoolOp::And && matches!(**child, Filter::Bin { op: BoolOp::Or, .. });
                    if parens {
                        out.push('(');
                    }
                    child.render(out);
                    if parens {
                        out.push(')');
                    }
                }
            }
        }
    }

    fn text(&self) -> String {
        let mut s = String::new();
        self.render(&mut s);
        s
    }
}

struct Builder<'c, 'm> {
    config: &'c QueryConfig<'m>,
    default_window: Option<Window>,
    observations: Vec<(Window, String)>,
    explanations: Vec<ComparisonExplanation>,
}

impl Builder<'_, '_> {
    fn default_window(&mut self) -> Result<Window, QueryError> {
        if let Some(w) = self.default_window {
            return Ok(w);
        }
        let minutes = self.config.time_range_minutes.ok_or_else(|| {
            QueryError::Invalid(
                "option `time_range` is null, but an observation has no START/STOP qualifier"
                    .to_owned(),
            )
        })?;
        let to = i128::from(self.config.now_ms) * 1_000_000;
        let w = Window {
            from: to - i128::from(minutes) * NANOS_PER_MINUTE,
            to,
        };
        self.default_window = Some(w);
        Ok(w)
    }

    /// Walk observations left to right; the innermost START/STOP wins.
    fn observation(
        &mut self,
        e: &KeptObservation<'_>,
        window: Option<Window>,
    ) -> Result<(), QueryError> {
        match e {
            KeptObservation::Observation(comparison) => {
                let window = match window {
                    Some(w) => w,
                    None => self.default_window()?,
                };
                let filter = self.comparison_expr(comparison)?.text();
                self.observations.push((window, filter));
                Ok(())
            }
            KeptObservation::Binary { op, left, right } => {
                if *op == ObservationOp::FollowedBy {
                    return Err(QueryError::Unsupported(
                        "Comparison operator FollowedBy unsupported for Sysdig connector"
                            .to_owned(),
                    ));
                }
                self.observation(left, window)?;
                self.observation(right, window)
            }
            KeptObservation::Qualified { expr, qualifier } => match &qualifier.kind {
                QualifierKind::StartStop { start, stop } => {
                    let convert = |t: &stixshift_pattern::Timestamp| {
                        timestamp_ns(t).ok_or_else(|| {
                            QueryError::Unsupported(format!(
                                "cannot convert the timestamp {} to epoch time",
                                t.text
                            ))
                        })
                    };
                    let (from, to) = (convert(start)?, convert(stop)?);
                    if from > to {
                        return Err(QueryError::Invalid(
                            "Start time should be lesser than Stop time".to_owned(),
                        ));
                    }
                    self.observation(expr, Some(Window { from, to }))
                }
                // WITHIN and REPEATS have no Sysdig equivalent: ignored, as by stix-shifter.
                QualifierKind::Within(_) | QualifierKind::Repeats(_) => {
                    self.observation(expr, window)
                }
            },
        }
    }

    fn comparison_expr(&mut self, e: &KeptComparison<'_>) -> Result<Filter, QueryError> {
        match e {
            KeptComparison::Comparison {
                c,
                fields,
                operator,
            } => self.comparison(c, fields, operator),
            KeptComparison::Binary { op, left, right } => {
                // stix-shifter prints the right operand first; the order is kept.
                let l = self.comparison_expr(left)?;
                let r = self.comparison_expr(right)?;
                let key = match op {
                    BoolOp::And => "ComparisonExpressionOperators.And",
                    BoolOp::Or => "ComparisonExpressionOperators.Or",
                };
                let text = self
                    .config
                    .mapping
                    .operator(key)
                    .unwrap_or(match op {
                        BoolOp::And => "and",
                        BoolOp::Or => "or",
                    })
                    .to_owned();
                Ok(Filter::Bin {
                    op: *op,
                    text,
                    first: Box::new(r),
                    second: Box::new(l),
                })
            }
        }
    }

    fn comparison(
        &mut self,
        c: &Comparison,
        fields: &[String],
        written: &str,
    ) -> Result<Filter, QueryError> {
        let mapping = self.config.mapping;
        let op_text = if c.negated {
            negate(written)
        } else {
            written.to_owned()
        };
        let first_field = fields.first().map(String::as_str).unwrap_or_default();
        let field_type = mapping.field_type(first_field);
        let severity = first_field == "severity";

        let (value, rule) = match &c.operand {
            Operand::Set(items) => {
                let mut parts = Vec::with_capacity(items.len());
                for item in items {
                    let text = literal_text(item, first_field)?;
                    parts.push(format_value(&text, field_type, severity)?);
                }
                (format!("({})", parts.join(",")), None)
            }
            Operand::Constant(k) => {
                let text = literal_text(k, first_field)?;
                check_operator(field_type, written)?;
                if severity && is_ordering(&op_text) {
                    let score = severity_score(&text)?;
                    let (op, sysdig) = invert_severity(&op_text, score);
                    let rule = Some((op_text.clone(), score, op, sysdig));
                    return Ok(self.finish(
                        c,
                        fields,
                        field_type,
                        rule,
                        op.to_owned(),
                        sysdig.to_string(),
                    ));
                }
                (format_value(&text, field_type, severity)?, None)
            }
            Operand::None => (String::new(), None),
        };
        if first_field == "source"
            && (op_text == "=" || op_text == "in")
            && value_mentions_audit_trail(&c.operand)
        {
            return Err(QueryError::Unsupported(
                "Sysdig connector does not provide auditTrail event".to_owned(),
            ));
        }
        Ok(self.finish(c, fields, field_type, rule, op_text, value))
    }

    fn finish(
        &mut self,
        c: &Comparison,
        fields: &[String],
        field_type: FieldType,
        inverted: Option<(String, u32, &'static str, u32)>,
        op_text: String,
        value: String,
    ) -> Filter {
        let spaced = op_text.contains("in");
        let one = |field: &str| {
            if spaced {
                format!("{field} {op_text} {value}")
            } else {
                format!("{field}{op_text}{value}")
            }
        };
        // Several fields for one attribute: any of them may match; for a
        // negated comparison none of them may.
        let negative = op_text == "!=" || op_text == "not in";
        let mut filter = Filter::Leaf(one(fields.first().map(String::as_str).unwrap_or_default()));
        for field in fields.iter().skip(1) {
            filter = Filter::Bin {
                op: if negative { BoolOp::And } else { BoolOp::Or },
                text: if negative { " and " } else { " or " }.to_owned(),
                first: Box::new(filter),
                second: Box::new(Filter::Leaf(one(field))),
            };
        }
        if self.config.explain {
            self.explanations.push(ComparisonExplanation {
                comparison: c.to_string(),
                fields: fields.to_vec(),
                field_type: field_type.name(),
                rule: match inverted {
                    Some((stix_op, score, op, sysdig)) => format!(
                        "severity: STIX score {stix_op} {score} holds exactly for Sysdig severity {op} {sysdig} (score = (10 - severity) * 10)"
                    ),
                    None => value_rule(field_type, fields.first().is_some_and(|f| f == "severity")),
                },
                filter: filter.text(),
            });
        }
        filter
    }
}

fn value_rule(field_type: FieldType, severity: bool) -> String {
    match (field_type, severity) {
        (FieldType::Int, true) => {
            "severity: STIX score bucketed to Sysdig 0-7 (91-100 -> 0 ... 1-30 -> 7)".to_owned()
        }
        (FieldType::Int, false) => "int: ASCII digits, unquoted".to_owned(),
        (FieldType::String, _) => "string: double-quoted, `\"` and `\\` escaped".to_owned(),
        (FieldType::Mac, _) => "mac: MAC address check, double-quoted".to_owned(),
    }
}

fn negate(op: &str) -> String {
    match op {
        ">" => "<=",
        ">=" => "<",
        "<" => ">=",
        "<=" => ">",
        "=" => "!=",
        "!=" => "=",
        "in" => "not in",
        other => return format!("not {other}"),
    }
    .to_owned()
}

fn is_ordering(op: &str) -> bool {
    matches!(op, "<" | "<=" | ">" | ">=")
}

/// The literal's text as stix-shifter renders it before type checks.
fn literal_text(c: &Constant, field: &str) -> Result<String, QueryError> {
    Ok(match c {
        Constant::Int(s) => s.clone(),
        Constant::Float(_) => stixshift_pattern::constant_text(c),
        Constant::String(s) => s.clone(),
        Constant::Bool(b) => {
            return Err(QueryError::Invalid(format!(
                "boolean literal `{b}` cannot be compared with Sysdig field `{field}`"
            )))
        }
        Constant::Timestamp(t) => {
            let p = t.parts();
            let micros: String = p.fraction.chars().chain("000000".chars()).take(6).collect();
            let frac = if micros == "000000" {
                String::new()
            } else {
                format!(".{micros}")
            };
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}{frac}+00:00",
                p.year, p.month, p.day, p.hour, p.minute, p.second
            )
        }
        Constant::Hex(h) => format!("h'{h}'"),
        Constant::Binary(b) => format!("b'{b}'"),
    })
}

fn check_operator(field_type: FieldType, written: &str) -> Result<(), QueryError> {
    let allowed = match field_type {
        FieldType::Int => return Ok(()),
        FieldType::String | FieldType::Mac => matches!(written, "=" | "!=" | "in"),
    };
    if allowed {
        Ok(())
    } else {
        Err(QueryError::Unsupported(format!(
            "{written} operator is not supported for {} type input",
            field_type.name()
        )))
    }
}

fn is_mac(v: &str) -> bool {
    let b = v.as_bytes();
    if b.len() != 17 {
        return false;
    }
    let sep = b[2];
    if sep != b':' && sep != b'-' {
        return false;
    }
    b.chunks(3).all(|chunk| {
        chunk[0].is_ascii_hexdigit()
            && chunk[1].is_ascii_hexdigit()
            && chunk.get(2).is_none_or(|s| *s == sep)
    })
}

/// Check and write one value for a field of the given type.
fn format_value(text: &str, field_type: FieldType, severity: bool) -> Result<String, QueryError> {
    match field_type {
        FieldType::Mac => {
            if !is_mac(text) {
                return Err(QueryError::Unsupported(format!(
                    "Invalid mac address - {text} provided"
                )));
            }
            Ok(quote(text))
        }
        FieldType::Int => {
            if severity {
                let score = severity_score(text)?;
                Ok(severity_bucket(score).to_string())
            } else {
                check_int(text)?;
                Ok(text.to_owned())
            }
        }
        FieldType::String => Ok(quote(text)),
    }
}

fn check_int(text: &str) -> Result<(), QueryError> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(QueryError::Unsupported(format!(
            "string type input - {text} is not supported for integer type fields"
        )))
    }
}

fn severity_score(text: &str) -> Result<u32, QueryError> {
    check_int(text)?;
    match text.trim_start_matches('0').parse::<u32>() {
        Ok(n) if (1..=100).contains(&n) => Ok(n),
        _ => Err(QueryError::Unsupported(
            "only 1-100 integer values are supported with this field".to_owned(),
        )),
    }
}

/// STIX score 1-100 → the Sysdig severity bucket (91-100 → 0 … 1-30 → 7).
pub fn severity_bucket(score: u32) -> u32 {
    match score {
        91.. => 0,
        81..=90 => 1,
        71..=80 => 2,
        61..=70 => 3,
        51..=60 => 4,
        41..=50 => 5,
        31..=40 => 6,
        _ => 7,
    }
}

/// An ordering on the STIX score (`score = (10 - s) * 10`) as the ordering on
/// Sysdig severity `s` that selects exactly the same integer severities.
pub fn invert_severity(op: &str, score: u32) -> (&'static str, u32) {
    let gap = 100 - score; // 0..=99; score > v  <=>  10 s < 100 - v
    let floor = gap / 10;
    let ceil = gap.div_ceil(10);
    match op {
        ">" => ("<", ceil),
        ">=" => ("<=", floor),
        "<" => (">", floor),
        _ => (">=", ceil),
    }
}

fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn value_mentions_audit_trail(operand: &Operand) -> bool {
    let is = |c: &Constant| matches!(c, Constant::String(s) if s == "auditTrail");
    match operand {
        Operand::Constant(c) => is(c),
        Operand::Set(items) => items.iter().any(is),
        Operand::None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_inversion_is_exact_for_every_score() {
        for v in 1..=100u32 {
            for op in [">", ">=", "<", "<="] {
                let (sop, n) = invert_severity(op, v);
                for s in -5i64..20 {
                    let score = (10 - s) * 10;
                    let stix = match op {
                        ">" => score > i64::from(v),
                        ">=" => score >= i64::from(v),
                        "<" => score < i64::from(v),
                        _ => score <= i64::from(v),
                    };
                    let n = i64::from(n);
                    let sysdig = match sop {
                        ">" => s > n,
                        ">=" => s >= n,
                        "<" => s < n,
                        _ => s <= n,
                    };
                    assert_eq!(
                        stix, sysdig,
                        "score {op} {v} vs severity {sop} {n} at s={s}"
                    );
                }
            }
        }
        assert_eq!(invert_severity(">", 50), ("<", 5));
    }

    #[test]
    fn absurd_windows_are_refused() {
        let config = QueryConfig {
            mapping: QueryMapping::default_for(false),
            time_range_minutes: Some(5),
            now_ms: 0,
            explain: false,
        };
        let err = translate(
            "[x-ibm-finding:name = 'a'] START t'0001-01-01T00:00:00Z' STOP t'9999-12-31T00:00:00Z'",
            &config,
        )
        .unwrap_err();
        assert!(err.to_string().contains("more than 1000 queries"), "{err}");
        let ok = translate(
            "[x-ibm-finding:name = 'a'] START t'2000-01-01T00:00:00Z' STOP t'2030-01-01T00:00:00Z'",
            &config,
        )
        .unwrap();
        assert_eq!(ok.queries.len(), 783);
    }

    #[test]
    fn windows_split_at_fourteen_days() {
        let day = 86_400 * 1_000_000_000i128;
        let w = split_window(Window {
            from: 0,
            to: 30 * day,
        });
        assert_eq!(
            w,
            vec![
                Window {
                    from: 0,
                    to: 14 * day
                },
                Window {
                    from: 14 * day,
                    to: 28 * day
                },
                Window {
                    from: 28 * day,
                    to: 30 * day
                },
            ]
        );
        assert_eq!(
            split_window(Window { from: 5, to: 5 }),
            vec![Window { from: 5, to: 5 }]
        );
        assert_eq!(
            split_window(Window {
                from: 0,
                to: 14 * day
            })
            .len(),
            1
        );
    }

    #[test]
    fn python_repr_of_strings() {
        assert_eq!(py_repr("x-ibm-finding:foo"), "'x-ibm-finding:foo'");
        assert_eq!(py_repr("a'b"), "\"a'b\"");
        assert_eq!(py_repr("a'b\"c"), "'a\\'b\"c'");
    }

    #[test]
    fn mac_addresses_need_one_separator() {
        assert!(is_mac("11:22:33:44:55:6a"));
        assert!(is_mac("11-22-33-44-55-6A"));
        assert!(!is_mac("11:22-33:44-55:66"));
        assert!(!is_mac("11:22:33:44:55:zz"));
        assert!(!is_mac("11:22:33:44:55"));
    }
}
