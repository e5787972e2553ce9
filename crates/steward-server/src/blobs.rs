//! Blob storage for package files, icons and content: a local folder by default, or an
//! S3-compatible bucket (`s3://BUCKET[/PREFIX]`) through the `object_store` crate. Uploads are
//! written to a temporary file first (inspected, hashed), then copied into the store in parts
//! (an S3 multipart upload); a failed or abandoned copy is aborted and leaves nothing.
//!
//! Downloads go through signed URLs: `/files/{key}?expires=…&signature=…`, an HMAC-SHA256 of
//! the key and expiry under a secret every node reads from the database. They need no API key
//! (espercli fetches `app_file` without one) and are useless once expired or altered.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hmac::{Hmac, KeyInit, Mac};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use sha2::Sha256;
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

use crate::settings::BlobSettings;

/// Bytes read from the temporary file per part written to the store (S3 wants 5 MiB or more).
const PART_BYTES: usize = 8 * 1024 * 1024;
/// Parts uploaded at once per file.
const PARTS_IN_FLIGHT: usize = 4;
/// How long the check at start may take (the store's client retries on its own meanwhile).
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// Where blobs live.
#[derive(Clone)]
pub struct Blobs {
    pub(crate) store: Arc<dyn ObjectStore>,
    /// For logs and errors: the folder or URL.
    location: String,
}

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blobs")
            .field("location", &self.location)
            .finish()
    }
}

impl Blobs {
    /// Blobs in a local folder (created if missing).
    pub fn in_folder(folder: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(folder)?;
        let store = LocalFileSystem::new_with_prefix(folder)?.with_automatic_cleanup(true);
        Ok(Self {
            store: Arc::new(store),
            location: folder.display().to_string(),
        })
    }

    /// Blobs where `settings` say: a folder path, a `file://` URL, or `s3://BUCKET[/PREFIX]`.
    pub fn open(settings: &BlobSettings) -> anyhow::Result<Self> {
        let location = settings.location.as_str();
        if let Some(rest) = location.strip_prefix("s3://") {
            return Self::s3(settings, rest);
        }
        let s3_only = [
            ("--blob-endpoint", settings.endpoint.is_some()),
            ("--blob-region", settings.region.is_some()),
            ("--blob-access-key-id", settings.access_key_id.is_some()),
            (
                "--blob-secret-access-key",
                settings.secret_access_key.is_some(),
            ),
        ];
        if let Some((name, _)) = s3_only.iter().find(|(_, given)| *given) {
            anyhow::bail!("{name} is for S3 blob storage, but --blob-storage is {location:?}");
        }
        match location.strip_prefix("file://") {
            Some(path) => Self::in_folder(Path::new(path)),
            None if !location.contains("://") => Self::in_folder(Path::new(location)),
            None => anyhow::bail!(
                "unsupported --blob-storage {location:?}: give a folder, a file:// URL or s3://BUCKET[/PREFIX]"
            ),
        }
    }

    /// `rest` is what follows `s3://`: the bucket, then an optional key prefix.
    fn s3(settings: &BlobSettings, rest: &str) -> anyhow::Result<Self> {
        let location = &settings.location;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        anyhow::ensure!(
            !bucket.is_empty(),
            "--blob-storage {location:?} names no bucket: give s3://BUCKET[/PREFIX]"
        );
        // Path-style requests unless AWS_VIRTUAL_HOSTED_STYLE_REQUEST says otherwise, as
        // S3-compatible servers expect.
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(endpoint) = &settings.endpoint {
            let parsed = url::Url::parse(endpoint)
                .with_context(|| format!("--blob-endpoint {endpoint:?} is not a URL"))?;
            anyhow::ensure!(
                matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some(),
                "--blob-endpoint must be an http(s) URL such as https://s3.example.com"
            );
            builder = builder.with_endpoint(endpoint.trim_end_matches('/'));
        }
        if let Some(region) = &settings.region {
            builder = builder.with_region(region);
        }
        match (&settings.access_key_id, &settings.secret_access_key) {
            (Some(id), Some(secret)) => {
                builder = builder
                    .with_access_key_id(id)
                    .with_secret_access_key(secret);
            }
            (None, None) => {}
            _ => anyhow::bail!(
                "give both --blob-access-key-id and --blob-secret-access-key, or neither"
            ),
        }
        // An http:// endpoint, from the settings or AWS_ENDPOINT_URL, is an explicit choice of
        // plain HTTP (a store on the local network), so it needs no AWS_ALLOW_HTTP as well.
        if builder
            .get_config_value(&AmazonS3ConfigKey::Endpoint)
            .is_some_and(|e| e.starts_with("http://"))
        {
            builder = builder.with_allow_http(true);
        }
        let store = builder
            .build()
            .with_context(|| format!("cannot use --blob-storage {location:?}"))?;
        let prefix = prefix.trim_matches('/');
        let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(store)
        } else {
            let prefix = ObjectPath::parse(prefix)
                .with_context(|| format!("--blob-storage {location:?} has a bad prefix"))?;
            Arc::new(PrefixStore::new(store, prefix))
        };
        Ok(Self {
            store,
            location: location.clone(),
        })
    }

    pub fn location(&self) -> &str {
        &self.location
    }

    /// Writes and removes a small object, so that a wrong bucket, endpoint or credential stops
    /// the server at start rather than failing the first upload.
    pub async fn check(&self) -> anyhow::Result<()> {
        let key = ObjectPath::from(format!("steward-check/{}", uuid::Uuid::now_v7()));
        let round_trip = async {
            self.store.put(&key, b"ok".to_vec().into()).await?;
            self.store.delete(&key).await
        };
        tokio::time::timeout(CHECK_TIMEOUT, round_trip)
            .await
            .map_err(|_| anyhow::anyhow!("no answer within {}s", CHECK_TIMEOUT.as_secs()))?
            .context("a test write and delete failed")
    }

    /// Copies the file at `path` into the store under `key`, in parts. A failed copy is
    /// aborted, and so is one whose caller goes away (a dropped request): the copy runs in its
    /// own task, and the guard below tells it to abort when this future is dropped.
    pub async fn put_file(&self, key: &str, path: &Path) -> anyhow::Result<()> {
        let upload = self.store.put_multipart(&ObjectPath::from(key)).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let cancel = CancellationToken::new();
        let _abort_when_dropped = cancel.clone().drop_guard();
        let path = path.to_path_buf();
        let key = key.to_string();
        tokio::spawn(async move {
            let copied = tokio::select! {
                copied = copy_parts(&mut writer, &path) => copied,
                () = cancel.cancelled() => Err(anyhow::anyhow!("the upload was abandoned")),
            };
            match copied {
                // `finish` aborts the upload itself when completing it fails.
                Ok(()) => writer.finish().await.map(drop).map_err(anyhow::Error::from),
                Err(e) => {
                    if let Err(abort) = writer.abort().await {
                        tracing::warn!(%key, error = %abort, "cannot abort a blob upload");
                    }
                    Err(e)
                }
            }
        })
        .await?
    }

    /// Stores small `bytes` (an icon) under `key`.
    pub async fn put_bytes(&self, key: &str, bytes: Vec<u8>) -> anyhow::Result<()> {
        self.store.put(&ObjectPath::from(key), bytes.into()).await?;
        Ok(())
    }

    /// Reads `key` as a stream, with its size.
    pub async fn get(&self, key: &str) -> Result<object_store::GetResult, object_store::Error> {
        self.store.get(&ObjectPath::from(key)).await
    }

    /// Removes `keys`; a failure is logged, not returned (the rows are gone already).
    pub async fn delete(&self, keys: &[String]) {
        for key in keys {
            match self.store.delete(&ObjectPath::from(key.as_str())).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => tracing::warn!(%key, error = %e, "cannot delete a blob"),
            }
        }
    }
}

/// Feeds the file at `path` to `writer`, a few parts in flight at a time.
async fn copy_parts(writer: &mut WriteMultipart, path: &Path) -> anyhow::Result<()> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut buf = vec![0u8; 1024 * 1024];
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
        writer.write(buf.get(..n).unwrap_or_default());
    }
}

/// Signs and checks download URLs.
#[derive(Clone)]
pub struct UrlSigner {
    key: Arc<Vec<u8>>,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UrlSigner")
    }
}

impl UrlSigner {
    pub fn new(key: Vec<u8>) -> Self {
        Self { key: Arc::new(key) }
    }

    fn mac(&self, blob_key: &str, expires: i64) -> Option<Hmac<Sha256>> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).ok()?;
        mac.update(blob_key.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        Some(mac)
    }

    /// The signature of `blob_key` until `expires` (Unix seconds), hex.
    pub fn sign(&self, blob_key: &str, expires: i64) -> String {
        self.mac(blob_key, expires)
            .map(|m| hex::encode(m.finalize().into_bytes()))
            .unwrap_or_default()
    }

    /// Whether `signature` is right for `blob_key` and `expires` (compared in constant time).
    pub fn verify(&self, blob_key: &str, expires: i64, signature: &str) -> bool {
        let Ok(bytes) = hex::decode(signature) else {
            return false;
        };
        self.mac(blob_key, expires)
            .is_some_and(|m| m.verify_slice(&bytes).is_ok())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn signatures_fail_when_anything_changes() {
        let signer = UrlSigner::new(vec![7; 32]);
        let sig = signer.sign("apps/a.apk", 100);
        assert!(signer.verify("apps/a.apk", 100, &sig));
        assert!(!signer.verify("apps/b.apk", 100, &sig));
        assert!(!signer.verify("apps/a.apk", 101, &sig));
        assert!(!signer.verify("apps/a.apk", 100, "zz"));
        assert!(!UrlSigner::new(vec![8; 32]).verify("apps/a.apk", 100, &sig));
    }

    #[tokio::test]
    async fn a_file_goes_in_and_comes_out() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(&BlobSettings::at(
            dir.path().join("blobs").to_str().unwrap(),
        ))
        .unwrap();
        let src = dir.path().join("src");
        std::fs::write(&src, vec![5u8; 3 * 1024 * 1024 + 17]).unwrap();
        blobs.put_file("x/y.bin", &src).await.unwrap();
        let got = blobs.get("x/y.bin").await.unwrap().bytes().await.unwrap();
        assert_eq!(got.len(), 3 * 1024 * 1024 + 17);
        blobs.delete(&["x/y.bin".into()]).await;
        assert!(blobs.get("x/y.bin").await.is_err());
    }

    #[test]
    fn bad_locations_are_refused_naming_the_setting() {
        let err = |settings: BlobSettings| format!("{:#}", Blobs::open(&settings).unwrap_err());
        assert!(err(BlobSettings::at("gopher://x")).contains("--blob-storage"));
        assert!(err(BlobSettings::at("s3://")).contains("no bucket"));
        assert!(err(BlobSettings::at("s3://b/a/../c")).contains("prefix"));
        let mut s = BlobSettings::at("s3://b");
        s.endpoint = Some("ftp://x".into());
        assert!(err(s.clone()).contains("--blob-endpoint"));
        s.endpoint = Some("http://127.0.0.1:9".into());
        s.access_key_id = Some("id".into());
        assert!(err(s.clone()).contains("--blob-secret-access-key"));
        s.location = "/tmp/blobs".into();
        assert!(err(s).contains("--blob-endpoint is for S3"));
        // Opening an S3 store makes no request yet.
        let mut s = BlobSettings::at("s3://bucket/some/prefix");
        s.endpoint = Some("http://127.0.0.1:9".into());
        s.region = Some("eu-west-1".into());
        s.access_key_id = Some("id".into());
        s.secret_access_key = Some("secret-value".into());
        assert_eq!(
            Blobs::open(&s).unwrap().location(),
            "s3://bucket/some/prefix"
        );
        assert!(!format!("{s:?}").contains("secret-value"));
    }
}
