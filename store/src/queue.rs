//! The worker side of the durable queue: claim due jobs under a lease, extend it, and record the
//! end of an attempt only while still holding the lease.
//!
//! PostgreSQL claims with `FOR UPDATE SKIP LOCKED` in one short statement, so concurrent workers
//! (in many processes) take disjoint jobs without waiting for each other. SQLite has a single
//! writer connection, so the same UPDATE … RETURNING runs alone and needs no row locks.
//!
//! Lease ends, expiry and due times are judged on one clock: PostgreSQL's `now()` (callers give
//! durations, never instants of their own clock), or on SQLite this process's.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::types::Json;

use crate::db::{begin_write, truncate, with_pool};
use crate::executions::EXECUTION_COLUMNS;
use crate::{Error, Execution, ExecutionStatus, Result, SqlStore, Timestamp};

const LEASE_LOST: &str = "the execution's lease is held by another worker or has ended";

/// The clock of the queue in SQL: PostgreSQL's own (`now()`, one clock for every node, so a node whose
/// clock is off can neither take a live lease nor keep a lease past its end), else `$n`, this
/// process's clock bound as a parameter (SQLite: one file on one host, so one clock).
pub(crate) fn clock(pg: bool, param: &str) -> String {
    if pg {
        "now()".to_owned()
    } else {
        param.to_owned()
    }
}

/// Names the statuses of the partial index `executions_due` in a poll's condition: SQLite uses a
/// partial index only when the query states its condition, and without it each poll would read
/// every execution ever recorded (sync ones included) — a scan on each poll, growing with the table.
const DUE_ROWS: &str = "status IN ('pending', 'running')";

/// `$1` now (SQLite only): running jobs whose lease expired on their last allowed attempt become dead.
fn expire_sql(pg: bool) -> String {
    let lock = if pg { " FOR UPDATE SKIP LOCKED" } else { "" };
    let now = clock(pg, "$1");
    format!(
        "UPDATE executions SET status = 'dead',
            last_error = 'the lease expired during the last allowed attempt',
            lease_owner = NULL, lease_expires_at = NULL, updated_at = {now}
         WHERE id IN (SELECT id FROM executions
             WHERE {DUE_ROWS} AND status = 'running' AND lease_expires_at <= {now}
               AND attempts >= max_attempts{lock})"
    )
}

/// The time `$n` microseconds from now on PostgreSQL's clock (SQLite: `$n` is that time itself,
/// computed on this process's clock).
pub(crate) fn after_sql(pg: bool, param: &str) -> String {
    if pg {
        format!("now() + {param}::bigint * interval '1 microsecond'")
    } else {
        param.to_owned()
    }
}

/// `$1` worker, `$2` lease (see [`after_sql`]), `$3` limit, `$4` now (SQLite only).
fn claim_sql(pg: bool) -> String {
    let now = clock(pg, "$4");
    let until = after_sql(pg, "$2");
    let due = format!(
        "{DUE_ROWS} AND (status = 'pending' OR (status = 'running' AND lease_expires_at <= {now}))
        AND next_attempt_at <= {now} ORDER BY next_attempt_at, id LIMIT $3"
    );
    let set = format!(
        "status = 'running', attempts = attempts + 1, lease_owner = $1,
        lease_expires_at = {until}, updated_at = {now}"
    );
    if pg {
        // A materialised CTE runs the locking SELECT exactly once.
        let returning: Vec<String> = EXECUTION_COLUMNS
            .split(", ")
            .map(|column| format!("e.{column}"))
            .collect();
        format!(
            "WITH due AS MATERIALIZED (SELECT id FROM executions WHERE {due} FOR UPDATE SKIP LOCKED)
             UPDATE executions e SET {set} FROM due WHERE e.id = due.id
             RETURNING {}",
            returning.join(", ")
        )
    } else {
        format!(
            "UPDATE executions SET {set} WHERE id IN (SELECT id FROM executions WHERE {due})
             RETURNING {EXECUTION_COLUMNS}"
        )
    }
}

/// Binds a lease claim's parameters after `$1` (the claimer), as the claim statements number them:
/// `$2` the lease (microseconds on PostgreSQL, its end on SQLite — see [`after_sql`]), `$3` the
/// limit, and on SQLite `$4` now (PostgreSQL reads its own clock).
macro_rules! bind_claim {
    ($query:expr, $pg:expr, $now:expr, $lease:expr, $limit:expr) => {{
        let query = $query;
        if $pg {
            query
                .bind($crate::queue::micros($lease))
                .bind(i64::from($limit))
        } else {
            query
                .bind($crate::queue::after($now, $lease))
                .bind(i64::from($limit))
                .bind($now)
        }
    }};
}
pub(crate) use bind_claim;

/// A duration in whole microseconds, saturated.
pub(crate) fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

/// `now + duration` at the stored precision, saturated.
pub(crate) fn after(now: Timestamp, duration: Duration) -> Timestamp {
    let duration = TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX);
    truncate(
        now.checked_add_signed(duration)
            .unwrap_or(DateTime::<Utc>::MAX_UTC),
    )
}

impl SqlStore {
    pub(crate) async fn claim_due_impl(
        &self,
        worker_id: &str,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Execution>> {
        let now = self.clock();
        let mut claimed: Vec<Execution> = with_pool!(self.db, write, |pool, pg| {
            let mut tx = begin_write!(pool, pg);
            let expire = expire_sql(pg);
            let expire = sqlx::query(&expire);
            let expire = if pg { expire } else { expire.bind(now) };
            expire.execute(&mut *tx).await?;
            let claim = claim_sql(pg);
            let query = bind_claim!(
                sqlx::query_as(&claim).bind(worker_id),
                pg,
                now,
                lease,
                limit
            );
            let claimed = query.fetch_all(&mut *tx).await?;
            tx.commit().await?;
            claimed
        });
        claimed.sort_by(|a, b| (a.next_attempt_at, &a.id).cmp(&(b.next_attempt_at, &b.id)));
        if !claimed.is_empty() {
            tracing::debug!(worker_id, jobs = claimed.len(), "claimed due executions");
        }
        Ok(claimed)
    }

    pub(crate) async fn extend_lease_impl(
        &self,
        execution_id: &str,
        worker_id: &str,
        attempt: i64,
        lease: Duration,
    ) -> Result<()> {
        let now = self.clock();
        let updated = with_pool!(self.db, write, |pool, pg| {
            // A lease past its end is over, even before another worker takes the job.
            let now_sql = clock(pg, "$5");
            let sql = format!(
                "UPDATE executions SET lease_expires_at = {}, updated_at = {now_sql}
                 WHERE id = $1 AND lease_owner = $2 AND attempts = $3 AND status = 'running'
                   AND lease_expires_at > {now_sql}",
                after_sql(pg, "$4"),
            );
            let query = sqlx::query(&sql)
                .bind(execution_id)
                .bind(worker_id)
                .bind(attempt);
            let query = if pg {
                query.bind(micros(lease))
            } else {
                query.bind(after(now, lease)).bind(now)
            };
            query.execute(pool).await?.rows_affected()
        });
        if updated == 0 {
            return Err(self.lease_error(execution_id).await);
        }
        Ok(())
    }

    /// Ends the attempt leased by `worker_id`: sets the status, the results, the error (if any)
    /// and the next attempt time (if any: `next_in` from now on the queue's clock), and releases the
    /// lease.
    pub(crate) async fn finish_attempt(
        &self,
        execution_id: &str,
        worker_id: &str,
        status: ExecutionStatus,
        error: Option<&str>,
        results: &[serde_json::Value],
        next_in: Option<Duration>,
    ) -> Result<Execution> {
        let now = self.clock();
        let finished: Option<Execution> = with_pool!(self.db, write, |pool, pg| {
            let sql = format!(
                "UPDATE executions SET status = $3, last_error = COALESCE($4, last_error),
                    results = $5, next_attempt_at = COALESCE({}, next_attempt_at),
                    lease_owner = NULL, lease_expires_at = NULL, updated_at = {}
                 WHERE id = $1 AND lease_owner = $2 AND status = 'running'
                 RETURNING {EXECUTION_COLUMNS}",
                after_sql(pg, "$6"),
                clock(pg, "$7"),
            );
            let query = sqlx::query_as(&sql)
                .bind(execution_id)
                .bind(worker_id)
                .bind(status.as_str())
                .bind(error)
                .bind(Json(results));
            let query = if pg {
                query.bind(next_in.map(micros))
            } else {
                query.bind(next_in.map(|d| after(now, d))).bind(now)
            };
            query.fetch_optional(pool).await?
        });
        match finished {
            Some(execution) => Ok(execution),
            None => Err(self.lease_error(execution_id).await),
        }
    }

    /// Why a lease-conditioned update matched nothing: the job is gone, or the lease is not ours.
    async fn lease_error(&self, execution_id: &str) -> Error {
        let found: Result<Option<String>> = with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_scalar("SELECT id FROM executions WHERE id = $1")
                .bind(execution_id)
                .fetch_optional(pool)
                .await
                .map_err(Error::from)
        });
        match found {
            Ok(Some(_)) => Error::conflict(LEASE_LOST),
            Ok(None) => Error::not_found("execution"),
            Err(error) => error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{claim_sql, expire_sql};
    use crate::db::Db;
    use crate::SqlStore;

    /// Every sync dispatch adds an execution and a log event, so both tables hold days of
    /// logins: the queue's polls (twice a second on every node) and the retention purges must
    /// read through an index, never the whole table. SQLite uses a partial index only when the
    /// query states its condition.
    #[tokio::test]
    async fn polls_and_purges_read_through_indexes_on_sqlite() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = SqlStore::open_sqlite(&dir.path().join("plans.db"))
            .await
            .expect("a SQLite store");
        let Db::Sqlite { write, .. } = &store.db else {
            panic!("not SQLite")
        };
        let statements = [
            expire_sql(false),
            claim_sql(false),
            crate::executions::PURGE_SQL.to_owned(),
            crate::logs::events::PURGE_SQL.to_owned(),
        ];
        for sql in statements {
            let plan: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}"))
                    .fetch_all(write)
                    .await
                    .expect("a query plan");
            let scans: Vec<&String> = plan
                .iter()
                .map(|(_, _, _, detail)| detail)
                .filter(|d| d.starts_with("SCAN ") && !d.contains(" USING "))
                .collect();
            assert!(scans.is_empty(), "{sql}\nreads a whole table: {plan:?}");
        }
    }
}
