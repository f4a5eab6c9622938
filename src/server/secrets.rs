//! An action's secrets: write-only values sealed with the master key before they reach the store
//! (which copies the names into the draft in the same transaction). The API lists names and update
//! times only; values are opened just for a test run or an execution, into the runtime's request.

use super::auth::{Tenant, ACTIONS_READ, ACTIONS_WRITE};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::JsonBody;
use super::extract::Path;
use super::validate::{self, SecretInput};
use super::AppState;
use crate::secrets::Sealed;
use actionflow_runtime::Secrets;
use actionflow_store::NewSecret;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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

/// Seals each secret of `inputs` (already validated) for the action, to be stored with it.
pub fn seal_all(
    state: &AppState,
    tenant_id: &str,
    action_id: &str,
    inputs: &[SecretInput],
) -> ApiResult<Vec<NewSecret>> {
    inputs
        .iter()
        .map(|input| {
            let sealed = state
                .sealer
                .seal(tenant_id, action_id, &input.name, &input.value)
                .map_err(|e| ApiError::internal(&e))?;
            Ok(NewSecret {
                name: input.name.clone(),
                ciphertext: sealed.ciphertext,
                nonce: sealed.nonce,
            })
        })
        .collect()
}

/// The clear values of an action's secrets; with `only`, just those names.
pub async fn open_all(
    state: &AppState,
    tenant_id: &str,
    action_id: &str,
    only: Option<&[String]>,
) -> ApiResult<Secrets> {
    let mut values = BTreeMap::new();
    for row in state.store.sealed_secrets(tenant_id, action_id).await? {
        if only.is_some_and(|names| !names.contains(&row.name)) {
            continue;
        }
        let sealed = Sealed {
            ciphertext: row.ciphertext,
            nonce: row.nonce,
        };
        let value = state
            .sealer
            .open(tenant_id, action_id, &row.name, &sealed)
            .map_err(|e| ApiError::internal(&e))?;
        values.insert(row.name, value);
    }
    Ok(Secrets(values))
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
    let secrets = state.store.list_secrets(&tenant.tenant_id, &id).await?;
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
    let limits = &state.limits;
    validate::secret_name("name", &name, limits)?;
    validate::secret_value("value", &body.value, limits)?;
    let sealed = state
        .sealer
        .seal(&tenant.tenant_id, &id, &name, &body.value)
        .map_err(|e| ApiError::internal(&e))?;
    let meta = state
        .store
        .put_secret(
            &tenant.tenant_id,
            &id,
            &name,
            &sealed.ciphertext,
            &sealed.nonce,
            limits.secrets_per_action_max,
        )
        .await
        .map_err(|e| match e {
            actionflow_store::Error::LimitReached { .. } => ApiError::from(e).field("name"),
            other => ApiError::from(other),
        })?;
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
    state.store.get_action(&tenant.tenant_id, &id).await?;
    state
        .store
        .delete_secret(&tenant.tenant_id, &id, &name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
