//! Tenants and their hashed API tokens.

use async_trait::async_trait;
use sqlx::types::Json;

use crate::db::{new_id, now, with_pool};
use crate::error::unique_as_conflict;
use crate::{ApiToken, Error, Page, Paged, Result, SqlStore, Tenant, TenantStore};

const TOKEN_COLUMNS: &str = "id, tenant_id, token_hash, scopes, created_at, revoked_at";

#[async_trait]
impl TenantStore for SqlStore {
    async fn create_tenant(&self, name: &str) -> Result<Tenant> {
        let tenant = Tenant {
            id: new_id(),
            name: name.to_owned(),
            created_at: now(),
            cpu_ms_max: None,
        };
        with_pool!(self.db, write, |pool, _pg| {
            sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)")
                .bind(&tenant.id)
                .bind(&tenant.name)
                .bind(tenant.created_at)
                .execute(pool)
                .await
                .map_err(unique_as_conflict("a tenant with this name already exists"))?;
        });
        Ok(tenant)
    }

    async fn get_tenant(&self, tenant_id: &str) -> Result<Tenant> {
        with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, Tenant>(
                "SELECT id, name, created_at, cpu_ms_max FROM tenants WHERE id = $1",
            )
            .bind(tenant_id)
            .fetch_optional(pool)
            .await?
        })
        .ok_or(Error::not_found("tenant"))
    }

    async fn set_tenant_cpu_ms_max(
        &self,
        tenant_id: &str,
        cpu_ms_max: Option<i64>,
    ) -> Result<Tenant> {
        with_pool!(self.db, write, |pool, _pg| {
            sqlx::query_as::<_, Tenant>(
                "UPDATE tenants SET cpu_ms_max = $2 WHERE id = $1 \
                 RETURNING id, name, created_at, cpu_ms_max",
            )
            .bind(tenant_id)
            .bind(cpu_ms_max)
            .fetch_optional(pool)
            .await?
        })
        .ok_or(Error::not_found("tenant"))
    }

    async fn list_tenants(&self, page: Page) -> Result<Paged<Tenant>> {
        let (items, total) = with_pool!(self.db, read, |pool, _pg| {
            let items = sqlx::query_as::<_, Tenant>(
                "SELECT id, name, created_at, cpu_ms_max FROM tenants ORDER BY created_at, id LIMIT $1 OFFSET $2",
            )
            .bind(page.limit())
            .bind(page.offset())
            .fetch_all(pool)
            .await?;
            let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenants")
                .fetch_one(pool)
                .await?;
            (items, total)
        });
        Ok(Paged::new(items, total, page))
    }

    async fn create_token(
        &self,
        tenant_id: &str,
        token_hash: &[u8],
        scopes: &[String],
    ) -> Result<ApiToken> {
        self.get_tenant(tenant_id).await?;
        let token = ApiToken {
            id: new_id(),
            tenant_id: tenant_id.to_owned(),
            token_hash: token_hash.to_vec(),
            scopes: scopes.to_vec(),
            created_at: now(),
            revoked_at: None,
        };
        with_pool!(self.db, write, |pool, _pg| {
            sqlx::query(
                "INSERT INTO api_tokens (id, tenant_id, token_hash, scopes, created_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&token.id)
            .bind(&token.tenant_id)
            .bind(&token.token_hash)
            .bind(Json(&token.scopes))
            .bind(token.created_at)
            .execute(pool)
            .await
            .map_err(unique_as_conflict("a token with this hash already exists"))?;
        });
        Ok(token)
    }

    async fn token_by_hash(&self, token_hash: &[u8]) -> Result<ApiToken> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL"
        );
        with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, ApiToken>(&sql)
                .bind(token_hash)
                .fetch_optional(pool)
                .await?
        })
        .ok_or(Error::not_found("token"))
    }

    async fn list_tokens(&self, tenant_id: &str) -> Result<Vec<ApiToken>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE tenant_id = $1 ORDER BY created_at, id"
        );
        Ok(with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, ApiToken>(&sql)
                .bind(tenant_id)
                .fetch_all(pool)
                .await?
        }))
    }

    async fn revoke_token(&self, tenant_id: &str, token_id: &str) -> Result<ApiToken> {
        let sql = format!(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $3)
             WHERE tenant_id = $1 AND id = $2 RETURNING {TOKEN_COLUMNS}"
        );
        with_pool!(self.db, write, |pool, _pg| {
            sqlx::query_as::<_, ApiToken>(&sql)
                .bind(tenant_id)
                .bind(token_id)
                .bind(now())
                .fetch_optional(pool)
                .await?
        })
        .ok_or(Error::not_found("token"))
    }
}
