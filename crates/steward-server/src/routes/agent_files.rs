//! Files for devices: the package of an INSTALL and the file of a PUSH_CONTENT, fetched by the
//! agent with its own credential (`Authorization: Bearer <device token>`) from
//! `/agent/v1/app-versions/{id}/file` and `/agent/v1/content/{id}/file`. A device reaches only
//! its own enterprise's files.
//!
//! When such a command is made, [`add_package_file`] and [`add_content_file`] put what the
//! device needs into its arguments: where to fetch the file, its SHA-256 and size (the agent
//! checks both before it installs or keeps anything), and the package's name and version.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value};
use steward_core::Invalid;
use steward_core::pagination::PageRequest;
use steward_proto::agent::FileDownload;
use steward_store::StoreError;
use steward_store::applications::AppFilter;
use steward_store::devices::DeviceIdentity;
use steward_store::keys::hash_secret;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::routes::files::stream_blob;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/agent/v1/app-versions/{version_id}/file", get(app_file))
        .route("/agent/v1/content/{content_id}/file", get(content_file))
}

fn app_file_path(version_id: Uuid) -> String {
    format!("/agent/v1/app-versions/{version_id}/file")
}

fn content_file_path(content_id: i64) -> String {
    format!("/agent/v1/content/{content_id}/file")
}

/// The device whose credential the request carries.
async fn device(state: &AppState, headers: &HeaderMap) -> ApiResult<DeviceIdentity> {
    let secret = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 256)
        .ok_or_else(|| ApiError::Unauthorized("A device credential is required.".into()))?;
    if let Some(limiter) = &state.limiter {
        limiter.check(&format!("device:{}", hash_secret(secret)))?;
    }
    state
        .store
        .authenticate_device(secret)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("Unknown or revoked device credential.".into()))
}

async fn app_file(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(version_id): Path<String>,
) -> ApiResult<Response> {
    let device = device(&state, &headers).await?;
    let version_id: Uuid = version_id
        .parse()
        .map_err(|_| ApiError::not_found("app version"))?;
    let version = state
        .store
        .app_version_by_id(device.enterprise_id, version_id)
        .await?;
    stream_blob(&state, &version.blob_key).await
}

async fn content_file(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(content_id): Path<String>,
) -> ApiResult<Response> {
    let device = device(&state, &headers).await?;
    let content_id: i64 = content_id
        .parse()
        .map_err(|_| ApiError::not_found("content"))?;
    let content = state
        .store
        .content(device.enterprise_id, content_id)
        .await?;
    stream_blob(&state, &content.blob_key).await
}

/// A 400 naming `command_args.{field}`, for a file the enterprise does not have.
fn missing(field: &str, what: String) -> ApiError {
    Invalid::field(format!("command_args.{field}"), what).into()
}

/// INSTALL and UNINSTALL: the version named by `app_version` gives the package's name, kind
/// and version, and for INSTALL the file to fetch. UNINSTALL may name the package alone (its
/// application then gives the name and kind, when the enterprise has it).
pub async fn add_package_file(
    state: &AppState,
    enterprise_id: Uuid,
    command: &str,
    args: &mut Map<String, Value>,
) -> ApiResult<()> {
    let version_id = args
        .get("app_version")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<Uuid>().ok());
    let Some(version_id) = version_id else {
        // Checked by the catalog: only an UNINSTALL by package name gets here. Where the
        // enterprise has that application, the device learns its name and kind.
        return add_application_of_package(state, enterprise_id, args).await;
    };
    let version = match state
        .store
        .app_version_by_id(enterprise_id, version_id)
        .await
    {
        Ok(v) => v,
        Err(StoreError::NotFound(_)) => {
            return Err(missing(
                "app_version",
                format!("no app version {version_id} in this enterprise"),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let app = state
        .store
        .application(enterprise_id, version.application_id)
        .await?;
    args.insert("package_name".into(), app.package_name.clone().into());
    args.insert("application_name".into(), app.application_name.into());
    for (key, value) in [
        ("version_name", &version.version_name),
        ("version_code", &version.version_code),
    ] {
        if let Some(v) = value {
            args.insert(key.into(), v.clone().into());
        }
    }
    args.insert("package_kind".into(), app.kind.clone().into());
    if command == "INSTALL" {
        let download = FileDownload {
            path: app_file_path(version.id),
            sha256: version.hash_string,
            size: u64::try_from(version.size_bytes).unwrap_or(0),
            file_name: version.file_name,
        };
        args.insert("download".into(), download_value(&download)?);
    }
    Ok(())
}

/// An UNINSTALL by `package_name` alone: the application's name and kind, when known.
async fn add_application_of_package(
    state: &AppState,
    enterprise_id: Uuid,
    args: &mut Map<String, Value>,
) -> ApiResult<()> {
    let Some(package) = args.get("package_name").and_then(Value::as_str) else {
        return Ok(());
    };
    let filter = AppFilter {
        package_name_exact: Some(package.to_string()),
        ..AppFilter::default()
    };
    let one = PageRequest {
        limit: 1,
        offset: 0,
    };
    let (_, apps) = state
        .store
        .applications(enterprise_id, &filter, one)
        .await?;
    if let Some(app) = apps.into_iter().next() {
        args.insert("application_name".into(), app.application_name.into());
        args.insert("package_kind".into(), app.kind.into());
    }
    Ok(())
}

/// PUSH_CONTENT: the file named by `content_id`, and the name it is kept under.
pub async fn add_content_file(
    state: &AppState,
    enterprise_id: Uuid,
    args: &mut Map<String, Value>,
) -> ApiResult<()> {
    let Some(content_id) = args.get("content_id").and_then(Value::as_i64) else {
        return Err(missing(
            "content_id",
            "must be a content id (a number)".into(),
        ));
    };
    let content = match state.store.content(enterprise_id, content_id).await {
        Ok(c) => c,
        Err(StoreError::NotFound(_)) => {
            return Err(missing(
                "content_id",
                format!("no content {content_id} in this enterprise"),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let download = FileDownload {
        path: content_file_path(content.id),
        sha256: content.hash,
        size: u64::try_from(content.size_bytes).unwrap_or(0),
        // The name as stored: the uploaded name made safe for a file system.
        file_name: content
            .blob_key
            .rsplit('/')
            .next()
            .unwrap_or("file")
            .to_string(),
    };
    args.insert("download".into(), download_value(&download)?);
    Ok(())
}

fn download_value(download: &FileDownload) -> ApiResult<Value> {
    serde_json::to_value(download).map_err(|e| ApiError::Internal(format!("download args: {e}")))
}
