//! Devices: enrolment, credentials, presence, inventory, and the device list with its filters.

use std::collections::HashMap;

use sea_query::{Asterisk, Cond, Expr, ExprTrait, Func, Iden, Order, Query, SelectStatement};
use steward_core::pagination::PageRequest;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::Tx;
use crate::device_counts::{Counted, DeviceChange};
use crate::enrollment::consume_enrollment_token;
use crate::events::{EventKind, insert_event};
use crate::groups::contains_pattern;
use crate::keys::hash_secret;
use crate::reports::DeviceReport;
use crate::{Result, Store, StoreError, now};

/// Esper's device state codes that Steward sets.
pub mod state {
    /// Connected to a server.
    pub const ACTIVE: i32 = 1;
    /// Not heard from for longer than the configured silence.
    pub const INACTIVE: i32 = 60;
}

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
    Status,
    Serial,
    Imei,
    Brand,
    Model,
    Platform,
    OsVersion,
    AgentVersion,
    ApiLevel,
    IsGms,
    Tags,
    HardwareInfo,
    SoftwareInfo,
    NetworkInfo,
    MemoryInfo,
    Displays,
    Telemetry,
    BatteryLevel,
    LastSeen,
    ProvisionedOn,
    TokenHash,
    EnrollmentTokenId,
}

const COLUMNS: [Devices; 28] = [
    Devices::Id,
    Devices::EnterpriseId,
    Devices::GroupId,
    Devices::DeviceName,
    Devices::AliasName,
    Devices::CreatedOn,
    Devices::UpdatedOn,
    Devices::Status,
    Devices::Serial,
    Devices::Imei,
    Devices::Brand,
    Devices::Model,
    Devices::Platform,
    Devices::OsVersion,
    Devices::AgentVersion,
    Devices::ApiLevel,
    Devices::IsGms,
    Devices::Tags,
    Devices::HardwareInfo,
    Devices::SoftwareInfo,
    Devices::NetworkInfo,
    Devices::MemoryInfo,
    Devices::Displays,
    Devices::Telemetry,
    Devices::BatteryLevel,
    Devices::LastSeen,
    Devices::ProvisionedOn,
    Devices::EnrollmentTokenId,
];

/// A stored device. The JSON columns hold what the agent reported, as JSON text.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Device {
    pub id: Uuid,
    pub enterprise_id: Uuid,
    pub group_id: Option<Uuid>,
    pub device_name: String,
    pub alias_name: Option<String>,
    pub created_on: OffsetDateTime,
    pub updated_on: OffsetDateTime,
    /// Esper's device state code (see [`state`]).
    pub status: i32,
    pub serial: Option<String>,
    pub imei: Option<String>,
    pub brand: Option<String>,
    pub model: Option<String>,
    pub platform: String,
    pub os_version: Option<String>,
    pub agent_version: Option<String>,
    pub api_level: Option<i32>,
    pub is_gms: bool,
    /// JSON array of strings.
    pub tags: String,
    pub hardware_info: String,
    pub software_info: String,
    pub network_info: String,
    pub memory_info: String,
    pub displays: String,
    /// The latest telemetry reading, JSON.
    pub telemetry: Option<String>,
    pub battery_level: Option<f64>,
    pub last_seen: Option<OffsetDateTime>,
    pub provisioned_on: Option<OffsetDateTime>,
    pub enrollment_token_id: Option<Uuid>,
}

impl Device {
    pub fn tag_list(&self) -> Vec<String> {
        serde_json::from_str(&self.tags).unwrap_or_default()
    }
}

/// What a device says about itself at enrolment.
#[derive(Debug, Clone, Default)]
pub struct Enrollment {
    pub device_name: String,
    pub serial: Option<String>,
    pub imei: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub platform: Option<String>,
}

/// A device's identity as its credential proves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct DeviceIdentity {
    pub id: Uuid,
    pub enterprise_id: Uuid,
}

/// The columns an inventory report sets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct InventoryUpdate {
    pub serial: Option<String>,
    pub imei: Option<String>,
    pub brand: Option<String>,
    pub model: Option<String>,
    pub platform: Option<String>,
    pub os_version: Option<String>,
    pub agent_version: Option<String>,
    pub api_level: Option<i32>,
    pub hardware_info: String,
    pub software_info: String,
    pub network_info: String,
    pub memory_info: String,
    pub displays: String,
}

/// Filters of the device list (Esper's query parameters).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct DeviceFilter {
    /// Part of the name; an exact match first.
    pub name: Option<String>,
    pub group: Option<Uuid>,
    pub imei: Option<String>,
    pub serial: Option<String>,
    pub state: Option<i32>,
    pub brand: Option<String>,
    pub is_gms: Option<bool>,
    /// Part of the name, alias, serial, IMEI or a MAC address.
    pub search: Option<String>,
    /// Part of any tag.
    pub tags: Option<String>,
    /// `LINUX`, `ANDROID`, …
    pub platform: Option<String>,
    /// Devices seen after / before.
    pub last_seen_after: Option<OffsetDateTime>,
    pub last_seen_before: Option<OffsetDateTime>,
}

/// A new device credential: `dev_` and 32 random bytes in hex.
fn new_device_secret() -> String {
    use rand::Rng;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("dev_{}", hex::encode(bytes))
}

fn lower_like(column: Devices, text: &str) -> Expr {
    Expr::expr(Func::lower(Expr::col(column))).like(contains_pattern(text))
}

fn lower_eq(column: Devices, text: &str) -> Expr {
    Expr::expr(Func::lower(Expr::col(column))).eq(text.to_lowercase())
}

/// The name filter's other matches (a device without an alias is not an exact match).
fn not_exact_name(name: &str) -> Cond {
    let lower = name.to_lowercase();
    Cond::all()
        .add(Expr::expr(Func::lower(Expr::col(Devices::DeviceName))).ne(lower.clone()))
        .add(
            Cond::any()
                .add(Expr::col(Devices::AliasName).is_null())
                .add(Expr::expr(Func::lower(Expr::col(Devices::AliasName))).ne(lower)),
        )
}

fn apply_filter(stmt: &mut SelectStatement, enterprise_id: Uuid, f: &DeviceFilter) {
    stmt.and_where(Expr::col(Devices::EnterpriseId).eq(enterprise_id));
    if let Some(name) = &f.name {
        stmt.and_where(
            Cond::any()
                .add(lower_like(Devices::DeviceName, name))
                .add(lower_like(Devices::AliasName, name))
                .into(),
        );
    }
    if let Some(g) = f.group {
        stmt.and_where(Expr::col(Devices::GroupId).eq(g));
    }
    if let Some(imei) = &f.imei {
        stmt.and_where(Expr::col(Devices::Imei).eq(imei.as_str()));
    }
    if let Some(serial) = &f.serial {
        stmt.and_where(Expr::col(Devices::Serial).eq(serial.as_str()));
    }
    if let Some(s) = f.state {
        stmt.and_where(Expr::col(Devices::Status).eq(s));
    }
    if let Some(brand) = &f.brand {
        stmt.and_where(lower_eq(Devices::Brand, brand));
    }
    if let Some(gms) = f.is_gms {
        stmt.and_where(Expr::col(Devices::IsGms).eq(gms));
    }
    if let Some(search) = &f.search {
        stmt.and_where(
            Cond::any()
                .add(lower_like(Devices::DeviceName, search))
                .add(lower_like(Devices::AliasName, search))
                .add(lower_like(Devices::Serial, search))
                .add(lower_like(Devices::Imei, search))
                .add(lower_like(Devices::NetworkInfo, search))
                .into(),
        );
    }
    if let Some(tags) = &f.tags {
        stmt.and_where(lower_like(Devices::Tags, tags));
    }
    if let Some(p) = &f.platform {
        stmt.and_where(Expr::col(Devices::Platform).eq(p.to_ascii_uppercase()));
    }
    if let Some(t) = f.last_seen_after {
        stmt.and_where(Expr::col(Devices::LastSeen).gt(t));
    }
    if let Some(t) = f.last_seen_before {
        stmt.and_where(Expr::col(Devices::LastSeen).lt(t));
    }
}

fn select_devices() -> SelectStatement {
    Query::select()
        .columns(COLUMNS)
        .from(Devices::Table)
        .to_owned()
}

impl Store {
    /// Registers a device directly (admin and tests); devices normally enrol with a token.
    pub async fn create_device(
        &self,
        enterprise_id: Uuid,
        device_name: &str,
        group_id: Option<Uuid>,
    ) -> Result<Device> {
        if let Some(g) = group_id {
            self.group_row(enterprise_id, g).await?;
        }
        let mut tx = self.begin().await?;
        let id = insert_device(
            &mut tx,
            enterprise_id,
            group_id,
            &Enrollment {
                device_name: device_name.to_string(),
                ..Enrollment::default()
            },
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        self.device(enterprise_id, id).await
    }

    /// Enrols a device with an enrolment token; returns the device and its new credential.
    /// The token's use is counted in the same transaction, so a limit holds under races.
    pub async fn enroll_device(
        &self,
        token_secret: &str,
        enrollment: &Enrollment,
    ) -> Result<(Device, String)> {
        let mut tx = self.begin().await?;
        let token = consume_enrollment_token(&mut tx, token_secret).await?;
        let secret = new_device_secret();
        let id = insert_device(
            &mut tx,
            token.enterprise_id,
            token.group_id,
            enrollment,
            Some(hash_secret(&secret)),
            Some(token.id),
        )
        .await?;
        insert_event(
            &mut tx,
            token.enterprise_id,
            id,
            EventKind::Enrolled,
            serde_json::json!({"enrollment_token": token.id, "group": token.group_id}),
        )
        .await?;
        tx.commit().await?;
        Ok((self.device(token.enterprise_id, id).await?, secret))
    }

    /// The device whose credential this is, if any.
    pub async fn authenticate_device(&self, secret: &str) -> Result<Option<DeviceIdentity>> {
        let stmt = Query::select()
            .columns([Devices::Id, Devices::EnterpriseId])
            .from(Devices::Table)
            .and_where(Expr::col(Devices::TokenHash).eq(hash_secret(secret)))
            .to_owned();
        self.fetch_optional(&stmt).await
    }

    pub async fn device(&self, enterprise_id: Uuid, id: Uuid) -> Result<Device> {
        let stmt = select_devices()
            .and_where(Expr::col(Devices::Id).eq(id))
            .and_where(Expr::col(Devices::EnterpriseId).eq(enterprise_id))
            .to_owned();
        self.fetch_optional(&stmt)
            .await?
            .ok_or(StoreError::NotFound("device"))
    }

    /// A page of the enterprise's devices and the number that match. The count comes from a
    /// short-lived cache (see `device_counts`), and with it, when there are few matches, the
    /// ids of all of them in list order: a page of a rare match is then read by id instead of
    /// walking the enterprise to find it. Otherwise the page never reads past the last match
    /// counted.
    pub async fn devices(
        &self,
        enterprise_id: Uuid,
        filter: &DeviceFilter,
        page: PageRequest,
    ) -> Result<(u64, Vec<Device>)> {
        let counted = self
            .device_counts
            .get_or(enterprise_id, filter, || {
                self.count_devices(enterprise_id, filter)
            })
            .await?;
        let total = counted.count;
        let page = PageRequest {
            limit: Ord::min(page.limit, total.saturating_sub(page.offset)),
            offset: page.offset,
        };
        if page.limit == 0 {
            return Ok((total, Vec::new()));
        }
        if let Some(matches) = &counted.matches {
            let on_page = page.slice(matches);
            return Ok((
                total,
                self.devices_by_id(enterprise_id, filter, on_page).await?,
            ));
        }
        let devices = match &filter.name {
            Some(name) => {
                let wanted = page.offset.saturating_add(page.limit);
                let looked_up;
                let exact: &[Uuid] = match &counted.exact_names {
                    Some(kept) => kept,
                    None => {
                        looked_up = self
                            .exact_name_matches(enterprise_id, filter, name, wanted)
                            .await?;
                        &looked_up
                    }
                };
                self.devices_named(enterprise_id, filter, name, exact, page)
                    .await?
            }
            None => {
                let mut stmt = select_devices();
                apply_filter(&mut stmt, enterprise_id, filter);
                stmt.order_by(Devices::Id, Order::Asc)
                    .limit(page.limit)
                    .offset(page.offset);
                self.fetch_all(&stmt).await?
            }
        };
        Ok((total, devices))
    }

    /// How many devices match, with the ids of all of them in list order when they are at
    /// most `KEPT_MATCHES`, or else of a name filter's exact matches when those are.
    async fn count_devices(&self, enterprise_id: Uuid, filter: &DeviceFilter) -> Result<Counted> {
        let kept = self
            .device_counts
            .kept_matches
            .load(std::sync::atomic::Ordering::Relaxed);
        let mut ids = Query::select();
        ids.column(Devices::Id).from(Devices::Table);
        apply_filter(&mut ids, enterprise_id, filter);
        ids.order_by(Devices::Id, Order::Asc).limit(kept + 1);
        let mut found: Vec<Uuid> = self
            .fetch_all::<(Uuid,)>(&ids)
            .await?
            .into_iter()
            .map(|(id,)| id)
            .collect();
        let exact = match &filter.name {
            Some(name) => Some(
                self.exact_name_matches(enterprise_id, filter, name, kept + 1)
                    .await?,
            ),
            None => None,
        };
        if found.len() as u64 <= kept {
            // All of them: a name filter lists its exact matches first.
            if let Some(exact) = &exact {
                found.retain(|id| exact.binary_search(id).is_err());
                found.splice(0..0, exact.iter().copied());
            }
            return Ok(Counted {
                count: found.len() as u64,
                matches: Some(found.into()),
                exact_names: None,
            });
        }
        let mut count = Query::select();
        count.expr(Expr::col(Asterisk).count()).from(Devices::Table);
        apply_filter(&mut count, enterprise_id, filter);
        Ok(Counted {
            count: self.count(&count).await?,
            matches: None,
            exact_names: exact.filter(|e| e.len() as u64 <= kept).map(Into::into),
        })
    }

    /// The devices with these ids that still match `filter`, in the order of `ids`.
    async fn devices_by_id(
        &self,
        enterprise_id: Uuid,
        filter: &DeviceFilter,
        ids: &[Uuid],
    ) -> Result<Vec<Device>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut stmt = select_devices();
        apply_filter(&mut stmt, enterprise_id, filter);
        stmt.and_where(Expr::col(Devices::Id).is_in(ids.iter().copied()));
        let mut devices: Vec<Device> = self.fetch_all(&stmt).await?;
        let position: HashMap<Uuid, usize> =
            ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        devices.sort_by_key(|d| position.get(&d.id).copied().unwrap_or(usize::MAX));
        Ok(devices)
    }

    /// Keeps the ids of at most `n` matches with a count (tests of the list's other path).
    #[cfg(feature = "testing")]
    pub fn keep_device_matches(&self, n: u64) {
        self.device_counts
            .kept_matches
            .store(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// The ids of the name filter's exact matches (name or alias), in id order, at most
    /// `limit`: each of the two columns in id order on its own index (one query with OR leads
    /// the planners to walk the whole enterprise).
    async fn exact_name_matches(
        &self,
        enterprise_id: Uuid,
        filter: &DeviceFilter,
        name: &str,
        limit: u64,
    ) -> Result<Vec<Uuid>> {
        let mut exact: Vec<Uuid> = Vec::new();
        for column in [Devices::DeviceName, Devices::AliasName] {
            let mut ids = Query::select();
            ids.column(Devices::Id).from(Devices::Table);
            apply_filter(&mut ids, enterprise_id, filter);
            ids.and_where(lower_eq(column, name))
                .order_by(Devices::Id, Order::Asc)
                .limit(limit);
            let rows: Vec<(Uuid,)> = self.fetch_all(&ids).await?;
            exact.extend(rows.into_iter().map(|(id,)| id));
        }
        exact.sort_unstable();
        exact.dedup();
        exact.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(exact)
    }

    /// A page of the name filter's matches: the exact ones first (`exact`: all of them, or at
    /// least those up to the end of this page), then the partial ones, each in id order.
    /// Ordered reads on indexes instead of sorting every match.
    async fn devices_named(
        &self,
        enterprise_id: Uuid,
        filter: &DeviceFilter,
        name: &str,
        exact: &[Uuid],
        page: PageRequest,
    ) -> Result<Vec<Device>> {
        let wanted = page.offset.saturating_add(page.limit);
        let exact = &exact[..exact
            .len()
            .min(usize::try_from(wanted).unwrap_or(usize::MAX))];
        // Complete when shorter than `wanted`: then the partial matches start after it.
        let exact_total = exact.len() as u64;
        let mut devices = self
            .devices_by_id(enterprise_id, filter, page.slice(exact))
            .await?;
        let found = devices.len() as u64;
        if found >= page.limit {
            return Ok(devices);
        }
        let mut partial = select_devices();
        apply_filter(&mut partial, enterprise_id, filter);
        partial
            .cond_where(not_exact_name(name))
            .order_by(Devices::Id, Order::Asc)
            .limit(page.limit - found)
            .offset((page.offset + found).saturating_sub(exact_total));
        devices.extend(self.fetch_all::<Device>(&partial).await?);
        Ok(devices)
    }

    /// Changes the alias and/or the tags.
    pub async fn update_device(
        &self,
        enterprise_id: Uuid,
        id: Uuid,
        alias_name: Option<Option<String>>,
        tags: Option<Vec<String>>,
    ) -> Result<Device> {
        let mut stmt = Query::update();
        stmt.table(Devices::Table)
            .value(Devices::UpdatedOn, now())
            .and_where(Expr::col(Devices::Id).eq(id))
            .and_where(Expr::col(Devices::EnterpriseId).eq(enterprise_id));
        if let Some(alias) = alias_name {
            stmt.value(Devices::AliasName, alias);
        }
        if let Some(tags) = tags {
            let text = serde_json::to_string(&tags).unwrap_or_else(|_| "[]".into());
            stmt.value(Devices::Tags, text);
        }
        let changed = self.execute(&stmt).await?;
        self.devices_changed(DeviceChange::Attributes);
        if changed == 0 {
            return Err(StoreError::NotFound("device"));
        }
        self.device(enterprise_id, id).await
    }

    /// Deletes a device and everything recorded about it; its credential stops working.
    pub async fn delete_device(&self, enterprise_id: Uuid, id: Uuid) -> Result<()> {
        let stmt = Query::delete()
            .from_table(Devices::Table)
            .and_where(Expr::col(Devices::Id).eq(id))
            .and_where(Expr::col(Devices::EnterpriseId).eq(enterprise_id))
            .to_owned();
        let deleted = self.execute(&stmt).await?;
        self.devices_changed(DeviceChange::Membership);
        if deleted == 0 {
            return Err(StoreError::NotFound("device"));
        }
        Ok(())
    }

    /// A device's socket opened: it is ACTIVE and seen now.
    pub async fn device_connected(&self, device: DeviceIdentity, at: OffsetDateTime) -> Result<()> {
        self.apply_reports(&[DeviceReport::Connected { device, at }])
            .await
    }

    /// A device's socket closed: it was seen now; it turns INACTIVE only after the silence.
    pub async fn device_disconnected(
        &self,
        device: DeviceIdentity,
        at: OffsetDateTime,
    ) -> Result<()> {
        self.apply_reports(&[DeviceReport::Disconnected { device, at }])
            .await
    }

    /// Marks connected devices as seen now (and ACTIVE), in batches.
    pub async fn touch_devices(&self, ids: &[Uuid], at: OffsetDateTime) -> Result<()> {
        for chunk in ids.chunks(500) {
            let stmt = Query::update()
                .table(Devices::Table)
                .value(Devices::LastSeen, at)
                .value(Devices::Status, state::ACTIVE)
                .and_where(Expr::col(Devices::Id).is_in(chunk.iter().copied()))
                .to_owned();
            self.execute(&stmt).await?;
            self.devices_changed(DeviceChange::Attributes);
        }
        Ok(())
    }

    /// Turns ACTIVE devices not seen since `silent_since` INACTIVE; returns them.
    pub async fn mark_inactive(&self, silent_since: OffsetDateTime) -> Result<Vec<DeviceIdentity>> {
        let mut tx = self.begin().await?;
        let find = Query::select()
            .columns([Devices::Id, Devices::EnterpriseId])
            .from(Devices::Table)
            .and_where(Expr::col(Devices::Status).eq(state::ACTIVE))
            .and_where(
                Cond::any()
                    .add(Expr::col(Devices::LastSeen).lt(silent_since))
                    .add(Expr::col(Devices::LastSeen).is_null())
                    .into(),
            )
            .limit(5000)
            .to_owned();
        let silent: Vec<DeviceIdentity> = tx.fetch_all(&find).await?;
        if !silent.is_empty() {
            tx.devices_changed(DeviceChange::Attributes);
        }
        for chunk in silent.chunks(500) {
            let stmt = Query::update()
                .table(Devices::Table)
                .value(Devices::Status, state::INACTIVE)
                .and_where(Expr::col(Devices::Id).is_in(chunk.iter().map(|d| d.id)))
                .and_where(Expr::col(Devices::Status).eq(state::ACTIVE))
                .to_owned();
            tx.execute(&stmt).await?;
            for d in chunk {
                insert_event(
                    &mut tx,
                    d.enterprise_id,
                    d.id,
                    EventKind::Inactive,
                    serde_json::json!({}),
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(silent)
    }

    /// Stores an inventory report; records an event when anything changed.
    pub async fn update_inventory(
        &self,
        device: DeviceIdentity,
        inv: InventoryUpdate,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let changed = inventory_in(&mut tx, device, inv).await?;
        tx.commit().await?;
        Ok(changed)
    }
}

async fn insert_device(
    tx: &mut Tx,
    enterprise_id: Uuid,
    group_id: Option<Uuid>,
    e: &Enrollment,
    token_hash: Option<String>,
    enrollment_token_id: Option<Uuid>,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    let at = now();
    let platform = e.platform.clone().unwrap_or_else(|| "LINUX".to_string());
    let stmt = Query::insert()
        .into_table(Devices::Table)
        .columns([
            Devices::Id,
            Devices::EnterpriseId,
            Devices::GroupId,
            Devices::DeviceName,
            Devices::Serial,
            Devices::Imei,
            Devices::Brand,
            Devices::Model,
            Devices::Platform,
            Devices::IsGms,
            Devices::TokenHash,
            Devices::EnrollmentTokenId,
            Devices::CreatedOn,
            Devices::UpdatedOn,
        ])
        .values_panic([
            id.into(),
            enterprise_id.into(),
            group_id.into(),
            e.device_name.clone().into(),
            e.serial.clone().into(),
            e.imei.clone().into(),
            e.manufacturer.clone().into(),
            e.model.clone().into(),
            platform.into(),
            false.into(),
            token_hash.into(),
            enrollment_token_id.into(),
            at.into(),
            at.into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    tx.devices_changed(DeviceChange::Membership);
    Ok(id)
}

pub(crate) async fn connected_in(
    tx: &mut Tx,
    device: DeviceIdentity,
    at: OffsetDateTime,
) -> Result<()> {
    let stmt = Query::update()
        .table(Devices::Table)
        .value(Devices::Status, state::ACTIVE)
        .value(Devices::LastSeen, at)
        .value(
            Devices::ProvisionedOn,
            Expr::expr(Func::coalesce([
                Expr::col(Devices::ProvisionedOn),
                Expr::val(at),
            ])),
        )
        .and_where(Expr::col(Devices::Id).eq(device.id))
        .to_owned();
    tx.execute(&stmt).await?;
    tx.devices_changed(DeviceChange::Attributes);
    insert_event(
        tx,
        device.enterprise_id,
        device.id,
        EventKind::Connected,
        serde_json::json!({}),
    )
    .await
}

pub(crate) async fn disconnected_in(
    tx: &mut Tx,
    device: DeviceIdentity,
    at: OffsetDateTime,
) -> Result<()> {
    let stmt = Query::update()
        .table(Devices::Table)
        .value(Devices::LastSeen, at)
        .and_where(Expr::col(Devices::Id).eq(device.id))
        .to_owned();
    tx.execute(&stmt).await?;
    insert_event(
        tx,
        device.enterprise_id,
        device.id,
        EventKind::Disconnected,
        serde_json::json!({}),
    )
    .await
}

/// Stores an inventory report if it differs from the stored one; true if it did.
pub(crate) async fn inventory_in(
    tx: &mut Tx,
    device: DeviceIdentity,
    inv: InventoryUpdate,
) -> Result<bool> {
    let find = select_devices()
        .and_where(Expr::col(Devices::Id).eq(device.id))
        .to_owned();
    let current: Device = tx
        .fetch_optional(&find)
        .await?
        .ok_or(StoreError::NotFound("device"))?;
    let changed = current.hardware_info != inv.hardware_info
        || current.software_info != inv.software_info
        || current.network_info != inv.network_info
        || current.memory_info != inv.memory_info
        || current.displays != inv.displays;
    if !changed {
        return Ok(false);
    }
    let mut stmt = Query::update();
    stmt.table(Devices::Table)
        .value(Devices::HardwareInfo, inv.hardware_info)
        .value(Devices::SoftwareInfo, inv.software_info)
        .value(Devices::NetworkInfo, inv.network_info)
        .value(Devices::MemoryInfo, inv.memory_info)
        .value(Devices::Displays, inv.displays)
        .value(Devices::Serial, inv.serial.or(current.serial))
        .value(Devices::Imei, inv.imei.or(current.imei))
        .value(Devices::Brand, inv.brand.or(current.brand))
        .value(Devices::Model, inv.model.or(current.model))
        .value(Devices::OsVersion, inv.os_version)
        .value(Devices::AgentVersion, inv.agent_version)
        .value(Devices::ApiLevel, inv.api_level)
        .value(Devices::UpdatedOn, now())
        .and_where(Expr::col(Devices::Id).eq(device.id));
    if let Some(p) = inv.platform {
        stmt.value(Devices::Platform, p);
    }
    tx.execute(&stmt).await?;
    tx.devices_changed(DeviceChange::Attributes);
    insert_event(
        tx,
        device.enterprise_id,
        device.id,
        EventKind::InventoryChanged,
        serde_json::json!({}),
    )
    .await?;
    Ok(true)
}

/// Stores the latest telemetry on the device row (the status event is written apart).
pub(crate) async fn set_latest_telemetry(
    tx: &mut Tx,
    device: DeviceIdentity,
    telemetry_json: &str,
    battery_level: Option<f64>,
) -> Result<()> {
    let stmt = Query::update()
        .table(Devices::Table)
        .value(Devices::Telemetry, telemetry_json)
        .value(Devices::BatteryLevel, battery_level)
        .and_where(Expr::col(Devices::Id).eq(device.id))
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}
