//! Commands on a simulated device: nothing on the machine changes, but every command is
//! carried through the same runner, journal and reports as on a real one, after a short
//! pretend delay. An [`ExecutionLog`] can record each execution (one JSON line per run), so a
//! test or a load run can check that no device ran a command twice; a simulator started again
//! reads it back so that its devices remember what they ran.
//!
//! INSTALL and PUSH_CONTENT really fetch their file and check its size and SHA-256 (into
//! nothing: it is not kept); INSTALL and UNINSTALL then change the simulated app list, which
//! goes to the server before the final report.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use steward_proto::agent::{CommandFrame, CommandProgress, CommandReport};
use tokio::time::Instant;
use uuid::Uuid;

use super::download::{FileSource, download_arg};
use super::packages::PackageArgs;
use super::{BoxFuture, Executor, Journal, Outcome};
use crate::platform::{PackageChange, Platform};

/// One line of the executions log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Execution {
    pub device: Uuid,
    pub id: Uuid,
    pub command: String,
}

/// An append-only file of executions, shared by every simulated device of a process.
#[derive(Debug)]
pub struct ExecutionLog {
    file: Mutex<File>,
}

impl ExecutionLog {
    /// Opens (or creates) the log for appending.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().append(true).create(true).open(path)?;
        Ok(Self {
            file: Mutex::new(file),
        })
    }

    /// Every execution recorded in `path` (none if there is no file); torn lines are skipped.
    pub fn read(path: &Path) -> std::io::Result<Vec<Execution>> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for line in BufReader::new(file).lines() {
            if let Ok(execution) = serde_json::from_str::<Execution>(&line?) {
                out.push(execution);
            }
        }
        Ok(out)
    }

    /// Appends one line in a single write, so lines of concurrent devices never interleave.
    fn record(&self, execution: &Execution) -> std::io::Result<()> {
        let mut line = serde_json::to_string(execution)?;
        line.push('\n');
        self.file
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .write_all(line.as_bytes())
    }
}

/// In-memory journals for simulated devices, remembering the executions of earlier runs.
pub fn journals_from(executions: &[Execution]) -> HashMap<Uuid, Journal> {
    let mut journals: HashMap<Uuid, Journal> = HashMap::new();
    for e in executions {
        let journal = journals.entry(e.device).or_insert_with(Journal::in_memory);
        // An in-memory journal cannot fail to record.
        let _ = journal.record_finished(CommandReport {
            id: e.id,
            state: CommandProgress::Success,
            reason: Some("simulated (before the simulator restarted)".into()),
            details: None,
        });
    }
    journals
}

/// Carries out commands on one simulated device.
pub struct SimulatedExecutor {
    device: Uuid,
    /// How long a command pretends to take.
    delay: Duration,
    log: Option<Arc<ExecutionLog>>,
    /// Where the files of INSTALL and PUSH_CONTENT come from (without it they fail).
    files: Option<FileSource>,
    /// The device whose app list INSTALL and UNINSTALL change.
    platform: Option<Arc<dyn Platform>>,
}

impl SimulatedExecutor {
    pub fn new(device: Uuid, delay: Duration, log: Option<Arc<ExecutionLog>>) -> Self {
        Self {
            device,
            delay,
            log,
            files: None,
            platform: None,
        }
    }

    pub fn with_files(mut self, files: FileSource) -> Self {
        self.files = Some(files);
        self
    }

    pub fn with_platform(mut self, platform: Arc<dyn Platform>) -> Self {
        self.platform = Some(platform);
        self
    }

    /// Fetches the command's file and checks it; its size and SHA-256 for the details.
    async fn fetch(
        &self,
        frame: &CommandFrame,
        deadline: Instant,
    ) -> Result<Map<String, Value>, String> {
        let download = download_arg(&frame.args)?;
        let Some(files) = &self.files else {
            return Err("this simulated device has no server to fetch files from".into());
        };
        let verified = files
            .fetch_into(&download, &mut tokio::io::sink(), deadline)
            .await?;
        let mut details = Map::new();
        details.insert("file_name".into(), download.file_name.into());
        details.insert("sha256".into(), verified.sha256.into());
        details.insert("size".into(), verified.size.into());
        Ok(details)
    }

    fn change(&self, change: PackageChange) {
        if let Some(p) = &self.platform {
            p.apply_simulated_change(change);
        }
    }

    async fn with_file(&self, frame: &CommandFrame, deadline: Instant) -> Outcome {
        let details = match self.fetch(frame, deadline).await {
            Ok(d) => d,
            Err(reason) => return Outcome::failure(reason),
        };
        if frame.command != "INSTALL" {
            return Outcome::success("simulated: the file was fetched and checked")
                .with_details(details);
        }
        let package = PackageArgs::from_args(&frame.args);
        let Some(app) = package.installed_app() else {
            return Outcome::failure("package_name is missing");
        };
        self.change(PackageChange::Installed(app));
        Outcome::success(format!("simulated install of {}", package.describe()))
            .with_details(details)
            .with_refresh()
    }

    fn uninstall(&self, frame: &CommandFrame) -> Outcome {
        let package = PackageArgs::from_args(&frame.args);
        let Some(package_name) = package.package_name.clone() else {
            return Outcome::failure("package_name is missing");
        };
        self.change(PackageChange::Removed { package_name });
        Outcome::success(format!("simulated removal of {}", package.describe())).with_refresh()
    }

    async fn run(&self, frame: &CommandFrame, deadline: Instant) -> Outcome {
        if let Some(log) = &self.log {
            let execution = Execution {
                device: self.device,
                id: frame.id,
                command: frame.command.clone(),
            };
            if let Err(e) = log.record(&execution) {
                return Outcome::failure(format!("cannot write the executions log: {e}"));
            }
        }
        let done_at = (Instant::now() + self.delay).min(deadline);
        tokio::time::sleep_until(done_at).await;
        match frame.command.as_str() {
            "UPDATE_HEARTBEAT" => Outcome::success("simulated heartbeat").with_refresh(),
            "INSTALL" | "PUSH_CONTENT" => self.with_file(frame, deadline).await,
            "UNINSTALL" => self.uninstall(frame),
            "RUN_CUSTOM_ACTION" => {
                let mut details = Map::new();
                details.insert("exit_code".into(), Value::from(0));
                details.insert("stdout".into(), Value::from("simulated\n"));
                details.insert("stderr".into(), Value::from(""));
                Outcome::success("simulated run").with_details(details)
            }
            name => Outcome::success(format!("simulated {name}")),
        }
    }
}

impl Executor for SimulatedExecutor {
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
    use crate::commands::Entry;

    #[tokio::test]
    async fn executions_are_logged_and_remembered_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("executions.jsonl");
        let device = Uuid::new_v4();
        let log = Arc::new(ExecutionLog::open(&path).unwrap());
        let exec = SimulatedExecutor::new(device, Duration::ZERO, Some(log));
        let frame = CommandFrame {
            id: Uuid::now_v7(),
            command: "UPDATE_HEARTBEAT".into(),
            args: Map::new(),
            timeout_secs: 60,
        };
        let outcome = exec
            .execute(&frame, Instant::now() + Duration::from_secs(5))
            .await;
        assert!(outcome.success && outcome.refresh);
        let read = ExecutionLog::read(&path).unwrap();
        assert_eq!(
            read,
            vec![Execution {
                device,
                id: frame.id,
                command: "UPDATE_HEARTBEAT".into()
            }]
        );
        let journals = journals_from(&read);
        assert!(matches!(
            journals[&device].get(frame.id),
            Some(Entry::Finished(_))
        ));
        assert!(
            ExecutionLog::read(&dir.path().join("none"))
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn installs_fetch_and_check_the_file_and_change_the_app_list() {
        use crate::commands::download::tests::{Answer, announced, serve};
        use crate::platform::simulated::SimulatedPlatform;

        let body = b"simulated package".to_vec();
        let (url, seen) = serve(Answer::ok(&body)).await;
        let platform: Arc<dyn Platform> = Arc::new(SimulatedPlatform::new(3));
        let exec = SimulatedExecutor::new(Uuid::new_v4(), Duration::ZERO, None)
            .with_files(FileSource::new(url, "dev_sim".into(), None).unwrap())
            .with_platform(platform.clone());
        let run = |command: &str, args: Value| {
            let frame = CommandFrame {
                id: Uuid::now_v7(),
                command: command.into(),
                args: args.as_object().cloned().unwrap_or_default(),
                timeout_secs: 60,
            };
            let exec = &exec;
            async move {
                exec.execute(&frame, Instant::now() + Duration::from_secs(10))
                    .await
            }
        };
        let version = |name: &str| {
            platform
                .apps()
                .into_iter()
                .find(|a| a.package_name == name)
                .map(|a| (a.version_name, a.version_code))
        };
        let install = serde_json::json!({"package_name": "com.example.kiosk", "application_name": "Kiosk",
            "version_name": "1.1", "version_code": "2", "package_kind": "apk", "download": announced(&body)});
        let o = run("INSTALL", install.clone()).await;
        assert!(o.success && o.refresh, "{o:?}");
        assert_eq!(
            version("com.example.kiosk"),
            Some((Some("1.1".into()), Some("2".into())))
        );
        assert_eq!(seen.lock().unwrap()[0].1, "Bearer dev_sim");

        // A tampered file changes nothing.
        let mut tampered = install.clone();
        tampered["version_name"] = "6.6".into();
        tampered["download"]["sha256"] = announced(b"other").sha256.into();
        let o = run("INSTALL", tampered).await;
        assert!(!o.success && o.reason.unwrap().contains("not the announced"));
        assert_eq!(
            version("com.example.kiosk").unwrap().0.as_deref(),
            Some("1.1")
        );

        // A package that came with the device can go too.
        let original = platform.apps()[0].package_name.clone();
        for package in ["com.example.kiosk", original.as_str()] {
            let o = run("UNINSTALL", serde_json::json!({"package_name": package})).await;
            assert!(o.success && o.refresh, "{o:?}");
            assert_eq!(version(package), None);
        }
        let o = run(
            "PUSH_CONTENT",
            serde_json::json!({"content_id": 1, "download": announced(&body)}),
        )
        .await;
        assert!(o.success, "{o:?}");
        assert_eq!(o.details.unwrap()["size"], body.len());
        let o = run("PUSH_CONTENT", serde_json::json!({"content_id": 1})).await;
        assert!(o.reason.unwrap().contains("no download argument"));
    }
}
