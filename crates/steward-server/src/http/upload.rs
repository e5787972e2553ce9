//! Receiving one file of a multipart upload: streamed to a temporary file under a size cap and
//! hashed on the way, so nothing large is held in memory and nothing is left behind when the
//! upload fails (the temporary file is removed when dropped).

use std::path::Path;

use axum::extract::Multipart;
use axum::extract::multipart::MultipartRejection;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::error::ApiError;

/// A file received in full.
pub struct Received {
    /// Removed when dropped.
    pub path: tempfile::TempPath,
    /// The name the client gave it (only its last path segment, never used as a path).
    pub file_name: String,
    pub content_type: Option<String>,
    pub size: u64,
    /// SHA-256, lowercase hex.
    pub sha256: String,
}

fn human_bytes(n: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if n >= 1024 * MIB && n.is_multiple_of(1024 * MIB) {
        format!("{} GiB", n / (1024 * MIB))
    } else if n >= MIB {
        format!("{} MiB", n / MIB)
    } else {
        format!("{n} bytes")
    }
}

/// A name safe inside a URL path and a blob key: ASCII letters, digits, `.`, `-`, `_`, at most
/// 100 characters, not starting with a dot; empty when nothing of it is left.
pub fn safe_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    s.trim_start_matches('.').to_string()
}

/// The name a client gave its file, without any folder (`../../etc/passwd` is `passwd`), at
/// most 255 characters; `upload` when nothing usable is left. A display name, never a path:
/// paths and keys are made with [`safe_name`].
pub fn client_file_name(given: Option<&str>) -> String {
    given
        .and_then(|n| n.rsplit(['/', '\\']).next())
        .map(str::trim)
        .filter(|n| !n.is_empty() && *n != "." && *n != "..")
        .map(|n| {
            n.chars()
                .filter(|c| !c.is_control())
                .take(255)
                .collect::<String>()
        })
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "upload".to_string())
}

/// Reads the multipart body until the field `field`, and streams it to a temporary file in
/// `dir` (the system's temporary folder when `None`). Other fields are skipped; a body that is
/// not multipart is a 415.
pub async fn receive_file(
    multipart: Result<Multipart, MultipartRejection>,
    field: &str,
    max_bytes: u64,
    dir: Option<&Path>,
) -> Result<Received, ApiError> {
    let mut multipart = multipart.map_err(|e| {
        ApiError::UnsupportedMediaType(format!(
            "send the file as multipart/form-data in the field {field} ({})",
            e.body_text()
        ))
    })?;
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::BadRequest(format!("unreadable multipart body: {}", e.body_text()))
    };
    while let Some(mut part) = multipart.next_field().await.map_err(bad)? {
        if part.name() != Some(field) {
            continue;
        }
        let file_name = client_file_name(part.file_name());
        let content_type = part.content_type().map(str::to_string);
        let temp = match dir {
            Some(d) => tempfile::Builder::new().prefix("upload-").tempfile_in(d),
            None => tempfile::Builder::new()
                .prefix("steward-upload-")
                .tempfile(),
        }
        .map_err(|e| ApiError::Internal(format!("cannot create a temporary file: {e}")))?;
        let (file, path) = temp.into_parts();
        let mut out = tokio::fs::File::from_std(file);
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = part.chunk().await.map_err(bad)? {
            size += chunk.len() as u64;
            if size > max_bytes {
                return Err(ApiError::PayloadTooLarge(format!(
                    "{field}: the file is larger than the limit of {}",
                    human_bytes(max_bytes)
                )));
            }
            hasher.update(&chunk);
            out.write_all(&chunk)
                .await
                .map_err(|e| ApiError::Internal(format!("cannot write the upload: {e}")))?;
        }
        out.flush()
            .await
            .map_err(|e| ApiError::Internal(format!("cannot write the upload: {e}")))?;
        if size == 0 {
            return Err(ApiError::BadRequest(format!("{field}: the file is empty")));
        }
        return Ok(Received {
            path,
            file_name,
            content_type,
            size,
            sha256: hex::encode(hasher.finalize()),
        });
    }
    Err(ApiError::BadRequest(format!(
        "{field}: missing; send the file as the multipart field {field:?}"
    )))
}

#[cfg(test)]
mod tests {
    use super::{client_file_name, human_bytes, safe_name};

    #[test]
    fn client_names_lose_their_folders() {
        assert_eq!(client_file_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(client_file_name(Some("..\\..\\boot.ini")), "boot.ini");
        assert_eq!(client_file_name(Some("/abs/menu.txt")), "menu.txt");
        assert_eq!(client_file_name(Some("menu\n.txt")), "menu.txt");
        for nothing in [
            None,
            Some(""),
            Some(".."),
            Some("."),
            Some("a/.."),
            Some("dir/"),
            Some("\n"),
        ] {
            assert_eq!(client_file_name(nothing), "upload", "{nothing:?}");
        }
        assert_eq!(
            client_file_name(Some(&"é".repeat(300))).chars().count(),
            255
        );
    }

    #[test]
    fn safe_names_stay_one_harmless_segment() {
        assert_eq!(safe_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_name("..\\evil.apk"), "_evil.apk");
        assert_eq!(safe_name(".."), "");
        assert_eq!(safe_name(".hidden"), "hidden");
        assert_eq!(safe_name("opening hours.txt"), "opening_hours.txt");
        assert_eq!(safe_name("café.apk"), "caf_.apk");
        assert_eq!(safe_name(&"a".repeat(300)).len(), 100);
        for name in ["../../x", "..", "a/../b", "C:\\x", "%2e%2e%2fx", "x\0y"] {
            let safe = safe_name(name);
            assert!(
                !safe.contains(['/', '\\', ':', '%', '\0']) && !safe.starts_with('.'),
                "{name:?} -> {safe:?}"
            );
        }
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_bytes(2 * 1024 * 1024 * 1024), "2 GiB");
        assert_eq!(human_bytes(5 * 1024 * 1024), "5 MiB");
        assert_eq!(human_bytes(10), "10 bytes");
    }
}
