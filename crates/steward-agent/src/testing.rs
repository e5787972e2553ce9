//! Test support (behind the `testing` feature, and in this crate's own tests): small Debian
//! packages built with the real dpkg-deb, and dpkg sandbox roots to install them into.

// A failure here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

/// Whether dpkg and dpkg-deb are installed; says so loudly when not, so that a skipped
/// package test is seen. Under CI (`CI` set) their absence is a failure, since CI must run
/// every test.
pub fn have_dpkg() -> bool {
    let missing: Vec<&str> = ["dpkg", "dpkg-deb"]
        .into_iter()
        .filter(|tool| {
            !std::process::Command::new(tool)
                .arg("--version")
                .output()
                .is_ok_and(|out| out.status.success())
        })
        .collect();
    dpkg_found(&missing, std::env::var_os("CI").is_some())
}

/// Whether nothing is `missing`; under CI, a panic when something is.
fn dpkg_found(missing: &[&str], ci: bool) -> bool {
    if missing.is_empty() {
        return true;
    }
    let what = missing.join(" and ");
    if ci {
        panic!("cannot run a package install test: {what} not installed; CI must run it");
    }
    eprintln!("\n!!!!!!!! SKIPPING a package install test: {what} not installed !!!!!!!!\n");
    false
}

/// A package built with dpkg-deb in `dir`: one file, `/opt/{name}/version`, holding the
/// version.
pub fn build_deb(
    dir: &Path,
    name: &str,
    version: &str,
    architecture: &str,
    depends: Option<&str>,
) -> Vec<u8> {
    let tree = dir.join(format!("build-{name}-{version}"));
    std::fs::create_dir_all(tree.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(tree.join(format!("opt/{name}"))).unwrap();
    std::fs::write(tree.join(format!("opt/{name}/version")), version).unwrap();
    let depends = depends
        .map(|d| format!("Depends: {d}\n"))
        .unwrap_or_default();
    std::fs::write(
        tree.join("DEBIAN/control"),
        format!(
            "Package: {name}\nVersion: {version}\nArchitecture: {architecture}\nMaintainer: Ops <ops@example.com>\n{depends}Description: Steward test package {name}\n"
        ),
    )
    .unwrap();
    let out = dir.join(format!("{name}_{version}_{architecture}.deb"));
    let built = std::process::Command::new("dpkg-deb")
        .args(["--root-owner-group", "--build"])
        .arg(&tree)
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    std::fs::read(out).unwrap()
}

/// An empty dpkg database under `root` (`var/lib/dpkg/{status,info,updates}`, `var/log`), for
/// the agent to install packages into instead of the machine.
pub fn dpkg_sandbox(root: &Path) {
    for d in ["var/lib/dpkg/info", "var/lib/dpkg/updates", "var/log"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
}

#[cfg(test)]
mod tests {
    use super::dpkg_found;

    #[test]
    fn missing_dpkg_skips_loudly_but_fails_under_ci() {
        assert!(dpkg_found(&[], true));
        assert!(dpkg_found(&[], false));
        assert!(!dpkg_found(&["dpkg"], false));
        let failed = std::panic::catch_unwind(|| dpkg_found(&["dpkg", "dpkg-deb"], true));
        let message = failed.expect_err("a failure under CI");
        let text = message
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(text.contains("dpkg and dpkg-deb not installed"), "{text}");
    }
}
