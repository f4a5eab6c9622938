//! `POST /v1/triggers/{trigger_id}/dispatch`: the host platform reports an event. A sync trigger's
//! flow runs now and the answer holds its combined effects and per-action results; an async
//! trigger's dispatch is stored durably and answered `202 {execution_id}` before any action runs.

use super::auth::Tenant;
use super::error::Code;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::JsonBody;
use super::AppState;
use actionflow_triggers::{Dispatched, FlowStatus, ResultStatus};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub const DISPATCH: &str = "dispatch";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(dispatch))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispatchRequest {
    /// The event, as the trigger's `event_schema` (see `GET /v1/triggers`) describes it.
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}

/// A sync trigger's flow result: apply `effects` unless `status` is `failed` (fail closed).
#[derive(Serialize, ToSchema)]
pub struct SyncDispatched {
    /// The execution, recorded just after this answer (`GET /v1/executions/{id}`).
    pub execution_id: String,
    pub trigger_id: String,
    /// `completed`, `partial` (some actions failed under `on_error: continue`), `denied`, `failed`.
    pub status: String,
    /// Every `api` call of the actions that succeeded, in order.
    #[schema(value_type = Vec<Object>)]
    pub effects: serde_json::Value,
    /// Per action that ran: action_id, display_name, version, status, started_at, ended_at,
    /// duration_ms, api_calls, logs, error.
    #[schema(value_type = Vec<Object>)]
    pub results: serde_json::Value,
    pub duration_ms: f64,
    #[schema(value_type = Option<Object>)]
    pub error: serde_json::Value,
}

/// An async trigger's stored dispatch.
#[derive(Serialize, ToSchema)]
pub struct AsyncDispatched {
    pub execution_id: String,
    pub status: String,
    /// `false` when the idempotency key matched an earlier dispatch, whose execution this is.
    pub created: bool,
}

fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .map(|v| Some(v.trim().to_owned()))
            .map_err(|_| {
                ApiError::bad_request("Idempotency-Key", "the header is not readable text")
            }),
    }
}

/// Dispatch an event to a trigger's flow.
#[utoipa::path(post, path = "/v1/triggers/{trigger_id}/dispatch", tag = "dispatch",
    params(("trigger_id" = String, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "async triggers: a repeated key returns the first execution (default: event.id)")),
    request_body = DispatchRequest,
    responses((status = 200, body = SyncDispatched), (status = 202, body = AsyncDispatched),
        (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["dispatch"])))]
async fn dispatch(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(trigger_id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<DispatchRequest>,
) -> ApiResult<Response> {
    tenant.require(DISPATCH)?;
    let key = idempotency_key(&headers)?;
    let dispatcher = &state.dispatchers.sync;
    match dispatcher
        .dispatch(&tenant.tenant_id, &trigger_id, body.event, key)
        .await?
    {
        Dispatched::Sync {
            execution_id,
            report,
        } => {
            // The tenant's own flood: refused for it alone, as 429 with Retry-After.
            let busy = report.status == FlowStatus::Failed
                && report
                    .results
                    .last()
                    .is_some_and(|r| r.status == ResultStatus::TenantBusy);
            if busy {
                let message =
                    "this tenant already has too many executions waiting; try again shortly";
                return Err(ApiError::new(Code::TooManyRequests, None, message));
            }
            let mut value = serde_json::to_value(&report).map_err(|e| ApiError::internal(&e))?;
            super::log_hooks::sync_dispatched(&state, &tenant.tenant_id, &trigger_id, &value);
            let mut take = |key: &str| {
                value
                    .get_mut(key)
                    .map(serde_json::Value::take)
                    .unwrap_or_default()
            };
            let body = SyncDispatched {
                execution_id,
                trigger_id,
                status: take("status").as_str().unwrap_or_default().to_owned(),
                effects: take("effects"),
                results: take("results"),
                error: take("error"),
                duration_ms: report.duration_ms,
            };
            Ok(Json(body).into_response())
        }
        Dispatched::Async(inserted) => {
            let (id, created) = (&inserted.execution.id, inserted.created);
            super::log_hooks::async_dispatched(&state, &tenant.tenant_id, &trigger_id, id, created);
            let body = AsyncDispatched {
                execution_id: inserted.execution.id,
                status: inserted.execution.status.to_string(),
                created: inserted.created,
            };
            Ok((StatusCode::ACCEPTED, Json(body)).into_response())
        }
    }
}
