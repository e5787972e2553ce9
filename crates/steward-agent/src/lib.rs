//! The Steward device agent: enrolment, the persistent link to the server, and reporting.
//! `simulate` runs many simulated devices in one process over the same code.

pub mod platform;
