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

/// The endpoints of `shared/reference/esper-api-catalog.md` §2.1–2.8, checked against the Swagger
/// spec `esper-io/esper-api-spec` (branch `master`, plus the few paths noted below that only other
/// branches or the published gh-pages bundles have) and the paths esperclient 0.1.3 calls.
/// Ordered by section, then path, then GET, POST, PUT, PATCH, DELETE.
pub const SPEC_ENDPOINTS: &[SpecEndpoint] = &[
    // Old gh-pages previews only (e.g. preview/branding); superseded by v1.
    SpecEndpoint {
        method: "GET",
        path: "/enterprise/",
        section: "2.1 Enterprise and token",
        sdk: "",
    },
    // Old gh-pages previews only.
    SpecEndpoint {
        method: "GET",
        path: "/enterprise/{enterprise_id}/",
        section: "2.1 Enterprise and token",
        sdk: "",
    },
    // Old gh-pages previews only.
    SpecEndpoint {
        method: "PATCH",
        path: "/enterprise/{enterprise_id}/",
        section: "2.1 Enterprise and token",
        sdk: "",
    },
    SpecEndpoint {
        method: "POST",
        path: "/v0/enterprise/{enterprise_id}/developerapp/{developerapp_id}/renew-token/",
        section: "2.1 Enterprise and token",
        sdk: "TokenApi.renew_token",
    },
    SpecEndpoint {
        method: "GET",
        path: "/v1/enterprise/{enterprise_id}/",
        section: "2.1 Enterprise and token",
        sdk: "EnterpriseApi.get_enterprise",
    },
    SpecEndpoint {
        method: "PATCH",
        path: "/v1/enterprise/{enterprise_id}/",
        section: "2.1 Enterprise and token",
        sdk: "EnterpriseApi.partial_update_enterprise",
    },
    SpecEndpoint {
        method: "GET",
        path: "/v1/token-info/",
        section: "2.1 Enterprise and token",
        sdk: "TokenApi.get_token_info",
    },
    SpecEndpoint {
        method: "GET",
        path: "/enterprise/{enterprise_id}/device/",
        section: "2.2 Devices",
        sdk: "DeviceApi.get_all_devices",
    },
    SpecEndpoint {
        method: "GET",
        path: "/enterprise/{enterprise_id}/device/{device_id}/",
        section: "2.2 Devices",
        sdk: "DeviceApi.get_device_by_id",
    },
    // Not in the Swagger spec: used by esper-api-support-tool (tags).
    SpecEndpoint {
        method: "PATCH",
        path: "/enterprise/{enterprise_id}/device/{device_id}/",
        section: "2.2 Devices",
        sdk: "",
    },
    SpecEndpoint {
        method: "GET",
        path: "/enterprise/{enterprise_id}/device/{device_id}/app/",
        section: "2.2 Devices",
        sdk: "DeviceApi.get_device_apps",
    },
    SpecEndpoint {
        method: "GET",
        path: "/enterprise/{enterprise_id}/device/{device_id}/app/{app_id}/",
        section: "2.2 Devices",
        sdk: "DeviceApi.get_device_app_by_id",
    },
    SpecEndpoint {
        method: "GET",
        path: "/enterprise/{enterprise_id}/device/{device_id}/install/",
        section: "2.2 Devices",
        sdk: "DeviceApi.get_app_installs",
    },
    SpecEndpoint {
        method: "GET",
        path: "/enterprise/{enterprise_id}/device/{device_id}/status/",
        section: "2.2 Devices",
        sdk: "DeviceApi.get_device_event",
    },
    SpecEndpoint {
        method: "POST",
        path: "/enterprise/{enterprise_id}/device/{device_id}/command/",
        section: "2.3 Device and group commands",
        sdk: "CommandsApi.run_command",
    },
    SpecEndpoint {
        method: "GET",
        path: "/enterprise/{enterprise_id}/device/{device_id}/command/{command_id}/",
        section: "2.3 Device and group commands",
        sdk: "CommandsApi.get_command",
    },
    SpecEndpoint {
        method: "POST",
        path: "/enterprise/{enterprise_id}/devicegroup/{group_id}/command/",
        section: "2.3 Device and group commands",
        sdk: "GroupCommandsApi.run_group_command",
    },
    SpecEndpoint {
        method: "GET",
        path: "/enterprise/{enterprise_id}/devicegroup/{group_id}/command/{command_id}/",
        section: "2.3 Device and group commands",
        sdk: "GroupCommandsApi.get_group_command",
    },
    SpecEndpoint {
        method: "GET",
        path: "/enterprise/{enterprise_id}/devicegroup/",
        section: "2.4 Device groups",
        sdk: "DeviceGroupApi.get_all_groups",
    },
    SpecEndpoint {
        method: "POST",
        path: "/enterprise/{enterprise_id}/devicegroup/",
        section: "2.4 Device groups",
        sdk: "DeviceGroupApi.create_group",
    },
    SpecEndpoint {
        method: "GET",
        path: "/enterprise/{enterprise_id}/devicegroup/{group_id}/",
        section: "2.4 Device groups",
        sdk: "DeviceGroupApi.get_group_by_id",
    },
    SpecEndpoint {
        method: "PUT",
        path: "/enterprise/{enterprise_id}/devicegroup/{group_id}/",
        section: "2.4 Device groups",
        sdk: "DeviceGroupApi.update_group",
    },
    SpecEndpoint {
        method: "PATCH",
        path: "/enterprise/{enterprise_id}/devicegroup/{group_id}/",
        section: "2.4 Device groups",
        sdk: "DeviceGroupApi.partial_update_group",
    },
    SpecEndpoint {
        method: "DELETE",
        path: "/enterprise/{enterprise_id}/devicegroup/{group_id}/",
        section: "2.4 Device groups",
        sdk: "DeviceGroupApi.delete_group",
    },
    SpecEndpoint {
        method: "GET",
        path: "/enterprise/{enterprise_id}/application/",
        section: "2.5 Applications",
        sdk: "ApplicationApi.get_all_applications",
    },
    SpecEndpoint {
        method: "POST",
        path: "/enterprise/{enterprise_id}/application/upload/",
        section: "2.5 Applications",
        sdk: "ApplicationApi.upload",
    },
    SpecEndpoint {
        method: "GET",
        path: "/enterprise/{enterprise_id}/application/{application_id}/",
        section: "2.5 Applications",
        sdk: "ApplicationApi.get_application",
    },
    SpecEndpoint {
        method: "DELETE",
        path: "/enterprise/{enterprise_id}/application/{application_id}/",
        section: "2.5 Applications",
        sdk: "ApplicationApi.delete_application",
    },
    SpecEndpoint {
        method: "GET",
        path: "/enterprise/{enterprise_id}/application/{application_id}/version/",
        section: "2.5 Applications",
        sdk: "ApplicationApi.get_app_versions",
    },
    SpecEndpoint {
        method: "GET",
        path: "/enterprise/{enterprise_id}/application/{application_id}/version/{version_id}/",
        section: "2.5 Applications",
        sdk: "ApplicationApi.get_app_version",
    },
    SpecEndpoint {
        method: "PATCH",
        path: "/enterprise/{enterprise_id}/application/{application_id}/version/{version_id}/",
        section: "2.5 Applications",
        sdk: "",
    },
    SpecEndpoint {
        method: "DELETE",
        path: "/enterprise/{enterprise_id}/application/{application_id}/version/{version_id}/",
        section: "2.5 Applications",
        sdk: "ApplicationApi.delete_app_version",
    },
    // No trailing slash: the SDK and the spec spell it this way.
    SpecEndpoint {
        method: "GET",
        path: "/enterprise/{enterprise_id}/application/{application_id}/version/{version_id}/installdevices",
        section: "2.5 Applications",
        sdk: "ApplicationApi.get_install_devices",
    },
    SpecEndpoint {
        method: "GET",
        path: "/v1/enterprise/{enterprise_id}/application/",
        section: "2.5 Applications",
        sdk: "",
    },
    // Only on spec branch `fix-application-content` (5f5f6a1), never merged.
    SpecEndpoint {
        method: "POST",
        path: "/v1/enterprise/{enterprise_id}/application/upload/",
        section: "2.5 Applications",
        sdk: "",
    },
    SpecEndpoint {
        method: "GET",
        path: "/v1/enterprise/{enterprise_id}/application/{application_id}/",
        section: "2.5 Applications",
        sdk: "",
    },
    SpecEndpoint {
        method: "DELETE",
        path: "/v1/enterprise/{enterprise_id}/application/{application_id}/",
        section: "2.5 Applications",
        sdk: "",
    },
    SpecEndpoint {
        method: "GET",
        path: "/v1/enterprise/{enterprise_id}/application/{application_id}/version/",
        section: "2.5 Applications",
        sdk: "",
    },
    SpecEndpoint {
        method: "GET",
        path: "/v1/enterprise/{enterprise_id}/application/{application_id}/version/{version_id}/",
        section: "2.5 Applications",
        sdk: "",
    },
    SpecEndpoint {
        method: "PATCH",
        path: "/v1/enterprise/{enterprise_id}/application/{application_id}/version/{version_id}/",
        section: "2.5 Applications",
        sdk: "",
    },
    SpecEndpoint {
        method: "DELETE",
        path: "/v1/enterprise/{enterprise_id}/application/{application_id}/version/{version_id}/",
        section: "2.5 Applications",
        sdk: "",
    },
    // No trailing slash, as in the spec.
    SpecEndpoint {
        method: "GET",
        path: "/v1/enterprise/{enterprise_id}/application/{application_id}/version/{version_id}/installdevices",
        section: "2.5 Applications",
        sdk: "",
    },
    // Not in esper-api-spec: from the modern public OAS (v1.yaml).
    SpecEndpoint {
        method: "GET",
        path: "/v1/enterprise/{enterprise_id}/applications-minimal/",
        section: "2.5 Applications",
        sdk: "",
    },
    SpecEndpoint {
        method: "GET",
        path: "/enterprise/{enterprise_id}/policy/",
        section: "2.6 Enterprise policy",
        sdk: "EnterprisePolicyApi.list_policies",
    },
    SpecEndpoint {
        method: "POST",
        path: "/enterprise/{enterprise_id}/policy/",
        section: "2.6 Enterprise policy",
        sdk: "EnterprisePolicyApi.create_policy",
    },
    SpecEndpoint {
        method: "GET",
        path: "/enterprise/{enterprise_id}/policy/{policy_id}/",
        section: "2.6 Enterprise policy",
        sdk: "EnterprisePolicyApi.get_policy_by_id",
    },
    SpecEndpoint {
        method: "PUT",
        path: "/enterprise/{enterprise_id}/policy/{policy_id}/",
        section: "2.6 Enterprise policy",
        sdk: "EnterprisePolicyApi.update_policy",
    },
    SpecEndpoint {
        method: "PATCH",
        path: "/enterprise/{enterprise_id}/policy/{policy_id}/",
        section: "2.6 Enterprise policy",
        sdk: "EnterprisePolicyApi.partialupdate_policy",
    },
    SpecEndpoint {
        method: "DELETE",
        path: "/enterprise/{enterprise_id}/policy/{policy_id}/",
        section: "2.6 Enterprise policy",
        sdk: "EnterprisePolicyApi.delete_enterprise_policy",
    },
    SpecEndpoint {
        method: "GET",
        path: "/v0/enterprise/{enterprise_id}/content/",
        section: "2.7 Geofence, content and subscription",
        sdk: "ContentApi.get_all_content",
    },
    SpecEndpoint {
        method: "POST",
        path: "/v0/enterprise/{enterprise_id}/content/upload/",
        section: "2.7 Geofence, content and subscription",
        sdk: "ContentApi.post_content",
    },
    SpecEndpoint {
        method: "GET",
        path: "/v0/enterprise/{enterprise_id}/content/{content_id}/",
        section: "2.7 Geofence, content and subscription",
        sdk: "ContentApi.get_content",
    },
    SpecEndpoint {
        method: "PATCH",
        path: "/v0/enterprise/{enterprise_id}/content/{content_id}/",
        section: "2.7 Geofence, content and subscription",
        sdk: "ContentApi.patch_content",
    },
    SpecEndpoint {
        method: "DELETE",
        path: "/v0/enterprise/{enterprise_id}/content/{content_id}/",
        section: "2.7 Geofence, content and subscription",
        sdk: "ContentApi.delete_content",
    },
    SpecEndpoint {
        method: "GET",
        path: "/v0/enterprise/{enterprise_id}/geofence/",
        section: "2.7 Geofence, content and subscription",
        sdk: "GeofenceApi.get_all_geofences",
    },
    SpecEndpoint {
        method: "POST",
        path: "/v0/enterprise/{enterprise_id}/geofence/",
        section: "2.7 Geofence, content and subscription",
        sdk: "GeofenceApi.create_geofence",
    },
    SpecEndpoint {
        method: "GET",
        path: "/v0/enterprise/{enterprise_id}/geofence/{geofence_id}/",
        section: "2.7 Geofence, content and subscription",
        sdk: "GeofenceApi.get_geofence",
    },
    SpecEndpoint {
        method: "PUT",
        path: "/v0/enterprise/{enterprise_id}/geofence/{geofence_id}/",
        section: "2.7 Geofence, content and subscription",
        sdk: "GeofenceApi.update_geofence",
    },
    SpecEndpoint {
        method: "PATCH",
        path: "/v0/enterprise/{enterprise_id}/geofence/{geofence_id}/",
        section: "2.7 Geofence, content and subscription",
        sdk: "GeofenceApi.partial_update_geofence",
    },
    SpecEndpoint {
        method: "DELETE",
        path: "/v0/enterprise/{enterprise_id}/geofence/{geofence_id}/",
        section: "2.7 Geofence, content and subscription",
        sdk: "GeofenceApi.delete_geofence",
    },
    SpecEndpoint {
        method: "GET",
        path: "/v0/enterprise/{enterprise_id}/subscription/",
        section: "2.7 Geofence, content and subscription",
        sdk: "SubscriptionApi.get_all_subscriptions",
    },
    SpecEndpoint {
        method: "POST",
        path: "/v0/enterprise/{enterprise_id}/subscription/",
        section: "2.7 Geofence, content and subscription",
        sdk: "SubscriptionApi.create_subscription",
    },
    SpecEndpoint {
        method: "GET",
        path: "/v0/enterprise/{enterprise_id}/subscription/{subscription_id}/",
        section: "2.7 Geofence, content and subscription",
        sdk: "SubscriptionApi.get_subscription",
    },
    SpecEndpoint {
        method: "DELETE",
        path: "/v0/enterprise/{enterprise_id}/subscription/{subscription_id}/",
        section: "2.7 Geofence, content and subscription",
        sdk: "SubscriptionApi.delete_subscription",
    },
    SpecEndpoint {
        method: "GET",
        path: "/v0/enterprise/{enterprise_id}/command/",
        section: "2.8 Commands V2",
        sdk: "CommandsV2Api.list_command_request",
    },
    SpecEndpoint {
        method: "POST",
        path: "/v0/enterprise/{enterprise_id}/command/",
        section: "2.8 Commands V2",
        sdk: "CommandsV2Api.create_command",
    },
    SpecEndpoint {
        method: "GET",
        path: "/v0/enterprise/{enterprise_id}/command/{request_id}/status/",
        section: "2.8 Commands V2",
        sdk: "CommandsV2Api.get_command_request_status",
    },
    // In the published gh-pages spec (2020-06); dropped from `master`.
    SpecEndpoint {
        method: "PATCH",
        path: "/v0/enterprise/{enterprise_id}/command/{request_id}/status/{command_id}/",
        section: "2.8 Commands V2",
        sdk: "",
    },
    SpecEndpoint {
        method: "GET",
        path: "/v0/enterprise/{enterprise_id}/device/{device_id}/command-history/",
        section: "2.8 Commands V2",
        sdk: "CommandsV2Api.get_device_command_history",
    },
];

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::{SPEC_ENDPOINTS, SpecEndpoint};

    const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

    const PARAMS: &[&str] = &[
        "enterprise_id",
        "device_id",
        "group_id",
        "application_id",
        "version_id",
        "command_id",
        "request_id",
        "policy_id",
        "geofence_id",
        "content_id",
        "subscription_id",
        "app_id",
        "developerapp_id",
    ];

    /// The path's segments, `None` for a literal and `Some(name)` for `{name}`.
    fn segments(e: &SpecEndpoint) -> Vec<(&'static str, Option<&'static str>)> {
        e.path
            .split('/')
            .map(|s| {
                let param = s.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
                (s, param)
            })
            .collect()
    }

    #[test]
    fn method_and_path_pairs_are_unique() {
        let mut seen = HashSet::new();
        for e in SPEC_ENDPOINTS {
            assert!(
                seen.insert((e.method, e.path)),
                "duplicate {} {}",
                e.method,
                e.path
            );
        }
    }

    #[test]
    fn paths_start_with_a_slash_and_keep_esper_s_trailing_slash() {
        for e in SPEC_ENDPOINTS {
            assert!(
                e.path.starts_with('/'),
                "{} {} must start with '/'",
                e.method,
                e.path
            );
            assert!(
                !e.path.contains("//"),
                "{} {} has an empty segment",
                e.method,
                e.path
            );
            assert!(
                e.path.ends_with('/') || e.path.ends_with("/installdevices"),
                "{} {}: only `installdevices` goes without a trailing slash",
                e.method,
                e.path
            );
        }
    }

    #[test]
    fn methods_are_upper_case_http_methods() {
        for e in SPEC_ENDPOINTS {
            assert!(
                METHODS.contains(&e.method),
                "{} {}: bad method",
                e.method,
                e.path
            );
        }
    }

    #[test]
    fn path_parameters_use_the_router_s_vocabulary() {
        for e in SPEC_ENDPOINTS {
            let mut names = HashSet::new();
            for (segment, param) in segments(e) {
                match param {
                    Some(name) => {
                        assert!(
                            PARAMS.contains(&name),
                            "{} {}: unknown parameter {{{name}}}",
                            e.method,
                            e.path
                        );
                        assert!(
                            names.insert(name),
                            "{} {}: {{{name}}} appears twice",
                            e.method,
                            e.path
                        );
                    }
                    None => assert!(
                        !segment.contains('{') && !segment.contains('}'),
                        "{} {}: a parameter must fill a whole segment",
                        e.method,
                        e.path
                    ),
                }
            }
        }
    }

    #[test]
    fn one_parameter_name_per_position_of_a_prefix() {
        // axum refuses `/a/{x}/b` next to `/a/{y}/c`: the same position under the same prefix
        // must carry the same name in every entry.
        let mut names: HashMap<String, (&str, &str)> = HashMap::new();
        for e in SPEC_ENDPOINTS {
            let mut prefix = String::new();
            for (segment, param) in segments(e) {
                if let Some(name) = param {
                    let (other, other_path) =
                        *names.entry(prefix.clone()).or_insert((name, e.path));
                    assert_eq!(
                        name, other,
                        "{} and {other_path} name the parameter after {prefix:?} differently",
                        e.path
                    );
                    prefix.push_str("{}/");
                } else {
                    prefix.push_str(segment);
                    prefix.push('/');
                }
            }
        }
    }

    #[test]
    fn entries_are_ordered_by_section_then_path_then_method() {
        let key = |e: &SpecEndpoint| {
            (
                e.section,
                e.path,
                METHODS.iter().position(|m| *m == e.method),
            )
        };
        for pair in SPEC_ENDPOINTS.windows(2) {
            assert!(
                key(&pair[0]) < key(&pair[1]),
                "{} {} must come after {} {}",
                pair[0].method,
                pair[0].path,
                pair[1].method,
                pair[1].path
            );
        }
    }

    #[test]
    fn sections_and_sdk_names_are_well_formed() {
        for e in SPEC_ENDPOINTS {
            let number = e.section.split(' ').next().unwrap_or("");
            assert!(
                ["2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8"].contains(&number)
                    && e.section.len() > 4,
                "{} {}: section {:?}",
                e.method,
                e.path,
                e.section
            );
            assert!(
                e.sdk.is_empty()
                    || e.sdk
                        .split_once("Api.")
                        .is_some_and(|(a, m)| !a.is_empty() && !m.is_empty()),
                "{} {}: sdk {:?} is not `Api.method`",
                e.method,
                e.path,
                e.sdk
            );
        }
    }
}
