//! Tenants and their API tokens, managed with the admin token: create and list tenants; create,
//! list and revoke a tenant's tokens. A token's clear value is returned once, at creation.

use super::auth::{self, Admin, SCOPES};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::Path;
use super::extract::{JsonBody, QueryParams};
use super::AppState;
use actionflow_store::{ApiToken, Page, Tenant};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_tenant, list_tenants))
        .routes(routes!(patch_tenant))
        .routes(routes!(create_token, list_tokens))
        .routes(routes!(revoke_token))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// 1–128 characters, unique; no control or bidirectional control characters.
    #[schema(min_length = 1, max_length = 128)]
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct TenantBody {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// The tenant's own CPU limit per execution, in milliseconds; `null`: the server's default.
    pub cpu_ms_max: Option<i64>,
}

impl From<Tenant> for TenantBody {
    fn from(t: Tenant) -> Self {
        TenantBody {
            id: t.id,
            name: t.name,
            created_at: t.created_at,
            cpu_ms_max: t.cpu_ms_max,
        }
    }
}

/// A tenant's own limits.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchTenant {
    /// CPU time one execution of this tenant's actions may use, in milliseconds (at least 1, at
    /// most the server's wall-clock limit); `null` or absent: the server's default.
    #[schema(minimum = 1)]
    pub cpu_ms_max: Option<u64>,
}

/// Set a tenant's own limits (admin): its executions, test runs and deploy checks run under them
/// (at once on this node, within 5 s on others).
#[utoipa::path(patch, path = "/v1/tenants/{tenant_id}", tag = "tenants",
    params(("tenant_id" = String, Path)), request_body = PatchTenant,
    responses((status = 200, body = TenantBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = [])))]
async fn patch_tenant(
    _: Admin,
    State(state): State<AppState>,
    Path(tenant_id): Path<String>,
    JsonBody(body): JsonBody<PatchTenant>,
) -> ApiResult<Json<TenantBody>> {
    let wall_ms_max = state.actions.limits().execution.wall_ms_max;
    let cpu_ms_max = match body.cpu_ms_max {
        None => None,
        Some(ms) if ms == 0 || ms > wall_ms_max => {
            let message =
                format!("cpu_ms_max must be between 1 and {wall_ms_max} (the wall-clock limit)");
            return Err(ApiError::invalid("cpu_ms_max", message));
        }
        Some(ms) => Some(i64::try_from(ms).unwrap_or(i64::MAX)),
    };
    let tenant = state
        .store
        .set_tenant_cpu_ms_max(&tenant_id, cpu_ms_max)
        .await
        .map_err(|e| ApiError::from(e).field("tenant_id"))?;
    state.tenant_limits.forget(&tenant_id);
    Ok(Json(tenant.into()))
}

#[derive(Serialize, ToSchema)]
pub struct TenantList {
    pub tenants: Vec<TenantBody>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// Zero-based page (`page`) of `per_page` items (1–100, default 50).
#[derive(Deserialize, IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Zero-based.
    #[param(minimum = 0)]
    pub page: Option<u32>,
    /// 1–100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u32>,
}

impl PageQuery {
    pub fn page(&self, per_page_max: u32) -> ApiResult<Page> {
        let per_page = self.per_page.unwrap_or(50);
        if per_page == 0 || per_page > per_page_max {
            return Err(ApiError::invalid(
                "per_page",
                format!("per_page must be between 1 and {per_page_max}"),
            ));
        }
        Ok(Page::new(self.page.unwrap_or(0), per_page))
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// Among `actions:read`, `actions:write`, `bindings:read`, `bindings:write`, `dispatch`,
    /// `executions:read`.
    pub scopes: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenBody {
    pub id: String,
    pub tenant_id: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The token itself: only in the response that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl From<ApiToken> for TokenBody {
    fn from(t: ApiToken) -> Self {
        TokenBody {
            id: t.id,
            tenant_id: t.tenant_id,
            scopes: t.scopes,
            created_at: t.created_at,
            revoked_at: t.revoked_at,
            token: None,
        }
    }
}

/// Create a tenant (admin).
#[utoipa::path(post, path = "/v1/tenants", tag = "tenants", request_body = CreateTenant,
    responses((status = 201, body = TenantBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_tenant(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateTenant>,
) -> ApiResult<(StatusCode, Json<TenantBody>)> {
    let max = state.limits.name_chars_max;
    let name = actionflow_actions::rules::display_name("name", &body.name, max)?;
    let tenant = state
        .store
        .create_tenant(&name)
        .await
        .map_err(|e| ApiError::from(e).field("name"))?;
    Ok((StatusCode::CREATED, Json(tenant.into())))
}

/// List tenants (admin).
#[utoipa::path(get, path = "/v1/tenants", tag = "tenants", params(PageQuery),
    responses((status = 200, body = TenantList), (status = "4XX", body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_tenants(
    _: Admin,
    State(state): State<AppState>,
    QueryParams(query): QueryParams<PageQuery>,
) -> ApiResult<Json<TenantList>> {
    let paged = state
        .store
        .list_tenants(query.page(state.limits.per_page_max)?)
        .await?;
    Ok(Json(TenantList {
        tenants: paged.items.into_iter().map(Into::into).collect(),
        total: paged.total,
        page: paged.page,
        per_page: paged.per_page,
    }))
}

/// Create an API token for a tenant (admin). The response is the only time `token` is shown.
#[utoipa::path(post, path = "/v1/tenants/{tenant_id}/tokens", tag = "tenants",
    params(("tenant_id" = String, Path)), request_body = CreateToken,
    responses((status = 201, body = TokenBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_token(
    _: Admin,
    State(state): State<AppState>,
    Path(tenant_id): Path<String>,
    JsonBody(body): JsonBody<CreateToken>,
) -> ApiResult<(StatusCode, Json<TokenBody>)> {
    if body.scopes.is_empty() {
        return Err(ApiError::invalid("scopes", "give at least one scope"));
    }
    for (i, scope) in body.scopes.iter().enumerate() {
        if !SCOPES.contains(&scope.as_str()) {
            return Err(ApiError::invalid(
                &format!("scopes[{i}]"),
                format!("unknown scope {scope:?} (known: {})", SCOPES.join(", ")),
            ));
        }
    }
    let mut scopes = body.scopes;
    scopes.sort();
    scopes.dedup();
    let token = auth::new_token();
    let row = state
        .store
        .create_token(&tenant_id, &auth::hash_token(&token), &scopes)
        .await?;
    let mut out = TokenBody::from(row);
    out.token = Some(token);
    Ok((StatusCode::CREATED, Json(out)))
}

/// List a tenant's tokens, revoked ones included (admin). Never shows token values.
#[utoipa::path(get, path = "/v1/tenants/{tenant_id}/tokens", tag = "tenants",
    params(("tenant_id" = String, Path)),
    responses((status = 200, body = Vec<TokenBody>), (status = "4XX", body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_tokens(
    _: Admin,
    State(state): State<AppState>,
    Path(tenant_id): Path<String>,
) -> ApiResult<Json<Vec<TokenBody>>> {
    state.store.get_tenant(&tenant_id).await?;
    let tokens = state.store.list_tokens(&tenant_id).await?;
    Ok(Json(tokens.into_iter().map(Into::into).collect()))
}

/// Revoke a token (admin); it stops working at once on this node, and on other nodes sharing the
/// database within their `token_cache_ms` (default 5 s). Idempotent.
#[utoipa::path(delete, path = "/v1/tenants/{tenant_id}/tokens/{token_id}", tag = "tenants",
    params(("tenant_id" = String, Path), ("token_id" = String, Path)),
    responses((status = 200, body = TokenBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = [])))]
async fn revoke_token(
    _: Admin,
    State(state): State<AppState>,
    Path((tenant_id, token_id)): Path<(String, String)>,
) -> ApiResult<Json<TokenBody>> {
    let row = state.store.revoke_token(&tenant_id, &token_id).await?;
    // This node stops accepting it now; other nodes within their token cache's TTL.
    state.tokens.revoked(&row.id);
    Ok(Json(row.into()))
}
