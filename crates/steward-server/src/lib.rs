//! Steward's HTTP server: Esper's REST API under `/api`, health and metrics, the OpenAPI
//! document, and (in later stages) the device gateway and schedulers.
//!
//! Everything a running server needs is in [`AppState`]; nothing is global except the metrics
//! recorder (the `metrics` facade is process-wide by design), so several servers can run in
//! one process, as the tests do.

pub mod blobs;
pub mod compat;
mod error;
pub mod gateway;
mod http;
mod inspections;
mod openapi;
mod routes;
mod serve;
pub mod settings;
mod state;
#[cfg(feature = "testing")]
pub mod testing;

pub use blobs::Blobs;
pub use error::ApiError;
pub use openapi::api_document;
pub use serve::{app, serve};
pub use settings::{
    BlobSettings, CommandSettings, DeviceSettings, FileSettings, RateLimit, ServerSettings,
    TlsFiles,
};
pub use state::AppState;
