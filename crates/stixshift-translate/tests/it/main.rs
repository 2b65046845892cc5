//! Integration tests of query translation.

mod escaping;
