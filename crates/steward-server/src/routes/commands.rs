//! Commands V2: `/v0/enterprise/{enterprise_id}/command/…` (requests, their per-device
//! statuses, cancel) and a device's command history. The legacy device and group command
//! endpoints (`device_commands.rs`) go through the same [`issue`].

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use steward_core::command_state::CommandState;
use steward_core::commands::{validate_command, validate_scheduled};
use steward_core::{FieldErrors, Invalid};
use steward_proto::Page;
use steward_proto::command::{StateTotal, V0CommandRequest, V0CommandRequestBody, V0CommandStatus};
use steward_proto::pyrepr::to_python_literal;
use steward_store::commands::{
    CommandRequest, CommandStatus, CommandType, DeviceType, IssuedBy, NewCommand, Origin,
    RequestFilter, ScheduleKind,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::ApiResult;
use crate::gateway::dispatch;
use crate::http::auth::Caller;
use crate::http::extract::{ApiJson, ApiPath, Params};
use crate::http::links::Links;
use crate::routes::agent_files::{add_content_file, add_package_file};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_command, list_command_requests))
        .routes(routes!(get_command_request))
        .routes(routes!(get_command_request_status))
        .routes(routes!(update_command_status))
        .routes(routes!(cancel_command_request))
        .routes(routes!(get_device_command_history))
}

#[derive(serde::Deserialize)]
struct EnterprisePath {
    enterprise_id: Uuid,
}

#[derive(serde::Deserialize)]
struct RequestPath {
    enterprise_id: Uuid,
    request_id: Uuid,
}

#[derive(serde::Deserialize)]
struct StatusPath {
    enterprise_id: Uuid,
    request_id: Uuid,
    command_id: Uuid,
}

#[derive(serde::Deserialize)]
struct DevicePath {
    enterprise_id: Uuid,
    device_id: Uuid,
}

/// `command_args` as an object: absent or null is empty; anything else is a 400.
pub(crate) fn args_object(value: Option<Value>) -> Result<Map<String, Value>, Invalid> {
    match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(Invalid::field("command_args", "must be a JSON object")),
    }
}

/// Checks a request, stores it, and announces it for delivery.
pub(crate) async fn issue(
    state: &AppState,
    caller: &Caller,
    enterprise_id: Uuid,
    mut new: NewCommand,
) -> ApiResult<CommandRequest> {
    validate_command(&new.command, Some(&new.command_args))?;
    match new.command.as_str() {
        "RUN_CUSTOM_ACTION" => {
            add_custom_action_script(state, enterprise_id, &mut new.command_args).await?;
        }
        "INSTALL" | "UNINSTALL" => {
            add_package_file(state, enterprise_id, &new.command, &mut new.command_args).await?;
        }
        "PUSH_CONTENT" => add_content_file(state, enterprise_id, &mut new.command_args).await?,
        _ => {}
    }
    new.issued_by = Some(IssuedBy {
        id: caller.key.id,
        name: caller.key.name.clone(),
    });
    new.timeout = state.settings.commands.timeout(&new.command);
    let policy = dispatch::policy(state);
    let request = state
        .store
        .create_command(enterprise_id, new, &policy)
        .await?;
    dispatch::announce(state, request.id).await;
    Ok(request)
}

/// Puts the chosen option's script and interpreter into the arguments, so the device gets
/// the script as it was when the command was made. Only active actions run.
async fn add_custom_action_script(
    state: &AppState,
    enterprise_id: Uuid,
    args: &mut Map<String, Value>,
) -> ApiResult<()> {
    let field = |f: &str| {
        args.get(f)
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<Uuid>().ok())
    };
    let (Some(action_id), Some(key)) = (field("custom_action_id"), field("option_key")) else {
        return Err(Invalid::field("command_args.custom_action_id", "must be an id (UUID)").into());
    };
    let action = match state.store.custom_action(enterprise_id, action_id).await {
        Ok(a) => a,
        Err(steward_store::StoreError::NotFound(_)) => {
            return Err(Invalid::field(
                "command_args.custom_action_id",
                format!("no custom action {action_id} in this enterprise"),
            )
            .into());
        }
        Err(e) => return Err(e.into()),
    };
    if action.state != "active" {
        return Err(Invalid::field(
            "command_args.custom_action_id",
            format!(
                "the custom action is {}; only active actions run on devices",
                action.state
            ),
        )
        .into());
    }
    let option = action
        .option_list()
        .into_iter()
        .find(|o| o.key == key)
        .ok_or_else(|| {
            Invalid::field(
                "command_args.option_key",
                format!("the action has no option {key}"),
            )
        })?;
    args.insert("label".into(), Value::String(option.label));
    args.insert("script".into(), Value::String(option.script));
    args.insert("interpreter".into(), Value::String(option.interpreter));
    args.insert("name".into(), Value::String(action.name));
    Ok(())
}

fn ids(field: &str, values: Option<Vec<String>>, errors: &mut FieldErrors) -> Vec<Uuid> {
    let mut out = Vec::new();
    for v in values.unwrap_or_default() {
        match v.parse() {
            Ok(id) => out.push(id),
            Err(_) => errors.add(field, format!("{v:?} is not a valid id (expected a UUID)")),
        }
    }
    out
}

/// Reads a V2 request body into a new command, naming every bad field.
fn new_command(body: V0CommandRequestBody) -> Result<NewCommand, Invalid> {
    let mut e = FieldErrors::new();
    let command_type = match body.command_type.as_deref() {
        None => {
            e.add("command_type", "this field is required");
            None
        }
        Some(t) => {
            let parsed = CommandType::parse(t);
            if parsed.is_none() {
                e.add(
                    "command_type",
                    format!("{t:?} is not one of {}", CommandType::NAMES.join(", ")),
                );
            }
            parsed
        }
    };
    let device_type = match body.device_type.as_deref() {
        None => Some(DeviceType::Active),
        Some(t) => {
            let parsed = DeviceType::parse(t);
            if parsed.is_none() {
                e.add(
                    "device_type",
                    format!("{t:?} is not one of {}", DeviceType::NAMES.join(", ")),
                );
            }
            parsed
        }
    };
    let schedule = match body.schedule.as_deref() {
        None => Some(ScheduleKind::Immediate),
        Some(s) => {
            let parsed = ScheduleKind::parse(s);
            if parsed.is_none() {
                e.add(
                    "schedule",
                    format!("{s:?} is not one of {}", ScheduleKind::NAMES.join(", ")),
                );
            }
            parsed
        }
    };
    let command = body.command.filter(|c| !c.trim().is_empty());
    if command.is_none() {
        e.add("command", "this field is required");
    }
    let devices = ids("devices", body.devices, &mut e);
    let groups = ids("groups", body.groups, &mut e);
    match command_type {
        Some(CommandType::Device) => {
            if devices.is_empty() {
                e.add("devices", "a DEVICE command needs at least one device");
            }
            if !groups.is_empty() {
                e.add("groups", "only GROUP and DYNAMIC commands take groups");
            }
        }
        Some(CommandType::Group) => {
            if groups.is_empty() {
                e.add("groups", "a GROUP command needs at least one group");
            }
            if !devices.is_empty() {
                e.add("devices", "only DEVICE and DYNAMIC commands take devices");
            }
        }
        Some(CommandType::Dynamic) if devices.is_empty() && groups.is_empty() => {
            e.add("devices", "a DYNAMIC command needs devices or groups");
        }
        _ => {}
    }
    let command_args = match args_object(body.command_args) {
        Ok(m) => m,
        Err(err) => {
            e.extend(err);
            Map::new()
        }
    };
    let schedule_args = match body.schedule_args {
        None | Some(Value::Null) => None,
        // An IMMEDIATE command has no schedule: what came with it is not kept (unchecked, it
        // would come back in every list and could break clients that read its date-times).
        Some(Value::Object(_)) if schedule == Some(ScheduleKind::Immediate) => None,
        Some(Value::Object(m)) => Some(m),
        Some(_) => {
            e.add("schedule_args", "must be a JSON object");
            None
        }
    };
    if matches!(
        schedule,
        Some(ScheduleKind::Window | ScheduleKind::Recurring)
    ) && let Some(command) = &command
        && let Err(err) = validate_scheduled(command, schedule_args.as_ref())
    {
        e.extend(err);
    }
    // The date-times come back in every answer, where clients parse them as plain ISO 8601
    // (esperclient uses dateutil): a bracketed time-zone annotation, which the schedule's own
    // parser would take, is refused here.
    for field in ["start_datetime", "end_datetime"] {
        let annotated = schedule_args
            .as_ref()
            .and_then(|a| a.get(field))
            .and_then(Value::as_str)
            .is_some_and(|s| s.contains('['));
        if annotated {
            e.add(
                format!("schedule_args.{field}"),
                "must be a date-time like 2024-05-01T09:00:00Z, without a [time zone] annotation",
            );
        }
    }
    e.finish()?;
    let (Some(command_type), Some(device_type), Some(schedule), Some(command)) =
        (command_type, device_type, schedule, command)
    else {
        return Err(Invalid::field("command", "this field is required"));
    };
    Ok(NewCommand {
        origin: Origin::V2,
        command_type,
        device_type,
        command,
        command_args,
        schedule,
        schedule_args,
        devices,
        groups,
        issued_by: None,
        timeout: std::time::Duration::ZERO,
    })
}

/// `{'id': 7, 'username': 'ops'}`: espercli takes the name with `split("'")[-2]`.
pub(crate) fn issued_by(request: &CommandRequest) -> String {
    to_python_literal(&json!({
        "id": request.issued_by_id.unwrap_or(0),
        "username": request.issued_by_name.clone().unwrap_or_else(|| "steward".into()),
    }))
}

async fn render_requests(
    state: &AppState,
    requests: Vec<CommandRequest>,
) -> ApiResult<Vec<V0CommandRequest>> {
    let ids: Vec<Uuid> = requests.iter().map(|r| r.id).collect();
    let mut totals = state.store.command_totals(&ids).await?;
    Ok(requests
        .into_iter()
        .map(|r| {
            let status = totals
                .remove(&r.id)
                .unwrap_or_default()
                .into_iter()
                .map(|(state, total)| StateTotal { state, total })
                .collect();
            V0CommandRequest {
                id: r.id,
                enterprise: r.enterprise_id,
                command_type: r.command_type.clone(),
                devices: r.devices(),
                groups: r.groups(),
                device_type: r.device_type.clone(),
                command: r.command.clone(),
                command_args: r.args(),
                schedule: r.schedule.clone(),
                schedule_args: r.schedule_args_map(),
                issued_by: issued_by(&r),
                created_on: r.created_on,
                status,
                timeout: u64::try_from(r.timeout_secs).unwrap_or(0),
            }
        })
        .collect())
}

pub(crate) fn render_status(links: &Links, s: CommandStatus) -> V0CommandStatus {
    V0CommandStatus {
        id: s.id,
        request: s.request_id,
        device: links.device(s.enterprise_id, s.device_id),
        state: s.state,
        reason: s.reason,
        details: s
            .details
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok()),
        attempts: s.attempts,
        created_on: s.created_on,
        updated_on: s.updated_on,
    }
}

fn state_filter(params: &Params) -> ApiResult<Option<CommandState>> {
    params
        .get("state")
        .map(|s| {
            CommandState::from_name(s).ok_or_else(|| {
                let names: Vec<&str> = CommandState::ALL.iter().map(|s| s.name()).collect();
                Invalid::field("state", format!("{s:?} is not one of {}", names.join(", "))).into()
            })
        })
        .transpose()
}

/// Sends a command to devices, groups, or both (DYNAMIC), now or on a schedule. Online
/// devices get it at once; offline ones when they connect (with `device_type` `inactive` or
/// `all`). The answer carries the per-state totals.
#[utoipa::path(
    post,
    path = "/v0/enterprise/{enterprise_id}/command/",
    tag = "Commands V2",
    operation_id = "create_command",
    params(("enterprise_id" = Uuid, Path, description = "The enterprise's id")),
    request_body = V0CommandRequestBody,
    responses(
        (status = 201, body = V0CommandRequest),
        (status = 400, body = steward_proto::ErrorBody, description = "A bad field, named"),
    )
)]
async fn create_command(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<EnterprisePath>,
    ApiJson(body): ApiJson<V0CommandRequestBody>,
) -> ApiResult<(StatusCode, Json<V0CommandRequest>)> {
    let eid = caller.enterprise(path.enterprise_id)?;
    let request = issue(&state, &caller, eid, new_command(body)?).await?;
    let mut rendered = render_requests(&state, vec![request]).await?;
    let one = rendered
        .pop()
        .ok_or(steward_store::StoreError::NotFound("command"))?;
    Ok((StatusCode::CREATED, Json(one)))
}

/// Lists command requests, newest first. `devices` (comma-separated ids) keeps requests that
/// reach any of them; `issued_by` is an API key's number.
#[utoipa::path(
    get,
    path = "/v0/enterprise/{enterprise_id}/command/",
    tag = "Commands V2",
    operation_id = "list_command_request",
    params(
        ("enterprise_id" = Uuid, Path, description = "The enterprise's id"),
        ("command_type" = Option<String>, Query, description = "DEVICE, GROUP or DYNAMIC (any case); another value is a 400"),
        ("devices" = Option<String>, Query, description = "Comma-separated device ids"),
        ("device_type" = Option<String>, Query, description = "active, inactive or all (any case); another value is a 400"),
        ("command" = Option<String>, Query, description = "A command name"),
        ("issued_by" = Option<i64>, Query, description = "The issuing key's number"),
        ("limit" = Option<u64>, Query, description = "Page size (default 20)"),
        ("offset" = Option<u64>, Query, description = "Start of the page"),
    ),
    responses((status = 200, body = Page<V0CommandRequest>))
)]
async fn list_command_requests(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(path): ApiPath<EnterprisePath>,
    params: Params,
) -> ApiResult<Json<Page<V0CommandRequest>>> {
    let eid = caller.enterprise(path.enterprise_id)?;
    let page = params.page(state.settings.max_page_size)?;
    let mut devices = Vec::new();
    if let Some(list) = params.get("devices") {
        for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            devices.push(part.parse().map_err(|_| {
                Invalid::field(
                    "devices",
                    format!("{part:?} is not a valid id (expected a UUID)"),
                )
            })?);
        }
    }
    let filter = RequestFilter {
        command_type: params
            .one_of("command_type", &CommandType::NAMES)?
            .map(str::to_string),
        devices,
        device_type: params
            .one_of("device_type", &DeviceType::NAMES)?
            .map(str::to_string),
        command: params.text("command", 64)?,
        issued_by: params.int("issued_by")?,
    };
    let (count, requests) = state.store.command_requests(eid, &filter, page).await?;
    let results = render_requests(&state, requests).await?;
    Ok(Json(links.page(page, count, results)))
}

/// One command request with its per-state totals (Steward; the list and create answers carry
/// the same shape).
#[utoipa::path(
    get,
    path = "/v0/enterprise/{enterprise_id}/command/{request_id}/",
    tag = "Commands V2",
    operation_id = "get_command_request",
    params(
        ("enterprise_id" = Uuid, Path, description = "The enterprise's id"),
        ("request_id" = Uuid, Path, description = "The request's id"),
    ),
    responses((status = 200, body = V0CommandRequest), (status = 404, body = steward_proto::ErrorBody))
)]
async fn get_command_request(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<RequestPath>,
) -> ApiResult<Json<V0CommandRequest>> {
    let eid = caller.enterprise(path.enterprise_id)?;
    let request = state.store.command_request(eid, path.request_id).await?;
    let mut rendered = render_requests(&state, vec![request]).await?;
    let one = rendered
        .pop()
        .ok_or(steward_store::StoreError::NotFound("command"))?;
    Ok(Json(one))
}

/// The request's per-device statuses, in creation order, filtered by `device` and `state`
/// (e.g. `Command Success`).
#[utoipa::path(
    get,
    path = "/v0/enterprise/{enterprise_id}/command/{request_id}/status/",
    tag = "Commands V2",
    operation_id = "get_command_request_status",
    params(
        ("enterprise_id" = Uuid, Path, description = "The enterprise's id"),
        ("request_id" = Uuid, Path, description = "The request's id"),
        ("device" = Option<Uuid>, Query, description = "One device's status"),
        ("state" = Option<String>, Query, description = "A state such as `Command Success`"),
        ("limit" = Option<u64>, Query, description = "Page size (default 20)"),
        ("offset" = Option<u64>, Query, description = "Start of the page"),
    ),
    responses((status = 200, body = Page<V0CommandStatus>), (status = 404, body = steward_proto::ErrorBody))
)]
async fn get_command_request_status(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(path): ApiPath<RequestPath>,
    params: Params,
) -> ApiResult<Json<Page<V0CommandStatus>>> {
    let eid = caller.enterprise(path.enterprise_id)?;
    let page = params.page(state.settings.max_page_size)?;
    let (count, rows) = state
        .store
        .command_statuses(
            eid,
            path.request_id,
            params.uuid("device")?,
            state_filter(&params)?,
            page,
        )
        .await?;
    let results = rows.into_iter().map(|s| render_status(&links, s)).collect();
    Ok(Json(links.page(page, count, results)))
}

/// Changes one status. Only `action=cancel` is taken from operators (devices report their own
/// progress over their link): a queued or scheduled command is cancelled; one already sent
/// gets a 400.
#[utoipa::path(
    patch,
    path = "/v0/enterprise/{enterprise_id}/command/{request_id}/status/{command_id}/",
    tag = "Commands V2",
    operation_id = "update_command_status",
    params(
        ("enterprise_id" = Uuid, Path, description = "The enterprise's id"),
        ("request_id" = Uuid, Path, description = "The request's id"),
        ("command_id" = Uuid, Path, description = "The status's id"),
        ("action" = String, Query, description = "cancel"),
    ),
    responses((status = 200, body = V0CommandStatus), (status = 400, body = steward_proto::ErrorBody))
)]
async fn update_command_status(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(path): ApiPath<StatusPath>,
    params: Params,
) -> ApiResult<Json<V0CommandStatus>> {
    let eid = caller.enterprise(path.enterprise_id)?;
    match params.get("action") {
        Some("cancel") => {}
        Some(other @ ("acknowledge" | "in_progress" | "success" | "failed")) => {
            return Err(Invalid::field(
                "action",
                format!("{other:?} is reported by the device itself; operators may only cancel"),
            )
            .into());
        }
        Some(other) => {
            return Err(Invalid::field("action", format!("{other:?} is not cancel")).into());
        }
        None => return Err(Invalid::field("action", "this parameter is required (cancel)").into()),
    }
    let row = state
        .store
        .cancel_command_status(eid, path.request_id, path.command_id)
        .await?;
    Ok(Json(render_status(&links, row)))
}

/// Cancels every queued and scheduled status of a request (Steward); those already sent run
/// to their end. Answers the request with its new totals.
#[utoipa::path(
    post,
    path = "/v0/enterprise/{enterprise_id}/command/{request_id}/cancel/",
    tag = "Commands V2",
    operation_id = "cancel_command_request",
    params(
        ("enterprise_id" = Uuid, Path, description = "The enterprise's id"),
        ("request_id" = Uuid, Path, description = "The request's id"),
    ),
    responses((status = 200, body = V0CommandRequest), (status = 404, body = steward_proto::ErrorBody))
)]
async fn cancel_command_request(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<RequestPath>,
) -> ApiResult<Json<V0CommandRequest>> {
    let eid = caller.enterprise(path.enterprise_id)?;
    state
        .store
        .cancel_command_request(eid, path.request_id)
        .await?;
    let request = state.store.command_request(eid, path.request_id).await?;
    let mut rendered = render_requests(&state, vec![request]).await?;
    let one = rendered
        .pop()
        .ok_or(steward_store::StoreError::NotFound("command"))?;
    Ok(Json(one))
}

/// A device's commands, newest first, filtered by `state`.
#[utoipa::path(
    get,
    path = "/v0/enterprise/{enterprise_id}/device/{device_id}/command-history/",
    tag = "Commands V2",
    operation_id = "get_device_command_history",
    params(
        ("enterprise_id" = Uuid, Path, description = "The enterprise's id"),
        ("device_id" = Uuid, Path, description = "The device's id"),
        ("state" = Option<String>, Query, description = "A state such as `Command Success`"),
        ("limit" = Option<u64>, Query, description = "Page size (default 20)"),
        ("offset" = Option<u64>, Query, description = "Start of the page"),
    ),
    responses((status = 200, body = Page<V0CommandStatus>), (status = 404, body = steward_proto::ErrorBody))
)]
async fn get_device_command_history(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(path): ApiPath<DevicePath>,
    params: Params,
) -> ApiResult<Json<Page<V0CommandStatus>>> {
    let eid = caller.enterprise(path.enterprise_id)?;
    let page = params.page(state.settings.max_page_size)?;
    let (count, rows) = state
        .store
        .device_command_history(eid, path.device_id, state_filter(&params)?, page)
        .await?;
    let results = rows.into_iter().map(|s| render_status(&links, s)).collect();
    Ok(Json(links.page(page, count, results)))
}
