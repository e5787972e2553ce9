//! The command queue in storage, on every backend: fan-out, claims, FIFO, reports, timeouts,
//! recurring retries and cancels.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::time::Duration;

use serde_json::{Map, json};
use steward_core::command_state::CommandState;
use steward_core::pagination::PageRequest;
use steward_store::commands::{
    CommandPolicy, CommandType, CommandUpdate, DeviceType, NewCommand, Origin, ScheduleKind,
};
use steward_store::devices::{DeviceIdentity, state};
use steward_store::reports::DeviceReport;
use steward_store::{Store, testing};
use uuid::Uuid;

/// A short command timeout and how soon a window opens: long enough for a few checks before,
/// short enough for a quick test. And how long past either a test waits for its effect at most.
const TIMEOUT: Duration = Duration::from_secs(2);
const OPENS_IN: Duration = Duration::from_secs(2);
const LIMIT: Duration = Duration::from_secs(20);
/// Room for the database's rounding of stored times.
const SLACK: Duration = Duration::from_millis(5);

fn page() -> PageRequest {
    PageRequest {
        limit: 100,
        offset: 0,
    }
}

fn command(name: &str, devices: Vec<Uuid>) -> NewCommand {
    NewCommand {
        origin: Origin::V2,
        command_type: CommandType::Device,
        device_type: DeviceType::All,
        command: name.into(),
        command_args: Map::new(),
        schedule: ScheduleKind::Immediate,
        schedule_args: None,
        devices,
        groups: Vec::new(),
        issued_by: None,
        timeout: Duration::from_secs(600),
    }
}

async fn online(store: &Store, ids: &[Uuid]) {
    store
        .touch_devices(ids, steward_store::now())
        .await
        .unwrap();
}

async fn report(store: &Store, e: Uuid, device: Uuid, status_id: Uuid, state: CommandState) {
    store
        .apply_reports(&[DeviceReport::Command {
            device: DeviceIdentity {
                id: device,
                enterprise_id: e,
            },
            update: CommandUpdate {
                status_id,
                state,
                reason: None,
                details: None,
            },
        }])
        .await
        .unwrap();
}

async fn state_of(store: &Store, request: Uuid, device: Uuid) -> String {
    store
        .command_status_of(request, device)
        .await
        .unwrap()
        .unwrap()
        .state
}

#[tokio::test]
async fn a_request_fans_out_and_each_row_is_claimed_once_in_order() {
    for db in testing::backends().await {
        let store = &db.store;
        let policy = CommandPolicy::default();
        let e = store.create_enterprise("E").await.unwrap().id;
        let g = store.create_group(e, "G", None, &[]).await.unwrap().row.id;
        let mut devices = Vec::new();
        for i in 0..5 {
            devices.push(
                store
                    .create_device(e, &format!("d{i}"), Some(g))
                    .await
                    .unwrap()
                    .id,
            );
        }
        let lone = store.create_device(e, "lone", None).await.unwrap().id;
        online(store, &devices[..3]).await;

        // GROUP, active only: the three online members.
        let mut new = command("LOCK", Vec::new());
        new.command_type = CommandType::Group;
        new.groups = vec![g];
        new.device_type = DeviceType::Active;
        let active = store.create_command(e, new.clone(), &policy).await.unwrap();
        // DYNAMIC, all: the group's five and the lone device, each once.
        new.command_type = CommandType::Dynamic;
        new.devices = vec![lone, devices[0]];
        new.device_type = DeviceType::All;
        let dynamic = store.create_command(e, new.clone(), &policy).await.unwrap();
        new.device_type = DeviceType::Inactive;
        let inactive = store.create_command(e, new, &policy).await.unwrap();
        let totals = store
            .command_totals(&[active.id, dynamic.id, inactive.id])
            .await
            .unwrap();
        assert_eq!(totals[&active.id], vec![("Command Queued".to_string(), 3)]);
        assert_eq!(totals[&dynamic.id], vec![("Command Queued".to_string(), 6)]);
        assert_eq!(
            totals[&inactive.id],
            vec![("Command Queued".to_string(), 3)]
        );

        // Claims: only connected devices, each row once even when claimed twice.
        let connected = |d: Uuid| d == devices[0] || d == devices[1];
        assert_eq!(
            store
                .claim_request(active.id, &connected)
                .await
                .unwrap()
                .len(),
            2
        );
        let first = store.claim_request(dynamic.id, &connected).await.unwrap();
        assert_eq!(first.len(), 2);
        assert!(
            store
                .claim_request(dynamic.id, &connected)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            state_of(store, dynamic.id, devices[0]).await,
            "Command Initiated"
        );

        // A device's own claim on reconnecting: what was sent and not finished, in order.
        let mine = store
            .claim_for_device(devices[0], true, &policy)
            .await
            .unwrap();
        let commands: Vec<Uuid> = mine.iter().map(|d| d.status_id).collect();
        assert_eq!(mine.len(), 2, "{mine:?}");
        assert_eq!(
            mine[1].status_id,
            first
                .iter()
                .find(|d| d.device_id == devices[0])
                .unwrap()
                .status_id
        );
        assert!(commands[0] < commands[1], "creation order");
        assert!(
            store
                .claim_for_device(devices[0], false, &policy)
                .await
                .unwrap()
                .is_empty()
        );
        // The lone device's rows wait; claiming them for it takes them in order.
        let lone_rows = store.claim_for_device(lone, false, &policy).await.unwrap();
        assert_eq!(lone_rows.len(), 2, "dynamic and inactive");
        assert!(lone_rows[0].status_id < lone_rows[1].status_id);

        // Reports move rows forward only; another device cannot report on them.
        let row = mine[1].status_id;
        report(store, e, devices[1], row, CommandState::Success).await;
        assert_eq!(
            state_of(store, dynamic.id, devices[0]).await,
            "Command Initiated"
        );
        report(store, e, devices[0], row, CommandState::InProgress).await;
        report(store, e, devices[0], row, CommandState::Acknowledged).await;
        assert_eq!(
            state_of(store, dynamic.id, devices[0]).await,
            "Command In Progress"
        );
        report(store, e, devices[0], row, CommandState::Success).await;
        report(store, e, devices[0], row, CommandState::Failure).await;
        assert_eq!(
            state_of(store, dynamic.id, devices[0]).await,
            "Command Success"
        );

        // Listing, filtering and history.
        let (n, _) = store
            .command_statuses(e, dynamic.id, None, Some(CommandState::Queued), page())
            .await
            .unwrap();
        assert_eq!(
            n, 3,
            "six, less two claimed by the node and one by the lone device"
        );
        let (n, history) = store
            .device_command_history(e, devices[0], None, page())
            .await
            .unwrap();
        assert_eq!(n, 2);
        assert!(history[0].id > history[1].id, "newest first");
        let other = store.create_enterprise("Other").await.unwrap().id;
        assert!(store.command_request(other, dynamic.id).await.is_err());
        assert!(
            store
                .command_statuses(other, dynamic.id, None, None, page())
                .await
                .is_err()
        );
    }
}

#[tokio::test]
async fn sent_rows_time_out_and_waiting_rows_cancel() {
    for db in testing::backends().await {
        let store = &db.store;
        let policy = CommandPolicy::default();
        let e = store.create_enterprise("E").await.unwrap().id;
        let d = store.create_device(e, "d", None).await.unwrap().id;
        let mut quick = command("REBOOT", vec![d]);
        quick.timeout = TIMEOUT;
        let sent = store.create_command(e, quick, &policy).await.unwrap();
        let waiting = store
            .create_command(e, command("LOCK", vec![d]), &policy)
            .await
            .unwrap();
        let connected = |x: Uuid| x == d;
        let before_claim = time::OffsetDateTime::now_utc();
        assert_eq!(
            store
                .claim_request(sent.id, &connected)
                .await
                .unwrap()
                .len(),
            1
        );
        // Swept until it times out: never by a sweep that ended before its time was up.
        loop {
            let expired = store.expire_commands().await.unwrap();
            let ended = time::OffsetDateTime::now_utc();
            if ended < before_claim + TIMEOUT - SLACK {
                assert_eq!(expired, 0, "timed out after {}", ended - before_claim);
            }
            if expired > 0 {
                assert_eq!(expired, 1);
                break;
            }
            assert!(ended < before_claim + TIMEOUT + LIMIT, "never timed out");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let row = store.command_status_of(sent.id, d).await.unwrap().unwrap();
        assert_eq!(row.state, "Command TimeOut");
        assert!(row.reason.unwrap().contains("in time"));
        // A stuck command never blocks the next: LOCK is still deliverable.
        let next = store.claim_for_device(d, false, &policy).await.unwrap();
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].command, "LOCK");
        // Sent: no longer cancellable. Waiting: cancellable once.
        let row = store
            .command_status_of(waiting.id, d)
            .await
            .unwrap()
            .unwrap();
        assert!(
            store
                .cancel_command_status(e, waiting.id, row.id)
                .await
                .is_err()
        );
        let third = store
            .create_command(e, command("LOCK", vec![d]), &policy)
            .await
            .unwrap();
        assert_eq!(store.cancel_command_request(e, third.id).await.unwrap(), 1);
        assert_eq!(store.cancel_command_request(e, third.id).await.unwrap(), 0);
        assert_eq!(state_of(store, third.id, d).await, "Command Cancelled");
        assert!(
            store
                .claim_for_device(d, false, &policy)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn schedules_wait_for_windows_and_recurring_retries_in_the_next() {
    for db in testing::backends().await {
        let store = &db.store;
        let policy = CommandPolicy::default();
        let e = store.create_enterprise("E").await.unwrap().id;
        let d = store.create_device(e, "d", None).await.unwrap().id;
        online(store, &[d]).await;
        let now = time::OffsetDateTime::now_utc();
        let fmt = |t: time::OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        };
        // A window opening tomorrow: Scheduled, not claimable now.
        let mut later = command("NOTIFY_DEVICE", vec![d]);
        later.schedule = ScheduleKind::Window;
        later.schedule_args = json!({"start_datetime": fmt(now + time::Duration::days(1)),
                                     "end_datetime": fmt(now + time::Duration::days(2))})
        .as_object()
        .cloned();
        let later = store.create_command(e, later, &policy).await.unwrap();
        let row = store.command_status_of(later.id, d).await.unwrap().unwrap();
        assert_eq!(row.state, "Command Scheduled");
        assert!(row.not_before.unwrap() > now);
        assert!(
            store
                .claim_for_device(d, false, &policy)
                .await
                .unwrap()
                .is_empty()
        );

        // RECURRING, open now with daily whole-day windows: a failure waits for tomorrow.
        let mut recurring = command("UPDATE_HEARTBEAT", vec![d]);
        recurring.schedule = ScheduleKind::Recurring;
        recurring.schedule_args = json!({"start_datetime": fmt(now - time::Duration::hours(1)),
                                         "end_datetime": fmt(now + time::Duration::days(3))})
        .as_object()
        .cloned();
        let recurring = store.create_command(e, recurring, &policy).await.unwrap();
        let got = store.claim_for_device(d, false, &policy).await.unwrap();
        assert_eq!(got.len(), 1, "{got:?}");
        report(store, e, d, got[0].status_id, CommandState::Failure).await;
        let row = store
            .command_status_of(recurring.id, d)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.state, "Command Scheduled", "{row:?}");
        assert!(row.reason.as_deref().unwrap().contains("attempt 1"));
        // The next window opens at the next midnight (UTC, the console's zone): not before the
        // midnight after `now`, whatever the time of day the test runs at.
        let next_window = row.not_before.unwrap();
        let midnight_after_now = now.date().next_day().unwrap().midnight().assume_utc();
        assert_eq!(next_window.time(), time::Time::MIDNIGHT, "{row:?}");
        assert!(next_window >= midnight_after_now, "{row:?}");
        assert!(
            next_window <= midnight_after_now + time::Duration::days(1),
            "{row:?}"
        );
        assert_eq!(row.attempts, 1);
        // The attempt's deadline is gone with it: the sweep leaves the row waiting.
        assert!(
            row.deadline.unwrap() > now + time::Duration::days(2),
            "{row:?}"
        );
        store.expire_commands().await.unwrap();
        assert_eq!(
            state_of(store, recurring.id, d).await,
            "Command Scheduled",
            "{}",
            db.label()
        );

        // A RECURRING attempt the device never answers: the sweep ends the attempt, not the
        // command, which waits for the next window too.
        let mut silent = command("UPDATE_HEARTBEAT", vec![d]);
        silent.schedule = ScheduleKind::Recurring;
        silent.timeout = Duration::from_secs(1);
        silent.schedule_args = json!({"start_datetime": fmt(now - time::Duration::hours(1)),
                                      "end_datetime": fmt(now + time::Duration::days(3))})
        .as_object()
        .cloned();
        let silent = store.create_command(e, silent, &policy).await.unwrap();
        let got = store.claim_for_device(d, false, &policy).await.unwrap();
        assert_eq!(got.len(), 1, "{got:?}");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        for _ in 0..2 {
            store.expire_commands().await.unwrap();
        }
        let row = store
            .command_status_of(silent.id, d)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.state, "Command Scheduled", "{row:?}");
        assert!(
            row.reason.as_deref().unwrap().contains("Command TimeOut"),
            "{row:?}"
        );
        assert!(row.not_before.unwrap() >= midnight_after_now, "{row:?}");

        // A schedule already over in every zone is refused.
        let mut over = command("LOCK", vec![d]);
        over.schedule = ScheduleKind::Window;
        over.schedule_args = json!({"start_datetime": "2020-01-01T00:00:00Z",
                                    "end_datetime": "2020-01-02T00:00:00Z"})
        .as_object()
        .cloned();
        assert!(store.create_command(e, over, &policy).await.is_err());
        assert_eq!(state::ACTIVE, 1);
    }
}

#[tokio::test]
async fn a_window_opening_soon_becomes_due_and_claimable() {
    for db in testing::backends().await {
        let store = &db.store;
        let policy = CommandPolicy::default();
        let e = store.create_enterprise("E").await.unwrap().id;
        let d = store.create_device(e, "d", None).await.unwrap().id;
        online(store, &[d]).await;
        let fmt = |t: time::OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        };
        let start = time::OffsetDateTime::now_utc() + OPENS_IN;
        let mut soon = command("NOTIFY_DEVICE", vec![d]);
        soon.schedule = ScheduleKind::Window;
        soon.schedule_args = json!({"name": "soon", "start_datetime": fmt(start),
            "end_datetime": fmt(start + time::Duration::hours(1)), "time_type": "console",
            "days": ["All days"]})
        .as_object()
        .cloned();
        store.create_command(e, soon, &policy).await.unwrap();
        // Polled until due: never due to a look that ended before the window opened.
        loop {
            let due = store.devices_with_due_commands().await.unwrap();
            let ended = time::OffsetDateTime::now_utc();
            if ended < start - SLACK {
                assert!(due.is_empty(), "due {} early", start - ended);
            }
            if !due.is_empty() {
                assert_eq!(due, vec![d], "{}", db.label());
                break;
            }
            assert!(ended < start + LIMIT, "never due");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            store
                .claim_for_device(d, false, &policy)
                .await
                .unwrap()
                .len(),
            1
        );
    }
}

/// `time_type` `device`: the same WINDOW request opens at nine in the morning on each device's
/// own clock, so devices in different zones get different instants; a device that reported no
/// zone reads it in the console's. With `console`, one instant for all.
#[tokio::test]
async fn a_device_time_window_opens_at_each_devices_own_local_time() {
    use steward_store::devices::InventoryUpdate;
    use time::macros::format_description;
    for db in testing::backends().await {
        let store = &db.store;
        let policy = CommandPolicy::default();
        let e = store.create_enterprise("E").await.unwrap().id;
        let mut devices = Vec::new();
        for (name, zone) in [
            ("tokyo", Some("Asia/Tokyo")),
            ("bogota", Some("America/Bogota")),
            ("unset", None),
        ] {
            let id = store.create_device(e, name, None).await.unwrap().id;
            if let Some(zone) = zone {
                let who = DeviceIdentity {
                    id,
                    enterprise_id: e,
                };
                let inventory = InventoryUpdate {
                    software_info: json!({"timezone": zone}).to_string(),
                    ..InventoryUpdate::default()
                };
                assert!(store.update_inventory(who, inventory).await.unwrap());
            }
            devices.push(id);
        }
        // A day at least two days ahead (neither zone keeps daylight saving time).
        let day = (time::OffsetDateTime::now_utc() + time::Duration::days(2)).date();
        let day_text = day
            .format(format_description!("[year]-[month]-[day]"))
            .unwrap();
        let window = |time_type: &str| {
            let mut c = command("NOTIFY_DEVICE", devices.clone());
            c.schedule = ScheduleKind::Window;
            c.schedule_args = json!({"name": "morning", "time_type": time_type,
                "start_datetime": format!("{day_text}T09:00:00Z"),
                "end_datetime": format!("{day_text}T17:00:00Z")})
            .as_object()
            .cloned();
            c
        };
        let at_utc = |hour: u8, minute: u8| day.with_hms(hour, minute, 0).unwrap().assume_utc();

        let local = store
            .create_command(e, window("device"), &policy)
            .await
            .unwrap();
        let mut opens = Vec::new();
        for d in &devices {
            let row = store
                .command_status_of(local.id, *d)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(row.state, "Command Scheduled", "{row:?}");
            opens.push((
                row.time_zone.clone(),
                row.not_before.unwrap(),
                row.deadline.unwrap(),
            ));
        }
        // 09:00 in Tokyo (UTC+9) is 00:00 UTC; in Bogotá (UTC-5) 14:00 UTC; unset: UTC's 09:00.
        assert_eq!(
            opens,
            vec![
                (Some("Asia/Tokyo".to_string()), at_utc(0, 0), at_utc(8, 0)),
                (
                    Some("America/Bogota".to_string()),
                    at_utc(14, 0),
                    at_utc(22, 0)
                ),
                (Some("UTC".to_string()), at_utc(9, 0), at_utc(17, 0)),
            ],
            "{}",
            db.label()
        );
        assert_ne!(opens[0].1, opens[1].1);

        let console = store
            .create_command(e, window("console"), &policy)
            .await
            .unwrap();
        for d in &devices {
            let row = store
                .command_status_of(console.id, *d)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(row.not_before, Some(at_utc(9, 0)), "{row:?}");
        }
        assert!(store.devices_with_due_commands().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn install_rows_follow_their_commands_to_success_failure_and_timeout() {
    use steward_store::apps::{InstallFilter, ReportedApp};
    for db in testing::backends().await {
        let store = &db.store;
        let policy = CommandPolicy::default();
        let e = store.create_enterprise("E").await.unwrap().id;
        let d = store.create_device(e, "d", None).await.unwrap().id;
        let device = DeviceIdentity {
            id: d,
            enterprise_id: e,
        };
        let app = |package: &str, version: &str| ReportedApp {
            package_name: package.into(),
            app_name: package.into(),
            version_name: Some(version.into()),
            version_code: None,
        };
        store
            .replace_apps(device, &[app("bash", "5.2")])
            .await
            .unwrap();
        let installs = || async {
            store
                .app_installs(e, d, &InstallFilter::default(), page())
                .await
                .unwrap()
                .1
        };
        let version = Uuid::new_v4();
        let package_command = |name: &str, timeout: u64| {
            let mut c = command(name, vec![d]);
            c.command_args = json!({"app_version": version, "package_name": "kiosk",
                "application_name": "Kiosk", "version_name": "1.0", "version_code": "1"})
            .as_object()
            .cloned()
            .unwrap();
            c.timeout = Duration::from_secs(timeout);
            c
        };
        let connected = |x: Uuid| x == d;

        // Queued: nothing yet. Sent: in progress, with the package and version.
        let install = store
            .create_command(e, package_command("INSTALL", 600), &policy)
            .await
            .unwrap();
        assert!(installs().await.is_empty());
        let sent = store.claim_request(install.id, &connected).await.unwrap();
        let rows = installs().await;
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].install_state, "INSTALL_IN_PROGRESS");
        assert_eq!(rows[0].app_version_id, Some(version));
        assert_eq!(rows[0].application_name, "Kiosk");
        // The app list shows the package while the command runs: no second row.
        store
            .replace_apps(device, &[app("bash", "5.2"), app("kiosk", "1.0")])
            .await
            .unwrap();
        assert_eq!(installs().await.len(), 1);
        report(store, e, d, sent[0].status_id, CommandState::Success).await;
        let rows = installs().await;
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].install_state, "INSTALL_SUCCESS");

        // A failed removal keeps the device's reason.
        let uninstall = store
            .create_command(e, package_command("UNINSTALL", 600), &policy)
            .await
            .unwrap();
        let sent = store.claim_request(uninstall.id, &connected).await.unwrap();
        assert_eq!(installs().await[0].install_state, "UNINSTALL_IN_PROGRESS");
        store
            .apply_reports(&[DeviceReport::Command {
                device,
                update: CommandUpdate {
                    status_id: sent[0].status_id,
                    state: CommandState::Failure,
                    reason: Some("dpkg: dependency problems prevent removal of kiosk".into()),
                    details: None,
                },
            }])
            .await
            .unwrap();
        let rows = installs().await;
        assert_eq!(rows[0].install_state, "UNINSTALL_FAILED");
        assert_eq!(
            rows[0].reason_details.as_deref(),
            Some("dpkg: dependency problems prevent removal of kiosk")
        );

        // A device that never answers: the timeout fails the install, with a reason.
        let stuck = store
            .create_command(e, package_command("INSTALL", 1), &policy)
            .await
            .unwrap();
        store.claim_request(stuck.id, &connected).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(store.expire_commands().await.unwrap(), 1);
        let rows = installs().await;
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].install_state, "INSTALL_FAILED");
        assert!(
            rows[0]
                .reason_details
                .as_deref()
                .unwrap()
                .contains("in time"),
            "{:?}",
            rows[0].reason_details
        );
        // Other commands record no installs.
        let lock = store
            .create_command(e, command("LOCK", vec![d]), &policy)
            .await
            .unwrap();
        store.claim_request(lock.id, &connected).await.unwrap();
        assert_eq!(installs().await.len(), 3);
    }
}

#[tokio::test]
async fn reports_on_one_row_in_one_batch_end_as_if_applied_one_by_one() {
    for db in testing::backends().await {
        let store = &db.store;
        let policy = CommandPolicy::default();
        let e = store.create_enterprise("E").await.unwrap().id;
        let d = store.create_device(e, "d", None).await.unwrap().id;
        let other = store.create_device(e, "other", None).await.unwrap().id;
        let mut requests = Vec::new();
        for _ in 0..4 {
            requests.push(
                store
                    .create_command(e, command("LOCK", vec![d]), &policy)
                    .await
                    .unwrap(),
            );
        }
        let sent = store.claim_for_device(d, false, &policy).await.unwrap();
        assert_eq!(sent.len(), 4);
        let me = DeviceIdentity {
            id: d,
            enterprise_id: e,
        };
        let update =
            |status_id, state, reason: Option<&str>, details: Option<&str>| DeviceReport::Command {
                device: me,
                update: CommandUpdate {
                    status_id,
                    state,
                    reason: reason.map(str::to_string),
                    details: details.map(str::to_string),
                },
            };
        let spoof = DeviceReport::Command {
            device: DeviceIdentity {
                id: other,
                enterprise_id: e,
            },
            update: CommandUpdate {
                status_id: sent[3].status_id,
                state: CommandState::Success,
                reason: None,
                details: None,
            },
        };
        store
            .apply_reports(&[
                // Acknowledged then Success: Success, with the details of either.
                update(
                    sent[0].status_id,
                    CommandState::Acknowledged,
                    None,
                    Some("{\"a\":1}"),
                ),
                update(sent[0].status_id, CommandState::Success, Some("done"), None),
                // Success then a late In Progress: still Success.
                update(sent[1].status_id, CommandState::Success, None, None),
                update(
                    sent[1].status_id,
                    CommandState::InProgress,
                    Some("late"),
                    None,
                ),
                // In Progress then Acknowledged: In Progress.
                update(sent[2].status_id, CommandState::InProgress, None, None),
                update(sent[2].status_id, CommandState::Acknowledged, None, None),
                // Another device's report on a row changes nothing, also next to the owner's.
                update(sent[3].status_id, CommandState::Acknowledged, None, None),
                spoof,
            ])
            .await
            .unwrap();
        let row = |i: usize| store.command_status_of(requests[i].id, d);
        let first = row(0).await.unwrap().unwrap();
        assert_eq!(first.state, "Command Success", "{}", db.label());
        assert_eq!(first.reason.as_deref(), Some("done"));
        assert_eq!(first.details.as_deref(), Some("{\"a\":1}"));
        let second = row(1).await.unwrap().unwrap();
        assert_eq!(second.state, "Command Success");
        assert_eq!(second.reason, None);
        assert_eq!(row(2).await.unwrap().unwrap().state, "Command In Progress");
        assert_eq!(row(3).await.unwrap().unwrap().state, "Command Acknowledged");
    }
}
