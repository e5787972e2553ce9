//! API key shapes: `GET /v1/token-info/` and the renew call.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use time::OffsetDateTime;

/// TokenInfoV1: what the calling key is. `enterprise` is a bare UUID (espercli uses it in paths).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TokenInfoV1 {
    /// The key's number, as a string (Esper's type).
    pub id: String,
    pub enterprise: Uuid,
    /// The user the key acts for.
    pub user: Option<String>,
    /// The key's own id, used as `developerapp_id` when renewing.
    pub developer_app: Uuid,
    pub source_refresh_token: Option<String>,
    /// A masked form of the key (its prefix); the secret itself is never returned again.
    pub token: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_on: Option<OffsetDateTime>,
    pub scope: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_on: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_on: OffsetDateTime,
}

/// TokenRenewV0: a new key. `enterprise` reads `"<name> [<uuid>]"` and `developerapp`
/// `"<key name> (<uuid>)"`, the display forms espercli splits to find the ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TokenRenewV0 {
    pub id: String,
    pub user: Option<String>,
    pub enterprise: String,
    /// The new key; shown once.
    pub token: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    pub developerapp: String,
    pub scope: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_on: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_on: OffsetDateTime,
}
