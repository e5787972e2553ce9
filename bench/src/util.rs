//! What every scenario shares: `steward` processes that die with the bench, `/proc` readings of
//! a process's memory and CPU, the HTTP API, and percentiles.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// Resident memory (KiB) and CPU time (clock ticks, user + system) of one process.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub rss_kib: u64,
    pub cpu_ticks: u64,
    pub at: Instant,
}

pub fn usage(pid: u32) -> Result<Usage> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("process {pid} is gone"))?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS")?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces; utime and
    // stime are fields 14 and 15 of the whole line, so 12 and 13 after the name.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).context("bad stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> Result<u64> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .context("bad stat field")
    };
    Ok(Usage {
        rss_kib,
        cpu_ticks: ticks(11)? + ticks(12)?,
        at: Instant::now(),
    })
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux if it cannot be asked).
pub fn clock_ticks() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// Share of one core (percent) that `pid` used between two readings.
pub fn cpu_percent(before: &Usage, after: &Usage) -> f64 {
    let secs = after.at.duration_since(before.at).as_secs_f64();
    let used = after.cpu_ticks.saturating_sub(before.cpu_ticks) as f64 / clock_ticks() as f64;
    if secs > 0.0 { 100.0 * used / secs } else { 0.0 }
}

/// Memory and CPU of a process left alone for `window`.
pub struct Idle {
    pub rss_kib: u64,
    pub cpu_percent: f64,
}

pub async fn idle(pid: u32, window: Duration) -> Result<Idle> {
    let before = usage(pid)?;
    tokio::time::sleep(window).await;
    let after = usage(pid)?;
    Ok(Idle {
        rss_kib: after.rss_kib,
        cpu_percent: cpu_percent(&before, &after),
    })
}

/// A free TCP port on loopback.
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Waits until something accepts connections on `port`.
pub async fn wait_port(port: u16, limit: Duration) -> Result<()> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("nothing listens on port {port} after {limit:?}")
}

/// The `steward` binary on one data folder and database.
#[derive(Debug, Clone)]
pub struct Steward {
    pub bin: PathBuf,
    pub data: PathBuf,
    pub database_url: String,
}

/// A child process killed (SIGKILL) when dropped, so none outlives a failed scenario.
pub struct Guarded {
    pub child: Child,
    pub pid: u32,
}

impl Guarded {
    pub fn spawn(mut command: Command, log: &Path) -> Result<Self> {
        let log = std::fs::File::create(log)?;
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .context("cannot start a child process")?;
        let pid = child.id().context("the child exited at once")?;
        Ok(Self { child, pid })
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await;
    }
}

impl Steward {
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.env_remove("STEWARD_DATABASE_URL")
            .env_remove("STEWARD_CONFIG")
            .env("STEWARD_LOG", "warn")
            .arg("--data-dir")
            .arg(&self.data)
            .arg("--database-url")
            .arg(&self.database_url);
        cmd
    }

    /// Runs an admin command; the last line of its output (an id, a key or a token).
    pub async fn admin(&self, args: &[&str]) -> Result<String> {
        let mut cmd = self.command();
        cmd.args(args).kill_on_drop(true);
        let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
            .await
            .with_context(|| format!("steward {args:?} timed out"))??;
        if !out.status.success() {
            bail!(
                "steward {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .map(|l| l.trim().to_string())
            .context("no output")
    }

    /// `steward serve` on loopback without rate limits; waits until `/healthz` answers.
    pub async fn serve(&self, port: u16, log: &Path) -> Result<Guarded> {
        let mut cmd = self.command();
        cmd.args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--rate-limit",
            "0",
        ]);
        let server = Guarded::spawn(cmd, log)?;
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let r = client
                .get(format!("http://127.0.0.1:{port}/healthz"))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if r.is_ok_and(|r| r.status().is_success()) {
                return Ok(server);
            }
            if Instant::now() > deadline {
                bail!(
                    "steward serve did not answer /healthz (see {})",
                    log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// One enterprise's API, with its key.
#[derive(Clone)]
pub struct Api {
    pub client: reqwest::Client,
    pub port: u16,
    pub key: String,
    pub enterprise: String,
}

impl Api {
    pub fn new(port: u16, key: String, enterprise: String) -> Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(600))
            .build()?;
        Ok(Self {
            client,
            port,
            key,
            enterprise,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value)> {
        let mut request = self
            .client
            .request(method, self.url(&format!("/api{path}")))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    pub async fn create_group(&self, name: &str) -> Result<String> {
        let path = format!("/enterprise/{}/devicegroup/", self.enterprise);
        let (status, body) = self
            .call(reqwest::Method::POST, &path, Some(json!({ "name": name })))
            .await?;
        if status != 201 {
            bail!("creating a group: {status} {body}");
        }
        body["id"].as_str().map(str::to_string).context("no id")
    }

    /// Creates a Commands V2 request; its id.
    pub async fn command(&self, body: Value) -> Result<String> {
        let path = format!("/v0/enterprise/{}/command/", self.enterprise);
        let (status, answer) = self.call(reqwest::Method::POST, &path, Some(body)).await?;
        if status != 201 {
            bail!("creating a command: {status} {answer}");
        }
        answer["id"].as_str().map(str::to_string).context("no id")
    }

    /// How many of the request's status rows are in `state`, and how many rows in all.
    pub async fn count_in(&self, request: &str, state: &str) -> Result<(u64, u64)> {
        let path = format!("/v0/enterprise/{}/command/{request}/", self.enterprise);
        let (status, body) = self.call(reqwest::Method::GET, &path, None).await?;
        if status != 200 {
            bail!("reading a command: {status} {body}");
        }
        let (mut hit, mut all) = (0, 0);
        for row in body["status"].as_array().into_iter().flatten() {
            let total = row["total"].as_u64().unwrap_or(0);
            all += total;
            if row["state"].as_str() == Some(state) {
                hit += total;
            }
        }
        Ok((hit, all))
    }

    /// Waits until the server's report queue is empty (its `/metrics` say so).
    pub async fn wait_reports_written(&self, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(r) = self.client.get(self.url("/metrics")).send().await
                && let Ok(text) = r.text().await
                && text
                    .lines()
                    .any(|l| l.trim() == "steward_report_queue_depth 0")
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        bail!("the server's report queue did not drain within {limit:?}")
    }
}

/// The `p`-th percentile (0–100) of sorted samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
