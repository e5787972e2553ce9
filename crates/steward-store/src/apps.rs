//! What is installed on each device, and the installs and removals observed over time.

use std::collections::HashMap;

use sea_query::{Expr, ExprTrait, Iden, Order, Query, SelectStatement};
use steward_core::pagination::PageRequest;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::Tx;
use crate::devices::DeviceIdentity;
use crate::events::{EventKind, insert_event};
use crate::groups::contains_pattern;
use crate::{Result, Store, StoreError, now};

#[derive(Iden, Clone, Copy)]
enum DeviceApps {
    Table,
    Id,
    EnterpriseId,
    DeviceId,
    PackageName,
    AppName,
    VersionName,
    VersionCode,
    CreatedOn,
    UpdatedOn,
}

const APP_COLUMNS: [DeviceApps; 9] = [
    DeviceApps::Id,
    DeviceApps::EnterpriseId,
    DeviceApps::DeviceId,
    DeviceApps::PackageName,
    DeviceApps::AppName,
    DeviceApps::VersionName,
    DeviceApps::VersionCode,
    DeviceApps::CreatedOn,
    DeviceApps::UpdatedOn,
];

#[derive(Iden, Clone, Copy)]
enum AppInstalls {
    Table,
    Id,
    EnterpriseId,
    DeviceId,
    ApplicationName,
    PackageName,
    VersionName,
    VersionCode,
    AppVersionId,
    InstallState,
    ReasonDetails,
    CreatedOn,
    UpdatedOn,
}

const INSTALL_COLUMNS: [AppInstalls; 12] = [
    AppInstalls::Id,
    AppInstalls::EnterpriseId,
    AppInstalls::DeviceId,
    AppInstalls::ApplicationName,
    AppInstalls::PackageName,
    AppInstalls::VersionName,
    AppInstalls::VersionCode,
    AppInstalls::AppVersionId,
    AppInstalls::InstallState,
    AppInstalls::ReasonDetails,
    AppInstalls::CreatedOn,
    AppInstalls::UpdatedOn,
];

/// An app (package) installed on a device.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DeviceApp {
    pub id: Uuid,
    pub enterprise_id: Uuid,
    pub device_id: Uuid,
    pub package_name: String,
    pub app_name: String,
    pub version_name: Option<String>,
    pub version_code: Option<String>,
    pub created_on: OffsetDateTime,
    pub updated_on: OffsetDateTime,
}

/// One package as the device reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedApp {
    pub package_name: String,
    pub app_name: String,
    pub version_name: Option<String>,
    pub version_code: Option<String>,
}

/// An install or removal on a device (Esper's AppInstall).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AppInstall {
    pub id: Uuid,
    pub enterprise_id: Uuid,
    pub device_id: Uuid,
    pub application_name: String,
    pub package_name: String,
    pub version_name: Option<String>,
    pub version_code: Option<String>,
    pub app_version_id: Option<Uuid>,
    /// Esper's AppInstallStateEnum: INSTALL_SUCCESS, UNINSTALL_SUCCESS, …
    pub install_state: String,
    pub reason_details: Option<String>,
    pub created_on: OffsetDateTime,
    pub updated_on: OffsetDateTime,
}

#[derive(Debug, Clone, Default)]
pub struct AppFilter {
    pub package_name: Option<String>,
    /// Part of the app name.
    pub search: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct InstallFilter {
    pub package_name: Option<String>,
    /// Part of the application name.
    pub application_name: Option<String>,
    pub install_state: Option<String>,
}

/// What a new app list changes: installs, upgrades and removals.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AppChanges {
    pub installed: usize,
    pub updated: usize,
    pub removed: usize,
}

fn select_apps(device_id: Uuid, f: &AppFilter) -> SelectStatement {
    let mut stmt = Query::select();
    stmt.from(DeviceApps::Table)
        .and_where(Expr::col(DeviceApps::DeviceId).eq(device_id));
    if let Some(p) = &f.package_name {
        stmt.and_where(Expr::col(DeviceApps::PackageName).eq(p.as_str()));
    }
    if let Some(s) = &f.search {
        stmt.and_where(
            Expr::expr(sea_query::Func::lower(Expr::col(DeviceApps::AppName)))
                .like(contains_pattern(s)),
        );
    }
    stmt
}

impl Store {
    /// Replaces the device's app list with the reported one. Changes after the first report
    /// are recorded as installs (INSTALL_SUCCESS) and removals (UNINSTALL_SUCCESS).
    pub async fn replace_apps(
        &self,
        device: DeviceIdentity,
        reported: &[ReportedApp],
    ) -> Result<AppChanges> {
        let mut tx = self.begin().await?;
        let changes = apps_in(&mut tx, device, reported).await?;
        tx.commit().await?;
        Ok(changes)
    }

    pub async fn device_apps(
        &self,
        enterprise_id: Uuid,
        device_id: Uuid,
        filter: &AppFilter,
        page: PageRequest,
    ) -> Result<(u64, Vec<DeviceApp>)> {
        self.device(enterprise_id, device_id).await?;
        let count = select_apps(device_id, filter)
            .expr(Expr::col(DeviceApps::Id).count())
            .to_owned();
        let total = self.count(&count).await?;
        let stmt = select_apps(device_id, filter)
            .columns(APP_COLUMNS)
            .order_by(DeviceApps::PackageName, Order::Asc)
            .limit(page.limit)
            .offset(page.offset)
            .to_owned();
        Ok((total, self.fetch_all(&stmt).await?))
    }

    pub async fn device_app(
        &self,
        enterprise_id: Uuid,
        device_id: Uuid,
        app_id: Uuid,
    ) -> Result<DeviceApp> {
        let stmt = Query::select()
            .columns(APP_COLUMNS)
            .from(DeviceApps::Table)
            .and_where(Expr::col(DeviceApps::Id).eq(app_id))
            .and_where(Expr::col(DeviceApps::DeviceId).eq(device_id))
            .and_where(Expr::col(DeviceApps::EnterpriseId).eq(enterprise_id))
            .to_owned();
        self.fetch_optional(&stmt)
            .await?
            .ok_or(StoreError::NotFound("app"))
    }

    pub async fn app_installs(
        &self,
        enterprise_id: Uuid,
        device_id: Uuid,
        filter: &InstallFilter,
        page: PageRequest,
    ) -> Result<(u64, Vec<AppInstall>)> {
        self.device(enterprise_id, device_id).await?;
        let mut base = Query::select();
        base.from(AppInstalls::Table)
            .and_where(Expr::col(AppInstalls::DeviceId).eq(device_id));
        if let Some(p) = &filter.package_name {
            base.and_where(Expr::col(AppInstalls::PackageName).eq(p.as_str()));
        }
        if let Some(n) = &filter.application_name {
            base.and_where(
                Expr::expr(sea_query::Func::lower(Expr::col(
                    AppInstalls::ApplicationName,
                )))
                .like(contains_pattern(n)),
            );
        }
        if let Some(s) = &filter.install_state {
            base.and_where(Expr::col(AppInstalls::InstallState).eq(s.as_str()));
        }
        let count = base
            .clone()
            .expr(Expr::col(AppInstalls::Id).count())
            .to_owned();
        let total = self.count(&count).await?;
        let stmt = base
            .columns(INSTALL_COLUMNS)
            .order_by(AppInstalls::CreatedOn, Order::Desc)
            .order_by(AppInstalls::Id, Order::Desc)
            .limit(page.limit)
            .offset(page.offset)
            .to_owned();
        Ok((total, self.fetch_all(&stmt).await?))
    }
}

async fn record_install(
    tx: &mut Tx,
    device: DeviceIdentity,
    app: &ReportedApp,
    state: &str,
    at: OffsetDateTime,
) -> Result<()> {
    let stmt = Query::insert()
        .into_table(AppInstalls::Table)
        .columns(INSTALL_COLUMNS)
        .values_panic([
            Uuid::now_v7().into(),
            device.enterprise_id.into(),
            device.id.into(),
            app.app_name.clone().into(),
            app.package_name.clone().into(),
            app.version_name.clone().into(),
            app.version_code.clone().into(),
            Option::<Uuid>::None.into(),
            state.into(),
            Option::<String>::None.into(),
            at.into(),
            at.into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    let kind = if state == "UNINSTALL_SUCCESS" {
        EventKind::AppRemoved
    } else {
        EventKind::AppInstalled
    };
    insert_event(
        tx,
        device.enterprise_id,
        device.id,
        kind,
        serde_json::json!({"package_name": app.package_name, "version_name": app.version_name}),
    )
    .await
}

/// Replaces the device's app list with the reported one, in a transaction.
pub(crate) async fn apps_in(
    tx: &mut Tx,
    device: DeviceIdentity,
    reported: &[ReportedApp],
) -> Result<AppChanges> {
    let existing: Vec<DeviceApp> = tx
        .fetch_all(
            &select_apps(device.id, &AppFilter::default())
                .columns(APP_COLUMNS)
                .to_owned(),
        )
        .await?;
    let first_report = existing.is_empty();
    let mut by_package: HashMap<&str, &DeviceApp> = existing
        .iter()
        .map(|a| (a.package_name.as_str(), a))
        .collect();
    let unchanged = reported.len() == existing.len()
        && reported.iter().all(|app| {
            by_package
                .get(app.package_name.as_str())
                .is_some_and(|old| {
                    old.version_name == app.version_name
                        && old.version_code == app.version_code
                        && old.app_name == app.app_name
                })
        });
    if unchanged {
        // The usual case on every reconnect: nothing to write.
        return Ok(AppChanges::default());
    }
    let mut changes = AppChanges::default();
    let at = now();
    let mut new_rows = Vec::new();
    for app in reported {
        match by_package.remove(app.package_name.as_str()) {
            None => {
                new_rows.push(app);
                changes.installed += 1;
                if !first_report {
                    record_install(tx, device, app, "INSTALL_SUCCESS", at).await?;
                }
            }
            Some(old)
                if old.version_name != app.version_name
                    || old.version_code != app.version_code
                    || old.app_name != app.app_name =>
            {
                let stmt = Query::update()
                    .table(DeviceApps::Table)
                    .value(DeviceApps::AppName, app.app_name.as_str())
                    .value(DeviceApps::VersionName, app.version_name.clone())
                    .value(DeviceApps::VersionCode, app.version_code.clone())
                    .value(DeviceApps::UpdatedOn, at)
                    .and_where(Expr::col(DeviceApps::Id).eq(old.id))
                    .to_owned();
                tx.execute(&stmt).await?;
                changes.updated += 1;
                if old.version_name != app.version_name || old.version_code != app.version_code {
                    record_install(tx, device, app, "INSTALL_SUCCESS", at).await?;
                }
            }
            Some(_) => {}
        }
    }
    for chunk in new_rows.chunks(200) {
        let mut stmt = Query::insert();
        stmt.into_table(DeviceApps::Table).columns(APP_COLUMNS);
        for app in chunk {
            stmt.values_panic([
                Uuid::now_v7().into(),
                device.enterprise_id.into(),
                device.id.into(),
                app.package_name.clone().into(),
                app.app_name.clone().into(),
                app.version_name.clone().into(),
                app.version_code.clone().into(),
                at.into(),
                at.into(),
            ]);
        }
        tx.execute(&stmt).await?;
    }
    let gone: Vec<&DeviceApp> = by_package.into_values().collect();
    for app in &gone {
        let removed = ReportedApp {
            package_name: app.package_name.clone(),
            app_name: app.app_name.clone(),
            version_name: app.version_name.clone(),
            version_code: app.version_code.clone(),
        };
        record_install(tx, device, &removed, "UNINSTALL_SUCCESS", at).await?;
    }
    for chunk in gone.chunks(500) {
        let stmt = Query::delete()
            .from_table(DeviceApps::Table)
            .and_where(Expr::col(DeviceApps::Id).is_in(chunk.iter().map(|a| a.id)))
            .to_owned();
        tx.execute(&stmt).await?;
    }
    changes.removed = gone.len();
    Ok(changes)
}
