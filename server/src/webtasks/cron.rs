//! `/api/cron/{container}[/{name}[/state|/history]]`: an extension's cron job — a 5-field schedule
//! in a time zone, active or inactive — and its last 100 runs.

use super::names;
use crate::auth::{Tenant, WEBTASKS_READ, WEBTASKS_WRITE};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{JsonBody, Path, QueryParams};
use crate::AppState;
use actionflow_store::{CronJob, CronRun};
use actionflow_webtasks::CronInput;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(put_cron, get_cron, delete_cron))
        .routes(routes!(list_cron))
        .routes(routes!(put_state))
        .routes(routes!(history))
}

/// A cron job of an extension.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutCron {
    /// 5 fields: minute hour day-of-month month day-of-week (`*/5 * * * *`).
    pub schedule: String,
    /// `active` (default) or `inactive`.
    pub state: Option<String>,
    /// An IANA time zone (`Europe/Paris`); UTC by default.
    pub tz: Option<String>,
    pub meta: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutState {
    /// `active` or `inactive`.
    pub state: String,
}

#[derive(Serialize, ToSchema)]
pub struct CronBody {
    pub container: String,
    pub name: String,
    pub schedule: String,
    pub tz: String,
    pub state: String,
    pub meta: BTreeMap<String, String>,
    pub next_scheduled_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn body(job: CronJob) -> CronBody {
    CronBody {
        meta: serde_json::from_str(&job.meta).unwrap_or_default(),
        container: job.container,
        name: job.name,
        schedule: job.schedule,
        tz: job.tz,
        state: job.state,
        next_scheduled_at: job.next_at,
        created_at: job.created_at,
        updated_at: job.updated_at,
    }
}

/// One run (or skipped tick) of a cron job.
#[derive(Serialize, ToSchema)]
pub struct RunBody {
    pub scheduled_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// `success`, `error`, `skipped`; absent while running.
    #[serde(rename = "type")]
    pub outcome: Option<String>,
    #[serde(rename = "statusCode")]
    pub status_code: Option<i64>,
    /// The start of the answer's body (1 KiB).
    pub body: Option<String>,
    pub node: String,
}

fn run_body(run: CronRun) -> RunBody {
    RunBody {
        scheduled_at: run.scheduled_at,
        started_at: run.started_at,
        completed_at: run.completed_at,
        outcome: run.outcome,
        status_code: run.status_code,
        body: run.body,
        node: run.node,
    }
}

/// Schedule an extension (create or replace its cron job).
#[utoipa::path(put, path = "/api/cron/{container}/{name}", tag = "webtasks",
    params(("container" = String, Path), ("name" = String, Path)), request_body = PutCron,
    responses((status = 200, body = CronBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["webtasks:write"])))]
async fn put_cron(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((container, name)): Path<(String, String)>,
    JsonBody(put): JsonBody<PutCron>,
) -> ApiResult<Json<CronBody>> {
    tenant.require(WEBTASKS_WRITE)?;
    names(&container, &name)?;
    let input = CronInput {
        schedule: put.schedule,
        state: put.state,
        tz: put.tz,
        meta: put.meta,
    };
    let job = state
        .webtasks
        .put_cron(&tenant.tenant_id, &container, &name, input)
        .await?;
    Ok(Json(body(job)))
}

/// Read an extension's cron job.
#[utoipa::path(get, path = "/api/cron/{container}/{name}", tag = "webtasks",
    params(("container" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = CronBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["webtasks:read"])))]
async fn get_cron(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((container, name)): Path<(String, String)>,
) -> ApiResult<Json<CronBody>> {
    tenant.require(WEBTASKS_READ)?;
    let job = state
        .webtasks
        .get_cron(&tenant.tenant_id, &container, &name)
        .await?;
    Ok(Json(body(job)))
}

/// Unschedule an extension (its history goes too).
#[utoipa::path(delete, path = "/api/cron/{container}/{name}", tag = "webtasks",
    params(("container" = String, Path), ("name" = String, Path)),
    responses((status = 204), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["webtasks:write"])))]
async fn delete_cron(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((container, name)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    tenant.require(WEBTASKS_WRITE)?;
    state
        .webtasks
        .delete_cron(&tenant.tenant_id, &container, &name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The container's cron jobs, by name.
#[utoipa::path(get, path = "/api/cron/{container}", tag = "webtasks",
    params(("container" = String, Path)),
    responses((status = 200, body = [CronBody]), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["webtasks:read"])))]
async fn list_cron(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(container): Path<String>,
) -> ApiResult<Json<Vec<CronBody>>> {
    tenant.require(WEBTASKS_READ)?;
    let jobs = state
        .webtasks
        .list_cron(&tenant.tenant_id, &container)
        .await?;
    Ok(Json(jobs.into_iter().map(body).collect()))
}

/// Activate or deactivate a cron job (activated, it runs from the next tick after now).
#[utoipa::path(put, path = "/api/cron/{container}/{name}/state", tag = "webtasks",
    params(("container" = String, Path), ("name" = String, Path)), request_body = PutState,
    responses((status = 200, body = CronBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["webtasks:write"])))]
async fn put_state(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((container, name)): Path<(String, String)>,
    JsonBody(put): JsonBody<PutState>,
) -> ApiResult<Json<CronBody>> {
    tenant.require(WEBTASKS_WRITE)?;
    let job = state
        .webtasks
        .set_cron_state(&tenant.tenant_id, &container, &name, &put.state)
        .await?;
    Ok(Json(body(job)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    pub offset: Option<u32>,
    /// At most 100 (the runs kept).
    pub limit: Option<u32>,
}

/// The job's runs, newest first: scheduled, started and completed times, outcome, status, body.
#[utoipa::path(get, path = "/api/cron/{container}/{name}/history", tag = "webtasks",
    params(("container" = String, Path), ("name" = String, Path), HistoryQuery),
    responses((status = 200, body = [RunBody]), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["webtasks:read"])))]
async fn history(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((container, name)): Path<(String, String)>,
    QueryParams(query): QueryParams<HistoryQuery>,
) -> ApiResult<Json<Vec<RunBody>>> {
    tenant.require(WEBTASKS_READ)?;
    let limit = query.limit.unwrap_or(20).min(100);
    let runs = state
        .webtasks
        .cron_history(
            &tenant.tenant_id,
            &container,
            &name,
            query.offset.unwrap_or(0),
            limit,
        )
        .await?;
    Ok(Json(runs.into_iter().map(run_body).collect()))
}
