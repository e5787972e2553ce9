//! Simulated devices against a `steward serve` process: enrolment rate, time to connect all,
//! server memory and CPU while they idle, a GROUP command fanned out to all of them, and the
//! round trip of one command to one device. The devices are `steward-agent`'s own simulator,
//! speaking the real protocol.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::StreamExt;
use serde_json::json;
use steward_agent::backoff::Backoff;
use steward_agent::link::LinkEvent;
use steward_agent::platform::Platform;
use steward_agent::platform::simulated::SimulatedPlatform;
use steward_agent::simulate::{SimulateOptions, Simulation, start};
use uuid::Uuid;

use crate::util::{Api, percentile};

/// One batch of devices added to the fleet.
pub struct Batch {
    pub simulation: Simulation,
    pub enrolled: usize,
    pub enrol_time: Duration,
    pub connect_time: Duration,
}

/// Enrols `devices` new simulated devices with `token`, starts them and waits (up to `limit`)
/// until every one is connected. Enrolment runs at the simulator's concurrency (32 requests
/// in flight from one client).
pub async fn grow(
    port: u16,
    token: &str,
    devices: usize,
    state_file: &Path,
    source_ips: &[IpAddr],
    limit: Duration,
) -> Result<Batch> {
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let began = Instant::now();
    let start_all = start(
        SimulateOptions {
            server: format!("http://127.0.0.1:{port}").parse()?,
            enrollment_token: token.to_string(),
            devices,
            state_file: state_file.to_path_buf(),
            ca_file: None,
            source_ips: source_ips.to_vec(),
            // Short retries (as in the fleet tests): the figure is the server's capacity, not
            // the agent's patience.
            backoff: Backoff::new(
                Duration::from_millis(500),
                Duration::from_secs(5),
                Duration::from_secs(3),
            ),
            observer: Some(tx),
            executions_log: None,
            command_delay: Duration::ZERO,
        },
        |i| Arc::new(SimulatedPlatform::new(i)) as Arc<dyn Platform>,
    );
    let simulation = tokio::time::timeout(limit, start_all)
        .await
        .context("enrolment timed out")??;
    let enrol_time = began.elapsed();
    let connecting = Instant::now();
    let mut connected = vec![false; devices];
    let mut count = 0;
    let deadline = tokio::time::Instant::now() + limit;
    while count < devices {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(LinkEvent::Connected(i, _))) => {
                if let Some(seen) = connected.get_mut(i)
                    && !*seen
                {
                    *seen = true;
                    count += 1;
                }
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => {
                simulation.shutdown().await;
                bail!("only {count} of {devices} devices connected within {limit:?}");
            }
        }
    }
    Ok(Batch {
        simulation,
        enrolled: devices,
        enrol_time,
        connect_time: connecting.elapsed(),
    })
}

/// The floor of the enrolment rate: `/healthz` requests from one client with the same
/// concurrency as the simulator's enrolments, as many as there were enrolments.
pub async fn healthz_rate(port: u16, requests: usize) -> Result<f64> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let url = format!("http://127.0.0.1:{port}/healthz");
    let began = Instant::now();
    let results: Vec<Result<()>> = futures_util::stream::iter(0..requests)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            async move {
                client.get(url).send().await?.error_for_status()?;
                Ok(())
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    if let Some(Err(e)) = results.into_iter().find(|r| r.is_err()) {
        return Err(e);
    }
    Ok(requests as f64 / began.elapsed().as_secs_f64())
}

/// A fan-out: how long the request took to be stored, and until every row was a success.
pub struct FanOut {
    pub devices: u64,
    pub enqueue: Duration,
    pub all_success: Duration,
}

/// One GROUP `command` to `group`, polled until `devices` rows are `Command Success`.
pub async fn group_fan_out(
    api: &Api,
    group: &str,
    command: &str,
    devices: u64,
    limit: Duration,
) -> Result<FanOut> {
    let began = Instant::now();
    let request = api
        .command(
            json!({"command_type": "GROUP", "groups": [group], "device_type": "all",
                        "command": command}),
        )
        .await?;
    let enqueue = began.elapsed();
    loop {
        let (done, all) = api.count_in(&request, "Command Success").await?;
        if done >= devices {
            return Ok(FanOut {
                devices,
                enqueue,
                all_success: began.elapsed(),
            });
        }
        if began.elapsed() > limit {
            bail!("after {limit:?} only {done} of {all} rows were Command Success");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `samples` single-device commands one after another, each polled without pause until it is
/// `Command Success`; the sorted round trips.
pub async fn round_trips(api: &Api, device: Uuid, samples: usize) -> Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let began = Instant::now();
        let request = api
            .command(json!({"command_type": "DEVICE", "devices": [device],
                            "device_type": "all", "command": "UPDATE_HEARTBEAT"}))
            .await?;
        loop {
            let (done, _) = api.count_in(&request, "Command Success").await?;
            if done >= 1 {
                break;
            }
            if began.elapsed() > Duration::from_secs(30) {
                bail!("a single command did not succeed within 30 s");
            }
        }
        times.push(began.elapsed());
    }
    times.sort();
    Ok(times)
}

pub fn p50_p99(sorted: &[Duration]) -> (Duration, Duration) {
    (percentile(sorted, 50.0), percentile(sorted, 99.0))
}
