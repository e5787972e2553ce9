//! Device status events: the telemetry readings, as Esper's `…/device/{id}/status/` lists them.

use sea_query::{Expr, ExprTrait, Iden, Order, Query};
use steward_core::pagination::PageRequest;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::Tx;
use crate::devices::DeviceIdentity;
use crate::reports::DeviceReport;
use crate::{Result, Store, now};

#[derive(Iden, Clone, Copy)]
enum DeviceStatus {
    Table,
    Id,
    EnterpriseId,
    DeviceId,
    Data,
    CreatedOn,
}

/// Status events kept per device; older ones are dropped as new ones arrive.
pub const STATUS_EVENTS_KEPT: i64 = 500;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StatusEvent {
    pub id: i64,
    pub enterprise_id: Uuid,
    pub device_id: Uuid,
    /// The event as a JSON object in Esper's shape.
    pub data: String,
    pub created_on: OffsetDateTime,
}

impl Store {
    /// Records a reading: a status event with `data` (JSON in Esper's event shape), and the
    /// raw telemetry as the device's latest.
    pub async fn record_status(
        &self,
        device: DeviceIdentity,
        data: &serde_json::Value,
        telemetry: &serde_json::Value,
        battery_level: Option<f64>,
    ) -> Result<()> {
        self.apply_reports(&[DeviceReport::Status {
            device,
            data: data.clone(),
            telemetry: telemetry.clone(),
            battery_level,
        }])
        .await
    }

    /// A device's status events, newest first; `latest_only` gives just the newest.
    pub async fn status_events(
        &self,
        enterprise_id: Uuid,
        device_id: Uuid,
        latest_only: bool,
        page: PageRequest,
    ) -> Result<(u64, Vec<StatusEvent>)> {
        self.device(enterprise_id, device_id).await?;
        let count = Query::select()
            .expr(Expr::col(DeviceStatus::Id).count())
            .from(DeviceStatus::Table)
            .and_where(Expr::col(DeviceStatus::DeviceId).eq(device_id))
            .to_owned();
        let mut total = self.count(&count).await?;
        let (limit, offset) = if latest_only {
            total = Ord::min(total, 1);
            (1, 0)
        } else {
            (page.limit, page.offset)
        };
        let stmt = Query::select()
            .columns([
                DeviceStatus::Id,
                DeviceStatus::EnterpriseId,
                DeviceStatus::DeviceId,
                DeviceStatus::Data,
                DeviceStatus::CreatedOn,
            ])
            .from(DeviceStatus::Table)
            .and_where(Expr::col(DeviceStatus::DeviceId).eq(device_id))
            .order_by(DeviceStatus::Id, Order::Desc)
            .limit(limit)
            .offset(offset)
            .to_owned();
        Ok((total, self.fetch_all(&stmt).await?))
    }
}

#[derive(sqlx::FromRow)]
struct IdRow {
    id: i64,
}

/// Inserts a status event and keeps the device's latest telemetry, in a transaction.
pub(crate) async fn status_in(
    tx: &mut Tx,
    device: DeviceIdentity,
    data: &serde_json::Value,
    telemetry: &serde_json::Value,
    battery_level: Option<f64>,
) -> Result<()> {
    let stmt = Query::insert()
        .into_table(DeviceStatus::Table)
        .columns([
            DeviceStatus::EnterpriseId,
            DeviceStatus::DeviceId,
            DeviceStatus::Data,
            DeviceStatus::CreatedOn,
        ])
        .values_panic([
            device.enterprise_id.into(),
            device.id.into(),
            data.to_string().into(),
            now().into(),
        ])
        .returning_col(DeviceStatus::Id)
        .to_owned();
    let inserted: Vec<IdRow> = tx.fetch_all(&stmt).await?;
    crate::devices::set_latest_telemetry(tx, device, &telemetry.to_string(), battery_level).await?;
    // Keep the newest STATUS_EVENTS_KEPT of the device; pruning on one insert in fifty
    // bounds the table at little cost.
    if inserted.first().is_some_and(|row| row.id % 50 == 0) {
        let boundary = Query::select()
            .column(DeviceStatus::Id)
            .from(DeviceStatus::Table)
            .and_where(Expr::col(DeviceStatus::DeviceId).eq(device.id))
            .order_by(DeviceStatus::Id, Order::Desc)
            .limit(1)
            .offset(u64::try_from(STATUS_EVENTS_KEPT).unwrap_or(500))
            .to_owned();
        let oldest_kept: Option<IdRow> = tx.fetch_optional(&boundary).await?;
        if let Some(edge) = oldest_kept {
            let prune = Query::delete()
                .from_table(DeviceStatus::Table)
                .and_where(Expr::col(DeviceStatus::DeviceId).eq(device.id))
                .and_where(Expr::col(DeviceStatus::Id).lte(edge.id))
                .to_owned();
            tx.execute(&prune).await?;
        }
    }
    Ok(())
}
