//! Commands on a real Linux device.
//!
//! An operator's hook comes first: an executable in the hooks directory named after the command
//! in lower case (`reboot`, `notify_device`, …) gets the command's arguments as JSON on stdin
//! and `STEWARD_COMMAND` in its environment; exit status 0 is success. Without one, the
//! commands Linux has an equivalent for are carried out here (time zone and language the
//! Debian way, under the same file-system root the platform reads), scripts of custom actions
//! run under their interpreter, and the rest fail with a reason that says what is missing.
//!
//! INSTALL and PUSH_CONTENT first fetch their file from the server and check its size and
//! SHA-256 ([`super::download`]); then an `install` (or `push_content`) hook gets the file, or
//! a `.deb` goes to dpkg under the package root and content to the content folder
//! ([`super::packages`]). UNINSTALL goes to an `uninstall` hook or `dpkg --remove`. An APK
//! needs a hook: Linux has no Android package installer.

use std::ffi::OsString;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};
use steward_proto::agent::CommandFrame;
use tokio::process::Command;
use tokio::time::Instant;

use super::download::{FileSource, download_arg};
use super::linux_settings::{self as settings, Radio};
use super::packages::{Dpkg, PackageArgs, place_content, safe_file_name};
use super::process::{self, Exit};
use super::{BoxFuture, CATALOG, Executor, Outcome, bounded};
use crate::platform::Platform;

#[derive(Debug, Clone)]
pub struct LinuxExecutorConfig {
    /// The file-system root commands change (`/`, or a fixture tree in tests); the same root
    /// the platform reads.
    pub root: PathBuf,
    /// Where the operator's hooks are, if anywhere.
    pub hooks_dir: Option<PathBuf>,
    /// A private directory for scripts being run and screenshots (created 0700).
    pub work_dir: PathBuf,
    /// Whether a desktop session is reachable (`DISPLAY` or `WAYLAND_DISPLAY` set).
    pub graphical_session: bool,
    /// The root dpkg installs packages under, when it is not `root` (the platform must read
    /// its package list from the same one).
    pub package_root: Option<PathBuf>,
    /// Where PUSH_CONTENT puts files.
    pub content_dir: PathBuf,
}

impl LinuxExecutorConfig {
    /// Whether the agent's environment points at a desktop session.
    pub fn graphical_session_from_env() -> bool {
        ["WAYLAND_DISPLAY", "DISPLAY"]
            .iter()
            .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()))
    }
}

/// Carries out commands on the Linux system the agent runs on.
pub struct LinuxExecutor {
    config: LinuxExecutorConfig,
    platform: Arc<dyn Platform>,
    /// Where the files of INSTALL and PUSH_CONTENT come from.
    files: Option<Arc<FileSource>>,
}

enum Hook {
    Found(PathBuf),
    NotExecutable(PathBuf),
    Missing,
}

fn arg<'a>(args: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    args.get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn not_executable(path: &Path) -> Outcome {
    Outcome::failure(format!(
        "the hook {} is not an executable file (chmod +x it)",
        path.display()
    ))
}

/// `outcome` with `extra` added to its details.
fn with_more_details(mut outcome: Outcome, extra: Map<String, Value>) -> Outcome {
    outcome.details.get_or_insert_with(Map::new).extend(extra);
    outcome
}

/// Writes `contents` to `path` through a temporary file in the same directory, so readers
/// see the old file or the new one.
fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::new(ErrorKind::InvalidInput, "no directory"))?;
    std::fs::create_dir_all(dir)?;
    let mut name = OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(".steward-tmp");
    let tmp = dir.join(name);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(&tmp)?;
    file.write_all(contents)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)
}

/// A zone name that stays inside the zoneinfo directory (`Europe/Berlin`, `UTC`, `Etc/GMT+3`).
fn is_safe_zone(zone: &str) -> bool {
    zone.len() <= 128
        && !zone.starts_with('/')
        && zone
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
        && zone
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'))
}

/// A locale as glibc names it (`de_DE.UTF-8`, `sr_RS.UTF-8@latin`) from what an operator
/// sends (`de_DE`, `de-DE`, `de_DE.utf8`).
fn glibc_locale(given: &str) -> Option<String> {
    let given = given.trim().replace('-', "_");
    let (rest, modifier) = match given.split_once('@') {
        Some((r, m)) => (r, Some(m)),
        None => (given.as_str(), None),
    };
    let base = rest.split_once('.').map_or(rest, |(b, _)| b);
    let mut parts = base.split('_');
    let language = parts.next()?;
    let ok = (2..=3).contains(&language.len())
        && language.chars().all(|c| c.is_ascii_alphabetic())
        && parts
            .all(|p| !p.is_empty() && p.len() <= 8 && p.chars().all(|c| c.is_ascii_alphanumeric()))
        && modifier.is_none_or(|m| !m.is_empty() && m.chars().all(|c| c.is_ascii_alphanumeric()));
    if !ok || base.len() > 32 {
        return None;
    }
    Some(match modifier {
        Some(m) => format!("{base}.UTF-8@{m}"),
        None => format!("{base}.UTF-8"),
    })
}

impl LinuxExecutor {
    pub fn new(config: LinuxExecutorConfig, platform: Arc<dyn Platform>) -> Self {
        Self {
            config,
            platform,
            files: None,
        }
    }

    /// Fetches the files of INSTALL and PUSH_CONTENT from `files` (without it they fail).
    pub fn with_files(mut self, files: FileSource) -> Self {
        self.files = Some(Arc::new(files));
        self
    }

    fn dpkg(&self) -> Dpkg {
        Dpkg::new(
            self.config
                .package_root
                .as_deref()
                .unwrap_or(&self.config.root),
        )
    }

    fn under_root(&self, relative: &str) -> PathBuf {
        self.config.root.join(relative)
    }

    fn hook(&self, command: &str) -> Hook {
        let name = command.to_ascii_lowercase();
        // The name becomes a file name: nothing that could leave the directory.
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Hook::Missing;
        }
        let Some(dir) = &self.config.hooks_dir else {
            return Hook::Missing;
        };
        let path = dir.join(name);
        match std::fs::metadata(&path) {
            Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => Hook::Found(path),
            Ok(_) => Hook::NotExecutable(path),
            Err(_) => Hook::Missing,
        }
    }

    /// Where the operator would put the hook for `command`, for reasons.
    fn hook_hint(&self, command: &str) -> String {
        let name = command.to_ascii_lowercase();
        match &self.config.hooks_dir {
            Some(dir) => format!("install an executable hook at {}", dir.join(name).display()),
            None => format!(
                "start the agent with --hooks-dir DIR and install an executable hook at DIR/{name}"
            ),
        }
    }

    /// Runs the hook at `path` with `input` as JSON on stdin and `env` besides the command's
    /// name and id in its environment.
    async fn run_hook(
        &self,
        path: &Path,
        frame: &CommandFrame,
        deadline: Instant,
        input: &Map<String, Value>,
        env: &[(&str, String)],
    ) -> Outcome {
        let input = serde_json::to_vec(input).unwrap_or_else(|_| b"{}".to_vec());
        let mut command = Command::new(path);
        command
            .env("STEWARD_COMMAND", &frame.command)
            .env("STEWARD_COMMAND_ID", frame.id.to_string())
            .envs(env.iter().map(|(k, v)| (k, v)));
        let budget = deadline.saturating_duration_since(Instant::now());
        let done = match process::run(command, Some(input), deadline).await {
            Ok(done) => done,
            Err(e) => {
                return Outcome::failure(format!("cannot run the hook {}: {e}", path.display()));
            }
        };
        let details = done.details();
        let outcome = match done.exit {
            Exit::TimedOut => Outcome::failure(process::timed_out(budget, "the hook")),
            exit if exit.success() => {
                Outcome::success(format!("done by the hook {}", path.display()))
            }
            exit => Outcome::failure(
                done.stderr_tail()
                    .unwrap_or_else(|| format!("the hook {} {}", path.display(), exit.describe())),
            ),
        };
        outcome.with_details(details)
    }

    fn set_timezone(&self, args: &Map<String, Value>) -> Outcome {
        let Some(zone) = arg(args, "timezone_string") else {
            return Outcome::failure("timezone_string is missing");
        };
        if !is_safe_zone(zone) {
            return Outcome::failure(format!("{zone:?} is not a time zone name"));
        }
        let relative = format!("usr/share/zoneinfo/{zone}");
        let mut magic = [0u8; 4];
        let is_zone = std::fs::File::open(self.under_root(&relative))
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
            .is_ok()
            && &magic == b"TZif";
        if !is_zone {
            return Outcome::failure(format!(
                "unknown time zone {zone}: this device has no /{relative}"
            ));
        }
        let result = write_atomic(
            &self.under_root("etc/timezone"),
            format!("{zone}\n").as_bytes(),
        )
        .and_then(|()| {
            // A relative link, as timedatectl makes: it also resolves under a fixture root.
            let link = self.under_root("etc/localtime");
            let tmp = self.under_root("etc/.localtime.steward-tmp");
            let _ = std::fs::remove_file(&tmp);
            std::os::unix::fs::symlink(format!("../{relative}"), &tmp)?;
            std::fs::rename(&tmp, &link)
        });
        match result {
            Ok(()) => {
                let mut d = Map::new();
                d.insert("timezone".into(), zone.into());
                Outcome::success(format!("time zone set to {zone}"))
                    .with_details(d)
                    .with_refresh()
            }
            Err(e) => Outcome::failure(format!("cannot set the time zone: {e}")),
        }
    }

    fn set_language(&self, args: &Map<String, Value>) -> Outcome {
        let Some(given) = ["locale", "language", "device_language"]
            .iter()
            .find_map(|k| arg(args, k))
        else {
            return Outcome::failure("locale is missing");
        };
        let Some(locale) = glibc_locale(given) else {
            return Outcome::failure(format!("{given:?} is not a locale such as de_DE"));
        };
        let path = self.under_root("etc/default/locale");
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        // Keep the LC_* settings; LANGUAGE would override the new language, so it goes.
        let mut text: String = old
            .lines()
            .filter(|l| {
                let key = l.trim_start().split('=').next().unwrap_or_default().trim();
                key != "LANG" && key != "LANGUAGE"
            })
            .map(|l| format!("{l}\n"))
            .collect();
        text.insert_str(0, &format!("LANG={locale}\n"));
        match write_atomic(&path, text.as_bytes()) {
            Ok(()) => {
                let mut d = Map::new();
                d.insert("locale".into(), locale.clone().into());
                Outcome::success(format!(
                    "language set to {locale} (sessions started from now on use it)"
                ))
                .with_details(d)
                .with_refresh()
            }
            Err(e) => Outcome::failure(format!("cannot set the language: {e}")),
        }
    }

    async fn notify(&self, frame: &CommandFrame, deadline: Instant) -> Outcome {
        let hint = self.hook_hint(&frame.command);
        if !self.config.graphical_session {
            return Outcome::failure(format!(
                "this device has no notification service (no graphical session) and no hook: {hint}"
            ));
        }
        let title = arg(&frame.args, "title").unwrap_or("Steward");
        let mut body = arg(&frame.args, "message").unwrap_or_default().to_string();
        if let Some(url) = arg(&frame.args, "url") {
            body = format!("{body}\n{url}");
        }
        let mut command = Command::new("notify-send");
        command.args(["--app-name=Steward", "--", title, &body]);
        match process::run(command, None, deadline).await {
            Ok(done) if done.exit.success() => Outcome::success("notification shown"),
            Ok(done) => Outcome::failure(
                done.stderr_tail()
                    .unwrap_or_else(|| format!("notify-send {}", done.exit.describe())),
            ),
            Err(e) if e.kind() == ErrorKind::NotFound => Outcome::failure(format!(
                "notify-send is not installed and there is no hook: {hint}"
            )),
            Err(e) => Outcome::failure(format!("cannot run notify-send: {e}")),
        }
    }

    async fn screenshot(&self, frame: &CommandFrame, deadline: Instant) -> Outcome {
        let platform = self.platform.clone();
        let displays = tokio::task::spawn_blocking(move || platform.inventory().displays)
            .await
            .unwrap_or_default();
        if !displays.iter().any(|d| d.connected) {
            return Outcome::failure("this device has no display");
        }
        let dir = self.config.work_dir.join("screenshots");
        if let Err(e) = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
        {
            return Outcome::failure(format!("cannot create {}: {e}", dir.display()));
        }
        let file = dir.join(format!("{}.png", frame.id));
        let target = file.to_string_lossy().into_owned();
        // grim for Wayland, ImageMagick's import for X11.
        let tools: [(&str, Vec<&str>); 2] = [
            ("grim", vec![target.as_str()]),
            ("import", vec!["-window", "root", target.as_str()]),
        ];
        for (tool, args) in tools {
            let mut command = Command::new(tool);
            command.args(args);
            match process::run(command, None, deadline).await {
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Outcome::failure(format!("cannot run {tool}: {e}")),
                Ok(done) if done.exit.success() => {
                    let bytes = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
                    let mut d = Map::new();
                    d.insert("path".into(), target.clone().into());
                    d.insert("bytes".into(), bytes.into());
                    return Outcome::success(format!(
                        "screenshot saved on the device at {target} (this agent does not upload screenshots yet)"
                    ))
                    .with_details(d);
                }
                Ok(done) => {
                    return Outcome::failure(
                        done.stderr_tail()
                            .unwrap_or_else(|| format!("{tool} {}", done.exit.describe())),
                    );
                }
            }
        }
        Outcome::failure(format!(
            "no screenshot tool: install grim (Wayland) or ImageMagick's import (X11), or {}",
            self.hook_hint(&frame.command)
        ))
    }

    async fn custom_action(&self, frame: &CommandFrame, deadline: Instant) -> Outcome {
        let Some(script) = frame.args.get("script").and_then(Value::as_str) else {
            return Outcome::failure("the custom action has no script");
        };
        let interpreter = arg(&frame.args, "interpreter").unwrap_or("bash");
        let (program, extension, options): (&str, &str, &[&str]) = match interpreter {
            "bash" => ("bash", "sh", &[]),
            "sh" => ("sh", "sh", &[]),
            // PEP 394: `python` may be missing or Python 2; python3 is the one to use.
            "python" | "python3" => ("python3", "py", &[]),
            "powershell" | "pwsh" => ("pwsh", "ps1", &["-NoProfile", "-NonInteractive", "-File"]),
            other => return Outcome::failure(format!("unknown interpreter {other:?}")),
        };
        let label = arg(&frame.args, "label").unwrap_or("the script");
        // A private file rather than `-c`: scripts may hold secrets that `ps` would show.
        let dir = &self.config.work_dir;
        let file = dir.join(format!("{}-{}.{extension}", frame.id, uuid::Uuid::new_v4()));
        let written = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .and_then(|()| {
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&file)?;
                f.write_all(script.as_bytes())
            });
        if let Err(e) = written {
            let _ = std::fs::remove_file(&file);
            return Outcome::failure(format!("cannot write the script to {}: {e}", dir.display()));
        }
        let mut command = Command::new(program);
        command
            .args(options)
            .arg(&file)
            .env("STEWARD_COMMAND", &frame.command)
            .env("STEWARD_COMMAND_ID", frame.id.to_string());
        let budget = deadline.saturating_duration_since(Instant::now());
        let result = process::run(command, None, deadline).await;
        let _ = std::fs::remove_file(&file);
        let done = match result {
            Ok(done) => done,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Outcome::failure(format!(
                    "the interpreter {program} is not installed on this device"
                ));
            }
            Err(e) => return Outcome::failure(format!("cannot run {program}: {e}")),
        };
        let details = done.details();
        let outcome = match done.exit {
            Exit::TimedOut => Outcome::failure(process::timed_out(budget, "the script")),
            exit if exit.success() => Outcome::success(format!("ran {label}")),
            exit => {
                let mut reason = format!("{label} {}", exit.describe());
                if let Some(tail) = done.stderr_tail() {
                    let last = tail.lines().last().unwrap_or_default().to_string();
                    reason = format!("{reason}: {}", bounded(&last, 512));
                }
                Outcome::failure(reason)
            }
        };
        outcome.with_details(details)
    }

    /// What to say when there is no way to install (or remove) `package` here.
    fn no_installer(&self, command: &str, package: &PackageArgs) -> String {
        let hint = self.hook_hint(command);
        if package.is_apk() {
            format!(
                "this device has no Android package installer for {} (an APK); to handle APKs here (through adb, say), {hint}",
                package.describe()
            )
        } else {
            format!(
                "the command does not say that {} is a Debian package (package_kind deb), and there is no hook: {hint}",
                package.describe()
            )
        }
    }

    /// INSTALL and PUSH_CONTENT: fetches the file and checks it, then hands it to the
    /// operator's hook, installs it with dpkg, or puts it in the content folder.
    async fn with_file(&self, frame: &CommandFrame, deadline: Instant) -> Outcome {
        let name = frame.command.as_str();
        let install = name == "INSTALL";
        let package = PackageArgs::from_args(&frame.args);
        let hook = match self.hook(name) {
            Hook::Found(path) => Some(path),
            Hook::NotExecutable(path) => return not_executable(&path),
            Hook::Missing => None,
        };
        // Decided before fetching: nothing is downloaded that cannot be used.
        if install && hook.is_none() && !package.is_deb() {
            return Outcome::failure(self.no_installer(name, &package));
        }
        let download = match download_arg(&frame.args) {
            Ok(d) => d,
            Err(reason) => return Outcome::failure(reason),
        };
        let Some(files) = &self.files else {
            return Outcome::failure("this agent has no server to fetch files from");
        };
        // Content is fetched beside its final place, so that putting it there is a rename.
        let (dir, mode) = if install || hook.is_some() {
            (self.config.work_dir.join("downloads"), 0o700)
        } else {
            (self.config.content_dir.clone(), 0o755)
        };
        if let Err(e) = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(&dir)
        {
            return Outcome::failure(format!("cannot create {}: {e}", dir.display()));
        }
        let file_name = safe_file_name(&download.file_name).unwrap_or_else(|| "file".into());
        let (file, verified) = match files
            .fetch_to_temp(&download, &dir, &file_name, deadline)
            .await
        {
            Ok(fetched) => fetched,
            Err(reason) => return Outcome::failure(reason),
        };
        let mut details = Map::new();
        details.insert("sha256".into(), verified.sha256.into());
        details.insert("size".into(), verified.size.into());
        let outcome = match hook {
            // The file is removed when the hook has ended.
            Some(path) => {
                let file_text = file.to_string_lossy().into_owned();
                let mut input = frame.args.clone();
                input.insert("file".into(), file_text.clone().into());
                let mut env = package.hook_env();
                env.push(("STEWARD_FILE", file_text));
                let outcome = self.run_hook(&path, frame, deadline, &input, &env).await;
                if install {
                    outcome.with_refresh()
                } else {
                    outcome
                }
            }
            None if install => self.dpkg().install(&file, &package, deadline).await,
            None => match place_content(file, &dir, &file_name) {
                Ok(target) => {
                    let shown = target.to_string_lossy().into_owned();
                    details.insert("path".into(), shown.clone().into());
                    Outcome::success(format!("saved {file_name} to {shown}"))
                }
                Err(reason) => Outcome::failure(reason),
            },
        };
        with_more_details(outcome, details)
    }

    /// UNINSTALL: the operator's hook, or `dpkg --remove`.
    async fn uninstall(&self, frame: &CommandFrame, deadline: Instant) -> Outcome {
        let package = PackageArgs::from_args(&frame.args);
        match self.hook(&frame.command) {
            Hook::Found(path) => {
                return self
                    .run_hook(&path, frame, deadline, &frame.args, &package.hook_env())
                    .await
                    .with_refresh();
            }
            Hook::NotExecutable(path) => return not_executable(&path),
            Hook::Missing => {}
        }
        let Some(name) = package.package_name.as_deref() else {
            return Outcome::failure("package_name is missing");
        };
        if package.is_apk() {
            return Outcome::failure(self.no_installer(&frame.command, &package));
        }
        self.dpkg().remove(name, deadline).await
    }

    async fn run(&self, frame: &CommandFrame, deadline: Instant) -> Outcome {
        let name = frame.command.as_str();
        match name {
            // Their hooks get more than the arguments: these look for them themselves.
            "INSTALL" | "PUSH_CONTENT" => return self.with_file(frame, deadline).await,
            "UNINSTALL" => return self.uninstall(frame, deadline).await,
            _ => {}
        }
        match self.hook(name) {
            Hook::Found(path) => {
                return self
                    .run_hook(&path, frame, deadline, &frame.args, &[])
                    .await;
            }
            Hook::NotExecutable(path) => return not_executable(&path),
            Hook::Missing => {}
        }
        match name {
            "UPDATE_HEARTBEAT" => Outcome::success(
                "sent a heartbeat, the inventory, the installed packages and telemetry",
            )
            .with_refresh(),
            "SET_TIMEZONE" | "SET_DEVICE_LANGUAGE" => {
                let (this, args) = (self.clone_for_blocking(), frame.args.clone());
                let timezone = name == "SET_TIMEZONE";
                tokio::task::spawn_blocking(move || {
                    if timezone {
                        this.set_timezone(&args)
                    } else {
                        this.set_language(&args)
                    }
                })
                .await
                .unwrap_or_else(|_| Outcome::failure("the agent failed while changing the setting"))
            }
            "NOTIFY_DEVICE" => self.notify(frame, deadline).await,
            "CAPTURE_SCREENSHOT" => self.screenshot(frame, deadline).await,
            "RUN_CUSTOM_ACTION" => self.custom_action(frame, deadline).await,
            "SET_BRIGHTNESS_SCALE" => settings::set_brightness(&self.config.root, &frame.args),
            "SET_BLUETOOTH_STATE" => {
                settings::set_radio(&self.config.root, Radio::Bluetooth, &frame.args)
            }
            "SET_WIFI_STATE" => settings::set_radio(&self.config.root, Radio::Wifi, &frame.args),
            "SET_STREAM_VOLUME" => settings::set_volume(&frame.args, deadline).await,
            "SET_SCREEN_OFF_TIMEOUT" => {
                let session = self.config.graphical_session;
                settings::set_screen_off_timeout(&frame.args, session, deadline).await
            }
            "SET_ROTATION_STATE" => {
                let session = self.config.graphical_session;
                settings::set_rotation(&frame.args, session, deadline).await
            }
            "LOCK" => settings::lock_sessions(deadline).await,
            "BEEP_DEVICE" => settings::beep(&frame.args, deadline).await,
            "SET_STATIC_IP" => settings::set_static_ip(&frame.args, deadline).await,
            "REBOOT" | "WIPE" => Outcome::failure(format!(
                "{name} needs a hook on Linux: {}",
                self.hook_hint(name)
            )),
            _ if CATALOG.contains(&name) => Outcome::failure(format!(
                "this Linux device cannot do {name} (an Android command); to handle it, {}",
                self.hook_hint(name)
            )),
            _ => Outcome::failure(format!(
                "this Linux device does not know the command {name}"
            )),
        }
    }

    /// What the blocking file changes need, owned.
    fn clone_for_blocking(&self) -> Self {
        Self {
            config: self.config.clone(),
            platform: self.platform.clone(),
            files: self.files.clone(),
        }
    }
}

impl Executor for LinuxExecutor {
    fn execute<'a>(
        &'a self,
        command: &'a CommandFrame,
        deadline: Instant,
    ) -> BoxFuture<'a, Outcome> {
        Box::pin(self.run(command, deadline))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::platform::linux::{LinuxConfig, LinuxPlatform};
    use std::time::Duration;
    use uuid::Uuid;

    struct Fixture {
        dir: tempfile::TempDir,
        executor: LinuxExecutor,
    }

    impl Fixture {
        fn root(&self) -> &Path {
            self.dir.path()
        }
    }

    fn fixture(hooks: bool) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("usr/share/zoneinfo/Europe")).unwrap();
        std::fs::write(
            root.join("usr/share/zoneinfo/Europe/Berlin"),
            b"TZif2 fake zone",
        )
        .unwrap();
        std::fs::write(root.join("usr/share/zoneinfo/UTC"), b"TZif2 fake zone").unwrap();
        std::fs::write(root.join("usr/share/zoneinfo/zone.tab"), b"# not a zone").unwrap();
        let hooks_dir = dir.path().join("hooks");
        if hooks {
            std::fs::create_dir_all(&hooks_dir).unwrap();
        }
        let platform = Arc::new(LinuxPlatform::new(LinuxConfig {
            root: root.clone(),
            ..LinuxConfig::default()
        }));
        let executor = LinuxExecutor::new(
            LinuxExecutorConfig {
                root,
                hooks_dir: hooks.then_some(hooks_dir),
                work_dir: dir.path().join("work"),
                graphical_session: false,
                package_root: None,
                content_dir: dir.path().join("content"),
            },
            platform,
        );
        Fixture { dir, executor }
    }

    fn frame(command: &str, args: Value) -> CommandFrame {
        CommandFrame {
            id: Uuid::now_v7(),
            command: command.into(),
            args: args.as_object().cloned().unwrap_or_default(),
            timeout_secs: 60,
        }
    }

    async fn run(f: &Fixture, command: &str, args: Value) -> Outcome {
        run_for(f, command, args, Duration::from_secs(30)).await
    }

    async fn run_for(f: &Fixture, command: &str, args: Value, limit: Duration) -> Outcome {
        f.executor
            .execute(&frame(command, args), Instant::now() + limit)
            .await
    }

    fn install_hook(f: &Fixture, name: &str, script: &str) -> PathBuf {
        let path = f.root().join("hooks").join(name);
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn detail<'a>(o: &'a Outcome, key: &str) -> &'a Value {
        o.details
            .as_ref()
            .and_then(|d| d.get(key))
            .unwrap_or(&Value::Null)
    }

    #[tokio::test]
    async fn set_timezone_writes_the_debian_files() {
        let f = fixture(false);
        let o = run(
            &f,
            "SET_TIMEZONE",
            serde_json::json!({"timezone_string": "Europe/Berlin"}),
        )
        .await;
        assert!(o.success, "{o:?}");
        assert!(o.refresh, "the new zone is reported at once");
        let root = f.root().join("root");
        assert_eq!(
            std::fs::read_to_string(root.join("etc/timezone")).unwrap(),
            "Europe/Berlin\n"
        );
        assert_eq!(
            std::fs::read_link(root.join("etc/localtime")).unwrap(),
            PathBuf::from("../usr/share/zoneinfo/Europe/Berlin")
        );
        assert_eq!(
            std::fs::read(root.join("etc/localtime")).unwrap(),
            b"TZif2 fake zone"
        );
        // The platform reads it back.
        let platform = LinuxPlatform::new(LinuxConfig {
            root: root.clone(),
            ..LinuxConfig::default()
        });
        assert_eq!(
            platform.inventory().software.timezone.as_deref(),
            Some("Europe/Berlin")
        );
        // Again, to another zone: the link is replaced.
        let o = run(
            &f,
            "SET_TIMEZONE",
            serde_json::json!({"timezone_string": "UTC"}),
        )
        .await;
        assert!(o.success, "{o:?}");
        assert_eq!(
            std::fs::read_to_string(root.join("etc/timezone")).unwrap(),
            "UTC\n"
        );
    }

    #[tokio::test]
    async fn unknown_or_unsafe_zones_fail_and_change_nothing() {
        let f = fixture(false);
        for zone in [
            "Mars/Olympus",
            "../../etc/passwd",
            "/etc/passwd",
            "zone.tab",
            "Europe",
            "",
        ] {
            let o = run(
                &f,
                "SET_TIMEZONE",
                serde_json::json!({"timezone_string": zone}),
            )
            .await;
            assert!(!o.success, "{zone}: {o:?}");
        }
        let o = run(
            &f,
            "SET_TIMEZONE",
            serde_json::json!({"timezone_string": "Mars/Olympus"}),
        )
        .await;
        assert!(o.reason.unwrap().contains("unknown time zone Mars/Olympus"));
        assert!(!f.root().join("root/etc/timezone").exists());
    }

    #[tokio::test]
    async fn set_device_language_writes_lang() {
        let f = fixture(false);
        let path = f.root().join("root/etc/default/locale");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            "LANG=en_US.UTF-8\nLANGUAGE=en_US:en\nLC_TIME=en_GB.UTF-8\n",
        )
        .unwrap();
        let o = run(
            &f,
            "SET_DEVICE_LANGUAGE",
            serde_json::json!({"locale": "de_DE"}),
        )
        .await;
        assert!(o.success, "{o:?}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "LANG=de_DE.UTF-8\nLC_TIME=en_GB.UTF-8\n"
        );
        let o = run(
            &f,
            "SET_DEVICE_LANGUAGE",
            serde_json::json!({"device_language": "fr-CA"}),
        )
        .await;
        assert!(o.success, "{o:?}");
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .starts_with("LANG=fr_CA.UTF-8\n")
        );
        let o = run(
            &f,
            "SET_DEVICE_LANGUAGE",
            serde_json::json!({"language": "x; rm -rf /"}),
        )
        .await;
        assert!(!o.success);
        assert_eq!(
            glibc_locale("sr_RS@latin").as_deref(),
            Some("sr_RS.UTF-8@latin")
        );
        assert_eq!(glibc_locale("pt_BR.utf8").as_deref(), Some("pt_BR.UTF-8"));
    }

    #[tokio::test]
    async fn a_hook_gets_the_args_on_stdin_and_comes_first() {
        let f = fixture(true);
        let out = f.root().join("hook-saw");
        install_hook(
            &f,
            "set_timezone",
            &format!(
                "#!/bin/sh\ncat > '{}'\necho \"$STEWARD_COMMAND\" >> '{}'\necho done\n",
                out.display(),
                out.display()
            ),
        );
        let o = run(
            &f,
            "SET_TIMEZONE",
            serde_json::json!({"timezone_string": "Europe/Berlin"}),
        )
        .await;
        assert!(o.success, "{o:?}");
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "{\"timezone_string\":\"Europe/Berlin\"}SET_TIMEZONE\n"
        );
        assert_eq!(detail(&o, "exit_code"), &Value::from(0));
        assert_eq!(detail(&o, "stdout"), &Value::from("done\n"));
        // The hook did it all: the built-in did not run.
        assert!(!f.root().join("root/etc/timezone").exists());
    }

    #[tokio::test]
    async fn a_failing_hook_reports_its_stderr() {
        let f = fixture(true);
        install_hook(&f, "reboot", "#!/bin/sh\necho 'not today' >&2\nexit 2\n");
        let o = run(&f, "REBOOT", serde_json::json!({})).await;
        assert!(!o.success);
        assert_eq!(o.reason.as_deref(), Some("not today"));
        assert_eq!(detail(&o, "exit_code"), &Value::from(2));
        // Not executable: said so.
        let path = f.root().join("hooks/lock");
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        let o = run(&f, "LOCK", serde_json::json!({})).await;
        assert!(o.reason.unwrap().contains("chmod +x"));
    }

    #[tokio::test]
    async fn commands_without_a_linux_equivalent_fail_with_a_reason() {
        let f = fixture(true);
        let o = run(&f, "WIPE", serde_json::json!({})).await;
        assert!(!o.success);
        let reason = o.reason.unwrap();
        assert!(
            reason.contains(&f.root().join("hooks/wipe").display().to_string()),
            "{reason}"
        );
        let bare = fixture(false);
        let reason = run(&bare, "REBOOT", serde_json::json!({}))
            .await
            .reason
            .unwrap();
        assert!(reason.contains("--hooks-dir"), "{reason}");
        let o = run(
            &f,
            "INSTALL",
            serde_json::json!({"app_version": Uuid::nil(), "package_name": "com.example.pos",
                               "package_kind": "apk", "version_name": "3.2.1"}),
        )
        .await;
        let reason = o.reason.unwrap();
        assert!(
            reason.contains("no Android package installer for com.example.pos 3.2.1")
                && reason.contains(&f.root().join("hooks/install").display().to_string()),
            "{reason}"
        );
        let o = run(
            &f,
            "SET_KIOSK_APP",
            serde_json::json!({"package_name": "com.x"}),
        )
        .await;
        assert!(
            o.reason
                .unwrap()
                .contains("this Linux device cannot do SET_KIOSK_APP")
        );
        let o = run(
            &f,
            "NOTIFY_DEVICE",
            serde_json::json!({"title": "t", "message": "m"}),
        )
        .await;
        assert!(o.reason.unwrap().contains("no notification service"));
        let o = run(&f, "CAPTURE_SCREENSHOT", serde_json::json!({})).await;
        assert_eq!(o.reason.as_deref(), Some("this device has no display"));
        let o = run(&f, "../../bin/sh", serde_json::json!({})).await;
        assert!(!o.success);
        let o = run(&f, "UPDATE_HEARTBEAT", serde_json::json!({})).await;
        assert!(o.success && o.refresh);
    }

    #[tokio::test]
    async fn custom_actions_run_bash_and_python() {
        let f = fixture(false);
        let o = run(
            &f,
            "RUN_CUSTOM_ACTION",
            serde_json::json!({"script": "echo hello \"$STEWARD_COMMAND\"\necho warn >&2\n", "interpreter": "bash", "label": "Greet"}),
        )
        .await;
        assert!(o.success, "{o:?}");
        assert_eq!(o.reason.as_deref(), Some("ran Greet"));
        assert_eq!(detail(&o, "exit_code"), &Value::from(0));
        assert_eq!(
            detail(&o, "stdout"),
            &Value::from("hello RUN_CUSTOM_ACTION\n")
        );
        assert_eq!(detail(&o, "stderr"), &Value::from("warn\n"));
        // The script file is gone afterwards.
        let left: Vec<_> = std::fs::read_dir(f.root().join("work")).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");

        if std::process::Command::new("python3")
            .arg("-V")
            .output()
            .is_ok()
        {
            let o = run(
                &f,
                "RUN_CUSTOM_ACTION",
                serde_json::json!({"script": "import sys\nprint(6 * 7)\n", "interpreter": "python3"}),
            )
            .await;
            assert!(o.success, "{o:?}");
            assert_eq!(detail(&o, "stdout"), &Value::from("42\n"));
        } else {
            eprintln!("python3 is not installed: skipping its part");
        }

        let o = run(
            &f,
            "RUN_CUSTOM_ACTION",
            serde_json::json!({"script": "echo partial\necho 'disk full' >&2\nexit 3", "interpreter": "sh", "label": "Clean"}),
        )
        .await;
        assert!(!o.success);
        assert_eq!(
            o.reason.as_deref(),
            Some("Clean exited with status 3: disk full")
        );
        assert_eq!(detail(&o, "exit_code"), &Value::from(3));
        assert_eq!(detail(&o, "stdout"), &Value::from("partial\n"));

        let o = run(
            &f,
            "RUN_CUSTOM_ACTION",
            serde_json::json!({"script": "x", "interpreter": "cobol"}),
        )
        .await;
        assert!(o.reason.unwrap().contains("unknown interpreter"));
    }

    #[tokio::test]
    async fn a_script_past_its_deadline_is_killed_with_its_children() {
        let f = fixture(false);
        let pid_file = f.root().join("sleep.pid");
        let script = format!(
            "echo started\nsleep 60 &\necho $! > '{}'\nwait\n",
            pid_file.display()
        );
        let started = std::time::Instant::now();
        let o = run_for(
            &f,
            "RUN_CUSTOM_ACTION",
            serde_json::json!({"script": script, "interpreter": "bash"}),
            Duration::from_secs(1),
        )
        .await;
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert!(!o.success);
        assert!(
            o.reason
                .as_deref()
                .unwrap()
                .starts_with("timed out on the device after"),
            "{o:?}"
        );
        assert_eq!(detail(&o, "stdout"), &Value::from("started\n"));
        // The background sleep went with the script.
        let pid = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .to_string();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| !s.contains(") Z "))
                .unwrap_or(false);
            if !alive {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "sleep {pid} still runs"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // -----------------------------------------------------------------------------------------
    // Packages and content, with real dpkg in a sandbox root and a local HTTP server

    use crate::commands::download::tests::{Answer, announced, serve};
    use crate::testing::{build_deb, dpkg_sandbox, have_dpkg};
    use steward_proto::agent::FileDownload;

    async fn serving(f: Fixture, body: &[u8]) -> Fixture {
        let (url, _) = serve(Answer::ok(body)).await;
        let Fixture { dir, executor } = f;
        let executor =
            executor.with_files(FileSource::new(url, "dev_secret".into(), None).unwrap());
        Fixture { dir, executor }
    }

    fn install_args(name: &str, kind: &str, download: &FileDownload) -> Value {
        serde_json::json!({"app_version": Uuid::nil(), "package_name": name, "application_name": name,
                           "version_name": "1.0-1", "package_kind": kind, "download": download})
    }

    fn installed(f: &Fixture) -> Vec<String> {
        f.executor
            .platform
            .apps()
            .into_iter()
            .map(|a| a.package_name)
            .collect()
    }

    fn downloads_left(f: &Fixture) -> usize {
        std::fs::read_dir(f.root().join("work/downloads"))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    #[tokio::test]
    async fn a_deb_is_installed_into_the_package_root_and_removed_again() {
        if !have_dpkg() {
            return;
        }
        let f = fixture(false);
        let root = f.root().join("root");
        dpkg_sandbox(&root);
        let deb = build_deb(f.root(), "steward-test-kiosk", "1.0-1", "all", None);
        let f = serving(f, &deb).await;
        let o = run(
            &f,
            "INSTALL",
            install_args("steward-test-kiosk", "deb", &announced(&deb)),
        )
        .await;
        assert!(o.success, "{o:?}");
        assert!(o.refresh, "the app list goes out before the report");
        assert_eq!(
            o.reason.as_deref(),
            Some("installed steward-test-kiosk 1.0-1 with dpkg")
        );
        assert_eq!(detail(&o, "size"), &Value::from(deb.len()));
        assert_eq!(
            std::fs::read_to_string(root.join("opt/steward-test-kiosk/version")).unwrap(),
            "1.0-1"
        );
        // The platform reads the same root: the package is in the app list.
        assert_eq!(installed(&f), vec!["steward-test-kiosk".to_string()]);
        assert_eq!(downloads_left(&f), 0, "the download is gone");
        // dpkg logged inside the sandbox, not on the machine.
        assert!(
            std::fs::read_to_string(root.join("var/log/dpkg.log"))
                .unwrap()
                .contains("install steward-test-kiosk")
        );

        let remove =
            serde_json::json!({"package_name": "steward-test-kiosk", "package_kind": "deb"});
        let o = run(&f, "UNINSTALL", remove.clone()).await;
        assert!(o.success && o.refresh, "{o:?}");
        assert!(installed(&f).is_empty());
        assert!(!root.join("opt/steward-test-kiosk/version").exists());
        let o = run(&f, "UNINSTALL", remove).await;
        assert!(o.success, "{o:?}");
        assert_eq!(
            o.reason.as_deref(),
            Some("steward-test-kiosk is not installed on this device")
        );
        let o = run(
            &f,
            "UNINSTALL",
            serde_json::json!({"package_name": "--root=/"}),
        )
        .await;
        assert!(!o.success && o.reason.unwrap().contains("not a Debian package name"));
    }

    #[tokio::test]
    async fn dependency_problems_fail_with_dpkgs_message_and_leave_nothing_half_installed() {
        if !have_dpkg() {
            return;
        }
        let f = fixture(false);
        let root = f.root().join("root");
        dpkg_sandbox(&root);
        let deb = build_deb(
            f.root(),
            "steward-test-needy",
            "1.0-1",
            "all",
            Some("steward-test-missing (>= 2)"),
        );
        let f = serving(f, &deb).await;
        let o = run(
            &f,
            "INSTALL",
            install_args("steward-test-needy", "deb", &announced(&deb)),
        )
        .await;
        assert!(!o.success, "{o:?}");
        let reason = o.reason.clone().unwrap();
        assert!(
            reason.contains("steward-test-needy depends on steward-test-missing (>= 2)")
                && reason.contains("removed again"),
            "{reason}"
        );
        assert_eq!(detail(&o, "exit_code"), &Value::from(1));
        let status = std::fs::read_to_string(root.join("var/lib/dpkg/status")).unwrap();
        assert!(!status.contains("Status: install ok unpacked"), "{status}");
        assert!(installed(&f).is_empty());
        assert_eq!(downloads_left(&f), 0);
    }

    #[tokio::test]
    async fn a_tampered_or_unannounced_file_is_never_installed() {
        if !have_dpkg() {
            return;
        }
        let f = fixture(true);
        let root = f.root().join("root");
        dpkg_sandbox(&root);
        let deb = build_deb(f.root(), "steward-test-kiosk", "1.0-1", "all", None);
        let f = serving(f, &deb).await;
        let mut tampered = announced(&deb);
        tampered.sha256 = announced(b"another file").sha256;
        let o = run(
            &f,
            "INSTALL",
            install_args("steward-test-kiosk", "deb", &tampered),
        )
        .await;
        assert!(!o.success);
        assert!(o.reason.unwrap().contains("not the announced"));
        assert!(installed(&f).is_empty());
        assert_eq!(downloads_left(&f), 0);

        let mut args = install_args("steward-test-kiosk", "deb", &announced(&deb));
        args.as_object_mut().unwrap().remove("download");
        let o = run(&f, "INSTALL", args).await;
        assert!(o.reason.unwrap().contains("no download argument"));

        // An install hook that is not executable is said so, before anything is fetched.
        std::fs::write(f.root().join("hooks/install"), "#!/bin/sh\n").unwrap();
        let o = run(
            &f,
            "INSTALL",
            install_args("steward-test-kiosk", "deb", &announced(&deb)),
        )
        .await;
        assert!(o.reason.unwrap().contains("chmod +x"));
    }

    #[tokio::test]
    async fn an_install_hook_gets_the_verified_file_for_an_apk_or_a_deb() {
        let apk = b"PK\x03\x04 pretend apk".to_vec();
        let f = serving(fixture(true), &apk).await;
        let saw = f.root().join("saw");
        install_hook(
            &f,
            "install",
            &format!(
                "#!/bin/sh\nset -e\ncat > '{saw}.json'\ncp \"$STEWARD_FILE\" '{saw}.file'\necho \"$STEWARD_PACKAGE_NAME $STEWARD_PACKAGE_VERSION $STEWARD_PACKAGE_KIND\" > '{saw}.env'\necho installed via adb\n",
                saw = saw.display()
            ),
        );
        let download = announced(&apk);
        let o = run(
            &f,
            "INSTALL",
            install_args("com.example.pos", "apk", &download),
        )
        .await;
        assert!(o.success, "{o:?}");
        assert!(o.refresh);
        assert_eq!(detail(&o, "stdout"), &Value::from("installed via adb\n"));
        assert_eq!(detail(&o, "sha256"), &Value::from(download.sha256.clone()));
        assert_eq!(std::fs::read(saw.with_extension("file")).unwrap(), apk);
        assert_eq!(
            std::fs::read_to_string(saw.with_extension("env")).unwrap(),
            "com.example.pos 1.0-1 apk\n"
        );
        let input: Value =
            serde_json::from_str(&std::fs::read_to_string(saw.with_extension("json")).unwrap())
                .unwrap();
        assert_eq!(input["package_name"], "com.example.pos");
        assert!(input["file"].as_str().unwrap().contains("/work/downloads/"));
        assert_eq!(downloads_left(&f), 0, "removed once the hook ended");
        // The operator's hook takes .deb installs over too.
        let o = run(
            &f,
            "INSTALL",
            install_args("steward-test-kiosk", "deb", &download),
        )
        .await;
        assert!(o.success, "{o:?}");
        assert!(o.reason.unwrap().contains("done by the hook"));

        // An uninstall hook is told the package.
        install_hook(
            &f,
            "uninstall",
            &format!(
                "#!/bin/sh\necho \"$STEWARD_PACKAGE_NAME\" > '{}'\n",
                saw.with_extension("gone").display()
            ),
        );
        let o = run(
            &f,
            "UNINSTALL",
            serde_json::json!({"package_name": "com.example.pos", "package_kind": "apk"}),
        )
        .await;
        assert!(o.success && o.refresh, "{o:?}");
        assert_eq!(
            std::fs::read_to_string(saw.with_extension("gone")).unwrap(),
            "com.example.pos\n"
        );
        // Without one, an APK cannot be removed here.
        let bare = fixture(false);
        let o = run(
            &bare,
            "UNINSTALL",
            serde_json::json!({"package_name": "com.example.pos", "package_kind": "apk"}),
        )
        .await;
        assert!(o.reason.unwrap().contains("no Android package installer"));
    }

    #[tokio::test]
    async fn content_lands_in_the_content_folder_under_a_safe_name() {
        let body = b"<menu>coffee 2.50</menu>".to_vec();
        let f = serving(fixture(false), &body).await;
        let mut download = announced(&body);
        download.file_name = "../../etc/menu board.xml".into();
        let o = run(
            &f,
            "PUSH_CONTENT",
            serde_json::json!({"content_id": 7, "download": download}),
        )
        .await;
        assert!(o.success, "{o:?}");
        let target = f.root().join("content/menu_board.xml");
        assert_eq!(
            detail(&o, "path"),
            &Value::from(target.display().to_string())
        );
        assert_eq!(std::fs::read(&target).unwrap(), body);
        assert_eq!(
            std::fs::read_dir(f.root().join("content")).unwrap().count(),
            1
        );
        // Broken: nothing lands, no temporary file stays.
        let mut short = announced(&body);
        short.size += 10;
        short.file_name = "other.xml".into();
        let o = run(
            &f,
            "PUSH_CONTENT",
            serde_json::json!({"content_id": 7, "download": short}),
        )
        .await;
        assert!(!o.success, "{o:?}");
        assert_eq!(
            std::fs::read_dir(f.root().join("content")).unwrap().count(),
            1
        );
    }
}
