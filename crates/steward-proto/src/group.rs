//! Device group shapes: `/enterprise/{enterprise_id}/devicegroup/`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use time::OffsetDateTime;

/// DeviceGroup as esperclient parses it. `enterprise` and `parent` are absolute URLs ending in `/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeviceGroup {
    pub id: Uuid,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_on: OffsetDateTime,
    pub enterprise: String,
    pub parent: Option<String>,
    /// Devices directly in this group.
    pub device_count: u64,
    /// The names from the root down to this group, joined by `/`, e.g. `Stores/Berlin/Tills`.
    pub path: String,
    /// Groups directly below this one.
    pub children_count: u64,
}

/// DeviceGroupUpdate (create, PUT) and DeviceGroupPartialUpdate (PATCH).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeviceGroupUpdate {
    pub name: Option<String>,
    /// The parent group's id (a bare UUID), or null for a root group.
    pub parent: Option<Uuid>,
    pub device_ids: Option<Vec<Uuid>>,
}

/// The `action` query parameter of PUT/PATCH on a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum GroupAction {
    /// Put `device_ids` into the group.
    Add,
    /// Take `device_ids` out of the group.
    Remove,
    /// Change the name.
    Rename,
    /// Change the parent.
    Move,
}
