//! Running an outside program for a command (a hook, a script, a desktop tool): in its own
//! process group, so that a timeout stops everything it started; until a deadline; keeping
//! only the tail of its output.

use std::io::ErrorKind;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};
use tokio::time::Instant;

/// How much of each of stdout and stderr is kept: the last 16 KiB.
pub const OUTPUT_TAIL: usize = 16 * 1024;
/// After the program ended, how long its output may still take to drain (a background
/// process it left behind can hold the pipes open for ever).
const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// How a program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    /// It was still running at the deadline; its process group was killed.
    TimedOut,
}

impl Exit {
    /// A number for reports: the exit code, or 128 + the signal as shells do.
    pub fn code(self) -> i64 {
        match self {
            Exit::Code(c) => i64::from(c),
            Exit::Signal(s) => 128 + i64::from(s),
            Exit::TimedOut => 128 + 9,
        }
    }

    pub fn success(self) -> bool {
        self == Exit::Code(0)
    }

    /// "exited with status 3", "was killed by signal 15".
    pub fn describe(self) -> String {
        match self {
            Exit::Code(c) => format!("exited with status {c}"),
            Exit::Signal(s) => format!("was killed by signal {s}"),
            Exit::TimedOut => "was stopped at the deadline".into(),
        }
    }
}

/// What a program did.
#[derive(Debug, Clone)]
pub struct Finished {
    pub exit: Exit,
    /// The last [`OUTPUT_TAIL`] bytes, invalid UTF-8 replaced.
    pub stdout: String,
    pub stderr: String,
}

/// Longest piece of a program's stderr put in a reason.
const REASON_STDERR: usize = 1024;

impl Finished {
    /// exit_code, stdout and stderr, for a report's details.
    pub fn details(&self) -> Map<String, Value> {
        let mut d = Map::new();
        d.insert("exit_code".into(), self.exit.code().into());
        d.insert("stdout".into(), self.stdout.clone().into());
        d.insert("stderr".into(), self.stderr.clone().into());
        d
    }

    /// The end of stderr, for a reason.
    pub fn stderr_tail(&self) -> Option<String> {
        let text = self.stderr.trim();
        (!text.is_empty()).then(|| tail_text(text.as_bytes(), REASON_STDERR))
    }
}

/// The reason of a run stopped at its deadline.
pub fn timed_out(budget: Duration, what: &str) -> String {
    format!(
        "timed out on the device after {}; {what} and everything it started were stopped",
        super::human(budget)
    )
}

/// Keeps the last `cap` bytes of a stream.
#[derive(Debug, Default)]
struct Tail {
    bytes: Vec<u8>,
}

impl Tail {
    fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
        // Trim in bulk, not on every chunk.
        if self.bytes.len() > 2 * OUTPUT_TAIL {
            let cut = self.bytes.len() - OUTPUT_TAIL;
            self.bytes.drain(..cut);
        }
    }
}

/// The last `cap` bytes as text, not starting in the middle of a character.
pub fn tail_text(bytes: &[u8], cap: usize) -> String {
    let mut start = bytes.len().saturating_sub(cap);
    // Skip at most three UTF-8 continuation bytes left over from a cut character.
    for _ in 0..3 {
        match bytes.get(start) {
            Some(b) if start > 0 && (b & 0b1100_0000) == 0b1000_0000 => start += 1,
            _ => break,
        }
    }
    String::from_utf8_lossy(bytes.get(start..).unwrap_or_default()).into_owned()
}

async fn read_into(mut stream: impl AsyncRead + Unpin, tail: Arc<Mutex<Tail>>) {
    let mut buf = vec![0u8; 8192];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => tail
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(buf.get(..n).unwrap_or_default()),
        }
    }
}

/// Spawns, retrying briefly when the executable was just written ("text file busy": another
/// thread's fork may still hold it open for writing).
async fn spawn(command: &mut Command) -> std::io::Result<Child> {
    let mut tries = 0;
    loop {
        match command.spawn() {
            Err(e) if e.kind() == ErrorKind::ExecutableFileBusy && tries < 10 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            result => return result,
        }
    }
}

/// Kills the child's whole process group. std has no killpg and this crate forbids unsafe
/// code, so it asks `kill(1)`; the child alone is killed where that fails.
async fn kill_group(child: &mut Child) {
    if let Some(pid) = child.id() {
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{pid}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
    }
    let _ = child.start_kill();
}

/// Runs `command` with `input` on its stdin (or none), until it ends or `deadline` passes.
/// An error means it could not be started (`NotFound`: no such program).
pub async fn run(
    mut command: Command,
    input: Option<Vec<u8>>,
    deadline: Instant,
) -> std::io::Result<Finished> {
    command
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = spawn(&mut command).await?;
    if let (Some(mut stdin), Some(input)) = (child.stdin.take(), input) {
        // A program that does not read its input must not stall the run.
        tokio::spawn(async move {
            let _ = stdin.write_all(&input).await;
        });
    }
    let out = Arc::new(Mutex::new(Tail::default()));
    let err = Arc::new(Mutex::new(Tail::default()));
    let mut readers = Vec::new();
    if let Some(s) = child.stdout.take() {
        readers.push(tokio::spawn(read_into(s, out.clone())));
    }
    if let Some(s) = child.stderr.take() {
        readers.push(tokio::spawn(read_into(s, err.clone())));
    }
    let exit = tokio::select! {
        status = child.wait() => match status {
            Ok(s) => match (s.code(), s.signal()) {
                (Some(c), _) => Exit::Code(c),
                (None, Some(sig)) => Exit::Signal(sig),
                (None, None) => Exit::Code(-1),
            },
            Err(e) => {
                kill_group(&mut child).await;
                return Err(e);
            }
        },
        () = tokio::time::sleep_until(deadline) => {
            kill_group(&mut child).await;
            let _ = child.wait().await;
            Exit::TimedOut
        }
    };
    let drained_by = Instant::now() + DRAIN_GRACE;
    for mut reader in readers {
        if tokio::time::timeout_at(drained_by, &mut reader)
            .await
            .is_err()
        {
            reader.abort();
        }
    }
    let text = |t: &Arc<Mutex<Tail>>| {
        tail_text(
            &t.lock().unwrap_or_else(PoisonError::into_inner).bytes,
            OUTPUT_TAIL,
        )
    };
    Ok(Finished {
        exit,
        stdout: text(&out),
        stderr: text(&err),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_tail_does_not_start_inside_a_character() {
        let text = "é".repeat(10);
        let tail = tail_text(text.as_bytes(), 5);
        assert_eq!(tail, "éé");
        assert_eq!(tail_text(b"abc", 10), "abc");
        assert_eq!(tail_text(b"", 10), "");
    }

    #[tokio::test]
    async fn input_output_and_exit_codes() {
        let mut c = Command::new("sh");
        c.args(["-c", "cat; echo err >&2; exit 4"]);
        let done = run(
            c,
            Some(b"hello".to_vec()),
            Instant::now() + Duration::from_secs(10),
        )
        .await
        .unwrap();
        assert_eq!(done.exit, Exit::Code(4));
        assert_eq!(done.stdout, "hello");
        assert_eq!(done.stderr, "err\n");
        let missing = run(
            Command::new("/nonexistent/steward-test"),
            None,
            Instant::now() + Duration::from_secs(1),
        )
        .await;
        assert_eq!(missing.unwrap_err().kind(), ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn long_output_keeps_its_end() {
        let mut c = Command::new("sh");
        c.args([
            "-c",
            "i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done",
        ]);
        let done = run(c, None, Instant::now() + Duration::from_secs(20))
            .await
            .unwrap();
        assert!(done.exit.success());
        assert!(done.stdout.len() <= OUTPUT_TAIL);
        assert!(done.stdout.len() > OUTPUT_TAIL - 20);
        assert!(done.stdout.ends_with("line-2999\n"));
    }
}
