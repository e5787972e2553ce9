//! Presence: connected devices are marked seen in batches, and devices silent for longer than
//! the configured time turn INACTIVE. Each node marks its own sockets, so the sweep is right
//! with any number of nodes.

use steward_store::now;
use tokio_util::sync::CancellationToken;

use crate::state::AppState;

pub async fn run_presence(state: AppState, stop: CancellationToken) {
    let settings = state.settings.devices.clone();
    let mut tick = tokio::time::interval(settings.presence_interval);
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        // At shutdown the sweep is dropped, even mid-write: it is redone at the next start.
        tokio::select! {
            () = stop.cancelled() => break,
            () = sweep(&state, &settings) => {}
        }
    }
}

async fn sweep(state: &AppState, settings: &crate::settings::DeviceSettings) {
    let at = now();
    let connected = state.registry.connected();
    if let Err(e) = state.store.touch_devices(&connected, at).await {
        tracing::warn!(error = %e, "cannot mark connected devices as seen");
    }
    let silent_since = at
        - time::Duration::try_from(settings.inactive_after).unwrap_or(time::Duration::minutes(3));
    match state.store.mark_inactive(silent_since).await {
        Ok(gone) if !gone.is_empty() => {
            tracing::info!(count = gone.len(), "devices turned inactive")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot sweep silent devices"),
    }
}
