//! Test support (feature `testing`): an S3-compatible server for the blob storage tests.
//!
//! `STEWARD_TEST_S3_URL` names a bucket on it as `http://HOST:PORT/BUCKET`; `scripts/test` starts
//! moto_server on a free loopback port, makes the bucket and sets the variable. Each test gets
//! its own prefix in that bucket. Without the variable, S3 tests are skipped with a loud message;
//! under CI (`CI` set) that is a failure.

// Test support only: a failure here is a failed test.
#![allow(clippy::expect_used)]

use futures_util::TryStreamExt;
use object_store::ObjectStore;

use crate::blobs::Blobs;
use crate::settings::BlobSettings;

/// A prefix of its own in the test bucket.
#[derive(Debug, Clone)]
pub struct TestS3 {
    /// `http://HOST:PORT`
    pub endpoint: String,
    pub bucket: String,
    pub prefix: String,
}

/// The test S3 server, or `None` (after a loud message) when none is configured.
pub fn s3() -> Option<TestS3> {
    let Ok(url) = std::env::var("STEWARD_TEST_S3_URL") else {
        steward_store::testing::unavailable(
            "the S3 blob storage test",
            "STEWARD_TEST_S3_URL is not set (scripts/test starts an S3-compatible server and sets it)",
        );
        return None;
    };
    let parsed = url::Url::parse(&url).expect("STEWARD_TEST_S3_URL is http://HOST:PORT/BUCKET");
    let bucket = parsed.path().trim_matches('/').to_string();
    assert!(
        !bucket.is_empty() && !bucket.contains('/'),
        "STEWARD_TEST_S3_URL names one bucket: http://HOST:PORT/BUCKET"
    );
    Some(TestS3 {
        endpoint: parsed.origin().ascii_serialization(),
        bucket,
        prefix: format!("test-{}", uuid::Uuid::new_v4().simple()),
    })
}

impl TestS3 {
    /// `s3://BUCKET/PREFIX`
    pub fn location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    /// Settings for this prefix (the test server takes any credentials).
    pub fn settings(&self) -> BlobSettings {
        BlobSettings {
            location: self.location(),
            endpoint: Some(self.endpoint.clone()),
            region: Some("us-east-1".into()),
            access_key_id: Some("steward-test".into()),
            secret_access_key: Some("steward-test".into()),
        }
    }

    /// The keys of the objects under this prefix, sorted.
    pub async fn keys(&self) -> Vec<String> {
        let blobs = Blobs::open(&self.settings()).expect("open the test bucket");
        let mut keys: Vec<String> = blobs
            .store
            .list(None)
            .map_ok(|meta| meta.location.to_string())
            .try_collect()
            .await
            .expect("list the test bucket");
        keys.sort();
        keys
    }
}
