//! Real HTTP against the simulator, in process on 127.0.0.1:0.

mod api;
mod faults;
mod paging;
mod support;
