//! Real packages (APKs shipped under tests/fixtures/packages, .deb files built here with
//! dpkg-deb) and hostile files: every refusal is an error that says why, never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};

use super::*;
use crate::testing::{ZipBuilder, zip_bomb, zip_of};

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
    let bomb = write(d, "bomb.apk", &zip_bomb());
    let limits = Limits {
        max_uncompressed_bytes: 1024 * 1024 * 1024,
        ..Limits::default()
    };
    let err = inspect(&bomb, &limits).unwrap_err().to_string();
    assert!(err.contains("zip bomb"), "{err}");

    // A huge manifest.
    let out = {
        let mut w = ZipBuilder::new();
        w.declared = Some(64 * 1024 * 1024);
        w.add("AndroidManifest.xml", b"x");
        w.finish()
    };
    let huge = write(d, "huge.apk", &out);
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

#[test]
fn aapt_built_apks_resolve_resources_icons_and_abis() {
    let signage = inspect(&fixture("signage-2.0.apk"), &Limits::default()).unwrap();
    assert_eq!(signage.kind, PackageKind::Apk);
    assert_eq!(signage.package_name, "com.example.signage");
    assert_eq!(signage.version_code, Some(7));
    assert_eq!(signage.version_name.as_deref(), Some("2.0-beta"));
    assert_eq!((signage.min_sdk, signage.target_sdk), (Some(24), Some(34)));
    assert_eq!(
        signage.permissions,
        [
            "android.permission.INTERNET",
            "android.permission.RECEIVE_BOOT_COMPLETED",
            "android.permission.WAKE_LOCK"
        ],
        "sorted, the repeated one once"
    );
    assert_eq!(signage.label.as_deref(), Some("Digital Signage"));
    let icon = signage.icon_png.as_deref().expect("the launcher icon");
    assert!(icon.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert_eq!(icon.len(), 85);
    assert_eq!(
        signage.architecture.as_deref(),
        Some("arm64-v8a,armeabi-v7a")
    );
    assert_eq!(signage.maintainer, None);
    let bytes = std::fs::read(fixture("signage-2.0.apk")).unwrap();
    assert_eq!(signage.size, bytes.len() as u64);
    assert_eq!(signage.sha256, hex::encode(Sha256::digest(&bytes)));

    // An icon over the limit is left out; the rest is still read.
    let small = Limits {
        max_icon_bytes: 84,
        ..Limits::default()
    };
    let without = inspect(&fixture("signage-2.0.apk"), &small).unwrap();
    assert_eq!(without.icon_png, None);
    assert_eq!(without.label.as_deref(), Some("Digital Signage"));

    let scanner = inspect(&fixture("scanner-5.0.apk"), &Limits::default()).unwrap();
    assert_eq!(scanner.package_name, "com.example.scanner");
    assert_eq!(scanner.version_code, Some(1_000_042));
    assert_eq!(
        scanner.version_name.as_deref(),
        Some("5.0"),
        "resolved from a string resource"
    );
    assert_eq!(scanner.min_sdk, Some(28));
    assert_eq!(
        scanner.target_sdk,
        Some(28),
        "an absent targetSdkVersion is the minSdkVersion"
    );
    assert!(scanner.permissions.is_empty());
    assert_eq!(scanner.label.as_deref(), Some("Barcode Scanner"));
    assert_eq!(scanner.icon_png, None);
    assert_eq!(scanner.architecture, None);
}

#[test]
fn shipped_deb_is_read_without_dpkg() {
    let meta = inspect(
        &fixture("kiosk-agent_1.4.2-1_arm64.deb"),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(meta.kind, PackageKind::Deb);
    assert_eq!(meta.package_name, "kiosk-agent");
    assert_eq!(meta.version_name.as_deref(), Some("1.4.2-1"));
    assert_eq!(meta.version_code, None);
    assert_eq!(meta.architecture.as_deref(), Some("arm64"));
    assert_eq!(
        meta.maintainer.as_deref(),
        Some("Example Ops <ops@example.com>")
    );
    assert_eq!(
        meta.label.as_deref(),
        Some("Kiosk agent for Steward fixtures")
    );
    assert_eq!((meta.min_sdk, meta.target_sdk), (None, None));
    assert_eq!(meta.icon_png, None);
    assert!(meta.permissions.is_empty());
    let json = serde_json::to_value(&meta).unwrap();
    assert_eq!(json["kind"], "deb");
}

/// The binary manifest of a shipped APK.
fn real_manifest() -> Vec<u8> {
    let file = std::fs::File::open(fixture("signage-2.0.apk")).unwrap();
    let mut archive = zip::ZipArchive::new(file).unwrap();
    let mut out = Vec::new();
    std::io::Read::read_to_end(
        &mut archive.by_name("AndroidManifest.xml").unwrap(),
        &mut out,
    )
    .unwrap();
    out
}

#[test]
fn corrupted_manifests_are_refused_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = real_manifest();
    assert!(manifest.len() > 200);
    let mut cases: Vec<Vec<u8>> = vec![
        manifest.get(..manifest.len() / 2).unwrap().to_vec(),
        manifest.get(..8).unwrap().to_vec(),
    ];
    let mut header = manifest.clone();
    header.get_mut(..8).unwrap().copy_from_slice(b"garbage!");
    cases.push(header);
    let mut pool = manifest.clone();
    pool.get_mut(8..40).unwrap().fill(0xff);
    cases.push(pool);
    for (i, bytes) in cases.iter().enumerate() {
        let path = write(
            dir.path(),
            &format!("bad-{i}.apk"),
            &zip_of(&[("AndroidManifest.xml", bytes)]),
        );
        let reason = refused(&path);
        assert!(
            reason.contains("could not be parsed") || reason.contains("package name"),
            "case {i}: {reason}"
        );
    }

    // Every single-byte corruption of the manifest: an answer each time, never a panic.
    for at in (0..manifest.len()).step_by(7) {
        let mut bytes = manifest.clone();
        bytes[at] ^= 0x5a;
        let path = write(
            dir.path(),
            "flip.apk",
            &zip_of(&[("AndroidManifest.xml", &bytes)]),
        );
        let _ = inspect(&path, &Limits::default());
    }

    // Damaged compressed bytes inside a real APK: the checksum or the inflater says so.
    let mut apk = std::fs::read(fixture("signage-2.0.apk")).unwrap();
    for b in apk.get_mut(60..120).unwrap() {
        *b ^= 0xa5;
    }
    let reason = refused(&write(dir.path(), "damaged.apk", &apk));
    assert!(reason.contains("AndroidManifest.xml"), "{reason}");
}

#[test]
fn lying_archives_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // A manifest that declares 100 bytes and inflates to 64 MiB: cut off at the limit.
    let out = {
        let mut w = ZipBuilder::new();
        w.declared = Some(100);
        w.add_deflated("AndroidManifest.xml", &vec![0u8; 64 * 1024 * 1024]);
        w.finish()
    };
    assert!(out.len() < 200 * 1024);
    let reason = refused(&write(d, "inflating.apk", &out));
    assert!(
        reason.contains("AndroidManifest.xml: File is larger than its declared"),
        "{reason}"
    );
    // Declaring the truth does not help either, past the limit.
    let limits = Limits {
        max_manifest_bytes: 1024,
        ..Limits::default()
    };
    let out = {
        let mut w = ZipBuilder::new();
        w.add_deflated("AndroidManifest.xml", &[0u8; 1025]);
        w.finish()
    };
    let err = inspect(&write(d, "big-manifest.apk", &out), &limits).unwrap_err();
    assert_eq!(err.to_string(), "the APK's manifest is larger than 1 KiB");

    // A lying resource table.
    let out = {
        let mut w = ZipBuilder::new();
        w.add("AndroidManifest.xml", &real_manifest());
        w.declared = Some(100);
        w.add_deflated("resources.arsc", &vec![0u8; 8 * 1024 * 1024]);
        w.finish()
    };
    let reason = refused(&write(d, "arsc.apk", &out));
    assert!(reason.contains("resources.arsc"), "{reason}");

    // An honest but enormous resource table is left out: only references stay unresolved.
    let out = {
        let mut w = ZipBuilder::new();
        w.add("AndroidManifest.xml", &real_manifest());
        w.add_deflated("resources.arsc", &vec![0u8; 129 * 1024 * 1024]);
        w.finish()
    };
    let meta = inspect(&write(d, "big-arsc.apk", &out), &Limits::default()).unwrap();
    assert_eq!(meta.package_name, "com.example.signage");
    assert_eq!(meta.label, None, "an unresolved reference is no label");

    // Duplicate names (the "master key" trick).
    let twice = zip_of(&[("AndroidManifest.xml", b"a"), ("AndroidManifest.xml", b"b")]);
    assert!(refused(&write(d, "twice.apk", &twice)).contains("same name"));

    // Backslash and drive-letter names.
    for name in ["..\\..\\evil", "C:/evil", "/abs"] {
        let bytes = zip_of(&[("AndroidManifest.xml", b"x"), (name, b"x")]);
        assert_eq!(
            refused(&write(d, "name.apk", &bytes)),
            format!("an entry name leaves the archive (path traversal): {name}")
        );
    }

    // A zip64 locator in front of the end record.
    let mut zip64 = zip_of(&[("AndroidManifest.xml", b"x")]);
    let end = zip64.len() - 22;
    let mut locator = b"PK\x06\x07".to_vec();
    locator.extend([0u8; 16]);
    zip64.splice(end..end, locator);
    assert!(refused(&write(d, "zip64.apk", &zip64)).contains("zip64"));

    // Many entries, at the default limit's scale.
    let names: Vec<String> = (0..2000).map(|i| format!("assets/{i}")).collect();
    let mut entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    entries.push(("AndroidManifest.xml", b"x"));
    let limits = Limits {
        max_entries: 1000,
        ..Limits::default()
    };
    let err = inspect(&write(d, "many.apk", &zip_of(&entries)), &limits).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the archive has 2001 entries, more than the limit of 1000"
    );
}

/// An ar archive of (name, data) members.
fn ar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = b"!<arch>\n".to_vec();
    for (name, data) in members {
        out.extend(
            format!(
                "{name:<16}0           0     0     100644  {:<10}`\n",
                data.len()
            )
            .as_bytes(),
        );
        out.extend(*data);
        if data.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn control_tar(control: &[u8]) -> Vec<u8> {
    control_tar_named("./control", control)
}

fn control_tar_named(name: &str, control: &[u8]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(control.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder.append_data(&mut header, name, control).unwrap();
    builder.into_inner().unwrap()
}

#[test]
fn hostile_debs_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = control_tar(b"Package: kiosk\nVersion: 1\n");
    let ok = ar_of(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar.gz", &gzip(&good)),
        ("data.tar.gz", b""),
    ]);
    assert_eq!(
        inspect(&write(d, "ok.deb", &ok), &Limits::default())
            .unwrap()
            .package_name,
        "kiosk"
    );

    // A control member that inflates to 64 MiB.
    let bomb = ar_of(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar.gz", &gzip(&vec![0u8; 64 * 1024 * 1024])),
    ]);
    assert_eq!(
        refused(&write(d, "bomb.deb", &bomb)),
        "the .deb is not a readable package: its control archive expands beyond 4 MiB"
    );

    // A member declaring ten gigabytes: nothing is allocated for it.
    let mut huge = ar_of(&[("debian-binary", b"2.0\n")]);
    huge.extend(b"//              0           0     0     100644  9999999999`\nxx");
    assert!(refused(&write(d, "huge.deb", &huge)).contains("ends inside member"));
    let mut bsd = ar_of(&[("debian-binary", b"2.0\n")]);
    bsd.extend(b"#1/9999999999   0           0     0     100644  9999999999`\nxx");
    assert!(refused(&write(d, "bsd.deb", &bsd)).contains(".deb"));

    // Damaged headers and members.
    let mut bad_header = ar_of(&[("debian-binary", b"2.0\n")]);
    bad_header.extend(b"control.tar.gz  0           0     0     100644  12        XX\n");
    assert!(refused(&write(d, "hdr.deb", &bad_header)).contains("damaged"));
    let renamed = ar_of(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar", &control_tar_named("./md5sums", b"x")),
    ]);
    assert_eq!(
        refused(&write(d, "nofile.deb", &renamed)),
        "the .deb has no control file"
    );
    let unnamed = ar_of(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar", &control_tar(b"Version: 1\n")),
    ]);
    assert_eq!(
        refused(&write(d, "unnamed.deb", &unnamed)),
        "the .deb's control file has no Package field"
    );
    let odd = ar_of(&[
        ("debian-binary", b"2.0\n"),
        (
            "control.tar",
            &control_tar(b"Package: ../../x\nVersion: 1\n"),
        ),
    ]);
    assert!(refused(&write(d, "odd.deb", &odd)).contains("not a valid package name"));
    let bz = ar_of(&[("debian-binary", b"2.0\n"), ("control.tar.bz2", b"BZh")]);
    assert!(refused(&write(d, "bz.deb", &bz)).contains("compressed in a way"));
    let garbage = ar_of(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar.xz", b"not xz at all"),
    ]);
    assert!(refused(&write(d, "xz.deb", &garbage)).contains(".deb"));
    let garbage = ar_of(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar.zst", b"not zstd"),
    ]);
    assert!(refused(&write(d, "zst.deb", &garbage)).contains(".deb"));
}

#[test]
fn messages_name_sizes_for_people() {
    assert_eq!(human(4 * 1024 * 1024), "4 MiB");
    assert_eq!(human(1024 * 1024 * 1024), "1 GiB");
    assert_eq!(human(1536), "1536 bytes");
    assert_eq!(human(3 * 512 * 1024 * 1024), "1.5 GiB");
    assert_eq!(human(700), "700 bytes");
    let dir = tempfile::tempdir().unwrap();
    let png = write(dir.path(), "photo.apk", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
    assert_eq!(
        refused(&png),
        "not an APK or a .deb package (the file starts with bytes 89504e470d0a1a0a: a PNG image)"
    );
    let text = write(dir.path(), "notes.apk", b"hello, world");
    assert_eq!(
        refused(&text),
        "not an APK or a .deb package (the file starts with \"hello, w\")"
    );
    let limits = Limits {
        max_file_bytes: 512,
        ..Limits::default()
    };
    assert_eq!(
        inspect(&fixture("signage-2.0.apk"), &limits)
            .unwrap_err()
            .to_string(),
        "the file is larger than 512 bytes"
    );
    let limits = Limits {
        max_uncompressed_bytes: 2000,
        ..Limits::default()
    };
    assert_eq!(
        inspect(&fixture("signage-2.0.apk"), &limits)
            .unwrap_err()
            .to_string(),
        "the archive expands beyond 2000 bytes (a zip bomb?)"
    );
}
