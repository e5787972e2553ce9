//! A 501 in Esper's envelope for every endpoint of the public spec without a handler yet, so a
//! client learns "not built" rather than "no such thing".

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::RawPathParams;
use axum::routing::{MethodFilter, MethodRouter, on};
use steward_core::Invalid;
use utoipa::openapi::OpenApi;
use uuid::Uuid;

use crate::compat::{SPEC_ENDPOINTS, is_implemented, route_path};
use crate::error::ApiError;
use crate::http::auth::Caller;
use crate::state::AppState;

fn filter(method: &str) -> Option<MethodFilter> {
    Some(match method {
        "GET" => MethodFilter::GET,
        "POST" => MethodFilter::POST,
        "PUT" => MethodFilter::PUT,
        "PATCH" => MethodFilter::PATCH,
        "DELETE" => MethodFilter::DELETE,
        _ => return None,
    })
}

/// Another enterprise's id in the path is refused as everywhere else, built or not.
fn check_enterprise(caller: &Caller, params: &RawPathParams) -> Result<(), ApiError> {
    for (name, value) in params {
        if name == "enterprise_id" {
            let id = value.parse::<Uuid>().map_err(|_| {
                Invalid::field(
                    "enterprise_id",
                    format!("{value:?} is not a valid id (expected a UUID)"),
                )
            })?;
            caller.enterprise(id)?;
        }
    }
    Ok(())
}

pub fn add_missing(mut router: Router<AppState>, document: &OpenApi) -> Router<AppState> {
    let mut by_path: BTreeMap<String, MethodRouter<AppState>> = BTreeMap::new();
    for endpoint in SPEC_ENDPOINTS
        .iter()
        .filter(|e| !is_implemented(document, e))
    {
        let Some(method) = filter(endpoint.method) else {
            continue;
        };
        let label = format!("{} /api{}", endpoint.method, endpoint.path);
        let handler = on(
            method,
            move |caller: Caller, params: RawPathParams| async move {
                check_enterprise(&caller, &params)?;
                Err::<(), _>(ApiError::NotImplemented(format!(
                    "{label} is not implemented by Steward yet."
                )))
            },
        );
        let path = route_path(endpoint.path);
        let merged = match by_path.remove(&path) {
            Some(existing) => existing.merge(handler),
            None => handler,
        };
        by_path.insert(path, merged);
    }
    for (path, methods) in by_path {
        router = router.route(&path, methods);
    }
    router
}
