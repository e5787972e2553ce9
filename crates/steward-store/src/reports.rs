//! What devices report, written in batches: many reports in one transaction, because a fleet
//! that connects at once sends thousands of small writes and the commit is what costs.

use std::collections::HashMap;

use steward_core::command_state::CommandState;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::apps::{ReportedApp, apps_in};
use crate::commands::{CommandUpdate, command_update_in, command_updates_in};
use crate::db::Tx;
use crate::devices::{
    DeviceIdentity, InventoryUpdate, connected_in, disconnected_in, inventory_in,
};
use crate::status::status_in;
use crate::{Result, Store};

/// One report of one device, in the order it arrived.
#[derive(Debug, Clone)]
pub enum DeviceReport {
    Connected {
        device: DeviceIdentity,
        at: OffsetDateTime,
    },
    Disconnected {
        device: DeviceIdentity,
        at: OffsetDateTime,
    },
    Inventory {
        device: DeviceIdentity,
        update: Box<InventoryUpdate>,
    },
    Apps {
        device: DeviceIdentity,
        apps: Vec<ReportedApp>,
    },
    Status {
        device: DeviceIdentity,
        /// The event in Esper's shape.
        data: serde_json::Value,
        /// The raw reading.
        telemetry: serde_json::Value,
        battery_level: Option<f64>,
    },
    /// Progress or result of a command.
    Command {
        device: DeviceIdentity,
        update: CommandUpdate,
    },
}

impl DeviceReport {
    pub fn device(&self) -> DeviceIdentity {
        match self {
            DeviceReport::Connected { device, .. }
            | DeviceReport::Disconnected { device, .. }
            | DeviceReport::Inventory { device, .. }
            | DeviceReport::Apps { device, .. }
            | DeviceReport::Status { device, .. }
            | DeviceReport::Command { device, .. } => *device,
        }
    }
}

async fn apply(tx: &mut Tx, report: &DeviceReport) -> Result<()> {
    match report {
        DeviceReport::Connected { device, at } => connected_in(tx, *device, *at).await,
        DeviceReport::Disconnected { device, at } => disconnected_in(tx, *device, *at).await,
        DeviceReport::Inventory { device, update } => inventory_in(tx, *device, (**update).clone())
            .await
            .map(|_| ()),
        DeviceReport::Apps { device, apps } => apps_in(tx, *device, apps).await.map(|_| ()),
        DeviceReport::Status {
            device,
            data,
            telemetry,
            battery_level,
        } => status_in(tx, *device, data, telemetry, *battery_level).await,
        DeviceReport::Command { device, update } => command_update_in(tx, *device, update).await,
    }
}

impl Store {
    /// Applies reports in order, in one transaction: all or nothing. Command reports are
    /// gathered and written together (see [`command_updates_in`]); the gathered ones are
    /// written before anything that reads command rows (an app list, a failure), so the
    /// outcome is that of applying them one by one. A later report on a row already gathered
    /// replaces the earlier one when it moves the row further (a device's Acknowledged and
    /// Success in one batch write Success once), and is dropped when it could not move the
    /// row past the earlier one, as it would change nothing after it.
    pub async fn apply_reports(&self, reports: &[DeviceReport]) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut gathered: Vec<(DeviceIdentity, CommandUpdate)> = Vec::new();
        let mut rows: HashMap<Uuid, usize> = HashMap::new();
        for report in reports {
            let gather = match report {
                DeviceReport::Command { device, update }
                    if update.state != CommandState::Failure =>
                {
                    Some((*device, update))
                }
                _ => None,
            };
            if let Some((device, update)) = gather
                && let Some(&at) = rows.get(&update.status_id)
                && gathered[at].0 == device
            {
                let earlier = &mut gathered[at].1;
                if earlier.state.can_become(update.state) {
                    *earlier = CommandUpdate {
                        status_id: update.status_id,
                        state: update.state,
                        reason: update.reason.clone().or(earlier.reason.take()),
                        details: update.details.clone().or(earlier.details.take()),
                    };
                }
                continue;
            }
            let must_flush = match (report, gather) {
                (_, Some((_, update))) => rows.contains_key(&update.status_id),
                (DeviceReport::Apps { .. } | DeviceReport::Command { .. }, None) => true,
                _ => false,
            };
            if must_flush && !gathered.is_empty() {
                command_updates_in(&mut tx, &gathered).await?;
                gathered.clear();
                rows.clear();
            }
            match gather {
                Some((device, update)) => {
                    rows.insert(update.status_id, gathered.len());
                    gathered.push((device, update.clone()));
                }
                None => apply(&mut tx, report).await?,
            }
        }
        if !gathered.is_empty() {
            command_updates_in(&mut tx, &gathered).await?;
        }
        tx.commit().await
    }
}
