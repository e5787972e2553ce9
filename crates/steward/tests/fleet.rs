//! A fleet of 10,000 simulated devices (the agent's own link code, in this process) against a
//! `steward serve` process: after the server restarts, the devices come back spread out by
//! their jitter and back-off, not in one burst.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use steward_agent::backoff::Backoff;
use steward_agent::link::LinkEvent;
use steward_agent::platform::Platform;
use steward_agent::simulate::{SimulateOptions, start};
use steward_proto::agent::{HardwareInfo, InstalledApp, Inventory, SoftwareInfo, Telemetry};

/// How many devices; `STEWARD_FLEET_DEVICES` lowers it for a quick local run.
fn fleet_size() -> usize {
    std::env::var("STEWARD_FLEET_DEVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// The spread over which devices come back after losing the server.
const SPREAD: Duration = Duration::from_secs(15);

struct Tiny(u64);

impl Platform for Tiny {
    fn inventory(&self) -> Inventory {
        Inventory {
            hardware: HardwareInfo {
                manufacturer: Some("Sim".into()),
                serial_number: Some(format!("T{:06}", self.0)),
                ..HardwareInfo::default()
            },
            software: SoftwareInfo {
                hostname: Some(format!("fleet-{}", self.0)),
                platform: Some("LINUX".into()),
                ..SoftwareInfo::default()
            },
            ..Inventory::default()
        }
    }
    fn apps(&self) -> Vec<InstalledApp> {
        Vec::new()
    }
    fn telemetry(&self) -> Telemetry {
        Telemetry::default()
    }
    fn is_cheap(&self) -> bool {
        true
    }
}

fn steward(data: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_steward"));
    cmd.env_remove("STEWARD_DATABASE_URL")
        .env("STEWARD_LOG", "warn,steward=info,steward_server=info")
        .args(["--data-dir", data.to_str().unwrap()]);
    cmd
}

fn last_line(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap()
        .to_string()
}

/// A server process that is killed if the test ends early, so no process outlives a failed run.
struct Server(Option<Child>);

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn serve(data: &std::path::Path, port: u16) -> Server {
    let child = steward(data)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--rate-limit",
            "0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Server(Some(child))
}

fn wait_healthy(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("server did not start");
}

fn terminate(mut server: Server) {
    let mut child = server.0.take().unwrap();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    let _ = child.wait();
    panic!("server did not stop on SIGTERM");
}

/// Waits until the server's report queue is empty (its `/metrics` say so).
async fn wait_for_written_reports(port: u16) {
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/metrics");
    let deadline = Instant::now() + Duration::from_secs(180);
    while Instant::now() < deadline {
        if let Ok(r) = client.get(&url).send().await
            && let Ok(text) = r.text().await
            && text
                .lines()
                .any(|l| l.trim() == "steward_report_queue_depth 0")
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the server never caught up with the reports");
}

/// Waits until every device has connected once since `since`; returns the connect instants.
async fn connections_after(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<LinkEvent>,
    n: usize,
    since: Instant,
    limit: Duration,
    attempts: &mut Vec<Instant>,
) -> Vec<Instant> {
    let mut connected: Vec<Option<Instant>> = vec![None; n];
    let mut count = 0;
    let deadline = tokio::time::Instant::now() + limit;
    while count < n {
        let event = tokio::time::timeout_at(deadline, events.recv()).await;
        match event {
            Ok(Some(LinkEvent::Connected(i, at))) if at >= since && connected[i].is_none() => {
                connected[i] = Some(at);
                count += 1;
            }
            Ok(Some(LinkEvent::Attempt(_, at))) if at >= since => attempts.push(at),
            Ok(Some(_)) => {}
            _ => panic!("only {count} of {n} devices connected within {limit:?}"),
        }
    }
    connected.into_iter().flatten().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_devices_come_back_spread_out_after_a_restart() {
    let n = fleet_size();
    let data = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let enterprise = last_line(
        &steward(data.path())
            .args(["enterprise", "create", "--name", "Fleet"])
            .output()
            .unwrap(),
    );
    let token = last_line(
        &steward(data.path())
            .args(["enroll-token", "create", "--enterprise", &enterprise])
            .output()
            .unwrap(),
    );
    let server = serve(data.path(), port);
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
    let server = serve(data.path(), port);
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
