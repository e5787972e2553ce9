//! What a server is told at start.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// PEM files for serving HTTPS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Requests one API key may make per window; `requests == 0` turns the limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub window: Duration,
}

impl Default for RateLimit {
    /// Esper's published allowance: 8,000 requests per 5 minutes.
    fn default() -> Self {
        Self {
            requests: 8000,
            window: Duration::from_secs(300),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    /// Origin of every absolute URL in responses (`https://mdm.example.com`, no `/api`). When
    /// unset, the scheme and `Host` of each request are used.
    pub public_url: Option<String>,
    pub tls: Option<TlsFiles>,
    pub rate_limit: RateLimit,
    /// Largest `limit` a list accepts; larger values are lowered to it.
    pub max_page_size: u64,
    /// Largest JSON request body, in bytes.
    pub max_body_bytes: usize,
    /// How long a request may take before it is answered 503.
    pub request_timeout: Duration,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            tls: None,
            rate_limit: RateLimit::default(),
            max_page_size: 1000,
            max_body_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
        }
    }
}
