//! Blob storage for package files, icons and content: a local folder by default, or any store
//! the `object_store` crate reaches by URL. Uploads are written to a temporary file first
//! (inspected, hashed), then copied into the store in parts; a failed copy leaves nothing.
//!
//! Downloads go through signed URLs: `/files/{key}?expires=…&signature=…`, an HMAC-SHA256 of
//! the key and expiry under a secret every node reads from the database. They need no API key
//! (espercli fetches `app_file` without one) and are useless once expired or altered.

use std::path::Path;
use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use sha2::Sha256;
use tokio::io::AsyncReadExt;

/// Bytes read from the temporary file per part written to the store.
const PART_BYTES: usize = 8 * 1024 * 1024;

/// Where blobs live.
#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
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

    /// Blobs at `location`: a folder path, or a `file://` URL.
    pub fn open(location: &str) -> anyhow::Result<Self> {
        match location.strip_prefix("file://") {
            Some(path) => Self::in_folder(Path::new(path)),
            None if !location.contains("://") => Self::in_folder(Path::new(location)),
            None => anyhow::bail!(
                "unsupported blob storage {location:?}: give a folder or a file:// URL"
            ),
        }
    }

    pub fn location(&self) -> &str {
        &self.location
    }

    /// Copies the file at `path` into the store under `key`.
    pub async fn put_file(&self, key: &str, path: &Path) -> anyhow::Result<()> {
        let upload = self.store.put_multipart(&ObjectPath::from(key)).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut file = tokio::fs::File::open(path).await?;
        let mut buf = vec![0u8; 1024 * 1024];
        loop {
            let n = match file.read(&mut buf).await {
                Ok(n) => n,
                Err(e) => {
                    writer.abort().await?;
                    return Err(e.into());
                }
            };
            if n == 0 {
                break;
            }
            writer.wait_for_capacity(4).await?;
            writer.write(buf.get(..n).unwrap_or_default());
        }
        writer.finish().await?;
        Ok(())
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
        let blobs = Blobs::open(dir.path().join("blobs").to_str().unwrap()).unwrap();
        let src = dir.path().join("src");
        std::fs::write(&src, vec![5u8; 3 * 1024 * 1024 + 17]).unwrap();
        blobs.put_file("x/y.bin", &src).await.unwrap();
        let got = blobs.get("x/y.bin").await.unwrap().bytes().await.unwrap();
        assert_eq!(got.len(), 3 * 1024 * 1024 + 17);
        blobs.delete(&["x/y.bin".into()]).await;
        assert!(blobs.get("x/y.bin").await.is_err());
        assert!(Blobs::open("gopher://x").is_err());
    }
}
