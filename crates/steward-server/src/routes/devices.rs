//! Devices (legacy API): `/enterprise/{enterprise_id}/device/…`, with status events, apps,
//! installs, and the per-device event feed.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::Value;
use steward_core::{FieldErrors, Invalid};
use steward_proto::Page;
use steward_proto::device::{
    AppInstall, AppInstallApplication, AppInstallVersion, Device, DeviceApp, DeviceEvent,
    DeviceStatus, DeviceUpdate,
};
use steward_proto::pyrepr::to_python_literal;
use steward_store::apps::{AppFilter, InstallFilter};
use steward_store::devices::DeviceFilter;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::ApiResult;
use crate::gateway::registry::CloseReason;
use crate::http::auth::Caller;
use crate::http::extract::{ApiJson, ApiPath, Params};
use crate::http::links::Links;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_devices))
        .routes(routes!(get_device, update_device, delete_device))
        .routes(routes!(device_status))
        .routes(routes!(device_apps))
        .routes(routes!(device_app))
        .routes(routes!(app_installs))
        .routes(routes!(event_feed))
}

#[derive(serde::Deserialize)]
struct DevicePath {
    enterprise_id: Uuid,
    device_id: Uuid,
}

#[derive(serde::Deserialize)]
struct DeviceAppPath {
    enterprise_id: Uuid,
    device_id: Uuid,
    app_id: Uuid,
}

/// Longest text filter.
const MAX_FILTER: usize = 255;

/// Stored JSON text as a value; an object when empty or unreadable.
pub(crate) fn json_or_empty(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::Object(Default::default()))
}

pub(crate) fn render(links: &Links, d: steward_store::devices::Device) -> Device {
    let eid = d.enterprise_id;
    let tags = d.tag_list();
    let displays = match serde_json::from_str::<Value>(&d.displays) {
        Ok(Value::Array(list)) => serde_json::json!({ "displays": list }),
        Ok(other @ Value::Object(_)) => other,
        _ => serde_json::json!({ "displays": [] }),
    };
    Device {
        id: d.id,
        url: links.device(eid, d.id),
        device_name: d.device_name,
        alias_name: d.alias_name,
        policy_name: None,
        status: d.status,
        state: d.status,
        current_command: None,
        suid: d.serial,
        fcm_id: None,
        enterprise: links.enterprise(eid),
        policy: None,
        user: None,
        groups: d
            .group_id
            .map(|g| links.group(eid, g))
            .into_iter()
            .collect(),
        tags,
        api_level: d.api_level,
        template_name: None,
        mqtt_id: None,
        software_info: json_or_empty(&d.software_info),
        hardware_info: json_or_empty(&d.hardware_info),
        displays,
        network_info: json_or_empty(&d.network_info),
        memory_info: json_or_empty(&d.memory_info),
        audio_constraints: Value::Object(Default::default()),
        provisioned_on: d.provisioned_on,
        created_on: d.created_on,
        updated_on: d.updated_on,
        emm_device: None,
        is_gms: d.is_gms,
        is_active: true,
        platform: d.platform,
        last_seen: d.last_seen,
        group: d.group_id,
        telemetry: d.telemetry.as_deref().map(json_or_empty),
    }
}

/// The device filters of Esper's list (shared by the v2 list).
pub(crate) fn device_filter(params: &Params) -> ApiResult<DeviceFilter> {
    let state = params
        .int("state")?
        .map(|s| {
            i32::try_from(s).map_err(|_| Invalid::field("state", "is not a device state code"))
        })
        .transpose()?;
    Ok(DeviceFilter {
        name: params.text("name", MAX_FILTER)?,
        group: params.uuid("group")?,
        imei: params.text("imei", MAX_FILTER)?,
        serial: params.text("serial", MAX_FILTER)?,
        state,
        brand: params.text("brand", MAX_FILTER)?,
        is_gms: params.bool("is_gms")?,
        search: params.text("search", MAX_FILTER)?,
        tags: params.text("tags", MAX_FILTER)?,
        ..DeviceFilter::default()
    })
}

/// Lists devices. `name` matches part of the name or alias with an exact match first;
/// `search` matches name, alias, serial, IMEI or a MAC address; `tags` part of a tag.
#[utoipa::path(
    get,
    path = "/enterprise/{enterprise_id}/device/",
    tag = "Devices",
    operation_id = "get_all_devices",
    params(
        ("enterprise_id" = Uuid, Path, description = "The enterprise's id"),
        ("name" = Option<String>, Query, description = "Part of the device's name or alias"),
        ("group" = Option<Uuid>, Query, description = "Devices in this group"),
        ("imei" = Option<String>, Query, description = "IMEI"),
        ("serial" = Option<String>, Query, description = "Serial number"),
        ("state" = Option<i32>, Query, description = "Device state code (1 active, 60 inactive)"),
        ("brand" = Option<String>, Query, description = "Brand (manufacturer)"),
        ("is_gms" = Option<bool>, Query, description = "Google services present"),
        ("search" = Option<String>, Query, description = "Part of name, alias, serial, IMEI or MAC"),
        ("tags" = Option<String>, Query, description = "Part of a tag"),
        ("limit" = Option<u64>, Query, description = "Page size (default 20, capped)"),
        ("offset" = Option<u64>, Query, description = "Index of the first result"),
    ),
    responses((status = 200, body = Page<Device>), (status = 400, body = steward_proto::ErrorBody), (status = 401, body = steward_proto::ErrorBody), (status = 403, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn list_devices(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(enterprise_id): ApiPath<Uuid>,
    params: Params,
) -> ApiResult<Json<Page<Device>>> {
    let eid = caller.enterprise(enterprise_id)?;
    let page = params.page(state.settings.max_page_size)?;
    let filter = device_filter(&params)?;
    let (count, devices) = state.store.devices(eid, &filter, page).await?;
    Ok(Json(links.page(
        page,
        count,
        devices.into_iter().map(|d| render(&links, d)).collect(),
    )))
}

#[utoipa::path(
    get,
    path = "/enterprise/{enterprise_id}/device/{device_id}/",
    tag = "Devices",
    operation_id = "get_device_by_id",
    params(("enterprise_id" = Uuid, Path), ("device_id" = Uuid, Path)),
    responses((status = 200, body = Device), (status = 404, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn get_device(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(path): ApiPath<DevicePath>,
) -> ApiResult<Json<Device>> {
    let eid = caller.enterprise(path.enterprise_id)?;
    Ok(Json(render(
        &links,
        state.store.device(eid, path.device_id).await?,
    )))
}

/// Changes the alias (`alias_name`, null clears it) and/or replaces the tags.
#[utoipa::path(
    patch,
    path = "/enterprise/{enterprise_id}/device/{device_id}/",
    tag = "Devices",
    operation_id = "partial_update_device",
    params(("enterprise_id" = Uuid, Path), ("device_id" = Uuid, Path)),
    request_body = DeviceUpdate,
    responses((status = 200, body = Device), (status = 400, body = steward_proto::ErrorBody), (status = 404, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn update_device(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(path): ApiPath<DevicePath>,
    ApiJson(body): ApiJson<DeviceUpdate>,
) -> ApiResult<Json<Device>> {
    let eid = caller.enterprise(path.enterprise_id)?;
    let mut errors = FieldErrors::new();
    if let Some(Some(alias)) = &body.alias_name {
        errors.optional_text("alias_name", Some(alias), 1, 255);
    }
    if let Some(tags) = &body.tags {
        if tags.len() > 50 {
            errors.add("tags", "at most 50 tags");
        }
        for (i, tag) in tags.iter().enumerate() {
            errors.optional_text(&format!("tags[{i}]"), Some(tag), 1, 255);
        }
    }
    errors.finish()?;
    let device = state
        .store
        .update_device(eid, path.device_id, body.alias_name, body.tags)
        .await?;
    Ok(Json(render(&links, device)))
}

/// Deletes a device: its credential stops working and its connection is closed.
#[utoipa::path(
    delete,
    path = "/enterprise/{enterprise_id}/device/{device_id}/",
    tag = "Devices",
    operation_id = "delete_device",
    params(("enterprise_id" = Uuid, Path), ("device_id" = Uuid, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn delete_device(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<DevicePath>,
) -> ApiResult<StatusCode> {
    let eid = caller.enterprise(path.enterprise_id)?;
    state.store.delete_device(eid, path.device_id).await?;
    state
        .registry
        .disconnect(path.device_id, CloseReason::Deleted);
    Ok(StatusCode::NO_CONTENT)
}

/// Status events (telemetry readings), newest first. `latest_event=1` gives only the newest;
/// `0` all of them, paged. `data` is a Python literal dict, as Esper's clients read it.
#[utoipa::path(
    get,
    path = "/enterprise/{enterprise_id}/device/{device_id}/status/",
    tag = "Devices",
    operation_id = "get_device_event",
    params(("enterprise_id" = Uuid, Path), ("device_id" = Uuid, Path),
        ("latest_event" = i32, Query, description = "1: only the newest event; 0: all"),
        ("limit" = Option<u64>, Query), ("offset" = Option<u64>, Query)),
    responses((status = 200, body = Page<DeviceStatus>), (status = 400, body = steward_proto::ErrorBody), (status = 404, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn device_status(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(path): ApiPath<DevicePath>,
    params: Params,
) -> ApiResult<Json<Page<DeviceStatus>>> {
    let eid = caller.enterprise(path.enterprise_id)?;
    let latest = params
        .int("latest_event")?
        .ok_or_else(|| Invalid::field("latest_event", "this query parameter is required"))?;
    let page = params.page(state.settings.max_page_size)?;
    let (count, events) = state
        .store
        .status_events(eid, path.device_id, latest > 0, page)
        .await?;
    let (next, previous) = if latest > 0 {
        (None, None)
    } else {
        links.page_links(page, count)
    };
    let device_url = links.device(eid, path.device_id);
    let enterprise_url = links.enterprise(eid);
    Ok(Json(Page {
        count,
        next,
        previous,
        results: events
            .into_iter()
            .map(|e| DeviceStatus {
                id: e.id,
                data: to_python_literal(&json_or_empty(&e.data)),
                created_on: e.created_on,
                device: device_url.clone(),
                enterprise: enterprise_url.clone(),
            })
            .collect(),
    }))
}

fn render_app(a: steward_store::apps::DeviceApp) -> DeviceApp {
    DeviceApp {
        id: a.id,
        permissions: Vec::new(),
        app_name: a.app_name,
        package_name: a.package_name,
        whitelisted: false,
        is_data_clearable: true,
        is_uninstallable: true,
        product_id: None,
        version_code: a.version_code,
        version_name: a.version_name,
        created_on: a.created_on,
        updated_on: a.updated_on,
        is_active: true,
        device: a.device_id,
    }
}

/// Apps installed on the device (Debian packages on Linux).
#[utoipa::path(
    get,
    path = "/enterprise/{enterprise_id}/device/{device_id}/app/",
    tag = "Devices",
    operation_id = "get_device_apps",
    params(("enterprise_id" = Uuid, Path), ("device_id" = Uuid, Path),
        ("package_name" = Option<String>, Query), ("search" = Option<String>, Query, description = "Part of the app name"),
        ("limit" = Option<u64>, Query), ("offset" = Option<u64>, Query)),
    responses((status = 200, body = Page<DeviceApp>), (status = 404, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn device_apps(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(path): ApiPath<DevicePath>,
    params: Params,
) -> ApiResult<Json<Page<DeviceApp>>> {
    let eid = caller.enterprise(path.enterprise_id)?;
    let page = params.page(state.settings.max_page_size)?;
    let filter = AppFilter {
        package_name: params.text("package_name", MAX_FILTER)?,
        search: params.text("search", MAX_FILTER)?,
    };
    let (count, apps) = state
        .store
        .device_apps(eid, path.device_id, &filter, page)
        .await?;
    Ok(Json(links.page(
        page,
        count,
        apps.into_iter().map(render_app).collect(),
    )))
}

#[utoipa::path(
    get,
    path = "/enterprise/{enterprise_id}/device/{device_id}/app/{app_id}/",
    tag = "Devices",
    operation_id = "get_device_app_by_id",
    params(("enterprise_id" = Uuid, Path), ("device_id" = Uuid, Path), ("app_id" = Uuid, Path)),
    responses((status = 200, body = DeviceApp), (status = 404, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn device_app(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<DeviceAppPath>,
) -> ApiResult<Json<DeviceApp>> {
    let eid = caller.enterprise(path.enterprise_id)?;
    let app = state
        .store
        .device_app(eid, path.device_id, path.app_id)
        .await?;
    Ok(Json(render_app(app)))
}

/// Installs and removals on the device, newest first.
#[utoipa::path(
    get,
    path = "/enterprise/{enterprise_id}/device/{device_id}/install/",
    tag = "Devices",
    operation_id = "get_app_installs",
    params(("enterprise_id" = Uuid, Path), ("device_id" = Uuid, Path),
        ("package_name" = Option<String>, Query), ("application_name" = Option<String>, Query),
        ("install_state" = Option<String>, Query), ("limit" = Option<u64>, Query), ("offset" = Option<u64>, Query)),
    responses((status = 200, body = Page<AppInstall>), (status = 404, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn app_installs(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(path): ApiPath<DevicePath>,
    params: Params,
) -> ApiResult<Json<Page<AppInstall>>> {
    const STATES: [&str; 7] = [
        "NOT_INSTALLED",
        "INSTALL_IN_PROGRESS",
        "UNINSTALL_IN_PROGRESS",
        "INSTALL_SUCCESS",
        "INSTALL_FAILED",
        "UNINSTALL_SUCCESS",
        "UNINSTALL_FAILED",
    ];
    let eid = caller.enterprise(path.enterprise_id)?;
    let page = params.page(state.settings.max_page_size)?;
    let install_state = params.text("install_state", MAX_FILTER)?;
    if let Some(s) = &install_state
        && !STATES.contains(&s.as_str())
    {
        return Err(Invalid::field(
            "install_state",
            format!("{s:?} is not one of {}", STATES.join(", ")),
        )
        .into());
    }
    let filter = InstallFilter {
        package_name: params.text("package_name", MAX_FILTER)?,
        application_name: params.text("application_name", MAX_FILTER)?,
        install_state,
    };
    let (count, installs) = state
        .store
        .app_installs(eid, path.device_id, &filter, page)
        .await?;
    let device_url = links.device(eid, path.device_id);
    let enterprise_url = links.enterprise(eid);
    Ok(Json(
        links.page(
            page,
            count,
            installs
                .into_iter()
                .map(|i| AppInstall {
                    id: i.id,
                    application: AppInstallApplication {
                        application_name: i.application_name,
                        package_name: i.package_name,
                        version: AppInstallVersion {
                            app_version_id: i.app_version_id,
                            version_code: i.version_code,
                            version_name: i.version_name,
                            build_number: None,
                            hash_string: None,
                        },
                        is_enabled: true,
                    },
                    install_state: i.install_state,
                    reason_details: i.reason_details,
                    created_on: i.created_on,
                    updated_on: i.updated_on,
                    is_active: true,
                    enterprise: enterprise_url.clone(),
                    device: device_url.clone(),
                })
                .collect(),
        ),
    ))
}

/// The device's event feed, newest first: enrolment, connections, presence changes,
/// inventory changes, app installs and removals.
#[utoipa::path(
    get,
    path = "/v1/enterprise/{enterprise_id}/device/{device_id}/report/eventfeed/",
    tag = "Devices",
    operation_id = "get_device_event_feed",
    params(("enterprise_id" = Uuid, Path), ("device_id" = Uuid, Path), ("limit" = Option<u64>, Query), ("offset" = Option<u64>, Query)),
    responses((status = 200, body = Page<DeviceEvent>), (status = 404, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn event_feed(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(path): ApiPath<DevicePath>,
    params: Params,
) -> ApiResult<Json<Page<DeviceEvent>>> {
    let eid = caller.enterprise(path.enterprise_id)?;
    let page = params.page(state.settings.max_page_size)?;
    let (count, events) = state.store.device_events(eid, path.device_id, page).await?;
    Ok(Json(
        links.page(
            page,
            count,
            events
                .into_iter()
                .map(|e| DeviceEvent {
                    id: e.id,
                    device: e.device_id,
                    event: e.kind,
                    data: json_or_empty(&e.data),
                    created_on: e.created_on,
                })
                .collect(),
        ),
    ))
}
