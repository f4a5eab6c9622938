//! An action's secrets: write-only values, sealed by the lifecycle before they reach the store.
//! The API lists names and update times only; values are opened just for a test run or an
//! execution, into the runtime's request.

use super::auth::{Tenant, ACTIONS_READ, ACTIONS_WRITE};
use super::error::{ApiResult, ErrorBody};
use super::extract::JsonBody;
use super::extract::Path;
use super::AppState;
use actionflow_actions::SecretInput;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_secrets))
        .routes(routes!(put_secret, delete_secret))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutSecret {
    /// At most 4 KiB. Never returned.
    pub value: String,
}

impl std::fmt::Debug for PutSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PutSecret { value: <redacted> }")
    }
}

#[derive(Serialize, ToSchema)]
pub struct SecretBody {
    pub name: String,
    pub updated_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct SecretList {
    pub secrets: Vec<SecretBody>,
}

/// List an action's secret names and update times (never values).
#[utoipa::path(get, path = "/v1/actions/{id}/secrets", tag = "secrets",
    params(("id" = String, Path)),
    responses((status = 200, body = SecretList), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["actions:read"])))]
async fn list_secrets(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<SecretList>> {
    tenant.require(ACTIONS_READ)?;
    let secrets = state.actions.list_secrets(&tenant.tenant_id, &id).await?;
    Ok(Json(SecretList {
        secrets: secrets
            .into_iter()
            .map(|s| SecretBody {
                name: s.name,
                updated_at: s.updated_at,
            })
            .collect(),
    }))
}

/// Set (create or replace) one secret. At most 30 per action.
#[utoipa::path(put, path = "/v1/actions/{id}/secrets/{name}", tag = "secrets",
    params(("id" = String, Path), ("name" = String, Path)), request_body = PutSecret,
    responses((status = 200, body = SecretBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["actions:write"])))]
async fn put_secret(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((id, name)): Path<(String, String)>,
    JsonBody(body): JsonBody<PutSecret>,
) -> ApiResult<Json<SecretBody>> {
    tenant.require(ACTIONS_WRITE)?;
    let secret = SecretInput {
        name,
        value: body.value,
    };
    let meta = state
        .actions
        .put_secret(&tenant.tenant_id, &id, &secret)
        .await?;
    Ok(Json(SecretBody {
        name: meta.name,
        updated_at: meta.updated_at,
    }))
}

/// Delete one secret.
#[utoipa::path(delete, path = "/v1/actions/{id}/secrets/{name}", tag = "secrets",
    params(("id" = String, Path), ("name" = String, Path)),
    responses((status = 204), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["actions:write"])))]
async fn delete_secret(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    tenant.require(ACTIONS_WRITE)?;
    state
        .actions
        .delete_secret(&tenant.tenant_id, &id, &name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
