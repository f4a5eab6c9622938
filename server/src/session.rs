//! Dashboard sign-in: `POST /v1/session` exchanges a tenant token (or the admin token) for a
//! session cookie, `GET /v1/session` says who is signed in, `DELETE /v1/session` signs out.
//!
//! The cookie (`af_session`) holds a random 256-bit secret: `HttpOnly` (the page's script cannot
//! read it), `SameSite=Strict` (another site's page cannot send it), `Path=/`, for
//! [`SESSION_TTL`], and `Secure` when a TLS proxy says so (`X-Forwarded-Proto: https`). Only its SHA-256 is stored; a tenant's session is bound to the token it signed
//! in with, so revoking the token ends it on every node at once (each call reads the session). A
//! call authenticated by the cookie that changes something must carry the session's CSRF token in
//! `X-CSRF-Token`: the SHA-256 of a label and the secret, which the page learns from the answers
//! of this resource and keeps in memory. The token itself never goes into a URL or the cookie.

use super::auth::{self, Tenant};
use super::error::{ApiError, ApiResult, Code, ErrorBody};
use super::extract::JsonBody;
use super::AppState;
use actionflow_store::{SessionOwner, Store};
use axum::extract::State;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "af_session";
/// The header a cookie-authenticated write carries its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a session lasts from sign-in.
pub const SESSION_TTL: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(sign_in, current, sign_out))
}

/// Who a session acts for.
pub enum Owner {
    Admin,
    Tenant(Tenant),
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// A tenant's API token, or the admin token.
    #[schema(min_length = 1, max_length = 200)]
    pub token: String,
}

#[derive(Serialize, ToSchema)]
pub struct SessionBody {
    /// `tenant` or `admin`.
    pub kind: &'static str,
    /// The tenant signed in (absent for the admin).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_name: Option<String>,
    /// The scopes of the token the session stands for (empty for the admin).
    pub scopes: Vec<String>,
    /// Send it as `X-CSRF-Token` with every write made with the session cookie.
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// Sign in to the dashboard: a token for a session cookie.
#[utoipa::path(post, path = "/v1/session", tag = "session", request_body = SignIn,
    responses((status = 201, body = SessionBody, description = "Signed in; `Set-Cookie: af_session=…; HttpOnly; SameSite=Strict`"),
        (status = "4XX", body = ErrorBody)))]
async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<SignIn>,
) -> ApiResult<Response> {
    let refused = || {
        ApiError::new(
            Code::Unauthorized,
            "token".to_owned(),
            "the token is unknown or revoked",
        )
    };
    let token = body.token.trim();
    if token.is_empty() {
        return Err(ApiError::invalid("token", "give a token"));
    }
    let hash = auth::hash_token(token);
    let owner = if bool::from(hash.ct_eq(&state.admin_token_hash)) {
        None
    } else {
        match state.store.token_by_hash(&hash).await {
            Ok(row) if bool::from(row.token_hash.as_slice().ct_eq(&hash)) => Some(row),
            Ok(_) | Err(actionflow_store::Error::NotFound { .. }) => return Err(refused()),
            Err(error) => return Err(error.into()),
        }
    };
    // Sign-ins are rare: a good time to forget the sessions that ended.
    state.store.purge_expired_sessions().await?;
    let secret = auth::new_token();
    let expires_at = Utc::now() + chrono::TimeDelta::from_std(SESSION_TTL).unwrap_or_default();
    state
        .store
        .create_session(
            &auth::hash_token(&secret),
            owner.as_ref().map(|t| t.id.as_str()),
            owner.is_none().then_some(state.admin_token_hash.as_slice()),
            expires_at,
        )
        .await?;
    let session = match owner {
        None => Owner::Admin,
        Some(row) => Owner::Tenant(Tenant {
            tenant_id: row.tenant_id,
            token_id: row.id,
            scopes: row.scopes,
        }),
    };
    let body = session_body(&state, session, &secret, expires_at).await?;
    // Behind a TLS proxy the cookie must never travel in clear.
    let secure = headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let cookie = format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        SESSION_TTL.as_secs(),
        if secure { "; Secure" } else { "" }
    );
    Ok((StatusCode::CREATED, set_cookie(&cookie), Json(body)).into_response())
}

/// Who the session cookie signs in, with the session's CSRF token.
#[utoipa::path(get, path = "/v1/session", tag = "session",
    responses((status = 200, body = SessionBody), (status = "4XX", body = ErrorBody)),
    security(("session" = [])))]
async fn current(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Json<SessionBody>> {
    let secret = cookie_in(&headers).ok_or_else(not_signed_in)?;
    let (owner, expires_at) = lookup(&state, secret).await?;
    Ok(Json(session_body(&state, owner, secret, expires_at).await?))
}

/// Sign out: the session ends and its cookie is cleared.
#[utoipa::path(delete, path = "/v1/session", tag = "session",
    responses((status = 204, description = "Signed out (also when no session was live)"),
        (status = "4XX", body = ErrorBody)),
    security(("session" = [])))]
async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(secret) = cookie_in(&headers) {
        check_csrf(&headers, secret)?;
        state
            .store
            .delete_session(&auth::hash_token(secret))
            .await?;
    }
    let cookie = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, set_cookie(&cookie)).into_response())
}

async fn session_body(
    state: &AppState,
    owner: Owner,
    secret: &str,
    expires_at: DateTime<Utc>,
) -> ApiResult<SessionBody> {
    Ok(match owner {
        Owner::Admin => SessionBody {
            kind: "admin",
            tenant_id: None,
            tenant_name: None,
            scopes: Vec::new(),
            csrf_token: csrf_token(secret),
            expires_at,
        },
        Owner::Tenant(tenant) => {
            let name = state.store.get_tenant(&tenant.tenant_id).await?.name;
            SessionBody {
                kind: "tenant",
                tenant_id: Some(tenant.tenant_id),
                tenant_name: Some(name),
                scopes: tenant.scopes,
                csrf_token: csrf_token(secret),
                expires_at,
            }
        }
    })
}

fn set_cookie(cookie: &str) -> [(axum::http::HeaderName, HeaderValue); 2] {
    [
        (
            SET_COOKIE,
            HeaderValue::from_str(cookie).unwrap_or(HeaderValue::from_static("")),
        ),
        // The answer carries the CSRF token: never kept by a cache.
        (
            axum::http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ),
    ]
}

fn not_signed_in() -> ApiError {
    ApiError::new(
        Code::Unauthorized,
        "session".to_owned(),
        "not signed in, or the session has ended: sign in again",
    )
}

/// The session secret of the `af_session` cookie, when the request carries one.
pub fn cookie_secret(parts: &Parts) -> Option<&str> {
    cookie_in(&parts.headers)
}

fn cookie_in(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
}

/// Who the live session with this secret acts for; 401 when it ended (expired, signed out, its
/// token revoked, or the admin token changed).
pub async fn lookup(state: &AppState, secret: &str) -> Result<(Owner, DateTime<Utc>), ApiError> {
    let store: &dyn Store = state.store.as_ref();
    let session = match store.session_by_hash(&auth::hash_token(secret)).await {
        Ok(session) => session,
        Err(actionflow_store::Error::NotFound { .. }) => return Err(not_signed_in()),
        Err(error) => return Err(error.into()),
    };
    let owner = match session.owner {
        SessionOwner::Admin { admin_hash }
            if bool::from(admin_hash.as_slice().ct_eq(&state.admin_token_hash)) =>
        {
            Owner::Admin
        }
        SessionOwner::Admin { .. } => return Err(not_signed_in()),
        SessionOwner::Token(row) => Owner::Tenant(Tenant {
            tenant_id: row.tenant_id,
            token_id: row.id,
            scopes: row.scopes,
        }),
    };
    Ok((owner, session.expires_at))
}

/// The CSRF token of the session with this secret.
fn csrf_token(secret: &str) -> String {
    let mut digest = Sha256::new();
    digest.update(b"actionflow dashboard csrf\0");
    digest.update(secret.as_bytes());
    hex::encode(digest.finalize())
}

/// 403 unless the request carries the session's CSRF token.
pub fn check_csrf(headers: &HeaderMap, secret: &str) -> Result<(), ApiError> {
    let expected = csrf_token(secret);
    let given = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        return Ok(());
    }
    Err(ApiError::new(
        Code::Forbidden,
        CSRF_HEADER.to_owned(),
        "a change made with the dashboard's session needs its X-CSRF-Token header",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=1; af_session=s3cret ; b=2"),
        );
        assert_eq!(cookie_in(&headers), Some("s3cret"));
        headers.insert(COOKIE, HeaderValue::from_static("af_session_other=x"));
        assert_eq!(cookie_in(&headers), None);
    }

    #[test]
    fn csrf_tokens_differ_per_session() {
        assert_ne!(csrf_token("a"), csrf_token("b"));
        assert_eq!(csrf_token("a").len(), 64);
    }
}
