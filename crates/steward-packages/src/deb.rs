//! Debian packages: an `ar` archive whose `control.tar[.gz|.xz|.zst]` holds `./control`.
//! Only that member is decompressed, and only up to the manifest limit.

use std::io::Read;
use std::path::Path;

use crate::{InspectError, Limits, PackageKind, PackageMeta};

/// Reads at most `limit` bytes of `reader`; more is an error.
fn read_bounded(mut reader: impl Read, limit: u64) -> Result<Vec<u8>, InspectError> {
    let mut out = Vec::new();
    reader
        .by_ref()
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| InspectError::BadDeb(e.to_string()))?;
    if out.len() as u64 > limit {
        return Err(InspectError::BadDeb(format!(
            "its control archive expands beyond {limit} bytes"
        )));
    }
    Ok(out)
}

/// The uncompressed control tarball.
fn control_tar(path: &Path, limits: &Limits) -> Result<Vec<u8>, InspectError> {
    let file = std::fs::File::open(path)?;
    let mut archive = ar::Archive::new(file);
    let mut members = 0usize;
    while let Some(entry) = archive.next_entry() {
        let entry = entry.map_err(|e| InspectError::BadDeb(e.to_string()))?;
        members += 1;
        if members > 16 {
            return Err(InspectError::BadDeb("it has too many members".into()));
        }
        let name = String::from_utf8_lossy(entry.header().identifier()).into_owned();
        let limit = limits.max_manifest_bytes;
        let bytes = match name.trim_end_matches('/') {
            "control.tar" => read_bounded(entry, limit)?,
            "control.tar.gz" => read_bounded(flate2::read::GzDecoder::new(entry), limit)?,
            "control.tar.xz" => read_bounded(
                lzma_rust2::XzReader::new_mem_limit(entry, false, 64 * 1024),
                limit,
            )?,
            "control.tar.zst" => {
                let decoder = ruzstd::decoding::StreamingDecoder::new(entry)
                    .map_err(|e| InspectError::BadDeb(e.to_string()))?;
                read_bounded(decoder, limit)?
            }
            _ => continue,
        };
        return Ok(bytes);
    }
    Err(InspectError::NoControl)
}

/// The `control` file inside the control tarball.
fn control_file(tarball: &[u8], limits: &Limits) -> Result<String, InspectError> {
    let mut archive = tar::Archive::new(tarball);
    let entries = archive
        .entries()
        .map_err(|e| InspectError::BadDeb(e.to_string()))?;
    for entry in entries {
        let entry = entry.map_err(|e| InspectError::BadDeb(e.to_string()))?;
        let name = entry
            .path()
            .map_err(|e| InspectError::BadDeb(e.to_string()))?
            .to_string_lossy()
            .into_owned();
        if name.trim_start_matches("./") == "control" {
            let bytes = read_bounded(entry, limits.max_manifest_bytes)?;
            return Ok(String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    Err(InspectError::NoControl)
}

/// A field of a control file (the first line of its value).
fn field(control: &str, name: &str) -> Option<String> {
    control.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (!line.starts_with([' ', '\t']) && key.eq_ignore_ascii_case(name))
            .then(|| value.trim().to_string())
            .filter(|v| !v.is_empty())
    })
}

pub(crate) fn inspect(path: &Path, limits: &Limits) -> Result<PackageMeta, InspectError> {
    let tarball = control_tar(path, limits)?;
    let control = control_file(&tarball, limits)?;
    let package_name = field(&control, "Package").ok_or(InspectError::MissingField("Package"))?;
    let version = field(&control, "Version").ok_or(InspectError::MissingField("Version"))?;
    Ok(PackageMeta {
        kind: PackageKind::Deb,
        package_name,
        version_code: None,
        version_name: Some(version),
        min_sdk: None,
        target_sdk: None,
        permissions: Vec::new(),
        label: field(&control, "Description"),
        icon_png: None,
        architecture: field(&control, "Architecture"),
        maintainer: field(&control, "Maintainer"),
        sha256: String::new(),
        size: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn control_fields_are_read_by_name() {
        let control = "Package: kiosk-shell\nVersion: 1.2-3\nDescription: Kiosk shell\n Long text\nArchitecture: arm64\n";
        assert_eq!(field(control, "package").as_deref(), Some("kiosk-shell"));
        assert_eq!(
            field(control, "Description").as_deref(),
            Some("Kiosk shell")
        );
        assert_eq!(field(control, "Maintainer"), None);
    }
}
