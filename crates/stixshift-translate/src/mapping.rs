//! The from-STIX mapping data, in stix-shifter's file format.
//!
//! Three files drive query translation, embedded at build time and parsed
//! once: `from_stix_map.json` (STIX attribute → Sysdig fields),
//! `operators.json` (STIX operator → Sysdig text) and `config_map.json`
//! (the type of each Sysdig field). STIX 2.1 has its own
//! `stix_2_1/from_stix_map.json`. A user's `options.mapping` replaces any of
//! them through the same parse-and-check path.

use rustc_hash::FxHashMap;
use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::Value;

/// The embedded files: `(name, text)`.
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "from_stix_map",
        include_str!("../data/sysdig/from_stix_map.json"),
    ),
    ("operators", include_str!("../data/sysdig/operators.json")),
    ("config_map", include_str!("../data/sysdig/config_map.json")),
    (
        "stix_2_1/from_stix_map",
        include_str!("../data/sysdig/stix_2_1/from_stix_map.json"),
    ),
];

/// A mapping file that does not parse or does not check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid mapping `{file}` at `{pointer}`: {message}")]
pub struct MappingError {
    /// Which file (`from_stix_map`, `operators`, `config_map`).
    pub file: String,
    /// JSON pointer to the offending value.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

impl MappingError {
    fn new(file: &str, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        MappingError {
            file: file.to_owned(),
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

/// How a Sysdig field's values are checked and written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// Decimal digits, written unquoted.
    Int,
    /// Anything, written quoted and escaped.
    String,
    /// A MAC address, written quoted.
    Mac,
}

impl FieldType {
    /// The name used in messages and `--explain`.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Int => "int",
            FieldType::String => "string",
            FieldType::Mac => "mac",
        }
    }
}

/// The query-side mapping: the three files, typed.
#[derive(Clone, Debug)]
pub struct QueryMapping {
    /// `object type → property text → Sysdig fields`.
    pub from_stix: FxHashMap<String, FxHashMap<String, Vec<String>>>,
    /// `operators.json` keys (`ComparisonComparators.Equal`, ...) → text.
    pub operators: FxHashMap<String, String>,
    /// Sysdig field → type (`config_map.json`).
    pub field_types: FxHashMap<String, FieldType>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ObjectEntry {
    fields: FxHashMap<String, Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigMapFile {
    #[serde(default)]
    int_supported_fields: Vec<String>,
    #[serde(default)]
    string_supported_fields: Vec<String>,
    #[serde(default)]
    mac_supported_fields: Vec<String>,
}

/// The `operators.json` keys the query builder understands.
pub const KNOWN_OPERATOR_KEYS: &[&str] = &[
    "ComparisonExpressionOperators.And",
    "ComparisonExpressionOperators.Or",
    "ComparisonComparators.Equal",
    "ComparisonComparators.NotEqual",
    "ComparisonComparators.GreaterThan",
    "ComparisonComparators.GreaterThanOrEqual",
    "ComparisonComparators.LessThan",
    "ComparisonComparators.LessThanOrEqual",
    "ComparisonComparators.In",
    "ComparisonComparators.Like",
    "ComparisonComparators.Matches",
    "ComparisonComparators.IsSubSet",
    "ComparisonComparators.IsSuperSet",
    "ComparisonComparators.Exists",
    "ObservationOperators.And",
    "ObservationOperators.Or",
    "ObservationOperators.FollowedBy",
];

fn parse_from_stix(
    v: &Value,
) -> Result<FxHashMap<String, FxHashMap<String, Vec<String>>>, MappingError> {
    let file = "from_stix_map";
    let obj = v
        .as_object()
        .ok_or_else(|| MappingError::new(file, "", "expected an object"))?;
    let mut out = FxHashMap::default();
    for (ty, entry) in obj {
        let pointer = format!("/{}", escape_pointer(ty));
        let entry: ObjectEntry = serde_json::from_value(entry.clone())
            .map_err(|e| MappingError::new(file, &pointer, e.to_string()))?;
        for (prop, fields) in &entry.fields {
            if fields.is_empty() {
                return Err(MappingError::new(
                    file,
                    format!("{pointer}/fields/{}", escape_pointer(prop)),
                    "a property must map to at least one field",
                ));
            }
        }
        out.insert(ty.clone(), entry.fields);
    }
    Ok(out)
}

fn parse_operators(v: &Value) -> Result<FxHashMap<String, String>, MappingError> {
    let file = "operators";
    let obj = v
        .as_object()
        .ok_or_else(|| MappingError::new(file, "", "expected an object"))?;
    let mut out = FxHashMap::default();
    for (k, text) in obj {
        let pointer = format!("/{}", escape_pointer(k));
        if !KNOWN_OPERATOR_KEYS.contains(&k.as_str()) {
            return Err(MappingError::new(file, pointer, "unknown operator key"));
        }
        let text = text
            .as_str()
            .ok_or_else(|| MappingError::new(file, &pointer, "expected a string"))?;
        out.insert(k.clone(), text.to_owned());
    }
    Ok(out)
}

fn parse_config_map(v: &Value) -> Result<FxHashMap<String, FieldType>, MappingError> {
    let c: ConfigMapFile = serde_json::from_value(v.clone())
        .map_err(|e| MappingError::new("config_map", "", e.to_string()))?;
    let mut out = FxHashMap::default();
    // Later lists win on a field listed twice; the embedded file lists none twice.
    for (list, ty) in [
        (&c.string_supported_fields, FieldType::String),
        (&c.mac_supported_fields, FieldType::Mac),
        (&c.int_supported_fields, FieldType::Int),
    ] {
        for f in list {
            out.insert(f.clone(), ty);
        }
    }
    Ok(out)
}

fn escape_pointer(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

fn embedded(name: &str) -> Value {
    let text = EMBEDDED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .unwrap_or("{}");
    // The embedded files are checked by the `mapping_consistency` tests.
    serde_json::from_str(text).unwrap_or(Value::Null)
}

static DEFAULT_20: LazyLock<QueryMapping> = LazyLock::new(|| {
    QueryMapping::build(&default_raw(false)).unwrap_or_else(|_| QueryMapping::empty())
});
static DEFAULT_21: LazyLock<QueryMapping> = LazyLock::new(|| {
    QueryMapping::build(&default_raw(true)).unwrap_or_else(|_| QueryMapping::empty())
});

fn default_raw(stix_2_1: bool) -> [Value; 3] {
    [
        embedded(if stix_2_1 {
            "stix_2_1/from_stix_map"
        } else {
            "from_stix_map"
        }),
        embedded("operators"),
        embedded("config_map"),
    ]
}

impl QueryMapping {
    fn empty() -> Self {
        QueryMapping {
            from_stix: FxHashMap::default(),
            operators: FxHashMap::default(),
            field_types: FxHashMap::default(),
        }
    }

    fn build(raw: &[Value; 3]) -> Result<Self, MappingError> {
        Ok(QueryMapping {
            from_stix: parse_from_stix(&raw[0])?,
            operators: parse_operators(&raw[1])?,
            field_types: parse_config_map(&raw[2])?,
        })
    }

    /// The embedded mapping for STIX 2.0 or 2.1 patterns.
    pub fn default_for(stix_2_1: bool) -> &'static QueryMapping {
        if stix_2_1 {
            &DEFAULT_21
        } else {
            &DEFAULT_20
        }
    }

    /// Check the embedded files strictly (for tests and `stixshift mapping`).
    pub fn check_embedded(stix_2_1: bool) -> Result<QueryMapping, MappingError> {
        QueryMapping::build(&default_raw(stix_2_1))
    }

    /// The embedded mapping with the files named in `overrides` (the value
    /// of `options.mapping`: keys `from_stix_map`, `operators`, `config_map`;
    /// `to_stix_map` is the results side's) replaced.
    pub fn with_overrides(stix_2_1: bool, overrides: &Value) -> Result<QueryMapping, MappingError> {
        let obj = overrides
            .as_object()
            .ok_or_else(|| MappingError::new("mapping", "", "expected an object"))?;
        // The embedded tables, parsed once, copied only where no file is given.
        let default = Self::default_for(stix_2_1);
        Ok(QueryMapping {
            from_stix: match obj.get("from_stix_map") {
                Some(v) => parse_from_stix(v)?,
                None => default.from_stix.clone(),
            },
            operators: match obj.get("operators") {
                Some(v) => parse_operators(v)?,
                None => default.operators.clone(),
            },
            field_types: match obj.get("config_map") {
                Some(v) => parse_config_map(v)?,
                None => default.field_types.clone(),
            },
        })
    }

    /// The embedded `from_stix_map`, `operators` and `config_map` as JSON.
    pub fn embedded_files(stix_2_1: bool) -> [Value; 3] {
        default_raw(stix_2_1)
    }

    /// The Sysdig fields of `type:property`, if mapped.
    pub fn fields(&self, object_type: &str, property: &str) -> Option<&[String]> {
        self.from_stix
            .get(object_type)?
            .get(property)
            .map(Vec::as_slice)
    }

    /// The Sysdig text of an `operators.json` key, if mapped.
    pub fn operator(&self, key: &str) -> Option<&str> {
        self.operators.get(key).map(String::as_str)
    }

    /// The type of a Sysdig field (`string` when `config_map` lists it nowhere).
    pub fn field_type(&self, field: &str) -> FieldType {
        self.field_types
            .get(field)
            .copied()
            .unwrap_or(FieldType::String)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_files_parse_and_check() {
        for v21 in [false, true] {
            let m = QueryMapping::check_embedded(v21).unwrap();
            let attributes: usize = m.from_stix.values().map(FxHashMap::len).sum();
            assert_eq!(attributes, 26, "the spec lists 26 searchable attributes");
            for (ty, props) in &m.from_stix {
                for (prop, fields) in props {
                    for f in fields {
                        assert!(
                            m.field_types.contains_key(f),
                            "{ty}:{prop} maps to {f}, which config_map does not type"
                        );
                    }
                }
            }
        }
        let sev20 = QueryMapping::default_for(false).fields("x-ibm-finding", "severity");
        let sev21 = QueryMapping::default_for(true).fields("x-ibm-finding", "x_severity");
        assert_eq!(sev20, Some(&["severity".to_owned()][..]));
        assert_eq!(sev21, sev20);
    }

    #[test]
    fn overrides_replace_whole_files_and_are_checked() {
        let m = QueryMapping::with_overrides(
            false,
            &serde_json::json!({"from_stix_map": {"x-ibm-finding": {"fields": {"name": ["ruleName", "category"]}}}}),
        )
        .unwrap();
        assert_eq!(m.fields("x-ibm-finding", "name").unwrap().len(), 2);
        assert!(m.fields("mac-addr", "value").is_none());

        let err = QueryMapping::with_overrides(
            false,
            &serde_json::json!({"operators": {"ComparisonComparators.Nope": "~"}}),
        )
        .unwrap_err();
        assert_eq!(err.file, "operators");
        assert_eq!(err.pointer, "/ComparisonComparators.Nope");

        let err = QueryMapping::with_overrides(
            false,
            &serde_json::json!({"from_stix_map": {"a": {"fields": {"b": []}}}}),
        )
        .unwrap_err();
        assert_eq!(err.pointer, "/a/fields/b");

        let m = QueryMapping::with_overrides(
            false,
            &serde_json::json!({"config_map": {"int_supported_fields": ["ruleName"]}}),
        )
        .unwrap();
        assert_eq!(m.field_type("ruleName"), FieldType::Int);
        // The files not given stay the embedded ones.
        assert!(m.fields("mac-addr", "value").is_some());
        assert_eq!(m.operators, QueryMapping::default_for(false).operators);
    }
}
