//! Real agents (the steward-agent library) against a real server: enrolment, presence,
//! reports, the device endpoints, and the faults the link must survive.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use steward_agent::backoff::Backoff;
use steward_agent::commands::simulated::SimulatedExecutor;
use steward_agent::commands::{CommandRunner, Journal};
use steward_agent::link::{LinkConfig, LinkError, enroll, run_link};
use steward_agent::platform::Platform;
use steward_proto::agent::{
    EnrollRequest, HardwareInfo, InstalledApp, Inventory, SoftwareInfo, Telemetry,
};
use steward_server::{DeviceSettings, ServerSettings};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::common::{TestServer, assert_envelope, json, servers_with};

/// A device whose facts the test controls.
pub struct FakeDevice {
    pub apps: Mutex<Vec<InstalledApp>>,
    pub model: Mutex<String>,
}

impl FakeDevice {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            apps: Mutex::new(vec![app("bash", "5.2"), app("kiosk-browser", "1.0")]),
            model: Mutex::new("I-Series 4".into()),
        })
    }
}

pub fn app(pkg: &str, version: &str) -> InstalledApp {
    InstalledApp {
        package_name: pkg.into(),
        app_name: pkg.into(),
        version_name: Some(version.into()),
        version_code: None,
    }
}

impl Platform for FakeDevice {
    fn inventory(&self) -> Inventory {
        Inventory {
            hardware: HardwareInfo {
                manufacturer: Some("Elo Touch".into()),
                model: Some(self.model.lock().unwrap().clone()),
                serial_number: Some("ELO-123".into()),
                ..HardwareInfo::default()
            },
            software: SoftwareInfo {
                platform: Some("LINUX".into()),
                os_version: Some("12".into()),
                ..SoftwareInfo::default()
            },
            ..Inventory::default()
        }
    }
    fn apps(&self) -> Vec<InstalledApp> {
        self.apps.lock().unwrap().clone()
    }
    fn telemetry(&self) -> Telemetry {
        Telemetry {
            battery_level: Some(77.0),
            battery_charging: Some(true),
            memory_available_mb: Some(1024),
            storage_available_mb: Some(20000),
            ..Telemetry::default()
        }
    }
    fn is_cheap(&self) -> bool {
        true
    }
}

pub fn fast() -> ServerSettings {
    ServerSettings {
        devices: DeviceSettings {
            inactive_after: Duration::from_secs(2),
            presence_interval: Duration::from_millis(300),
            heartbeat_interval: Duration::from_secs(1),
            telemetry_interval: Duration::from_secs(1),
            hello_timeout: Duration::from_secs(1),
        },
        ..ServerSettings::default()
    }
}

pub fn quick_backoff() -> Backoff {
    Backoff::new(
        Duration::from_millis(50),
        Duration::from_millis(500),
        Duration::from_millis(200),
    )
}

/// Makes an enrolment token through the API.
pub async fn token(s: &TestServer, body: Value) -> String {
    let (status, t) = json(
        s.api(
            Method::POST,
            &format!("/v0/enterprise/{}/enrollment-token/", s.enterprise),
        )
        .json(&body)
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{t}");
    t["token"].as_str().unwrap().to_string()
}

pub async fn enroll_one(s: &TestServer, token: &str, name: &str) -> (Uuid, String) {
    let request = EnrollRequest {
        token: token.into(),
        device_name: name.into(),
        serial: None,
        imei: None,
        manufacturer: None,
        model: None,
        platform: Some("linux".into()),
    };
    let answer = enroll(&s.origin.parse().unwrap(), &request, None)
        .await
        .unwrap();
    (answer.device_id, answer.device_token)
}

pub fn start_agent(
    s: &TestServer,
    credential: &str,
    device: Arc<FakeDevice>,
) -> (
    CancellationToken,
    tokio::task::JoinHandle<Result<(), LinkError>>,
) {
    let runner = CommandRunner::new(
        Arc::new(SimulatedExecutor::new(Uuid::nil(), Duration::ZERO, None)),
        Journal::in_memory(),
    );
    start_agent_with(s, credential, device, runner)
}

/// [`start_agent`] with its own command runner.
pub fn start_agent_with(
    s: &TestServer,
    credential: &str,
    device: Arc<dyn Platform>,
    runner: Arc<CommandRunner>,
) -> (
    CancellationToken,
    tokio::task::JoinHandle<Result<(), LinkError>>,
) {
    let mut config = LinkConfig::new(s.origin.parse().unwrap(), credential.into(), runner);
    config.backoff = quick_backoff();
    config.change_check = Duration::from_millis(300);
    let stop = CancellationToken::new();
    let task = tokio::spawn(run_link(config, device, 0, stop.clone()));
    (stop, task)
}

/// Polls `GET path` until `check` holds (10 s at most).
pub async fn eventually(s: &TestServer, path: &str, check: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        let (status, body) = json(s.api(Method::GET, path).send().await.unwrap()).await;
        if status == 200 && check(&body) {
            return body;
        }
        last = body;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} never matched; last answer {last}");
}

#[tokio::test]
async fn an_agent_enrols_reports_and_shows_up_in_every_device_endpoint() {
    for s in servers_with(fast).await {
        let eid = s.enterprise;
        let (_, group) = json(
            s.api(Method::POST, &format!("/enterprise/{eid}/devicegroup/"))
                .json(&json!({"name": "Lobby"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let enrol = token(
            &s,
            json!({"name": "lobby", "group": group["id"], "max_uses": 5}),
        )
        .await;
        let (id, credential) = enroll_one(&s, &enrol, "lobby-kiosk-1").await;
        let fake = FakeDevice::new();
        let (stop, task) = start_agent(&s, &credential, fake.clone());

        let device_path = format!("/enterprise/{eid}/device/{id}/");
        let device = eventually(&s, &device_path, |d| {
            d["status"] == 1 && d["hardwareInfo"]["manufacturer"] == "Elo Touch"
        })
        .await;
        assert_eq!(device["device_name"], "lobby-kiosk-1");
        assert_eq!(device["platform"], "LINUX");
        assert_eq!(
            device["groups"][0].as_str().unwrap(),
            s.url(&format!(
                "/api/enterprise/{eid}/devicegroup/{}/",
                group["id"].as_str().unwrap()
            ))
        );
        assert_eq!(device["suid"], "ELO-123");

        // The group counts it; the list filters find it.
        let (_, g) = json(
            s.api(
                Method::GET,
                &format!(
                    "/enterprise/{eid}/devicegroup/{}/",
                    group["id"].as_str().unwrap()
                ),
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(g["device_count"], 1);
        for query in [
            "state=1",
            "serial=ELO-123",
            "brand=elo%20touch",
            "is_gms=False",
            "search=kiosk",
            "name=lobby-kiosk-1",
        ] {
            let (_, page) = json(
                s.api(Method::GET, &format!("/enterprise/{eid}/device/?{query}"))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(page["count"], 1, "{query}: {page}");
        }
        let (_, page) = json(
            s.api(Method::GET, &format!("/enterprise/{eid}/device/?state=60"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(page["count"], 0);

        // Apps and status events.
        let apps = eventually(&s, &format!("{device_path}app/"), |p| p["count"] == 2).await;
        assert_eq!(apps["results"][0]["package_name"], "bash");
        let app_id = apps["results"][0]["id"].as_str().unwrap();
        let (status, one) = json(
            s.api(Method::GET, &format!("{device_path}app/{app_id}/"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!((status, one["version_name"].as_str()), (200, Some("5.2")));
        let latest = eventually(&s, &format!("{device_path}status/?latest_event=1"), |p| {
            p["count"] == 1
        })
        .await;
        let data = latest["results"][0]["data"].as_str().unwrap();
        assert!(
            data.starts_with('{')
                && data.contains("'powerManagementEvent': {'batteryStatus': {'batteryLevel': 77.0"),
            "{data}"
        );
        assert!(
            data.contains("'batteryState': 'CHARGING'") && !data.contains("null"),
            "{data}"
        );

        // An app installed and one upgraded on the device become install rows.
        *fake.apps.lock().unwrap() = vec![
            app("bash", "5.3"),
            app("kiosk-browser", "1.0"),
            app("signage-player", "2.1"),
        ];
        let installs = eventually(&s, &format!("{device_path}install/"), |p| p["count"] == 2).await;
        assert!(
            installs["results"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["install_state"] == "INSTALL_SUCCESS")
        );
        assert!(installs["results"][0]["application"]["version"].is_object());
        let (_, filtered) = json(
            s.api(
                Method::GET,
                &format!("{device_path}install/?package_name=signage-player"),
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(filtered["count"], 1);
        // An inventory change is stored and logged.
        *fake.model.lock().unwrap() = "I-Series 5".into();
        eventually(&s, &device_path, |d| {
            d["hardwareInfo"]["model"] == "I-Series 5"
        })
        .await;

        // Heartbeats and v2.
        let (status, hb) = json(
            s.api(Method::GET, &format!("/device/v0/heartbeat/{id}/"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!((status, hb["content"]["status"].as_i64()), (200, Some(1)));
        assert!(hb["content"]["timestamp"].is_string());
        let (_, v2) = json(
            s.api(Method::GET, "/v2/devices/?platform=linux")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(v2["content"]["count"], 1);
        assert_eq!(v2["content"]["results"][0]["battery_level"], 77.0);
        assert!(v2["content"].get("prev").is_some());
        let (status, one) = json(
            s.api(Method::GET, &format!("/v2/devices/{id}"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, one["content"]["tenant_id"].as_str()),
            (200, Some(eid.to_string().as_str()))
        );
        let (status, missing) = json(
            s.api(Method::GET, &format!("/v2/devices/{}/", Uuid::new_v4()))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, missing["code"].as_i64()),
            (404, Some(404)),
            "v2 errors use the v2 envelope: {missing}"
        );
        let (status, body) = json(s.api(Method::GET, "/v2/heartbeat/").send().await.unwrap()).await;
        assert_eq!((status, body["code"].as_i64()), (400, Some(400)));
        let window = "last_seen_gt=2000-01-01T00:00:00Z&last_seen_lt=2999-01-01T00:00:00Z";
        let (_, beats) = json(
            s.api(Method::GET, &format!("/v2/heartbeat/?{window}"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(beats["content"]["count"], 1);

        // Alias and tags.
        let (status, patched) = json(
            s.api(Method::PATCH, &device_path)
                .json(&json!({"alias_name": "Front desk", "tags": ["lobby", "floor-1"]}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, patched["alias_name"].as_str()),
            (200, Some("Front desk"))
        );
        let (_, page) = json(
            s.api(
                Method::GET,
                &format!("/enterprise/{eid}/device/?tags=floor"),
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(page["count"], 1);
        let (status, body) = json(
            s.api(Method::PATCH, &device_path)
                .json(&json!({"tags": ["x".repeat(300)]}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_envelope(status, &body, 400);

        // The agent goes away: after the silence the device is INACTIVE.
        stop.cancel();
        assert!(task.await.unwrap().is_ok());
        eventually(&s, &device_path, |d| d["status"] == 60).await;
        let (_, hb) = json(
            s.api(Method::GET, &format!("/device/v0/heartbeat/{id}/"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(hb["content"]["status"], 60);

        // The event feed tells the story.
        let (_, feed) = json(
            s.api(
                Method::GET,
                &format!("/v1/enterprise/{eid}/device/{id}/report/eventfeed/"),
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
        let kinds: Vec<&str> = feed["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"].as_str().unwrap())
            .collect();
        for kind in [
            "ENROLLED",
            "CONNECTED",
            "APP_INSTALLED",
            "INVENTORY_CHANGED",
            "DISCONNECTED",
            "INACTIVE",
        ] {
            assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
        }
        s.stop().await;
    }
}

#[tokio::test]
async fn deleting_a_device_closes_its_socket_and_revokes_its_credential() {
    for s in servers_with(fast).await {
        let eid = s.enterprise;
        let enrol = token(&s, json!({})).await;
        let (id, credential) = enroll_one(&s, &enrol, "doomed").await;
        let (_stop, task) = start_agent(&s, &credential, FakeDevice::new());
        let path = format!("/enterprise/{eid}/device/{id}/");
        eventually(&s, &path, |d| d["status"] == 1).await;
        let r = s.api(Method::DELETE, &path).send().await.unwrap();
        assert_eq!(r.status(), 204);
        let ended = tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .unwrap()
            .unwrap();
        assert!(
            matches!(ended, Err(LinkError::CredentialRefused)),
            "the agent stops: {ended:?}"
        );
        let (status, body) = json(s.api(Method::GET, &path).send().await.unwrap()).await;
        assert_envelope(status, &body, 404);
        // The old credential is refused at the upgrade.
        let (_, again) = start_agent(&s, &credential, FakeDevice::new());
        let ended = tokio::time::timeout(Duration::from_secs(10), again)
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(ended, Err(LinkError::CredentialRefused)));
        s.stop().await;
    }
}

#[tokio::test]
async fn a_second_connection_replaces_the_first() {
    for s in servers_with(fast).await {
        let enrol = token(&s, json!({})).await;
        let (id, credential) = enroll_one(&s, &enrol, "twin").await;
        let (stop_a, _a) = start_agent(&s, &credential, FakeDevice::new());
        let path = format!("/enterprise/{}/device/{id}/", s.enterprise);
        eventually(&s, &path, |d| d["status"] == 1).await;
        let (stop_b, _b) = start_agent(&s, &credential, FakeDevice::new());
        // Both keep trying; the registry holds one socket for the device at any time.
        tokio::time::sleep(Duration::from_millis(800)).await;
        eventually(&s, &path, |d| d["status"] == 1).await;
        stop_a.cancel();
        stop_b.cancel();
        s.stop().await;
    }
}

#[tokio::test]
async fn enrolment_refusals_name_the_problem() {
    for s in servers_with(fast).await {
        let limited = token(&s, json!({"max_uses": 1})).await;
        enroll_one(&s, &limited, "one").await;
        let client = reqwest::Client::new();
        let url = s.url("/agent/v1/enroll");
        for (body, needle) in [
            (json!({"token": limited, "device_name": "two"}), "used up"),
            (json!({"token": "enr_nope", "device_name": "x"}), "unknown"),
            (json!({"token": limited, "device_name": ""}), "device_name"),
            (json!({"token": limited}), "device_name"),
        ] {
            let (status, body) = json(client.post(&url).json(&body).send().await.unwrap()).await;
            let message = assert_envelope(status, &body, 400);
            assert!(message.contains(needle), "{needle}: {message}");
        }
        let (status, body) = json(
            s.api(
                Method::POST,
                &format!("/v0/enterprise/{}/enrollment-token/", s.enterprise),
            )
            .json(&json!({"max_uses": 0, "expires_in_hours": -1}))
            .send()
            .await
            .unwrap(),
        )
        .await;
        let message = assert_envelope(status, &body, 400);
        assert!(
            message.contains("max_uses") && message.contains("expires_in_hours"),
            "{message}"
        );
        s.stop().await;
    }
}

async fn raw_socket(
    s: &TestServer,
    credential: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let url = format!("{}/agent/v1/connect", s.origin.replace("http", "ws"));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {credential}").parse().unwrap(),
    );
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

#[tokio::test]
async fn the_server_survives_bad_frames_idle_sockets_and_bad_credentials() {
    for s in servers_with(fast).await {
        let enrol = token(&s, json!({})).await;
        let (id, credential) = enroll_one(&s, &enrol, "hostile").await;
        let path = format!("/enterprise/{}/device/{id}/", s.enterprise);

        // Wrong credential: 401 at the upgrade, nothing written.
        let url = format!("{}/agent/v1/connect", s.origin.replace("http", "ws"));
        let mut request = url.clone().into_client_request().unwrap();
        request
            .headers_mut()
            .insert("authorization", "Bearer dev_wrong".parse().unwrap());
        let err = tokio_tungstenite::connect_async(request).await.unwrap_err();
        assert!(err.to_string().contains("401"), "{err}");
        let err = tokio_tungstenite::connect_async(url.clone())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("401"), "{err}");

        // An upgrade that never says hello is closed after the hello timeout.
        let mut idle = raw_socket(&s, &credential).await;
        let closed = tokio::time::timeout(Duration::from_secs(5), idle.next())
            .await
            .unwrap();
        assert!(
            matches!(closed, Some(Ok(Message::Close(_))) | None | Some(Err(_))),
            "{closed:?}"
        );
        let (_, d) = json(s.api(Method::GET, &path).send().await.unwrap()).await;
        assert_eq!(
            d["status"], 60,
            "a socket without hello does not count as connected"
        );

        // A first frame that is not hello is refused.
        let mut rude = raw_socket(&s, &credential).await;
        rude.send(Message::Text("{\"type\":\"heartbeat\"}".into()))
            .await
            .unwrap();
        assert!(matches!(rude.next().await, Some(Ok(Message::Close(_)))));

        // Garbage, unknown and binary frames get an error frame; the socket stays open.
        let mut ws = raw_socket(&s, &credential).await;
        ws.send(Message::Text(
            json!({"type": "hello", "protocol": 1, "agent_version": "x"})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
        let welcome = ws.next().await.unwrap().unwrap();
        assert!(welcome.to_text().unwrap().contains("welcome"));
        for bad in [
            Message::Text("not json".into()),
            Message::Text("{\"type\":\"launch_missiles\"}".into()),
            Message::Binary(vec![1, 2, 3].into()),
        ] {
            ws.send(bad).await.unwrap();
            let answer = ws.next().await.unwrap().unwrap();
            assert!(
                answer.to_text().unwrap().contains("\"error\""),
                "{answer:?}"
            );
        }
        // Still alive: a good frame is stored.
        ws.send(Message::Text(json!({"type": "inventory", "hardware": {"manufacturer": "Hostile Inc"}, "software": {}, "network": {}, "memory": {}}).to_string().into())).await.unwrap();
        eventually(&s, &path, |d| {
            d["hardwareInfo"]["manufacturer"] == "Hostile Inc"
        })
        .await;
        // An oversized frame ends the connection, and the server goes on.
        let huge = "x".repeat(2 * 1024 * 1024);
        let _ = ws.send(Message::Text(huge.into())).await;
        let mut ended = false;
        for _ in 0..5 {
            match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => {
                    ended = true;
                    break;
                }
                _ => {}
            }
        }
        assert!(ended, "the oversized frame closed the socket");
        let r = s.client.get(s.url("/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let (_, d) = json(s.api(Method::GET, &path).send().await.unwrap()).await;
        assert_eq!(
            d["hardwareInfo"]["manufacturer"], "Hostile Inc",
            "nothing of the bad frames was written"
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn the_agent_survives_a_server_restart() {
    let db = steward_store::testing::sqlite().await;
    let first = TestServer::start_with(db, fast()).await;
    let enrol = token(&first, json!({})).await;
    let (id, credential) = enroll_one(&first, &enrol, "phoenix").await;
    let path = format!("/enterprise/{}/device/{id}/", first.enterprise);
    let (stop, task) = start_agent(&first, &credential, FakeDevice::new());
    eventually(&first, &path, |d| d["status"] == 1).await;
    let (enterprise, key, addr) = (first.enterprise, first.key.clone(), first.origin.clone());
    let db = first.stop_keep_db().await;
    // Down for a while: the agent keeps trying with back-off.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let second = TestServer::restart(db, fast(), &addr, enterprise, key).await;
    let before = second
        .db
        .store
        .device_events(
            enterprise,
            id,
            steward_core::pagination::PageRequest {
                limit: 100,
                offset: 0,
            },
        )
        .await
        .unwrap()
        .0;
    // It reconnects by itself: a new CONNECTED event appears.
    let mut reconnected = false;
    for _ in 0..100 {
        let (_, feed) = json(
            second
                .api(
                    Method::GET,
                    &format!("/v1/enterprise/{enterprise}/device/{id}/report/eventfeed/?limit=1"),
                )
                .send()
                .await
                .unwrap(),
        )
        .await;
        if feed["results"][0]["event"] == "CONNECTED" && feed["count"].as_u64().unwrap() > before {
            reconnected = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reconnected, "the agent came back after the restart");
    stop.cancel();
    assert!(task.await.unwrap().is_ok());
    second.stop().await;
}

#[tokio::test]
async fn device_connections_are_rate_limited_per_credential() {
    let settings = || ServerSettings {
        rate_limit: steward_server::RateLimit {
            requests: 3,
            window: Duration::from_secs(60),
        },
        ..fast()
    };
    for s in servers_with(settings).await {
        let url = format!("{}/agent/v1/connect", s.origin.replace("http", "ws"));
        let mut statuses = Vec::new();
        for _ in 0..4 {
            let mut request = url.clone().into_client_request().unwrap();
            request
                .headers_mut()
                .insert("authorization", "Bearer dev_guess".parse().unwrap());
            let err = tokio_tungstenite::connect_async(request).await.unwrap_err();
            statuses.push(if err.to_string().contains("429") {
                429
            } else if err.to_string().contains("401") {
                401
            } else {
                0
            });
        }
        assert_eq!(statuses, [401, 401, 401, 429]);
        s.stop().await;
    }
}
