//! What a flow run reports: the combined effects, the flow's status, and one result per action that
//! ran. [`ActionResult`] is a contract: it is stored with async executions and returned by the API.

use actionflow_runtime::{ActionError, ApiCall, LogLine, Outcome};
use actionflow_store::{OnError, Timestamp};
use serde::{Deserialize, Serialize};

use super::Step;
use crate::Error;

/// How a flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowStatus {
    /// Every action ran and succeeded.
    Completed,
    /// Some actions failed under `on_error: "continue"`; the others' effects stand.
    Partial,
    /// An action called `access.deny`; the actions after it did not run.
    Denied,
    /// An action failed (or the budget ran out): the flow fails closed.
    Failed,
}

/// How one action's execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultStatus {
    Completed,
    Threw,
    TimedOut,
    /// Stopped for using more CPU time than its limit.
    CpuLimit,
    OutOfMemory,
    InvalidCode,
    /// The action has no deployed version supporting the trigger.
    NotRunnable,
    /// The engine failed (packages, secrets, runtime); the action itself may be fine.
    EngineError,
    /// Not run: the tenant already had as many executions waiting as it may (a flood of its own);
    /// an HTTP server answers a sync flow ending so with 429.
    TenantBusy,
    /// The sandbox process running the action ended under it (or the version is quarantined for
    /// ending sandboxes): the flow fails closed; an async attempt is retried like any failure.
    Crashed,
}

impl ResultStatus {
    /// Whether another attempt may end differently. Not `CpuLimit`: CPU time depends on the
    /// action and its event, not on how busy the machine is, so the same attempt would burn it again.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ResultStatus::Threw
                | ResultStatus::TimedOut
                | ResultStatus::OutOfMemory
                | ResultStatus::EngineError
                | ResultStatus::TenantBusy
                | ResultStatus::Crashed
        )
    }
}

/// Why a flow failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowError {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_id: Option<String>,
    pub message: String,
}

/// The result of one action of a flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionResult {
    pub action_id: String,
    pub display_name: String,
    pub version: Option<i64>,
    pub status: ResultStatus,
    pub started_at: Timestamp,
    pub ended_at: Timestamp,
    pub duration_ms: f64,
    pub api_calls: Vec<ApiCall>,
    pub logs: Vec<LogLine>,
    #[serde(default)]
    pub logs_dropped: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ActionError>,
    pub on_error: OnError,
}

fn error(name: &str, message: String) -> Option<ActionError> {
    Some(ActionError {
        name: name.to_owned(),
        message,
        stack: None,
        line: None,
    })
}

impl ActionResult {
    fn empty(step: &Step, version: Option<i64>, status: ResultStatus, at: Timestamp) -> Self {
        ActionResult {
            action_id: step.planned.action_id.clone(),
            display_name: step.planned.display_name.clone(),
            version,
            status,
            started_at: at,
            ended_at: at,
            duration_ms: 0.0,
            api_calls: Vec::new(),
            logs: Vec::new(),
            logs_dropped: 0,
            error: None,
            on_error: step.planned.on_error,
        }
    }

    /// The flow's budget ran out before the engine even answered (waiting for an isolate, preparing
    /// packages or secrets): nothing of the action is known.
    pub(crate) fn out_of_budget(
        step: &Step,
        version: i64,
        at: Timestamp,
        duration_ms: f64,
    ) -> Self {
        let mut result = Self::empty(step, Some(version), ResultStatus::TimedOut, at);
        result.duration_ms = duration_ms;
        result.ended_at = at + millis(duration_ms);
        let message = "the flow's time budget ran out before the action could finish (waiting for an isolate or preparing it)";
        result.error = error("Error", message.to_owned());
        result
    }

    pub(crate) fn not_runnable(step: &Step, trigger_id: &str, at: Timestamp) -> Self {
        let mut result = Self::empty(step, step.planned.version, ResultStatus::NotRunnable, at);
        let message = match (&step.version, step.planned.version) {
            (Some(v), _) => format!("version {} does not support {trigger_id}", v.number),
            (None, Some(n)) => format!("version {n} no longer exists"),
            (None, None) => "the action has no deployed version".to_owned(),
        };
        result.error = error("NotRunnable", message);
        result
    }

    pub(crate) fn engine_error(
        step: &Step,
        version: i64,
        at: Timestamp,
        duration_ms: f64,
        engine: &Error,
    ) -> Self {
        let busy = matches!(
            engine,
            Error::Runtime(actionflow_runtime::RuntimeError::TenantBusy(_))
        );
        let status = if busy {
            ResultStatus::TenantBusy
        } else {
            ResultStatus::EngineError
        };
        let mut result = Self::empty(step, Some(version), status, at);
        result.duration_ms = duration_ms;
        result.ended_at = at + millis(duration_ms);
        // Only this crate's own messages: never a driver's or V8's internals.
        let (name, message) = match engine {
            Error::Prepare { .. } => ("EngineError", engine.to_string()),
            Error::Runtime(runtime) if busy => ("TenantBusy", runtime.to_string()),
            _ => (
                "EngineError",
                "the engine failed to run the action".to_owned(),
            ),
        };
        result.error = error(name, message);
        result
    }

    pub(crate) fn of_outcome(step: &Step, version: i64, at: Timestamp, outcome: Outcome) -> Self {
        let status = super::status_of(&outcome);
        let mut result = Self::empty(step, Some(version), status, at);
        result.duration_ms = outcome.duration_ms;
        result.ended_at = at + millis(outcome.duration_ms);
        result.api_calls = outcome.api_calls;
        result.logs = outcome.logs;
        result.logs_dropped = outcome.logs_dropped;
        result.error = outcome.error;
        result
    }

    /// One line saying why this action failed.
    pub fn failure_message(&self) -> String {
        let detail = self
            .error
            .as_ref()
            .map(|e| format!(": {}: {}", e.name, e.message))
            .unwrap_or_default();
        let status = serde_json::to_value(self.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        format!("action `{}` {status}{detail}", self.display_name)
    }
}

fn millis(ms: f64) -> chrono::TimeDelta {
    chrono::TimeDelta::microseconds((ms * 1000.0) as i64)
}

/// A flow's outcome: the host applies `effects` unless `status` is `failed`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowReport {
    pub status: FlowStatus,
    pub effects: Vec<ApiCall>,
    pub results: Vec<ActionResult>,
    pub duration_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<FlowError>,
    /// Whether another attempt of a failed flow may succeed (a throw, a timeout, the engine) or not
    /// (invalid code, no runnable version).
    #[serde(skip)]
    pub retryable: bool,
}

impl FlowReport {
    pub(crate) fn new() -> Self {
        FlowReport {
            status: FlowStatus::Completed,
            effects: Vec::new(),
            results: Vec::new(),
            duration_ms: 0.0,
            error: None,
            retryable: false,
        }
    }

    pub(crate) fn fail(&mut self, action_id: Option<&str>, message: String, retryable: bool) {
        self.status = FlowStatus::Failed;
        self.retryable = retryable;
        self.error = Some(FlowError {
            action_id: action_id.map(str::to_owned),
            message,
        });
    }
}
