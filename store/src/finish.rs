//! Recording the ends of many leased attempts at once: one transaction, one commit, each row still
//! conditioned on its lease owner. PostgreSQL does it in one statement over a JSON recordset;
//! SQLite (one writer, no network) runs one UPDATE per attempt inside the transaction.

use std::time::Duration;

use serde_json::{json, Value};
use sqlx::types::Json;

use crate::db::{begin_write, with_pool};
use crate::queue::{after, micros};
use crate::{AttemptEnd, ExecutionStatus, FinishedAttempt, NextAttempt, Result, SqlStore};

/// `$1` worker, `$2` the attempts as `[{id, attempt, status, error, results, next_in}]` (`next_in`:
/// microseconds from now on the database's clock).
const FINISH_PG: &str = "UPDATE executions e SET status = d.status,
        last_error = COALESCE(d.error, e.last_error), results = d.results,
        next_attempt_at = COALESCE(now() + d.next_in * interval '1 microsecond', e.next_attempt_at),
        lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
    FROM jsonb_to_recordset($2)
        AS d(id text, attempt bigint, status text, error text, results jsonb, next_in bigint)
    WHERE e.id = d.id AND e.lease_owner = $1 AND e.attempts = d.attempt AND e.status = 'running'
    RETURNING e.id";

const FINISH_ONE: &str = "UPDATE executions SET status = $3, last_error = COALESCE($4, last_error),
        results = $5, next_attempt_at = COALESCE($6, next_attempt_at),
        lease_owner = NULL, lease_expires_at = NULL, updated_at = $7
    WHERE id = $1 AND lease_owner = $2 AND attempts = $8 AND status = 'running'";

/// The stored status, error and delay of the next attempt of an attempt's end.
fn columns(end: &AttemptEnd) -> (ExecutionStatus, Option<&str>, Option<Duration>) {
    match end {
        AttemptEnd::Complete(outcome) => (outcome.status(), None, None),
        AttemptEnd::Fail { error, next } => match next {
            NextAttempt::After(delay) => (ExecutionStatus::Pending, Some(error), Some(*delay)),
            NextAttempt::Dead => (ExecutionStatus::Dead, Some(error), None),
        },
    }
}

fn recordset(attempts: &[FinishedAttempt]) -> Value {
    let rows: Vec<Value> = attempts
        .iter()
        .map(|a| {
            let (status, error, next_in) = columns(&a.end);
            json!({"id": a.execution_id, "attempt": a.attempt, "status": status.as_str(), "error": error,
                "results": a.results, "next_in": next_in.map(micros)})
        })
        .collect();
    Value::Array(rows)
}

impl SqlStore {
    pub(crate) async fn finish_attempts_impl(
        &self,
        worker_id: &str,
        attempts: &[FinishedAttempt],
    ) -> Result<Vec<bool>> {
        if attempts.is_empty() {
            return Ok(Vec::new());
        }
        let at = self.clock();
        let recorded: Vec<String> = with_pool!(self.db, write, |pool, pg| {
            let mut tx = begin_write!(pool, pg);
            let mut recorded = Vec::with_capacity(attempts.len());
            if pg {
                recorded = sqlx::query_scalar(FINISH_PG)
                    .bind(worker_id)
                    .bind(Json(recordset(attempts)))
                    .fetch_all(&mut *tx)
                    .await?;
            } else {
                for attempt in attempts {
                    let (status, error, next_in) = columns(&attempt.end);
                    let next_at = next_in.map(|delay| after(at, delay));
                    let updated = sqlx::query(FINISH_ONE)
                        .bind(&attempt.execution_id)
                        .bind(worker_id)
                        .bind(status.as_str())
                        .bind(error)
                        .bind(Json(&attempt.results))
                        .bind(next_at)
                        .bind(at)
                        .bind(attempt.attempt)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if updated > 0 {
                        recorded.push(attempt.execution_id.clone());
                    }
                }
            }
            tx.commit().await?;
            recorded
        });
        Ok(attempts
            .iter()
            .map(|a| recorded.contains(&a.execution_id))
            .collect())
    }
}
