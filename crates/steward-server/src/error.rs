//! The API's one error type, rendered as Esper's envelope `{errors, message, status}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use steward_core::Invalid;
use steward_proto::ErrorBody;
use steward_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400, with one entry per bad field.
    #[error("{0}")]
    Invalid(#[from] Invalid),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("rate limit exceeded; retry in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("{0}")]
    NotImplemented(String),
    #[error("{0}")]
    Unavailable(String),
    /// 500: the cause is logged (with the request id of the span), never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Invalid(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(what.to_string())
    }

    /// The body this error is answered with.
    pub fn body(&self) -> ErrorBody {
        let status = self.status().as_u16();
        match self {
            ApiError::Invalid(invalid) => ErrorBody {
                errors: invalid.0.iter().map(|(f, p)| format!("{f}: {p}")).collect(),
                message: format!("Invalid request: {invalid}"),
                status,
            },
            ApiError::NotFound(what) => ErrorBody {
                errors: Vec::new(),
                message: format!("Not found: no such {what}."),
                status,
            },
            ApiError::Internal(_) => ErrorBody {
                errors: Vec::new(),
                message:
                    "Internal server error; the server log has the details under this request's id."
                        .to_string(),
                status,
            },
            other => ErrorBody {
                errors: Vec::new(),
                message: other.to_string(),
                status,
            },
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::NotFound(what.to_string()),
            StoreError::Invalid(invalid) => ApiError::Invalid(invalid),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "request failed");
        }
        let status = self.status();
        let mut response = (status, axum::Json(self.body())).into_response();
        if let ApiError::TooManyRequests { retry_after_secs } = self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs.max(1)),
            );
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
