//! Commands on the device: each command id runs at most once, one at a time in arrival order,
//! each within its own time, in a task of its own so the socket loop never waits for one.
//!
//! The server delivers a command at least once (again after every reconnect until it has a
//! final report). [`CommandRunner::receive`] answers every delivery at once: a new id is
//! acknowledged and queued; a queued or running one is acknowledged again; a finished one gets
//! its stored final report again. The [`Journal`] records each id before it runs and its final
//! report after, so this holds across restarts of the agent too: an id that was running when
//! the agent stopped is reported as a failure and not run again.
//!
//! What a command does is up to an [`Executor`]: [`linux::LinuxExecutor`] on a real device,
//! [`simulated::SimulatedExecutor`] for simulated ones.

pub mod download;
pub mod journal;
pub mod linux;
pub mod linux_settings;
pub mod packages;
pub mod process;
pub mod simulated;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{Map, Value};
use steward_proto::agent::{CommandFrame, CommandProgress, CommandReport};
use tokio::sync::Notify;
use tokio::time::Instant;
use uuid::Uuid;

pub use journal::{Entry, Journal, journal_file};

/// Every command the server may send, sorted: Esper's 37 and Steward's `PUSH_CONTENT` and
/// `RUN_CUSTOM_ACTION` (the server checks names and arguments before sending).
pub const CATALOG: [&str; 39] = [
    "ADD_TO_WHITELIST",
    "ADD_WIFI_AP",
    "BEEP_DEVICE",
    "CAPTURE_SCREENSHOT",
    "CLEAR_APP_DATA",
    "CONVERGE",
    "INSTALL",
    "LOCK",
    "NOTIFY_DEVICE",
    "PUSH_CONTENT",
    "REBOOT",
    "REMOVE_FROM_WHITELIST",
    "REMOVE_WIFI_AP",
    "RESET_LOCKSCREEN_PASSWORD",
    "RUN_CUSTOM_ACTION",
    "SET_APP_NOTIFICATIONS",
    "SET_APP_PERMISSION",
    "SET_APP_STATE",
    "SET_BLUETOOTH_STATE",
    "SET_BRIGHTNESS_SCALE",
    "SET_DEVICE_LANGUAGE",
    "SET_DEVICE_LOCKDOWN_STATE",
    "SET_ETHERNET_SETTINGS",
    "SET_GPS_STATE",
    "SET_KIOSK_APP",
    "SET_NEW_POLICY",
    "SET_ROTATION_STATE",
    "SET_SCREEN_OFF_TIMEOUT",
    "SET_STATIC_IP",
    "SET_STREAM_VOLUME",
    "SET_TIMEZONE",
    "SET_WIFI_STATE",
    "UNINSTALL",
    "UPDATE_BLUEPRINT",
    "UPDATE_DEVICE_CONFIG",
    "UPDATE_HEARTBEAT",
    "UPDATE_LATEST_DPC",
    "USE_ONLY_SAVED_WIFI_AP",
    "WIPE",
];

/// Commands a Linux device carries out itself (others need a hook).
pub const LINUX_BUILTINS: [&str; 20] = [
    "UPDATE_HEARTBEAT",
    "SET_TIMEZONE",
    "SET_DEVICE_LANGUAGE",
    "NOTIFY_DEVICE",
    "CAPTURE_SCREENSHOT",
    "RUN_CUSTOM_ACTION",
    "SET_BRIGHTNESS_SCALE",
    "SET_BLUETOOTH_STATE",
    "SET_WIFI_STATE",
    "SET_STREAM_VOLUME",
    "SET_SCREEN_OFF_TIMEOUT",
    "SET_ROTATION_STATE",
    "LOCK",
    "BEEP_DEVICE",
    "SET_STATIC_IP",
    // These two only with a hook; the simulator pretends to have one.
    "REBOOT",
    "WIPE",
    // Debian packages through dpkg; APKs only with a hook.
    "INSTALL",
    "UNINSTALL",
    "PUSH_CONTENT",
];

/// Longest reason kept in a report.
const MAX_REASON_BYTES: usize = 4096;
/// A command still running after this long is reported as in progress.
const PROGRESS_AFTER: Duration = Duration::from_secs(1);
/// After the deadline, how long an executor has to wind up (kill its processes, say) before
/// the runner gives up on it.
const GRACE: Duration = Duration::from_secs(1);
/// Final reports kept for sending after a reconnect; older ones stay in the journal and go
/// out when the server delivers their command again.
const MAX_UNSENT: usize = 1000;
/// Progress reports kept while the link is down.
const MAX_OUTBOX: usize = 10_000;

/// What running a command came to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub success: bool,
    pub reason: Option<String>,
    /// Strings, numbers and lists or objects of them (others are converted or dropped).
    pub details: Option<Map<String, Value>>,
    /// Send a heartbeat, the inventory, the app list and telemetry before the final report.
    pub refresh: bool,
}

impl Outcome {
    pub fn success(reason: impl Into<String>) -> Self {
        Self {
            success: true,
            reason: Some(reason.into()),
            ..Self::default()
        }
    }

    pub fn failure(reason: impl Into<String>) -> Self {
        Self {
            success: false,
            reason: Some(reason.into()),
            ..Self::default()
        }
    }

    pub fn with_details(mut self, details: Map<String, Value>) -> Self {
        self.details = Some(details);
        self
    }

    pub fn with_refresh(mut self) -> Self {
        self.refresh = true;
        self
    }
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Carries out commands on one device.
pub trait Executor: Send + Sync + 'static {
    /// Runs one command. It should be done by `deadline`, having stopped anything it started;
    /// shortly after, the runner stops waiting and reports a timeout.
    fn execute<'a>(
        &'a self,
        command: &'a CommandFrame,
        deadline: Instant,
    ) -> BoxFuture<'a, Outcome>;
}

/// Something for the link to send when it can.
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    /// A progress report (in progress).
    Progress(CommandReport),
    /// A final report is waiting: [`CommandRunner::unsent_report`].
    Final(Uuid),
    /// A heartbeat, the inventory, the app list and telemetry, now.
    Refresh,
}

/// A command waiting its turn.
struct Waiting {
    frame: Box<CommandFrame>,
    budget: Duration,
    deadline: Instant,
}

#[derive(Default)]
struct Queue {
    waiting: VecDeque<Waiting>,
    running: Option<Uuid>,
    /// A worker task is draining `waiting` (it exits when it is empty).
    worker: bool,
    outbox: VecDeque<Outgoing>,
    /// Final reports not yet handed to a socket, oldest first.
    unsent: VecDeque<CommandReport>,
}

/// The commands of one device: dedup, queue, worker, and what the link has to send.
pub struct CommandRunner {
    executor: Arc<dyn Executor>,
    journal: Arc<Mutex<Journal>>,
    /// The journal writes to a file (fsync): do it off the async threads.
    journal_blocks: bool,
    queue: Mutex<Queue>,
    /// Woken when `queue.outbox` has something.
    wake: Notify,
}

impl std::fmt::Debug for CommandRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandRunner").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn progress(id: Uuid, state: CommandProgress) -> CommandReport {
    CommandReport {
        id,
        state,
        reason: None,
        details: None,
    }
}

fn failure(id: Uuid, reason: String) -> CommandReport {
    CommandReport {
        id,
        state: CommandProgress::Failure,
        reason: Some(reason),
        details: None,
    }
}

/// How long a command may run on the device: the server's time less a margin (5 %, 1–30 s)
/// for the report to reach it.
pub fn run_budget(timeout_secs: u64) -> Duration {
    let total = Duration::from_secs(timeout_secs);
    let margin = (total / 20).clamp(Duration::from_secs(1), Duration::from_secs(30));
    total.saturating_sub(margin).max(Duration::from_secs(1))
}

/// "42 s", "5 min", "2 h 30 min".
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..120 => format!("{s} s"),
        120..7200 if s.is_multiple_of(60) => format!("{} min", s / 60),
        120..7200 => format!("{} min {} s", s / 60, s % 60),
        _ if s.is_multiple_of(3600) => format!("{} h", s / 3600),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// `text` cut to at most `max` bytes at a character boundary.
pub fn bounded(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", text.get(..end).unwrap_or_default())
}

/// Details the server can render as a Python literal: booleans become "true"/"false", nulls
/// are dropped.
pub fn clean_details(details: Map<String, Value>) -> Map<String, Value> {
    fn clean(v: Value) -> Option<Value> {
        match v {
            Value::Null => None,
            Value::Bool(b) => Some(Value::String(b.to_string())),
            Value::Array(items) => {
                Some(Value::Array(items.into_iter().filter_map(clean).collect()))
            }
            Value::Object(m) => Some(Value::Object(clean_details(m))),
            other => Some(other),
        }
    }
    details
        .into_iter()
        .filter_map(|(k, v)| clean(v).map(|v| (k, v)))
        .collect()
}

fn report_of(id: Uuid, outcome: Outcome) -> CommandReport {
    CommandReport {
        id,
        state: if outcome.success {
            CommandProgress::Success
        } else {
            CommandProgress::Failure
        },
        reason: outcome.reason.map(|r| bounded(&r, MAX_REASON_BYTES)),
        details: outcome.details.map(clean_details).filter(|d| !d.is_empty()),
    }
}

/// The final report of a command that was running when the agent stopped. A reboot ends the
/// agent by design, so there that is its success.
fn interrupted_report(id: Uuid, command: &str) -> CommandReport {
    if command == "REBOOT" {
        return CommandReport {
            id,
            state: CommandProgress::Success,
            reason: Some("the device restarted".into()),
            details: None,
        };
    }
    failure(
        id,
        "the agent restarted while this command ran; it was not run again".into(),
    )
}

impl CommandRunner {
    /// A runner over `journal`. Commands the journal shows as started and never finished (the
    /// agent stopped while they ran) get their final report now, sent after the next connect.
    pub fn new(executor: Arc<dyn Executor>, mut journal: Journal) -> Arc<Self> {
        let mut queue = Queue::default();
        for (id, command) in journal.interrupted() {
            let report = interrupted_report(id, &command);
            if let Err(e) = journal.record_finished(report.clone()) {
                tracing::warn!(error = %e, %id, "cannot write the command journal");
            }
            queue.unsent.push_back(report);
        }
        while queue.unsent.len() > MAX_UNSENT {
            queue.unsent.pop_front();
        }
        Arc::new(Self {
            executor,
            journal_blocks: journal.is_file_backed(),
            journal: Arc::new(Mutex::new(journal)),
            queue: Mutex::new(queue),
            wake: Notify::new(),
        })
    }

    /// A delivery of `frame`: the report to send back now. A new command is queued.
    pub fn receive(self: &Arc<Self>, frame: Box<CommandFrame>) -> CommandReport {
        let id = frame.id;
        {
            let q = lock(&self.queue);
            if q.running == Some(id) {
                return progress(id, CommandProgress::InProgress);
            }
            if q.waiting.iter().any(|w| w.frame.id == id) {
                return progress(id, CommandProgress::Acknowledged);
            }
        }
        // Neither queued nor running, so the journal has its final report or nothing: the
        // worker writes the final report before it lets go of `running`.
        let known = lock(&self.journal).get(id).cloned();
        match known {
            Some(Entry::Finished(report)) => return report,
            Some(Entry::Started { command }) => {
                // Only possible if recording its end failed; never run it again.
                let report = interrupted_report(id, &command);
                let _ = lock(&self.journal).record_finished(report.clone());
                return report;
            }
            None => {}
        }
        let budget = run_budget(frame.timeout_secs);
        let mut q = lock(&self.queue);
        q.waiting.push_back(Waiting {
            frame,
            budget,
            // The server's clock for this command started when it sent it.
            deadline: Instant::now() + budget,
        });
        if !q.worker {
            q.worker = true;
            tokio::spawn(self.clone().work());
        }
        progress(id, CommandProgress::Acknowledged)
    }

    /// Final reports not yet sent (finished while the link was down, or before a restart).
    pub fn unsent(&self) -> Vec<CommandReport> {
        lock(&self.queue).unsent.iter().cloned().collect()
    }

    pub fn unsent_report(&self, id: Uuid) -> Option<CommandReport> {
        lock(&self.queue)
            .unsent
            .iter()
            .find(|r| r.id == id)
            .cloned()
    }

    /// The final report of `id` went out on a socket.
    pub fn mark_sent(&self, id: Uuid) {
        lock(&self.queue).unsent.retain(|r| r.id != id);
    }

    /// Resolves when there is something to send ([`CommandRunner::take_outgoing`]).
    pub async fn outgoing_ready(&self) {
        self.wake.notified().await;
    }

    /// What there is to send, oldest first. Progress of commands that have since finished is
    /// left out.
    pub fn take_outgoing(&self) -> Vec<Outgoing> {
        let mut q = lock(&self.queue);
        let items: Vec<Outgoing> = q.outbox.drain(..).collect();
        items
            .into_iter()
            .filter(|item| match item {
                Outgoing::Progress(r) => {
                    q.running == Some(r.id) || q.waiting.iter().any(|w| w.frame.id == r.id)
                }
                _ => true,
            })
            .collect()
    }

    fn push_outgoing(&self, items: impl IntoIterator<Item = Outgoing>) {
        {
            let mut q = lock(&self.queue);
            q.outbox.extend(items);
            while q.outbox.len() > MAX_OUTBOX {
                q.outbox.pop_front();
            }
        }
        self.wake.notify_one();
    }

    /// Runs a journal operation, off the async threads when it writes a file.
    async fn with_journal<T: Send + 'static>(
        &self,
        op: impl FnOnce(&mut Journal) -> T + Send + 'static,
    ) -> Option<T> {
        let journal = self.journal.clone();
        if !self.journal_blocks {
            return Some(op(&mut lock(&journal)));
        }
        tokio::task::spawn_blocking(move || op(&mut lock(&journal)))
            .await
            .ok()
    }

    /// Drains the queue one command at a time, then ends.
    async fn work(self: Arc<Self>) {
        loop {
            let next = {
                let mut q = lock(&self.queue);
                match q.waiting.pop_front() {
                    Some(w) => {
                        q.running = Some(w.frame.id);
                        w
                    }
                    None => {
                        q.worker = false;
                        return;
                    }
                }
            };
            let id = next.frame.id;
            let (report, refresh) = self.run_one(next).await;
            let stored = report.clone();
            match self.with_journal(move |j| j.record_finished(stored)).await {
                Some(Ok(())) => {}
                Some(Err(e)) => tracing::warn!(error = %e, %id, "cannot write the command journal"),
                None => tracing::warn!(%id, "cannot write the command journal"),
            }
            {
                let mut q = lock(&self.queue);
                q.running = None;
                q.unsent.push_back(report);
                while q.unsent.len() > MAX_UNSENT {
                    q.unsent.pop_front();
                }
            }
            let mut items = Vec::with_capacity(2);
            if refresh {
                items.push(Outgoing::Refresh);
            }
            items.push(Outgoing::Final(id));
            self.push_outgoing(items);
        }
    }

    /// Runs one command under its deadline: its final report, and whether to refresh first.
    async fn run_one(&self, w: Waiting) -> (CommandReport, bool) {
        let id = w.frame.id;
        if Instant::now() >= w.deadline {
            return (
                failure(
                    id,
                    format!(
                        "timed out on the device after {} waiting behind earlier commands; it was not run",
                        human(w.budget)
                    ),
                ),
                false,
            );
        }
        let command = w.frame.command.clone();
        match self
            .with_journal(move |j| j.record_started(id, &command))
            .await
        {
            Some(Ok(())) => {}
            failed => {
                let why = match failed {
                    Some(Err(e)) => e.to_string(),
                    _ => "the writer failed".into(),
                };
                return (
                    failure(
                        id,
                        format!(
                            "the agent cannot write its command journal ({why}); the command was not run, so that it can never run twice"
                        ),
                    ),
                    false,
                );
            }
        }
        tracing::info!(%id, command = %w.frame.command, "running a command");
        let executor = self.executor.clone();
        let deadline = w.deadline;
        let frame = w.frame;
        // Its own task: a panic in an executor ends this command only.
        let mut task = tokio::spawn(async move { executor.execute(&frame, deadline).await });
        let progress_at = tokio::time::sleep(PROGRESS_AFTER);
        tokio::pin!(progress_at);
        let mut told = false;
        let joined = loop {
            tokio::select! {
                joined = &mut task => break Some(joined),
                () = &mut progress_at, if !told => {
                    told = true;
                    self.push_outgoing([Outgoing::Progress(progress(id, CommandProgress::InProgress))]);
                }
                () = tokio::time::sleep_until(deadline + GRACE) => {
                    task.abort();
                    // Let it be dropped (its processes killed) before the next one starts.
                    let _ = tokio::time::timeout(GRACE, &mut task).await;
                    break None;
                }
            }
        };
        match joined {
            Some(Ok(outcome)) => {
                let refresh = outcome.refresh;
                (report_of(id, outcome), refresh)
            }
            Some(Err(e)) => {
                tracing::error!(%id, error = %e, "a command's executor failed");
                (
                    failure(id, "the agent failed while running this command".into()),
                    false,
                )
            }
            None => (
                failure(
                    id,
                    format!("timed out on the device after {}", human(w.budget)),
                ),
                false,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn the_catalog_is_sorted_and_holds_every_linux_builtin() {
        let mut sorted = CATALOG.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, CATALOG);
        for name in LINUX_BUILTINS {
            assert!(CATALOG.contains(&name), "{name}");
        }
    }

    /// Counts runs; `SLOW` takes 300 ms, `STUCK` never ends, `FAIL` fails.
    #[derive(Default)]
    struct Counting {
        runs: Mutex<Vec<(Uuid, String)>>,
        busy: AtomicUsize,
    }

    impl Executor for Counting {
        fn execute<'a>(
            &'a self,
            command: &'a CommandFrame,
            _deadline: Instant,
        ) -> BoxFuture<'a, Outcome> {
            Box::pin(async move {
                assert_eq!(self.busy.fetch_add(1, Ordering::SeqCst), 0, "one at a time");
                lock(&self.runs).push((command.id, command.command.clone()));
                let outcome = match command.command.as_str() {
                    "SLOW" => {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        Outcome::success("slow")
                    }
                    "STUCK" => {
                        // Ignores its deadline; the runner must not wait for it.
                        let _guard = Busy(&self.busy);
                        std::future::pending::<Outcome>().await
                    }
                    "FAIL" => Outcome::failure("no"),
                    "REFRESH" => Outcome::success("ok").with_refresh(),
                    _ => {
                        let mut d = Map::new();
                        d.insert("flag".into(), Value::Bool(true));
                        d.insert("none".into(), Value::Null);
                        d.insert("n".into(), 3.into());
                        Outcome::success("ok").with_details(d)
                    }
                };
                self.busy.fetch_sub(1, Ordering::SeqCst);
                outcome
            })
        }
    }

    /// Marks the executor idle when an aborted run is dropped.
    struct Busy<'a>(&'a AtomicUsize);
    impl Drop for Busy<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn frame(command: &str, timeout_secs: u64) -> Box<CommandFrame> {
        Box::new(CommandFrame {
            id: Uuid::now_v7(),
            command: command.into(),
            args: Map::new(),
            timeout_secs,
        })
    }

    /// Collects final reports from the outbox until `n` have arrived.
    async fn finals(runner: &CommandRunner, n: usize) -> Vec<CommandReport> {
        let mut out = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while out.len() < n {
            tokio::time::timeout_at(deadline, runner.outgoing_ready())
                .await
                .expect("final reports in time");
            for item in runner.take_outgoing() {
                if let Outgoing::Final(id) = item {
                    let report = runner.unsent_report(id).expect("unsent until sent");
                    runner.mark_sent(id);
                    out.push(report);
                }
            }
        }
        out
    }

    #[tokio::test]
    async fn each_id_runs_once_in_arrival_order() {
        let exec = Arc::new(Counting::default());
        let runner = CommandRunner::new(exec.clone(), Journal::in_memory());
        let (a, b, c) = (frame("SLOW", 60), frame("OTHER", 60), frame("FAIL", 60));
        assert_eq!(
            runner.receive(a.clone()).state,
            CommandProgress::Acknowledged
        );
        assert_eq!(
            runner.receive(b.clone()).state,
            CommandProgress::Acknowledged
        );
        assert_eq!(
            runner.receive(c.clone()).state,
            CommandProgress::Acknowledged
        );
        // Repeats while queued or running are acknowledged again, not queued again.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(runner.receive(a.clone()).state, CommandProgress::InProgress);
        assert_eq!(
            runner.receive(b.clone()).state,
            CommandProgress::Acknowledged
        );
        let reports = finals(&runner, 3).await;
        let ids: Vec<Uuid> = reports.iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![a.id, b.id, c.id]);
        assert_eq!(reports[2].state, CommandProgress::Failure);
        assert_eq!(reports[2].reason.as_deref(), Some("no"));
        // Details are made renderable: no booleans, no nulls.
        let details = reports[1].details.clone().unwrap();
        assert_eq!(details.get("flag"), Some(&Value::String("true".into())));
        assert!(!details.contains_key("none"));
        // A finished id is answered with its stored report and not run again.
        assert_eq!(runner.receive(b.clone()), reports[1]);
        assert_eq!(runner.receive(c.clone()), reports[2]);
        let runs: Vec<Uuid> = lock(&exec.runs).iter().map(|r| r.0).collect();
        assert_eq!(runs, vec![a.id, b.id, c.id]);
        assert!(runner.unsent().is_empty());
    }

    #[tokio::test]
    async fn a_stuck_command_times_out_and_the_next_one_runs() {
        let exec = Arc::new(Counting::default());
        let runner = CommandRunner::new(exec.clone(), Journal::in_memory());
        let stuck = frame("STUCK", 2);
        let next = frame("REFRESH", 60);
        runner.receive(stuck.clone());
        runner.receive(next.clone());
        let started = std::time::Instant::now();
        let mut saw_progress = false;
        let mut saw_refresh_before_final = false;
        let mut reports = Vec::new();
        while reports.len() < 2 {
            tokio::time::timeout(Duration::from_secs(10), runner.outgoing_ready())
                .await
                .unwrap();
            for item in runner.take_outgoing() {
                match item {
                    Outgoing::Progress(r) => {
                        assert_eq!((r.id, r.state), (stuck.id, CommandProgress::InProgress));
                        saw_progress = true;
                    }
                    Outgoing::Refresh => saw_refresh_before_final = reports.len() == 1,
                    Outgoing::Final(id) => reports.push(runner.unsent_report(id).unwrap()),
                }
            }
        }
        assert!(saw_progress, "a long run is reported in progress");
        assert!(saw_refresh_before_final);
        assert_eq!(reports[0].id, stuck.id);
        assert_eq!(reports[0].state, CommandProgress::Failure);
        assert!(
            reports[0]
                .reason
                .as_deref()
                .unwrap()
                .starts_with("timed out on the device after 1 s"),
            "{:?}",
            reports[0].reason
        );
        assert_eq!(reports[1].state, CommandProgress::Success);
        assert!(started.elapsed() < Duration::from_secs(5));
        // Both are still unsent: the link has not marked them.
        assert_eq!(runner.unsent().len(), 2);
    }

    #[tokio::test]
    async fn a_restart_does_not_run_a_command_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.commands.jsonl");
        let exec = Arc::new(Counting::default());
        let done = frame("OTHER", 60);
        let crashed = frame("LOCK", 60);
        let rebooting = frame("REBOOT", 60);
        let first_report = {
            let runner = CommandRunner::new(exec.clone(), Journal::open(&path).unwrap());
            runner.receive(done.clone());
            let report = finals(&runner, 1).await.remove(0);
            // The agent stops while these two run.
            let mut j = lock(&runner.journal);
            j.record_started(crashed.id, "LOCK").unwrap();
            j.record_started(rebooting.id, "REBOOT").unwrap();
            report
        };
        let runner = CommandRunner::new(exec.clone(), Journal::open(&path).unwrap());
        // The interrupted ones are reported after the next connect, without being delivered.
        let unsent = runner.unsent();
        assert_eq!(unsent.len(), 2);
        assert_eq!(unsent[0].id, crashed.id);
        assert_eq!(unsent[0].state, CommandProgress::Failure);
        assert!(unsent[0].reason.as_deref().unwrap().contains("restarted"));
        assert_eq!(
            unsent[1].state,
            CommandProgress::Success,
            "a reboot restarts"
        );
        // Deliveries again: the stored reports, no runs.
        assert_eq!(runner.receive(done.clone()), first_report);
        assert_eq!(runner.receive(crashed.clone()), unsent[0]);
        assert_eq!(runner.receive(rebooting.clone()), unsent[1]);
        assert_eq!(lock(&exec.runs).len(), 1);
    }

    #[test]
    fn budgets_leave_room_to_report() {
        assert_eq!(run_budget(120), Duration::from_secs(114));
        assert_eq!(run_budget(2), Duration::from_secs(1));
        assert_eq!(run_budget(0), Duration::from_secs(1));
        assert_eq!(run_budget(259_200), Duration::from_secs(259_170));
        assert_eq!(human(Duration::from_secs(114)), "114 s");
        assert_eq!(human(Duration::from_secs(1710)), "28 min 30 s");
        assert_eq!(human(Duration::from_secs(259_170)), "71 h 59 min");
        assert_eq!(bounded("ééé", 3), "é…");
    }
}
