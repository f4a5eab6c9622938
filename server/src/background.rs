//! The server's side of triggers: the [`Dispatchers`] (over the sync flows' runtime and the async
//! workers' runtime, with versions made ready by the lifecycle's [`Preparer`]) and the
//! [`Background`] tasks of `actionflow serve` (async worker, retention purge) with their graceful
//! stop.

use std::sync::Arc;
use std::time::Duration;

use actionflow_actions::Preparer;
use actionflow_runtime::{Limits, Runtime};
use actionflow_store::SharedStore;
use actionflow_triggers::{retention, Dispatcher, LogHub, RuntimeExecutor, Worker};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::settings::FlowSettings;

/// How often finished executions past retention are purged.
const PURGE_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// What a server needs for triggers. Part of `ServerState`.
pub struct Dispatchers {
    /// Dispatch (sync flows run here, on the sync runtime), enqueueing and retries.
    pub sync: Dispatcher,
    /// The same, running actions on the async workers' own runtime pool.
    pub queued: Dispatcher,
    pub settings: FlowSettings,
}

impl Dispatchers {
    /// `limits` apply to every action (a flow's budget caps the wall clock further);
    /// `sync_runtime` runs dispatched sync flows; `async_runtime` the queued jobs, so a backlog of
    /// async jobs never takes the isolates a login waits for.
    pub fn new(
        store: SharedStore,
        preparer: Arc<Preparer>,
        limits: Limits,
        sync_runtime: Runtime,
        async_runtime: Runtime,
        settings: FlowSettings,
    ) -> Dispatchers {
        let executor = RuntimeExecutor::new(sync_runtime, preparer.clone(), limits.clone());
        let sync = Dispatcher::new(
            store,
            Arc::new(executor),
            LogHub::default(),
            settings.dispatch.clone(),
        );
        let async_executor = RuntimeExecutor::new(async_runtime, preparer, limits);
        let queued = sync.with_executor(Arc::new(async_executor));
        Dispatchers {
            sync,
            queued,
            settings,
        }
    }
}

/// The background tasks of a server: workers and the retention purge.
pub struct Background {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Background {
    /// Starts the async worker (unless `jobs_in_flight_max` is 0) and the retention purge.
    pub fn start(dispatchers: &Dispatchers) -> Background {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        let settings = &dispatchers.settings;
        if settings.worker.jobs_in_flight_max > 0 {
            let worker = Worker::new(dispatchers.queued.clone(), settings.worker.clone());
            tasks.push(tokio::spawn(worker.run(stopped.clone())));
        }
        tasks.push(tokio::spawn(retention::purge_loop(
            dispatchers.sync.store().clone(),
            settings.retention,
            PURGE_INTERVAL,
            stopped,
        )));
        Background { stop, tasks }
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
