//! The agent's credential on disk: written once at enrolment, readable by its owner only.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where the agent keeps its state unless told otherwise.
pub const DEFAULT_STATE_FILE: &str = "/var/lib/steward-agent/state.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentState {
    /// The server's base URL, e.g. `https://mdm.example.com`.
    pub server: String,
    pub device_id: Uuid,
    pub enterprise_id: Uuid,
    pub device_token: String,
}

pub fn default_state_file() -> PathBuf {
    std::env::var_os("STEWARD_AGENT_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_FILE))
}

impl AgentState {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read {} (enrol first: steward-agent enroll)",
                path.display()
            )
        })?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not agent state", path.display()))
    }

    /// Writes the state with mode 0600, through a temporary file so a crash leaves either the
    /// old file or the new one.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let tmp = path.with_extension("tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        file.write_all(serde_json::to_string_pretty(self)?.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_state_is_private_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/state.json");
        let state = AgentState {
            server: "https://x".into(),
            device_id: Uuid::new_v4(),
            enterprise_id: Uuid::new_v4(),
            device_token: "dev_secret".into(),
        };
        state.save(&path).unwrap();
        assert_eq!(AgentState::load(&path).unwrap(), state);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert!(AgentState::load(&dir.path().join("missing")).is_err());
    }
}
