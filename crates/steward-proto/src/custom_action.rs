//! Custom actions (`/v2/custom-actions/`), in the v2 envelope.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// A custom action as Esper's `CustomActionRead`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CustomActionRead {
    pub id: Uuid,
    pub name: String,
    /// `button`, `toggle`, `radio` or `dropdown`.
    #[serde(rename = "type")]
    pub action_type: String,
    /// `draft`, `active` or `inactive`; only active actions run on devices.
    pub state: String,
    pub position_in_blueprints: String,
    pub position_in_device_settings: String,
    #[schema(value_type = Object)]
    pub properties: Map<String, Value>,
    /// `[{label, key, scripts: {linux: {script, interpreter}}}]`.
    #[schema(value_type = Vec<Object>)]
    pub options: Vec<Value>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// The number of the API key that made it.
    pub created_by: Option<i64>,
    pub updated_by: Option<i64>,
}

/// A v2 page as Esper's Python services spell it (`previous`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct V2PagePrevious<T> {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<T>,
}
