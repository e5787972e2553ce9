//! Commands on the wire: Commands V2 (`V0CommandRequest`, `V0CommandStatus`) and the legacy
//! device and group commands (`DeviceCommand`, `GroupCommand`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// `POST /v0/enterprise/{eid}/command/`.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
pub struct V0CommandRequestBody {
    /// `DEVICE`, `GROUP` or `DYNAMIC`.
    pub command_type: Option<String>,
    #[serde(default)]
    pub devices: Option<Vec<String>>,
    #[serde(default)]
    pub groups: Option<Vec<String>>,
    /// `active` (default), `inactive` or `all`.
    #[serde(default)]
    pub device_type: Option<String>,
    pub command: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub command_args: Option<Value>,
    /// `IMMEDIATE` (default), `WINDOW` or `RECURRING`.
    #[serde(default)]
    pub schedule: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub schedule_args: Option<Value>,
}

/// How many of a request's devices are in one state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StateTotal {
    pub state: String,
    pub total: u64,
}

/// A Commands V2 request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct V0CommandRequest {
    pub id: Uuid,
    pub enterprise: Uuid,
    pub command_type: String,
    pub devices: Vec<Uuid>,
    pub groups: Vec<Uuid>,
    pub device_type: String,
    pub command: String,
    #[schema(value_type = Object)]
    pub command_args: Map<String, Value>,
    pub schedule: String,
    #[schema(value_type = Option<Object>)]
    pub schedule_args: Option<Map<String, Value>>,
    /// A Python dict literal `{'id': 7, 'username': 'ops-key'}` (espercli splits it on quotes).
    pub issued_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_on: OffsetDateTime,
    /// Per-state totals, least advanced first.
    pub status: Vec<StateTotal>,
    /// Seconds a device has to finish the command once sent (Steward).
    pub timeout: u64,
}

/// One command on one device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct V0CommandStatus {
    pub id: Uuid,
    pub request: Uuid,
    /// The device's URL.
    pub device: String,
    pub state: String,
    pub reason: Option<String>,
    /// What the device reported (Steward), e.g. a script's exit code and output.
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
    /// How many times it was sent (Steward).
    pub attempts: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_on: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_on: OffsetDateTime,
}

/// `POST /enterprise/{eid}/device/{did}/command/` and the group form.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
pub struct LegacyCommandBody {
    pub command: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub command_args: Option<Value>,
}

/// A legacy device command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeviceCommand {
    pub id: Uuid,
    #[schema(value_type = Object)]
    pub command_args: Map<String, Value>,
    pub action: Option<String>,
    pub schedule: Option<String>,
    pub group_schedule_id: Option<String>,
    pub command: String,
    /// One of the seven legacy states (`Command Queued` reads as `Command Initiated`,
    /// `Command Cancelled` as `Command Failure`).
    pub state: String,
    /// The device's report as a Python dict literal, or null.
    pub details: Option<String>,
    pub reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_on: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_on: OffsetDateTime,
    pub enterprise: String,
    pub device: String,
    pub group_command: Option<String>,
    pub issued_by: Option<String>,
}

/// A legacy group command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GroupCommand {
    pub id: Uuid,
    pub schedule: Option<String>,
    pub command: String,
    #[schema(value_type = Object)]
    pub command_args: Map<String, Value>,
    /// `Command Initiated`, `Command Success`, `Command Failure` or `Command Scheduled`.
    pub state: String,
    /// A Python dict literal: `{'success': [{'id': …, 'name': …}], 'failed': […], …}`.
    pub details: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_on: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_on: OffsetDateTime,
    pub is_active: bool,
    pub enterprise: String,
    pub group: String,
    pub issued_by: Option<String>,
}
