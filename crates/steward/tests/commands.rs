//! Commands across `steward serve` processes: a server killed with SIGKILL in the middle of a
//! fan-out to 1,000 simulated devices loses no command and makes no device run one twice; and
//! two servers on one PostgreSQL database hand a command made on one to a device connected to
//! the other within a second.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod support;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use steward_agent::backoff::Backoff;
use steward_agent::commands::simulated::ExecutionLog;
use steward_agent::platform::Platform;
use steward_agent::simulate::{SimulateOptions, Simulation, start};
use steward_store::testing::{TestDb, backends, postgres};

use support::{
    Tiny, admin, connections_after, free_port, serve, wait_for_written_reports, wait_healthy,
};

/// An enterprise with an API key and an enrolment token, made by the admin commands.
struct Tenant {
    enterprise: String,
    key: String,
    token: String,
}

fn tenant(data: &Path, database: &str) -> Tenant {
    let db = Some(database);
    let enterprise = admin(data, db, &["enterprise", "create", "--name", "Stores"]);
    let key = admin(
        data,
        db,
        &[
            "apikey",
            "create",
            "--enterprise",
            &enterprise,
            "--name",
            "ops",
        ],
    );
    let token = admin(
        data,
        db,
        &["enroll-token", "create", "--enterprise", &enterprise],
    );
    Tenant {
        enterprise,
        key,
        token,
    }
}

/// `n` simulated devices connected to `port`, each command taking `delay`, logging what they
/// execute to `log`; waits until all are connected and the server has written their first
/// reports.
async fn fleet(
    port: u16,
    tenant: &Tenant,
    n: usize,
    data: &Path,
    log: &Path,
    delay: Duration,
) -> Simulation {
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let started = Instant::now();
    let simulation = start(
        SimulateOptions {
            server: format!("http://127.0.0.1:{port}").parse().unwrap(),
            enrollment_token: tenant.token.clone(),
            devices: n,
            state_file: data.join(format!("simulated-{port}.json")),
            ca_file: None,
            source_ips: Vec::new(),
            backoff: Backoff::new(
                Duration::from_millis(500),
                Duration::from_secs(5),
                Duration::from_secs(3),
            ),
            observer: Some(tx),
            executions_log: Some(log.to_path_buf()),
            command_delay: delay,
        },
        |i| Arc::new(Tiny(i)) as Arc<dyn Platform>,
    )
    .await
    .unwrap();
    let mut attempts = Vec::new();
    connections_after(
        &mut events,
        n,
        started,
        Duration::from_secs(120),
        &mut attempts,
    )
    .await;
    wait_for_written_reports(port).await;
    simulation
}

async fn call(
    port: u16,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let client = reqwest::Client::new();
    let mut request = client
        .request(method, format!("http://127.0.0.1:{port}/api{path}"))
        .bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Creates a Commands V2 request for `devices`; its id.
async fn command(port: u16, t: &Tenant, devices: &[uuid::Uuid], name: &str) -> String {
    let (status, body) = call(
        port,
        &t.key,
        reqwest::Method::POST,
        &format!("/v0/enterprise/{}/command/", t.enterprise),
        Some(
            json!({"command_type": "DEVICE", "device_type": "all", "devices": devices,
                    "command": name}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

/// The request's per-state totals.
async fn totals(port: u16, t: &Tenant, request: &str) -> Vec<(String, u64)> {
    let (status, body) = call(
        port,
        &t.key,
        reqwest::Method::GET,
        &format!("/v0/enterprise/{}/command/{request}/", t.enterprise),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["status"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["state"].as_str().unwrap().to_string(),
                s["total"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn executions(log: &Path) -> Vec<(uuid::Uuid, uuid::Uuid)> {
    ExecutionLog::read(log)
        .unwrap()
        .into_iter()
        .map(|e| (e.device, e.id))
        .collect()
}

async fn crash_mid_fan_out(db: &TestDb) {
    const DEVICES: usize = 1000;
    const REQUESTS: usize = 3;
    // A device records a command as it starts it and starts the next one a `DELAY` later, so
    // within `2 * DELAY` of its first command no device can have started all three: a kill
    // soon after the first executions lands in the middle of the fan-out however fast the
    // server sends.
    const DELAY: Duration = Duration::from_millis(400);
    let data = tempfile::tempdir().unwrap();
    let log = data.path().join("executions.jsonl");
    let t = tenant(data.path(), &db.url);
    let port = free_port();
    let server = serve(data.path(), Some(&db.url), port, &[]);
    wait_healthy(port);
    let simulation = fleet(port, &t, DEVICES, data.path(), &log, DELAY).await;
    let devices = simulation.device_ids.clone();

    let mut requests = Vec::new();
    for name in ["UPDATE_HEARTBEAT", "LOCK", "REBOOT"].iter().take(REQUESTS) {
        requests.push(command(port, &t, &devices, name).await);
    }
    // Kill it while the fan-out is under way: some devices have run something, not all.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ran = executions(&log).len();
        if ran >= DEVICES / 4 {
            assert!(
                ran < DEVICES * REQUESTS,
                "the fan-out ended before the kill"
            );
            break;
        }
        assert!(Instant::now() < deadline, "no device ran anything ({ran})");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    let at_kill = executions(&log).len();
    eprintln!(
        "[{}] killed the server after {at_kill} of {} executions",
        db.label(),
        DEVICES * REQUESTS
    );
    assert!(
        (DEVICES / 4..DEVICES * REQUESTS).contains(&at_kill),
        "[{}] the kill did not land mid fan-out: {at_kill} of {} executions had started",
        db.label(),
        DEVICES * REQUESTS
    );

    // Started again, it finishes the job: the devices come back by themselves.
    let server = serve(data.path(), Some(&db.url), port, &[]);
    wait_healthy(port);
    let deadline = Instant::now() + Duration::from_secs(180);
    for request in &requests {
        loop {
            let totals = totals(port, &t, request).await;
            let success: u64 = totals
                .iter()
                .filter(|(s, _)| s == "Command Success")
                .map(|(_, n)| n)
                .sum();
            if success == DEVICES as u64 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "[{}] request {request} stuck at {totals:?}",
                db.label()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    let ran = executions(&log);
    let distinct: HashSet<_> = ran.iter().collect();
    assert_eq!(
        distinct.len(),
        ran.len(),
        "[{}] a device ran a command twice",
        db.label()
    );
    assert_eq!(
        ran.len(),
        DEVICES * REQUESTS,
        "[{}] every command ran once",
        db.label()
    );
    // And in order: each device ran the three requests as they were made.
    let mut by_device: std::collections::HashMap<uuid::Uuid, Vec<uuid::Uuid>> = Default::default();
    for (device, id) in &ran {
        by_device.entry(*device).or_default().push(*id);
    }
    for ids in by_device.values() {
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(&sorted, ids, "[{}] out of order", db.label());
    }
    simulation.shutdown().await;
    support::terminate(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_fan_out_loses_no_command_and_runs_none_twice() {
    for db in backends().await {
        crash_mid_fan_out(&db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_made_on_one_node_runs_on_a_device_of_the_other_within_a_second() {
    let Some(db) = postgres().await else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let log = data.path().join("executions.jsonl");
    let t = tenant(data.path(), &db.url);
    let (port_a, port_b) = (free_port(), free_port());
    let node_a = serve(data.path(), Some(&db.url), port_a, &[]);
    let node_b = serve(data.path(), Some(&db.url), port_b, &[]);
    wait_healthy(port_a);
    wait_healthy(port_b);
    let simulation = fleet(port_b, &t, 5, data.path(), &log, Duration::from_millis(5)).await;
    let devices = simulation.device_ids.clone();

    let mut slowest = Duration::ZERO;
    for round in 0..5 {
        let before = executions(&log).len();
        let sent = Instant::now();
        let request = command(port_a, &t, &devices, "UPDATE_HEARTBEAT").await;
        loop {
            if executions(&log).len() == before + devices.len() {
                break;
            }
            assert!(
                sent.elapsed() < Duration::from_secs(10),
                "round {round}: request {request} did not reach node B's devices"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        slowest = slowest.max(sent.elapsed());
        // The rows stay the truth: node A sees the results node B wrote.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !totals(port_a, &t, &request)
            .await
            .contains(&("Command Success".to_string(), devices.len() as u64))
        {
            assert!(Instant::now() < deadline, "results never showed on node A");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    eprintln!("slowest hand-over from node A to node B's devices: {slowest:?}");
    assert!(slowest < Duration::from_secs(1), "took {slowest:?}");
    simulation.shutdown().await;
    support::terminate(node_a);
    support::terminate(node_b);
}
