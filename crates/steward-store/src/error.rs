//! The storage layer's error type.

use steward_core::Invalid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The object does not exist (or belongs to another enterprise, which is the same thing).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request breaks a rule that only the stored data can tell (a cycle, a depth, a name).
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The database URL or settings are unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}
