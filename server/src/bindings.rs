//! A trigger's ordered flow: read it, replace it (`PATCH`), insert or remove one binding without
//! touching the others (`…/bindings:insert`, `…/bindings:remove`, also reachable as
//! `…/bindings/insert` and `…/bindings/remove` for clients that mangle `:`). Revisions are in
//! `binding_revisions`. The rules live in `actionflow_triggers::bindings`.

use super::auth::Tenant;
use super::error::{ApiResult, ErrorBody};
use super::extract::JsonBody;
use super::AppState;
use actionflow_store::{Bindings, OnError};
use actionflow_triggers::{bindings, ActionRef, BindingRequest, RefKind};
use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub const BINDINGS_READ: &str = "bindings:read";
pub use super::auth::BINDINGS_WRITE;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_bindings, patch_bindings))
        .routes(routes!(insert_binding))
        .routes(routes!(insert_binding_alias))
        .routes(routes!(remove_binding))
        .routes(routes!(remove_binding_alias))
}

/// `{"type": "action_id" | "action_name", "value": "…"}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefBody {
    #[serde(rename = "type")]
    #[schema(value_type = RefKindSchema, example = "action_id")]
    pub kind: RefKind,
    #[schema(min_length = 1)]
    pub value: String,
}

/// How a binding names its action (the document's view of `RefKind`).
#[derive(ToSchema)]
#[schema(as = RefKind)]
#[allow(dead_code)] // documents the enum only
#[serde(rename_all = "snake_case")]
pub enum RefKindSchema {
    ActionId,
    ActionName,
}

/// What a failing action does to its flow (the document's view of `OnError`).
#[derive(ToSchema)]
#[schema(as = OnError)]
#[allow(dead_code)] // documents the enum only
#[serde(rename_all = "snake_case")]
pub enum OnErrorSchema {
    Fail,
    Continue,
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
    #[schema(min_length = 1, max_length = 256)]
    pub display_name: Option<String>,
    /// `fail` (default: a failing action fails the flow closed) or `continue`.
    #[schema(value_type = Option<OnErrorSchema>)]
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
    #[schema(value_type = Option<OnErrorSchema>)]
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

pub(super) fn bindings_body(
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
    let max = state.dispatchers.settings.bindings_per_trigger_max;
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
    let max = state.dispatchers.settings.bindings_per_trigger_max;
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
