//! STIX pattern → Sysdig Secure filter queries, driven by stix-shifter's
//! mapping files.
//!
//! Pure: same input, same output. "Now" (for observations without
//! START/STOP) is an input, so no output depends on the clock.
//!
//! ```
//! use stixshift_translate::{mapping::QueryMapping, query::{translate, QueryConfig}};
//!
//! let config = QueryConfig {
//!     mapping: QueryMapping::default_for(false),
//!     time_range_minutes: Some(5),
//!     now_ms: 1_700_000_000_000,
//!     explain: false,
//! };
//! let t = translate("[x-ibm-finding:name = 'a']", &config).unwrap();
//! assert_eq!(
//!     t.queries,
//!     ["from=1699999700000000000&to=1700000000000000000&filter=(ruleName=\"a\")andsource!=\"auditTrail\""]
//! );
//! ```

pub mod mapping;
pub mod query;
pub mod time;
