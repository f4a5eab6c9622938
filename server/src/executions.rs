//! Executions of async dispatches: show one (status, attempts, per-action results of the latest
//! attempt with their logs), list summaries of them (no event, no logs or api calls: counts instead)
//! filtered by trigger, action, status and creation time, and re-drive a dead one.

use super::auth::Tenant;
use super::dispatch::DISPATCH;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::QueryParams;
use super::AppState;
use actionflow_store::{Execution, ExecutionFilter, ExecutionStatus, Page};
use actionflow_triggers::KeySource;
use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub const EXECUTIONS_READ: &str = "executions:read";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_executions))
        .routes(routes!(get_execution))
        .routes(routes!(retry_execution))
}

/// What a shown and a listed execution both carry.
#[derive(Serialize, ToSchema)]
pub struct ExecutionHead {
    pub id: String,
    pub trigger_id: String,
    /// `sync` (run at dispatch: the answer carried its results; recorded just after) or `async`.
    pub delivery: String,
    /// `pending`, `running`, `final`, `partial`, `failed` or `dead`.
    pub status: String,
    /// Attempts so far, re-drives included (the current one while `running`).
    pub attempts: i64,
    /// A failed attempt with this number dead-letters the execution; a re-drive sets it a full
    /// budget of attempts past `attempts`.
    pub max_attempts: i64,
    /// The key as given (the `Idempotency-Key` header, else the event's `id`).
    pub idempotency_key: Option<String>,
    /// Where `idempotency_key` came from: `header` or `event.id` (separate namespaces).
    pub idempotency_key_source: Option<String>,
    /// The actions bound when the trigger was dispatched, in order.
    pub action_ids: Vec<String>,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ExecutionHead {
    /// The head of `e`, and what is left of it: its event and results.
    fn split(e: Execution) -> (ExecutionHead, serde_json::Value, Vec<serde_json::Value>) {
        let (idempotency_key, idempotency_key_source) = key_parts(e.idempotency_key.as_deref());
        let head = ExecutionHead {
            id: e.id,
            trigger_id: e.trigger_id,
            delivery: e.delivery,
            status: e.status.to_string(),
            attempts: e.attempts,
            max_attempts: e.max_attempts,
            idempotency_key,
            idempotency_key_source,
            action_ids: e.action_ids,
            last_error: e.last_error,
            next_attempt_at: e.next_attempt_at,
            created_at: e.created_at,
            updated_at: e.updated_at,
        };
        (head, e.event, e.results)
    }
}

/// One dispatch: a sync one as it ran, an async one and its delivery.
#[derive(Serialize, ToSchema)]
pub struct ExecutionBody {
    #[serde(flatten)]
    pub head: ExecutionHead,
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
    /// Per action of the latest attempt: action_id, version, status, started_at, ended_at, logs,
    /// error, …
    #[schema(value_type = Vec<Object>)]
    pub results: Vec<serde_json::Value>,
}

/// The key as given and its source, from the stored key.
fn key_parts(stored: Option<&str>) -> (Option<String>, Option<String>) {
    match stored.map(KeySource::split) {
        None => (None, None),
        Some((source, key)) => (Some(key.to_owned()), source.map(|s| s.as_str().to_owned())),
    }
}

impl From<Execution> for ExecutionBody {
    fn from(e: Execution) -> Self {
        let (head, event, results) = ExecutionHead::split(e);
        ExecutionBody {
            head,
            event,
            results,
        }
    }
}

/// An execution in a list: no event, and per action of the latest attempt its outcome with counts of
/// its logs and api calls instead of them (`GET /v1/executions/{id}` has everything).
#[derive(Serialize, ToSchema)]
pub struct ExecutionSummary {
    #[serde(flatten)]
    pub head: ExecutionHead,
    /// Per action of the latest attempt: action_id, display_name, version, status, started_at,
    /// ended_at, duration_ms, error, log_count, api_call_count, …
    #[schema(value_type = Vec<Object>)]
    pub results: Vec<serde_json::Value>,
}

/// A stored action result without its logs and api calls, with their counts.
fn result_summary(mut result: serde_json::Value) -> serde_json::Value {
    if let Some(fields) = result.as_object_mut() {
        for (list, count) in [("logs", "log_count"), ("api_calls", "api_call_count")] {
            if let Some(items) = fields.remove(list) {
                let n = items.as_array().map_or(0, Vec::len);
                fields.insert(count.to_owned(), n.into());
            }
        }
    }
    result
}

impl From<Execution> for ExecutionSummary {
    fn from(e: Execution) -> Self {
        let (head, _event, results) = ExecutionHead::split(e);
        ExecutionSummary {
            head,
            results: results.into_iter().map(result_summary).collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ExecutionList {
    pub executions: Vec<ExecutionSummary>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// Filters (all optional) and the page, newest first.
#[derive(Deserialize, IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExecutionQuery {
    pub trigger: Option<String>,
    pub action: Option<String>,
    /// One of pending, running, final, partial, failed, dead.
    pub status: Option<String>,
    /// Created at or after this RFC 3339 time.
    pub since: Option<String>,
    /// Zero-based.
    #[param(minimum = 0)]
    pub page: Option<u32>,
    /// 1–100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u32>,
}

impl ExecutionQuery {
    fn filter(&self) -> ApiResult<ExecutionFilter> {
        let status = match &self.status {
            None => None,
            Some(text) => Some(text.parse::<ExecutionStatus>().map_err(|_| {
                ApiError::invalid(
                    "status",
                    format!("unknown status {text:?}; one of pending, running, final, partial, failed, dead"),
                )
            })?),
        };
        let since = match &self.since {
            None => None,
            Some(text) => Some(
                DateTime::parse_from_rfc3339(text)
                    .map_err(|_| {
                        ApiError::invalid(
                            "since",
                            "since must be an RFC 3339 time (2026-01-31T12:00:00Z)",
                        )
                    })?
                    .with_timezone(&Utc),
            ),
        };
        Ok(ExecutionFilter {
            trigger_id: self.trigger.clone(),
            action_id: self.action.clone(),
            status,
            since,
        })
    }

    fn page(&self, per_page_max: u32) -> ApiResult<Page> {
        let page = super::tenants::PageQuery {
            page: self.page,
            per_page: self.per_page,
        };
        page.page(per_page_max)
    }
}

/// List executions, newest first, as summaries (no event, no logs: see `GET /v1/executions/{id}`).
#[utoipa::path(get, path = "/v1/executions", tag = "executions", params(ExecutionQuery),
    responses((status = 200, body = ExecutionList), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["executions:read"])))]
async fn list_executions(
    tenant: Tenant,
    State(state): State<AppState>,
    QueryParams(query): QueryParams<ExecutionQuery>,
) -> ApiResult<Json<ExecutionList>> {
    tenant.require(EXECUTIONS_READ)?;
    let filter = query.filter()?;
    let page = query.page(state.limits.per_page_max)?;
    let paged = state
        .store
        .list_executions(&tenant.tenant_id, &filter, page)
        .await?;
    Ok(Json(ExecutionList {
        executions: paged
            .items
            .into_iter()
            .map(ExecutionSummary::from)
            .collect(),
        total: paged.total,
        page: paged.page,
        per_page: paged.per_page,
    }))
}

/// Show one execution.
#[utoipa::path(get, path = "/v1/executions/{id}", tag = "executions",
    params(("id" = String, Path)),
    responses((status = 200, body = ExecutionBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["executions:read"])))]
async fn get_execution(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<ExecutionBody>> {
    tenant.require(EXECUTIONS_READ)?;
    let execution = state
        .store
        .get_execution(&tenant.tenant_id, &id)
        .await
        .map_err(|e| ApiError::from(e).field("id"))?;
    Ok(Json(execution.into()))
}

/// Re-drive a dead execution: pending again with a fresh budget of attempts; attempts are numbered on
/// from the last one (`event.execution.attempt` keeps increasing). 409 unless dead.
#[utoipa::path(post, path = "/v1/executions/{id}/retry", tag = "executions",
    params(("id" = String, Path)),
    responses((status = 200, body = ExecutionBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["dispatch"])))]
async fn retry_execution(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<ExecutionBody>> {
    tenant.require(DISPATCH)?;
    let execution = state
        .dispatchers
        .sync
        .retry(&tenant.tenant_id, &id)
        .await
        .map_err(|e| ApiError::from(e).field("id"))?;
    Ok(Json(execution.into()))
}
