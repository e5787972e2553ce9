//! The enterprise and token endpoints.

use reqwest::Method;
use serde_json::json;

use crate::common::{assert_envelope, json, servers};

#[tokio::test]
async fn enterprise_read_and_partial_update() {
    for s in servers().await {
        let eid = s.enterprise;
        let path = format!("/v1/enterprise/{eid}/");
        let (status, e) = json(s.api(Method::GET, &path).send().await.unwrap()).await;
        assert_eq!(status, 200);
        assert_eq!(e["id"], eid.to_string());
        assert_eq!(e["name"], "Acme");
        assert_eq!(
            e["registered_name"],
            serde_json::Value::Null,
            "absent values are null"
        );
        assert!(e["short_code"].as_str().unwrap().len() <= 10);

        let (status, e) = json(
            s.api(Method::PATCH, &path)
                .json(&json!({"registered_name": "Acme GmbH", "zipcode": "10115", "contact_email": "ops@acme.test"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(e["registered_name"], "Acme GmbH");
        assert_eq!(e["name"], "Acme", "fields not given stay");
        let (_, again) = json(s.api(Method::GET, &path).send().await.unwrap()).await;
        assert_eq!(again["zipcode"], "10115");
        assert_eq!(again["contact_email"], "ops@acme.test");
        s.stop().await;
    }
}

#[tokio::test]
async fn token_info_describes_the_calling_key_without_its_secret() {
    for s in servers().await {
        let (status, t) = json(s.api(Method::GET, "/v1/token-info/").send().await.unwrap()).await;
        assert_eq!(status, 200);
        assert_eq!(t["enterprise"], s.enterprise.to_string());
        assert!(t["id"].as_str().unwrap().parse::<i64>().is_ok());
        assert!(!t["token"].as_str().unwrap().contains(&s.key[12..]));
        assert_eq!(t["scope"], json!(["read", "write"]));
        s.stop().await;
    }
}

#[tokio::test]
async fn renewing_a_token_issues_a_new_key() {
    for s in servers().await {
        let eid = s.enterprise;
        let (_, info) = json(s.api(Method::GET, "/v1/token-info/").send().await.unwrap()).await;
        let app = info["developer_app"].as_str().unwrap().to_string();
        let path = format!("/v0/enterprise/{eid}/developerapp/{app}/renew-token/");
        let (status, renewed) = json(
            s.api(Method::POST, &path)
                .query(&[("access_token", s.key.as_str())])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 201, "{renewed}");
        let new_key = renewed["token"].as_str().unwrap();
        assert_ne!(new_key, s.key);
        // espercli's parsing of the display strings.
        let enterprise = renewed["enterprise"].as_str().unwrap();
        assert_eq!(
            enterprise
                .split('[')
                .nth(1)
                .unwrap()
                .split(']')
                .next()
                .unwrap(),
            eid.to_string()
        );
        let devapp = renewed["developerapp"].as_str().unwrap();
        assert!(
            devapp
                .split('(')
                .nth(1)
                .unwrap()
                .split(')')
                .next()
                .unwrap()
                .parse::<uuid::Uuid>()
                .is_ok()
        );
        let r = s
            .api_as(new_key, Method::GET, "/v1/token-info/")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);

        // A wrong token, a missing one, or another key's app id: 400 naming access_token.
        for query in [vec![("access_token", "stw_nope")], vec![]] {
            let (status, body) = json(
                s.api(Method::POST, &path)
                    .query(&query)
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert!(assert_envelope(status, &body, 400).contains("access_token"));
        }
        let wrong_app = format!(
            "/v0/enterprise/{eid}/developerapp/{}/renew-token/",
            uuid::Uuid::new_v4()
        );
        let (status, body) = json(
            s.api(Method::POST, &wrong_app)
                .query(&[("access_token", s.key.as_str())])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_envelope(status, &body, 400);
        s.stop().await;
    }
}
