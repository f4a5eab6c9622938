//! Opening a backend: connection pools, pragmas, embedded migrations, and the `with_pool!` macro
//! that writes a statement once and runs it on whichever backend is open.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::{Error, Result, Store, Timestamp};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

const SQLITE_READERS_MAX: u32 = 4;
const POSTGRES_CONNECTIONS_MAX: u32 = 16;
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// A PostgreSQL connection idle at least this long is pinged before use (a restarted server or a
/// dropped TCP connection shows there, and another connection is taken). One in steady use is not:
/// sqlx's default ping on every acquire is a second round trip for every query.
const POSTGRES_PING_IDLE: Duration = Duration::from_secs(5);

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The sqlx implementation of [`Store`]: each statement is written once where both dialects
/// agree, and per backend where they differ (queue claim, JSON list filters).
pub struct SqlStore {
    pub(crate) db: Db,
    /// Added to this process's clock where the queue reads it (see [`SqlStore::with_clock_skew`]).
    skew: chrono::TimeDelta,
}

pub(crate) enum Db {
    /// SQLite has one writer connection, so write transactions never race for the lock
    /// (the single-writer claim), and a small pool of read-only connections that WAL lets read
    /// while the writer writes.
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
    },
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the `read` or `write` pool of the open backend and `$pg`
/// to whether it is PostgreSQL. The body is compiled once per backend.
macro_rules! with_pool {
    ($db:expr, $mode:ident, |$pool:ident, $pg:ident| $body:expr) => {
        match &$db {
            $crate::db::Db::Sqlite { $mode: $pool, .. } => {
                #[allow(unused_variables)]
                let $pg = false;
                $body
            }
            $crate::db::Db::Postgres($pool) => {
                #[allow(unused_variables)]
                let $pg = true;
                $body
            }
        }
    };
}
pub(crate) use with_pool;

/// Begins a write transaction on `$pool` inside a `with_pool!` body. On SQLite it is
/// `BEGIN IMMEDIATE`: the write lock is taken up front, so a transaction that reads before it
/// writes cannot fail to upgrade its lock when another process writes the same file.
macro_rules! begin_write {
    ($pool:ident, $pg:ident) => {
        if $pg {
            $pool.begin().await?
        } else {
            $pool.begin_with("BEGIN IMMEDIATE").await?
        }
    };
}
pub(crate) use begin_write;

impl SqlStore {
    fn new(db: Db) -> Self {
        SqlStore {
            db,
            skew: chrono::TimeDelta::zero(),
        }
    }

    /// The same store behaving as a node whose clock is `skew` off, for tests of clock skew. On
    /// PostgreSQL the queue judges leases and due times on the database's clock, so a skewed node
    /// changes nothing there; on SQLite (one host, one clock) this process's clock is the queue's.
    pub fn with_clock_skew(mut self, skew: chrono::TimeDelta) -> Self {
        self.skew = skew;
        self
    }

    /// Runs a retention purge (`$1` the cutoff, `$2` the batch) a batch per statement, until a
    /// batch comes back short; returns how many rows went.
    pub(crate) async fn purge_in_batches(&self, sql: &str, cutoff: Timestamp) -> Result<u64> {
        let cutoff = truncate(cutoff);
        let mut purged = 0;
        loop {
            let deleted = with_pool!(self.db, write, |pool, _pg| {
                sqlx::query(sql)
                    .bind(cutoff)
                    .bind(crate::PURGE_BATCH)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
            purged += deleted;
            if deleted < crate::PURGE_BATCH as u64 {
                return Ok(purged);
            }
        }
    }

    /// This process's clock (with the test skew) at the stored precision.
    pub(crate) fn clock(&self) -> Timestamp {
        truncate(Utc::now() + self.skew)
    }

    /// Opens (creating if needed) the SQLite file at `path`, in WAL mode with foreign keys and a
    /// busy timeout, and applies pending migrations.
    pub async fn open_sqlite(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode survives a process crash; only an OS crash may lose the last commits.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(SQLITE_BUSY_TIMEOUT);
        // The writer stays open for the store's lifetime: it keeps the WAL and shared-memory
        // files in place, which the read-only connections cannot create themselves.
        // SQLite connections are in-process: nothing to ping (sqlx would, on every acquire).
        let write = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone())
            .await?;
        SQLITE_MIGRATIONS.run(&write).await?;
        let read = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(SQLITE_READERS_MAX)
            .connect_with(options.read_only(true))
            .await?;
        tracing::info!(path = %path.display(), "opened SQLite store");
        Ok(Self::new(Db::Sqlite { read, write }))
    }

    /// A private in-memory SQLite database on one connection, gone when the store is dropped.
    pub async fn open_sqlite_in_memory() -> Result<Self> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        SQLITE_MIGRATIONS.run(&pool).await?;
        Ok(Self::new(Db::Sqlite {
            read: pool.clone(),
            write: pool,
        }))
    }

    /// Connects to PostgreSQL at `url` (`postgres://user@host:port/db`) and applies pending
    /// migrations (sqlx serialises concurrent migrators with an advisory lock).
    pub async fn connect_postgres(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url).map_err(|_| Error::InvalidLocation {
            reason: "the PostgreSQL URL cannot be parsed".to_owned(),
        })?;
        Self::connect_postgres_with(options).await
    }

    /// Like [`SqlStore::connect_postgres`] with explicit connection options.
    pub async fn connect_postgres_with(options: PgConnectOptions) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(POSTGRES_CONNECTIONS_MAX)
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= POSTGRES_PING_IDLE {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await?;
        POSTGRES_MIGRATIONS.run(&pool).await?;
        tracing::info!("connected PostgreSQL store");
        Ok(Self::new(Db::Postgres(pool)))
    }
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    async fn close(&self) {
        match &self.db {
            Db::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// Opens the store at `location`: `postgres://…` or `postgresql://…` for PostgreSQL;
/// `sqlite::memory:` for a private in-memory database; `sqlite:PATH`, `sqlite://PATH` or a plain
/// file path for SQLite.
pub async fn open(location: &str) -> Result<Arc<dyn Store>> {
    let location = location.trim();
    if location.is_empty() {
        return Err(Error::InvalidLocation {
            reason: "the database location is empty".to_owned(),
        });
    }
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        return Ok(Arc::new(SqlStore::connect_postgres(location).await?));
    }
    if location == "sqlite::memory:" || location == "sqlite://:memory:" {
        return Ok(Arc::new(SqlStore::open_sqlite_in_memory().await?));
    }
    let path = location
        .strip_prefix("sqlite://")
        .or_else(|| location.strip_prefix("sqlite:"))
        .unwrap_or(location);
    if path.contains("://") {
        return Err(Error::InvalidLocation {
            reason: "only postgres:// URLs, sqlite: URLs and file paths are supported".to_owned(),
        });
    }
    Ok(Arc::new(SqlStore::open_sqlite(Path::new(path)).await?))
}

/// The current time at the stored precision (microseconds), so values read back compare equal.
pub(crate) fn now() -> Timestamp {
    truncate(Utc::now())
}

/// Drops sub-microsecond digits (PostgreSQL keeps microseconds; SQLite compares text).
pub(crate) fn truncate(time: Timestamp) -> Timestamp {
    DateTime::from_timestamp_micros(time.timestamp_micros()).unwrap_or(time)
}

/// A new time-ordered id.
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
