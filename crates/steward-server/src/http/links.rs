//! Absolute URLs in responses: object references and page links.

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::header::HOST;
use axum::http::request::Parts;
use steward_core::pagination::PageRequest;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// Builds absolute URLs from the configured public URL, or else from the request's own
/// scheme and host.
#[derive(Debug, Clone)]
pub struct Links {
    /// `https://host[:port]`, without a trailing slash.
    origin: String,
    /// The request's path and query, as received.
    request_path: String,
    request_query: Option<String>,
}

impl Links {
    /// `{origin}/api/enterprise/{eid}/`.
    pub fn enterprise(&self, enterprise_id: Uuid) -> String {
        format!("{}/api/enterprise/{enterprise_id}/", self.origin)
    }

    /// `{origin}/api/enterprise/{eid}/devicegroup/{gid}/`.
    pub fn group(&self, enterprise_id: Uuid, group_id: Uuid) -> String {
        format!(
            "{}/api/enterprise/{enterprise_id}/devicegroup/{group_id}/",
            self.origin
        )
    }

    /// `{origin}/api/enterprise/{eid}/device/{id}/`.
    pub fn device(&self, enterprise_id: Uuid, device_id: Uuid) -> String {
        format!(
            "{}/api/enterprise/{enterprise_id}/device/{device_id}/",
            self.origin
        )
    }

    /// `{origin}/files/{key}?expires=…&signature=…`: a download that needs no API key.
    pub fn file(&self, key: &str, expires: i64, signature: &str) -> String {
        format!(
            "{}/files/{key}?expires={expires}&signature={signature}",
            self.origin
        )
    }

    /// A page of `results` out of `count`, with its links.
    pub fn page<T>(
        &self,
        page: PageRequest,
        count: u64,
        results: Vec<T>,
    ) -> steward_proto::Page<T> {
        let (next, previous) = self.page_links(page, count);
        steward_proto::Page {
            count,
            next,
            previous,
            results,
        }
    }

    /// `next` and `previous` of a page: this request's URL with `limit`/`offset` replaced.
    /// `previous` drops `offset` when it would be 0, as Django REST framework does.
    pub fn page_links(&self, page: PageRequest, count: u64) -> (Option<String>, Option<String>) {
        let next = page
            .next_offset(count)
            .map(|offset| self.with_window(page.limit, Some(offset)));
        let previous = page
            .previous_offset()
            .map(|offset| self.with_window(page.limit, (offset > 0).then_some(offset)));
        (next, previous)
    }

    fn with_window(&self, limit: u64, offset: Option<u64>) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(q) = &self.request_query {
            for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
                if k != "limit" && k != "offset" {
                    query.append_pair(&k, &v);
                }
            }
        }
        query.append_pair("limit", &limit.to_string());
        if let Some(offset) = offset {
            query.append_pair("offset", &offset.to_string());
        }
        format!("{}{}?{}", self.origin, self.request_path, query.finish())
    }
}

impl FromRequestParts<AppState> for Links {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .map(|o| o.0.clone())
            .unwrap_or_else(|| parts.uri.clone());
        let origin = match &state.settings.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => {
                let scheme = if state.settings.tls.is_some() {
                    "https"
                } else {
                    "http"
                };
                let host = parts
                    .headers
                    .get(HOST)
                    .and_then(|h| h.to_str().ok())
                    .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
                    .map(str::to_string)
                    .unwrap_or_else(|| state.settings.listen.to_string());
                format!("{scheme}://{host}")
            }
        };
        Ok(Self {
            origin,
            request_path: uri.path().to_string(),
            request_query: uri.query().map(str::to_string),
        })
    }
}
