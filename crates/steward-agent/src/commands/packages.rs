//! Packages and content files on a Linux device: Debian packages through dpkg under the
//! agent's package root (`/`, or a sandbox), and content files put in place atomically under a
//! name that cannot leave their folder.

use std::ffi::OsString;
use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use steward_proto::agent::InstalledApp;
use tokio::process::Command;
use tokio::time::Instant;

use super::Outcome;
use super::process::{self, Exit};
use crate::platform::linux::{PACKAGE_DB, dpkg_installed, read_bounded};

/// What the server says about the package of an INSTALL or UNINSTALL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageArgs {
    pub package_name: Option<String>,
    pub application_name: Option<String>,
    pub version_name: Option<String>,
    pub version_code: Option<String>,
    /// `apk` (Android) or `deb`; absent for an UNINSTALL that names only a package.
    pub kind: Option<String>,
}

/// A text argument (a number is taken as its digits), trimmed, absent when empty.
fn text(args: &Map<String, Value>, key: &str) -> Option<String> {
    let value = match args.get(key)? {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!value.is_empty()).then_some(value)
}

impl PackageArgs {
    pub fn from_args(args: &Map<String, Value>) -> Self {
        Self {
            package_name: text(args, "package_name"),
            application_name: text(args, "application_name"),
            version_name: text(args, "version_name"),
            version_code: text(args, "version_code"),
            kind: text(args, "package_kind").map(|k| k.to_ascii_lowercase()),
        }
    }

    pub fn is_deb(&self) -> bool {
        self.kind.as_deref() == Some("deb")
    }

    pub fn is_apk(&self) -> bool {
        self.kind.as_deref() == Some("apk")
    }

    /// "kiosk-agent 1.4.2-1", for reasons.
    pub fn describe(&self) -> String {
        let name = self.package_name.as_deref().unwrap_or("the package");
        match &self.version_name {
            Some(v) => format!("{name} {v}"),
            None => name.to_string(),
        }
    }

    /// What a hook is told about the package, besides the arguments on stdin.
    pub fn hook_env(&self) -> Vec<(&'static str, String)> {
        [
            ("STEWARD_PACKAGE_NAME", &self.package_name),
            ("STEWARD_PACKAGE_VERSION", &self.version_name),
            ("STEWARD_PACKAGE_VERSION_CODE", &self.version_code),
            ("STEWARD_PACKAGE_KIND", &self.kind),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
        .collect()
    }

    /// The app-list entry of a package installed from these arguments.
    pub fn installed_app(&self) -> Option<InstalledApp> {
        let package_name = self.package_name.clone()?;
        Some(InstalledApp {
            app_name: self
                .application_name
                .clone()
                .unwrap_or_else(|| package_name.clone()),
            package_name,
            version_name: self.version_name.clone(),
            version_code: self.version_code.clone(),
        })
    }
}

/// A package name as Debian allows it: lowercase letters, digits, `+`, `-` and `.`, at least
/// two characters, starting with a letter or digit (so it can never be read as an option).
pub fn is_debian_package_name(name: &str) -> bool {
    (2..=200).contains(&name.len())
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '+' | '-' | '.'))
}

/// dpkg on a package root.
#[derive(Debug, Clone)]
pub struct Dpkg {
    root: PathBuf,
}

impl Dpkg {
    pub fn new(root: &Path) -> Self {
        Self {
            root: std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf()),
        }
    }

    fn is_system(&self) -> bool {
        self.root == Path::new("/")
    }

    /// dpkg, unattended: a changed configuration file is kept (the usual choice of unattended
    /// upgrades) rather than asked about. On a root other than `/` everything stays inside
    /// it, the log too; dpkg may then run as a user other than root, and maintainer scripts
    /// run without a chroot with `DPKG_ROOT` set, as dpkg does for such roots.
    fn command(&self) -> Command {
        let mut command = Command::new("dpkg");
        command
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["--force-confdef", "--force-confold"]);
        if !self.is_system() {
            let mut root = OsString::from("--root=");
            root.push(&self.root);
            let mut log = OsString::from("--log=");
            log.push(self.root.join("var/log/dpkg.log"));
            command
                .arg(root)
                .arg(log)
                .args(["--force-not-root", "--force-script-chrootless"]);
        }
        command
    }

    /// The packages dpkg lists as installed under the root (none without a database).
    pub async fn installed(&self) -> Vec<InstalledApp> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || dpkg_installed(&root).unwrap_or_default())
            .await
            .unwrap_or_default()
    }

    async fn is_installed(&self, package: &str) -> bool {
        self.installed()
            .await
            .iter()
            .any(|a| a.package_name == package)
    }

    async fn run(
        &self,
        action: &str,
        operand: &OsString,
        deadline: Instant,
    ) -> Result<process::Finished, String> {
        let mut command = self.command();
        command.arg(action).arg("--").arg(operand);
        match process::run(command, None, deadline).await {
            Ok(done) => Ok(done),
            Err(e) if e.kind() == ErrorKind::NotFound => Err(
                "dpkg is not installed on this device; to install packages another way, add an install hook".into(),
            ),
            Err(e) => Err(format!("cannot run dpkg: {e}")),
        }
    }

    /// Installs the package file `file` (of `package`, already verified).
    pub async fn install(&self, file: &Path, package: &PackageArgs, deadline: Instant) -> Outcome {
        let Some(name) = package.package_name.as_deref() else {
            return Outcome::failure("package_name is missing");
        };
        if !is_debian_package_name(name) {
            return Outcome::failure(format!("{name:?} is not a Debian package name"));
        }
        let budget = deadline.saturating_duration_since(Instant::now());
        let was_installed = self.is_installed(name).await;
        let done = match self
            .run("--install", &file.as_os_str().to_owned(), deadline)
            .await
        {
            Ok(done) => done,
            Err(reason) => return Outcome::failure(reason),
        };
        let mut details = done.details();
        let outcome = match done.exit {
            exit if exit.success() => {
                Outcome::success(format!("installed {} with dpkg", package.describe()))
            }
            Exit::TimedOut => Outcome::failure(process::timed_out(budget, "dpkg")),
            exit => {
                let mut reason = done
                    .stderr_tail()
                    .unwrap_or_else(|| format!("dpkg {}", exit.describe()));
                // dpkg leaves a new package that failed (say, for a missing dependency)
                // unpacked but unconfigured, which upsets apt later: take it out again.
                if !was_installed && self.is_installed_in_any_state(name).await {
                    let removed = self
                        .run("--remove", &OsString::from(name), deadline)
                        .await
                        .is_ok_and(|d| d.exit.success());
                    if removed {
                        reason.push_str("\n(the half-installed package was removed again)");
                        details.insert("rolled_back".into(), "true".into());
                    }
                }
                Outcome::failure(reason)
            }
        };
        // Whatever happened, the app list says what is there now.
        outcome.with_details(details).with_refresh()
    }

    /// Whether dpkg's status file has a stanza for `package` at all (unpacked, half-installed,
    /// …), not only installed ones.
    async fn is_installed_in_any_state(&self, package: &str) -> bool {
        let status = self.root.join("var/lib/dpkg/status");
        let wanted = format!("Package: {package}");
        tokio::task::spawn_blocking(move || {
            read_bounded(&status, PACKAGE_DB)
                .is_some_and(|(text, _)| text.lines().any(|l| l.trim_end() == wanted))
        })
        .await
        .unwrap_or(false)
    }

    /// Removes `package` (its configuration files stay, as with `apt remove`).
    pub async fn remove(&self, package: &str, deadline: Instant) -> Outcome {
        if !is_debian_package_name(package) {
            return Outcome::failure(format!("{package:?} is not a Debian package name"));
        }
        if !self.is_installed(package).await {
            return Outcome::success(format!("{package} is not installed on this device"))
                .with_refresh();
        }
        let budget = deadline.saturating_duration_since(Instant::now());
        let done = match self
            .run("--remove", &OsString::from(package), deadline)
            .await
        {
            Ok(done) => done,
            Err(reason) => return Outcome::failure(reason),
        };
        let outcome = match done.exit {
            exit if exit.success() => Outcome::success(format!("removed {package} with dpkg")),
            Exit::TimedOut => Outcome::failure(process::timed_out(budget, "dpkg")),
            exit => Outcome::failure(
                done.stderr_tail()
                    .unwrap_or_else(|| format!("dpkg {}", exit.describe())),
            ),
        };
        outcome.with_details(done.details()).with_refresh()
    }
}

/// A name for a content file: its last path segment with only ASCII letters, digits, `.`, `-`
/// and `_` kept (others become `_`), no leading dot, at most 200 characters; `None` when
/// nothing is left.
pub fn safe_file_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let safe: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(200)
        .collect();
    let safe = safe.trim_start_matches('.');
    (!safe.is_empty()).then(|| safe.to_string())
}

/// Moves a verified download (a temporary file in `dir`) to `dir/name`, replacing a file of
/// that name in one step; readable by everyone, as content for the device's apps.
pub fn place_content(temp: tempfile::TempPath, dir: &Path, name: &str) -> Result<PathBuf, String> {
    let target = dir.join(name);
    std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o644))
        .map_err(|e| format!("cannot set the mode of the download: {e}"))?;
    temp.persist(&target)
        .map_err(|e| format!("cannot move the file to {}: {}", target.display(), e.error))?;
    // The rename is durable once the folder is synced.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn package_names_and_file_names_are_made_safe() {
        for good in ["kiosk-agent", "libc6", "g++", "python3.11", "0ad"] {
            assert!(is_debian_package_name(good), "{good}");
        }
        for bad in ["-r", "--root=/", "a", "Kiosk", "a b", "a/b", "../x", ""] {
            assert!(!is_debian_package_name(bad), "{bad}");
        }
        assert_eq!(
            safe_file_name("../../etc/passwd").as_deref(),
            Some("passwd")
        );
        assert_eq!(safe_file_name("..").as_deref(), None);
        assert_eq!(safe_file_name("/").as_deref(), None);
        assert_eq!(safe_file_name(".bashrc").as_deref(), Some("bashrc"));
        assert_eq!(
            safe_file_name("C:\\x\\menu board.png").as_deref(),
            Some("menu_board.png")
        );
        assert_eq!(
            safe_file_name("Prix été.pdf").as_deref(),
            Some("Prix__t_.pdf")
        );
        assert_eq!(safe_file_name(&"a".repeat(300)).unwrap().len(), 200);
    }

    #[test]
    fn package_args_read_what_the_server_sends() {
        let args = serde_json::json!({"package_name": "kiosk-agent", "application_name": "Kiosk agent",
            "version_name": "1.4.2-1", "version_code": 42, "package_kind": "DEB", "app_version": "x"});
        let p = PackageArgs::from_args(args.as_object().unwrap());
        assert!(p.is_deb() && !p.is_apk());
        assert_eq!(p.describe(), "kiosk-agent 1.4.2-1");
        assert_eq!(p.version_code.as_deref(), Some("42"));
        assert_eq!(
            p.hook_env(),
            vec![
                ("STEWARD_PACKAGE_NAME", "kiosk-agent".to_string()),
                ("STEWARD_PACKAGE_VERSION", "1.4.2-1".to_string()),
                ("STEWARD_PACKAGE_VERSION_CODE", "42".to_string()),
                ("STEWARD_PACKAGE_KIND", "deb".to_string()),
            ]
        );
        assert_eq!(p.installed_app().unwrap().app_name, "Kiosk agent");
        let bare = PackageArgs::from_args(&Map::new());
        assert_eq!(bare.describe(), "the package");
        assert!(bare.installed_app().is_none());
    }

    #[test]
    fn content_replaces_a_file_of_the_same_name_in_one_step() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("menu.png"), b"old").unwrap();
        let temp = tempfile::NamedTempFile::new_in(dir.path()).unwrap();
        std::fs::write(temp.path(), b"new").unwrap();
        let placed = place_content(temp.into_temp_path(), dir.path(), "menu.png").unwrap();
        assert_eq!(placed, dir.path().join("menu.png"));
        assert_eq!(std::fs::read(&placed).unwrap(), b"new");
        let mode = std::fs::metadata(&placed).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
