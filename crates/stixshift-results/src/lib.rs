//! Results translation: Sysdig Secure events to STIX 2.0 / 2.1 bundles.
//!
//! Pure: no I/O beyond the `Read`/`Write` handles it is given, no clock and
//! no randomness of its own (both come from an [`Env`]).
//!
//! Input: a JSON array of events, either raw Sysdig Secure API events or the
//! pre-processed events `transmit results` returns; both translate to the same
//! bundle because the transmit-time pre-processing ([`preprocess_event`]) is
//! idempotent and applied again here (see [`Config::preprocess`]).
//!
//! Each event is read into mapping operations (which map entry applies to
//! which value, after the transformers and the value checks), and the
//! objects are assembled from the operations alone. STIX 2.0 observed-data
//! are written from a template per distinct sequence of operations, filled
//! with each event's values ([`Config::templates`]); events of one Falco
//! rule share a template.
//!
//! ```
//! use stixshift_results::{translate_values, Config, FixedEnv};
//! use serde_json::json;
//! let identity = json!({"type": "identity", "id": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff", "name": "sysdig"});
//! let events = [json!({"timestamp": "2023-11-01T17:15:14.635115435Z", "severity": 5,
//!                      "content": {"fields": {"proc.name": "curl"}}})];
//! let bundle = translate_values(&identity, &events, &Config::default(), FixedEnv::default()).unwrap();
//! assert_eq!(bundle["objects"][1]["objects"]["0"]["severity"], 50);
//! ```

mod engine;
mod env;
mod error;
mod fastjson;
mod mapping;
mod parallel;
mod preprocess;
pub mod pyjson;
mod readahead;
mod reader;
mod template;
mod timestamp;
mod transform;
mod value;
mod writer;

pub use env::{Env, FixedEnv, SystemEnv};
pub use error::{ResultsError, Warning};
pub use mapping::default_to_stix_map;
pub use preprocess::preprocess_event;
pub use readahead::{open_file, Block, Blocks, Plain, ReadAhead};
pub use reader::{
    render_json_with_warnings, render_texts_with_warnings, render_values_with_warnings,
    translate_blocks, translate_reader, translate_values, MAX_EVENT_BYTES,
};
pub use writer::{available_cpus, BundleWriter, Config, Format, Stats, DEFAULT_BATCH_BYTES};
