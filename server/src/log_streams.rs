//! Log streams: `POST/GET /v1/log-streams`, `GET/PATCH/DELETE /v1/log-streams/{id}`,
//! `POST …/{id}/replay {from}`, `GET …/{id}/health`, `POST …/{id}/rotate-secret` (scopes
//! `log_streams:read` / `log_streams:write`). The signing secret is answered once (at creation and
//! rotation); the sink's authorization is write-only.

use std::collections::BTreeMap;

use super::auth::Tenant;
use super::error::{ApiResult, ErrorBody};
use super::extract::{JsonBody, Path};
use super::AppState;
use actionflow_logs::event::parse_log_id;
use actionflow_logs::stream::{ContentFormat, Filters, SettingsInput, SinkInput};
use actionflow_logs::{ChangeStream, CreateStream, Health, StreamView};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
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

/// `Some(None)` for an explicit `null`, `None` when absent.
fn tri_state<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SinkBody {
    pub endpoint: String,
    /// `jsonlines` (default), `jsonarray` or `jsonobject` (`{"logs": […]}`).
    #[schema(value_type = Option<String>)]
    pub content_format: Option<ContentFormat>,
    /// Sent as the `Authorization` header; write-only. In a PATCH, `null` removes it and leaving
    /// it out keeps it.
    #[serde(default, deserialize_with = "tri_state")]
    #[schema(value_type = Option<String>)]
    pub authorization: Option<Option<String>>,
    pub custom_headers: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FiltersBody {
    /// Log type codes (all when empty or absent).
    #[serde(default)]
    pub types: Vec<String>,
    /// 0 debug … 4 critical: this level and above.
    #[serde(default)]
    pub min_level: u8,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStreamRequest {
    pub name: String,
    pub sink: SinkBody,
    pub filters: Option<FiltersBody>,
    /// Events per request, 1–100 (default 100).
    pub batch_size: Option<u32>,
    /// One request per batch (default); `false`: one per event, `concurrency` at a time.
    pub send_as_batch: Option<bool>,
    /// 1–20, default 5.
    pub concurrency: Option<u32>,
    /// Begin after this `log_id` (default: only events from now on).
    pub start_from: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchStreamRequest {
    pub name: Option<String>,
    /// `active` (resumes a paused or suspended stream at its checkpoint) or `paused`.
    pub status: Option<String>,
    pub sink: Option<SinkBody>,
    pub filters: Option<FiltersBody>,
    pub batch_size: Option<u32>,
    pub send_as_batch: Option<bool>,
    pub concurrency: Option<u32>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// Send again every matching event after this `log_id` (must not be past the checkpoint).
    pub from: String,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// How long the old secret keeps signing beside the new one (default 86400, at most 30 days).
    pub overlap_seconds: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct SinkView {
    pub endpoint: String,
    pub content_format: String,
    pub custom_headers: BTreeMap<String, String>,
    /// Whether an authorization header is set (its value is never shown).
    pub authorization_set: bool,
}

#[derive(Serialize, ToSchema)]
pub struct StreamBody {
    pub id: String,
    pub name: String,
    /// `active`, `paused` or `suspended`.
    pub status: String,
    pub status_reason: Option<String>,
    pub sink: SinkView,
    pub filters: FiltersView,
    pub batch_size: u32,
    pub send_as_batch: bool,
    pub concurrency: u32,
    /// The last `log_id` delivered or passed over.
    pub checkpoint: String,
    /// While a rotated-out secret still signs: until when.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The signing secret (`whsec_…`): only in the answer that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FiltersView {
    pub types: Vec<String>,
    pub min_level: u8,
}

impl StreamBody {
    fn new(v: StreamView, secret: Option<String>) -> StreamBody {
        let format = serde_json::to_value(v.config.sink.content_format).ok();
        StreamBody {
            id: v.id,
            name: v.name,
            status: v.status,
            status_reason: v.status_reason,
            sink: SinkView {
                endpoint: v.config.sink.endpoint,
                content_format: format
                    .and_then(|f| f.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                custom_headers: v.config.sink.custom_headers,
                authorization_set: v.has_authorization,
            },
            filters: FiltersView {
                types: v.config.filters.types,
                min_level: v.config.filters.min_level,
            },
            batch_size: v.config.batch_size,
            send_as_batch: v.config.send_as_batch,
            concurrency: v.config.concurrency,
            checkpoint: v.checkpoint.to_string(),
            previous_secret_expires_at: v.previous_key_expires_at,
            created_at: v.created_at,
            updated_at: v.updated_at,
            secret,
        }
    }
}

fn sink_input(sink: SinkBody) -> (SinkInput, Option<Option<String>>) {
    let input = SinkInput {
        endpoint: sink.endpoint,
        content_format: sink.content_format,
        authorization: None,
        custom_headers: sink.custom_headers,
    };
    (input, sink.authorization)
}

fn filters(body: Option<FiltersBody>) -> Option<Filters> {
    body.map(|f| Filters {
        types: f.types,
        min_level: f.min_level,
    })
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
