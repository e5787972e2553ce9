//! What is installed on each device, and the installs and removals observed over time.

use std::collections::HashMap;

use sea_query::{Expr, ExprTrait, Iden, Order, Query, SelectStatement};
use serde_json::Value;
use steward_core::command_state::CommandState;
use steward_core::pagination::PageRequest;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::commands::{CommandRequest, CommandStatuses};
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
    /// The command row (INSTALL, UNINSTALL on one device) this install follows, if any.
    CommandStatusId,
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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
    // Packages a command is installing or removing: that command's row records the change.
    let by_command = packages_in_progress(tx, device.id).await?;
    let mut new_rows = Vec::new();
    for app in reported {
        match by_package.remove(app.package_name.as_str()) {
            None => {
                new_rows.push(app);
                changes.installed += 1;
                if !first_report && !by_command.contains(&app.package_name) {
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
                if (old.version_name != app.version_name || old.version_code != app.version_code)
                    && !by_command.contains(&app.package_name)
                {
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
    for app in gone
        .iter()
        .filter(|a| !by_command.contains(&a.package_name))
    {
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

/// Install rows of commands still under way.
const INSTALLING: &str = "INSTALL_IN_PROGRESS";
const UNINSTALLING: &str = "UNINSTALL_IN_PROGRESS";

/// The packages of a device that a command is installing or removing now.
async fn packages_in_progress(
    tx: &mut Tx,
    device_id: Uuid,
) -> Result<std::collections::HashSet<String>> {
    let stmt = Query::select()
        .column(AppInstalls::PackageName)
        .from(AppInstalls::Table)
        .and_where(Expr::col(AppInstalls::InstallState).is_in([INSTALLING, UNINSTALLING]))
        .and_where(Expr::col(AppInstalls::DeviceId).eq(device_id))
        .to_owned();
    let rows: Vec<(String,)> = tx.fetch_all(&stmt).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Records that an INSTALL or UNINSTALL request was sent to devices (`(status id, device id)`):
/// one row in progress per device, following the command's row. A RECURRING request that
/// tries again puts its row back in progress. Other commands record nothing.
pub(crate) async fn installs_sent(
    tx: &mut Tx,
    request: &CommandRequest,
    sent: &[(Uuid, Uuid)],
) -> Result<()> {
    let state = match request.command.as_str() {
        "INSTALL" => INSTALLING,
        "UNINSTALL" => UNINSTALLING,
        _ => return Ok(()),
    };
    if sent.is_empty() {
        return Ok(());
    }
    let args = request.args();
    let text = |k: &str| {
        args.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let package = text("package_name").unwrap_or_default();
    let name = text("application_name").unwrap_or_else(|| package.clone());
    let version_id = text("app_version").and_then(|s| s.parse::<Uuid>().ok());
    let at = now();
    let again = Query::select()
        .column(AppInstalls::CommandStatusId)
        .from(AppInstalls::Table)
        .and_where(Expr::col(AppInstalls::CommandStatusId).is_in(sent.iter().map(|s| s.0)))
        .to_owned();
    let again: std::collections::HashSet<Uuid> = tx
        .fetch_all::<(Uuid,)>(&again)
        .await?
        .into_iter()
        .map(|r| r.0)
        .collect();
    if !again.is_empty() {
        let stmt = Query::update()
            .table(AppInstalls::Table)
            .value(AppInstalls::InstallState, state)
            .value(AppInstalls::ReasonDetails, Option::<String>::None)
            .value(AppInstalls::UpdatedOn, at)
            .and_where(Expr::col(AppInstalls::CommandStatusId).is_in(again.iter().copied()))
            .to_owned();
        tx.execute(&stmt).await?;
    }
    let fresh: Vec<&(Uuid, Uuid)> = sent.iter().filter(|s| !again.contains(&s.0)).collect();
    for chunk in fresh.chunks(200) {
        let mut stmt = Query::insert();
        stmt.into_table(AppInstalls::Table).columns(
            INSTALL_COLUMNS
                .into_iter()
                .chain([AppInstalls::CommandStatusId]),
        );
        for (status_id, device_id) in chunk {
            stmt.values_panic([
                Uuid::now_v7().into(),
                request.enterprise_id.into(),
                (*device_id).into(),
                name.clone().into(),
                package.clone().into(),
                text("version_name").into(),
                text("version_code").into(),
                version_id.into(),
                state.into(),
                Option::<String>::None.into(),
                at.into(),
                at.into(),
                (*status_id).into(),
            ]);
        }
        tx.execute(&stmt).await?;
    }
    Ok(())
}

/// The install state an ended command leaves, from the one in progress.
fn ended_install_state(in_progress: &str, command: CommandState) -> &'static str {
    let install = in_progress == INSTALLING;
    match (command, install) {
        (CommandState::Success, true) => "INSTALL_SUCCESS",
        (CommandState::Success, false) => "UNINSTALL_SUCCESS",
        (_, true) => "INSTALL_FAILED",
        (_, false) => "UNINSTALL_FAILED",
    }
}

/// Ends the install rows in progress whose command has ended (Success, Failure, TimeOut or
/// Cancelled): those of one command row, or all.
pub(crate) async fn settle_installs(tx: &mut Tx, status_ids: Option<&[Uuid]>) -> Result<()> {
    let ended = [
        CommandState::Success,
        CommandState::Failure,
        CommandState::TimeOut,
        CommandState::Cancelled,
    ];
    let mut find = Query::select();
    find.column((AppInstalls::Table, AppInstalls::Id))
        .column((AppInstalls::Table, AppInstalls::InstallState))
        .column((CommandStatuses::Table, CommandStatuses::State))
        .column((CommandStatuses::Table, CommandStatuses::Reason))
        .from(AppInstalls::Table)
        .inner_join(
            CommandStatuses::Table,
            Expr::col((CommandStatuses::Table, CommandStatuses::Id))
                .equals((AppInstalls::Table, AppInstalls::CommandStatusId)),
        )
        .and_where(
            Expr::col((AppInstalls::Table, AppInstalls::InstallState))
                .is_in([INSTALLING, UNINSTALLING]),
        )
        .and_where(
            Expr::col((CommandStatuses::Table, CommandStatuses::State))
                .is_in(ended.map(CommandState::name)),
        )
        .limit(10_000);
    if let Some(ids) = status_ids {
        find.and_where(
            Expr::col((AppInstalls::Table, AppInstalls::CommandStatusId))
                .is_in(ids.iter().copied()),
        );
    }
    let rows: Vec<(Uuid, String, String, Option<String>)> = tx.fetch_all(&find).await?;
    let at = now();
    for (id, install_state, command_state, reason) in rows {
        let Some(command) = CommandState::from_name(&command_state) else {
            continue;
        };
        let reason = match command {
            CommandState::Success => reason.filter(|r| !r.trim().is_empty()),
            // Esper's clients want a reason of one character or more, or none.
            _ => Some(
                reason
                    .filter(|r| !r.trim().is_empty())
                    .unwrap_or(command_state),
            ),
        };
        let stmt = Query::update()
            .table(AppInstalls::Table)
            .value(
                AppInstalls::InstallState,
                ended_install_state(&install_state, command),
            )
            .value(AppInstalls::ReasonDetails, reason)
            .value(AppInstalls::UpdatedOn, at)
            .and_where(Expr::col(AppInstalls::Id).eq(id))
            .to_owned();
        tx.execute(&stmt).await?;
    }
    Ok(())
}
