//! Device groups over HTTP: the shapes esperclient parses, and every action.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{TestServer, assert_envelope, json, servers};

async fn create(s: &TestServer, body: Value) -> (u16, Value) {
    let eid = s.enterprise;
    json(
        s.api(Method::POST, &format!("/enterprise/{eid}/devicegroup/"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn id(v: &Value) -> Uuid {
    v["id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn groups_have_esper_shapes() {
    for s in servers().await {
        let eid = s.enterprise;
        let (status, root) = create(&s, json!({"name": "Stores"})).await;
        assert_eq!(status, 201);
        assert_eq!(root["name"], "Stores");
        assert_eq!(root["path"], "Stores");
        assert_eq!(root["parent"], Value::Null);
        assert_eq!(root["children_count"], 0);
        assert_eq!(root["device_count"], 0);
        assert_eq!(
            root["enterprise"],
            s.url(&format!("/api/enterprise/{eid}/"))
        );
        assert!(root["created_on"].as_str().unwrap().ends_with('Z'));

        let (status, child) = create(&s, json!({"name": "Berlin", "parent": root["id"]})).await;
        assert_eq!(status, 201);
        let parent_url = child["parent"].as_str().unwrap();
        // espercli takes the id with url.split('/')[-2].
        assert_eq!(
            parent_url.split('/').rev().nth(1).unwrap(),
            root["id"].as_str().unwrap()
        );
        assert_eq!(child["path"], "Stores/Berlin");

        let (status, again) = json(
            s.api(
                Method::GET,
                &format!("/enterprise/{eid}/devicegroup/{}/", id(&root)),
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(again["children_count"], 1);
        s.stop().await;
    }
}

#[tokio::test]
async fn actions_add_remove_rename_move_and_delete() {
    for s in servers().await {
        let eid = s.enterprise;
        let store = &s.db.store;
        let d1 = store.create_device(eid, "till-1", None).await.unwrap().id;
        let d2 = store.create_device(eid, "till-2", None).await.unwrap().id;
        let (_, a) = create(&s, json!({"name": "A", "device_ids": [d1]})).await;
        assert_eq!(a["device_count"], 1);
        let (_, b) = create(&s, json!({"name": "B"})).await;
        let a_url = format!("/enterprise/{eid}/devicegroup/{}/", id(&a));
        let b_url = format!("/enterprise/{eid}/devicegroup/{}/", id(&b));

        // espercli's add sends the full list; already-present devices are fine.
        let (status, g) = json(
            s.api(Method::PATCH, &format!("{a_url}?action=add"))
                .json(&json!({"device_ids": [d1, d2]}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(g["device_count"], 2);

        let (status, g) = json(
            s.api(Method::PATCH, &format!("{a_url}?action=remove"))
                .json(&json!({"device_ids": [d2]}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(g["device_count"], 1);

        // Rename without an action (espercli), and with PUT + action=rename (the SDK).
        let (status, g) = json(
            s.api(Method::PATCH, &a_url)
                .json(&json!({"name": "Alpha"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!((status, g["name"].as_str()), (200, Some("Alpha")));
        let (status, g) = json(
            s.api(Method::PUT, &format!("{a_url}?action=rename"))
                .json(&json!({"name": "Alpha 2"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!((status, g["path"].as_str()), (200, Some("Alpha 2")));

        // Move as espercli does it: own name plus the new parent.
        let (status, g) = json(
            s.api(Method::PATCH, &format!("{a_url}?action=move"))
                .json(&json!({"name": "Alpha 2", "parent": b["id"]}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(g["path"], "B/Alpha 2");

        // Moving B below its own child is refused with a clear 400.
        let (status, body) = json(
            s.api(Method::PATCH, &format!("{b_url}?action=move"))
                .json(&json!({"parent": a["id"]}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let message = assert_envelope(status, &body, 400);
        assert!(message.contains("below itself"), "{message}");

        // Back to a root with parent null.
        let (status, g) = json(
            s.api(Method::PATCH, &format!("{a_url}?action=move"))
                .json(&json!({"parent": null}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!((status, g["parent"].clone()), (200, Value::Null));

        // Bad actions and missing fields.
        let (status, body) = json(
            s.api(Method::PATCH, &format!("{a_url}?action=explode"))
                .json(&json!({}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(assert_envelope(status, &body, 400).contains("action"));
        let (status, body) = json(
            s.api(Method::PATCH, &format!("{a_url}?action=add"))
                .json(&json!({}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(assert_envelope(status, &body, 400).contains("device_ids"));
        let (status, body) = json(
            s.api(Method::PUT, &a_url)
                .json(&json!({"parent": null}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(assert_envelope(status, &body, 400).contains("name"));
        let (status, body) = json(
            s.api(Method::PATCH, &format!("{a_url}?action=add"))
                .json(&json!({"device_ids": [Uuid::new_v4()]}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(assert_envelope(status, &body, 400).contains("device_ids"));

        // Delete: B has no children now; A keeps its device until deleted, then it is ungrouped.
        let r = s.api(Method::DELETE, &a_url).send().await.unwrap();
        assert_eq!(r.status(), 204);
        assert!(r.text().await.unwrap().is_empty());
        let (status, body) = json(s.api(Method::GET, &a_url).send().await.unwrap()).await;
        assert_envelope(status, &body, 404);
        assert_eq!(store.device(eid, d1).await.unwrap().group_id, None);
        s.stop().await;
    }
}

#[tokio::test]
async fn nesting_is_limited_to_five_levels_below_a_root() {
    for s in servers().await {
        let (_, mut parent) = create(&s, json!({"name": "L0"})).await;
        for level in 1..=5 {
            let (status, g) = create(
                &s,
                json!({"name": format!("L{level}"), "parent": parent["id"]}),
            )
            .await;
            assert_eq!(status, 201, "{g}");
            parent = g;
        }
        assert_eq!(parent["path"], "L0/L1/L2/L3/L4/L5");
        let (status, body) = create(&s, json!({"name": "L6", "parent": parent["id"]})).await;
        let message = assert_envelope(status, &body, 400);
        assert!(message.contains("5 levels"), "{message}");
        s.stop().await;
    }
}

#[tokio::test]
async fn the_name_filter_puts_the_exact_match_first() {
    for s in servers().await {
        let eid = s.enterprise;
        for name in ["Lobby Screens", "Lobby", "Old lobby"] {
            create(&s, json!({"name": name})).await;
        }
        let (_, page) = json(
            s.api(
                Method::GET,
                &format!("/enterprise/{eid}/devicegroup/?name=Lobby&limit=1&offset=0"),
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(page["count"], 3);
        assert_eq!(page["results"][0]["name"], "Lobby");
        s.stop().await;
    }
}
