//! The open device sockets of this node. A second connection of a device replaces the first;
//! a session removes itself when it ends, unless it was already replaced.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use dashmap::DashMap;
use steward_proto::agent::ServerFrame;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Frames waiting for one device's socket; a device that cannot keep up is disconnected
/// rather than allowed to grow memory.
pub const OUTBOUND_QUEUE: usize = 64;

/// Why a session is told to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    Replaced,
    Deleted,
    Shutdown,
    /// Its outbound queue was full.
    Overloaded,
}

impl CloseReason {
    pub fn text(self) -> &'static str {
        match self {
            CloseReason::Replaced => "replaced by a newer connection of this device",
            CloseReason::Deleted => "device deleted",
            CloseReason::Shutdown => "server shutting down",
            CloseReason::Overloaded => "too many frames waiting for this device",
        }
    }
}

struct Session {
    id: u64,
    /// When this node last wrote the device's presence (its connection counts).
    presence_written: Instant,
    outbound: mpsc::Sender<ServerFrame>,
    wake: std::sync::Arc<tokio::sync::Notify>,
    stop: CancellationToken,
    reason: std::sync::Arc<std::sync::Mutex<Option<CloseReason>>>,
}

/// What a new session holds: its id, its outbound queue and its stop signal.
pub struct Registration {
    pub session_id: u64,
    pub outbound: mpsc::Receiver<ServerFrame>,
    /// Signalled when the device may have commands waiting.
    pub wake: std::sync::Arc<tokio::sync::Notify>,
    pub stop: CancellationToken,
    reason: std::sync::Arc<std::sync::Mutex<Option<CloseReason>>>,
}

impl Registration {
    /// Why the session was told to stop, once it was.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.reason.lock().ok().and_then(|r| *r)
    }
}

#[derive(Default)]
pub struct Registry {
    sessions: DashMap<Uuid, Session>,
    next_id: AtomicU64,
}

impl Registry {
    /// Registers a new socket of `device`, ending any earlier one.
    pub fn register(&self, device: Uuid) -> Registration {
        let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
        let stop = CancellationToken::new();
        let reason = std::sync::Arc::new(std::sync::Mutex::new(None));
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let wake = std::sync::Arc::new(tokio::sync::Notify::new());
        let previous = self.sessions.insert(
            device,
            Session {
                id,
                presence_written: Instant::now(),
                outbound: tx,
                wake: wake.clone(),
                stop: stop.clone(),
                reason: reason.clone(),
            },
        );
        if let Some(old) = previous {
            signal(&old, CloseReason::Replaced);
        }
        Registration {
            session_id: id,
            outbound: rx,
            wake,
            stop,
            reason,
        }
    }

    /// Removes the session if it is still the device's current one.
    pub fn unregister(&self, device: Uuid, session_id: u64) {
        self.sessions.remove_if(&device, |_, s| s.id == session_id);
    }

    /// Ends the device's session, if it has one here.
    pub fn disconnect(&self, device: Uuid, reason: CloseReason) -> bool {
        match self.sessions.remove(&device) {
            Some((_, session)) => {
                signal(&session, reason);
                true
            }
            None => false,
        }
    }

    /// Ends every session (server shutdown).
    pub fn disconnect_all(&self) {
        for entry in self.sessions.iter() {
            signal(entry.value(), CloseReason::Shutdown);
        }
    }

    /// Queues a frame for a connected device; false if it is not connected here. A device
    /// whose queue is full cannot keep up: its session is ended (it reconnects and gets what
    /// it missed from the database).
    pub fn send(&self, device: Uuid, frame: ServerFrame) -> bool {
        let full = match self.sessions.get(&device) {
            None => return false,
            Some(s) => match s.outbound.try_send(frame) {
                Ok(()) => return true,
                Err(mpsc::error::TrySendError::Full(_)) => true,
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            },
        };
        if full {
            self.disconnect(device, CloseReason::Overloaded);
        }
        false
    }

    /// Tells a connected device's session to look for waiting commands; false if the device
    /// is not connected here.
    pub fn wake(&self, device: Uuid) -> bool {
        self.sessions
            .get(&device)
            .map(|s| s.wake.notify_one())
            .is_some()
    }

    pub fn is_connected(&self, device: Uuid) -> bool {
        self.sessions.contains_key(&device)
    }

    pub fn connected(&self) -> Vec<Uuid> {
        self.sessions.iter().map(|e| *e.key()).collect()
    }

    /// Connected devices whose presence was last written before `before`.
    pub fn presence_due(&self, before: Instant) -> Vec<Uuid> {
        self.sessions
            .iter()
            .filter(|e| e.presence_written < before)
            .map(|e| *e.key())
            .collect()
    }

    /// Records that the presence of `devices` was written at `at`.
    pub fn presence_written(&self, devices: &[Uuid], at: Instant) {
        for device in devices {
            if let Some(mut s) = self.sessions.get_mut(device) {
                s.presence_written = s.presence_written.max(at);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

fn signal(session: &Session, reason: CloseReason) {
    if let Ok(mut r) = session.reason.lock() {
        r.get_or_insert(reason);
    }
    session.stop.cancel();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_connection_replaces_the_first() {
        let registry = Registry::default();
        let device = Uuid::new_v4();
        let first = registry.register(device);
        let second = registry.register(device);
        assert!(first.stop.is_cancelled());
        assert_eq!(first.close_reason(), Some(CloseReason::Replaced));
        assert!(!second.stop.is_cancelled());
        // The replaced session's cleanup must not remove the new one.
        registry.unregister(device, first.session_id);
        assert!(registry.is_connected(device));
        registry.unregister(device, second.session_id);
        assert!(registry.is_empty());
    }

    #[test]
    fn presence_is_due_once_per_refresh() {
        let registry = Registry::default();
        let device = Uuid::new_v4();
        let _reg = registry.register(device);
        // Its connection was just written.
        let before = Instant::now() - std::time::Duration::from_secs(1);
        assert!(registry.presence_due(before).is_empty());
        let later = Instant::now() + std::time::Duration::from_secs(1);
        assert_eq!(registry.presence_due(later), vec![device]);
        registry.presence_written(&[device], later);
        assert!(registry.presence_due(later).is_empty());
    }

    #[test]
    fn disconnect_and_send() {
        let registry = Registry::default();
        let device = Uuid::new_v4();
        let mut reg = registry.register(device);
        assert!(registry.send(
            device,
            ServerFrame::Error {
                message: "x".into()
            }
        ));
        assert!(reg.outbound.try_recv().is_ok());
        assert!(registry.disconnect(device, CloseReason::Deleted));
        assert_eq!(reg.close_reason(), Some(CloseReason::Deleted));
        assert!(!registry.send(
            device,
            ServerFrame::Error {
                message: "x".into()
            }
        ));
        assert!(!registry.disconnect(device, CloseReason::Deleted));
    }
}
