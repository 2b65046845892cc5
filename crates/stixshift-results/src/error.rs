//! Errors and warnings of results translation.

use std::fmt;

/// A fatal results-translation error. The façade renders it as
/// `{"success": false, "code": <code()>, "error": <message()>}`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResultsError {
    /// The data-source identity is not a JSON object.
    #[error("data source identity must be a JSON object")]
    IdentityNotObject,
    /// The identity lacks `id` or `name` (or has a non-string one).
    #[error("data source identity is missing `{0}`")]
    IdentityMissing(&'static str),
    /// The events text is not JSON (position counted in the events input).
    #[error("events are not valid JSON: {0}")]
    NotJson(String),
    /// The events are JSON but not an array.
    #[error("events must be a JSON array, found {0}")]
    NotArray(&'static str),
    /// Element `index` of the array is not valid JSON.
    #[error("event {index}: invalid JSON: {detail}")]
    BadEvent { index: usize, detail: String },
    /// The to-STIX mapping (default or `options.mapping.to_stix_map`) is unusable.
    #[error("invalid to_stix_map: {0}")]
    Mapping(String),
    /// The options object is unusable.
    #[error("invalid options: {0}")]
    Options(String),
    /// Reading the events or writing the bundle failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl ResultsError {
    /// stix-shifter error code.
    pub fn code(&self) -> &'static str {
        match self {
            ResultsError::Mapping(_) => "mapping_error",
            ResultsError::Options(_) => "invalid_parameter",
            ResultsError::IdentityNotObject
            | ResultsError::IdentityMissing(_)
            | ResultsError::NotJson(_)
            | ResultsError::NotArray(_)
            | ResultsError::BadEvent { .. }
            | ResultsError::Io(_) => "results_translation_error",
        }
    }

    /// The `error` text in stix-shifter's wording.
    pub fn message(&self) -> String {
        match self {
            ResultsError::Mapping(_) => format!("data mapping error : {self}"),
            ResultsError::Options(_) => format!("invalid parameter : {self}"),
            _ => {
                format!("result translation error : Error when converting results to STIX: {self}")
            }
        }
    }

    /// `{"success": false, "code": ..., "error": ...}` (results errors carry no
    /// `connector` key, as in stix-shifter).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"success": false, "code": self.code(), "error": self.message()})
    }
}

/// A non-fatal problem with one event: the event is still translated with
/// what it has (or skipped, which the message says).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Zero-based index of the event in its input, when known.
    pub event: Option<usize>,
    /// Dotted path of the field concerned (`content.fields.fd.name`), if any.
    pub field: Option<String>,
    /// What happened, lower-case, no trailing period.
    pub message: String,
}

impl Warning {
    pub(crate) fn new(field: Option<&str>, message: impl Into<String>) -> Self {
        Warning {
            event: None,
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(i) = self.event {
            write!(f, "event {i}: ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "`{field}`: ")?;
        }
        f.write_str(&self.message)
    }
}
