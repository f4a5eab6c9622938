//! The delivery worker: claims due streams under a lease (one deliverer per stream across nodes),
//! and for each sends batch after batch in `log_id` order from its checkpoint until caught up. A
//! batch is marked in flight before it is sent and the checkpoint moves past it only after a 2xx,
//! so a crash re-sends exactly that batch (same `webhook-id`) and nothing is ever skipped; a
//! failure holds the stream at its checkpoint, backs off (see `backoff.rs`) and may suspend it.

pub mod backoff;
pub mod sink;

use std::sync::Arc;
use std::time::Duration;

use actionflow_store::{DeliveryFailure, LogEvent, LogStreamRow, SharedStore};
use serde_json::{json, Value};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

use crate::seal::{SecretSeal, SecretSlot};
use crate::sign::SigningKey;
use crate::stream::StreamConfig;
use sink::{Envelope, SendFailure};

/// How the worker runs. Units last.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// How often the store is asked for due streams when nothing woke the worker.
    pub poll: Duration,
    /// How long a claimed stream stays ours without a write (each batch begun or ended renews it;
    /// it must outlast `request_timeout`). A node killed mid-batch holds its streams this long.
    pub lease: Duration,
    /// Streams delivered at once by this node.
    pub streams_max: u32,
    pub request_timeout: Duration,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Failing this long suspends a stream.
    pub suspend_after: Duration,
    pub allow_private: bool,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            poll: Duration::from_millis(500),
            lease: Duration::from_secs(20),
            streams_max: 16,
            request_timeout: Duration::from_secs(10),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(600),
            suspend_after: Duration::from_secs(7 * 86400),
            allow_private: false,
        }
    }
}

/// The worker of one node.
#[derive(Clone)]
pub struct Deliverer {
    inner: Arc<Inner>,
}

struct Inner {
    store: SharedStore,
    seal: Arc<dyn SecretSeal>,
    client: reqwest::Client,
    settings: DeliverySettings,
    worker_id: String,
    wake: Arc<Notify>,
}

/// The `webhook-id` of a batch: the same for a re-send of the same batch, new after a replay or a
/// change of settings (a new generation), so receivers de-duplicate re-sends and not replays.
pub fn webhook_id(stream_id: &str, generation: i64, first: i64, last: i64) -> String {
    format!("msg_{stream_id}_{generation}_{first}-{last}")
}

/// A delivered record: `{log_id, data}`.
pub fn delivered_record(event: &LogEvent) -> Value {
    json!({"log_id": event.seq.to_string(), "data": crate::event::record(event)})
}

impl Deliverer {
    /// `wake` is notified by ingestion on this node so new events go out without waiting a poll.
    pub fn new(
        store: SharedStore,
        seal: Arc<dyn SecretSeal>,
        settings: DeliverySettings,
        wake: Arc<Notify>,
    ) -> reqwest::Result<Deliverer> {
        let client = sink::client(settings.allow_private, settings.request_timeout)?;
        Ok(Deliverer {
            inner: Arc::new(Inner {
                store,
                seal,
                client,
                settings,
                worker_id: format!("logs-{}", uuid::Uuid::now_v7()),
                wake,
            }),
        })
    }

    /// Runs until `stop` turns true, then lets the batches in flight end.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut active: JoinSet<()> = JoinSet::new();
        let mut failed_claims = 0u32;
        loop {
            if *stop.borrow() {
                break;
            }
            let room = self
                .inner
                .settings
                .streams_max
                .saturating_sub(active.len() as u32);
            if room > 0 {
                match self
                    .inner
                    .store
                    .claim_log_streams(&self.inner.worker_id, room, self.inner.settings.lease)
                    .await
                {
                    Ok(streams) => {
                        failed_claims = 0;
                        for stream in streams {
                            let me = self.clone();
                            let stop = stop.clone();
                            active.spawn(async move { me.deliver(stream, stop).await });
                        }
                    }
                    Err(error) => {
                        failed_claims += 1;
                        tracing::warn!(%error, "log streams: claiming failed");
                    }
                }
            }
            let pause = self.inner.settings.poll * (1 + failed_claims.min(10));
            tokio::select! {
                _ = self.inner.wake.notified() => {}
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => {}
                Some(_) = active.join_next(), if !active.is_empty() => {}
            }
        }
        while active.join_next().await.is_some() {}
    }

    fn open(
        &self,
        stream: &LogStreamRow,
        name: &'static str,
        sealed: &actionflow_store::SealedBytes,
    ) -> Option<Vec<u8>> {
        let slot = SecretSlot {
            tenant_id: &stream.tenant_id,
            stream_id: &stream.id,
            name,
        };
        self.inner.seal.open(slot, sealed)
    }

    /// The keys that sign now: the current one and a previous one still in its overlap.
    fn keys(&self, stream: &LogStreamRow) -> Option<Vec<SigningKey>> {
        let mut keys = vec![SigningKey::from_bytes(self.open(
            stream,
            "signing_key",
            &stream.key,
        )?)];
        if let (Some(previous), Some(until)) =
            (&stream.previous_key, stream.previous_key_expires_at)
        {
            if until > chrono::Utc::now() {
                keys.push(SigningKey::from_bytes(self.open(
                    stream,
                    "signing_key",
                    previous,
                )?));
            }
        }
        Some(keys)
    }

    /// Delivers one claimed stream until it is caught up, fails, changes or the node stops.
    async fn deliver(&self, stream: LogStreamRow, stop: watch::Receiver<bool>) {
        let store = &self.inner.store;
        let worker = self.inner.worker_id.as_str();
        let lease = self.inner.settings.lease;
        let prepared = serde_json::from_value::<StreamConfig>(stream.config.clone())
            .ok()
            .zip(self.keys(&stream));
        let authorization = match &stream.authorization {
            Some(sealed) => self
                .open(&stream, "authorization", sealed)
                .and_then(|b| String::from_utf8(b).ok())
                .map(Some),
            None => Some(None),
        };
        let (Some((config, keys)), Some(authorization)) = (prepared, authorization) else {
            let failure = SendFailure {
                status: None,
                excerpt: "the stream's settings or secrets cannot be read (master key changed?)"
                    .into(),
                retry_after: None,
            };
            self.fail(&stream, failure).await;
            return;
        };
        let filter = config.filters.store_filter();
        let envelope = Envelope {
            sink: &config.sink,
            authorization: authorization.as_deref(),
            keys: &keys,
            allow_private: self.inner.settings.allow_private,
        };
        let (mut checkpoint, mut in_flight) = (stream.checkpoint, stream.in_flight_to);
        loop {
            if *stop.borrow() {
                break;
            }
            let batch = match store
                .log_batch(
                    &stream.tenant_id,
                    checkpoint,
                    in_flight,
                    &filter,
                    config.batch_size,
                )
                .await
            {
                Ok(batch) => batch,
                Err(error) => {
                    tracing::warn!(%error, stream_id = %stream.id, "log streams: reading a batch failed");
                    break;
                }
            };
            let Some(first) = batch.events.first().map(|e| e.seq) else {
                // Nothing matching up to the head: move past the non-matching events.
                if batch.end > checkpoint
                    && store
                        .finish_log_batch(&stream, worker, batch.end, false, lease)
                        .await
                        .is_ok()
                {
                    (checkpoint, in_flight) = (batch.end, None);
                    continue;
                }
                break;
            };
            if in_flight.is_none() {
                if let Err(error) = store
                    .begin_log_batch(&stream, worker, batch.end, lease)
                    .await
                {
                    tracing::info!(%error, stream_id = %stream.id, "log streams: stream changed or lease lost");
                    break;
                }
            }
            let id = webhook_id(&stream.id, stream.generation, first, batch.end);
            if let Err(failure) = self.send(&config, &envelope, &id, &batch.events).await {
                self.fail(&stream, failure).await;
                return;
            }
            if let Err(error) = store
                .finish_log_batch(&stream, worker, batch.end, true, lease)
                .await
            {
                tracing::info!(%error, stream_id = %stream.id, "log streams: stream changed or lease lost");
                break;
            }
            (checkpoint, in_flight) = (batch.end, None);
        }
        // Also when the stream changed under it (a replay): the next claim takes it at once.
        let _ = store.release_log_stream(&stream, worker).await;
    }

    /// One request for the batch, or one per event `concurrency` at a time; every request must
    /// succeed for the batch to count (a retry sends them all again, under the same ids).
    async fn send(
        &self,
        config: &StreamConfig,
        envelope: &Envelope<'_>,
        id: &str,
        events: &[LogEvent],
    ) -> Result<(), SendFailure> {
        let client = &self.inner.client;
        if config.send_as_batch {
            let records: Vec<Value> = events.iter().map(delivered_record).collect();
            let (body, content_type) = sink::body(config.sink.content_format, &records);
            return sink::send(client, envelope, id, body, content_type).await;
        }
        let mut results = Vec::with_capacity(events.len());
        for chunk in events.chunks(config.concurrency.max(1) as usize) {
            let sends = chunk.iter().map(|event| {
                let (body, content_type) =
                    sink::body(config.sink.content_format, &[delivered_record(event)]);
                let id = format!("{id}_{}", event.seq);
                async move { sink::send(client, envelope, &id, body, content_type).await }
            });
            results.extend(futures::future::join_all(sends).await);
        }
        results.into_iter().collect()
    }

    /// Records a failed attempt: back off, or suspend (410, or failing for too long).
    async fn fail(&self, stream: &LogStreamRow, failure: SendFailure) {
        let settings = &self.inner.settings;
        let failures = u32::try_from(stream.consecutive_failures).unwrap_or(u32::MAX);
        let now = chrono::Utc::now();
        let suspend = backoff::suspension(
            failure.status,
            stream.failing_since.or(Some(now)),
            now,
            settings.suspend_after,
        );
        let record = DeliveryFailure {
            status: failure.status.map(i64::from),
            excerpt: failure.excerpt,
            retry_in: backoff::delay(
                failures,
                settings.backoff_base,
                settings.backoff_max,
                failure.retry_after,
            ),
            suspend,
        };
        tracing::info!(stream_id = %stream.id, status = ?record.status, suspended = record.suspend.is_some(), "log streams: delivery failed");
        if let Err(error) = self
            .inner
            .store
            .fail_log_batch(stream, &self.inner.worker_id, &record)
            .await
        {
            tracing::info!(%error, stream_id = %stream.id, "log streams: failure not recorded (stream changed or lease lost)");
        }
    }
}
