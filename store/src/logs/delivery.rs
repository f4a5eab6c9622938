//! The delivering side of log streams: claim due streams under a lease (one deliverer per stream
//! across nodes), form the next batch, mark it in flight, record its success or failure, replay,
//! rotate keys, measure lag. Every write of a deliverer is conditioned on holding the lease for the
//! stream's current generation, so a replay or a change of settings is never overwritten by a batch
//! formed before it.
//!
//! Lease ends and due times are judged on one clock, as in the job queue: PostgreSQL's `now()`, or
//! this process's on SQLite.

use std::time::Duration;

use crate::db::{begin_write, with_pool};
use crate::logs::events::LOG_COLUMNS;
use crate::logs::streams::{filter_sql, StreamRecord, STREAM_COLUMNS};
use crate::queue::{after, after_sql, bind_claim, micros};
use crate::{
    DeliveryFailure, Error, LogBatch, LogEvent, LogFilter, LogLag, LogStreamRow, Result,
    SealedBytes, SqlStore, Timestamp,
};

const LEASE_LOST: &str = "the log stream's lease is held by another deliverer, has ended, or the \
    stream changed since the batch was formed";

fn clock(pg: bool, param: &str) -> String {
    if pg {
        "now()".to_owned()
    } else {
        param.to_owned()
    }
}

/// The clock of a lease-conditioned update: `$4`, bound to this process's time on SQLite and to
/// NULL on PostgreSQL, where the database's own clock is used (the parameter stays typed).
fn held_clock(pg: bool) -> &'static str {
    if pg {
        "COALESCE($4::timestamptz, now())"
    } else {
        "$4"
    }
}

/// `$1` worker, `$2` generation, `$3` stream id, `$4` (see [`held_clock`]): the lease condition.
fn held(pg: bool) -> String {
    format!(
        "id = $3 AND lease_owner = $1 AND generation = $2 AND lease_expires_at > {}",
        held_clock(pg)
    )
}

impl SqlStore {
    pub(crate) async fn claim_log_streams_impl(
        &self,
        worker_id: &str,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<LogStreamRow>> {
        let now = self.clock();
        let records: Vec<StreamRecord> = with_pool!(self.db, write, |pool, pg| {
            let now_sql = clock(pg, "$4");
            let lock = if pg { " FOR UPDATE SKIP LOCKED" } else { "" };
            // Only streams with something past their checkpoint (or a batch in flight) are taken,
            // so idle streams cost one indexed read per poll and no write.
            let sql = format!(
                "UPDATE log_streams SET lease_owner = $1, lease_expires_at = {until}
                 WHERE id IN (SELECT s.id FROM log_streams s
                     WHERE s.status = 'active' AND s.next_attempt_at <= {now_sql}
                       AND (s.lease_owner IS NULL OR s.lease_expires_at <= {now_sql})
                       AND (s.in_flight_to IS NOT NULL OR s.checkpoint <
                           COALESCE((SELECT h.last_seq FROM log_heads h
                                     WHERE h.tenant_id = s.tenant_id), 0))
                     ORDER BY s.next_attempt_at, s.id LIMIT $3{lock})
                 RETURNING {STREAM_COLUMNS}",
                until = after_sql(pg, "$2"),
            );
            let query = bind_claim!(sqlx::query_as(&sql).bind(worker_id), pg, now, lease, limit);
            let mut tx = begin_write!(pool, pg);
            let records = query.fetch_all(&mut *tx).await?;
            tx.commit().await?;
            records
        });
        Ok(records.into_iter().map(Into::into).collect())
    }

    /// Runs a lease-conditioned update (`$1` worker, `$2` generation, `$3` id, `$4` now on
    /// SQLite, then `extra` binds from `$5`); `Conflict` when nothing matched.
    async fn held_update(
        &self,
        stream: &LogStreamRow,
        worker_id: &str,
        set: &str,
        extra: Vec<Bind>,
    ) -> Result<()> {
        let now = self.clock();
        let updated = with_pool!(self.db, write, |pool, pg| {
            let sql = format!(
                "UPDATE log_streams SET {}, updated_at = {} WHERE {}",
                set.replace("{now}", held_clock(pg)),
                held_clock(pg),
                held(pg)
            );
            let mut query = sqlx::query(&sql)
                .bind(worker_id)
                .bind(stream.generation)
                .bind(&stream.id)
                .bind((!pg).then_some(now));
            for value in extra {
                query = match value {
                    Bind::Int(v) => query.bind(v),
                    Bind::Text(v) => query.bind(v),
                    Bind::Time(v) => query.bind(v),
                };
            }
            query.execute(pool).await?.rows_affected()
        });
        if updated == 0 {
            return Err(Error::conflict(LEASE_LOST));
        }
        Ok(())
    }

    /// `lease_expires_at = <lease from now>` with the parameter `$n`, and its value.
    fn lease_set(&self, lease: Duration, param: &str) -> (String, Bind) {
        if matches!(self.db, crate::db::Db::Postgres(_)) {
            (
                format!("lease_expires_at = {}", after_sql(true, param)),
                Bind::Int(Some(micros(lease))),
            )
        } else {
            (
                format!("lease_expires_at = {param}"),
                Bind::Time(Some(after(self.clock(), lease))),
            )
        }
    }

    pub(crate) async fn extend_log_lease_impl(
        &self,
        stream: &LogStreamRow,
        worker_id: &str,
        lease: Duration,
    ) -> Result<()> {
        let (set, bind) = self.lease_set(lease, "$5");
        self.held_update(stream, worker_id, &set, vec![bind]).await
    }

    pub(crate) async fn begin_log_batch_impl(
        &self,
        stream: &LogStreamRow,
        worker_id: &str,
        to: i64,
        lease: Duration,
    ) -> Result<()> {
        let (lease_set, lease_bind) = self.lease_set(lease, "$6");
        let set = format!("in_flight_to = $5, {lease_set}");
        let binds = vec![Bind::Int(Some(to)), lease_bind];
        self.held_update(stream, worker_id, &set, binds).await
    }

    pub(crate) async fn finish_log_batch_impl(
        &self,
        stream: &LogStreamRow,
        worker_id: &str,
        to: i64,
        delivered: bool,
        lease: Duration,
    ) -> Result<()> {
        let (lease_set, lease_bind) = self.lease_set(lease, "$6");
        let success = if delivered {
            ", last_success_at = {now}, consecutive_failures = 0, failing_since = NULL"
        } else {
            ""
        };
        let set = format!("checkpoint = $5, in_flight_to = NULL, {lease_set}{success}");
        let binds = vec![Bind::Int(Some(to)), lease_bind];
        self.held_update(stream, worker_id, &set, binds).await
    }

    pub(crate) async fn fail_log_batch_impl(
        &self,
        stream: &LogStreamRow,
        worker_id: &str,
        failure: &DeliveryFailure,
    ) -> Result<()> {
        let pg = matches!(self.db, crate::db::Db::Postgres(_));
        let next = if pg {
            Bind::Int(Some(micros(failure.retry_in)))
        } else {
            Bind::Time(Some(after(self.clock(), failure.retry_in)))
        };
        let status = if failure.suspend.is_some() {
            "'suspended'"
        } else {
            "status"
        };
        let set = format!(
            "last_error_at = {{now}}, last_error_status = $5, last_error_body = $6,
             consecutive_failures = consecutive_failures + 1,
             failing_since = COALESCE(failing_since, {{now}}), next_attempt_at = {},
             status = {status}, status_reason = COALESCE($8, status_reason),
             lease_owner = NULL, lease_expires_at = NULL",
            after_sql(pg, "$7")
        );
        let binds = vec![
            Bind::Int(failure.status),
            Bind::Text(Some(failure.excerpt.clone())),
            next,
            Bind::Text(failure.suspend.clone()),
        ];
        self.held_update(stream, worker_id, &set, binds).await
    }

    pub(crate) async fn release_log_stream_impl(
        &self,
        stream: &LogStreamRow,
        worker_id: &str,
    ) -> Result<()> {
        // Whatever the generation: a replay or an edit bumps it under a running delivery, and the
        // lease is still this worker's to give back (else the stream waits for the lease to expire).
        with_pool!(self.db, write, |pool, _pg| {
            sqlx::query(
                "UPDATE log_streams SET lease_owner = NULL, lease_expires_at = NULL
                 WHERE id = $1 AND lease_owner = $2",
            )
            .bind(&stream.id)
            .bind(worker_id)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Up to `take` matching events after `after` and at most `until` (the batch in flight, or
    /// the tenant's head read first: every event at or below it is committed).
    pub(crate) async fn log_batch_impl(
        &self,
        tenant_id: &str,
        after: i64,
        until: Option<i64>,
        filter: &LogFilter,
        take: u32,
    ) -> Result<LogBatch> {
        let until = match until {
            Some(until) => until,
            None => self.log_head_impl(tenant_id).await?,
        };
        let mut next = 4;
        let condition = filter_sql(filter, &mut next);
        let sql = format!(
            "SELECT {LOG_COLUMNS} FROM log_events
             WHERE tenant_id = $1 AND seq > $2 AND seq <= $3{condition} ORDER BY seq LIMIT ${next}"
        );
        let events: Vec<LogEvent> = with_pool!(self.db, read, |pool, _pg| {
            let mut query = sqlx::query_as(&sql)
                .bind(tenant_id)
                .bind(after)
                .bind(until)
                .bind(filter.min_level);
            for t in &filter.types {
                query = query.bind(t);
            }
            query.bind(i64::from(take)).fetch_all(pool).await?
        });
        let full = events.len() >= take as usize;
        let end = match events.last() {
            Some(last) if full => last.seq,
            _ => until.max(after),
        };
        Ok(LogBatch { events, end })
    }

    pub(crate) async fn log_lag_impl(
        &self,
        tenant_id: &str,
        after: i64,
        filter: &LogFilter,
    ) -> Result<LogLag> {
        let mut next = 3;
        let condition = filter_sql(filter, &mut next);
        let sql = format!(
            "SELECT COUNT(*), MIN(created_at) FROM log_events
             WHERE tenant_id = $1 AND seq > $2{condition}"
        );
        let (count, oldest): (i64, Option<Timestamp>) = with_pool!(self.db, read, |pool, _pg| {
            let mut query = sqlx::query_as(&sql)
                .bind(tenant_id)
                .bind(after)
                .bind(filter.min_level);
            for t in &filter.types {
                query = query.bind(t);
            }
            query.fetch_one(pool).await?
        });
        Ok(LogLag {
            events: u64::try_from(count).unwrap_or(0),
            oldest_created_at: oldest,
        })
    }

    pub(crate) async fn replay_log_stream_impl(
        &self,
        tenant_id: &str,
        id: &str,
        checkpoint: i64,
    ) -> Result<LogStreamRow> {
        let sql = format!(
            "UPDATE log_streams SET checkpoint = $3, generation = generation + 1,
                in_flight_to = NULL, next_attempt_at = $4, updated_at = $4
             WHERE tenant_id = $1 AND id = $2 AND checkpoint >= $3
             RETURNING {STREAM_COLUMNS}"
        );
        let record: Option<StreamRecord> = with_pool!(self.db, write, |pool, _pg| {
            sqlx::query_as(&sql)
                .bind(tenant_id)
                .bind(id)
                .bind(checkpoint)
                .bind(crate::db::now())
                .fetch_optional(pool)
                .await?
        });
        match record {
            Some(record) => Ok(record.into()),
            None => {
                self.get_log_stream_impl(tenant_id, id).await?;
                Err(Error::conflict(
                    "a replay moves the checkpoint back only (moving it forward would skip events)",
                ))
            }
        }
    }

    pub(crate) async fn rotate_log_key_impl(
        &self,
        tenant_id: &str,
        id: &str,
        key: &SealedBytes,
        previous_until: Timestamp,
    ) -> Result<LogStreamRow> {
        let sql = format!(
            "UPDATE log_streams SET previous_key_ciphertext = key_ciphertext,
                previous_key_nonce = key_nonce, previous_key_expires_at = $5,
                key_ciphertext = $3, key_nonce = $4, updated_at = $6
             WHERE tenant_id = $1 AND id = $2
             RETURNING {STREAM_COLUMNS}"
        );
        let record: Option<StreamRecord> = with_pool!(self.db, write, |pool, _pg| {
            sqlx::query_as(&sql)
                .bind(tenant_id)
                .bind(id)
                .bind(&key.ciphertext)
                .bind(&key.nonce)
                .bind(crate::db::truncate(previous_until))
                .bind(crate::db::now())
                .fetch_optional(pool)
                .await?
        });
        record.map(Into::into).ok_or(Error::not_found("log stream"))
    }
}

/// An extra parameter of a lease-conditioned update.
enum Bind {
    Int(Option<i64>),
    Text(Option<String>),
    Time(Option<Timestamp>),
}
