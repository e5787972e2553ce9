//! Installs that happen: INSTALL, UNINSTALL and PUSH_CONTENT sent to a real Linux agent (its
//! runner, journal and executor) whose packages live in a sandbox root run by the real dpkg.
//! The device fetches each file from the server with its own credential and checks it; the
//! install rows follow the command from in progress to success or failure, and the device's
//! app list follows what dpkg did.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use steward_agent::commands::download::FileSource;
use steward_agent::commands::linux::{LinuxExecutor, LinuxExecutorConfig};
use steward_agent::commands::simulated::SimulatedExecutor;
use steward_agent::commands::{CommandRunner, Journal};
use steward_agent::link::LinkError;
use steward_agent::platform::Platform;
use steward_agent::platform::linux::{LinuxConfig, LinuxPlatform};
use steward_agent::platform::simulated::SimulatedPlatform;
use steward_agent::testing::{build_deb, dpkg_sandbox, have_dpkg};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::agents::{enroll_one, eventually, start_agent_with, token};
use crate::applications::{fixture, upload_bytes};
use crate::commands::{get, online, post, settings};
use crate::common::{TestServer, assert_envelope, json, servers_with};

/// A Linux device: the real agent over a fixture root whose dpkg database is a sandbox.
struct LinuxDevice {
    dir: tempfile::TempDir,
    id: Uuid,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), LinkError>>,
}

impl LinuxDevice {
    async fn start(s: &TestServer, name: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        dpkg_sandbox(&root);
        std::fs::create_dir_all(dir.path().join("hooks")).unwrap();
        let enrol = token(s, json!({})).await;
        let (id, key) = enroll_one(s, &enrol, name).await;
        let platform: Arc<dyn Platform> = Arc::new(LinuxPlatform::new(LinuxConfig {
            root: root.clone(),
            ..LinuxConfig::default()
        }));
        let executor = LinuxExecutor::new(
            LinuxExecutorConfig {
                root,
                hooks_dir: Some(dir.path().join("hooks")),
                work_dir: dir.path().join("work"),
                graphical_session: false,
                package_root: None,
                content_dir: dir.path().join("content"),
            },
            platform.clone(),
        )
        .with_files(FileSource::new(s.origin.parse().unwrap(), key.clone(), None).unwrap());
        let runner = CommandRunner::new(
            Arc::new(executor),
            Journal::open(&dir.path().join("state.commands.jsonl")).unwrap(),
        );
        let (stop, task) = start_agent_with(s, &key, platform, runner);
        online(s, id).await;
        Self {
            dir,
            id,
            stop,
            task,
        }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn hook(&self, name: &str, script: &str) {
        let path = self.dir.path().join("hooks").join(name);
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn no_hook(&self, name: &str) {
        let _ = std::fs::remove_file(self.dir.path().join("hooks").join(name));
    }

    async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// A simulated device (the simulator's platform and executor over the real agent link): its
/// INSTALL and PUSH_CONTENT fetch the file from the server with its credential and check it;
/// INSTALL and UNINSTALL change its app list, which it sends before the final report.
pub(crate) struct SimDevice {
    pub id: Uuid,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), LinkError>>,
}

impl SimDevice {
    /// Enrols `name` (into `group`, when given) and waits until it is online.
    pub(crate) async fn start(s: &TestServer, name: &str, group: Option<&str>) -> Self {
        let body = match group {
            Some(g) => json!({"group": g}),
            None => json!({}),
        };
        let enrol = token(s, body).await;
        let (id, key) = enroll_one(s, &enrol, name).await;
        let platform: Arc<dyn Platform> = Arc::new(SimulatedPlatform::new(0));
        let executor = SimulatedExecutor::new(id, Duration::ZERO, None)
            .with_files(FileSource::new(s.origin.parse().unwrap(), key.clone(), None).unwrap())
            .with_platform(platform.clone());
        let runner = CommandRunner::new(Arc::new(executor), Journal::in_memory());
        let (stop, task) = start_agent_with(s, &key, platform, runner);
        online(s, id).await;
        Self { id, stop, task }
    }

    pub(crate) async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// Uploads a package; its application id and version id.
pub(crate) async fn upload(s: &TestServer, name: &str, bytes: Vec<u8>) -> (String, String) {
    let (status, body) = upload_bytes(s, "app_file", name, bytes).await;
    assert_eq!(status, 201, "{body}");
    let app = &body["application"];
    (
        app["id"].as_str().unwrap().to_string(),
        app["versions"][0]["id"].as_str().unwrap().to_string(),
    )
}

/// Sends a command; its request id.
pub(crate) async fn send(
    s: &TestServer,
    device: Uuid,
    command: &str,
    args: Value,
    legacy: bool,
) -> String {
    let eid = s.enterprise;
    let (status, request) = if legacy {
        post(
            s,
            &format!("/enterprise/{eid}/device/{device}/command/"),
            json!({"command": command, "command_args": args}),
        )
        .await
    } else {
        post(
            s,
            &format!("/v0/enterprise/{eid}/command/"),
            json!({"command_type": "DEVICE", "devices": [device], "command": command,
                   "command_args": args}),
        )
        .await
    };
    assert_eq!(status, 201, "{request}");
    request["id"].as_str().unwrap().to_string()
}

/// The device's row of a request once it has ended.
pub(crate) async fn ended(s: &TestServer, request: &str) -> Value {
    let path = format!("/v0/enterprise/{}/command/{request}/status/", s.enterprise);
    let page = eventually(s, &path, |p| {
        p["results"][0]["state"]
            .as_str()
            .is_some_and(|st| st == "Command Success" || st == "Command Failure")
    })
    .await;
    page["results"][0].clone()
}

/// Sends a command and waits for the device's row to end.
pub(crate) async fn outcome(
    s: &TestServer,
    device: Uuid,
    command: &str,
    args: Value,
    legacy: bool,
) -> Value {
    let request = send(s, device, command, args, legacy).await;
    ended(s, &request).await
}

/// The device's install rows for `package`, newest first.
async fn installs(s: &TestServer, device: Uuid, package: &str) -> Vec<Value> {
    let (status, page) = get(
        s,
        &format!(
            "/enterprise/{}/device/{device}/install/?package_name={package}",
            s.enterprise
        ),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    page["results"].as_array().unwrap().clone()
}

/// The device's app list as (package, version name).
pub(crate) async fn apps(s: &TestServer, device: Uuid) -> Vec<(String, String)> {
    let (_, page) = get(
        s,
        &format!(
            "/enterprise/{}/device/{device}/app/?limit=100",
            s.enterprise
        ),
    )
    .await;
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["package_name"].as_str().unwrap().to_string(),
                a["version_name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Waits until the device's app list satisfies `check`.
pub(crate) async fn apps_until(
    s: &TestServer,
    device: Uuid,
    check: impl Fn(&[(String, String)]) -> bool,
) {
    for _ in 0..100 {
        if check(&apps(s, device).await) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the app list never matched: {:?}", apps(s, device).await);
}

/// A blocker for the device's command queue: REBOOT through a hook that waits for `gate`.
fn gate_hook(device: &LinuxDevice) -> PathBuf {
    let gate = device.dir.path().join("gate");
    device.hook(
        "reboot",
        &format!(
            "#!/bin/sh\nwhile [ ! -e '{}' ]; do sleep 0.05; done\n",
            gate.display()
        ),
    );
    gate
}

#[tokio::test]
async fn debian_packages_are_installed_and_removed_by_dpkg_in_the_devices_root() {
    if !have_dpkg() {
        return;
    }
    let packages = tempfile::tempdir().unwrap();
    let kiosk = build_deb(packages.path(), "steward-kiosk", "1.0-1", "all", None);
    let needy = build_deb(
        packages.path(),
        "steward-needy",
        "2.0",
        "all",
        Some("steward-missing (>= 3)"),
    );
    let arch = std::process::Command::new("dpkg")
        .arg("--print-architecture")
        .output()
        .unwrap();
    let arch = String::from_utf8_lossy(&arch.stdout).trim().to_string();
    for s in servers_with(settings).await {
        let device = LinuxDevice::start(&s, "till-9").await;
        let d = device.id;
        let (_, kiosk_version) = upload(&s, "steward-kiosk_1.0-1_all.deb", kiosk.clone()).await;

        // INSTALL (V2), held behind a command still running: the install row is in progress
        // from the moment the command is sent.
        let gate = gate_hook(&device);
        let reboot = send(&s, d, "REBOOT", json!({}), false).await;
        let install = send(
            &s,
            d,
            "INSTALL",
            json!({"app_version": kiosk_version}),
            false,
        )
        .await;
        let path = format!(
            "/enterprise/{}/device/{d}/install/?package_name=steward-kiosk",
            s.enterprise
        );
        let page = eventually(&s, &path, |p| {
            p["results"][0]["install_state"] == "INSTALL_IN_PROGRESS"
        })
        .await;
        let row = &page["results"][0];
        assert_eq!(row["application"]["version"]["version_name"], "1.0-1");
        assert_eq!(
            row["application"]["version"]["app_version_id"],
            kiosk_version
        );
        assert!(row["reason_details"].is_null(), "{row}");
        assert!(!apps(&s, d).await.iter().any(|a| a.0 == "steward-kiosk"));
        std::fs::write(&gate, "").unwrap();
        assert_eq!(ended(&s, &reboot).await["state"], "Command Success");
        let row = ended(&s, &install).await;
        assert_eq!(row["state"], "Command Success", "{row}");
        assert!(
            row["reason"]
                .as_str()
                .unwrap()
                .contains("installed steward-kiosk 1.0-1 with dpkg"),
            "{row}"
        );
        assert_eq!(
            row["details"]["sha256"],
            hex::encode(Sha256::digest(&kiosk))
        );
        // dpkg installed it in the sandbox; the app list shows it; one install row, settled.
        assert_eq!(
            std::fs::read_to_string(device.root().join("opt/steward-kiosk/version")).unwrap(),
            "1.0-1"
        );
        apps_until(&s, d, |a| {
            a.contains(&("steward-kiosk".into(), "1.0-1".into()))
        })
        .await;
        let rows = installs(&s, d, "steward-kiosk").await;
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0]["install_state"], "INSTALL_SUCCESS");
        assert!(rows[0]["reason_details"].as_str().unwrap().contains("dpkg"));

        // UNINSTALL by version, through the legacy endpoint as espercli sends it.
        let row = outcome(
            &s,
            d,
            "UNINSTALL",
            json!({"app_version": kiosk_version}),
            true,
        )
        .await;
        assert_eq!(row["state"], "Command Success", "{row}");
        assert!(!device.root().join("opt/steward-kiosk/version").exists());
        apps_until(&s, d, |a| !a.iter().any(|p| p.0 == "steward-kiosk")).await;
        let rows = installs(&s, d, "steward-kiosk").await;
        let states: Vec<&str> = rows
            .iter()
            .map(|r| r["install_state"].as_str().unwrap())
            .collect();
        assert_eq!(states, ["UNINSTALL_SUCCESS", "INSTALL_SUCCESS"]);

        // INSTALL through the legacy endpoint.
        assert_eq!(
            outcome(
                &s,
                d,
                "INSTALL",
                json!({"app_version": kiosk_version}),
                true,
            )
            .await["state"],
            "Command Success"
        );
        apps_until(&s, d, |a| a.iter().any(|p| p.0 == "steward-kiosk")).await;
        assert_eq!(
            installs(&s, d, "steward-kiosk").await[0]["install_state"],
            "INSTALL_SUCCESS"
        );

        // A missing dependency: dpkg's own words, and nothing left half-installed.
        let (_, needy_version) = upload(&s, "steward-needy_2.0_all.deb", needy.clone()).await;
        let row = outcome(
            &s,
            d,
            "INSTALL",
            json!({"app_version": needy_version}),
            false,
        )
        .await;
        assert_eq!(row["state"], "Command Failure", "{row}");
        let reason = row["reason"].as_str().unwrap();
        assert!(
            reason.contains("steward-needy depends on steward-missing (>= 3)"),
            "{reason}"
        );
        let rows = installs(&s, d, "steward-needy").await;
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0]["install_state"], "INSTALL_FAILED");
        assert!(
            rows[0]["reason_details"]
                .as_str()
                .unwrap()
                .contains("depends on steward-missing")
        );
        let status = std::fs::read_to_string(device.root().join("var/lib/dpkg/status")).unwrap();
        assert!(!status.contains("Package: steward-needy"), "{status}");

        // The committed fixture is for arm64: elsewhere dpkg refuses it, and says why.
        if arch != "arm64" {
            let bytes = std::fs::read(fixture("kiosk-agent_1.4.2-1_arm64.deb")).unwrap();
            let (_, arm) = upload(&s, "kiosk-agent_1.4.2-1_arm64.deb", bytes).await;
            let row = outcome(&s, d, "INSTALL", json!({"app_version": arm}), false).await;
            assert_eq!(row["state"], "Command Failure", "{row}");
            assert!(
                row["reason"]
                    .as_str()
                    .unwrap()
                    .contains("package architecture (arm64) does not match system"),
                "{row}"
            );
        }
        // Nothing the agent fetched is left in its work folder.
        let left = std::fs::read_dir(device.dir.path().join("work/downloads"))
            .unwrap()
            .count();
        assert_eq!(left, 0);
        device.stop().await;
        s.stop().await;
    }
}

#[tokio::test]
async fn apks_need_a_hook_tampered_files_fail_and_content_lands_in_its_folder() {
    for s in servers_with(settings).await {
        let device = LinuxDevice::start(&s, "kiosk-4").await;
        let d = device.id;
        let apk = std::fs::read(fixture("kiosk-1.0.apk")).unwrap();
        let (_, apk_version) = upload(&s, "kiosk-1.0.apk", apk.clone()).await;

        // No Android package installer on Linux, and no hook: a failure that says which.
        let row = outcome(&s, d, "INSTALL", json!({"app_version": apk_version}), false).await;
        assert_eq!(row["state"], "Command Failure", "{row}");
        let reason = row["reason"].as_str().unwrap();
        assert!(
            reason.contains("no Android package installer") && reason.contains("hooks/install"),
            "{reason}"
        );
        let rows = installs(&s, d, "com.example.kiosk").await;
        assert_eq!(rows[0]["install_state"], "INSTALL_FAILED", "{rows:?}");
        assert!(
            rows[0]["reason_details"]
                .as_str()
                .unwrap()
                .contains("no Android package installer")
        );

        // With an install hook: it gets the checked file and the package's name and version.
        let got = device.dir.path().join("got.apk");
        device.hook(
            "install",
            &format!(
                "#!/bin/sh\nset -e\ncp \"$STEWARD_FILE\" '{}'\necho \"adb install $STEWARD_PACKAGE_NAME $STEWARD_PACKAGE_VERSION_CODE\"\n",
                got.display()
            ),
        );
        let row = outcome(&s, d, "INSTALL", json!({"app_version": apk_version}), false).await;
        assert_eq!(row["state"], "Command Success", "{row}");
        assert_eq!(
            row["details"]["stdout"],
            "adb install com.example.kiosk 1\n"
        );
        assert_eq!(std::fs::read(&got).unwrap(), apk);
        let rows = installs(&s, d, "com.example.kiosk").await;
        assert_eq!(rows[0]["install_state"], "INSTALL_SUCCESS", "{rows:?}");
        assert_eq!(rows[1]["install_state"], "INSTALL_FAILED", "{rows:?}");

        // The stored file altered (same size): the device refuses it, the hook never runs.
        let blob = find_blob(&s.blobs_dir, &apk).expect("the stored APK");
        let mut altered = apk.clone();
        altered[apk.len() / 2] ^= 0xff;
        std::fs::write(&blob, &altered).unwrap();
        std::fs::remove_file(&got).unwrap();
        let row = outcome(&s, d, "INSTALL", json!({"app_version": apk_version}), false).await;
        assert_eq!(row["state"], "Command Failure", "{row}");
        assert!(
            row["reason"]
                .as_str()
                .unwrap()
                .contains("not the announced"),
            "{row}"
        );
        assert!(!got.exists(), "the hook did not run");
        assert_eq!(
            installs(&s, d, "com.example.kiosk").await[0]["install_state"],
            "INSTALL_FAILED"
        );
        device.no_hook("install");

        // UNINSTALL by package name: the server knows it is an APK, and the device says it
        // cannot remove one.
        let row = outcome(
            &s,
            d,
            "UNINSTALL",
            json!({"package_name": "com.example.kiosk"}),
            false,
        )
        .await;
        assert_eq!(row["state"], "Command Failure", "{row}");
        assert!(
            row["reason"]
                .as_str()
                .unwrap()
                .contains("no Android package installer for com.example.kiosk"),
            "{row}"
        );
        let rows = installs(&s, d, "com.example.kiosk").await;
        assert_eq!(rows[0]["install_state"], "UNINSTALL_FAILED", "{rows:?}");
        assert_eq!(rows[0]["application"]["application_name"], "Kiosk");

        // PUSH_CONTENT: the verified file in the content folder, its path in the details.
        let text = b"Opening hours: 8-20".to_vec();
        let (status, content) = json(
            s.api(
                Method::POST,
                &format!("/v0/enterprise/{}/content/upload/", s.enterprise),
            )
            .multipart(Form::new().part(
                "key",
                Part::bytes(text.clone()).file_name("opening hours.txt"),
            ))
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(status, 201, "{content}");
        let row = outcome(
            &s,
            d,
            "PUSH_CONTENT",
            json!({"content_id": content["id"]}),
            false,
        )
        .await;
        assert_eq!(row["state"], "Command Success", "{row}");
        let target = device.dir.path().join("content/opening_hours.txt");
        assert_eq!(row["details"]["path"], target.display().to_string());
        assert_eq!(std::fs::read(&target).unwrap(), text);
        // Content of another enterprise, or none: refused when the command is made.
        let (status, err) = post(
            &s,
            &format!("/v0/enterprise/{}/command/", s.enterprise),
            json!({"command_type": "DEVICE", "devices": [d], "command": "PUSH_CONTENT",
                   "command_args": {"content_id": 999_999}}),
        )
        .await;
        assert!(assert_envelope(status, &err, 400).contains("command_args.content_id"));
        device.stop().await;
        s.stop().await;
    }
}

/// The file under `dir` holding exactly `bytes`.
fn find_blob(dir: &Path, bytes: &[u8]) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = find_blob(&path, bytes) {
                return Some(found);
            }
        } else if std::fs::read(&path).is_ok_and(|b| b == bytes) {
            return Some(path);
        }
    }
    None
}

#[tokio::test]
async fn devices_fetch_only_their_own_enterprises_files_with_their_credential() {
    for s in servers_with(settings).await {
        let apk = std::fs::read(fixture("pos-3.2.1.apk")).unwrap();
        let (_, version) = upload(&s, "pos-3.2.1.apk", apk.clone()).await;
        let (status, content) = json(
            s.api(
                Method::POST,
                &format!("/v0/enterprise/{}/content/upload/", s.enterprise),
            )
            .multipart(Form::new().part("key", Part::bytes(b"menu".to_vec()).file_name("menu.txt")))
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(status, 201, "{content}");
        let app_file = s.url(&format!("/agent/v1/app-versions/{version}/file"));
        let content_file = s.url(&format!("/agent/v1/content/{}/file", content["id"]));
        let enrol = token(&s, json!({})).await;
        let (_, own_key) = enroll_one(&s, &enrol, "own").await;

        let fetch = |url: String, key: Option<String>| {
            let client = s.client.clone();
            async move {
                let mut request = client.get(url);
                if let Some(k) = key {
                    request = request.bearer_auth(k);
                }
                request.send().await.unwrap()
            }
        };
        let response = fetch(app_file.clone(), Some(own_key.clone())).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.content_length(), Some(apk.len() as u64));
        assert_eq!(response.bytes().await.unwrap().to_vec(), apk);
        let response = fetch(content_file.clone(), Some(own_key.clone())).await;
        assert_eq!(response.bytes().await.unwrap().to_vec(), b"menu");

        // A device of another enterprise: not found. No credential, or a made-up one: 401.
        let (other, other_key) = s.other_enterprise().await;
        let (status, other_token) = json(
            s.api_as(
                &other_key,
                Method::POST,
                &format!("/v0/enterprise/{other}/enrollment-token/"),
            )
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(status, 201, "{other_token}");
        let (_, stranger) =
            enroll_one(&s, other_token["token"].as_str().unwrap(), "stranger").await;
        for url in [&app_file, &content_file] {
            let (status, body) = json(fetch(url.clone(), Some(stranger.clone())).await).await;
            assert_envelope(status, &body, 404);
            let (status, body) = json(fetch(url.clone(), None).await).await;
            assert_envelope(status, &body, 401);
            let (status, body) = json(fetch(url.clone(), Some("dev_made_up".into())).await).await;
            assert_envelope(status, &body, 401);
            // An API key is not a device credential.
            let (status, body) = json(fetch(url.clone(), Some(s.key.clone())).await).await;
            assert_envelope(status, &body, 401);
        }
        let (status, body) = json(
            fetch(
                s.url("/agent/v1/app-versions/not-a-uuid/file"),
                Some(own_key.clone()),
            )
            .await,
        )
        .await;
        assert_envelope(status, &body, 404);
        s.stop().await;
    }
}

/// Every device row of a request once all `n` of them have ended.
async fn all_ended(s: &TestServer, request: &str, n: usize) -> Vec<Value> {
    let path = format!("/v0/enterprise/{}/command/{request}/status/", s.enterprise);
    let page = eventually(s, &path, |p| {
        let rows = p["results"].as_array().unwrap();
        rows.len() == n
            && rows
                .iter()
                .all(|r| r["state"] == "Command Success" || r["state"] == "Command Failure")
    })
    .await;
    page["results"].as_array().unwrap().clone()
}

/// The device ids of a request's rows, sorted.
fn devices_of(rows: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = rows
        .iter()
        .map(|r| {
            let url = r["device"].as_str().unwrap();
            url.trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    ids.sort();
    ids
}

/// INSTALL through a legacy group command (as espercli's `group-command install` sends it) and
/// through a Commands V2 GROUP request, and PUSH_CONTENT to a group: every device of the group
/// fetches and checks the uploaded file and installs it; a device outside the group gets none
/// of them.
#[tokio::test]
async fn group_installs_and_content_reach_every_device_of_the_group() {
    for s in servers_with(settings).await {
        let eid = s.enterprise;
        let (status, group) = post(
            &s,
            &format!("/enterprise/{eid}/devicegroup/"),
            json!({"name": "tills"}),
        )
        .await;
        assert_eq!(status, 201, "{group}");
        let gid = group["id"].as_str().unwrap().to_string();
        let a = SimDevice::start(&s, "till-1", Some(&gid)).await;
        let b = SimDevice::start(&s, "till-2", Some(&gid)).await;
        let outsider = SimDevice::start(&s, "office-1", None).await;
        let mut members = vec![a.id.to_string(), b.id.to_string()];
        members.sort();
        let first_apk = std::fs::read(fixture("kiosk-1.0.apk")).unwrap();
        let second_apk = std::fs::read(fixture("kiosk-1.1.apk")).unwrap();
        let (app, first) = upload(&s, "kiosk-1.0.apk", first_apk.clone()).await;
        let (_, second) = upload(&s, "kiosk-1.1.apk", second_apk.clone()).await;

        // The legacy group command.
        let (status, gc) = post(
            &s,
            &format!("/enterprise/{eid}/devicegroup/{gid}/command/"),
            json!({"command": "INSTALL", "command_args": {"app_version": first}}),
        )
        .await;
        assert_eq!(status, 201, "{gc}");
        let gcid = gc["id"].as_str().unwrap().to_string();
        let rows = all_ended(&s, &gcid, 2).await;
        assert_eq!(devices_of(&rows), members);
        for row in &rows {
            assert_eq!(row["state"], "Command Success", "{row}");
            assert_eq!(
                row["details"]["sha256"],
                hex::encode(Sha256::digest(&first_apk)),
                "{row}"
            );
        }
        for d in [a.id, b.id] {
            apps_until(&s, d, |apps| {
                apps.contains(&("com.example.kiosk".into(), "1.0".into()))
            })
            .await;
            let rows = installs(&s, d, "com.example.kiosk").await;
            assert_eq!(rows[0]["install_state"], "INSTALL_SUCCESS", "{rows:?}");
            assert_eq!(rows[0]["application"]["version"]["app_version_id"], first);
        }
        let shown = eventually(
            &s,
            &format!("/enterprise/{eid}/devicegroup/{gid}/command/{gcid}/"),
            |g| g["state"] == "Command Success",
        )
        .await;
        let details = shown["details"].as_str().unwrap();
        assert!(
            details.contains("'name': 'till-1'") && details.contains("'name': 'till-2'"),
            "{details}"
        );
        assert!(!details.contains("office-1"), "{details}");
        let (_, on) = get(
            &s,
            &format!("/enterprise/{eid}/application/{app}/version/{first}/installdevices"),
        )
        .await;
        assert_eq!(on["count"], 2, "{on}");

        // Commands V2, command_type GROUP: the upgrade.
        let (status, request) = post(
            &s,
            &format!("/v0/enterprise/{eid}/command/"),
            json!({"command_type": "GROUP", "groups": [gid], "device_type": "all",
                   "command": "INSTALL", "command_args": {"app_version": second}}),
        )
        .await;
        assert_eq!(status, 201, "{request}");
        let rows = all_ended(&s, request["id"].as_str().unwrap(), 2).await;
        assert_eq!(devices_of(&rows), members);
        for row in &rows {
            assert_eq!(row["state"], "Command Success", "{row}");
            assert_eq!(
                row["details"]["sha256"],
                hex::encode(Sha256::digest(&second_apk))
            );
        }
        for d in [a.id, b.id] {
            apps_until(&s, d, |apps| {
                apps.contains(&("com.example.kiosk".into(), "1.1".into()))
            })
            .await;
        }
        let (_, on) = get(
            &s,
            &format!("/enterprise/{eid}/application/{app}/version/{second}/installdevices"),
        )
        .await;
        assert_eq!(on["count"], 2, "{on}");

        // PUSH_CONTENT to the group.
        let text = b"Price list, spring".to_vec();
        let (status, content) = json(
            s.api(
                Method::POST,
                &format!("/v0/enterprise/{eid}/content/upload/"),
            )
            .multipart(Form::new().part("key", Part::bytes(text.clone()).file_name("prices.txt")))
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(status, 201, "{content}");
        let (status, request) = post(
            &s,
            &format!("/v0/enterprise/{eid}/command/"),
            json!({"command_type": "GROUP", "groups": [gid], "device_type": "all",
                   "command": "PUSH_CONTENT", "command_args": {"content_id": content["id"]}}),
        )
        .await;
        assert_eq!(status, 201, "{request}");
        let rows = all_ended(&s, request["id"].as_str().unwrap(), 2).await;
        assert_eq!(devices_of(&rows), members);
        for row in &rows {
            assert_eq!(row["state"], "Command Success", "{row}");
            assert_eq!(row["details"]["sha256"], hex::encode(Sha256::digest(&text)));
            assert_eq!(row["details"]["size"], text.len());
            assert_eq!(row["details"]["file_name"], "prices.txt");
        }

        // The device outside the group got none of it.
        let (_, history) = get(
            &s,
            &format!(
                "/v0/enterprise/{eid}/device/{}/command-history/",
                outsider.id
            ),
        )
        .await;
        assert_eq!(history["count"], 0, "{history}");
        assert!(
            !apps(&s, outsider.id)
                .await
                .iter()
                .any(|p| p.0 == "com.example.kiosk")
        );
        assert!(
            installs(&s, outsider.id, "com.example.kiosk")
                .await
                .is_empty()
        );
        for d in [a, b, outsider] {
            d.stop().await;
        }
        s.stop().await;
    }
}
