//! The server's side of triggers: the [`Dispatchers`] (over the sync flows' runtime and the async
//! workers' runtime, with versions made ready by the lifecycle's [`Preparer`]) and the
//! [`Background`] tasks of `actionflow serve` (async worker, executions' retention purge, log
//! stream delivery, the tenant log's retention purge) with their graceful stop.

use std::sync::Arc;
use std::time::Duration;

use actionflow_actions::Preparer;
use actionflow_logs::{Deliverer, DeliverySettings};
use actionflow_runtime::{Engine, Limits};
use actionflow_store::SharedStore;
use actionflow_triggers::{
    retention, Dispatcher, LogHub, Quarantines, RuntimeExecutor, SyncRecords, TenantLimits, Worker,
    SYNC_RECORDS_QUEUED_MAX,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::log_hooks::TenantLogs;
use crate::settings::FlowSettings;

/// How often finished executions and log events past retention are purged.
const PURGE_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// What a server needs for triggers. Part of `ServerState`.
pub struct Dispatchers {
    /// Dispatch (sync flows run here, on the sync runtime), enqueueing and retries.
    pub sync: Dispatcher,
    /// The same, running actions on the async workers' own runtime pool.
    pub queued: Dispatcher,
    pub settings: FlowSettings,
    /// Sync executions, recorded behind their answers.
    pub sync_records: Arc<SyncRecords>,
}

/// What runs flows: `sync` the dispatched sync flows, `queued` the async jobs, so a backlog of
/// async jobs never takes the isolates a login waits for.
pub struct FlowEngines {
    pub sync: Arc<dyn Engine>,
    pub queued: Arc<dyn Engine>,
}

impl Dispatchers {
    /// `limits` apply to every action (a flow's budget caps the wall clock further).
    pub fn new(
        store: SharedStore,
        preparer: Arc<Preparer>,
        tenant_limits: Arc<TenantLimits>,
        quarantines: Arc<Quarantines>,
        limits: Limits,
        engines: FlowEngines,
        settings: FlowSettings,
    ) -> Dispatchers {
        let executor = RuntimeExecutor::new(engines.sync, preparer.clone(), limits.clone())
            .with_tenant_limits(tenant_limits.clone())
            .with_quarantines(quarantines.clone());
        let sync_records = SyncRecords::new(SYNC_RECORDS_QUEUED_MAX);
        let sync = Dispatcher::new(
            store,
            Arc::new(executor),
            LogHub::default(),
            settings.dispatch.clone(),
        );
        // The async workers' dispatcher (below) records nothing of its own: its executions are rows.
        let queued_base = sync.clone();
        let sync = sync.with_sync_records(sync_records.clone());
        let async_executor = RuntimeExecutor::new(engines.queued, preparer, limits)
            .with_tenant_limits(tenant_limits)
            .with_quarantines(quarantines);
        let queued = queued_base.with_executor(Arc::new(async_executor));
        Dispatchers {
            sync,
            queued,
            settings,
            sync_records,
        }
    }
}

/// The background tasks of a server: workers, log delivery and the retention purges.
pub struct Background {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Background {
    /// Starts the async worker (unless `jobs_in_flight_max` is 0), the log streams' deliverer and
    /// the retention purges.
    pub fn start(dispatchers: &Dispatchers, logs: &TenantLogs) -> Background {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        let settings = &dispatchers.settings;
        if settings.worker.jobs_in_flight_max > 0 {
            let outcomes = Arc::new(crate::log_hooks::AsyncOutcomes(logs.writer()));
            let worker = Worker::new(dispatchers.queued.clone(), settings.worker.clone())
                .with_observer(outcomes);
            tasks.push(tokio::spawn(worker.run(stopped.clone())));
        }
        let store = dispatchers.sync.store().clone();
        if let Some(writer) = dispatchers.sync_records.writer(store, stopped.clone()) {
            tasks.push(tokio::spawn(writer));
        }
        tasks.push(tokio::spawn(retention::purge_loop(
            dispatchers.sync.store().clone(),
            settings.retention,
            PURGE_INTERVAL,
            stopped.clone(),
        )));
        let delivery = DeliverySettings {
            suspend_after: logs.settings.suspend_after,
            allow_private: logs.allow_private,
            ..DeliverySettings::default()
        };
        let store = logs.logs.store();
        match Deliverer::new(store.clone(), logs.logs.seal(), delivery, logs.logs.wake()) {
            Ok(deliverer) => tasks.push(tokio::spawn(deliverer.run(stopped.clone()))),
            Err(error) => {
                tracing::error!(%error, "log streams: cannot build the HTTP client; delivery is off")
            }
        }
        tasks.push(tokio::spawn(actionflow_logs::writer::purge_loop(
            store.clone(),
            logs.settings.retention,
            PURGE_INTERVAL,
            stopped,
        )));
        Background { stop, tasks }
    }

    /// Adds this node's cron scheduler (`None`: this node runs no cron jobs).
    pub fn with_cron(
        mut self,
        webtasks: &actionflow_webtasks::Webtasks,
        cron: Option<actionflow_webtasks::CronSettings>,
    ) -> Background {
        if let Some(settings) = cron {
            let scheduler = actionflow_webtasks::Scheduler::new(webtasks.clone(), settings);
            self.tasks
                .push(tokio::spawn(scheduler.run(self.stop.subscribe())));
        }
        self
    }

    /// Adds the marketplace's checks, run outside the submit requests (`checker.rs` there).
    pub fn with_marketplace_checks(
        mut self,
        marketplace: &actionflow_marketplace::Marketplace,
    ) -> Background {
        let marketplace = marketplace.clone();
        let stopped = self.stop.subscribe();
        self.tasks.push(tokio::spawn(async move {
            marketplace.run_checks(stopped).await
        }));
        self
    }

    /// Stops claiming work and waits for the attempts in flight (within the worker's grace).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if let Err(error) = task.await {
                tracing::error!(%error, "a background task failed");
            }
        }
    }
}
