//! The pool of isolates: one OS thread per live isolate (V8's rule), warm isolates kept per
//! (tenant, action, version, heap limit) and reused, a bound on executions running at once, and
//! least-recently-used eviction when the warm set passes its count or memory bound.

use crate::cache::CacheStore;
use crate::isolate::{ActionIsolate, RunInput};
use crate::modules::ModuleFiles;
use crate::net::Net;
use crate::ops::{HostModules, IsolateContext};
use crate::outcome::Outcome;
use crate::trigger::Trigger;
use crate::watchdog::Watchdog;
use crate::{Limits, PoolConfig, RuntimeError};
use std::collections::HashMap;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

/// Which executions may share an isolate: same tenant, action, version and heap limit, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct IsolateKey {
    pub tenant: String,
    pub action: String,
    pub version: String,
    pub heap_bytes_max: usize,
}

/// One execution sent to an isolate thread.
pub(crate) struct Job {
    pub code: Arc<str>,
    pub files: Arc<dyn ModuleFiles>,
    pub cache_scope: String,
    pub trigger: &'static Trigger,
    pub event_json: String,
    pub secret_values: Vec<String>,
    pub limits: Limits,
    /// Load the module and stop: the deploy-time check. The isolate is not kept.
    pub check_only: bool,
    /// The caller's place among the executions allowed at once, held until this job is done.
    pub permit: Option<OwnedSemaphorePermit>,
    pub reply: oneshot::Sender<Result<Done, RuntimeError>>,
}

pub(crate) struct Done {
    pub outcome: Outcome,
    pub reusable: bool,
    pub heap_bytes: usize,
}

pub(crate) struct Shared {
    pub net: Arc<Net>,
    pub host_modules: Arc<HostModules>,
    pub cache: Arc<CacheStore>,
    pub watchdog: Watchdog,
}

struct Worker {
    tx: Sender<Job>,
    last_used: u64,
    heap_bytes: usize,
}

#[derive(Default)]
struct State {
    idle: HashMap<IsolateKey, Vec<Worker>>,
    live: usize,
    clock: u64,
}

pub(crate) struct Pool {
    config: PoolConfig,
    permits: Arc<Semaphore>,
    state: Mutex<State>,
    shared: Arc<Shared>,
    /// Threads holding a blank isolate with the default heap limit, ready for a cold start.
    spares: Mutex<Vec<Sender<Job>>>,
}

/// A worker taken out of the pool for one execution; dropping it ends the worker's count as live.
struct CheckedOut<'a>(&'a Pool);

impl Drop for CheckedOut<'_> {
    fn drop(&mut self) {
        self.0.lock().live -= 1;
    }
}

/// Counts for monitoring and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Isolates alive, idle or busy.
    pub isolates: usize,
    /// Isolates waiting warm for their version's next execution.
    pub idle: usize,
}

impl Pool {
    pub fn new(config: PoolConfig, host_modules: Arc<HostModules>) -> Result<Pool, RuntimeError> {
        crate::snapshot::get().map_err(RuntimeError::Snapshot)?;
        let shared = Arc::new(Shared {
            net: Net::new(config.allow_private_network)?,
            host_modules,
            cache: Arc::new(CacheStore::new(config.cache.clone())),
            watchdog: Watchdog::start()?,
        });
        let pool = Pool {
            permits: Arc::new(Semaphore::new(config.concurrency_max.max(1))),
            config,
            state: Mutex::new(State::default()),
            shared,
            spares: Mutex::new(Vec::new()),
        };
        for _ in 0..pool.config.spare_isolates {
            pool.add_spare();
        }
        Ok(pool)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn spare_heap() -> usize {
        Limits::default().heap_bytes_max
    }

    /// Starts a thread that makes a blank isolate and waits. Best effort: without spares, cold starts
    /// make their isolate themselves.
    fn add_spare(&self) {
        if let Ok(tx) = spawn_worker(self.shared.clone(), Some(Self::spare_heap())) {
            self.spares
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(tx);
        }
    }

    /// A thread for a cold start: a spare when its heap limit fits (then a new spare is started in
    /// its place), else a new thread.
    fn cold_worker(&self, heap_bytes_max: usize) -> Result<Sender<Job>, RuntimeError> {
        if heap_bytes_max == Self::spare_heap() {
            let spare = self.spares.lock().unwrap_or_else(|p| p.into_inner()).pop();
            if let Some(tx) = spare {
                self.add_spare();
                return Ok(tx);
            }
        }
        spawn_worker(self.shared.clone(), None)
    }

    pub fn stats(&self) -> PoolStats {
        let s = self.lock();
        PoolStats {
            isolates: s.live,
            idle: s.idle.values().map(Vec::len).sum(),
        }
    }

    pub async fn run(
        &self,
        key: IsolateKey,
        job_parts: impl FnOnce(oneshot::Sender<Result<Done, RuntimeError>>) -> Job,
    ) -> Result<Outcome, RuntimeError> {
        // The permit travels with the job and is released by the isolate thread when the execution
        // really ends, even if this future is dropped (a caller that went away) while it runs.
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| RuntimeError::WorkerLost)?;
        let warm = self.lock().idle.get_mut(&key).and_then(Vec::pop);
        let worker = match warm {
            Some(w) => w,
            None => {
                let tx = self.cold_worker(key.heap_bytes_max)?;
                self.lock().live += 1;
                Worker {
                    tx,
                    last_used: 0,
                    heap_bytes: 0,
                }
            }
        };
        // Until the worker is back among the idle ones, it counts as live only while this guard lives:
        // an error, a discarded isolate or a dropped future all end its count.
        let checked_out = CheckedOut(self);
        let (reply, answer) = oneshot::channel();
        let mut job = job_parts(reply);
        job.permit = Some(permit);
        if worker.tx.send(job).is_err() {
            return Err(RuntimeError::WorkerLost);
        }
        let done = match answer.await {
            Ok(result) => result?,
            Err(_) => return Err(RuntimeError::WorkerLost),
        };
        if done.reusable {
            std::mem::forget(checked_out);
            let mut state = self.lock();
            state.clock += 1;
            let worker = Worker {
                last_used: state.clock,
                heap_bytes: done.heap_bytes,
                ..worker
            };
            state.idle.entry(key).or_default().push(worker);
            self.evict(&mut state);
        }
        Ok(done.outcome)
    }

    /// Drops least recently used idle isolates until the warm set is within its bounds. Dropping a
    /// worker's sender ends its thread, which drops the isolate on the thread that created it.
    fn evict(&self, state: &mut State) {
        loop {
            let heap: usize = state.idle.values().flatten().map(|w| w.heap_bytes).sum();
            if state.live <= self.config.warm_isolates_max && heap <= self.config.warm_bytes_max {
                return;
            }
            let oldest = state
                .idle
                .iter()
                .flat_map(|(k, ws)| {
                    ws.iter()
                        .enumerate()
                        .map(move |(i, w)| (w.last_used, k.clone(), i))
                })
                .min_by_key(|(used, _, _)| *used);
            let Some((_, key, index)) = oldest else {
                return;
            };
            if let Some(workers) = state.idle.get_mut(&key) {
                workers.remove(index);
                if workers.is_empty() {
                    state.idle.remove(&key);
                }
                state.live -= 1;
            }
        }
    }
}

fn spawn_worker(
    shared: Arc<Shared>,
    spare_heap: Option<usize>,
) -> Result<Sender<Job>, RuntimeError> {
    let (tx, rx) = channel();
    std::thread::Builder::new()
        .name("af-isolate".into())
        .stack_size(8 * 1024 * 1024)
        .spawn(move || worker_main(&rx, &shared, spare_heap))?;
    Ok(tx)
}

/// The next job, spinning briefly before sleeping: under load the next job usually arrives within
/// microseconds, and a futex sleep and wake-up cost more than the execution itself.
fn next_job(rx: &Receiver<Job>) -> Option<Job> {
    let spin_until = Instant::now() + std::time::Duration::from_micros(30);
    while Instant::now() < spin_until {
        match rx.try_recv() {
            Ok(job) => return Some(job),
            Err(std::sync::mpsc::TryRecvError::Disconnected) => return None,
            Err(std::sync::mpsc::TryRecvError::Empty) => std::hint::spin_loop(),
        }
    }
    rx.recv().ok()
}

/// The life of one isolate thread: create the isolate and load the action on the first job, then serve
/// jobs until the pool drops the sender or an execution leaves the isolate unfit for reuse.
fn worker_main(rx: &Receiver<Job>, shared: &Shared, spare_heap: Option<usize>) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    // V8 posts delayed tasks (GC, the heap-limit callback) through deno_core onto this runtime.
    let _context = rt.enter();
    // A spare makes its isolate now, before any job, so that the job that takes it skips this cost.
    let mut isolate = spare_heap.and_then(|heap| ActionIsolate::blank(heap).ok());
    if let Some(spare) = isolate.as_mut() {
        rt.block_on(spare.warm_up());
    }
    let (mut served, mut heap_bytes) = (0u64, 0usize);
    while let Some(job) = next_job(rx) {
        let started = Instant::now();
        let deadline = started + job.limits.wall();
        if isolate.is_none() {
            match ActionIsolate::blank(job.limits.heap_bytes_max) {
                Ok(created) => isolate = Some(created),
                Err(e) => {
                    let _ = job.reply.send(Err(e));
                    return;
                }
            }
        }
        let Some(iso) = isolate.as_mut() else { return };
        let cold = !iso.assigned;
        if cold {
            let context = IsolateContext {
                files: job.files.clone(),
                host_modules: shared.host_modules.clone(),
                net: shared.net.clone(),
                cache: shared.cache.clone(),
                cache_scope: job.cache_scope.clone(),
            };
            iso.assign(context, &job.code);
        }
        let armed = shared
            .watchdog
            .arm(deadline, iso.handle.clone(), iso.termination.clone());
        let input = RunInput {
            trigger_id: job.trigger.id,
            handler: job.trigger.handler,
            methods: job.trigger.api_methods,
            event_json: &job.event_json,
            secret_values: &job.secret_values,
        };
        iso.begin(&input, &job.limits, started, deadline);
        let (mut outcome, reusable) = if cold {
            match rt.block_on(iso.load(&job.code, deadline)) {
                Ok(()) if job.check_only => (iso.loaded(&input, started), false),
                Ok(()) => rt.block_on(iso.execute(&input, started, deadline)),
                Err(failure) => (iso.failed_load(failure, &input, started), false),
            }
        } else {
            rt.block_on(iso.execute(&input, started, deadline))
        };
        drop(armed);
        // The deadline may have passed between the last check and disarming: a termination may then be
        // pending in the isolate, so it must not serve another execution.
        let reusable = reusable && iso.termination.get() == 0;
        outcome.cold_start = cold;
        // Heap statistics walk every space: sample them on the first execution and every 64th after.
        served += 1;
        if reusable && (served == 1 || served % 64 == 0) {
            heap_bytes = iso.heap_bytes();
        }
        let _ = job.reply.send(Ok(Done {
            outcome,
            reusable,
            heap_bytes,
        }));
        if !reusable {
            return;
        }
    }
}
