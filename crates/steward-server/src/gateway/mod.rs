//! The device gateway: enrolment over HTTPS and one WebSocket per device.

pub mod dispatch;
mod ingest;
mod presence;
pub mod registry;
mod session;
pub mod writer;

use axum::Json;
use axum::Router;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use steward_core::FieldErrors;
use steward_proto::agent::{
    CONNECT_PATH, ENROLL_PATH, EnrollRequest, EnrollResponse, MAX_FRAME_BYTES, MAX_UNSENT_BYTES,
    SOCKET_READ_BUFFER_BYTES,
};
use steward_store::devices::Enrollment;
use steward_store::keys::hash_secret;

use crate::error::{ApiError, ApiResult};
use crate::http::extract::ApiJson;
use crate::state::AppState;

pub use presence::run_presence;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(ENROLL_PATH, post(enroll))
        .route(CONNECT_PATH, get(connect))
}

fn validate(req: &EnrollRequest) -> Result<(), ApiError> {
    let mut e = FieldErrors::new();
    e.required_text("token", Some(&req.token), 256);
    e.required_text("device_name", Some(&req.device_name), 255);
    for (field, value) in [
        ("serial", &req.serial),
        ("imei", &req.imei),
        ("manufacturer", &req.manufacturer),
        ("model", &req.model),
        ("platform", &req.platform),
    ] {
        e.optional_text(field, value.as_deref(), 1, 255);
    }
    Ok(e.finish()?)
}

/// `POST /agent/v1/enroll`: a device trades an enrolment token for its own credential.
async fn enroll(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<EnrollRequest>,
) -> ApiResult<(StatusCode, Json<EnrollResponse>)> {
    validate(&req)?;
    if let Some(limiter) = &state.limiter {
        limiter.check(&format!("enroll:{}", hash_secret(&req.token)))?;
    }
    let enrollment = Enrollment {
        device_name: req.device_name,
        serial: req.serial,
        imei: req.imei,
        manufacturer: req.manufacturer,
        model: req.model,
        platform: req.platform.map(|p| p.to_ascii_uppercase()),
    };
    let (device, secret) = state.store.enroll_device(&req.token, &enrollment).await?;
    tracing::debug!(device = %device.id, enterprise = %device.enterprise_id, "device enrolled");
    Ok((
        StatusCode::CREATED,
        Json(EnrollResponse {
            device_id: device.id,
            enterprise_id: device.enterprise_id,
            device_token: secret,
        }),
    ))
}

/// `GET /agent/v1/connect`: the device's WebSocket. The credential is checked before the
/// upgrade, so a wrong or revoked one gets a plain 401 and nothing is written.
async fn connect(
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let secret = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 256);
    let Some(secret) = secret else {
        return ApiError::Unauthorized("A device credential is required.".into()).into_response();
    };
    // The same per-credential allowance as API keys: a device stuck in a reconnect loop, or
    // someone trying credentials, cannot hammer the database.
    if let Some(limiter) = &state.limiter
        && let Err(e) = limiter.check(&format!("device:{}", hash_secret(secret)))
    {
        return e.into_response();
    }
    let device = match state.store.authenticate_device(secret).await {
        Ok(Some(device)) => device,
        Ok(None) => {
            return ApiError::Unauthorized("Unknown or revoked device credential.".into())
                .into_response();
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    let upgrade = match upgrade {
        Ok(u) => u,
        Err(rejection) => {
            return ApiError::BadRequest(format!("Not a WebSocket upgrade: {rejection}"))
                .into_response();
        }
    };
    upgrade
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .read_buffer_size(SOCKET_READ_BUFFER_BYTES)
        // Every frame is flushed as it is sent; nothing to gather.
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_UNSENT_BYTES)
        .on_upgrade(move |socket| {
            let sessions = state.sessions.clone();
            sessions.track_future(session::run(state, device, socket))
        })
}
