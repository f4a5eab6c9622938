//! The master-key canary: one row holding a known value the binary sealed with the master key the
//! database was first written with. The store keeps the bytes; the binary seals and opens them.

use crate::db::{now, with_pool};
use crate::{KeyCanary, OwnedSecret, Result, SealedSecret, SqlStore};

const CANARY_SELECT: &str =
    "SELECT ciphertext, nonce, created_at FROM master_key_canary WHERE id = 1";

impl SqlStore {
    pub(crate) async fn key_canary_impl(&self) -> Result<Option<KeyCanary>> {
        Ok(with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, KeyCanary>(CANARY_SELECT)
                .fetch_optional(pool)
                .await?
        }))
    }

    pub(crate) async fn init_key_canary_impl(
        &self,
        ciphertext: &[u8],
        nonce: &[u8],
    ) -> Result<KeyCanary> {
        // The first writer wins; everyone reads back the stored row on the writer connection, so
        // SQLite's readers cannot answer from before the insert.
        Ok(with_pool!(self.db, write, |pool, _pg| {
            sqlx::query(
                "INSERT INTO master_key_canary (id, ciphertext, nonce, created_at)
                 VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING",
            )
            .bind(ciphertext)
            .bind(nonce)
            .bind(now())
            .execute(pool)
            .await?;
            sqlx::query_as::<_, KeyCanary>(CANARY_SELECT)
                .fetch_one(pool)
                .await?
        }))
    }

    pub(crate) async fn oldest_secret_impl(&self) -> Result<Option<OwnedSecret>> {
        type Row = (String, String, String, Vec<u8>, Vec<u8>, crate::Timestamp);
        let row: Option<Row> = with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as(
                "SELECT tenant_id, action_id, name, ciphertext, nonce, updated_at FROM secrets
                 ORDER BY updated_at, tenant_id, action_id, name LIMIT 1",
            )
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(
            |(tenant_id, action_id, name, ciphertext, nonce, updated_at)| OwnedSecret {
                tenant_id,
                action_id,
                secret: SealedSecret {
                    name,
                    ciphertext,
                    nonce,
                    updated_at,
                },
            },
        ))
    }
}
