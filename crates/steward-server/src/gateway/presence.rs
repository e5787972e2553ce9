//! Presence: connected devices are marked seen in batches, and devices silent for longer than
//! the configured time turn INACTIVE. Each node marks its own sockets, so the sweep is right
//! with any number of nodes.
//!
//! A connected device's row is rewritten only as often as the silence needs: when its last
//! write (its connection, or an earlier refresh) is [`refresh_after`] old. Rewriting every
//! connected row at every sweep was most of what an idle fleet cost.

use std::time::{Duration, Instant};

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

/// How old a connected device's presence may get before it is written again: then, at most one
/// sweep later, it is two thirds of the silence old, which leaves a third for slow writes and
/// clocks that differ between nodes.
pub fn refresh_after(settings: &crate::settings::DeviceSettings) -> Duration {
    (settings.inactive_after * 2 / 3).saturating_sub(settings.presence_interval)
}

async fn sweep(state: &AppState, settings: &crate::settings::DeviceSettings) {
    let at = now();
    let written = Instant::now();
    let due = state.registry.presence_due(
        written
            .checked_sub(refresh_after(settings))
            .unwrap_or(written),
    );
    match state.store.touch_devices(&due, at).await {
        Ok(()) => state.registry.presence_written(&due, written),
        Err(e) => tracing::warn!(error = %e, "cannot mark connected devices as seen"),
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
