//! The pool of isolates: one OS thread per live isolate (V8's rule), warm isolates kept per
//! (tenant, action, version, heap limit) and reused, a bound on isolates running at once, and
//! least-recently-used eviction when the warm set passes its count or memory bound.
//!
//! Each key has a *lane*: its idle isolates and the executions waiting for one. An execution takes a
//! running place (a permit) and an idle isolate of its lane, or a new one, when a place is free. When
//! every place is taken it waits in its lane's queue, where an isolate of the lane finishing its
//! execution takes it without going to sleep — under load an isolate thread serves a stream of
//! executions with no hand-off between threads in between — or where the caller itself starts it when
//! a place frees first. An isolate serves its lane at most [`STREAK_MAX`] times in a row while callers
//! of other lanes wait, so one busy action cannot keep the places from the others.

mod thread;

use crate::cache::CacheStore;
use crate::modules::ModuleFiles;
use crate::net::Net;
use crate::ops::HostModules;
use crate::outcome::Outcome;
use crate::trigger::Trigger;
use crate::watchdog::Watchdog;
use crate::{Limits, PoolConfig, RuntimeError};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::AtomicUsize;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

/// Executions an isolate runs back to back from its lane's queue while other lanes wait for a place.
pub(crate) const STREAK_MAX: u32 = 32;

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
    pub lane: Arc<IsolateKey>,
    pub code: Arc<str>,
    pub files: Arc<dyn ModuleFiles>,
    pub cache_scope: String,
    pub trigger: &'static Trigger,
    pub event_json: String,
    pub secret_values: Vec<String>,
    pub limits: Limits,
    /// Load the module and stop: the deploy-time check. The isolate is not kept.
    pub check_only: bool,
    /// The running place this execution holds, until it is done (even if its caller went away).
    pub permit: Option<OwnedSemaphorePermit>,
    /// The isolate thread's own address, travelling with the job so that the thread can put itself
    /// back among its lane's idle isolates. While idle, only the lane holds it: dropping it (eviction)
    /// ends the thread, which drops the isolate on the thread that created it.
    pub handle: Option<Sender<Job>>,
    pub reply: oneshot::Sender<Result<Outcome, RuntimeError>>,
}

impl Job {
    /// Whether the caller still waits for the outcome (a queued job whose caller went away is skipped).
    fn wanted(&self) -> bool {
        !self.reply.is_closed()
    }
}

pub(crate) struct Shared {
    pub net: Arc<Net>,
    pub host_modules: Arc<HostModules>,
    pub cache: Arc<CacheStore>,
    pub watchdog: Watchdog,
}

/// An idle isolate thread.
struct Worker {
    tx: Sender<Job>,
    last_used: u64,
    heap_bytes: usize,
}

#[derive(Default)]
struct Lane {
    idle: Vec<Worker>,
    queued: VecDeque<Job>,
    /// Callers of this lane waiting for a running place.
    waiting: usize,
}

impl Lane {
    fn next_wanted(&mut self) -> Option<Job> {
        while let Some(job) = self.queued.pop_front() {
            if job.wanted() {
                return Some(job);
            }
        }
        None
    }

    fn is_empty(&self) -> bool {
        self.idle.is_empty() && self.queued.is_empty() && self.waiting == 0
    }
}

#[derive(Default)]
struct State {
    lanes: HashMap<Arc<IsolateKey>, Lane>,
    /// Isolate threads that hold (or are loading) an action, idle or busy.
    live: usize,
    clock: u64,
    /// Callers of every lane waiting for a running place.
    waiting: usize,
    /// The pool was dropped: threads finishing a job end instead of going idle.
    closed: bool,
}

/// What the pool's threads share with it: the lanes, and the bounds of the warm set.
pub(crate) struct Board {
    state: Mutex<State>,
    /// Idle isolate threads polling for their next job instead of sleeping.
    pollers: AtomicUsize,
    warm_isolates_max: usize,
    warm_bytes_max: usize,
}

impl Board {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Drops least recently used idle isolates until the warm set is within its bounds.
    fn evict(&self, state: &mut State) {
        loop {
            let heap: usize = state
                .lanes
                .values()
                .flat_map(|l| &l.idle)
                .map(|w| w.heap_bytes)
                .sum();
            if state.live <= self.warm_isolates_max && heap <= self.warm_bytes_max {
                return;
            }
            let oldest = state
                .lanes
                .iter()
                .flat_map(|(k, l)| {
                    l.idle
                        .iter()
                        .enumerate()
                        .map(move |(i, w)| (w.last_used, k.clone(), i))
                })
                .min_by_key(|(used, _, _)| *used);
            let Some((_, key, index)) = oldest else {
                return;
            };
            if let Some(lane) = state.lanes.get_mut(&key) {
                lane.idle.remove(index);
                if lane.is_empty() {
                    state.lanes.remove(&key);
                }
            }
            // The thread ends when it sees its sender dropped, and its exit lowers `live`; count it
            // gone now so that this loop ends.
            state.live -= 1;
        }
    }
}

/// A caller waiting for a running place; dropping it (done, or the caller went away) ends the count.
struct Waiting<'a> {
    board: &'a Board,
    lane: Arc<IsolateKey>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut state = self.board.lock();
        state.waiting -= 1;
        if let Some(lane) = state.lanes.get_mut(&self.lane) {
            lane.waiting -= 1;
            if lane.is_empty() {
                state.lanes.remove(&self.lane);
            }
        }
    }
}

pub(crate) struct Pool {
    permits: Arc<Semaphore>,
    board: Arc<Board>,
    shared: Arc<Shared>,
    spare_isolates: usize,
    /// Threads holding a blank isolate with the default heap limit, ready for a cold start.
    spares: Mutex<Vec<Sender<Job>>>,
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
            board: Arc::new(Board {
                state: Mutex::new(State::default()),
                pollers: AtomicUsize::new(0),
                warm_isolates_max: config.warm_isolates_max,
                warm_bytes_max: config.warm_bytes_max,
            }),
            shared,
            spare_isolates: config.spare_isolates,
            spares: Mutex::new(Vec::new()),
        };
        for _ in 0..pool.spare_isolates {
            pool.add_spare();
        }
        Ok(pool)
    }

    fn spare_heap() -> usize {
        Limits::default().heap_bytes_max
    }

    /// Starts a thread that makes a blank isolate and waits. Best effort: without spares, cold starts
    /// make their isolate themselves.
    fn add_spare(&self) {
        let spawned = thread::spawn(
            self.shared.clone(),
            self.board.clone(),
            Some(Self::spare_heap()),
        );
        if let Ok(tx) = spawned {
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
        thread::spawn(self.shared.clone(), self.board.clone(), None)
    }

    pub fn stats(&self) -> PoolStats {
        let s = self.board.lock();
        PoolStats {
            isolates: s.live,
            idle: s.lanes.values().map(|l| l.idle.len()).sum(),
        }
    }

    /// Runs one execution: `job_parts` builds the job around the channel its outcome comes back on.
    pub async fn run(
        &self,
        job_parts: impl FnOnce(oneshot::Sender<Result<Outcome, RuntimeError>>) -> Job,
    ) -> Result<Outcome, RuntimeError> {
        let (reply, answer) = oneshot::channel();
        let job = job_parts(reply);
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => self.start(job, permit),
            Err(_) => self.wait_for_place(job).await?,
        }
        match answer.await {
            Ok(result) => result,
            Err(_) => Err(RuntimeError::WorkerLost),
        }
    }

    /// Every place is taken: queue the job in its lane, where an isolate of the lane finishing its
    /// execution may take it, and wait for a place to start the lane's next job ourselves.
    async fn wait_for_place(&self, job: Job) -> Result<(), RuntimeError> {
        let lane = job.lane.clone();
        {
            let mut state = self.board.lock();
            state.waiting += 1;
            let entry = state.lanes.entry(lane.clone()).or_default();
            entry.waiting += 1;
            entry.queued.push_back(job);
        }
        let waiting = Waiting {
            board: &self.board,
            lane: lane.clone(),
        };
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| RuntimeError::WorkerLost)?;
        drop(waiting);
        // The lane's oldest job, ours or one queued before it: every queued job has a caller waiting
        // for a place, so each is started by an isolate of the lane or by one of these callers.
        let next = self
            .board
            .lock()
            .lanes
            .get_mut(&lane)
            .and_then(Lane::next_wanted);
        if let Some(job) = next {
            self.start(job, permit);
        }
        Ok(())
    }

    /// Starts a job on an idle isolate of its lane, or on a new one. A failure is the job's outcome.
    fn start(&self, mut job: Job, permit: OwnedSemaphorePermit) {
        job.permit = Some(permit);
        let idle = self
            .board
            .lock()
            .lanes
            .get_mut(&job.lane)
            .and_then(|l| l.idle.pop());
        let tx = match idle {
            Some(worker) => worker.tx,
            None => match self.cold_worker(job.lane.heap_bytes_max) {
                Ok(tx) => {
                    self.board.lock().live += 1;
                    tx
                }
                Err(e) => {
                    let _ = job.reply.send(Err(e));
                    return;
                }
            },
        };
        job.handle = Some(tx.clone());
        if let Err(returned) = tx.send(job) {
            let _ = returned.0.reply.send(Err(RuntimeError::WorkerLost));
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let mut state = self.board.lock();
        state.closed = true;
        // Idle threads end when their senders go; queued jobs' callers learn the engine is gone.
        state.lanes.clear();
    }
}
