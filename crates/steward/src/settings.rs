//! Settings from flags, `STEWARD_*` environment variables and an optional TOML file, in that
//! order of precedence, over built-in defaults.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use serde::Deserialize;
use steward_core::commands::{MAX_TIMEOUT, MIN_TIMEOUT};
use steward_server::{
    BlobSettings, CommandSettings, DeviceSettings, FileSettings as ServerFileSettings, RateLimit,
    ServerSettings, TlsFiles,
};

/// Settings every subcommand takes.
#[derive(Args, Debug)]
pub struct GlobalArgs {
    /// TOML settings file (keys as the long flags, with `_` for `-`).
    #[arg(long, env = "STEWARD_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// `sqlite://PATH` or `postgres://USER@HOST/DB`. Default: a SQLite file in the data folder.
    #[arg(long, env = "STEWARD_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Folder for the SQLite database and blobs. Default: `./steward-data`.
    #[arg(long, env = "STEWARD_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
}

/// Settings of `steward serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on. Default: 127.0.0.1:8080.
    #[arg(long, env = "STEWARD_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Origin of absolute URLs in responses, e.g. `https://mdm.example.com`. Default: the
    /// scheme and Host of each request.
    #[arg(long, env = "STEWARD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// PEM certificate chain; with --tls-key, the server speaks HTTPS.
    #[arg(long, env = "STEWARD_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key.
    #[arg(long, env = "STEWARD_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Requests per API key per window; 0 turns the limit off. Default: 8000.
    #[arg(long, env = "STEWARD_RATE_LIMIT")]
    pub rate_limit: Option<u32>,
    /// The rate-limit window in seconds. Default: 300.
    #[arg(long, env = "STEWARD_RATE_LIMIT_WINDOW")]
    pub rate_limit_window: Option<u64>,
    /// Largest page a list returns. Default: 1000.
    #[arg(long, env = "STEWARD_MAX_PAGE_SIZE")]
    pub max_page_size: Option<u64>,
    /// Largest JSON request body in bytes. Default: 1048576.
    #[arg(long, env = "STEWARD_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Seconds of silence after which a device turns INACTIVE. Default: 180.
    #[arg(long, env = "STEWARD_DEVICE_INACTIVE_AFTER")]
    pub device_inactive_after: Option<u64>,
    /// Seconds between device heartbeats. Default: 60.
    #[arg(long, env = "STEWARD_HEARTBEAT_INTERVAL")]
    pub heartbeat_interval: Option<u64>,
    /// Seconds between device telemetry reports. Default: 300.
    #[arg(long, env = "STEWARD_TELEMETRY_INTERVAL")]
    pub telemetry_interval: Option<u64>,
    /// Time zone of `console` command schedules (IANA name). Default: UTC.
    #[arg(long, env = "STEWARD_CONSOLE_TIMEZONE")]
    pub console_timezone: Option<String>,
    /// Seconds a command waits for an offline device before it times out. Default: 30 days.
    #[arg(long, env = "STEWARD_COMMAND_QUEUE_EXPIRY")]
    pub command_queue_expiry: Option<u64>,
    /// A command's time to finish once sent, as NAME=SECONDS (repeatable), e.g.
    /// `--command-timeout INSTALL=7200`; bounded to 120 … 259200. Also from
    /// STEWARD_COMMAND_TIMEOUTS (`INSTALL=7200,LOCK=300`) and the file's `command_timeouts`;
    /// for each command the flag beats the environment, which beats the file.
    #[arg(long = "command-timeout", value_parser = parse_timeout)]
    pub command_timeouts: Vec<(String, u64)>,
    /// Where uploaded files are kept: a folder, a `file://` URL, or an S3-compatible bucket
    /// `s3://BUCKET[/PREFIX]`. Default: `blobs` in the data folder.
    #[arg(long, env = "STEWARD_BLOB_STORAGE")]
    pub blob_storage: Option<String>,
    /// S3 endpoint URL, e.g. `https://s3.example.com` (`http://` allows plain HTTP). Default:
    /// `AWS_ENDPOINT_URL`, else AWS.
    #[arg(long, env = "STEWARD_BLOB_ENDPOINT")]
    pub blob_endpoint: Option<String>,
    /// S3 region. Default: `AWS_REGION`, else us-east-1.
    #[arg(long, env = "STEWARD_BLOB_REGION")]
    pub blob_region: Option<String>,
    /// S3 access key id. Default: `AWS_ACCESS_KEY_ID` (or the other AWS credential sources).
    #[arg(long, env = "STEWARD_BLOB_ACCESS_KEY_ID")]
    pub blob_access_key_id: Option<String>,
    /// S3 secret access key. Default: `AWS_SECRET_ACCESS_KEY`.
    #[arg(long, env = "STEWARD_BLOB_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub blob_secret_access_key: Option<String>,
    /// Largest application package accepted, in bytes. Default: 1 GiB.
    #[arg(long, env = "STEWARD_MAX_APP_BYTES")]
    pub max_app_bytes: Option<u64>,
    /// Largest content file accepted, in bytes. Default: 2 GiB.
    #[arg(long, env = "STEWARD_MAX_CONTENT_BYTES")]
    pub max_content_bytes: Option<u64>,
    /// Seconds a download URL in a response keeps working. Default: 3600.
    #[arg(long, env = "STEWARD_DOWNLOAD_URL_TTL")]
    pub download_url_ttl: Option<u64>,
    /// Folder where uploads are written while they arrive. Default: the system's temporary
    /// folder.
    #[arg(long, env = "STEWARD_UPLOAD_DIR")]
    pub upload_dir: Option<PathBuf>,
    /// Package inspections that may run at once. Default: the CPU count, at most 4.
    #[arg(long, env = "STEWARD_MAX_INSPECTIONS")]
    pub max_inspections: Option<usize>,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "STEWARD_LOG_JSON")]
    pub log_json: bool,
    /// Name of the enterprise created on first start with an empty database.
    #[arg(long, env = "STEWARD_BOOTSTRAP_ENTERPRISE", default_value = "Steward")]
    pub bootstrap_enterprise: String,
}

/// The TOML file: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub database_url: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub public_url: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub rate_limit: Option<u32>,
    pub rate_limit_window: Option<u64>,
    pub max_page_size: Option<u64>,
    pub max_body_bytes: Option<usize>,
    pub log_json: Option<bool>,
    pub device_inactive_after: Option<u64>,
    pub heartbeat_interval: Option<u64>,
    pub telemetry_interval: Option<u64>,
    pub console_timezone: Option<String>,
    pub command_queue_expiry: Option<u64>,
    /// `command_timeouts = { INSTALL = 7200 }`.
    pub command_timeouts: Option<BTreeMap<String, u64>>,
    pub blob_storage: Option<String>,
    pub blob_endpoint: Option<String>,
    pub blob_region: Option<String>,
    pub blob_access_key_id: Option<String>,
    pub blob_secret_access_key: Option<String>,
    pub max_app_bytes: Option<u64>,
    pub max_content_bytes: Option<u64>,
    pub download_url_ttl: Option<u64>,
    pub upload_dir: Option<PathBuf>,
    pub max_inspections: Option<usize>,
}

/// The environment variable with per-command timeouts, `NAME=SECONDS` separated by commas.
pub const COMMAND_TIMEOUTS_ENV: &str = "STEWARD_COMMAND_TIMEOUTS";

fn parse_timeout(text: &str) -> Result<(String, u64), String> {
    let (name, secs) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not NAME=SECONDS"))?;
    let secs = secs
        .trim()
        .parse()
        .map_err(|_| format!("{secs:?} is not a number of seconds"))?;
    Ok((name.trim().to_ascii_uppercase(), secs))
}

/// `INSTALL=7200,LOCK=300` (blank parts are skipped).
fn parse_timeout_list(text: &str) -> Result<Vec<(String, u64)>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(parse_timeout)
        .collect()
}

/// The per-command timeouts, layered: the file's, then the environment's, then the flags', a
/// later one replacing an earlier one for the same command. Each name must be a command's;
/// each time is bounded to what the server allows (120 s … 3 days).
fn command_timeouts(
    flags: &[(String, u64)],
    env: Option<&str>,
    file: Option<&BTreeMap<String, u64>>,
) -> anyhow::Result<BTreeMap<String, Duration>> {
    let from_env = match env {
        Some(text) => {
            parse_timeout_list(text).map_err(|e| anyhow::anyhow!("{COMMAND_TIMEOUTS_ENV}: {e}"))?
        }
        None => Vec::new(),
    };
    let layers = [
        (
            "command_timeouts in the settings file",
            file.cloned()
                .unwrap_or_default()
                .into_iter()
                .collect::<Vec<_>>(),
        ),
        (COMMAND_TIMEOUTS_ENV, from_env),
        ("--command-timeout", flags.to_vec()),
    ];
    let mut timeouts = BTreeMap::new();
    for (source, entries) in layers {
        for (name, secs) in entries {
            let name = name.trim().to_ascii_uppercase();
            anyhow::ensure!(
                steward_core::commands::command_names().any(|c| c == name),
                "{source}: {name:?} is not a command name (such as INSTALL or LOCK)"
            );
            let asked = Duration::from_secs(secs);
            let bounded = asked.clamp(MIN_TIMEOUT, MAX_TIMEOUT);
            if bounded != asked {
                tracing::warn!(
                    "{source}: {name}={secs} is outside {} … {} seconds; using {}",
                    MIN_TIMEOUT.as_secs(),
                    MAX_TIMEOUT.as_secs(),
                    bounded.as_secs()
                );
            }
            timeouts.insert(name, bounded);
        }
    }
    Ok(timeouts)
}

fn command_settings(
    args: &ServeArgs,
    file: &FileSettings,
    env_timeouts: Option<&str>,
) -> anyhow::Result<CommandSettings> {
    let defaults = CommandSettings::default();
    let console_timezone = args
        .console_timezone
        .clone()
        .or_else(|| file.console_timezone.clone())
        .unwrap_or(defaults.console_timezone);
    anyhow::ensure!(
        jiff::tz::TimeZone::get(&console_timezone).is_ok(),
        "--console-timezone {console_timezone:?} is not a time zone"
    );
    let queue_expiry = args
        .command_queue_expiry
        .or(file.command_queue_expiry)
        .map(Duration::from_secs)
        .unwrap_or(defaults.queue_expiry);
    anyhow::ensure!(
        queue_expiry >= Duration::from_secs(1),
        "--command-queue-expiry must be at least one second"
    );
    Ok(CommandSettings {
        console_timezone,
        queue_expiry,
        timeouts: command_timeouts(
            &args.command_timeouts,
            env_timeouts,
            file.command_timeouts.as_ref(),
        )?,
        sweep_interval: defaults.sweep_interval,
    })
}

impl FileSettings {
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read settings file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("bad settings file {}", path.display()))
    }

    /// A settings file's text.
    fn parse(text: &str) -> anyhow::Result<Self> {
        Ok(config::Config::builder()
            .add_source(config::File::from_str(text, config::FileFormat::Toml))
            .build()
            .and_then(config::Config::try_deserialize)?)
    }
}

/// The data folder: flag, file, or `./steward-data`.
fn data_dir(global: &GlobalArgs, file: &FileSettings) -> PathBuf {
    global
        .data_dir
        .clone()
        .or_else(|| file.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from("steward-data"))
}

/// Where the database is, with the data folder created if it will hold it.
pub fn resolve_database(global: &GlobalArgs, file: &FileSettings) -> anyhow::Result<String> {
    if let Some(url) = global
        .database_url
        .clone()
        .or_else(|| file.database_url.clone())
    {
        return Ok(url);
    }
    let dir = data_dir(global, file);
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create data folder {}", dir.display()))?;
    Ok(format!("sqlite://{}", dir.join("steward.db").display()))
}

pub struct Resolved {
    pub database_url: String,
    pub server: ServerSettings,
    /// Where uploaded files are kept.
    pub blob_storage: BlobSettings,
    pub bootstrap_enterprise: String,
}

pub fn resolve_serve(
    global: &GlobalArgs,
    args: &ServeArgs,
    file: &FileSettings,
) -> anyhow::Result<Resolved> {
    // First, so what the settings below warn about is logged.
    init_logging("info", args.log_json || file.log_json.unwrap_or(false));
    let defaults = ServerSettings::default();
    let tls = match (
        args.tls_cert.clone().or_else(|| file.tls_cert.clone()),
        args.tls_key.clone().or_else(|| file.tls_key.clone()),
    ) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        (None, None) => None,
        _ => anyhow::bail!("give both a TLS certificate and a TLS key, or neither"),
    };
    let public_url = args.public_url.clone().or_else(|| file.public_url.clone());
    if let Some(url) = &public_url {
        let parsed = url::Url::parse(url).with_context(|| format!("bad --public-url {url:?}"))?;
        anyhow::ensure!(
            matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some(),
            "--public-url must be an http(s) origin such as https://mdm.example.com"
        );
    }
    let server = ServerSettings {
        listen: args.listen.or(file.listen).unwrap_or(defaults.listen),
        public_url,
        tls,
        rate_limit: RateLimit {
            requests: args
                .rate_limit
                .or(file.rate_limit)
                .unwrap_or(defaults.rate_limit.requests),
            window: args
                .rate_limit_window
                .or(file.rate_limit_window)
                .map(Duration::from_secs)
                .unwrap_or(defaults.rate_limit.window),
        },
        max_page_size: args
            .max_page_size
            .or(file.max_page_size)
            .unwrap_or(defaults.max_page_size)
            .max(1),
        max_body_bytes: args
            .max_body_bytes
            .or(file.max_body_bytes)
            .unwrap_or(defaults.max_body_bytes),
        request_timeout: defaults.request_timeout,
        devices: device_settings(args, file)?,
        commands: command_settings(
            args,
            file,
            std::env::var(COMMAND_TIMEOUTS_ENV).ok().as_deref(),
        )?,
        files: file_settings(args, file)?,
    };
    anyhow::ensure!(
        server.rate_limit.requests == 0 || !server.rate_limit.window.is_zero(),
        "--rate-limit-window must be at least one second"
    );
    let blob_storage = BlobSettings {
        location: match args
            .blob_storage
            .clone()
            .or_else(|| file.blob_storage.clone())
        {
            Some(location) => location,
            None => data_dir(global, file).join("blobs").display().to_string(),
        },
        endpoint: args
            .blob_endpoint
            .clone()
            .or_else(|| file.blob_endpoint.clone()),
        region: args
            .blob_region
            .clone()
            .or_else(|| file.blob_region.clone()),
        access_key_id: args
            .blob_access_key_id
            .clone()
            .or_else(|| file.blob_access_key_id.clone()),
        secret_access_key: args
            .blob_secret_access_key
            .clone()
            .or_else(|| file.blob_secret_access_key.clone()),
    };
    Ok(Resolved {
        database_url: resolve_database(global, file)?,
        server,
        blob_storage,
        bootstrap_enterprise: args.bootstrap_enterprise.clone(),
    })
}

fn file_settings(args: &ServeArgs, file: &FileSettings) -> anyhow::Result<ServerFileSettings> {
    let defaults = ServerFileSettings::default();
    let files = ServerFileSettings {
        max_app_bytes: args
            .max_app_bytes
            .or(file.max_app_bytes)
            .unwrap_or(defaults.max_app_bytes),
        max_content_bytes: args
            .max_content_bytes
            .or(file.max_content_bytes)
            .unwrap_or(defaults.max_content_bytes),
        download_ttl: args
            .download_url_ttl
            .or(file.download_url_ttl)
            .map(Duration::from_secs)
            .unwrap_or(defaults.download_ttl),
        upload_dir: args.upload_dir.clone().or_else(|| file.upload_dir.clone()),
        max_inspections: args
            .max_inspections
            .or(file.max_inspections)
            .unwrap_or(defaults.max_inspections),
    };
    anyhow::ensure!(
        files.max_inspections > 0,
        "--max-inspections must be at least 1"
    );
    if let Some(dir) = &files.upload_dir {
        anyhow::ensure!(
            dir.is_dir(),
            "--upload-dir {} is not a folder",
            dir.display()
        );
    }
    anyhow::ensure!(
        files.max_app_bytes > 0 && files.max_content_bytes > 0,
        "upload limits must be at least one byte"
    );
    anyhow::ensure!(
        files.download_ttl >= Duration::from_secs(1),
        "--download-url-ttl must be at least one second"
    );
    Ok(files)
}

fn device_settings(args: &ServeArgs, file: &FileSettings) -> anyhow::Result<DeviceSettings> {
    let defaults = DeviceSettings::default();
    let secs = |flag: Option<u64>, in_file: Option<u64>, default: Duration| {
        flag.or(in_file).map(Duration::from_secs).unwrap_or(default)
    };
    let devices = DeviceSettings {
        inactive_after: secs(
            args.device_inactive_after,
            file.device_inactive_after,
            defaults.inactive_after,
        ),
        heartbeat_interval: secs(
            args.heartbeat_interval,
            file.heartbeat_interval,
            defaults.heartbeat_interval,
        ),
        telemetry_interval: secs(
            args.telemetry_interval,
            file.telemetry_interval,
            defaults.telemetry_interval,
        ),
        ..defaults
    };
    anyhow::ensure!(
        devices.heartbeat_interval >= Duration::from_secs(1)
            && devices.telemetry_interval >= Duration::from_secs(1),
        "device intervals must be at least one second"
    );
    // Presence is written a few times within the silence, so a connected device never lapses.
    let presence_interval = (devices.inactive_after / 3)
        .min(devices.presence_interval)
        .max(Duration::from_secs(1));
    anyhow::ensure!(
        devices.inactive_after >= devices.heartbeat_interval * 2,
        "--device-inactive-after must be at least two heartbeat intervals"
    );
    Ok(DeviceSettings {
        presence_interval,
        ..devices
    })
}

/// Logs go to standard error (standard output carries the admin commands' results), filtered
/// by `STEWARD_LOG` (or `RUST_LOG`), else at `default_level`.
pub fn init_logging(default_level: &str, json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("STEWARD_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// `steward serve`'s flags alone.
    #[derive(Parser)]
    struct Serve {
        #[command(flatten)]
        args: ServeArgs,
    }

    fn serve_args(flags: &[&str]) -> Result<ServeArgs, clap::Error> {
        let argv = std::iter::once("steward").chain(flags.iter().copied());
        Serve::try_parse_from(argv).map(|s| s.args)
    }

    fn file(text: &str) -> FileSettings {
        FileSettings::parse(text).unwrap()
    }

    fn secs(settings: &CommandSettings, name: &str) -> u64 {
        settings.timeout(name).as_secs()
    }

    #[test]
    fn command_timeout_flags_are_name_equals_seconds() {
        let args = serve_args(&[
            "--command-timeout",
            "INSTALL=7200",
            "--command-timeout",
            " lock = 300 ",
        ])
        .unwrap();
        assert_eq!(
            args.command_timeouts,
            vec![("INSTALL".to_string(), 7200), ("LOCK".to_string(), 300)]
        );
        for (bad, says) in [
            ("INSTALL", "is not NAME=SECONDS"),
            ("INSTALL=soon", "is not a number of seconds"),
            ("INSTALL=-5", "is not a number of seconds"),
        ] {
            let err = serve_args(&["--command-timeout", bad])
                .unwrap_err()
                .to_string();
            assert!(err.contains(says), "{bad}: {err}");
            assert!(err.contains("--command-timeout"), "{bad}: {err}");
        }
    }

    #[test]
    fn an_unknown_command_name_is_refused_wherever_it_comes_from() {
        let args = serve_args(&["--command-timeout", "MAKE_COFFEE=300"]).unwrap();
        let err = command_settings(&args, &FileSettings::default(), None)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("--command-timeout:"), "{err}");
        assert!(
            err.contains("\"MAKE_COFFEE\" is not a command name"),
            "{err}"
        );

        let none = serve_args(&[]).unwrap();
        let err = command_settings(&none, &FileSettings::default(), Some("LOCK=300,FLY=60"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("STEWARD_COMMAND_TIMEOUTS:"), "{err}");
        assert!(err.contains("\"FLY\""), "{err}");
        let err = command_settings(&none, &FileSettings::default(), Some("LOCK:300"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("STEWARD_COMMAND_TIMEOUTS") && err.contains("NAME=SECONDS"),
            "{err}"
        );

        let err = command_settings(&none, &file("command_timeouts = { BREW = 60 }"), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("settings file") && err.contains("\"BREW\""),
            "{err}"
        );
    }

    #[test]
    fn timeouts_are_bounded_to_two_minutes_and_three_days() {
        let args = serve_args(&[
            "--command-timeout",
            "LOCK=5",
            "--command-timeout",
            "WIPE=999999",
            "--command-timeout",
            "REBOOT=120",
            "--command-timeout",
            "INSTALL=259200",
        ])
        .unwrap();
        let settings = command_settings(&args, &FileSettings::default(), None).unwrap();
        assert_eq!(secs(&settings, "LOCK"), 120);
        assert_eq!(secs(&settings, "WIPE"), 259_200);
        assert_eq!(secs(&settings, "REBOOT"), 120);
        assert_eq!(secs(&settings, "INSTALL"), 259_200);
        // What is not configured keeps its kind's default.
        assert_eq!(
            settings.timeout("SET_TIMEZONE"),
            steward_core::commands::default_timeout("SET_TIMEZONE")
        );
    }

    #[test]
    fn the_settings_file_takes_a_map_of_timeouts_and_the_queue_expiry() {
        let f = file(
            "command_timeouts = { INSTALL = 7200, lock = 600 }\ncommand_queue_expiry = 86400\n",
        );
        let settings = command_settings(&serve_args(&[]).unwrap(), &f, None).unwrap();
        assert_eq!(secs(&settings, "INSTALL"), 7200);
        assert_eq!(secs(&settings, "LOCK"), 600, "names in any case");
        assert_eq!(settings.queue_expiry, Duration::from_secs(86_400));
        assert_eq!(settings.timeouts.len(), 2);
        // A value of the wrong kind is a bad file.
        assert!(FileSettings::parse("command_timeouts = { INSTALL = \"long\" }").is_err());
        assert!(FileSettings::parse("command_timeouts = 7200").is_err());
    }

    #[test]
    fn for_each_command_the_flag_beats_the_environment_which_beats_the_file() {
        let f = file(
            "command_timeouts = { INSTALL = 7200, LOCK = 600, REBOOT = 900 }\ncommand_queue_expiry = 86400\n",
        );
        let args = serve_args(&[
            "--command-timeout",
            "REBOOT=500",
            "--command-queue-expiry",
            "3600",
        ])
        .unwrap();
        let settings = command_settings(&args, &f, Some("LOCK=300, REBOOT=400,")).unwrap();
        assert_eq!(secs(&settings, "INSTALL"), 7200, "the file's");
        assert_eq!(
            secs(&settings, "LOCK"),
            300,
            "the environment's over the file's"
        );
        assert_eq!(secs(&settings, "REBOOT"), 500, "the flag's over both");
        assert_eq!(
            settings.queue_expiry,
            Duration::from_secs(3600),
            "the flag's"
        );
        // A later flag for the same command wins.
        let args = serve_args(&[
            "--command-timeout",
            "LOCK=200",
            "--command-timeout",
            "LOCK=250",
        ])
        .unwrap();
        let settings = command_settings(&args, &f, None).unwrap();
        assert_eq!(secs(&settings, "LOCK"), 250);
        assert_eq!(
            settings.queue_expiry,
            Duration::from_secs(86_400),
            "the file's"
        );
        // Nothing given: the defaults.
        let settings =
            command_settings(&serve_args(&[]).unwrap(), &FileSettings::default(), None).unwrap();
        assert_eq!(settings, CommandSettings::default());
    }

    #[test]
    fn a_queue_expiry_of_zero_is_refused() {
        let args = serve_args(&["--command-queue-expiry", "0"]).unwrap();
        let err = command_settings(&args, &FileSettings::default(), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--command-queue-expiry"), "{err}");
    }
}
