//! The API over a large fleet, on SQLite and PostgreSQL: devices seeded straight into the
//! database, then oha against the device list (with and without filters) beside oha against
//! `/healthz` in the same run; and command status rows written by a GROUP request against a
//! raw insert of the same rows.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;
use sqlx::{PgPool, QueryBuilder, SqlitePool};
use time::OffsetDateTime;
use uuid::Uuid;

/// Rows per multi-row INSERT: under both backends' bind-parameter limits.
const CHUNK: usize = 1000;

/// A direct connection to the database a server uses.
pub enum Db {
    Sqlite(SqlitePool),
    Pg(PgPool),
}

/// Runs `$body` with `$pool` bound to the pool and `$D` to the sqlx database type.
macro_rules! on_db {
    ($db:expr, |$pool:ident, $D:ident| $body:expr) => {
        match $db {
            Db::Sqlite($pool) => {
                type $D = sqlx::Sqlite;
                $body
            }
            Db::Pg($pool) => {
                type $D = sqlx::Postgres;
                $body
            }
        }
    };
}

impl Db {
    pub async fn connect(url: &str) -> Result<Self> {
        Ok(if url.starts_with("sqlite:") {
            let options: sqlx::sqlite::SqliteConnectOptions = url.parse()?;
            let options = options
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30))
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal);
            Self::Sqlite(
                sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(options)
                    .await?,
            )
        } else {
            Self::Pg(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(2)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect(url)
                    .await?,
            )
        })
    }

    pub async fn close(&self) {
        on_db!(self, |pool, _D| pool.close().await)
    }

    /// A group and `devices` devices in it; a tenth of them ACTIVE, the rest INACTIVE.
    pub async fn seed(&self, enterprise: Uuid, devices: usize) -> Result<Uuid> {
        let group = Uuid::now_v7();
        let now = OffsetDateTime::now_utc();
        on_db!(self, |pool, D| {
            let mut tx = pool.begin().await?;
            let mut q = QueryBuilder::<D>::new(
                "INSERT INTO device_groups (id, enterprise_id, name, created_on, updated_on) ",
            );
            q.push_values([()], |mut b, ()| {
                b.push_bind(group)
                    .push_bind(enterprise)
                    .push_bind("bench")
                    .push_bind(now)
                    .push_bind(now);
            });
            q.build().execute(&mut *tx).await?;
            let indices: Vec<usize> = (0..devices).collect();
            for chunk in indices.chunks(CHUNK) {
                let mut q = QueryBuilder::<D>::new(
                    "INSERT INTO devices (id, enterprise_id, group_id, device_name, created_on, \
                     updated_on, status, serial, brand, model, platform, last_seen) ",
                );
                q.push_values(chunk, |mut b, i| {
                    b.push_bind(Uuid::now_v7())
                        .push_bind(enterprise)
                        .push_bind(group)
                        .push_bind(format!("sim-{i:06}"))
                        .push_bind(now)
                        .push_bind(now)
                        .push_bind(if i % 10 == 0 { 1_i32 } else { 60 })
                        .push_bind(format!("SN{i:08}"))
                        .push_bind(["Sim", "Acme", "Kiosko"][i % 3])
                        .push_bind(format!("Model {}", i % 7))
                        .push_bind("LINUX")
                        .push_bind(now);
                });
                q.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        // PostgreSQL's autovacuum gives a new table its planner statistics within a minute or
        // so; the bench measures right after loading, so it asks for them itself. (SQLite
        // keeps none unless asked, and Steward does not ask: its plans are measured as they
        // are.)
        if let Db::Pg(pool) = self {
            sqlx::query("ANALYZE devices").execute(pool).await?;
        }
        Ok(group)
    }

    /// Inserts, in one transaction, one status row per device of `group` for a copy of
    /// `request` (the row values the server wrote); the rows written.
    pub async fn raw_status_rows(&self, request: Uuid, group: Uuid) -> Result<(usize, Duration)> {
        let copy = Uuid::now_v7();
        let now = OffsetDateTime::now_utc();
        on_db!(self, |pool, D| {
            let (state, deadline, enterprise): (String, Option<OffsetDateTime>, Uuid) =
                sqlx::query_as::<D, _>(
                    "SELECT state, deadline, enterprise_id FROM command_statuses \
                     WHERE request_id = $1 LIMIT 1",
                )
                .bind(request)
                .fetch_one(pool)
                .await
                .context("the GROUP request wrote no status row")?;
            sqlx::query::<D>(
                "INSERT INTO command_requests (id, enterprise_id, origin, command_type, \
                 device_type, command, command_args, schedule, schedule_args, device_ids, \
                 group_ids, legacy_group_id, issued_by_id, issued_by_name, timeout_secs, \
                 created_on, updated_on) SELECT $1, enterprise_id, origin, command_type, \
                 device_type, command, command_args, schedule, schedule_args, device_ids, \
                 group_ids, legacy_group_id, issued_by_id, issued_by_name, timeout_secs, \
                 created_on, updated_on FROM command_requests WHERE id = $2",
            )
            .bind(copy)
            .bind(request)
            .execute(pool)
            .await?;
            let devices: Vec<(Uuid,)> =
                sqlx::query_as::<D, _>("SELECT id FROM devices WHERE group_id = $1")
                    .bind(group)
                    .fetch_all(pool)
                    .await?;
            let began = Instant::now();
            let mut tx = pool.begin().await?;
            for chunk in devices.chunks(CHUNK) {
                let mut q = QueryBuilder::<D>::new(
                    "INSERT INTO command_statuses (id, request_id, enterprise_id, device_id, \
                     state, deadline, attempts, created_on, updated_on) ",
                );
                q.push_values(chunk, |mut b, (device,)| {
                    b.push_bind(Uuid::now_v7())
                        .push_bind(copy)
                        .push_bind(enterprise)
                        .push_bind(*device)
                        .push_bind(state.clone())
                        .push_bind(deadline)
                        .push_bind(0_i64)
                        .push_bind(now)
                        .push_bind(now);
                });
                q.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok((devices.len(), began.elapsed()))
        })
    }
}

/// What oha measured.
#[derive(Debug, Clone)]
pub struct Load {
    pub requests_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Responses that were not 200, and requests that failed outright.
    pub errors: u64,
}

impl Load {
    pub fn describe(&self) -> String {
        let errors = if self.errors > 0 {
            format!(", {} errors", self.errors)
        } else {
            String::new()
        };
        format!(
            "{:.0} req/s, p50 {:.1} ms, p99 {:.1} ms{errors}",
            self.requests_per_sec, self.p50_ms, self.p99_ms
        )
    }
}

/// oha for `duration` with `connections` open, at `rate` requests/s if given (else as fast
/// as it can).
pub async fn oha(
    bin: &Path,
    url: &str,
    key: Option<&str>,
    duration: Duration,
    connections: usize,
    rate: Option<u32>,
) -> Result<Load> {
    let mut cmd = tokio::process::Command::new(bin);
    cmd.arg("-z")
        .arg(format!("{}s", duration.as_secs()))
        .arg("-c")
        .arg(connections.to_string())
        .args(["--no-tui", "--output-format", "json"])
        .kill_on_drop(true);
    if let Some(rate) = rate {
        cmd.arg("-q")
            .arg(rate.to_string())
            .arg("--latency-correction");
    }
    if let Some(key) = key {
        cmd.arg("-H").arg(format!("Authorization: Bearer {key}"));
    }
    cmd.arg(url);
    let out = tokio::time::timeout(duration + Duration::from_secs(60), cmd.output())
        .await
        .context("oha did not finish")??;
    if !out.status.success() {
        bail!("oha failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let report: Value = serde_json::from_slice(&out.stdout).context("oha's JSON")?;
    let seconds = |v: &Value| v.as_f64().unwrap_or(f64::NAN) * 1000.0;
    let mut ok = 0;
    let mut not_ok = 0;
    if let Some(codes) = report["statusCodeDistribution"].as_object() {
        for (code, n) in codes {
            let n = n.as_u64().unwrap_or(0);
            if code == "200" {
                ok += n;
            } else {
                not_ok += n;
            }
        }
    }
    let failed: u64 = report["errorDistribution"]
        .as_object()
        .map(|e| {
            // Requests still in flight when the duration ends are cut off, not failed.
            e.iter()
                .filter(|(what, _)| !what.contains("deadline"))
                .filter_map(|(_, n)| n.as_u64())
                .sum()
        })
        .unwrap_or(0);
    if ok == 0 {
        bail!(
            "oha got no 200 from {url}: {}",
            report["statusCodeDistribution"]
        );
    }
    Ok(Load {
        requests_per_sec: report["summary"]["requestsPerSec"]
            .as_f64()
            .unwrap_or(f64::NAN),
        p50_ms: seconds(&report["latencyPercentiles"]["p50"]),
        p99_ms: seconds(&report["latencyPercentiles"]["p99"]),
        errors: not_ok + failed,
    })
}
