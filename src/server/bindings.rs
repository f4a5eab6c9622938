//! A trigger's ordered flow: read it, replace it (`PATCH`), insert or remove one binding without
//! touching the others (`…/bindings:insert`, `…/bindings:remove`, also reachable as
//! `…/bindings/insert` and `…/bindings/remove` for clients that mangle `:`), list its revisions and
//! restore one. The rules live in `actionflow_triggers::bindings`.

use super::auth::Tenant;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{version_number, JsonBody, QueryParams};
use super::tenants::PageQuery;
use super::AppState;
use actionflow_store::{BindingRevision, Bindings, OnError};
use actionflow_triggers::{bindings, ActionRef, BindingRequest, RefKind};
use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub const BINDINGS_READ: &str = "bindings:read";
pub const BINDINGS_WRITE: &str = "bindings:write";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_bindings, patch_bindings))
        .routes(routes!(insert_binding))
        .routes(routes!(insert_binding_alias))
        .routes(routes!(remove_binding))
        .routes(routes!(remove_binding_alias))
        .routes(routes!(list_revisions))
        .routes(routes!(restore_revision))
}

/// `{"type": "action_id" | "action_name", "value": "…"}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefBody {
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "action_id")]
    pub kind: RefKind,
    pub value: String,
}

impl From<RefBody> for ActionRef {
    fn from(body: RefBody) -> Self {
        ActionRef {
            kind: body.kind,
            value: body.value,
        }
    }
}

/// One requested binding.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BindingInput {
    #[serde(rename = "ref")]
    pub reference: RefBody,
    /// Defaults to the action's name.
    pub display_name: Option<String>,
    /// `fail` (default: a failing action fails the flow closed) or `continue`.
    #[schema(value_type = Option<String>)]
    pub on_error: Option<OnError>,
}

impl From<BindingInput> for BindingRequest {
    fn from(input: BindingInput) -> Self {
        BindingRequest {
            action: input.reference.into(),
            display_name: input.display_name,
            on_error: input.on_error,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchBindings {
    pub bindings: Vec<BindingInput>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InsertBinding {
    #[serde(rename = "ref")]
    pub reference: RefBody,
    pub display_name: Option<String>,
    #[schema(value_type = Option<String>)]
    pub on_error: Option<OnError>,
    /// 0 = first; absent = last.
    pub position: Option<usize>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveBinding {
    #[serde(rename = "ref")]
    pub reference: RefBody,
}

#[derive(Serialize, ToSchema)]
pub struct BindingBody {
    pub action_id: String,
    pub display_name: String,
    /// `fail` or `continue`.
    #[schema(value_type = String)]
    pub on_error: OnError,
}

/// A trigger's flow, in execution order; `revision` counts its changes.
#[derive(Serialize, ToSchema)]
pub struct BindingsBody {
    pub trigger_id: String,
    pub revision: i64,
    pub bindings: Vec<BindingBody>,
}

fn bindings_body(
    trigger_id: String,
    revision: i64,
    list: Vec<actionflow_store::Binding>,
) -> BindingsBody {
    let bindings = list
        .into_iter()
        .map(|b| BindingBody {
            action_id: b.action_id,
            display_name: b.display_name,
            on_error: b.on_error,
        })
        .collect();
    BindingsBody {
        trigger_id,
        revision,
        bindings,
    }
}

impl From<Bindings> for BindingsBody {
    fn from(b: Bindings) -> Self {
        bindings_body(b.trigger_id, b.revision, b.bindings)
    }
}

/// Show a trigger's flow.
#[utoipa::path(get, path = "/v1/triggers/{trigger_id}/bindings", tag = "bindings",
    params(("trigger_id" = String, Path)),
    responses((status = 200, body = BindingsBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["bindings:read"])))]
async fn get_bindings(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(trigger_id): Path<String>,
) -> ApiResult<Json<BindingsBody>> {
    tenant.require(BINDINGS_READ)?;
    let flow = bindings::get(state.store.as_ref(), &tenant.tenant_id, &trigger_id).await?;
    Ok(Json(flow.into()))
}

/// Replace the whole ordered flow; kept as a new revision.
#[utoipa::path(patch, path = "/v1/triggers/{trigger_id}/bindings", tag = "bindings",
    params(("trigger_id" = String, Path)), request_body = PatchBindings,
    responses((status = 200, body = BindingsBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["bindings:write"])))]
async fn patch_bindings(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(trigger_id): Path<String>,
    JsonBody(body): JsonBody<PatchBindings>,
) -> ApiResult<Json<BindingsBody>> {
    tenant.require(BINDINGS_WRITE)?;
    let requests: Vec<BindingRequest> = body.bindings.into_iter().map(Into::into).collect();
    let max = state.flows.settings.bindings_per_trigger_max;
    let store = state.store.as_ref();
    let flow = bindings::set(store, &tenant.tenant_id, &trigger_id, &requests, max).await?;
    Ok(Json(flow.into()))
}

async fn insert(
    state: AppState,
    tenant: Tenant,
    trigger_id: String,
    body: InsertBinding,
) -> ApiResult<Json<BindingsBody>> {
    tenant.require(BINDINGS_WRITE)?;
    let request = BindingRequest {
        action: body.reference.into(),
        display_name: body.display_name,
        on_error: body.on_error,
    };
    let max = state.flows.settings.bindings_per_trigger_max;
    let store = state.store.as_ref();
    let flow = bindings::insert(
        store,
        &tenant.tenant_id,
        &trigger_id,
        &request,
        body.position,
        max,
    )
    .await?;
    Ok(Json(flow.into()))
}

/// Insert one binding at `position`, leaving the others as they are.
#[utoipa::path(post, path = "/v1/triggers/{trigger_id}/bindings:insert", tag = "bindings",
    params(("trigger_id" = String, Path)), request_body = InsertBinding,
    responses((status = 200, body = BindingsBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["bindings:write"])))]
async fn insert_binding(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(trigger_id): Path<String>,
    JsonBody(body): JsonBody<InsertBinding>,
) -> ApiResult<Json<BindingsBody>> {
    insert(state, tenant, trigger_id, body).await
}

/// Same as `…/bindings:insert`.
#[utoipa::path(post, path = "/v1/triggers/{trigger_id}/bindings/insert", tag = "bindings",
    params(("trigger_id" = String, Path)), request_body = InsertBinding,
    responses((status = 200, body = BindingsBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["bindings:write"])))]
async fn insert_binding_alias(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(trigger_id): Path<String>,
    JsonBody(body): JsonBody<InsertBinding>,
) -> ApiResult<Json<BindingsBody>> {
    insert(state, tenant, trigger_id, body).await
}

async fn remove(
    state: AppState,
    tenant: Tenant,
    trigger_id: String,
    body: RemoveBinding,
) -> ApiResult<Json<BindingsBody>> {
    tenant.require(BINDINGS_WRITE)?;
    let reference: ActionRef = body.reference.into();
    let store = state.store.as_ref();
    let flow = bindings::remove(store, &tenant.tenant_id, &trigger_id, &reference).await?;
    Ok(Json(flow.into()))
}

/// Remove one binding, leaving the others as they are.
#[utoipa::path(post, path = "/v1/triggers/{trigger_id}/bindings:remove", tag = "bindings",
    params(("trigger_id" = String, Path)), request_body = RemoveBinding,
    responses((status = 200, body = BindingsBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["bindings:write"])))]
async fn remove_binding(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(trigger_id): Path<String>,
    JsonBody(body): JsonBody<RemoveBinding>,
) -> ApiResult<Json<BindingsBody>> {
    remove(state, tenant, trigger_id, body).await
}

/// Same as `…/bindings:remove`.
#[utoipa::path(post, path = "/v1/triggers/{trigger_id}/bindings/remove", tag = "bindings",
    params(("trigger_id" = String, Path)), request_body = RemoveBinding,
    responses((status = 200, body = BindingsBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["bindings:write"])))]
async fn remove_binding_alias(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(trigger_id): Path<String>,
    JsonBody(body): JsonBody<RemoveBinding>,
) -> ApiResult<Json<BindingsBody>> {
    remove(state, tenant, trigger_id, body).await
}

/// One kept revision of a flow.
#[derive(Serialize, ToSchema)]
pub struct RevisionBody {
    pub number: i64,
    pub created_at: DateTime<Utc>,
    pub bindings: Vec<BindingBody>,
}

#[derive(Serialize, ToSchema)]
pub struct RevisionList {
    pub revisions: Vec<RevisionBody>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

impl From<BindingRevision> for RevisionBody {
    fn from(r: BindingRevision) -> Self {
        let body = bindings_body(r.trigger_id, r.number, r.bindings);
        RevisionBody {
            number: r.number,
            created_at: r.created_at,
            bindings: body.bindings,
        }
    }
}

/// List a flow's revisions, newest first.
#[utoipa::path(get, path = "/v1/triggers/{trigger_id}/bindings/revisions", tag = "bindings",
    params(("trigger_id" = String, Path), PageQuery),
    responses((status = 200, body = RevisionList), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["bindings:read"])))]
async fn list_revisions(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(trigger_id): Path<String>,
    QueryParams(query): QueryParams<PageQuery>,
) -> ApiResult<Json<RevisionList>> {
    tenant.require(BINDINGS_READ)?;
    actionflow_triggers::find(&trigger_id)?;
    let page = query.page(state.limits.per_page_max)?;
    let paged = state
        .store
        .list_binding_revisions(&tenant.tenant_id, &trigger_id, page)
        .await?;
    Ok(Json(RevisionList {
        revisions: paged.items.into_iter().map(RevisionBody::from).collect(),
        total: paged.total,
        page: paged.page,
        per_page: paged.per_page,
    }))
}

/// Make revision `number` the flow again (as a new revision).
#[utoipa::path(post, path = "/v1/triggers/{trigger_id}/bindings/revisions/{number}/restore",
    tag = "bindings", params(("trigger_id" = String, Path), ("number" = i64, Path)),
    responses((status = 200, body = BindingsBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["bindings:write"])))]
async fn restore_revision(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((trigger_id, number)): Path<(String, String)>,
) -> ApiResult<Json<BindingsBody>> {
    tenant.require(BINDINGS_WRITE)?;
    let number = version_number("number", &number)?;
    let store = state.store.as_ref();
    let flow = match bindings::restore(store, &tenant.tenant_id, &trigger_id, number).await {
        Err(actionflow_triggers::Error::Store(actionflow_store::Error::NotFound { .. })) => {
            return Err(ApiError::not_found("number", "bindings revision"));
        }
        other => other?,
    };
    Ok(Json(flow.into()))
}
