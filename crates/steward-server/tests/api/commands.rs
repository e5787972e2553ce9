//! Commands over real sockets: Commands V2 and the legacy endpoints, against scripted devices
//! that speak the protocol frame by frame, so each state the server records is one the test
//! caused.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use steward_proto::agent::{
    AgentFrame, CommandFrame, CommandProgress, CommandReport, PROTOCOL_VERSION, ServerFrame,
};
use steward_server::{CommandSettings, ServerSettings};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use uuid::Uuid;

use crate::agents::{enroll_one, eventually, fast, token};
use crate::common::{TestServer, assert_envelope, json, servers_with};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A device the test drives by hand.
struct Scripted {
    socket: Socket,
}

impl Scripted {
    async fn connect(s: &TestServer, credential: &str) -> Self {
        let url = format!("{}/agent/v1/connect", s.origin.replace("http", "ws"));
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {credential}").parse().unwrap(),
        );
        let mut socket = tokio_tungstenite::connect_async(request).await.unwrap().0;
        let hello = AgentFrame::Hello {
            protocol: PROTOCOL_VERSION,
            agent_version: "scripted".into(),
        };
        socket
            .send(Message::Text(serde_json::to_string(&hello).unwrap().into()))
            .await
            .unwrap();
        Self { socket }
    }

    /// The next command the server sends (other frames are skipped), within `wait`.
    async fn command_within(&mut self, wait: Duration) -> Option<CommandFrame> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Heartbeats keep a waiting device from being closed as silent.
            let tick = (tokio::time::Instant::now() + Duration::from_millis(500)).min(deadline);
            let next = tokio::time::timeout_at(tick, self.socket.next()).await;
            match next {
                Err(_) if tick >= deadline => return None,
                Err(_) => self.heartbeat().await,
                Ok(Some(Ok(Message::Text(text)))) => {
                    if let Ok(ServerFrame::Command(c)) = serde_json::from_str(&text) {
                        return Some(*c);
                    }
                }
                Ok(Some(Ok(_))) => {}
                Ok(_) => return None,
            }
        }
    }

    async fn command(&mut self) -> CommandFrame {
        self.command_within(Duration::from_secs(10))
            .await
            .expect("a command frame")
    }

    async fn report(
        &mut self,
        id: Uuid,
        state: CommandProgress,
        reason: Option<&str>,
        details: Option<Value>,
    ) {
        let frame = AgentFrame::CommandStatus(CommandReport {
            id,
            state,
            reason: reason.map(str::to_string),
            details: details.and_then(|d| d.as_object().cloned()),
        });
        self.socket
            .send(Message::Text(serde_json::to_string(&frame).unwrap().into()))
            .await
            .unwrap();
    }

    /// Keeps the socket alive (heartbeats) for a while.
    async fn heartbeat(&mut self) {
        let frame = serde_json::to_string(&AgentFrame::Heartbeat).unwrap();
        self.socket.send(Message::Text(frame.into())).await.unwrap();
    }
}

/// The agent knows every command the server accepts, and no other.
#[test]
fn the_agent_s_catalog_is_the_server_s() {
    let server: Vec<&str> = steward_core::commands::command_names().collect();
    assert_eq!(server, steward_agent::commands::CATALOG);
}

pub(crate) fn settings() -> ServerSettings {
    ServerSettings {
        commands: CommandSettings {
            sweep_interval: Duration::from_millis(200),
            ..CommandSettings::default()
        },
        ..fast()
    }
}

pub(crate) async fn post(s: &TestServer, path: &str, body: Value) -> (u16, Value) {
    json(s.api(Method::POST, path).json(&body).send().await.unwrap()).await
}

pub(crate) async fn get(s: &TestServer, path: &str) -> (u16, Value) {
    json(s.api(Method::GET, path).send().await.unwrap()).await
}

fn total(request: &Value, state: &str) -> u64 {
    request["status"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["state"] == state)
        .map(|t| t["total"].as_u64().unwrap())
        .sum()
}

/// Waits until the device shows as online (its connection is written in batches).
pub(crate) async fn online(s: &TestServer, device: Uuid) {
    eventually(
        s,
        &format!("/enterprise/{}/device/{device}/", s.enterprise),
        |d| d["status"] == 1,
    )
    .await;
}

#[tokio::test]
async fn a_command_reaches_online_devices_now_and_offline_ones_when_they_connect() {
    for s in servers_with(settings).await {
        let eid = s.enterprise;
        let enrol = token(&s, json!({})).await;
        let (a, a_key) = enroll_one(&s, &enrol, "kiosk-a").await;
        let (b, b_key) = enroll_one(&s, &enrol, "kiosk-b").await;
        let mut dev_a = Scripted::connect(&s, &a_key).await;
        online(&s, a).await;

        let (status, request) = post(
            &s,
            &format!("/v0/enterprise/{eid}/command/"),
            json!({"command_type": "DEVICE", "devices": [a, b], "device_type": "all",
                   "command": "UPDATE_HEARTBEAT"}),
        )
        .await;
        assert_eq!(status, 201, "{request}");
        assert_eq!(request["command"], "UPDATE_HEARTBEAT");
        assert_eq!(request["command_args"], json!({}));
        assert!(
            request["issued_by"]
                .as_str()
                .unwrap()
                .ends_with("'username': 'test'}")
        );
        assert_eq!(
            total(&request, "Command Queued") + total(&request, "Command Initiated"),
            2,
            "{request}"
        );
        let rid = request["id"].as_str().unwrap().to_string();
        let statuses = format!("/v0/enterprise/{eid}/command/{rid}/status/");

        // A is online: it gets the command at once, acknowledges and succeeds.
        let cmd = dev_a.command().await;
        assert_eq!(cmd.command, "UPDATE_HEARTBEAT");
        assert!(cmd.timeout_secs >= 120);
        dev_a
            .report(cmd.id, CommandProgress::Acknowledged, None, None)
            .await;
        dev_a
            .report(
                cmd.id,
                CommandProgress::Success,
                Some("sent"),
                Some(json!({"exit_code": 0})),
            )
            .await;
        let page = eventually(&s, &format!("{statuses}?device={a}"), |p| {
            p["results"][0]["state"] == "Command Success"
        })
        .await;
        assert_eq!(page["count"], 1);
        assert_eq!(page["results"][0]["id"], cmd.id.to_string());
        assert_eq!(page["results"][0]["details"]["exit_code"], 0);
        assert!(
            page["results"][0]["device"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/device/{a}/"))
        );
        // A late or backward report changes nothing.
        dev_a
            .report(cmd.id, CommandProgress::InProgress, None, None)
            .await;
        dev_a
            .report(cmd.id, CommandProgress::Failure, Some("late"), None)
            .await;

        // B is offline: queued until it connects, then delivered.
        let (_, page) = get(&s, &format!("{statuses}?state=Command%20Queued")).await;
        assert_eq!(page["count"], 1, "{page}");
        assert!(
            page["results"][0]["device"]
                .as_str()
                .unwrap()
                .contains(&b.to_string())
        );
        let mut dev_b = Scripted::connect(&s, &b_key).await;
        let cmd_b = dev_b.command().await;
        dev_b
            .report(cmd_b.id, CommandProgress::Failure, Some("no display"), None)
            .await;
        eventually(&s, &format!("{statuses}?device={b}"), |p| {
            p["results"][0]["state"] == "Command Failure"
                && p["results"][0]["reason"] == "no display"
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (_, page) = get(&s, &format!("{statuses}?device={a}")).await;
        assert_eq!(
            page["results"][0]["state"], "Command Success",
            "ends are final"
        );

        // The request carries its totals; the list filters; the history shows each device's.
        let (_, one) = get(&s, &format!("/v0/enterprise/{eid}/command/{rid}/")).await;
        assert_eq!(total(&one, "Command Success"), 1, "{one}");
        assert_eq!(total(&one, "Command Failure"), 1, "{one}");
        let (_, list) = get(
            &s,
            &format!("/v0/enterprise/{eid}/command/?devices={b}&command=UPDATE_HEARTBEAT"),
        )
        .await;
        assert_eq!(list["count"], 1, "{list}");
        let (_, list) = get(
            &s,
            &format!("/v0/enterprise/{eid}/command/?command_type=GROUP"),
        )
        .await;
        assert_eq!(list["count"], 0);
        let (_, history) = get(
            &s,
            &format!("/v0/enterprise/{eid}/device/{b}/command-history/?state=Command%20Failure"),
        )
        .await;
        assert_eq!(history["count"], 1, "{history}");
        let (status, body) = get(
            &s,
            &format!("/v0/enterprise/{eid}/device/{b}/command-history/?state=Exploded"),
        )
        .await;
        assert!(assert_envelope(status, &body, 400).contains("state"));

        // Two commands sent to B in a row arrive in order.
        for command in ["LOCK", "REBOOT"] {
            let (status, body) = post(
                &s,
                &format!("/v0/enterprise/{eid}/command/"),
                json!({"command_type": "DEVICE", "devices": [b], "command": command}),
            )
            .await;
            assert_eq!(status, 201, "{body}");
        }
        assert_eq!(dev_b.command().await.command, "LOCK");
        let reboot = dev_b.command().await;
        assert_eq!(reboot.command, "REBOOT");

        // Unanswered, REBOOT is sent again on the next connection (delivery at least once).
        drop(dev_b);
        let mut dev_b = Scripted::connect(&s, &b_key).await;
        let mut again = Vec::new();
        while let Some(c) = dev_b.command_within(Duration::from_secs(2)).await {
            again.push(c.id);
        }
        assert!(again.contains(&reboot.id), "{again:?}");
        dev_b.heartbeat().await;
        dev_a.heartbeat().await;
        s.stop().await;
    }
}

#[tokio::test]
async fn legacy_device_and_group_commands_show_in_their_own_shapes() {
    for s in servers_with(settings).await {
        let eid = s.enterprise;
        let enrol = token(&s, json!({})).await;
        let (a, a_key) = enroll_one(&s, &enrol, "till-1").await;
        let (b, _) = enroll_one(&s, &enrol, "till-2").await;
        let (_, group) = post(
            &s,
            &format!("/enterprise/{eid}/devicegroup/"),
            json!({"name": "tills"}),
        )
        .await;
        let gid = group["id"].as_str().unwrap().to_string();
        let (status, _) = json(
            s.api(
                Method::PATCH,
                &format!("/enterprise/{eid}/devicegroup/{gid}/?action=add"),
            )
            .json(&json!({"device_ids": [a, b]}))
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(status, 200);
        let mut dev_a = Scripted::connect(&s, &a_key).await;

        // Device command: queued or not, it reads as initiated.
        let (status, command) = post(
            &s,
            &format!("/enterprise/{eid}/device/{b}/command/"),
            json!({"command": "CLEAR_APP_DATA", "command_args": {"package_name": "com.example"}}),
        )
        .await;
        assert_eq!(status, 201, "{command}");
        assert_eq!(command["state"], "Command Initiated");
        assert_eq!(command["command_args"]["package_name"], "com.example");
        assert!(
            command["device"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/device/{b}/"))
        );
        let cid = command["id"].as_str().unwrap();
        let (status, again) =
            get(&s, &format!("/enterprise/{eid}/device/{b}/command/{cid}/")).await;
        assert_eq!(status, 200);
        assert_eq!(again["id"], command["id"]);
        let (status, _) = get(&s, &format!("/enterprise/{eid}/device/{a}/command/{cid}/")).await;
        assert_eq!(status, 404, "another device's command");

        // Group command: details list each device by outcome, as a Python literal.
        let (status, gc) = post(
            &s,
            &format!("/enterprise/{eid}/devicegroup/{gid}/command/"),
            json!({"command": "REBOOT"}),
        )
        .await;
        assert_eq!(status, 201, "{gc}");
        assert_eq!(gc["state"], "Command Initiated");
        assert!(
            gc["group"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/devicegroup/{gid}/"))
        );
        let gcid = gc["id"].as_str().unwrap().to_string();
        // A skips the CLEAR_APP_DATA of B, gets the REBOOT.
        let cmd = dev_a.command().await;
        assert_eq!(cmd.command, "REBOOT");
        dev_a
            .report(cmd.id, CommandProgress::Success, None, None)
            .await;
        let shown = eventually(
            &s,
            &format!("/enterprise/{eid}/devicegroup/{gid}/command/{gcid}/"),
            |g| g["details"].as_str().unwrap().contains("'success': [{"),
        )
        .await;
        let details = shown["details"].as_str().unwrap();
        assert!(details.contains("'name': 'till-1'"), "{details}");
        assert!(
            details.contains("'inactive': [{") && details.contains("'name': 'till-2'"),
            "{details}"
        );
        assert_eq!(
            shown["state"], "Command Initiated",
            "till-2 has not answered"
        );
        // The group command is also a device command of each device.
        let (status, dc) = get(&s, &format!("/enterprise/{eid}/device/{a}/command/{gcid}/")).await;
        assert_eq!(status, 200);
        assert_eq!(dc["state"], "Command Success");
        assert!(dc["group_command"].as_str().unwrap().contains(&gcid));

        // Bad input is named.
        for (body, field) in [
            (json!({}), "command"),
            (json!({"command": "FLY"}), "command"),
            (
                json!({"command": "CLEAR_APP_DATA"}),
                "command_args.package_name",
            ),
            (
                json!({"command": "SET_BRIGHTNESS_SCALE", "command_args": {"brightness_value": 500}}),
                "command_args.brightness_value",
            ),
            (
                json!({"command": "LOCK", "command_args": [1]}),
                "command_args",
            ),
        ] {
            let (status, err) =
                post(&s, &format!("/enterprise/{eid}/device/{a}/command/"), body).await;
            let message = assert_envelope(status, &err, 400);
            assert!(message.contains(field), "{field}: {message}");
        }
        let (status, err) = post(
            &s,
            &format!("/enterprise/{eid}/device/{}/command/", Uuid::new_v4()),
            json!({"command": "LOCK"}),
        )
        .await;
        assert_envelope(status, &err, 404);
        s.stop().await;
    }
}

#[tokio::test]
async fn v2_requests_are_checked_field_by_field() {
    for s in servers_with(settings).await {
        let eid = s.enterprise;
        let enrol = token(&s, json!({})).await;
        let (a, _) = enroll_one(&s, &enrol, "sign-1").await;
        let path = format!("/v0/enterprise/{eid}/command/");
        let cases = [
            (json!({"devices": [a], "command": "LOCK"}), "command_type"),
            (
                json!({"command_type": "SOME", "devices": [a], "command": "LOCK"}),
                "command_type",
            ),
            (
                json!({"command_type": "DEVICE", "command": "LOCK"}),
                "devices",
            ),
            (
                json!({"command_type": "DEVICE", "devices": ["nope"], "command": "LOCK"}),
                "devices",
            ),
            (
                json!({"command_type": "DEVICE", "devices": [Uuid::new_v4()], "command": "LOCK"}),
                "devices",
            ),
            (
                json!({"command_type": "GROUP", "command": "LOCK"}),
                "groups",
            ),
            (
                json!({"command_type": "GROUP", "groups": [Uuid::new_v4()], "command": "LOCK"}),
                "groups",
            ),
            (
                json!({"command_type": "DEVICE", "devices": [a], "groups": [Uuid::new_v4()], "command": "LOCK"}),
                "groups",
            ),
            (
                json!({"command_type": "DEVICE", "devices": [a], "command": "LOCK", "device_type": "some"}),
                "device_type",
            ),
            (
                json!({"command_type": "DEVICE", "devices": [a], "command": "LOCK", "schedule": "SOMETIME"}),
                "schedule",
            ),
            (
                json!({"command_type": "DEVICE", "devices": [a], "command": "LOCK", "schedule": "WINDOW"}),
                "schedule_args",
            ),
            (
                json!({"command_type": "DEVICE", "devices": [a], "command": "LOCK", "schedule": "WINDOW",
                    "schedule_args": {"start_datetime": "soon", "end_datetime": "2030-01-01T00:00:00Z"}}),
                "schedule_args.start_datetime",
            ),
            (
                json!({"command_type": "DEVICE", "devices": [a], "command": "LOCK", "schedule": "WINDOW",
                    "schedule_args": {"start_datetime": "2020-01-01T00:00:00Z", "end_datetime": "2020-01-02T00:00:00Z"}}),
                "schedule_args.end_datetime",
            ),
            (
                json!({"command_type": "DEVICE", "devices": [a], "command": "SET_TIMEZONE"}),
                "command_args.timezone_string",
            ),
            (
                json!({"command_type": "DYNAMIC", "command": "LOCK"}),
                "devices",
            ),
            // A scheduled message needs its name and time type.
            (
                json!({"command_type": "DEVICE", "devices": [a], "command": "NOTIFY_DEVICE",
                    "command_args": {"title": "Hi", "message": "Closing"}, "schedule": "WINDOW",
                    "schedule_args": {"start_datetime": "2030-01-01T09:00:00Z", "end_datetime": "2030-01-01T17:00:00Z",
                                      "time_type": "console"}}),
                "schedule_args.name",
            ),
            (
                json!({"command_type": "DEVICE", "devices": [a], "command": "NOTIFY_DEVICE",
                    "command_args": {"title": "Hi", "message": "Closing"}, "schedule": "RECURRING",
                    "schedule_args": {"start_datetime": "2030-01-01T09:00:00Z", "end_datetime": "2030-01-01T17:00:00Z",
                                      "name": "closing"}}),
                "schedule_args.time_type",
            ),
            (
                json!({"command_type": "DEVICE", "devices": [a], "command": "SET_STATIC_IP",
                    "command_args": {"interface": "eth0", "dhcp_enabled": false, "static_ip": "10.0.0.5"}}),
                "command_args.gateway",
            ),
            (
                json!({"command_type": "DEVICE", "devices": [a], "command": "SET_NEW_POLICY",
                    "command_args": {"policy_url": "policy.json"}}),
                "command_args.policy_url",
            ),
        ];
        for (body, field) in cases {
            let (status, err) = post(&s, &path, body.clone()).await;
            let message = assert_envelope(status, &err, 400);
            assert!(message.contains(field), "{body} → {message}");
        }
        let too_many: Vec<Uuid> = (0..1001).map(|_| Uuid::new_v4()).collect();
        let (status, err) = post(
            &s,
            &path,
            json!({"command_type": "DEVICE", "devices": too_many, "command": "LOCK"}),
        )
        .await;
        assert!(assert_envelope(status, &err, 400).contains("1000"));
        // 500 groups at most: the 501st is refused before any is looked up, whatever the kind.
        let groups: Vec<Uuid> = (0..501).map(|_| Uuid::new_v4()).collect();
        for command_type in ["GROUP", "DYNAMIC"] {
            let (status, err) = post(
                &s,
                &path,
                json!({"command_type": command_type, "groups": groups, "command": "LOCK"}),
            )
            .await;
            let message = assert_envelope(status, &err, 400);
            assert!(
                message.contains("groups") && message.contains("at most 500 groups"),
                "{command_type}: {message}"
            );
        }
        // 500 is allowed by the limit: the answer is about the first unknown group instead.
        let (status, err) = post(
            &s,
            &path,
            json!({"command_type": "GROUP", "groups": groups[..500], "command": "LOCK"}),
        )
        .await;
        let message = assert_envelope(status, &err, 400);
        assert!(
            message.contains("groups") && message.contains("no group"),
            "{message}"
        );
        let (status, _) = get(&s, &format!("{path}{}/status/", Uuid::new_v4())).await;
        assert_eq!(status, 404);

        // Accepted: DHCP without static fields, a policy by URL, a message scheduled in full.
        for body in [
            json!({"command_type": "DEVICE", "devices": [a], "device_type": "all", "command": "SET_STATIC_IP",
                   "command_args": {"interface": "eth0", "dhcp_enabled": true}}),
            json!({"command_type": "DEVICE", "devices": [a], "device_type": "all", "command": "SET_NEW_POLICY",
                   "command_args": {"policy_url": "https://mdm.example.com/policies/7.json"}}),
            json!({"command_type": "DEVICE", "devices": [a], "device_type": "all", "command": "NOTIFY_DEVICE",
                   "command_args": {"title": "Hi", "message": "Closing"}, "schedule": "WINDOW",
                   "schedule_args": {"name": "closing", "time_type": "device",
                                     "start_datetime": "2030-01-01T09:00:00Z", "end_datetime": "2030-01-01T17:00:00Z"}}),
        ] {
            let (status, made) = post(&s, &path, body.clone()).await;
            assert_eq!(status, 201, "{body} → {made}");
            let rid = made["id"].as_str().unwrap();
            let (status, _) = post(&s, &format!("{path}{rid}/cancel/"), json!({})).await;
            assert_eq!(status, 200);
        }

        // The list's filters take only their values (in any case), else a 400 naming them.
        let (status, made) = post(
            &s,
            &path,
            json!({"command_type": "DEVICE", "devices": [a], "device_type": "all", "command": "LOCK"}),
        )
        .await;
        assert_eq!(status, 201, "{made}");
        for (query, count) in [
            ("command_type=DEVICE&device_type=all&command=LOCK", 1),
            ("command_type=device&device_type=ALL&command=LOCK", 1),
            ("command_type=DEVICE", 4),
            ("command_type=GROUP", 0),
            ("device_type=active", 0),
        ] {
            let (status, list) = get(&s, &format!("{path}?{query}")).await;
            assert_eq!(status, 200, "{query}: {list}");
            assert_eq!(list["count"], count, "{query}: {list}");
        }
        for (query, field) in [
            ("command_type=SOMETIMES", "command_type"),
            ("command_type=DEVICE&device_type=online", "device_type"),
            ("device_type=all&command_type=DEVICES", "command_type"),
        ] {
            let (status, err) = get(&s, &format!("{path}?{query}")).await;
            let message = assert_envelope(status, &err, 400);
            assert!(message.contains(field), "{query}: {message}");
        }
        s.stop().await;
    }
}

/// A sent command the device never finishes ends in `Command TimeOut` after its kind's
/// configured time (a few seconds here), with a reason, whether or not the device acknowledged
/// it; other kinds keep their defaults.
#[tokio::test]
async fn a_sent_command_nobody_finishes_times_out_after_its_configured_time() {
    const LOCK_TIMEOUT: Duration = Duration::from_secs(3);
    let short_lock = || {
        let fast = fast();
        ServerSettings {
            commands: CommandSettings {
                sweep_interval: Duration::from_millis(200),
                timeouts: [("LOCK".to_string(), LOCK_TIMEOUT)].into(),
                ..CommandSettings::default()
            },
            // The devices are driven one at a time: neither is closed as silent meanwhile.
            devices: steward_server::DeviceSettings {
                inactive_after: Duration::from_secs(30),
                ..fast.devices
            },
            ..fast
        }
    };
    for s in servers_with(short_lock).await {
        let eid = s.enterprise;
        let enrol = token(&s, json!({})).await;
        let (silent, silent_key) = enroll_one(&s, &enrol, "silent").await;
        let (stalled, stalled_key) = enroll_one(&s, &enrol, "stalled").await;
        let mut silent_dev = Scripted::connect(&s, &silent_key).await;
        let mut stalled_dev = Scripted::connect(&s, &stalled_key).await;
        online(&s, silent).await;
        online(&s, stalled).await;

        let (status, request) = post(
            &s,
            &format!("/v0/enterprise/{eid}/command/"),
            json!({"command_type": "DEVICE", "devices": [silent, stalled], "command": "LOCK"}),
        )
        .await;
        assert_eq!(status, 201, "{request}");
        assert_eq!(request["timeout"], LOCK_TIMEOUT.as_secs(), "{request}");
        let rid = request["id"].as_str().unwrap().to_string();
        let statuses = format!("/v0/enterprise/{eid}/command/{rid}/status/");
        let cmd = silent_dev.command().await;
        assert_eq!(
            (cmd.command.as_str(), cmd.timeout_secs),
            ("LOCK", LOCK_TIMEOUT.as_secs())
        );
        let cmd = stalled_dev.command().await;
        stalled_dev
            .report(cmd.id, CommandProgress::Acknowledged, None, None)
            .await;

        // Both stay connected (heartbeats) and never report an end.
        let deadline = tokio::time::Instant::now() + LOCK_TIMEOUT + Duration::from_secs(15);
        let page = loop {
            silent_dev.heartbeat().await;
            stalled_dev.heartbeat().await;
            tokio::time::sleep(Duration::from_millis(250)).await;
            let (_, page) = get(&s, &format!("{statuses}?state=Command%20TimeOut")).await;
            if page["count"] == 2 {
                break page;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "not timed out: {}",
                get(&s, &statuses).await.1
            );
        };
        for row in page["results"].as_array().unwrap() {
            assert_eq!(row["reason"], "no result from the device in time", "{row}");
            // Never before its time: the deadline runs from the sending, after the creation.
            let at = |field: &str| {
                time::OffsetDateTime::parse(
                    row[field].as_str().unwrap(),
                    &time::format_description::well_known::Rfc3339,
                )
                .unwrap()
            };
            assert!(
                at("updated_on") - at("created_on") >= LOCK_TIMEOUT,
                "timed out early: {row}"
            );
        }
        let (_, one) = get(&s, &format!("/v0/enterprise/{eid}/command/{rid}/")).await;
        assert_eq!(total(&one, "Command TimeOut"), 2, "{one}");
        // A report after the end changes nothing.
        stalled_dev
            .report(cmd.id, CommandProgress::Success, None, None)
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (_, page) = get(&s, &format!("{statuses}?device={stalled}")).await;
        assert_eq!(page["results"][0]["state"], "Command TimeOut", "{page}");

        // Another kind keeps its default (two minutes or more).
        let (status, other) = post(
            &s,
            &format!("/v0/enterprise/{eid}/command/"),
            json!({"command_type": "DEVICE", "devices": [silent], "command": "REBOOT"}),
        )
        .await;
        assert_eq!(status, 201, "{other}");
        assert_eq!(
            other["timeout"],
            steward_core::commands::default_timeout("REBOOT").as_secs()
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn waiting_commands_can_be_cancelled_and_expire() {
    // Each request below is cancelled within a few calls of its creation, well within this.
    const EXPIRY: Duration = Duration::from_secs(4);
    let quick_expiry = || ServerSettings {
        commands: CommandSettings {
            sweep_interval: Duration::from_millis(200),
            queue_expiry: EXPIRY,
            ..CommandSettings::default()
        },
        ..fast()
    };
    for s in servers_with(quick_expiry).await {
        let eid = s.enterprise;
        let enrol = token(&s, json!({})).await;
        let (a, a_key) = enroll_one(&s, &enrol, "offline").await;
        let path = format!("/v0/enterprise/{eid}/command/");
        let body = json!({"command_type": "DEVICE", "devices": [a], "device_type": "inactive", "command": "LOCK"});

        // One status cancelled, right after its request is made.
        let (_, first) = post(&s, &path, body.clone()).await;
        assert_eq!(total(&first, "Command Queued"), 1, "{first}");
        let rid = first["id"].as_str().unwrap();
        let (_, page) = get(&s, &format!("{path}{rid}/status/")).await;
        let sid = page["results"][0]["id"].as_str().unwrap();
        let cancel = format!("{path}{rid}/status/{sid}/?action=cancel");
        let (status, row) = json(s.api(Method::PATCH, &cancel).send().await.unwrap()).await;
        assert_eq!(status, 200, "{row}");
        assert_eq!(row["state"], "Command Cancelled");
        let (status, err) = json(s.api(Method::PATCH, &cancel).send().await.unwrap()).await;
        assert!(assert_envelope(status, &err, 400).contains("action"));
        let (status, err) = json(
            s.api(
                Method::PATCH,
                &format!("{path}{rid}/status/{sid}/?action=success"),
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert!(assert_envelope(status, &err, 400).contains("device"));

        // Then a whole request.
        let (_, second) = post(&s, &path, body.clone()).await;
        let rid2 = second["id"].as_str().unwrap();
        let (status, after) = post(&s, &format!("{path}{rid2}/cancel/"), json!({})).await;
        assert_eq!(status, 200, "{after}");
        assert_eq!(total(&after, "Command Cancelled"), 1, "{after}");

        // The third is never fetched: it times out, not before the expiry. A device connecting
        // afterwards gets nothing.
        let (_, third) = post(&s, &path, body).await;
        let rid3 = third["id"].as_str().unwrap();
        let page = eventually(&s, &format!("{path}{rid3}/status/"), |p| {
            p["results"][0]["state"] == "Command TimeOut"
        })
        .await;
        let row = &page["results"][0];
        assert!(row["reason"].as_str().unwrap().contains("expired"), "{row}");
        let at = |field: &str| {
            time::OffsetDateTime::parse(
                row[field].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
        };
        assert!(
            at("updated_on") - at("created_on") >= EXPIRY,
            "expired early: {row}"
        );
        let (_, page) = get(&s, &format!("{path}{rid}/status/")).await;
        assert_eq!(
            page["results"][0]["state"], "Command Cancelled",
            "stays cancelled"
        );
        let mut device = Scripted::connect(&s, &a_key).await;
        assert!(
            device
                .command_within(Duration::from_secs(1))
                .await
                .is_none()
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn a_scheduled_command_waits_for_its_window() {
    for s in servers_with(settings).await {
        let eid = s.enterprise;
        let enrol = token(&s, json!({})).await;
        let (a, a_key) = enroll_one(&s, &enrol, "window").await;
        let mut device = Scripted::connect(&s, &a_key).await;
        online(&s, a).await;
        let fmt = |t: time::OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        };
        // The window opens 2 s from now; whenever the POST is answered, the command must not
        // arrive before then (the server's clock is this one).
        let start = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
        let end = start + time::Duration::hours(1);
        let (status, request) = post(
            &s,
            &format!("/v0/enterprise/{eid}/command/"),
            json!({"command_type": "DEVICE", "devices": [a], "command": "NOTIFY_DEVICE",
                   "command_args": {"title": "Hi", "message": "Closing soon"},
                   "schedule": "WINDOW",
                   "schedule_args": {"name": "evening", "start_datetime": fmt(start), "end_datetime": fmt(end),
                                     "time_type": "console", "days": ["All days"]}}),
        )
        .await;
        assert_eq!(status, 201, "{request}");
        assert_eq!(total(&request, "Command Scheduled"), 1, "{request}");
        assert_eq!(request["schedule_args"]["name"], "evening");
        let cmd = device
            .command_within(Duration::from_secs(12))
            .await
            .expect("sent in the window");
        let arrived = time::OffsetDateTime::now_utc();
        assert!(
            arrived >= start,
            "sent at {arrived}, before the window at {start}"
        );
        assert_eq!(cmd.command, "NOTIFY_DEVICE");
        assert_eq!(cmd.args["title"], "Hi");
        s.stop().await;
    }
}

/// Two nodes on one PostgreSQL database: a command created through node A reaches a device
/// connected to node B within a second (NOTIFY wakes B; the sweep alone would take seconds).
#[tokio::test]
async fn a_command_made_on_one_node_reaches_a_device_on_another_within_a_second() {
    let Some(db) = steward_store::testing::postgres().await else {
        return;
    };
    let url = db.url.clone();
    let a = TestServer::start_with(db, settings()).await;
    // Node B: its own connections to the same database, its own device registry.
    let store_b = steward_store::Store::connect(&url).await.unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut settings_b = settings();
    settings_b.listen = addr;
    let state_b = steward_server::AppState::new(
        store_b,
        settings_b,
        steward_server::Blobs::in_folder(&a.blobs_dir).unwrap(),
    );
    let (stop_b, stopped_b) = tokio::sync::oneshot::channel::<()>();
    let node_b = tokio::spawn(steward_server::serve(listener, state_b, async {
        let _ = stopped_b.await;
    }));
    let b_origin = format!("http://{addr}");
    for _ in 0..100 {
        if reqwest::get(format!("{b_origin}/readyz"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let enrol = token(&a, json!({})).await;
    let (device, key) = enroll_one(&a, &enrol, "on-node-b").await;
    let url = format!("ws://{addr}/agent/v1/connect");
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {key}").parse().unwrap());
    let mut socket = tokio_tungstenite::connect_async(request).await.unwrap().0;
    let hello = AgentFrame::Hello {
        protocol: PROTOCOL_VERSION,
        agent_version: "scripted".into(),
    };
    socket
        .send(Message::Text(serde_json::to_string(&hello).unwrap().into()))
        .await
        .unwrap();
    let mut on_b = Scripted { socket };
    online(&a, device).await;
    // Let B's listener settle, then time the command from A.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for round in 0..3 {
        let started = std::time::Instant::now();
        let (status, body) = post(
            &a,
            &format!("/v0/enterprise/{}/command/", a.enterprise),
            json!({"command_type": "DEVICE", "devices": [device], "command": "UPDATE_HEARTBEAT"}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let cmd = on_b
            .command_within(Duration::from_secs(1))
            .await
            .unwrap_or_else(|| {
                panic!("round {round}: not delivered through node B within a second")
            });
        assert!(started.elapsed() < Duration::from_secs(1));
        on_b.report(cmd.id, CommandProgress::Success, None, None)
            .await;
        let rid = body["id"].as_str().unwrap();
        eventually(
            &a,
            &format!("/v0/enterprise/{}/command/{rid}/status/", a.enterprise),
            |p| p["results"][0]["state"] == "Command Success",
        )
        .await;
    }
    let _ = stop_b.send(());
    let _ = tokio::time::timeout(Duration::from_secs(15), node_b).await;
    a.stop().await;
}

#[tokio::test]
async fn custom_actions_are_kept_in_the_v2_envelope_and_run_on_devices() {
    for s in servers_with(settings).await {
        let body = json!({
            "name": "Restart kiosk", "type": "button", "state": "draft",
            "position_in_blueprints": "none", "position_in_device_settings": "device_quick_settings",
            "properties": {"description": "Restarts the browser"},
            "options": [{"label": "Now", "key": "4adfe27e-63d3-45b9-8238-62b6ed6fdb5e",
                         "scripts": {"linux": {"script": "echo restarted", "interpreter": "sh"}}}]
        });
        let (status, created) = post(&s, "/v2/custom-actions/", body.clone()).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["code"], 201);
        let action = created["content"]["id"].as_str().unwrap().to_string();
        assert_eq!(created["content"]["type"], "button");
        let mut second = body.clone();
        second["name"] = json!("Beep");
        second["type"] = json!("toggle");
        assert_eq!(post(&s, "/v2/custom-actions/", second).await.0, 201);

        let (_, list) = get(&s, "/v2/custom-actions/?type=button,radio&ordering=-name").await;
        assert_eq!(list["content"]["count"], 1, "{list}");
        assert!(list["content"].get("previous").is_some());
        let (_, list) = get(&s, "/v2/custom-actions/?name=BEE&limit=1").await;
        assert_eq!(list["content"]["results"][0]["name"], "Beep");
        let (status, err) = get(&s, "/v2/custom-actions/?ordering=color").await;
        assert_eq!(status, 400);
        assert!(
            err["message"].as_str().unwrap().contains("ordering"),
            "{err}"
        );
        let (status, err) = post(&s, "/v2/custom-actions/", json!({"name": "x"})).await;
        assert_eq!((status, err["code"].as_u64()), (400, Some(400)), "{err}");
        assert!(
            err["message"].as_str().unwrap().contains("options"),
            "{err}"
        );

        // Only an active action runs; then the device gets the option's script.
        let enrol = token(&s, json!({})).await;
        let (d, key) = enroll_one(&s, &enrol, "kiosk").await;
        let mut device = Scripted::connect(&s, &key).await;
        online(&s, d).await;
        let run = json!({"command_type": "DEVICE", "devices": [d], "command": "RUN_CUSTOM_ACTION",
                         "command_args": {"custom_action_id": action, "option_key": "4adfe27e-63d3-45b9-8238-62b6ed6fdb5e"}});
        let (status, err) = post(
            &s,
            &format!("/v0/enterprise/{}/command/", s.enterprise),
            run.clone(),
        )
        .await;
        assert!(assert_envelope(status, &err, 400).contains("draft"));
        let (status, patched) = json(
            s.api(Method::PATCH, &format!("/v2/custom-actions/{action}/"))
                .json(&json!({"state": "active"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{patched}");
        assert_eq!(patched["content"]["name"], "Restart kiosk");
        let (status, request) = post(
            &s,
            &format!("/v0/enterprise/{}/command/", s.enterprise),
            run,
        )
        .await;
        assert_eq!(status, 201, "{request}");
        let cmd = device.command().await;
        assert_eq!(cmd.command, "RUN_CUSTOM_ACTION");
        assert_eq!(cmd.args["script"], "echo restarted");
        assert_eq!(cmd.args["interpreter"], "sh");

        // Another enterprise sees none of it.
        let (_, other_key) = s.other_enterprise().await;
        let (status, _) = json(
            s.api_as(
                &other_key,
                Method::GET,
                &format!("/v2/custom-actions/{action}/"),
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(status, 404);
        let (status, _) = json(
            s.api(Method::DELETE, &format!("/v2/custom-actions/{action}/"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 204);
        let (status, _) = get(&s, &format!("/v2/custom-actions/{action}/")).await;
        assert_eq!(status, 404);
        s.stop().await;
    }
}

/// The Linux agent itself (its runner, journal and executor over a fixture root) against the
/// server: built-ins change files, hooks run, what Linux cannot do fails with a reason, a
/// custom action reports its output, and an agent started again on the same journal answers a
/// repeated delivery without running it again.
#[tokio::test]
async fn a_linux_agent_carries_out_commands_and_reports_what_happened() {
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Arc;
    use steward_agent::commands::linux::{LinuxExecutor, LinuxExecutorConfig};
    use steward_agent::commands::{CommandRunner, Journal};
    use steward_agent::platform::Platform;
    use steward_agent::platform::linux::{LinuxConfig, LinuxPlatform};

    for s in servers_with(settings).await {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("usr/share/zoneinfo/Europe")).unwrap();
        std::fs::write(root.join("usr/share/zoneinfo/Europe/Lisbon"), b"TZif2").unwrap();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/timezone"), "UTC\n").unwrap();
        let hooks = dir.path().join("hooks");
        std::fs::create_dir_all(&hooks).unwrap();
        let rebooted = dir.path().join("rebooted");
        let hook = hooks.join("reboot");
        std::fs::write(
            &hook,
            format!("#!/bin/sh\ncat > '{}'\n", rebooted.display()),
        )
        .unwrap();
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
        let journal_path = dir.path().join("state.commands.jsonl");
        let platform: Arc<dyn Platform> = Arc::new(LinuxPlatform::new(LinuxConfig {
            root: root.clone(),
            ..LinuxConfig::default()
        }));
        let runner = || {
            let executor = LinuxExecutor::new(
                LinuxExecutorConfig {
                    root: root.clone(),
                    hooks_dir: Some(hooks.clone()),
                    work_dir: dir.path().join("work"),
                    graphical_session: false,
                    package_root: None,
                    content_dir: dir.path().join("content"),
                },
                platform.clone(),
            );
            CommandRunner::new(Arc::new(executor), Journal::open(&journal_path).unwrap())
        };

        let enrol = token(&s, json!({})).await;
        let (d, key) = enroll_one(&s, &enrol, "till-7").await;
        let (stop, task) = crate::agents::start_agent_with(&s, &key, platform.clone(), runner());
        online(&s, d).await;
        let enterprise = s.enterprise;
        let issue = |command: &'static str, args: Value| {
            let s = &s;
            async move {
                let (status, request) = post(
                    s,
                    &format!("/v0/enterprise/{enterprise}/command/"),
                    json!({"command_type": "DEVICE", "devices": [d], "command": command,
                           "command_args": args}),
                )
                .await;
                assert_eq!(status, 201, "{request}");
                let id = request["id"].as_str().unwrap().to_string();
                let path = format!("/v0/enterprise/{enterprise}/command/{id}/status/");
                let done = eventually(s, &path, |b| {
                    b["results"][0]["state"]
                        .as_str()
                        .is_some_and(|st| st == "Command Success" || st == "Command Failure")
                })
                .await;
                done["results"][0].clone()
            }
        };

        let row = issue("SET_TIMEZONE", json!({"timezone_string": "Europe/Lisbon"})).await;
        assert_eq!(row["state"], "Command Success", "{row}");
        assert_eq!(
            std::fs::read_to_string(root.join("etc/timezone")).unwrap(),
            "Europe/Lisbon\n"
        );
        // The agent reports the new zone at once.
        eventually(&s, &format!("/enterprise/{enterprise}/device/{d}/"), |b| {
            b["softwareInfo"]["timezone"] == "Europe/Lisbon"
        })
        .await;

        let row = issue("REBOOT", json!({})).await;
        assert_eq!(row["state"], "Command Success", "{row}");
        assert_eq!(std::fs::read_to_string(&rebooted).unwrap(), "{}");

        // Settings Linux has a kernel interface for change the fixture root's sysfs files.
        let backlight = root.join("sys/class/backlight/panel");
        std::fs::create_dir_all(&backlight).unwrap();
        std::fs::write(backlight.join("max_brightness"), "255\n").unwrap();
        std::fs::write(backlight.join("brightness"), "255\n").unwrap();
        let row = issue("SET_BRIGHTNESS_SCALE", json!({"brightness_value": 40})).await;
        assert_eq!(row["state"], "Command Success", "{row}");
        assert_eq!(
            std::fs::read_to_string(backlight.join("brightness")).unwrap(),
            "102\n"
        );

        let row = issue("WIPE", json!({})).await;
        assert_eq!(row["state"], "Command Failure", "{row}");
        assert!(
            row["reason"].as_str().unwrap().contains("hooks/wipe"),
            "{row}"
        );

        let row = issue("SET_KIOSK_APP", json!({"package_name": "com.example.pos"})).await;
        assert_eq!(row["state"], "Command Failure", "{row}");
        assert!(
            row["reason"]
                .as_str()
                .unwrap()
                .contains("cannot do SET_KIOSK_APP"),
            "{row}"
        );

        let (status, action) = post(
            &s,
            "/v2/custom-actions/",
            json!({"name": "Disk report", "type": "button", "state": "active",
                   "position_in_blueprints": "none", "position_in_device_settings": "device_quick_settings",
                   "properties": {"description": "Disk use"},
                   "options": [{"label": "Run", "key": "0c6a1cbe-5e57-4d55-9a55-3f4c2d7f2f10",
                                "scripts": {"linux": {"script": "echo used 42%; echo careful >&2; exit 3", "interpreter": "sh"}}}]}),
        )
        .await;
        assert_eq!(status, 201, "{action}");
        let row = issue(
            "RUN_CUSTOM_ACTION",
            json!({"custom_action_id": action["content"]["id"],
                   "option_key": "0c6a1cbe-5e57-4d55-9a55-3f4c2d7f2f10"}),
        )
        .await;
        assert_eq!(row["state"], "Command Failure", "{row}");
        assert!(
            row["reason"]
                .as_str()
                .unwrap()
                .contains("status 3: careful"),
            "{row}"
        );
        assert_eq!(row["details"]["stdout"], "used 42%\n", "{row}");
        assert_eq!(row["details"]["exit_code"], 3, "{row}");

        // The agent stops and starts again on the same journal: nothing it ran runs again.
        stop.cancel();
        let _ = task.await;
        let before = std::fs::read_to_string(&journal_path).unwrap();
        assert_eq!(before.lines().count(), 12, "{before}");
        let (stop, task) = crate::agents::start_agent_with(&s, &key, platform.clone(), runner());
        let row = issue("UPDATE_HEARTBEAT", json!({})).await;
        assert_eq!(row["state"], "Command Success", "{row}");
        let after = std::fs::read_to_string(&journal_path).unwrap();
        assert_eq!(
            after.lines().count(),
            14,
            "only the new command ran: {after}"
        );
        stop.cancel();
        let _ = task.await;
        s.stop().await;
    }
}
