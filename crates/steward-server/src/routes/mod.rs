//! The API's routes, one module per domain, merged here.

pub mod agent_files;
pub mod applications;
pub mod commands;
pub mod content;
pub mod custom_actions;
pub mod device_commands;
pub mod devices;
pub mod devices_v2;
pub mod enrollment;
pub mod enterprise;
pub mod files;
pub mod groups;
pub mod system;
pub mod tokens;
mod unimplemented;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::openapi;
use crate::state::AppState;

/// Every implemented route, with its OpenAPI description.
pub fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .merge(enterprise::router())
        .merge(applications::router())
        .merge(content::router())
        .merge(tokens::router())
        .merge(groups::router())
        .merge(devices::router())
        .merge(devices_v2::router())
        .merge(enrollment::router())
        .merge(commands::router())
        .merge(custom_actions::router())
        .merge(device_commands::router())
}

/// The router mounted at `/api`: the implemented routes, then a 501 for every endpoint of the
/// public spec that has no handler yet.
pub fn api_router(_state: AppState) -> Router<AppState> {
    let (router, document) = documented().split_for_parts();
    unimplemented::add_missing(router, &document)
}
