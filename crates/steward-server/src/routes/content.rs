//! Content files: `/v0/enterprise/{id}/content/…`. Uploads stream to blob storage (up to 2 GiB
//! by default); `download_url` is a signed, expiring URL.

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use steward_proto::Page;
use steward_proto::content::{Content, ContentPatch, Owner};
use steward_store::content::{ContentFile, NewContent};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::http::auth::Caller;
use crate::http::extract::{ApiJson, ApiPath, Params};
use crate::http::links::Links;
use crate::http::upload::{receive_file, safe_name};
use crate::routes::files::signed_url;
use crate::state::AppState;

/// Most tags on one file, and the longest tag.
const MAX_TAGS: usize = 100;
const MAX_TAG_LEN: usize = 255;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_content))
        .routes(routes!(get_content, patch_content, delete_content))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(post_content))
                .layer(DefaultBodyLimit::disable()),
        )
}

/// The content id is read after the enterprise is checked, so another enterprise's path is a
/// 403 whatever follows it.
#[derive(serde::Deserialize)]
struct ContentPath {
    enterprise_id: Uuid,
    content_id: String,
}

impl ContentPath {
    /// The caller's enterprise and the content's number.
    fn ids(&self, caller: &Caller) -> ApiResult<(Uuid, i64)> {
        let eid = caller.enterprise(self.enterprise_id)?;
        let id = self.content_id.parse::<i64>().map_err(|_| {
            steward_core::Invalid::field(
                "content_id",
                format!("{:?} is not a content id (a number)", self.content_id),
            )
        })?;
        Ok((eid, id))
    }
}

/// The longest `kind` Esper's Content model accepts.
const MAX_KIND_LEN: usize = 255;

/// A content file's `kind`: the Content-Type its part was sent with, or none; one longer than
/// Esper's clients accept is refused.
fn content_kind(content_type: Option<&str>) -> ApiResult<Option<String>> {
    let Some(kind) = content_type.map(str::trim).filter(|k| !k.is_empty()) else {
        return Ok(None);
    };
    if kind.chars().count() > MAX_KIND_LEN {
        return Err(steward_core::Invalid::field(
            "key",
            format!(
                "the file's Content-Type is {} characters long; at most {MAX_KIND_LEN} are accepted",
                kind.chars().count()
            ),
        )
        .into());
    }
    Ok(Some(kind.to_string()))
}

async fn render(state: &AppState, links: &Links, c: ContentFile) -> ApiResult<Content> {
    Ok(Content {
        id: c.id,
        download_url: signed_url(state, links, &c.blob_key).await?,
        tags: c.tag_list(),
        name: c.name,
        key: c.file_key.clone(),
        is_dir: false,
        kind: c.kind,
        hash: c.hash,
        size: c.size_bytes.to_string(),
        path: format!("/{}", c.file_key),
        permissions: None,
        description: c.description,
        created: c.created,
        modified: c.modified,
        enterprise: links.enterprise(c.enterprise_id),
        owner: Owner {
            id: c.owner_id,
            username: c.owner_name,
        },
    })
}

/// Lists content, newest first; `search` matches part of the name, a tag or the description.
#[utoipa::path(
    get,
    path = "/v0/enterprise/{enterprise_id}/content/",
    tag = "Content",
    operation_id = "get_all_content",
    params(("enterprise_id" = Uuid, Path), ("search" = Option<String>, Query),
           ("limit" = Option<u64>, Query), ("offset" = Option<u64>, Query)),
    responses((status = 200, body = Page<Content>)),
    security(("bearer" = []))
)]
async fn list_content(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(enterprise_id): ApiPath<Uuid>,
    params: Params,
) -> ApiResult<Json<Page<Content>>> {
    let eid = caller.enterprise(enterprise_id)?;
    let page = params.page(state.settings.max_page_size)?;
    let search = params.text("search", 255)?;
    let (count, rows) = state.store.contents(eid, search.as_deref(), page).await?;
    let mut results = Vec::with_capacity(rows.len());
    for row in rows {
        results.push(render(&state, &links, row).await?);
    }
    Ok(Json(links.page(page, count, results)))
}

/// Uploads a file as the multipart field `key`.
#[utoipa::path(
    post,
    path = "/v0/enterprise/{enterprise_id}/content/upload/",
    tag = "Content",
    operation_id = "post_content",
    params(("enterprise_id" = Uuid, Path)),
    request_body(content_type = "multipart/form-data", description = "key: the file"),
    responses((status = 201, body = Content), (status = 400, body = steward_proto::ErrorBody),
              (status = 413, body = steward_proto::ErrorBody), (status = 415, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn post_content(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(enterprise_id): ApiPath<Uuid>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<Content>)> {
    let eid = caller.enterprise(enterprise_id)?;
    let files = &state.settings.files;
    let received = receive_file(
        multipart,
        "key",
        files.max_content_bytes,
        files.upload_dir.as_deref(),
    )
    .await?;
    let kind = content_kind(received.content_type.as_deref())?;
    let blob_key = format!(
        "content/{eid}/{}/{}",
        Uuid::now_v7(),
        Some(safe_name(&received.file_name))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "file".into())
    );
    state
        .blobs
        .put_file(&blob_key, &received.path)
        .await
        .map_err(|e| ApiError::Internal(format!("blob storage: {e:#}")))?;
    let new = NewContent {
        name: received.file_name.clone(),
        file_key: received.file_name.clone(),
        kind,
        hash: received.sha256.clone(),
        size_bytes: i64::try_from(received.size).unwrap_or(i64::MAX),
        blob_key: blob_key.clone(),
        owner_id: Some(caller.key.id),
        owner_name: caller.key.name.clone(),
    };
    let row = match state.store.create_content(eid, &new).await {
        Ok(row) => row,
        Err(e) => {
            state.blobs.delete(&[blob_key]).await;
            return Err(e.into());
        }
    };
    Ok((
        StatusCode::CREATED,
        Json(render(&state, &links, row).await?),
    ))
}

/// One content file.
#[utoipa::path(
    get,
    path = "/v0/enterprise/{enterprise_id}/content/{content_id}/",
    tag = "Content",
    operation_id = "get_content",
    params(("enterprise_id" = Uuid, Path), ("content_id" = i64, Path)),
    responses((status = 200, body = Content), (status = 404, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn get_content(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(p): ApiPath<ContentPath>,
) -> ApiResult<Json<Content>> {
    let (eid, id) = p.ids(&caller)?;
    let row = state.store.content(eid, id).await?;
    Ok(Json(render(&state, &links, row).await?))
}

/// Sets a file's tags and description.
#[utoipa::path(
    patch,
    path = "/v0/enterprise/{enterprise_id}/content/{content_id}/",
    tag = "Content",
    operation_id = "patch_content",
    params(("enterprise_id" = Uuid, Path), ("content_id" = i64, Path)),
    request_body = ContentPatch,
    responses((status = 200, body = Content), (status = 400, body = steward_proto::ErrorBody), (status = 404, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn patch_content(
    State(state): State<AppState>,
    caller: Caller,
    links: Links,
    ApiPath(p): ApiPath<ContentPath>,
    ApiJson(body): ApiJson<ContentPatch>,
) -> ApiResult<Json<Content>> {
    let (eid, id) = p.ids(&caller)?;
    let mut errors = steward_core::FieldErrors::default();
    if let Some(tags) = &body.tags {
        if tags.len() > MAX_TAGS {
            errors.add("tags", format!("at most {MAX_TAGS} tags"));
        }
        for (i, tag) in tags.iter().enumerate() {
            errors.required_text(&format!("tags[{i}]"), Some(tag), MAX_TAG_LEN);
        }
    }
    errors.optional_text("description", body.description.as_deref(), 0, 10_000);
    errors.finish()?;
    let row = state
        .store
        .update_content(eid, id, body.tags.as_deref(), body.description.as_deref())
        .await?;
    Ok(Json(render(&state, &links, row).await?))
}

/// Deletes a file.
#[utoipa::path(
    delete,
    path = "/v0/enterprise/{enterprise_id}/content/{content_id}/",
    tag = "Content",
    operation_id = "delete_content",
    params(("enterprise_id" = Uuid, Path), ("content_id" = i64, Path)),
    responses((status = 204), (status = 404, body = steward_proto::ErrorBody)),
    security(("bearer" = []))
)]
async fn delete_content(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(p): ApiPath<ContentPath>,
) -> ApiResult<StatusCode> {
    let (eid, id) = p.ids(&caller)?;
    let key = state.store.delete_content(eid, id).await?;
    state.blobs.delete(&[key]).await;
    Ok(StatusCode::NO_CONTENT)
}
