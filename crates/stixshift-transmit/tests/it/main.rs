//! Integration tests: the real client against the simulator (and, where the
//! simulator cannot produce a response, a one-shot raw HTTP server), over
//! real HTTP on 127.0.0.1. No sleeps: retries use zero back-off or a
//! recording sleeper.

mod errors;
mod examples;
mod faults;
mod paging;
mod ping;
mod support;
