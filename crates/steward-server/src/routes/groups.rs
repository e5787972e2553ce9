//! Device groups: `/enterprise/{enterprise_id}/devicegroup/[{group_id}/]`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use steward_core::groups::{MAX_DEVICE_IDS, MAX_NAME_LEN};
use steward_core::{FieldErrors, Invalid};
use steward_proto::Page;
use steward_proto::group::{DeviceGroup, DeviceGroupUpdate, GroupAction};
use steward_store::groups::{Group, GroupFilter};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::ApiResult;
use crate::http::auth::Caller;
use crate::http::extract::{ApiJson, ApiPath, Params};
use crate::http::links::Links;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_groups, create_group))
        .routes(routes!(
            get_group,
            update_group,
            partial_update_group,
            delete_group
        ))
}

#[derive(serde::Deserialize)]
struct GroupPath {
    enterprise_id: Uuid,
    group_id: Uuid,
}

fn render(links: &Links, g: Group) -> DeviceGroup {
    let eid = g.row.enterprise_id;
    DeviceGroup {
        id: g.row.id,
        name: g.row.name,
        created_on: g.row.created_on,
        enterprise: links.enterprise(eid),
        parent: g.row.parent_id.map(|p| links.group(eid, p)),
        device_count: g.device_count,
        path: g.path,
        children_count: g.children_count,
    }
}

/// Lists the enterprise's groups. `name` matches part of a name, case-insensitively, and an
/// exact match comes first (espercli looks groups up with `?name=…&limit=1`).
#[utoipa::path(
    get,
    path = "/enterprise/{enterprise_id}/devicegroup/",
    tag = "Device groups",
    operation_id = "get_all_groups",
    params(
        ("enterprise_id" = Uuid, Path, description = "The enterprise's id"),
        ("name" = Option<String>, Query, description = "Part of the group's name"),
        ("limit" = Option<u64>, Query, description = "Page size (default 20, capped)"),
        ("offset" = Option<u64>, Query, description = "Index of the first result"),
    ),
    responses(
        (status = 200, body = Page<DeviceGroup>),
        (status = 400, body = steward_proto::ErrorBody),
        (status = 401, body = steward_proto::ErrorBody),
        (status = 403, body = steward_proto::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn list_groups(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(enterprise_id): ApiPath<Uuid>,
    params: Params,
) -> ApiResult<Json<Page<DeviceGroup>>> {
    let eid = caller.enterprise(enterprise_id)?;
    let page = params.page(state.settings.max_page_size)?;
    let filter = GroupFilter {
        name: params.text("name", MAX_NAME_LEN)?,
    };
    let (count, groups) = state.store.groups(eid, &filter, page).await?;
    Ok(Json(links.page(
        page,
        count,
        groups.into_iter().map(|g| render(&links, g)).collect(),
    )))
}

fn check_name(errors: &mut FieldErrors, name: Option<&str>, required: bool) {
    if required {
        errors.required_text("name", name, MAX_NAME_LEN);
    } else {
        errors.optional_text("name", name, 1, MAX_NAME_LEN);
    }
}

fn check_device_ids(errors: &mut FieldErrors, ids: Option<&Vec<Uuid>>) {
    if let Some(ids) = ids
        && ids.len() > MAX_DEVICE_IDS
    {
        errors.add(
            "device_ids",
            format!(
                "at most {MAX_DEVICE_IDS} devices per request (got {})",
                ids.len()
            ),
        );
    }
}

/// Creates a group, below `parent` when given (at most five levels below a root), holding
/// `device_ids`.
#[utoipa::path(
    post,
    path = "/enterprise/{enterprise_id}/devicegroup/",
    tag = "Device groups",
    operation_id = "create_group",
    params(("enterprise_id" = Uuid, Path, description = "The enterprise's id")),
    request_body = DeviceGroupUpdate,
    responses(
        (status = 201, body = DeviceGroup),
        (status = 400, body = steward_proto::ErrorBody),
        (status = 401, body = steward_proto::ErrorBody),
        (status = 403, body = steward_proto::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn create_group(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(enterprise_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<DeviceGroupUpdate>,
) -> ApiResult<(StatusCode, Json<DeviceGroup>)> {
    let eid = caller.enterprise(enterprise_id)?;
    let mut errors = FieldErrors::new();
    check_name(&mut errors, body.name.as_deref(), true);
    check_device_ids(&mut errors, body.device_ids.as_ref());
    errors.finish()?;
    let name = body.name.unwrap_or_default();
    let devices = body.device_ids.unwrap_or_default();
    let group = state
        .store
        .create_group(eid, &name, body.parent, &devices)
        .await?;
    Ok((StatusCode::CREATED, Json(render(&links, group))))
}

#[utoipa::path(
    get,
    path = "/enterprise/{enterprise_id}/devicegroup/{group_id}/",
    tag = "Device groups",
    operation_id = "get_group_by_id",
    params(
        ("enterprise_id" = Uuid, Path, description = "The enterprise's id"),
        ("group_id" = Uuid, Path, description = "The group's id"),
    ),
    responses(
        (status = 200, body = DeviceGroup),
        (status = 401, body = steward_proto::ErrorBody),
        (status = 403, body = steward_proto::ErrorBody),
        (status = 404, body = steward_proto::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn get_group(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(path): ApiPath<GroupPath>,
) -> ApiResult<Json<DeviceGroup>> {
    let eid = caller.enterprise(path.enterprise_id)?;
    let group = state.store.group(eid, path.group_id).await?;
    Ok(Json(render(&links, group)))
}

fn action(params: &Params) -> ApiResult<Option<GroupAction>> {
    match params.get("action") {
        None => Ok(None),
        Some("add") => Ok(Some(GroupAction::Add)),
        Some("remove") => Ok(Some(GroupAction::Remove)),
        Some("rename") => Ok(Some(GroupAction::Rename)),
        Some("move") => Ok(Some(GroupAction::Move)),
        Some(other) => Err(Invalid::field(
            "action",
            format!("{other:?} is not one of add, remove, rename, move"),
        )
        .into()),
    }
}

/// Applies an update: `action=add|remove` with `device_ids`, `rename` with `name`, `move` with
/// `parent` (null for a root). Without an action, `name` renames and `parent` moves.
async fn apply_update(
    state: &AppState,
    eid: Uuid,
    group_id: Uuid,
    action: Option<GroupAction>,
    body: DeviceGroupUpdate,
    parent_given: bool,
    name_required: bool,
) -> ApiResult<Group> {
    let mut errors = FieldErrors::new();
    let name_needed = name_required || action == Some(GroupAction::Rename);
    check_name(&mut errors, body.name.as_deref(), name_needed);
    check_device_ids(&mut errors, body.device_ids.as_ref());
    if matches!(action, Some(GroupAction::Add | GroupAction::Remove)) && body.device_ids.is_none() {
        errors.add(
            "device_ids",
            "this field is required with action add or remove",
        );
    }
    if action.is_none() && body.device_ids.is_some() {
        errors.add(
            "action",
            "use action=add or action=remove to change a group's devices",
        );
    }
    errors.finish()?;
    let store = &state.store;
    let mut group = store.group(eid, group_id).await?;
    let moving = action == Some(GroupAction::Move) || (action.is_none() && parent_given);
    if moving {
        group = store.move_group(eid, group_id, body.parent).await?;
    }
    if let Some(name) = &body.name
        && *name != group.row.name
    {
        group = store.rename_group(eid, group_id, name).await?;
    }
    let devices = body.device_ids.unwrap_or_default();
    match action {
        Some(GroupAction::Add) => group = store.add_group_devices(eid, group_id, &devices).await?,
        Some(GroupAction::Remove) => {
            group = store.remove_group_devices(eid, group_id, &devices).await?;
        }
        _ => {}
    }
    Ok(group)
}

/// Whether the raw body names `parent` at all (null included), which the typed body cannot tell.
fn names_parent(raw: &serde_json::Value) -> bool {
    raw.as_object().is_some_and(|o| o.contains_key("parent"))
}

async fn update(
    state: AppState,
    caller: Caller,
    links: Links,
    path: GroupPath,
    params: Params,
    raw: serde_json::Value,
    name_required: bool,
) -> ApiResult<Json<DeviceGroup>> {
    let eid = caller.enterprise(path.enterprise_id)?;
    let action = action(&params)?;
    let parent_given = names_parent(&raw);
    let body: DeviceGroupUpdate = crate::http::extract::parse_json(raw.to_string().as_bytes())?;
    let group = apply_update(
        &state,
        eid,
        path.group_id,
        action,
        body,
        parent_given,
        name_required,
    )
    .await?;
    Ok(Json(render(&links, group)))
}

/// Updates a group; `name` is required. See PATCH for `action`.
#[utoipa::path(
    put,
    path = "/enterprise/{enterprise_id}/devicegroup/{group_id}/",
    tag = "Device groups",
    operation_id = "update_group",
    params(
        ("enterprise_id" = Uuid, Path, description = "The enterprise's id"),
        ("group_id" = Uuid, Path, description = "The group's id"),
        ("action" = Option<GroupAction>, Query, description = "add, remove, rename or move"),
    ),
    request_body = DeviceGroupUpdate,
    responses(
        (status = 200, body = DeviceGroup),
        (status = 400, body = steward_proto::ErrorBody),
        (status = 401, body = steward_proto::ErrorBody),
        (status = 403, body = steward_proto::ErrorBody),
        (status = 404, body = steward_proto::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn update_group(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(path): ApiPath<GroupPath>,
    params: Params,
    ApiJson(raw): ApiJson<serde_json::Value>,
) -> ApiResult<Json<DeviceGroup>> {
    update(state, caller, links, path, params, raw, true).await
}

/// Changes a group: `action=add`/`remove` with `device_ids` puts devices in or takes them out;
/// `action=rename` with `name`; `action=move` with `parent` (a group id, or null for a root).
/// Without an action, a given `name` renames and a given `parent` moves.
#[utoipa::path(
    patch,
    path = "/enterprise/{enterprise_id}/devicegroup/{group_id}/",
    tag = "Device groups",
    operation_id = "partial_update_group",
    params(
        ("enterprise_id" = Uuid, Path, description = "The enterprise's id"),
        ("group_id" = Uuid, Path, description = "The group's id"),
        ("action" = Option<GroupAction>, Query, description = "add, remove, rename or move"),
    ),
    request_body = DeviceGroupUpdate,
    responses(
        (status = 200, body = DeviceGroup),
        (status = 400, body = steward_proto::ErrorBody),
        (status = 401, body = steward_proto::ErrorBody),
        (status = 403, body = steward_proto::ErrorBody),
        (status = 404, body = steward_proto::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn partial_update_group(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(path): ApiPath<GroupPath>,
    params: Params,
    ApiJson(raw): ApiJson<serde_json::Value>,
) -> ApiResult<Json<DeviceGroup>> {
    update(state, caller, links, path, params, raw, false).await
}

/// Deletes a group without sub-groups; its devices move to its parent group.
#[utoipa::path(
    delete,
    path = "/enterprise/{enterprise_id}/devicegroup/{group_id}/",
    tag = "Device groups",
    operation_id = "delete_group",
    params(
        ("enterprise_id" = Uuid, Path, description = "The enterprise's id"),
        ("group_id" = Uuid, Path, description = "The group's id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, body = steward_proto::ErrorBody),
        (status = 401, body = steward_proto::ErrorBody),
        (status = 403, body = steward_proto::ErrorBody),
        (status = 404, body = steward_proto::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn delete_group(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<GroupPath>,
) -> ApiResult<StatusCode> {
    let eid = caller.enterprise(path.enterprise_id)?;
    state.store.delete_group(eid, path.group_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
