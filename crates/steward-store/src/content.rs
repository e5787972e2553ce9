//! Content files of an enterprise (`/v0/enterprise/{id}/content/`), kept in blob storage under
//! `blob_key`; and the server's own secrets.

use sea_query::{Cond, Expr, ExprTrait, Func, Iden, OnConflict, Order, Query};
use steward_core::pagination::PageRequest;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::groups::contains_pattern;
use crate::{Result, Store, StoreError, now};

#[derive(Iden, Clone, Copy)]
enum Content {
    Table,
    Id,
    EnterpriseId,
    Name,
    FileKey,
    Kind,
    Hash,
    SizeBytes,
    Tags,
    Description,
    BlobKey,
    OwnerId,
    OwnerName,
    Created,
    Modified,
}

const COLUMNS: [Content; 14] = [
    Content::Id,
    Content::EnterpriseId,
    Content::Name,
    Content::FileKey,
    Content::Kind,
    Content::Hash,
    Content::SizeBytes,
    Content::Tags,
    Content::Description,
    Content::BlobKey,
    Content::OwnerId,
    Content::OwnerName,
    Content::Created,
    Content::Modified,
];

#[derive(Iden, Clone, Copy)]
enum ServerSecrets {
    Table,
    Name,
    Value,
}

/// One content file.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ContentFile {
    pub id: i64,
    pub enterprise_id: Uuid,
    pub name: String,
    /// The file's name as uploaded (Esper's `key`).
    pub file_key: String,
    /// Its media type.
    pub kind: Option<String>,
    /// SHA-256, hex.
    pub hash: String,
    pub size_bytes: i64,
    /// JSON array of strings.
    pub tags: String,
    pub description: Option<String>,
    pub blob_key: String,
    pub owner_id: Option<i64>,
    pub owner_name: String,
    pub created: OffsetDateTime,
    pub modified: OffsetDateTime,
}

impl ContentFile {
    pub fn tag_list(&self) -> Vec<String> {
        serde_json::from_str(&self.tags).unwrap_or_default()
    }
}

/// What an upload adds, already in blob storage.
#[derive(Debug, Clone)]
pub struct NewContent {
    pub name: String,
    pub file_key: String,
    pub kind: Option<String>,
    pub hash: String,
    pub size_bytes: i64,
    pub blob_key: String,
    pub owner_id: Option<i64>,
    pub owner_name: String,
}

impl Store {
    pub async fn create_content(
        &self,
        enterprise_id: Uuid,
        new: &NewContent,
    ) -> Result<ContentFile> {
        let at = now();
        let values = [
            enterprise_id.into(),
            new.name.clone().into(),
            new.file_key.clone().into(),
            new.kind.clone().into(),
            new.hash.clone().into(),
            new.size_bytes.into(),
            "[]".into(),
            None::<String>.into(),
            new.blob_key.clone().into(),
            new.owner_id.into(),
            new.owner_name.clone().into(),
            at.into(),
            at.into(),
        ];
        let stmt = Query::insert()
            .into_table(Content::Table)
            .columns(COLUMNS.into_iter().skip(1))
            .values_panic(values)
            .returning_col(Content::Id)
            .to_owned();
        let mut tx = self.begin().await?;
        let rows: Vec<(i64,)> = tx.fetch_all(&stmt).await?;
        tx.commit().await?;
        let id = rows
            .first()
            .map(|(id,)| *id)
            .ok_or(StoreError::NotFound("content"))?;
        self.content(enterprise_id, id).await
    }

    pub async fn content(&self, enterprise_id: Uuid, id: i64) -> Result<ContentFile> {
        self.fetch_optional(
            &Query::select()
                .columns(COLUMNS)
                .from(Content::Table)
                .and_where(Expr::col(Content::EnterpriseId).eq(enterprise_id))
                .and_where(Expr::col(Content::Id).eq(id))
                .to_owned(),
        )
        .await?
        .ok_or(StoreError::NotFound("content"))
    }

    /// The enterprise's content, newest first; `search` matches part of the name, a tag or
    /// the description, in any case.
    pub async fn contents(
        &self,
        enterprise_id: Uuid,
        search: Option<&str>,
        page: PageRequest,
    ) -> Result<(u64, Vec<ContentFile>)> {
        let mut cond = Cond::all().add(Expr::col(Content::EnterpriseId).eq(enterprise_id));
        if let Some(s) = search {
            let pattern = contains_pattern(s);
            cond = cond.add(
                Cond::any()
                    .add(Expr::expr(Func::lower(Expr::col(Content::Name))).like(pattern.clone()))
                    .add(Expr::expr(Func::lower(Expr::col(Content::Tags))).like(pattern.clone()))
                    .add(Expr::expr(Func::lower(Expr::col(Content::Description))).like(pattern)),
            );
        }
        let total = self
            .count(
                &Query::select()
                    .expr(Expr::col(Content::Id).count())
                    .from(Content::Table)
                    .cond_where(cond.clone())
                    .to_owned(),
            )
            .await?;
        let rows = self
            .fetch_all(
                &Query::select()
                    .columns(COLUMNS)
                    .from(Content::Table)
                    .cond_where(cond)
                    .order_by(Content::Id, Order::Desc)
                    .limit(page.limit)
                    .offset(page.offset)
                    .to_owned(),
            )
            .await?;
        Ok((total, rows))
    }

    /// Sets tags and/or the description.
    pub async fn update_content(
        &self,
        enterprise_id: Uuid,
        id: i64,
        tags: Option<&[String]>,
        description: Option<&str>,
    ) -> Result<ContentFile> {
        self.content(enterprise_id, id).await?;
        let mut stmt = Query::update();
        stmt.table(Content::Table)
            .value(Content::Modified, now())
            .and_where(Expr::col(Content::EnterpriseId).eq(enterprise_id))
            .and_where(Expr::col(Content::Id).eq(id));
        if let Some(tags) = tags {
            stmt.value(
                Content::Tags,
                serde_json::to_string(tags).unwrap_or_else(|_| "[]".into()),
            );
        }
        if let Some(d) = description {
            stmt.value(Content::Description, d);
        }
        self.execute(&stmt).await?;
        self.content(enterprise_id, id).await
    }

    /// Deletes a content row; its blob key, for removal.
    pub async fn delete_content(&self, enterprise_id: Uuid, id: i64) -> Result<String> {
        let row = self.content(enterprise_id, id).await?;
        self.execute(
            &Query::delete()
                .from_table(Content::Table)
                .and_where(Expr::col(Content::EnterpriseId).eq(enterprise_id))
                .and_where(Expr::col(Content::Id).eq(id))
                .to_owned(),
        )
        .await?;
        Ok(row.blob_key)
    }

    /// The 32-byte secret called `name`, made at random by whichever node asks first; every
    /// node then reads the same value.
    pub async fn server_secret(&self, name: &str) -> Result<Vec<u8>> {
        use rand::Rng;
        let mut fresh = [0u8; 32];
        rand::rng().fill_bytes(&mut fresh);
        let mut tx = self.begin().await?;
        tx.execute(
            &Query::insert()
                .into_table(ServerSecrets::Table)
                .columns([ServerSecrets::Name, ServerSecrets::Value])
                .values_panic([name.into(), fresh.to_vec().into()])
                .on_conflict(
                    OnConflict::column(ServerSecrets::Name)
                        .do_nothing()
                        .to_owned(),
                )
                .to_owned(),
        )
        .await?;
        let row: Option<(Vec<u8>,)> = tx
            .fetch_optional(
                &Query::select()
                    .column(ServerSecrets::Value)
                    .from(ServerSecrets::Table)
                    .and_where(Expr::col(ServerSecrets::Name).eq(name))
                    .to_owned(),
            )
            .await?;
        tx.commit().await?;
        row.map(|(v,)| v)
            .ok_or(StoreError::NotFound("server secret"))
    }
}
