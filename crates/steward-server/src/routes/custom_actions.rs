//! Custom actions (`/v2/custom-actions/`): named Linux scripts with options, in the v2 envelope.
//! An active action runs on devices as the `RUN_CUSTOM_ACTION` command (a Steward extension of
//! Commands V2 with `custom_action_id` and `option_key`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Map, Value};
use steward_core::Invalid;
use steward_core::custom_actions::{
    ActionOption, BLUEPRINT_POSITIONS, CustomActionSpec, DEVICE_SETTINGS_POSITIONS, STATES, TYPES,
};
use steward_core::pagination::PageRequest;
use steward_proto::custom_action::{CustomActionRead, V2PagePrevious};
use steward_proto::device::V2;
use steward_store::custom_actions::{CustomAction, CustomActionFilter, ORDERINGS};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::devices_v2::v2_errors;
use crate::error::ApiResult;
use crate::http::auth::Caller;
use crate::http::extract::{ApiJson, ApiPath, Params};
use crate::http::links::Links;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_custom_actions, create_custom_action))
        .routes(routes!(
            get_custom_action,
            replace_custom_action,
            update_custom_action,
            delete_custom_action
        ))
        .layer(axum::middleware::map_response(v2_errors))
}

#[derive(serde::Deserialize)]
struct ActionPath {
    custom_action_id: Uuid,
}

fn envelope<T>(code: StatusCode, content: T) -> (StatusCode, Json<V2<T>>) {
    (
        code,
        Json(V2 {
            code: code.as_u16(),
            message: "success".into(),
            content,
        }),
    )
}

fn render(a: CustomAction) -> CustomActionRead {
    let options = a.option_list().iter().map(ActionOption::to_json).collect();
    CustomActionRead {
        id: a.id,
        properties: serde_json::from_str(&a.properties).unwrap_or_default(),
        name: a.name,
        action_type: a.action_type,
        state: a.state,
        position_in_blueprints: a.position_in_blueprints,
        position_in_device_settings: a.position_in_device_settings,
        options,
        created_at: a.created_at,
        updated_at: a.updated_at,
        created_by: a.created_by,
        updated_by: a.updated_by,
    }
}

fn body_object(body: Value) -> Result<Map<String, Value>, Invalid> {
    match body {
        Value::Object(m) => Ok(m),
        _ => Err(Invalid::field("body", "must be a JSON object")),
    }
}

/// A comma-separated filter whose values must each be allowed.
fn csv(params: &Params, name: &str, allowed: &[&str]) -> ApiResult<Vec<String>> {
    let mut out = Vec::new();
    for v in params
        .get(name)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
    {
        if v.is_empty() {
            continue;
        }
        if !allowed.contains(&v) {
            return Err(Invalid::field(
                name,
                format!("{v:?} is not one of {}", allowed.join(", ")),
            )
            .into());
        }
        out.push(v.to_string());
    }
    Ok(out)
}

/// The tenant's custom actions (default page 10, at most 100), filtered and ordered.
#[utoipa::path(
    get,
    path = "/v2/custom-actions/",
    tag = "Custom Actions",
    operation_id = "list_custom_actions",
    params(
        ("ordering" = Option<String>, Query, description = "name, created_at, updated_at, created_by or updated_by; - for descending"),
        ("name" = Option<String>, Query, description = "Part of the name, any case"),
        ("type" = Option<String>, Query, description = "Comma-separated types"),
        ("state" = Option<String>, Query, description = "Comma-separated states"),
        ("position_in_blueprints" = Option<String>, Query),
        ("position_in_device_settings" = Option<String>, Query),
        ("created_by" = Option<i64>, Query),
        ("updated_by" = Option<i64>, Query),
        ("limit" = Option<u64>, Query, description = "1 to 100, default 10"),
        ("offset" = Option<u64>, Query),
    ),
    responses((status = 200, body = V2<V2PagePrevious<CustomActionRead>>))
)]
async fn list_custom_actions(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    params: Params,
) -> ApiResult<(StatusCode, Json<V2<V2PagePrevious<CustomActionRead>>>)> {
    let page = PageRequest::parse(
        Some(params.get("limit").unwrap_or("10")),
        params.get("offset"),
        100,
    )?;
    let ordering = params.text("ordering", 32)?;
    if let Some(o) = &ordering
        && !ORDERINGS.contains(&o.trim_start_matches('-'))
    {
        return Err(Invalid::field(
            "ordering",
            format!("{o:?} is not one of {}", ORDERINGS.join(", ")),
        )
        .into());
    }
    let filter = CustomActionFilter {
        name: params.text("name", 50)?,
        types: csv(&params, "type", &TYPES)?,
        states: csv(&params, "state", &STATES)?,
        position_in_blueprints: csv(&params, "position_in_blueprints", &BLUEPRINT_POSITIONS)?,
        position_in_device_settings: csv(
            &params,
            "position_in_device_settings",
            &DEVICE_SETTINGS_POSITIONS,
        )?,
        created_by: params.int("created_by")?,
        updated_by: params.int("updated_by")?,
        ordering,
    };
    let (count, actions) = state
        .store
        .custom_actions(caller.key.enterprise_id, &filter, page)
        .await?;
    let (next, previous) = links.page_links(page, count);
    Ok(envelope(
        StatusCode::OK,
        V2PagePrevious {
            count,
            next,
            previous,
            results: actions.into_iter().map(render).collect(),
        },
    ))
}

/// Makes a custom action.
#[utoipa::path(
    post,
    path = "/v2/custom-actions/",
    tag = "Custom Actions",
    operation_id = "create_custom_action",
    request_body(content = Object, description = "name, type, state, position_in_blueprints, position_in_device_settings, properties, options"),
    responses((status = 201, body = V2<CustomActionRead>), (status = 400, description = "A bad field, named"))
)]
async fn create_custom_action(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<V2<CustomActionRead>>)> {
    let spec = CustomActionSpec::parse(&body_object(body)?, None)?;
    let action = state
        .store
        .create_custom_action(caller.key.enterprise_id, &spec, caller.key.id)
        .await?;
    Ok(envelope(StatusCode::CREATED, render(action)))
}

/// One custom action.
#[utoipa::path(
    get,
    path = "/v2/custom-actions/{custom_action_id}/",
    tag = "Custom Actions",
    operation_id = "get_custom_action",
    params(("custom_action_id" = Uuid, Path)),
    responses((status = 200, body = V2<CustomActionRead>), (status = 404))
)]
async fn get_custom_action(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<ActionPath>,
) -> ApiResult<(StatusCode, Json<V2<CustomActionRead>>)> {
    let action = state
        .store
        .custom_action(caller.key.enterprise_id, path.custom_action_id)
        .await?;
    Ok(envelope(StatusCode::OK, render(action)))
}

/// Replaces a custom action (every field).
#[utoipa::path(
    put,
    path = "/v2/custom-actions/{custom_action_id}/",
    tag = "Custom Actions",
    operation_id = "replace_custom_action",
    params(("custom_action_id" = Uuid, Path)),
    request_body(content = Object),
    responses((status = 200, body = V2<CustomActionRead>), (status = 400), (status = 404))
)]
async fn replace_custom_action(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<ActionPath>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<V2<CustomActionRead>>)> {
    let eid = caller.key.enterprise_id;
    state
        .store
        .custom_action(eid, path.custom_action_id)
        .await?;
    let spec = CustomActionSpec::parse(&body_object(body)?, None)?;
    let action = state
        .store
        .update_custom_action(eid, path.custom_action_id, &spec, caller.key.id)
        .await?;
    Ok(envelope(StatusCode::OK, render(action)))
}

/// Changes the given fields of a custom action.
#[utoipa::path(
    patch,
    path = "/v2/custom-actions/{custom_action_id}/",
    tag = "Custom Actions",
    operation_id = "update_custom_action",
    params(("custom_action_id" = Uuid, Path)),
    request_body(content = Object),
    responses((status = 200, body = V2<CustomActionRead>), (status = 400), (status = 404))
)]
async fn update_custom_action(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<ActionPath>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<V2<CustomActionRead>>)> {
    let eid = caller.key.enterprise_id;
    let current = state
        .store
        .custom_action(eid, path.custom_action_id)
        .await?;
    let spec = CustomActionSpec::parse(&body_object(body)?, Some(&current.spec()))?;
    let action = state
        .store
        .update_custom_action(eid, path.custom_action_id, &spec, caller.key.id)
        .await?;
    Ok(envelope(StatusCode::OK, render(action)))
}

/// Deletes a custom action; commands already sent keep their script.
#[utoipa::path(
    delete,
    path = "/v2/custom-actions/{custom_action_id}/",
    tag = "Custom Actions",
    operation_id = "delete_custom_action",
    params(("custom_action_id" = Uuid, Path)),
    responses((status = 204), (status = 404))
)]
async fn delete_custom_action(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<ActionPath>,
) -> ApiResult<StatusCode> {
    state
        .store
        .delete_custom_action(caller.key.enterprise_id, path.custom_action_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
