//! [`Logs`]: what the API and the binary call — ingest (checked, then appended, then the local
//! deliverer woken), read and search, and the streams' lifecycle (create with a signing secret shown
//! once, change, pause and resume, replay, rotate, health). Secrets are sealed through the
//! embedder's [`SecretSeal`] before the store sees them.

use std::sync::Arc;
use std::time::Duration;

use actionflow_store::{
    LogEvent, LogStreamPatch, LogStreamRow, NewLogStream, Page, Paged, SealedBytes, SharedStore,
    Timestamp,
};
use tokio::sync::Notify;

use crate::event::{check_batch, IncomingEvent};
use crate::seal::{SecretSeal, SecretSlot};
use crate::sign::SigningKey;
use crate::stream::{self, SettingsInput, StreamConfig};
use crate::{query, Error, Result};

/// Results a search may page through (Auth0's limit).
pub const SEARCH_RESULTS_MAX: u32 = 1000;
/// Events per checkpoint read.
pub const TAKE_MAX: u32 = 100;

/// A stream as users see it (no secret).
#[derive(Debug, Clone, PartialEq)]
pub struct StreamView {
    pub id: String,
    pub name: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub config: StreamConfig,
    pub has_authorization: bool,
    pub checkpoint: i64,
    pub previous_key_expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A stream's health.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    pub status: String,
    pub status_reason: Option<String>,
    pub checkpoint: i64,
    pub last_success_at: Option<Timestamp>,
    pub last_error_at: Option<Timestamp>,
    pub last_error_status: Option<i64>,
    pub last_error_excerpt: Option<String>,
    pub consecutive_failures: i64,
    pub lag_events: u64,
    pub lag_seconds: f64,
}

/// A new stream as requested.
#[derive(Debug, Clone, Default)]
pub struct CreateStream {
    pub name: String,
    pub settings: SettingsInput,
    /// Begin after this `log_id` (default: the tenant's newest, i.e. new events only).
    pub start_from: Option<i64>,
}

/// A change as requested; `authorization: Some(None)` removes the header.
#[derive(Debug, Clone, Default)]
pub struct ChangeStream {
    pub name: Option<String>,
    pub status: Option<String>,
    pub settings: SettingsInput,
    pub authorization: Option<Option<String>>,
}

/// The log domain over a store.
#[derive(Clone)]
pub struct Logs {
    store: SharedStore,
    seal: Arc<dyn SecretSeal>,
    allow_private: bool,
    wake: Arc<Notify>,
}

fn view(row: LogStreamRow) -> Result<StreamView> {
    let config = serde_json::from_value(row.config)
        .map_err(|_| Error::invalid("config", "the stored settings cannot be read"))?;
    Ok(StreamView {
        id: row.id,
        name: row.name,
        status: row.status,
        status_reason: row.status_reason,
        config,
        has_authorization: row.authorization.is_some(),
        checkpoint: row.checkpoint,
        previous_key_expires_at: row.previous_key_expires_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

impl Logs {
    pub fn new(store: SharedStore, seal: Arc<dyn SecretSeal>, allow_private: bool) -> Logs {
        Logs {
            store,
            seal,
            allow_private,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Notified after every append on this node (the deliverer waits on it).
    pub fn wake(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    pub fn store(&self) -> &SharedStore {
        &self.store
    }

    pub fn seal(&self) -> Arc<dyn SecretSeal> {
        self.seal.clone()
    }

    /// Checks and appends a batch from the host; returns the new `log_id`s.
    pub async fn ingest(&self, tenant_id: &str, events: Vec<IncomingEvent>) -> Result<Vec<i64>> {
        let rows = check_batch(events)?;
        let ids = self.store.append_logs(tenant_id, &rows).await?;
        self.wake.notify_one();
        Ok(ids)
    }

    /// Checkpoint mode: events after `from`, by `log_id`.
    pub async fn after(&self, tenant_id: &str, from: i64, take: u32) -> Result<Vec<LogEvent>> {
        if !(1..=TAKE_MAX).contains(&take) {
            return Err(Error::invalid("take", format!("must be 1 to {TAKE_MAX}")));
        }
        Ok(self.store.logs_after(tenant_id, from, take).await?)
    }

    /// Search mode: newest first, at most [`SEARCH_RESULTS_MAX`] results reachable.
    pub async fn search(
        &self,
        tenant_id: &str,
        q: &str,
        page: u32,
        per_page: u32,
    ) -> Result<Paged<LogEvent>> {
        let query = query::parse(q)?;
        if !(1..=100).contains(&per_page) {
            return Err(Error::invalid("per_page", "must be 1 to 100"));
        }
        if (u64::from(page) + 1) * u64::from(per_page) > u64::from(SEARCH_RESULTS_MAX) {
            return Err(Error::invalid("page", format!("only the first {SEARCH_RESULTS_MAX} results can be paged; narrow q or use checkpoint mode (from, take)")));
        }
        Ok(self
            .store
            .search_logs(tenant_id, &query, Page::new(page, per_page))
            .await?)
    }

    fn seal_value(
        &self,
        tenant_id: &str,
        stream_id: &str,
        name: &'static str,
        clear: &[u8],
    ) -> Result<SealedBytes> {
        self.seal
            .seal(
                SecretSlot {
                    tenant_id,
                    stream_id,
                    name,
                },
                clear,
            )
            .ok_or(Error::Seal("sealed"))
    }

    /// Creates a stream; returns it and its signing secret (`whsec_…`), shown this once.
    pub async fn create_stream(
        &self,
        tenant_id: &str,
        new: CreateStream,
    ) -> Result<(StreamView, String)> {
        let name = stream::check_name(&new.name)?;
        let authorization = new
            .settings
            .sink
            .as_ref()
            .and_then(|s| s.authorization.clone());
        let config = stream::settle(None, new.settings, self.allow_private)?;
        let id = actionflow_store::new_id();
        let key = SigningKey::generate();
        let sealed_auth = match authorization {
            Some(auth) => {
                Some(self.seal_value(tenant_id, &id, "authorization", auth.as_bytes())?)
            }
            None => None,
        };
        let row = NewLogStream {
            key: self.seal_value(tenant_id, &id, "signing_key", key.bytes())?,
            id,
            name,
            status: "active".to_owned(),
            config: serde_json::to_value(&config)
                .map_err(|_| Error::invalid("config", "cannot be stored"))?,
            authorization: sealed_auth,
            start_after: new.start_from,
        };
        let created = self.store.create_log_stream(tenant_id, row).await?;
        self.wake.notify_one();
        Ok((view(created)?, key.secret()))
    }

    pub async fn get_stream(&self, tenant_id: &str, id: &str) -> Result<StreamView> {
        view(self.store.get_log_stream(tenant_id, id).await?)
    }

    pub async fn list_streams(&self, tenant_id: &str) -> Result<Vec<StreamView>> {
        self.store
            .list_log_streams(tenant_id)
            .await?
            .into_iter()
            .map(view)
            .collect()
    }

    /// Changes settings, name, authorization or status (`active` resumes a paused or suspended
    /// stream at its checkpoint, clearing its failures).
    pub async fn change_stream(
        &self,
        tenant_id: &str,
        id: &str,
        change: ChangeStream,
    ) -> Result<StreamView> {
        let current = self.get_stream(tenant_id, id).await?;
        let name = change.name.as_deref().map(stream::check_name).transpose()?;
        let status = change
            .status
            .as_deref()
            .map(stream::check_status)
            .transpose()?;
        let sink_auth = change
            .settings
            .sink
            .as_ref()
            .and_then(|s| s.authorization.clone());
        let touches_config = change.settings.sink.is_some()
            || change.settings.filters.is_some()
            || change.settings.batch_size.is_some()
            || change.settings.send_as_batch.is_some()
            || change.settings.concurrency.is_some();
        let config = if touches_config {
            Some(stream::settle(
                Some(&current.config),
                change.settings,
                self.allow_private,
            )?)
        } else {
            None
        };
        let authorization = match change.authorization.or(sink_auth.map(Some)) {
            Some(Some(auth)) => {
                stream::check_authorization(&auth)?;
                Some(Some(self.seal_value(
                    tenant_id,
                    id,
                    "authorization",
                    auth.as_bytes(),
                )?))
            }
            Some(None) => Some(None),
            None => None,
        };
        let patch = LogStreamPatch {
            name,
            status: status.map(str::to_owned),
            status_reason: status.map(|_| None),
            config: config
                .map(|c| serde_json::to_value(&c))
                .transpose()
                .map_err(|_| Error::invalid("config", "cannot be stored"))?,
            authorization,
        };
        let changed = self.store.update_log_stream(tenant_id, id, patch).await?;
        self.wake.notify_one();
        view(changed)
    }

    pub async fn delete_stream(&self, tenant_id: &str, id: &str) -> Result<()> {
        Ok(self.store.delete_log_stream(tenant_id, id).await?)
    }

    /// Moves the checkpoint back to `from`: events after it are sent again (new `webhook-id`s).
    pub async fn replay(&self, tenant_id: &str, id: &str, from: i64) -> Result<StreamView> {
        let replayed = self
            .store
            .replay_log_stream(tenant_id, id, from)
            .await
            .map_err(|e| match e {
                actionflow_store::Error::Conflict { what } => Error::invalid("from", what),
                other => Error::Store(other),
            })?;
        self.wake.notify_one();
        view(replayed)
    }

    /// A new signing secret (shown once); the old one keeps signing beside it for `overlap`.
    pub async fn rotate_secret(
        &self,
        tenant_id: &str,
        id: &str,
        overlap: Duration,
    ) -> Result<(StreamView, String)> {
        self.get_stream(tenant_id, id).await?;
        let key = SigningKey::generate();
        let sealed = self.seal_value(tenant_id, id, "signing_key", key.bytes())?;
        let until = chrono::Utc::now()
            + chrono::TimeDelta::from_std(overlap).unwrap_or(chrono::TimeDelta::days(1));
        let rotated = self
            .store
            .rotate_log_stream_key(tenant_id, id, &sealed, until)
            .await?;
        Ok((view(rotated)?, key.secret()))
    }

    pub async fn health(&self, tenant_id: &str, id: &str) -> Result<Health> {
        let row = self.store.get_log_stream(tenant_id, id).await?;
        let config: StreamConfig = serde_json::from_value(row.config.clone())
            .map_err(|_| Error::invalid("config", "the stored settings cannot be read"))?;
        let lag = self
            .store
            .log_lag(tenant_id, row.checkpoint, &config.filters.store_filter())
            .await?;
        let lag_seconds = lag.oldest_created_at.map_or(0.0, |at| {
            (chrono::Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0
        });
        Ok(Health {
            status: row.status,
            status_reason: row.status_reason,
            checkpoint: row.checkpoint,
            last_success_at: row.last_success_at,
            last_error_at: row.last_error_at,
            last_error_status: row.last_error_status,
            last_error_excerpt: row.last_error_body,
            consecutive_failures: row.consecutive_failures,
            lag_events: lag.events,
            lag_seconds,
        })
    }
}
