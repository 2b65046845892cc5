//! The one error type the CLI and the `host` server see, and its mapping
//! onto stix-shifter's error codes and JSON envelopes.

use serde_json::{json, Value};

use stixshift_translate::mapping::MappingError;
use stixshift_translate::query::QueryError;

/// The connector name used in envelopes and message prefixes.
pub const CONNECTOR: &str = "sysdig";

/// `ErrorCode`, its list and its wire strings, from one table.
macro_rules! error_codes {
    ($($variant:ident => $wire:literal,)*) => {
        /// stix-shifter's error codes.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum ErrorCode {
            $(#[doc = concat!("`", $wire, "`")] $variant,)*
        }

        impl ErrorCode {
            const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The wire string.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $wire,)*
                }
            }
        }
    };
}

error_codes! {
    InvalidParameter => "invalid_parameter",
    MappingError => "mapping_error",
    NotImplemented => "not_implemented",
    TranslationError => "translation_error",
    ResultsTranslationError => "results_translation_error",
    AuthenticationFail => "authentication_fail",
    Forbidden => "forbidden",
    CertificateFail => "certificate_fail",
    ServiceUnavailable => "service_unavailable",
    InvalidQuery => "invalid_query",
    TooManyRequests => "too_many_requests",
    NoResults => "no_results",
    Unknown => "unknown",
}

impl ErrorCode {
    /// The code of a wire string (the inverse of [`as_str`](Self::as_str)).
    pub fn from_wire(code: &str) -> Option<ErrorCode> {
        Self::ALL.iter().copied().find(|c| c.as_str() == code)
    }
}

/// Which stix-shifter operation family an error belongs to: it decides the
/// envelope's key order and prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Query translation and the framework around it.
    Translation,
    /// Results translation (no `connector` key, no prefix).
    Results,
    /// Transmission (`error` before `code`).
    Transmission,
}

/// Everything that can go wrong, at the boundary.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Query translation failed.
    #[error("{0}")]
    Query(#[from] QueryError),
    /// A user-supplied mapping file is malformed.
    #[error("data mapping error : {0}")]
    Mapping(#[from] MappingError),
    /// The options object failed validation (message as stix-shifter words it).
    #[error("STIX translation error: {0}")]
    Options(String),
    /// `sysdig:<dialect>` with an unknown dialect.
    #[error("unknown dialect : {0}")]
    UnknownDialect(String),
    /// `options.language` other than `stix`.
    #[error("unsupported language : {0}")]
    UnsupportedLanguage(String),
    /// A module other than `sysdig`.
    #[error("unsupported datasource : {0} is an unsupported data source.")]
    UnsupportedDataSource(String),
    /// An argument that is not what the command takes.
    #[error("{0}")]
    InvalidArgument(String),
    /// The connection or configuration object failed validation.
    #[error("{0}")]
    Connection(String),
    /// Talking to the Sysdig Secure API failed.
    #[error("{0}")]
    Transmit(#[from] stixshift_transmit::TransmitError),
    /// Results translation failed.
    #[error("{}", .0.message())]
    Results(#[from] stixshift_results::ResultsError),
    /// A bug of ours (a task that panicked), reported instead of passing
    /// for a complete result.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The stix-shifter code. Exhaustive: a new variant must choose one.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Query(q) => match q {
                QueryError::Syntax { .. } => ErrorCode::InvalidParameter,
                QueryError::Unmapped { .. } => ErrorCode::MappingError,
                QueryError::Unsupported(_) => ErrorCode::NotImplemented,
                QueryError::Invalid(_) => ErrorCode::TranslationError,
            },
            Error::Mapping(_) => ErrorCode::MappingError,
            Error::Connection(_) | Error::Internal(_) => ErrorCode::Unknown,
            Error::Transmit(e) => ErrorCode::from_wire(e.code()).unwrap_or(ErrorCode::Unknown),
            Error::Options(_) => ErrorCode::TranslationError,
            Error::UnknownDialect(_) => ErrorCode::InvalidParameter,
            Error::UnsupportedLanguage(_) => ErrorCode::InvalidParameter,
            Error::UnsupportedDataSource(_) => ErrorCode::NotImplemented,
            Error::InvalidArgument(_) => ErrorCode::InvalidParameter,
            Error::Results(e) => {
                ErrorCode::from_wire(e.code()).unwrap_or(ErrorCode::ResultsTranslationError)
            }
        }
    }

    /// The envelope family of this error.
    pub fn stage(&self) -> Stage {
        match self {
            Error::Results(_) => Stage::Results,
            Error::Connection(_) | Error::Transmit(_) | Error::Internal(_) => Stage::Transmission,
            Error::Query(_)
            | Error::Mapping(_)
            | Error::Options(_)
            | Error::UnknownDialect(_)
            | Error::UnsupportedLanguage(_)
            | Error::UnsupportedDataSource(_)
            | Error::InvalidArgument(_) => Stage::Translation,
        }
    }

    /// A longer explanation for people (stderr), where there is one: the
    /// caret rendering of a pattern syntax error.
    pub fn detail(&self) -> Option<String> {
        match self {
            Error::Query(QueryError::Syntax { error, pattern }) => Some(error.render(pattern)),
            _ => None,
        }
    }

    /// stix-shifter's error JSON for this error.
    pub fn to_json(&self) -> Value {
        let connector = match self {
            Error::UnsupportedDataSource(name) => name.as_str(),
            _ => CONNECTOR,
        };
        envelope(self.stage(), self.code(), &self.to_string(), connector)
    }
}

impl Error {
    /// [`to_json`](Self::to_json) for an error met while serving an
    /// operation of `stage`: a bad argument takes the operation's shape (a
    /// bad `offset` of `transmit … results` is a transmission error); every
    /// other error keeps its own.
    pub fn to_json_in(&self, stage: Stage) -> Value {
        match self {
            Error::InvalidArgument(_) => envelope(stage, self.code(), &self.to_string(), CONNECTOR),
            _ => self.to_json(),
        }
    }
}

/// Build a stix-shifter error object with the key order of each stage.
pub fn envelope(stage: Stage, code: ErrorCode, message: &str, connector: &str) -> Value {
    let prefixed = format!("{connector} connector error => {message}");
    match stage {
        Stage::Translation => json!({
            "success": false,
            "connector": connector,
            "code": code.as_str(),
            "error": prefixed,
        }),
        Stage::Transmission => json!({
            "success": false,
            "connector": connector,
            "error": prefixed,
            "code": code.as_str(),
        }),
        Stage::Results => json!({
            "success": false,
            "code": code.as_str(),
            "error": message,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_codes_round_trip() {
        for &c in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_wire(c.as_str()), Some(c));
        }
        let distinct: std::collections::HashSet<&str> =
            ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(distinct.len(), ErrorCode::ALL.len());
        assert_eq!(ErrorCode::from_wire("authentication_failed"), None);
    }
}
