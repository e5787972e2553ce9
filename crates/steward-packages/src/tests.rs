//! Real packages (APKs shipped under tests/fixtures/packages, .deb files built here with
//! dpkg-deb) and hostile files: every refusal is an error that says why, never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};

use super::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/packages")
        .join(name)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A zip of `entries` (name, bytes), stored.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut w = ZipWriterLite::new(&mut out);
        for (name, bytes) in entries {
            w.add(name, bytes);
        }
        w.finish();
    }
    out.into_inner()
}

/// A minimal stored-zip writer for hostile test inputs, whose declared sizes can lie.
struct ZipWriterLite<'a> {
    out: &'a mut std::io::Cursor<Vec<u8>>,
    central: Vec<u8>,
    count: u16,
    declared: Option<u32>,
}

impl<'a> ZipWriterLite<'a> {
    fn new(out: &'a mut std::io::Cursor<Vec<u8>>) -> Self {
        Self {
            out,
            central: Vec::new(),
            count: 0,
            declared: None,
        }
    }

    fn add(&mut self, name: &str, bytes: &[u8]) {
        let offset = self.out.get_ref().len() as u32;
        let crc = crc32(bytes);
        let size = bytes.len() as u32;
        let declared = self.declared.unwrap_or(size);
        let mut local = Vec::new();
        local.extend(0x04034b50u32.to_le_bytes());
        local.extend([20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        local.extend(crc.to_le_bytes());
        local.extend(size.to_le_bytes());
        local.extend(declared.to_le_bytes());
        local.extend((name.len() as u16).to_le_bytes());
        local.extend([0, 0]);
        local.extend(name.as_bytes());
        self.out.write_all(&local).unwrap();
        self.out.write_all(bytes).unwrap();
        self.central.extend(0x02014b50u32.to_le_bytes());
        self.central.extend([20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        self.central.extend(crc.to_le_bytes());
        self.central.extend(size.to_le_bytes());
        self.central.extend(declared.to_le_bytes());
        self.central.extend((name.len() as u16).to_le_bytes());
        self.central.extend([0u8; 12]);
        self.central.extend(offset.to_le_bytes());
        self.central.extend(name.as_bytes());
        self.count += 1;
    }

    fn finish(self) {
        let start = self.out.get_ref().len() as u32;
        let len = self.central.len() as u32;
        self.out.write_all(&self.central).unwrap();
        let mut end = Vec::new();
        end.extend(0x06054b50u32.to_le_bytes());
        end.extend([0, 0, 0, 0]);
        end.extend(self.count.to_le_bytes());
        end.extend(self.count.to_le_bytes());
        end.extend(len.to_le_bytes());
        end.extend(start.to_le_bytes());
        end.extend([0, 0]);
        self.out.write_all(&end).unwrap();
    }
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn refused(path: &Path) -> String {
    match inspect(path, &Limits::default()) {
        Ok(meta) => panic!("accepted {}: {meta:?}", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn shipped_apks_are_read_with_their_own_manifests() {
    let kiosk = inspect(&fixture("kiosk-1.0.apk"), &Limits::default()).unwrap();
    assert_eq!(kiosk.kind, PackageKind::Apk);
    assert_eq!(kiosk.package_name, "com.example.kiosk");
    assert_eq!(kiosk.version_code, Some(1));
    assert_eq!(kiosk.version_name.as_deref(), Some("1.0"));
    assert_eq!(kiosk.min_sdk, Some(21));
    assert_eq!(kiosk.target_sdk, Some(30));
    assert_eq!(kiosk.label.as_deref(), Some("Kiosk"));
    assert_eq!(
        kiosk.permissions,
        vec!["android.permission.INTERNET".to_string()]
    );
    assert_eq!(kiosk.sha256.len(), 64);

    let newer = inspect(&fixture("kiosk-1.1.apk"), &Limits::default()).unwrap();
    assert_eq!(newer.package_name, "com.example.kiosk");
    assert_eq!(newer.version_code, Some(2));
    assert_eq!(newer.version_name.as_deref(), Some("1.1"));
    assert_eq!(newer.permissions.len(), 3, "{:?}", newer.permissions);

    let pos = inspect(&fixture("pos-3.2.1.apk"), &Limits::default()).unwrap();
    assert_eq!(pos.package_name, "com.example.pos");
    assert_eq!(pos.version_code, Some(321));
    assert_eq!(pos.version_name.as_deref(), Some("3.2.1"));
    assert_eq!(pos.min_sdk, Some(26));
    assert_eq!(pos.label.as_deref(), Some("Point of Sale"));
    assert_eq!(pos.permissions.len(), 2);
}

#[test]
fn debs_built_by_dpkg_are_read() {
    let Ok(out) = std::process::Command::new("dpkg-deb")
        .arg("--version")
        .output()
    else {
        eprintln!("!!!!!!!! dpkg-deb is not installed: skipping the .deb test !!!!!!!!");
        return;
    };
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    for compression in ["xz", "gzip", "zstd", "none"] {
        let root = dir.path().join(format!("pkg-{compression}"));
        std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
        std::fs::create_dir_all(root.join("opt/kiosk")).unwrap();
        std::fs::write(root.join("opt/kiosk/run"), "#!/bin/sh\n").unwrap();
        std::fs::write(
            root.join("DEBIAN/control"),
            "Package: kiosk-shell\nVersion: 2.4-1\nArchitecture: arm64\nMaintainer: Ops <ops@example.com>\nDescription: Kiosk shell\n Runs the kiosk.\n",
        )
        .unwrap();
        let deb = dir.path().join(format!("kiosk-{compression}.deb"));
        let status = std::process::Command::new("dpkg-deb")
            .args(["--root-owner-group", "-Z", compression, "--build"])
            .arg(&root)
            .arg(&deb)
            .output()
            .unwrap();
        if !status.status.success() {
            eprintln!(
                "dpkg-deb cannot build with {compression}: {}",
                String::from_utf8_lossy(&status.stderr)
            );
            continue;
        }
        let meta = inspect(&deb, &Limits::default()).unwrap();
        assert_eq!(meta.kind, PackageKind::Deb, "{compression}");
        assert_eq!(meta.package_name, "kiosk-shell");
        assert_eq!(meta.version_name.as_deref(), Some("2.4-1"));
        assert_eq!(meta.architecture.as_deref(), Some("arm64"));
        assert_eq!(meta.label.as_deref(), Some("Kiosk shell"));
        assert_eq!(meta.maintainer.as_deref(), Some("Ops <ops@example.com>"));
    }
}

#[test]
fn hostile_files_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(refused(&write(d, "empty.apk", b"")).contains("empty"));
    assert!(refused(&write(d, "text.apk", b"hello, world")).contains("not an APK or a .deb"));
    let png = b"\x89PNG\r\n\x1a\n0000000000000000";
    assert!(refused(&write(d, "image.apk", png)).contains("not an APK"));

    let real = std::fs::read(fixture("kiosk-1.0.apk")).unwrap();
    let truncated = real.get(..real.len() / 2).unwrap();
    assert!(refused(&write(d, "truncated.apk", truncated)).contains("zip"));

    // Corrupted bytes inside the manifest (the archive itself stays readable).
    let manifest = b"\x03\x00\x08\x00garbage-that-is-not-binary-xml".repeat(4);
    let corrupted = zip_of(&[("AndroidManifest.xml", &manifest)]);
    let reason = refused(&write(d, "corrupted.apk", &corrupted));
    assert!(
        reason.contains("could not be parsed") || reason.contains("package name"),
        "{reason}"
    );

    assert!(
        refused(&write(
            d,
            "nomanifest.apk",
            &zip_of(&[("classes.dex", b"dex")])
        ))
        .contains("no AndroidManifest.xml")
    );
    let traversal = zip_of(&[("AndroidManifest.xml", b"x"), ("../../etc/passwd", b"x")]);
    assert!(refused(&write(d, "traversal.apk", &traversal)).contains("path traversal"));

    // A bomb: entries declaring far more than they hold.
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut w = ZipWriterLite::new(&mut out);
        w.declared = Some(u32::MAX);
        for i in 0..3 {
            w.add(&format!("res/raw/blob{i}"), b"tiny");
        }
        w.declared = None;
        w.add("AndroidManifest.xml", b"x");
        w.finish();
    }
    let bomb = write(d, "bomb.apk", out.get_ref());
    let limits = Limits {
        max_uncompressed_bytes: 1024 * 1024 * 1024,
        ..Limits::default()
    };
    let err = inspect(&bomb, &limits).unwrap_err().to_string();
    assert!(err.contains("zip bomb"), "{err}");

    // A huge manifest.
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut w = ZipWriterLite::new(&mut out);
        w.declared = Some(64 * 1024 * 1024);
        w.add("AndroidManifest.xml", b"x");
        w.finish();
    }
    let huge = write(d, "huge.apk", out.get_ref());
    assert!(refused(&huge).contains("manifest is larger"));

    // Too many entries.
    let names: Vec<String> = (0..50).map(|i| format!("f{i}")).collect();
    let many: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    let path = write(d, "many.apk", &zip_of(&many));
    let limits = Limits {
        max_entries: 10,
        ..Limits::default()
    };
    assert!(
        inspect(&path, &limits)
            .unwrap_err()
            .to_string()
            .contains("entries")
    );

    // Larger than allowed.
    let limits = Limits {
        max_file_bytes: 10,
        ..Limits::default()
    };
    assert!(
        inspect(&fixture("kiosk-1.0.apk"), &limits)
            .unwrap_err()
            .to_string()
            .contains("larger than")
    );

    // A .deb without a control member, and one cut short.
    let mut deb =
        b"!<arch>\ndebian-binary   0           0     0     100644  4         `\n2.0\n".to_vec();
    assert!(refused(&write(d, "nocontrol.deb", &deb)).contains("no control"));
    deb.extend(b"control.tar.gz  0           0     0     100644  999       `\n\x1f\x8b");
    let reason = refused(&write(d, "cut.deb", &deb));
    assert!(reason.contains(".deb"), "{reason}");
}
