//! Actions (the drafts), modelled on Auth0's Management API: create, list with filters and pages,
//! read, patch, delete (409 while bound unless `?force=true`). Input rules live in `validate.rs`.

use super::action_view::{action_body, ActionBody};
use super::auth::{Tenant, ACTIONS_READ, ACTIONS_WRITE};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::Path;
use super::extract::{JsonBody, QueryParams};
use super::tenants::PageQuery;
use super::validate::{self, DependencyBody, SecretInput, TriggerRef};
use super::{deploy, secrets, AppState};
use actionflow_store::{ActionFilter, ActionPatch, BuildStatus, NewAction};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_action, list_actions))
        .routes(routes!(get_action, patch_action, delete_action))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAction {
    /// 1–128 characters, unique per tenant.
    pub name: String,
    /// At least one trigger of the catalog (`GET` `actionflow triggers`).
    pub supported_triggers: Vec<TriggerRef>,
    /// JavaScript (CommonJS or ES module), at most 100 KB.
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub dependencies: Vec<DependencyBody>,
    /// `node22` (default) or `node18`.
    pub runtime: Option<String>,
    /// Written encrypted; never returned.
    #[serde(default)]
    pub secrets: Vec<SecretInput>,
}

/// Only the fields present change. `secrets` are upserted (delete one with
/// `DELETE /v1/actions/{id}/secrets/{name}`).
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PatchAction {
    pub name: Option<String>,
    pub supported_triggers: Option<Vec<TriggerRef>>,
    pub code: Option<String>,
    pub dependencies: Option<Vec<DependencyBody>>,
    pub runtime: Option<String>,
    pub secrets: Option<Vec<SecretInput>>,
}

#[derive(Serialize, ToSchema)]
pub struct ActionList {
    pub actions: Vec<ActionBody>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only actions supporting this trigger.
    pub trigger_id: Option<String>,
    /// Only the action with this name.
    pub name: Option<String>,
    /// `true`: only deployed actions; `false`: only never-deployed ones.
    pub deployed: Option<bool>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// Also unbind it from every trigger's flow.
    pub force: Option<bool>,
}

/// Create an action (its draft).
#[utoipa::path(post, path = "/v1/actions", tag = "actions", request_body = CreateAction,
    responses((status = 201, body = ActionBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["actions:write"])))]
async fn create_action(
    tenant: Tenant,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateAction>,
) -> ApiResult<(StatusCode, Json<ActionBody>)> {
    tenant.require(ACTIONS_WRITE)?;
    let limits = &state.limits;
    let new = NewAction {
        name: validate::name(&body.name, limits)?,
        supported_triggers: validate::triggers(&body.supported_triggers)?,
        code: validate::code(&body.code, limits)?,
        dependencies: validate::dependencies(&body.dependencies, limits)?,
        runtime: validate::runtime(body.runtime.as_deref())?,
        secret_names: validate::secrets(&body.secrets, limits)?,
    };
    let created = if body.secrets.is_empty() {
        state.store.create_action(&tenant.tenant_id, new).await
    } else {
        // The id comes first: each secret is sealed with it bound. The draft and its secrets are
        // stored in one transaction, so neither exists without the other.
        let action_id = actionflow_store::new_id();
        let sealed = secrets::seal_all(&state, &tenant.tenant_id, &action_id, &body.secrets)?;
        state
            .store
            .create_action_with_secrets(
                &tenant.tenant_id,
                &action_id,
                new,
                &sealed,
                limits.secrets_per_action_max,
            )
            .await
    };
    let action = created.map_err(|e| match e {
        actionflow_store::Error::LimitReached { .. } => ApiError::from(e).field("secrets"),
        other => ApiError::from(other).field("name"),
    })?;
    Ok((
        StatusCode::CREATED,
        Json(action_body(&state, action).await?),
    ))
}

/// List actions, oldest first, with filters.
#[utoipa::path(get, path = "/v1/actions", tag = "actions", params(ListQuery),
    responses((status = 200, body = ActionList), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["actions:read"])))]
async fn list_actions(
    tenant: Tenant,
    State(state): State<AppState>,
    QueryParams(query): QueryParams<ListQuery>,
) -> ApiResult<Json<ActionList>> {
    tenant.require(ACTIONS_READ)?;
    let page = PageQuery {
        page: query.page,
        per_page: query.per_page,
    }
    .page(state.limits.per_page_max)?;
    // `?name=` (empty) means no filter, as Auth0 reads it.
    let filter = ActionFilter {
        trigger_id: query.trigger_id.filter(|t| !t.is_empty()),
        name: query.name.filter(|n| !n.is_empty()),
        deployed: query.deployed,
    };
    let paged = state
        .store
        .list_actions(&tenant.tenant_id, &filter, page)
        .await?;
    let bodies = paged.items.into_iter().map(|action| async {
        let action = deploy::settle(&state, action).await?;
        action_body(&state, action).await
    });
    let actions = futures::future::try_join_all(bodies).await?;
    Ok(Json(ActionList {
        actions,
        total: paged.total,
        page: paged.page,
        per_page: paged.per_page,
    }))
}

/// Read an action's draft.
#[utoipa::path(get, path = "/v1/actions/{id}", tag = "actions", params(("id" = String, Path)),
    responses((status = 200, body = ActionBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["actions:read"])))]
async fn get_action(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<ActionBody>> {
    tenant.require(ACTIONS_READ)?;
    let action = state.store.get_action(&tenant.tenant_id, &id).await?;
    let action = deploy::settle(&state, action).await?;
    Ok(Json(action_body(&state, action).await?))
}

/// Change the draft; the status goes back to `pending`. Allowed while a deploy is building: that
/// deploy still deploys the draft as it was when it began, and the draft then stays `pending` with
/// `all_changes_deployed: false` until it is deployed again.
#[utoipa::path(patch, path = "/v1/actions/{id}", tag = "actions", params(("id" = String, Path)),
    request_body = PatchAction,
    responses((status = 200, body = ActionBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["actions:write"])))]
async fn patch_action(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PatchAction>,
) -> ApiResult<Json<ActionBody>> {
    tenant.require(ACTIONS_WRITE)?;
    let limits = &state.limits;
    let action = state.store.get_action(&tenant.tenant_id, &id).await?;
    deploy::settle(&state, action).await?;
    let mut patch = ActionPatch {
        name: body
            .name
            .as_deref()
            .map(|n| validate::name(n, limits))
            .transpose()?,
        supported_triggers: body
            .supported_triggers
            .as_deref()
            .map(validate::triggers)
            .transpose()?,
        code: body
            .code
            .as_deref()
            .map(|c| validate::code(c, limits))
            .transpose()?,
        dependencies: body
            .dependencies
            .as_deref()
            .map(|d| validate::dependencies(d, limits))
            .transpose()?,
        runtime: body
            .runtime
            .as_deref()
            .map(|r| validate::runtime(Some(r)))
            .transpose()?,
        ..ActionPatch::default()
    };
    if let Some(secrets) = &body.secrets {
        validate::secrets(secrets, limits)?;
        // Checked here for a clear message; the store checks it again inside the transaction.
        let existing = state.store.list_secrets(&tenant.tenant_id, &id).await?;
        let added = secrets
            .iter()
            .filter(|s| !existing.iter().any(|e| e.name == s.name))
            .count();
        let max = usize::try_from(limits.secrets_per_action_max).unwrap_or(usize::MAX);
        if existing.len() + added > max {
            let message = format!(
                "the action would have {} secrets, more than the limit of {max}",
                existing.len() + added
            );
            return Err(ApiError::invalid("secrets", message));
        }
    }
    if patch != ActionPatch::default() {
        patch.status = Some(BuildStatus::Pending);
        patch.build_errors = Some(Vec::new());
    }
    // The draft and its secrets change in one transaction: a refused part changes nothing.
    let updated = match &body.secrets {
        None => {
            state
                .store
                .update_action(&tenant.tenant_id, &id, patch)
                .await
        }
        Some(secrets) => {
            let sealed = secrets::seal_all(&state, &tenant.tenant_id, &id, secrets)?;
            state
                .store
                .update_action_with_secrets(
                    &tenant.tenant_id,
                    &id,
                    patch,
                    &sealed,
                    limits.secrets_per_action_max,
                )
                .await
        }
    };
    let updated = updated.map_err(|e| match e {
        actionflow_store::Error::Conflict { .. } => ApiError::from(e).field("name"),
        actionflow_store::Error::LimitReached { .. } => ApiError::from(e).field("secrets"),
        other => ApiError::from(other),
    })?;
    Ok(Json(action_body(&state, updated).await?))
}

/// Delete an action with its versions and secrets. 409 while a trigger binds it, unless `force`.
#[utoipa::path(delete, path = "/v1/actions/{id}", tag = "actions",
    params(("id" = String, Path), DeleteQuery),
    responses((status = 204), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["actions:write"])))]
async fn delete_action(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<DeleteQuery>,
) -> ApiResult<StatusCode> {
    tenant.require(ACTIONS_WRITE)?;
    let force = query.force.unwrap_or(false);
    state
        .store
        .delete_action(&tenant.tenant_id, &id, force)
        .await
        .map_err(|e| match e {
            actionflow_store::Error::Conflict { what } => ApiError::conflict(
                "force",
                format!("{what}; unbind it first or delete with ?force=true"),
            ),
            other => ApiError::from(other),
        })?;
    Ok(StatusCode::NO_CONTENT)
}
