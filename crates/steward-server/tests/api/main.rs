//! The API over real sockets: a server on 127.0.0.1:0 per backend, driven with reqwest.
//! One test binary (one link step) with a module per area.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod agents;
mod applications;
mod commands;
mod common;
mod compatibility;
mod conventions;
mod enterprise_tokens;
mod groups;
mod installs;
mod s3;
mod tenancy;
