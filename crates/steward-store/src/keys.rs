//! API keys. A key is 32 random bytes shown once; only its SHA-256 is stored, and a request is
//! matched by looking that hash up.

use sea_query::{Expr, ExprTrait, Iden, Order, Query};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Result, Store, StoreError, now};

#[derive(Iden)]
enum ApiKeys {
    Table,
    Id,
    Uuid,
    EnterpriseId,
    Name,
    KeyHash,
    Prefix,
    Scope,
    CreatedOn,
    UpdatedOn,
    ExpiresOn,
    RevokedOn,
    LastUsedOn,
}

const COLUMNS: [ApiKeys; 12] = [
    ApiKeys::Id,
    ApiKeys::Uuid,
    ApiKeys::EnterpriseId,
    ApiKeys::Name,
    ApiKeys::Prefix,
    ApiKeys::Scope,
    ApiKeys::CreatedOn,
    ApiKeys::UpdatedOn,
    ApiKeys::ExpiresOn,
    ApiKeys::RevokedOn,
    ApiKeys::LastUsedOn,
    ApiKeys::KeyHash,
];

/// Every key starts with this, so a leaked one is easy to recognise in logs and scanners.
pub const KEY_PREFIX: &str = "stw_";
/// The scope every key has today: the whole enterprise.
pub const FULL_SCOPE: &str = "read write";

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ApiKey {
    /// The key's number (Esper's integer token id).
    pub id: i64,
    /// The key's public id (Esper's `developer_app`).
    pub uuid: Uuid,
    pub enterprise_id: Uuid,
    pub name: String,
    /// The first characters of the secret, for recognising a key in lists.
    pub prefix: String,
    /// Space-separated scopes.
    pub scope: String,
    pub created_on: OffsetDateTime,
    pub updated_on: OffsetDateTime,
    pub expires_on: Option<OffsetDateTime>,
    pub revoked_on: Option<OffsetDateTime>,
    pub last_used_on: Option<OffsetDateTime>,
    /// SHA-256 of the secret, hex.
    pub key_hash: String,
}

impl ApiKey {
    /// Whether the key may be used at `at`.
    pub fn is_usable(&self, at: OffsetDateTime) -> bool {
        self.revoked_on.is_none() && self.expires_on.is_none_or(|e| e > at)
    }
}

/// A key just made: the stored record and the secret, which is never available again.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub key: ApiKey,
    pub secret: String,
}

/// The stored form of a secret.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn new_secret() -> String {
    use rand::Rng;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{KEY_PREFIX}{}", hex::encode(bytes))
}

impl Store {
    /// Makes a key for the enterprise (which must exist).
    pub async fn create_api_key(
        &self,
        enterprise_id: Uuid,
        name: &str,
        expires_on: Option<OffsetDateTime>,
    ) -> Result<NewKey> {
        self.enterprise(enterprise_id).await?;
        let secret = new_secret();
        let uuid = Uuid::now_v7();
        let at = now();
        let stmt = Query::insert()
            .into_table(ApiKeys::Table)
            .columns([
                ApiKeys::Uuid,
                ApiKeys::EnterpriseId,
                ApiKeys::Name,
                ApiKeys::KeyHash,
                ApiKeys::Prefix,
                ApiKeys::Scope,
                ApiKeys::CreatedOn,
                ApiKeys::UpdatedOn,
                ApiKeys::ExpiresOn,
            ])
            .values_panic([
                uuid.into(),
                enterprise_id.into(),
                name.into(),
                hash_secret(&secret).into(),
                secret
                    .chars()
                    .take(KEY_PREFIX.len() + 8)
                    .collect::<String>()
                    .into(),
                FULL_SCOPE.into(),
                at.into(),
                at.into(),
                expires_on.into(),
            ])
            .to_owned();
        self.execute(&stmt).await?;
        let key = self.api_key(uuid).await?;
        Ok(NewKey { key, secret })
    }

    /// The key with this public id, revoked or not.
    pub async fn api_key(&self, uuid: Uuid) -> Result<ApiKey> {
        let stmt = Query::select()
            .columns(COLUMNS)
            .from(ApiKeys::Table)
            .and_where(Expr::col(ApiKeys::Uuid).eq(uuid))
            .to_owned();
        self.fetch_optional(&stmt)
            .await?
            .ok_or(StoreError::NotFound("API key"))
    }

    /// The usable key whose secret this is, if any.
    pub async fn authenticate_api_key(&self, secret: &str) -> Result<Option<ApiKey>> {
        let stmt = Query::select()
            .columns(COLUMNS)
            .from(ApiKeys::Table)
            .and_where(Expr::col(ApiKeys::KeyHash).eq(hash_secret(secret)))
            .to_owned();
        let key: Option<ApiKey> = self.fetch_optional(&stmt).await?;
        Ok(key.filter(|k| k.is_usable(now())))
    }

    /// Keys of one enterprise, or of all, oldest first.
    pub async fn api_keys(&self, enterprise_id: Option<Uuid>) -> Result<Vec<ApiKey>> {
        let mut stmt = Query::select();
        stmt.columns(COLUMNS)
            .from(ApiKeys::Table)
            .order_by(ApiKeys::Id, Order::Asc);
        if let Some(e) = enterprise_id {
            stmt.and_where(Expr::col(ApiKeys::EnterpriseId).eq(e));
        }
        self.fetch_all(&stmt).await
    }

    /// Revokes a key; true if it was usable until now.
    pub async fn revoke_api_key(&self, uuid: Uuid) -> Result<bool> {
        let at = now();
        let stmt = Query::update()
            .table(ApiKeys::Table)
            .value(ApiKeys::RevokedOn, at)
            .value(ApiKeys::UpdatedOn, at)
            .and_where(Expr::col(ApiKeys::Uuid).eq(uuid))
            .and_where(Expr::col(ApiKeys::RevokedOn).is_null())
            .to_owned();
        let changed = self.execute(&stmt).await?;
        if changed == 0 {
            self.api_key(uuid).await?;
        }
        Ok(changed > 0)
    }
}
