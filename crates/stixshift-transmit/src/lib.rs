//! An async client for the Sysdig Secure Events API, as the stix-shifter
//! `sysdig` connector uses it (`GET /api/v1/secureEvents/status` to ping,
//! `GET /api/v1/secureEvents` to list events).
//!
//! What it is: the connection settings ([`Connection`], [`Token`]), one
//! HTTP client per connection ([`Client`]: rustls with the system roots plus
//! `selfSignedCert`, bearer token, timeouts, retries with jittered back-off
//! that honour `Retry-After`), the search id ([`SearchId`]), paging with
//! stix-shifter's `offset`/`length`/`metadata` contract ([`Client::results`])
//! or as a stream ([`Client::pages`]), and one error type
//! ([`TransmitError`]) that knows its stix-shifter code.
//!
//! What it is not: it knows nothing about STIX or stix-shifter's JSON
//! envelopes. Events come back as the API sent them (`serde_json::Value`,
//! key order kept); pre-processing them and building envelopes is the
//! `stixshift` crate's job.
//!
//! ```no_run
//! # async fn demo() -> Result<(), stixshift_transmit::TransmitError> {
//! use stixshift_transmit::{Client, Connection, SearchId, Token};
//!
//! let conn = Connection::new("secure.sysdig.com");
//! let client = Client::new(&conn, Token::new("<api token>"))?;
//! client.ping().await?;
//! let search = SearchId::parse(r#"from=1698252206000000000&to=1698252506000000000&filter=(ruleName="a")andsource!="auditTrail""#)?;
//! let first = client.results(&search, 0, 1000, None).await?;
//! if let Some(m) = &first.metadata {
//!     let more = client.results(&search, m.result_count, 1000, Some(m)).await?;
//!     println!("{} + {} events", first.events.len(), more.events.len());
//! }
//! # Ok(()) }
//! ```

mod client;
mod error;
pub mod paging;
pub mod peek;
pub mod retry;
mod search;
mod time;
mod tls;
mod wire;

pub use client::{
    Client, Connection, Scheme, SleepFn, Token, DEFAULT_CONNECT_TIMEOUT, DEFAULT_PORT,
    DEFAULT_RESULT_LIMIT, DEFAULT_TIMEOUT,
};
pub use error::{TransmitError, BAD_REQUEST_TEXT, UNAUTHORIZED_TEXT};
pub use paging::{Metadata, Page, PageStream, RawPage, RawPageStream, RawResults};
pub use retry::{classify, Attempt, Decision, Outcome, RetryPolicy};
pub use search::{encode_component, SearchId};
pub use wire::{EVENTS_PATH, PAGE_SIZE, STATUS_PATH, USER_AGENT};
