//! Commands on a simulated device: nothing on the machine changes, but every command is
//! carried through the same runner, journal and reports as on a real one, after a short
//! pretend delay. An [`ExecutionLog`] can record each execution (one JSON line per run), so a
//! test or a load run can check that no device ran a command twice; a simulator started again
//! reads it back so that its devices remember what they ran.

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

use super::{BoxFuture, Executor, Journal, Outcome};

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
}

impl SimulatedExecutor {
    pub fn new(device: Uuid, delay: Duration, log: Option<Arc<ExecutionLog>>) -> Self {
        Self { device, delay, log }
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
}
