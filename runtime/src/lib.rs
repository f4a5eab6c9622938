//! Runs tenants' actions in V8 isolates (deno_core): one action version, one trigger, one event in;
//! an [`Outcome`] out (the ordered `api` calls, console logs, duration, and how it ended).
//!
//! This crate owns the isolates and everything inside them: the bootstrap JavaScript, the ops an
//! action may call, limits, secret redaction, the warm pool. It knows nothing about tenants' storage,
//! HTTP, bindings or queues, and nothing of npm: packages arrive as [`ModuleFiles`] to load from.
//!
//! ```text
//! Runtime::execute(ExecutionRequest) ──► Pool ──► isolate thread (one JsRuntime per thread)
//!                                          │          └─ watchdog terminates it at the deadline
//!                                          └─ warm isolates per (tenant, action, version, heap)
//! ```

mod allocator;
mod cache;
mod chain;
pub mod effects;
mod errors;
mod event;
mod host;
mod isolate;
mod limits;
pub mod modules;
mod net;
mod node;
mod ops;
mod outcome;
mod pool;
mod redact;
pub mod snapshot;
pub mod trigger;
mod watchdog;

pub use chain::{run_chain, Chain, ChainDone};
pub use errors::RuntimeError;
pub use event::Event;
pub use host::{HostCallContext, HostError, HostFuture, HostModule};
pub use limits::{CacheLimits, Limits, PoolConfig};
pub use modules::{ModuleFiles, NoFiles, PackageMounts};
/// Whether `fetch` (and embedders' host modules) may reach an address without `allow_private_network`.
pub use net::is_public as is_public_address;
pub use outcome::{ActionError, ApiCall, LogLevel, LogLine, Outcome, Status};
pub use pool::{Done, PoolStats};
pub use redact::REDACTED;
pub use trigger::{Delivery, Trigger, TRIGGERS};

use pool::{IsolateKey, Job, Pool, Reply};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// Secret values by name. `Debug` never prints the values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets(pub BTreeMap<String, String>);

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// One execution of one action version.
#[derive(Clone)]
pub struct ExecutionRequest {
    pub tenant: String,
    /// The action's id: `api.cache` is shared by the executions of one action.
    pub action: String,
    /// Identifies the code. Warm isolates are reused only for the same tenant, action and version, so a
    /// version must never change its code (deployed versions are immutable; a draft uses a content hash).
    pub version: String,
    pub code: Arc<str>,
    /// Packages the action can `require`/`import`.
    pub files: Arc<dyn ModuleFiles>,
    pub trigger_id: String,
    /// The event as the trigger defines it; `secrets` is added to it, and the whole is frozen.
    pub event: Event,
    pub secrets: Secrets,
    pub limits: Limits,
}

impl fmt::Debug for ExecutionRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecutionRequest")
            .field("tenant", &self.tenant)
            .field("action", &self.action)
            .field("version", &self.version)
            .field("trigger_id", &self.trigger_id)
            .field("secrets", &self.secrets)
            .finish_non_exhaustive()
    }
}

/// What runs executions: the in-process [`Runtime`], or an embedder's engine that runs one in another
/// process (sandboxes) and answers the same way. Callers (dispatch, test runs, deploy checks) hold an
/// `Arc<dyn Engine>` and do not know which.
#[async_trait::async_trait]
pub trait Engine: Send + Sync {
    /// As [`Runtime::execute`].
    async fn execute(&self, request: ExecutionRequest) -> Result<Outcome, RuntimeError>;
    /// As [`Runtime::check`].
    async fn check(&self, request: ExecutionRequest) -> Result<Outcome, RuntimeError>;

    /// Runs the chain's steps in order, one result each, and stops after the first that does not
    /// complete, that denies access, or that finds the budget spent (then fewer results than steps
    /// come back). An engine in another process runs the whole chain in one hand-off.
    async fn execute_chain(&self, chain: Chain) -> Vec<Result<Outcome, RuntimeError>> {
        run_chain(chain, |request| self.execute(request)).await
    }
}

#[async_trait::async_trait]
impl Engine for Runtime {
    async fn execute(&self, request: ExecutionRequest) -> Result<Outcome, RuntimeError> {
        Runtime::execute(self, request).await
    }
    async fn check(&self, request: ExecutionRequest) -> Result<Outcome, RuntimeError> {
        Runtime::check(self, request).await
    }
}

/// What [`Runtime::back_to_back`] measured.
#[derive(Debug)]
pub struct BackToBack {
    /// The outcome of the last execution (the loading one when none followed).
    pub last: Outcome,
    /// Timed executions run: fewer than asked when one left the isolate unfit (it threw its isolate
    /// away: timed out, ran out of memory); `last` then says how.
    pub executions: usize,
    /// The time the timed executions took.
    pub took: std::time::Duration,
}

/// The engine: a pool of isolates shared by every tenant (never an isolate shared between them).
/// Cheap to clone; `execute` may be called from any tokio runtime.
#[derive(Clone)]
pub struct Runtime {
    pool: Arc<Pool>,
}

impl Runtime {
    pub fn new(config: PoolConfig) -> Result<Runtime, RuntimeError> {
        Runtime::with_host_modules(config, Vec::new())
    }

    /// A runtime whose actions can also load the given host modules (`actionflow:ses`, …).
    pub fn with_host_modules(
        config: PoolConfig,
        modules: Vec<Arc<dyn HostModule>>,
    ) -> Result<Runtime, RuntimeError> {
        let modules = modules.into_iter().map(|m| (m.name(), m)).collect();
        Ok(Runtime {
            pool: Arc::new(Pool::new(config, Arc::new(modules))?),
        })
    }

    /// Runs one execution. `Err` only for failures of the engine or a request it cannot accept
    /// (unknown trigger, event not an object); anything the action does is in the `Outcome`.
    pub async fn execute(&self, request: ExecutionRequest) -> Result<Outcome, RuntimeError> {
        self.submit(request, false).await
    }

    /// Loads the action in a fresh isolate without running a handler, as a deploy does: `Completed`
    /// when it loads, `InvalidCode` (with the error and its line) when it does not. Its top-level code
    /// runs, within the limits; `trigger_id` and `event` are not used beyond validation.
    pub async fn check(&self, request: ExecutionRequest) -> Result<Outcome, RuntimeError> {
        self.submit(request, true).await
    }

    /// Runs `request` once to load it, then up to `n` times back to back on one isolate of a thread
    /// of its own, outside the pool (its places, counts and memory bound): no queue, no hand-off
    /// between threads, no caller woken per execution — the engine's own cost per warm execution, the
    /// floor under what the pool can reach. For benchmarks; blocks the calling thread.
    pub fn back_to_back(
        &self,
        request: ExecutionRequest,
        n: usize,
    ) -> Result<BackToBack, RuntimeError> {
        match Runtime::job_parts(request, false)? {
            Ok(job_parts) => self.pool.back_to_back(job_parts, n),
            Err(refused) => Ok(BackToBack {
                last: refused,
                executions: 0,
                took: std::time::Duration::ZERO,
            }),
        }
    }

    /// Runs one execution (or, with `check_only`, loads it as [`Runtime::check`] does) and calls
    /// `done` with what [`Runtime::execute`] would return, on the isolate thread that ran it: for an
    /// embedder that sends the outcome on by itself, one thread fewer woken per execution. `done`
    /// must be quick and must not block: the isolate waits for it.
    pub fn execute_then(&self, request: ExecutionRequest, check_only: bool, done: pool::Done) {
        match Runtime::job_parts(request, check_only) {
            Ok(Ok(job_parts)) => self.pool.run_then(job_parts, done),
            Ok(Err(refused)) => done(Ok(refused)),
            Err(error) => done(Err(error)),
        }
    }

    async fn submit(
        &self,
        request: ExecutionRequest,
        check_only: bool,
    ) -> Result<Outcome, RuntimeError> {
        match Runtime::job_parts(request, check_only)? {
            Ok(job_parts) => self.pool.run(job_parts).await,
            Err(refused) => Ok(refused),
        }
    }

    /// The job for `request`, built around the channel its outcome will come back on; or the outcome
    /// of a request refused before any isolate (code over its size limit).
    fn job_parts(
        mut request: ExecutionRequest,
        check_only: bool,
    ) -> Result<Result<impl FnOnce(Reply) -> Job, Outcome>, RuntimeError> {
        if check_only {
            // A version of its own: a check's isolate is never shared with, nor kept for, another.
            request.version = format!("check-{}", uuid::Uuid::new_v4());
        }
        let trigger = trigger::find(&request.trigger_id).ok_or_else(|| {
            RuntimeError::UnknownTrigger(request.trigger_id.clone(), trigger::ids().join(", "))
        })?;
        if request.code.len() > request.limits.code_bytes_max {
            let message = format!(
                "the action's code is {} bytes, more than the limit of {} bytes",
                request.code.len(),
                request.limits.code_bytes_max
            );
            let mut outcome = Outcome::empty(Status::InvalidCode);
            outcome.error = Some(errors::action_error("RangeError", &message));
            return Ok(Err(outcome));
        }
        let secrets_json = (!request.secrets.0.is_empty())
            .then(|| serde_json::to_string(&request.secrets.0).unwrap_or_default());
        let secret_values = request.secrets.0.into_values().collect();
        let key = IsolateKey {
            tenant: request.tenant,
            action: request.action,
            version: request.version,
            heap_bytes_max: request.limits.heap_bytes_max,
            secrets: pool::secrets_fingerprint(secrets_json.as_deref()),
        };
        Ok(Ok(move |reply| Job {
            lane: Arc::new(key),
            code: request.code,
            files: request.files,
            trigger,
            event: request.event,
            secrets_json,
            secret_values,
            limits: request.limits,
            check_only,
            place: None,
            handle: None,
            reply,
        }))
    }

    pub fn stats(&self) -> PoolStats {
        self.pool.stats()
    }
}
