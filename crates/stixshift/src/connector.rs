//! The connector façade: stix-shifter's operations on validated inputs,
//! returning [`Error`] for the CLI and the `host` server to render.

use serde_json::{json, Map, Value};

use stixshift_pattern::{ComparisonExpr, Constant, ObservationExpr, Operand, QualifierKind};
use stixshift_translate::mapping::QueryMapping;
use stixshift_translate::query::{self, QueryConfig, Translation};
use stixshift_translate::time::timestamp_ns;

use crate::error::{Error, CONNECTOR};
use crate::options::Options;

/// The one dialect of the connector.
pub const DIALECT: &str = "default";

/// Check a module argument: `sysdig` or `sysdig:default[:default...]`.
pub fn check_module(module: &str) -> Result<(), Error> {
    let mut parts = module.split(':');
    let name = parts.next().unwrap_or_default();
    if name != CONNECTOR {
        return Err(Error::UnsupportedDataSource(name.to_owned()));
    }
    for dialect in parts {
        if dialect != DIALECT {
            return Err(Error::UnknownDialect(dialect.to_owned()));
        }
    }
    Ok(())
}

/// The query-side mapping for these options (embedded, or with the user's
/// `options.mapping` files swapped in).
pub fn query_mapping(options: &Options) -> Result<std::borrow::Cow<'static, QueryMapping>, Error> {
    Ok(match &options.mapping {
        Some(m) => std::borrow::Cow::Owned(QueryMapping::with_overrides(options.stix_2_1, m)?),
        None => std::borrow::Cow::Borrowed(QueryMapping::default_for(options.stix_2_1)),
    })
}

/// `translate sysdig query`: a pattern to Sysdig queries.
pub fn translate_query(
    pattern: &str,
    options: &Options,
    now_ms: i64,
    explain: bool,
) -> Result<Translation, Error> {
    let mapping = query_mapping(options)?;
    let config = query_config(&mapping, options, now_ms, explain);
    Ok(query::translate(pattern, &config)?)
}

/// The translation settings for these options and mapping (built once per
/// call, or once per `--batch` run).
pub fn query_config<'a>(
    mapping: &'a QueryMapping,
    options: &Options,
    now_ms: i64,
    explain: bool,
) -> QueryConfig<'a> {
    QueryConfig {
        mapping,
        time_range_minutes: options.time_range,
        now_ms,
        explain,
    }
}

/// Run CPU-bound work (results translation: up to `result_limit` or the
/// body limit's worth of events) on a blocking thread, so that an async
/// caller's other tasks and its timeouts go on meanwhile. A panic there
/// unwinds on in the caller, as if the work had run in place.
pub async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => Err(Error::Internal(format!("the work did not finish: {e}"))),
        },
    }
}

/// The results-translation settings for these options.
pub fn results_config(options: &Options) -> stixshift_results::Config {
    stixshift_results::Config {
        stix_2_1: options.stix_2_1,
        unmapped_fallback: options.unmapped_fallback,
        to_stix_map: options
            .mapping
            .as_ref()
            .and_then(|m| m.get("to_stix_map"))
            .cloned(),
        threads: crate::env::threads(),
        ..stixshift_results::Config::default()
    }
}

/// The query document, `{"queries": [...]}`, borrowing the queries (the
/// CLI's `--batch` writes it without building a `Value`).
#[derive(serde::Serialize)]
pub struct Queries<'a> {
    /// The translated queries.
    pub queries: &'a [String],
}

impl<'a> Queries<'a> {
    /// The document of a translation.
    pub fn of(t: &'a Translation) -> Self {
        Queries {
            queries: &t.queries,
        }
    }
}

/// `{"queries": [...]}` as a `Value`.
pub fn queries_json(t: &Translation) -> Value {
    json!(Queries::of(t))
}

/// `translate sysdig parse`: the pattern's comparisons and time range, as
/// stix-shifter's generic `parse` reports them.
pub fn parse_pattern(pattern: &str, options: &Options, now_ms: i64) -> Result<Value, Error> {
    let parsed = query::parse_pattern(pattern)?;
    let mut comparisons = Vec::new();
    let mut start: Option<i128> = None;
    let mut stop: Option<i128> = None;
    fn walk_cmp(e: &ComparisonExpr, out: &mut Vec<Value>) {
        match e {
            // stix-shifter's tree lists the right operand first.
            ComparisonExpr::Binary { left, right, .. } => {
                walk_cmp(right, out);
                walk_cmp(left, out);
            }
            ComparisonExpr::Comparison(c) => {
                let op = if c.negated {
                    format!("NOT {}", c.op.symbol())
                } else {
                    c.op.symbol().to_owned()
                };
                let value = match &c.operand {
                    Operand::Constant(k) => constant_json(k),
                    Operand::Set(items) => Value::Array(
                        items
                            .iter()
                            .map(|k| match constant_json(k) {
                                Value::String(s) => Value::String(s),
                                other => Value::String(other.to_string()),
                            })
                            .collect(),
                    ),
                    Operand::None => Value::Null,
                };
                let mut m = Map::new();
                m.insert("attribute".into(), c.path.attribute_text().into());
                m.insert("comparison_operator".into(), op.into());
                m.insert("value".into(), value);
                out.push(Value::Object(m));
            }
        }
    }
    fn walk_obs(
        e: &ObservationExpr,
        out: &mut Vec<Value>,
        start: &mut Option<i128>,
        stop: &mut Option<i128>,
    ) {
        match e {
            ObservationExpr::Observation(o) => walk_cmp(&o.comparison, out),
            ObservationExpr::Binary { left, right, .. } => {
                walk_obs(left, out, start, stop);
                walk_obs(right, out, start, stop);
            }
            ObservationExpr::Qualified { expr, qualifier } => {
                if let QualifierKind::StartStop { start: s, stop: t } = &qualifier.kind {
                    if let (Some(s), Some(t)) = (timestamp_ns(s), timestamp_ns(t)) {
                        *start = Some(start.map_or(s, |x| x.min(s)));
                        *stop = Some(stop.map_or(t, |x| x.max(t)));
                    }
                }
                walk_obs(expr, out, start, stop);
            }
        }
    }
    walk_obs(&parsed.expr, &mut comparisons, &mut start, &mut stop);
    let (start_ms, end_ms) = match (start, stop) {
        (Some(s), Some(t)) => (
            (s.div_euclid(1_000_000)) as i64,
            (t.div_euclid(1_000_000)) as i64,
        ),
        _ => {
            let minutes = options.time_range.unwrap_or(0) as i64;
            (now_ms - minutes * 60_000, now_ms)
        }
    };
    Ok(json!({
        "parsed_stix": comparisons,
        "start_time": start_ms,
        "end_time": end_ms,
    }))
}

fn constant_json(k: &Constant) -> Value {
    match k {
        Constant::Int(s) => s
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(s.clone())),
        Constant::Float(f) => json!(f),
        Constant::String(s) => Value::String(s.clone()),
        Constant::Bool(b) => Value::Bool(*b),
        other => Value::String(stixshift_pattern::constant_text(other)),
    }
}

/// `modules`: the connector and its dialect.
pub fn modules_json() -> Value {
    json!({ CONNECTOR: { DIALECT: { "language": "stix", "default": true } } })
}

/// `configs`: the configuration schema.
pub fn configs_json() -> Value {
    json!({ CONNECTOR: crate::options::schema() })
}

/// `mapping sysdig`: the embedded mapping files (STIX 2.0 variants), in a
/// fixed order.
pub fn mapping_json() -> Value {
    let raw = QueryMapping::embedded_files(false);
    json!({
        "from_stix_map": raw[0],
        "operators": raw[1],
        "config_map": raw[2],
        "to_stix_map": stixshift_results::default_to_stix_map(false),
    })
}
