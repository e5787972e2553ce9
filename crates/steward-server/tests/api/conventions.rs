//! Esper's conventions under `/api`: slashes, pages, booleans, errors, limits, ids, health.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use steward_server::{RateLimit, ServerSettings};

use crate::common::{TestServer, assert_envelope, json, servers, servers_with};

#[tokio::test]
async fn both_trailing_slash_forms_reach_one_route_without_redirects() {
    for s in servers().await {
        for path in ["/v1/token-info/", "/v1/token-info"] {
            let r = s.api(Method::GET, path).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
        }
        // A POST without the slash is served, not redirected (a redirect would lose the body).
        let eid = s.enterprise;
        let r = s
            .api(Method::POST, &format!("/enterprise/{eid}/devicegroup"))
            .json(&json!({"name": "no-slash"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        s.stop().await;
    }
}

#[tokio::test]
async fn pages_have_absolute_links_that_keep_the_query() {
    for s in servers().await {
        let eid = s.enterprise;
        for i in 0..5 {
            s.api(Method::POST, &format!("/enterprise/{eid}/devicegroup/"))
                .json(&json!({"name": format!("Store {i}")}))
                .send()
                .await
                .unwrap();
        }
        let list = format!("/enterprise/{eid}/devicegroup/");
        let (status, page) = json(
            s.api(Method::GET, &format!("{list}?name=store&limit=2&offset=2"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(page["count"], 5);
        assert_eq!(page["results"].as_array().unwrap().len(), 2);
        let next = page["next"].as_str().unwrap();
        let previous = page["previous"].as_str().unwrap();
        let base = s.url(&format!("/api{list}"));
        assert!(next.starts_with(&base), "{next}");
        assert!(
            next.contains("name=store") && next.contains("limit=2") && next.contains("offset=4"),
            "{next}"
        );
        assert!(
            previous.contains("name=store") && previous.contains("limit=2"),
            "{previous}"
        );
        assert!(
            !previous.contains("offset"),
            "previous drops offset=0: {previous}"
        );

        // Following `next` works as given.
        let (status, last) =
            json(s.client.get(next).bearer_auth(&s.key).send().await.unwrap()).await;
        assert_eq!(status, 200);
        assert_eq!(last["results"].as_array().unwrap().len(), 1);
        assert!(last["next"].is_null());

        // Past the end: 200 and no results.
        let (status, past) = json(
            s.api(Method::GET, &format!("{list}?offset=500"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(past["count"], 5);
        assert_eq!(past["results"], json!([]));

        // Bad windows are a 400 naming the parameter.
        for (q, field) in [
            ("limit=0", "limit"),
            ("limit=abc", "limit"),
            ("offset=-1", "offset"),
        ] {
            let (status, body) = json(
                s.api(Method::GET, &format!("{list}?{q}"))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            let message = assert_envelope(status, &body, 400);
            assert!(message.contains(field), "{message}");
        }
        s.stop().await;
    }
}

#[tokio::test]
async fn the_page_size_is_capped() {
    let settings = || ServerSettings {
        max_page_size: 3,
        ..ServerSettings::default()
    };
    for s in servers_with(settings).await {
        let eid = s.enterprise;
        for i in 0..5 {
            s.api(Method::POST, &format!("/enterprise/{eid}/devicegroup/"))
                .json(&json!({"name": format!("G{i}")}))
                .send()
                .await
                .unwrap();
        }
        let (_, page) = json(
            s.api(
                Method::GET,
                &format!("/enterprise/{eid}/devicegroup/?limit=1000"),
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(page["results"].as_array().unwrap().len(), 3);
        assert!(page["next"].as_str().unwrap().contains("limit=3"));
        s.stop().await;
    }
}

#[tokio::test]
async fn authentication_failures_are_401_in_the_envelope() {
    for s in servers().await {
        let url = s.url("/api/v1/token-info/");
        let (status, body) = json(s.client.get(&url).send().await.unwrap()).await;
        assert_envelope(status, &body, 401);
        let (status, body) = json(
            s.client
                .get(&url)
                .bearer_auth("stw_wrong")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_envelope(status, &body, 401);
        let (status, body) = json(
            s.client
                .get(&url)
                .header("Authorization", "Basic dXNlcjpwYXNz")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_envelope(status, &body, 401);
        // esperclient without a prefix sends the bare key.
        let r = s
            .client
            .get(&url)
            .header("Authorization", &s.key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);

        // A revoked key stops working at once.
        let other =
            s.db.store
                .create_api_key(s.enterprise, "tmp", None)
                .await
                .unwrap();
        let r = s
            .client
            .get(&url)
            .bearer_auth(&other.secret)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        s.db.store.revoke_api_key(other.key.uuid).await.unwrap();
        let (status, body) = json(
            s.client
                .get(&url)
                .bearer_auth(&other.secret)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_envelope(status, &body, 401);
        s.stop().await;
    }
}

#[tokio::test]
async fn unknown_paths_wrong_methods_and_unbuilt_endpoints() {
    for s in servers().await {
        let eid = s.enterprise;
        let (status, body) =
            json(s.api(Method::GET, "/no/such/thing/").send().await.unwrap()).await;
        assert_envelope(status, &body, 404);
        let (status, body) = json(
            s.api(Method::DELETE, "/v1/token-info/")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_envelope(status, &body, 405);
        let (status, body) = json(
            s.api(Method::GET, &format!("/enterprise/{eid}/policy/"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let message = assert_envelope(status, &body, 501);
        assert!(message.contains("/policy/"), "{message}");
        // A 501 still wants a key first.
        let (status, body) = json(
            s.client
                .get(s.url(&format!("/api/enterprise/{eid}/policy/")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_envelope(status, &body, 401);
        s.stop().await;
    }
}

#[tokio::test]
async fn bad_bodies_are_4xx_naming_the_problem_and_write_nothing() {
    let settings = || ServerSettings {
        max_body_bytes: 4096,
        ..ServerSettings::default()
    };
    for s in servers_with(settings).await {
        let eid = s.enterprise;
        let groups = format!("/enterprise/{eid}/devicegroup/");
        let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
            (
                s.api(Method::POST, &groups)
                    .header("content-type", "application/json")
                    .body("{\"name\": "),
                400,
                "Malformed JSON",
            ),
            (
                s.api(Method::POST, &groups).json(&json!({"name": 42})),
                400,
                "name",
            ),
            (
                s.api(Method::POST, &groups)
                    .json(&json!({"name": "x".repeat(256)})),
                400,
                "name",
            ),
            (
                s.api(Method::POST, &groups).json(&json!({"name": ""})),
                400,
                "name",
            ),
            (s.api(Method::POST, &groups).json(&json!({})), 400, "name"),
            (
                s.api(Method::POST, &groups)
                    .json(&json!({"name": "ok", "parent": "not-a-uuid"})),
                400,
                "parent",
            ),
            (
                s.api(Method::POST, &groups)
                    .json(&json!({"name": "ok", "device_ids": [1]})),
                400,
                "device_ids",
            ),
            (
                s.api(Method::POST, &groups).json(&json!(["name"])),
                400,
                "body",
            ),
            (
                s.api(Method::POST, &groups).body("name=x"),
                415,
                "media type",
            ),
            (
                s.api(Method::POST, &groups)
                    .header("content-type", "text/plain")
                    .body("{}"),
                415,
                "media type",
            ),
            (
                s.api(Method::POST, &groups)
                    .json(&json!({"name": "y".repeat(8000)})),
                413,
                "larger than",
            ),
            (
                s.api(Method::GET, "/enterprise/not-a-uuid/devicegroup/"),
                400,
                "enterprise_id",
            ),
            (
                s.api(Method::GET, &format!("{groups}12345/")),
                400,
                "group_id",
            ),
            (
                s.api(Method::PATCH, &format!("/v1/enterprise/{eid}/"))
                    .json(&json!({"zipcode": "123456789"})),
                400,
                "zipcode",
            ),
            (
                s.api(Method::PATCH, &format!("/v1/enterprise/{eid}/"))
                    .json(&json!({"contact_email": "nope"})),
                400,
                "contact_email",
            ),
            (
                s.api(Method::PATCH, &format!("/v1/enterprise/{eid}/"))
                    .json(&json!({"name": null, "location": ["x"]})),
                400,
                "location",
            ),
        ];
        for (request, expected, needle) in cases {
            let (status, body) = json(request.send().await.unwrap()).await;
            let message = assert_envelope(status, &body, expected);
            let all = format!("{message} {}", body["errors"]);
            assert!(all.contains(needle), "expected {needle:?} in {all}");
        }
        let (_, page) = json(s.api(Method::GET, &groups).send().await.unwrap()).await;
        assert_eq!(page["count"], 0, "nothing was written");
        let e = s.db.store.enterprise(eid).await.unwrap();
        assert_eq!((e.zipcode, e.contact_email, e.location), (None, None, None));
        s.stop().await;
    }
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after_per_key() {
    let settings = || ServerSettings {
        rate_limit: RateLimit {
            requests: 5,
            window: Duration::from_secs(60),
        },
        ..ServerSettings::default()
    };
    for s in servers_with(settings).await {
        for _ in 0..5 {
            let r = s.api(Method::GET, "/v1/token-info/").send().await.unwrap();
            assert_eq!(r.status(), 200);
        }
        let r = s.api(Method::GET, "/v1/token-info/").send().await.unwrap();
        let retry: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=13).contains(&retry), "retry-after {retry}");
        let (status, body) = json(r).await;
        assert_envelope(status, &body, 429);
        // Another key has its own allowance.
        let (_, other_key) = s.other_enterprise().await;
        let r = s
            .api_as(&other_key, Method::GET, "/v1/token-info/")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        s.stop().await;
    }
}

#[tokio::test]
async fn requests_carry_ids_and_health_readiness_metrics_and_openapi_answer() {
    for s in servers().await {
        let r = s.client.get(s.url("/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
        assert_eq!(id.len(), 36, "a UUID request id: {id}");
        let r = s
            .client
            .get(s.url("/healthz"))
            .header("x-request-id", "trace-me-123")
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["x-request-id"], "trace-me-123");

        let r = s.client.get(s.url("/readyz")).send().await.unwrap();
        assert_eq!(r.status(), 200);

        s.api(Method::GET, "/v1/token-info/").send().await.unwrap();
        let metrics = s
            .client
            .get(s.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(metrics.contains("steward_http_requests_total"), "{metrics}");
        assert!(
            metrics.contains("route=\"/api/v1/token-info/\""),
            "{metrics}"
        );

        let (status, doc) = json(
            s.client
                .get(s.url("/api/openapi.json"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200);
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        assert!(
            doc["paths"]["/enterprise/{enterprise_id}/devicegroup/{group_id}/"]["patch"]
                .is_object()
        );
        assert_eq!(doc["servers"][0]["url"], "/api");
        let page = s.client.get(s.url("/api/docs/")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("swagger"));
        s.stop().await;
    }
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let db = steward_store::testing::sqlite().await;
    let s = TestServer::start(db).await;
    s.db.store.close().await;
    let (status, body) = json(s.client.get(s.url("/readyz")).send().await.unwrap()).await;
    assert_envelope(status, &body, 503);
    s.stop().await;
}

#[tokio::test]
async fn the_public_url_is_used_for_absolute_urls() {
    let settings = || ServerSettings {
        public_url: Some("https://mdm.example.com/".into()),
        ..ServerSettings::default()
    };
    for s in servers_with(settings).await {
        let eid = s.enterprise;
        let (_, group) = json(
            s.api(Method::POST, &format!("/enterprise/{eid}/devicegroup/"))
                .json(&json!({"name": "G"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            group["enterprise"],
            format!("https://mdm.example.com/api/enterprise/{eid}/")
        );
        s.stop().await;
    }
}
