//! `POST /v1/actions/{id}/test`: runs the draft (or `?version=N`) once with a given event and
//! returns the outcome — api calls, logs, duration, error — without changing anything stored.
//! Stored secrets are opened and injected as `event.secrets`, overlaid by the request's own.

use super::auth::{Tenant, ACTIONS_WRITE};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::Path;
use super::extract::{JsonBody, QueryParams};
use super::validate::{self, SecretInput};
use super::{deploy, secrets, AppState};
use actionflow_runtime::{Event, ExecutionRequest, Limits, ModuleFiles};
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;
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
    /// `completed`, `threw`, `timed_out`, `out_of_memory` or `invalid_code`.
    pub status: String,
    #[schema(value_type = Object)]
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

struct Code {
    version: Option<i64>,
    identity: String,
    code: String,
    files: Arc<dyn ModuleFiles>,
    triggers: Vec<String>,
    secret_names: Option<Vec<String>>,
}

async fn load(
    state: &AppState,
    tenant: &Tenant,
    id: &str,
    version: Option<i64>,
) -> ApiResult<Code> {
    let store = &state.store;
    if let Some(number) = version {
        let v = store
            .get_version(&tenant.tenant_id, id, number)
            .await
            .map_err(|e| ApiError::from(e).field("version"))?;
        let files = if v.lockfile.is_null() {
            crate::packages::module_files(&Default::default())
        } else {
            let lockfile = serde_json::from_value(v.lockfile.clone())
                .map_err(|e| ApiError::internal(&format!("stored lockfile: {e}")))?;
            let tree = state
                .packages
                .layout_or_fetch(&lockfile)
                .await
                .map_err(|e| ApiError::internal(&format!("laying out packages: {e:#}")))?;
            crate::packages::module_files(&tree)
        };
        return Ok(Code {
            version: Some(v.number),
            identity: v.id,
            code: v.code,
            files,
            triggers: v.supported_triggers,
            secret_names: Some(v.secret_names),
        });
    }
    let action = store.get_action(&tenant.tenant_id, id).await?;
    // Bounded like a deploy: a draft's dependencies are resolved on every test run.
    let wall = std::time::Duration::from_millis(state.limits.deploy_ms_max);
    let installed = tokio::time::timeout(wall, deploy::install(state, &action))
        .await
        .unwrap_or_else(|_| {
            Err(anyhow::anyhow!(
                "installing took longer than {} ms",
                state.limits.deploy_ms_max
            ))
        });
    let (lockfile, files) = installed.map_err(|e| {
        ApiError::invalid(
            "dependencies",
            format!("the dependencies did not install: {e:#}"),
        )
    })?;
    let mut hash = Sha256::new();
    hash.update(action.code.as_bytes());
    hash.update(lockfile.to_string().as_bytes());
    Ok(Code {
        version: None,
        identity: format!("draft-{}", hex::encode(hash.finalize())),
        code: action.code,
        files,
        triggers: action.supported_triggers,
        secret_names: None,
    })
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
    validate::secrets(&body.secrets, &state.limits)?;
    let code = load(&state, &tenant, &id, query.version).await?;
    let trigger_id = match body.trigger_id {
        Some(t) if code.triggers.contains(&t) => t,
        Some(t) => {
            return Err(ApiError::invalid(
                "trigger_id",
                format!(
                    "{t:?} is not one of the action's triggers ({})",
                    code.triggers.join(", ")
                ),
            ))
        }
        None => code.triggers.first().cloned().unwrap_or_default(),
    };
    let mut secrets =
        secrets::open_all(&state, &tenant.tenant_id, &id, code.secret_names.as_deref()).await?;
    for s in body.secrets {
        secrets.0.insert(s.name, s.value);
    }
    let request = ExecutionRequest {
        tenant: tenant.tenant_id.clone(),
        action: id,
        version: code.identity,
        code: Arc::from(code.code),
        files: code.files,
        trigger_id: trigger_id.clone(),
        event,
        secrets,
        limits: Limits::default(),
    };
    let values: Vec<String> = request
        .secrets
        .0
        .values()
        .filter(|v| !v.is_empty())
        .cloned()
        .collect();
    let _place = state
        .test_permits
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError::too_many_requests())?;
    let outcome = state
        .tests
        .execute(request)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let mut value = serde_json::to_value(&outcome).map_err(|e| ApiError::internal(&e))?;
    redact(&mut value, &values);
    let mut take = |key: &str| {
        value
            .get_mut(key)
            .map(serde_json::Value::take)
            .unwrap_or_default()
    };
    Ok(Json(TestResult {
        trigger_id,
        version: code.version,
        status: take("status").as_str().unwrap_or("").to_owned(),
        error: take("error"),
        api_calls: take("api_calls"),
        logs: take("logs"),
        logs_dropped: outcome.logs_dropped,
        duration_ms: outcome.duration_ms,
        cold_start: outcome.cold_start,
    }))
}

/// Replaces every secret value inside the strings of `value` (api call arguments, error messages)
/// with the runtime's redaction mark: a test response never carries a secret.
fn redact(value: &mut serde_json::Value, secrets: &[String]) {
    match value {
        serde_json::Value::String(text) => {
            for secret in secrets {
                if text.contains(secret.as_str()) {
                    *text = text.replace(secret.as_str(), actionflow_runtime::REDACTED);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| redact(v, secrets)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| redact(v, secrets)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redact_replaces_secret_values_in_nested_strings() {
        let mut v = serde_json::json!({"a": ["no hunter2!", {"b": "hunter2"}], "n": 1});
        super::redact(&mut v, &["hunter2".to_owned()]);
        assert_eq!(
            v,
            serde_json::json!({"a": ["no [REDACTED]!", {"b": "[REDACTED]"}], "n": 1})
        );
    }
}
