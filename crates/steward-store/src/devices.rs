//! Devices, as far as groups need them: which exist, and which group each is in.

use sea_query::{Expr, ExprTrait, Iden, Query};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Result, Store, StoreError, now};

#[derive(Iden, Clone, Copy)]
pub(crate) enum Devices {
    Table,
    Id,
    EnterpriseId,
    GroupId,
    DeviceName,
    AliasName,
    CreatedOn,
    UpdatedOn,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Device {
    pub id: Uuid,
    pub enterprise_id: Uuid,
    pub group_id: Option<Uuid>,
    pub device_name: String,
    pub alias_name: Option<String>,
    pub created_on: OffsetDateTime,
    pub updated_on: OffsetDateTime,
}

impl Store {
    /// Registers a device in an enterprise, optionally in a group of that enterprise.
    pub async fn create_device(
        &self,
        enterprise_id: Uuid,
        device_name: &str,
        group_id: Option<Uuid>,
    ) -> Result<Device> {
        if let Some(g) = group_id {
            self.group_row(enterprise_id, g).await?;
        }
        let id = Uuid::now_v7();
        let at = now();
        let stmt = Query::insert()
            .into_table(Devices::Table)
            .columns([
                Devices::Id,
                Devices::EnterpriseId,
                Devices::GroupId,
                Devices::DeviceName,
                Devices::CreatedOn,
                Devices::UpdatedOn,
            ])
            .values_panic([
                id.into(),
                enterprise_id.into(),
                group_id.into(),
                device_name.into(),
                at.into(),
                at.into(),
            ])
            .to_owned();
        self.execute(&stmt).await?;
        self.device(enterprise_id, id).await
    }

    pub async fn device(&self, enterprise_id: Uuid, id: Uuid) -> Result<Device> {
        let stmt = Query::select()
            .columns([
                Devices::Id,
                Devices::EnterpriseId,
                Devices::GroupId,
                Devices::DeviceName,
                Devices::AliasName,
                Devices::CreatedOn,
                Devices::UpdatedOn,
            ])
            .from(Devices::Table)
            .and_where(Expr::col(Devices::Id).eq(id))
            .and_where(Expr::col(Devices::EnterpriseId).eq(enterprise_id))
            .to_owned();
        self.fetch_optional(&stmt)
            .await?
            .ok_or(StoreError::NotFound("device"))
    }
}
