//! Sealed secrets per action: upsert under a per-action limit, list names, read sealed values. Every
//! change also copies the action's secret names into its draft, in the same transaction.

use async_trait::async_trait;

use crate::db::{begin_write, now, with_pool};
use crate::{
    Error, KeyCanary, NewSecret, OwnedSecret, Result, SealedSecret, SecretMeta, SecretStore,
    SqlStore,
};

/// Inside write transaction `$tx`, with the action row already locked or written (so concurrent
/// writers are serialised and the limit holds): inserts or replaces each of `$secrets`. More than
/// `$max` secrets in all returns `LimitReached` from the enclosing function.
macro_rules! put_secrets {
    ($tx:ident, $tenant_id:expr, $action_id:expr, $secrets:expr, $max:expr, $at:expr) => {{
        let secrets: &[$crate::NewSecret] = $secrets;
        let max: u32 = $max;
        let existing: Vec<String> =
            sqlx::query_scalar("SELECT name FROM secrets WHERE tenant_id = $1 AND action_id = $2")
                .bind($tenant_id)
                .bind($action_id)
                .fetch_all(&mut *$tx)
                .await?;
        let mut names: std::collections::BTreeSet<&str> =
            existing.iter().map(String::as_str).collect();
        names.extend(secrets.iter().map(|s| s.name.as_str()));
        // Replacing values is allowed at (or, after a lowered limit, beyond) the limit.
        let adds = names.len() > existing.len();
        if adds && names.len() > usize::try_from(max).unwrap_or(usize::MAX) {
            return Err($crate::Error::LimitReached {
                what: "secrets per action",
                max,
            });
        }
        for secret in secrets {
            sqlx::query(
                "INSERT INTO secrets (tenant_id, action_id, name, ciphertext, nonce, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (tenant_id, action_id, name) DO UPDATE
                 SET ciphertext = excluded.ciphertext, nonce = excluded.nonce,
                     updated_at = excluded.updated_at",
            )
            .bind($tenant_id)
            .bind($action_id)
            .bind(&secret.name)
            .bind(&secret.ciphertext)
            .bind(&secret.nonce)
            .bind($at)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}
pub(crate) use put_secrets;

/// Inside transaction `$tx`: copies the action's secret names (by name) into its draft, stamps
/// `updated_at` with `$at`, and evaluates to the draft; `NotFound` from the enclosing function when
/// the action is not the tenant's.
macro_rules! copy_secret_names {
    ($tx:ident, $tenant_id:expr, $action_id:expr, $at:expr) => {{
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM secrets WHERE tenant_id = $1 AND action_id = $2 ORDER BY name",
        )
        .bind($tenant_id)
        .bind($action_id)
        .fetch_all(&mut *$tx)
        .await?;
        let sql = format!(
            "UPDATE actions SET secret_names = $3, updated_at = $4
             WHERE tenant_id = $1 AND id = $2 RETURNING {}",
            $crate::actions::ACTION_COLUMNS
        );
        let draft: Option<$crate::Action> = sqlx::query_as(&sql)
            .bind($tenant_id)
            .bind($action_id)
            .bind(sqlx::types::Json(&names))
            .bind($at)
            .fetch_optional(&mut *$tx)
            .await?;
        draft.ok_or($crate::Error::not_found("action"))?
    }};
}
pub(crate) use copy_secret_names;

#[async_trait]
impl SecretStore for SqlStore {
    async fn put_secret(
        &self,
        tenant_id: &str,
        action_id: &str,
        name: &str,
        ciphertext: &[u8],
        nonce: &[u8],
        secrets_max: u32,
    ) -> Result<SecretMeta> {
        let updated_at = now();
        let secret = NewSecret {
            name: name.to_owned(),
            ciphertext: ciphertext.to_vec(),
            nonce: nonce.to_vec(),
        };
        with_pool!(self.db, write, |pool, pg| {
            let mut tx = begin_write!(pool, pg);
            // Locking the action row serialises concurrent puts, so the limit check holds.
            let lock = if pg { " FOR UPDATE" } else { "" };
            let sql = format!("SELECT id FROM actions WHERE tenant_id = $1 AND id = $2{lock}");
            sqlx::query_scalar::<_, String>(&sql)
                .bind(tenant_id)
                .bind(action_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(Error::not_found("action"))?;
            put_secrets!(
                tx,
                tenant_id,
                action_id,
                std::slice::from_ref(&secret),
                secrets_max,
                updated_at
            );
            copy_secret_names!(tx, tenant_id, action_id, updated_at);
            tx.commit().await?;
        });
        Ok(SecretMeta {
            name: name.to_owned(),
            updated_at,
        })
    }

    async fn list_secrets(&self, tenant_id: &str, action_id: &str) -> Result<Vec<SecretMeta>> {
        self.get_action_exists(tenant_id, action_id).await?;
        Ok(with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, SecretMeta>(
                "SELECT name, updated_at FROM secrets
                 WHERE tenant_id = $1 AND action_id = $2 ORDER BY name",
            )
            .bind(tenant_id)
            .bind(action_id)
            .fetch_all(pool)
            .await?
        }))
    }

    async fn sealed_secrets(&self, tenant_id: &str, action_id: &str) -> Result<Vec<SealedSecret>> {
        self.get_action_exists(tenant_id, action_id).await?;
        Ok(with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, SealedSecret>(
                "SELECT name, ciphertext, nonce, updated_at FROM secrets
                 WHERE tenant_id = $1 AND action_id = $2 ORDER BY name",
            )
            .bind(tenant_id)
            .bind(action_id)
            .fetch_all(pool)
            .await?
        }))
    }

    async fn delete_secret(&self, tenant_id: &str, action_id: &str, name: &str) -> Result<()> {
        with_pool!(self.db, write, |pool, pg| {
            let mut tx = begin_write!(pool, pg);
            let deleted = sqlx::query(
                "DELETE FROM secrets WHERE tenant_id = $1 AND action_id = $2 AND name = $3",
            )
            .bind(tenant_id)
            .bind(action_id)
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if deleted == 0 {
                return Err(Error::not_found("secret"));
            }
            copy_secret_names!(tx, tenant_id, action_id, now());
            tx.commit().await?;
        });
        Ok(())
    }

    async fn count_secrets(&self, tenant_id: &str, action_id: &str) -> Result<u64> {
        self.get_action_exists(tenant_id, action_id).await?;
        let count: i64 = with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM secrets WHERE tenant_id = $1 AND action_id = $2",
            )
            .bind(tenant_id)
            .bind(action_id)
            .fetch_one(pool)
            .await?
        });
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn key_canary(&self) -> Result<Option<KeyCanary>> {
        self.key_canary_impl().await
    }

    async fn init_key_canary(&self, ciphertext: &[u8], nonce: &[u8]) -> Result<KeyCanary> {
        self.init_key_canary_impl(ciphertext, nonce).await
    }

    async fn oldest_secret(&self) -> Result<Option<OwnedSecret>> {
        self.oldest_secret_impl().await
    }
}

impl SqlStore {
    /// `NotFound` unless the action exists and is the tenant's.
    async fn get_action_exists(&self, tenant_id: &str, action_id: &str) -> Result<()> {
        let found: Option<String> = with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_scalar("SELECT id FROM actions WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(action_id)
                .fetch_optional(pool)
                .await?
        });
        found.map(|_| ()).ok_or(Error::not_found("action"))
    }
}
