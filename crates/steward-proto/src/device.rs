//! Device shapes: `/enterprise/{eid}/device/…` (legacy), `/v2/devices/`, heartbeats, and
//! enrolment tokens (a Steward extension).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// Device as esperclient parses it (no validation there; espercli needs `status` to be a
/// DeviceState code and `hardwareInfo` an object). Steward adds a few keys of its own at the end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Device {
    pub id: Uuid,
    pub url: String,
    pub device_name: String,
    pub alias_name: Option<String>,
    pub policy_name: Option<String>,
    /// Esper's DeviceState code: 1 ACTIVE (connected), 60 INACTIVE, …
    pub status: i32,
    pub state: i32,
    pub current_command: Option<Uuid>,
    pub suid: Option<String>,
    pub fcm_id: Option<String>,
    pub enterprise: String,
    pub policy: Option<String>,
    pub user: Option<String>,
    /// URLs of the groups the device is in.
    pub groups: Vec<String>,
    pub tags: Vec<String>,
    pub api_level: Option<i32>,
    pub template_name: Option<String>,
    pub mqtt_id: Option<String>,
    #[serde(rename = "softwareInfo")]
    pub software_info: Value,
    #[serde(rename = "hardwareInfo")]
    pub hardware_info: Value,
    pub displays: Value,
    #[serde(rename = "networkInfo")]
    pub network_info: Value,
    #[serde(rename = "memoryInfo")]
    pub memory_info: Value,
    #[serde(rename = "audioConstraints")]
    pub audio_constraints: Value,
    #[serde(with = "time::serde::rfc3339::option")]
    pub provisioned_on: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_on: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_on: OffsetDateTime,
    pub emm_device: Option<Value>,
    pub is_gms: bool,
    pub is_active: bool,
    /// Steward: the platform (`LINUX`, `ANDROID`).
    pub platform: String,
    /// Steward: when the device was last heard from.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_seen: Option<OffsetDateTime>,
    /// Steward: the group's id.
    pub group: Option<Uuid>,
    /// Steward: the latest telemetry reading.
    pub telemetry: Option<Value>,
}

/// PATCH of a device: alias and tags.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeviceUpdate {
    /// A display name; null clears it.
    #[serde(default, deserialize_with = "present")]
    pub alias_name: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
}

/// Tells an absent field (`None`) from an explicit null (`Some(None)`).
fn present<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

/// A status event. `data` is a Python literal dict (espercli `ast.literal_eval`s it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeviceStatus {
    pub id: i64,
    pub data: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_on: OffsetDateTime,
    pub device: String,
    pub enterprise: String,
}

/// An app installed on a device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeviceApp {
    pub id: Uuid,
    pub permissions: Vec<Value>,
    pub app_name: String,
    pub package_name: String,
    pub whitelisted: bool,
    pub is_data_clearable: bool,
    pub is_uninstallable: bool,
    pub product_id: Option<String>,
    pub version_code: Option<String>,
    pub version_name: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_on: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_on: OffsetDateTime,
    pub is_active: bool,
    pub device: Uuid,
}

/// The version part of an AppInstall's application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AppInstallVersion {
    pub app_version_id: Option<Uuid>,
    pub version_code: Option<String>,
    pub version_name: Option<String>,
    pub build_number: Option<String>,
    pub hash_string: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AppInstallApplication {
    pub application_name: String,
    pub package_name: String,
    /// Never null: espercli reads it.
    pub version: AppInstallVersion,
    pub is_enabled: bool,
}

/// An install or removal on a device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AppInstall {
    pub id: Uuid,
    pub application: AppInstallApplication,
    /// INSTALL_SUCCESS, UNINSTALL_SUCCESS, INSTALL_IN_PROGRESS, …
    pub install_state: String,
    pub reason_details: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_on: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_on: OffsetDateTime,
    pub is_active: bool,
    pub enterprise: String,
    pub device: String,
}

/// One entry of a device's event feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeviceEvent {
    pub id: i64,
    pub device: Uuid,
    /// ENROLLED, CONNECTED, DISCONNECTED, INACTIVE, INVENTORY_CHANGED, APP_INSTALLED, APP_REMOVED
    pub event: String,
    pub data: Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_on: OffsetDateTime,
}

/// `content` of a heartbeat answer: `status` 1 is online (espercli's reading).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Heartbeat {
    pub device_id: Uuid,
    pub status: i32,
    #[serde(with = "time::serde::rfc3339::option")]
    pub timestamp: Option<OffsetDateTime>,
}

/// A device in the v2 API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeviceV2 {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub alias: Option<String>,
    pub serial: Option<String>,
    pub imei: Option<String>,
    pub state: i32,
    pub platform: String,
    pub brand: Option<String>,
    pub model: Option<String>,
    pub os_version: Option<String>,
    pub agent_version: Option<String>,
    pub battery_level: Option<f64>,
    pub is_gms: bool,
    pub tags: Vec<String>,
    pub group_ids: Vec<Uuid>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_seen: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub provisioned_on: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub hardware: Value,
    pub software: Value,
    pub network: Value,
    pub memory: Value,
}

/// The v2 envelope: `{code, message, content}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct V2<T> {
    pub code: u16,
    pub message: String,
    pub content: T,
}

/// A v2 page (`prev`, as Esper's Go services spell it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct V2Page<T> {
    pub count: u64,
    pub next: Option<String>,
    pub prev: Option<String>,
    pub results: Vec<T>,
}

/// Steward extension: an enrolment token (the secret only in the answer to its creation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EnrollmentToken {
    pub id: Uuid,
    pub name: String,
    /// Devices enrolled with it join this group.
    pub group: Option<Uuid>,
    pub max_uses: Option<i64>,
    pub uses: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_on: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_on: Option<OffsetDateTime>,
    /// The first characters of the token.
    pub prefix: String,
    /// The token itself: present only when it was just created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_on: OffsetDateTime,
}

/// Steward extension: settings of a new enrolment token.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EnrollmentTokenCreate {
    pub name: Option<String>,
    pub group: Option<Uuid>,
    /// How many devices may enrol with it; null for no limit.
    pub max_uses: Option<i64>,
    /// Hours until it expires; null for never.
    pub expires_in_hours: Option<i64>,
}
