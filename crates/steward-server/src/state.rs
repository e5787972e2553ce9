//! The state every handler reaches.

use std::sync::Arc;

use steward_store::Store;

use crate::gateway::registry::Registry;
use crate::http::ratelimit::KeyLimiter;
use crate::settings::ServerSettings;

/// Shared by every request of one server. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: Arc<ServerSettings>,
    pub(crate) limiter: Option<Arc<KeyLimiter>>,
    /// The device sockets open on this node.
    pub registry: Arc<Registry>,
}

impl AppState {
    pub fn new(store: Store, settings: ServerSettings) -> Self {
        let limiter = KeyLimiter::new(settings.rate_limit).map(Arc::new);
        Self {
            store,
            settings: Arc::new(settings),
            limiter,
            registry: Arc::new(Registry::default()),
        }
    }
}
