//! stix-shifter's transmission operations for Sysdig, on a validated
//! connection: the stix-shifter documents around `stixshift-transmit`.

use std::time::Duration;

use serde_json::{json, Map, Value};
use stixshift_transmit::{Client, Connection, Metadata, SearchId, Token, TransmitError};

use crate::connection::ConnectionConfig;
use crate::error::Error;

/// One transmission operation.
#[derive(Clone, Debug, PartialEq)]
pub enum Operation {
    /// Check the API answers with this token.
    Ping,
    /// Register a query: Sysdig is synchronous, so the query is its own search id.
    Query(String),
    /// Always complete.
    Status(String),
    /// Nothing to delete.
    Delete(String),
    /// `false`.
    IsAsync,
    /// Events `offset .. offset + length` of a search, or the next `length`
    /// after `metadata`.
    Results {
        /// The translated query.
        search_id: String,
        /// Events to skip (ignored with metadata).
        offset: u64,
        /// Events wanted.
        length: u64,
        /// The continuation of a previous call.
        metadata: Option<Value>,
    },
    /// Results, translated to a STIX bundle.
    ResultsStix {
        /// The translated query.
        search_id: String,
        /// Events to skip (ignored with metadata).
        offset: u64,
        /// Events wanted.
        length: u64,
        /// The STIX identity object for the bundle.
        identity: Value,
        /// The continuation of a previous call.
        metadata: Option<Value>,
    },
}

/// Everything a client is built from: equal keys make interchangeable
/// clients (the `host` server keeps one per key).
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct ClientKey {
    host: String,
    port: u16,
    cert: Option<String>,
    token: String,
    timeout: u64,
    result_limit: u64,
}

impl ClientKey {
    pub(crate) fn of(conn: &ConnectionConfig) -> ClientKey {
        ClientKey {
            host: conn.host.clone(),
            port: conn.port,
            cert: conn.self_signed_cert.clone(),
            token: conn.token.clone(),
            timeout: conn.options.timeout,
            result_limit: conn.options.result_limit,
        }
    }

    pub(crate) fn client(&self) -> Result<Client, Error> {
        let mut c = Connection::new(self.host.clone());
        c.port = self.port;
        c.self_signed_cert = self.cert.clone();
        c.timeout = Duration::from_secs(self.timeout.max(1));
        c.result_limit = self.result_limit;
        Ok(Client::new(&c, Token::new(self.token.clone()))?)
    }
}

/// The client for a validated connection (one per connection).
pub fn client(conn: &ConnectionConfig) -> Result<Client, Error> {
    ClientKey::of(conn).client()
}

/// An offset or a length given as text (CLI arguments, the host's string
/// fields): a non-negative integer, white space around it allowed.
pub(crate) fn parse_count(what: &str, text: &str) -> Result<u64, Error> {
    text.trim().parse::<u64>().map_err(|_| {
        Error::InvalidArgument(format!(
            "{what} must be a non-negative integer, got `{text}`"
        ))
    })
}

fn search(search_id: &str) -> Result<SearchId, Error> {
    Ok(SearchId::parse(search_id)?)
}

fn metadata(m: Option<&Value>) -> Result<Option<Metadata>, Error> {
    match m {
        None => Ok(None),
        // The CLI passes metadata as text; JSON text is parsed first.
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(v) => Ok(Some(Metadata::from_value(&v)?)),
            Err(_) => Err(TransmitError::InvalidMetadata {
                reason: crate::options::py_value_repr(&Value::String(s.clone())),
            }
            .into()),
        },
        Some(v) => Ok(Some(Metadata::from_value(v)?)),
    }
}

/// One `results` call: parse the search id and metadata, fetch. Events stay
/// JSON text (`results` parses them, `results_stix` hands them to the
/// bundle writer, which parses each once).
async fn fetch(
    client: &Client,
    search_id: &str,
    offset: u64,
    length: u64,
    meta: Option<&Value>,
) -> Result<stixshift_transmit::RawResults, Error> {
    let search = search(search_id)?;
    let meta = metadata(meta)?;
    Ok(client
        .raw_results(&search, offset, length, meta.as_ref())
        .await?)
}

/// Apply the connector's per-event pre-processing (the reference does it at
/// transmit time); problems with single events are warnings, never fail the page.
fn preprocess(events: &mut [Value], warn: &mut impl FnMut(&str)) {
    for (i, e) in events.iter_mut().enumerate() {
        for w in stixshift_results::preprocess_event(e) {
            warn(&format!("event {i}: {w}"));
        }
    }
}

/// Run one operation; the result is stix-shifter's success document.
/// Warnings about single events go to `warn`.
pub async fn run(
    conn: &ConnectionConfig,
    op: Operation,
    warn: &mut impl FnMut(&str),
) -> Result<Answer, Error> {
    run_with(|| client(conn), conn, op, warn).await
}

/// [`run`] with the client from `get_client`, called only by the operations
/// that talk to Sysdig (the `host` server keeps one client per connection,
/// so requests reuse its TCP/TLS connections).
pub async fn run_with(
    get_client: impl FnOnce() -> Result<Client, Error>,
    conn: &ConnectionConfig,
    op: Operation,
    warn: &mut impl FnMut(&str),
) -> Result<Answer, Error> {
    match op {
        Operation::Query(q) => Ok(Answer::Doc(json!({"success": true, "search_id": q}))),
        Operation::Status(_) => Ok(Answer::Doc(
            json!({"success": true, "status": "COMPLETED", "progress": 100}),
        )),
        Operation::Delete(_) => Ok(Answer::Doc(json!({"success": true}))),
        Operation::IsAsync => Ok(Answer::Doc(Value::Bool(false))),
        Operation::Ping => {
            get_client()?.ping().await?;
            Ok(Answer::Doc(json!({"success": true})))
        }
        Operation::Results {
            search_id,
            offset,
            length,
            metadata: meta,
        } => {
            let client = get_client()?;
            let raw = fetch(&client, &search_id, offset, length, meta.as_ref()).await?;
            let mut page = raw.parse()?;
            preprocess(&mut page.events, warn);
            let mut doc = Map::new();
            doc.insert("success".into(), Value::Bool(true));
            doc.insert("data".into(), Value::Array(page.events));
            if let Some(m) = page.metadata {
                doc.insert("metadata".into(), m.to_value());
            }
            Ok(Answer::Doc(Value::Object(doc)))
        }
        Operation::ResultsStix {
            search_id,
            offset,
            length,
            identity,
            metadata: meta,
        } => {
            let client = get_client()?;
            let raw = fetch(&client, &search_id, offset, length, meta.as_ref()).await?;
            let transmitted = crate::env::clock_ms();
            // The translator applies the pre-processing itself (`Config::preprocess`).
            let config = crate::connector::results_config(&conn.options);
            let pages = raw.pages;
            let (text, warnings) = crate::connector::off_runtime(move || {
                let events: Vec<&str> = pages.iter().flat_map(|p| p.iter()).collect();
                Ok(stixshift_results::render_texts_with_warnings(
                    &identity,
                    &events,
                    &config,
                    stixshift_results::SystemEnv,
                )?)
            })
            .await?;
            for w in warnings {
                warn(&w.to_string());
            }
            let mut extra = vec![(
                "stats",
                json!([
                    {"action": "transmission", "time": transmitted},
                    {"action": "translation", "time": crate::env::clock_ms()},
                ]),
            )];
            if let Some(m) = raw.metadata {
                extra.push(("metadata", m.to_value()));
            }
            Ok(Answer::Bundle { text, extra })
        }
    }
}

/// What an operation answers.
#[derive(Debug)]
pub enum Answer {
    /// A stix-shifter document.
    Doc(Value),
    /// `results_stix`: the bundle as the results writer rendered it
    /// (indented as the CLI prints documents), and the members that follow
    /// its own. Never parsed back into a `Value` to be printed: for
    /// thousands of events that tree is ten times the text.
    Bundle {
        text: Vec<u8>,
        extra: Vec<(&'static str, Value)>,
    },
}

impl Answer {
    /// Written as the CLI prints every document (indent 4, Python's
    /// separators), without a final newline.
    pub fn write_pretty(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        match self {
            Answer::Doc(v) => stixshift_results::pyjson::to_writer_pretty(out, v),
            Answer::Bundle { text, extra } => {
                out.write_all(open_object(text))?;
                for (key, value) in extra {
                    let value = stixshift_results::pyjson::to_string_pretty(value);
                    // One level in: strings hold no raw line break.
                    let value = value.replace('\n', "\n    ");
                    write!(out, ",\n    \"{key}\": {value}")?;
                }
                out.write_all(b"\n}")
            }
        }
    }

    /// The same JSON without white space between tokens (the `host`
    /// server's answers).
    pub fn to_compact(&self) -> Vec<u8> {
        match self {
            Answer::Doc(v) => serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec()),
            Answer::Bundle { text, extra } => {
                let mut out = Vec::with_capacity(text.len());
                minify_into(open_object(text), &mut out);
                for (key, value) in extra {
                    out.push(b',');
                    // Writing to a `Vec` cannot fail.
                    let _ = serde_json::to_writer(&mut out, key);
                    out.push(b':');
                    let _ = serde_json::to_writer(&mut out, value);
                }
                out.push(b'}');
                out
            }
        }
    }

    /// As a `Value` (for callers that work on the document).
    pub fn into_value(self) -> Value {
        match self {
            Answer::Doc(v) => v,
            Answer::Bundle { .. } => {
                serde_json::from_slice(&self.to_compact()).unwrap_or(Value::Null)
            }
        }
    }
}

/// A rendered JSON object without its closing brace (and the white space
/// before it), for members to be written after its own.
fn open_object(text: &[u8]) -> &[u8] {
    let end = text.iter().rposition(|&b| b == b'}').unwrap_or(text.len());
    text[..end].trim_ascii_end()
}

/// `json` (valid JSON) without the white space outside its strings,
/// appended to `out`.
fn minify_into(json: &[u8], out: &mut Vec<u8>) {
    let (mut in_string, mut escaped) = (false, false);
    for &b in json {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
            continue;
        }
        out.push(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle() -> Answer {
        let identity = json!({"type": "identity", "id": "identity--x", "name": "n",
                              "identity_class": "events"});
        let events = [
            r#"{"id": "a", "timestamp": "2023-11-01T00:00:00Z", "severity": 3,
                "content": {"fields": {"proc.name": "sh \"quoted\"\n", "user.name": "root"}}}"#,
            r#"{"id": "b", "timestamp": "2023-11-02T00:00:00Z", "severity": 7,
                "content": {"fields": {"proc.name": "é x", "fd.name": "10.0.0.1:5->10.0.0.2:80",
                                       "evt.type": "connect"}}}"#,
        ];
        let config = stixshift_results::Config::default();
        let (text, _) = stixshift_results::render_texts_with_warnings(
            &identity,
            &events,
            &config,
            stixshift_results::FixedEnv::default(),
        )
        .unwrap();
        Answer::Bundle {
            text,
            extra: vec![
                ("stats", json!([{"action": "transmission", "time": 1}])),
                (
                    "metadata",
                    json!({"result_count": 2, "prev_page_token": "c 1"}),
                ),
            ],
        }
    }

    /// A rendered bundle is printed exactly as its `Value` would be, with
    /// the added members last; compacted, it is the same JSON.
    #[test]
    fn a_rendered_bundle_prints_as_its_value_would() {
        let answer = bundle();
        let mut pretty = Vec::new();
        answer.write_pretty(&mut pretty).unwrap();
        let compact = answer.to_compact();
        let value = answer.into_value();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.last(), Some(&"metadata"));
        assert_eq!(keys[keys.len() - 2], "stats");
        assert_eq!(value["objects"].as_array().unwrap().len(), 3);
        assert_eq!(
            String::from_utf8(pretty).unwrap(),
            stixshift_results::pyjson::to_string_pretty(&value)
        );
        // The same JSON (non-ASCII stays escaped as Python writes it).
        assert_eq!(serde_json::from_slice::<Value>(&compact).unwrap(), value);
        let text = String::from_utf8(compact).unwrap();
        assert!(text.contains(r#""name":"\u00e9 x""#), "{text}");
        assert!(!text.contains(": ") && !text.contains('\n'), "{text}");
    }

    #[test]
    fn minify_keeps_strings_whole() {
        let text = br#"{ "a b": [ 1, "x \" y\\", "\n" ],
            "c":	{} }"#;
        let mut out = Vec::new();
        minify_into(text, &mut out);
        assert_eq!(out, br#"{"a b":[1,"x \" y\\","\n"],"c":{}}"#);
    }
}
