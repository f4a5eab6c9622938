//! Quarantine of versions that crash their sandboxes: every `crashed` outcome of a deployed
//! version is recorded in the store, and a version that crashed `crashes_max` times within the
//! window runs no more — its executions end `crashed` at once, saying why, until a new deploy or a
//! rollback (a new version) replaces it. What is known is kept for a few seconds, as tenants' limits
//! are: a quarantine made through this node is seen at once, through another within the TTL.

use std::sync::Arc;
use std::time::Duration;

use actionflow_runtime::{ActionError, Outcome, Status};
use actionflow_store::{Quarantine, SharedStore};

use crate::kept::Kept;

/// How long a version's quarantine state is used without reading it again.
pub const QUARANTINE_TTL: Duration = Duration::from_secs(5);

pub struct Quarantines {
    store: SharedStore,
    crashes_max: u32,
    window: Duration,
    known: Kept<Option<Arc<Quarantine>>>,
}

impl Quarantines {
    pub fn new(store: SharedStore, crashes_max: u32, window: Duration) -> Arc<Quarantines> {
        Arc::new(Quarantines {
            store,
            crashes_max: crashes_max.max(1),
            window,
            known: Kept::new(QUARANTINE_TTL),
        })
    }

    /// The version's quarantine, if it is quarantined. A store failure lets it run (and is logged).
    pub async fn of(&self, version_id: &str) -> Option<Arc<Quarantine>> {
        if let Some(value) = self.known.get(version_id) {
            return value;
        }
        match self.store.version_quarantine(version_id).await {
            Ok(value) => {
                let value = value.map(Arc::new);
                self.known.put(version_id, value.clone());
                value
            }
            Err(error) => {
                tracing::warn!(%error, %version_id, "reading the version's quarantine");
                None
            }
        }
    }

    /// Records a crash of the version (`how` the sandbox ended); quarantines it past the bound.
    pub async fn crashed(&self, version_id: &str, how: &str) {
        let reason = format!(
            "it crashed its sandbox {} times within {} minutes; the last time: {how}",
            self.crashes_max,
            self.window.as_secs() / 60
        );
        let recorded = self
            .store
            .record_sandbox_crash(version_id, &reason, self.crashes_max, self.window)
            .await;
        match recorded {
            Ok(Some(quarantine)) => {
                tracing::warn!(%version_id, "quarantined an action version: {}", quarantine.reason);
                self.known.put(version_id, Some(Arc::new(quarantine)));
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, %version_id, "recording a sandbox crash"),
        }
    }
}

/// The outcome of an execution of a quarantined version: `crashed`, without running.
pub fn quarantined(number: i64, quarantine: &Quarantine) -> Outcome {
    let mut outcome = Outcome::empty(Status::Crashed);
    outcome.error =
        Some(ActionError {
            name: "Quarantined".to_owned(),
            message: format!(
            "version {number} of this action is quarantined since {}: {}. Deploy a new version \
             or roll back to lift it.",
            quarantine.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            quarantine.reason
        ),
            stack: None,
            line: None,
        });
    outcome
}
