//! Enrolment tokens (a Steward extension): `/v0/enterprise/{enterprise_id}/enrollment-token/`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use steward_core::FieldErrors;
use steward_proto::Page;
use steward_proto::device::{EnrollmentToken, EnrollmentTokenCreate};
use steward_store::enrollment::NewEnrollmentToken;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::ApiResult;
use crate::http::auth::Caller;
use crate::http::extract::{ApiJson, ApiPath};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(get_token, revoke_token))
}

#[derive(serde::Deserialize)]
struct TokenPath {
    enterprise_id: Uuid,
    token_id: Uuid,
}

pub fn render(
    t: steward_store::enrollment::EnrollmentToken,
    secret: Option<String>,
) -> EnrollmentToken {
    EnrollmentToken {
        id: t.id,
        name: t.name,
        group: t.group_id,
        max_uses: t.max_uses,
        uses: t.uses,
        expires_on: t.expires_on,
        revoked_on: t.revoked_on,
        prefix: t.prefix,
        token: secret,
        created_on: t.created_on,
    }
}

/// The enterprise's enrolment tokens, newest first (never their secrets).
#[utoipa::path(
    get,
    path = "/v0/enterprise/{enterprise_id}/enrollment-token/",
    tag = "Enrolment (Steward)",
    operation_id = "list_enrollment_tokens",
    params(("enterprise_id" = Uuid, Path)),
    responses((status = 200, body = Page<EnrollmentToken>)),
    security(("bearer" = []))
)]
async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(enterprise_id): ApiPath<Uuid>,
) -> ApiResult<Json<Page<EnrollmentToken>>> {
    let eid = caller.enterprise(enterprise_id)?;
    let tokens = state.store.enrollment_tokens(Some(eid)).await?;
    Ok(Json(Page {
        count: tokens.len() as u64,
        next: None,
        previous: None,
        results: tokens.into_iter().map(|t| render(t, None)).collect(),
    }))
}

/// Makes a token that devices enrol with (`steward-agent enroll --token …`), optionally
/// into a group, with a use limit and an expiry. The token is in this answer only.
#[utoipa::path(
    post,
    path = "/v0/enterprise/{enterprise_id}/enrollment-token/",
    tag = "Enrolment (Steward)",
    operation_id = "create_enrollment_token",
    params(("enterprise_id" = Uuid, Path)),
    request_body = EnrollmentTokenCreate,
    responses((status = 201, body = EnrollmentToken), (status = 400, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(enterprise_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<EnrollmentTokenCreate>,
) -> ApiResult<(StatusCode, Json<EnrollmentToken>)> {
    let eid = caller.enterprise(enterprise_id)?;
    let mut errors = FieldErrors::new();
    errors.optional_text("name", body.name.as_deref(), 1, 255);
    if body.max_uses.is_some_and(|m| m < 1) {
        errors.add("max_uses", "must be at least 1");
    }
    if body
        .expires_in_hours
        .is_some_and(|h| !(1..=24 * 365 * 10).contains(&h))
    {
        errors.add("expires_in_hours", "must be between 1 and 87600");
    }
    errors.finish()?;
    let (token, secret) = state
        .store
        .create_enrollment_token(
            eid,
            NewEnrollmentToken {
                name: body.name.unwrap_or_else(|| "enrollment".to_string()),
                group_id: body.group,
                max_uses: body.max_uses,
                expires_on: body
                    .expires_in_hours
                    .map(|h| steward_store::now() + time::Duration::hours(h)),
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(render(token, Some(secret)))))
}

#[utoipa::path(
    get,
    path = "/v0/enterprise/{enterprise_id}/enrollment-token/{token_id}/",
    tag = "Enrolment (Steward)",
    operation_id = "get_enrollment_token",
    params(("enterprise_id" = Uuid, Path), ("token_id" = Uuid, Path)),
    responses((status = 200, body = EnrollmentToken), (status = 404, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn get_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<TokenPath>,
) -> ApiResult<Json<EnrollmentToken>> {
    let eid = caller.enterprise(path.enterprise_id)?;
    let token = state.store.enrollment_token(eid, path.token_id).await?;
    Ok(Json(render(token, None)))
}

/// Revokes a token; devices already enrolled with it stay.
#[utoipa::path(
    delete,
    path = "/v0/enterprise/{enterprise_id}/enrollment-token/{token_id}/",
    tag = "Enrolment (Steward)",
    operation_id = "revoke_enrollment_token",
    params(("enterprise_id" = Uuid, Path), ("token_id" = Uuid, Path)),
    responses((status = 204, description = "Revoked"), (status = 404, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<TokenPath>,
) -> ApiResult<StatusCode> {
    let eid = caller.enterprise(path.enterprise_id)?;
    state
        .store
        .revoke_enrollment_token(Some(eid), path.token_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
