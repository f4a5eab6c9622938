//! A flow's revisions: every change of a trigger's bindings is kept as a numbered revision;
//! `GET …/bindings/revisions` lists them (newest first) and `POST …/revisions/{n}/restore` makes one
//! the flow again, as a new revision.

use super::auth::Tenant;
use super::bindings::{bindings_body, BindingBody, BindingsBody, BINDINGS_READ, BINDINGS_WRITE};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{version_number, QueryParams};
use super::tenants::PageQuery;
use super::AppState;
use actionflow_store::BindingRevision;
use actionflow_triggers::bindings;
use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_revisions))
        .routes(routes!(restore_revision))
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

/// Make revision `number` the flow again (as a new revision), under the rules of `PATCH …/bindings`:
/// 409 when the old revision breaks them today (an action since deleted or no longer deployed for the
/// trigger, more bindings than the limit), naming the binding at fault.
#[utoipa::path(post, path = "/v1/triggers/{trigger_id}/bindings/revisions/{number}/restore",
    tag = "bindings", params(("trigger_id" = String, Path), ("number" = i64, Path, minimum = 1)),
    responses((status = 200, body = BindingsBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["bindings:write"])))]
async fn restore_revision(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((trigger_id, number)): Path<(String, String)>,
) -> ApiResult<Json<BindingsBody>> {
    tenant.require(BINDINGS_WRITE)?;
    let number = version_number("number", &number)?;
    let store = state.store.as_ref();
    let max = state.dispatchers.settings.bindings_per_trigger_max;
    let flow = match bindings::restore(store, &tenant.tenant_id, &trigger_id, number, max).await {
        Err(actionflow_triggers::Error::Store(actionflow_store::Error::NotFound { .. })) => {
            return Err(ApiError::not_found("number", "bindings revision"));
        }
        other => other?,
    };
    Ok(Json(flow.into()))
}
