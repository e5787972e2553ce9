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

/// Where uploaded files are kept: a folder, a `file://` URL, or an S3-compatible bucket
/// `s3://BUCKET[/PREFIX]`. The S3 fields override what `AWS_*` environment variables say
/// (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, …); they are refused for a folder.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct BlobSettings {
    pub location: String,
    /// The S3 endpoint, e.g. `https://s3.example.com`; an `http://` one allows plain HTTP.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

impl BlobSettings {
    /// Blobs at `location`, everything else from the environment.
    pub fn at(location: impl Into<String>) -> Self {
        Self {
            location: location.into(),
            ..Self::default()
        }
    }
}

impl std::fmt::Debug for BlobSettings {
    // The secret key stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobSettings")
            .field("location", &self.location)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "…"),
            )
            .finish()
    }
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
    /// How commands wait and time out.
    pub commands: CommandSettings,
    /// Uploads and downloads of files.
    pub files: FileSettings,
}

/// Uploaded files: size limits and download links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSettings {
    /// Largest application package accepted.
    pub max_app_bytes: u64,
    /// Largest content file accepted.
    pub max_content_bytes: u64,
    /// How long a download URL in a response works.
    pub download_ttl: Duration,
    /// Where uploads are written while they arrive (the system's temporary folder if unset).
    pub upload_dir: Option<PathBuf>,
    /// Package inspections that may run at once (each may hold up to about 132 MiB).
    pub max_inspections: usize,
}

impl Default for FileSettings {
    fn default() -> Self {
        Self {
            max_app_bytes: 1024 * 1024 * 1024,
            max_content_bytes: 2 * 1024 * 1024 * 1024,
            download_ttl: Duration::from_secs(3600),
            upload_dir: None,
            max_inspections: crate::inspections::default_max_inspections(),
        }
    }
}

/// Commands: schedules, waiting and timeouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSettings {
    /// The time zone `console` schedules are read in (an IANA name such as `Europe/Berlin`).
    pub console_timezone: String,
    /// How long a command waits for an offline device before it ends in `Command TimeOut`.
    pub queue_expiry: Duration,
    /// Time a device has to finish a command once sent, by command name, replacing the
    /// built-in default for that kind. Used as given: `steward serve` bounds what an operator
    /// configures to 2 minutes … 3 days; a test may set a few seconds.
    pub timeouts: std::collections::BTreeMap<String, Duration>,
    /// How often deadlines and schedules are checked.
    pub sweep_interval: Duration,
}

impl Default for CommandSettings {
    fn default() -> Self {
        Self {
            console_timezone: "UTC".into(),
            queue_expiry: Duration::from_secs(30 * 24 * 3600),
            timeouts: Default::default(),
            sweep_interval: Duration::from_secs(1),
        }
    }
}

impl CommandSettings {
    /// How long a device has to finish `command`: the configured time, else its kind's default.
    pub fn timeout(&self, command: &str) -> Duration {
        self.timeouts
            .get(command)
            .copied()
            .unwrap_or_else(|| steward_core::commands::default_timeout(command))
    }
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
            commands: CommandSettings::default(),
            files: FileSettings::default(),
        }
    }
}
