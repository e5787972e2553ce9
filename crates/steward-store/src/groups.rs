//! Device groups: a forest per enterprise, at most five levels below each root.

use std::collections::HashMap;

use sea_query::{Expr, ExprTrait, Func, Iden, LikeExpr, Order, Query, SelectStatement};
use steward_core::Invalid;
use steward_core::groups::{MAX_DEPTH_BELOW_ROOT, check_placement};
use steward_core::pagination::PageRequest;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::Tx;
use crate::device_counts::DeviceChange;
use crate::devices::Devices;
use crate::{Result, Store, StoreError, now};

#[derive(Iden, Clone, Copy)]
pub(crate) enum DeviceGroups {
    Table,
    Id,
    EnterpriseId,
    ParentId,
    Name,
    CreatedOn,
    UpdatedOn,
}

const COLUMNS: [DeviceGroups; 6] = [
    DeviceGroups::Id,
    DeviceGroups::EnterpriseId,
    DeviceGroups::ParentId,
    DeviceGroups::Name,
    DeviceGroups::CreatedOn,
    DeviceGroups::UpdatedOn,
];

/// A stored group row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct GroupRow {
    pub id: Uuid,
    pub enterprise_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub name: String,
    pub created_on: OffsetDateTime,
    pub updated_on: OffsetDateTime,
}

/// A group with what is derived from the tree around it.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub row: GroupRow,
    /// Names from the root down to this group, joined by `/`.
    pub path: String,
    pub children_count: u64,
    pub device_count: u64,
}

/// Filters of the group list.
#[derive(Debug, Clone, Default)]
pub struct GroupFilter {
    /// Case-insensitive part of the name; an exact match is listed first.
    pub name: Option<String>,
}

#[derive(sqlx::FromRow)]
struct KeyCount {
    key: Uuid,
    n: i64,
}

/// `%text%` for LIKE, with the pattern characters of `text` escaped by `\`.
pub(crate) fn contains_pattern(text: &str) -> LikeExpr {
    LikeExpr::new(escape_like(text)).escape('\\')
}

fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 2);
    escaped.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('%');
    escaped
}

fn select_rows() -> SelectStatement {
    Query::select()
        .columns(COLUMNS)
        .from(DeviceGroups::Table)
        .to_owned()
}

impl Store {
    /// One row of the enterprise's groups, or `NotFound`.
    pub(crate) async fn group_row(&self, enterprise_id: Uuid, id: Uuid) -> Result<GroupRow> {
        let stmt = select_rows()
            .and_where(Expr::col(DeviceGroups::Id).eq(id))
            .and_where(Expr::col(DeviceGroups::EnterpriseId).eq(enterprise_id))
            .to_owned();
        self.fetch_optional(&stmt)
            .await?
            .ok_or(StoreError::NotFound("group"))
    }

    /// A page of the enterprise's groups, and how many match in all.
    pub async fn groups(
        &self,
        enterprise_id: Uuid,
        filter: &GroupFilter,
        page: PageRequest,
    ) -> Result<(u64, Vec<Group>)> {
        let mut base = Query::select();
        base.from(DeviceGroups::Table)
            .and_where(Expr::col(DeviceGroups::EnterpriseId).eq(enterprise_id));
        if let Some(name) = &filter.name {
            base.and_where(
                Expr::expr(Func::lower(Expr::col(DeviceGroups::Name))).like(contains_pattern(name)),
            );
        }
        let count_stmt = base
            .clone()
            .expr(Expr::col(DeviceGroups::Id).count())
            .to_owned();
        let count = self.count(&count_stmt).await?;

        let mut stmt = base.columns(COLUMNS).to_owned();
        if let Some(name) = &filter.name {
            let exact =
                Expr::expr(Func::lower(Expr::col(DeviceGroups::Name))).eq(name.to_lowercase());
            stmt.order_by_expr(Expr::case(exact, 0).finally(1).into(), Order::Asc);
        }
        stmt.order_by(DeviceGroups::Name, Order::Asc)
            .order_by(DeviceGroups::Id, Order::Asc)
            .limit(page.limit)
            .offset(page.offset);
        let rows: Vec<GroupRow> = self.fetch_all(&stmt).await?;
        Ok((count, self.describe(rows).await?))
    }

    /// One group with its path and counts, or `NotFound`.
    pub async fn group(&self, enterprise_id: Uuid, id: Uuid) -> Result<Group> {
        let row = self.group_row(enterprise_id, id).await?;
        let mut described = self.describe(vec![row]).await?;
        described.pop().ok_or(StoreError::NotFound("group"))
    }

    /// Adds paths and counts to rows, with a bounded number of queries whatever the page size.
    async fn describe(&self, rows: Vec<GroupRow>) -> Result<Vec<Group>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        // Ancestors, one level per query: the tree is at most six levels deep.
        let mut known: HashMap<Uuid, (Option<Uuid>, String)> = rows
            .iter()
            .map(|r| (r.id, (r.parent_id, r.name.clone())))
            .collect();
        for _ in 0..=MAX_DEPTH_BELOW_ROOT {
            let missing: Vec<Uuid> = known
                .values()
                .filter_map(|(parent, _)| *parent)
                .filter(|p| !known.contains_key(p))
                .collect();
            if missing.is_empty() {
                break;
            }
            let stmt = select_rows()
                .and_where(Expr::col(DeviceGroups::Id).is_in(missing))
                .to_owned();
            let parents: Vec<GroupRow> = self.fetch_all(&stmt).await?;
            for p in parents {
                known.insert(p.id, (p.parent_id, p.name));
            }
        }
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let children = self
            .counts_by(DeviceGroups::Table, DeviceGroups::ParentId, &ids)
            .await?;
        let devices = self
            .counts_by(Devices::Table, Devices::GroupId, &ids)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| Group {
                path: path_of(row.id, &known),
                children_count: children.get(&row.id).copied().unwrap_or(0),
                device_count: devices.get(&row.id).copied().unwrap_or(0),
                row,
            })
            .collect())
    }

    /// `SELECT column, COUNT(*) FROM table WHERE column IN ids GROUP BY column`.
    async fn counts_by<T: Iden + Copy + 'static, C: Iden + Copy + 'static>(
        &self,
        table: T,
        column: C,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, u64>> {
        let stmt = Query::select()
            .expr_as(Expr::col(column), KeyAlias::Key)
            .expr_as(Expr::col(column).count(), KeyAlias::N)
            .from(table)
            .and_where(Expr::col(column).is_in(ids.iter().copied()))
            .group_by_col(column)
            .to_owned();
        let rows: Vec<KeyCount> = self.fetch_all(&stmt).await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.key, u64::try_from(r.n).unwrap_or(0)))
            .collect())
    }

    /// Creates a group, below `parent` if given, holding `device_ids`.
    pub async fn create_group(
        &self,
        enterprise_id: Uuid,
        name: &str,
        parent: Option<Uuid>,
        device_ids: &[Uuid],
    ) -> Result<Group> {
        let mut tx = self.begin().await?;
        tx.lock_enterprise(enterprise_id).await?;
        if let Some(parent) = parent {
            let chain = ancestry(&mut tx, enterprise_id, parent).await?;
            check_placement(None, parent, &chain, 0)?;
        }
        ensure_unique_name(&mut tx, enterprise_id, parent, name, None).await?;
        let id = Uuid::now_v7();
        let at = now();
        let stmt = Query::insert()
            .into_table(DeviceGroups::Table)
            .columns([
                DeviceGroups::Id,
                DeviceGroups::EnterpriseId,
                DeviceGroups::ParentId,
                DeviceGroups::Name,
                DeviceGroups::CreatedOn,
                DeviceGroups::UpdatedOn,
            ])
            .values_panic([
                id.into(),
                enterprise_id.into(),
                parent.into(),
                name.into(),
                at.into(),
                at.into(),
            ])
            .to_owned();
        tx.execute(&stmt).await?;
        assign_devices(&mut tx, enterprise_id, device_ids, Some(id), None).await?;
        tx.commit().await?;
        self.group(enterprise_id, id).await
    }

    pub async fn rename_group(&self, enterprise_id: Uuid, id: Uuid, name: &str) -> Result<Group> {
        let mut tx = self.begin().await?;
        tx.lock_enterprise(enterprise_id).await?;
        let row = group_row_in(&mut tx, enterprise_id, id).await?;
        if row.name != name {
            ensure_unique_name(&mut tx, enterprise_id, row.parent_id, name, Some(id)).await?;
            let stmt = Query::update()
                .table(DeviceGroups::Table)
                .value(DeviceGroups::Name, name)
                .value(DeviceGroups::UpdatedOn, now())
                .and_where(Expr::col(DeviceGroups::Id).eq(id))
                .to_owned();
            tx.execute(&stmt).await?;
        }
        tx.commit().await?;
        self.group(enterprise_id, id).await
    }

    /// Moves a group (with its subtree) below `parent`, or makes it a root when `None`.
    pub async fn move_group(
        &self,
        enterprise_id: Uuid,
        id: Uuid,
        parent: Option<Uuid>,
    ) -> Result<Group> {
        let mut tx = self.begin().await?;
        tx.lock_enterprise(enterprise_id).await?;
        let row = group_row_in(&mut tx, enterprise_id, id).await?;
        if row.parent_id != parent {
            if let Some(parent) = parent {
                let chain = ancestry(&mut tx, enterprise_id, parent).await?;
                let height = subtree_height(&mut tx, id).await?;
                check_placement(Some(id), parent, &chain, height)?;
            }
            ensure_unique_name(&mut tx, enterprise_id, parent, &row.name, Some(id)).await?;
            let stmt = Query::update()
                .table(DeviceGroups::Table)
                .value(DeviceGroups::ParentId, parent)
                .value(DeviceGroups::UpdatedOn, now())
                .and_where(Expr::col(DeviceGroups::Id).eq(id))
                .to_owned();
            tx.execute(&stmt).await?;
        }
        tx.commit().await?;
        self.group(enterprise_id, id).await
    }

    /// Puts devices into the group (taking them out of whatever group held them).
    pub async fn add_group_devices(
        &self,
        enterprise_id: Uuid,
        id: Uuid,
        device_ids: &[Uuid],
    ) -> Result<Group> {
        let mut tx = self.begin().await?;
        tx.lock_enterprise(enterprise_id).await?;
        group_row_in(&mut tx, enterprise_id, id).await?;
        assign_devices(&mut tx, enterprise_id, device_ids, Some(id), None).await?;
        tx.commit().await?;
        self.group(enterprise_id, id).await
    }

    /// Takes devices out of the group; devices that are not in it are left alone.
    pub async fn remove_group_devices(
        &self,
        enterprise_id: Uuid,
        id: Uuid,
        device_ids: &[Uuid],
    ) -> Result<Group> {
        let mut tx = self.begin().await?;
        tx.lock_enterprise(enterprise_id).await?;
        group_row_in(&mut tx, enterprise_id, id).await?;
        assign_devices(&mut tx, enterprise_id, device_ids, None, Some(id)).await?;
        tx.commit().await?;
        self.group(enterprise_id, id).await
    }

    /// Deletes a group that has no sub-groups; its devices move up to its parent.
    pub async fn delete_group(&self, enterprise_id: Uuid, id: Uuid) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.lock_enterprise(enterprise_id).await?;
        let row = group_row_in(&mut tx, enterprise_id, id).await?;
        let children = Query::select()
            .expr(Expr::col(DeviceGroups::Id).count())
            .from(DeviceGroups::Table)
            .and_where(Expr::col(DeviceGroups::ParentId).eq(id))
            .to_owned();
        let n = tx.count(&children).await?;
        if n > 0 {
            return Err(Invalid::field(
                "group",
                format!("the group has {n} sub-group(s); delete or move them first"),
            )
            .into());
        }
        let devices = Query::update()
            .table(Devices::Table)
            .value(Devices::GroupId, row.parent_id)
            .value(Devices::UpdatedOn, now())
            .and_where(Expr::col(Devices::GroupId).eq(id))
            .to_owned();
        tx.execute(&devices).await?;
        tx.devices_changed(DeviceChange::Attributes);
        let stmt = Query::delete()
            .from_table(DeviceGroups::Table)
            .and_where(Expr::col(DeviceGroups::Id).eq(id))
            .to_owned();
        tx.execute(&stmt).await?;
        tx.commit().await
    }
}

#[derive(Iden, Clone, Copy)]
enum KeyAlias {
    Key,
    N,
}

fn path_of(id: Uuid, known: &HashMap<Uuid, (Option<Uuid>, String)>) -> String {
    let mut names = Vec::new();
    let mut at = Some(id);
    while let Some(current) = at {
        let Some((parent, name)) = known.get(&current) else {
            break;
        };
        names.push(name.as_str());
        at = *parent;
        if names.len() > MAX_DEPTH_BELOW_ROOT + 1 {
            break;
        }
    }
    names.reverse();
    names.join("/")
}

async fn group_row_in(tx: &mut Tx, enterprise_id: Uuid, id: Uuid) -> Result<GroupRow> {
    let stmt = select_rows()
        .and_where(Expr::col(DeviceGroups::Id).eq(id))
        .and_where(Expr::col(DeviceGroups::EnterpriseId).eq(enterprise_id))
        .to_owned();
    tx.fetch_optional(&stmt)
        .await?
        .ok_or(StoreError::NotFound("group"))
}

/// `group` and its ancestors up to the root, `group` first. A parent that is missing or in
/// another enterprise is a bad request, not a missing page.
async fn ancestry(tx: &mut Tx, enterprise_id: Uuid, group: Uuid) -> Result<Vec<Uuid>> {
    let mut chain = Vec::new();
    let mut at = Some(group);
    while let Some(current) = at {
        let row = match group_row_in(tx, enterprise_id, current).await {
            Err(StoreError::NotFound(_)) if chain.is_empty() => {
                return Err(Invalid::field(
                    "parent",
                    format!("no group {current} in this enterprise"),
                )
                .into());
            }
            other => other?,
        };
        chain.push(row.id);
        at = row.parent_id;
        if chain.len() > MAX_DEPTH_BELOW_ROOT + 1 {
            break;
        }
    }
    Ok(chain)
}

/// How many levels hang below `group` (0 for a leaf).
async fn subtree_height(tx: &mut Tx, group: Uuid) -> Result<usize> {
    let mut level = vec![group];
    let mut height = 0;
    while height <= MAX_DEPTH_BELOW_ROOT {
        let stmt = Query::select()
            .column(DeviceGroups::Id)
            .from(DeviceGroups::Table)
            .and_where(Expr::col(DeviceGroups::ParentId).is_in(level.clone()))
            .to_owned();
        let below: Vec<IdRow> = tx.fetch_all(&stmt).await?;
        if below.is_empty() {
            break;
        }
        level = below.into_iter().map(|r| r.id).collect();
        height += 1;
    }
    Ok(height)
}

#[derive(sqlx::FromRow)]
struct IdRow {
    id: Uuid,
}

/// Sibling names are unique (case-insensitively), so a name finds one group below a parent.
async fn ensure_unique_name(
    tx: &mut Tx,
    enterprise_id: Uuid,
    parent: Option<Uuid>,
    name: &str,
    except: Option<Uuid>,
) -> Result<()> {
    let mut stmt = Query::select();
    stmt.expr(Expr::col(DeviceGroups::Id).count())
        .from(DeviceGroups::Table)
        .and_where(Expr::col(DeviceGroups::EnterpriseId).eq(enterprise_id))
        .and_where(Expr::expr(Func::lower(Expr::col(DeviceGroups::Name))).eq(name.to_lowercase()));
    match parent {
        Some(p) => stmt.and_where(Expr::col(DeviceGroups::ParentId).eq(p)),
        None => stmt.and_where(Expr::col(DeviceGroups::ParentId).is_null()),
    };
    if let Some(id) = except {
        stmt.and_where(Expr::col(DeviceGroups::Id).ne(id));
    }
    if tx.count(&stmt).await? > 0 {
        return Err(Invalid::field(
            "name",
            format!("a group named {name:?} already exists at this level"),
        )
        .into());
    }
    Ok(())
}

/// Sets the group of `device_ids` to `to`; with `only_from`, only of devices now in that group.
/// Every id must be a device of the enterprise.
async fn assign_devices(
    tx: &mut Tx,
    enterprise_id: Uuid,
    device_ids: &[Uuid],
    to: Option<Uuid>,
    only_from: Option<Uuid>,
) -> Result<()> {
    if device_ids.is_empty() {
        return Ok(());
    }
    let mut wanted: Vec<Uuid> = device_ids.to_vec();
    wanted.sort();
    wanted.dedup();
    let stmt = Query::select()
        .column(Devices::Id)
        .from(Devices::Table)
        .and_where(Expr::col(Devices::EnterpriseId).eq(enterprise_id))
        .and_where(Expr::col(Devices::Id).is_in(wanted.clone()))
        .to_owned();
    let found: Vec<IdRow> = tx.fetch_all(&stmt).await?;
    if found.len() != wanted.len() {
        let found: std::collections::HashSet<Uuid> = found.into_iter().map(|r| r.id).collect();
        let missing: Vec<String> = wanted
            .iter()
            .filter(|id| !found.contains(id))
            .map(Uuid::to_string)
            .collect();
        return Err(Invalid::field(
            "device_ids",
            format!("no such device in this enterprise: {}", missing.join(", ")),
        )
        .into());
    }
    let mut update = Query::update();
    update
        .table(Devices::Table)
        .value(Devices::GroupId, to)
        .value(Devices::UpdatedOn, now())
        .and_where(Expr::col(Devices::EnterpriseId).eq(enterprise_id))
        .and_where(Expr::col(Devices::Id).is_in(wanted));
    if let Some(from) = only_from {
        update.and_where(Expr::col(Devices::GroupId).eq(from));
    }
    tx.execute(&update).await?;
    tx.devices_changed(DeviceChange::Attributes);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(escape_like("50%_off\\"), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn paths_join_names_from_the_root() {
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let known = HashMap::from([
            (a, (None, "Stores".to_string())),
            (b, (Some(a), "Berlin".to_string())),
            (c, (Some(b), "Tills".to_string())),
        ]);
        assert_eq!(path_of(c, &known), "Stores/Berlin/Tills");
        assert_eq!(path_of(a, &known), "Stores");
    }
}
