//! A fleet of 10,000 simulated devices (the agent's own link code, in this process) against a
//! `steward serve` process: after the server restarts, the devices come back spread out by
//! their jitter and back-off, not in one burst.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use steward_agent::backoff::Backoff;
use steward_agent::platform::Platform;
use steward_agent::simulate::{SimulateOptions, start};

use support::{
    Tiny, admin, connections_after, free_port, serve, terminate, wait_for_written_reports,
    wait_healthy,
};

/// How many devices; `STEWARD_FLEET_DEVICES` lowers it for a quick local run.
fn fleet_size() -> usize {
    std::env::var("STEWARD_FLEET_DEVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// The spread over which devices come back after losing the server.
const SPREAD: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_devices_come_back_spread_out_after_a_restart() {
    let n = fleet_size();
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let enterprise = admin(
        data.path(),
        None,
        &["enterprise", "create", "--name", "Fleet"],
    );
    let token = admin(
        data.path(),
        None,
        &["enroll-token", "create", "--enterprise", &enterprise],
    );
    let server = serve(data.path(), None, port, &[]);
    wait_healthy(port);

    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let started = Instant::now();
    let simulation = start(
        SimulateOptions {
            server: format!("http://127.0.0.1:{port}").parse().unwrap(),
            enrollment_token: token,
            devices: n,
            state_file: data.path().join("simulated.json"),
            ca_file: None,
            source_ips: Vec::new(),
            backoff: Backoff::new(Duration::from_secs(1), Duration::from_secs(30), SPREAD),
            observer: Some(tx),
            executions_log: None,
            command_delay: Duration::ZERO,
        },
        |i| Arc::new(Tiny(i)) as Arc<dyn Platform>,
    )
    .await
    .unwrap();
    eprintln!("enrolled in {:?}", started.elapsed());
    let mut ignored = Vec::new();
    connections_after(
        &mut events,
        n,
        started,
        Duration::from_secs(240),
        &mut ignored,
    )
    .await;
    eprintln!(
        "{n} devices enrolled and connected in {:?}",
        started.elapsed()
    );

    // Let the server write what the first connections reported, then restart it: every
    // socket drops at once.
    wait_for_written_reports(port).await;
    let restarted = Instant::now();
    terminate(server);
    let server = serve(data.path(), None, port, &[]);
    let mut attempts = Vec::new();
    let back = connections_after(
        &mut events,
        n,
        restarted,
        Duration::from_secs(180),
        &mut attempts,
    )
    .await;
    let took = restarted.elapsed();

    // One-second buckets of reconnect attempts and of successful reconnections.
    let histogram = |times: &[Instant]| {
        let mut buckets = vec![0usize; 200];
        for t in times {
            let s = usize::try_from(t.duration_since(restarted).as_secs())
                .unwrap_or(199)
                .min(199);
            buckets[s] += 1;
        }
        buckets
    };
    let attempt_buckets = histogram(&attempts);
    let connect_buckets = histogram(&back);
    let busiest_attempts = *attempt_buckets.iter().max().unwrap();
    let busiest_connects = *connect_buckets.iter().max().unwrap();
    let mut sorted = back.clone();
    sorted.sort();
    let p10 = sorted[n / 10].duration_since(restarted);
    let p90 = sorted[n * 9 / 10].duration_since(restarted);
    eprintln!(
        "restart and reconnect of {n} took {took:?}; attempts per second (first 20 s): {:?}; connections per second: {:?}; p10 {p10:?}, p90 {p90:?}",
        &attempt_buckets[..20],
        &connect_buckets[..20]
    );
    // Spread, not a burst: no second holds more than a fifth of the first attempts or of the
    // reconnections, and the middle 80 % of the fleet takes at least a third of the spread.
    assert!(
        busiest_attempts * 5 <= attempts.len().max(n),
        "attempts bunched: {busiest_attempts} in one second"
    );
    assert!(
        busiest_connects * 5 <= n,
        "reconnections bunched: {busiest_connects} in one second"
    );
    assert!(
        p90 - p10 >= SPREAD / 3,
        "too narrow: p10 {p10:?}, p90 {p90:?}"
    );

    simulation.shutdown().await;
    terminate(server);
}
