//! Webtasks' rows: containers (each owned by one tenant), extensions (code, metadata, sealed
//! secrets and locked dependencies as given, as JSON text), one storage document per extension
//! written under optimistic concurrency, cron jobs whose next tick is claimed by exactly one node
//! with a conditional update, and their run history (the last 100 runs kept).

use async_trait::async_trait;
use sqlx::FromRow;

use crate::db::{begin_write, new_id, now, with_pool};
use crate::{Error, Result, SqlStore, Timestamp};

/// Runs kept per cron job; older ones are deleted as new ones are recorded.
pub const CRON_RUNS_KEPT: i64 = 100;

/// One extension, with the tenant that owns its container.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct Extension {
    pub tenant_id: String,
    pub container: String,
    pub name: String,
    pub code: String,
    /// JSON object text of string values.
    pub meta: String,
    /// JSON object text: secret name → sealed value (the domain's encoding).
    pub secrets: String,
    /// JSON object text: package name → npm range.
    pub dependencies: String,
    /// Lockfile JSON text, when there are dependencies.
    pub lockfile: Option<String>,
    /// A digest of what runs (code, lockfile, compiler settings): warm isolates are keyed by it.
    pub version: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// An extension to create or replace.
#[derive(Debug, Clone)]
pub struct NewExtension {
    pub container: String,
    pub name: String,
    pub code: String,
    pub meta: String,
    pub secrets: String,
    pub dependencies: String,
    pub lockfile: Option<String>,
    pub version: String,
}

/// An extension's storage document.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct StorageDoc {
    pub data: String,
    pub etag: i64,
}

/// What a storage write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageWrite {
    Written {
        etag: i64,
    },
    /// The document changed since the etag the write was based on: the current one (`None`: none).
    Conflict(Option<StorageDoc>),
}

/// A cron job of an extension.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct CronJob {
    pub tenant_id: String,
    pub container: String,
    pub name: String,
    pub schedule: String,
    pub tz: String,
    /// `active` or `inactive`.
    pub state: String,
    /// JSON object text.
    pub meta: String,
    /// The next tick to run.
    pub next_at: Timestamp,
    /// The run in progress, if any, and when it started.
    pub running_run_id: Option<String>,
    pub running_since: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A cron job to create or replace.
#[derive(Debug, Clone)]
pub struct NewCronJob {
    pub container: String,
    pub name: String,
    pub schedule: String,
    pub tz: String,
    pub state: String,
    pub meta: String,
    pub next_at: Timestamp,
}

/// One run (or skipped tick) of a cron job.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct CronRun {
    pub id: String,
    pub container: String,
    pub name: String,
    pub scheduled_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    /// `success`, `error` or `skipped`; `None` while running.
    pub outcome: Option<String>,
    pub status_code: Option<i64>,
    pub body: Option<String>,
    /// The node that claimed it.
    pub node: String,
}

/// A claim of one due tick.
#[derive(Debug, Clone)]
pub struct TickClaim<'a> {
    pub container: &'a str,
    pub name: &'a str,
    /// The tick this node saw as due; the claim holds only while the job still says it.
    pub expected_next_at: Timestamp,
    /// The tick after: the first one after now, so that missed ticks run once.
    pub next_at: Timestamp,
    /// A run started before this is taken for dead (its node stopped) and does not block.
    pub stale_before: Timestamp,
    pub node: &'a str,
}

/// What a claim got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// This node runs the tick: the run's id.
    Run(String),
    /// The previous run is still going: the tick is recorded as skipped.
    Skipped,
    /// Another node claimed it, or the job changed.
    Lost,
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct CronRunEnd<'a> {
    pub outcome: &'a str,
    pub status_code: i64,
    pub body: &'a str,
}

/// Extensions, their storage and cron jobs. Every management lookup is scoped by tenant: another
/// tenant's container is `NotFound`.
#[async_trait]
pub trait WebtaskStore: Send + Sync {
    /// Creates or replaces an extension; the container is claimed for the tenant on first use.
    /// `NotFound` when the container belongs to another tenant.
    async fn put_extension(&self, tenant_id: &str, new: NewExtension) -> Result<Extension>;
    /// `tenant_id: None` for the run route, which anyone may call.
    async fn get_extension(
        &self,
        tenant_id: Option<&str>,
        container: &str,
        name: &str,
    ) -> Result<Extension>;
    /// Every extension of the container, by name (`NotFound` for another tenant's container).
    async fn list_extensions(&self, tenant_id: &str, container: &str) -> Result<Vec<Extension>>;
    /// Every extension of the tenant's containers, by container then name.
    async fn list_tenant_extensions(&self, tenant_id: &str) -> Result<Vec<Extension>>;
    /// Deletes the extension with its storage, cron job and runs.
    async fn delete_extension(&self, tenant_id: &str, container: &str, name: &str) -> Result<()>;

    async fn read_storage(&self, container: &str, name: &str) -> Result<Option<StorageDoc>>;
    /// Writes the document when its etag is still `expected` (0: no document yet), or
    /// unconditionally with `None`.
    async fn write_storage(
        &self,
        container: &str,
        name: &str,
        data: &str,
        expected: Option<i64>,
    ) -> Result<StorageWrite>;

    /// Creates or replaces the extension's cron job (`NotFound` without the extension).
    async fn put_cron(&self, tenant_id: &str, new: NewCronJob) -> Result<CronJob>;
    async fn get_cron(&self, tenant_id: &str, container: &str, name: &str) -> Result<CronJob>;
    async fn list_cron(&self, tenant_id: &str, container: &str) -> Result<Vec<CronJob>>;
    async fn delete_cron(&self, tenant_id: &str, container: &str, name: &str) -> Result<()>;
    /// Active jobs whose next tick is at or before `at`, oldest first.
    async fn due_cron_jobs(&self, at: Timestamp, limit: u32) -> Result<Vec<CronJob>>;
    /// Claims one due tick (see [`TickClaim`]): exactly one caller gets `Run` or `Skipped`.
    async fn claim_cron_tick(&self, claim: TickClaim<'_>) -> Result<Claimed>;
    /// Records the end of a run and frees the job for its next tick.
    async fn finish_cron_run(
        &self,
        container: &str,
        name: &str,
        run_id: &str,
        end: CronRunEnd<'_>,
    ) -> Result<()>;
    /// Newest first.
    async fn cron_history(
        &self,
        tenant_id: &str,
        container: &str,
        name: &str,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<CronRun>>;
}

const EXTENSION_COLUMNS: &str = "c.tenant_id, e.container, e.name, e.code, e.meta, e.secrets, \
    e.dependencies, e.lockfile, e.version, e.created_at, e.updated_at";
const CRON_COLUMNS: &str = "c.tenant_id, j.container, j.name, j.schedule, j.tz, j.state, j.meta, \
    j.next_at, j.running_run_id, j.running_since, j.created_at, j.updated_at";
const RUN_COLUMNS: &str = "id, container, name, scheduled_at, started_at, completed_at, outcome, \
    status_code, body, node";

impl SqlStore {
    /// The one row `sql` selects for (container, name, tenant); `NotFound` naming `what`.
    async fn one_of<T>(
        &self,
        sql: &str,
        container: &str,
        name: &str,
        tenant_id: Option<&str>,
        what: &'static str,
    ) -> Result<T>
    where
        T: for<'r> FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, T>(sql)
                .bind(container)
                .bind(name)
                .bind(tenant_id)
                .fetch_optional(pool)
                .await?
        })
        .ok_or(Error::not_found(what))
    }

    /// Deletes the row of `table` for (container, name) when the container is the tenant's.
    async fn delete_owned(
        &self,
        table: &'static str,
        what: &'static str,
        tenant_id: &str,
        container: &str,
        name: &str,
    ) -> Result<()> {
        let sql = format!(
            "DELETE FROM {table} WHERE container = $1 AND name = $2 AND EXISTS \
             (SELECT 1 FROM wt_containers c WHERE c.name = $1 AND c.tenant_id = $3)"
        );
        let deleted = with_pool!(self.db, write, |pool, _pg| {
            sqlx::query(&sql)
                .bind(container)
                .bind(name)
                .bind(tenant_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if deleted == 0 {
            return Err(Error::not_found(what));
        }
        Ok(())
    }
}

#[async_trait]
impl WebtaskStore for SqlStore {
    async fn put_extension(&self, tenant_id: &str, new: NewExtension) -> Result<Extension> {
        let at = now();
        let select = format!(
            "SELECT {EXTENSION_COLUMNS} FROM wt_extensions e JOIN wt_containers c \
             ON c.name = e.container WHERE e.container = $1 AND e.name = $2"
        );
        with_pool!(self.db, write, |pool, pg| {
            let mut tx = begin_write!(pool, pg);
            sqlx::query(
                "INSERT INTO wt_containers (name, tenant_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(&new.container)
            .bind(tenant_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            let owner: Option<String> =
                sqlx::query_scalar("SELECT tenant_id FROM wt_containers WHERE name = $1")
                    .bind(&new.container)
                    .fetch_optional(&mut *tx)
                    .await?;
            if owner.as_deref() != Some(tenant_id) {
                return Err(Error::not_found("container"));
            }
            sqlx::query(
                "INSERT INTO wt_extensions (container, name, code, meta, secrets, dependencies, \
                 lockfile, version, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
                 ON CONFLICT (container, name) DO UPDATE SET code = excluded.code, \
                 meta = excluded.meta, secrets = excluded.secrets, \
                 dependencies = excluded.dependencies, lockfile = excluded.lockfile, \
                 version = excluded.version, updated_at = excluded.updated_at",
            )
            .bind(&new.container)
            .bind(&new.name)
            .bind(&new.code)
            .bind(&new.meta)
            .bind(&new.secrets)
            .bind(&new.dependencies)
            .bind(&new.lockfile)
            .bind(&new.version)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            let row = sqlx::query_as::<_, Extension>(&select)
                .bind(&new.container)
                .bind(&new.name)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(row)
        })
    }

    async fn get_extension(
        &self,
        tenant_id: Option<&str>,
        container: &str,
        name: &str,
    ) -> Result<Extension> {
        let sql = format!(
            "SELECT {EXTENSION_COLUMNS} FROM wt_extensions e JOIN wt_containers c \
             ON c.name = e.container WHERE e.container = $1 AND e.name = $2 \
             AND ($3 IS NULL OR c.tenant_id = $3)"
        );
        self.one_of(&sql, container, name, tenant_id, "webtask")
            .await
    }

    async fn list_extensions(&self, tenant_id: &str, container: &str) -> Result<Vec<Extension>> {
        let sql = format!(
            "SELECT {EXTENSION_COLUMNS} FROM wt_extensions e JOIN wt_containers c \
             ON c.name = e.container WHERE e.container = $1 AND c.tenant_id = $2 ORDER BY e.name"
        );
        let (owner, rows) = with_pool!(self.db, read, |pool, _pg| {
            let owner: Option<String> =
                sqlx::query_scalar("SELECT tenant_id FROM wt_containers WHERE name = $1")
                    .bind(container)
                    .fetch_optional(pool)
                    .await?;
            let rows = sqlx::query_as::<_, Extension>(&sql)
                .bind(container)
                .bind(tenant_id)
                .fetch_all(pool)
                .await?;
            (owner, rows)
        });
        // A container nobody claimed yet lists empty for anyone; another tenant's is not found.
        match owner {
            Some(owner) if owner != tenant_id => Err(Error::not_found("container")),
            _ => Ok(rows),
        }
    }

    async fn list_tenant_extensions(&self, tenant_id: &str) -> Result<Vec<Extension>> {
        let sql = format!(
            "SELECT {EXTENSION_COLUMNS} FROM wt_extensions e JOIN wt_containers c \
             ON c.name = e.container WHERE c.tenant_id = $1 ORDER BY e.container, e.name"
        );
        Ok(with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, Extension>(&sql)
                .bind(tenant_id)
                .fetch_all(pool)
                .await?
        }))
    }

    async fn delete_extension(&self, tenant_id: &str, container: &str, name: &str) -> Result<()> {
        self.delete_owned("wt_extensions", "webtask", tenant_id, container, name)
            .await
    }

    async fn read_storage(&self, container: &str, name: &str) -> Result<Option<StorageDoc>> {
        Ok(with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, StorageDoc>(
                "SELECT data, etag FROM wt_storage WHERE container = $1 AND name = $2",
            )
            .bind(container)
            .bind(name)
            .fetch_optional(pool)
            .await?
        }))
    }

    async fn write_storage(
        &self,
        container: &str,
        name: &str,
        data: &str,
        expected: Option<i64>,
    ) -> Result<StorageWrite> {
        let at = now();
        let written: Option<i64> = with_pool!(self.db, write, |pool, _pg| {
            let insert_new = "INSERT INTO wt_storage (container, name, data, etag, updated_at) \
                VALUES ($1, $2, $3, 1, $4) ON CONFLICT (container, name) DO NOTHING RETURNING etag";
            // One conditional statement: of two writers based on the same read, the second finds
            // the etag moved (PostgreSQL re-reads the row once the first one's lock is gone).
            let update = "UPDATE wt_storage SET data = $3, etag = etag + 1, updated_at = $4 \
                WHERE container = $1 AND name = $2 AND etag = $5 RETURNING etag";
            let force = "INSERT INTO wt_storage (container, name, data, etag, updated_at) \
                VALUES ($1, $2, $3, 1, $4) ON CONFLICT (container, name) DO UPDATE \
                SET data = excluded.data, etag = wt_storage.etag + 1, \
                updated_at = excluded.updated_at RETURNING etag";
            let sql = match expected {
                Some(0) => insert_new,
                Some(_) => update,
                None => force,
            };
            let mut query = sqlx::query_scalar(sql)
                .bind(container)
                .bind(name)
                .bind(data)
                .bind(at);
            if let Some(etag) = expected.filter(|e| *e != 0) {
                query = query.bind(etag);
            }
            query.fetch_optional(pool).await.map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                    Error::not_found("webtask")
                }
                _ => Error::Database(e),
            })?
        });
        match written {
            Some(etag) => Ok(StorageWrite::Written { etag }),
            None => Ok(StorageWrite::Conflict(
                self.read_storage(container, name).await?,
            )),
        }
    }

    async fn put_cron(&self, tenant_id: &str, new: NewCronJob) -> Result<CronJob> {
        let at = now();
        // The extension must exist in the tenant's container.
        self.get_extension(Some(tenant_id), &new.container, &new.name)
            .await?;
        with_pool!(self.db, write, |pool, _pg| {
            sqlx::query(
                "INSERT INTO wt_cron_jobs (container, name, schedule, tz, state, meta, next_at, \
                 running_run_id, running_since, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, $8, $8) \
                 ON CONFLICT (container, name) DO UPDATE SET schedule = excluded.schedule, \
                 tz = excluded.tz, state = excluded.state, meta = excluded.meta, \
                 next_at = excluded.next_at, updated_at = excluded.updated_at",
            )
            .bind(&new.container)
            .bind(&new.name)
            .bind(&new.schedule)
            .bind(&new.tz)
            .bind(&new.state)
            .bind(&new.meta)
            .bind(new.next_at)
            .bind(at)
            .execute(pool)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                    Error::not_found("webtask")
                }
                _ => Error::Database(e),
            })?;
        });
        self.get_cron(tenant_id, &new.container, &new.name).await
    }

    async fn get_cron(&self, tenant_id: &str, container: &str, name: &str) -> Result<CronJob> {
        let sql = format!(
            "SELECT {CRON_COLUMNS} FROM wt_cron_jobs j JOIN wt_containers c \
             ON c.name = j.container WHERE j.container = $1 AND j.name = $2 AND c.tenant_id = $3"
        );
        self.one_of(&sql, container, name, Some(tenant_id), "cron job")
            .await
    }

    async fn list_cron(&self, tenant_id: &str, container: &str) -> Result<Vec<CronJob>> {
        let sql = format!(
            "SELECT {CRON_COLUMNS} FROM wt_cron_jobs j JOIN wt_containers c \
             ON c.name = j.container WHERE j.container = $1 AND c.tenant_id = $2 ORDER BY j.name"
        );
        Ok(with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, CronJob>(&sql)
                .bind(container)
                .bind(tenant_id)
                .fetch_all(pool)
                .await?
        }))
    }

    async fn delete_cron(&self, tenant_id: &str, container: &str, name: &str) -> Result<()> {
        self.delete_owned("wt_cron_jobs", "cron job", tenant_id, container, name)
            .await
    }

    async fn due_cron_jobs(&self, at: Timestamp, limit: u32) -> Result<Vec<CronJob>> {
        let sql = format!(
            "SELECT {CRON_COLUMNS} FROM wt_cron_jobs j JOIN wt_containers c \
             ON c.name = j.container WHERE j.state = 'active' AND j.next_at <= $1 \
             ORDER BY j.next_at LIMIT $2"
        );
        Ok(with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, CronJob>(&sql)
                .bind(at)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        }))
    }

    async fn claim_cron_tick(&self, claim: TickClaim<'_>) -> Result<Claimed> {
        let at = now();
        with_pool!(self.db, write, |pool, pg| {
            let mut tx = begin_write!(pool, pg);
            let lock = if pg { " FOR UPDATE" } else { "" };
            let row: Option<(Timestamp, String, Option<String>, Option<Timestamp>)> =
                sqlx::query_as(&format!(
                    "SELECT next_at, state, running_run_id, running_since FROM wt_cron_jobs \
                     WHERE container = $1 AND name = $2{lock}"
                ))
                .bind(claim.container)
                .bind(claim.name)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((next_at, state, running, since)) = row else {
                return Ok(Claimed::Lost);
            };
            if next_at != claim.expected_next_at || state != "active" {
                return Ok(Claimed::Lost);
            }
            let busy = running.is_some() && since.is_some_and(|s| s > claim.stale_before);
            let run_id = new_id();
            if busy {
                sqlx::query(
                    "UPDATE wt_cron_jobs SET next_at = $3 WHERE container = $1 AND name = $2",
                )
                .bind(claim.container)
                .bind(claim.name)
                .bind(claim.next_at)
                .execute(&mut *tx)
                .await?;
            } else {
                sqlx::query(
                    "UPDATE wt_cron_jobs SET next_at = $3, running_run_id = $4, \
                     running_since = $5 WHERE container = $1 AND name = $2",
                )
                .bind(claim.container)
                .bind(claim.name)
                .bind(claim.next_at)
                .bind(&run_id)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(&format!(
                "INSERT INTO wt_cron_runs ({RUN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, \
                 NULL, $8, $9)"
            ))
            .bind(&run_id)
            .bind(claim.container)
            .bind(claim.name)
            .bind(claim.expected_next_at)
            .bind(if busy { None } else { Some(at) })
            .bind(if busy { Some(at) } else { None })
            .bind(if busy { Some("skipped") } else { None })
            .bind(if busy {
                Some("the previous run was still going")
            } else {
                None
            })
            .bind(claim.node)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "DELETE FROM wt_cron_runs WHERE container = $1 AND name = $2 AND id NOT IN \
                 (SELECT id FROM wt_cron_runs WHERE container = $1 AND name = $2 \
                 ORDER BY scheduled_at DESC, id DESC LIMIT $3)",
            )
            .bind(claim.container)
            .bind(claim.name)
            .bind(CRON_RUNS_KEPT)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(if busy {
                Claimed::Skipped
            } else {
                Claimed::Run(run_id)
            })
        })
    }

    async fn finish_cron_run(
        &self,
        container: &str,
        name: &str,
        run_id: &str,
        end: CronRunEnd<'_>,
    ) -> Result<()> {
        let at = now();
        with_pool!(self.db, write, |pool, pg| {
            let mut tx = begin_write!(pool, pg);
            sqlx::query(
                "UPDATE wt_cron_runs SET completed_at = $2, outcome = $3, status_code = $4, \
                 body = $5 WHERE id = $1",
            )
            .bind(run_id)
            .bind(at)
            .bind(end.outcome)
            .bind(end.status_code)
            .bind(end.body)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE wt_cron_jobs SET running_run_id = NULL, running_since = NULL \
                 WHERE container = $1 AND name = $2 AND running_run_id = $3",
            )
            .bind(container)
            .bind(name)
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    async fn cron_history(
        &self,
        tenant_id: &str,
        container: &str,
        name: &str,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<CronRun>> {
        self.get_cron(tenant_id, container, name).await?;
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM wt_cron_runs WHERE container = $1 AND name = $2 \
             ORDER BY scheduled_at DESC, id DESC LIMIT $3 OFFSET $4"
        );
        Ok(with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, CronRun>(&sql)
                .bind(container)
                .bind(name)
                .bind(i64::from(limit))
                .bind(i64::from(offset))
                .fetch_all(pool)
                .await?
        }))
    }
}
