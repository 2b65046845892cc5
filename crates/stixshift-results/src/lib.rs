//! Results translation: Sysdig Secure events to STIX 2.0 / 2.1 bundles.
//!
//! Pure: no I/O beyond the `Read`/`Write` handles it is given, no clock and
//! no randomness of its own (both are passed in).

pub mod pyjson;
