//! Sealed secrets per action: upsert under a per-action limit, list names, read sealed values.

use async_trait::async_trait;

use crate::db::{begin_write, now, with_pool};
use crate::{Error, Result, SealedSecret, SecretMeta, SecretStore, SqlStore};

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
            let (count, exists): (i64, i64) = sqlx::query_as(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN name = $3 THEN 1 ELSE 0 END), 0)
                 FROM secrets WHERE tenant_id = $1 AND action_id = $2",
            )
            .bind(tenant_id)
            .bind(action_id)
            .bind(name)
            .fetch_one(&mut *tx)
            .await?;
            if exists == 0 && count >= i64::from(secrets_max) {
                return Err(Error::LimitReached {
                    what: "secrets per action",
                    max: secrets_max,
                });
            }
            sqlx::query(
                "INSERT INTO secrets (tenant_id, action_id, name, ciphertext, nonce, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (tenant_id, action_id, name) DO UPDATE
                 SET ciphertext = excluded.ciphertext, nonce = excluded.nonce,
                     updated_at = excluded.updated_at",
            )
            .bind(tenant_id)
            .bind(action_id)
            .bind(name)
            .bind(ciphertext)
            .bind(nonce)
            .bind(updated_at)
            .execute(&mut *tx)
            .await?;
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
        let deleted = with_pool!(self.db, write, |pool, _pg| {
            sqlx::query("DELETE FROM secrets WHERE tenant_id = $1 AND action_id = $2 AND name = $3")
                .bind(tenant_id)
                .bind(action_id)
                .bind(name)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if deleted == 0 {
            return Err(Error::not_found("secret"));
        }
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
