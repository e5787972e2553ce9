//! The v2 device API (`/v2/devices/`), heartbeats (`/device/v0/heartbeat/{id}/`,
//! `/v2/heartbeat/`). These answer in the v2 envelope `{code, message, content}`, errors too.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::Response;
use http_body_util::BodyExt;
use serde_json::json;
use steward_core::Invalid;
use steward_proto::device::{DeviceV2, Heartbeat, V2, V2Page};
use steward_store::devices::DeviceFilter;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::devices::{device_filter, json_or_empty};
use crate::error::ApiResult;
use crate::http::auth::Caller;
use crate::http::extract::{ApiPath, Params};
use crate::http::links::Links;
use crate::state::AppState;

/// The v2 default page size (Esper's).
const V2_DEFAULT_LIMIT: &str = "10";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_devices_v2))
        .routes(routes!(get_device_v2))
        .routes(routes!(device_heartbeat))
        .routes(routes!(list_heartbeats))
        .layer(axum::middleware::map_response(v2_errors))
}

/// Rewrites the legacy error envelope `{errors, message, status}` into the v2 one.
pub(crate) async fn v2_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let legacy: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let v2 = json!({
        "code": status.as_u16(),
        "message": legacy["message"].as_str().unwrap_or(status.canonical_reason().unwrap_or("error")),
        "content": {"errors": legacy["errors"].clone()},
    });
    let text = v2.to_string();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    parts.headers.insert(
        CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(text))
}

fn ok<T>(content: T) -> Json<V2<T>> {
    Json(V2 {
        code: 200,
        message: "success".to_string(),
        content,
    })
}

fn render(d: steward_store::devices::Device) -> DeviceV2 {
    let tags = d.tag_list();
    DeviceV2 {
        id: d.id,
        tenant_id: d.enterprise_id,
        name: d.device_name,
        alias: d.alias_name,
        serial: d.serial,
        imei: d.imei,
        state: d.status,
        platform: d.platform,
        brand: d.brand,
        model: d.model,
        os_version: d.os_version,
        agent_version: d.agent_version,
        battery_level: d.battery_level,
        is_gms: d.is_gms,
        tags,
        group_ids: d.group_id.into_iter().collect(),
        last_seen: d.last_seen,
        provisioned_on: d.provisioned_on,
        created_at: d.created_on,
        updated_at: d.updated_on,
        hardware: json_or_empty(&d.hardware_info),
        software: json_or_empty(&d.software_info),
        network: json_or_empty(&d.network_info),
        memory: json_or_empty(&d.memory_info),
    }
}

fn v2_page(params: &Params, max: u64) -> ApiResult<steward_core::pagination::PageRequest> {
    Ok(steward_core::pagination::PageRequest::parse(
        Some(params.get("limit").unwrap_or(V2_DEFAULT_LIMIT)),
        params.get("offset"),
        max,
    )?)
}

/// Devices of the key's enterprise, in the v2 envelope (default page size 10, at most 1000).
/// Takes the legacy list's filters, plus `platform` (LINUX, ANDROID, …).
#[utoipa::path(
    get,
    path = "/v2/devices/",
    tag = "Devices (v2)",
    operation_id = "list_devices_v2",
    params(("limit" = Option<u64>, Query), ("offset" = Option<u64>, Query), ("serial" = Option<String>, Query),
        ("state" = Option<i32>, Query), ("is_gms" = Option<bool>, Query), ("search" = Option<String>, Query),
        ("platform" = Option<String>, Query)),
    responses((status = 200, body = V2<V2Page<DeviceV2>>)),
    security(("bearer" = []))
)]
async fn list_devices_v2(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    params: Params,
) -> ApiResult<Json<V2<V2Page<DeviceV2>>>> {
    let eid = caller.key.enterprise_id;
    let page = v2_page(&params, state.settings.max_page_size.min(1000))?;
    let filter = DeviceFilter {
        platform: params.text("platform", 64)?,
        ..device_filter(&params)?
    };
    let (count, devices) = state.store.devices(eid, &filter, page).await?;
    let (next, prev) = links.page_links(page, count);
    Ok(ok(V2Page {
        count,
        next,
        prev,
        results: devices.into_iter().map(render).collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/v2/devices/{device_id}/",
    tag = "Devices (v2)",
    operation_id = "get_device_v2",
    params(("device_id" = Uuid, Path)),
    responses((status = 200, body = V2<DeviceV2>)),
    security(("bearer" = []))
)]
async fn get_device_v2(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(device_id): ApiPath<Uuid>,
) -> ApiResult<Json<V2<DeviceV2>>> {
    let device = state
        .store
        .device(caller.key.enterprise_id, device_id)
        .await?;
    Ok(ok(render(device)))
}

fn heartbeat(d: &steward_store::devices::Device) -> Heartbeat {
    Heartbeat {
        device_id: d.id,
        status: d.status,
        timestamp: d.last_seen,
    }
}

/// The device's last check-in: `status` 1 is online (connected), 60 offline.
#[utoipa::path(
    get,
    path = "/device/v0/heartbeat/{device_id}/",
    tag = "Devices (v2)",
    operation_id = "get_device_heartbeat",
    params(("device_id" = Uuid, Path)),
    responses((status = 200, body = V2<Heartbeat>)),
    security(("bearer" = []))
)]
async fn device_heartbeat(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(device_id): ApiPath<Uuid>,
) -> ApiResult<Json<V2<Heartbeat>>> {
    let device = state
        .store
        .device(caller.key.enterprise_id, device_id)
        .await?;
    Ok(ok(heartbeat(&device)))
}

/// Check-ins of devices last seen between `last_seen_gt` and `last_seen_lt` (both required).
#[utoipa::path(
    get,
    path = "/v2/heartbeat/",
    tag = "Devices (v2)",
    operation_id = "list_heartbeats",
    params(("last_seen_gt" = String, Query), ("last_seen_lt" = String, Query),
        ("platform" = Option<String>, Query), ("limit" = Option<u64>, Query), ("offset" = Option<u64>, Query)),
    responses((status = 200, body = V2<V2Page<Heartbeat>>)),
    security(("bearer" = []))
)]
async fn list_heartbeats(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    params: Params,
) -> ApiResult<Json<V2<V2Page<Heartbeat>>>> {
    let after = params
        .datetime("last_seen_gt")?
        .ok_or_else(|| Invalid::field("last_seen_gt", "this query parameter is required"))?;
    let before = params
        .datetime("last_seen_lt")?
        .ok_or_else(|| Invalid::field("last_seen_lt", "this query parameter is required"))?;
    let page = v2_page(&params, state.settings.max_page_size.min(1000))?;
    let filter = DeviceFilter {
        last_seen_after: Some(after),
        last_seen_before: Some(before),
        platform: params.text("platform", 64)?,
        ..DeviceFilter::default()
    };
    let (count, devices) = state
        .store
        .devices(caller.key.enterprise_id, &filter, page)
        .await?;
    let (next, prev) = links.page_links(page, count);
    Ok(ok(V2Page {
        count,
        next,
        prev,
        results: devices.iter().map(heartbeat).collect(),
    }))
}
