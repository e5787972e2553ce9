//! Steward's domain rules, free of I/O: what a valid request is, before anything is stored.

pub mod command_state;
pub mod commands;
pub mod custom_actions;
pub mod groups;
pub mod pagination;
pub mod query;
pub mod schedule;
pub mod validate;

pub use validate::{FieldErrors, Invalid};
