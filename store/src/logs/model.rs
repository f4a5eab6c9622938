//! Rows and new-row types of the tenant log and its streams, as the store exchanges them. What the
//! values mean (known type codes, levels, stream rules) is the `actionflow-logs` crate's business.

use serde_json::Value;
use sqlx::FromRow;

use crate::Timestamp;

/// One stored event of a tenant's log. `seq` is its `log_id`: per tenant, dense, and in commit
/// order (see the migration `0005_tenant_logs.sql`).
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct LogEvent {
    pub tenant_id: String,
    pub seq: i64,
    pub date: Timestamp,
    #[sqlx(rename = "type")]
    pub event_type: String,
    pub level: i64,
    pub description: Option<String>,
    pub client_id: Option<String>,
    pub client_name: Option<String>,
    pub connection: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    pub strategy: Option<String>,
    pub strategy_type: Option<String>,
    /// JSON `null` when the event has none.
    #[sqlx(json)]
    pub details: Value,
    /// When the store received it (the event's `date` is the caller's).
    pub created_at: Timestamp,
}

/// An event to append (already checked by the caller).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewLogEvent {
    pub date: Option<Timestamp>,
    pub event_type: String,
    pub level: i64,
    pub description: Option<String>,
    pub client_id: Option<String>,
    pub client_name: Option<String>,
    pub connection: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    pub strategy: Option<String>,
    pub strategy_type: Option<String>,
    pub details: Value,
}

/// A searchable field of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogField {
    Type,
    UserId,
    UserName,
    ClientId,
    Connection,
    Ip,
    Strategy,
}

impl LogField {
    pub(crate) fn column(self) -> &'static str {
        match self {
            LogField::Type => "type",
            LogField::UserId => "user_id",
            LogField::UserName => "user_name",
            LogField::ClientId => "client_id",
            LogField::Connection => "connection",
            LogField::Ip => "ip",
            LogField::Strategy => "strategy",
        }
    }
}

/// A search: any of the groups matches when all of its terms (`field = value`) do; no group
/// matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogQuery {
    pub any_of: Vec<Vec<(LogField, String)>>,
}

/// Which events a stream receives: one of `types` (all when empty) at `min_level` or above.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogFilter {
    pub types: Vec<String>,
    pub min_level: i64,
}

/// Encrypted bytes (the binary seals and opens them; the store keeps them).
#[derive(Clone, PartialEq, Eq)]
pub struct SealedBytes {
    pub ciphertext: Vec<u8>,
    pub nonce: Vec<u8>,
}

impl std::fmt::Debug for SealedBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedBytes({} bytes)", self.ciphertext.len())
    }
}

/// A log stream's row.
#[derive(Debug, Clone, PartialEq)]
pub struct LogStreamRow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    /// `active`, `paused` or `suspended`.
    pub status: String,
    pub status_reason: Option<String>,
    /// The stream's settings (sink without secrets, filters, batching), opaque to the store.
    pub config: Value,
    pub authorization: Option<SealedBytes>,
    pub key: SealedBytes,
    /// The key before the last rotation, still signing until `previous_key_expires_at`.
    pub previous_key: Option<SealedBytes>,
    pub previous_key_expires_at: Option<Timestamp>,
    /// The last seq delivered (or passed over as not matching).
    pub checkpoint: i64,
    /// Bumped by a replay or a change of settings: a batch formed under an older generation is
    /// not recorded.
    pub generation: i64,
    /// The last seq of the batch being sent, while one is.
    pub in_flight_to: Option<i64>,
    pub next_attempt_at: Timestamp,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<Timestamp>,
    pub last_success_at: Option<Timestamp>,
    pub last_error_at: Option<Timestamp>,
    pub last_error_status: Option<i64>,
    pub last_error_body: Option<String>,
    pub consecutive_failures: i64,
    pub failing_since: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A stream to create. `start_after` is the checkpoint to begin from; `None` starts at the
/// tenant's head (only events appended from now on).
#[derive(Debug, Clone, PartialEq)]
pub struct NewLogStream {
    /// From [`crate::new_id`]: the secrets are sealed with it bound before the row exists.
    pub id: String,
    pub name: String,
    pub status: String,
    pub config: Value,
    pub authorization: Option<SealedBytes>,
    pub key: SealedBytes,
    pub start_after: Option<i64>,
}

/// A change to a stream; `None` keeps a value. A new `config` or `status` starts a new
/// generation (a batch in flight is formed again); `status: active` also clears the failures.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogStreamPatch {
    pub name: Option<String>,
    pub status: Option<String>,
    pub status_reason: Option<Option<String>>,
    pub config: Option<Value>,
    pub authorization: Option<Option<SealedBytes>>,
}

/// How far behind a stream is: matching events past its checkpoint and when the oldest arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLag {
    pub events: u64,
    pub oldest_created_at: Option<Timestamp>,
}

/// A batch to deliver: the matching events past the checkpoint and the last seq it covers (the
/// checkpoint after delivery; past the last event when non-matching ones follow it).
#[derive(Debug, Clone, PartialEq)]
pub struct LogBatch {
    pub events: Vec<LogEvent>,
    pub end: i64,
}

/// A failed delivery to record.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryFailure {
    /// The HTTP status, when the endpoint answered.
    pub status: Option<i64>,
    /// What went wrong: a body excerpt or a transport error, already shortened.
    pub excerpt: String,
    /// When to try again.
    pub retry_in: std::time::Duration,
    /// Suspend the stream with this reason instead of retrying.
    pub suspend: Option<String>,
}
