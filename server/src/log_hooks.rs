//! The server's side of the tenant log: [`TenantLogs`] (the `actionflow-logs` domain with stream
//! secrets sealed by the master key's `Sealer`, and the writer of Actionflow's own events), and
//! Actionflow's own tenant-log events, written behind the answer (see `actionflow_logs::writer`):
//! every dispatch (`af_dispatch` / `af_dispatch_failed`, with the execution id for async ones and
//! each action's outcome), every deploy (`af_deploy` / `af_deploy_failed`), and every management
//! call that changes something (`sapi` / `fapi`: method, route, status, token id — never a body,
//! so never a secret value). Each hook costs one channel send on the request's path.

use std::sync::Arc;

use super::AppState;
use crate::settings::LogSettings;
use actionflow_logs::{LogWriter, Logs, SecretSeal};
use actionflow_store::{
    AttemptEnd, Execution, FinishedAttempt, NewLogEvent, NextAttempt, Outcome, SharedStore,
};
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{json, Value};

/// What a server holds for the tenant log. Part of `ServerState`.
pub struct TenantLogs {
    pub logs: Logs,
    /// Actionflow's own events, written behind the answer.
    writer: LogWriter,
    pub settings: LogSettings,
    pub allow_private: bool,
}

impl TenantLogs {
    /// Starts the writer's task (it ends when the last writer, the server state's, is dropped).
    pub fn new(
        store: &SharedStore,
        seal: Arc<dyn SecretSeal>,
        settings: LogSettings,
        allow_private: bool,
    ) -> TenantLogs {
        let logs = Logs::new(store.clone(), seal, allow_private);
        let (writer, task) = LogWriter::new(store.clone(), logs.wake());
        tokio::spawn(task.run());
        TenantLogs {
            logs,
            writer,
            settings,
            allow_private,
        }
    }

    /// Records one of Actionflow's own events for `tenant_id` (never waits).
    pub fn record(&self, tenant_id: &str, event: NewLogEvent) {
        self.writer.record(tenant_id, event);
    }

    /// A handle for recording from elsewhere (the async worker's outcomes).
    pub fn writer(&self) -> LogWriter {
        self.writer.clone()
    }
}

fn event(code: &str, level: i64, description: String, details: Value) -> NewLogEvent {
    NewLogEvent {
        event_type: code.to_owned(),
        level,
        description: Some(description),
        details,
        ..NewLogEvent::default()
    }
}

/// Each action's outcome from a flow report's `results`: id, version, status.
fn outcomes(results: &Value) -> Value {
    let list = results.as_array().map(Vec::as_slice).unwrap_or_default();
    Value::Array(
        list.iter()
            .map(|r| json!({"action_id": r["action_id"], "version": r["version"], "status": r["status"]}))
            .collect(),
    )
}

/// A sync dispatch's report (as JSON) is recorded.
pub fn sync_dispatched(state: &AppState, tenant_id: &str, trigger_id: &str, report: &Value) {
    let status = report["status"].as_str().unwrap_or_default();
    let failed = !matches!(status, "completed");
    let (code, level) = if failed {
        ("af_dispatch_failed", 3)
    } else {
        ("af_dispatch", 1)
    };
    let details = json!({"trigger_id": trigger_id, "mode": "sync", "status": status,
        "actions": outcomes(&report["results"])});
    let description = format!("{trigger_id} dispatched: {status}");
    state
        .logs
        .record(tenant_id, event(code, level, description, details));
}

/// An async dispatch stored (its outcome is the execution's, `GET /v1/executions/{id}`).
pub fn async_dispatched(
    state: &AppState,
    tenant_id: &str,
    trigger_id: &str,
    execution_id: &str,
    created: bool,
) {
    let details = json!({"trigger_id": trigger_id, "mode": "async", "execution_id": execution_id,
        "created": created});
    let description = format!("{trigger_id} dispatched: execution {execution_id} queued");
    state
        .logs
        .record(tenant_id, event("af_dispatch", 1, description, details));
}

/// The async worker's attempts, each recorded as the dispatch's outcome: `af_dispatch` when the
/// execution ended `final`, `af_dispatch_failed` otherwise (with whether it will be retried).
pub struct AsyncOutcomes(pub LogWriter);

impl actionflow_triggers::AttemptObserver for AsyncOutcomes {
    fn recorded(&self, job: &Execution, finished: &FinishedAttempt) {
        let (status, retried) = match &finished.end {
            AttemptEnd::Complete(outcome) => {
                let status = match outcome {
                    Outcome::Final => "final",
                    Outcome::Partial => "partial",
                    Outcome::Failed => "failed",
                };
                (status.to_owned(), false)
            }
            AttemptEnd::Fail { next, .. } => {
                ("failed".to_owned(), matches!(next, NextAttempt::After(_)))
            }
        };
        let (code, level) = if status == "final" {
            ("af_dispatch", 1)
        } else {
            ("af_dispatch_failed", 3)
        };
        let results = Value::Array(finished.results.clone());
        let details = json!({"trigger_id": job.trigger_id, "mode": "async",
            "execution_id": job.id, "attempt": finished.attempt, "status": status,
            "retried": retried, "actions": outcomes(&results)});
        let description = format!(
            "{} execution {} attempt {}: {status}",
            job.trigger_id, job.id, finished.attempt
        );
        self.0
            .record(&job.tenant_id, event(code, level, description, details));
    }
}

/// A deploy ended: a version, or build errors.
pub fn deployed(state: &AppState, tenant_id: &str, action_id: &str, outcome: Result<i64, &str>) {
    let (code, level, description, details) = match outcome {
        Ok(version) => (
            "af_deploy",
            1,
            format!("action {action_id} deployed as version {version}"),
            json!({"action_id": action_id, "version": version}),
        ),
        Err(message) => (
            "af_deploy_failed",
            3,
            format!("action {action_id} failed to deploy"),
            json!({"action_id": action_id, "error": message}),
        ),
    };
    state
        .logs
        .record(tenant_id, event(code, level, description, details));
}

/// Middleware: a tenant's call that changes something is recorded as `sapi` (2xx) or `fapi`.
/// Ingestion itself (`POST /v1/logs`) and dispatches (recorded above) are not.
pub async fn audit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let changes = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    // An extension's own storage writes (its storage token) are its traffic, not management calls.
    let by_extension = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.get(7..))
        .is_some_and(actionflow_webtasks::seal::is_storage_token);
    let Some(route) = route.filter(|r| {
        !by_extension
            && changes
            && r != "/v1/logs"
            && !r.ends_with("/dispatch")
            && !r.ends_with("/test")
            // Extensions' runs are their callers' traffic, not management calls.
            && !r.starts_with("/run/")
    }) else {
        return next.run(request).await;
    };
    // Whatever it changed is committed once it answers: this node's next dispatch checks its flow.
    let response = audited(&state, request, next, method, route).await;
    state.dispatchers.sync.flows_changed();
    response
}

async fn audited(
    state: &AppState,
    request: Request,
    next: Next,
    method: Method,
    route: String,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let tenant =
        <super::auth::Tenant as axum::extract::FromRequestParts<AppState>>::from_request_parts(
            &mut parts, state,
        )
        .await;
    let path = parts.uri.path().to_owned();
    let response = next.run(Request::from_parts(parts, body)).await;
    if let Ok(tenant) = tenant {
        let status = response.status();
        let (code, level) = if status.is_success() {
            ("sapi", 1)
        } else {
            ("fapi", 3)
        };
        let details = json!({"method": method.as_str(), "route": route, "path": path,
            "status": status.as_u16(), "token_id": tenant.token_id});
        let description = format!("{method} {route}");
        state
            .logs
            .record(&tenant.tenant_id, event(code, level, description, details));
    }
    response
}
