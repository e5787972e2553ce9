//! The device link: enrolment over HTTPS, then one WebSocket per device carrying JSON frames.
//!
//! Frames are tagged by `type`. Unknown fields are ignored, so either side may add fields; a
//! frame of an unknown type is answered with an `error` frame and otherwise ignored. The agent
//! says which protocol version it speaks in `hello`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;
/// Largest frame either side accepts, in bytes.
pub const MAX_FRAME_BYTES: usize = 1024 * 1024;
/// Read buffer of either side's socket. Most frames are small (heartbeats, commands, their
/// statuses); a larger one grows the buffer while it is read. The WebSocket library's default
/// (128 KiB, zero-filled on the first read) was most of an idle connection's memory.
pub const SOCKET_READ_BUFFER_BYTES: usize = 4 * 1024;
/// Bytes a socket may hold unsent before writes fail: two of the largest frames.
pub const MAX_UNSENT_BYTES: usize = 2 * MAX_FRAME_BYTES;
/// Path of the enrolment call.
pub const ENROLL_PATH: &str = "/agent/v1/enroll";
/// Path of the WebSocket.
pub const CONNECT_PATH: &str = "/agent/v1/connect";

/// `POST /agent/v1/enroll`: a device asks to join an enterprise with an enrolment token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EnrollRequest {
    pub token: String,
    /// The name the device is listed under (its host name, say).
    pub device_name: String,
    #[serde(default)]
    pub serial: Option<String>,
    #[serde(default)]
    pub imei: Option<String>,
    #[serde(default)]
    pub manufacturer: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    /// `LINUX`, `ANDROID`, …
    #[serde(default)]
    pub platform: Option<String>,
}

/// The answer to an enrolment: the device's own credential, shown once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EnrollResponse {
    pub device_id: Uuid,
    pub enterprise_id: Uuid,
    /// The device's secret; sent as `Authorization: Bearer …` on the WebSocket upgrade.
    pub device_token: String,
}

/// Hardware facts (Esper's `hardwareInfo`; espercli reads `manufacturer`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HardwareInfo {
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub brand: Option<String>,
    pub serial_number: Option<String>,
    pub imei: Option<String>,
    pub cpu_model: Option<String>,
    pub cpu_cores: Option<u32>,
    pub architecture: Option<String>,
    pub total_ram_mb: Option<u64>,
}

/// Software facts (Esper's `softwareInfo`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SoftwareInfo {
    /// `LINUX`, `ANDROID`, …
    pub platform: Option<String>,
    pub os_name: Option<String>,
    pub os_version: Option<String>,
    pub kernel_version: Option<String>,
    pub agent_version: Option<String>,
    pub hostname: Option<String>,
    pub timezone: Option<String>,
    pub locale: Option<String>,
    /// Android API level where there is one.
    pub api_level: Option<u32>,
}

/// One network interface.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkInterface {
    pub name: String,
    pub mac_address: Option<String>,
    #[serde(default)]
    pub addresses: Vec<String>,
    pub is_up: bool,
    pub is_wireless: bool,
}

/// Network facts (Esper's `networkInfo`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkInfo {
    #[serde(default)]
    pub interfaces: Vec<NetworkInterface>,
    pub wifi_ssid: Option<String>,
    /// Signal in dBm.
    pub wifi_signal_strength: Option<i32>,
    /// Link speed in Mbit/s.
    pub wifi_link_speed: Option<u32>,
}

/// Memory and storage (Esper's `memoryInfo`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemoryInfo {
    pub total_ram_mb: Option<u64>,
    pub available_ram_mb: Option<u64>,
    pub total_storage_mb: Option<u64>,
    pub available_storage_mb: Option<u64>,
}

/// One display.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Display {
    pub name: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub connected: bool,
}

/// Everything a device reports about itself; sent at connect and whenever it changes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Inventory {
    pub hardware: HardwareInfo,
    pub software: SoftwareInfo,
    pub network: NetworkInfo,
    pub memory: MemoryInfo,
    #[serde(default)]
    pub displays: Vec<Display>,
}

/// An installed package (a Debian package on Linux, an app on Android).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InstalledApp {
    pub package_name: String,
    pub app_name: String,
    pub version_name: Option<String>,
    pub version_code: Option<String>,
}

/// A reading of the device's sensors and counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Telemetry {
    pub battery_level: Option<f64>,
    pub battery_temperature: Option<f64>,
    pub battery_charging: Option<bool>,
    /// CPU use over the last interval, 0–100.
    pub cpu_percent: Option<f64>,
    /// Highest temperature sensor, °C.
    pub temperature: Option<f64>,
    pub memory_total_mb: Option<u64>,
    pub memory_available_mb: Option<u64>,
    pub storage_total_mb: Option<u64>,
    pub storage_available_mb: Option<u64>,
    pub data_download_bytes: Option<u64>,
    pub data_upload_bytes: Option<u64>,
    pub wifi_signal_strength: Option<i32>,
    pub wifi_link_speed: Option<u32>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

/// Frames a device sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentFrame {
    /// First frame on every connection.
    Hello {
        protocol: u32,
        agent_version: String,
    },
    Inventory(Box<Inventory>),
    /// The complete list of installed packages.
    Apps {
        apps: Vec<InstalledApp>,
    },
    Heartbeat,
    Telemetry(Box<Telemetry>),
    /// Progress or result of a command the server sent.
    CommandStatus(CommandReport),
}

/// Frames the server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The answer to `hello`: who the device is and how often to report.
    Welcome {
        device_id: Uuid,
        heartbeat_secs: u64,
        telemetry_secs: u64,
    },
    /// Something the device sent was refused; the connection stays open.
    Error { message: String },
    /// A command to run. The same command may arrive more than once (delivery is at least
    /// once); the agent runs each `id` once and answers a repeat with what it already knows.
    Command(Box<CommandFrame>),
}

/// One command for one device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandFrame {
    /// The command's id on this device (a V0CommandStatus id).
    pub id: Uuid,
    /// The catalog name, e.g. `REBOOT`.
    pub command: String,
    /// `command_args` as the operator gave them, checked against the catalog; for
    /// `RUN_CUSTOM_ACTION` the server adds the chosen option's `script` and `interpreter`; for
    /// `INSTALL`, `UNINSTALL` and `PUSH_CONTENT` the package's `package_name`,
    /// `application_name`, `version_name`, `version_code` and `package_kind` (`apk`, `deb`),
    /// and where there is a file to fetch, `download` ([`FileDownload`]).
    #[serde(default)]
    pub args: serde_json::Map<String, serde_json::Value>,
    /// After this long the server records `Command TimeOut`; the agent gives up too.
    pub timeout_secs: u64,
}

/// Prefix of the paths devices fetch files from with their own credential.
pub const FILES_PATH_PREFIX: &str = "/agent/v1/";

/// `command_args.download`: the file of an `INSTALL` or `PUSH_CONTENT`, and what the device
/// checks before it uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDownload {
    /// Where to fetch it on the server the device is enrolled with, under
    /// [`FILES_PATH_PREFIX`] (`Authorization: Bearer <device credential>`).
    pub path: String,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// The name it was uploaded under, made safe for a file system.
    pub file_name: String,
}

/// How far a command has got on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandProgress {
    /// Received and recorded; it will run.
    Acknowledged,
    /// Running.
    InProgress,
    Success,
    Failure,
}

impl CommandProgress {
    pub fn is_final(self) -> bool {
        matches!(self, CommandProgress::Success | CommandProgress::Failure)
    }
}

/// The agent's report on one command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandReport {
    pub id: Uuid,
    pub state: CommandProgress,
    /// Why it failed, or a short note on what was done.
    #[serde(default)]
    pub reason: Option<String>,
    /// What the command produced (exit code and bounded output of a script, say). A JSON
    /// object of strings, numbers and lists, so it reads back as a Python literal.
    #[serde(default)]
    pub details: Option<serde_json::Map<String, serde_json::Value>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_tagged_json() {
        let hello = AgentFrame::Hello {
            protocol: 1,
            agent_version: "0.1.0".into(),
        };
        let text = serde_json::to_string(&hello).unwrap();
        assert_eq!(
            text,
            r#"{"type":"hello","protocol":1,"agent_version":"0.1.0"}"#
        );
        let back: AgentFrame =
            serde_json::from_str(r#"{"type":"heartbeat","extra":"ignored"}"#).unwrap();
        assert_eq!(back, AgentFrame::Heartbeat);
        let inventory: AgentFrame = serde_json::from_str(
            r#"{"type":"inventory","hardware":{"manufacturer":"Acme"},"software":{},"network":{},"memory":{}}"#,
        )
        .unwrap();
        let AgentFrame::Inventory(inv) = inventory else {
            panic!("not inventory");
        };
        assert_eq!(inv.hardware.manufacturer.as_deref(), Some("Acme"));
        assert!(serde_json::from_str::<AgentFrame>(r#"{"type":"nope"}"#).is_err());
    }
}
