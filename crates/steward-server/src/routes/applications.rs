//! Applications and their versions: `/enterprise/{id}/application/…` and the same under `/v1/`.
//! An upload is streamed to a temporary file, inspected (APK, or .deb as a Steward extension),
//! copied to blob storage, and recorded; on any failure nothing is left behind.

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use sha2::{Digest, Sha256};
use steward_core::pagination::PageRequest;
use steward_packages::{InspectError, Limits, PackageKind, PackageMeta};
use steward_proto::Page;
use steward_proto::application::{
    AppPermission, AppVersion, AppVersionPatch, Application, ApplicationMinimal, ApplicationUpload,
    ApplicationV1, ApplicationVersion, InstallDevices, LatestVersionV1,
};
use steward_store::applications::{
    self as store, AppFilter, NewVersion, VersionFilter, VersionPatch,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::http::auth::Caller;
use crate::http::extract::{ApiJson, ApiPath, Params};
use crate::http::links::Links;
use crate::http::upload::{receive_file, safe_name};
use crate::routes::files::signed_url;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_applications))
        .routes(routes!(get_application, delete_application))
        .routes(routes!(list_versions))
        .routes(routes!(get_version, patch_version, delete_version))
        .routes(routes!(install_devices))
        .routes(routes!(list_applications_v1))
        .routes(routes!(get_application_v1, delete_application_v1))
        .routes(routes!(list_versions_v1))
        .routes(routes!(get_version_v1, patch_version_v1, delete_version_v1))
        .routes(routes!(install_devices_v1))
        .routes(routes!(list_applications_minimal))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(upload_application))
                .routes(routes!(upload_application_v1))
                // The upload route enforces its own (larger) limit while streaming.
                .layer(DefaultBodyLimit::disable()),
        )
}

#[derive(serde::Deserialize)]
struct AppPath {
    enterprise_id: Uuid,
    application_id: Uuid,
}

#[derive(serde::Deserialize)]
struct VersionPath {
    enterprise_id: Uuid,
    application_id: Uuid,
    version_id: Uuid,
}

/// A file name safe inside a URL path and a blob key, with the package's extension.
fn safe_file_name(name: &str, kind: PackageKind) -> String {
    let stem = safe_name(name);
    let extension = match kind {
        PackageKind::Apk => ".apk",
        PackageKind::Deb => ".deb",
    };
    if stem.is_empty() {
        format!("package{extension}")
    } else if stem.to_ascii_lowercase().ends_with(extension) {
        stem
    } else {
        format!("{stem}{extension}")
    }
}

/// A stable id for a permission of a version (permissions have no rows of their own).
fn permission_id(version: Uuid, permission: &str) -> Uuid {
    let digest = Sha256::new()
        .chain_update(version.as_bytes())
        .chain_update(permission.as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(digest.get(..16).unwrap_or(&[0u8; 16]));
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

fn short(text: Option<String>, max: usize) -> Option<String> {
    text.map(|t| t.chars().take(max).collect::<String>())
        .filter(|t| !t.is_empty())
}

fn version_code_of(v: &store::AppVersion) -> String {
    v.version_code
        .clone()
        .or_else(|| v.version_name.clone())
        .unwrap_or_else(|| v.version_key.clone())
        .chars()
        .take(50)
        .collect()
}

fn app_url(links: &Links, enterprise_id: Uuid, application_id: Uuid) -> String {
    format!(
        "{}application/{application_id}/",
        links.enterprise(enterprise_id)
    )
}

async fn render_versions_brief(
    state: &AppState,
    links: &Links,
    versions: &[store::AppVersion],
) -> ApiResult<Vec<ApplicationVersion>> {
    let mut out = Vec::with_capacity(versions.len());
    for v in versions {
        let icon_url = match &v.icon_key {
            Some(k) => Some(signed_url(state, links, k).await?),
            None => None,
        };
        out.push(ApplicationVersion {
            id: v.id,
            version_code: Some(version_code_of(v)),
            version_name: short(v.version_name.clone(), 128),
            build_number: short(v.version_name.clone(), 100),
            hash_string: v.hash_string.clone(),
            min_sdk_version: v.min_sdk_version.map(|n| n.to_string()),
            target_sdk_version: v.target_sdk_version.map(|n| n.to_string()),
            download_url: signed_url(state, links, &v.blob_key).await?,
            icon_url,
            release_name: v.release_name.clone(),
        });
    }
    Ok(out)
}

async fn render_application(
    state: &AppState,
    links: &Links,
    app: store::Application,
    versions: &[store::AppVersion],
) -> ApiResult<Application> {
    Ok(Application {
        id: app.id,
        versions: render_versions_brief(state, links, versions).await?,
        application_name: app.application_name.chars().take(255).collect(),
        package_name: app.package_name,
        developer: None,
        category: None,
        content_rating: None,
        compatibility: None,
        created_on: app.created_on,
        updated_on: app.updated_on,
        is_active: app.is_active,
        is_hidden: app.is_hidden,
        enterprise: links.enterprise(app.enterprise_id),
        kind: app.kind,
    })
}

async fn render_version(
    state: &AppState,
    links: &Links,
    app: &store::Application,
    v: store::AppVersion,
    legacy_format: bool,
) -> ApiResult<AppVersion> {
    let installed_count = state
        .store
        .installed_count(app.enterprise_id, app, &v)
        .await?;
    let version_url = format!(
        "{}version/{}/",
        app_url(links, app.enterprise_id, app.id),
        v.id
    );
    let permissions = v
        .permission_names()
        .into_iter()
        .map(|p| AppPermission {
            id: permission_id(v.id, &p),
            permission: p.chars().take(255).collect(),
            grant_state: None,
            created_on: v.created_on,
            updated_on: v.updated_on,
            is_active: true,
            enterprise: links.enterprise(v.enterprise_id),
            app_version: version_url.clone(),
        })
        .collect();
    let app_icon = match &v.icon_key {
        Some(k) => Some(signed_url(state, links, k).await?),
        None => None,
    };
    Ok(AppVersion {
        id: v.id,
        installed_count,
        permissions,
        app_file: signed_url(state, links, &v.blob_key).await?,
        app_icon,
        version_code: version_code_of(&v),
        version_name: short(v.version_name.clone(), 128),
        build_number: if legacy_format {
            short(v.version_name.clone(), 100)
        } else {
            None
        },
        size_in_mb: v.size_bytes as f64 / (1024.0 * 1024.0),
        hash_string: v.hash_string,
        release_name: v.release_name,
        release_comments: v.release_comments,
        release_track: v.release_track,
        created_on: v.created_on,
        updated_on: v.updated_on,
        min_sdk_version: v.min_sdk_version.map(|n| n.to_string()),
        target_sdk_version: v.target_sdk_version.map(|n| n.to_string()),
        is_enabled: v.is_enabled,
        is_default: v.is_default,
        approval_status: v.approval_status,
        enterprise: links.enterprise(v.enterprise_id),
        application: app_url(links, app.enterprise_id, app.id),
        architecture: v.architecture,
    })
}

fn app_filter(params: &Params) -> ApiResult<AppFilter> {
    Ok(AppFilter {
        application_name: params.text("application_name", 255)?,
        package_name: params.text("package_name", 255)?,
        package_name_exact: params.text("package_name_exact", 255)?,
        is_hidden: params.bool("is_hidden")?,
        is_active: params.bool("is_active")?,
        supported_sdk: params
            .int("supported_sdk")?
            .map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
        has_uploaded_version: params.bool("has_uploaded_version")?,
        created_on_gt: params.datetime("created_on_gt")?,
        created_on_lt: params.datetime("created_on_lt")?,
        updated_on_gt: params.datetime("updated_on_gt")?,
        updated_on_lt: params.datetime("updated_on_lt")?,
    })
}

fn version_filter(params: &Params) -> ApiResult<VersionFilter> {
    let by_installed_count = match params.get("ordering") {
        None => None,
        Some("installed_count") => Some(false),
        Some("-installed_count") => Some(true),
        Some(other) => {
            return Err(steward_core::Invalid::field(
                "ordering",
                format!("{other:?} is not installed_count or -installed_count"),
            )
            .into());
        }
    };
    let approval_status = params.text("approval_status", 20)?;
    if let Some(s) = &approval_status {
        check_approval(s)?;
    }
    Ok(VersionFilter {
        version_code: params.text("version_code", 50)?,
        build_number: params.text("build_number", 100)?,
        is_enabled: params.bool("is_enabled")?,
        is_default: params.bool("is_default")?,
        approval_status,
        created_on_gt: params.datetime("created_on_gt")?,
        created_on_lt: params.datetime("created_on_lt")?,
        updated_on_gt: params.datetime("updated_on_gt")?,
        updated_on_lt: params.datetime("updated_on_lt")?,
        by_installed_count,
    })
}

const APPROVAL: [&str; 4] = ["AVAILABLE", "ACCEPTED", "APPROVED", "REJECTED"];
const TRACKS: [&str; 3] = ["Alpha", "Beta", "Production"];

fn check_approval(s: &str) -> ApiResult<()> {
    if APPROVAL.contains(&s) {
        Ok(())
    } else {
        Err(steward_core::Invalid::field(
            "approval_status",
            format!("{s:?} is not one of {}", APPROVAL.join(", ")),
        )
        .into())
    }
}

/// One page of an enterprise's applications, filtered as the query says.
async fn application_page(
    state: &AppState,
    eid: Uuid,
    params: &Params,
) -> ApiResult<(PageRequest, u64, Vec<store::Application>)> {
    let page = params.page(state.settings.max_page_size)?;
    let (count, apps) = state
        .store
        .applications(eid, &app_filter(params)?, page)
        .await?;
    Ok((page, count, apps))
}

/// Lists applications with their versions.
#[utoipa::path(
    get,
    path = "/enterprise/{enterprise_id}/application/",
    tag = "Applications",
    operation_id = "get_all_applications",
    params(
        ("enterprise_id" = Uuid, Path),
        ("application_name" = Option<String>, Query, description = "Part of the name"),
        ("package_name" = Option<String>, Query, description = "Part of the package name"),
        ("package_name_exact" = Option<String>, Query),
        ("is_hidden" = Option<bool>, Query),
        ("is_active" = Option<bool>, Query),
        ("has_uploaded_version" = Option<bool>, Query),
        ("supported_sdk" = Option<i64>, Query, description = "Runs on this SDK level"),
        ("created_on_gt" = Option<String>, Query), ("created_on_lt" = Option<String>, Query),
        ("updated_on_gt" = Option<String>, Query), ("updated_on_lt" = Option<String>, Query),
        ("limit" = Option<u64>, Query), ("offset" = Option<u64>, Query),
    ),
    responses((status = 200, body = Page<Application>), (status = 400, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn list_applications(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(enterprise_id): ApiPath<Uuid>,
    params: Params,
) -> ApiResult<Json<Page<Application>>> {
    let eid = caller.enterprise(enterprise_id)?;
    let (page, count, apps) = application_page(&state, eid, &params).await?;
    let ids: Vec<Uuid> = apps.iter().map(|a| a.id).collect();
    let versions = state.store.versions_of(eid, &ids).await?;
    let mut results = Vec::with_capacity(apps.len());
    for app in apps {
        let mine: Vec<store::AppVersion> = versions
            .iter()
            .filter(|v| v.application_id == app.id)
            .cloned()
            .collect();
        results.push(render_application(&state, &links, app, &mine).await?);
    }
    Ok(Json(links.page(page, count, results)))
}

fn inspect_error(e: InspectError) -> ApiError {
    match e {
        InspectError::Io(io) => ApiError::Internal(format!("reading the upload: {io}")),
        other => steward_core::Invalid::field("app_file", other.to_string()).into(),
    }
}

/// Uploads an APK (or, as a Steward extension, a .deb) as the multipart field `app_file`.
#[utoipa::path(
    post,
    path = "/enterprise/{enterprise_id}/application/upload/",
    tag = "Applications",
    operation_id = "upload",
    params(("enterprise_id" = Uuid, Path)),
    request_body(content_type = "multipart/form-data", description = "app_file: the package"),
    responses(
        (status = 201, body = ApplicationUpload),
        (status = 400, body = steward_proto::ErrorBody, description = "Not a valid package, or the version exists"),
        (status = 413, body = steward_proto::ErrorBody),
        (status = 415, body = steward_proto::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn upload_application(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(enterprise_id): ApiPath<Uuid>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<ApplicationUpload>)> {
    let eid = caller.enterprise(enterprise_id)?;
    let files = &state.settings.files;
    let received = receive_file(
        multipart,
        "app_file",
        files.max_app_bytes,
        files.upload_dir.as_deref(),
    )
    .await?;
    let limits = Limits {
        max_file_bytes: files.max_app_bytes,
        ..Limits::default()
    };
    let path = received.path.to_path_buf();
    let meta: PackageMeta = state
        .inspections
        .run(move || steward_packages::inspect(&path, &limits))
        .await?
        .map_err(inspect_error)?;
    let folder = format!("apps/{eid}/{}", Uuid::now_v7());
    let file_name = safe_file_name(&received.file_name, meta.kind);
    let blob_key = format!("{folder}/{file_name}");
    let icon_key = meta.icon_png.as_ref().map(|_| format!("{folder}/icon.png"));
    let (kind, version_key, version_code) = match meta.kind {
        PackageKind::Apk => {
            let code = meta.version_code.unwrap_or(0).to_string();
            ("apk", code.clone(), Some(code))
        }
        PackageKind::Deb => {
            let version = meta.version_name.clone().unwrap_or_default();
            let arch = meta.architecture.clone().unwrap_or_else(|| "all".into());
            ("deb", format!("{version} ({arch})"), None)
        }
    };
    let new = NewVersion {
        package_name: meta.package_name.clone(),
        application_name: meta
            .label
            .clone()
            .filter(|l| !l.trim().is_empty())
            .unwrap_or_else(|| meta.package_name.clone()),
        kind: kind.into(),
        version_key,
        version_code,
        version_name: meta.version_name.clone(),
        hash_string: received.sha256.clone(),
        size_bytes: i64::try_from(received.size).unwrap_or(i64::MAX),
        min_sdk_version: meta.min_sdk.and_then(|n| i32::try_from(n).ok()),
        target_sdk_version: meta.target_sdk.and_then(|n| i32::try_from(n).ok()),
        permissions: meta.permissions.clone(),
        label: meta.label.clone(),
        architecture: meta.architecture.clone(),
        file_name,
        blob_key: blob_key.clone(),
        icon_key: icon_key.clone(),
    };
    let stored: Vec<String> = std::iter::once(blob_key.clone())
        .chain(icon_key.clone())
        .collect();
    let saved = async {
        state
            .blobs
            .put_file(&blob_key, &received.path)
            .await
            .map_err(|e| ApiError::Internal(format!("blob storage: {e:#}")))?;
        if let (Some(key), Some(icon)) = (&icon_key, meta.icon_png.clone()) {
            state
                .blobs
                .put_bytes(key, icon)
                .await
                .map_err(|e| ApiError::Internal(format!("blob storage: {e:#}")))?;
        }
        Ok::<_, ApiError>(state.store.create_app_version(eid, &new).await?)
    }
    .await;
    let (app, _) = match saved {
        Ok(done) => done,
        Err(e) => {
            state.blobs.delete(&stored).await;
            return Err(e);
        }
    };
    let versions = state.store.versions_of(eid, &[app.id]).await?;
    let application = render_application(&state, &links, app, &versions).await?;
    Ok((StatusCode::CREATED, Json(ApplicationUpload { application })))
}

/// The same upload under `/v1/` (Esper's spec branch `fix-application-content`).
#[utoipa::path(
    post,
    path = "/v1/enterprise/{enterprise_id}/application/upload/",
    tag = "Applications",
    operation_id = "upload_v1",
    params(("enterprise_id" = Uuid, Path)),
    request_body(content_type = "multipart/form-data", description = "app_file: the package"),
    responses(
        (status = 201, body = ApplicationUpload),
        (status = 400, body = steward_proto::ErrorBody, description = "Not a valid package, or the version exists"),
        (status = 413, body = steward_proto::ErrorBody),
        (status = 415, body = steward_proto::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn upload_application_v1(
    state: State<AppState>,
    caller: Caller,
    links: Links,
    enterprise_id: ApiPath<Uuid>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<ApplicationUpload>)> {
    upload_application(state, caller, links, enterprise_id, multipart).await
}

async fn one_application(
    state: &AppState,
    links: &Links,
    eid: Uuid,
    application_id: Uuid,
) -> ApiResult<Application> {
    let app = state.store.application(eid, application_id).await?;
    let versions = state.store.versions_of(eid, &[app.id]).await?;
    render_application(state, links, app, &versions).await
}

/// An application with its versions.
#[utoipa::path(
    get,
    path = "/enterprise/{enterprise_id}/application/{application_id}/",
    tag = "Applications",
    operation_id = "get_application",
    params(("enterprise_id" = Uuid, Path), ("application_id" = Uuid, Path)),
    responses((status = 200, body = Application), (status = 404, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn get_application(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(p): ApiPath<AppPath>,
) -> ApiResult<Json<Application>> {
    let eid = caller.enterprise(p.enterprise_id)?;
    Ok(Json(
        one_application(&state, &links, eid, p.application_id).await?,
    ))
}

async fn remove_application(state: &AppState, eid: Uuid, application_id: Uuid) -> ApiResult<()> {
    let keys = state.store.delete_application(eid, application_id).await?;
    state.blobs.delete(&keys).await;
    Ok(())
}

/// Deletes an application, its versions and their files.
#[utoipa::path(
    delete,
    path = "/enterprise/{enterprise_id}/application/{application_id}/",
    tag = "Applications",
    operation_id = "delete_application",
    params(("enterprise_id" = Uuid, Path), ("application_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn delete_application(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(p): ApiPath<AppPath>,
) -> ApiResult<StatusCode> {
    let eid = caller.enterprise(p.enterprise_id)?;
    remove_application(&state, eid, p.application_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn version_page(
    state: &AppState,
    links: &Links,
    caller: &Caller,
    p: &AppPath,
    params: &Params,
) -> ApiResult<Page<AppVersion>> {
    let eid = caller.enterprise(p.enterprise_id)?;
    let page = params.page(state.settings.max_page_size)?;
    let legacy = params.bool("legacy_format")?.unwrap_or(true);
    let filter = version_filter(params)?;
    let app = state.store.application(eid, p.application_id).await?;
    let (count, versions) = state.store.app_versions(eid, app.id, &filter, page).await?;
    let mut results = Vec::with_capacity(versions.len());
    for v in versions {
        results.push(render_version(state, links, &app, v, legacy).await?);
    }
    Ok(links.page(page, count, results))
}

/// Lists an application's versions. `legacy_format=false` leaves out `build_number`.
#[utoipa::path(
    get,
    path = "/enterprise/{enterprise_id}/application/{application_id}/version/",
    tag = "Applications",
    operation_id = "get_app_versions",
    params(
        ("enterprise_id" = Uuid, Path), ("application_id" = Uuid, Path),
        ("version_code" = Option<String>, Query), ("build_number" = Option<String>, Query),
        ("legacy_format" = Option<bool>, Query), ("is_enabled" = Option<bool>, Query),
        ("is_default" = Option<bool>, Query), ("approval_status" = Option<String>, Query),
        ("ordering" = Option<String>, Query, description = "installed_count or -installed_count"),
        ("limit" = Option<u64>, Query), ("offset" = Option<u64>, Query),
    ),
    responses((status = 200, body = Page<AppVersion>), (status = 404, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn list_versions(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(p): ApiPath<AppPath>,
    params: Params,
) -> ApiResult<Json<Page<AppVersion>>> {
    Ok(Json(
        version_page(&state, &links, &caller, &p, &params).await?,
    ))
}

async fn one_version(
    state: &AppState,
    links: &Links,
    caller: &Caller,
    p: &VersionPath,
    legacy: bool,
) -> ApiResult<AppVersion> {
    let eid = caller.enterprise(p.enterprise_id)?;
    let app = state.store.application(eid, p.application_id).await?;
    let v = state
        .store
        .app_version(eid, p.application_id, p.version_id)
        .await?;
    render_version(state, links, &app, v, legacy).await
}

/// One version; `app_file` is a signed download URL.
#[utoipa::path(
    get,
    path = "/enterprise/{enterprise_id}/application/{application_id}/version/{version_id}/",
    tag = "Applications",
    operation_id = "get_app_version",
    params(("enterprise_id" = Uuid, Path), ("application_id" = Uuid, Path), ("version_id" = Uuid, Path),
           ("legacy_format" = Option<bool>, Query)),
    responses((status = 200, body = AppVersion), (status = 404, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn get_version(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(p): ApiPath<VersionPath>,
    params: Params,
) -> ApiResult<Json<AppVersion>> {
    let legacy = params.bool("legacy_format")?.unwrap_or(true);
    Ok(Json(
        one_version(&state, &links, &caller, &p, legacy).await?,
    ))
}

/// Why a PATCH may not set a field read from the package to `sent`, or `None` when it is
/// absent or the value the field already has.
fn fixed_field_problem(sent: Option<&serde_json::Value>, current: Option<&str>) -> Option<String> {
    let sent = sent?;
    let text = match sent {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        other => return Some(format!("{other} is not a string or a number")),
    };
    if Some(text.as_str()) == current {
        return None;
    }
    Some(format!(
        "is read from the uploaded package ({}) and cannot be changed; upload another version instead",
        current.unwrap_or("none")
    ))
}

async fn change_version(
    state: &AppState,
    links: &Links,
    caller: &Caller,
    p: &VersionPath,
    body: AppVersionPatch,
) -> ApiResult<AppVersion> {
    let eid = caller.enterprise(p.enterprise_id)?;
    let current = state
        .store
        .app_version(eid, p.application_id, p.version_id)
        .await?;
    let mut errors = steward_core::FieldErrors::default();
    for (field, sent, now) in [
        (
            "version_code",
            &body.version_code,
            Some(version_code_of(&current)),
        ),
        (
            "build_number",
            &body.build_number,
            short(current.version_name.clone(), 100),
        ),
        (
            "min_sdk_version",
            &body.min_sdk_version,
            current.min_sdk_version.map(|n| n.to_string()),
        ),
        (
            "target_sdk_version",
            &body.target_sdk_version,
            current.target_sdk_version.map(|n| n.to_string()),
        ),
    ] {
        if let Some(problem) = fixed_field_problem(sent.as_ref(), now.as_deref()) {
            errors.add(field, problem);
        }
    }
    errors.optional_text("release_name", body.release_name.as_deref(), 1, 255);
    errors.optional_text(
        "release_comments",
        body.release_comments.as_deref(),
        1,
        10_000,
    );
    if let Some(t) = &body.release_track
        && !TRACKS.contains(&t.as_str())
    {
        errors.add(
            "release_track",
            format!("{t:?} is not one of {}", TRACKS.join(", ")),
        );
    }
    if let Some(s) = &body.approval_status
        && !APPROVAL.contains(&s.as_str())
    {
        errors.add(
            "approval_status",
            format!("{s:?} is not one of {}", APPROVAL.join(", ")),
        );
    }
    errors.finish()?;
    let patch = VersionPatch {
        release_name: body.release_name,
        release_comments: body.release_comments,
        release_track: body.release_track,
        approval_status: body.approval_status,
        is_enabled: body.is_enabled,
        is_default: body.is_default,
    };
    state
        .store
        .update_app_version(eid, p.application_id, p.version_id, &patch)
        .await?;
    one_version(state, links, caller, p, true).await
}

/// Changes a version's release notes, track, approval, enabled and default flags.
#[utoipa::path(
    patch,
    path = "/enterprise/{enterprise_id}/application/{application_id}/version/{version_id}/",
    tag = "Applications",
    operation_id = "patch_app_version",
    params(("enterprise_id" = Uuid, Path), ("application_id" = Uuid, Path), ("version_id" = Uuid, Path)),
    request_body = AppVersionPatch,
    responses((status = 200, body = AppVersion), (status = 400, body = steward_proto::ErrorBody), (status = 404, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn patch_version(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(p): ApiPath<VersionPath>,
    ApiJson(body): ApiJson<AppVersionPatch>,
) -> ApiResult<Json<AppVersion>> {
    Ok(Json(
        change_version(&state, &links, &caller, &p, body).await?,
    ))
}

async fn remove_version(state: &AppState, caller: &Caller, p: &VersionPath) -> ApiResult<()> {
    let eid = caller.enterprise(p.enterprise_id)?;
    let keys = state
        .store
        .delete_app_version(eid, p.application_id, p.version_id)
        .await?;
    state.blobs.delete(&keys).await;
    Ok(())
}

/// Deletes a version and its file.
#[utoipa::path(
    delete,
    path = "/enterprise/{enterprise_id}/application/{application_id}/version/{version_id}/",
    tag = "Applications",
    operation_id = "delete_app_version",
    params(("enterprise_id" = Uuid, Path), ("application_id" = Uuid, Path), ("version_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn delete_version(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(p): ApiPath<VersionPath>,
) -> ApiResult<StatusCode> {
    remove_version(&state, &caller, &p).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn install_device_page(
    state: &AppState,
    links: &Links,
    caller: &Caller,
    p: &VersionPath,
    params: &Params,
) -> ApiResult<Page<InstallDevices>> {
    let eid = caller.enterprise(p.enterprise_id)?;
    let page = params.page(state.settings.max_page_size)?;
    let search = params.text("search", 255)?;
    let (count, rows) = state
        .store
        .install_devices(eid, p.application_id, p.version_id, search.as_deref(), page)
        .await?;
    let results = rows
        .into_iter()
        .map(|d| InstallDevices {
            id: d.id,
            device_name: d.device_name,
            alias_name: d.alias_name,
            // Esper's model wants 1 to 255 characters, or null.
            group_name: short(d.group_name, 255),
        })
        .collect();
    Ok(links.page(page, count, results))
}

/// The devices that have this version installed, with their group's name.
#[utoipa::path(
    get,
    path = "/enterprise/{enterprise_id}/application/{application_id}/version/{version_id}/installdevices/",
    tag = "Applications",
    operation_id = "get_install_devices",
    params(("enterprise_id" = Uuid, Path), ("application_id" = Uuid, Path), ("version_id" = Uuid, Path),
           ("search" = Option<String>, Query, description = "Part of the device's name, alias or group name"),
           ("limit" = Option<u64>, Query), ("offset" = Option<u64>, Query)),
    responses((status = 200, body = Page<InstallDevices>), (status = 404, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn install_devices(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(p): ApiPath<VersionPath>,
    params: Params,
) -> ApiResult<Json<Page<InstallDevices>>> {
    Ok(Json(
        install_device_page(&state, &links, &caller, &p, &params).await?,
    ))
}

// ---- /v1/ ----

fn render_v1(app: store::Application, newest: Option<&store::AppVersion>) -> ApplicationV1 {
    ApplicationV1 {
        id: app.id,
        latest_version: newest.map(|v| LatestVersionV1 {
            id: v.id,
            version_code: version_code_of(v),
            build_number: short(v.version_name.clone(), 100),
            hash_string: v.hash_string.clone(),
            min_sdk_version: v.min_sdk_version.map(|n| n.to_string()),
            target_sdk_version: v.target_sdk_version.map(|n| n.to_string()),
            icon_url: None,
            release_name: v.release_name.clone(),
        }),
        application_name: app.application_name,
        package_name: app.package_name,
        is_hidden: app.is_hidden,
        enterprise: app.enterprise_id,
    }
}

/// Lists applications with their newest version (v1).
#[utoipa::path(
    get,
    path = "/v1/enterprise/{enterprise_id}/application/",
    tag = "Applications",
    operation_id = "get_all_applications_v1",
    params(("enterprise_id" = Uuid, Path), ("application_name" = Option<String>, Query),
           ("package_name" = Option<String>, Query), ("is_hidden" = Option<bool>, Query),
           ("limit" = Option<u64>, Query), ("offset" = Option<u64>, Query)),
    responses((status = 200, body = Page<ApplicationV1>)),
    security(("bearer" = []))
)]
async fn list_applications_v1(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(enterprise_id): ApiPath<Uuid>,
    params: Params,
) -> ApiResult<Json<Page<ApplicationV1>>> {
    let eid = caller.enterprise(enterprise_id)?;
    let (page, count, apps) = application_page(&state, eid, &params).await?;
    let ids: Vec<Uuid> = apps.iter().map(|a| a.id).collect();
    let versions = state.store.versions_of(eid, &ids).await?;
    let results = apps
        .into_iter()
        .map(|app| {
            let newest = versions.iter().find(|v| v.application_id == app.id);
            render_v1(app, newest)
        })
        .collect();
    Ok(Json(links.page(page, count, results)))
}

/// Lists applications without their versions (v1), with the filters of the application list.
#[utoipa::path(
    get,
    path = "/v1/enterprise/{enterprise_id}/applications-minimal/",
    tag = "Applications",
    operation_id = "get_applications_minimal",
    params(("enterprise_id" = Uuid, Path), ("application_name" = Option<String>, Query),
           ("package_name" = Option<String>, Query), ("is_hidden" = Option<bool>, Query),
           ("limit" = Option<u64>, Query), ("offset" = Option<u64>, Query)),
    responses((status = 200, body = Page<ApplicationMinimal>), (status = 400, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn list_applications_minimal(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(enterprise_id): ApiPath<Uuid>,
    params: Params,
) -> ApiResult<Json<Page<ApplicationMinimal>>> {
    let eid = caller.enterprise(enterprise_id)?;
    let (page, count, apps) = application_page(&state, eid, &params).await?;
    let results = apps
        .into_iter()
        .map(|app| ApplicationMinimal {
            id: app.id,
            application_name: app.application_name,
            package_name: app.package_name,
            is_hidden: app.is_hidden,
        })
        .collect();
    Ok(Json(links.page(page, count, results)))
}

/// An application (v1).
#[utoipa::path(
    get,
    path = "/v1/enterprise/{enterprise_id}/application/{application_id}/",
    tag = "Applications",
    operation_id = "get_application_v1",
    params(("enterprise_id" = Uuid, Path), ("application_id" = Uuid, Path)),
    responses((status = 200, body = ApplicationV1), (status = 404, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn get_application_v1(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(p): ApiPath<AppPath>,
) -> ApiResult<Json<ApplicationV1>> {
    let eid = caller.enterprise(p.enterprise_id)?;
    let app = state.store.application(eid, p.application_id).await?;
    let versions = state.store.versions_of(eid, &[app.id]).await?;
    Ok(Json(render_v1(app, versions.first())))
}

/// Deletes an application (v1).
#[utoipa::path(
    delete,
    path = "/v1/enterprise/{enterprise_id}/application/{application_id}/",
    tag = "Applications",
    operation_id = "delete_application_v1",
    params(("enterprise_id" = Uuid, Path), ("application_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn delete_application_v1(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(p): ApiPath<AppPath>,
) -> ApiResult<StatusCode> {
    let eid = caller.enterprise(p.enterprise_id)?;
    remove_application(&state, eid, p.application_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists an application's versions (v1).
#[utoipa::path(
    get,
    path = "/v1/enterprise/{enterprise_id}/application/{application_id}/version/",
    tag = "Applications",
    operation_id = "get_app_versions_v1",
    params(("enterprise_id" = Uuid, Path), ("application_id" = Uuid, Path),
           ("limit" = Option<u64>, Query), ("offset" = Option<u64>, Query)),
    responses((status = 200, body = Page<AppVersion>), (status = 404, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn list_versions_v1(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(p): ApiPath<AppPath>,
    params: Params,
) -> ApiResult<Json<Page<AppVersion>>> {
    Ok(Json(
        version_page(&state, &links, &caller, &p, &params).await?,
    ))
}

/// One version (v1).
#[utoipa::path(
    get,
    path = "/v1/enterprise/{enterprise_id}/application/{application_id}/version/{version_id}/",
    tag = "Applications",
    operation_id = "get_app_version_v1",
    params(("enterprise_id" = Uuid, Path), ("application_id" = Uuid, Path), ("version_id" = Uuid, Path)),
    responses((status = 200, body = AppVersion), (status = 404, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn get_version_v1(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(p): ApiPath<VersionPath>,
) -> ApiResult<Json<AppVersion>> {
    Ok(Json(one_version(&state, &links, &caller, &p, true).await?))
}

/// Changes a version (v1).
#[utoipa::path(
    patch,
    path = "/v1/enterprise/{enterprise_id}/application/{application_id}/version/{version_id}/",
    tag = "Applications",
    operation_id = "patch_app_version_v1",
    params(("enterprise_id" = Uuid, Path), ("application_id" = Uuid, Path), ("version_id" = Uuid, Path)),
    request_body = AppVersionPatch,
    responses((status = 200, body = AppVersion), (status = 400, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn patch_version_v1(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(p): ApiPath<VersionPath>,
    ApiJson(body): ApiJson<AppVersionPatch>,
) -> ApiResult<Json<AppVersion>> {
    Ok(Json(
        change_version(&state, &links, &caller, &p, body).await?,
    ))
}

/// Deletes a version (v1).
#[utoipa::path(
    delete,
    path = "/v1/enterprise/{enterprise_id}/application/{application_id}/version/{version_id}/",
    tag = "Applications",
    operation_id = "delete_app_version_v1",
    params(("enterprise_id" = Uuid, Path), ("application_id" = Uuid, Path), ("version_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn delete_version_v1(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(p): ApiPath<VersionPath>,
) -> ApiResult<StatusCode> {
    remove_version(&state, &caller, &p).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The devices that have this version installed (v1).
#[utoipa::path(
    get,
    path = "/v1/enterprise/{enterprise_id}/application/{application_id}/version/{version_id}/installdevices/",
    tag = "Applications",
    operation_id = "get_install_devices_v1",
    params(("enterprise_id" = Uuid, Path), ("application_id" = Uuid, Path), ("version_id" = Uuid, Path),
           ("search" = Option<String>, Query, description = "Part of the device's name, alias or group name"),
           ("limit" = Option<u64>, Query), ("offset" = Option<u64>, Query)),
    responses((status = 200, body = Page<InstallDevices>)),
    security(("bearer" = []))
)]
async fn install_devices_v1(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(p): ApiPath<VersionPath>,
    params: Params,
) -> ApiResult<Json<Page<InstallDevices>>> {
    Ok(Json(
        install_device_page(&state, &links, &caller, &p, &params).await?,
    ))
}
