//! Databases for tests: a SQLite file in a temporary folder, and a fresh PostgreSQL database
//! on the server named by `STEWARD_TEST_PG_URL` (default: the local server), dropped afterwards.
//!
//! Where no PostgreSQL server answers, the PostgreSQL half of a test is skipped with a loud
//! message; under CI (`CI` set) that is a failure instead.

// Test support only (behind the `testing` feature): a failure here is a failed test.
#![allow(clippy::expect_used)]

use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::Store;

/// The admin connection used to create and drop test databases.
pub const DEFAULT_PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database that exists for one test.
pub struct TestDb {
    pub store: Store,
    /// The URL `steward` would be given for this database.
    pub url: String,
    pg: Option<PgTemp>,
    _dir: Option<tempfile::TempDir>,
}

struct PgTemp {
    admin_url: String,
    name: String,
}

impl TestDb {
    /// `"sqlite"` or `"postgres"`, for test messages.
    pub fn label(&self) -> &'static str {
        match self.store.backend() {
            crate::Backend::Sqlite => "sqlite",
            crate::Backend::Postgres => "postgres",
        }
    }
}

/// The admin URL of the test PostgreSQL server.
pub fn pg_admin_url() -> String {
    std::env::var("STEWARD_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_ADMIN_URL.to_string())
}

/// Reports that a test's outside service is missing: a loud message, or under CI (`CI` set), a
/// failure, since CI must run every test. `what` is the part skipped.
pub fn unavailable(what: &str, why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("cannot run {what}: {why}; CI must run it");
    }
    eprintln!("\n!!!!!!!! SKIPPING {what}: {why} !!!!!!!!\n");
}

/// A migrated SQLite database in a temporary folder.
pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("steward.db").display());
    let store = Store::connect(&url).await.expect("open sqlite");
    store.migrate().await.expect("migrate sqlite");
    TestDb {
        store,
        url,
        pg: None,
        _dir: Some(dir),
    }
}

/// A new, migrated PostgreSQL database, or `None` (after a loud message) when no server answers.
pub async fn postgres() -> Option<TestDb> {
    let admin_url = pg_admin_url();
    let options: PgConnectOptions = admin_url.parse().expect("STEWARD_TEST_PG_URL is a URL");
    let connect = tokio::time::timeout(Duration::from_secs(5), options.connect()).await;
    let mut admin = match connect {
        Ok(Ok(conn)) => conn,
        failure => {
            let why = match failure {
                Ok(Err(e)) => e.to_string(),
                _ => "timed out".to_string(),
            };
            unavailable(
                "the PostgreSQL half of this test",
                &format!("no server at {admin_url} ({why})"),
            );
            return None;
        }
    };
    let name = format!("steward_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let _ = admin.close().await;
    let url = options.database(&name).to_url_lossy().to_string();
    let store = Store::connect(&url).await.expect("open postgres");
    store.migrate().await.expect("migrate postgres");
    Some(TestDb {
        store,
        url,
        pg: Some(PgTemp { admin_url, name }),
        _dir: None,
    })
}

/// SQLite always, PostgreSQL where a server answers.
pub async fn backends() -> Vec<TestDb> {
    let mut all = vec![sqlite().await];
    all.extend(postgres().await);
    all
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(pg) = self.pg.take() else {
            return;
        };
        // Drop runs outside async; a short-lived runtime on its own thread drops the database.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(options) = pg.admin_url.parse::<PgConnectOptions>()
                    && let Ok(mut admin) = options.connect().await
                {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                        pg.name
                    )))
                    .execute(&mut admin)
                    .await;
                }
            });
        })
        .join();
    }
}
