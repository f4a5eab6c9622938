//! `POST /v1/actions/{id}/test`: runs the draft (or `?version=N`) once with a given event and
//! returns the outcome — api calls, logs, duration, error — without changing anything stored
//! (`Actions::test`: stored secrets injected as `event.secrets`, overlaid by the request's own).

use super::action_view::{into_all, SecretInput};
use super::auth::{Tenant, ACTIONS_WRITE};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::Path;
use super::extract::{JsonBody, QueryParams};
use super::AppState;
use actionflow_actions::TestRun;
use actionflow_runtime::Event;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(test_action))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct TestRequest {
    /// The trigger's event (a JSON object); `{}` when omitted.
    #[schema(value_type = Object)]
    pub event: Option<serde_json::Value>,
    /// Which supported trigger to run; the first one when omitted.
    pub trigger_id: Option<String>,
    /// Values for this run only, over the stored secrets; never stored.
    #[serde(default)]
    pub secrets: Vec<SecretInput>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TestQuery {
    /// Run this deployed version instead of the draft.
    pub version: Option<i64>,
}

/// What one test run did.
#[derive(Serialize, ToSchema)]
pub struct TestResult {
    pub trigger_id: String,
    /// The version run; `null` for the draft.
    pub version: Option<i64>,
    /// `completed`, `threw`, `timed_out`, `cpu_limit`, `out_of_memory`, `invalid_code`, or
    /// `crashed` (the sandbox process running it ended: V8 aborted, it ran out of memory).
    pub status: String,
    /// `{name, message, stack, line}` when the action did not complete; `null` otherwise.
    #[schema(value_type = Option<Object>)]
    pub error: serde_json::Value,
    /// The ordered `api` calls, e.g. `{"method": "access.deny", "args": ["…"]}`.
    #[schema(value_type = Vec<Object>)]
    pub api_calls: serde_json::Value,
    /// Console lines `{level, message, at_ms}`; secret values are redacted.
    #[schema(value_type = Vec<Object>)]
    pub logs: serde_json::Value,
    pub logs_dropped: u64,
    pub duration_ms: f64,
    pub cold_start: bool,
}

/// Run the draft (or a version) once and return the outcome; nothing stored changes.
#[utoipa::path(post, path = "/v1/actions/{id}/test", tag = "actions",
    params(("id" = String, Path), TestQuery), request_body = TestRequest,
    responses((status = 200, body = TestResult), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["actions:write"])))]
async fn test_action(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<TestQuery>,
    JsonBody(body): JsonBody<TestRequest>,
) -> ApiResult<Json<TestResult>> {
    tenant.require(ACTIONS_WRITE)?;
    let event = match &body.event {
        None => Event::empty(),
        Some(value) => Event::new(value)
            .map_err(|_| ApiError::invalid("event", "event must be a JSON object"))?,
    };
    let run = TestRun {
        event,
        trigger_id: body.trigger_id,
        secrets: into_all(body.secrets),
        version: query.version,
    };
    let report = state.actions.test(&tenant.tenant_id, &id, run).await?;
    let mut outcome = report.outcome;
    let mut take = |key: &str| {
        outcome
            .get_mut(key)
            .map(serde_json::Value::take)
            .unwrap_or_default()
    };
    Ok(Json(TestResult {
        trigger_id: report.trigger_id,
        version: report.version,
        status: take("status").as_str().unwrap_or("").to_owned(),
        error: take("error"),
        api_calls: take("api_calls"),
        logs: take("logs"),
        logs_dropped: report.logs_dropped,
        duration_ms: report.duration_ms,
        cold_start: report.cold_start,
    }))
}
