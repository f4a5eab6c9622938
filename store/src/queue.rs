//! The worker side of the durable queue: claim due jobs under a lease, extend it, and record the
//! end of an attempt only while still holding the lease.
//!
//! PostgreSQL claims with `FOR UPDATE SKIP LOCKED` in one short statement, so concurrent workers
//! (in many processes) take disjoint jobs without waiting for each other. SQLite has a single
//! writer connection, so the same UPDATE … RETURNING runs alone and needs no row locks.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::types::Json;

use crate::db::{begin_write, now, truncate, with_pool};
use crate::executions::EXECUTION_COLUMNS;
use crate::{Error, Execution, ExecutionStatus, Result, SqlStore, Timestamp};

const LEASE_LOST: &str = "the execution's lease is held by another worker or has ended";

/// `$1` now: running jobs whose lease expired on their last allowed attempt become dead.
fn expire_sql(pg: bool) -> String {
    let lock = if pg { " FOR UPDATE SKIP LOCKED" } else { "" };
    format!(
        "UPDATE executions SET status = 'dead',
            last_error = 'the lease expired during the last allowed attempt',
            lease_owner = NULL, lease_expires_at = NULL, updated_at = $1
         WHERE id IN (SELECT id FROM executions
             WHERE status = 'running' AND lease_expires_at <= $1 AND attempts >= max_attempts{lock})"
    )
}

/// `$1` worker, `$2` lease end, `$3` now, `$4` limit.
fn claim_sql(pg: bool) -> String {
    const DUE: &str = "(status = 'pending' OR (status = 'running' AND lease_expires_at <= $3))
        AND next_attempt_at <= $3 ORDER BY next_attempt_at, id LIMIT $4";
    const SET: &str = "status = 'running', attempts = attempts + 1, lease_owner = $1,
        lease_expires_at = $2, updated_at = $3";
    if pg {
        // A materialised CTE runs the locking SELECT exactly once.
        let returning: Vec<String> = EXECUTION_COLUMNS
            .split(", ")
            .map(|column| format!("e.{column}"))
            .collect();
        format!(
            "WITH due AS MATERIALIZED (SELECT id FROM executions WHERE {DUE} FOR UPDATE SKIP LOCKED)
             UPDATE executions e SET {SET} FROM due WHERE e.id = due.id
             RETURNING {}",
            returning.join(", ")
        )
    } else {
        format!(
            "UPDATE executions SET {SET} WHERE id IN (SELECT id FROM executions WHERE {DUE})
             RETURNING {EXECUTION_COLUMNS}"
        )
    }
}

fn lease_end(now: Timestamp, lease: Duration) -> Timestamp {
    let lease = TimeDelta::from_std(lease).unwrap_or(TimeDelta::MAX);
    truncate(
        now.checked_add_signed(lease)
            .unwrap_or(DateTime::<Utc>::MAX_UTC),
    )
}

impl SqlStore {
    pub(crate) async fn claim_due_impl(
        &self,
        worker_id: &str,
        limit: u32,
        lease: Duration,
        now: Timestamp,
    ) -> Result<Vec<Execution>> {
        let now = truncate(now);
        let until = lease_end(now, lease);
        let mut claimed: Vec<Execution> = with_pool!(self.db, write, |pool, pg| {
            let mut tx = begin_write!(pool, pg);
            sqlx::query(&expire_sql(pg))
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let claimed = sqlx::query_as(&claim_sql(pg))
                .bind(worker_id)
                .bind(until)
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await?;
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
        until: Timestamp,
    ) -> Result<()> {
        let updated = with_pool!(self.db, write, |pool, _pg| {
            sqlx::query(
                "UPDATE executions SET lease_expires_at = $3, updated_at = $4
                 WHERE id = $1 AND lease_owner = $2 AND attempts = $5 AND status = 'running'",
            )
            .bind(execution_id)
            .bind(worker_id)
            .bind(truncate(until))
            .bind(now())
            .bind(attempt)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if updated == 0 {
            return Err(self.lease_error(execution_id).await);
        }
        Ok(())
    }

    /// Ends the attempt leased by `worker_id`: sets the status, the results, the error (if any)
    /// and the next attempt time (if any), and releases the lease.
    pub(crate) async fn finish_attempt(
        &self,
        execution_id: &str,
        worker_id: &str,
        status: ExecutionStatus,
        error: Option<&str>,
        results: &[serde_json::Value],
        next_attempt_at: Option<Timestamp>,
    ) -> Result<Execution> {
        let sql = format!(
            "UPDATE executions SET status = $3, last_error = COALESCE($4, last_error),
                results = $5, next_attempt_at = COALESCE($6, next_attempt_at),
                lease_owner = NULL, lease_expires_at = NULL, updated_at = $7
             WHERE id = $1 AND lease_owner = $2 AND status = 'running'
             RETURNING {EXECUTION_COLUMNS}"
        );
        let finished: Option<Execution> = with_pool!(self.db, write, |pool, _pg| {
            sqlx::query_as(&sql)
                .bind(execution_id)
                .bind(worker_id)
                .bind(status.as_str())
                .bind(error)
                .bind(Json(results))
                .bind(next_attempt_at.map(truncate))
                .bind(now())
                .fetch_optional(pool)
                .await?
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
