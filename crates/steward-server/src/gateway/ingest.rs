//! What device reports become in the store: inventory columns, status events in Esper's
//! shape, app lists.

use serde_json::{Value, json};
use steward_core::command_state::CommandState;
use steward_proto::agent::{CommandProgress, CommandReport, InstalledApp, Inventory, Telemetry};
use steward_store::apps::ReportedApp;
use steward_store::commands::CommandUpdate;
use steward_store::devices::InventoryUpdate;

/// Most packages one report may list.
pub const MAX_APPS: usize = 20_000;

fn clip(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.chars().take(255).collect::<String>())
        .filter(|v| !v.trim().is_empty())
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_string())
}

pub fn inventory_update(inv: &Inventory) -> InventoryUpdate {
    let api_level = inv.software.api_level.and_then(|l| i32::try_from(l).ok());
    InventoryUpdate {
        serial: clip(inv.hardware.serial_number.clone()),
        imei: clip(inv.hardware.imei.clone()),
        brand: clip(
            inv.hardware
                .brand
                .clone()
                .or_else(|| inv.hardware.manufacturer.clone()),
        ),
        model: clip(inv.hardware.model.clone()),
        platform: clip(inv.software.platform.clone()).map(|p| p.to_ascii_uppercase()),
        os_version: clip(inv.software.os_version.clone()),
        agent_version: clip(inv.software.agent_version.clone()),
        api_level,
        hardware_info: to_json(&inv.hardware),
        software_info: to_json(&inv.software),
        network_info: to_json(&inv.network),
        memory_info: to_json(&inv.memory),
        displays: to_json(&inv.displays),
    }
}

/// A status event in the shape Esper's clients read (espercli's `status latest` and
/// `device report` take battery, data usage, memory and Wi-Fi from these keys).
pub fn status_data(t: &Telemetry) -> Value {
    let battery_state = match t.battery_charging {
        Some(true) => json!("CHARGING"),
        Some(false) => json!("DISCHARGING"),
        None => Value::Null,
    };
    json!({
        "powerManagementEvent": {
            "batteryStatus": {
                "batteryLevel": t.battery_level,
                "batteryTemperature": t.battery_temperature,
                "batteryState": battery_state,
            }
        },
        "dataUsageStats": {
            "totalDataDownload": t.data_download_bytes,
            "totalDataUpload": t.data_upload_bytes,
        },
        "memoryEvents": [
            {"eventType": "RAM", "countInMb": t.memory_available_mb, "totalInMb": t.memory_total_mb},
            {"eventType": "STORAGE", "countInMb": t.storage_available_mb, "totalInMb": t.storage_total_mb},
        ],
        "networkEvent": {
            "wifiNetworkInfo": {
                "linkSpeed": t.wifi_link_speed,
                "signalStrength": t.wifi_signal_strength,
            }
        },
        "cpuEvent": {"usagePercent": t.cpu_percent},
        "temperatureEvent": {"celsius": t.temperature},
        "locationEvent": {"latitude": t.latitude, "longitude": t.longitude},
    })
}

pub fn reported_apps(apps: &[InstalledApp]) -> Vec<ReportedApp> {
    let mut out: Vec<ReportedApp> = apps
        .iter()
        .take(MAX_APPS)
        .filter(|a| !a.package_name.trim().is_empty())
        .map(|a| ReportedApp {
            package_name: a.package_name.chars().take(255).collect(),
            app_name: if a.app_name.trim().is_empty() {
                a.package_name.chars().take(255).collect()
            } else {
                a.app_name.chars().take(255).collect()
            },
            version_name: clip(a.version_name.clone()),
            version_code: clip(a.version_code.clone()),
        })
        .collect();
    // One row per package: the last report of a duplicate wins.
    out.reverse();
    let mut seen = std::collections::HashSet::new();
    out.retain(|a| seen.insert(a.package_name.clone()));
    out.reverse();
    out
}

/// Longest `reason` kept, in characters.
const MAX_REASON: usize = 1000;
/// Largest `details` kept, in bytes of JSON; larger ones keep their first fields' prefixes.
const MAX_DETAILS: usize = 64 * 1024;

/// A device's command report as the store takes it: the state in Esper's terms, the reason
/// and details bounded.
pub fn command_update(report: CommandReport) -> CommandUpdate {
    let state = match report.state {
        CommandProgress::Acknowledged => CommandState::Acknowledged,
        CommandProgress::InProgress => CommandState::InProgress,
        CommandProgress::Success => CommandState::Success,
        CommandProgress::Failure => CommandState::Failure,
    };
    let details = report.details.map(|d| {
        let text = to_json(&d);
        if text.len() <= MAX_DETAILS {
            return text;
        }
        // Keep every field, each cut short, so a script's exit code survives huge output.
        let share = MAX_DETAILS / d.len().max(1) / 2;
        let cut: serde_json::Map<String, Value> = d
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => Value::String(s.chars().take(share).collect()),
                    Value::Number(_) => v,
                    other => Value::String(other.to_string().chars().take(share).collect()),
                };
                (k, v)
            })
            .collect();
        to_json(&cut)
    });
    CommandUpdate {
        status_id: report.id,
        state,
        reason: report
            .reason
            .map(|r| r.chars().take(MAX_REASON).collect::<String>())
            .filter(|r| !r.trim().is_empty()),
        details,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_data_is_readable_by_espercli() {
        let t = Telemetry {
            battery_level: Some(81.0),
            memory_available_mb: Some(512),
            storage_available_mb: Some(9000),
            wifi_signal_strength: Some(-60),
            ..Telemetry::default()
        };
        let v = status_data(&t);
        assert_eq!(
            v["powerManagementEvent"]["batteryStatus"]["batteryLevel"],
            81.0
        );
        assert_eq!(v["memoryEvents"][0]["countInMb"], 512);
        assert_eq!(v["memoryEvents"][1]["countInMb"], 9000);
        assert_eq!(v["networkEvent"]["wifiNetworkInfo"]["signalStrength"], -60);
    }

    #[test]
    fn app_lists_are_deduplicated_and_clipped() {
        let app = |p: &str, v: &str| InstalledApp {
            package_name: p.into(),
            app_name: String::new(),
            version_name: Some(v.into()),
            version_code: None,
        };
        let out = reported_apps(&[
            app("a", "1"),
            app("a", "2"),
            app(" ", "1"),
            app(&"x".repeat(300), "1"),
        ]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].version_name.as_deref(), Some("2"));
        assert_eq!(out[0].app_name, "a");
        assert_eq!(out[1].package_name.len(), 255);
    }
}
