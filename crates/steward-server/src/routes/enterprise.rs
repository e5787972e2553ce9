//! `GET/PATCH /v1/enterprise/{enterprise_id}/`.

use axum::Json;
use axum::extract::State;
use steward_core::FieldErrors;
use steward_proto::enterprise::{EnterpriseUpdateV1, EnterpriseV1};
use steward_store::enterprises::{Enterprise, EnterpriseChanges};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::http::auth::Caller;
use crate::http::extract::{ApiJson, ApiPath};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_enterprise, update_enterprise))
}

fn render(e: Enterprise) -> EnterpriseV1 {
    EnterpriseV1 {
        id: e.id,
        name: e.name,
        short_code: e.short_code,
        registered_name: e.registered_name,
        registered_address: e.registered_address,
        location: e.location,
        zipcode: e.zipcode,
        contact_person: e.contact_person,
        contact_number: e.contact_number,
        contact_email: e.contact_email,
        emm: None,
        created_on: e.created_on,
        updated_on: e.updated_on,
    }
}

/// The enterprise's details.
#[utoipa::path(
    get,
    path = "/v1/enterprise/{enterprise_id}/",
    tag = "Enterprise",
    operation_id = "get_enterprise",
    params(("enterprise_id" = Uuid, Path, description = "The enterprise's id")),
    responses(
        (status = 200, body = EnterpriseV1),
        (status = 401, body = steward_proto::ErrorBody),
        (status = 403, body = steward_proto::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn get_enterprise(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(enterprise_id): ApiPath<Uuid>,
) -> ApiResult<Json<EnterpriseV1>> {
    let id = caller.enterprise(enterprise_id)?;
    Ok(Json(render(state.store.enterprise(id).await?)))
}

fn validate(update: &EnterpriseUpdateV1) -> Result<(), ApiError> {
    let mut e = FieldErrors::new();
    e.optional_text("name", update.name.as_deref(), 1, 255);
    e.optional_text("registered_name", update.registered_name.as_deref(), 1, 255);
    e.optional_text(
        "registered_address",
        update.registered_address.as_deref(),
        1,
        255,
    );
    e.optional_text("location", update.location.as_deref(), 1, 255);
    e.optional_text("zipcode", update.zipcode.as_deref(), 1, 8);
    e.optional_text("contact_person", update.contact_person.as_deref(), 1, 255);
    e.optional_text("contact_number", update.contact_number.as_deref(), 1, 20);
    e.optional_email("contact_email", update.contact_email.as_deref(), 254);
    Ok(e.finish()?)
}

/// Changes the fields given; the others stay as they are.
#[utoipa::path(
    patch,
    path = "/v1/enterprise/{enterprise_id}/",
    tag = "Enterprise",
    operation_id = "partial_update_enterprise",
    params(("enterprise_id" = Uuid, Path, description = "The enterprise's id")),
    request_body = EnterpriseUpdateV1,
    responses(
        (status = 200, body = EnterpriseV1),
        (status = 400, body = steward_proto::ErrorBody),
        (status = 401, body = steward_proto::ErrorBody),
        (status = 403, body = steward_proto::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn update_enterprise(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(enterprise_id): ApiPath<Uuid>,
    ApiJson(update): ApiJson<EnterpriseUpdateV1>,
) -> ApiResult<Json<EnterpriseV1>> {
    let id = caller.enterprise(enterprise_id)?;
    validate(&update)?;
    let changes = EnterpriseChanges {
        name: update.name,
        registered_name: update.registered_name,
        registered_address: update.registered_address,
        location: update.location,
        zipcode: update.zipcode,
        contact_person: update.contact_person,
        contact_number: update.contact_number,
        contact_email: update.contact_email,
    };
    Ok(Json(render(
        state.store.update_enterprise(id, changes).await?,
    )))
}
