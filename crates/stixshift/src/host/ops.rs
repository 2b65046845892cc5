//! The endpoints: request body → stix-shifter result document.

use axum::body::Bytes;
use serde_json::Value;

use super::HostState;
use crate::connector;
use crate::error::Error;
use crate::options;
use crate::transmit::Answer;

/// Every `POST` path the proxy connector calls.
pub(super) const PATHS: &[&str] = &[
    "/transform_query",
    "/parse_query",
    "/translate_results",
    "/create_query_connection",
    "/create_status_connection",
    "/create_results_connection",
    "/create_results_stix_connection",
    "/delete_query_connection",
    "/ping",
    "/is_async",
];

fn field<'a>(body: &'a Value, key: &str) -> Result<&'a Value, Error> {
    body.get(key)
        .filter(|v| !v.is_null())
        .ok_or_else(|| no_field(key))
}

fn no_field(key: &str) -> Error {
    Error::InvalidArgument(format!("the request has no `{key}`"))
}

fn not_events() -> Error {
    Error::InvalidArgument("`data` must be a JSON array of events".to_owned())
}

/// The events of a `/translate_results` request.
enum Events<'a> {
    /// A JSON array, as text.
    Text(&'a [u8]),
    /// Already parsed (the request was).
    Values(&'a [Value]),
}

fn str_field<'a>(body: &'a Value, key: &str) -> Result<&'a str, Error> {
    field(body, key)?
        .as_str()
        .ok_or_else(|| Error::InvalidArgument(format!("`{key}` must be a string")))
}

/// The STIX identity of a results request: the server's own (from the
/// command line) when it has one, else the request's `data_source`, which the
/// stix-shifter CLI hands on as JSON text.
fn identity(state: &HostState, body: &Value) -> Result<Value, Error> {
    if let Some(i) = state.identity() {
        return Ok(i.clone());
    }
    let value = match field(body, "data_source")? {
        Value::String(text) => serde_json::from_str(text).map_err(|e| {
            Error::InvalidArgument(format!("`data_source` is not a JSON identity object: {e}"))
        })?,
        other => other.clone(),
    };
    if !value.is_object() {
        return Err(Error::InvalidArgument(
            "`data_source` must be a STIX identity object".to_owned(),
        ));
    }
    Ok(value)
}

/// The translation options of a request: `options`, or `connection.options`.
fn translation_options(body: &Value) -> Result<options::Options, Error> {
    let opts = body
        .get("options")
        .filter(|v| !v.is_null())
        .or_else(|| body.get("connection").and_then(|c| c.get("options")));
    options::parse(opts)
}

/// Answer one request. `data`: the JSON text of the body's `data` member,
/// when the body was parsed without it (`/translate_results`).
pub(super) async fn handle(
    state: &HostState,
    path: &str,
    body: Value,
    data: Option<Bytes>,
) -> Result<Answer, Error> {
    match path {
        "/transform_query" | "/parse_query" => {
            connector::check_module(str_field(&body, "module")?)?;
            let options = translation_options(&body)?;
            let pattern = str_field(&body, "data")?;
            if path == "/parse_query" {
                connector::parse_pattern(pattern, &options, state.now_ms()).map(Answer::Doc)
            } else {
                connector::translate_query(pattern, &options, state.now_ms(), false)
                    .map(|t| Answer::Doc(connector::queries_json(&t)))
            }
        }
        "/translate_results" => {
            connector::check_module(str_field(&body, "module")?)?;
            let options = translation_options(&body)?;
            let identity = identity(state, &body)?;
            let config = connector::results_config(&options);
            // Parsing and translating are CPU-bound: off the runtime's workers.
            let work = move || {
                let unquoted: String;
                let events = match &data {
                    Some(raw) => match raw.iter().find(|b| !b.is_ascii_whitespace()) {
                        Some(b'[') => Events::Text(raw),
                        Some(b'"') => {
                            unquoted = serde_json::from_slice(raw).map_err(|e| {
                                Error::InvalidArgument(format!("`data` is not a JSON string: {e}"))
                            })?;
                            Events::Text(unquoted.as_bytes())
                        }
                        Some(b'n') => return Err(no_field("data")),
                        _ => return Err(not_events()),
                    },
                    None => match field(&body, "data")? {
                        Value::String(s) => Events::Text(s.as_bytes()),
                        Value::Array(events) => Events::Values(events),
                        _ => return Err(not_events()),
                    },
                };
                match events {
                    // JSON text (the proxy client may send the events as a
                    // string, stix-shifter's `json.dumps(data)`): translated
                    // as it is read, on all CPUs, without a `Value` per event.
                    Events::Text(text) => Ok(stixshift_results::render_json_with_warnings(
                        &identity,
                        text,
                        &config,
                        stixshift_results::SystemEnv,
                    )?),
                    // Borrowed from the request: the events are not copied.
                    Events::Values(events) => Ok(stixshift_results::render_values_with_warnings(
                        &identity,
                        events,
                        &config,
                        stixshift_results::SystemEnv,
                    )?),
                }
            };
            let (text, warnings) = connector::off_runtime(work).await?;
            let mut summary = WarningSummary::default();
            for w in &warnings {
                summary.note(&w.to_string());
            }
            summary.log(state, path);
            // Sent as rendered (compacted), not parsed back into a `Value`.
            Ok(Answer::Bundle {
                text,
                extra: Vec::new(),
            })
        }
        _ => transmission(state, path, &body).await,
    }
}

async fn transmission(state: &HostState, path: &str, body: &Value) -> Result<Answer, Error> {
    let connection = field(body, "connection")?;
    let module = connection
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or(crate::error::CONNECTOR)
        .to_lowercase();
    connector::check_module(&module)?;
    let configuration = field(body, "configuration")?;
    let conn = crate::connection::parse(connection, configuration)?;
    let search_id = || str_field(body, "search_id").map(str::to_owned);
    let number = |key: &str| -> Result<u64, Error> {
        match body.get(key) {
            Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
                Error::InvalidArgument(format!("`{key}` must be a non-negative integer"))
            }),
            Some(Value::String(s)) => crate::transmit::parse_count(&format!("`{key}`"), s),
            _ => Err(Error::InvalidArgument(format!(
                "the request has no `{key}`"
            ))),
        }
    };
    let metadata = body.get("metadata").filter(|m| !m.is_null()).cloned();
    let op = match path {
        "/ping" => crate::transmit::Operation::Ping,
        "/is_async" => crate::transmit::Operation::IsAsync,
        "/create_query_connection" => {
            crate::transmit::Operation::Query(str_field(body, "query")?.to_owned())
        }
        "/create_status_connection" => crate::transmit::Operation::Status(search_id()?),
        "/delete_query_connection" => crate::transmit::Operation::Delete(search_id()?),
        "/create_results_connection" => crate::transmit::Operation::Results {
            search_id: search_id()?,
            offset: number("offset")?,
            length: number("length")?,
            metadata,
        },
        _ => crate::transmit::Operation::ResultsStix {
            search_id: search_id()?,
            offset: number("offset")?,
            length: number("length")?,
            identity: identity(state, body)?,
            metadata,
        },
    };
    let mut summary = WarningSummary::default();
    let result =
        crate::transmit::run_with(|| state.client(&conn), &conn, op, &mut |w| summary.note(w))
            .await;
    summary.log(state, path);
    result
}

/// A request's warnings (one per event at most, so up to `result_limit`
/// of them), logged as one line when the request is done: how many, and
/// the first. Warnings name fields, never their values.
#[derive(Default)]
struct WarningSummary {
    count: usize,
    first: Option<String>,
}

impl WarningSummary {
    fn note(&mut self, w: &str) {
        self.count += 1;
        if self.first.is_none() {
            self.first = Some(w.to_owned());
        }
    }

    fn log(self, state: &HostState, path: &str) {
        if let Some(first) = self.first {
            (state.inner.log)(&format!(
                "stixshift host: path={path} warnings={} first: {first}",
                self.count
            ));
        }
    }
}
