//! A group of sandbox processes behind one [`Engine`]: placement by tenant, a spare started ahead
//! of need, replacement of a process that ended, recycling of one past its memory bound, a
//! heartbeat that kills one that stopped answering, and the re-run of innocent executions.
//!
//! When a process ends under several executions, which one ended it is not known: each is run again,
//! once, alone in the group's *probe* process (one at a time). An execution that ends the probe too
//! (or was alone when its process ended) is `crashed`; the others complete as if nothing happened.
//! A version found ending a process is remembered for a minute: its other executions that shared a
//! dead process end `crashed` at once, without a turn on the probe, so that a tenant crashing many
//! executions at once does not hold the innocent ones behind its own.

use crate::process::{Answer, Launch, Process};
use crate::wire::Request;
use crate::SandboxError;
use actionflow_runtime::{
    run_chain, ActionError, Chain, Engine, ExecutionRequest, Outcome, RuntimeError, Status,
};
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// How long a version found ending a process is held responsible for the next dead process it
/// shared.
const CULPRIT_REMEMBERED: Duration = Duration::from_secs(60);

/// Settings of one group of sandboxes.
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// Processes serving executions (the spare and the probe come on top).
    pub processes: usize,
    /// Processes one tenant's executions may be placed on: one tenant's crash reaches at most the
    /// executions that shared these.
    pub processes_per_tenant: usize,
    /// A process whose resident memory passes it is replaced, and ends once its executions answered.
    pub memory_bytes_max: u64,
    /// A process silent this long while running executions (it answers pings from its event loop,
    /// not from an isolate) is killed.
    pub silent_max: Duration,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            processes: 2,
            processes_per_tenant: 2,
            memory_bytes_max: 2 * 1024 * 1024 * 1024,
            silent_max: Duration::from_secs(10),
        }
    }
}

struct Inner {
    name: &'static str,
    launch: Launch,
    config: GroupConfig,
    slots: Vec<Mutex<Arc<Process>>>,
    spare: Mutex<Option<Arc<Process>>>,
    probe: tokio::sync::Mutex<Option<Arc<Process>>>,
    /// The probe process for the heartbeat (the lock above is held while it runs).
    probe_watched: Mutex<Option<Arc<Process>>>,
    /// Processes replaced in their slot and still finishing their executions: watched until they end.
    retired: Mutex<Vec<Arc<Process>>>,
    /// Versions (tenant, version) found ending a process, and when.
    culprits: Mutex<HashMap<(String, String), Instant>>,
    hasher: foldhash::fast::FixedState,
}

/// Sandbox processes running executions. Cheap to clone.
#[derive(Clone)]
pub struct Sandboxes {
    inner: Arc<Inner>,
}

impl Sandboxes {
    /// Starts the group's processes and its spare, and the task that watches them. `name` says
    /// which group in logs ("sync flows", …). Must be called inside a tokio runtime.
    pub fn start(
        name: &'static str,
        launch: Launch,
        config: GroupConfig,
    ) -> Result<Sandboxes, SandboxError> {
        let slots = (0..config.processes.max(1))
            .map(|_| Process::start(&launch).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        let spare = Process::start(&launch)?;
        let inner = Arc::new(Inner {
            name,
            launch,
            config,
            slots,
            spare: Mutex::new(Some(spare)),
            probe: tokio::sync::Mutex::new(None),
            probe_watched: Mutex::default(),
            retired: Mutex::default(),
            culprits: Mutex::default(),
            hasher: foldhash::fast::FixedState::with_seed(0x5a4d),
        });
        tokio::spawn(watch(Arc::downgrade(&inner)));
        Ok(Sandboxes { inner })
    }

    async fn run(&self, request: ExecutionRequest, check: bool) -> Result<Outcome, RuntimeError> {
        let request = Arc::new(Request::from_execution(request)?);
        let answer = self
            .inner
            .hand_over(&request.tenant, |p| p.submit(Arc::clone(&request), check))
            .await?;
        match answer {
            Answer::Done(result) => result,
            Answer::ChainDone(_) => Err(unexpected()),
            Answer::Died { how, alone: true } => {
                self.inner.found_culprit(&request);
                Ok(crashed(&how))
            }
            Answer::Died { how, .. } if self.inner.is_culprit(&request) => Ok(crashed(&how)),
            Answer::Died { .. } => self.inner.run_alone(request, check).await,
        }
    }
}

#[async_trait::async_trait]
impl Engine for Sandboxes {
    async fn execute(&self, request: ExecutionRequest) -> Result<Outcome, RuntimeError> {
        self.run(request, false).await
    }

    async fn check(&self, request: ExecutionRequest) -> Result<Outcome, RuntimeError> {
        self.run(request, true).await
    }

    /// The whole chain in one hand-off to one sandbox. When that sandbox ends under it, which step
    /// ended it is not known: the chain runs again step by step, each alone in the probe.
    async fn execute_chain(&self, chain: Chain) -> Vec<Result<Outcome, RuntimeError>> {
        let steps: Result<Vec<Arc<Request>>, RuntimeError> = chain
            .steps
            .into_iter()
            .map(|step| Request::from_execution(step).map(Arc::new))
            .collect();
        let steps = match steps {
            Ok(steps) => steps,
            Err(error) => return vec![Err(error)],
        };
        let Some(tenant) = steps.first().map(|s| s.tenant.clone()) else {
            return Vec::new();
        };
        let started = Instant::now();
        let answer = self
            .inner
            .hand_over(&tenant, |p| p.submit_chain(steps.clone(), chain.budget_ms))
            .await;
        match answer {
            Ok(Answer::ChainDone(results)) => results,
            Ok(Answer::Done(_)) => vec![Err(unexpected())],
            Ok(Answer::Died { .. }) => {
                let steps: Result<Vec<_>, _> = steps.iter().map(|s| s.to_execution()).collect();
                let steps = match steps {
                    Ok(steps) => steps,
                    Err(error) => return vec![Err(error)],
                };
                // What is left of the flow's budget, not a fresh one.
                let spent = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                let chain = Chain {
                    steps,
                    budget_ms: chain.budget_ms.saturating_sub(spent),
                };
                let inner = &self.inner;
                run_chain(chain, |step| async move {
                    let step = Arc::new(Request::from_execution(step)?);
                    inner.run_alone(step, false).await
                })
                .await
            }
            Err(error) => vec![Err(error)],
        }
    }
}

fn unexpected() -> RuntimeError {
    RuntimeError::Sandbox("the sandbox answered another kind of request".into())
}

fn dropped() -> RuntimeError {
    RuntimeError::Sandbox("the sandbox dropped the execution".into())
}

fn not_started() -> RuntimeError {
    RuntimeError::Sandbox("no sandbox could be started".into())
}

impl Inner {
    /// Hands a request (`submit`) to one of the tenant's processes and waits for its answer; a
    /// process that ended meanwhile is replaced (before the request: it goes to another one).
    async fn hand_over(
        &self,
        tenant: &str,
        submit: impl Fn(&Process) -> Option<oneshot::Receiver<Answer>>,
    ) -> Result<Answer, RuntimeError> {
        for _ in 0..3 {
            let process = self.place(tenant);
            let Some(answer) = submit(&process) else {
                self.replace_if_ended(&process);
                continue;
            };
            let answer = answer.await.map_err(|_| dropped())?;
            if matches!(answer, Answer::Died { .. }) {
                self.replace_if_ended(&process);
            }
            return Ok(answer);
        }
        Err(not_started())
    }

    /// The least busy usable process among the tenant's.
    fn place(&self, tenant: &str) -> Arc<Process> {
        let n = self.slots.len();
        let first = usize::try_from(self.hasher.hash_one(tenant) % n as u64).unwrap_or(0);
        let per_tenant = self.config.processes_per_tenant.clamp(1, n);
        let mut best: Option<Arc<Process>> = None;
        for i in 0..per_tenant {
            let slot = &self.slots[(first + i) % n];
            let mut process = Arc::clone(&lock(slot));
            if !process.is_usable() {
                process = self.replace(slot, &process);
            }
            if best
                .as_ref()
                .is_none_or(|b| process.running() < b.running())
            {
                best = Some(process);
            }
        }
        best.unwrap_or_else(|| Arc::clone(&lock(&self.slots[first])))
    }

    fn replace_if_ended(&self, ended: &Arc<Process>) {
        for slot in &self.slots {
            let current = Arc::clone(&lock(slot));
            if Arc::ptr_eq(&current, ended) {
                self.replace(slot, &current);
            }
        }
    }

    /// Puts the spare (or a new process) in `slot` unless another caller already did, retires the
    /// old one, and starts the next spare. Returns the slot's process.
    fn replace(&self, slot: &Mutex<Arc<Process>>, old: &Arc<Process>) -> Arc<Process> {
        let mut current = lock(slot);
        if !Arc::ptr_eq(&current, old) {
            return Arc::clone(&current);
        }
        let spare = lock(&self.spare).take().filter(|p| p.is_usable());
        let next = match spare.map_or_else(|| Process::start(&self.launch), Ok) {
            Ok(next) => next,
            Err(e) => {
                tracing::error!(group = self.name, "could not start a sandbox: {e}");
                return Arc::clone(&current);
            }
        };
        old.retire();
        if old.is_alive() {
            lock(&self.retired).push(Arc::clone(old));
        }
        *current = Arc::clone(&next);
        drop(current);
        match Process::start(&self.launch) {
            Ok(spare) => *lock(&self.spare) = Some(spare),
            Err(e) => tracing::error!(group = self.name, "could not start a spare sandbox: {e}"),
        }
        next
    }

    fn found_culprit(&self, request: &Request) {
        let mut culprits = lock(&self.culprits);
        culprits.retain(|_, at| at.elapsed() < CULPRIT_REMEMBERED);
        culprits.insert(
            (request.tenant.clone(), request.version.clone()),
            Instant::now(),
        );
    }

    fn is_culprit(&self, request: &Request) -> bool {
        lock(&self.culprits)
            .get(&(request.tenant.clone(), request.version.clone()))
            .is_some_and(|at| at.elapsed() < CULPRIT_REMEMBERED)
    }

    /// Runs `request` alone in the probe process; an execution that ends it too is `crashed`.
    async fn run_alone(&self, request: Arc<Request>, check: bool) -> Result<Outcome, RuntimeError> {
        if self.is_culprit(&request) {
            return Ok(crashed(
                "the same version ended a sandbox within the last minute",
            ));
        }
        let mut probe = self.probe.lock().await;
        for _ in 0..2 {
            let process = match probe.as_ref().filter(|p| p.is_usable()) {
                Some(process) => Arc::clone(process),
                None => {
                    let process = Process::start(&self.launch)
                        .map_err(|e| RuntimeError::Sandbox(e.to_string()))?;
                    *probe = Some(Arc::clone(&process));
                    *lock(&self.probe_watched) = Some(Arc::clone(&process));
                    process
                }
            };
            let Some(answer) = process.submit(Arc::clone(&request), check) else {
                probe.take();
                continue;
            };
            return match answer.await {
                Ok(Answer::Done(result)) => result,
                Ok(Answer::ChainDone(_)) => Err(unexpected()),
                Ok(Answer::Died { how, .. }) => {
                    probe.take();
                    self.found_culprit(&request);
                    Ok(crashed(&how))
                }
                Err(_) => Err(dropped()),
            };
        }
        Err(not_started())
    }
}

/// Every second: pings the processes running executions (the probe's too), kills one silent past
/// `silent_max`, and replaces one past its memory bound. Ends with the group.
async fn watch(group: std::sync::Weak<Inner>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(inner) = group.upgrade() else { return };
        for slot in &inner.slots {
            let process = Arc::clone(&lock(slot));
            if !heartbeat(&inner, &process) {
                continue;
            }
            if resident_bytes(process.pid()).is_some_and(|b| b > inner.config.memory_bytes_max) {
                tracing::info!(
                    group = inner.name,
                    pid = process.pid(),
                    "a sandbox passed its memory bound; replacing it"
                );
                inner.replace(slot, &process);
            }
        }
        let probe = lock(&inner.probe_watched).clone();
        let retired = {
            let mut retired = lock(&inner.retired);
            retired.retain(|p| p.is_alive());
            retired.clone()
        };
        for process in probe.iter().filter(|p| p.is_alive()).chain(&retired) {
            heartbeat(&inner, process);
        }
    }
}

/// Pings a process running executions; kills it when it has been silent too long. `false` when
/// it was killed.
fn heartbeat(inner: &Inner, process: &Process) -> bool {
    if process.running() == 0 {
        return true;
    }
    if process.silent_for() > inner.config.silent_max {
        tracing::warn!(
            group = inner.name,
            pid = process.pid(),
            "a sandbox stopped answering; killing it"
        );
        process.kill();
        return false;
    }
    process.ping();
    true
}
/// Resident memory of a process, from `/proc/<pid>/statm`.
fn resident_bytes(pid: u32) -> Option<u64> {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn crashed(how: &str) -> Outcome {
    let mut outcome = Outcome::empty(Status::Crashed);
    outcome.error = Some(ActionError {
        name: "SandboxCrashed".to_owned(),
        message: format!(
            "the sandbox process running this action ended ({how}): the action made V8 abort \
             (a string or array past V8's size limits, for example) or its process ran out of memory"
        ),
        stack: None,
        line: None,
    });
    outcome
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
