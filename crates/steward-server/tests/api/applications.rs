//! Applications and content over HTTP: uploads of real APKs and .deb files, versions,
//! signed downloads, refusals that name the problem and leave nothing behind.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use steward_packages::testing::{zip_bomb, zip_of};
use steward_server::ServerSettings;
use tokio::io::AsyncWriteExt;

use uuid::Uuid;

use crate::agents::eventually;
use crate::commands::post;
use crate::common::{TestServer, assert_envelope, json, servers_with};
use crate::installs::{SimDevice, outcome};

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

/// A version id of an upload's application, by its version name.
fn version_named(upload: &Value, name: &str) -> String {
    upload["application"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["version_name"] == name)
        .unwrap_or_else(|| panic!("no version {name} in {upload}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The ids of a page's results, in order.
fn ids(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// A GET with query parameters (encoded by the client, so date-times keep their `+`).
async fn get_query(s: &TestServer, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
    json(s.api(Method::GET, path).query(query).send().await.unwrap()).await
}

async fn patch(s: &TestServer, path: &str, body: Value) -> (u16, Value) {
    json(s.api(Method::PATCH, path).json(&body).send().await.unwrap()).await
}

/// A device that reports a version installed: `installdevices` lists it with its group's name,
/// search covers its name, alias and group, `installed_count` counts it, and the version list
/// orders by that count; once it is removed, all of it goes back to nothing.
#[tokio::test]
async fn installed_versions_list_their_devices_and_count_them() {
    for s in servers_with(crate::commands::settings).await {
        let eid = s.enterprise;
        let (_, first) = upload(&s, "kiosk-1.0.apk").await;
        let app_id = first["application"]["id"].as_str().unwrap().to_string();
        let old = version_named(&first, "1.0");
        let (_, second) = upload(&s, "kiosk-1.1.apk").await;
        let new = version_named(&second, "1.1");
        let (status, group) = post(
            &s,
            &format!("/enterprise/{eid}/devicegroup/"),
            json!({"name": "Lobby Screens"}),
        )
        .await;
        assert_eq!(status, 201, "{group}");
        let device = SimDevice::start(&s, "kiosk-7", group["id"].as_str()).await;
        let versions = format!("/enterprise/{eid}/application/{app_id}/version/");
        // The SDK's path has no trailing slash.
        let on = |v: &str| format!("{versions}{v}/installdevices");
        assert_eq!(get(&s, &on(&old)).await.1["count"], 0);

        let row = outcome(&s, device.id, "INSTALL", json!({"app_version": old}), false).await;
        assert_eq!(row["state"], "Command Success", "{row}");
        let page = eventually(&s, &on(&old), |p| p["count"] == 1).await;
        assert_eq!(
            page["results"],
            json!([{"id": device.id, "device_name": "kiosk-7", "alias_name": null,
                    "group_name": "Lobby Screens"}])
        );
        for path in [
            format!("{}/", on(&old)),
            format!("/v1{}/", on(&old)),
            format!("/v1{}", on(&old)),
        ] {
            let (status, page) = get(&s, &path).await;
            assert_eq!(status, 200, "{path}: {page}");
            assert_eq!(page["count"], 1, "{path}: {page}");
            assert_eq!(page["results"][0]["group_name"], "Lobby Screens");
        }
        assert_eq!(get(&s, &on(&new)).await.1["count"], 0, "another version");
        let (_, one) = get(&s, &format!("{versions}{old}/")).await;
        assert_eq!(one["installed_count"], 1, "{one}");
        let (_, other) = get(&s, &format!("{versions}{new}/")).await;
        assert_eq!(other["installed_count"], 0, "{other}");
        let (_, listed) = get(&s, &versions).await;
        let counts: Vec<(String, Value)> = listed["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["id"].as_str().unwrap().to_string(),
                    v["installed_count"].clone(),
                )
            })
            .collect();
        assert_eq!(counts, [(new.clone(), json!(0)), (old.clone(), json!(1))]);

        // Search: part of the name, the alias or the group's name, in any case.
        let (status, _) = patch(
            &s,
            &format!("/enterprise/{eid}/device/{}/", device.id),
            json!({"alias_name": "Front desk"}),
        )
        .await;
        assert_eq!(status, 200);
        for (search, count) in [
            ("lobby", 1),
            ("SCREENS", 1),
            ("iosk-7", 1),
            ("front", 1),
            ("till", 0),
            ("50%", 0),
        ] {
            let (status, page) = get_query(&s, &on(&old), &[("search", search)]).await;
            assert_eq!(status, 200, "{page}");
            assert_eq!(page["count"], count, "search {search:?}: {page}");
        }
        let (_, page) = get(&s, &on(&old)).await;
        assert_eq!(page["results"][0]["alias_name"], "Front desk");

        // Ordering by installs: newest first without it.
        for (ordering, expected) in [
            (None, [new.as_str(), old.as_str()]),
            (Some("-installed_count"), [old.as_str(), new.as_str()]),
            (Some("installed_count"), [new.as_str(), old.as_str()]),
        ] {
            let query: Vec<(&str, &str)> = ordering.iter().map(|o| ("ordering", *o)).collect();
            let (_, page) = get_query(&s, &versions, &query).await;
            assert_eq!(ids(&page), expected, "ordering {ordering:?}");
        }
        let (status, err) = get_query(&s, &versions, &[("ordering", "release_name")]).await;
        assert!(
            assert_envelope(status, &err, 400).contains("ordering"),
            "{err}"
        );

        // Removed: nobody has it any more.
        let row = outcome(
            &s,
            device.id,
            "UNINSTALL",
            json!({"package_name": "com.example.kiosk"}),
            false,
        )
        .await;
        assert_eq!(row["state"], "Command Success", "{row}");
        eventually(&s, &on(&old), |p| p["count"] == 0).await;
        assert_eq!(
            get(&s, &format!("{versions}{old}/")).await.1["installed_count"],
            0
        );
        device.stop().await;
        s.stop().await;
    }
}

/// Every filter of the application and version lists, each with a case it keeps and one it
/// leaves out.
#[tokio::test]
async fn application_and_version_filters_keep_what_they_should() {
    for s in servers_with(settings).await {
        let eid = s.enterprise;
        let apps = format!("/enterprise/{eid}/application/");
        let (_, kiosk) = upload(&s, "kiosk-1.0.apk").await;
        let (_, kiosk2) = upload(&s, "kiosk-1.1.apk").await;
        let (_, pos) = upload(&s, "pos-3.2.1.apk").await;
        let kiosk_id = kiosk["application"]["id"].as_str().unwrap().to_string();
        let pos_id = pos["application"]["id"].as_str().unwrap().to_string();
        let listed = |query: Vec<(&'static str, String)>| {
            let s = &s;
            let apps = apps.clone();
            async move {
                let query: Vec<(&str, &str)> =
                    query.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let (status, page) = get_query(s, &apps, &query).await;
                assert_eq!(status, 200, "{query:?}: {page}");
                ids(&page)
            }
        };
        let both = {
            let mut v = vec![kiosk_id.clone(), pos_id.clone()];
            v.sort_by_key(|id| if *id == kiosk_id { 0 } else { 1 }); // Kiosk < Point of Sale
            v
        };

        // package_name matches a part, package_name_exact the whole name only.
        assert_eq!(
            listed(vec![("package_name", "com.example".into())]).await,
            both
        );
        assert!(
            listed(vec![("package_name_exact", "com.example".into())])
                .await
                .is_empty()
        );
        assert_eq!(
            listed(vec![("package_name_exact", "com.example.pos".into())]).await,
            [pos_id.as_str()]
        );
        // is_active: uploads are active.
        assert_eq!(listed(vec![("is_active", "True".into())]).await, both);
        assert!(listed(vec![("is_active", "false".into())]).await.is_empty());
        // created_on_gt/lt: strictly after or before.
        let kiosk_created = kiosk["application"]["created_on"]
            .as_str()
            .unwrap()
            .to_string();
        let pos_created = pos["application"]["created_on"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(kiosk_created < pos_created, "{kiosk_created} {pos_created}");
        assert_eq!(
            listed(vec![("created_on_gt", kiosk_created.clone())]).await,
            [pos_id.as_str()]
        );
        assert_eq!(
            listed(vec![("created_on_lt", pos_created.clone())]).await,
            [kiosk_id.as_str()]
        );
        assert!(
            listed(vec![
                ("created_on_gt", kiosk_created.clone()),
                ("created_on_lt", pos_created.clone())
            ])
            .await
            .is_empty()
        );
        let (status, err) = get_query(&s, &apps, &[("created_on_gt", "yesterday")]).await;
        assert!(assert_envelope(status, &err, 400).contains("created_on_gt"));
        // has_uploaded_version: the point-of-sale app loses its only version.
        let pos_version = version_named(&pos, "3.2.1");
        assert_eq!(
            delete(&s, &format!("{apps}{pos_id}/version/{pos_version}/")).await,
            204
        );
        assert_eq!(
            listed(vec![("has_uploaded_version", "true".into())]).await,
            [kiosk_id.as_str()]
        );
        assert_eq!(
            listed(vec![("has_uploaded_version", "False".into())]).await,
            [pos_id.as_str()]
        );
        let (status, err) = get_query(&s, &apps, &[("has_uploaded_version", "maybe")]).await;
        assert!(assert_envelope(status, &err, 400).contains("has_uploaded_version"));

        // Versions: enabled, default and approval, as PATCH set them.
        let versions = format!("{apps}{kiosk_id}/version/");
        let old = version_named(&kiosk, "1.0");
        let new = version_named(&kiosk2, "1.1");
        let (status, body) = patch(
            &s,
            &format!("{versions}{old}/"),
            json!({"is_enabled": false, "approval_status": "REJECTED"}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = patch(
            &s,
            &format!("{versions}{new}/"),
            json!({"is_default": true}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let version_ids = |query: &'static [(&'static str, &'static str)]| {
            let s = &s;
            let versions = versions.clone();
            async move {
                let (status, page) = get_query(s, &versions, query).await;
                assert_eq!(status, 200, "{query:?}: {page}");
                ids(&page)
            }
        };
        assert_eq!(
            version_ids(&[("is_enabled", "false")]).await,
            [old.as_str()]
        );
        assert_eq!(version_ids(&[("is_enabled", "True")]).await, [new.as_str()]);
        assert_eq!(version_ids(&[("is_default", "true")]).await, [new.as_str()]);
        assert_eq!(version_ids(&[("is_default", "0")]).await, [old.as_str()]);
        assert_eq!(
            version_ids(&[("approval_status", "REJECTED")]).await,
            [old.as_str()]
        );
        assert_eq!(
            version_ids(&[("approval_status", "APPROVED")]).await,
            [new.as_str()]
        );
        assert!(
            version_ids(&[("approval_status", "ACCEPTED")])
                .await
                .is_empty()
        );
        assert_eq!(
            version_ids(&[("is_enabled", "true"), ("is_default", "false")]).await,
            Vec::<String>::new()
        );
        let (status, err) = get_query(&s, &versions, &[("approval_status", "MAYBE")]).await;
        assert!(assert_envelope(status, &err, 400).contains("approval_status"));
        // One default per application: making the old one default unsets the new one.
        let (status, _) = patch(
            &s,
            &format!("{versions}{old}/"),
            json!({"is_default": true}),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(version_ids(&[("is_default", "true")]).await, [old.as_str()]);
        s.stop().await;
    }
}

/// PATCH of a version: unknown names and the read-only fields of a version are ignored, as
/// Esper ignores them (a version read and sent back is accepted); the fields Esper's spec lets
/// a PATCH set but Steward reads from the package are refused, naming the field, unless they
/// keep their value; a refused PATCH changes nothing.
#[tokio::test]
async fn version_patch_ignores_read_only_fields_and_refuses_package_facts() {
    for s in servers_with(settings).await {
        let eid = s.enterprise;
        let (_, body) = upload(&s, "kiosk-1.0.apk").await;
        let app_id = body["application"]["id"].as_str().unwrap().to_string();
        let vid = version_named(&body, "1.0");
        let path = format!("/enterprise/{eid}/application/{app_id}/version/{vid}/");
        let (_, before) = get(&s, &path).await;

        let (status, patched) = patch(
            &s,
            &path,
            json!({"release_name": "Spring", "colour": "red", "hash_string": "00",
                   "installed_count": 99, "id": Uuid::nil(), "size_in_mb": 5}),
        )
        .await;
        assert_eq!(status, 200, "{patched}");
        assert_eq!(patched["release_name"], "Spring");
        for field in [
            "id",
            "hash_string",
            "installed_count",
            "size_in_mb",
            "version_code",
        ] {
            assert_eq!(patched[field], before[field], "{field}");
        }

        // The whole version, read and sent back with one change: accepted.
        let mut round_trip = before.clone();
        round_trip["release_comments"] = json!("Fixes the printer");
        let (status, patched) = patch(&s, &path, round_trip).await;
        assert_eq!(status, 200, "{patched}");
        assert_eq!(patched["release_comments"], "Fixes the printer");
        // The same facts as numbers: accepted too.
        let (status, _) = patch(
            &s,
            &path,
            json!({"version_code": 1, "min_sdk_version": 21, "build_number": "1.0"}),
        )
        .await;
        assert_eq!(status, 200);

        for (body, field) in [
            (
                json!({"version_code": "99", "release_name": "Summer"}),
                "version_code",
            ),
            (json!({"build_number": "9.9"}), "build_number"),
            (json!({"min_sdk_version": 30}), "min_sdk_version"),
            (json!({"target_sdk_version": "1"}), "target_sdk_version"),
            (json!({"version_code": [1]}), "version_code"),
            (json!({"release_track": "Nightly"}), "release_track"),
            (json!({"approval_status": "MAYBE"}), "approval_status"),
            (json!({"release_name": ""}), "release_name"),
            (json!({"is_enabled": "yes"}), "is_enabled"),
        ] {
            let (status, err) = patch(&s, &path, body.clone()).await;
            let message = assert_envelope(status, &err, 400);
            assert!(message.contains(field), "{body}: {message}");
        }
        let (_, after) = get(&s, &path).await;
        assert_eq!(
            after["release_name"], "Spring",
            "a refused PATCH changes nothing"
        );
        assert_eq!(after["version_code"], "1");
        s.stop().await;
    }
}

/// The `/v1/` application and version endpoints on real uploads: get and delete an application,
/// list, get, change and delete versions, and the devices of a version.
#[tokio::test]
async fn v1_application_and_version_endpoints() {
    for s in servers_with(settings).await {
        let eid = s.enterprise;
        let (_, first) = upload(&s, "kiosk-1.0.apk").await;
        let (_, second) = upload(&s, "kiosk-1.1.apk").await;
        assert_eq!(upload(&s, "pos-3.2.1.apk").await.0, 201);
        let app_id = first["application"]["id"].as_str().unwrap().to_string();
        let old = version_named(&first, "1.0");
        let new = version_named(&second, "1.1");
        let app = format!("/v1/enterprise/{eid}/application/{app_id}/");

        let (status, got) = get(&s, &app).await;
        assert_eq!(status, 200, "{got}");
        assert_eq!(got["id"], app_id.as_str());
        assert_eq!(got["package_name"], "com.example.kiosk");
        assert_eq!(got["application_name"], "Kiosk");
        assert_eq!(got["enterprise"], eid.to_string());
        assert_eq!(got["latest_version"]["id"], new.as_str());
        assert_eq!(got["latest_version"]["version_code"], "2");
        assert_eq!(got["latest_version"]["build_number"], "1.1");
        let (status, err) = get(
            &s,
            &format!("/v1/enterprise/{eid}/application/{}/", Uuid::new_v4()),
        )
        .await;
        assert_envelope(status, &err, 404);
        let (_, other_key) = s.other_enterprise().await;
        let status = s
            .api_as(&other_key, Method::GET, &app)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 403);

        let (status, versions) = get(&s, &format!("{app}version/")).await;
        assert_eq!(status, 200, "{versions}");
        assert_eq!(ids(&versions), [new.clone(), old.clone()]);
        let (status, one) = get(&s, &format!("{app}version/{old}/")).await;
        assert_eq!(status, 200, "{one}");
        assert_eq!(one["version_code"], "1");
        assert_eq!(one["build_number"], "1.0");
        assert_eq!(one["installed_count"], 0);
        let (status, patched) = patch(
            &s,
            &format!("{app}version/{old}/"),
            json!({"release_name": "Old faithful", "release_track": "Alpha"}),
        )
        .await;
        assert_eq!(status, 200, "{patched}");
        let (_, legacy) = get(
            &s,
            &format!("/enterprise/{eid}/application/{app_id}/version/{old}/"),
        )
        .await;
        assert_eq!(legacy["release_name"], "Old faithful");
        assert_eq!(legacy["release_track"], "Alpha");
        let (status, err) = patch(
            &s,
            &format!("{app}version/{old}/"),
            json!({"version_code": "7"}),
        )
        .await;
        assert!(assert_envelope(status, &err, 400).contains("version_code"));
        let (status, devices) = get(&s, &format!("{app}version/{old}/installdevices/")).await;
        assert_eq!(status, 200, "{devices}");
        assert_eq!(devices["count"], 0);

        let before = blob_count(&s);
        assert_eq!(delete(&s, &format!("{app}version/{old}/")).await, 204);
        assert_eq!(blob_count(&s), before - 1, "the version's file is gone");
        assert_eq!(get(&s, &format!("{app}version/{old}/")).await.0, 404);
        assert_eq!(
            ids(&get(&s, &format!("{app}version/")).await.1),
            [new.as_str()]
        );
        assert_eq!(delete(&s, &app).await, 204);
        assert_eq!(get(&s, &app).await.0, 404);
        assert_eq!(delete(&s, &app).await, 404);
        assert_eq!(blob_count(&s), before - 2);
        let (_, left) = get(&s, &format!("/v1/enterprise/{eid}/application/")).await;
        assert_eq!(left["count"], 1, "{left}");
        assert_eq!(left["results"][0]["package_name"], "com.example.pos");
        s.stop().await;
    }
}

/// Files left in a folder.
fn files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Hostile packages through the upload endpoint: each is a 400 that names the problem, and
/// nothing is left of it: no blob, no application or version, no temporary upload file.
#[tokio::test]
async fn hostile_packages_are_refused_over_http_and_leave_nothing_behind() {
    let uploads = tempfile::tempdir().unwrap();
    let folder = uploads.path().to_path_buf();
    let with_folder = move || {
        let mut s = ServerSettings::default();
        s.files.upload_dir = Some(folder.clone());
        s
    };
    let real = std::fs::read(fixture("kiosk-1.0.apk")).unwrap();
    let garbage_manifest = b"\x03\x00\x08\x00garbage-that-is-not-binary-xml".repeat(4);
    let cases: Vec<(&str, Vec<u8>, &[&str])> = vec![
        ("bomb.apk", zip_bomb(), &["zip bomb"]),
        (
            "traversal.apk",
            zip_of(&[("AndroidManifest.xml", b"x"), ("../../etc/passwd", b"x")]),
            &["path traversal", "../../etc/passwd"],
        ),
        (
            "corrupted.apk",
            zip_of(&[("AndroidManifest.xml", &garbage_manifest)]),
            &["could not be parsed", "AndroidManifest.xml"],
        ),
        ("truncated.apk", real[..real.len() / 2].to_vec(), &["zip"]),
    ];
    for s in servers_with(&with_folder).await {
        for (name, bytes, says) in &cases {
            let (status, err) = upload_bytes(&s, "app_file", name, bytes.clone()).await;
            let message = assert_envelope(status, &err, 400);
            assert!(message.contains("app_file"), "{name}: {message}");
            for word in *says {
                assert!(message.contains(word), "{name}: {message}");
            }
            assert_eq!(files_in(uploads.path()), Vec::<String>::new(), "{name}");
            assert_eq!(blob_count(&s), 0, "{name}");
        }
        let (_, list) = get(&s, &format!("/enterprise/{}/application/", s.enterprise)).await;
        assert_eq!(list["count"], 0, "{list}");

        // A good package sent under a name that climbs out of its folder: kept under a safe
        // name, inside blob storage.
        let (status, body) = upload_bytes(&s, "app_file", "../../../evil.apk", real.clone()).await;
        assert_eq!(status, 201, "{body}");
        let url = body["application"]["versions"][0]["download_url"]
            .as_str()
            .unwrap();
        let key = url
            .split("/files/")
            .nth(1)
            .unwrap()
            .split('?')
            .next()
            .unwrap();
        assert!(key.ends_with("/evil.apk") && !key.contains(".."), "{key}");
        assert_eq!(blob_count(&s), 1);
        assert_eq!(files_in(uploads.path()), Vec::<String>::new());

        // An upload whose client goes away half-way: its temporary file is in the upload
        // folder while it arrives, and gone once the connection is.
        let boundary = "steward-test-boundary";
        let head = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"app_file\"; \
             filename=\"slow.apk\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        );
        let length = head.len() + 4 * 1024 * 1024 + boundary.len() + 8;
        let mut socket = tokio::net::TcpStream::connect(s.origin.trim_start_matches("http://"))
            .await
            .unwrap();
        let request = format!(
            "POST /api/enterprise/{}/application/upload/ HTTP/1.1\r\nHost: localhost\r\n\
             Authorization: Bearer {}\r\n\
             Content-Type: multipart/form-data; boundary={boundary}\r\n\
             Content-Length: {length}\r\n\r\n{head}",
            s.enterprise, s.key
        );
        socket.write_all(request.as_bytes()).await.unwrap();
        socket.write_all(&real).await.unwrap();
        socket.write_all(&[0u8; 64 * 1024]).await.unwrap();
        let mut seen = Vec::new();
        for _ in 0..100 {
            seen = files_in(uploads.path());
            if !seen.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            seen.len(),
            1,
            "the arriving upload is written to the upload folder"
        );
        assert!(seen[0].starts_with("upload-"), "{seen:?}");
        drop(socket);
        for _ in 0..100 {
            if files_in(uploads.path()).is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(files_in(uploads.path()), Vec::<String>::new());
        assert_eq!(blob_count(&s), 1);
        s.stop().await;
    }
}

async fn post_content(s: &TestServer, form: Form) -> (u16, Value) {
    json(
        s.api(
            Method::POST,
            &format!("/v0/enterprise/{}/content/upload/", s.enterprise),
        )
        .multipart(form)
        .send()
        .await
        .unwrap(),
    )
    .await
}

/// Content uploads refused for their size, a missing `key`, a body that is not multipart or a
/// Content-Type longer than Esper's clients accept, each naming the problem and leaving
/// nothing behind; a name with folders in it is made safe.
#[tokio::test]
async fn content_refusals_name_the_problem_and_leave_nothing_behind() {
    let uploads = tempfile::tempdir().unwrap();
    let folder = uploads.path().to_path_buf();
    let small = move || {
        let mut s = ServerSettings::default();
        s.files.max_content_bytes = 64;
        s.files.upload_dir = Some(folder.clone());
        s
    };
    for s in servers_with(&small).await {
        let base = format!("/v0/enterprise/{}/content/", s.enterprise);
        let part =
            |bytes: &[u8], name: &str| Part::bytes(bytes.to_vec()).file_name(name.to_string());
        let long_kind = format!("text/plain; note={}", "x".repeat(300));
        let cases: Vec<(&str, Form, u16, &[&str])> = vec![
            (
                "too large",
                Form::new().part("key", part(&[b'a'; 65], "big.txt")),
                413,
                &["key", "larger than the limit of 64 bytes"],
            ),
            (
                "no key",
                Form::new().part("file", part(b"menu", "menu.txt")),
                400,
                &["key", "missing"],
            ),
            (
                "empty",
                Form::new().part("key", part(b"", "empty.txt")),
                400,
                &["key", "empty"],
            ),
            (
                "long content type",
                Form::new().part(
                    "key",
                    part(b"menu", "menu.txt").mime_str(&long_kind).unwrap(),
                ),
                400,
                &["key", "Content-Type", "255"],
            ),
        ];
        for (what, form, code, says) in cases {
            let (status, err) = post_content(&s, form).await;
            let message = assert_envelope(status, &err, code);
            for word in says {
                assert!(message.contains(word), "{what}: {message}");
            }
            assert_eq!(files_in(uploads.path()), Vec::<String>::new(), "{what}");
        }
        let (status, err) = json(
            s.api(Method::POST, &format!("{base}upload/"))
                .json(&json!({"key": "menu"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(
            assert_envelope(status, &err, 415).contains("multipart"),
            "{err}"
        );
        assert_eq!(blob_count(&s), 0);
        let (_, list) = get(&s, &base).await;
        assert_eq!(list["count"], 0, "{list}");

        // A Content-Type of exactly 255 characters is kept as it is; a name with folders
        // loses them.
        let kind = format!("text/plain; note={}", "x".repeat(255 - 17));
        assert_eq!(kind.len(), 255);
        let (status, created) = post_content(
            &s,
            Form::new().part(
                "key",
                part(b"menu", "../../etc/menu.txt").mime_str(&kind).unwrap(),
            ),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["kind"], kind.as_str());
        assert_eq!(created["name"], "menu.txt");
        let url = created["download_url"].as_str().unwrap();
        let key = url
            .split("/files/")
            .nth(1)
            .unwrap()
            .split('?')
            .next()
            .unwrap();
        assert!(key.ends_with("/menu.txt") && !key.contains(".."), "{key}");
        assert_eq!(blob_count(&s), 1);
        assert_eq!(files_in(uploads.path()), Vec::<String>::new());
        s.stop().await;
    }
}
