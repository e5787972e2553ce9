//! Legacy device and group commands: `/enterprise/{eid}/device/{did}/command/…` and
//! `/enterprise/{eid}/devicegroup/{gid}/command/…`. They are Commands V2 requests underneath
//! (queued for offline devices), shown in the legacy shapes espercli parses: legacy states,
//! and a group's `details` as a Python literal of device names per outcome.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use steward_core::command_state::CommandState;
use steward_proto::command::{DeviceCommand, GroupCommand, LegacyCommandBody};
use steward_proto::pyrepr::to_python_literal;
use steward_store::StoreError;
use steward_store::commands::{
    CommandRequest, CommandStatus, CommandType, DeviceType, NewCommand, Origin, ScheduleKind,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::commands::{args_object, issue};
use crate::error::ApiResult;
use crate::http::auth::Caller;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::links::Links;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(run_command))
        .routes(routes!(get_command))
        .routes(routes!(run_group_command))
        .routes(routes!(get_group_command))
}

#[derive(serde::Deserialize)]
struct DevicePath {
    enterprise_id: Uuid,
    device_id: Uuid,
}

#[derive(serde::Deserialize)]
struct DeviceCommandPath {
    enterprise_id: Uuid,
    device_id: Uuid,
    command_id: Uuid,
}

#[derive(serde::Deserialize)]
struct GroupPath {
    enterprise_id: Uuid,
    group_id: Uuid,
}

#[derive(serde::Deserialize)]
struct GroupCommandPath {
    enterprise_id: Uuid,
    group_id: Uuid,
    command_id: Uuid,
}

fn legacy_command(
    body: LegacyCommandBody,
    origin: Origin,
    target: Uuid,
) -> Result<NewCommand, steward_core::Invalid> {
    let command = body
        .command
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| steward_core::Invalid::field("command", "this field is required"))?;
    let (command_type, devices, groups) = match origin {
        Origin::LegacyGroup => (CommandType::Group, Vec::new(), vec![target]),
        _ => (CommandType::Device, vec![target], Vec::new()),
    };
    Ok(NewCommand {
        origin,
        command_type,
        // The legacy endpoints always waited for offline devices.
        device_type: DeviceType::All,
        command,
        command_args: args_object(body.command_args)?,
        schedule: ScheduleKind::Immediate,
        schedule_args: None,
        devices,
        groups,
        issued_by: None,
        timeout: std::time::Duration::ZERO,
    })
}

/// A command's arguments as the legacy `CommandArgs` model can hold them: esperclient checks
/// its whole-number fields' types and ranges (and reads its flags with Python's `bool`) when it
/// reads a `DeviceCommand`, so a value it would refuse is left out of the legacy view, e.g. a
/// V2 `screen_off_timeout` of -1 (never) or an argument the command ignores.
fn legacy_args(mut args: Map<String, Value>) -> Map<String, Value> {
    let in_range = |v: &Value, lo: i64, hi: i64| v.as_i64().is_some_and(|n| (lo..=hi).contains(&n));
    args.retain(|key, value| match key.as_str() {
        "brightness_value" => in_range(value, 1, 100),
        "volume_level" => in_range(value, 0, 100),
        "screen_off_timeout" => in_range(value, 5000, 1_800_000),
        "wipe_external_storage" | "wipe_FRP" | "wifi_state" | "bluetooth_state" => {
            value.is_boolean()
        }
        _ => true,
    });
    args
}

/// The seven legacy device states: waiting reads as initiated, cancelled as failed.
fn legacy_state(state: &str) -> &'static str {
    match CommandState::from_name(state) {
        Some(CommandState::Queued) | Some(CommandState::Initiated) | None => {
            CommandState::Initiated.name()
        }
        Some(CommandState::Cancelled) => CommandState::Failure.name(),
        Some(s) => s.name(),
    }
}

/// The key of a state in a group command's `details`.
fn details_key(state: &str) -> &'static str {
    match CommandState::from_name(state) {
        Some(CommandState::Success) => "success",
        Some(CommandState::Failure) | Some(CommandState::Cancelled) => "failed",
        Some(CommandState::Queued) => "inactive",
        Some(CommandState::Acknowledged) => "acknowledge",
        Some(CommandState::InProgress) => "in_progress",
        Some(CommandState::TimeOut) => "timeout",
        Some(CommandState::Scheduled) => "scheduled",
        Some(CommandState::Initiated) | None => "initiate",
    }
}

/// A group command's one state: ended when every device has (Success only if all did),
/// scheduled while every open row waits for its window, initiated otherwise.
fn group_state(rows: &[CommandStatus]) -> &'static str {
    let states: Vec<Option<CommandState>> = rows.iter().map(CommandStatus::state).collect();
    if states
        .iter()
        .all(|s| s.is_some_and(CommandState::is_terminal))
    {
        if states.iter().all(|s| *s == Some(CommandState::Success)) {
            CommandState::Success.name()
        } else {
            CommandState::Failure.name()
        }
    } else if states
        .iter()
        .filter(|s| !s.is_some_and(CommandState::is_terminal))
        .all(|s| *s == Some(CommandState::Scheduled))
    {
        CommandState::Scheduled.name()
    } else {
        CommandState::Initiated.name()
    }
}

fn render_device_command(
    links: &Links,
    request: &CommandRequest,
    row: Option<&CommandStatus>,
    device_id: Uuid,
) -> DeviceCommand {
    let eid = request.enterprise_id;
    DeviceCommand {
        id: request.id,
        command_args: legacy_args(request.args()),
        action: None,
        schedule: None,
        group_schedule_id: None,
        command: request.command.clone(),
        state: legacy_state(row.map(|r| r.state.as_str()).unwrap_or_default()).into(),
        details: row
            .and_then(|r| r.details.as_deref())
            .and_then(|d| serde_json::from_str::<Value>(d).ok())
            .map(|d| to_python_literal(&d)),
        reason: row.and_then(|r| r.reason.clone()),
        created_on: request.created_on,
        updated_on: row.map(|r| r.updated_on).unwrap_or(request.updated_on),
        enterprise: links.enterprise(eid),
        device: links.device(eid, device_id),
        group_command: request
            .legacy_group_id
            .map(|g| format!("{}command/{}/", links.group(eid, g), request.id)),
        issued_by: None,
    }
}

async fn render_group_command(
    state: &AppState,
    links: &Links,
    request: &CommandRequest,
    group_id: Uuid,
) -> ApiResult<GroupCommand> {
    let rows = state.store.all_command_statuses(request.id).await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.device_id).collect();
    let names: HashMap<Uuid, String> = state.store.device_names(&ids).await?;
    let mut details: Map<String, Value> = Map::new();
    for key in [
        "success",
        "failed",
        "inactive",
        "acknowledge",
        "initiate",
        "in_progress",
        "timeout",
        "scheduled",
    ] {
        details.insert(key.into(), Value::Array(Vec::new()));
    }
    for row in &rows {
        let entry = json!({
            "id": row.device_id.to_string(),
            "name": names.get(&row.device_id).cloned().unwrap_or_default(),
            "state": row.state,
            "reason": row.reason.clone().unwrap_or_default(),
        });
        if let Some(Value::Array(list)) = details.get_mut(details_key(&row.state)) {
            list.push(entry);
        }
    }
    let eid = request.enterprise_id;
    Ok(GroupCommand {
        id: request.id,
        schedule: None,
        command: request.command.clone(),
        command_args: request.args(),
        state: group_state(&rows).into(),
        details: to_python_literal(&Value::Object(details)),
        created_on: request.created_on,
        updated_on: rows
            .iter()
            .map(|r| r.updated_on)
            .max()
            .unwrap_or(request.updated_on),
        is_active: true,
        enterprise: links.enterprise(eid),
        group: links.group(eid, group_id),
        issued_by: None,
    })
}

/// Sends a command to one device; an offline device gets it when it connects.
#[utoipa::path(
    post,
    path = "/enterprise/{enterprise_id}/device/{device_id}/command/",
    tag = "Commands",
    operation_id = "run_command",
    params(
        ("enterprise_id" = Uuid, Path, description = "The enterprise's id"),
        ("device_id" = Uuid, Path, description = "The device's id"),
    ),
    request_body = LegacyCommandBody,
    responses(
        (status = 201, body = DeviceCommand),
        (status = 400, body = steward_proto::ErrorBody, description = "A bad field, named"),
        (status = 404, body = steward_proto::ErrorBody),
    )
)]
async fn run_command(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(path): ApiPath<DevicePath>,
    ApiJson(body): ApiJson<LegacyCommandBody>,
) -> ApiResult<(StatusCode, Json<DeviceCommand>)> {
    let eid = caller.enterprise(path.enterprise_id)?;
    state.store.device(eid, path.device_id).await?;
    let new = legacy_command(body, Origin::LegacyDevice, path.device_id)?;
    let request = issue(&state, &caller, eid, new).await?;
    let row = state
        .store
        .command_status_of(request.id, path.device_id)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(render_device_command(
            &links,
            &request,
            row.as_ref(),
            path.device_id,
        )),
    ))
}

/// One command of a device (a legacy command, or any Commands V2 request that reached it).
#[utoipa::path(
    get,
    path = "/enterprise/{enterprise_id}/device/{device_id}/command/{command_id}/",
    tag = "Commands",
    operation_id = "get_command",
    params(
        ("enterprise_id" = Uuid, Path, description = "The enterprise's id"),
        ("device_id" = Uuid, Path, description = "The device's id"),
        ("command_id" = Uuid, Path, description = "The command's id"),
    ),
    responses((status = 200, body = DeviceCommand), (status = 404, body = steward_proto::ErrorBody))
)]
async fn get_command(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(path): ApiPath<DeviceCommandPath>,
) -> ApiResult<Json<DeviceCommand>> {
    let eid = caller.enterprise(path.enterprise_id)?;
    let request = state.store.command_request(eid, path.command_id).await?;
    let row = state
        .store
        .command_status_of(request.id, path.device_id)
        .await?
        .ok_or(StoreError::NotFound("command"))?;
    Ok(Json(render_device_command(
        &links,
        &request,
        Some(&row),
        path.device_id,
    )))
}

/// Sends a command to every device of a group; offline ones get it when they connect.
#[utoipa::path(
    post,
    path = "/enterprise/{enterprise_id}/devicegroup/{group_id}/command/",
    tag = "Commands",
    operation_id = "run_group_command",
    params(
        ("enterprise_id" = Uuid, Path, description = "The enterprise's id"),
        ("group_id" = Uuid, Path, description = "The group's id"),
    ),
    request_body = LegacyCommandBody,
    responses(
        (status = 201, body = GroupCommand),
        (status = 400, body = steward_proto::ErrorBody, description = "A bad field, named"),
        (status = 404, body = steward_proto::ErrorBody),
    )
)]
async fn run_group_command(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(path): ApiPath<GroupPath>,
    ApiJson(body): ApiJson<LegacyCommandBody>,
) -> ApiResult<(StatusCode, Json<GroupCommand>)> {
    let eid = caller.enterprise(path.enterprise_id)?;
    state.store.group(eid, path.group_id).await?;
    let new = legacy_command(body, Origin::LegacyGroup, path.group_id)?;
    let request = issue(&state, &caller, eid, new).await?;
    let rendered = render_group_command(&state, &links, &request, path.group_id).await?;
    Ok((StatusCode::CREATED, Json(rendered)))
}

/// One group command, with its devices' outcomes in `details`.
#[utoipa::path(
    get,
    path = "/enterprise/{enterprise_id}/devicegroup/{group_id}/command/{command_id}/",
    tag = "Commands",
    operation_id = "get_group_command",
    params(
        ("enterprise_id" = Uuid, Path, description = "The enterprise's id"),
        ("group_id" = Uuid, Path, description = "The group's id"),
        ("command_id" = Uuid, Path, description = "The command's id"),
    ),
    responses((status = 200, body = GroupCommand), (status = 404, body = steward_proto::ErrorBody))
)]
async fn get_group_command(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(path): ApiPath<GroupCommandPath>,
) -> ApiResult<Json<GroupCommand>> {
    let eid = caller.enterprise(path.enterprise_id)?;
    let request = state.store.command_request(eid, path.command_id).await?;
    if !request.groups().contains(&path.group_id) {
        return Err(StoreError::NotFound("command").into());
    }
    let rendered = render_group_command(&state, &links, &request, path.group_id).await?;
    Ok(Json(rendered))
}
