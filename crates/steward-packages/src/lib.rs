//! Inspects uploaded application packages: Android APKs (through the `apk-info` parser) and,
//! for Linux devices, Debian `.deb` packages (their control file). Uploads are hostile until
//! proven otherwise, so every read is bounded: a zip's central directory is checked for bombs,
//! traversal and duplicate names and an oversized manifest, and only the manifest and resource
//! table, decompressed through bounded readers, reach the parser; a `.deb` is read only as far
//! as its control file; a parser panic becomes an error.

mod apk;
mod deb;

use std::io::Read;
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

/// What kind of package a file is (told by its content, not its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageKind {
    Apk,
    Deb,
}

/// Bounds on what an inspection reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub max_file_bytes: u64,
    pub max_manifest_bytes: u64,
    /// The most the archive's entries may declare, uncompressed, all together.
    pub max_uncompressed_bytes: u64,
    pub max_entries: usize,
    pub max_icon_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 1024 * 1024 * 1024,
            max_manifest_bytes: 4 * 1024 * 1024,
            max_uncompressed_bytes: 4 * 1024 * 1024 * 1024,
            max_entries: 100_000,
            max_icon_bytes: 1024 * 1024,
        }
    }
}

/// What a package says about itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackageMeta {
    pub kind: PackageKind,
    pub package_name: String,
    /// The APK's `android:versionCode`; none for a .deb.
    pub version_code: Option<i64>,
    /// The APK's `android:versionName`, or the .deb's `Version`.
    pub version_name: Option<String>,
    pub min_sdk: Option<u32>,
    pub target_sdk: Option<u32>,
    /// Permissions the APK asks for, sorted and without repeats.
    pub permissions: Vec<String>,
    /// The APK's application label, or the first line of the .deb's description.
    pub label: Option<String>,
    /// The APK's launcher icon, when it is a PNG of bounded size.
    pub icon_png: Option<Vec<u8>>,
    /// The .deb's `Architecture`, or the APK's native ABIs joined by commas.
    pub architecture: Option<String>,
    /// The .deb's `Maintainer`.
    pub maintainer: Option<String>,
    /// SHA-256 of the whole file, lowercase hex.
    pub sha256: String,
    pub size: u64,
}

/// Why a file was refused. The messages are shown to API users as they are.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is larger than {}", human(*.limit))]
    TooLarge { limit: u64 },
    #[error("not an APK or a .deb package (the file starts with {start})")]
    UnknownFormat { start: String },
    #[error("the APK is not a readable zip archive: {0}")]
    BadZip(String),
    #[error("the APK uses zip64 records, which no APK needs: refused")]
    Zip64,
    #[error("the archive has {count} entries, more than the limit of {limit}")]
    TooManyEntries { count: usize, limit: usize },
    #[error("the archive expands beyond {} (a zip bomb?)", human(*.limit))]
    Bomb { limit: u64 },
    #[error("an entry name leaves the archive (path traversal): {0}")]
    Traversal(String),
    #[error("the APK has no AndroidManifest.xml")]
    NoManifest,
    #[error("the APK's manifest is larger than {}", human(*.limit))]
    ManifestTooLarge { limit: u64 },
    #[error("the APK could not be parsed: {0}")]
    BadApk(String),
    #[error("the APK's manifest has no package name")]
    NoPackageName,
    #[error("the package name {0:?} is not a valid package name")]
    BadPackageName(String),
    #[error("the APK's versionCode {0:?} is not a number")]
    BadVersionCode(String),
    #[error("the .deb is not a readable package: {0}")]
    BadDeb(String),
    #[error("the .deb has no control file")]
    NoControl,
    #[error("the .deb's control file has no {0} field")]
    MissingField(&'static str),
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
}

/// Inspects the file at `path`. Blocking: run it off the async threads.
pub fn inspect(path: &Path, limits: &Limits) -> Result<PackageMeta, InspectError> {
    let size = std::fs::metadata(path)?.len();
    if size == 0 {
        return Err(InspectError::Empty);
    }
    if size > limits.max_file_bytes {
        return Err(InspectError::TooLarge {
            limit: limits.max_file_bytes,
        });
    }
    let (sha256, start) = hash_file(path)?;
    let kind = if start.starts_with(b"PK\x03\x04") {
        PackageKind::Apk
    } else if start.starts_with(b"!<arch>\ndebian-binary") {
        PackageKind::Deb
    } else {
        return Err(InspectError::UnknownFormat {
            start: describe_start(&start),
        });
    };
    // The parsers are the last line of defence against crafted files: a panic is a refusal.
    let parsed = std::panic::catch_unwind(|| match kind {
        PackageKind::Apk => apk::inspect(path, limits),
        PackageKind::Deb => deb::inspect(path, limits),
    });
    let mut meta = match parsed {
        Ok(result) => result?,
        Err(_) => {
            let why = "the parser failed on it".to_string();
            return Err(match kind {
                PackageKind::Apk => InspectError::BadApk(why),
                PackageKind::Deb => InspectError::BadDeb(why),
            });
        }
    };
    meta.sha256 = sha256;
    meta.size = size;
    Ok(meta)
}

/// A byte count for people: "4 MiB", "1.5 GiB", "2000 bytes".
pub(crate) fn human(bytes: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1 << 40, "TiB"),
        (1 << 30, "GiB"),
        (1 << 20, "MiB"),
        (1 << 10, "KiB"),
    ];
    for (unit, name) in UNITS {
        if bytes >= unit && bytes.is_multiple_of(unit) {
            return format!("{} {name}", bytes / unit);
        }
        if bytes >= unit && bytes >= 1 << 20 {
            return format!("{:.1} {name}", bytes as f64 / unit as f64);
        }
    }
    if bytes == 1 {
        "1 byte".into()
    } else {
        format!("{bytes} bytes")
    }
}

/// The file's SHA-256 and its first bytes.
fn hash_file(path: &Path) -> std::io::Result<(String, Vec<u8>)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut start = Vec::new();
    loop {
        let n = match file.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        let chunk = buf.get(..n).unwrap_or_default();
        if start.len() < 32 {
            start.extend(chunk.iter().take(32 - start.len()));
        }
        hasher.update(chunk);
    }
    Ok((hex::encode(hasher.finalize()), start))
}

/// Well-known file types, to tell an uploader what they sent instead.
const KNOWN_STARTS: &[(&[u8], &str)] = &[
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "gzip data"),
    (b"\xfd7zXZ\x00", "xz data"),
    (b"\x28\xb5\x2f\xfd", "zstd data"),
    (b"\x7fELF", "an ELF executable"),
    (b"!<arch>\n", "an ar archive that is not a .deb"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"dex\n", "a bare DEX file, not an APK"),
];

/// The first bytes, as text where printable, for an error message.
fn describe_start(start: &[u8]) -> String {
    let head = start.get(..start.len().min(8)).unwrap_or_default();
    let shown = if head.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("{:?}", String::from_utf8_lossy(head))
    } else {
        format!("bytes {}", hex::encode(head))
    };
    match KNOWN_STARTS
        .iter()
        .find(|(magic, _)| start.starts_with(magic))
    {
        Some((_, what)) => format!("{shown}: {what}"),
        None => shown,
    }
}

#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod tests;
