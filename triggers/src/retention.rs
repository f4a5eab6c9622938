//! Retention of finished executions: a periodic purge of those older than the configured age.
//! Pending, running and dead executions are never purged (nothing is skipped silently).

use std::sync::Arc;
use std::time::Duration;

use actionflow_store::Store;
use tokio::sync::watch;

use crate::Error;

/// Default of `execution_retention`: 30 days.
pub const RETENTION_DEFAULT: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Deletes finished executions last updated more than `retention` ago; returns how many.
pub async fn purge_once(store: &dyn Store, retention: Duration) -> Result<u64, Error> {
    let age = chrono::TimeDelta::from_std(retention).unwrap_or(chrono::TimeDelta::MAX);
    let cutoff = chrono::Utc::now()
        .checked_sub_signed(age)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    Ok(store.purge_older_than(cutoff).await?)
}

/// Purges every `interval` until `shutdown` becomes `true`.
pub async fn purge_loop(
    store: Arc<dyn Store>,
    retention: Duration,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    // A dropped sender also means stop: `changed()` would then return at once, forever.
    while !*shutdown.borrow() && shutdown.has_changed().is_ok() {
        match purge_once(store.as_ref(), retention).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "purged finished executions past retention"),
            Err(error) => tracing::warn!(%error, "purging executions failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => {}
        }
    }
}
