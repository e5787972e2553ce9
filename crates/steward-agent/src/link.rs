//! Enrolment, and the one persistent WebSocket to the server: hello, reports at connect and on
//! change, heartbeats and telemetry on the server's schedule, reconnects with back-off.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use steward_proto::agent::{
    AgentFrame, CONNECT_PATH, ENROLL_PATH, EnrollRequest, EnrollResponse, InstalledApp, Inventory,
    MAX_FRAME_BYTES, MAX_UNSENT_BYTES, PROTOCOL_VERSION, SOCKET_READ_BUFFER_BYTES, ServerFrame,
};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::backoff::Backoff;
use crate::commands::{CommandRunner, Outgoing};
use crate::platform::Platform;

/// How to reach the server.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// The server's base URL (`https://mdm.example.com`).
    pub server: Url,
    pub device_token: String,
    /// A CA file to trust instead of the system's roots.
    pub ca_file: Option<PathBuf>,
    /// Local addresses to connect from, chosen by device (load tests spread sockets over
    /// several loopback addresses); empty for the system's choice.
    pub source_ips: Vec<IpAddr>,
    pub backoff: Backoff,
    pub agent_version: String,
    /// How often the inventory and app list are checked for changes.
    pub change_check: Duration,
    /// Told of every attempt, connection and disconnection (tests and load reports).
    pub observer: Option<tokio::sync::mpsc::UnboundedSender<LinkEvent>>,
    /// Runs the commands the server sends; it outlives connections.
    pub commands: Arc<CommandRunner>,
}

/// What happened to a link, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkEvent {
    Attempt(usize, std::time::Instant),
    Connected(usize, std::time::Instant),
    Disconnected(usize, std::time::Instant),
}

impl LinkConfig {
    pub fn new(server: Url, device_token: String, commands: Arc<CommandRunner>) -> Self {
        Self {
            commands,
            server,
            device_token,
            ca_file: None,
            source_ips: Vec::new(),
            backoff: Backoff::default(),
            agent_version: env!("CARGO_PKG_VERSION").to_string(),
            change_check: Duration::from_secs(300),
            observer: None,
        }
    }
}

/// Enrols this device with an enrolment token; returns its credential.
pub async fn enroll(
    server: &Url,
    request: &EnrollRequest,
    ca_file: Option<&std::path::Path>,
) -> anyhow::Result<EnrollResponse> {
    enroll_with(&crate::tls::http_client(ca_file)?, server, request).await
}

/// [`enroll`] with a client made once (building one loads the trust roots: keep it for many).
pub async fn enroll_with(
    client: &reqwest::Client,
    server: &Url,
    request: &EnrollRequest,
) -> anyhow::Result<EnrollResponse> {
    let url = server.join(ENROLL_PATH).context("bad server URL")?;
    let response = client
        .post(url.clone())
        .json(request)
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = response.status();
    if !status.is_success() {
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let message = body["message"].as_str().unwrap_or("no reason given");
        anyhow::bail!("enrolment refused ({status}): {message}");
    }
    response.json().await.context("unreadable enrolment answer")
}

/// How a link ended for good.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The server no longer accepts this device's credential (deleted or revoked).
    #[error(
        "the server refused this device's credential; the device was deleted or its credential revoked"
    )]
    CredentialRefused,
}

/// Why one connection ended.
enum Ended {
    /// It had worked; retry after a spread-out pause.
    Disconnected,
    /// It never got going; back off.
    Failed(anyhow::Error),
    Refused,
    Stopped,
}

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// Keeps the device connected until `stop`, reconnecting as needed. `index` picks the source
/// address among `source_ips`.
pub async fn run_link(
    mut config: LinkConfig,
    platform: Arc<dyn Platform>,
    index: usize,
    stop: CancellationToken,
) -> Result<(), LinkError> {
    let connector = match &config.ca_file {
        Some(path) => match crate::tls::client_config(path) {
            Ok(c) => Some(Connector::Rustls(c)),
            Err(e) => {
                tracing::error!(error = %e, "TLS setup failed; using the system's roots");
                None
            }
        },
        None => None,
    };
    let tell = |event: LinkEvent| {
        if let Some(o) = &config.observer {
            let _ = o.send(event);
        }
    };
    loop {
        tell(LinkEvent::Attempt(index, std::time::Instant::now()));
        let ended = tokio::select! {
            () = stop.cancelled() => Ended::Stopped,
            ended = connect_once(&config, &platform, index, connector.clone(), &stop) => ended,
        };
        let wait = match ended {
            Ended::Stopped => return Ok(()),
            Ended::Refused => return Err(LinkError::CredentialRefused),
            Ended::Disconnected => {
                tell(LinkEvent::Disconnected(index, std::time::Instant::now()));
                config.backoff.after_disconnect()
            }
            Ended::Failed(e) => {
                let wait = config.backoff.after_failure();
                tracing::debug!(error = %e, ?wait, "connection failed");
                wait
            }
        };
        tokio::select! {
            () = stop.cancelled() => return Ok(()),
            () = tokio::time::sleep(wait) => {}
        }
    }
}

fn connect_url(server: &Url) -> anyhow::Result<Url> {
    let mut url = server.join(CONNECT_PATH).context("bad server URL")?;
    let scheme = match url.scheme() {
        "https" | "wss" => "wss",
        _ => "ws",
    };
    url.set_scheme(scheme)
        .map_err(|()| anyhow::anyhow!("cannot use scheme {scheme}"))?;
    Ok(url)
}

async fn open_socket(
    config: &LinkConfig,
    index: usize,
    connector: Option<Connector>,
) -> Result<Socket, Ended> {
    let url = connect_url(&config.server).map_err(Ended::Failed)?;
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| Ended::Failed(e.into()))?;
    let bearer = format!("Bearer {}", config.device_token)
        .parse()
        .map_err(|_| Ended::Failed(anyhow::anyhow!("the device token is not header text")))?;
    request.headers_mut().insert(AUTHORIZATION, bearer);
    let host = url.host_str().unwrap_or("localhost").to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let address: SocketAddr = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| Ended::Failed(e.into()))?
        .next()
        .ok_or_else(|| Ended::Failed(anyhow::anyhow!("{host} has no address")))?;
    let socket = if address.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| Ended::Failed(e.into()))?;
    if !config.source_ips.is_empty() {
        let ip = config.source_ips[index % config.source_ips.len()];
        socket
            .bind(SocketAddr::new(ip, 0))
            .map_err(|e| Ended::Failed(e.into()))?;
    }
    let stream = tokio::time::timeout(Duration::from_secs(20), socket.connect(address))
        .await
        .map_err(|_| Ended::Failed(anyhow::anyhow!("connect timed out")))?
        .map_err(|e| Ended::Failed(e.into()))?;
    let _ = stream.set_nodelay(true);
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES))
        .read_buffer_size(SOCKET_READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_UNSENT_BYTES);
    let handshake = tokio_tungstenite::client_async_tls_with_config(
        request,
        stream,
        Some(ws_config),
        connector,
    );
    match tokio::time::timeout(Duration::from_secs(20), handshake).await {
        Err(_) => Err(Ended::Failed(anyhow::anyhow!("handshake timed out"))),
        Ok(Ok((socket, _))) => Ok(socket),
        Ok(Err(tungstenite::Error::Http(response))) if response.status() == 401 => {
            Err(Ended::Refused)
        }
        Ok(Err(e)) => Err(Ended::Failed(e.into())),
    }
}

async fn send(socket: &mut Socket, frame: &AgentFrame) -> anyhow::Result<()> {
    let text = serde_json::to_string(frame)?;
    socket.send(Message::Text(text.into())).await?;
    Ok(())
}

/// Runs a platform call off the async threads when it may block.
async fn ask<T: Send + 'static>(
    platform: &Arc<dyn Platform>,
    call: impl FnOnce(&dyn Platform) -> T + Send + 'static,
) -> T {
    if platform.is_cheap() {
        return call(platform.as_ref());
    }
    let p = platform.clone();
    match tokio::task::spawn_blocking(move || call(p.as_ref())).await {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// Sends what the command runner has for the server: progress, a refresh of every report
/// (after UPDATE_HEARTBEAT, a new time zone, …), and final reports.
async fn send_outgoing(
    socket: &mut Socket,
    platform: &Arc<dyn Platform>,
    runner: &CommandRunner,
    inventory: &mut Inventory,
    apps: &mut Vec<InstalledApp>,
) -> anyhow::Result<()> {
    for item in runner.take_outgoing() {
        match item {
            Outgoing::Progress(report) => send(socket, &AgentFrame::CommandStatus(report)).await?,
            Outgoing::Refresh => {
                *inventory = ask(platform, |p| p.inventory()).await;
                *apps = ask(platform, |p| p.apps()).await;
                let telemetry = ask(platform, |p| p.telemetry()).await;
                for frame in [
                    AgentFrame::Heartbeat,
                    AgentFrame::Inventory(Box::new(inventory.clone())),
                    AgentFrame::Apps { apps: apps.clone() },
                    AgentFrame::Telemetry(Box::new(telemetry)),
                ] {
                    send(socket, &frame).await?;
                }
            }
            Outgoing::Final(id) => {
                // Gone if it was sent already (answering a repeated delivery).
                if let Some(report) = runner.unsent_report(id) {
                    send(socket, &AgentFrame::CommandStatus(report)).await?;
                    runner.mark_sent(id);
                }
            }
        }
    }
    Ok(())
}

async fn connect_once(
    config: &LinkConfig,
    platform: &Arc<dyn Platform>,
    index: usize,
    connector: Option<Connector>,
    stop: &CancellationToken,
) -> Ended {
    let mut socket = match open_socket(config, index, connector).await {
        Ok(s) => s,
        Err(ended) => return ended,
    };
    let hello = AgentFrame::Hello {
        protocol: PROTOCOL_VERSION,
        agent_version: config.agent_version.clone(),
    };
    if let Err(e) = send(&mut socket, &hello).await {
        return Ended::Failed(e);
    }
    // The welcome sets the schedule.
    let welcome = tokio::time::timeout(Duration::from_secs(20), socket.next()).await;
    let (heartbeat_secs, telemetry_secs) = match welcome {
        Ok(Some(Ok(Message::Text(text)))) => match serde_json::from_str::<ServerFrame>(&text) {
            Ok(ServerFrame::Welcome {
                heartbeat_secs,
                telemetry_secs,
                ..
            }) => (heartbeat_secs.max(1), telemetry_secs.max(1)),
            _ => return Ended::Failed(anyhow::anyhow!("expected welcome, got {text}")),
        },
        Ok(Some(Ok(Message::Close(frame)))) => {
            let reason = frame.map(|f| f.reason.to_string()).unwrap_or_default();
            return Ended::Failed(anyhow::anyhow!("closed before welcome: {reason}"));
        }
        _ => return Ended::Failed(anyhow::anyhow!("no welcome")),
    };
    tracing::debug!(server = %config.server, "connected");
    if let Some(o) = &config.observer {
        let _ = o.send(LinkEvent::Connected(index, std::time::Instant::now()));
    }

    let mut inventory = ask(platform, |p| p.inventory()).await;
    let mut apps = ask(platform, |p| p.apps()).await;
    let telemetry = ask(platform, |p| p.telemetry()).await;
    for frame in [
        AgentFrame::Inventory(Box::new(inventory.clone())),
        AgentFrame::Apps { apps: apps.clone() },
        AgentFrame::Telemetry(Box::new(telemetry)),
    ] {
        if send(&mut socket, &frame).await.is_err() {
            return Ended::Disconnected;
        }
    }
    // Final reports that could not be sent before (a lost link, a restart of the agent).
    let runner = &config.commands;
    for report in runner.unsent() {
        let id = report.id;
        if send(&mut socket, &AgentFrame::CommandStatus(report))
            .await
            .is_err()
        {
            return Ended::Disconnected;
        }
        runner.mark_sent(id);
    }

    let start = tokio::time::Instant::now();
    let mut heartbeat = tokio::time::interval_at(
        start + Duration::from_secs(heartbeat_secs),
        Duration::from_secs(heartbeat_secs),
    );
    let mut telemetry_tick = tokio::time::interval_at(
        start + Duration::from_secs(telemetry_secs),
        Duration::from_secs(telemetry_secs),
    );
    let mut change_check =
        tokio::time::interval_at(start + config.change_check, config.change_check);
    loop {
        let outcome: anyhow::Result<bool> = tokio::select! {
            () = stop.cancelled() => {
                let _ = socket.close(None).await;
                return Ended::Stopped;
            }
            _ = heartbeat.tick() => send(&mut socket, &AgentFrame::Heartbeat).await.map(|()| true),
            _ = telemetry_tick.tick() => {
                let t = ask(platform, |p| p.telemetry()).await;
                send(&mut socket, &AgentFrame::Telemetry(Box::new(t))).await.map(|()| true)
            }
            _ = change_check.tick() => {
                let now_inventory = ask(platform, |p| p.inventory()).await;
                let now_apps = ask(platform, |p| p.apps()).await;
                let mut result = Ok(true);
                if now_inventory != inventory {
                    inventory = now_inventory;
                    result = send(&mut socket, &AgentFrame::Inventory(Box::new(inventory.clone()))).await.map(|()| true);
                }
                if result.is_ok() && now_apps != apps {
                    apps = now_apps;
                    result = send(&mut socket, &AgentFrame::Apps { apps: apps.clone() }).await.map(|()| true);
                }
                result
            }
            () = runner.outgoing_ready() => {
                send_outgoing(&mut socket, platform, runner, &mut inventory, &mut apps).await.map(|()| true)
            }
            message = socket.next() => match message {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<ServerFrame>(&text) {
                    Ok(ServerFrame::Error { message }) => {
                        tracing::warn!(%message, "server refused a frame");
                        Ok(true)
                    }
                    Ok(ServerFrame::Welcome { .. }) => Ok(true),
                    Ok(ServerFrame::Command(command)) => {
                        let report = runner.receive(command);
                        let (id, done) = (report.id, report.state.is_final());
                        let sent = send(&mut socket, &AgentFrame::CommandStatus(report)).await;
                        if sent.is_ok() && done {
                            runner.mark_sent(id);
                        }
                        sent.map(|()| true)
                    }
                    // A newer server may send frames this agent does not know yet.
                    Err(e) => {
                        tracing::debug!(error = %e, "ignoring an unknown frame");
                        Ok(true)
                    }
                },
                Some(Ok(Message::Close(frame))) => {
                    let reason = frame.map(|f| f.reason.to_string()).unwrap_or_default();
                    tracing::info!(%reason, "server closed the connection");
                    if reason.contains("deleted") {
                        return Ended::Refused;
                    }
                    Ok(false)
                }
                Some(Ok(_)) => Ok(true),
                Some(Err(e)) => Err(e.into()),
                None => Ok(false),
            },
        };
        match outcome {
            Ok(true) => {}
            Ok(false) => return Ended::Disconnected,
            Err(e) => {
                tracing::info!(error = %e, "connection lost");
                return Ended::Disconnected;
            }
        }
    }
}
