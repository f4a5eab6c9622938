//! The binary's side of triggers: the [`Flows`] a server holds (the dispatcher over the real runtime,
//! the resolved settings), the [`VersionResources`] that give a deployed version its installed
//! packages and decrypted secrets, and the background tasks of `actionflow serve` (async workers,
//! retention purge) with their graceful stop.

pub mod settings;

use std::sync::{Arc, Weak};
use std::time::Duration;

use actionflow_runtime::{Limits, Runtime, Secrets};
use actionflow_store::{ActionVersion, SharedStore};
use actionflow_triggers::{
    retention, Dispatcher, Error, LogHub, Prepared, RuntimeExecutor, VersionResources, Worker,
};
use async_trait::async_trait;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::secrets::Sealed;
use crate::server::ServerState;
pub use settings::{FlowArgs, FlowSettings};

/// How often finished executions past retention are purged.
const PURGE_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// What a server needs for triggers. Part of `ServerState`.
pub struct Flows {
    /// Dispatch (sync flows run here, on the server's runtime), enqueueing and retries.
    pub dispatcher: Dispatcher,
    /// The same, running actions on the async workers' own runtime pool.
    pub async_dispatcher: Dispatcher,
    pub settings: FlowSettings,
}

impl Flows {
    /// `state` is the server being built (see `Arc::new_cyclic`): versions' packages and secrets
    /// are read through it when an action runs.
    /// `sync_runtime` runs dispatched sync flows; `async_runtime` the queued jobs, so a backlog of
    /// async jobs never takes the isolates a login waits for.
    pub fn new(
        state: Weak<ServerState>,
        store: SharedStore,
        sync_runtime: Runtime,
        async_runtime: Runtime,
        settings: FlowSettings,
    ) -> Flows {
        let resources: Arc<StateResources> = Arc::new(StateResources { state });
        let executor = RuntimeExecutor::new(sync_runtime, resources.clone(), Limits::default());
        let dispatcher = Dispatcher::new(
            store,
            Arc::new(executor),
            LogHub::default(),
            settings.dispatch.clone(),
        );
        let async_executor = RuntimeExecutor::new(async_runtime, resources, Limits::default());
        let async_dispatcher = dispatcher.with_executor(Arc::new(async_executor));
        Flows {
            dispatcher,
            async_dispatcher,
            settings,
        }
    }
}

/// Packages from the version's lockfile (cache, else registry) and its secrets, decrypted.
struct StateResources {
    state: Weak<ServerState>,
}

fn prepare_error(version: &ActionVersion, message: impl Into<String>) -> Error {
    Error::Prepare {
        action_id: version.action_id.clone(),
        message: message.into(),
    }
}

#[async_trait]
impl VersionResources for StateResources {
    async fn prepare(&self, tenant_id: &str, version: &ActionVersion) -> Result<Prepared, Error> {
        let state = self
            .state
            .upgrade()
            .ok_or_else(|| prepare_error(version, "the server is shutting down"))?;
        let files = if version.lockfile.is_null() || version.dependencies.is_empty() {
            crate::packages::module_files(&Default::default())
        } else {
            let lockfile = serde_json::from_value(version.lockfile.clone())
                .map_err(|_| prepare_error(version, "its stored lockfile is unreadable"))?;
            let tree = state.packages.layout_or_fetch(&lockfile).await.map_err(|e| {
                tracing::warn!(error = %format!("{e:#}"), action_id = %version.action_id, "packages");
                prepare_error(version, "its packages could not be installed")
            })?;
            crate::packages::module_files(&tree)
        };
        let mut secrets = Secrets::default();
        if !version.secret_names.is_empty() {
            let sealed = state
                .store
                .sealed_secrets(tenant_id, &version.action_id)
                .await?;
            for row in sealed {
                if !version.secret_names.contains(&row.name) {
                    continue;
                }
                let value = state
                    .sealer
                    .open(
                        tenant_id,
                        &version.action_id,
                        &row.name,
                        &Sealed {
                            ciphertext: row.ciphertext,
                            nonce: row.nonce,
                        },
                    )
                    .map_err(|_| {
                        prepare_error(version, format!("secret {} cannot be decrypted", row.name))
                    })?;
                secrets.0.insert(row.name, value);
            }
        }
        Ok(Prepared { files, secrets })
    }
}

/// The background tasks of a server: workers and the retention purge.
pub struct Background {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Background {
    /// Starts the async worker (unless `jobs_in_flight_max` is 0) and the retention purge.
    pub fn start(flows: &Flows) -> Background {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        if flows.settings.worker.jobs_in_flight_max > 0 {
            let worker = Worker::new(
                flows.async_dispatcher.clone(),
                flows.settings.worker.clone(),
            );
            tasks.push(tokio::spawn(worker.run(stopped.clone())));
        }
        tasks.push(tokio::spawn(retention::purge_loop(
            flows.dispatcher.store().clone(),
            flows.settings.retention,
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
