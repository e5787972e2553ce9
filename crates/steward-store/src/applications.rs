//! An enterprise's applications and their uploaded versions (APK or .deb files kept in blob
//! storage under `blob_key`).

use sea_query::{Alias, Cond, Expr, ExprTrait, Func, Iden, Order, Query};
use steward_core::Invalid;
use steward_core::pagination::PageRequest;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::groups::contains_pattern;
use crate::{Result, Store, StoreError, now};

#[derive(Iden, Clone, Copy)]
enum Applications {
    Table,
    Id,
    EnterpriseId,
    PackageName,
    ApplicationName,
    Kind,
    IsHidden,
    IsActive,
    CreatedOn,
    UpdatedOn,
}

const APP_COLUMNS: [Applications; 9] = [
    Applications::Id,
    Applications::EnterpriseId,
    Applications::PackageName,
    Applications::ApplicationName,
    Applications::Kind,
    Applications::IsHidden,
    Applications::IsActive,
    Applications::CreatedOn,
    Applications::UpdatedOn,
];

#[derive(Iden, Clone, Copy)]
enum AppVersions {
    Table,
    Id,
    EnterpriseId,
    ApplicationId,
    VersionKey,
    VersionCode,
    VersionName,
    HashString,
    SizeBytes,
    MinSdkVersion,
    TargetSdkVersion,
    Permissions,
    Label,
    Architecture,
    FileName,
    BlobKey,
    IconKey,
    ReleaseName,
    ReleaseComments,
    ReleaseTrack,
    ApprovalStatus,
    IsEnabled,
    IsDefault,
    CreatedOn,
    UpdatedOn,
}

const VERSION_COLUMNS: [AppVersions; 24] = [
    AppVersions::Id,
    AppVersions::EnterpriseId,
    AppVersions::ApplicationId,
    AppVersions::VersionKey,
    AppVersions::VersionCode,
    AppVersions::VersionName,
    AppVersions::HashString,
    AppVersions::SizeBytes,
    AppVersions::MinSdkVersion,
    AppVersions::TargetSdkVersion,
    AppVersions::Permissions,
    AppVersions::Label,
    AppVersions::Architecture,
    AppVersions::FileName,
    AppVersions::BlobKey,
    AppVersions::IconKey,
    AppVersions::ReleaseName,
    AppVersions::ReleaseComments,
    AppVersions::ReleaseTrack,
    AppVersions::ApprovalStatus,
    AppVersions::IsEnabled,
    AppVersions::IsDefault,
    AppVersions::CreatedOn,
    AppVersions::UpdatedOn,
];

#[derive(Iden, Clone, Copy)]
enum DeviceApps {
    Table,
    DeviceId,
    PackageName,
    VersionCode,
    VersionName,
}

#[derive(Iden, Clone, Copy)]
enum Devices {
    Table,
    Id,
    EnterpriseId,
    GroupId,
    DeviceName,
    AliasName,
}

#[derive(Iden, Clone, Copy)]
enum DeviceGroups {
    Table,
    Id,
    Name,
}

/// An application: one package name in one enterprise.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Application {
    pub id: Uuid,
    pub enterprise_id: Uuid,
    pub package_name: String,
    pub application_name: String,
    /// `apk` or `deb`.
    pub kind: String,
    pub is_hidden: bool,
    pub is_active: bool,
    pub created_on: OffsetDateTime,
    pub updated_on: OffsetDateTime,
}

/// One uploaded file of an application.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AppVersion {
    pub id: Uuid,
    pub enterprise_id: Uuid,
    pub application_id: Uuid,
    pub version_key: String,
    pub version_code: Option<String>,
    pub version_name: Option<String>,
    pub hash_string: String,
    pub size_bytes: i64,
    pub min_sdk_version: Option<i32>,
    pub target_sdk_version: Option<i32>,
    /// JSON array of permission names.
    pub permissions: String,
    pub label: Option<String>,
    pub architecture: Option<String>,
    pub file_name: String,
    pub blob_key: String,
    pub icon_key: Option<String>,
    pub release_name: Option<String>,
    pub release_comments: Option<String>,
    pub release_track: Option<String>,
    pub approval_status: String,
    pub is_enabled: bool,
    pub is_default: bool,
    pub created_on: OffsetDateTime,
    pub updated_on: OffsetDateTime,
}

impl AppVersion {
    pub fn permission_names(&self) -> Vec<String> {
        serde_json::from_str(&self.permissions).unwrap_or_default()
    }
}

/// What an upload adds: the inspected file, already in blob storage.
#[derive(Debug, Clone)]
pub struct NewVersion {
    pub package_name: String,
    pub application_name: String,
    pub kind: String,
    pub version_key: String,
    pub version_code: Option<String>,
    pub version_name: Option<String>,
    pub hash_string: String,
    pub size_bytes: i64,
    pub min_sdk_version: Option<i32>,
    pub target_sdk_version: Option<i32>,
    pub permissions: Vec<String>,
    pub label: Option<String>,
    pub architecture: Option<String>,
    pub file_name: String,
    pub blob_key: String,
    pub icon_key: Option<String>,
}

/// Filters of the application list.
#[derive(Debug, Clone, Default)]
pub struct AppFilter {
    pub application_name: Option<String>,
    pub package_name: Option<String>,
    pub package_name_exact: Option<String>,
    pub is_hidden: Option<bool>,
    pub is_active: Option<bool>,
    /// Applications that run on this SDK level (their newest version's minimum is at most it).
    pub supported_sdk: Option<i32>,
    /// Applications with (`true`) or without (`false`) an uploaded version.
    pub has_uploaded_version: Option<bool>,
    pub created_on_gt: Option<OffsetDateTime>,
    pub created_on_lt: Option<OffsetDateTime>,
    pub updated_on_gt: Option<OffsetDateTime>,
    pub updated_on_lt: Option<OffsetDateTime>,
}

/// Filters of a version list.
#[derive(Debug, Clone, Default)]
pub struct VersionFilter {
    pub version_code: Option<String>,
    /// Matches the version name (Esper's build number).
    pub build_number: Option<String>,
    pub is_enabled: Option<bool>,
    pub is_default: Option<bool>,
    pub approval_status: Option<String>,
    pub created_on_gt: Option<OffsetDateTime>,
    pub created_on_lt: Option<OffsetDateTime>,
    pub updated_on_gt: Option<OffsetDateTime>,
    pub updated_on_lt: Option<OffsetDateTime>,
    /// Most-installed first (`true`) or last (`false`); newest first when unset.
    pub by_installed_count: Option<bool>,
}

/// Changes a PATCH makes to a version; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct VersionPatch {
    pub release_name: Option<String>,
    pub release_comments: Option<String>,
    pub release_track: Option<String>,
    pub approval_status: Option<String>,
    pub is_enabled: Option<bool>,
    pub is_default: Option<bool>,
}

/// A device that has a version installed.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct InstallDevice {
    pub id: Uuid,
    pub device_name: String,
    pub alias_name: Option<String>,
    /// The name of the device's group, if it is in one.
    pub group_name: Option<String>,
}

fn date_range<C: Iden + Copy + 'static>(
    mut cond: Cond,
    column: C,
    gt: Option<OffsetDateTime>,
    lt: Option<OffsetDateTime>,
) -> Cond {
    if let Some(t) = gt {
        cond = cond.add(Expr::col(column).gt(t));
    }
    if let Some(t) = lt {
        cond = cond.add(Expr::col(column).lt(t));
    }
    cond
}

/// Devices whose app list holds `version` of `package`: same package, and same version code
/// (APK) or, without one, same version name (.deb).
fn installed_cond(enterprise_id: Uuid, package: &str, version: &AppVersion) -> Cond {
    let mut cond = Cond::all()
        .add(Expr::col((Devices::Table, Devices::EnterpriseId)).eq(enterprise_id))
        .add(Expr::col((DeviceApps::Table, DeviceApps::PackageName)).eq(package));
    cond = match (&version.version_code, &version.version_name) {
        (Some(code), _) => {
            cond.add(Expr::col((DeviceApps::Table, DeviceApps::VersionCode)).eq(code.as_str()))
        }
        (None, Some(name)) => {
            cond.add(Expr::col((DeviceApps::Table, DeviceApps::VersionName)).eq(name.as_str()))
        }
        (None, None) => cond,
    };
    cond
}

impl Store {
    /// Adds an uploaded version, creating its application on the first upload. A version
    /// that is already there is refused, naming it.
    pub async fn create_app_version(
        &self,
        enterprise_id: Uuid,
        new: &NewVersion,
    ) -> Result<(Application, AppVersion)> {
        let mut tx = self.begin().await?;
        tx.lock_enterprise(enterprise_id).await?;
        let at = now();
        let existing: Option<Application> = tx
            .fetch_optional(
                &Query::select()
                    .columns(APP_COLUMNS)
                    .from(Applications::Table)
                    .and_where(Expr::col(Applications::EnterpriseId).eq(enterprise_id))
                    .and_where(Expr::col(Applications::PackageName).eq(new.package_name.as_str()))
                    .to_owned(),
            )
            .await?;
        let application_id = match &existing {
            Some(app) => {
                if app.kind != new.kind {
                    return Err(Invalid::field(
                        "app_file",
                        format!(
                            "{} is already an application of kind {}; this file is a {}",
                            new.package_name, app.kind, new.kind
                        ),
                    )
                    .into());
                }
                let taken = tx
                    .count(
                        &Query::select()
                            .expr(Expr::col(AppVersions::Id).count())
                            .from(AppVersions::Table)
                            .and_where(Expr::col(AppVersions::ApplicationId).eq(app.id))
                            .and_where(
                                Expr::col(AppVersions::VersionKey).eq(new.version_key.as_str()),
                            )
                            .to_owned(),
                    )
                    .await?;
                if taken > 0 {
                    return Err(Invalid::field(
                        "app_file",
                        format!(
                            "version {} of {} is already uploaded; delete it first or upload another version",
                            new.version_key, new.package_name
                        ),
                    )
                    .into());
                }
                tx.execute(
                    &Query::update()
                        .table(Applications::Table)
                        .value(Applications::ApplicationName, new.application_name.clone())
                        .value(Applications::UpdatedOn, at)
                        .and_where(Expr::col(Applications::Id).eq(app.id))
                        .to_owned(),
                )
                .await?;
                app.id
            }
            None => {
                let id = Uuid::now_v7();
                tx.execute(
                    &Query::insert()
                        .into_table(Applications::Table)
                        .columns(APP_COLUMNS)
                        .values_panic([
                            id.into(),
                            enterprise_id.into(),
                            new.package_name.clone().into(),
                            new.application_name.clone().into(),
                            new.kind.clone().into(),
                            false.into(),
                            true.into(),
                            at.into(),
                            at.into(),
                        ])
                        .to_owned(),
                )
                .await?;
                id
            }
        };
        let version_id = Uuid::now_v7();
        let permissions = serde_json::to_string(&new.permissions).unwrap_or_else(|_| "[]".into());
        tx.execute(
            &Query::insert()
                .into_table(AppVersions::Table)
                .columns(VERSION_COLUMNS)
                .values_panic([
                    version_id.into(),
                    enterprise_id.into(),
                    application_id.into(),
                    new.version_key.clone().into(),
                    new.version_code.clone().into(),
                    new.version_name.clone().into(),
                    new.hash_string.clone().into(),
                    new.size_bytes.into(),
                    new.min_sdk_version.into(),
                    new.target_sdk_version.into(),
                    permissions.into(),
                    new.label.clone().into(),
                    new.architecture.clone().into(),
                    new.file_name.clone().into(),
                    new.blob_key.clone().into(),
                    new.icon_key.clone().into(),
                    None::<String>.into(),
                    None::<String>.into(),
                    None::<String>.into(),
                    "APPROVED".into(),
                    true.into(),
                    false.into(),
                    at.into(),
                    at.into(),
                ])
                .to_owned(),
        )
        .await?;
        tx.commit().await?;
        let app = self.application(enterprise_id, application_id).await?;
        let version = self
            .app_version(enterprise_id, application_id, version_id)
            .await?;
        Ok((app, version))
    }

    pub async fn application(&self, enterprise_id: Uuid, id: Uuid) -> Result<Application> {
        self.fetch_optional(
            &Query::select()
                .columns(APP_COLUMNS)
                .from(Applications::Table)
                .and_where(Expr::col(Applications::EnterpriseId).eq(enterprise_id))
                .and_where(Expr::col(Applications::Id).eq(id))
                .to_owned(),
        )
        .await?
        .ok_or(StoreError::NotFound("application"))
    }

    pub async fn applications(
        &self,
        enterprise_id: Uuid,
        f: &AppFilter,
        page: PageRequest,
    ) -> Result<(u64, Vec<Application>)> {
        let mut cond = Cond::all().add(Expr::col(Applications::EnterpriseId).eq(enterprise_id));
        if let Some(name) = &f.application_name {
            cond = cond.add(
                Expr::expr(Func::lower(Expr::col(Applications::ApplicationName)))
                    .like(contains_pattern(name)),
            );
        }
        if let Some(p) = &f.package_name {
            cond = cond.add(
                Expr::expr(Func::lower(Expr::col(Applications::PackageName)))
                    .like(contains_pattern(p)),
            );
        }
        if let Some(p) = &f.package_name_exact {
            cond = cond.add(Expr::col(Applications::PackageName).eq(p.as_str()));
        }
        if let Some(h) = f.is_hidden {
            cond = cond.add(Expr::col(Applications::IsHidden).eq(h));
        }
        if let Some(a) = f.is_active {
            cond = cond.add(Expr::col(Applications::IsActive).eq(a));
        }
        if let Some(has) = f.has_uploaded_version {
            let versions = Query::select()
                .column(AppVersions::ApplicationId)
                .from(AppVersions::Table)
                .and_where(Expr::col(AppVersions::EnterpriseId).eq(enterprise_id))
                .to_owned();
            cond = cond.add(if has {
                Expr::col(Applications::Id).in_subquery(versions)
            } else {
                Expr::col(Applications::Id).not_in_subquery(versions)
            });
        }
        if let Some(sdk) = f.supported_sdk {
            let fits = Query::select()
                .column(AppVersions::ApplicationId)
                .from(AppVersions::Table)
                .and_where(Expr::col(AppVersions::EnterpriseId).eq(enterprise_id))
                .cond_where(
                    Cond::any()
                        .add(Expr::col(AppVersions::MinSdkVersion).is_null())
                        .add(Expr::col(AppVersions::MinSdkVersion).lte(sdk)),
                )
                .to_owned();
            cond = cond.add(Expr::col(Applications::Id).in_subquery(fits));
        }
        cond = date_range(
            cond,
            Applications::CreatedOn,
            f.created_on_gt,
            f.created_on_lt,
        );
        cond = date_range(
            cond,
            Applications::UpdatedOn,
            f.updated_on_gt,
            f.updated_on_lt,
        );
        let total = self
            .count(
                &Query::select()
                    .expr(Expr::col(Applications::Id).count())
                    .from(Applications::Table)
                    .cond_where(cond.clone())
                    .to_owned(),
            )
            .await?;
        let rows = self
            .fetch_all(
                &Query::select()
                    .columns(APP_COLUMNS)
                    .from(Applications::Table)
                    .cond_where(cond)
                    .order_by(Applications::ApplicationName, Order::Asc)
                    .order_by(Applications::Id, Order::Asc)
                    .limit(page.limit)
                    .offset(page.offset)
                    .to_owned(),
            )
            .await?;
        Ok((total, rows))
    }

    /// Deletes an application with its versions; the blob keys they held, for removal.
    pub async fn delete_application(&self, enterprise_id: Uuid, id: Uuid) -> Result<Vec<String>> {
        let app = self.application(enterprise_id, id).await?;
        let versions = self.versions_of(enterprise_id, &[app.id]).await?;
        self.execute(
            &Query::delete()
                .from_table(Applications::Table)
                .and_where(Expr::col(Applications::EnterpriseId).eq(enterprise_id))
                .and_where(Expr::col(Applications::Id).eq(id))
                .to_owned(),
        )
        .await?;
        Ok(versions.into_iter().flat_map(blob_keys).collect())
    }

    /// Every version of the given applications, newest first.
    pub async fn versions_of(
        &self,
        enterprise_id: Uuid,
        application_ids: &[Uuid],
    ) -> Result<Vec<AppVersion>> {
        if application_ids.is_empty() {
            return Ok(Vec::new());
        }
        self.fetch_all(
            &Query::select()
                .columns(VERSION_COLUMNS)
                .from(AppVersions::Table)
                .and_where(Expr::col(AppVersions::EnterpriseId).eq(enterprise_id))
                .and_where(
                    Expr::col(AppVersions::ApplicationId).is_in(application_ids.iter().copied()),
                )
                .order_by(AppVersions::CreatedOn, Order::Desc)
                .order_by(AppVersions::Id, Order::Desc)
                .to_owned(),
        )
        .await
    }

    pub async fn app_version(
        &self,
        enterprise_id: Uuid,
        application_id: Uuid,
        id: Uuid,
    ) -> Result<AppVersion> {
        self.fetch_optional(
            &Query::select()
                .columns(VERSION_COLUMNS)
                .from(AppVersions::Table)
                .and_where(Expr::col(AppVersions::EnterpriseId).eq(enterprise_id))
                .and_where(Expr::col(AppVersions::ApplicationId).eq(application_id))
                .and_where(Expr::col(AppVersions::Id).eq(id))
                .to_owned(),
        )
        .await?
        .ok_or(StoreError::NotFound("app version"))
    }

    /// A version by its id alone (commands name versions without their application).
    pub async fn app_version_by_id(&self, enterprise_id: Uuid, id: Uuid) -> Result<AppVersion> {
        self.fetch_optional(
            &Query::select()
                .columns(VERSION_COLUMNS)
                .from(AppVersions::Table)
                .and_where(Expr::col(AppVersions::EnterpriseId).eq(enterprise_id))
                .and_where(Expr::col(AppVersions::Id).eq(id))
                .to_owned(),
        )
        .await?
        .ok_or(StoreError::NotFound("app version"))
    }

    pub async fn app_versions(
        &self,
        enterprise_id: Uuid,
        application_id: Uuid,
        f: &VersionFilter,
        page: PageRequest,
    ) -> Result<(u64, Vec<AppVersion>)> {
        let app = self.application(enterprise_id, application_id).await?;
        let mut cond = Cond::all()
            .add(Expr::col(AppVersions::EnterpriseId).eq(enterprise_id))
            .add(Expr::col(AppVersions::ApplicationId).eq(app.id));
        if let Some(code) = &f.version_code {
            cond = cond.add(Expr::col(AppVersions::VersionCode).eq(code.as_str()));
        }
        if let Some(name) = &f.build_number {
            cond = cond.add(Expr::col(AppVersions::VersionName).eq(name.as_str()));
        }
        if let Some(e) = f.is_enabled {
            cond = cond.add(Expr::col(AppVersions::IsEnabled).eq(e));
        }
        if let Some(d) = f.is_default {
            cond = cond.add(Expr::col(AppVersions::IsDefault).eq(d));
        }
        if let Some(s) = &f.approval_status {
            cond = cond.add(Expr::col(AppVersions::ApprovalStatus).eq(s.as_str()));
        }
        cond = date_range(
            cond,
            AppVersions::CreatedOn,
            f.created_on_gt,
            f.created_on_lt,
        );
        cond = date_range(
            cond,
            AppVersions::UpdatedOn,
            f.updated_on_gt,
            f.updated_on_lt,
        );
        let total = self
            .count(
                &Query::select()
                    .expr(Expr::col(AppVersions::Id).count())
                    .from(AppVersions::Table)
                    .cond_where(cond.clone())
                    .to_owned(),
            )
            .await?;
        let mut rows: Vec<AppVersion> = self
            .fetch_all(
                &Query::select()
                    .columns(VERSION_COLUMNS)
                    .from(AppVersions::Table)
                    .cond_where(cond)
                    .order_by(AppVersions::CreatedOn, Order::Desc)
                    .order_by(AppVersions::Id, Order::Desc)
                    .to_owned(),
            )
            .await?;
        // An application has a handful of versions: order by installs here, then cut the page.
        if let Some(most_first) = f.by_installed_count {
            let mut counted = Vec::with_capacity(rows.len());
            for v in rows {
                let n = self.installed_count(enterprise_id, &app, &v).await?;
                counted.push((n, v));
            }
            counted.sort_by_key(|(n, _)| *n);
            if most_first {
                counted.reverse();
            }
            rows = counted.into_iter().map(|(_, v)| v).collect();
        }
        let start = usize::try_from(page.offset).unwrap_or(usize::MAX);
        let take = usize::try_from(page.limit).unwrap_or(usize::MAX);
        Ok((total, rows.into_iter().skip(start).take(take).collect()))
    }

    pub async fn update_app_version(
        &self,
        enterprise_id: Uuid,
        application_id: Uuid,
        id: Uuid,
        patch: &VersionPatch,
    ) -> Result<AppVersion> {
        self.app_version(enterprise_id, application_id, id).await?;
        let mut tx = self.begin().await?;
        let mut stmt = Query::update();
        stmt.table(AppVersions::Table)
            .value(AppVersions::UpdatedOn, now())
            .and_where(Expr::col(AppVersions::Id).eq(id));
        if let Some(v) = &patch.release_name {
            stmt.value(AppVersions::ReleaseName, v.clone());
        }
        if let Some(v) = &patch.release_comments {
            stmt.value(AppVersions::ReleaseComments, v.clone());
        }
        if let Some(v) = &patch.release_track {
            stmt.value(AppVersions::ReleaseTrack, v.clone());
        }
        if let Some(v) = &patch.approval_status {
            stmt.value(AppVersions::ApprovalStatus, v.clone());
        }
        if let Some(v) = patch.is_enabled {
            stmt.value(AppVersions::IsEnabled, v);
        }
        if let Some(v) = patch.is_default {
            if v {
                // One default version per application.
                tx.execute(
                    &Query::update()
                        .table(AppVersions::Table)
                        .value(AppVersions::IsDefault, false)
                        .and_where(Expr::col(AppVersions::ApplicationId).eq(application_id))
                        .to_owned(),
                )
                .await?;
            }
            stmt.value(AppVersions::IsDefault, v);
        }
        tx.execute(&stmt).await?;
        tx.commit().await?;
        self.app_version(enterprise_id, application_id, id).await
    }

    /// Deletes a version; the blob keys it held, for removal.
    pub async fn delete_app_version(
        &self,
        enterprise_id: Uuid,
        application_id: Uuid,
        id: Uuid,
    ) -> Result<Vec<String>> {
        let version = self.app_version(enterprise_id, application_id, id).await?;
        self.execute(
            &Query::delete()
                .from_table(AppVersions::Table)
                .and_where(Expr::col(AppVersions::EnterpriseId).eq(enterprise_id))
                .and_where(Expr::col(AppVersions::Id).eq(id))
                .to_owned(),
        )
        .await?;
        Ok(blob_keys(version))
    }

    /// How many of the enterprise's devices have `version` installed.
    pub async fn installed_count(
        &self,
        enterprise_id: Uuid,
        app: &Application,
        version: &AppVersion,
    ) -> Result<u64> {
        self.count(
            &Query::select()
                .expr(Expr::col((DeviceApps::Table, DeviceApps::DeviceId)).count())
                .from(DeviceApps::Table)
                .inner_join(
                    Devices::Table,
                    Expr::col((Devices::Table, Devices::Id))
                        .equals((DeviceApps::Table, DeviceApps::DeviceId)),
                )
                .cond_where(installed_cond(enterprise_id, &app.package_name, version))
                .to_owned(),
        )
        .await
    }

    /// The devices that have `version` installed, with their group's name; `search` matches
    /// part of a device's name, its alias or its group's name.
    pub async fn install_devices(
        &self,
        enterprise_id: Uuid,
        application_id: Uuid,
        version_id: Uuid,
        search: Option<&str>,
        page: PageRequest,
    ) -> Result<(u64, Vec<InstallDevice>)> {
        let app = self.application(enterprise_id, application_id).await?;
        let version = self
            .app_version(enterprise_id, application_id, version_id)
            .await?;
        let mut cond = installed_cond(enterprise_id, &app.package_name, &version);
        if let Some(s) = search {
            let like = |column: Expr| Expr::expr(Func::lower(column)).like(contains_pattern(s));
            cond = cond.add(
                Cond::any()
                    .add(like(Expr::col((Devices::Table, Devices::DeviceName))))
                    .add(like(Expr::col((Devices::Table, Devices::AliasName))))
                    .add(like(Expr::col((DeviceGroups::Table, DeviceGroups::Name)))),
            );
        }
        let mut base = Query::select();
        base.from(DeviceApps::Table)
            .inner_join(
                Devices::Table,
                Expr::col((Devices::Table, Devices::Id))
                    .equals((DeviceApps::Table, DeviceApps::DeviceId)),
            )
            .left_join(
                DeviceGroups::Table,
                Expr::col((DeviceGroups::Table, DeviceGroups::Id))
                    .equals((Devices::Table, Devices::GroupId)),
            )
            .cond_where(cond);
        let total = self
            .count(
                &base
                    .clone()
                    .expr(Expr::col((Devices::Table, Devices::Id)).count())
                    .to_owned(),
            )
            .await?;
        let rows = self
            .fetch_all(
                &base
                    .columns([
                        (Devices::Table, Devices::Id),
                        (Devices::Table, Devices::DeviceName),
                        (Devices::Table, Devices::AliasName),
                    ])
                    .expr_as(
                        Expr::col((DeviceGroups::Table, DeviceGroups::Name)),
                        Alias::new("group_name"),
                    )
                    .order_by((Devices::Table, Devices::DeviceName), Order::Asc)
                    .order_by((Devices::Table, Devices::Id), Order::Asc)
                    .limit(page.limit)
                    .offset(page.offset)
                    .to_owned(),
            )
            .await?;
        Ok((total, rows))
    }
}

fn blob_keys(v: AppVersion) -> Vec<String> {
    std::iter::once(v.blob_key).chain(v.icon_key).collect()
}
