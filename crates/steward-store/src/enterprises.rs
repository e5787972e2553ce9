//! Enterprises: the tenants. Every other object belongs to exactly one.

use sea_query::{Expr, ExprTrait, Iden, Order, Query};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Result, Store, StoreError, now};

#[derive(Iden)]
pub(crate) enum Enterprises {
    Table,
    Id,
    Name,
    ShortCode,
    RegisteredName,
    RegisteredAddress,
    Location,
    Zipcode,
    ContactPerson,
    ContactNumber,
    ContactEmail,
    CreatedOn,
    UpdatedOn,
}

const COLUMNS: [Enterprises; 12] = [
    Enterprises::Id,
    Enterprises::Name,
    Enterprises::ShortCode,
    Enterprises::RegisteredName,
    Enterprises::RegisteredAddress,
    Enterprises::Location,
    Enterprises::Zipcode,
    Enterprises::ContactPerson,
    Enterprises::ContactNumber,
    Enterprises::ContactEmail,
    Enterprises::CreatedOn,
    Enterprises::UpdatedOn,
];

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Enterprise {
    pub id: Uuid,
    pub name: String,
    pub short_code: String,
    pub registered_name: Option<String>,
    pub registered_address: Option<String>,
    pub location: Option<String>,
    pub zipcode: Option<String>,
    pub contact_person: Option<String>,
    pub contact_number: Option<String>,
    pub contact_email: Option<String>,
    pub created_on: OffsetDateTime,
    pub updated_on: OffsetDateTime,
}

/// The fields a PATCH may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct EnterpriseChanges {
    pub name: Option<String>,
    pub registered_name: Option<String>,
    pub registered_address: Option<String>,
    pub location: Option<String>,
    pub zipcode: Option<String>,
    pub contact_person: Option<String>,
    pub contact_number: Option<String>,
    pub contact_email: Option<String>,
}

/// A random 8-character code of capitals and digits (Esper's `short_code`, at most 10).
fn short_code() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 8];
    rand::rng().fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

impl Store {
    pub async fn create_enterprise(&self, name: &str) -> Result<Enterprise> {
        let id = Uuid::now_v7();
        let at = now();
        let stmt = Query::insert()
            .into_table(Enterprises::Table)
            .columns([
                Enterprises::Id,
                Enterprises::Name,
                Enterprises::ShortCode,
                Enterprises::CreatedOn,
                Enterprises::UpdatedOn,
            ])
            .values_panic([
                id.into(),
                name.into(),
                short_code().into(),
                at.into(),
                at.into(),
            ])
            .to_owned();
        self.execute(&stmt).await?;
        self.enterprise(id).await
    }

    /// The enterprise, or `NotFound`.
    pub async fn enterprise(&self, id: Uuid) -> Result<Enterprise> {
        let stmt = Query::select()
            .columns(COLUMNS)
            .from(Enterprises::Table)
            .and_where(Expr::col(Enterprises::Id).eq(id))
            .to_owned();
        self.fetch_optional(&stmt)
            .await?
            .ok_or(StoreError::NotFound("enterprise"))
    }

    pub async fn enterprises(&self) -> Result<Vec<Enterprise>> {
        let stmt = Query::select()
            .columns(COLUMNS)
            .from(Enterprises::Table)
            .order_by(Enterprises::CreatedOn, Order::Asc)
            .order_by(Enterprises::Id, Order::Asc)
            .to_owned();
        self.fetch_all(&stmt).await
    }

    pub async fn count_enterprises(&self) -> Result<u64> {
        let stmt = Query::select()
            .expr(Expr::col(Enterprises::Id).count())
            .from(Enterprises::Table)
            .to_owned();
        self.count(&stmt).await
    }

    pub async fn update_enterprise(
        &self,
        id: Uuid,
        changes: EnterpriseChanges,
    ) -> Result<Enterprise> {
        let mut stmt = Query::update();
        stmt.table(Enterprises::Table)
            .value(Enterprises::UpdatedOn, now())
            .and_where(Expr::col(Enterprises::Id).eq(id));
        let fields = [
            (Enterprises::Name, changes.name),
            (Enterprises::RegisteredName, changes.registered_name),
            (Enterprises::RegisteredAddress, changes.registered_address),
            (Enterprises::Location, changes.location),
            (Enterprises::Zipcode, changes.zipcode),
            (Enterprises::ContactPerson, changes.contact_person),
            (Enterprises::ContactNumber, changes.contact_number),
            (Enterprises::ContactEmail, changes.contact_email),
        ];
        for (column, value) in fields {
            if let Some(v) = value {
                stmt.value(column, v);
            }
        }
        if self.execute(&stmt).await? == 0 {
            return Err(StoreError::NotFound("enterprise"));
        }
        self.enterprise(id).await
    }
}
