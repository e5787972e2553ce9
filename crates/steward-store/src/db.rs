//! Connections and the one query code path over both backends.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};
use sea_query_sqlx::SqlxBinder;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, FromRow, Postgres, Sqlite, Transaction};

use crate::Result;
use crate::device_counts::{DeviceChange, DeviceCounts};
use crate::error::StoreError;

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
enum Pools {
    /// Readers share a pool; writers go through one connection, so SQLite never answers
    /// "database is locked" to a writer that waits behind another.
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
    },
    Postgres(PgPool),
}

/// The handle every part of Steward stores and reads through. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pools: Pools,
    pub(crate) device_counts: Arc<DeviceCounts>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("pools", &self.pools).finish()
    }
}

/// A row type readable from both backends (`#[derive(sqlx::FromRow)]` gives both).
pub trait Row: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{}

/// Runs one sea-query statement against a SQLite or PostgreSQL executor: the statement is
/// rendered for that backend and `$body` runs with `$sql`/`$values`/`$exec` bound.
macro_rules! on_backend {
    ($target:expr, $stmt:expr, |$sql:ident, $values:ident, $exec:ident| $body:expr) => {
        match $target {
            Exec::Sqlite($exec) => {
                let ($sql, $values) = $stmt.build_sqlx(SqliteQueryBuilder);
                let $sql = AssertSqlSafe($sql);
                $body
            }
            Exec::Postgres($exec) => {
                let ($sql, $values) = $stmt.build_sqlx(PostgresQueryBuilder);
                let $sql = AssertSqlSafe($sql);
                $body
            }
        }
    };
}

/// Where a statement runs: a pool or an open transaction.
enum Exec<S, P> {
    Sqlite(S),
    Postgres(P),
}

impl Store {
    /// Opens (and for SQLite creates) the database named by `url`: `sqlite://PATH` or
    /// `postgres://…`/`postgresql://…`.
    pub async fn connect(url: &str) -> Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await?;
            Ok(Self::with(Pools::Postgres(pool)))
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::Config(format!("bad SQLite URL {url:?}: {e}")))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5));
            // Writers queue for the one connection; under a burst (a fleet reconnecting) the
            // wait is expected, so only long waits are worth a warning.
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(60))
                .acquire_slow_threshold(Duration::from_secs(10))
                .connect_with(options.clone())
                .await?;
            let read = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await?;
            Ok(Self::with(Pools::Sqlite { read, write }))
        } else {
            Err(StoreError::Config(format!(
                "unsupported database URL {url:?}: use sqlite://PATH or postgres://…"
            )))
        }
    }

    fn with(pools: Pools) -> Self {
        Self {
            pools,
            device_counts: Arc::default(),
        }
    }

    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the migrations of this backend that have not run yet.
    pub async fn migrate(&self) -> Result<()> {
        match &self.pools {
            Pools::Sqlite { write, .. } => sqlx::migrate!("migrations/sqlite").run(write).await?,
            Pools::Postgres(pool) => sqlx::migrate!("migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<()> {
        match &self.pools {
            Pools::Sqlite { read, .. } => {
                sqlx::query("SELECT 1").execute(read).await?.rows_affected()
            }
            Pools::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await?.rows_affected(),
        };
        Ok(())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }

    fn reader(&self) -> Exec<&SqlitePool, &PgPool> {
        match &self.pools {
            Pools::Sqlite { read, .. } => Exec::Sqlite(read),
            Pools::Postgres(pool) => Exec::Postgres(pool),
        }
    }

    fn writer(&self) -> Exec<&SqlitePool, &PgPool> {
        match &self.pools {
            Pools::Sqlite { write, .. } => Exec::Sqlite(write),
            Pools::Postgres(pool) => Exec::Postgres(pool),
        }
    }

    pub(crate) async fn fetch_all<T: Row>(&self, stmt: &impl SqlxBinder) -> Result<Vec<T>> {
        Ok(on_backend!(self.reader(), stmt, |sql, values, exec| {
            sqlx::query_as_with(sql, values).fetch_all(exec).await?
        }))
    }

    pub(crate) async fn fetch_optional<T: Row>(&self, stmt: &impl SqlxBinder) -> Result<Option<T>> {
        Ok(on_backend!(self.reader(), stmt, |sql, values, exec| {
            sqlx::query_as_with(sql, values)
                .fetch_optional(exec)
                .await?
        }))
    }

    pub(crate) async fn count(&self, stmt: &impl SqlxBinder) -> Result<u64> {
        let n: i64 = on_backend!(self.reader(), stmt, |sql, values, exec| {
            sqlx::query_scalar_with(sql, values).fetch_one(exec).await?
        });
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Runs a write outside a transaction; returns the number of rows it touched.
    pub(crate) async fn execute(&self, stmt: &impl SqlxBinder) -> Result<u64> {
        Ok(on_backend!(self.writer(), stmt, |sql, values, exec| {
            sqlx::query_with(sql, values)
                .execute(exec)
                .await?
                .rows_affected()
        }))
    }

    /// Starts a transaction on the write connection.
    pub(crate) async fn begin(&self) -> Result<Tx> {
        let inner = match &self.pools {
            Pools::Sqlite { write, .. } => TxInner::Sqlite(write.begin().await?),
            Pools::Postgres(pool) => TxInner::Postgres(pool.begin().await?),
        };
        Ok(Tx {
            inner,
            device_counts: self.device_counts.clone(),
            changed: None,
        })
    }

    /// Tells the cached device counts that a write outside a transaction changed devices.
    pub(crate) fn devices_changed(&self, change: DeviceChange) {
        self.device_counts.changed(change);
    }
}

/// An open transaction on either backend; dropped without `commit` it rolls back.
pub(crate) struct Tx {
    inner: TxInner,
    device_counts: Arc<DeviceCounts>,
    /// What this transaction changed of devices, told to the cached counts at commit.
    changed: Option<DeviceChange>,
}

enum TxInner {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    fn exec(&mut self) -> Exec<&mut sqlx::SqliteConnection, &mut sqlx::PgConnection> {
        match &mut self.inner {
            TxInner::Sqlite(tx) => Exec::Sqlite(&mut **tx),
            TxInner::Postgres(tx) => Exec::Postgres(&mut **tx),
        }
    }

    /// Records that this transaction changes devices (see [`DeviceChange`]).
    pub(crate) fn devices_changed(&mut self, change: DeviceChange) {
        self.changed = self.changed.max(Some(change));
    }

    pub(crate) async fn fetch_all<T: Row>(&mut self, stmt: &impl SqlxBinder) -> Result<Vec<T>> {
        Ok(on_backend!(self.exec(), stmt, |sql, values, exec| {
            sqlx::query_as_with(sql, values).fetch_all(exec).await?
        }))
    }

    pub(crate) async fn fetch_optional<T: Row>(
        &mut self,
        stmt: &impl SqlxBinder,
    ) -> Result<Option<T>> {
        Ok(on_backend!(self.exec(), stmt, |sql, values, exec| {
            sqlx::query_as_with(sql, values)
                .fetch_optional(exec)
                .await?
        }))
    }

    pub(crate) async fn count(&mut self, stmt: &impl SqlxBinder) -> Result<u64> {
        let n: i64 = on_backend!(self.exec(), stmt, |sql, values, exec| {
            sqlx::query_scalar_with(sql, values).fetch_one(exec).await?
        });
        Ok(u64::try_from(n).unwrap_or(0))
    }

    pub(crate) async fn execute(&mut self, stmt: &impl SqlxBinder) -> Result<u64> {
        Ok(on_backend!(self.exec(), stmt, |sql, values, exec| {
            sqlx::query_with(sql, values)
                .execute(exec)
                .await?
                .rows_affected()
        }))
    }

    /// Serialises the transactions that change one enterprise's group tree: their checks (name
    /// taken? would this move make a cycle?) read rows that a parallel transaction may be about
    /// to change. On PostgreSQL the enterprise row is locked until commit; SQLite already runs
    /// one writer at a time.
    pub(crate) async fn lock_enterprise(&mut self, enterprise_id: uuid::Uuid) -> Result<()> {
        if let TxInner::Postgres(tx) = &mut self.inner {
            sqlx::query("SELECT 1 FROM enterprises WHERE id = $1 FOR UPDATE")
                .bind(enterprise_id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    pub(crate) async fn commit(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(tx) => tx.commit().await?,
            TxInner::Postgres(tx) => tx.commit().await?,
        }
        // After the commit: a count taken from here on sees the change.
        if let Some(change) = self.changed {
            self.device_counts.changed(change);
        }
        Ok(())
    }
}

impl Store {
    /// Every `(table, column)` of the schema, migration bookkeeping left out: the two backends'
    /// migrations must produce the same set.
    pub async fn schema_columns(&self) -> Result<std::collections::BTreeSet<(String, String)>> {
        let rows: Vec<(String, String)> = match &self.pools {
            Pools::Sqlite { read, .. } => {
                sqlx::query_as(
                    "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'",
                )
                .fetch_all(read)
                .await?
            }
            Pools::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT table_name::text, column_name::text FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name NOT LIKE '_sqlx%'",
                )
                .fetch_all(pool)
                .await?
            }
        };
        Ok(rows.into_iter().collect())
    }
}

/// The PostgreSQL channel on which a node announces a new command request, so the node that
/// holds a target device's socket sends it at once. The rows stay the truth; a lost
/// notification only delays delivery until the next sweep.
const COMMAND_CHANNEL: &str = "steward_commands";

impl Store {
    /// Tells every node (this one too) that a request has rows to deliver. Nothing on SQLite,
    /// where there is one node.
    pub async fn notify_command(&self, request_id: uuid::Uuid) -> Result<()> {
        if let Pools::Postgres(pool) = &self.pools {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(COMMAND_CHANNEL)
                .bind(request_id.to_string())
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// Listens for [`Store::notify_command`] announcements; `None` on SQLite.
    pub async fn command_listener(&self) -> Result<Option<CommandListener>> {
        match &self.pools {
            Pools::Postgres(pool) => {
                let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
                listener.listen(COMMAND_CHANNEL).await?;
                Ok(Some(CommandListener(listener)))
            }
            Pools::Sqlite { .. } => Ok(None),
        }
    }
}

/// Announced command requests, as they arrive.
pub struct CommandListener(sqlx::postgres::PgListener);

impl CommandListener {
    /// The next announced request id (reconnecting after a lost connection).
    pub async fn next(&mut self) -> Result<Option<uuid::Uuid>> {
        let notification = self.0.recv().await?;
        Ok(notification.payload().parse().ok())
    }
}
