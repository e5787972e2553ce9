//! Devices in storage, on every backend.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use steward_core::pagination::PageRequest;
use steward_store::apps::{AppFilter, InstallFilter, ReportedApp};
use steward_store::devices::{Device, DeviceFilter, Enrollment, InventoryUpdate, state};
use steward_store::enrollment::NewEnrollmentToken;
use steward_store::{Store, StoreError, now, testing};
use uuid::Uuid;

fn page() -> PageRequest {
    PageRequest {
        limit: 100,
        offset: 0,
    }
}

fn enrollment(name: &str) -> Enrollment {
    Enrollment {
        device_name: name.into(),
        serial: Some(format!("SN-{name}")),
        manufacturer: Some("Elo Touch".into()),
        ..Enrollment::default()
    }
}

fn app(pkg: &str, version: &str) -> ReportedApp {
    ReportedApp {
        package_name: pkg.into(),
        app_name: pkg.to_uppercase(),
        version_name: Some(version.into()),
        version_code: None,
    }
}

#[tokio::test]
async fn enrolment_tokens_limit_expire_and_revoke() {
    for db in testing::backends().await {
        let store = &db.store;
        let e = store.create_enterprise("E").await.unwrap().id;
        let g = store
            .create_group(e, "Tills", None, &[])
            .await
            .unwrap()
            .row
            .id;
        let (token, secret) = store
            .create_enrollment_token(
                e,
                NewEnrollmentToken {
                    name: "tills".into(),
                    group_id: Some(g),
                    max_uses: Some(2),
                    expires_on: None,
                },
            )
            .await
            .unwrap();
        assert!(secret.starts_with("enr_") && secret.starts_with(&token.prefix));

        let (d1, cred1) = store
            .enroll_device(&secret, &enrollment("a"))
            .await
            .unwrap();
        assert_eq!((d1.enterprise_id, d1.group_id), (e, Some(g)));
        assert_eq!(d1.status, state::INACTIVE);
        assert!(cred1.starts_with("dev_"));
        store
            .enroll_device(&secret, &enrollment("b"))
            .await
            .unwrap();
        let err = store
            .enroll_device(&secret, &enrollment("c"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("used up"), "{err}");
        assert_eq!(store.enrollment_token(e, token.id).await.unwrap().uses, 2);

        let who = store.authenticate_device(&cred1).await.unwrap().unwrap();
        assert_eq!((who.id, who.enterprise_id), (d1.id, e));
        assert!(
            store
                .authenticate_device("dev_nope")
                .await
                .unwrap()
                .is_none()
        );

        let (expired, s2) = store
            .create_enrollment_token(
                e,
                NewEnrollmentToken {
                    name: "old".into(),
                    expires_on: Some(now() - time::Duration::seconds(1)),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(
            store
                .enroll_device(&s2, &enrollment("x"))
                .await
                .unwrap_err()
                .to_string()
                .contains("expired")
        );
        let (_, s3) = store
            .create_enrollment_token(
                e,
                NewEnrollmentToken {
                    name: "r".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let (t3, _) = (
            store.enrollment_tokens(Some(e)).await.unwrap()[0].clone(),
            (),
        );
        store.revoke_enrollment_token(Some(e), t3.id).await.unwrap();
        assert!(
            store
                .enroll_device(&s3, &enrollment("y"))
                .await
                .unwrap_err()
                .to_string()
                .contains("revoked")
        );
        assert!(
            store
                .enroll_device("enr_unknown", &enrollment("z"))
                .await
                .is_err()
        );
        // Another enterprise cannot revoke it; an unknown id is not found.
        let other = store.create_enterprise("O").await.unwrap().id;
        assert!(matches!(
            store.revoke_enrollment_token(Some(other), expired.id).await,
            Err(StoreError::NotFound(_))
        ));
        // A group of another enterprise cannot be bound.
        let theirs = store
            .create_group(other, "T", None, &[])
            .await
            .unwrap()
            .row
            .id;
        assert!(
            store
                .create_enrollment_token(
                    e,
                    NewEnrollmentToken {
                        name: "x".into(),
                        group_id: Some(theirs),
                        ..Default::default()
                    }
                )
                .await
                .is_err()
        );
    }
}

#[tokio::test]
async fn presence_goes_active_then_inactive_after_silence() {
    for db in testing::backends().await {
        let store = &db.store;
        let e = store.create_enterprise("E").await.unwrap().id;
        let (_, secret) = store
            .create_enrollment_token(
                e,
                NewEnrollmentToken {
                    name: "t".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let (d, cred) = store
            .enroll_device(&secret, &enrollment("a"))
            .await
            .unwrap();
        let who = store.authenticate_device(&cred).await.unwrap().unwrap();
        let t0 = now();
        store.device_connected(who, t0).await.unwrap();
        let live = store.device(e, d.id).await.unwrap();
        assert_eq!(live.status, state::ACTIVE);
        assert!(live.provisioned_on.is_some());
        // Not silent long enough: stays active.
        assert!(
            store
                .mark_inactive(t0 - time::Duration::seconds(30))
                .await
                .unwrap()
                .is_empty()
        );
        store.device_disconnected(who, t0).await.unwrap();
        let gone = store
            .mark_inactive(t0 + time::Duration::seconds(1))
            .await
            .unwrap();
        assert_eq!(gone.len(), 1);
        assert_eq!(store.device(e, d.id).await.unwrap().status, state::INACTIVE);
        store.touch_devices(&[d.id], now()).await.unwrap();
        assert_eq!(store.device(e, d.id).await.unwrap().status, state::ACTIVE);
        let (n, events) = store.device_events(e, d.id, page()).await.unwrap();
        let kinds: Vec<&str> = events.iter().map(|ev| ev.kind.as_str()).collect();
        assert_eq!(n, 4);
        assert_eq!(kinds, ["INACTIVE", "DISCONNECTED", "CONNECTED", "ENROLLED"]);
    }
}

#[tokio::test]
async fn inventory_apps_status_and_filters() {
    for db in testing::backends().await {
        let store = &db.store;
        let e = store.create_enterprise("E").await.unwrap().id;
        let (_, secret) = store
            .create_enrollment_token(
                e,
                NewEnrollmentToken {
                    name: "t".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let (d, cred) = store
            .enroll_device(&secret, &enrollment("lobby-1"))
            .await
            .unwrap();
        let (d2, _) = store
            .enroll_device(&secret, &enrollment("lobby-10"))
            .await
            .unwrap();
        let who = store.authenticate_device(&cred).await.unwrap().unwrap();

        let inv = InventoryUpdate {
            imei: Some("490154203237518".into()),
            brand: Some("Zebra".into()),
            os_version: Some("12".into()),
            hardware_info: r#"{"manufacturer":"Zebra"}"#.into(),
            network_info: r#"{"interfaces":[{"macAddress":"02:00:00:aa:bb:cc"}]}"#.into(),
            ..InventoryUpdate::default()
        };
        assert!(store.update_inventory(who, inv.clone()).await.unwrap());
        assert!(
            !store.update_inventory(who, inv).await.unwrap(),
            "an unchanged report writes nothing"
        );

        // First app report: no installs recorded; later changes are.
        let first = store
            .replace_apps(who, &[app("a", "1"), app("b", "1")])
            .await
            .unwrap();
        assert_eq!(first.installed, 2);
        let (n, _) = store
            .app_installs(e, d.id, &InstallFilter::default(), page())
            .await
            .unwrap();
        assert_eq!(n, 0);
        let next = store
            .replace_apps(who, &[app("a", "2"), app("c", "1")])
            .await
            .unwrap();
        assert_eq!((next.installed, next.updated, next.removed), (1, 1, 1));
        let (n, installs) = store
            .app_installs(e, d.id, &InstallFilter::default(), page())
            .await
            .unwrap();
        assert_eq!(n, 3);
        assert!(
            installs
                .iter()
                .any(|i| i.package_name == "b" && i.install_state == "UNINSTALL_SUCCESS")
        );
        let (n, apps) = store
            .device_apps(e, d.id, &AppFilter::default(), page())
            .await
            .unwrap();
        assert_eq!(n, 2);
        assert_eq!(apps[0].version_name.as_deref(), Some("2"));
        let only = store.device_app(e, d.id, apps[0].id).await.unwrap();
        assert_eq!(only.package_name, "a");
        let (n, _) = store
            .device_apps(
                e,
                d.id,
                &AppFilter {
                    search: Some("C".into()),
                    ..Default::default()
                },
                page(),
            )
            .await
            .unwrap();
        assert_eq!(n, 1);

        // Status events: newest first, latest_only gives one.
        for level in [90.0, 80.0] {
            store
                .record_status(who, &serde_json::json!({"powerManagementEvent": {"batteryStatus": {"batteryLevel": level}}}), &serde_json::json!({"battery_level": level}), Some(level))
                .await
                .unwrap();
        }
        let (n, latest) = store.status_events(e, d.id, true, page()).await.unwrap();
        assert_eq!((n, latest.len()), (1, 1));
        assert!(latest[0].data.contains("80"));
        let (n, _) = store.status_events(e, d.id, false, page()).await.unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            store.device(e, d.id).await.unwrap().battery_level,
            Some(80.0)
        );

        // Filters.
        let find = |f: DeviceFilter| async move { store.devices(e, &f, page()).await.unwrap() };
        let (n, list) = find(DeviceFilter {
            name: Some("lobby-1".into()),
            ..Default::default()
        })
        .await;
        assert_eq!(n, 2);
        assert_eq!(list[0].id, d.id, "exact name first");
        assert_eq!(
            find(DeviceFilter {
                imei: Some("490154203237518".into()),
                ..Default::default()
            })
            .await
            .0,
            1
        );
        assert_eq!(
            find(DeviceFilter {
                serial: Some("SN-lobby-10".into()),
                ..Default::default()
            })
            .await
            .1[0]
                .id,
            d2.id
        );
        assert_eq!(
            find(DeviceFilter {
                brand: Some("zebra".into()),
                ..Default::default()
            })
            .await
            .0,
            1
        );
        assert_eq!(
            find(DeviceFilter {
                search: Some("AA:BB".into()),
                ..Default::default()
            })
            .await
            .0,
            1
        );
        assert_eq!(
            find(DeviceFilter {
                state: Some(state::ACTIVE),
                ..Default::default()
            })
            .await
            .0,
            0
        );
        assert_eq!(
            find(DeviceFilter {
                is_gms: Some(false),
                ..Default::default()
            })
            .await
            .0,
            2
        );
        store
            .update_device(
                e,
                d2.id,
                Some(Some("Front desk".into())),
                Some(vec!["lobby".into(), "floor-2".into()]),
            )
            .await
            .unwrap();
        assert_eq!(
            find(DeviceFilter {
                tags: Some("floor".into()),
                ..Default::default()
            })
            .await
            .0,
            1
        );
        assert_eq!(
            find(DeviceFilter {
                name: Some("front".into()),
                ..Default::default()
            })
            .await
            .0,
            1
        );

        // Delete: the credential stops working and the rows go.
        store.delete_device(e, d.id).await.unwrap();
        assert!(store.authenticate_device(&cred).await.unwrap().is_none());
        assert!(matches!(
            store
                .device_apps(e, d.id, &AppFilter::default(), page())
                .await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.delete_device(e, d.id).await,
            Err(StoreError::NotFound(_))
        ));
        let other = store.create_enterprise("O").await.unwrap().id;
        assert!(matches!(
            store.delete_device(other, d2.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.update_device(other, d2.id, None, None).await,
            Err(StoreError::NotFound(_))
        ));
        let _ = Uuid::nil();
    }
}

#[tokio::test]
async fn the_list_pages_exact_names_first_and_counts_what_this_node_wrote() {
    // Kept: every match's id is kept with the count (1,000), none (0), or a few (2: the
    // exact matches only, while there are at most two).
    for (db, kept) in testing::backends().await.into_iter().flat_map(|db| {
        let db = std::sync::Arc::new(db);
        [1_000, 0, 2].map(|kept| (db.clone(), kept))
    }) {
        let store = &db.store;
        store.keep_device_matches(kept);
        let e = store.create_enterprise("E").await.unwrap().id;
        // Partial matches of "kiosk" around two exact ones (one by alias).
        let mut ids = Vec::new();
        for name in ["kiosk-1", "Kiosk", "a-kiosk", "till", "kiosk-2", "x"] {
            ids.push(store.create_device(e, name, None).await.unwrap().id);
        }
        store
            .update_device(e, ids[5], Some(Some("KIOSK".into())), None)
            .await
            .unwrap();
        let named = DeviceFilter {
            name: Some("kiosk".into()),
            ..Default::default()
        };
        let mut seen = Vec::new();
        for offset in 0..6 {
            let (n, list) = store
                .devices(e, &named, PageRequest { limit: 1, offset })
                .await
                .unwrap();
            assert_eq!(n, 5, "offset {offset}");
            seen.extend(list.into_iter().map(|d| d.id));
        }
        // Exact (by name or alias) in id order, then the partial ones in id order.
        assert_eq!(seen, vec![ids[1], ids[5], ids[0], ids[2], ids[4]]);
        let (_, pages) = store
            .devices(
                e,
                &named,
                PageRequest {
                    limit: 3,
                    offset: 1,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            pages.iter().map(|d| d.id).collect::<Vec<_>>(),
            vec![ids[5], ids[0], ids[2]]
        );

        // A device created or deleted through this store shows in the very next count.
        let all = DeviceFilter::default();
        assert_eq!(store.devices(e, &all, page()).await.unwrap().0, 6);
        let new = store.create_device(e, "kiosk-3", None).await.unwrap();
        assert_eq!(store.devices(e, &all, page()).await.unwrap().0, 7);
        assert_eq!(store.devices(e, &named, page()).await.unwrap().0, 6);
        store.delete_device(e, new.id).await.unwrap();
        assert_eq!(store.devices(e, &all, page()).await.unwrap().0, 6);
        assert_eq!(store.devices(e, &named, page()).await.unwrap().0, 5);
        // So does a renamed one.
        store
            .update_device(e, ids[3], Some(Some("kiosk-till".into())), None)
            .await
            .unwrap();
        assert_eq!(store.devices(e, &named, page()).await.unwrap().0, 6);
        // The exact matches are kept with the count, and dropped with it: a device that
        // becomes an exact match is among them on the very next page.
        store
            .update_device(e, ids[3], Some(Some("kiosk".into())), None)
            .await
            .unwrap();
        let (_, first) = store
            .devices(
                e,
                &named,
                PageRequest {
                    limit: 3,
                    offset: 0,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            first.iter().map(|d| d.id).collect::<Vec<_>>(),
            vec![ids[1], ids[3], ids[5]],
            "{} keeping {kept}",
            db.label()
        );
    }
}

/// Another node's writes show within the cache's age; meanwhile a page never lists a device
/// that no longer matches or is gone, even though the ids of the matches were kept with the
/// count.
#[tokio::test]
async fn a_kept_match_changed_by_another_node_leaves_the_page() {
    for db in testing::backends().await {
        let store = &db.store;
        let other_node = Store::connect(&db.url).await.unwrap();
        let e = store.create_enterprise("E").await.unwrap().id;
        let mut ids = Vec::new();
        for name in ["a", "b", "c", "d"] {
            let id = store.create_device(e, name, None).await.unwrap().id;
            let tags = if name == "b" { "till" } else { "lobby" };
            store
                .update_device(e, id, None, Some(vec![tags.into()]))
                .await
                .unwrap();
            ids.push(id);
        }
        let lobby = DeviceFilter {
            tags: Some("lobby".into()),
            ..Default::default()
        };
        let listed = |list: Vec<Device>| list.into_iter().map(|d| d.id).collect::<Vec<_>>();
        let (n, list) = store.devices(e, &lobby, page()).await.unwrap();
        assert_eq!((n, listed(list)), (3, vec![ids[0], ids[2], ids[3]]));
        other_node
            .update_device(e, ids[0], None, Some(vec!["till".into()]))
            .await
            .unwrap();
        other_node.delete_device(e, ids[3]).await.unwrap();
        let (_, list) = store.devices(e, &lobby, page()).await.unwrap();
        assert_eq!(listed(list), vec![ids[2]], "{}", db.label());
        other_node.close().await;
    }
}
