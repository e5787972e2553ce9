//! The life of one command on one device, with Esper's state names.
//!
//! Queued (waiting for an offline device) or Scheduled (waiting for its window) → Initiated
//! (sent) → Acknowledged (the agent has it) → In Progress → Success | Failure. Any state before
//! an end can time out; Queued and Scheduled can be cancelled. A redelivered command may be
//! acknowledged again, and a late report never reopens an ended command.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CommandState {
    #[serde(rename = "Command Queued")]
    Queued,
    #[serde(rename = "Command Scheduled")]
    Scheduled,
    #[serde(rename = "Command Initiated")]
    Initiated,
    #[serde(rename = "Command Acknowledged")]
    Acknowledged,
    #[serde(rename = "Command In Progress")]
    InProgress,
    #[serde(rename = "Command Success")]
    Success,
    #[serde(rename = "Command Failure")]
    Failure,
    #[serde(rename = "Command TimeOut")]
    TimeOut,
    #[serde(rename = "Command Cancelled")]
    Cancelled,
}

impl CommandState {
    pub const ALL: [CommandState; 9] = [
        CommandState::Queued,
        CommandState::Scheduled,
        CommandState::Initiated,
        CommandState::Acknowledged,
        CommandState::InProgress,
        CommandState::Success,
        CommandState::Failure,
        CommandState::TimeOut,
        CommandState::Cancelled,
    ];

    /// Esper's name, e.g. `Command Success`.
    pub fn name(self) -> &'static str {
        match self {
            CommandState::Queued => "Command Queued",
            CommandState::Scheduled => "Command Scheduled",
            CommandState::Initiated => "Command Initiated",
            CommandState::Acknowledged => "Command Acknowledged",
            CommandState::InProgress => "Command In Progress",
            CommandState::Success => "Command Success",
            CommandState::Failure => "Command Failure",
            CommandState::TimeOut => "Command TimeOut",
            CommandState::Cancelled => "Command Cancelled",
        }
    }

    /// Reads Esper's name (as a filter or a stored value).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Whether the command has ended on this device.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            CommandState::Success
                | CommandState::Failure
                | CommandState::TimeOut
                | CommandState::Cancelled
        )
    }

    /// Whether the command still waits on the server (not yet sent to the device).
    pub fn is_waiting(self) -> bool {
        matches!(self, CommandState::Queued | CommandState::Scheduled)
    }

    fn rank(self) -> u8 {
        match self {
            CommandState::Queued | CommandState::Scheduled => 0,
            CommandState::Initiated => 1,
            CommandState::Acknowledged => 2,
            CommandState::InProgress => 3,
            _ => 4,
        }
    }

    /// Whether a command in this state may move to `next`. Moves go forward only; an ended
    /// command never changes again; only waiting commands can be cancelled; a scheduled one
    /// can be queued when its window opens on an offline device.
    pub fn can_become(self, next: CommandState) -> bool {
        if self.is_terminal() || self == next {
            return false;
        }
        match next {
            CommandState::Cancelled => self.is_waiting(),
            CommandState::TimeOut => true,
            CommandState::Queued => self == CommandState::Scheduled,
            CommandState::Scheduled => false,
            _ => next.rank() > self.rank(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CommandState::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for s in CommandState::ALL {
            assert_eq!(CommandState::from_name(s.name()), Some(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.name())
            );
        }
        assert_eq!(CommandState::from_name("Command Exploded"), None);
    }

    #[test]
    fn moves_go_forward_and_ends_are_final() {
        assert!(Queued.can_become(Initiated));
        assert!(Initiated.can_become(Acknowledged));
        assert!(
            Initiated.can_become(Success),
            "a fast agent may report the result directly"
        );
        assert!(InProgress.can_become(Failure));
        assert!(Scheduled.can_become(Queued));
        assert!(
            !Acknowledged.can_become(Initiated),
            "a redelivery does not go back"
        );
        for end in [Success, Failure, TimeOut, Cancelled] {
            for next in CommandState::ALL {
                assert!(!end.can_become(next), "{end:?} → {next:?}");
            }
        }
    }

    #[test]
    fn only_waiting_commands_can_be_cancelled_and_anything_open_can_time_out() {
        assert!(Queued.can_become(Cancelled));
        assert!(Scheduled.can_become(Cancelled));
        assert!(!Initiated.can_become(Cancelled));
        for open in [Queued, Scheduled, Initiated, Acknowledged, InProgress] {
            assert!(open.can_become(TimeOut));
        }
    }
}
