//! Dashboard sessions: the SHA-256 of a browser's session secret, whose token (a tenant's) or whose
//! admin token hash (the admin's) it stands for, and until when. The store judges nothing but
//! existence and expiry; what a session may do is the server's business.

use async_trait::async_trait;

use crate::db::{now, with_pool};
use crate::{ApiToken, Error, Result, SessionStore, SqlStore, Timestamp};

/// Who a session acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionOwner {
    /// A tenant, through the live token it signed in with.
    Token(ApiToken),
    /// The admin, as the admin token with this hash.
    Admin { admin_hash: Vec<u8> },
}

/// A live dashboard session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub owner: SessionOwner,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

type SessionRow = (Option<String>, Option<Vec<u8>>, Timestamp, Timestamp);

#[async_trait]
impl SessionStore for SqlStore {
    async fn create_session(
        &self,
        session_hash: &[u8],
        token_id: Option<&str>,
        admin_hash: Option<&[u8]>,
        expires_at: Timestamp,
    ) -> Result<()> {
        with_pool!(self.db, write, |pool, _pg| {
            sqlx::query(
                "INSERT INTO dashboard_sessions (session_hash, token_id, admin_hash, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(session_hash)
            .bind(token_id)
            .bind(admin_hash)
            .bind(now())
            .bind(expires_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    async fn session_by_hash(&self, session_hash: &[u8]) -> Result<Session> {
        let row: Option<SessionRow> = with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as(
                "SELECT token_id, admin_hash, created_at, expires_at FROM dashboard_sessions
                 WHERE session_hash = $1",
            )
            .bind(session_hash)
            .fetch_optional(pool)
            .await?
        });
        let (token_id, admin_hash, created_at, expires_at) =
            row.ok_or(Error::not_found("session"))?;
        // Compared here rather than in SQL: SQLite keeps times as text of varying precision.
        if expires_at <= now() {
            return Err(Error::not_found("session"));
        }
        let owner = match (token_id, admin_hash) {
            (Some(token_id), _) => SessionOwner::Token(self.live_token(&token_id).await?),
            (None, Some(admin_hash)) => SessionOwner::Admin { admin_hash },
            (None, None) => return Err(Error::not_found("session")),
        };
        Ok(Session {
            owner,
            created_at,
            expires_at,
        })
    }

    async fn delete_session(&self, session_hash: &[u8]) -> Result<()> {
        with_pool!(self.db, write, |pool, _pg| {
            sqlx::query("DELETE FROM dashboard_sessions WHERE session_hash = $1")
                .bind(session_hash)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn purge_expired_sessions(&self) -> Result<u64> {
        let purged = with_pool!(self.db, write, |pool, _pg| {
            sqlx::query("DELETE FROM dashboard_sessions WHERE expires_at < $1")
                .bind(now())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(purged)
    }
}

impl SqlStore {
    /// The token with this id unless it was revoked.
    async fn live_token(&self, token_id: &str) -> Result<ApiToken> {
        with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, ApiToken>(
                "SELECT id, tenant_id, token_hash, scopes, created_at, revoked_at FROM api_tokens
                 WHERE id = $1 AND revoked_at IS NULL",
            )
            .bind(token_id)
            .fetch_optional(pool)
            .await?
        })
        .ok_or(Error::not_found("session"))
    }
}
