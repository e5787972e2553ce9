//! Steward's storage: SQLite (the embedded default, in WAL mode) and PostgreSQL (for scale-out),
//! behind one query code path. Queries are written once with sea-query and rendered for the
//! backend in use; SQL lives in this crate only.

pub mod applications;
pub mod apps;
pub mod commands;
pub mod content;
pub mod custom_actions;
mod db;
mod device_counts;
pub mod devices;
pub mod enrollment;
pub mod enterprises;
pub mod error;
pub mod events;
pub mod groups;
pub mod keys;
pub mod reports;
pub mod status;
#[cfg(feature = "testing")]
pub mod testing;
mod time_util;

pub use db::{Backend, CommandListener, Store};
pub use error::StoreError;
pub use time_util::now;

/// A result of a storage call.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
