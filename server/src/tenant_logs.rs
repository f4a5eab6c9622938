//! The tenant log: `POST /v1/logs` (the host's events, a batch of up to 100, scope `logs:write`),
//! `GET /v1/logs?from=&take=` (checkpoint mode, by `log_id`), `GET /v1/logs?q=&page=&per_page=`
//! (search mode, newest first) and `GET /v1/logs/{id}` (scope `logs:read`). The rules are the
//! `actionflow-logs` crate's; this file extracts, checks the scope and maps.

use super::auth::Tenant;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{JsonBody, Path, QueryParams};
use super::AppState;
use actionflow_logs::event::{parse_log_id, record};
use actionflow_logs::IncomingEvent;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub const LOGS_READ: &str = "logs:read";
pub const LOGS_WRITE: &str = "logs:write";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ingest, read_logs))
        .routes(routes!(get_log))
}

/// Events from the host platform.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestRequest {
    /// 1 to 100 events: `{type, level?, date?, description?, client_id?, client_name?,
    /// connection?, ip?, user_agent?, user_id?, user_name?, strategy?, strategy_type?, details?}`.
    /// `type` must be a known code, or a custom `x_…` code with its `level` (0–4).
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<IncomingEvent>,
}

#[derive(Serialize, ToSchema)]
pub struct Ingested {
    /// The stored events' ids, in the order sent.
    pub log_ids: Vec<String>,
}

/// Store events from the host platform (all or none).
#[utoipa::path(post, path = "/v1/logs", tag = "logs", request_body = IngestRequest,
    responses((status = 201, body = Ingested), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["logs:write"])))]
async fn ingest(
    tenant: Tenant,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<IngestRequest>,
) -> ApiResult<(StatusCode, Json<Ingested>)> {
    tenant.require(LOGS_WRITE)?;
    let ids = state
        .logs
        .logs
        .ingest(&tenant.tenant_id, body.events)
        .await?;
    let log_ids = ids.iter().map(i64::to_string).collect();
    Ok((StatusCode::CREATED, Json(Ingested { log_ids })))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LogsQuery {
    /// Checkpoint mode: events after this `log_id` (`0`: from the oldest kept), by `log_id`.
    from: Option<String>,
    /// Checkpoint mode: how many (1–100, default 50).
    take: Option<u32>,
    /// Search mode: `type:f OR type:fp`, `type:s AND user_id:"auth0|1"` (fields: type, user_id,
    /// user_name, client_id, connection, ip, strategy).
    q: Option<String>,
    /// Search mode: 0-based page (page × per_page ≤ 1000).
    page: Option<u32>,
    /// Search mode: 1–100, default 50.
    per_page: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct LogsPage {
    /// Events: `{log_id, date, type, level, description, …, details}`.
    #[schema(value_type = Vec<Object>)]
    pub logs: Vec<serde_json::Value>,
    /// Checkpoint mode: the `from` of the next call (the last `log_id` here, or `from` again).
    pub next_from: Option<String>,
    /// Search mode: how many events match.
    pub total: Option<u64>,
}

/// Read the log by checkpoint (`from`, `take`) or search it (`q`, `page`, `per_page`).
#[utoipa::path(get, path = "/v1/logs", tag = "logs", params(LogsQuery),
    responses((status = 200, body = LogsPage), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["logs:read"])))]
async fn read_logs(
    tenant: Tenant,
    State(state): State<AppState>,
    QueryParams(query): QueryParams<LogsQuery>,
) -> ApiResult<Json<LogsPage>> {
    tenant.require(LOGS_READ)?;
    let logs = &state.logs.logs;
    let checkpoint = query.from.is_some() || query.take.is_some();
    if checkpoint {
        if query.q.is_some() || query.page.is_some() || query.per_page.is_some() {
            let message =
                "from/take (checkpoint mode) and q/page/per_page (search mode) do not mix";
            return Err(ApiError::bad_request("q", message));
        }
        let from = parse_log_id(query.from.as_deref().unwrap_or("0"), "from")?;
        let events = logs
            .after(&tenant.tenant_id, from, query.take.unwrap_or(50))
            .await?;
        let next = events.last().map_or(from, |e| e.seq);
        return Ok(Json(LogsPage {
            logs: events.iter().map(record).collect(),
            next_from: Some(next.to_string()),
            total: None,
        }));
    }
    let q = query.q.as_deref().unwrap_or("");
    let page = query.page.unwrap_or(0);
    let found = logs
        .search(&tenant.tenant_id, q, page, query.per_page.unwrap_or(50))
        .await?;
    Ok(Json(LogsPage {
        logs: found.items.iter().map(record).collect(),
        next_from: None,
        total: Some(found.total),
    }))
}

/// One event.
#[utoipa::path(get, path = "/v1/logs/{id}", tag = "logs", params(("id" = String, Path)),
    responses((status = 200, body = Object), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["logs:read"])))]
async fn get_log(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    tenant.require(LOGS_READ)?;
    let seq = parse_log_id(&id, "id")?;
    let event = state
        .logs
        .logs
        .store()
        .get_log(&tenant.tenant_id, seq)
        .await;
    let event = event.map_err(|e| ApiError::from(e).field("id"))?;
    Ok(Json(record(&event)))
}
