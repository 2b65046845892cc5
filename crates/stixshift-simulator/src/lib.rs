//! A stand-in for the Sysdig Secure Events API, for trying and testing
//! stixshift (and stix-shifter) without a Sysdig tenant.
//!
//! Pure modules (always available, also with `default-features = false`):
//! * [`filter`]: the event filter language — parse, evaluate, print;
//! * [`generate`]: deterministic, realistic events and the seed document's examples;
//! * [`time`]: nanosecond ↔ RFC 3339 conversion.
//!
//! With the default `server` feature, also an HTTP(S) server (`app`, `serve`,
//! `spawn`), fault injection and the `simulate` command line (`cli`). This
//! crate shares no code or wire types with the stixshift client: it is an
//! independent witness of what the API does. The behaviour it implements,
//! and every choice made where Sysdig's documentation is silent, is written
//! down in the crate's README.md.

pub mod filter;
pub mod generate;
pub mod time;

#[cfg(feature = "server")]
mod server;

#[cfg(feature = "server")]
pub use server::{
    app, generate_tls, serve, spawn, tls_acceptor, try_spawn, AppState, Auth, Clock, Config,
    CursorFailure, FaultPlan, Faults, RequestRecord, Running, SetupError, StatusFault, StoreError,
    TlsError, DEFAULT_TOKEN, LEGACY_EVENTS_PATH, LEGACY_STATUS_PATH, MAX_RECORDS, MAX_WINDOW_NS,
    REASON_HEADER, V1_EVENTS_PATH,
};

#[cfg(feature = "server")]
pub mod cli;
