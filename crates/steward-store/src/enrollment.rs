//! Enrolment tokens: a shared secret an operator hands to devices so they can join an
//! enterprise (and a group), with an optional expiry and use limit. Stored hashed.

use sea_query::{Expr, ExprTrait, Iden, Order, Query};
use steward_core::Invalid;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::Tx;
use crate::keys::hash_secret;
use crate::{Result, Store, StoreError, now};

#[derive(Iden, Clone, Copy)]
enum EnrollmentTokens {
    Table,
    Id,
    EnterpriseId,
    GroupId,
    Name,
    TokenHash,
    Prefix,
    MaxUses,
    Uses,
    ExpiresOn,
    RevokedOn,
    CreatedOn,
    UpdatedOn,
}

const COLUMNS: [EnrollmentTokens; 12] = [
    EnrollmentTokens::Id,
    EnrollmentTokens::EnterpriseId,
    EnrollmentTokens::GroupId,
    EnrollmentTokens::Name,
    EnrollmentTokens::Prefix,
    EnrollmentTokens::MaxUses,
    EnrollmentTokens::Uses,
    EnrollmentTokens::ExpiresOn,
    EnrollmentTokens::RevokedOn,
    EnrollmentTokens::CreatedOn,
    EnrollmentTokens::UpdatedOn,
    EnrollmentTokens::TokenHash,
];

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct EnrollmentToken {
    pub id: Uuid,
    pub enterprise_id: Uuid,
    pub group_id: Option<Uuid>,
    pub name: String,
    pub prefix: String,
    pub max_uses: Option<i64>,
    pub uses: i64,
    pub expires_on: Option<OffsetDateTime>,
    pub revoked_on: Option<OffsetDateTime>,
    pub created_on: OffsetDateTime,
    pub updated_on: OffsetDateTime,
    pub token_hash: String,
}

impl EnrollmentToken {
    /// Why the token cannot enrol a device now, if it cannot.
    pub fn unusable_because(&self, at: OffsetDateTime) -> Option<&'static str> {
        if self.revoked_on.is_some() {
            Some("the enrolment token was revoked")
        } else if self.expires_on.is_some_and(|e| e <= at) {
            Some("the enrolment token has expired")
        } else if self.max_uses.is_some_and(|m| self.uses >= m) {
            Some("the enrolment token has been used up")
        } else {
            None
        }
    }
}

/// Settings of a new token.
#[derive(Debug, Clone, Default)]
pub struct NewEnrollmentToken {
    pub name: String,
    pub group_id: Option<Uuid>,
    pub max_uses: Option<i64>,
    pub expires_on: Option<OffsetDateTime>,
}

fn new_secret() -> String {
    use rand::Rng;
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    format!("enr_{}", hex::encode(bytes))
}

impl Store {
    /// Makes a token; returns it and its secret (shown once).
    pub async fn create_enrollment_token(
        &self,
        enterprise_id: Uuid,
        new: NewEnrollmentToken,
    ) -> Result<(EnrollmentToken, String)> {
        self.enterprise(enterprise_id).await?;
        if let Some(g) = new.group_id {
            self.group_row(enterprise_id, g)
                .await
                .map_err(|e| match e {
                    StoreError::NotFound(_) => {
                        Invalid::field("group", format!("no group {g} in this enterprise")).into()
                    }
                    other => other,
                })?;
        }
        if new.max_uses.is_some_and(|m| m < 1) {
            return Err(Invalid::field("max_uses", "must be at least 1").into());
        }
        let secret = new_secret();
        let id = Uuid::now_v7();
        let at = now();
        let stmt = Query::insert()
            .into_table(EnrollmentTokens::Table)
            .columns([
                EnrollmentTokens::Id,
                EnrollmentTokens::EnterpriseId,
                EnrollmentTokens::GroupId,
                EnrollmentTokens::Name,
                EnrollmentTokens::TokenHash,
                EnrollmentTokens::Prefix,
                EnrollmentTokens::MaxUses,
                EnrollmentTokens::ExpiresOn,
                EnrollmentTokens::CreatedOn,
                EnrollmentTokens::UpdatedOn,
            ])
            .values_panic([
                id.into(),
                enterprise_id.into(),
                new.group_id.into(),
                new.name.into(),
                hash_secret(&secret).into(),
                secret.chars().take(12).collect::<String>().into(),
                new.max_uses.into(),
                new.expires_on.into(),
                at.into(),
                at.into(),
            ])
            .to_owned();
        self.execute(&stmt).await?;
        Ok((self.enrollment_token(enterprise_id, id).await?, secret))
    }

    pub async fn enrollment_token(&self, enterprise_id: Uuid, id: Uuid) -> Result<EnrollmentToken> {
        let stmt = Query::select()
            .columns(COLUMNS)
            .from(EnrollmentTokens::Table)
            .and_where(Expr::col(EnrollmentTokens::Id).eq(id))
            .and_where(Expr::col(EnrollmentTokens::EnterpriseId).eq(enterprise_id))
            .to_owned();
        self.fetch_optional(&stmt)
            .await?
            .ok_or(StoreError::NotFound("enrollment token"))
    }

    /// Tokens of one enterprise (or all), newest first.
    pub async fn enrollment_tokens(
        &self,
        enterprise_id: Option<Uuid>,
    ) -> Result<Vec<EnrollmentToken>> {
        let mut stmt = Query::select();
        stmt.columns(COLUMNS)
            .from(EnrollmentTokens::Table)
            .order_by(EnrollmentTokens::Id, Order::Desc);
        if let Some(e) = enterprise_id {
            stmt.and_where(Expr::col(EnrollmentTokens::EnterpriseId).eq(e));
        }
        self.fetch_all(&stmt).await
    }

    /// Revokes a token (devices already enrolled stay); `enterprise_id` limits it to one tenant.
    pub async fn revoke_enrollment_token(
        &self,
        enterprise_id: Option<Uuid>,
        id: Uuid,
    ) -> Result<()> {
        let at = now();
        let mut stmt = Query::update();
        stmt.table(EnrollmentTokens::Table)
            .value(EnrollmentTokens::RevokedOn, at)
            .value(EnrollmentTokens::UpdatedOn, at)
            .and_where(Expr::col(EnrollmentTokens::Id).eq(id))
            .and_where(Expr::col(EnrollmentTokens::RevokedOn).is_null());
        if let Some(e) = enterprise_id {
            stmt.and_where(Expr::col(EnrollmentTokens::EnterpriseId).eq(e));
        }
        if self.execute(&stmt).await? == 0 {
            // Already revoked is fine; unknown is not.
            let mut find = Query::select();
            find.expr(Expr::col(EnrollmentTokens::Id).count())
                .from(EnrollmentTokens::Table)
                .and_where(Expr::col(EnrollmentTokens::Id).eq(id));
            if let Some(e) = enterprise_id {
                find.and_where(Expr::col(EnrollmentTokens::EnterpriseId).eq(e));
            }
            if self.count(&find).await? == 0 {
                return Err(StoreError::NotFound("enrollment token"));
            }
        }
        Ok(())
    }
}

/// Finds a usable token by its secret and counts one use, inside the enrolment transaction.
pub(crate) async fn consume_enrollment_token(tx: &mut Tx, secret: &str) -> Result<EnrollmentToken> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(EnrollmentTokens::Table)
        .and_where(Expr::col(EnrollmentTokens::TokenHash).eq(hash_secret(secret)))
        .to_owned();
    let token: EnrollmentToken = tx
        .fetch_optional(&stmt)
        .await?
        .ok_or_else(|| Invalid::field("token", "unknown enrolment token"))?;
    if let Some(why) = token.unusable_because(now()) {
        return Err(Invalid::field("token", why).into());
    }
    // The guard on `uses` makes the count hold even when two enrolments race.
    let mut bump = Query::update();
    bump.table(EnrollmentTokens::Table)
        .value(
            EnrollmentTokens::Uses,
            Expr::col(EnrollmentTokens::Uses).add(1),
        )
        .value(EnrollmentTokens::UpdatedOn, now())
        .and_where(Expr::col(EnrollmentTokens::Id).eq(token.id));
    if let Some(max) = token.max_uses {
        bump.and_where(Expr::col(EnrollmentTokens::Uses).lt(max));
    }
    if tx.execute(&bump).await? == 0 {
        return Err(Invalid::field("token", "the enrolment token has been used up").into());
    }
    Ok(token)
}
