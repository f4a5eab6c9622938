//! Actions (the drafts), modelled on Auth0's Management API: create, list with filters and pages,
//! read, patch, delete (409 while bound unless `?force=true`). The rules and the transactions are
//! the lifecycle's (`actionflow_actions`); this maps requests and answers.

use super::action_view::{into_all, ActionBody, DependencyBody, SecretInput, TriggerRef};
use super::auth::{Tenant, ACTIONS_READ, ACTIONS_WRITE};
use super::error::{ApiResult, ErrorBody};
use super::extract::Path;
use super::extract::{JsonBody, QueryParams};
use super::tenants::PageQuery;
use super::AppState;
use actionflow_actions::{DraftPatch, NewDraft};
use actionflow_store::ActionFilter;
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
    /// 1–128 characters, unique per tenant; no control or bidirectional control characters.
    #[schema(min_length = 1, max_length = 128)]
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
    /// Zero-based.
    #[param(minimum = 0)]
    pub page: Option<u32>,
    /// 1–100, default 50.
    #[param(minimum = 1, maximum = 100)]
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
    let draft = NewDraft {
        name: body.name,
        supported_triggers: into_all(body.supported_triggers),
        code: body.code,
        dependencies: into_all(body.dependencies),
        runtime: body.runtime,
        secrets: into_all(body.secrets),
    };
    let view = state.actions.create(&tenant.tenant_id, draft).await?;
    Ok((StatusCode::CREATED, Json(view.into())))
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
    let paged = state.actions.list(&tenant.tenant_id, &filter, page).await?;
    let mut actions: Vec<ActionBody> = into_all(paged.items);
    let installed = state.store.list_installations(&tenant.tenant_id).await?;
    for body in &mut actions {
        let from = installed.iter().find(|i| i.action_id == body.id);
        body.installed_from = from.cloned().map(Into::into);
    }
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
    let view = state.actions.get(&tenant.tenant_id, &id).await?;
    with_installed_from(&state, &tenant, view.into()).await
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
    // An installed integration's code is the reviewed package's: only its values change.
    let touches_code = body.code.is_some()
        || body.dependencies.is_some()
        || body.supported_triggers.is_some()
        || body.runtime.is_some();
    if touches_code {
        state
            .marketplace
            .guard_action_edit(&tenant.tenant_id, &id)
            .await?;
    }
    let change = DraftPatch {
        name: body.name,
        supported_triggers: body.supported_triggers.map(into_all),
        code: body.code,
        dependencies: body.dependencies.map(into_all),
        runtime: body.runtime,
        secrets: body.secrets.map(into_all),
    };
    let view = state.actions.patch(&tenant.tenant_id, &id, change).await?;
    with_installed_from(&state, &tenant, view.into()).await
}

/// Marks an installed integration's action with the integration version it was made from.
async fn with_installed_from(
    state: &AppState,
    tenant: &Tenant,
    mut body: ActionBody,
) -> ApiResult<Json<ActionBody>> {
    let installed = state
        .store
        .installation_of_action(&tenant.tenant_id, &body.id)
        .await?;
    body.installed_from = installed.map(Into::into);
    Ok(Json(body))
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
    state.actions.delete(&tenant.tenant_id, &id, force).await?;
    Ok(StatusCode::NO_CONTENT)
}
