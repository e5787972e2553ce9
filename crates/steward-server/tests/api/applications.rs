//! Applications and content over HTTP: uploads of real APKs and .deb files, versions,
//! signed downloads, refusals that name the problem and leave nothing behind.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use steward_server::ServerSettings;

use crate::common::{TestServer, assert_envelope, json, servers_with};

pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/packages")
        .join(name)
}

pub(crate) async fn upload_bytes(
    s: &TestServer,
    field: &str,
    name: &str,
    bytes: Vec<u8>,
) -> (u16, Value) {
    let form = Form::new().part(
        field.to_string(),
        Part::bytes(bytes).file_name(name.to_string()),
    );
    json(
        s.api(
            Method::POST,
            &format!("/enterprise/{}/application/upload/", s.enterprise),
        )
        .multipart(form)
        .send()
        .await
        .unwrap(),
    )
    .await
}

pub(crate) async fn upload(s: &TestServer, name: &str) -> (u16, Value) {
    upload_bytes(s, "app_file", name, std::fs::read(fixture(name)).unwrap()).await
}

pub(crate) async fn get(s: &TestServer, path: &str) -> (u16, Value) {
    json(s.api(Method::GET, path).send().await.unwrap()).await
}

/// The status of a DELETE of `path`.
pub(crate) async fn delete(s: &TestServer, path: &str) -> u16 {
    let response = s.api(Method::DELETE, path).send().await.unwrap();
    response.status().as_u16()
}

/// Files under the server's blob folder.
fn blob_count(s: &TestServer) -> usize {
    fn walk(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| {
                        let p = e.path();
                        if p.is_dir() { walk(&p) } else { 1 }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(&s.blobs_dir)
}

fn settings() -> ServerSettings {
    let mut s = ServerSettings::default();
    s.files.download_ttl = Duration::from_secs(2);
    s
}

#[tokio::test]
async fn apks_are_uploaded_inspected_versioned_and_downloaded_by_signed_url() {
    for s in servers_with(settings).await {
        let eid = s.enterprise;
        let (status, body) = upload(&s, "kiosk-1.0.apk").await;
        assert_eq!(status, 201, "{body}");
        let app = &body["application"];
        assert_eq!(app["package_name"], "com.example.kiosk");
        assert_eq!(app["application_name"], "Kiosk");
        assert_eq!(app["versions"][0]["version_code"], "1");
        assert_eq!(app["versions"][0]["min_sdk_version"], "21");
        let app_id = app["id"].as_str().unwrap().to_string();

        // The same version again: refused, naming it; nothing new is stored.
        let before = blob_count(&s);
        let (status, err) = upload(&s, "kiosk-1.0.apk").await;
        assert!(
            assert_envelope(status, &err, 400).contains("already uploaded"),
            "{err}"
        );
        assert_eq!(blob_count(&s), before);

        let (status, body) = upload(&s, "kiosk-1.1.apk").await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["application"]["id"], app_id.as_str());
        assert_eq!(body["application"]["versions"].as_array().unwrap().len(), 2);
        assert_eq!(upload(&s, "pos-3.2.1.apk").await.0, 201);

        let (_, list) = get(
            &s,
            &format!("/enterprise/{eid}/application/?is_hidden=False"),
        )
        .await;
        assert_eq!(list["count"], 2, "{list}");
        let (_, list) = get(
            &s,
            &format!("/enterprise/{eid}/application/?package_name=pos"),
        )
        .await;
        assert_eq!(list["results"][0]["application_name"], "Point of Sale");
        let (_, list) = get(
            &s,
            &format!("/enterprise/{eid}/application/?supported_sdk=22"),
        )
        .await;
        assert_eq!(list["count"], 1, "only the kiosk runs on SDK 22: {list}");
        let (_, v1) = get(
            &s,
            &format!("/v1/enterprise/{eid}/application/?application_name=kiosk"),
        )
        .await;
        assert_eq!(
            v1["results"][0]["latest_version"]["version_code"], "2",
            "{v1}"
        );

        // Versions, in both formats.
        let versions_path = format!("/enterprise/{eid}/application/{app_id}/version/");
        let (_, versions) = get(&s, &format!("{versions_path}?legacy_format=false")).await;
        assert_eq!(versions["count"], 2);
        let newest = versions["results"][0].clone();
        assert_eq!(newest["version_name"], "1.1");
        assert!(newest.get("build_number").is_none(), "{newest}");
        assert_eq!(newest["permissions"].as_array().unwrap().len(), 3);
        let vid = newest["id"].as_str().unwrap().to_string();
        let (_, one) = get(&s, &format!("{versions_path}{vid}/?legacy_format=true")).await;
        assert_eq!(one["build_number"], "1.1");
        assert_eq!(one["installed_count"], 0);
        let (_, filtered) = get(&s, &format!("{versions_path}?version_code=1")).await;
        assert_eq!(filtered["count"], 1);

        // The file comes back without a key, unchanged, until the URL expires.
        let url = one["app_file"].as_str().unwrap().to_string();
        let plain = reqwest::Client::new();
        let bytes = plain.get(&url).send().await.unwrap().bytes().await.unwrap();
        assert_eq!(
            bytes.as_ref(),
            std::fs::read(fixture("kiosk-1.1.apk")).unwrap()
        );
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            one["hash_string"].as_str().unwrap()
        );
        let altered = url.replace("signature=", "signature=00");
        let (status, err) = json(plain.get(&altered).send().await.unwrap()).await;
        assert!(assert_envelope(status, &err, 403).contains("signature"));
        let other_file = url.replace("kiosk-1.1.apk", "kiosk-1.0.apk");
        assert_ne!(other_file, url);
        assert_eq!(plain.get(&other_file).send().await.unwrap().status(), 403);
        tokio::time::sleep(Duration::from_millis(3100)).await;
        let (status, err) = json(plain.get(&url).send().await.unwrap()).await;
        assert!(assert_envelope(status, &err, 403).contains("expired"));

        // PATCH checks its fields.
        let patch = |body: Value| {
            s.api(Method::PATCH, &format!("{versions_path}{vid}/"))
                .json(&body)
                .send()
        };
        let (status, patched) = json(
            patch(json!({"release_name": "Spring", "release_track": "Beta", "is_default": true}))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{patched}");
        assert_eq!(patched["release_name"], "Spring");
        assert_eq!(patched["is_default"], true);
        let (status, err) = json(patch(json!({"release_track": "Nightly"})).await.unwrap()).await;
        assert!(assert_envelope(status, &err, 400).contains("release_track"));

        // Another enterprise sees nothing.
        let (_, other_key) = s.other_enterprise().await;
        let status = s
            .api_as(
                &other_key,
                Method::GET,
                &format!("/enterprise/{eid}/application/{app_id}/"),
            )
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 403);

        // Deleting a version removes its file; deleting the application, the rest.
        let before = blob_count(&s);
        assert_eq!(delete(&s, &format!("{versions_path}{vid}/")).await, 204);
        assert_eq!(blob_count(&s), before - 1);
        let app_path = format!("/enterprise/{eid}/application/{app_id}/");
        assert_eq!(delete(&s, &app_path).await, 204);
        assert_eq!(get(&s, &app_path).await.0, 404);
        assert_eq!(blob_count(&s), before - 2);
        s.stop().await;
    }
}

#[tokio::test]
async fn bad_uploads_are_refused_and_leave_nothing_behind() {
    let small = || {
        let mut s = ServerSettings::default();
        s.files.max_app_bytes = 700;
        s
    };
    for s in servers_with(small).await {
        let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
            (
                "app_file",
                "notes.apk",
                b"just some text".to_vec(),
                400,
                "not an APK",
            ),
            ("app_file", "empty.apk", Vec::new(), 400, "empty"),
            ("wrong_field", "kiosk.apk", b"PK".to_vec(), 400, "app_file"),
            (
                "app_file",
                "big.apk",
                std::fs::read(fixture("kiosk-1.1.apk")).unwrap(),
                413,
                "larger than",
            ),
        ];
        for (field, name, bytes, code, says) in cases {
            let (status, err) = upload_bytes(&s, field, name, bytes).await;
            let message = assert_envelope(status, &err, code);
            assert!(message.contains(says), "{name}: {message}");
        }
        let truncated = std::fs::read(fixture("kiosk-1.0.apk")).unwrap();
        let (status, err) =
            upload_bytes(&s, "app_file", "cut.apk", truncated[..300].to_vec()).await;
        assert!(assert_envelope(status, &err, 400).contains("zip"), "{err}");
        // JSON instead of multipart.
        let (status, err) = json(
            s.api(
                Method::POST,
                &format!("/enterprise/{}/application/upload/", s.enterprise),
            )
            .json(&json!({"app_file": "x"}))
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_envelope(status, &err, 415);
        assert_eq!(blob_count(&s), 0, "nothing is kept of refused uploads");
        let (_, list) = get(&s, &format!("/enterprise/{}/application/", s.enterprise)).await;
        assert_eq!(list["count"], 0);
        s.stop().await;
    }
}

#[tokio::test]
async fn deb_packages_are_accepted_for_linux_devices() {
    if !steward_agent::testing::have_dpkg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bytes =
        steward_agent::testing::build_deb(dir.path(), "signage-player", "4.0.2", "amd64", None);
    for s in servers_with(ServerSettings::default).await {
        let (status, body) = upload_bytes(&s, "app_file", "signage.deb", bytes.clone()).await;
        assert_eq!(status, 201, "{body}");
        let app = &body["application"];
        assert_eq!(app["package_name"], "signage-player");
        assert_eq!(app["kind"], "deb");
        assert_eq!(app["versions"][0]["version_name"], "4.0.2");
        let app_id = app["id"].as_str().unwrap();
        let (_, versions) = get(
            &s,
            &format!("/enterprise/{}/application/{app_id}/version/", s.enterprise),
        )
        .await;
        assert_eq!(versions["results"][0]["architecture"], "amd64");
        s.stop().await;
    }
}

/// The `/v1/` upload is the legacy one under another path; `applications-minimal` lists
/// applications without versions, with the same filters and pages.
#[tokio::test]
async fn v1_upload_and_the_minimal_list() {
    for s in servers_with(settings).await {
        let eid = s.enterprise;
        let form = Form::new().part(
            "app_file",
            Part::bytes(std::fs::read(fixture("pos-3.2.1.apk")).unwrap())
                .file_name("pos-3.2.1.apk"),
        );
        let (status, body) = json(
            s.api(
                Method::POST,
                &format!("/v1/enterprise/{eid}/application/upload"),
            )
            .multipart(form)
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["application"]["package_name"], "com.example.pos");
        let (status, _) = upload(&s, "kiosk-1.0.apk").await;
        assert_eq!(status, 201);

        let (status, page) = get(&s, &format!("/v1/enterprise/{eid}/applications-minimal/")).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["count"], 2);
        let first = &page["results"][0];
        assert_eq!(
            first.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["application_name", "id", "is_hidden", "package_name"]
        );
        let (_, page) = get(
            &s,
            &format!("/v1/enterprise/{eid}/applications-minimal/?package_name=kiosk&limit=1"),
        )
        .await;
        assert_eq!(page["count"], 1, "{page}");
        assert_eq!(page["results"][0]["application_name"], "Kiosk");
        let (status, body) = get(
            &s,
            &format!("/v1/enterprise/{eid}/applications-minimal/?is_hidden=perhaps"),
        )
        .await;
        let message = assert_envelope(status, &body, 400);
        assert!(message.contains("is_hidden"), "{message}");
        s.stop().await;
    }
}

#[tokio::test]
async fn content_is_uploaded_searched_tagged_downloaded_and_deleted() {
    for s in servers_with(ServerSettings::default).await {
        let base = format!("/v0/enterprise/{}/content/", s.enterprise);
        let form = Form::new().part(
            "key",
            Part::bytes(b"menu of the day".to_vec())
                .file_name("menu.txt")
                .mime_str("text/plain")
                .unwrap(),
        );
        let (status, created) = json(
            s.api(Method::POST, &format!("{base}upload/"))
                .multipart(form)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["name"], "menu.txt");
        assert_eq!(created["size"], "15");
        assert_eq!(created["kind"], "text/plain");
        assert_eq!(created["owner"]["username"], "test");
        let id = created["id"].as_i64().unwrap();
        let (status, patched) = json(
            s.api(Method::PATCH, &format!("{base}{id}/"))
                .json(&json!({"tags": ["lobby", "screens"], "description": "Today's menu"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{patched}");
        assert_eq!(patched["tags"], json!(["lobby", "screens"]));
        for search in ["MENU", "lobby", "today"] {
            let (_, list) = get(&s, &format!("{base}?search={search}")).await;
            assert_eq!(list["count"], 1, "{search}: {list}");
        }
        let (_, list) = get(&s, &format!("{base}?search=nothing-like-it")).await;
        assert_eq!(list["count"], 0);
        let url = patched["download_url"].as_str().unwrap();
        let body = reqwest::get(url).await.unwrap().text().await.unwrap();
        assert_eq!(body, "menu of the day");
        let (status, err) = json(
            s.api(Method::PATCH, &format!("{base}{id}/"))
                .json(&json!({"tags": [""]}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(assert_envelope(status, &err, 400).contains("tags[0]"));
        assert_eq!(delete(&s, &format!("{base}{id}/")).await, 204);
        assert_eq!(get(&s, &format!("{base}{id}/")).await.0, 404);
        assert_eq!(blob_count(&s), 0);
        s.stop().await;
    }
}
