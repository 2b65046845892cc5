//! The `connection` and `configuration` objects of `transmit`/`execute`,
//! validated against the connector schema as stix-shifter's framework does,
//! before any I/O.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::options::{self, py_value_repr, Options};

/// A validated data-source connection.
#[derive(Clone, PartialEq)]
pub struct ConnectionConfig {
    /// Host name or address of the Sysdig Secure API.
    pub host: String,
    /// TCP port (default 443).
    pub port: u16,
    /// Extra trusted CA certificate(s), PEM.
    pub self_signed_cert: Option<String>,
    /// The options (`result_limit`, `timeout`, ...).
    pub options: Options,
    /// The API token (`configuration.auth.token`). Never printed.
    pub token: String,
}

impl std::fmt::Debug for ConnectionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field(
                "self_signed_cert",
                &self.self_signed_cert.as_ref().map(|_| "<pem>"),
            )
            .field("options", &self.options)
            .field("token", &"***")
            .finish()
    }
}

/// Keys of the connection object besides `options`.
const CONNECTION_KEYS: &[&str] = &["type", "host", "port", "help", "selfSignedCert", "options"];

/// stix-shifter's host regex: dot-separated labels of letters and digits,
/// with `_ : / -` allowed inside a label.
fn host_ok(host: &str) -> bool {
    host.split('.').all(|label| {
        let b = label.as_bytes();
        let inner_ok = |c: &u8| c.is_ascii_alphanumeric() || b"_:/-".contains(c);
        match b {
            [] => false,
            [one] => one.is_ascii_alphanumeric(),
            [first, middle @ .., last] => {
                first.is_ascii_alphanumeric()
                    && last.is_ascii_alphanumeric()
                    && middle.iter().all(inner_ok)
            }
        }
    })
}

/// The entries of `map` whose keys are not `allowed`.
fn extra_keys(map: &Map<String, Value>, allowed: &[&str]) -> Map<String, Value> {
    map.iter()
        .filter(|(k, _)| !allowed.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn unexpected(section: &str, items: Map<String, Value>) -> Error {
    let mut inner = Map::new();
    inner.insert(section.to_owned(), Value::Object(items));
    let mut outer = Map::new();
    outer.insert("unexpected_params".to_owned(), Value::Object(inner));
    Error::Connection(py_value_repr(&Value::Object(outer)))
}

fn missing(path: &str) -> Error {
    Error::Connection(format!("{{'missing_params': ['{path}']}}"))
}

/// Validate `connection` and `configuration` (JSON values).
pub fn parse(connection: &Value, configuration: &Value) -> Result<ConnectionConfig, Error> {
    let conn = connection
        .as_object()
        .ok_or_else(|| Error::Connection("connection must be a JSON object".to_owned()))?;
    let config = configuration
        .as_object()
        .ok_or_else(|| Error::Connection("configuration must be a JSON object".to_owned()))?;

    let extra = extra_keys(conn, CONNECTION_KEYS);
    if !extra.is_empty() {
        return Err(unexpected("connection", extra));
    }
    let extra = extra_keys(config, &["auth"]);
    if !extra.is_empty() {
        return Err(unexpected("configuration", extra));
    }
    let auth = config.get("auth").and_then(Value::as_object);
    if let Some(auth) = auth {
        let extra = extra_keys(auth, &["token"]);
        if !extra.is_empty() {
            let mut wrap = Map::new();
            wrap.insert("auth".to_owned(), Value::Object(extra));
            return Err(unexpected("configuration", wrap));
        }
    }
    let host = match conn.get("host") {
        Some(Value::String(h)) if !h.is_empty() => h.clone(),
        None | Some(Value::Null) => return Err(missing("connection.host")),
        Some(other) => {
            return Err(Error::Connection(format!(
                "Invalid host value {} specified",
                py_value_repr(other)
            )))
        }
    };
    if !host_ok(&host) {
        return Err(Error::Connection(format!(
            "Invalid host value \"{host}\" specified"
        )));
    }
    let port = match conn.get("port") {
        None | Some(Value::Null) => 443,
        Some(v) => match v.as_i64() {
            Some(p) if (1..=65535).contains(&p) => p as u16,
            Some(p) if p < 1 => {
                return Err(Error::Connection(format!(
                    "\"port: {p}\" value must be more than 1"
                )))
            }
            Some(p) => {
                return Err(Error::Connection(format!(
                    "\"port: {p}\" value must be less than 65535"
                )))
            }
            None => {
                return Err(Error::Connection(format!(
                    "port \"{}\" type must be a number",
                    py_value_repr(v)
                )))
            }
        },
    };
    let self_signed_cert = match conn.get("selfSignedCert") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(Error::Connection(
                "selfSignedCert must be PEM text".to_owned(),
            ))
        }
    };
    let options = options::parse(conn.get("options")).map_err(|e| match e {
        Error::Options(m) => Error::Connection(m),
        other => other,
    })?;
    let token = match auth.and_then(|a| a.get("token")) {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        _ => return Err(missing("configuration.auth.token")),
    };
    Ok(ConnectionConfig {
        host,
        port,
        self_signed_cert,
        options,
        token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(c: Value, k: Value) -> String {
        parse(&c, &k).unwrap_err().to_string()
    }

    #[test]
    fn valid_connection_with_defaults() {
        let c = parse(
            &json!({"host": "us2.app.sysdig.com", "options": {"result_limit": 50}}),
            &json!({"auth": {"token": "secret-token"}}),
        )
        .unwrap();
        assert_eq!((c.host.as_str(), c.port), ("us2.app.sysdig.com", 443));
        assert_eq!(c.options.result_limit, 50);
        let debug = format!("{c:?}");
        assert!(!debug.contains("secret-token"), "{debug}");
    }

    #[test]
    fn reference_messages() {
        let k = json!({"auth": {"token": "t"}});
        assert_eq!(
            err(
                json!({"host": "localhost", "port": 18443, "foo": 1}),
                k.clone()
            ),
            "{'unexpected_params': {'connection': {'foo': 1}}}"
        );
        assert_eq!(
            err(json!({"port": 1}), k.clone()),
            "{'missing_params': ['connection.host']}"
        );
        assert_eq!(
            err(json!({"host": "h"}), json!({})),
            "{'missing_params': ['configuration.auth.token']}"
        );
        assert_eq!(
            err(json!({"host": "h", "port": 70000}), k.clone()),
            "\"port: 70000\" value must be less than 65535"
        );
        assert_eq!(
            err(json!({"host": "local host"}), k.clone()),
            "Invalid host value \"local host\" specified"
        );
        assert_eq!(
            err(json!({"host": "h", "options": {"timeout": 0}}), k),
            "\"timeout: 0\" value must be more than 1"
        );
    }

    #[test]
    fn host_regex() {
        for ok in [
            "localhost",
            "127.0.0.1",
            "us2.app.sysdig.com",
            "a",
            "a-b.c_d",
        ] {
            assert!(host_ok(ok), "{ok}");
        }
        for bad in ["", "local host", "-a", "a.", ".a", "a..b", "a-"] {
            assert!(!host_ok(bad), "{bad}");
        }
    }
}
