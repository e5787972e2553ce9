//! What a server is told at start.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// PEM files for serving HTTPS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Requests one API key may make per window; `requests == 0` turns the limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub window: Duration,
}

impl Default for RateLimit {
    /// Esper's published allowance: 8,000 requests per 5 minutes.
    fn default() -> Self {
        Self {
            requests: 8000,
            window: Duration::from_secs(300),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    /// Origin of every absolute URL in responses (`https://mdm.example.com`, no `/api`). When
    /// unset, the scheme and `Host` of each request are used.
    pub public_url: Option<String>,
    pub tls: Option<TlsFiles>,
    pub rate_limit: RateLimit,
    /// Largest `limit` a list accepts; larger values are lowered to it.
    pub max_page_size: u64,
    /// Largest JSON request body, in bytes.
    pub max_body_bytes: usize,
    /// How long a request may take before it is answered 503.
    pub request_timeout: Duration,
    /// What the device link asks of devices and how it judges them.
    pub devices: DeviceSettings,
}

/// Presence and reporting of devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSettings {
    /// A device not heard from for this long turns INACTIVE (60).
    pub inactive_after: Duration,
    /// How often connected devices are marked as seen in the database (and silent ones swept).
    pub presence_interval: Duration,
    /// How often devices send a heartbeat frame.
    pub heartbeat_interval: Duration,
    /// How often devices send telemetry.
    pub telemetry_interval: Duration,
    /// How long a new socket may take to say hello.
    pub hello_timeout: Duration,
}

impl Default for DeviceSettings {
    fn default() -> Self {
        Self {
            inactive_after: Duration::from_secs(180),
            presence_interval: Duration::from_secs(30),
            heartbeat_interval: Duration::from_secs(60),
            telemetry_interval: Duration::from_secs(300),
            hello_timeout: Duration::from_secs(10),
        }
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            tls: None,
            rate_limit: RateLimit::default(),
            max_page_size: 1000,
            max_body_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            devices: DeviceSettings::default(),
        }
    }
}
