//! APKs. The zip is read with the `zip` crate first: its central directory is checked (entry
//! count, declared sizes, names, duplicates) and the manifest and resource table are
//! decompressed through bounded readers. Only those two entries, copied into a small stored zip,
//! reach `apk-info`, so the parser never sees the rest of the upload and cannot be made to
//! inflate a lying entry. The launcher icon is read back from the upload, bounded as well.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use zip::ZipArchive;
use zip::write::SimpleFileOptions;

use crate::{InspectError, Limits, PackageKind, PackageMeta};

const MANIFEST: &str = "AndroidManifest.xml";
const RESOURCES: &str = "resources.arsc";
/// The largest resource table read to resolve labels (the biggest real apps have a few tens of
/// MiB). A larger one is left out: the package is still read, only references stay unresolved.
const MAX_RESOURCES_BYTES: u64 = 128 * 1024 * 1024;

type Archive = ZipArchive<BufReader<File>>;

/// What the central directory says, once it passed the checks.
struct Directory {
    manifest: usize,
    resources: Option<usize>,
    abis: BTreeSet<String>,
}

/// A classic end record declares at most 65,535 entries, and the `zip` crate reads no more
/// records than declared. A zip64 end record (announced by a locator right before the classic
/// one) could declare billions; no APK below 4 GiB needs one, so it is refused before parsing.
fn refuse_zip64(file: &mut File, len: u64) -> Result<(), InspectError> {
    let tail_len = len.min(22 + 20 + u64::from(u16::MAX));
    file.seek(SeekFrom::Start(len - tail_len))?;
    let mut tail = Vec::new();
    Read::by_ref(file).take(tail_len).read_to_end(&mut tail)?;
    let zip64 = tail.windows(4).enumerate().any(|(at, magic)| {
        magic == b"PK\x05\x06"
            && at
                .checked_sub(20)
                .and_then(|locator| tail.get(locator..locator + 4))
                .is_some_and(|locator| locator == b"PK\x06\x07")
    });
    if zip64 {
        return Err(InspectError::Zip64);
    }
    Ok(())
}

fn bad_zip(e: zip::result::ZipError) -> InspectError {
    InspectError::BadZip(e.to_string())
}

/// Whether an entry name would leave the folder it is extracted to.
fn leaves_archive(name: &str) -> bool {
    let bytes = name.as_bytes();
    name.starts_with(['/', '\\'])
        || (bytes.len() >= 2 && bytes.get(1) == Some(&b':'))
        || name.split(['/', '\\']).any(|part| part == "..")
}

/// Checks the archive's directory without decompressing anything.
fn check_directory(archive: &Archive, limits: &Limits) -> Result<Directory, InspectError> {
    let count = archive.len();
    if count > limits.max_entries {
        return Err(InspectError::TooManyEntries {
            count,
            limit: limits.max_entries,
        });
    }
    if archive.has_duplicate_names() {
        return Err(InspectError::BadZip(
            "two entries have the same name".into(),
        ));
    }
    let mut total = 0u64;
    let mut manifest = None;
    let mut resources = None;
    let mut abis = BTreeSet::new();
    for i in 0..count {
        let entry = archive.by_index_data(i).map_err(bad_zip)?;
        let name = entry.name().map_err(bad_zip)?;
        if leaves_archive(&name) {
            return Err(InspectError::Traversal(name.chars().take(200).collect()));
        }
        total = total.saturating_add(entry.size());
        if total > limits.max_uncompressed_bytes {
            return Err(InspectError::Bomb {
                limit: limits.max_uncompressed_bytes,
            });
        }
        match &*name {
            MANIFEST => {
                if entry.size() > limits.max_manifest_bytes {
                    return Err(InspectError::ManifestTooLarge {
                        limit: limits.max_manifest_bytes,
                    });
                }
                manifest = Some(i);
            }
            RESOURCES => resources = Some(i),
            _ => {
                // Native code: lib/<abi>/<library>.so
                let mut parts = name.split('/');
                if let (Some("lib"), Some(abi), Some(file), None) =
                    (parts.next(), parts.next(), parts.next(), parts.next())
                    && !abi.is_empty()
                    && file.ends_with(".so")
                {
                    abis.insert(abi.to_string());
                }
            }
        }
    }
    Ok(Directory {
        manifest: manifest.ok_or(InspectError::NoManifest)?,
        resources,
        abis,
    })
}

/// Decompresses entry `index`, reading at most `limit` bytes; `None` when it holds more.
/// The declared size is not trusted: the reader stops at the limit whatever the entry claims.
fn read_entry(archive: &mut Archive, index: usize, limit: u64) -> Result<Option<Vec<u8>>, String> {
    let mut entry = archive.by_index(index).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    entry
        .by_ref()
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| e.to_string())?;
    if out.len() as u64 > limit {
        return Ok(None);
    }
    Ok(Some(out))
}

/// A stored zip holding only the manifest and the resource table, for the parser.
fn parser_copy(
    manifest: &[u8],
    resources: Option<&[u8]>,
) -> Result<tempfile::NamedTempFile, InspectError> {
    let mut copy = tempfile::Builder::new()
        .prefix("steward-apk-")
        .suffix(".apk")
        .tempfile()?;
    {
        let mut writer = zip::ZipWriter::new(copy.as_file_mut());
        let stored =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        let io = |e: zip::result::ZipError| InspectError::Io(std::io::Error::other(e));
        writer.start_file(MANIFEST, stored).map_err(io)?;
        writer.write_all(manifest)?;
        if let Some(resources) = resources {
            writer.start_file(RESOURCES, stored).map_err(io)?;
            writer.write_all(resources)?;
        }
        writer.finish().map_err(io)?;
    }
    copy.as_file_mut().flush()?;
    Ok(copy)
}

/// A value that is there and is not an unresolved resource reference.
fn resolved(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty() && !v.starts_with('@'))
}

fn parse_int(value: &str) -> Option<i64> {
    let value = value.trim();
    match value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))
    {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => value.parse().ok(),
    }
}

/// A plausible Java package name: dot-separated identifiers.
fn valid_package_name(name: &str) -> bool {
    name.len() <= 255
        && name.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// What apk-info reads from the manifest (and resource table).
struct Parsed {
    package_name: Option<String>,
    version_code: Option<String>,
    version_name: Option<String>,
    min_sdk: Option<String>,
    target_sdk: Option<String>,
    permissions: Vec<String>,
    label: Option<String>,
    icon: Option<String>,
}

fn parse(path: &Path) -> Result<Parsed, InspectError> {
    let apk = apk_info::Apk::new(path).map_err(|e| InspectError::BadApk(e.to_string()))?;
    Ok(Parsed {
        package_name: apk.get_package_name(),
        version_code: apk.get_version_code(),
        version_name: apk.get_version_name(),
        min_sdk: apk.get_attribute_value("uses-sdk", "minSdkVersion"),
        target_sdk: apk.get_attribute_value("uses-sdk", "targetSdkVersion"),
        permissions: apk.get_permissions().map(str::to_string).collect(),
        label: apk.get_application_label(),
        icon: apk.get_application_icon(),
    })
}

/// The launcher icon's bytes, when it is a PNG within the limit.
fn read_icon(archive: &mut Archive, name: &str, max_icon: usize) -> Option<Vec<u8>> {
    let index = archive.index_for_name(name)?;
    let declared = archive.by_index_data(index).ok()?.size();
    let limit = u64::try_from(max_icon).unwrap_or(u64::MAX);
    if declared > limit {
        return None;
    }
    let bytes = read_entry(archive, index, limit).ok()??;
    bytes.starts_with(b"\x89PNG\r\n\x1a\n").then_some(bytes)
}

pub(crate) fn inspect(path: &Path, limits: &Limits) -> Result<PackageMeta, InspectError> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    refuse_zip64(&mut file, len)?;
    file.seek(SeekFrom::Start(0))?;
    let mut archive = ZipArchive::new(BufReader::new(file)).map_err(bad_zip)?;
    let directory = check_directory(&archive, limits)?;

    let manifest = read_entry(&mut archive, directory.manifest, limits.max_manifest_bytes)
        .map_err(|e| InspectError::BadZip(format!("{MANIFEST}: {e}")))?
        .ok_or(InspectError::ManifestTooLarge {
            limit: limits.max_manifest_bytes,
        })?;
    let resources = match directory.resources {
        Some(index) => {
            let limit = MAX_RESOURCES_BYTES.min(limits.max_uncompressed_bytes);
            read_entry(&mut archive, index, limit)
                .map_err(|e| InspectError::BadZip(format!("{RESOURCES}: {e}")))?
        }
        None => None,
    };
    let copy = parser_copy(&manifest, resources.as_deref())?;
    drop((manifest, resources));

    let parsed = parse(copy.path())?;
    let package_name = parsed
        .package_name
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .ok_or(InspectError::NoPackageName)?;
    if !valid_package_name(&package_name) {
        return Err(InspectError::BadPackageName(
            package_name.chars().take(100).collect(),
        ));
    }
    let version_code = match parsed.version_code {
        Some(code) => Some(
            parse_int(&code)
                .ok_or_else(|| InspectError::BadVersionCode(code.chars().take(50).collect()))?,
        ),
        None => None,
    };
    let min_sdk = parsed.min_sdk.and_then(|v| v.trim().parse::<u32>().ok());
    // Android's rule: an absent targetSdkVersion means the minSdkVersion.
    let target_sdk = parsed
        .target_sdk
        .and_then(|v| v.trim().parse::<u32>().ok())
        .or(min_sdk);
    let mut permissions: Vec<String> = parsed
        .permissions
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    permissions.sort();
    permissions.dedup();
    let icon_png = parsed
        .icon
        .and_then(|icon| read_icon(&mut archive, icon.trim(), limits.max_icon_bytes));
    Ok(PackageMeta {
        kind: PackageKind::Apk,
        package_name,
        version_code,
        version_name: resolved(parsed.version_name),
        min_sdk,
        target_sdk,
        permissions,
        label: resolved(parsed.label),
        icon_png,
        architecture: (!directory.abis.is_empty())
            .then(|| directory.abis.into_iter().collect::<Vec<_>>().join(",")),
        maintainer: None,
        sha256: String::new(),
        size: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::{leaves_archive, parse_int, valid_package_name};

    #[test]
    fn traversal_names_are_recognised() {
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "\\x",
            "a\\..\\x",
            "C:/x",
        ] {
            assert!(leaves_archive(bad), "{bad}");
        }
        for good in ["AndroidManifest.xml", "res/a..b.png", "lib/arm64-v8a/x.so"] {
            assert!(!leaves_archive(good), "{good}");
        }
    }

    #[test]
    fn version_codes_and_package_names() {
        assert_eq!(parse_int(" 42 "), Some(42));
        assert_eq!(parse_int("0x10"), Some(16));
        assert_eq!(parse_int("1.0"), None);
        assert!(valid_package_name("com.example.kiosk"));
        assert!(valid_package_name("kiosk"));
        assert!(!valid_package_name("com..x"));
        assert!(!valid_package_name("com.1x"));
        assert!(!valid_package_name("com.ex ample"));
    }
}
