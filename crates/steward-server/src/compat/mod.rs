//! How Steward's routes line up with Esper's public spec: which endpoints are implemented, and
//! the table published as `docs/COMPATIBILITY.md`.

pub mod spec;

use utoipa::openapi::OpenApi;
use utoipa::openapi::path::HttpMethod;

pub use spec::{SPEC_ENDPOINTS, SpecEndpoint};

/// The route a spec path is served on: every `/api` path gets its trailing slash before routing.
pub fn route_path(spec_path: &str) -> String {
    if spec_path.ends_with('/') {
        spec_path.to_string()
    } else {
        format!("{spec_path}/")
    }
}

fn http_method(method: &str) -> Option<HttpMethod> {
    Some(match method {
        "GET" => HttpMethod::Get,
        "POST" => HttpMethod::Post,
        "PUT" => HttpMethod::Put,
        "PATCH" => HttpMethod::Patch,
        "DELETE" => HttpMethod::Delete,
        _ => return None,
    })
}

/// Whether the document (the implemented routes) has this endpoint.
pub fn is_implemented(document: &OpenApi, endpoint: &SpecEndpoint) -> bool {
    let Some(item) = document.paths.paths.get(&route_path(endpoint.path)) else {
        return false;
    };
    match http_method(endpoint.method) {
        Some(HttpMethod::Get) => item.get.is_some(),
        Some(HttpMethod::Post) => item.post.is_some(),
        Some(HttpMethod::Put) => item.put.is_some(),
        Some(HttpMethod::Patch) => item.patch.is_some(),
        Some(HttpMethod::Delete) => item.delete.is_some(),
        _ => false,
    }
}

/// `docs/COMPATIBILITY.md`, generated from the spec list and the implemented routes.
pub fn compatibility_table(document: &OpenApi) -> String {
    let implemented = SPEC_ENDPOINTS
        .iter()
        .filter(|e| is_implemented(document, e))
        .count();
    let mut out = String::new();
    out.push_str("# Compatibility with Esper's public API\n\n");
    out.push_str(
        "Generated from the router by `cargo run -p steward -- compat-table > docs/COMPATIBILITY.md`; \
         a test fails when this file and the router disagree.\n\n",
    );
    out.push_str(&format!(
        "{implemented} of {} endpoints of the public spec (legacy, v0 and v1) are implemented. \
         Every other one answers `501 Not Implemented` in Esper's error envelope \
         (after authentication). Paths are relative to `/api`; both trailing-slash forms are \
         accepted.\n\n",
        SPEC_ENDPOINTS.len()
    ));
    out.push_str("| Section | Method | Path | esperclient 0.1.3 | Status |\n");
    out.push_str("|---|---|---|---|---|\n");
    for e in SPEC_ENDPOINTS {
        let status = if is_implemented(document, e) {
            "implemented"
        } else {
            "501"
        };
        let sdk = if e.sdk.is_empty() { "–" } else { e.sdk };
        out.push_str(&format!(
            "| {} | {} | `{}` | {} | {} |\n",
            e.section, e.method, e.path, sdk, status
        ));
    }
    out
}
