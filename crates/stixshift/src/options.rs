//! The stix-shifter options object, validated against the connector's
//! configuration schema (`data/config.json`, the same document `configs`
//! prints), with defaults filled in.

use std::sync::LazyLock;

use serde_json::{Map, Value};

use crate::error::Error;

/// The connector's configuration schema (stix-shifter's `config.json` format).
pub const CONFIG_SCHEMA: &str = include_str!("../data/config.json");

static SCHEMA: LazyLock<Value> =
    LazyLock::new(|| serde_json::from_str(CONFIG_SCHEMA).unwrap_or(Value::Null));

/// The parsed schema.
pub fn schema() -> &'static Value {
    &SCHEMA
}

fn option_specs() -> &'static Map<String, Value> {
    static EMPTY: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);
    SCHEMA["connection"]["options"]
        .as_object()
        .unwrap_or(&EMPTY)
}

/// Validated options with their defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Minutes of the default query window; `None` when set to `null`.
    pub time_range: Option<u64>,
    /// Most events fetched for one query.
    pub result_limit: u64,
    /// Seconds one HTTP request may take.
    pub timeout: u64,
    /// STIX 2.1 output and maps.
    pub stix_2_1: bool,
    /// Collect unmapped event keys into a custom object.
    pub unmapped_fallback: bool,
    /// Accepted for compatibility; patterns are always validated strictly.
    pub validate_pattern: bool,
    /// `options.mapping`: per-file overrides of the mapping data.
    pub mapping: Option<Value>,
}

/// Python's `repr()` of a JSON value, as stix-shifter prints dicts in
/// messages (`{'foo': 1}`).
pub fn py_value_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => stixshift_translate::query::py_repr(s),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(py_value_repr)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!(
                    "{}: {}",
                    stixshift_translate::query::py_repr(k),
                    py_value_repr(v)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Python's `str()` of a JSON value (for "type must be" messages).
fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_value_repr(other),
    }
}

fn check_number(key: &str, v: &Value, spec: &Value) -> Result<Option<u64>, String> {
    if v.is_null() && spec["nullable"] == Value::Bool(true) {
        return Ok(None);
    }
    let n = match v {
        Value::Bool(b) => i64::from(*b),
        Value::Number(n) if n.is_i64() => n.as_i64().unwrap_or_default(),
        Value::Number(n) if n.is_u64() => i64::MAX,
        _ => return Err(format!("{key} \"{}\" type must be a number", py_str(v))),
    };
    if let Some(min) = spec["min"].as_i64() {
        if n < min {
            return Err(format!("\"{key}: {n}\" value must be more than {min}"));
        }
    }
    if let Some(max) = spec["max"].as_i64() {
        if n > max {
            return Err(format!("\"{key}: {v}\" value must be less than {max}"));
        }
    }
    Ok(Some(n.max(0) as u64))
}

/// Validate an options object (`None` or `{}` for none) and fill defaults.
/// Errors carry stix-shifter's message text; during translation they are
/// `translation_error`s.
pub fn parse(options: Option<&Value>) -> Result<Options, Error> {
    let empty = Map::new();
    let given = match options {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(m)) => m,
        Some(other) => {
            return Err(Error::Options(format!(
                "options must be a JSON object, got {}",
                py_value_repr(other)
            )))
        }
    };
    let specs = option_specs();
    let unexpected: Map<String, Value> = given
        .iter()
        .filter(|(k, _)| *k == "type" || !specs.contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !unexpected.is_empty() {
        let mut wrapper = Map::new();
        wrapper.insert("unexpected_params".to_owned(), Value::Object(unexpected));
        return Err(Error::Options(py_value_repr(&Value::Object(wrapper))));
    }
    let mut merged = Map::new();
    for (key, spec) in specs {
        if key == "type" {
            continue;
        }
        let value = match given.get(key) {
            Some(v) => v.clone(),
            None => match spec.get("default") {
                Some(d) => d.clone(),
                None => continue,
            },
        };
        let ok = match spec["type"].as_str().unwrap_or_default() {
            "number" => {
                check_number(key, &value, spec).map_err(Error::Options)?;
                true
            }
            "boolean" => value.is_boolean(),
            "string" | "text" => value.is_string(),
            "array" => value.is_array(),
            "json" => value.is_object(),
            _ => true,
        };
        if !ok {
            return Err(Error::Options(format!(
                "{key} \"{}\" type must be a {}",
                py_str(&value),
                spec["type"].as_str().unwrap_or("value")
            )));
        }
        merged.insert(key.clone(), value);
    }
    if let Some(lang) = merged.get("language").and_then(Value::as_str) {
        if lang != "stix" {
            return Err(Error::UnsupportedLanguage(lang.to_owned()));
        }
    }
    let num = |k: &str, d: u64| -> u64 {
        match merged.get(k) {
            Some(Value::Bool(b)) => u64::from(*b),
            Some(v) => v.as_u64().unwrap_or(d),
            None => d,
        }
    };
    let flag = |k: &str| merged.get(k).and_then(Value::as_bool).unwrap_or(false);
    Ok(Options {
        time_range: match merged.get("time_range") {
            Some(Value::Null) => None,
            _ => Some(num("time_range", 5)),
        },
        result_limit: num("result_limit", 10_000),
        timeout: num("timeout", 30),
        stix_2_1: flag("stix_2.1"),
        unmapped_fallback: flag("unmapped_fallback"),
        validate_pattern: flag("validate_pattern"),
        mapping: merged.get("mapping").cloned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: Value) -> String {
        parse(Some(&v)).unwrap_err().to_string()
    }

    #[test]
    fn defaults() {
        let o = parse(None).unwrap();
        assert_eq!(o.time_range, Some(5));
        assert_eq!(o.result_limit, 10_000);
        assert_eq!(o.timeout, 30);
        assert!(!o.stix_2_1);
    }

    #[test]
    fn reference_messages() {
        assert_eq!(
            err(json!({"time_range": 10001})),
            "STIX translation error: \"time_range: 10001\" value must be less than 10000"
        );
        assert_eq!(
            err(json!({"foo": 1})),
            "STIX translation error: {'unexpected_params': {'foo': 1}}"
        );
        assert_eq!(
            err(json!({"time_range": 2.5})),
            "STIX translation error: time_range \"2.5\" type must be a number"
        );
        assert_eq!(
            err(json!({"language": "sql"})),
            "unsupported language : sql"
        );
    }

    #[test]
    fn zero_is_range_checked() {
        assert_eq!(
            err(json!({"time_range": 0})),
            "STIX translation error: \"time_range: 0\" value must be more than 1"
        );
        assert_eq!(
            parse(Some(&json!({"time_range": null})))
                .unwrap()
                .time_range,
            None
        );
        assert_eq!(
            parse(Some(&json!({"result_limit": 7, "stix_2.1": true})))
                .unwrap()
                .result_limit,
            7
        );
    }
}
