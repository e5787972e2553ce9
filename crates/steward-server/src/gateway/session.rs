//! One device's WebSocket, from `hello` to close.

use std::hash::{DefaultHasher, Hash, Hasher};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use steward_proto::agent::{AgentFrame, PROTOCOL_VERSION, ServerFrame};
use steward_store::devices::DeviceIdentity;
use steward_store::now;
use steward_store::reports::DeviceReport;

use super::registry::CloseReason;
use super::{dispatch, ingest};
use crate::state::AppState;

/// Close code for a device that breaks the protocol (RFC 6455: policy violation).
const POLICY: u16 = 1008;
/// Frames that cannot be read, tolerated per connection before it is closed.
const MAX_BAD_FRAMES: u32 = 20;

async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await;
}

async fn send(socket: &mut WebSocket, frame: &ServerFrame) -> bool {
    match serde_json::to_string(frame) {
        Ok(text) => socket.send(Message::Text(text.into())).await.is_ok(),
        Err(_) => false,
    }
}

/// Waits for the first text frame and reads it as `hello`.
async fn read_hello(socket: &mut WebSocket) -> Result<(u32, String), &'static str> {
    loop {
        match socket.recv().await {
            Some(Ok(Message::Text(text))) => {
                return match serde_json::from_str::<AgentFrame>(&text) {
                    Ok(AgentFrame::Hello {
                        protocol,
                        agent_version,
                    }) => Ok((protocol, agent_version)),
                    _ => Err("the first frame must be hello"),
                };
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(_)) => return Err("the first frame must be a hello text frame"),
            Some(Err(_)) | None => return Err("connection lost before hello"),
        }
    }
}

pub async fn run(state: AppState, device: DeviceIdentity, mut socket: WebSocket) {
    let settings = state.settings.devices.clone();
    let hello = tokio::time::timeout(settings.hello_timeout, read_hello(&mut socket)).await;
    let (protocol, agent_version) = match hello {
        Ok(Ok(h)) => h,
        Ok(Err(why)) => return close(&mut socket, POLICY, why).await,
        Err(_) => return close(&mut socket, POLICY, "no hello in time").await,
    };
    if protocol == 0 || protocol > PROTOCOL_VERSION {
        let why =
            format!("protocol {protocol} is not supported (server speaks {PROTOCOL_VERSION})");
        return close(&mut socket, POLICY, &why).await;
    }

    let mut registration = state.registry.register(device.id);
    state
        .reports
        .push(DeviceReport::Connected { device, at: now() })
        .await;
    tracing::debug!(device = %device.id, %agent_version, "device connected");
    let welcome = ServerFrame::Welcome {
        device_id: device.id,
        heartbeat_secs: settings.heartbeat_interval.as_secs(),
        telemetry_secs: settings.telemetry_interval.as_secs(),
    };
    let mut open = send(&mut socket, &welcome).await;
    // Whatever was sent before and not finished (the last connection may have lost it), then
    // whatever waits.
    if open {
        open = Box::pin(deliver(&state, device, &mut socket, true)).await;
    }

    // A device silent for three heartbeat periods has gone away without closing.
    // One timer moved on by every frame, rather than a check every heartbeat period that wakes
    // each idle session for nothing.
    let silence_limit = settings.heartbeat_interval * 3;
    let silence = tokio::time::sleep(silence_limit);
    tokio::pin!(silence);
    let heard = |silence: std::pin::Pin<&mut tokio::time::Sleep>| {
        silence.reset(tokio::time::Instant::now() + silence_limit);
    };
    let mut bad_frames = 0u32;
    let mut queued = Queued::default();

    while open {
        tokio::select! {
            () = registration.stop.cancelled() => {
                let reason = registration.close_reason().unwrap_or(CloseReason::Shutdown);
                close(&mut socket, 1000, reason.text()).await;
                break;
            }
            Some(frame) = registration.outbound.recv() => {
                open = send(&mut socket, &frame).await;
            }
            () = registration.wake.notified() => {
                open = Box::pin(deliver(&state, device, &mut socket, false)).await;
            }
            () = &mut silence => {
                close(&mut socket, POLICY, "silent for too long").await;
                break;
            }
            message = socket.recv() => {
                match message {
                    Some(Ok(Message::Text(text))) => {
                        heard(silence.as_mut());
                        match serde_json::from_str::<AgentFrame>(&text) {
                            Ok(frame) => handle(&state, device, frame, &mut queued).await,
                            Err(e) => {
                                bad_frames += 1;
                                let message = format!("unreadable frame: {e}");
                                if bad_frames > MAX_BAD_FRAMES {
                                    close(&mut socket, POLICY, "too many unreadable frames").await;
                                    break;
                                }
                                open = send(&mut socket, &ServerFrame::Error { message }).await;
                            }
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        bad_frames += 1;
                        let message = "binary frames are not part of the protocol".to_string();
                        open = send(&mut socket, &ServerFrame::Error { message }).await;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => heard(silence.as_mut()),
                    Some(Ok(Message::Close(_))) | None => break,
                    // Oversized or malformed WebSocket frames end the connection.
                    Some(Err(e)) => {
                        tracing::debug!(device = %device.id, error = %e, "socket error");
                        break;
                    }
                }
            }
        }
    }

    state
        .registry
        .unregister(device.id, registration.session_id);
    if registration.close_reason() != Some(CloseReason::Replaced)
        && registration.close_reason() != Some(CloseReason::Deleted)
        && let Err(e) = Box::pin(state.store.device_disconnected(device, now())).await
    {
        tracing::warn!(device = %device.id, error = %e, "cannot record disconnection");
    }
    tracing::debug!(device = %device.id, "device disconnected");
}

/// Sends the device the commands it should have now; false if the socket failed. Callers box
/// it: its database calls would otherwise size every idle session's task for them.
async fn deliver(
    state: &AppState,
    device: DeviceIdentity,
    socket: &mut WebSocket,
    redeliver: bool,
) -> bool {
    let policy = dispatch::policy(state);
    match state
        .store
        .claim_for_device(device.id, redeliver, &policy)
        .await
    {
        Ok(deliveries) => {
            for delivery in deliveries {
                if !send(socket, &dispatch::frame(delivery)).await {
                    return false;
                }
            }
            true
        }
        Err(e) => {
            // The sweep wakes the session again while rows wait.
            tracing::warn!(device = %device.id, error = %e, "cannot load commands");
            true
        }
    }
}

/// Fingerprints of the inventory and app list this session last queued. Devices send both
/// again after every UPDATE_HEARTBEAT; a repeat is not queued, which spares the writer reading
/// the stored ones only to find nothing changed. (Only the device's own reports change them.)
#[derive(Default)]
struct Queued {
    inventory: Option<u64>,
    apps: Option<u64>,
}

/// Whether `value` is what `last` fingerprinted; remembers it either way.
fn repeated(last: &mut Option<u64>, value: &impl Hash) -> bool {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    let fingerprint = Some(hasher.finish());
    std::mem::replace(last, fingerprint) == fingerprint
}

/// Queues what a frame reports for the batch writer.
async fn handle(state: &AppState, device: DeviceIdentity, frame: AgentFrame, queued: &mut Queued) {
    let report = match frame {
        AgentFrame::Hello { .. } | AgentFrame::Heartbeat => return,
        AgentFrame::Inventory(inventory) => {
            let update = ingest::inventory_update(&inventory);
            if repeated(&mut queued.inventory, &update) {
                return;
            }
            DeviceReport::Inventory {
                device,
                update: Box::new(update),
            }
        }
        AgentFrame::Apps { apps } => {
            let apps = ingest::reported_apps(&apps);
            if repeated(&mut queued.apps, &apps) {
                return;
            }
            DeviceReport::Apps { device, apps }
        }
        AgentFrame::CommandStatus(report) => DeviceReport::Command {
            device,
            update: ingest::command_update(report),
        },
        AgentFrame::Telemetry(telemetry) => DeviceReport::Status {
            device,
            data: ingest::status_data(&telemetry),
            telemetry: serde_json::to_value(&*telemetry).unwrap_or_default(),
            battery_level: telemetry.battery_level,
        },
    };
    state.reports.push(report).await;
}
