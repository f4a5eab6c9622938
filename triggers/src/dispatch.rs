//! Dispatch of a trigger: validate the event, read the tenant's current flow (from the [`FlowCache`]
//! when the store's stamp of it is unchanged), then run it now (sync triggers) or store it durably as
//! a pending execution for the workers (async triggers).

use std::sync::Arc;

use actionflow_runtime::Delivery;
use actionflow_store::{ExecutionStatus, Inserted, NewExecution, Store, SyncExecution};
use serde_json::Value;
use tokio::sync::Notify;

use crate::catalog::{self, TriggerSpec};
use crate::executor::Executor;
use crate::flow::{self, FlowInput, FlowReport, FlowStatus, PlannedStep, FLOW_MS_MAX};
use crate::flow_cache::{CachedFlow, FlowCache};
use crate::idempotency::idempotency_key_of;
use crate::logs::LogHub;
use crate::sync_records::SyncRecords;
use crate::Error;

/// Default of `attempts_max`: attempts of an async execution before it is dead-lettered.
pub const ATTEMPTS_MAX: u32 = 5;

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
    /// A sync trigger's flow ran: its report is the answer; the execution is recorded behind it
    /// under `execution_id` (when the dispatcher records, see [`Dispatcher::with_sync_records`]).
    Sync {
        execution_id: String,
        report: FlowReport,
    },
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
    /// Flows read before, served while the store's stamp of them is unchanged.
    flows: Arc<FlowCache>,
    /// Where sync executions are recorded (behind the answer).
    records: Option<Arc<SyncRecords>>,
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
            flows: Arc::new(FlowCache::default()),
            records: None,
        }
    }

    /// Records every sync execution in `records` (written in the background, see [`SyncRecords`]).
    pub fn with_sync_records(mut self, records: Arc<SyncRecords>) -> Dispatcher {
        self.records = Some(records);
        self
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
    /// event's `id`; the two are separate namespaces, see [`crate::KeySource`]) makes a repeated async
    /// dispatch return the first execution.
    pub async fn dispatch(
        &self,
        tenant_id: &str,
        trigger_id: &str,
        event: Value,
        idempotency_key: Option<String>,
    ) -> Result<Dispatched, Error> {
        let spec = catalog::find(trigger_id)?;
        spec.validate_event(&event)?;
        let flow = self.current_flow(tenant_id, trigger_id).await?;
        match spec.trigger.delivery {
            Delivery::Sync => Ok(self.run_sync(tenant_id, spec, event, flow).await),
            Delivery::Async => {
                let key = idempotency_key_of(idempotency_key, &event)?;
                let inserted = self.enqueue(tenant_id, spec, event, flow, key).await?;
                Ok(Dispatched::Async(Box::new(inserted)))
            }
        }
    }

    /// Re-drives a dead execution (`Conflict` unless it is dead) with a fresh budget of
    /// `attempts_max` attempts, its attempts numbered on from the last one, and wakes this process's
    /// workers.
    pub async fn retry(
        &self,
        tenant_id: &str,
        execution_id: &str,
    ) -> Result<actionflow_store::Execution, Error> {
        let budget = self.settings.attempts_max;
        let execution = self.store.retry(tenant_id, execution_id, budget).await?;
        self.wake.notify_one();
        Ok(execution)
    }

    /// The tenant's current flow of the trigger: one cheap read of its stamp, and the full read only
    /// when the cached flow is missing or stale.
    async fn current_flow(
        &self,
        tenant_id: &str,
        trigger_id: &str,
    ) -> Result<Arc<CachedFlow>, Error> {
        let stamp = self.store.flow_stamp(tenant_id, trigger_id).await?;
        if let Some(flow) = self.flows.get(tenant_id, trigger_id, &stamp) {
            return Ok(flow);
        }
        let flow = self.store.current_flow(tenant_id, trigger_id).await?;
        let flow = Arc::new(CachedFlow::new(flow));
        self.flows.put(tenant_id, trigger_id, flow.clone());
        Ok(flow)
    }

    async fn run_sync(
        &self,
        tenant_id: &str,
        spec: TriggerSpec,
        event: Value,
        flow: Arc<CachedFlow>,
    ) -> Dispatched {
        let execution_id = actionflow_store::new_id();
        let created_at = chrono::Utc::now();
        let recorded_event = self.records.as_ref().map(|_| event.clone());
        let input = FlowInput {
            tenant_id: tenant_id.to_owned(),
            trigger: spec.trigger,
            event,
            budget_ms: self.settings.flow_ms_max,
            execution_id: Some(execution_id.clone()),
        };
        let report = flow::run(self.executor.as_ref(), &self.logs, input, &flow.steps).await;
        if let (Some(records), Some(event)) = (&self.records, recorded_event) {
            let plan: Vec<&PlannedStep> = flow.steps.iter().map(|s| &s.planned).collect();
            records.record(SyncExecution {
                id: execution_id.clone(),
                tenant_id: tenant_id.to_owned(),
                trigger_id: spec.trigger.id.to_owned(),
                status: match report.status {
                    FlowStatus::Completed | FlowStatus::Denied => ExecutionStatus::Final,
                    FlowStatus::Partial => ExecutionStatus::Partial,
                    FlowStatus::Failed => ExecutionStatus::Failed,
                },
                action_ids: plan.iter().map(|s| s.action_id.clone()).collect(),
                event,
                results: report
                    .results
                    .iter()
                    .filter_map(|r| serde_json::to_value(r).ok())
                    .collect(),
                last_error: report.error.as_ref().map(|e| e.message.clone()),
                created_at,
                ended_at: chrono::Utc::now(),
                plan: serde_json::to_value(&plan).unwrap_or_default(),
            });
        }
        Dispatched::Sync {
            execution_id,
            report,
        }
    }

    async fn enqueue(
        &self,
        tenant_id: &str,
        spec: TriggerSpec,
        event: Value,
        flow: Arc<CachedFlow>,
        idempotency_key: Option<String>,
    ) -> Result<Inserted, Error> {
        let plan: Vec<PlannedStep> = flow.steps.iter().map(|s| s.planned.clone()).collect();
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
