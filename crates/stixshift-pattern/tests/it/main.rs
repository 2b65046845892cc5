//! Integration tests of the pattern parser: one binary, one module per topic.

mod roundtrip;
mod spans;
mod validator_cases;
