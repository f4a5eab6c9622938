//! Log streams: create (starting at the tenant's head unless told), read, change, delete, replay,
//! key rotation, and how far behind a stream is.

use sqlx::types::Json;
use sqlx::FromRow;

use crate::db::{begin_write, now, with_pool};
use crate::error::unique_as_conflict;
use crate::{
    Error, LogFilter, LogStreamPatch, LogStreamRow, NewLogStream, Result, SealedBytes, SqlStore,
    Timestamp,
};

pub(crate) const STREAM_COLUMNS: &str = "id, tenant_id, name, status, status_reason, config, \
    authorization_ciphertext, authorization_nonce, key_ciphertext, key_nonce, \
    previous_key_ciphertext, previous_key_nonce, previous_key_expires_at, checkpoint, generation, \
    in_flight_to, next_attempt_at, lease_owner, lease_expires_at, last_success_at, last_error_at, \
    last_error_status, last_error_body, consecutive_failures, failing_since, created_at, updated_at";

const NAME_TAKEN: &str = "the tenant already has a log stream of that name";

/// The row as selected; [`LogStreamRow`] pairs the sealed columns.
#[derive(FromRow)]
pub(crate) struct StreamRecord {
    id: String,
    tenant_id: String,
    name: String,
    status: String,
    status_reason: Option<String>,
    #[sqlx(json)]
    config: serde_json::Value,
    authorization_ciphertext: Option<Vec<u8>>,
    authorization_nonce: Option<Vec<u8>>,
    key_ciphertext: Vec<u8>,
    key_nonce: Vec<u8>,
    previous_key_ciphertext: Option<Vec<u8>>,
    previous_key_nonce: Option<Vec<u8>>,
    previous_key_expires_at: Option<Timestamp>,
    checkpoint: i64,
    generation: i64,
    in_flight_to: Option<i64>,
    next_attempt_at: Timestamp,
    lease_owner: Option<String>,
    lease_expires_at: Option<Timestamp>,
    last_success_at: Option<Timestamp>,
    last_error_at: Option<Timestamp>,
    last_error_status: Option<i64>,
    last_error_body: Option<String>,
    consecutive_failures: i64,
    failing_since: Option<Timestamp>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

fn sealed(ciphertext: Option<Vec<u8>>, nonce: Option<Vec<u8>>) -> Option<SealedBytes> {
    Some(SealedBytes {
        ciphertext: ciphertext?,
        nonce: nonce?,
    })
}

impl From<StreamRecord> for LogStreamRow {
    fn from(r: StreamRecord) -> Self {
        LogStreamRow {
            authorization: sealed(r.authorization_ciphertext, r.authorization_nonce),
            key: SealedBytes {
                ciphertext: r.key_ciphertext,
                nonce: r.key_nonce,
            },
            previous_key: sealed(r.previous_key_ciphertext, r.previous_key_nonce),
            id: r.id,
            tenant_id: r.tenant_id,
            name: r.name,
            status: r.status,
            status_reason: r.status_reason,
            config: r.config,
            previous_key_expires_at: r.previous_key_expires_at,
            checkpoint: r.checkpoint,
            generation: r.generation,
            in_flight_to: r.in_flight_to,
            next_attempt_at: r.next_attempt_at,
            lease_owner: r.lease_owner,
            lease_expires_at: r.lease_expires_at,
            last_success_at: r.last_success_at,
            last_error_at: r.last_error_at,
            last_error_status: r.last_error_status,
            last_error_body: r.last_error_body,
            consecutive_failures: r.consecutive_failures,
            failing_since: r.failing_since,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// `AND level >= $n [AND type IN (…)]` for a stream's filter, numbering from `next`.
pub(crate) fn filter_sql(filter: &LogFilter, next: &mut usize) -> String {
    let mut sql = format!(" AND level >= ${}", *next);
    *next += 1;
    if !filter.types.is_empty() {
        let marks: Vec<String> = (0..filter.types.len())
            .map(|i| format!("${}", *next + i))
            .collect();
        *next += filter.types.len();
        sql.push_str(&format!(" AND type IN ({})", marks.join(", ")));
    }
    sql
}

impl SqlStore {
    pub(crate) async fn create_log_stream_impl(
        &self,
        tenant_id: &str,
        new: NewLogStream,
    ) -> Result<LogStreamRow> {
        let at = now();
        let insert = format!(
            "INSERT INTO log_streams ({STREAM_COLUMNS}) VALUES ($1, $2, $3, $4, NULL, $5, $6, $7,
                $8, $9, NULL, NULL, NULL, $10, 0, NULL, $11, NULL, NULL, NULL, NULL, NULL, NULL, 0,
                NULL, $11, $11)
             RETURNING {STREAM_COLUMNS}"
        );
        let (auth_text, auth_nonce) = match &new.authorization {
            Some(s) => (Some(s.ciphertext.as_slice()), Some(s.nonce.as_slice())),
            None => (None, None),
        };
        let record: StreamRecord = with_pool!(self.db, write, |pool, pg| {
            let mut tx = begin_write!(pool, pg);
            let checkpoint = match new.start_after {
                Some(after) => after,
                None => sqlx::query_scalar::<_, i64>(
                    "SELECT last_seq FROM log_heads WHERE tenant_id = $1",
                )
                .bind(tenant_id)
                .fetch_optional(&mut *tx)
                .await?
                .unwrap_or(0),
            };
            let record = sqlx::query_as(&insert)
                .bind(&new.id)
                .bind(tenant_id)
                .bind(&new.name)
                .bind(&new.status)
                .bind(Json(&new.config))
                .bind(auth_text)
                .bind(auth_nonce)
                .bind(&new.key.ciphertext)
                .bind(&new.key.nonce)
                .bind(checkpoint)
                .bind(at)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| match &e {
                    sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                        Error::not_found("tenant")
                    }
                    _ => unique_as_conflict(NAME_TAKEN)(e),
                })?;
            tx.commit().await?;
            record
        });
        Ok(record.into())
    }

    pub(crate) async fn get_log_stream_impl(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<LogStreamRow> {
        let sql =
            format!("SELECT {STREAM_COLUMNS} FROM log_streams WHERE tenant_id = $1 AND id = $2");
        let record: Option<StreamRecord> = with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as(&sql)
                .bind(tenant_id)
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        record.map(Into::into).ok_or(Error::not_found("log stream"))
    }

    pub(crate) async fn list_log_streams_impl(&self, tenant_id: &str) -> Result<Vec<LogStreamRow>> {
        let sql = format!(
            "SELECT {STREAM_COLUMNS} FROM log_streams WHERE tenant_id = $1 ORDER BY created_at, id"
        );
        let records: Vec<StreamRecord> = with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as(&sql).bind(tenant_id).fetch_all(pool).await?
        });
        Ok(records.into_iter().map(Into::into).collect())
    }

    pub(crate) async fn update_log_stream_impl(
        &self,
        tenant_id: &str,
        id: &str,
        patch: LogStreamPatch,
    ) -> Result<LogStreamRow> {
        let new_generation = patch.config.is_some() || patch.status.is_some();
        let resume = patch.status.as_deref() == Some("active");
        let (set_auth, auth) = match &patch.authorization {
            Some(value) => (true, value.as_ref()),
            None => (false, None),
        };
        let (set_reason, reason) = match &patch.status_reason {
            Some(value) => (true, value.as_deref()),
            None => (false, None),
        };
        let sql = format!(
            "UPDATE log_streams SET name = COALESCE($3, name), status = COALESCE($4, status),
                config = COALESCE($5, config),
                authorization_ciphertext = CASE WHEN $6 THEN $7 ELSE authorization_ciphertext END,
                authorization_nonce = CASE WHEN $6 THEN $8 ELSE authorization_nonce END,
                status_reason = CASE WHEN $9 THEN $10 ELSE status_reason END,
                generation = generation + $11,
                in_flight_to = CASE WHEN $11 = 1 THEN NULL ELSE in_flight_to END,
                consecutive_failures = CASE WHEN $12 THEN 0 ELSE consecutive_failures END,
                failing_since = CASE WHEN $12 THEN NULL ELSE failing_since END,
                next_attempt_at = CASE WHEN $12 THEN $13 ELSE next_attempt_at END,
                updated_at = $13
             WHERE tenant_id = $1 AND id = $2
             RETURNING {STREAM_COLUMNS}"
        );
        let record: Option<StreamRecord> = with_pool!(self.db, write, |pool, _pg| {
            sqlx::query_as(&sql)
                .bind(tenant_id)
                .bind(id)
                .bind(patch.name.as_deref())
                .bind(patch.status.as_deref())
                .bind(patch.config.as_ref().map(Json))
                .bind(set_auth)
                .bind(auth.map(|s| s.ciphertext.as_slice()))
                .bind(auth.map(|s| s.nonce.as_slice()))
                .bind(set_reason)
                .bind(reason)
                .bind(i64::from(new_generation))
                .bind(resume)
                .bind(now())
                .fetch_optional(pool)
                .await
                .map_err(unique_as_conflict(NAME_TAKEN))?
        });
        record.map(Into::into).ok_or(Error::not_found("log stream"))
    }

    pub(crate) async fn delete_log_stream_impl(&self, tenant_id: &str, id: &str) -> Result<()> {
        let deleted = with_pool!(self.db, write, |pool, _pg| {
            sqlx::query("DELETE FROM log_streams WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if deleted == 0 {
            return Err(Error::not_found("log stream"));
        }
        Ok(())
    }
}
