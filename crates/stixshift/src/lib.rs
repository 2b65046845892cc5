//! stixshift: stix-shifter's Sysdig connector, natively.
//!
//! This crate is the façade: it turns command-line and HTTP inputs into
//! validated options, calls the pure crates (`stixshift-pattern`,
//! `stixshift-translate`, `stixshift-results`) and renders stix-shifter's
//! JSON envelopes. Only [`cli`] knows stdout and exit codes.

pub mod cli;
pub mod connection;
pub mod connector;
pub mod docs;
pub mod env;
pub mod error;
pub mod execute;
pub mod host;
pub mod options;
pub mod transmit;

pub use error::{Error, ErrorCode};
