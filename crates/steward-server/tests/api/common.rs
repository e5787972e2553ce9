//! Starting servers for tests.

use std::time::Duration;

use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::Value;
use steward_server::{AppState, Blobs, ServerSettings};
use steward_store::testing::{self, TestDb};
use tokio::sync::oneshot;
use uuid::Uuid;

/// A running server with one enterprise and a key for it.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`
    pub origin: String,
    pub db: TestDb,
    pub enterprise: Uuid,
    pub key: String,
    pub client: Client,
    /// The blob folder (named after the enterprise, so a restart finds it again), unless the
    /// server was given other blob storage.
    pub blobs_dir: std::path::PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start(db: TestDb) -> Self {
        Self::start_with(db, ServerSettings::default()).await
    }

    pub async fn start_with(db: TestDb, settings: ServerSettings) -> Self {
        Self::launch(db, settings, None).await
    }

    /// A server keeping its files in `blobs` (S3, in the S3 tests) instead of a folder.
    pub async fn start_with_blobs(db: TestDb, settings: ServerSettings, blobs: Blobs) -> Self {
        Self::launch(db, settings, Some(blobs)).await
    }

    async fn launch(db: TestDb, settings: ServerSettings, blobs: Option<Blobs>) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let enterprise = db.store.create_enterprise("Acme").await.unwrap().id;
        let key = db
            .store
            .create_api_key(enterprise, "test", None)
            .await
            .unwrap()
            .secret;
        Self::serve_on(listener, db, settings, enterprise, key, blobs).await
    }

    /// A new server on the address of a stopped one, over the same database.
    pub async fn restart(
        db: TestDb,
        settings: ServerSettings,
        origin: &str,
        enterprise: Uuid,
        key: String,
    ) -> Self {
        let addr = origin.trim_start_matches("http://");
        let mut listener = None;
        for _ in 0..50 {
            match std::net::TcpListener::bind(addr) {
                Ok(l) => {
                    listener = Some(l);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        Self::serve_on(
            listener.expect("the old address is free again"),
            db,
            settings,
            enterprise,
            key,
            None,
        )
        .await
    }

    async fn serve_on(
        listener: std::net::TcpListener,
        db: TestDb,
        mut settings: ServerSettings,
        enterprise: Uuid,
        key: String,
        blobs: Option<Blobs>,
    ) -> Self {
        let addr = listener.local_addr().unwrap();
        settings.listen = addr;
        let blobs_dir = std::env::temp_dir().join(format!("steward-test-blobs-{enterprise}"));
        let blobs = blobs.unwrap_or_else(|| Blobs::in_folder(&blobs_dir).unwrap());
        let state = AppState::new(db.store.clone(), settings, blobs);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            steward_server::serve(listener, state, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        let server = Self {
            origin: format!("http://{addr}"),
            db,
            enterprise,
            key,
            client: Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
            blobs_dir,
            stop: Some(stop),
            task: Some(task),
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&self) {
        for _ in 0..100 {
            if let Ok(r) = self.client.get(self.url("/healthz")).send().await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("server did not start");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.origin, path)
    }

    /// A request under `/api` with this server's key.
    pub fn api(&self, method: Method, path: &str) -> RequestBuilder {
        self.api_as(&self.key, method, path)
    }

    pub fn api_as(&self, key: &str, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(&format!("/api{path}")))
            .bearer_auth(key)
    }

    /// A second enterprise with its own key.
    pub async fn other_enterprise(&self) -> (Uuid, String) {
        let e = self.db.store.create_enterprise("Other").await.unwrap().id;
        let key = self
            .db
            .store
            .create_api_key(e, "other", None)
            .await
            .unwrap()
            .secret;
        (e, key)
    }

    /// Stops the server and hands back its database.
    pub async fn stop_keep_db(mut self) -> TestDb {
        self.halt().await;
        self.db
    }

    pub async fn stop(mut self) {
        self.halt().await;
        let _ = std::fs::remove_dir_all(&self.blobs_dir);
    }

    async fn halt(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(15), task).await;
        }
    }
}

/// One server per backend (SQLite always; PostgreSQL where it answers, required under CI).
pub async fn servers() -> Vec<TestServer> {
    let mut out = Vec::new();
    for db in testing::backends().await {
        out.push(TestServer::start(db).await);
    }
    out
}

pub async fn servers_with(settings: impl Fn() -> ServerSettings) -> Vec<TestServer> {
    let mut out = Vec::new();
    for db in testing::backends().await {
        out.push(TestServer::start_with(db, settings()).await);
    }
    out
}

/// The status and JSON body of a response.
pub async fn json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
    };
    (status, body)
}

/// Asserts Esper's error envelope with this status, and returns its message.
pub fn assert_envelope(status: u16, body: &Value, expected: u16) -> String {
    assert_eq!(status, expected, "unexpected status; body {body}");
    assert_eq!(body["status"], expected, "envelope status; body {body}");
    assert!(body["errors"].is_array(), "envelope errors; body {body}");
    let message = body["message"].as_str().unwrap_or_default().to_string();
    assert!(!message.is_empty(), "envelope message; body {body}");
    message
}
