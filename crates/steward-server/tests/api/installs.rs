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
use steward_agent::commands::{CommandRunner, Journal};
use steward_agent::link::LinkError;
use steward_agent::platform::Platform;
use steward_agent::platform::linux::{LinuxConfig, LinuxPlatform};
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

/// Uploads a package; its application id and version id.
async fn upload(s: &TestServer, name: &str, bytes: Vec<u8>) -> (String, String) {
    let (status, body) = upload_bytes(s, "app_file", name, bytes).await;
    assert_eq!(status, 201, "{body}");
    let app = &body["application"];
    (
        app["id"].as_str().unwrap().to_string(),
        app["versions"][0]["id"].as_str().unwrap().to_string(),
    )
}

/// Sends a command; its request id.
async fn send(s: &TestServer, device: Uuid, command: &str, args: Value, legacy: bool) -> String {
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
async fn ended(s: &TestServer, request: &str) -> Value {
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
async fn outcome(s: &TestServer, device: Uuid, command: &str, args: Value, legacy: bool) -> Value {
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
async fn apps(s: &TestServer, device: Uuid) -> Vec<(String, String)> {
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
async fn apps_until(s: &TestServer, device: Uuid, check: impl Fn(&[(String, String)]) -> bool) {
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
