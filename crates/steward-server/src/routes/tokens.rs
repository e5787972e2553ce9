//! `GET /v1/token-info/` and `POST /v0/enterprise/{eid}/developerapp/{id}/renew-token/`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use steward_proto::token::{TokenInfoV1, TokenRenewV0};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::http::auth::Caller;
use crate::http::extract::{ApiPath, Params};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(token_info))
        .routes(routes!(renew_token))
}

fn scopes(scope: &str) -> Vec<String> {
    scope.split_whitespace().map(str::to_string).collect()
}

/// What the calling API key is: its enterprise, id and scopes. The secret is never returned.
#[utoipa::path(
    get,
    path = "/v1/token-info/",
    tag = "Token",
    operation_id = "get_token_info",
    responses(
        (status = 200, body = TokenInfoV1),
        (status = 401, body = steward_proto::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn token_info(caller: Caller) -> Json<TokenInfoV1> {
    let key = caller.key;
    Json(TokenInfoV1 {
        id: key.id.to_string(),
        enterprise: key.enterprise_id,
        user: None,
        developer_app: key.uuid,
        source_refresh_token: None,
        token: format!("{}…", key.prefix),
        expires_on: key.expires_on,
        scope: scopes(&key.scope),
        created_on: key.created_on,
        updated_on: key.updated_on,
    })
}

#[derive(serde::Deserialize)]
struct RenewPath {
    enterprise_id: Uuid,
    developerapp_id: Uuid,
}

/// Issues a new key in place of `access_token`, a key of this enterprise whose id is
/// `developerapp_id`. The new key is shown once; the old one stays valid until revoked, so
/// running scripts can switch over.
#[utoipa::path(
    post,
    path = "/v0/enterprise/{enterprise_id}/developerapp/{developerapp_id}/renew-token/",
    tag = "Token",
    operation_id = "renew_token",
    params(
        ("enterprise_id" = Uuid, Path, description = "The enterprise's id"),
        ("developerapp_id" = Uuid, Path, description = "The id of the key to renew (token-info's developer_app)"),
        ("access_token" = String, Query, description = "The key to renew"),
    ),
    responses(
        (status = 201, body = TokenRenewV0),
        (status = 400, body = steward_proto::ErrorBody),
        (status = 401, body = steward_proto::ErrorBody),
        (status = 403, body = steward_proto::ErrorBody),
        (status = 404, body = steward_proto::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn renew_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<RenewPath>,
    params: Params,
) -> ApiResult<(StatusCode, Json<TokenRenewV0>)> {
    let enterprise_id = caller.enterprise(path.enterprise_id)?;
    let access_token = params.text("access_token", 512)?.ok_or_else(|| {
        ApiError::Invalid(steward_core::Invalid::field(
            "access_token",
            "this query parameter is required",
        ))
    })?;
    let old = state
        .store
        .authenticate_api_key(&access_token)
        .await?
        .filter(|k| k.enterprise_id == enterprise_id && k.uuid == path.developerapp_id)
        .ok_or_else(|| {
            ApiError::Invalid(steward_core::Invalid::field(
                "access_token",
                "is not a valid key of this developer app",
            ))
        })?;
    let enterprise = state.store.enterprise(enterprise_id).await?;
    let new = state
        .store
        .create_api_key(enterprise_id, &old.name, old.expires_on)
        .await?;
    let key = new.key;
    Ok((
        StatusCode::CREATED,
        Json(TokenRenewV0 {
            id: key.id.to_string(),
            user: None,
            enterprise: format!("{} [{}]", enterprise.name, enterprise.id),
            token: new.secret,
            expires_at: key.expires_on,
            developerapp: format!("{} ({})", key.name, key.uuid),
            scope: key.scope,
            created_on: key.created_on,
            updated_on: key.updated_on,
        }),
    ))
}
