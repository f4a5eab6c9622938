//! Sync executions recorded behind the answer: a dispatch hands its record to a bounded queue (no
//! store write on the latency path), and one writer stores what queued every `FLUSH_INTERVAL`, in
//! batches of one transaction. Under overload — the store slower than the dispatches for longer than
//! the queue holds — the newest records are dropped (the answer already went out) and counted.
//! Stopping writes everything queued; a process killed outright loses at most the last interval.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actionflow_store::{Store, SyncExecution};
use tokio::sync::{mpsc, watch};

/// Records waiting to be written; beyond, new ones are dropped.
pub const SYNC_RECORDS_QUEUED_MAX: usize = 10_000;
/// How often the writer stores what queued.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(200);
/// Records per store call.
const BATCH_MAX: usize = 1_000;

pub struct SyncRecords {
    queue: mpsc::Sender<SyncExecution>,
    queued: Mutex<Option<mpsc::Receiver<SyncExecution>>>,
    dropped: AtomicU64,
}

impl SyncRecords {
    pub fn new(queued_max: usize) -> Arc<SyncRecords> {
        let (queue, queued) = mpsc::channel(queued_max.max(1));
        Arc::new(SyncRecords {
            queue,
            queued: Mutex::new(Some(queued)),
            dropped: AtomicU64::new(0),
        })
    }

    /// Queues a record; drops it (and counts it) when the queue is full.
    pub fn record(&self, record: SyncExecution) {
        if self.queue.try_send(record).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::warn!(
                    dropped,
                    "sync execution records dropped: the store is not keeping up with dispatches"
                );
            }
        }
    }

    /// Records dropped so far for a full queue.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The writer, to run in the background until `stop` turns true (then it writes what is
    /// queued and ends). `None` after the first call.
    pub fn writer(
        &self,
        store: Arc<dyn Store>,
        stop: watch::Receiver<bool>,
    ) -> Option<impl std::future::Future<Output = ()> + Send + 'static> {
        let queued = self.queued.lock().ok()?.take()?;
        Some(write(store, queued, stop))
    }
}

async fn write(
    store: Arc<dyn Store>,
    mut queued: mpsc::Receiver<SyncExecution>,
    mut stop: watch::Receiver<bool>,
) {
    let mut batch = Vec::with_capacity(BATCH_MAX);
    loop {
        let stopping = tokio::select! {
            changed = stop.changed() => changed.is_err() || *stop.borrow(),
            () = tokio::time::sleep(FLUSH_INTERVAL) => false,
        };
        loop {
            while batch.len() < BATCH_MAX {
                match queued.try_recv() {
                    Ok(record) => batch.push(record),
                    Err(_) => break,
                }
            }
            if batch.is_empty() {
                break;
            }
            store_batch(store.as_ref(), &mut batch).await;
        }
        if stopping {
            return;
        }
    }
}

/// Stores a batch in one call; when that fails (a record's tenant was deleted meanwhile), one record
/// at a time, so that one bad record does not lose the others.
async fn store_batch(store: &dyn Store, batch: &mut Vec<SyncExecution>) {
    if let Err(error) = store.record_sync_executions(batch).await {
        tracing::warn!(%error, records = batch.len(), "storing sync executions; retrying one by one");
        for record in batch.iter() {
            if let Err(error) = store
                .record_sync_executions(std::slice::from_ref(record))
                .await
            {
                tracing::warn!(%error, execution_id = %record.id, "a sync execution was not stored");
            }
        }
    }
    batch.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: usize) -> SyncExecution {
        let at = chrono::Utc::now();
        SyncExecution {
            id: format!("e{n}"),
            tenant_id: "t".to_owned(),
            trigger_id: "post-login".to_owned(),
            status: actionflow_store::ExecutionStatus::Final,
            action_ids: Vec::new(),
            event: serde_json::json!({}),
            results: Vec::new(),
            last_error: None,
            created_at: at,
            ended_at: at,
            plan: serde_json::json!([]),
        }
    }

    #[tokio::test]
    async fn a_full_queue_drops_the_newest_and_counts_them() {
        let records = SyncRecords::new(2);
        for n in 0..5 {
            records.record(record(n));
        }
        assert_eq!(records.dropped(), 3);
        let mut queued = records.queued.lock().unwrap().take().unwrap();
        assert_eq!(queued.recv().await.map(|r| r.id), Some("e0".to_owned()));
        assert_eq!(queued.recv().await.map(|r| r.id), Some("e1".to_owned()));
    }
}
