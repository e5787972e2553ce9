//! What the process-level tests share: `steward` commands on a data folder and database,
//! `steward serve` processes that never outlive a failed test, and a tiny simulated device.

#![allow(dead_code)] // each test file uses its own part

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use steward_agent::link::LinkEvent;
use steward_agent::platform::Platform;
use steward_proto::agent::{HardwareInfo, InstalledApp, Inventory, SoftwareInfo, Telemetry};

/// A device with a name, a serial number and nothing else to report.
pub struct Tiny(pub u64);

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

/// `steward` on `data`, and on `database` (a URL) if given, else the data folder's SQLite.
pub fn steward(data: &Path, database: Option<&str>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_steward"));
    cmd.env_remove("STEWARD_DATABASE_URL")
        .env("STEWARD_LOG", "warn,steward=info,steward_server=info")
        .args(["--data-dir", data.to_str().unwrap()]);
    if let Some(url) = database {
        cmd.args(["--database-url", url]);
    }
    cmd
}

/// Runs an admin command; its last line of output (an id or a key).
pub fn admin(data: &Path, database: Option<&str>, args: &[&str]) -> String {
    let out = steward(data, database).args(args).output().unwrap();
    last_line(&out)
}

pub fn last_line(out: &std::process::Output) -> String {
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

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server process that is killed if the test ends early, so no process outlives a failed run.
pub struct Server(pub Option<Child>);

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Server {
    /// SIGKILL: no shutdown code runs.
    pub fn kill(mut self) {
        let mut child = self.0.take().unwrap();
        child.kill().unwrap();
        let _ = child.wait();
    }
}

/// `steward serve` on 127.0.0.1:`port` without rate limits, plus `extra` flags.
pub fn serve(data: &Path, database: Option<&str>, port: u16, extra: &[&str]) -> Server {
    let child = steward(data, database)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--rate-limit",
            "0",
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Server(Some(child))
}

pub fn wait_healthy(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("server did not start");
}

/// SIGTERM, and a failed test if the server does not stop within 30 s.
pub fn terminate(mut server: Server) {
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
pub async fn wait_for_written_reports(port: u16) {
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
pub async fn connections_after(
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
