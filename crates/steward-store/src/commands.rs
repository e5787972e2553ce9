//! Commands: a request (legacy device or group command, or Commands V2) fans out to one status
//! row per target device. The status rows are the queue and the truth: a device gets its open
//! rows in id order (UUIDv7, so creation order), each row moves through Esper's states only
//! forward, and a row past its deadline ends in `Command TimeOut`.

use std::collections::HashMap;
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use sea_query::{Cond, Expr, ExprTrait, Iden, Order, Query, SelectStatement};
use serde_json::{Map, Value};
use steward_core::command_state::CommandState;
use steward_core::pagination::PageRequest;
use steward_core::schedule::Schedule;
use steward_core::{FieldErrors, Invalid};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::apps::{installs_sent, settle_installs};
use crate::db::Tx;
use crate::devices::{DeviceIdentity, Devices, state as device_state};
use crate::groups::DeviceGroups;
use crate::{Result, Store, StoreError, now};

#[derive(Iden, Clone, Copy)]
enum CommandRequests {
    Table,
    Id,
    EnterpriseId,
    Origin,
    CommandType,
    DeviceType,
    Command,
    CommandArgs,
    Schedule,
    ScheduleArgs,
    DeviceIds,
    GroupIds,
    LegacyGroupId,
    IssuedById,
    IssuedByName,
    TimeoutSecs,
    CreatedOn,
    UpdatedOn,
}

const REQUEST_COLUMNS: [CommandRequests; 17] = [
    CommandRequests::Id,
    CommandRequests::EnterpriseId,
    CommandRequests::Origin,
    CommandRequests::CommandType,
    CommandRequests::DeviceType,
    CommandRequests::Command,
    CommandRequests::CommandArgs,
    CommandRequests::Schedule,
    CommandRequests::ScheduleArgs,
    CommandRequests::DeviceIds,
    CommandRequests::GroupIds,
    CommandRequests::LegacyGroupId,
    CommandRequests::IssuedById,
    CommandRequests::IssuedByName,
    CommandRequests::TimeoutSecs,
    CommandRequests::CreatedOn,
    CommandRequests::UpdatedOn,
];

#[derive(Iden, Clone, Copy)]
pub(crate) enum CommandStatuses {
    Table,
    Id,
    RequestId,
    EnterpriseId,
    DeviceId,
    State,
    Reason,
    Details,
    TimeZone,
    NotBefore,
    Deadline,
    Attempts,
    SentOn,
    CreatedOn,
    UpdatedOn,
}

const STATUS_COLUMNS: [CommandStatuses; 14] = [
    CommandStatuses::Id,
    CommandStatuses::RequestId,
    CommandStatuses::EnterpriseId,
    CommandStatuses::DeviceId,
    CommandStatuses::State,
    CommandStatuses::Reason,
    CommandStatuses::Details,
    CommandStatuses::TimeZone,
    CommandStatuses::NotBefore,
    CommandStatuses::Deadline,
    CommandStatuses::Attempts,
    CommandStatuses::SentOn,
    CommandStatuses::CreatedOn,
    CommandStatuses::UpdatedOn,
];

/// Most devices and groups one request may name (Esper's limits).
pub const MAX_DEVICES: usize = 1000;
pub const MAX_GROUPS: usize = 500;
/// Rows claimed or written per statement.
const CHUNK: usize = 500;

/// Which endpoint made a request: the legacy ones show it in their own shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    V2,
    LegacyDevice,
    LegacyGroup,
}

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Origin::V2 => "V2",
            Origin::LegacyDevice => "DEVICE",
            Origin::LegacyGroup => "GROUP",
        }
    }
}

/// Esper's `command_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandType {
    Device,
    Group,
    Dynamic,
}

impl CommandType {
    pub const NAMES: [&str; 3] = ["DEVICE", "GROUP", "DYNAMIC"];

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "DEVICE" => Some(Self::Device),
            "GROUP" => Some(Self::Group),
            "DYNAMIC" => Some(Self::Dynamic),
            _ => None,
        }
    }
}

/// Esper's `device_type`: which of the targeted devices get the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceType {
    /// Online devices only.
    Active,
    /// Offline devices only; it waits for them.
    Inactive,
    All,
}

impl DeviceType {
    pub const NAMES: [&str; 3] = ["active", "inactive", "all"];

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "inactive" => Some(Self::Inactive),
            "all" => Some(Self::All),
            _ => None,
        }
    }
}

/// Esper's `schedule`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleKind {
    Immediate,
    Window,
    /// Tried in each window until it succeeds or the schedule ends.
    Recurring,
}

impl ScheduleKind {
    pub const NAMES: [&str; 3] = ["IMMEDIATE", "WINDOW", "RECURRING"];

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "IMMEDIATE" => Some(Self::Immediate),
            "WINDOW" => Some(Self::Window),
            "RECURRING" => Some(Self::Recurring),
            _ => None,
        }
    }
}

/// Who asked: the API key's number and name (Esper's user id and username).
#[derive(Debug, Clone)]
pub struct IssuedBy {
    pub id: i64,
    pub name: String,
}

/// A request as the API accepted it (the command and its arguments already checked).
#[derive(Debug, Clone)]
pub struct NewCommand {
    pub origin: Origin,
    pub command_type: CommandType,
    pub device_type: DeviceType,
    pub command: String,
    pub command_args: Map<String, Value>,
    pub schedule: ScheduleKind,
    pub schedule_args: Option<Map<String, Value>>,
    pub devices: Vec<Uuid>,
    pub groups: Vec<Uuid>,
    pub issued_by: Option<IssuedBy>,
    pub timeout: Duration,
}

/// How commands wait: the console's time zone for schedules, and how long a command waits
/// for an offline device before it times out.
#[derive(Debug, Clone)]
pub struct CommandPolicy {
    pub console_zone: TimeZone,
    pub queue_expiry: Duration,
}

impl Default for CommandPolicy {
    fn default() -> Self {
        Self {
            console_zone: TimeZone::UTC,
            queue_expiry: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CommandRequest {
    pub id: Uuid,
    pub enterprise_id: Uuid,
    pub origin: String,
    pub command_type: String,
    pub device_type: String,
    pub command: String,
    /// JSON object.
    pub command_args: String,
    pub schedule: String,
    /// JSON object.
    pub schedule_args: Option<String>,
    /// JSON array of the device ids named in the request.
    pub device_ids: String,
    /// JSON array of the group ids named in the request.
    pub group_ids: String,
    pub legacy_group_id: Option<Uuid>,
    pub issued_by_id: Option<i64>,
    pub issued_by_name: Option<String>,
    pub timeout_secs: i64,
    pub created_on: OffsetDateTime,
    pub updated_on: OffsetDateTime,
}

impl CommandRequest {
    pub fn args(&self) -> Map<String, Value> {
        serde_json::from_str(&self.command_args).unwrap_or_default()
    }

    pub fn schedule_args_map(&self) -> Option<Map<String, Value>> {
        self.schedule_args
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
    }

    pub fn devices(&self) -> Vec<Uuid> {
        serde_json::from_str(&self.device_ids).unwrap_or_default()
    }

    pub fn groups(&self) -> Vec<Uuid> {
        serde_json::from_str(&self.group_ids).unwrap_or_default()
    }

    fn parsed_schedule(&self) -> Option<Schedule> {
        self.schedule_args_map()
            .and_then(|args| Schedule::parse(&args).ok())
    }
}

/// One command on one device.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CommandStatus {
    pub id: Uuid,
    pub request_id: Uuid,
    pub enterprise_id: Uuid,
    pub device_id: Uuid,
    /// Esper's state name, e.g. `Command Success`.
    pub state: String,
    pub reason: Option<String>,
    /// JSON object the device reported.
    pub details: Option<String>,
    /// The zone a scheduled command is read in.
    pub time_zone: Option<String>,
    /// A scheduled command is not sent before this.
    pub not_before: Option<OffsetDateTime>,
    /// When it times out.
    pub deadline: Option<OffsetDateTime>,
    /// How many times it was sent.
    pub attempts: i64,
    pub sent_on: Option<OffsetDateTime>,
    pub created_on: OffsetDateTime,
    pub updated_on: OffsetDateTime,
}

impl CommandStatus {
    pub fn state(&self) -> Option<CommandState> {
        CommandState::from_name(&self.state)
    }
}

/// A command going to a device now.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub status_id: Uuid,
    pub device_id: Uuid,
    pub command: String,
    pub args: Map<String, Value>,
    pub timeout_secs: u64,
}

/// Filters of the request list (Esper's query parameters).
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub command_type: Option<String>,
    /// Requests that reach any of these devices.
    pub devices: Vec<Uuid>,
    pub device_type: Option<String>,
    pub command: Option<String>,
    pub issued_by: Option<i64>,
}

/// What a device reported about a command.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandUpdate {
    pub status_id: Uuid,
    pub state: CommandState,
    pub reason: Option<String>,
    /// JSON object.
    pub details: Option<String>,
}

fn to_timestamp(t: OffsetDateTime) -> Timestamp {
    Timestamp::from_nanosecond(t.unix_timestamp_nanos()).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn to_offset(t: Timestamp) -> OffsetDateTime {
    let micros = t.as_microsecond();
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn after(at: OffsetDateTime, d: Duration) -> OffsetDateTime {
    at + time::Duration::try_from(d).unwrap_or(time::Duration::DAY)
}

/// The states from which a row may move to `next`.
fn predecessors(next: CommandState) -> Vec<&'static str> {
    CommandState::ALL
        .into_iter()
        .filter(|s| s.can_become(next))
        .map(CommandState::name)
        .collect()
}

/// The states from which a device's report may move a row to `next`: a device only reports
/// on what it was sent.
fn reported_predecessors(next: CommandState) -> Vec<&'static str> {
    predecessors(next)
        .into_iter()
        .filter(|s| sent_states().contains(s))
        .collect()
}

fn open_states() -> Vec<&'static str> {
    CommandState::ALL
        .into_iter()
        .filter(|s| !s.is_terminal())
        .map(CommandState::name)
        .collect()
}

fn sent_states() -> [&'static str; 3] {
    [
        CommandState::Initiated.name(),
        CommandState::Acknowledged.name(),
        CommandState::InProgress.name(),
    ]
}

#[derive(sqlx::FromRow)]
struct Target {
    id: Uuid,
    status: i32,
    #[sqlx(default)]
    software_info: Option<String>,
}

impl Target {
    fn zone_name(&self) -> Option<String> {
        let info: Value = serde_json::from_str(self.software_info.as_deref()?).ok()?;
        info.get("timezone")?.as_str().map(str::to_string)
    }
}

fn select_targets(enterprise_id: Uuid, with_zone: bool) -> SelectStatement {
    let mut stmt = Query::select()
        .columns([Devices::Id, Devices::Status])
        .from(Devices::Table)
        .and_where(Expr::col(Devices::EnterpriseId).eq(enterprise_id))
        .to_owned();
    if with_zone {
        stmt.column(Devices::SoftwareInfo);
    }
    stmt
}

/// The devices a request reaches, each once, in a stable order.
async fn resolve_targets(
    tx: &mut Tx,
    enterprise_id: Uuid,
    new: &NewCommand,
    with_zone: bool,
) -> Result<Vec<Target>> {
    let mut errors = FieldErrors::new();
    if new.devices.len() > MAX_DEVICES {
        errors.add(
            "devices",
            format!("at most {MAX_DEVICES} devices per request"),
        );
    }
    if new.groups.len() > MAX_GROUPS {
        errors.add("groups", format!("at most {MAX_GROUPS} groups per request"));
    }
    errors.finish()?;
    let mut targets: Vec<Target> = Vec::new();
    for chunk in new.devices.chunks(CHUNK) {
        let stmt = select_targets(enterprise_id, with_zone)
            .and_where(Expr::col(Devices::Id).is_in(chunk.iter().copied()))
            .to_owned();
        let found: Vec<Target> = tx.fetch_all(&stmt).await?;
        if let Some(missing) = chunk.iter().find(|id| !found.iter().any(|t| t.id == **id)) {
            return Err(Invalid::field(
                "devices",
                format!("no device {missing} in this enterprise"),
            )
            .into());
        }
        targets.extend(found);
    }
    if !new.groups.is_empty() {
        for chunk in new.groups.chunks(CHUNK) {
            let stmt = Query::select()
                .column(DeviceGroups::Id)
                .from(DeviceGroups::Table)
                .and_where(Expr::col(DeviceGroups::EnterpriseId).eq(enterprise_id))
                .and_where(Expr::col(DeviceGroups::Id).is_in(chunk.iter().copied()))
                .to_owned();
            let found: Vec<(Uuid,)> = tx.fetch_all(&stmt).await?;
            if let Some(missing) = chunk.iter().find(|id| !found.iter().any(|f| f.0 == **id)) {
                return Err(Invalid::field(
                    "groups",
                    format!("no group {missing} in this enterprise"),
                )
                .into());
            }
            let stmt = select_targets(enterprise_id, with_zone)
                .and_where(Expr::col(Devices::GroupId).is_in(chunk.iter().copied()))
                .order_by(Devices::Id, Order::Asc)
                .to_owned();
            targets.extend(tx.fetch_all::<Target>(&stmt).await?);
        }
    }
    let mut seen = std::collections::HashSet::new();
    targets.retain(|t| seen.insert(t.id));
    targets.retain(|t| {
        let online = t.status == device_state::ACTIVE;
        match new.device_type {
            DeviceType::Active => online,
            DeviceType::Inactive => !online,
            DeviceType::All => true,
        }
    });
    Ok(targets)
}

fn json_text(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

impl Store {
    /// Stores a request and one status row per target device, in one transaction. What the
    /// devices get next is up to the dispatcher; this only records what is owed to them.
    pub async fn create_command(
        &self,
        enterprise_id: Uuid,
        new: NewCommand,
        policy: &CommandPolicy,
    ) -> Result<CommandRequest> {
        let schedule = match (new.schedule, &new.schedule_args) {
            (ScheduleKind::Immediate, _) => None,
            (_, Some(args)) => Some(Schedule::parse(args)?),
            (_, None) => {
                return Err(Invalid::field(
                    "schedule_args",
                    "WINDOW and RECURRING schedules need schedule_args",
                )
                .into());
            }
        };
        let at = now();
        let at_ts = to_timestamp(at);
        if let Some(s) = &schedule
            && s.time_type == steward_core::schedule::TimeType::Console
            && s.next_open(at_ts, &policy.console_zone).is_none()
        {
            return Err(Invalid::field(
                "schedule_args.end_datetime",
                "the schedule has already ended",
            )
            .into());
        }
        let with_zone = schedule
            .as_ref()
            .is_some_and(|s| s.time_type == steward_core::schedule::TimeType::Device);
        let mut tx = self.begin().await?;
        let targets = resolve_targets(&mut tx, enterprise_id, &new, with_zone).await?;
        let request = CommandRequest {
            id: Uuid::now_v7(),
            enterprise_id,
            origin: new.origin.as_str().into(),
            command_type: new.command_type.as_str().into(),
            device_type: new.device_type.as_str().into(),
            command: new.command.clone(),
            command_args: json_text(&new.command_args),
            schedule: new.schedule.as_str().into(),
            schedule_args: new.schedule_args.as_ref().map(json_text),
            device_ids: json_text(&new.devices),
            group_ids: json_text(&new.groups),
            legacy_group_id: (new.origin == Origin::LegacyGroup)
                .then(|| new.groups.first().copied())
                .flatten(),
            issued_by_id: new.issued_by.as_ref().map(|i| i.id),
            issued_by_name: new.issued_by.as_ref().map(|i| i.name.clone()),
            timeout_secs: i64::try_from(new.timeout.as_secs()).unwrap_or(i64::MAX),
            created_on: at,
            updated_on: at,
        };
        let stmt = Query::insert()
            .into_table(CommandRequests::Table)
            .columns(REQUEST_COLUMNS)
            .values_panic([
                request.id.into(),
                request.enterprise_id.into(),
                request.origin.clone().into(),
                request.command_type.clone().into(),
                request.device_type.clone().into(),
                request.command.clone().into(),
                request.command_args.clone().into(),
                request.schedule.clone().into(),
                request.schedule_args.clone().into(),
                request.device_ids.clone().into(),
                request.group_ids.clone().into(),
                request.legacy_group_id.into(),
                request.issued_by_id.into(),
                request.issued_by_name.clone().into(),
                request.timeout_secs.into(),
                at.into(),
                at.into(),
            ])
            .to_owned();
        tx.execute(&stmt).await?;

        let queue_deadline = after(at, policy.queue_expiry);
        for chunk in targets.chunks(CHUNK) {
            let mut insert = Query::insert()
                .into_table(CommandStatuses::Table)
                .columns(STATUS_COLUMNS)
                .to_owned();
            let mut rows = 0;
            for target in chunk {
                let (state, zone_name, not_before, deadline) = match &schedule {
                    None => (CommandState::Queued, None, None, queue_deadline),
                    Some(s) => {
                        let device_zone = target.zone_name();
                        let zone = s.zone_for(device_zone.as_deref(), &policy.console_zone);
                        let Some(open) = s.next_open(at_ts, &zone) else {
                            // Already over in this device's zone: nothing to owe it.
                            continue;
                        };
                        let name = zone.iana_name().map(str::to_string);
                        (
                            CommandState::Scheduled,
                            name,
                            Some(to_offset(open)),
                            to_offset(s.end(&zone)),
                        )
                    }
                };
                insert.values_panic([
                    Uuid::now_v7().into(),
                    request.id.into(),
                    enterprise_id.into(),
                    target.id.into(),
                    state.name().into(),
                    Option::<String>::None.into(),
                    Option::<String>::None.into(),
                    zone_name.into(),
                    not_before.into(),
                    Some(deadline).into(),
                    0i64.into(),
                    Option::<OffsetDateTime>::None.into(),
                    at.into(),
                    at.into(),
                ]);
                rows += 1;
            }
            if rows > 0 {
                tx.execute(&insert).await?;
            }
        }
        tx.commit().await?;
        Ok(request)
    }

    pub async fn command_request(&self, enterprise_id: Uuid, id: Uuid) -> Result<CommandRequest> {
        let stmt = Query::select()
            .columns(REQUEST_COLUMNS)
            .from(CommandRequests::Table)
            .and_where(Expr::col(CommandRequests::EnterpriseId).eq(enterprise_id))
            .and_where(Expr::col(CommandRequests::Id).eq(id))
            .to_owned();
        self.fetch_optional(&stmt)
            .await?
            .ok_or(StoreError::NotFound("command"))
    }

    /// The requests of an enterprise, newest first, and how many match.
    pub async fn command_requests(
        &self,
        enterprise_id: Uuid,
        filter: &RequestFilter,
        page: PageRequest,
    ) -> Result<(u64, Vec<CommandRequest>)> {
        let mut cond = Cond::all().add(Expr::col(CommandRequests::EnterpriseId).eq(enterprise_id));
        if let Some(t) = &filter.command_type {
            cond = cond.add(Expr::col(CommandRequests::CommandType).eq(t.as_str()));
        }
        if let Some(t) = &filter.device_type {
            cond = cond.add(Expr::col(CommandRequests::DeviceType).eq(t.as_str()));
        }
        if let Some(c) = &filter.command {
            cond = cond.add(Expr::col(CommandRequests::Command).eq(c.as_str()));
        }
        if let Some(i) = filter.issued_by {
            cond = cond.add(Expr::col(CommandRequests::IssuedById).eq(i));
        }
        if !filter.devices.is_empty() {
            let reaching = Query::select()
                .column(CommandStatuses::RequestId)
                .from(CommandStatuses::Table)
                .and_where(
                    Expr::col(CommandStatuses::DeviceId).is_in(filter.devices.iter().copied()),
                )
                .to_owned();
            cond = cond.add(Expr::col(CommandRequests::Id).in_subquery(reaching));
        }
        let count = Query::select()
            .expr(Expr::col(CommandRequests::Id).count())
            .from(CommandRequests::Table)
            .cond_where(cond.clone())
            .to_owned();
        let total = self.count(&count).await?;
        let stmt = Query::select()
            .columns(REQUEST_COLUMNS)
            .from(CommandRequests::Table)
            .cond_where(cond)
            .order_by(CommandRequests::Id, Order::Desc)
            .limit(page.limit)
            .offset(page.offset)
            .to_owned();
        Ok((total, self.fetch_all(&stmt).await?))
    }

    /// How many of each request's rows are in each state (Esper's `status` of a request).
    pub async fn command_totals(
        &self,
        requests: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<(String, u64)>>> {
        let mut totals: HashMap<Uuid, Vec<(String, u64)>> = HashMap::new();
        for chunk in requests.chunks(CHUNK) {
            let stmt = Query::select()
                .columns([CommandStatuses::RequestId, CommandStatuses::State])
                .expr(Expr::col(CommandStatuses::Id).count())
                .from(CommandStatuses::Table)
                .and_where(Expr::col(CommandStatuses::RequestId).is_in(chunk.iter().copied()))
                .group_by_columns([CommandStatuses::RequestId, CommandStatuses::State])
                .to_owned();
            let rows: Vec<(Uuid, String, i64)> = self.fetch_all(&stmt).await?;
            for (request, state, n) in rows {
                totals
                    .entry(request)
                    .or_default()
                    .push((state, u64::try_from(n).unwrap_or(0)));
            }
        }
        for list in totals.values_mut() {
            // In the order a command moves, so the first is the least advanced.
            list.sort_by_key(|(s, _)| {
                CommandState::ALL
                    .iter()
                    .position(|x| x.name() == s)
                    .unwrap_or(usize::MAX)
            });
        }
        Ok(totals)
    }

    /// The rows of one request, in creation order, filtered by device and state.
    pub async fn command_statuses(
        &self,
        enterprise_id: Uuid,
        request_id: Uuid,
        device: Option<Uuid>,
        state: Option<CommandState>,
        page: PageRequest,
    ) -> Result<(u64, Vec<CommandStatus>)> {
        self.command_request(enterprise_id, request_id).await?;
        let mut cond = Cond::all().add(Expr::col(CommandStatuses::RequestId).eq(request_id));
        if let Some(d) = device {
            cond = cond.add(Expr::col(CommandStatuses::DeviceId).eq(d));
        }
        if let Some(s) = state {
            cond = cond.add(Expr::col(CommandStatuses::State).eq(s.name()));
        }
        self.status_page(cond, Order::Asc, page).await
    }

    /// A device's commands, newest first, filtered by state.
    pub async fn device_command_history(
        &self,
        enterprise_id: Uuid,
        device_id: Uuid,
        state: Option<CommandState>,
        page: PageRequest,
    ) -> Result<(u64, Vec<CommandStatus>)> {
        self.device(enterprise_id, device_id).await?;
        let mut cond = Cond::all()
            .add(Expr::col(CommandStatuses::EnterpriseId).eq(enterprise_id))
            .add(Expr::col(CommandStatuses::DeviceId).eq(device_id));
        if let Some(s) = state {
            cond = cond.add(Expr::col(CommandStatuses::State).eq(s.name()));
        }
        self.status_page(cond, Order::Desc, page).await
    }

    async fn status_page(
        &self,
        cond: Cond,
        order: Order,
        page: PageRequest,
    ) -> Result<(u64, Vec<CommandStatus>)> {
        let count = Query::select()
            .expr(Expr::col(CommandStatuses::Id).count())
            .from(CommandStatuses::Table)
            .cond_where(cond.clone())
            .to_owned();
        let total = self.count(&count).await?;
        let stmt = Query::select()
            .columns(STATUS_COLUMNS)
            .from(CommandStatuses::Table)
            .cond_where(cond)
            .order_by(CommandStatuses::Id, order)
            .limit(page.limit)
            .offset(page.offset)
            .to_owned();
        Ok((total, self.fetch_all(&stmt).await?))
    }

    /// Every row of a request (legacy group commands summarise them).
    pub async fn all_command_statuses(&self, request_id: Uuid) -> Result<Vec<CommandStatus>> {
        let stmt = Query::select()
            .columns(STATUS_COLUMNS)
            .from(CommandStatuses::Table)
            .and_where(Expr::col(CommandStatuses::RequestId).eq(request_id))
            .order_by(CommandStatuses::Id, Order::Asc)
            .to_owned();
        self.fetch_all(&stmt).await
    }

    /// Cancels one waiting row; 400 when it has already gone to the device or ended.
    pub async fn cancel_command_status(
        &self,
        enterprise_id: Uuid,
        request_id: Uuid,
        status_id: Uuid,
    ) -> Result<CommandStatus> {
        let find = Query::select()
            .columns(STATUS_COLUMNS)
            .from(CommandStatuses::Table)
            .and_where(Expr::col(CommandStatuses::EnterpriseId).eq(enterprise_id))
            .and_where(Expr::col(CommandStatuses::RequestId).eq(request_id))
            .and_where(Expr::col(CommandStatuses::Id).eq(status_id))
            .to_owned();
        let mut tx = self.begin().await?;
        let row: CommandStatus = tx
            .fetch_optional(&find)
            .await?
            .ok_or(StoreError::NotFound("command status"))?;
        if !row
            .state()
            .is_some_and(|s| s.can_become(CommandState::Cancelled))
        {
            return Err(Invalid::field(
                "action",
                format!(
                    "only queued or scheduled commands can be cancelled; this one is {:?}",
                    row.state
                ),
            )
            .into());
        }
        let stmt = cancel_statement(Cond::all().add(Expr::col(CommandStatuses::Id).eq(status_id)));
        tx.execute(&stmt).await?;
        settle_installs(&mut tx, Some(&[status_id])).await?;
        let row = tx
            .fetch_optional(&find)
            .await?
            .ok_or(StoreError::NotFound("command status"))?;
        tx.commit().await?;
        Ok(row)
    }

    /// Cancels every waiting row of a request; returns how many.
    pub async fn cancel_command_request(
        &self,
        enterprise_id: Uuid,
        request_id: Uuid,
    ) -> Result<u64> {
        self.command_request(enterprise_id, request_id).await?;
        let stmt = cancel_statement(
            Cond::all()
                .add(Expr::col(CommandStatuses::EnterpriseId).eq(enterprise_id))
                .add(Expr::col(CommandStatuses::RequestId).eq(request_id)),
        );
        let mut tx = self.begin().await?;
        let cancelled = tx.execute(&stmt).await?;
        settle_installs(&mut tx, None).await?;
        tx.commit().await?;
        Ok(cancelled)
    }

    /// Claims the queued rows of a request for devices connected to this node: they become
    /// `Command Initiated` with their timeout running, and are returned for sending. A row
    /// another node claimed first is left to it.
    pub async fn claim_request(
        &self,
        request_id: Uuid,
        connected: &(dyn Fn(Uuid) -> bool + Sync),
    ) -> Result<Vec<Delivery>> {
        let find = Query::select()
            .columns(REQUEST_COLUMNS)
            .from(CommandRequests::Table)
            .and_where(Expr::col(CommandRequests::Id).eq(request_id))
            .to_owned();
        let Some(request) = self.fetch_optional::<CommandRequest>(&find).await? else {
            return Ok(Vec::new());
        };
        let rows = Query::select()
            .columns([CommandStatuses::Id, CommandStatuses::DeviceId])
            .from(CommandStatuses::Table)
            .and_where(Expr::col(CommandStatuses::RequestId).eq(request_id))
            .and_where(Expr::col(CommandStatuses::State).eq(CommandState::Queued.name()))
            .to_owned();
        let rows: Vec<(Uuid, Uuid)> = self.fetch_all(&rows).await?;
        let local: Vec<Uuid> = rows
            .into_iter()
            .filter(|(_, device)| connected(*device))
            .map(|(id, _)| id)
            .collect();
        let args = request.args();
        let timeout = u64::try_from(request.timeout_secs).unwrap_or(0);
        let mut out = Vec::with_capacity(local.len());
        for chunk in local.chunks(CHUNK) {
            let mut tx = self.begin().await?;
            let claimed = mark_sent(&mut tx, chunk, timeout).await?;
            installs_sent(&mut tx, &request, &claimed).await?;
            tx.commit().await?;
            out.extend(claimed.into_iter().map(|(status_id, device_id)| Delivery {
                status_id,
                device_id,
                command: request.command.clone(),
                args: args.clone(),
                timeout_secs: timeout,
            }));
        }
        Ok(out)
    }

    /// What a device should get now: with `redeliver`, the rows already sent but not ended
    /// (a new connection may follow a lost one), then the queued rows and the scheduled rows
    /// whose window is open, claimed as `Command Initiated`. A scheduled row whose window
    /// turns out closed moves to its next opening.
    pub async fn claim_for_device(
        &self,
        device_id: Uuid,
        redeliver: bool,
        policy: &CommandPolicy,
    ) -> Result<Vec<Delivery>> {
        let at = now();
        let mut out = Vec::new();
        if redeliver {
            let stmt = device_rows(device_id)
                .and_where(Expr::col(CommandStatuses::State).is_in(sent_states()))
                .to_owned();
            let rows: Vec<CommandStatus> = self.fetch_all(&stmt).await?;
            let requests = self.requests_of(&rows).await?;
            for row in rows {
                if let Some(r) = requests.get(&row.request_id) {
                    out.push(delivery(&row, r));
                }
            }
        }
        let stmt = device_rows(device_id)
            .cond_where(
                Cond::any()
                    .add(Expr::col(CommandStatuses::State).eq(CommandState::Queued.name()))
                    .add(
                        Cond::all()
                            .add(
                                Expr::col(CommandStatuses::State)
                                    .eq(CommandState::Scheduled.name()),
                            )
                            .add(Expr::col(CommandStatuses::NotBefore).lte(at)),
                    ),
            )
            .limit(CHUNK as u64)
            .to_owned();
        let rows: Vec<CommandStatus> = self.fetch_all(&stmt).await?;
        if rows.is_empty() {
            return Ok(out);
        }
        let requests = self.requests_of(&rows).await?;
        let mut tx = self.begin().await?;
        for row in rows {
            let Some(request) = requests.get(&row.request_id) else {
                continue;
            };
            if row.state == CommandState::Scheduled.name()
                && let Some(schedule) = request.parsed_schedule()
            {
                let zone = row
                    .time_zone
                    .as_deref()
                    .and_then(|z| TimeZone::get(z).ok())
                    .unwrap_or_else(|| policy.console_zone.clone());
                let at_ts = to_timestamp(at);
                if !schedule.is_open(at_ts, &zone) {
                    let next = schedule.next_open(at_ts, &zone).map(to_offset);
                    reschedule(&mut tx, row.id, next, None).await?;
                    continue;
                }
            }
            let timeout = u64::try_from(request.timeout_secs).unwrap_or(0);
            let claimed = mark_sent(&mut tx, &[row.id], timeout).await?;
            if !claimed.is_empty() {
                installs_sent(&mut tx, request, &claimed).await?;
                out.push(delivery(&row, request));
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn requests_of(&self, rows: &[CommandStatus]) -> Result<HashMap<Uuid, CommandRequest>> {
        let mut ids: Vec<Uuid> = rows.iter().map(|r| r.request_id).collect();
        ids.sort();
        ids.dedup();
        let mut out = HashMap::new();
        for chunk in ids.chunks(CHUNK) {
            let stmt = Query::select()
                .columns(REQUEST_COLUMNS)
                .from(CommandRequests::Table)
                .and_where(Expr::col(CommandRequests::Id).is_in(chunk.iter().copied()))
                .to_owned();
            for r in self.fetch_all::<CommandRequest>(&stmt).await? {
                out.insert(r.id, r);
            }
        }
        Ok(out)
    }

    /// Online devices with a scheduled command whose time has come, or with a queued one
    /// that has waited more than a few seconds.
    pub async fn devices_with_due_commands(&self) -> Result<Vec<Uuid>> {
        let at = now();
        let stmt = Query::select()
            .distinct()
            .column((CommandStatuses::Table, CommandStatuses::DeviceId))
            .from(CommandStatuses::Table)
            .inner_join(
                Devices::Table,
                Expr::col((Devices::Table, Devices::Id))
                    .equals((CommandStatuses::Table, CommandStatuses::DeviceId)),
            )
            .cond_where(
                Cond::any()
                    .add(
                        Cond::all()
                            .add(
                                Expr::col((CommandStatuses::Table, CommandStatuses::State))
                                    .eq(CommandState::Scheduled.name()),
                            )
                            .add(
                                Expr::col((CommandStatuses::Table, CommandStatuses::NotBefore))
                                    .lte(at),
                            ),
                    )
                    // Queued rows a lost announcement left behind.
                    .add(
                        Cond::all()
                            .add(
                                Expr::col((CommandStatuses::Table, CommandStatuses::State))
                                    .eq(CommandState::Queued.name()),
                            )
                            .add(
                                Expr::col((CommandStatuses::Table, CommandStatuses::CreatedOn))
                                    .lte(at - time::Duration::seconds(5)),
                            ),
                    ),
            )
            .and_where(Expr::col((Devices::Table, Devices::Status)).eq(device_state::ACTIVE))
            .limit(10_000)
            .to_owned();
        let rows: Vec<(Uuid,)> = self.fetch_all(&stmt).await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Ends the rows past their deadline in `Command TimeOut`; a RECURRING command that was
    /// sent goes back to waiting for its next window instead, while its schedule lasts.
    /// Returns how many rows timed out.
    pub async fn expire_commands(&self) -> Result<u64> {
        let at = now();
        let mut tx = self.begin().await?;
        // Sent rows of RECURRING requests first: they may get another window.
        let recurring = Query::select()
            .columns(STATUS_COLUMNS.map(|c| (CommandStatuses::Table, c)))
            .from(CommandStatuses::Table)
            .inner_join(
                CommandRequests::Table,
                Expr::col((CommandRequests::Table, CommandRequests::Id))
                    .equals((CommandStatuses::Table, CommandStatuses::RequestId)),
            )
            .and_where(
                Expr::col((CommandRequests::Table, CommandRequests::Schedule))
                    .eq(ScheduleKind::Recurring.as_str()),
            )
            .and_where(
                Expr::col((CommandStatuses::Table, CommandStatuses::State)).is_in(sent_states()),
            )
            .and_where(Expr::col((CommandStatuses::Table, CommandStatuses::Deadline)).lte(at))
            .limit(CHUNK as u64)
            .to_owned();
        let rows: Vec<CommandStatus> = tx.fetch_all(&recurring).await?;
        for row in rows {
            let reason = "no result from the device in time".to_string();
            retry_or_end(&mut tx, &row, CommandState::TimeOut, Some(reason), None).await?;
        }
        let mut expired = 0;
        for (states, reason) in [
            (
                vec![CommandState::Queued.name(), CommandState::Scheduled.name()],
                "the command expired before the device could get it",
            ),
            (sent_states().to_vec(), "no result from the device in time"),
        ] {
            let stmt = Query::update()
                .table(CommandStatuses::Table)
                .value(CommandStatuses::State, CommandState::TimeOut.name())
                .value(CommandStatuses::Reason, reason)
                .value(CommandStatuses::UpdatedOn, at)
                .and_where(Expr::col(CommandStatuses::State).is_in(states))
                .and_where(Expr::col(CommandStatuses::Deadline).lte(at))
                .to_owned();
            expired += tx.execute(&stmt).await?;
        }
        settle_installs(&mut tx, None).await?;
        tx.commit().await?;
        Ok(expired)
    }
}

fn device_rows(device_id: Uuid) -> SelectStatement {
    Query::select()
        .columns(STATUS_COLUMNS)
        .from(CommandStatuses::Table)
        .and_where(Expr::col(CommandStatuses::DeviceId).eq(device_id))
        .order_by(CommandStatuses::Id, Order::Asc)
        .to_owned()
}

fn delivery(row: &CommandStatus, request: &CommandRequest) -> Delivery {
    Delivery {
        status_id: row.id,
        device_id: row.device_id,
        command: request.command.clone(),
        args: request.args(),
        timeout_secs: u64::try_from(request.timeout_secs).unwrap_or(0),
    }
}

fn cancel_statement(cond: Cond) -> sea_query::UpdateStatement {
    Query::update()
        .table(CommandStatuses::Table)
        .value(CommandStatuses::State, CommandState::Cancelled.name())
        .value(CommandStatuses::Reason, "cancelled by an operator")
        .value(CommandStatuses::UpdatedOn, now())
        .cond_where(cond)
        .and_where(Expr::col(CommandStatuses::State).is_in(predecessors(CommandState::Cancelled)))
        .to_owned()
}

/// Marks waiting rows as sent; returns `(id, device)` of those this call moved.
async fn mark_sent(tx: &mut Tx, ids: &[Uuid], timeout_secs: u64) -> Result<Vec<(Uuid, Uuid)>> {
    let at = now();
    let stmt = Query::update()
        .table(CommandStatuses::Table)
        .value(CommandStatuses::State, CommandState::Initiated.name())
        .value(CommandStatuses::SentOn, at)
        .value(CommandStatuses::UpdatedOn, at)
        .value(
            CommandStatuses::Deadline,
            after(at, Duration::from_secs(timeout_secs)),
        )
        .value(
            CommandStatuses::Attempts,
            Expr::col(CommandStatuses::Attempts).add(1),
        )
        .and_where(Expr::col(CommandStatuses::Id).is_in(ids.iter().copied()))
        .and_where(
            Expr::col(CommandStatuses::State)
                .is_in([CommandState::Queued.name(), CommandState::Scheduled.name()]),
        )
        .returning(Query::returning().columns([CommandStatuses::Id, CommandStatuses::DeviceId]))
        .to_owned();
    tx.fetch_all(&stmt).await
}

/// Puts a row back to waiting for `next` (or ends it in TimeOut when there is no next).
async fn reschedule(
    tx: &mut Tx,
    id: Uuid,
    next: Option<OffsetDateTime>,
    reason: Option<String>,
) -> Result<()> {
    let at = now();
    let mut stmt = Query::update()
        .table(CommandStatuses::Table)
        .value(CommandStatuses::UpdatedOn, at)
        .and_where(Expr::col(CommandStatuses::Id).eq(id))
        .to_owned();
    match next {
        Some(next) => {
            stmt.value(CommandStatuses::State, CommandState::Scheduled.name())
                .value(CommandStatuses::NotBefore, next);
        }
        None => {
            stmt.value(CommandStatuses::State, CommandState::TimeOut.name())
                .value(
                    CommandStatuses::Reason,
                    "the schedule ended before the command could run",
                );
        }
    }
    if let Some(reason) = reason {
        stmt.value(CommandStatuses::Reason, reason);
    }
    tx.execute(&stmt).await?;
    Ok(())
}

/// Ends a sent row in `end` (Failure or TimeOut) – unless its request is RECURRING and the
/// schedule has another window, where it waits for that window instead.
async fn retry_or_end(
    tx: &mut Tx,
    row: &CommandStatus,
    end: CommandState,
    reason: Option<String>,
    details: Option<String>,
) -> Result<()> {
    let find = Query::select()
        .columns(REQUEST_COLUMNS)
        .from(CommandRequests::Table)
        .and_where(Expr::col(CommandRequests::Id).eq(row.request_id))
        .to_owned();
    let request: Option<CommandRequest> = tx.fetch_optional(&find).await?;
    // The next window, and the schedule's end: the row waits until then again, so neither
    // the deadline of the attempt that just ended nor the timeout sweep can end it early.
    let next = request
        .filter(|r| r.schedule == ScheduleKind::Recurring.as_str())
        .and_then(|r| r.parsed_schedule())
        .and_then(|s| {
            let zone = row
                .time_zone
                .as_deref()
                .and_then(|z| TimeZone::get(z).ok())
                .unwrap_or(TimeZone::UTC);
            let next = s.next_window_after(to_timestamp(now()), &zone)?;
            Some((next, s.end(&zone)))
        });
    match next {
        Some((next, schedule_end)) => {
            let why = format!(
                "attempt {} ended in {}{}; next try at {next}",
                row.attempts,
                end.name(),
                reason.map(|r| format!(" ({r})")).unwrap_or_default()
            );
            let stmt = Query::update()
                .table(CommandStatuses::Table)
                .value(CommandStatuses::State, CommandState::Scheduled.name())
                .value(CommandStatuses::NotBefore, to_offset(next))
                .value(CommandStatuses::Deadline, to_offset(schedule_end))
                .value(CommandStatuses::Reason, why)
                .value(CommandStatuses::Details, details)
                .value(CommandStatuses::UpdatedOn, now())
                .and_where(Expr::col(CommandStatuses::Id).eq(row.id))
                .and_where(Expr::col(CommandStatuses::State).is_in(sent_states()))
                .to_owned();
            tx.execute(&stmt).await?;
        }
        None => {
            let stmt = Query::update()
                .table(CommandStatuses::Table)
                .value(CommandStatuses::State, end.name())
                .value(CommandStatuses::Reason, reason)
                .value(CommandStatuses::Details, details)
                .value(CommandStatuses::UpdatedOn, now())
                .and_where(Expr::col(CommandStatuses::Id).eq(row.id))
                .and_where(Expr::col(CommandStatuses::State).is_in(predecessors(end)))
                .to_owned();
            tx.execute(&stmt).await?;
        }
    }
    Ok(())
}

/// Applies what a device reported about one of its commands. Reports about another
/// device's rows, backward moves and reports on ended rows change nothing.
pub(crate) async fn command_update_in(
    tx: &mut Tx,
    device: DeviceIdentity,
    update: &CommandUpdate,
) -> Result<()> {
    if update.state == CommandState::Failure {
        let find = Query::select()
            .columns(STATUS_COLUMNS)
            .from(CommandStatuses::Table)
            .and_where(Expr::col(CommandStatuses::Id).eq(update.status_id))
            .and_where(Expr::col(CommandStatuses::DeviceId).eq(device.id))
            .and_where(Expr::col(CommandStatuses::State).is_in(sent_states()))
            .to_owned();
        if let Some(row) = tx.fetch_optional::<CommandStatus>(&find).await? {
            retry_or_end(
                tx,
                &row,
                CommandState::Failure,
                update.reason.clone(),
                update.details.clone(),
            )
            .await?;
            settle_installs(tx, Some(&[update.status_id])).await?;
        }
        return Ok(());
    }
    let mut stmt = Query::update()
        .table(CommandStatuses::Table)
        .value(CommandStatuses::State, update.state.name())
        .value(CommandStatuses::UpdatedOn, now())
        .and_where(Expr::col(CommandStatuses::Id).eq(update.status_id))
        .and_where(Expr::col(CommandStatuses::DeviceId).eq(device.id))
        .and_where(Expr::col(CommandStatuses::State).is_in(reported_predecessors(update.state)))
        .to_owned();
    if update.reason.is_some() {
        stmt.value(CommandStatuses::Reason, update.reason.clone());
    }
    if update.details.is_some() {
        stmt.value(CommandStatuses::Details, update.details.clone());
    }
    let changed = tx.execute(&stmt).await?;
    if changed > 0 && update.state == CommandState::Success {
        settle_installs(tx, Some(&[update.status_id])).await?;
    }
    Ok(())
}

/// Applies reports that are not failures, each on a different row, with the same effect as
/// [`command_update_in`] on each but a few statements for all: a fan-out's devices report the
/// same states with the same reasons, and one statement per row was most of its cost.
pub(crate) async fn command_updates_in(
    tx: &mut Tx,
    updates: &[(DeviceIdentity, CommandUpdate)],
) -> Result<()> {
    let at = now();
    for chunk in updates.chunks(CHUNK) {
        // A device only reports on its own rows.
        let find = Query::select()
            .columns([CommandStatuses::Id, CommandStatuses::DeviceId])
            .from(CommandStatuses::Table)
            .and_where(Expr::col(CommandStatuses::Id).is_in(chunk.iter().map(|(_, u)| u.status_id)))
            .to_owned();
        let owners: HashMap<Uuid, Uuid> = tx
            .fetch_all::<(Uuid, Uuid)>(&find)
            .await?
            .into_iter()
            .collect();
        // Rows by the change they get: state, reason, details.
        type Change<'a> = (CommandState, Option<&'a str>, Option<&'a str>);
        let mut changes: HashMap<Change, Vec<Uuid>> = HashMap::new();
        for (device, u) in chunk {
            if owners.get(&u.status_id) == Some(&device.id) {
                changes
                    .entry((u.state, u.reason.as_deref(), u.details.as_deref()))
                    .or_default()
                    .push(u.status_id);
            }
        }
        for ((state, reason, details), ids) in changes {
            let mut stmt = Query::update()
                .table(CommandStatuses::Table)
                .value(CommandStatuses::State, state.name())
                .value(CommandStatuses::UpdatedOn, at)
                .and_where(Expr::col(CommandStatuses::Id).is_in(ids.iter().copied()))
                .and_where(Expr::col(CommandStatuses::State).is_in(reported_predecessors(state)))
                .to_owned();
            if let Some(reason) = reason {
                stmt.value(CommandStatuses::Reason, reason);
            }
            if let Some(details) = details {
                stmt.value(CommandStatuses::Details, details);
            }
            let changed = tx.execute(&stmt).await?;
            if changed > 0 && state == CommandState::Success {
                settle_installs(tx, Some(&ids)).await?;
            }
        }
    }
    Ok(())
}

impl Store {
    /// The row of one request for one device.
    pub async fn command_status_of(
        &self,
        request_id: Uuid,
        device_id: Uuid,
    ) -> Result<Option<CommandStatus>> {
        let stmt = Query::select()
            .columns(STATUS_COLUMNS)
            .from(CommandStatuses::Table)
            .and_where(Expr::col(CommandStatuses::RequestId).eq(request_id))
            .and_where(Expr::col(CommandStatuses::DeviceId).eq(device_id))
            .to_owned();
        self.fetch_optional(&stmt).await
    }

    /// Devices' names by id.
    pub async fn device_names(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, String>> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(CHUNK) {
            let stmt = Query::select()
                .columns([Devices::Id, Devices::DeviceName])
                .from(Devices::Table)
                .and_where(Expr::col(Devices::Id).is_in(chunk.iter().copied()))
                .to_owned();
            let rows: Vec<(Uuid, String)> = self.fetch_all(&stmt).await?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// Ids of every open row (tests and crash checks).
    pub async fn open_command_count(&self) -> Result<u64> {
        let stmt = Query::select()
            .expr(Expr::col(CommandStatuses::Id).count())
            .from(CommandStatuses::Table)
            .and_where(Expr::col(CommandStatuses::State).is_in(open_states()))
            .to_owned();
        self.count(&stmt).await
    }
}
