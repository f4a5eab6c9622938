//! Bearer-token authentication. Two kinds of caller: the admin (one token, from
//! `ACTIONFLOW_ADMIN_TOKEN` or generated on first start) who manages tenants and their tokens, and
//! a tenant, through one of its API tokens carrying scopes. Tokens are 256-bit random strings; only
//! their SHA-256 is stored, and hashes are compared in constant time.
//!
//! Handlers take [`Admin`] or [`Tenant`] as an extractor, then call [`Tenant::require`] with the
//! scope the endpoint needs. A tenant token checked in the last few seconds is taken from the
//! [`TokenCache`](super::token_cache::TokenCache) instead of the store (revocation through this node
//! forgets it at once; through another node, within the cache's TTL).
//!
//! The dashboard's browser sends no `Authorization` header: it holds a session cookie instead (see
//! `session.rs`), which stands for the token it signed in with. A call authenticated by the cookie
//! that changes something must also carry the session's CSRF token in `X-CSRF-Token`.

use super::error::{ApiError, Code};
use super::session;
use super::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Every scope a tenant token may carry.
pub const SCOPES: &[&str] = &[
    "actions:read",
    "actions:write",
    "bindings:read",
    "bindings:write",
    "dispatch",
    "executions:read",
    "logs:read",
    "logs:write",
    "log_streams:read",
    "log_streams:write",
    "integrations:submit",
    "marketplace:review",
    "webtasks:read",
    "webtasks:write",
];

/// Reading actions, versions, diffs and secret names.
pub const ACTIONS_READ: &str = "actions:read";
/// Creating, editing, deploying, rolling back, testing actions and setting their secrets.
pub const ACTIONS_WRITE: &str = "actions:write";

/// Submitting integrations under the publishers the token's tenant owns.
pub const INTEGRATIONS_SUBMIT: &str = "integrations:submit";
/// Reviewing marketplace submissions: reading any, approving, requesting changes, rejecting.
pub const MARKETPLACE_REVIEW: &str = "marketplace:review";
/// Binding actions to triggers (also needed to install an integration with `bind`).
pub const BINDINGS_WRITE: &str = "bindings:write";
/// Webtasks: list, read, storage reads, cron reads and history, the containers' live console.
pub const WEBTASKS_READ: &str = "webtasks:read";
/// Webtasks: create, replace, delete, storage writes, cron changes.
pub const WEBTASKS_WRITE: &str = "webtasks:write";

const TOKEN_PREFIX: &str = "af_";

/// A new random token (`af_` + 43 base64url characters).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// What is stored for a token.
pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The admin: manages tenants and tokens.
pub struct Admin;

/// A tenant's API token: which tenant, which token, which scopes.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub tenant_id: String,
    /// Which token made the call (the token cache forgets it by this id when it is revoked).
    pub token_id: String,
    pub scopes: Vec<String>,
}

impl Tenant {
    /// 403 unless the token carries `scope`.
    pub fn require(&self, scope: &str) -> Result<(), ApiError> {
        if self.scopes.iter().any(|s| s == scope) {
            return Ok(());
        }
        Err(ApiError::new(
            Code::Forbidden,
            "authorization".to_owned(),
            format!("this token lacks the scope {scope}"),
        ))
    }
}

enum Caller {
    Admin,
    Tenant(Tenant),
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(Code::Unauthorized, "authorization".to_owned(), message)
}

pub(crate) fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(|| unauthorized("send a token: Authorization: Bearer <token>"))?;
    let value = value
        .to_str()
        .map_err(|_| unauthorized("the Authorization header is not readable text"))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unauthorized("the Authorization header must be `Bearer <token>`"))?;
    Ok(token)
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<Caller, ApiError> {
    if !parts.headers.contains_key(AUTHORIZATION) {
        if let Some(secret) = session::cookie_secret(parts) {
            return session_caller(parts, state, secret).await;
        }
    }
    let token = bearer(parts)?;
    let hash = hash_token(token);
    if bool::from(hash.ct_eq(&state.admin_token_hash)) {
        return Ok(Caller::Admin);
    }
    if let Some(tenant) = state.tokens.get(&hash) {
        return Ok(Caller::Tenant(tenant));
    }
    let (generation, read_at) = (state.tokens.generation(), std::time::Instant::now());
    match state.store.token_by_hash(&hash).await {
        // The index lookup found it by hash; compare again in constant time all the same.
        Ok(row) if bool::from(row.token_hash.as_slice().ct_eq(&hash)) => {
            let tenant = Tenant {
                tenant_id: row.tenant_id,
                token_id: row.id,
                scopes: row.scopes,
            };
            state.tokens.put(generation, hash, tenant.clone(), read_at);
            Ok(Caller::Tenant(tenant))
        }
        Ok(_) | Err(actionflow_store::Error::NotFound { .. }) => {
            Err(unauthorized("the token is unknown or revoked"))
        }
        Err(error) => Err(ApiError::from(error)),
    }
}

/// The caller a session cookie stands for; a write must carry the session's CSRF token.
async fn session_caller(parts: &Parts, state: &AppState, secret: &str) -> Result<Caller, ApiError> {
    let (session, _) = session::lookup(state, secret).await?;
    if !parts.method.is_safe() {
        session::check_csrf(&parts.headers, secret)?;
    }
    Ok(match session {
        session::Owner::Admin => Caller::Admin,
        session::Owner::Tenant(tenant) => Caller::Tenant(tenant),
    })
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match authenticate(parts, state).await? {
            Caller::Admin => Ok(Admin),
            Caller::Tenant(_) => Err(ApiError::new(
                Code::Forbidden,
                "authorization".to_owned(),
                "this endpoint needs the admin token",
            )),
        }
    }
}

impl FromRequestParts<AppState> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match authenticate(parts, state).await? {
            Caller::Tenant(tenant) => Ok(tenant),
            Caller::Admin => Err(ApiError::new(
                Code::Forbidden,
                "authorization".to_owned(),
                "the admin token manages tenants; use a tenant token here",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_to_32_bytes() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(a.starts_with("af_") && a.len() == 46, "{a}");
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_ne!(hash_token(&a), hash_token(&b));
    }
}
