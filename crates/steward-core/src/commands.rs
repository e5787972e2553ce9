//! The device command catalog: every command of Esper's Commands V2 (37 names) with the rules
//! for its `command_args`, shared by the legacy and the V2 endpoints.

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{FieldErrors, Invalid};

/// How one argument is checked.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// A non-blank string of at most this many characters.
    Text(usize),
    /// A UUID string.
    Id,
    Bool,
    /// A whole number in the range.
    Int(i64, i64),
    /// A screen-off timeout in ms: -1 (never) or 5,000 to 1,800,000.
    ScreenTimeout,
    /// One of these strings.
    OneOf(&'static [&'static str]),
    /// A JSON object.
    Object,
    /// A time-zone name such as `Europe/Berlin` or `UTC`.
    TimeZone,
    /// A locale `xx[_Zzzz]_yy`.
    Locale,
    /// An IPv4 address.
    Ipv4,
    /// An `http` or `https` URL with a host, of at most this many characters.
    Url(usize),
}

/// (name, required arguments, optional arguments)
type Spec = (
    &'static str,
    &'static [(&'static str, Rule)],
    &'static [(&'static str, Rule)],
);

const PACKAGE: (&str, Rule) = ("package_name", Rule::Text(255));
const GRANT_STATES: &[&str] = &[
    "PERMISSION_GRANT_STATE_DEFAULT",
    "PERMISSION_GRANT_STATE_DENIED",
    "PERMISSION_GRANT_STATE_GRANTED",
];

/// Every command with its argument rules (seed 004 and the catalog's table of V0DeviceCommandEnum).
const CATALOG: &[Spec] = &[
    ("ADD_TO_WHITELIST", &[PACKAGE], &[]),
    ("ADD_WIFI_AP", &[("wifi_access_points", Rule::Object)], &[]),
    ("BEEP_DEVICE", &[], &[("duration", Rule::Int(1, 600))]),
    ("CAPTURE_SCREENSHOT", &[], &[("tag", Rule::Text(255))]),
    ("CLEAR_APP_DATA", &[PACKAGE], &[]),
    ("CONVERGE", &[], &[]),
    ("INSTALL", &[("app_version", Rule::Id)], &[]),
    ("LOCK", &[], &[]),
    (
        "NOTIFY_DEVICE",
        &[("title", Rule::Text(255)), ("message", Rule::Text(4096))],
        &[("url", Rule::Text(2048))],
    ),
    // Steward's own: a content file to the device's content folder.
    (
        "PUSH_CONTENT",
        &[("content_id", Rule::Int(1, i64::MAX))],
        &[],
    ),
    ("REBOOT", &[], &[]),
    ("REMOVE_FROM_WHITELIST", &[PACKAGE], &[]),
    (
        "REMOVE_WIFI_AP",
        &[("wifi_access_points", Rule::Object)],
        &[],
    ),
    (
        "RESET_LOCKSCREEN_PASSWORD",
        &[("new_lockscreen_password", Rule::Text(255))],
        &[],
    ),
    // Steward: runs an option of a custom action (`/v2/custom-actions/`) on Linux devices.
    (
        "RUN_CUSTOM_ACTION",
        &[("custom_action_id", Rule::Id), ("option_key", Rule::Id)],
        &[],
    ),
    (
        "SET_APP_NOTIFICATIONS",
        &[
            PACKAGE,
            (
                "app_notifications_state",
                Rule::OneOf(&["ENABLED", "DISABLED"]),
            ),
        ],
        &[],
    ),
    (
        "SET_APP_PERMISSION",
        &[
            PACKAGE,
            ("permission", Rule::Text(255)),
            ("grant_state", Rule::OneOf(GRANT_STATES)),
        ],
        &[],
    ),
    (
        "SET_APP_STATE",
        &[
            PACKAGE,
            ("app_state", Rule::OneOf(&["SHOW", "HIDE", "DISABLE"])),
        ],
        &[],
    ),
    (
        "SET_BLUETOOTH_STATE",
        &[("bluetooth_state", Rule::Bool)],
        &[],
    ),
    (
        "SET_BRIGHTNESS_SCALE",
        &[("brightness_value", Rule::Int(1, 100))],
        &[],
    ),
    ("SET_DEVICE_LANGUAGE", &[("locale", Rule::Locale)], &[]),
    (
        "SET_DEVICE_LOCKDOWN_STATE",
        &[
            ("state", Rule::OneOf(&["LOCKED", "UNLOCKED"])),
            ("message", Rule::Text(1024)),
        ],
        &[],
    ),
    (
        "SET_ETHERNET_SETTINGS",
        &[],
        &[("ethernet_settings", Rule::Object)],
    ),
    ("SET_GPS_STATE", &[("gps_state", Rule::Int(0, 4))], &[]),
    ("SET_KIOSK_APP", &[PACKAGE], &[]),
    ("SET_NEW_POLICY", &[("policy_url", Rule::Url(2048))], &[]),
    (
        "SET_ROTATION_STATE",
        &[("rotate_state", Rule::Int(0, 2))],
        &[],
    ),
    (
        "SET_SCREEN_OFF_TIMEOUT",
        &[("screen_off_timeout", Rule::ScreenTimeout)],
        &[],
    ),
    // The static fields are required unless dhcp_enabled is true (see STATIC_IP_FIELDS).
    (
        "SET_STATIC_IP",
        &[("interface", Rule::Text(64)), ("dhcp_enabled", Rule::Bool)],
        &[
            ("static_ip", Rule::Ipv4),
            ("primary_dns", Rule::Ipv4),
            ("subnet_mask", Rule::Ipv4),
            ("gateway", Rule::Ipv4),
            ("secondary_dns", Rule::Ipv4),
        ],
    ),
    (
        "SET_STREAM_VOLUME",
        &[
            ("stream", Rule::Int(0, 3)),
            ("volume_level", Rule::Int(0, 100)),
        ],
        &[],
    ),
    ("SET_TIMEZONE", &[("timezone_string", Rule::TimeZone)], &[]),
    ("SET_WIFI_STATE", &[("wifi_state", Rule::Bool)], &[]),
    // Esper documents package_name; espercli sends the app_version to remove instead.
    ("UNINSTALL", &[], &[PACKAGE, ("app_version", Rule::Id)]),
    ("UPDATE_BLUEPRINT", &[], &[]),
    (
        "UPDATE_DEVICE_CONFIG",
        &[("custom_settings_config", Rule::Object)],
        &[],
    ),
    ("UPDATE_HEARTBEAT", &[], &[]),
    ("UPDATE_LATEST_DPC", &[], &[]),
    (
        "USE_ONLY_SAVED_WIFI_AP",
        &[("use_only_saved_ap", Rule::Bool)],
        &[],
    ),
    (
        "WIPE",
        &[],
        &[
            ("wipe_external_storage", Rule::Bool),
            ("wipe_FRP", Rule::Bool),
        ],
    ),
];

/// What SET_STATIC_IP needs when it sets an address itself (not with `dhcp_enabled: true`).
const STATIC_IP_FIELDS: [&str; 4] = ["static_ip", "primary_dns", "subnet_mask", "gateway"];

/// What a scheduled NOTIFY_DEVICE (Esper's scheduled message) needs in `schedule_args`
/// besides the date-times every schedule needs.
const SCHEDULED_MESSAGE_FIELDS: [&str; 2] = ["name", "time_type"];

/// Shortest and longest time a command may take before it ends in `Command TimeOut`.
pub const MIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2 * 60);
pub const MAX_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3 * 24 * 3600);

/// How long a command of this kind may take once sent, before it times out: short for quick
/// device actions, long for installs (large downloads on slow links) and wipes.
pub fn default_timeout(command: &str) -> std::time::Duration {
    let minutes = match command {
        "UPDATE_HEARTBEAT" | "LOCK" | "BEEP_DEVICE" | "NOTIFY_DEVICE" | "CAPTURE_SCREENSHOT" => 2,
        "REBOOT" | "SET_TIMEZONE" | "SET_DEVICE_LANGUAGE" | "UPDATE_DEVICE_CONFIG" => 30,
        "INSTALL" | "UNINSTALL" | "PUSH_CONTENT" | "UPDATE_LATEST_DPC" | "UPDATE_BLUEPRINT"
        | "CONVERGE" => 24 * 60,
        "WIPE" => 3 * 24 * 60,
        _ => 60,
    };
    std::time::Duration::from_secs(minutes * 60).clamp(MIN_TIMEOUT, MAX_TIMEOUT)
}

/// Every command name, sorted.
pub fn command_names() -> impl Iterator<Item = &'static str> {
    CATALOG.iter().map(|(name, _, _)| *name)
}

fn spec(name: &str) -> Option<&'static Spec> {
    CATALOG.iter().find(|(n, _, _)| *n == name)
}

fn check(errors: &mut FieldErrors, field: &str, value: &Value, rule: Rule) {
    let path = format!("command_args.{field}");
    let ok = match rule {
        Rule::Text(max) => match value.as_str() {
            Some(s) => {
                errors.optional_text(&path, Some(s), 1, max);
                true
            }
            None => false,
        },
        Rule::Id => value.as_str().is_some_and(|s| Uuid::parse_str(s).is_ok()),
        Rule::Bool => value.is_boolean(),
        Rule::Int(lo, hi) => value.as_i64().is_some_and(|n| (lo..=hi).contains(&n)),
        Rule::ScreenTimeout => value
            .as_i64()
            .is_some_and(|n| n == -1 || (5000..=1_800_000).contains(&n)),
        Rule::OneOf(allowed) => value.as_str().is_some_and(|s| allowed.contains(&s)),
        Rule::Object => value.is_object() || value.is_array(),
        Rule::TimeZone => value.as_str().is_some_and(is_time_zone),
        Rule::Locale => value.as_str().is_some_and(is_locale),
        Rule::Ipv4 => value
            .as_str()
            .is_some_and(|s| s.parse::<std::net::Ipv4Addr>().is_ok()),
        Rule::Url(max) => value
            .as_str()
            .is_some_and(|s| s.chars().count() <= max && is_web_url(s)),
    };
    if !ok {
        errors.add(path, describe(rule));
    }
}

fn describe(rule: Rule) -> String {
    match rule {
        Rule::Text(max) => format!("must be a text of 1 to {max} characters"),
        Rule::Id => "must be an id (UUID)".into(),
        Rule::Bool => "must be true or false".into(),
        Rule::Int(lo, hi) => format!("must be a whole number from {lo} to {hi}"),
        Rule::ScreenTimeout => "must be -1 or a whole number from 5000 to 1800000".into(),
        Rule::OneOf(allowed) => format!("must be one of {}", allowed.join(", ")),
        Rule::Object => "must be a JSON object".into(),
        Rule::TimeZone => "must be a time-zone name such as Europe/Berlin".into(),
        Rule::Locale => "must be a locale such as en_US or sr_Latn_RS".into(),
        Rule::Ipv4 => "must be an IPv4 address".into(),
        Rule::Url(max) => format!(
            "must be an http or https URL such as https://example.com/policy.json, of at most {max} characters"
        ),
    }
}

/// An absolute `http`/`https` URL with a host, with no blank or control character anywhere
/// (the parser would quietly trim or encode them).
fn is_web_url(s: &str) -> bool {
    !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && url::Url::parse(s).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
        })
}

fn is_time_zone(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && !s.starts_with('/')
        && !s.contains("..")
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c))
        && s.chars().next().is_some_and(|c| c.is_ascii_uppercase())
}

fn is_locale(s: &str) -> bool {
    let parts: Vec<&str> = s.split(['_', '-']).collect();
    let lang = |p: &str| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_lowercase());
    let script = |p: &str| p.len() == 4 && p.chars().next().is_some_and(|c| c.is_ascii_uppercase());
    let country = |p: &str| p.len() == 2 && p.chars().all(|c| c.is_ascii_uppercase());
    match parts.as_slice() {
        [l, c] => lang(l) && country(c),
        [l, s, c] => lang(l) && script(s) && country(c),
        _ => false,
    }
}

/// Checks a command and its arguments. Unknown arguments are ignored (clients send the whole
/// CommandArgs model with nulls dropped); a null counts as absent.
pub fn validate_command(command: &str, args: Option<&Map<String, Value>>) -> Result<(), Invalid> {
    let Some((_, required, optional)) = spec(command) else {
        return Err(Invalid::field(
            "command",
            format!("{command:?} is not a known command"),
        ));
    };
    let empty = Map::new();
    let args = args.unwrap_or(&empty);
    let mut errors = FieldErrors::new();
    for (field, rule) in *required {
        match args.get(*field).filter(|v| !v.is_null()) {
            Some(v) => check(&mut errors, field, v, *rule),
            None => errors.add(
                format!("command_args.{field}"),
                format!("{command} requires it"),
            ),
        }
    }
    for (field, rule) in *optional {
        if let Some(v) = args.get(*field).filter(|v| !v.is_null()) {
            check(&mut errors, field, v, *rule);
        }
    }
    let given = |f: &str| args.get(f).is_some_and(|v| !v.is_null());
    if command == "UNINSTALL" && !given("package_name") && !given("app_version") {
        errors.add(
            "command_args.package_name",
            "UNINSTALL requires package_name (or app_version)",
        );
    }
    let dhcp = args.get("dhcp_enabled").and_then(Value::as_bool);
    if command == "SET_STATIC_IP" && dhcp != Some(true) {
        for field in STATIC_IP_FIELDS.iter().filter(|f| !given(f)) {
            errors.add(
                format!("command_args.{field}"),
                "SET_STATIC_IP requires it unless dhcp_enabled is true",
            );
        }
    }
    errors.finish()
}

/// Checks what a command asks of a WINDOW or RECURRING schedule beyond the schedule's own
/// rules: a scheduled NOTIFY_DEVICE needs a `name` and a `time_type` in `schedule_args`.
pub fn validate_scheduled(
    command: &str,
    schedule_args: Option<&Map<String, Value>>,
) -> Result<(), Invalid> {
    let mut errors = FieldErrors::new();
    if command == "NOTIFY_DEVICE" {
        for field in SCHEDULED_MESSAGE_FIELDS {
            let value = schedule_args.and_then(|a| a.get(field));
            let path = format!("schedule_args.{field}");
            match value.and_then(Value::as_str) {
                Some(text) if !text.trim().is_empty() => {}
                Some(_) => errors.add(path, "must not be blank"),
                None if value.is_some_and(|v| !v.is_null()) => {
                    errors.add(path, "must be a string");
                }
                None => errors.add(path, "a scheduled NOTIFY_DEVICE requires it"),
            }
        }
    }
    errors.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn fails_on(command: &str, a: Value, field: &str) {
        let err = validate_command(command, Some(&args(a))).unwrap_err();
        assert!(
            err.0
                .iter()
                .any(|(f, _)| f == &format!("command_args.{field}")),
            "{command}: {err}"
        );
    }

    /// The 37 names of Esper's V0DeviceCommandEnum, in the order the Commands V2 reference
    /// lists them.
    const ESPER_COMMANDS: [&str; 37] = [
        "ADD_TO_WHITELIST",
        "ADD_WIFI_AP",
        "CLEAR_APP_DATA",
        "INSTALL",
        "LOCK",
        "REBOOT",
        "REMOVE_FROM_WHITELIST",
        "REMOVE_WIFI_AP",
        "SET_APP_PERMISSION",
        "SET_APP_STATE",
        "SET_BLUETOOTH_STATE",
        "SET_BRIGHTNESS_SCALE",
        "SET_DEVICE_LOCKDOWN_STATE",
        "SET_GPS_STATE",
        "SET_KIOSK_APP",
        "SET_NEW_POLICY",
        "SET_ROTATION_STATE",
        "SET_SCREEN_OFF_TIMEOUT",
        "SET_STREAM_VOLUME",
        "SET_TIMEZONE",
        "SET_WIFI_STATE",
        "UNINSTALL",
        "UPDATE_DEVICE_CONFIG",
        "UPDATE_HEARTBEAT",
        "UPDATE_LATEST_DPC",
        "WIPE",
        "RESET_LOCKSCREEN_PASSWORD",
        "UPDATE_BLUEPRINT",
        "CAPTURE_SCREENSHOT",
        "NOTIFY_DEVICE",
        "SET_DEVICE_LANGUAGE",
        "SET_ETHERNET_SETTINGS",
        "SET_STATIC_IP",
        "BEEP_DEVICE",
        "SET_APP_NOTIFICATIONS",
        "USE_ONLY_SAVED_WIFI_AP",
        "CONVERGE",
    ];

    #[test]
    fn the_catalog_is_esper_s_37_commands_and_steward_s_two() {
        let names: Vec<&str> = command_names().collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, names, "sorted and unique");
        let mut expected: Vec<&str> = ESPER_COMMANDS
            .into_iter()
            .chain(["RUN_CUSTOM_ACTION", "PUSH_CONTENT"])
            .collect();
        expected.sort();
        assert_eq!(names, expected);
    }

    #[test]
    fn timeouts_lie_between_two_minutes_and_three_days() {
        for name in command_names() {
            let t = default_timeout(name);
            assert!((MIN_TIMEOUT..=MAX_TIMEOUT).contains(&t), "{name}: {t:?}");
        }
        assert_eq!(default_timeout("UPDATE_HEARTBEAT"), MIN_TIMEOUT);
        assert_eq!(default_timeout("WIPE"), MAX_TIMEOUT);
        assert!(default_timeout("INSTALL") > default_timeout("REBOOT"));
    }

    #[test]
    fn good_arguments_pass() {
        for (command, a) in [
            ("REBOOT", json!({})),
            (
                "INSTALL",
                json!({"app_version": "0f0e0d0c-0b0a-4908-8706-050403020100"}),
            ),
            ("SET_BRIGHTNESS_SCALE", json!({"brightness_value": 100})),
            ("SET_SCREEN_OFF_TIMEOUT", json!({"screen_off_timeout": -1})),
            (
                "SET_SCREEN_OFF_TIMEOUT",
                json!({"screen_off_timeout": 60000}),
            ),
            ("SET_STREAM_VOLUME", json!({"stream": 3, "volume_level": 0})),
            (
                "SET_TIMEZONE",
                json!({"timezone_string": "America/Argentina/Buenos_Aires"}),
            ),
            ("SET_DEVICE_LANGUAGE", json!({"locale": "sr_Latn_RS"})),
            (
                "NOTIFY_DEVICE",
                json!({"title": "Hi", "message": "Closing at 6", "url": null}),
            ),
            (
                "WIPE",
                json!({"wipe_external_storage": false, "wipe_FRP": true, "brightness_value": null}),
            ),
            (
                "SET_STATIC_IP",
                json!({"interface": "eth0", "dhcp_enabled": false, "static_ip": "10.0.0.5", "primary_dns": "10.0.0.1", "subnet_mask": "255.255.255.0", "gateway": "10.0.0.1"}),
            ),
            // DHCP: the address comes from the network, nothing static is needed.
            (
                "SET_STATIC_IP",
                json!({"interface": "eth0", "dhcp_enabled": true}),
            ),
            (
                "SET_STATIC_IP",
                json!({"interface": "eth0", "dhcp_enabled": true, "static_ip": null, "gateway": null}),
            ),
            (
                "SET_NEW_POLICY",
                json!({"policy_url": "https://mdm.example.com/policies/7.json"}),
            ),
            (
                "SET_NEW_POLICY",
                json!({"policy_url": "http://10.0.0.2:8080/p?v=2"}),
            ),
        ] {
            assert!(
                validate_command(command, Some(&args(a.clone()))).is_ok(),
                "{command} {a}"
            );
        }
        assert!(validate_command("LOCK", None).is_ok());
    }

    #[test]
    fn bad_arguments_name_the_field() {
        fails_on("INSTALL", json!({}), "app_version");
        fails_on("INSTALL", json!({"app_version": "nope"}), "app_version");
        fails_on(
            "SET_BRIGHTNESS_SCALE",
            json!({"brightness_value": 0}),
            "brightness_value",
        );
        fails_on(
            "SET_BRIGHTNESS_SCALE",
            json!({"brightness_value": "50"}),
            "brightness_value",
        );
        fails_on(
            "SET_SCREEN_OFF_TIMEOUT",
            json!({"screen_off_timeout": 10}),
            "screen_off_timeout",
        );
        fails_on(
            "SET_STREAM_VOLUME",
            json!({"stream": 4, "volume_level": 5}),
            "stream",
        );
        fails_on(
            "SET_APP_STATE",
            json!({"package_name": "a", "app_state": "EXPLODE"}),
            "app_state",
        );
        fails_on(
            "SET_TIMEZONE",
            json!({"timezone_string": "../etc/passwd"}),
            "timezone_string",
        );
        fails_on(
            "SET_DEVICE_LANGUAGE",
            json!({"locale": "english"}),
            "locale",
        );
        fails_on(
            "UNINSTALL",
            json!({"package_name": "x".repeat(300)}),
            "package_name",
        );
        fails_on(
            "SET_WIFI_STATE",
            json!({"wifi_state": "true"}),
            "wifi_state",
        );
        fails_on(
            "SET_STATIC_IP",
            json!({"interface": "eth0", "dhcp_enabled": false, "static_ip": "999.1.1.1", "primary_dns": "1.1.1.1", "subnet_mask": "255.0.0.0", "gateway": "1.1.1.1"}),
            "static_ip",
        );
        let err = validate_command("MAKE_COFFEE", None).unwrap_err();
        assert_eq!(err.0[0].0, "command");
    }

    /// The fields an error names, sorted.
    fn named(result: Result<(), Invalid>) -> Vec<String> {
        let mut fields: Vec<String> = result
            .err()
            .map(|e| e.0.into_iter().map(|(f, _)| f).collect())
            .unwrap_or_default();
        fields.sort();
        fields
    }

    #[test]
    fn a_static_ip_needs_its_addresses_unless_dhcp_gives_them() {
        let check = |a: Value| named(validate_command("SET_STATIC_IP", Some(&args(a))));
        let all_static = [
            "command_args.gateway",
            "command_args.primary_dns",
            "command_args.static_ip",
            "command_args.subnet_mask",
        ];
        assert_eq!(
            check(json!({"interface": "eth0", "dhcp_enabled": false})),
            all_static
        );
        assert_eq!(
            check(
                json!({"interface": "eth0", "dhcp_enabled": false, "static_ip": "10.0.0.5",
                         "primary_dns": "10.0.0.1", "subnet_mask": "255.255.255.0"})
            ),
            ["command_args.gateway"]
        );
        // Without dhcp_enabled both it and the addresses are missing.
        let mut expected = vec!["command_args.dhcp_enabled"];
        expected.extend(all_static);
        expected.sort();
        assert_eq!(check(json!({"interface": "eth0"})), expected);
        // With DHCP, what is given is still checked.
        assert_eq!(
            check(json!({"interface": "eth0", "dhcp_enabled": true, "gateway": "10.0.0.300"})),
            ["command_args.gateway"]
        );
        assert_eq!(
            check(json!({"dhcp_enabled": true})),
            ["command_args.interface"]
        );
        let err = validate_command(
            "SET_STATIC_IP",
            Some(&args(json!({"interface": "eth0", "dhcp_enabled": false}))),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unless dhcp_enabled is true"), "{err}");
    }

    #[test]
    fn a_policy_url_must_be_a_web_url() {
        for bad in [
            json!("policy.json"),
            json!("mdm.example.com/policy"),
            json!("ftp://mdm.example.com/policy"),
            json!("file:///etc/policy.json"),
            json!("https://"),
            json!(" https://mdm.example.com/p"),
            json!("https://mdm.example.com/p q"),
            json!(format!("https://example.com/{}", "p".repeat(2048))),
            json!(7),
        ] {
            fails_on("SET_NEW_POLICY", json!({"policy_url": bad}), "policy_url");
        }
        let err = validate_command("SET_NEW_POLICY", Some(&args(json!({"policy_url": "x"}))))
            .unwrap_err()
            .to_string();
        assert!(err.contains("http or https URL"), "{err}");
        fails_on("SET_NEW_POLICY", json!({}), "policy_url");
    }

    #[test]
    fn a_scheduled_message_needs_a_name_and_a_time_type() {
        let message = json!({"title": "Closing", "message": "at 6", "url": "https://example.com"});
        assert!(validate_command("NOTIFY_DEVICE", Some(&args(message))).is_ok());
        let schedule = |a: Value| named(validate_scheduled("NOTIFY_DEVICE", a.as_object()));
        let dates = json!({"start_datetime": "2030-01-01T09:00:00Z",
                           "end_datetime": "2030-01-01T17:00:00Z"});
        assert_eq!(
            schedule(dates.clone()),
            ["schedule_args.name", "schedule_args.time_type"]
        );
        assert_eq!(
            schedule(Value::Null),
            ["schedule_args.name", "schedule_args.time_type"]
        );
        let mut full = dates.clone();
        full["name"] = json!("closing time");
        full["time_type"] = json!("device");
        assert!(schedule(full.clone()).is_empty());
        let mut blank = full.clone();
        blank["name"] = json!("  ");
        blank["time_type"] = json!(1);
        assert_eq!(
            schedule(blank),
            ["schedule_args.name", "schedule_args.time_type"]
        );
        // Other commands keep only the schedule's own rules.
        assert!(validate_scheduled("REBOOT", dates.as_object()).is_ok());
    }
}
