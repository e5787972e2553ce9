//! APKs: the zip's central directory is checked first (entry count, declared sizes, names,
//! manifest size), then `apk-info` reads the manifest and resources.

use std::path::Path;

use crate::{InspectError, Limits, PackageKind, PackageMeta};

/// Checks the archive's directory without decompressing anything.
fn check_directory(path: &Path, limits: &Limits) -> Result<(), InspectError> {
    let file = std::fs::File::open(path)?;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| InspectError::BadZip(e.to_string()))?;
    let count = archive.len();
    if count > limits.max_entries {
        return Err(InspectError::TooManyEntries {
            count,
            limit: limits.max_entries,
        });
    }
    let mut total = 0u64;
    let mut manifest = false;
    for i in 0..count {
        let entry = archive
            .by_index_raw(i)
            .map_err(|e| InspectError::BadZip(e.to_string()))?;
        let name = entry
            .name()
            .map_err(|e| InspectError::BadZip(e.to_string()))?
            .into_owned();
        if name.starts_with('/')
            || name.starts_with('\\')
            || name.split(['/', '\\']).any(|part| part == "..")
        {
            return Err(InspectError::Traversal(name.chars().take(200).collect()));
        }
        total = total.saturating_add(entry.size());
        if total > limits.max_uncompressed_bytes {
            return Err(InspectError::Bomb {
                limit: limits.max_uncompressed_bytes,
            });
        }
        if name == "AndroidManifest.xml" {
            manifest = true;
            if entry.size() > limits.max_manifest_bytes {
                return Err(InspectError::ManifestTooLarge {
                    limit: limits.max_manifest_bytes,
                });
            }
        }
    }
    if !manifest {
        return Err(InspectError::NoManifest);
    }
    Ok(())
}

pub(crate) fn inspect(path: &Path, limits: &Limits) -> Result<PackageMeta, InspectError> {
    check_directory(path, limits)?;
    let owned = path.to_path_buf();
    let max_icon = limits.max_icon_bytes;
    // The parser is the last line of defence against crafted files: a panic is a refusal.
    let parsed = std::panic::catch_unwind(move || read_apk(&owned, max_icon));
    match parsed {
        Ok(result) => result,
        Err(_) => Err(InspectError::BadApk("the parser gave up on it".into())),
    }
}

fn read_apk(path: &Path, max_icon: usize) -> Result<PackageMeta, InspectError> {
    let apk = apk_info::Apk::new(path).map_err(|e| InspectError::BadApk(e.to_string()))?;
    let package_name = apk
        .get_package_name()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .ok_or(InspectError::NoPackageName)?;
    let version_code = match apk.get_version_code() {
        Some(code) => Some(
            code.trim()
                .parse::<i64>()
                .map_err(|_| InspectError::BadVersionCode(code.chars().take(50).collect()))?,
        ),
        None => None,
    };
    let mut permissions: Vec<String> = apk
        .get_permissions()
        .map(str::to_string)
        .filter(|p| !p.is_empty())
        .collect();
    permissions.sort();
    permissions.dedup();
    let icon_png = apk.get_application_icon().and_then(|icon| {
        let (bytes, _) = apk.read(&icon).ok()?;
        (bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() <= max_icon).then_some(bytes)
    });
    let abis = apk.get_supported_abis();
    Ok(PackageMeta {
        kind: PackageKind::Apk,
        package_name,
        version_code,
        version_name: apk
            .get_version_name()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty()),
        min_sdk: apk
            .get_min_sdk_version()
            .and_then(|v| v.trim().parse().ok()),
        target_sdk: Some(apk.get_target_sdk_version()),
        permissions,
        label: apk
            .get_application_label()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty() && !l.starts_with('@')),
        icon_png,
        architecture: (!abis.is_empty()).then(|| abis.join(",")),
        maintainer: None,
        sha256: String::new(),
        size: 0,
    })
}
