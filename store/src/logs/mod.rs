//! The tenant log and log streams: the [`LogStore`] area of the store. Events are appended in
//! commit order per tenant (`events.rs` says why a checkpoint never skips a late writer); streams
//! keep sealed secrets as bytes, a checkpoint, the batch in flight and a lease (`delivery.rs`).

mod delivery;
pub(crate) mod events;
mod model;
mod streams;

use std::time::Duration;

use async_trait::async_trait;

pub use model::{
    DeliveryFailure, LogBatch, LogEvent, LogField, LogFilter, LogLag, LogQuery, LogStreamPatch,
    LogStreamRow, NewLogEvent, NewLogStream, SealedBytes,
};

use crate::{Page, Paged, Result, SqlStore, Timestamp};

/// The tenant log and its streams. Every tenant-facing call is scoped by tenant: another
/// tenant's id is `NotFound`. Deliverer calls (`*_batch`, lease) take the stream as claimed and
/// are `Conflict` once the lease is lost or the stream changed generation (replay, new settings).
#[async_trait]
pub trait LogStore: Send + Sync {
    /// Appends events in one transaction and returns their seqs (`log_id`s), consecutive and
    /// above every committed one of the tenant. `NotFound` when the tenant does not exist.
    async fn append_logs(&self, tenant_id: &str, events: &[NewLogEvent]) -> Result<Vec<i64>>;
    /// The tenant's highest committed seq (0 when it has none).
    async fn log_head(&self, tenant_id: &str) -> Result<i64>;
    /// Checkpoint mode: up to `take` events after `after`, by seq.
    async fn logs_after(&self, tenant_id: &str, after: i64, take: u32) -> Result<Vec<LogEvent>>;
    /// Search mode: matching events, newest first.
    async fn search_logs(
        &self,
        tenant_id: &str,
        query: &LogQuery,
        page: Page,
    ) -> Result<Paged<LogEvent>>;
    async fn get_log(&self, tenant_id: &str, seq: i64) -> Result<LogEvent>;
    /// Deletes events received before `cutoff`; returns how many.
    async fn purge_logs_before(&self, cutoff: Timestamp) -> Result<u64>;

    /// `Conflict` when the name is taken.
    async fn create_log_stream(&self, tenant_id: &str, new: NewLogStream) -> Result<LogStreamRow>;
    async fn get_log_stream(&self, tenant_id: &str, id: &str) -> Result<LogStreamRow>;
    /// Oldest first.
    async fn list_log_streams(&self, tenant_id: &str) -> Result<Vec<LogStreamRow>>;
    async fn update_log_stream(
        &self,
        tenant_id: &str,
        id: &str,
        patch: LogStreamPatch,
    ) -> Result<LogStreamRow>;
    async fn delete_log_stream(&self, tenant_id: &str, id: &str) -> Result<()>;
    /// Moves the checkpoint back to `checkpoint` (a new generation: the batch in flight is
    /// dropped, its events are sent again). `Conflict` when that would move it forward.
    async fn replay_log_stream(
        &self,
        tenant_id: &str,
        id: &str,
        checkpoint: i64,
    ) -> Result<LogStreamRow>;
    /// The current key becomes the previous one (signing too until `previous_until`).
    async fn rotate_log_stream_key(
        &self,
        tenant_id: &str,
        id: &str,
        key: &SealedBytes,
        previous_until: Timestamp,
    ) -> Result<LogStreamRow>;
    /// Matching events after `after`, and when the oldest of them arrived.
    async fn log_lag(&self, tenant_id: &str, after: i64, filter: &LogFilter) -> Result<LogLag>;

    /// Leases up to `limit` active, due streams with events past their checkpoint (or a batch in
    /// flight) to `worker_id` for `lease`, on the store's clock.
    async fn claim_log_streams(
        &self,
        worker_id: &str,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<LogStreamRow>>;
    /// Pushes the lease end to `lease` from now.
    async fn extend_log_stream_lease(
        &self,
        stream: &LogStreamRow,
        worker_id: &str,
        lease: Duration,
    ) -> Result<()>;
    /// The next batch: up to `take` matching events after `after` and at most `until` (the
    /// tenant's head when `None`).
    async fn log_batch(
        &self,
        tenant_id: &str,
        after: i64,
        until: Option<i64>,
        filter: &LogFilter,
        take: u32,
    ) -> Result<LogBatch>;
    /// Records that the batch ending at `to` is being sent (a re-send after a crash forms the same
    /// batch).
    /// Both this and `finish_log_batch` push the lease end to `lease` from now.
    async fn begin_log_batch(
        &self,
        stream: &LogStreamRow,
        worker_id: &str,
        to: i64,
        lease: Duration,
    ) -> Result<()>;
    /// Moves the checkpoint to `to`; with `delivered`, records a success and clears failures.
    async fn finish_log_batch(
        &self,
        stream: &LogStreamRow,
        worker_id: &str,
        to: i64,
        delivered: bool,
        lease: Duration,
    ) -> Result<()>;
    /// Records a failed attempt (or suspends) and releases the lease; the checkpoint stays.
    async fn fail_log_batch(
        &self,
        stream: &LogStreamRow,
        worker_id: &str,
        failure: &DeliveryFailure,
    ) -> Result<()>;
    /// Gives the lease back.
    async fn release_log_stream(&self, stream: &LogStreamRow, worker_id: &str) -> Result<()>;
}

#[async_trait]
impl LogStore for SqlStore {
    async fn append_logs(&self, tenant_id: &str, events: &[NewLogEvent]) -> Result<Vec<i64>> {
        self.append_logs_impl(tenant_id, events).await
    }
    async fn log_head(&self, tenant_id: &str) -> Result<i64> {
        self.log_head_impl(tenant_id).await
    }
    async fn logs_after(&self, tenant_id: &str, after: i64, take: u32) -> Result<Vec<LogEvent>> {
        self.logs_after_impl(tenant_id, after, take).await
    }
    async fn search_logs(
        &self,
        tenant_id: &str,
        query: &LogQuery,
        page: Page,
    ) -> Result<Paged<LogEvent>> {
        self.search_logs_impl(tenant_id, query, page).await
    }
    async fn get_log(&self, tenant_id: &str, seq: i64) -> Result<LogEvent> {
        self.get_log_impl(tenant_id, seq).await
    }
    async fn purge_logs_before(&self, cutoff: Timestamp) -> Result<u64> {
        self.purge_logs_impl(cutoff).await
    }
    async fn create_log_stream(&self, tenant_id: &str, new: NewLogStream) -> Result<LogStreamRow> {
        self.create_log_stream_impl(tenant_id, new).await
    }
    async fn get_log_stream(&self, tenant_id: &str, id: &str) -> Result<LogStreamRow> {
        self.get_log_stream_impl(tenant_id, id).await
    }
    async fn list_log_streams(&self, tenant_id: &str) -> Result<Vec<LogStreamRow>> {
        self.list_log_streams_impl(tenant_id).await
    }
    async fn update_log_stream(
        &self,
        tenant_id: &str,
        id: &str,
        patch: LogStreamPatch,
    ) -> Result<LogStreamRow> {
        self.update_log_stream_impl(tenant_id, id, patch).await
    }
    async fn delete_log_stream(&self, tenant_id: &str, id: &str) -> Result<()> {
        self.delete_log_stream_impl(tenant_id, id).await
    }
    async fn replay_log_stream(
        &self,
        tenant_id: &str,
        id: &str,
        checkpoint: i64,
    ) -> Result<LogStreamRow> {
        self.replay_log_stream_impl(tenant_id, id, checkpoint).await
    }
    async fn rotate_log_stream_key(
        &self,
        tenant_id: &str,
        id: &str,
        key: &SealedBytes,
        previous_until: Timestamp,
    ) -> Result<LogStreamRow> {
        self.rotate_log_key_impl(tenant_id, id, key, previous_until)
            .await
    }
    async fn log_lag(&self, tenant_id: &str, after: i64, filter: &LogFilter) -> Result<LogLag> {
        self.log_lag_impl(tenant_id, after, filter).await
    }
    async fn claim_log_streams(
        &self,
        worker_id: &str,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<LogStreamRow>> {
        self.claim_log_streams_impl(worker_id, limit, lease).await
    }
    async fn extend_log_stream_lease(
        &self,
        stream: &LogStreamRow,
        worker_id: &str,
        lease: Duration,
    ) -> Result<()> {
        self.extend_log_lease_impl(stream, worker_id, lease).await
    }
    async fn log_batch(
        &self,
        tenant_id: &str,
        after: i64,
        until: Option<i64>,
        filter: &LogFilter,
        take: u32,
    ) -> Result<LogBatch> {
        self.log_batch_impl(tenant_id, after, until, filter, take)
            .await
    }
    async fn begin_log_batch(
        &self,
        stream: &LogStreamRow,
        worker_id: &str,
        to: i64,
        lease: Duration,
    ) -> Result<()> {
        self.begin_log_batch_impl(stream, worker_id, to, lease)
            .await
    }
    async fn finish_log_batch(
        &self,
        stream: &LogStreamRow,
        worker_id: &str,
        to: i64,
        delivered: bool,
        lease: Duration,
    ) -> Result<()> {
        self.finish_log_batch_impl(stream, worker_id, to, delivered, lease)
            .await
    }
    async fn fail_log_batch(
        &self,
        stream: &LogStreamRow,
        worker_id: &str,
        failure: &DeliveryFailure,
    ) -> Result<()> {
        self.fail_log_batch_impl(stream, worker_id, failure).await
    }
    async fn release_log_stream(&self, stream: &LogStreamRow, worker_id: &str) -> Result<()> {
        self.release_log_stream_impl(stream, worker_id).await
    }
}
