//! Storage behaviour, run on every backend (SQLite always; PostgreSQL where a server answers,
//! which CI requires).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use steward_core::pagination::PageRequest;
use steward_store::enterprises::EnterpriseChanges;
use steward_store::groups::GroupFilter;
use steward_store::testing;
use steward_store::{StoreError, now};
use uuid::Uuid;

fn page(limit: u64, offset: u64) -> PageRequest {
    PageRequest { limit, offset }
}

fn is_invalid(e: &StoreError, field: &str) -> bool {
    matches!(e, StoreError::Invalid(inv) if inv.0.iter().any(|(f, _)| f == field))
}

#[tokio::test]
async fn both_backends_have_the_same_schema() {
    let sqlite = testing::sqlite().await;
    let Some(pg) = testing::postgres().await else {
        return;
    };
    let a = sqlite.store.schema_columns().await.unwrap();
    let b = pg.store.schema_columns().await.unwrap();
    assert!(!a.is_empty());
    let only_sqlite: Vec<_> = a.difference(&b).collect();
    let only_pg: Vec<_> = b.difference(&a).collect();
    assert!(
        only_sqlite.is_empty() && only_pg.is_empty(),
        "schemas differ: only in SQLite {only_sqlite:?}, only in PostgreSQL {only_pg:?}"
    );
}

#[tokio::test]
async fn migrations_are_idempotent() {
    for db in testing::backends().await {
        db.store.migrate().await.unwrap();
        db.store.ping().await.unwrap();
    }
}

#[tokio::test]
async fn enterprises_round_trip() {
    for db in testing::backends().await {
        let store = &db.store;
        let e = store.create_enterprise("Acme Kiosks").await.unwrap();
        assert_eq!(e.name, "Acme Kiosks");
        assert_eq!(e.short_code.len(), 8);
        assert_eq!(e.registered_name, None);
        assert_eq!(store.enterprise(e.id).await.unwrap(), e);

        let changed = store
            .update_enterprise(
                e.id,
                EnterpriseChanges {
                    name: Some("Acme Retail".into()),
                    zipcode: Some("10115".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(changed.name, "Acme Retail");
        assert_eq!(changed.zipcode.as_deref(), Some("10115"));
        assert_eq!(changed.location, None);
        assert!(changed.updated_on >= e.updated_on);
        assert_eq!(store.enterprise(e.id).await.unwrap(), changed);

        assert!(matches!(
            store.enterprise(Uuid::new_v4()).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store
                .update_enterprise(Uuid::new_v4(), EnterpriseChanges::default())
                .await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(store.count_enterprises().await.unwrap(), 1);
    }
}

#[tokio::test]
async fn api_keys_are_stored_hashed_and_can_be_revoked() {
    for db in testing::backends().await {
        let store = &db.store;
        let e = store.create_enterprise("E").await.unwrap();
        let new = store.create_api_key(e.id, "ci", None).await.unwrap();
        assert!(new.secret.starts_with("stw_"));
        assert_ne!(new.key.key_hash, new.secret);
        assert!(!new.key.key_hash.contains(&new.secret[4..]));
        assert!(new.secret.starts_with(&new.key.prefix));

        let found = store
            .authenticate_api_key(&new.secret)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.uuid, new.key.uuid);
        assert_eq!(found.enterprise_id, e.id);
        assert!(
            store
                .authenticate_api_key("stw_nope")
                .await
                .unwrap()
                .is_none()
        );

        let second = store.create_api_key(e.id, "other", None).await.unwrap();
        assert!(second.key.id > new.key.id);
        assert_eq!(store.api_keys(Some(e.id)).await.unwrap().len(), 2);

        assert!(store.revoke_api_key(new.key.uuid).await.unwrap());
        assert!(!store.revoke_api_key(new.key.uuid).await.unwrap());
        assert!(
            store
                .authenticate_api_key(&new.secret)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .authenticate_api_key(&second.secret)
                .await
                .unwrap()
                .is_some()
        );
        assert!(matches!(
            store.revoke_api_key(Uuid::new_v4()).await,
            Err(StoreError::NotFound(_))
        ));

        let expired = store
            .create_api_key(e.id, "old", Some(now() - time::Duration::minutes(1)))
            .await
            .unwrap();
        assert!(
            store
                .authenticate_api_key(&expired.secret)
                .await
                .unwrap()
                .is_none()
        );

        assert!(matches!(
            store.create_api_key(Uuid::new_v4(), "x", None).await,
            Err(StoreError::NotFound(_))
        ));
    }
}

#[tokio::test]
async fn groups_nest_five_levels_below_a_root() {
    for db in testing::backends().await {
        let store = &db.store;
        let e = store.create_enterprise("E").await.unwrap().id;
        let root = store.create_group(e, "Root", None, &[]).await.unwrap();
        assert_eq!(root.path, "Root");
        let mut parent = root.row.id;
        let mut names = vec!["Root".to_string()];
        for level in 1..=5 {
            let name = format!("L{level}");
            let g = store
                .create_group(e, &name, Some(parent), &[])
                .await
                .unwrap();
            names.push(name);
            assert_eq!(g.path, names.join("/"));
            assert_eq!(g.row.parent_id, Some(parent));
            parent = g.row.id;
        }
        let err = store
            .create_group(e, "L6", Some(parent), &[])
            .await
            .unwrap_err();
        assert!(is_invalid(&err, "parent"), "{err}");

        let root_again = store.group(e, root.row.id).await.unwrap();
        assert_eq!(root_again.children_count, 1);

        // A missing parent is a bad request naming the field.
        let err = store
            .create_group(e, "X", Some(Uuid::new_v4()), &[])
            .await
            .unwrap_err();
        assert!(is_invalid(&err, "parent"));
    }
}

#[tokio::test]
async fn moves_refuse_cycles_and_depth_overflow() {
    for db in testing::backends().await {
        let store = &db.store;
        let e = store.create_enterprise("E").await.unwrap().id;
        let a = store.create_group(e, "A", None, &[]).await.unwrap().row.id;
        let b = store
            .create_group(e, "B", Some(a), &[])
            .await
            .unwrap()
            .row
            .id;
        let c = store
            .create_group(e, "C", Some(b), &[])
            .await
            .unwrap()
            .row
            .id;

        let err = store.move_group(e, a, Some(c)).await.unwrap_err();
        assert!(is_invalid(&err, "parent"), "{err}");
        let err = store.move_group(e, a, Some(a)).await.unwrap_err();
        assert!(is_invalid(&err, "parent"));

        // A second tree four levels deep: moving A (height 2) below its leaf would reach level 7.
        let mut deep = store.create_group(e, "D0", None, &[]).await.unwrap().row.id;
        for i in 1..=3 {
            deep = store
                .create_group(e, &format!("D{i}"), Some(deep), &[])
                .await
                .unwrap()
                .row
                .id;
        }
        let err = store.move_group(e, a, Some(deep)).await.unwrap_err();
        assert!(is_invalid(&err, "parent"));

        // Moving C up to be a root works and changes its path.
        let moved = store.move_group(e, c, None).await.unwrap();
        assert_eq!(moved.path, "C");
        assert_eq!(moved.row.parent_id, None);
        let moved = store.move_group(e, c, Some(a)).await.unwrap();
        assert_eq!(moved.path, "A/C");
        assert_eq!(store.group(e, a).await.unwrap().children_count, 2);
    }
}

#[tokio::test]
async fn sibling_names_are_unique_and_renames_check_it() {
    for db in testing::backends().await {
        let store = &db.store;
        let e = store.create_enterprise("E").await.unwrap().id;
        let a = store
            .create_group(e, "Stores", None, &[])
            .await
            .unwrap()
            .row
            .id;
        let err = store
            .create_group(e, "stores", None, &[])
            .await
            .unwrap_err();
        assert!(is_invalid(&err, "name"));
        // The same name below another parent is fine.
        store.create_group(e, "Stores", Some(a), &[]).await.unwrap();
        let b = store
            .create_group(e, "Warehouses", None, &[])
            .await
            .unwrap()
            .row
            .id;
        let err = store.rename_group(e, b, "STORES").await.unwrap_err();
        assert!(is_invalid(&err, "name"));
        let renamed = store.rename_group(e, b, "Depots").await.unwrap();
        assert_eq!(renamed.row.name, "Depots");
        assert_eq!(renamed.path, "Depots");
    }
}

#[tokio::test]
async fn devices_join_and_leave_groups() {
    for db in testing::backends().await {
        let store = &db.store;
        let e = store.create_enterprise("E").await.unwrap().id;
        let other = store.create_enterprise("Other").await.unwrap().id;
        let d1 = store.create_device(e, "kiosk-1", None).await.unwrap().id;
        let d2 = store.create_device(e, "kiosk-2", None).await.unwrap().id;
        let foreign = store.create_device(other, "theirs", None).await.unwrap().id;

        let g = store.create_group(e, "G", None, &[d1]).await.unwrap();
        assert_eq!(g.device_count, 1);
        let g = store
            .add_group_devices(e, g.row.id, &[d1, d2, d2])
            .await
            .unwrap();
        assert_eq!(g.device_count, 2);

        // Another enterprise's device is refused, and nothing changes.
        let err = store
            .add_group_devices(e, g.row.id, &[foreign])
            .await
            .unwrap_err();
        assert!(is_invalid(&err, "device_ids"));
        assert_eq!(store.device(other, foreign).await.unwrap().group_id, None);
        let err = store
            .create_group(e, "H", None, &[foreign])
            .await
            .unwrap_err();
        assert!(is_invalid(&err, "device_ids"));
        let (count, _) = store
            .groups(
                e,
                &GroupFilter {
                    name: Some("H".into()),
                },
                page(20, 0),
            )
            .await
            .unwrap();
        assert_eq!(count, 0, "a refused create leaves no group behind");

        // Adding to another group moves the device.
        let h = store.create_group(e, "H", None, &[d2]).await.unwrap();
        assert_eq!(h.device_count, 1);
        assert_eq!(store.group(e, g.row.id).await.unwrap().device_count, 1);

        // Removing a device that is not in the group leaves it where it is.
        let g = store
            .remove_group_devices(e, g.row.id, &[d1, d2])
            .await
            .unwrap();
        assert_eq!(g.device_count, 0);
        assert_eq!(store.device(e, d2).await.unwrap().group_id, Some(h.row.id));
        assert_eq!(store.device(e, d1).await.unwrap().group_id, None);
    }
}

#[tokio::test]
async fn deleting_a_group() {
    for db in testing::backends().await {
        let store = &db.store;
        let e = store.create_enterprise("E").await.unwrap().id;
        let parent = store.create_group(e, "P", None, &[]).await.unwrap().row.id;
        let d = store.create_device(e, "d", None).await.unwrap().id;
        let child = store
            .create_group(e, "C", Some(parent), &[d])
            .await
            .unwrap()
            .row
            .id;

        let err = store.delete_group(e, parent).await.unwrap_err();
        assert!(is_invalid(&err, "group"));
        store.delete_group(e, child).await.unwrap();
        assert!(matches!(
            store.group(e, child).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(store.device(e, d).await.unwrap().group_id, Some(parent));
        store.delete_group(e, parent).await.unwrap();
        assert!(matches!(
            store.delete_group(e, parent).await,
            Err(StoreError::NotFound(_))
        ));
    }
}

#[tokio::test]
async fn group_lists_filter_page_and_stay_in_their_enterprise() {
    for db in testing::backends().await {
        let store = &db.store;
        let e = store.create_enterprise("E").await.unwrap().id;
        let other = store.create_enterprise("O").await.unwrap().id;
        for name in ["Kiosk Berlin", "Kiosk", "kiosks old", "Signage", "50%_off"] {
            store.create_group(e, name, None, &[]).await.unwrap();
        }
        let theirs = store.create_group(other, "Kiosk", None, &[]).await.unwrap();

        let (count, all) = store
            .groups(e, &GroupFilter::default(), page(2, 0))
            .await
            .unwrap();
        assert_eq!(count, 5);
        assert_eq!(all.len(), 2);
        let (_, rest) = store
            .groups(e, &GroupFilter::default(), page(20, 4))
            .await
            .unwrap();
        assert_eq!(rest.len(), 1);
        let (_, past) = store
            .groups(e, &GroupFilter::default(), page(20, 50))
            .await
            .unwrap();
        assert!(past.is_empty());

        let filter = GroupFilter {
            name: Some("kiosk".into()),
        };
        let (count, found) = store.groups(e, &filter, page(1, 0)).await.unwrap();
        assert_eq!(count, 3);
        assert_eq!(found[0].row.name, "Kiosk", "the exact match comes first");

        let filter = GroupFilter {
            name: Some("%_".into()),
        };
        let (count, found) = store.groups(e, &filter, page(20, 0)).await.unwrap();
        assert_eq!(count, 1, "LIKE wildcards in a filter are literal");
        assert_eq!(found[0].row.name, "50%_off");

        assert!(matches!(
            store.group(e, theirs.row.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.rename_group(e, theirs.row.id, "mine").await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.delete_group(e, theirs.row.id).await,
            Err(StoreError::NotFound(_))
        ));
        let err = store
            .create_group(e, "Sub", Some(theirs.row.id), &[])
            .await
            .unwrap_err();
        assert!(is_invalid(&err, "parent"));
        assert_eq!(
            store.group(other, theirs.row.id).await.unwrap().row.name,
            "Kiosk"
        );
    }
}

#[tokio::test]
async fn parallel_tree_changes_cannot_break_the_rules() {
    for db in testing::backends().await {
        let store = db.store.clone();
        let e = store.create_enterprise("E").await.unwrap().id;
        // Eight parallel creates of one name: one wins.
        let creates: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.create_group(e, "Same", None, &[]).await.is_ok() })
            })
            .collect();
        let mut won = 0;
        for c in creates {
            won += usize::from(c.await.unwrap());
        }
        assert_eq!(won, 1, "{}: one group of that name", db.label());
        // Crossing moves: A below B and B below A at once can never both succeed.
        for _ in 0..5 {
            let a = store
                .create_group(e, &format!("A{}", Uuid::new_v4()), None, &[])
                .await
                .unwrap()
                .row
                .id;
            let b = store
                .create_group(e, &format!("B{}", Uuid::new_v4()), None, &[])
                .await
                .unwrap()
                .row
                .id;
            let (s1, s2) = (store.clone(), store.clone());
            let one = tokio::spawn(async move { s1.move_group(e, a, Some(b)).await.is_ok() });
            let two = tokio::spawn(async move { s2.move_group(e, b, Some(a)).await.is_ok() });
            let (one, two) = (one.await.unwrap(), two.await.unwrap());
            assert!(!(one && two), "{}: a cycle was made", db.label());
        }
    }
}
