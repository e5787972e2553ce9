//! The state every handler reaches.

use std::sync::Arc;

use steward_store::Store;
use tokio_util::task::TaskTracker;

use crate::blobs::{Blobs, UrlSigner};
use crate::gateway::dispatch::{DispatchReceiver, Dispatcher};
use crate::gateway::registry::Registry;
use crate::gateway::writer::{ReportQueue, report_queue};
use crate::http::ratelimit::KeyLimiter;
use crate::inspections::Inspections;
use crate::settings::ServerSettings;
use steward_store::reports::DeviceReport;

/// Shared by every request of one server. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: Arc<ServerSettings>,
    pub(crate) limiter: Option<Arc<KeyLimiter>>,
    /// The device sockets open on this node.
    pub registry: Arc<Registry>,
    /// The running device sessions, so shutdown can wait for them.
    pub(crate) sessions: TaskTracker,
    /// Where sessions queue their devices' reports for the batch writer.
    pub(crate) reports: ReportQueue,
    /// The writer's end of the queue, taken by `serve` when it starts the writer.
    pub(crate) report_receiver:
        Arc<std::sync::Mutex<Option<tokio::sync::mpsc::Receiver<DeviceReport>>>>,
    /// Hands announced command requests to this node's dispatcher.
    pub(crate) dispatcher: Dispatcher,
    pub(crate) dispatch_receiver: Arc<std::sync::Mutex<Option<DispatchReceiver>>>,
    /// Whether this node hears PostgreSQL announcements (so it need not wake itself).
    listening: Arc<std::sync::atomic::AtomicBool>,
    /// Package files, icons and content.
    pub blobs: Blobs,
    /// Signs download URLs; its key is read from the database on first use.
    signer: Arc<tokio::sync::OnceCell<UrlSigner>>,
    /// Turns for package inspections (`files.max_inspections` at once).
    pub(crate) inspections: Inspections,
}

impl AppState {
    pub fn new(store: Store, settings: ServerSettings, blobs: Blobs) -> Self {
        let limiter = KeyLimiter::new(settings.rate_limit).map(Arc::new);
        let (reports, receiver) = report_queue();
        let (dispatcher, dispatch_receiver) = Dispatcher::new();
        let inspections = Inspections::new(settings.files.max_inspections);
        Self {
            store,
            settings: Arc::new(settings),
            limiter,
            registry: Arc::new(Registry::default()),
            sessions: TaskTracker::new(),
            reports,
            report_receiver: Arc::new(std::sync::Mutex::new(Some(receiver))),
            dispatcher,
            dispatch_receiver: Arc::new(std::sync::Mutex::new(Some(dispatch_receiver))),
            listening: Arc::default(),
            blobs,
            signer: Arc::default(),
            inspections,
        }
    }

    /// The download-URL signer, whose key every node shares through the database.
    pub(crate) async fn signer(&self) -> Result<&UrlSigner, steward_store::StoreError> {
        self.signer
            .get_or_try_init(|| async {
                let key = self.store.server_secret("download-urls").await?;
                Ok(UrlSigner::new(key))
            })
            .await
    }

    pub(crate) fn listening(&self) -> bool {
        self.listening.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn set_listening(&self, on: bool) {
        self.listening
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }
}
