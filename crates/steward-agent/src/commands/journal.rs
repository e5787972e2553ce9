//! The command journal: which command ids this device has started and finished, so that a
//! command delivered again (delivery is at least once) never runs twice, even across restarts
//! of the agent.
//!
//! On disk it is a JSON-lines file next to the agent's state file, one line appended (and
//! fsynced) before a command runs and one after it ends. The newest [`MAX_IDS`] ids are kept;
//! once the file has grown past twice that many lines it is rewritten with one line per kept
//! id. Script output can be 32 KiB per command, so only the newest [`KEEP_DETAILS`] results
//! keep their `details`: the journal stays small in memory and on disk.

use std::collections::{HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use steward_proto::agent::CommandReport;
use uuid::Uuid;

/// Ids remembered.
pub const MAX_IDS: usize = 10_000;
/// Results that keep their `details`; older ones keep only state and reason.
pub const KEEP_DETAILS: usize = 100;
/// The file is compacted at this size even before it has too many lines.
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// One line of the file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum Line {
    Started { id: Uuid, command: String },
    Finished { report: CommandReport },
}

/// What the journal knows about one id.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// It was started and has not finished: still running, or the agent stopped while it ran.
    Started { command: String },
    /// Its final report (success or failure).
    Finished(CommandReport),
}

#[derive(Debug)]
struct JournalFile {
    path: PathBuf,
    file: File,
    lines: usize,
    bytes: u64,
    /// The last write may have left half a line: the next one starts on a fresh line.
    torn: bool,
}

/// The ids this device has run; file-backed (a real agent) or in memory (a simulated device).
#[derive(Debug)]
pub struct Journal {
    file: Option<JournalFile>,
    entries: HashMap<Uuid, Entry>,
    /// Ids, oldest first, for forgetting the oldest.
    order: VecDeque<Uuid>,
    /// Finished ids whose report still has its details, oldest first.
    detailed: VecDeque<Uuid>,
    max_ids: usize,
}

/// Where the journal of the agent whose state is in `state_file` lives.
pub fn journal_file(state_file: &Path) -> PathBuf {
    state_file.with_extension("commands.jsonl")
}

impl Journal {
    /// A journal that lives only as long as the process (simulated devices).
    pub fn in_memory() -> Self {
        Self {
            file: None,
            entries: HashMap::new(),
            order: VecDeque::new(),
            detailed: VecDeque::new(),
            max_ids: MAX_IDS,
        }
    }

    /// Opens (or creates, mode 0600) the journal file and reads what it holds. Lines that do
    /// not parse (a write torn by a crash) are skipped.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        Self::open_bounded(path, MAX_IDS)
    }

    fn open_bounded(path: &Path, max_ids: usize) -> std::io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)?;
        let mut journal = Self {
            max_ids,
            ..Self::in_memory()
        };
        let mut lines = 0;
        let mut bytes = 0u64;
        let mut torn = false;
        let mut skipped = 0usize;
        for line in BufReader::new(&file).split(b'\n') {
            let line = line?;
            lines += 1;
            bytes += line.len() as u64 + 1;
            torn = false;
            match serde_json::from_slice::<Line>(&line) {
                Ok(Line::Started { id, command }) => {
                    journal.remember(id, Entry::Started { command })
                }
                Ok(Line::Finished { report }) => {
                    journal.remember(report.id, Entry::Finished(report))
                }
                Err(_) if line.iter().all(u8::is_ascii_whitespace) => {}
                Err(_) => {
                    skipped += 1;
                    torn = true;
                }
            }
        }
        // `split` cannot tell whether the last line had its newline; the length can.
        let length = file.metadata()?.len();
        if length != bytes {
            torn = true;
            bytes = length;
        }
        if skipped > 0 {
            tracing::warn!(path = %path.display(), skipped, "skipped unreadable lines of the command journal");
        }
        journal.file = Some(JournalFile {
            path: path.to_path_buf(),
            file,
            lines,
            bytes,
            torn,
        });
        journal.compact_if_needed();
        Ok(journal)
    }

    pub fn get(&self, id: Uuid) -> Option<&Entry> {
        self.entries.get(&id)
    }

    /// Ids started and never finished, oldest first, with their command names.
    pub fn interrupted(&self) -> Vec<(Uuid, String)> {
        self.order
            .iter()
            .filter_map(|id| match self.entries.get(id) {
                Some(Entry::Started { command }) => Some((*id, command.clone())),
                _ => None,
            })
            .collect()
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether it writes a file (and so blocks on fsync).
    pub fn is_file_backed(&self) -> bool {
        self.file.is_some()
    }

    /// Records that `id` is about to run. Only once this returned Ok may it run: a command
    /// whose start could not be recorded might otherwise run again after a restart.
    pub fn record_started(&mut self, id: Uuid, command: &str) -> std::io::Result<()> {
        self.append(&Line::Started {
            id,
            command: command.to_string(),
        })?;
        self.remember(
            id,
            Entry::Started {
                command: command.to_string(),
            },
        );
        self.compact_if_needed();
        Ok(())
    }

    /// Records a final report. It is remembered even when the file cannot be written, so this
    /// run of the agent still answers a repeat with it.
    pub fn record_finished(&mut self, report: CommandReport) -> std::io::Result<()> {
        let written = self.append(&Line::Finished {
            report: report.clone(),
        });
        self.remember(report.id, Entry::Finished(report));
        if written.is_ok() {
            self.compact_if_needed();
        }
        written
    }

    fn remember(&mut self, id: Uuid, entry: Entry) {
        let detailed = matches!(&entry, Entry::Finished(r) if r.details.is_some());
        if self.entries.insert(id, entry).is_none() {
            self.order.push_back(id);
        }
        if detailed {
            self.detailed.push_back(id);
            while self.detailed.len() > KEEP_DETAILS {
                let Some(old) = self.detailed.pop_front() else {
                    break;
                };
                if old == id {
                    continue;
                }
                if let Some(Entry::Finished(report)) = self.entries.get_mut(&old) {
                    report.details = None;
                }
            }
        }
        while self.order.len() > self.max_ids {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            self.entries.remove(&old);
        }
    }

    fn append(&mut self, line: &Line) -> std::io::Result<()> {
        let Some(f) = &mut self.file else {
            return Ok(());
        };
        let mut text = if f.torn {
            "\n".to_string()
        } else {
            String::new()
        };
        text.push_str(&serde_json::to_string(line)?);
        text.push('\n');
        // Until this write is known to be whole, assume it is not.
        f.torn = true;
        f.file.write_all(text.as_bytes())?;
        f.file.sync_data()?;
        f.torn = false;
        f.lines += 1;
        f.bytes += text.len() as u64;
        Ok(())
    }

    fn compact_if_needed(&mut self) {
        let Some(f) = &self.file else {
            return;
        };
        if f.lines <= 2 * self.max_ids && f.bytes <= MAX_FILE_BYTES {
            return;
        }
        if let Err(e) = self.compact() {
            tracing::warn!(error = %e, "cannot compact the command journal; appending to it as it is");
        }
    }

    /// Rewrites the file with one line per remembered id, through a temporary file so that a
    /// crash leaves the old file or the new one.
    fn compact(&mut self) -> std::io::Result<()> {
        let Some(f) = &mut self.file else {
            return Ok(());
        };
        let mut tmp_name = f.path.as_os_str().to_owned();
        tmp_name.push(".tmp");
        let tmp = PathBuf::from(tmp_name);
        let mut out = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        let mut text = String::new();
        for id in &self.order {
            let line = match self.entries.get(id) {
                Some(Entry::Started { command }) => Line::Started {
                    id: *id,
                    command: command.clone(),
                },
                Some(Entry::Finished(report)) => Line::Finished {
                    report: report.clone(),
                },
                None => continue,
            };
            text.push_str(&serde_json::to_string(&line)?);
            text.push('\n');
        }
        out.write_all(text.as_bytes())?;
        out.sync_all()?;
        drop(out);
        std::fs::rename(&tmp, &f.path)?;
        if let Some(dir) = f.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // The rename is durable only once the directory is.
            File::open(dir)?.sync_all()?;
        }
        f.file = OpenOptions::new().append(true).open(&f.path)?;
        f.lines = self.order.len();
        f.bytes = text.len() as u64;
        f.torn = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use steward_proto::agent::CommandProgress;

    fn report(id: Uuid, details: bool) -> CommandReport {
        CommandReport {
            id,
            state: CommandProgress::Success,
            reason: Some("done".into()),
            details: details.then(|| {
                let mut m = serde_json::Map::new();
                m.insert("stdout".into(), "x".repeat(100).into());
                m
            }),
        }
    }

    fn line_count(path: &Path) -> usize {
        std::fs::read_to_string(path).unwrap().lines().count()
    }

    #[test]
    fn a_started_command_that_never_finished_is_found_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.commands.jsonl");
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        {
            let mut j = Journal::open(&path).unwrap();
            j.record_started(a, "REBOOT").unwrap();
            j.record_started(b, "LOCK").unwrap();
            j.record_finished(report(b, true)).unwrap();
        }
        let j = Journal::open(&path).unwrap();
        assert_eq!(j.interrupted(), vec![(a, "REBOOT".to_string())]);
        assert_eq!(j.get(b), Some(&Entry::Finished(report(b, true))));
        assert_eq!(j.get(Uuid::new_v4()), None);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn the_file_is_compacted_and_keeps_the_newest_ids() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut j = Journal::open_bounded(&path, 10).unwrap();
        let ids: Vec<Uuid> = (0..57).map(|_| Uuid::new_v4()).collect();
        for id in &ids {
            j.record_started(*id, "UPDATE_HEARTBEAT").unwrap();
            j.record_finished(report(*id, false)).unwrap();
            assert!(line_count(&path) <= 20, "bounded at twice the ids");
        }
        assert_eq!(j.len(), 10);
        assert!(j.get(ids[46]).is_none(), "the oldest are forgotten");
        drop(j);
        let j = Journal::open_bounded(&path, 10).unwrap();
        assert_eq!(j.len(), 10);
        for id in &ids[47..] {
            assert_eq!(j.get(*id), Some(&Entry::Finished(report(*id, false))));
        }
        assert!(j.interrupted().is_empty());
        // A bigger file (a bound lowered between versions) is compacted when opened.
        drop(j);
        let j = Journal::open_bounded(&path, 3).unwrap();
        assert_eq!(j.len(), 3);
        assert_eq!(line_count(&path), 3);
    }

    #[test]
    fn a_torn_last_line_is_skipped_and_the_next_append_starts_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let a = Uuid::new_v4();
        {
            let mut j = Journal::open(&path).unwrap();
            j.record_started(a, "LOCK").unwrap();
            j.record_finished(report(a, false)).unwrap();
        }
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(br#"{"event":"started","id":"#).unwrap();
        drop(file);
        let b = Uuid::new_v4();
        {
            let mut j = Journal::open(&path).unwrap();
            assert_eq!(j.get(a), Some(&Entry::Finished(report(a, false))));
            j.record_started(b, "WIPE").unwrap();
        }
        let j = Journal::open(&path).unwrap();
        assert_eq!(j.interrupted(), vec![(b, "WIPE".to_string())]);
    }

    #[test]
    fn only_the_newest_results_keep_their_details() {
        let mut j = Journal::in_memory();
        let ids: Vec<Uuid> = (0..KEEP_DETAILS + 5).map(|_| Uuid::new_v4()).collect();
        for id in &ids {
            j.record_finished(report(*id, true)).unwrap();
        }
        let Some(Entry::Finished(old)) = j.get(ids[4]) else {
            panic!("remembered")
        };
        assert_eq!(old.details, None);
        assert_eq!(old.reason.as_deref(), Some("done"));
        let Some(Entry::Finished(new)) = j.get(ids[5]) else {
            panic!("remembered")
        };
        assert!(new.details.is_some());
    }
}
