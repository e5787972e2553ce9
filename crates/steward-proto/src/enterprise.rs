//! Enterprise (tenant) shapes: `GET/PATCH /v1/enterprise/{enterprise_id}/`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use time::OffsetDateTime;

/// EnterpriseV1 as esperclient parses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EnterpriseV1 {
    pub id: Uuid,
    pub name: String,
    pub short_code: String,
    pub registered_name: Option<String>,
    pub registered_address: Option<String>,
    pub location: Option<String>,
    pub zipcode: Option<String>,
    pub contact_person: Option<String>,
    pub contact_number: Option<String>,
    pub contact_email: Option<String>,
    /// Google EMM binding; always null on Steward.
    pub emm: Option<serde_json::Value>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_on: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_on: OffsetDateTime,
}

/// EnterpriseUpdateV1: every field optional; a field that is present is changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EnterpriseUpdateV1 {
    pub name: Option<String>,
    pub registered_name: Option<String>,
    pub registered_address: Option<String>,
    pub location: Option<String>,
    pub zipcode: Option<String>,
    pub contact_person: Option<String>,
    pub contact_number: Option<String>,
    pub contact_email: Option<String>,
}
