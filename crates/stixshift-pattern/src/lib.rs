//! STIX patterns.
