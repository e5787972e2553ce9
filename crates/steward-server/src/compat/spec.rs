//! Every endpoint of Esper's public API spec (legacy, v0 and v1), as the clients spell it.
//! The router answers each one: with a real handler, or with 501 in Esper's error envelope.

/// One endpoint of the public spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecEndpoint {
    /// HTTP method in upper case.
    pub method: &'static str,
    /// Path below `/api`, as Esper spells it (trailing slash included where Esper has one).
    pub path: &'static str,
    /// Catalog section, e.g. "2.4 Device groups".
    pub section: &'static str,
    /// esperclient 0.1.3 method (`Api.method`), empty if the SDK has none.
    pub sdk: &'static str,
}

pub const SPEC_ENDPOINTS: &[SpecEndpoint] = &[
    SpecEndpoint {
        method: "GET",
        path: "/v1/enterprise/{enterprise_id}/",
        section: "2.1 Enterprise and token",
        sdk: "EnterpriseApi.get_enterprise",
    },
    SpecEndpoint {
        method: "GET",
        path: "/enterprise/{enterprise_id}/device/",
        section: "2.2 Devices",
        sdk: "DeviceApi.get_all_devices",
    },
];
