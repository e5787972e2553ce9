//! Content shapes: `/v0/enterprise/{id}/content/`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Who uploaded a content file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Owner {
    pub id: Option<i64>,
    pub username: String,
}

/// Content as esperclient parses it (`created`/`modified`, `size` as a string).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Content {
    pub id: i64,
    /// A signed, expiring URL that needs no Authorization header.
    pub download_url: String,
    pub name: String,
    pub key: String,
    pub is_dir: bool,
    pub kind: Option<String>,
    pub hash: String,
    pub size: String,
    pub path: String,
    pub permissions: Option<String>,
    pub tags: Vec<String>,
    pub description: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub modified: OffsetDateTime,
    pub enterprise: String,
    pub owner: Owner,
}

/// PATCH of a content file (Esper's `Data`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ContentPatch {
    pub tags: Option<Vec<String>>,
    pub description: Option<String>,
}
