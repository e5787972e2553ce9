//! Liveness, readiness and metrics, outside `/api` and without a key.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa_swagger_ui::SwaggerUi;

use crate::error::ApiError;
use crate::http::middleware::prometheus;
use crate::openapi::api_document;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", api_document()))
}

/// The process is up.
async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({"status": "ok"}))
}

/// The database answers, so requests can be served.
async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    state
        .store
        .ping()
        .await
        .map_err(|e| ApiError::Unavailable(format!("database not ready: {e}")))?;
    Ok(axum::Json(serde_json::json!({"status": "ready"})))
}

/// Prometheus text format.
async fn metrics() -> impl IntoResponse {
    match prometheus() {
        Some(handle) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => ApiError::Unavailable("metrics recorder unavailable".into()).into_response(),
    }
}
