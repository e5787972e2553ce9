//! `Authorization: Bearer <key>`: who is calling, and which enterprise they reach.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use steward_store::keys::{ApiKey, hash_secret};
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// An authenticated API caller. Taking it as an argument makes a handler require a key.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key: ApiKey,
}

impl Caller {
    /// The enterprise named in a path, if it is the caller's; 403 for any other.
    pub fn enterprise(&self, in_path: Uuid) -> Result<Uuid, ApiError> {
        if in_path == self.key.enterprise_id {
            Ok(in_path)
        } else {
            Err(ApiError::Forbidden(format!(
                "This API key has no access to enterprise {in_path}."
            )))
        }
    }
}

/// The key from the header: `Bearer <key>` (any case of `Bearer`), or the bare key, which
/// esperclient sends when no prefix is configured.
fn presented_key(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
        ApiError::Unauthorized("Authentication credentials were not provided.".into())
    })?;
    let value = header
        .to_str()
        .map_err(|_| ApiError::Unauthorized("The Authorization header is not valid text.".into()))?
        .trim();
    let key = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        Some(_) => {
            return Err(ApiError::Unauthorized(
                "Use the Authorization header as 'Bearer <API key>'.".into(),
            ));
        }
        None => value,
    };
    if key.is_empty() || key.len() > 512 {
        return Err(ApiError::Unauthorized("Invalid API key.".into()));
    }
    Ok(key)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let secret = presented_key(parts)?;
        if let Some(limiter) = &state.limiter {
            limiter.check(&hash_secret(secret))?;
        }
        let key = state
            .store
            .authenticate_api_key(secret)
            .await?
            .ok_or_else(|| ApiError::Unauthorized("Invalid, expired or revoked API key.".into()))?;
        let caller = Caller { key };
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}
