//! Esper's error envelope.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The body of every error answer under `/api` (legacy, v0 and v1 routes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Field-level problems, each naming the field (`"name: this field is required"`).
    pub errors: Vec<String>,
    /// One sentence that names the problem.
    pub message: String,
    /// The HTTP status code, repeated.
    pub status: u16,
}
