//! Request parsing that answers bad input with a 4xx naming the problem.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use steward_core::Invalid;
use steward_core::pagination::PageRequest;
use steward_core::query::parse_bool;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body. Content type must be JSON; the body is size-capped; a wrong type or a
/// malformed document is a 400 that names the field.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase);
        let json = content_type.as_deref().is_some_and(|ct| {
            let essence = ct.split(';').next().unwrap_or("").trim();
            essence == "application/json" || essence.ends_with("+json")
        });
        if !json {
            return Err(ApiError::UnsupportedMediaType(format!(
                "Unsupported media type {:?} in request; send application/json.",
                content_type.unwrap_or_default()
            )));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| body_rejection(e, state.settings.max_body_bytes))?;
        parse_json(&bytes).map(ApiJson)
    }
}

fn body_rejection(e: BytesRejection, limit: usize) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge(format!(
            "The request body is larger than the limit of {limit} bytes."
        ))
    } else {
        ApiError::BadRequest(format!("The request body could not be read: {e}"))
    }
}

/// Deserializes a JSON document, naming the path of the first bad field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(
            "The request body is empty; send a JSON object.".into(),
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize::<_, T>(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::BadRequest(format!("Malformed JSON: {inner}"))
        } else if path == "." || path.is_empty() {
            Invalid::field("body", inner.to_string()).into()
        } else {
            Invalid::field(path, inner.to_string()).into()
        }
    })?;
    de.end()
        .map_err(|e| ApiError::BadRequest(format!("Malformed JSON: {e}")))?;
    Ok(value)
}

/// Path parameters; a malformed one (say, not a UUID) is a 400 that names it.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                use axum::extract::path::ErrorKind;
                Err(match e.into_kind() {
                    ErrorKind::ParseErrorAtKey { key, value, .. } => Invalid::field(
                        key,
                        format!("{value:?} is not a valid id (expected a UUID)"),
                    )
                    .into(),
                    ErrorKind::Message(msg) if msg.contains("UUID") => {
                        Invalid::field("path", format!("malformed id in the path: {msg}")).into()
                    }
                    other => ApiError::BadRequest(format!("Bad path parameter: {other}")),
                })
            }
            Err(other) => Err(ApiError::BadRequest(other.body_text())),
        }
    }
}

/// The query string as name/value pairs, read the way Esper's clients write it.
/// Unknown parameters are ignored (as Django REST framework does).
pub struct Params(Vec<(String, String)>);

/// Longest value a query parameter may have.
const MAX_PARAM_LEN: usize = 2048;

impl Params {
    /// The last value given for `name`, if not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// A text filter, at most `max` characters.
    pub fn text(&self, name: &str, max: usize) -> Result<Option<String>, ApiError> {
        match self.get(name) {
            Some(v) if v.chars().count() > max => {
                Err(Invalid::field(name, format!("must have at most {max} characters")).into())
            }
            other => Ok(other.map(str::to_string)),
        }
    }

    /// One of `allowed`, in any letter case; the allowed spelling.
    pub fn one_of(
        &self,
        name: &str,
        allowed: &[&'static str],
    ) -> Result<Option<&'static str>, ApiError> {
        self.get(name)
            .map(|v| {
                allowed
                    .iter()
                    .find(|a| a.eq_ignore_ascii_case(v.trim()))
                    .copied()
                    .ok_or_else(|| {
                        Invalid::field(name, format!("{v:?} is not one of {}", allowed.join(", ")))
                            .into()
                    })
            })
            .transpose()
    }

    /// An id.
    pub fn uuid(&self, name: &str) -> Result<Option<uuid::Uuid>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse().map_err(|_| {
                    Invalid::field(name, format!("{v:?} is not a valid id (expected a UUID)"))
                        .into()
                })
            })
            .transpose()
    }

    /// A whole number.
    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse().map_err(|_| {
                    Invalid::field(name, format!("{v:?} is not a whole number")).into()
                })
            })
            .transpose()
    }

    /// An ISO-8601 date-time (`2024-05-01T10:00:00Z`, fractions allowed).
    pub fn datetime(&self, name: &str) -> Result<Option<time::OffsetDateTime>, ApiError> {
        self.get(name)
            .map(|v| {
                time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| {
                        Invalid::field(
                            name,
                            format!("{v:?} is not a date-time like 2024-05-01T10:00:00Z"),
                        )
                        .into()
                    })
            })
            .transpose()
    }

    /// A boolean in any of `true/false/True/False/1/0`.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        self.get(name)
            .map(|v| {
                parse_bool(v).ok_or_else(|| {
                    Invalid::field(name, format!("{v:?} is not a boolean (use true or false)"))
                        .into()
                })
            })
            .transpose()
    }

    /// `limit` and `offset`, the limit capped at the server's maximum page size.
    pub fn page(&self, max_limit: u64) -> Result<PageRequest, ApiError> {
        Ok(PageRequest::parse(
            self.get("limit"),
            self.get("offset"),
            max_limit,
        )?)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if let Some((k, _)) = pairs.iter().find(|(_, v)| v.len() > MAX_PARAM_LEN) {
            return Err(Invalid::field(
                k.clone(),
                format!("must have at most {MAX_PARAM_LEN} characters"),
            )
            .into());
        }
        Ok(Params(pairs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Body {
        name: Option<String>,
        ids: Option<Vec<uuid::Uuid>>,
    }

    #[test]
    fn json_errors_name_the_field() {
        let err = parse_json::<Body>(br#"{"name": 5}"#).unwrap_err();
        assert!(
            matches!(&err, ApiError::Invalid(i) if i.0[0].0 == "name"),
            "{err:?}"
        );
        let err = parse_json::<Body>(br#"{"ids": ["nope"]}"#).unwrap_err();
        assert!(
            matches!(&err, ApiError::Invalid(i) if i.0[0].0 == "ids[0]"),
            "{err:?}"
        );
        let err = parse_json::<Body>(br#"{"name": "x""#).unwrap_err();
        assert!(matches!(err, ApiError::BadRequest(m) if m.starts_with("Malformed JSON")));
        let err = parse_json::<Body>(b"  ").unwrap_err();
        assert!(matches!(err, ApiError::BadRequest(_)));
        let err = parse_json::<Body>(br#"{} trailing"#).unwrap_err();
        assert!(matches!(err, ApiError::BadRequest(_)));
        let err = parse_json::<Body>(br#"[1]"#).unwrap_err();
        assert!(matches!(err, ApiError::Invalid(_)));
        assert!(parse_json::<Body>(br#"{"name": "x", "unknown": 1}"#).is_ok());
    }
}
