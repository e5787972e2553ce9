//! Application shapes: `/enterprise/{id}/application/…` (legacy) and `/v1/enterprise/{id}/
//! application/…`. `app_file`, `download_url` and `icon_url` are absolute, signed, expiring
//! URLs that need no Authorization header (espercli downloads that way).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// A version inside an Application (`versions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApplicationVersion {
    pub id: Uuid,
    pub version_code: Option<String>,
    pub version_name: Option<String>,
    pub build_number: Option<String>,
    pub hash_string: String,
    pub min_sdk_version: Option<String>,
    pub target_sdk_version: Option<String>,
    pub download_url: String,
    pub icon_url: Option<String>,
    pub release_name: Option<String>,
}

/// Application as esperclient parses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Application {
    pub id: Uuid,
    pub versions: Vec<ApplicationVersion>,
    pub application_name: String,
    pub package_name: String,
    pub developer: Option<String>,
    pub category: Option<String>,
    pub content_rating: Option<String>,
    pub compatibility: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_on: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_on: OffsetDateTime,
    pub is_active: bool,
    pub is_hidden: bool,
    /// The enterprise's URL.
    pub enterprise: String,
    /// Steward: `apk` or `deb`.
    pub kind: String,
}

/// The answer to an upload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApplicationUpload {
    pub application: Application,
}

/// AppPermission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AppPermission {
    pub id: Uuid,
    pub permission: String,
    pub grant_state: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_on: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_on: OffsetDateTime,
    pub is_active: bool,
    pub enterprise: String,
    pub app_version: String,
}

/// AppVersion. With `legacy_format=false` `build_number` is left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AppVersion {
    pub id: Uuid,
    pub installed_count: u64,
    pub permissions: Vec<AppPermission>,
    pub app_file: String,
    pub app_icon: Option<String>,
    pub version_code: String,
    pub version_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_number: Option<String>,
    pub size_in_mb: f64,
    pub hash_string: String,
    pub release_name: Option<String>,
    pub release_comments: Option<String>,
    pub release_track: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_on: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_on: OffsetDateTime,
    pub min_sdk_version: Option<String>,
    pub target_sdk_version: Option<String>,
    pub is_enabled: bool,
    pub is_default: bool,
    pub approval_status: String,
    pub enterprise: String,
    pub application: String,
    /// Steward: the package's architecture (.deb).
    pub architecture: Option<String>,
}

/// PATCH of a version. Other fields (the read-only ones of AppVersion, unknown names) are
/// ignored, as Esper (Django REST framework) ignores them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AppVersionPatch {
    pub release_name: Option<String>,
    pub release_comments: Option<String>,
    pub release_track: Option<String>,
    pub approval_status: Option<String>,
    pub is_enabled: Option<bool>,
    pub is_default: Option<bool>,
    /// Esper's spec lets a PATCH set these; Steward reads them from the package, so they are
    /// accepted only with the value they already have (a version read and sent back) and
    /// otherwise refused, naming the field. A string or a number.
    #[schema(value_type = Option<String>)]
    pub version_code: Option<serde_json::Value>,
    #[schema(value_type = Option<String>)]
    pub build_number: Option<serde_json::Value>,
    #[schema(value_type = Option<String>)]
    pub min_sdk_version: Option<serde_json::Value>,
    #[schema(value_type = Option<String>)]
    pub target_sdk_version: Option<serde_json::Value>,
}

/// A device with a version installed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InstallDevices {
    pub id: Uuid,
    pub device_name: String,
    pub alias_name: Option<String>,
    pub group_name: Option<String>,
}

/// The newest version in an ApplicationV1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LatestVersionV1 {
    pub id: Uuid,
    pub version_code: String,
    pub build_number: Option<String>,
    pub hash_string: String,
    pub min_sdk_version: Option<String>,
    pub target_sdk_version: Option<String>,
    pub icon_url: Option<String>,
    pub release_name: Option<String>,
}

/// An application in `/v1/…/applications-minimal/`: what a picker needs, without versions.
/// (Esper documents the endpoint but not its shape; these are the fields every other
/// application shape shares.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApplicationMinimal {
    pub id: Uuid,
    pub application_name: String,
    pub package_name: String,
    pub is_hidden: bool,
}

/// ApplicationV1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApplicationV1 {
    pub id: Uuid,
    pub latest_version: Option<LatestVersionV1>,
    pub application_name: String,
    pub package_name: String,
    pub is_hidden: bool,
    pub enterprise: Uuid,
}
