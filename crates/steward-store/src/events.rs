//! The per-device event feed: every state change of a device appends a row.

use sea_query::{Expr, ExprTrait, Iden, Order, Query};
use steward_core::pagination::PageRequest;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::Tx;
use crate::{Result, Store, now};

#[derive(Iden, Clone, Copy)]
enum DeviceEvents {
    Table,
    Id,
    EnterpriseId,
    DeviceId,
    Kind,
    Data,
    CreatedOn,
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Enrolled,
    Connected,
    Disconnected,
    Inactive,
    InventoryChanged,
    AppInstalled,
    AppRemoved,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Enrolled => "ENROLLED",
            EventKind::Connected => "CONNECTED",
            EventKind::Disconnected => "DISCONNECTED",
            EventKind::Inactive => "INACTIVE",
            EventKind::InventoryChanged => "INVENTORY_CHANGED",
            EventKind::AppInstalled => "APP_INSTALLED",
            EventKind::AppRemoved => "APP_REMOVED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DeviceEvent {
    pub id: i64,
    pub device_id: Uuid,
    pub kind: String,
    /// JSON object.
    pub data: String,
    pub created_on: OffsetDateTime,
}

pub(crate) async fn insert_event(
    tx: &mut Tx,
    enterprise_id: Uuid,
    device_id: Uuid,
    kind: EventKind,
    data: serde_json::Value,
) -> Result<()> {
    let stmt = Query::insert()
        .into_table(DeviceEvents::Table)
        .columns([
            DeviceEvents::EnterpriseId,
            DeviceEvents::DeviceId,
            DeviceEvents::Kind,
            DeviceEvents::Data,
            DeviceEvents::CreatedOn,
        ])
        .values_panic([
            enterprise_id.into(),
            device_id.into(),
            kind.as_str().into(),
            data.to_string().into(),
            now().into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

impl Store {
    /// A device's events, newest first, and how many there are.
    pub async fn device_events(
        &self,
        enterprise_id: Uuid,
        device_id: Uuid,
        page: PageRequest,
    ) -> Result<(u64, Vec<DeviceEvent>)> {
        self.device(enterprise_id, device_id).await?;
        let count = Query::select()
            .expr(Expr::col(DeviceEvents::Id).count())
            .from(DeviceEvents::Table)
            .and_where(Expr::col(DeviceEvents::DeviceId).eq(device_id))
            .to_owned();
        let total = self.count(&count).await?;
        let stmt = Query::select()
            .columns([
                DeviceEvents::Id,
                DeviceEvents::DeviceId,
                DeviceEvents::Kind,
                DeviceEvents::Data,
                DeviceEvents::CreatedOn,
            ])
            .from(DeviceEvents::Table)
            .and_where(Expr::col(DeviceEvents::DeviceId).eq(device_id))
            .order_by(DeviceEvents::Id, Order::Desc)
            .limit(page.limit)
            .offset(page.offset)
            .to_owned();
        Ok((total, self.fetch_all(&stmt).await?))
    }
}
