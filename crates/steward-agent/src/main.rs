//! `steward-agent`: enrol a device, keep it connected, or simulate a fleet.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use steward_agent::backoff::Backoff;
use steward_agent::commands::download::FileSource;
use steward_agent::commands::linux::{LinuxExecutor, LinuxExecutorConfig};
use steward_agent::commands::{CommandRunner, Journal, journal_file};
use steward_agent::link::{LinkConfig, enroll, run_link};
use steward_agent::platform::Platform;
use steward_agent::platform::linux::{LinuxConfig, LinuxPlatform};
use steward_agent::platform::simulated::SimulatedPlatform;
use steward_agent::simulate::{SimulateOptions, start};
use steward_agent::state::{AgentState, default_state_file};
use steward_proto::agent::EnrollRequest;
use tokio_util::sync::CancellationToken;
use url::Url;

#[derive(Parser)]
#[command(name = "steward-agent", version, about = "The Steward device agent")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Enrol this device with an enrolment token and store its credential (mode 0600).
    Enroll {
        /// The server's base URL, e.g. https://mdm.example.com
        #[arg(long, env = "STEWARD_SERVER")]
        server: Url,
        #[arg(long, env = "STEWARD_ENROLL_TOKEN")]
        token: String,
        /// The name to list the device under (default: the host name).
        #[arg(long)]
        name: Option<String>,
        /// Where to keep the credential.
        #[arg(long, env = "STEWARD_AGENT_STATE")]
        state_file: Option<PathBuf>,
        /// A CA certificate (PEM) to trust instead of the system's roots.
        #[arg(long, env = "STEWARD_CA_CERT")]
        ca_cert: Option<PathBuf>,
        /// Root of the file system to read facts from (tests use a fixture tree).
        #[arg(long, default_value = "/")]
        root: PathBuf,
    },
    /// Stay connected and report, until SIGINT or SIGTERM.
    Run {
        #[arg(long, env = "STEWARD_AGENT_STATE")]
        state_file: Option<PathBuf>,
        #[arg(long, env = "STEWARD_CA_CERT")]
        ca_cert: Option<PathBuf>,
        #[arg(long, default_value = "/")]
        root: PathBuf,
        /// A fixed location to report, as LAT,LON.
        #[arg(long, value_parser = parse_location)]
        location: Option<(f64, f64)>,
        /// A directory of operator hooks: an executable named after a command in lower case
        /// (reboot, wipe, lock, …) carries it out, with its arguments as JSON on stdin.
        #[arg(long, env = "STEWARD_AGENT_HOOKS")]
        hooks_dir: Option<PathBuf>,
        /// A private directory for scripts being run, downloads and screenshots (default:
        /// `work` beside the state file).
        #[arg(long, env = "STEWARD_AGENT_WORK_DIR")]
        work_dir: Option<PathBuf>,
        /// The root dpkg installs packages under and the package list is read from (default:
        /// --root); a folder with var/lib/dpkg/{status,info,updates} makes a sandbox.
        #[arg(long, env = "STEWARD_AGENT_PACKAGE_ROOT")]
        package_root: Option<PathBuf>,
        /// Where PUSH_CONTENT puts files (default: `content` beside the state file).
        #[arg(long, env = "STEWARD_AGENT_CONTENT_DIR")]
        content_dir: Option<PathBuf>,
    },
    /// Run N simulated devices over the real protocol (load tests, demos).
    Simulate {
        #[arg(long, env = "STEWARD_SERVER")]
        server: Url,
        #[arg(long, env = "STEWARD_ENROLL_TOKEN")]
        token: String,
        #[arg(long, default_value_t = 10)]
        devices: usize,
        /// Where the simulated devices' credentials are kept between runs.
        #[arg(long, default_value = "steward-simulated.json")]
        state_file: PathBuf,
        #[arg(long, env = "STEWARD_CA_CERT")]
        ca_cert: Option<PathBuf>,
        /// Local addresses to spread sockets over (comma-separated), e.g. 127.0.0.2,127.0.0.3
        #[arg(long, value_delimiter = ',')]
        source_ips: Vec<IpAddr>,
        /// Seconds to run; without it, until SIGINT or SIGTERM.
        #[arg(long)]
        duration: Option<u64>,
        /// Seconds over which reconnects after a lost connection are spread.
        #[arg(long, default_value_t = 15)]
        reconnect_spread: u64,
        /// Record every command a simulated device runs in this file (JSON lines); read back
        /// at start, so a restarted simulator never runs a command twice.
        #[arg(long)]
        executions_log: Option<PathBuf>,
        /// Milliseconds each simulated command takes.
        #[arg(long, default_value_t = 10)]
        command_delay_ms: u64,
    },
}

fn parse_location(text: &str) -> Result<(f64, f64), String> {
    let (lat, lon) = text.split_once(',').ok_or("use LAT,LON")?;
    let lat: f64 = lat.trim().parse().map_err(|_| "bad latitude")?;
    let lon: f64 = lon.trim().parse().map_err(|_| "bad longitude")?;
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err("out of range".into());
    }
    Ok((lat, lon))
}

fn main() -> std::process::ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("STEWARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        () = terminate => {},
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Enroll {
            server,
            token,
            name,
            state_file,
            ca_cert,
            root,
        } => {
            let platform = LinuxPlatform::new(LinuxConfig {
                root,
                ..LinuxConfig::default()
            });
            let inventory = tokio::task::spawn_blocking(move || platform.inventory()).await?;
            let request = EnrollRequest {
                token,
                device_name: name
                    .or(inventory.software.hostname.clone())
                    .unwrap_or_else(|| "linux-device".into()),
                serial: inventory.hardware.serial_number.clone(),
                imei: inventory.hardware.imei.clone(),
                manufacturer: inventory.hardware.manufacturer.clone(),
                model: inventory.hardware.model.clone(),
                platform: Some("LINUX".into()),
            };
            let answer = enroll(&server, &request, ca_cert.as_deref()).await?;
            let path = state_file.unwrap_or_else(default_state_file);
            AgentState {
                server: server.to_string(),
                device_id: answer.device_id,
                enterprise_id: answer.enterprise_id,
                device_token: answer.device_token,
            }
            .save(&path)?;
            println!(
                "Enrolled as device {} (enterprise {}).",
                answer.device_id, answer.enterprise_id
            );
            println!(
                "Credential saved to {}. Start the agent with: steward-agent run",
                path.display()
            );
            Ok(())
        }
        Command::Run {
            state_file,
            ca_cert,
            root,
            location,
            hooks_dir,
            work_dir,
            package_root,
            content_dir,
        } => {
            let path = state_file.unwrap_or_else(default_state_file);
            let state = AgentState::load(&path)?;
            let server: Url = state
                .server
                .parse()
                .context("bad server URL in the state file")?;
            let platform: Arc<dyn Platform> = Arc::new(LinuxPlatform::new(LinuxConfig {
                root: root.clone(),
                location,
                package_root: package_root.clone(),
                ..LinuxConfig::default()
            }));
            let journal_path = journal_file(&path);
            let journal = Journal::open(&journal_path)
                .with_context(|| format!("cannot open {}", journal_path.display()))?;
            let work_dir = work_dir.unwrap_or_else(|| path.with_file_name("work"));
            let files = FileSource::new(
                server.clone(),
                state.device_token.clone(),
                ca_cert.as_deref(),
            )?;
            let executor = LinuxExecutor::new(
                LinuxExecutorConfig {
                    root,
                    hooks_dir,
                    work_dir,
                    graphical_session: LinuxExecutorConfig::graphical_session_from_env(),
                    package_root,
                    content_dir: content_dir.unwrap_or_else(|| path.with_file_name("content")),
                },
                platform.clone(),
            )
            .with_files(files);
            let runner = CommandRunner::new(Arc::new(executor), journal);
            let mut config = LinkConfig::new(server, state.device_token, runner);
            config.ca_file = ca_cert;
            let stop = CancellationToken::new();
            let on_signal = stop.clone();
            tokio::spawn(async move {
                shutdown_signal().await;
                on_signal.cancel();
            });
            tracing::info!(device = %state.device_id, "steward-agent running");
            run_link(config, platform, 0, stop).await?;
            Ok(())
        }
        Command::Simulate {
            server,
            token,
            devices,
            state_file,
            ca_cert,
            source_ips,
            duration,
            reconnect_spread,
            executions_log,
            command_delay_ms,
        } => {
            let options = SimulateOptions {
                server,
                enrollment_token: token,
                devices,
                state_file,
                ca_file: ca_cert,
                source_ips,
                backoff: Backoff::new(
                    Duration::from_secs(2),
                    Duration::from_secs(300),
                    Duration::from_secs(reconnect_spread),
                ),
                observer: None,
                executions_log,
                command_delay: Duration::from_millis(command_delay_ms),
            };
            let simulation = start(options, |i| {
                Arc::new(SimulatedPlatform::new(i)) as Arc<dyn Platform>
            })
            .await?;
            println!("{} simulated devices running", simulation.device_ids.len());
            match duration {
                Some(secs) => tokio::time::sleep(Duration::from_secs(secs)).await,
                None => shutdown_signal().await,
            }
            simulation.shutdown().await;
            Ok(())
        }
    }
}
