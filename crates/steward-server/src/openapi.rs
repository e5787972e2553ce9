//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi, Server};
use utoipa::{Modify, OpenApi as _};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Steward API",
        description = "Esper-compatible fleet management API. Paths are relative to `/api`; \
                       authenticate with `Authorization: Bearer <API key>`. Errors use \
                       `{errors, message, status}`.",
    ),
    modifiers(&Bearer),
    components(schemas(steward_proto::ErrorBody)),
    tags(
        (name = "Enterprise", description = "The enterprise (tenant) the key belongs to"),
        (name = "Token", description = "API keys"),
        (name = "Device groups", description = "Groups of devices, nested up to five levels"),
        (name = "Devices", description = "Devices enrolled with steward-agent"),
        (name = "Devices (v2)", description = "Devices and heartbeats in the v2 envelope"),
        (name = "Enrolment (Steward)", description = "Steward extension: tokens devices enrol with"),
    )
)]
struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key made with `steward apikey create`"))
                    .build(),
            ),
        );
    }
}

/// The document's frame: info, security scheme, tags; the routes add their paths.
pub fn base() -> OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc.servers = Some(vec![Server::new("/api")]);
    doc
}

/// The complete document served at `/api/openapi.json`.
pub fn api_document() -> OpenApi {
    crate::routes::documented().into_openapi()
}
