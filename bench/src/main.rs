//! `steward-bench run`: Steward's benchmark suite on one machine, on loopback, every figure
//! beside a floor measured in the same run (see `bench/run.sh`, which builds the binaries and
//! calls this). `steward-bench ws-floor-server` is the bare WebSocket floor it starts itself.

mod api;
mod fleet;
mod mqtt;
mod report;
mod util;
mod wsfloor;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use clap::{Parser, ValueEnum};
use serde_json::json;
use steward_proto::agent::{CommandFrame, ServerFrame};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use report::Row;
use util::{Api, Guarded, Steward, free_port, ms, usage};

#[derive(Parser)]
#[command(about = "Steward's benchmark suite")]
enum Cli {
    /// Runs the suite and prints the table.
    Run(RunArgs),
    /// The bare WebSocket broadcast server used as the fan-out floor (started by `run`).
    WsFloorServer {
        #[arg(long)]
        listen: SocketAddr,
        #[arg(long)]
        frame_bytes: usize,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Scale {
    Small,
    Full,
}

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
enum Part {
    Fleet,
    Api,
}

#[derive(clap::Args)]
struct RunArgs {
    #[arg(long, value_enum, default_value = "small")]
    scale: Scale,
    /// The `steward` binary (release build).
    #[arg(long)]
    steward: PathBuf,
    /// The `oha` binary.
    #[arg(long)]
    oha: PathBuf,
    /// The `mosquitto` binary.
    #[arg(long, default_value = "mosquitto")]
    mosquitto: PathBuf,
    /// A scratch folder for data, logs and state files.
    #[arg(long)]
    work: PathBuf,
    /// A PostgreSQL server's maintenance database; the bench creates and drops its own
    /// database `steward_bench_<run-id>` there.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
    #[arg(long, default_value = "0")]
    run_id: String,
    /// Local addresses the simulated clients connect from (each gives ~28,000 ports).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9"
    )]
    source_ips: Vec<IpAddr>,
    /// Run only these parts (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Part>,
}

/// The sizes of one scale.
struct Plan {
    connections: Vec<usize>,
    idle_window: Duration,
    round_trips: usize,
    api_devices: usize,
    oha_duration: Duration,
    connect_limit: Duration,
    fan_out_limit: Duration,
}

impl Plan {
    fn of(scale: Scale) -> Self {
        match scale {
            Scale::Small => Self {
                connections: vec![2_000],
                idle_window: Duration::from_secs(60),
                round_trips: 100,
                api_devices: 10_000,
                oha_duration: Duration::from_secs(5),
                connect_limit: Duration::from_secs(180),
                fan_out_limit: Duration::from_secs(120),
            },
            Scale::Full => Self {
                connections: vec![10_000, 50_000],
                idle_window: Duration::from_secs(60),
                round_trips: 300,
                api_devices: 100_000,
                oha_duration: Duration::from_secs(10),
                connect_limit: Duration::from_secs(600),
                fan_out_limit: Duration::from_secs(300),
            },
        }
    }
}

/// The soft limit on open files of this process (the server and Mosquitto inherit it).
fn open_files_limit() -> Option<usize> {
    std::fs::read_to_string("/proc/self/limits")
        .ok()?
        .lines()
        .find(|l| l.starts_with("Max open files"))?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()
}

fn main() -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match Cli::parse() {
        Cli::WsFloorServer {
            listen,
            frame_bytes,
        } => runtime.block_on(wsfloor::serve(listen, frame_bytes)),
        Cli::Run(args) => runtime.block_on(run(args)),
    }
}

async fn run(args: RunArgs) -> Result<()> {
    let mut plan = Plan::of(args.scale);
    // Every connection costs a descriptor in the server (and one in this process): keep the
    // fleet under the limit, and say so.
    let limit = open_files_limit().unwrap_or(1024);
    let cap = limit.saturating_sub(1_000);
    let mut notes = vec![format!("open-files limit {limit}")];
    for n in &mut plan.connections {
        if *n > cap {
            notes.push(format!(
                "{n} connections capped to {cap} (the open-files limit of one process)"
            ));
            *n = cap;
        }
    }
    plan.connections.dedup();
    std::fs::create_dir_all(&args.work)?;
    let mut rows = Vec::new();
    let all = args.only.is_empty();
    if (all || args.only.contains(&Part::Fleet))
        && let Err(e) = fleet_suite(&args, &plan, &mut rows).await
    {
        rows.push(Row::failed("connections / fan-out", &e));
    }
    if all || args.only.contains(&Part::Api) {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            if let Err(e) = api_suite(&args, &plan, backend, &mut rows).await {
                rows.push(Row::failed(format!("API on {}", backend.name()), &e));
            }
        }
    }
    println!();
    println!("scale: {:?}; {}", args.scale, notes.join("; "));
    println!("ratio: how many times the floor's time (or the floor's rate over ours)");
    println!();
    print!("{}", report::render(&rows));
    Ok(())
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The size of the frame a device receives for one `UPDATE_HEARTBEAT`.
fn command_frame_bytes() -> Result<usize> {
    let frame = ServerFrame::Command(Box::new(CommandFrame {
        id: Uuid::now_v7(),
        command: "UPDATE_HEARTBEAT".into(),
        args: serde_json::Map::new(),
        timeout_secs: 120,
    }));
    Ok(serde_json::to_string(&frame)?.len())
}

/// What the Mosquitto floor measured for one number of connections.
struct MqttFloor {
    connect: Duration,
    rss_kib: u64,
    per_connection_kib: f64,
    cpu_percent: f64,
}

/// Idle connections against Mosquitto's, then the enrolment rate, the GROUP fan-out and one
/// command's round trip on SQLite against a bare WebSocket server's.
async fn fleet_suite(args: &RunArgs, plan: &Plan, rows: &mut Vec<Row>) -> Result<()> {
    let heartbeat = Duration::from_secs(60);
    let settle = Duration::from_secs(5);

    // The Mosquitto floors first, while nothing else runs.
    let mut floors = Vec::new();
    for &n in &plan.connections {
        let work = args.work.join(format!("mqtt-{n}"));
        std::fs::create_dir_all(&work)?;
        let broker = mqtt::start_broker(&args.mosquitto, &work, n).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let base = usage(broker.process.pid)?;
        let clients = mqtt::connect_all(&broker.ports, n, heartbeat, plan.connect_limit).await?;
        tokio::time::sleep(settle).await;
        let idle = util::idle(broker.process.pid, plan.idle_window).await?;
        let floor = MqttFloor {
            connect: clients.connect_time,
            rss_kib: idle.rss_kib,
            per_connection_kib: idle.rss_kib.saturating_sub(base.rss_kib) as f64 / n as f64,
            cpu_percent: idle.cpu_percent,
        };
        eprintln!(
            "mosquitto, {n} idle connections: connected in {:.1} s, {:.0} MiB, {:.2}% CPU",
            floor.connect.as_secs_f64(),
            mib(floor.rss_kib),
            floor.cpu_percent
        );
        mqtt::disconnect(clients).await;
        broker.process.stop().await;
        floors.push(floor);
    }

    // Steward on SQLite, with a group that every enrolled device joins.
    let data = args.work.join("fleet");
    std::fs::create_dir_all(&data)?;
    let steward = Steward {
        bin: args.steward.clone(),
        data: data.clone(),
        database_url: format!("sqlite://{}/steward.db", data.display()),
    };
    let enterprise = steward
        .admin(&["enterprise", "create", "--name", "Bench"])
        .await?;
    let key = steward
        .admin(&[
            "apikey",
            "create",
            "--enterprise",
            &enterprise,
            "--name",
            "bench",
        ])
        .await?;
    let port = free_port()?;
    let server = steward.serve(port, &data.join("serve.log")).await?;
    let api = Api::new(port, key, enterprise.clone())?;
    let group = api.create_group("fleet").await?;
    let token = steward
        .admin(&[
            "enroll-token",
            "create",
            "--enterprise",
            &enterprise,
            "--group",
            &group,
        ])
        .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let base = usage(server.pid)?;
    eprintln!(
        "steward serve: {:.0} MiB before any device",
        mib(base.rss_kib)
    );

    let mut batches = Vec::new();
    let mut total = 0;
    let (mut enrolled, mut enrol_time) = (0, Duration::ZERO);
    for (&n, floor) in plan.connections.iter().zip(&floors) {
        let batch = fleet::grow(
            port,
            &token,
            n - total,
            &data.join(format!("simulated-{n}.json")),
            &args.source_ips,
            plan.connect_limit,
        )
        .await?;
        total = n;
        enrolled += batch.enrolled;
        enrol_time += batch.enrol_time;
        api.wait_reports_written(Duration::from_secs(300)).await?;
        tokio::time::sleep(settle).await;
        let idle = util::idle(server.pid, plan.idle_window).await?;
        let per_connection = idle.rss_kib.saturating_sub(base.rss_kib) as f64 / n as f64;
        eprintln!(
            "steward, {n} idle devices: batch connected in {:.1} s, {:.0} MiB, {:.2}% CPU",
            batch.connect_time.as_secs_f64(),
            mib(idle.rss_kib),
            idle.cpu_percent
        );
        let added = if batch.enrolled == n {
            String::new()
        } else {
            format!(", the last {}", batch.enrolled)
        };
        rows.push(
            Row::new(
                format!("{n} devices: time to connect{added}"),
                format!("{:.1} s", batch.connect_time.as_secs_f64()),
            )
            .floor(
                format!("{:.1} s (all {n})", floor.connect.as_secs_f64()),
                Some(batch.connect_time.as_secs_f64() / floor.connect.as_secs_f64()),
            ),
        );
        let projected = base.rss_kib as f64 * 1024.0 + per_connection * 1024.0 * 50_000.0;
        let projection = if n < 50_000 {
            format!(" (projected at 50,000: {:.0} MiB)", projected / 1048576.0)
        } else {
            String::new()
        };
        rows.push(
            Row::new(
                format!("{n} devices: server resident memory"),
                format!("{:.0} MiB{projection}", mib(idle.rss_kib)),
            )
            .floor(
                format!("{:.0} MiB", mib(floor.rss_kib)),
                Some(idle.rss_kib as f64 / floor.rss_kib as f64),
            )
            .target("< 1.5 GB at 50,000", projected < 1.5e9),
        );
        rows.push(
            Row::new(
                format!("{n} devices: memory per connection"),
                format!("{per_connection:.1} KiB"),
            )
            .floor(
                format!("{:.1} KiB", floor.per_connection_kib),
                Some(per_connection / floor.per_connection_kib),
            )
            .target(
                "< 30 kB (1.5 GB / 50,000)",
                per_connection * 1024.0 < 30_000.0,
            ),
        );
        let cpu_at_50k = idle.cpu_percent * 50_000.0 / n as f64;
        let projection = if n < 50_000 {
            format!(" (projected at 50,000: {cpu_at_50k:.1}%)")
        } else {
            String::new()
        };
        rows.push(
            Row::new(
                format!("{n} devices: server CPU while idle (heartbeat 60 s)"),
                format!("{:.2}% of a core{projection}", idle.cpu_percent),
            )
            .floor(
                format!("{:.2}%", floor.cpu_percent),
                Some(idle.cpu_percent / floor.cpu_percent),
            )
            .target("< 5% of a core at 50,000", cpu_at_50k < 5.0),
        );
        batches.push(batch);
    }
    let enrol_rate = enrolled as f64 / enrol_time.as_secs_f64();
    let healthz = fleet::healthz_rate(port, enrolled.min(5_000)).await?;
    rows.push(
        Row::new(
            format!("enrolments/s ({enrolled}, 32 in flight)"),
            format!("{enrol_rate:.0}/s"),
        )
        .floor(
            format!("{healthz:.0} /healthz/s"),
            Some(healthz / enrol_rate),
        )
        .target("≥ 1,000/s", enrol_rate >= 1_000.0),
    );

    // One GROUP command to every device, then one command at a time to one device.
    let fan = fleet::group_fan_out(
        &api,
        &group,
        "UPDATE_HEARTBEAT",
        total as u64,
        plan.fan_out_limit,
    )
    .await;
    // The same without what UPDATE_HEARTBEAT adds: a device refreshes every report after it
    // (heartbeat, inventory, apps, telemetry); LOCK only reports its states.
    let lock = fleet::group_fan_out(&api, &group, "LOCK", total as u64, plan.fan_out_limit).await;
    let trips = match batches
        .first()
        .and_then(|b| b.simulation.device_ids.first())
    {
        Some(&device) => fleet::round_trips(&api, device, plan.round_trips).await,
        None => Err(anyhow::anyhow!("no device")),
    };
    for batch in batches {
        let _ = tokio::time::timeout(Duration::from_secs(120), batch.simulation.shutdown()).await;
    }
    server.stop().await;

    // The floor: a bare WebSocket server and as many clients.
    let frame_bytes = command_frame_bytes()?;
    let floor_port = free_port()?;
    let mut cmd = tokio::process::Command::new(std::env::current_exe()?);
    cmd.args([
        "ws-floor-server",
        "--listen",
        &format!("127.0.0.1:{floor_port}"),
        "--frame-bytes",
        &frame_bytes.to_string(),
    ]);
    let floor_server = Guarded::spawn(cmd, &args.work.join("ws-floor.log"))?;
    util::wait_port(floor_port, Duration::from_secs(20)).await?;
    let stop = CancellationToken::new();
    let floor_base = usage(floor_server.pid)?;
    let floor = async {
        let connect = wsfloor::connect_clients(
            floor_port,
            total,
            &args.source_ips,
            &stop,
            plan.connect_limit,
        )
        .await?;
        tokio::time::sleep(settle).await;
        let rss = usage(floor_server.pid)?.rss_kib;
        let mut control = wsfloor::Control::open(floor_port).await?;
        let (broadcast, reached) = control.run("fanout").await?;
        anyhow::ensure!(reached == total, "the floor reached {reached} of {total}");
        let mut singles = Vec::new();
        for _ in 0..plan.round_trips {
            singles.push(control.run("one").await?.0);
        }
        singles.sort();
        anyhow::Ok((connect, rss, broadcast, singles))
    }
    .await;
    stop.cancel();
    floor_server.stop().await;
    let (ws_connect, ws_rss, broadcast, singles) = floor?;
    eprintln!(
        "bare WebSocket: {total} clients connected in {:.1} s, {:.0} MiB",
        ws_connect.as_secs_f64(),
        mib(ws_rss)
    );
    rows.push(Row::new(
        format!("{total} connections: bare WebSocket server (tokio-tungstenite defaults), memory per connection"),
        format!(
            "{:.1} KiB ({:.0} MiB in all)",
            ws_rss.saturating_sub(floor_base.rss_kib) as f64 / total as f64,
            mib(ws_rss)
        ),
    ));

    for (command, fan) in [("UPDATE_HEARTBEAT", fan), ("LOCK", lock)] {
        match fan {
            Ok(fan) => {
                let secs = fan.all_success.as_secs_f64();
                let ratio = secs / broadcast.as_secs_f64();
                rows.push(
                    Row::new(
                        format!(
                            "GROUP {command} fan-out to {} devices, all Success (SQLite)",
                            fan.devices
                        ),
                        format!("{secs:.2} s (stored in {:.2} s)", fan.enqueue.as_secs_f64()),
                    )
                    .floor(
                        format!(
                            "{:.3} s ({frame_bytes}-byte frame and reply)",
                            broadcast.as_secs_f64()
                        ),
                        Some(ratio),
                    )
                    .target(
                        "≤ 30 s and ≤ 3× floor (at 50,000)",
                        secs <= 30.0 && ratio <= 3.0,
                    ),
                );
            }
            Err(e) => rows.push(Row::failed(
                format!("GROUP {command} fan-out to {total} devices"),
                &e,
            )),
        }
    }
    match trips {
        Ok(trips) => {
            let (p50, p99) = fleet::p50_p99(&trips);
            let (f50, f99) = fleet::p50_p99(&singles);
            rows.push(
                Row::new(
                    format!(
                        "one command, one device: round trip p50 / p99 ({} samples)",
                        trips.len()
                    ),
                    format!("{:.1} / {:.1} ms", ms(p50), ms(p99)),
                )
                .floor(
                    format!("{:.2} / {:.2} ms", ms(f50), ms(f99)),
                    Some(ms(p99) / ms(f99)),
                )
                .target("p99 < 50 ms", ms(p99) < 50.0),
            );
        }
        Err(e) => rows.push(Row::failed("one command round trip", &e)),
    }
    Ok(())
}

#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// A database of its own for one backend: a SQLite file under `work`, or a new PostgreSQL
/// database (dropped by [`drop_database`]).
async fn database(
    args: &RunArgs,
    backend: Backend,
    data: &Path,
) -> Result<(String, Option<String>)> {
    match backend {
        Backend::Sqlite => Ok((format!("sqlite://{}/steward.db", data.display()), None)),
        Backend::Postgres => {
            let name = format!("steward_bench_{}", args.run_id);
            let admin = api::Db::connect(&args.pg_url).await?;
            if let api::Db::Pg(pool) = &admin {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(pool)
                .await?;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(pool)
                    .await?;
            }
            admin.close().await;
            let mut url = url::Url::parse(&args.pg_url)?;
            url.set_path(&name);
            Ok((url.to_string(), Some(name)))
        }
    }
}

async fn drop_database(args: &RunArgs, name: &str) -> Result<()> {
    let admin = api::Db::connect(&args.pg_url).await?;
    if let api::Db::Pg(pool) = &admin {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(pool)
        .await?;
    }
    admin.close().await;
    Ok(())
}

async fn api_suite(
    args: &RunArgs,
    plan: &Plan,
    backend: Backend,
    rows: &mut Vec<Row>,
) -> Result<()> {
    let data = args
        .work
        .join(format!("api-{}", backend.name().to_lowercase()));
    std::fs::create_dir_all(&data)?;
    let (url, pg_name) = database(args, backend, &data).await?;
    let result = api_on(args, plan, backend, &data, &url, rows).await;
    if let Some(name) = pg_name {
        drop_database(args, &name).await?;
    }
    result
}

async fn api_on(
    args: &RunArgs,
    plan: &Plan,
    backend: Backend,
    data: &Path,
    url: &str,
    rows: &mut Vec<Row>,
) -> Result<()> {
    let n = plan.api_devices;
    let steward = Steward {
        bin: args.steward.clone(),
        data: data.to_path_buf(),
        database_url: url.to_string(),
    };
    steward.admin(&["migrate"]).await?;
    let enterprise = steward
        .admin(&["enterprise", "create", "--name", "Bench"])
        .await?;
    let key = steward
        .admin(&[
            "apikey",
            "create",
            "--enterprise",
            &enterprise,
            "--name",
            "bench",
        ])
        .await?;
    let db = api::Db::connect(url).await?;
    let began = std::time::Instant::now();
    let group = db.seed(enterprise.parse()?, n).await?;
    db.close().await;
    eprintln!(
        "{}: seeded {n} devices in {:.1} s",
        backend.name(),
        began.elapsed().as_secs_f64()
    );
    let port = free_port()?;
    let server = steward.serve(port, &data.join("serve.log")).await?;
    let api = Api::new(port, key.clone(), enterprise.clone())?;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let list = format!("/api/enterprise/{enterprise}/device/?limit=20");
    // The seeded names are sim-000000, sim-000001, … in id order: `sim-00042` matches
    // sim-00042x among the first devices; the newest ten devices alone match the last one.
    let newest = format!("sim-{:05}", n.saturating_sub(1) / 10);
    let cases = [
        ("no filter", list.clone()),
        ("name filter", format!("{list}&name=sim-00042")),
        (
            "name filter, newest devices only",
            format!("{list}&name={newest}"),
        ),
        ("brand filter", format!("{list}&brand=acme")),
    ];
    let d = plan.oha_duration;
    let health = api.url("/healthz");
    let floor_max = api::oha(&args.oha, &health, None, d, 32, None).await?;
    let floor_2k = api::oha(&args.oha, &health, None, d, 64, Some(2_000)).await?;
    for (name, path) in &cases {
        let max = api::oha(&args.oha, &api.url(path), Some(&key), d, 32, None).await?;
        let at_2k = api::oha(&args.oha, &api.url(path), Some(&key), d, 64, Some(2_000)).await?;
        eprintln!(
            "{} {name}: {} | at 2,000/s: {}",
            backend.name(),
            max.describe(),
            at_2k.describe()
        );
        rows.push(
            Row::new(
                format!(
                    "device list, {n} devices, {}, {name}: as fast as it goes (32 conns)",
                    backend.name()
                ),
                max.describe(),
            )
            .floor(
                format!("/healthz: {}", floor_max.describe()),
                Some(floor_max.requests_per_sec / max.requests_per_sec),
            ),
        );
        rows.push(
            Row::new(
                format!(
                    "device list, {n} devices, {}, {name}: offered 2,000 req/s",
                    backend.name()
                ),
                at_2k.describe(),
            )
            .floor(
                format!("/healthz: {}", floor_2k.describe()),
                Some(at_2k.p99_ms / floor_2k.p99_ms),
            )
            .target(
                "p99 < 50 ms at ≥ 2,000 req/s",
                at_2k.p99_ms < 50.0 && at_2k.requests_per_sec >= 1_950.0 && at_2k.errors == 0,
            ),
        );
    }

    // Status rows: one GROUP request over the whole (offline) fleet, then the same rows
    // inserted raw.
    let began = std::time::Instant::now();
    let request = api
        .command(
            json!({"command_type": "GROUP", "groups": [group], "device_type": "all",
                        "command": "UPDATE_HEARTBEAT"}),
        )
        .await?;
    let through_api = began.elapsed();
    let (_, stored) = api.count_in(&request, "").await?;
    server.stop().await;
    let db = api::Db::connect(url).await?;
    let (raw_rows, raw_time) = db.raw_status_rows(request.parse()?, group).await?;
    db.close().await;
    anyhow::ensure!(
        stored as usize == n,
        "the GROUP request stored {stored} of {n} rows"
    );
    let api_rate = stored as f64 / through_api.as_secs_f64();
    let raw_rate = raw_rows as f64 / raw_time.as_secs_f64();
    rows.push(
        Row::new(
            format!(
                "command status rows written/s, {}, GROUP of {n}",
                backend.name()
            ),
            format!("{api_rate:.0}/s ({:.2} s)", through_api.as_secs_f64()),
        )
        .floor(
            format!(
                "raw insert {raw_rate:.0}/s ({:.2} s)",
                raw_time.as_secs_f64()
            ),
            Some(raw_rate / api_rate),
        ),
    );
    Ok(())
}
