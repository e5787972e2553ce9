//! The Steward device agent: enrolment, the persistent link to the server, reporting, and
//! running the commands the server sends.
//! `simulate` runs many simulated devices in one process over the same code.

pub mod backoff;
pub mod commands;
pub mod link;
pub mod platform;
pub mod simulate;
pub mod state;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod tls;
