//! Log streams: `POST/GET /v1/log-streams`, `GET/PATCH/DELETE /v1/log-streams/{id}`,
//! `POST …/{id}/replay {from}`, `GET …/{id}/health`, `POST …/{id}/rotate-secret` (scopes
//! `log_streams:read` / `log_streams:write`). The signing secret is answered once (at creation and
//! rotation); the sink's authorization is write-only.

mod body;

use body::{filters, sink_input};
pub use body::{CreateStreamRequest, PatchStreamRequest, ReplayRequest, RotateRequest, StreamBody};

use super::auth::Tenant;
use super::error::{ApiResult, ErrorBody};
use super::extract::{JsonBody, Path};
use super::AppState;
use actionflow_logs::event::parse_log_id;
use actionflow_logs::stream::SettingsInput;
use actionflow_logs::{ChangeStream, CreateStream, Health};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub const STREAMS_READ: &str = "log_streams:read";
pub const STREAMS_WRITE: &str = "log_streams:write";
/// How long a rotated-out secret keeps signing, unless the call says.
const OVERLAP_SECONDS_DEFAULT: u64 = 24 * 3600;
const OVERLAP_SECONDS_MAX: u64 = 30 * 86400;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_stream, list_streams))
        .routes(routes!(get_stream, patch_stream, delete_stream))
        .routes(routes!(replay))
        .routes(routes!(health))
        .routes(routes!(rotate_secret))
}

/// Create a stream; the answer holds its signing secret, shown this once.
#[utoipa::path(post, path = "/v1/log-streams", tag = "log-streams", request_body = CreateStreamRequest,
    responses((status = 201, body = StreamBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["log_streams:write"])))]
async fn create_stream(
    tenant: Tenant,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateStreamRequest>,
) -> ApiResult<(StatusCode, Json<StreamBody>)> {
    tenant.require(STREAMS_WRITE)?;
    let (mut sink, authorization) = sink_input(body.sink);
    sink.authorization = authorization.flatten();
    let start_from = body
        .start_from
        .as_deref()
        .map(|s| parse_log_id(s, "start_from"))
        .transpose()?;
    let new = CreateStream {
        name: body.name,
        settings: SettingsInput {
            sink: Some(sink),
            filters: filters(body.filters),
            batch_size: body.batch_size,
            send_as_batch: body.send_as_batch,
            concurrency: body.concurrency,
        },
        start_from,
    };
    let (view, secret) = state
        .logs
        .logs
        .create_stream(&tenant.tenant_id, new)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(StreamBody::new(view, Some(secret))),
    ))
}

/// The tenant's streams, oldest first.
#[utoipa::path(get, path = "/v1/log-streams", tag = "log-streams",
    responses((status = 200, body = Vec<StreamBody>), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["log_streams:read"])))]
async fn list_streams(
    tenant: Tenant,
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<StreamBody>>> {
    tenant.require(STREAMS_READ)?;
    let streams = state.logs.logs.list_streams(&tenant.tenant_id).await?;
    Ok(Json(
        streams
            .into_iter()
            .map(|v| StreamBody::new(v, None))
            .collect(),
    ))
}

#[utoipa::path(get, path = "/v1/log-streams/{id}", tag = "log-streams", params(("id" = String, Path)),
    responses((status = 200, body = StreamBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["log_streams:read"])))]
async fn get_stream(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<StreamBody>> {
    tenant.require(STREAMS_READ)?;
    let view = state.logs.logs.get_stream(&tenant.tenant_id, &id).await?;
    Ok(Json(StreamBody::new(view, None)))
}

/// Change a stream: pause, resume (also a suspended one), filters, sink, batching, name.
#[utoipa::path(patch, path = "/v1/log-streams/{id}", tag = "log-streams", params(("id" = String, Path)),
    request_body = PatchStreamRequest,
    responses((status = 200, body = StreamBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["log_streams:write"])))]
async fn patch_stream(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PatchStreamRequest>,
) -> ApiResult<Json<StreamBody>> {
    tenant.require(STREAMS_WRITE)?;
    let (sink, authorization) = match body.sink.map(sink_input) {
        Some((sink, authorization)) => (Some(sink), authorization),
        None => (None, None),
    };
    let change = ChangeStream {
        name: body.name,
        status: body.status,
        settings: SettingsInput {
            sink,
            filters: filters(body.filters),
            batch_size: body.batch_size,
            send_as_batch: body.send_as_batch,
            concurrency: body.concurrency,
        },
        authorization,
    };
    let view = state
        .logs
        .logs
        .change_stream(&tenant.tenant_id, &id, change)
        .await?;
    Ok(Json(StreamBody::new(view, None)))
}

#[utoipa::path(delete, path = "/v1/log-streams/{id}", tag = "log-streams", params(("id" = String, Path)),
    responses((status = 204), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["log_streams:write"])))]
async fn delete_stream(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    tenant.require(STREAMS_WRITE)?;
    state
        .logs
        .logs
        .delete_stream(&tenant.tenant_id, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Move the checkpoint back: every matching event after `from` is sent again (new webhook-ids).
#[utoipa::path(post, path = "/v1/log-streams/{id}/replay", tag = "log-streams", params(("id" = String, Path)),
    request_body = ReplayRequest,
    responses((status = 200, body = StreamBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["log_streams:write"])))]
async fn replay(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReplayRequest>,
) -> ApiResult<Json<StreamBody>> {
    tenant.require(STREAMS_WRITE)?;
    let from = parse_log_id(&body.from, "from")?;
    let view = state.logs.logs.replay(&tenant.tenant_id, &id, from).await?;
    Ok(Json(StreamBody::new(view, None)))
}

#[derive(Serialize, ToSchema)]
pub struct HealthBody {
    pub status: String,
    pub status_reason: Option<String>,
    pub checkpoint: String,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<LastError>,
    pub consecutive_failures: i64,
    /// Matching events not yet delivered.
    pub lag_events: u64,
    /// Age of the oldest of them, in seconds.
    pub lag_seconds: f64,
}

#[derive(Serialize, ToSchema)]
pub struct LastError {
    pub at: Option<DateTime<Utc>>,
    /// The endpoint's HTTP status (none when it could not be reached).
    pub status: Option<i64>,
    /// The start of its answer, or the transport error.
    pub excerpt: Option<String>,
}

impl From<Health> for HealthBody {
    fn from(h: Health) -> Self {
        let last_error = h.last_error_at.map(|at| LastError {
            at: Some(at),
            status: h.last_error_status,
            excerpt: h.last_error_excerpt,
        });
        HealthBody {
            status: h.status,
            status_reason: h.status_reason,
            checkpoint: h.checkpoint.to_string(),
            last_success_at: h.last_success_at,
            last_error,
            consecutive_failures: h.consecutive_failures,
            lag_events: h.lag_events,
            lag_seconds: h.lag_seconds,
        }
    }
}

/// Status, last success, last error, consecutive failures, lag.
#[utoipa::path(get, path = "/v1/log-streams/{id}/health", tag = "log-streams", params(("id" = String, Path)),
    responses((status = 200, body = HealthBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["log_streams:read"])))]
async fn health(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<HealthBody>> {
    tenant.require(STREAMS_READ)?;
    Ok(Json(
        state.logs.logs.health(&tenant.tenant_id, &id).await?.into(),
    ))
}

/// A new signing secret (shown once); the old one signs beside it for the overlap.
#[utoipa::path(post, path = "/v1/log-streams/{id}/rotate-secret", tag = "log-streams", params(("id" = String, Path)),
    request_body = RotateRequest,
    responses((status = 200, body = StreamBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["log_streams:write"])))]
async fn rotate_secret(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RotateRequest>,
) -> ApiResult<Json<StreamBody>> {
    tenant.require(STREAMS_WRITE)?;
    let overlap = body.overlap_seconds.unwrap_or(OVERLAP_SECONDS_DEFAULT);
    if overlap > OVERLAP_SECONDS_MAX {
        return Err(super::ApiError::invalid(
            "overlap_seconds",
            format!("at most {OVERLAP_SECONDS_MAX}"),
        ));
    }
    let overlap = std::time::Duration::from_secs(overlap);
    let (view, secret) = state
        .logs
        .logs
        .rotate_secret(&tenant.tenant_id, &id, overlap)
        .await?;
    Ok(Json(StreamBody::new(view, Some(secret))))
}
