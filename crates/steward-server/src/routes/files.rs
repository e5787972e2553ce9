//! Downloads by signed URL: `GET /files/{key}?expires=…&signature=…`, outside `/api` and
//! without an API key. The URL is made by [`signed_url`] when a response names a file.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::TryStreamExt;

use crate::error::{ApiError, ApiResult};
use crate::http::links::Links;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/files/{*key}", get(download))
}

/// A download URL for the blob `key`, working for the configured time.
pub async fn signed_url(state: &AppState, links: &Links, key: &str) -> ApiResult<String> {
    let ttl = i64::try_from(state.settings.files.download_ttl.as_secs()).unwrap_or(3600);
    let expires = time::OffsetDateTime::now_utc().unix_timestamp() + ttl;
    let signature = state.signer().await?.sign(key, expires);
    Ok(links.file(key, expires, &signature))
}

#[derive(serde::Deserialize)]
struct Signed {
    expires: Option<i64>,
    signature: Option<String>,
}

async fn download(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(signed): Query<Signed>,
) -> ApiResult<Response> {
    let (Some(expires), Some(signature)) = (signed.expires, signed.signature) else {
        return Err(ApiError::Forbidden(
            "this download URL is not signed; ask the API for a fresh one".into(),
        ));
    };
    if !state.signer().await?.verify(&key, expires, &signature) {
        return Err(ApiError::Forbidden(
            "this download URL's signature does not match; ask the API for a fresh one".into(),
        ));
    }
    if expires < time::OffsetDateTime::now_utc().unix_timestamp() {
        return Err(ApiError::Forbidden(
            "this download URL has expired; ask the API for a fresh one".into(),
        ));
    }
    stream_blob(&state, &key).await
}

/// The blob `key` as a download, streamed from storage.
pub async fn stream_blob(state: &AppState, key: &str) -> ApiResult<Response> {
    let blob = match state.blobs.get(key).await {
        Ok(b) => b,
        Err(object_store::Error::NotFound { .. }) => return Err(ApiError::not_found("file")),
        Err(e) => return Err(ApiError::Internal(format!("blob storage: {e}"))),
    };
    let size = blob.meta.size;
    let name = key.rsplit('/').next().unwrap_or("download").to_string();
    let stream = blob.into_stream().map_err(std::io::Error::other);
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}
