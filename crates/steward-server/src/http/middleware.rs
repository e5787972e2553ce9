//! Middleware: trailing-slash normalisation, request metrics, and the answers for panics,
//! unknown paths and wrong methods.

use std::any::Any;
use std::sync::OnceLock;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::Uri;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::error::ApiError;

/// Esper's paths end in `/`, but clients call some without it. Every `/api/…` path is given its
/// trailing slash before routing, so both spellings reach one route and nothing is redirected
/// (a redirected POST would lose its body). The OpenAPI document and the API browser are files,
/// not Esper paths, and are left alone.
pub fn normalize_path<B>(mut req: axum::http::Request<B>) -> axum::http::Request<B> {
    let path = req.uri().path();
    let wants_slash = path.starts_with("/api/")
        && !path.ends_with('/')
        && path != "/api/openapi.json"
        && !path.starts_with("/api/docs");
    if wants_slash {
        let new_path = format!("{path}/");
        let path_and_query = match req.uri().query() {
            Some(q) => format!("{new_path}?{q}"),
            None => new_path,
        };
        let mut parts = req.uri().clone().into_parts();
        if let Ok(pq) = path_and_query.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
    req
}

/// The process's Prometheus recorder. The `metrics` facade has one recorder per process, so
/// every server in the process shares it; `None` if another recorder was installed first.
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().ok())
        .as_ref()
}

/// Counts every request and its duration by route template, method and status.
pub async fn track_metrics(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = req.method().to_string();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("steward_http_requests_total", &labels).increment(1);
    metrics::histogram!("steward_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// A panic in a handler becomes a 500 in the envelope; the cause goes to the log only.
pub fn panic_response(cause: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let text = cause
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| cause.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".to_string());
    ApiError::Internal(format!("handler panicked: {text}")).into_response()
}

pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("endpoint {}", uri.path()))
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_of(uri: &str) -> String {
        let req = Request::builder().uri(uri).body(Body::empty()).unwrap();
        normalize_path(req).uri().to_string()
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_in_the_envelope() {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        async fn boom() -> &'static str {
            panic!("kaboom")
        }
        let app = axum::Router::new()
            .route("/boom", axum::routing::get(boom))
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(
                panic_response,
            ));
        let req = Request::builder().uri("/boom").body(Body::empty()).unwrap();
        let response = app.oneshot(req).await.unwrap();
        assert_eq!(response.status(), 500);
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["status"], 500);
        assert!(body["errors"].is_array());
        assert!(
            !body["message"].as_str().unwrap().contains("kaboom"),
            "the cause is not leaked"
        );
    }

    #[test]
    fn api_paths_get_their_trailing_slash() {
        assert_eq!(path_of("/api/v1/token-info"), "/api/v1/token-info/");
        assert_eq!(path_of("/api/v1/token-info/"), "/api/v1/token-info/");
        assert_eq!(
            path_of("/api/enterprise/x/devicegroup?name=a&limit=1"),
            "/api/enterprise/x/devicegroup/?name=a&limit=1"
        );
        assert_eq!(path_of("/api/openapi.json"), "/api/openapi.json");
        assert_eq!(path_of("/api/docs/index.css"), "/api/docs/index.css");
        assert_eq!(path_of("/healthz"), "/healthz");
    }
}
