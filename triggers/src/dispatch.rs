//! Dispatch of a trigger: validate the event, read the tenant's current flow, then run it now (sync
//! triggers) or store it durably as a pending execution for the workers (async triggers).

use std::sync::Arc;

use actionflow_runtime::Delivery;
use actionflow_store::{Flow, Inserted, NewExecution, Store};
use serde_json::Value;
use tokio::sync::Notify;

use crate::catalog::{self, TriggerSpec};
use crate::executor::Executor;
use crate::flow::{self, FlowInput, FlowReport, PlannedStep, Step, FLOW_MS_MAX};
use crate::logs::LogHub;
use crate::Error;

/// Default of `attempts_max`: attempts of an async execution before it is dead-lettered.
pub const ATTEMPTS_MAX: u32 = 5;

/// Longest idempotency key accepted.
pub const IDEMPOTENCY_KEY_CHARS_MAX: usize = 255;

/// Settings of dispatch, shared by the workers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchSettings {
    /// Wall-clock budget of a whole flow (every action together).
    pub flow_ms_max: u64,
    /// Attempts of an async execution before it goes `dead`.
    pub attempts_max: u32,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        DispatchSettings {
            flow_ms_max: FLOW_MS_MAX,
            attempts_max: ATTEMPTS_MAX,
        }
    }
}

/// What a dispatch produced.
#[derive(Debug, Clone)]
pub enum Dispatched {
    /// A sync trigger's flow ran: its report is the answer.
    Sync(FlowReport),
    /// An async trigger's execution is stored; `created` is `false` when the idempotency key
    /// matched an earlier dispatch, whose execution is returned.
    Async(Box<Inserted>),
}

/// Runs and enqueues flows. Cheap to clone; shared by the HTTP handlers and the workers.
#[derive(Clone)]
pub struct Dispatcher {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) executor: Arc<dyn Executor>,
    pub(crate) logs: LogHub,
    pub(crate) settings: DispatchSettings,
    /// Wakes this process's workers when an execution is enqueued.
    pub(crate) wake: Arc<Notify>,
}

impl Dispatcher {
    pub fn new(
        store: Arc<dyn Store>,
        executor: Arc<dyn Executor>,
        logs: LogHub,
        settings: DispatchSettings,
    ) -> Self {
        Dispatcher {
            store,
            executor,
            logs,
            settings,
            wake: Arc::new(Notify::new()),
        }
    }

    /// The same dispatcher (store, logs, settings, wake-ups) running actions on another executor: the
    /// server gives its async workers a runtime pool of their own, so queued jobs cannot take the
    /// places sync logins need.
    pub fn with_executor(&self, executor: Arc<dyn Executor>) -> Dispatcher {
        Dispatcher {
            executor,
            ..self.clone()
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn logs(&self) -> &LogHub {
        &self.logs
    }

    pub fn settings(&self) -> &DispatchSettings {
        &self.settings
    }

    /// Dispatches `event` to the tenant's flow of `trigger_id`. The idempotency key (or else the
    /// event's `id`) makes a repeated async dispatch return the first execution.
    pub async fn dispatch(
        &self,
        tenant_id: &str,
        trigger_id: &str,
        event: Value,
        idempotency_key: Option<String>,
    ) -> Result<Dispatched, Error> {
        let spec = catalog::find(trigger_id)?;
        spec.validate_event(&event)?;
        let flow = self.store.current_flow(tenant_id, trigger_id).await?;
        match spec.trigger.delivery {
            Delivery::Sync => Ok(Dispatched::Sync(
                self.run_sync(tenant_id, spec, event, flow).await,
            )),
            Delivery::Async => {
                let key = idempotency_key_of(idempotency_key, &event)?;
                let inserted = self.enqueue(tenant_id, spec, event, flow, key).await?;
                Ok(Dispatched::Async(Box::new(inserted)))
            }
        }
    }

    /// Re-drives a dead execution (`Conflict` unless it is dead) and wakes this process's workers.
    pub async fn retry(
        &self,
        tenant_id: &str,
        execution_id: &str,
    ) -> Result<actionflow_store::Execution, Error> {
        let execution = self.store.retry(tenant_id, execution_id).await?;
        self.wake.notify_one();
        Ok(execution)
    }

    async fn run_sync(
        &self,
        tenant_id: &str,
        spec: TriggerSpec,
        event: Value,
        flow: Flow,
    ) -> FlowReport {
        let steps: Vec<Step> = flow
            .steps
            .into_iter()
            .map(|step| Step {
                planned: planned(&step.binding, step.version.as_ref().map(|v| v.number)),
                version: step.version.map(Arc::new),
            })
            .collect();
        let input = FlowInput {
            tenant_id: tenant_id.to_owned(),
            trigger: spec.trigger,
            event,
            budget_ms: self.settings.flow_ms_max,
            execution_id: None,
        };
        flow::run(self.executor.as_ref(), &self.logs, input, &steps).await
    }

    async fn enqueue(
        &self,
        tenant_id: &str,
        spec: TriggerSpec,
        event: Value,
        flow: Flow,
        idempotency_key: Option<String>,
    ) -> Result<Inserted, Error> {
        let plan: Vec<PlannedStep> = flow
            .steps
            .iter()
            .map(|step| planned(&step.binding, step.version.as_ref().map(|v| v.number)))
            .collect();
        let new = NewExecution {
            trigger_id: spec.trigger.id.to_owned(),
            idempotency_key,
            action_ids: plan.iter().map(|s| s.action_id.clone()).collect(),
            event,
            max_attempts: self.settings.attempts_max,
            next_attempt_at: chrono::Utc::now(),
            plan: serde_json::to_value(&plan).unwrap_or_default(),
        };
        let inserted = self.store.insert_execution(tenant_id, new).await?;
        if inserted.created {
            self.wake.notify_one();
        }
        Ok(inserted)
    }
}

fn planned(binding: &actionflow_store::Binding, version: Option<i64>) -> PlannedStep {
    PlannedStep {
        action_id: binding.action_id.clone(),
        display_name: binding.display_name.clone(),
        version,
        on_error: binding.on_error,
    }
}

/// The explicit key, else the event's `id` (already checked to be a string by the schema).
fn idempotency_key_of(explicit: Option<String>, event: &Value) -> Result<Option<String>, Error> {
    let (key, field) = match explicit {
        Some(key) => (key, "Idempotency-Key"),
        None => match event.get("id").and_then(Value::as_str) {
            Some(id) => (id.to_owned(), "event.id"),
            None => return Ok(None),
        },
    };
    if key.is_empty() || key.chars().count() > IDEMPOTENCY_KEY_CHARS_MAX {
        return Err(Error::InvalidField {
            field: field.to_owned(),
            message: format!("must be 1 to {IDEMPOTENCY_KEY_CHARS_MAX} characters"),
        });
    }
    Ok(Some(key))
}
