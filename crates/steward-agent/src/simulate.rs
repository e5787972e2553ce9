//! Many simulated devices in one process, each enrolled like a real one and speaking the same
//! protocol over its own socket. Credentials are kept in a file so a rerun reconnects the same
//! devices instead of enrolling new ones.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use steward_proto::agent::EnrollRequest;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use url::Url;
use uuid::Uuid;

use crate::backoff::Backoff;
use crate::commands::download::FileSource;
use crate::commands::simulated::{ExecutionLog, SimulatedExecutor, journals_from};
use crate::commands::{CommandRunner, Journal};
use crate::link::{LinkConfig, enroll_with, run_link};
use crate::platform::Platform;

/// Enrolments in flight at once.
const ENROLL_CONCURRENCY: usize = 32;

#[derive(Debug, Clone)]
pub struct SimulateOptions {
    pub server: Url,
    pub enrollment_token: String,
    pub devices: usize,
    /// Where the simulated devices' credentials are kept.
    pub state_file: PathBuf,
    pub ca_file: Option<PathBuf>,
    pub source_ips: Vec<IpAddr>,
    pub backoff: Backoff,
    /// Told of every device's attempts, connections and disconnections.
    pub observer: Option<tokio::sync::mpsc::UnboundedSender<crate::link::LinkEvent>>,
    /// A file recording every command execution (JSON lines); read back at start so that a
    /// restarted simulator never runs a command again.
    pub executions_log: Option<PathBuf>,
    /// How long each simulated command takes.
    pub command_delay: std::time::Duration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SimulatedDevice {
    index: u64,
    device_id: Uuid,
    device_token: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Credentials {
    server: String,
    devices: Vec<SimulatedDevice>,
}

fn load(path: &std::path::Path, server: &Url) -> Credentials {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<Credentials>(&t).ok())
        .filter(|c| c.server == server.as_str())
        .unwrap_or_else(|| Credentials {
            server: server.to_string(),
            devices: Vec::new(),
        })
}

/// A running simulation: its devices run until `stop` is cancelled.
pub struct Simulation {
    pub device_ids: Vec<Uuid>,
    pub stop: CancellationToken,
    tasks: TaskTracker,
    /// Devices whose credential the server refused (deleted ones).
    pub refused: Arc<AtomicUsize>,
}

impl Simulation {
    /// Stops every device and waits for their sockets to close.
    pub async fn shutdown(self) {
        self.stop.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }
}

/// Enrols what is missing, then starts every device. `platform(index)` gives device `index`
/// its facts.
pub async fn start(
    options: SimulateOptions,
    platform: impl Fn(u64) -> Arc<dyn Platform>,
) -> anyhow::Result<Simulation> {
    let mut credentials = load(&options.state_file, &options.server);
    credentials.devices.truncate(options.devices);
    let have = credentials.devices.len();
    let missing: Vec<u64> = (have as u64..options.devices as u64).collect();
    let server = options.server.clone();
    let token = options.enrollment_token.clone();
    let client = crate::tls::http_client(options.ca_file.as_deref())?;
    let enrolled: Vec<anyhow::Result<SimulatedDevice>> = futures_util::stream::iter(missing)
        .map(|index| {
            let (server, token, client, p) = (
                server.clone(),
                token.clone(),
                client.clone(),
                platform(index),
            );
            async move {
                let inventory = if p.is_cheap() {
                    p.inventory()
                } else {
                    Default::default()
                };
                let request = EnrollRequest {
                    token,
                    device_name: inventory
                        .software
                        .hostname
                        .clone()
                        .unwrap_or_else(|| format!("sim-{index}")),
                    serial: inventory.hardware.serial_number.clone(),
                    imei: inventory.hardware.imei.clone(),
                    manufacturer: inventory.hardware.manufacturer.clone(),
                    model: inventory.hardware.model.clone(),
                    platform: inventory.software.platform.clone(),
                };
                let answer = enroll_with(&client, &server, &request).await?;
                Ok(SimulatedDevice {
                    index,
                    device_id: answer.device_id,
                    device_token: answer.device_token,
                })
            }
        })
        .buffer_unordered(ENROLL_CONCURRENCY)
        .collect()
        .await;
    let mut failures = Vec::new();
    for result in enrolled {
        match result {
            Ok(device) => credentials.devices.push(device),
            Err(e) => failures.push(e),
        }
    }
    credentials.devices.sort_by_key(|d| d.index);
    if let Some(dir) = options
        .state_file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&options.state_file, serde_json::to_string(&credentials)?)
        .with_context(|| format!("cannot write {}", options.state_file.display()))?;
    if let Some(first) = failures.into_iter().next() {
        return Err(first.context("enrolling simulated devices"));
    }

    let (log, mut journals) = match &options.executions_log {
        Some(path) => {
            let earlier = ExecutionLog::read(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let log = ExecutionLog::open(path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            (Some(Arc::new(log)), journals_from(&earlier))
        }
        None => (None, Default::default()),
    };

    let stop = CancellationToken::new();
    let tasks = TaskTracker::new();
    let refused = Arc::new(AtomicUsize::new(0));
    let downloads = crate::tls::download_client(options.ca_file.as_deref())?;
    for device in &credentials.devices {
        let p = platform(device.index);
        let files = FileSource::with_client(
            options.server.clone(),
            device.device_token.clone(),
            downloads.clone(),
        );
        let executor = SimulatedExecutor::new(device.device_id, options.command_delay, log.clone())
            .with_files(files)
            .with_platform(p.clone());
        let journal = journals
            .remove(&device.device_id)
            .unwrap_or_else(Journal::in_memory);
        let runner = CommandRunner::new(Arc::new(executor), journal);
        let mut config =
            LinkConfig::new(options.server.clone(), device.device_token.clone(), runner);
        config.ca_file = options.ca_file.clone();
        config.source_ips = options.source_ips.clone();
        config.backoff = options.backoff.clone();
        config.observer = options.observer.clone();
        let stop = stop.clone();
        let refused = refused.clone();
        let index = usize::try_from(device.index).unwrap_or(0);
        tasks.spawn(async move {
            if run_link(config, p, index, stop).await.is_err() {
                refused.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    Ok(Simulation {
        device_ids: credentials.devices.iter().map(|d| d.device_id).collect(),
        stop,
        tasks,
        refused,
    })
}
