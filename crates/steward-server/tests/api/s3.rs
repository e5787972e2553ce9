//! Blob storage on a real S3-compatible server (moto_server, which scripts/test starts; see
//! `steward_server::testing`): multipart uploads, streamed reads, aborted uploads, and the API
//! end to end with every file in a bucket.

use std::io::Write;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use steward_server::testing::{self, TestS3};
use steward_server::{Blobs, ServerSettings};

use crate::applications::{delete, fixture, get, upload};
use crate::common::{TestServer, json};

/// Multipart uploads still open under the test's prefix (ListMultipartUploads; the test
/// server takes unsigned requests).
async fn open_uploads(s3: &TestS3) -> usize {
    let url = format!("{}/{}?uploads", s3.endpoint, s3.bucket);
    let body = reqwest::get(url).await.unwrap().text().await.unwrap();
    body.matches(&format!("<Key>{}/", s3.prefix)).count()
}

/// Waits up to 10 s for `open_uploads` to become `n`.
async fn wait_for_open_uploads(s3: &TestS3, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let open = open_uploads(s3).await;
        if open == n {
            return;
        }
        assert!(Instant::now() < deadline, "{open} open uploads, not {n}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn files_go_to_s3_in_parts_and_come_back_as_streams() {
    let Some(s3) = testing::s3() else { return };
    let blobs = Blobs::open(&s3.settings()).unwrap();
    blobs.check().await.unwrap();
    assert!(s3.keys().await.is_empty(), "the check leaves nothing");

    // 20 MiB and a bit: three parts of 8 MiB at most.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("big.bin");
    let data: Vec<u8> = (0..20 * 1024 * 1024 + 123u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(&src, &data).unwrap();
    blobs.put_file("apps/e/big.bin", &src).await.unwrap();
    blobs
        .put_bytes("apps/e/icon.png", b"\x89PNG".to_vec())
        .await
        .unwrap();
    assert_eq!(s3.keys().await, ["apps/e/big.bin", "apps/e/icon.png"]);

    let got = blobs.get("apps/e/big.bin").await.unwrap();
    assert_eq!(got.meta.size, data.len() as u64);
    // A multipart object's ETag ends in the number of its parts.
    let etag = got.meta.e_tag.clone().unwrap_or_default();
    assert!(etag.trim_matches('"').ends_with("-3"), "ETag {etag}");
    let mut stream = got.into_stream();
    let (mut chunks, mut back) = (0, Vec::new());
    while let Some(chunk) = stream.next().await {
        back.extend_from_slice(&chunk.unwrap());
        chunks += 1;
    }
    assert!(chunks > 1, "read as a stream, not in one piece");
    assert!(back == data, "the same bytes come back");

    blobs
        .delete(&["apps/e/big.bin".into(), "apps/e/icon.png".into()])
        .await;
    // Deleting what is gone already is fine.
    blobs.delete(&["apps/e/big.bin".into()]).await;
    assert!(s3.keys().await.is_empty());
    assert!(matches!(
        blobs.get("apps/e/big.bin").await,
        Err(object_store::Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn failed_and_abandoned_uploads_leave_nothing_in_s3() {
    let Some(s3) = testing::s3() else { return };
    let blobs = Blobs::open(&s3.settings()).unwrap();
    let dir = tempfile::tempdir().unwrap();

    // Reading fails (a folder, a missing file): the upload is aborted.
    assert!(blobs.put_file("x/folder", dir.path()).await.is_err());
    let missing = dir.path().join("missing");
    assert!(blobs.put_file("x/missing", &missing).await.is_err());
    assert_eq!(open_uploads(&s3).await, 0);

    // A request that goes away mid-copy: the source is a pipe that delivers 9 MiB (the first
    // part goes out), then stalls; the caller drops the upload.
    let fifo = dir.path().join("slow");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let (written_tx, written) = tokio::sync::oneshot::channel::<()>();
    let (close_tx, close) = std::sync::mpsc::channel::<()>();
    let feeder = std::thread::spawn({
        let fifo = fifo.clone();
        move || {
            let mut pipe = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
            pipe.write_all(&vec![7u8; 9 * 1024 * 1024]).unwrap();
            let _ = written_tx.send(());
            let _ = close.recv();
        }
    });
    let mut put = Box::pin(blobs.put_file("x/abandoned", &fifo));
    tokio::select! {
        done = &mut put => panic!("the upload ended early: {done:?}"),
        _ = written => {}
    }
    wait_for_open_uploads(&s3, 1).await;
    drop(put);
    wait_for_open_uploads(&s3, 0).await;
    close_tx.send(()).unwrap();
    feeder.join().unwrap();
    assert!(s3.keys().await.is_empty(), "{:?}", s3.keys().await);
}

/// Every key of the test's prefix that starts with `folder`.
async fn keys_under(s3: &TestS3, folder: &str) -> Vec<String> {
    let mut keys = s3.keys().await;
    keys.retain(|k| k.starts_with(folder));
    keys
}

async fn download(url: &str) -> Vec<u8> {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    response.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn the_api_keeps_packages_and_content_in_s3() {
    for db in steward_store::testing::backends().await {
        let Some(s3) = testing::s3() else { return };
        let label = db.label();
        let blobs = Blobs::open(&s3.settings()).unwrap();
        let s = TestServer::start_with_blobs(db, ServerSettings::default(), blobs).await;
        let eid = s.enterprise;

        // A package with an icon: both go to the bucket and come back by signed URL.
        let (status, body) = upload(&s, "signage-2.0.apk").await;
        assert_eq!(status, 201, "{label}: {body}");
        let app_id = body["application"]["id"].as_str().unwrap().to_string();
        let apps = keys_under(&s3, &format!("apps/{eid}/")).await;
        assert_eq!(apps.len(), 2, "{label}: package and icon: {apps:?}");
        let (_, versions) = get(
            &s,
            &format!("/enterprise/{eid}/application/{app_id}/version/"),
        )
        .await;
        let version: &Value = &versions["results"][0];
        let apk = download(version["app_file"].as_str().unwrap()).await;
        assert!(apk == std::fs::read(fixture("signage-2.0.apk")).unwrap());
        let icon = download(version["app_icon"].as_str().unwrap()).await;
        assert!(icon.starts_with(b"\x89PNG\r\n\x1a\n"), "{label}");

        // Content of a few MiB.
        let content: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
        let form = Form::new().part("key", Part::bytes(content.clone()).file_name("video.bin"));
        let (status, created) = json(
            s.api(
                Method::POST,
                &format!("/v0/enterprise/{eid}/content/upload/"),
            )
            .multipart(form)
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(status, 201, "{label}: {created}");
        assert!(download(created["download_url"].as_str().unwrap()).await == content);
        assert_eq!(keys_under(&s3, &format!("content/{eid}/")).await.len(), 1);

        // Deleting removes the objects.
        let app_path = format!("/enterprise/{eid}/application/{app_id}/");
        assert_eq!(delete(&s, &app_path).await, 204, "{label}");
        let id = created["id"].as_i64().unwrap();
        let content_path = format!("/v0/enterprise/{eid}/content/{id}/");
        assert_eq!(delete(&s, &content_path).await, 204, "{label}");
        assert!(s3.keys().await.is_empty(), "{label}: {:?}", s3.keys().await);
        assert_eq!(open_uploads(&s3).await, 0);
        s.stop().await;
    }
}
