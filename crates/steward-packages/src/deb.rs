//! Debian packages: an `ar` archive whose `control.tar[.gz|.xz|.zst]` member holds `./control`.
//! The `ar` layer is read here (60-byte headers, nothing allocated from a declared size); only
//! the control member is decompressed, and only up to the manifest limit.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::{InspectError, Limits, PackageKind, PackageMeta, human};

/// dpkg writes three members (debian-binary, control, data); a few more are tolerated.
const MAX_MEMBERS: usize = 16;

fn bad(why: impl Into<String>) -> InspectError {
    InspectError::BadDeb(why.into())
}

/// Reads at most `limit` bytes of `reader`; more is an error.
fn read_bounded(reader: impl Read, limit: u64) -> Result<Vec<u8>, InspectError> {
    let mut out = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| bad(e.to_string()))?;
    if out.len() as u64 > limit {
        return Err(bad(format!(
            "its control archive expands beyond {}",
            human(limit)
        )));
    }
    Ok(out)
}

/// Fills `buf` as far as the reader goes; the count read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> Result<usize, InspectError> {
    let mut filled = 0;
    while filled < buf.len() {
        let rest = buf.get_mut(filled..).unwrap_or_default();
        match reader.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(InspectError::Io(e)),
        }
    }
    Ok(filled)
}

/// The next member's name and size, with the reader at its data; `None` at the end.
fn next_member(reader: &mut impl Read) -> Result<Option<(String, u64)>, InspectError> {
    let mut header = [0u8; 60];
    match read_full(reader, &mut header)? {
        0 => return Ok(None),
        60 => {}
        _ => return Err(bad("it ends in the middle of a member header")),
    }
    if header[58..60] != *b"`\n" {
        return Err(bad("a member header is damaged"));
    }
    let name = String::from_utf8_lossy(&header[..16])
        .trim_end()
        .trim_end_matches('/')
        .to_string();
    let size = std::str::from_utf8(&header[48..58])
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .ok_or_else(|| bad(format!("member {name:?} has no valid size")))?;
    Ok(Some((name, size)))
}

/// The uncompressed control tarball.
fn control_tar(path: &Path, limits: &Limits) -> Result<Vec<u8>, InspectError> {
    let mut reader = BufReader::new(File::open(path)?);
    let mut magic = [0u8; 8];
    if read_full(&mut reader, &mut magic)? != 8 || magic != *b"!<arch>\n" {
        return Err(bad("it is not an ar archive"));
    }
    let limit = limits.max_manifest_bytes;
    for _ in 0..MAX_MEMBERS {
        let Some((name, size)) = next_member(&mut reader)? else {
            return Err(InspectError::NoControl);
        };
        let data = (&mut reader).take(size);
        let tarball = match name.as_str() {
            "control.tar" => read_bounded(data, limit)?,
            "control.tar.gz" => read_bounded(flate2::read::GzDecoder::new(data), limit)?,
            // The decoder refuses dictionaries that need more than 64 MiB.
            "control.tar.xz" => read_bounded(
                lzma_rust2::XzReader::new_mem_limit(data, false, 64 * 1024),
                limit,
            )?,
            "control.tar.zst" => {
                let decoder = ruzstd::decoding::StreamingDecoder::new(data)
                    .map_err(|e| bad(format!("control.tar.zst: {e}")))?;
                read_bounded(decoder, limit)?
            }
            other if other.starts_with("control.tar") => {
                return Err(bad(format!(
                    "its control member {other:?} is compressed in a way dpkg does not use"
                )));
            }
            _ => {
                // Skip the data and its padding to an even offset.
                let skip = size.saturating_add(size & 1);
                let skipped = std::io::copy(&mut (&mut reader).take(skip), &mut std::io::sink())?;
                if skipped < size {
                    return Err(bad(format!("it ends inside member {name:?}")));
                }
                continue;
            }
        };
        return Ok(tarball);
    }
    Err(bad("it has too many members"))
}

/// The `control` file inside the control tarball.
fn control_file(tarball: &[u8], limits: &Limits) -> Result<String, InspectError> {
    let mut archive = tar::Archive::new(tarball);
    let entries = archive.entries().map_err(|e| bad(e.to_string()))?;
    for entry in entries {
        let entry = entry.map_err(|e| bad(e.to_string()))?;
        let name = entry
            .path()
            .map_err(|e| bad(e.to_string()))?
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

/// Debian policy 5.6.1: lowercase letters, digits, `+ - .`, at least two characters,
/// starting with a letter or digit.
fn valid_package_name(name: &str) -> bool {
    name.len() >= 2
        && name.len() <= 255
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c))
}

pub(crate) fn inspect(path: &Path, limits: &Limits) -> Result<PackageMeta, InspectError> {
    let tarball = control_tar(path, limits)?;
    let control = control_file(&tarball, limits)?;
    let package_name = field(&control, "Package").ok_or(InspectError::MissingField("Package"))?;
    if !valid_package_name(&package_name) {
        return Err(InspectError::BadPackageName(
            package_name.chars().take(100).collect(),
        ));
    }
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
    use super::{field, valid_package_name};

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

    #[test]
    fn package_names_follow_debian_policy() {
        assert!(valid_package_name("kiosk-shell"));
        assert!(valid_package_name("libc6"));
        assert!(valid_package_name("g++"));
        assert!(!valid_package_name("Kiosk"));
        assert!(!valid_package_name("k"));
        assert!(!valid_package_name("-x"));
        assert!(!valid_package_name("../x"));
    }
}
