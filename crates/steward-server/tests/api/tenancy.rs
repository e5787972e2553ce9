//! One key reaches one enterprise: every endpoint of the spec, aimed at another enterprise or
//! its objects, is refused and changes nothing.

use reqwest::Method;
use serde_json::json;
use steward_server::compat::SPEC_ENDPOINTS;
use uuid::Uuid;

use crate::common::{json, servers};

fn fill(path: &str, enterprise: Uuid, group: Uuid, device: Uuid) -> String {
    let mut out = path.replace("{enterprise_id}", &enterprise.to_string());
    out = out.replace("{group_id}", &group.to_string());
    out = out.replace("{device_id}", &device.to_string());
    while let Some(start) = out.find('{') {
        let end = out[start..]
            .find('}')
            .map(|e| start + e + 1)
            .unwrap_or(out.len());
        out.replace_range(start..end, &Uuid::new_v4().to_string());
    }
    out
}

#[tokio::test]
async fn no_endpoint_reaches_another_enterprise() {
    for s in servers().await {
        let (other, other_key) = s.other_enterprise().await;
        let store = &s.db.store;
        let theirs = store
            .create_group(other, "Theirs", None, &[])
            .await
            .unwrap();
        let their_device = store
            .create_device(other, "their-device", Some(theirs.row.id))
            .await
            .unwrap();
        let before = store.enterprise(other).await.unwrap();
        let mine = store
            .create_group(s.enterprise, "Mine", None, &[])
            .await
            .unwrap();

        let mut checked = 0;
        for e in SPEC_ENDPOINTS {
            let method = Method::from_bytes(e.method.as_bytes()).unwrap();
            // Their enterprise in the path: never served.
            if e.path.contains("{enterprise_id}") {
                let path = fill(e.path, other, theirs.row.id, their_device.id);
                let r = s
                    .api(method.clone(), &path)
                    .query(&[("action", "add"), ("access_token", other_key.as_str())])
                    .json(&json!({"name": "hijacked", "device_ids": [their_device.id], "parent": theirs.row.id}))
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                assert!(
                    status == 403 || status == 404,
                    "{} {path} with another enterprise's id answered {status}",
                    e.method
                );
                checked += 1;
            }
            // Their objects under our enterprise: not found.
            if e.path.contains("{group_id}") || e.path.contains("{device_id}") {
                let path = fill(e.path, s.enterprise, theirs.row.id, their_device.id);
                let r = s
                    .api(method.clone(), &path)
                    .query(&[("action", "rename"), ("latest_event", "1")])
                    .json(&json!({"name": "hijacked"}))
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                assert!(
                    status == 404 || status == 501,
                    "{} {path} with another enterprise's object answered {status}",
                    e.method
                );
            }
        }
        assert!(checked > 30, "only {checked} endpoints checked");

        // Their things cannot be pulled in through our own objects either.
        let r = s
            .api(
                Method::PATCH,
                &format!(
                    "/enterprise/{}/devicegroup/{}/?action=add",
                    s.enterprise, mine.row.id
                ),
            )
            .json(&json!({"device_ids": [their_device.id]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let r = s
            .api(
                Method::POST,
                &format!("/enterprise/{}/devicegroup/", s.enterprise),
            )
            .json(&json!({"name": "Sub", "parent": theirs.row.id}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);

        // Nothing of theirs changed, and our lists never show it.
        assert_eq!(store.enterprise(other).await.unwrap(), before);
        let after = store.group(other, theirs.row.id).await.unwrap();
        assert_eq!(after.row.name, "Theirs");
        assert_eq!(after.device_count, 1);
        assert_eq!(
            store.device(other, their_device.id).await.unwrap().group_id,
            Some(theirs.row.id)
        );
        let (_, page) = json(
            s.api(
                Method::GET,
                &format!("/enterprise/{}/devicegroup/", s.enterprise),
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(page["count"], 1);
        assert_eq!(page["results"][0]["name"], "Mine");
        let (_, info) = json(s.api(Method::GET, "/v1/token-info/").send().await.unwrap()).await;
        assert_eq!(info["enterprise"], s.enterprise.to_string());
        s.stop().await;
    }
}
