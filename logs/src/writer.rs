//! Actionflow's own events (dispatches, management calls, deploys) written behind the answer: a
//! caller hands an event over without waiting (one channel send), and one task appends them in
//! batches per tenant. A dispatch never waits on the log; an event is lost only if the process
//! dies before its batch is written (the host's own events, ingested through the API, are stored
//! before they are answered).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use actionflow_store::{NewLogEvent, SharedStore};
use tokio::sync::{mpsc, Notify};

/// Events per append (one transaction).
const APPEND_MAX: usize = 100;
/// Events taken off the channel per round.
const ROUND_MAX: usize = 2000;
const RETRIES: u32 = 3;

/// The handle callers keep: cheap to clone, never blocks.
#[derive(Clone)]
pub struct LogWriter {
    sender: mpsc::UnboundedSender<(String, NewLogEvent)>,
}

/// The task that writes; run it with [`WriterTask::run`].
pub struct WriterTask {
    receiver: mpsc::UnboundedReceiver<(String, NewLogEvent)>,
    store: SharedStore,
    wake: Arc<Notify>,
}

impl LogWriter {
    /// A writer and the task that drains it (which ends when every writer is dropped).
    pub fn new(store: SharedStore, wake: Arc<Notify>) -> (LogWriter, WriterTask) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (
            LogWriter { sender },
            WriterTask {
                receiver,
                store,
                wake,
            },
        )
    }

    /// Hands an event over; dropped (with a warning) only when the writer task has ended.
    pub fn record(&self, tenant_id: &str, event: NewLogEvent) {
        if self.sender.send((tenant_id.to_owned(), event)).is_err() {
            tracing::warn!(
                tenant_id,
                "tenant log: the writer has stopped; event dropped"
            );
        }
    }
}

impl WriterTask {
    /// Writes until every [`LogWriter`] is dropped and the channel is drained.
    pub async fn run(mut self) {
        let mut round = Vec::with_capacity(ROUND_MAX);
        while self.receiver.recv_many(&mut round, ROUND_MAX).await > 0 {
            let mut by_tenant: BTreeMap<String, Vec<NewLogEvent>> = BTreeMap::new();
            for (tenant, event) in round.drain(..) {
                by_tenant.entry(tenant).or_default().push(event);
            }
            for (tenant, events) in by_tenant {
                for chunk in events.chunks(APPEND_MAX) {
                    self.append(&tenant, chunk).await;
                }
            }
            self.wake.notify_one();
        }
    }

    async fn append(&self, tenant: &str, events: &[NewLogEvent]) {
        for attempt in 0..RETRIES {
            match self.store.append_logs(tenant, events).await {
                Ok(_) => return,
                Err(actionflow_store::Error::NotFound { .. }) => return,
                Err(error) => {
                    tracing::warn!(%error, tenant, attempt, "tenant log: append failed");
                    tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
                }
            }
        }
        tracing::error!(
            tenant,
            events = events.len(),
            "tenant log: events dropped after retries"
        );
    }
}

/// Deletes events past retention every `every`, until `stop` turns true.
pub async fn purge_loop(
    store: SharedStore,
    retention: Duration,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let cutoff = chrono::Utc::now()
            - chrono::TimeDelta::from_std(retention).unwrap_or(chrono::TimeDelta::MAX);
        match store.purge_logs_before(cutoff).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "tenant log: purged events past retention"),
            Err(error) => tracing::warn!(%error, "tenant log: purge failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
    }
}
