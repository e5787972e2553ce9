//! Getting commands to devices. The status rows are the queue; this node only decides when to
//! look at them:
//! - a new request is announced (PostgreSQL NOTIFY reaches every node; on SQLite the one node
//!   is woken directly) and each node claims and sends the rows of the devices it holds;
//! - a device that connects gets its unfinished and waiting rows (its session does that);
//! - a sweep every second times out rows past their deadline and wakes connected devices
//!   whose scheduled rows are due or whose queued rows a lost announcement left behind.

use std::time::Duration;

use steward_proto::agent::{CommandFrame, ServerFrame};
use steward_store::commands::{CommandPolicy, Delivery};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::state::AppState;

/// The announcements this node has to act on.
#[derive(Clone)]
pub struct Dispatcher {
    wakes: mpsc::UnboundedSender<Uuid>,
}

pub type DispatchReceiver = mpsc::UnboundedReceiver<Uuid>;

impl Dispatcher {
    pub fn new() -> (Self, DispatchReceiver) {
        let (wakes, receiver) = mpsc::unbounded_channel();
        (Self { wakes }, receiver)
    }

    /// Asks this node to deliver a request's rows to the devices it holds.
    pub fn wake(&self, request_id: Uuid) {
        let _ = self.wakes.send(request_id);
    }
}

/// The frame that carries one delivery.
pub fn frame(delivery: Delivery) -> ServerFrame {
    ServerFrame::Command(Box::new(CommandFrame {
        id: delivery.status_id,
        command: delivery.command,
        args: delivery.args,
        timeout_secs: delivery.timeout_secs,
    }))
}

/// Announces a new request to every node: NOTIFY on PostgreSQL (this node hears it too),
/// straight to this node's dispatcher on SQLite or when the NOTIFY fails.
pub async fn announce(state: &AppState, request_id: Uuid) {
    if state.store.backend() == steward_store::Backend::Postgres {
        match state.store.notify_command(request_id).await {
            Ok(()) if state.listening() => return,
            Ok(()) => {}
            Err(e) => tracing::warn!(error = %e, "cannot announce a command; delivering locally"),
        }
    }
    state.dispatcher.wake(request_id);
}

/// The policy the store applies to waiting commands, from the settings.
pub fn policy(state: &AppState) -> CommandPolicy {
    let settings = &state.settings.commands;
    CommandPolicy {
        console_zone: jiff::tz::TimeZone::get(&settings.console_timezone)
            .unwrap_or(jiff::tz::TimeZone::UTC),
        queue_expiry: settings.queue_expiry,
    }
}

/// Claims and sends announced requests, one at a time in the order they were announced, so
/// a device gets the commands of one node in creation order.
pub async fn run_dispatcher(state: AppState, mut wakes: DispatchReceiver, stop: CancellationToken) {
    loop {
        let request_id = tokio::select! {
            () = stop.cancelled() => return,
            next = wakes.recv() => match next {
                Some(id) => id,
                None => return,
            },
        };
        let registry = state.registry.clone();
        let connected = move |device: Uuid| registry.is_connected(device);
        match state.store.claim_request(request_id, &connected).await {
            Ok(deliveries) => {
                for delivery in deliveries {
                    let device = delivery.device_id;
                    // A device that left meanwhile gets the row again when it reconnects.
                    state.registry.send(device, frame(delivery));
                }
            }
            Err(e) => tracing::warn!(request = %request_id, error = %e, "cannot claim commands"),
        }
    }
}

/// Hears other nodes' announcements (PostgreSQL only) and passes them to the dispatcher.
pub async fn run_listener(state: AppState, stop: CancellationToken) {
    loop {
        let mut listener = match state.store.command_listener().await {
            Ok(Some(l)) => l,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for commands; retrying");
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(2)) => continue,
                }
            }
        };
        state.set_listening(true);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                next = listener.next() => match next {
                    Ok(Some(request_id)) => state.dispatcher.wake(request_id),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "command listener lost; reconnecting");
                        state.set_listening(false);
                        break;
                    }
                },
            }
        }
    }
}

/// Every `sweep_interval`: times out rows past their deadline, and wakes connected devices
/// with due rows.
pub async fn run_sweeper(state: AppState, stop: CancellationToken) {
    let mut tick = tokio::time::interval(state.settings.commands.sweep_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        match state.store.expire_commands().await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(rows = n, "commands timed out"),
            Err(e) => tracing::warn!(error = %e, "cannot time out commands"),
        }
        match state.store.devices_with_due_commands().await {
            Ok(devices) => {
                for device in devices {
                    state.registry.wake(device);
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot find due commands"),
        }
    }
}
