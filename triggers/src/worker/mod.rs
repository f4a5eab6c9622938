//! The async worker: claims due executions under a lease, runs their pinned flow, and records the
//! attempt: `final`/`partial`, `failed` (another attempt cannot help), back to `pending` after an
//! exponential backoff with jitter, or `dead` once the attempts are spent. The lease is extended while
//! a flow runs; a worker that dies leaves its jobs to be re-leased when the lease expires.
//!
//! ```text
//! loop: claim_due(free slots) ─► spawn attempt ─► run flow (lease kept alive) ─► complete | fail_attempt
//!       └ idle: wait for a local enqueue, the poll interval, or shutdown
//! ```

pub mod backoff;
mod recorder;
mod versions;

use std::sync::Arc;
use std::time::Duration;

use actionflow_store::{AttemptEnd, Execution, FinishedAttempt, NextAttempt, Outcome};
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::catalog;
use crate::dispatch::Dispatcher;
use crate::flow::{self, FlowInput, FlowReport, FlowStatus, PlannedStep};
use crate::Error;
use backoff::Backoff;
use recorder::Recorder;
use versions::VersionCache;

/// Settings of one worker loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerSettings {
    /// Unique among the processes sharing the database (it owns the leases).
    pub worker_id: String,
    /// Executions this worker runs at once.
    pub jobs_in_flight_max: usize,
    /// How long a claimed job stays leased without an extension.
    pub lease: Duration,
    /// How often an idle worker looks for due jobs (enqueues in this process wake it at once).
    pub poll_interval: Duration,
    pub backoff: Backoff,
    /// How long shutdown waits for running attempts before abandoning them to lease expiry.
    pub shutdown_grace: Duration,
}

impl WorkerSettings {
    /// Defaults with a fresh unique worker id.
    pub fn new() -> Self {
        WorkerSettings {
            worker_id: format!("worker-{}", uuid::Uuid::now_v7()),
            jobs_in_flight_max: 64,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_millis(500),
            backoff: Backoff::default(),
            shutdown_grace: Duration::from_secs(25),
        }
    }
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings::new()
    }
}

/// Told of every attempt a worker recorded (the embedder's tenant log): called after the store
/// took the record, on the worker's task, so it must not wait.
pub trait AttemptObserver: Send + Sync {
    fn recorded(&self, job: &Execution, finished: &FinishedAttempt);
}

/// One worker loop over the store's queue.
#[derive(Clone)]
pub struct Worker {
    dispatcher: Dispatcher,
    settings: Arc<WorkerSettings>,
    versions: Arc<VersionCache>,
    observer: Option<Arc<dyn AttemptObserver>>,
}

impl Worker {
    pub fn new(dispatcher: Dispatcher, settings: WorkerSettings) -> Self {
        Worker {
            dispatcher,
            settings: Arc::new(settings),
            versions: Arc::new(VersionCache::default()),
            observer: None,
        }
    }

    /// Tells `observer` of every attempt this worker records.
    pub fn with_observer(mut self, observer: Arc<dyn AttemptObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Runs until `shutdown` becomes `true` (or its sender is dropped), then stops claiming and
    /// waits up to the grace period for the attempts in flight.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut tasks = JoinSet::new();
        let store = self.dispatcher.store.clone();
        let (recorder, recording) = Recorder::start(store, self.settings.worker_id.clone());
        let in_flight_max = self.settings.jobs_in_flight_max.max(1);
        // While the queue is busy, claim in batches of at least a quarter of the slots: one claim
        // transaction per few jobs instead of one per job.
        let claim_min = (in_flight_max / 4).max(1);
        let mut busy = false;
        tracing::info!(worker_id = %self.settings.worker_id, "worker started");
        // A dropped sender also means stop: `changed()` would then return at once, forever.
        while !*shutdown.borrow() && shutdown.has_changed().is_ok() {
            while let Some(done) = tasks.try_join_next() {
                log_panic(done);
            }
            let free = in_flight_max.saturating_sub(tasks.len());
            if free == 0 || (busy && free < claim_min && !tasks.is_empty()) {
                tokio::select! {
                    Some(done) = tasks.join_next() => log_panic(done),
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            let limit = u32::try_from(free).unwrap_or(u32::MAX);
            let claimed = match self.claim(limit).await {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::warn!(%error, "claiming due executions failed");
                    self.idle(&mut shutdown).await;
                    continue;
                }
            };
            let full = claimed.len() == free;
            busy = full;
            for job in claimed {
                let (worker, recorder) = (self.clone(), recorder.clone());
                tasks.spawn(async move { worker.attempt(&recorder, job).await });
            }
            if !full {
                self.idle(&mut shutdown).await;
            }
        }
        self.drain(tasks).await;
        drop(recorder);
        if let Err(error) = recording.await {
            tracing::error!(%error, "the attempt recorder failed");
        }
        tracing::info!(worker_id = %self.settings.worker_id, "worker stopped");
    }

    async fn claim(&self, limit: u32) -> Result<Vec<Execution>, Error> {
        let store = &self.dispatcher.store;
        let lease = self.settings.lease;
        Ok(store
            .claim_due(&self.settings.worker_id, limit, lease)
            .await?)
    }

    async fn idle(&self, shutdown: &mut watch::Receiver<bool>) {
        tokio::select! {
            _ = self.dispatcher.wake.notified() => {}
            _ = tokio::time::sleep(self.settings.poll_interval) => {}
            _ = shutdown.changed() => {}
        }
    }

    async fn drain(&self, mut tasks: JoinSet<()>) {
        let running = tasks.len();
        let wait = async {
            while let Some(done) = tasks.join_next().await {
                log_panic(done);
            }
        };
        if tokio::time::timeout(self.settings.shutdown_grace, wait)
            .await
            .is_err()
        {
            tracing::warn!(
                running,
                "shutdown grace ran out: unfinished attempts will be re-leased"
            );
        }
        tracing::info!(worker_id = %self.settings.worker_id, "worker stopped");
    }

    /// Runs one leased attempt and records how it ended.
    async fn attempt(&self, recorder: &Recorder, job: Execution) {
        let finished = match self.run_flow(&job).await {
            Ok(Some(report)) => self.end_of(&job, &report),
            Ok(None) => {
                // The lease could not be kept: another worker may own the job now. Stop here rather
                // than run it concurrently with that worker; the job is re-run from its lease.
                tracing::warn!(execution_id = %job.id, "lease lost: attempt abandoned");
                return;
            }
            Err(error) => self.engine_failure(&job, &error),
        };
        match recorder.record(finished).await {
            Ok((true, finished)) => {
                if let Some(observer) = &self.observer {
                    observer.recorded(&job, &finished);
                }
            }
            // Another worker took the job over after our lease expired; its record stands.
            Ok((false, _)) => {
                tracing::warn!(execution_id = %job.id, "lease lost: attempt not recorded")
            }
            Err(error) => tracing::warn!(%error, execution_id = %job.id, "attempt not recorded"),
        }
    }

    /// The flow's report, or `None` when the lease was lost while it ran (the flow is then cancelled).
    async fn run_flow(&self, job: &Execution) -> Result<Option<FlowReport>, Error> {
        let plan: Vec<PlannedStep> =
            serde_json::from_value(job.plan.clone()).map_err(|error| Error::InvalidPlan {
                execution_id: job.id.clone(),
                reason: error.to_string(),
            })?;
        let spec = catalog::find(&job.trigger_id)?;
        let store = self.dispatcher.store.as_ref();
        let steps = self.versions.steps(store, &job.tenant_id, plan).await?;
        let mut event = job.event.clone();
        if let Some(fields) = event.as_object_mut() {
            fields.insert(
                "execution".to_owned(),
                json!({"id": job.id, "attempt": job.attempts}),
            );
        }
        let input = FlowInput {
            tenant_id: job.tenant_id.clone(),
            trigger: spec.trigger,
            event,
            budget_ms: self.dispatcher.settings.flow_ms_max,
            execution_id: Some(job.id.clone()),
        };
        // Aborted on drop, so a panicking or cancelled attempt does not keep its lease alive forever.
        let keep = self.clone().keep_lease(job.id.clone(), job.attempts);
        let mut keeper = AbortOnDrop(tokio::spawn(keep));
        let executor = self.dispatcher.executor.as_ref();
        tokio::select! {
            report = flow::run(executor, &self.dispatcher.logs, input, &steps) => Ok(Some(report)),
            _ = &mut keeper.0 => Ok(None),
        }
    }

    /// Extends the lease every third of its length until aborted, and returns when it is lost: refused
    /// by the store (another worker owns the job), or not extended in time (the store unreachable),
    /// a third of a lease before another worker could claim the job.
    async fn keep_lease(self, execution_id: String, attempt: i64) {
        let lease = self.settings.lease;
        let mut held_until = std::time::Instant::now() + lease;
        loop {
            tokio::time::sleep(lease / 3).await;
            let store = &self.dispatcher.store;
            let asked = std::time::Instant::now();
            match store
                .extend_lease(&execution_id, &self.settings.worker_id, attempt, lease)
                .await
            {
                Ok(_) => held_until = asked + lease,
                Err(error) => {
                    tracing::warn!(%error, %execution_id, "extending the lease failed");
                    if matches!(error, actionflow_store::Error::Conflict { .. }) {
                        return;
                    }
                }
            }
            if std::time::Instant::now() + lease / 3 >= held_until {
                return;
            }
        }
    }

    /// How the attempt ended, as the store records it.
    fn end_of(&self, job: &Execution, report: &FlowReport) -> FinishedAttempt {
        let results: Vec<Value> = report
            .results
            .iter()
            .filter_map(|r| serde_json::to_value(r).ok())
            .collect();
        let end = match report.status {
            FlowStatus::Completed | FlowStatus::Denied => AttemptEnd::Complete(Outcome::Final),
            FlowStatus::Partial => AttemptEnd::Complete(Outcome::Partial),
            FlowStatus::Failed if !report.retryable => AttemptEnd::Complete(Outcome::Failed),
            FlowStatus::Failed => AttemptEnd::Fail {
                error: report
                    .error
                    .as_ref()
                    .map_or_else(|| "the flow failed".to_owned(), |e| e.message.clone()),
                next: self.next_attempt(job),
            },
        };
        FinishedAttempt {
            execution_id: job.id.clone(),
            attempt: job.attempts,
            end,
            results,
        }
    }

    /// An attempt that could not run its flow (unreadable plan, store failure loading versions).
    fn engine_failure(&self, job: &Execution, error: &Error) -> FinishedAttempt {
        tracing::warn!(%error, execution_id = %job.id, "attempt could not run");
        let next = match error {
            Error::InvalidPlan { .. } | Error::UnknownTrigger { .. } => NextAttempt::Dead,
            _ => self.next_attempt(job),
        };
        let error = if error.is_bad_input() || matches!(error, Error::InvalidPlan { .. }) {
            error.to_string()
        } else {
            "the engine failed to start the attempt".to_owned()
        };
        FinishedAttempt {
            execution_id: job.id.clone(),
            attempt: job.attempts,
            end: AttemptEnd::Fail { error, next },
            results: Vec::new(),
        }
    }

    fn next_attempt(&self, job: &Execution) -> NextAttempt {
        if job.attempts >= job.max_attempts {
            return NextAttempt::Dead;
        }
        let budget = i64::from(self.dispatcher.settings().attempts_max);
        let attempt = backoff::attempt_in_budget(job.attempts, job.max_attempts, budget);
        NextAttempt::After(self.settings.backoff.delay(attempt))
    }
}

fn log_panic(done: Result<(), tokio::task::JoinError>) {
    if let Err(error) = done {
        if error.is_panic() {
            tracing::error!(%error, "an attempt panicked; its lease will expire and it will be re-run");
        }
    }
}

/// Aborts the task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
