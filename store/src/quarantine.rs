//! Sandbox crashes attributed to action versions, and the versions quarantined for them. A crash is
//! kept for the quarantine window only; a quarantine stays with its version (a new deploy or a
//! rollback makes a new version, which starts clean).

use std::time::Duration;

use async_trait::async_trait;

use crate::db::{begin_write, now, with_pool};
use crate::{QuarantineStore, Result, SqlStore, Timestamp};

/// A version whose executions end `crashed` without running.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Quarantine {
    pub version_id: String,
    pub tenant_id: String,
    pub action_id: String,
    pub reason: String,
    /// Crashes within the window when it was quarantined.
    pub crashes: i64,
    pub at: Timestamp,
}

const SELECT: &str =
    "SELECT version_id, tenant_id, action_id, reason, crashes, at FROM version_quarantines";

#[async_trait]
impl QuarantineStore for SqlStore {
    async fn record_sandbox_crash(
        &self,
        version_id: &str,
        reason: &str,
        crashes_max: u32,
        window: Duration,
    ) -> Result<Option<Quarantine>> {
        let at = now();
        let since = at - chrono::TimeDelta::from_std(window).unwrap_or(chrono::TimeDelta::MAX);
        with_pool!(self.db, write, |pool, pg| {
            let mut tx = begin_write!(pool, pg);
            let known: Option<(String, String)> =
                sqlx::query_as("SELECT tenant_id, action_id FROM action_versions WHERE id = $1")
                    .bind(version_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            // A version deleted meanwhile (or a draft's test run): nothing to quarantine.
            let Some((tenant_id, action_id)) = known else {
                return Ok(None);
            };
            sqlx::query("DELETE FROM sandbox_crashes WHERE version_id = $1 AND at <= $2")
                .bind(version_id)
                .bind(since)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO sandbox_crashes (version_id, at) VALUES ($1, $2)")
                .bind(version_id)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            let crashes: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM sandbox_crashes WHERE version_id = $1")
                    .bind(version_id)
                    .fetch_one(&mut *tx)
                    .await?;
            if crashes >= i64::from(crashes_max) {
                sqlx::query(
                    "INSERT INTO version_quarantines
                     (version_id, tenant_id, action_id, reason, crashes, at)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (version_id) DO NOTHING",
                )
                .bind(version_id)
                .bind(&tenant_id)
                .bind(&action_id)
                .bind(reason)
                .bind(crashes)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            }
            let quarantine =
                sqlx::query_as::<_, Quarantine>(&format!("{SELECT} WHERE version_id = $1"))
                    .bind(version_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            tx.commit().await?;
            Ok(quarantine)
        })
    }

    async fn version_quarantine(&self, version_id: &str) -> Result<Option<Quarantine>> {
        Ok(with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, Quarantine>(&format!("{SELECT} WHERE version_id = $1"))
                .bind(version_id)
                .fetch_optional(pool)
                .await?
        }))
    }

    async fn action_quarantines(
        &self,
        tenant_id: &str,
        action_id: &str,
    ) -> Result<Vec<Quarantine>> {
        Ok(with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, Quarantine>(&format!(
                "{SELECT} WHERE tenant_id = $1 AND action_id = $2 ORDER BY at"
            ))
            .bind(tenant_id)
            .bind(action_id)
            .fetch_all(pool)
            .await?
        }))
    }
}
