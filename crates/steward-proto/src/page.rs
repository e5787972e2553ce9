//! Esper's limit/offset page.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A page of results: `{count, next, previous, results}`; `next`/`previous` are absolute URLs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    /// Total number of matching objects.
    pub count: u64,
    /// Absolute URL of the next page, or null on the last page.
    pub next: Option<String>,
    /// Absolute URL of the previous page, or null on the first page.
    pub previous: Option<String>,
    /// The objects of this page.
    pub results: Vec<T>,
}
