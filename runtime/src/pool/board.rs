//! What the pool and its isolate threads share: the lanes (idle isolates and queued executions per
//! key), the running places, the spare isolates, and the bounds of the warm set.
//!
//! A running place is a [`Place`] travelling with the execution that holds it. When an execution
//! ends, its place goes to the next one of the same lane (the isolate keeps it and runs that next),
//! or, dropped, to the next tenant's turn, or back to the pool. A place is never handed to a waiting
//! caller to pass on: the thread that frees it starts the next execution itself, so a queued caller
//! sleeps until its outcome and is woken once.
//!
//! Tenants share the places fairly: one holds at most `tenant_places` of them (an execution past
//! that waits even while places are free), and a freed place goes to the tenants with waiting work
//! in turn — round robin, which is deficit round robin with every execution costing one place —
//! each tenant's oldest waiting execution first. A tenant with `tenant_queued_max` executions
//! waiting is refused more ([`RuntimeError::TenantBusy`]), so a flood waits, or is turned away, for
//! the tenant that sends it only.

use super::thread;
use super::{IsolateKey, Job, Shared};
use crate::RuntimeError;
use std::collections::{HashMap, VecDeque};

/// Lanes are looked up several times per execution: a fast hasher, still seeded per process.
type LaneMap = HashMap<Arc<IsolateKey>, Lane, foldhash::fast::RandomState>;
type TenantMap = HashMap<String, Tenant, foldhash::fast::RandomState>;

/// Tenants with nothing running or waiting are forgotten once this many are known.
const TENANTS_KEPT: usize = 1024;
use std::sync::atomic::AtomicUsize;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, MutexGuard};

/// An idle isolate thread.
pub(super) struct Worker {
    pub tx: Sender<Job>,
    pub last_used: u64,
    pub heap_bytes: usize,
}

#[derive(Default)]
pub(super) struct Lane {
    pub idle: Vec<Worker>,
    /// Executions waiting for a place, each with its arrival number (oldest first).
    queued: VecDeque<(u64, Job)>,
}

impl Lane {
    fn is_empty(&self) -> bool {
        self.idle.is_empty() && self.queued.is_empty()
    }
}

/// One tenant's share of the places.
#[derive(Default)]
struct Tenant {
    /// Places it holds.
    running: usize,
    /// Executions it has waiting, in all its lanes.
    queued: usize,
    /// Its lanes with executions waiting.
    waiting: Vec<Arc<IsolateKey>>,
    /// Whether it is in `turns`.
    has_turn: bool,
}

#[derive(Default)]
pub(super) struct State {
    lanes: LaneMap,
    tenants: TenantMap,
    /// Tenants with executions waiting, in the order of their next turn at a freed place.
    turns: VecDeque<String>,
    /// Isolate threads that hold (or are loading) an action, idle or busy.
    pub live: usize,
    clock: u64,
    /// Places taken: executions started and not yet done.
    running: usize,
    /// Executions queued in every lane (some may belong to callers that went away).
    queued: usize,
    arrivals: u64,
    /// The pool was dropped: threads finishing a job end instead of going idle.
    pub closed: bool,
}

impl State {
    /// The lane's next execution whose caller still waits; abandoned ones on the way are dropped.
    pub fn next_of(&mut self, key: &IsolateKey) -> Option<Job> {
        while let Some(job) = self.pop_queued(key) {
            if job.wanted() {
                return Some(job);
            }
        }
        None
    }

    /// Takes the lane's front execution, wanted or not; a lane left empty is removed.
    fn pop_queued(&mut self, key: &IsolateKey) -> Option<Job> {
        let lane = self.lanes.get_mut(key)?;
        let (_, job) = lane.queued.pop_front()?;
        self.queued -= 1;
        let drained = lane.queued.is_empty();
        if lane.is_empty() {
            self.lanes.remove(key);
        }
        if let Some(tenant) = self.tenants.get_mut(key.tenant.as_str()) {
            tenant.queued -= 1;
            if drained {
                tenant.waiting.retain(|k| **k != *key);
            }
        }
        Some(job)
    }

    /// The tenant's entry, made on its first execution.
    fn tenant(&mut self, name: &str) -> &mut Tenant {
        // Looked up by `&str` first: the name is copied only for a tenant not seen yet.
        if !self.tenants.contains_key(name) {
            if self.tenants.len() >= TENANTS_KEPT {
                self.tenants.retain(|_, t| t.running > 0 || t.queued > 0);
            }
            self.tenants.insert(name.to_owned(), Tenant::default());
        }
        self.tenants
            .get_mut(name)
            .unwrap_or_else(|| unreachable!("inserted above"))
    }

    /// Queues `job` in its lane, and gives its tenant a turn if it had none.
    fn enqueue(&mut self, job: Job) {
        self.arrivals += 1;
        self.queued += 1;
        let key = job.lane.clone();
        let lane = self.lanes.entry(key.clone()).or_default();
        let first = lane.queued.is_empty();
        lane.queued.push_back((self.arrivals, job));
        let tenant = self.tenant(&key.tenant);
        tenant.queued += 1;
        if first {
            tenant.waiting.push(key.clone());
        }
        if !tenant.has_turn {
            tenant.has_turn = true;
            self.turns.push_back(key.tenant.clone());
        }
    }

    /// Drops the tenant's waiting executions whose callers went away.
    fn drop_abandoned(&mut self, name: &str) {
        let keys = self.tenants.get(name).map(|t| t.waiting.clone());
        for key in keys.into_iter().flatten() {
            let Some(lane) = self.lanes.get_mut(&key) else {
                continue;
            };
            let before = lane.queued.len();
            lane.queued.retain(|(_, job)| job.wanted());
            let gone = before - lane.queued.len();
            let drained = lane.queued.is_empty();
            if lane.is_empty() {
                self.lanes.remove(&key);
            }
            self.queued -= gone;
            if let Some(tenant) = self.tenants.get_mut(name) {
                tenant.queued -= gone;
                if drained {
                    tenant.waiting.retain(|k| *k != key);
                }
            }
        }
    }

    /// Whether executions of other lanes than `key` wait for a place.
    pub fn others_queued(&self, key: &IsolateKey) -> bool {
        let own = self.lanes.get(key).map_or(0, |l| l.queued.len());
        self.queued > own
    }

    /// Puts an isolate thread back among its lane's idle ones.
    pub fn go_idle(&mut self, key: Arc<IsolateKey>, tx: Sender<Job>, heap_bytes: usize) {
        self.clock += 1;
        let last_used = self.clock;
        self.lanes.entry(key).or_default().idle.push(Worker {
            tx,
            last_used,
            heap_bytes,
        });
    }

    pub fn idle_count(&self) -> usize {
        self.lanes.values().map(|l| l.idle.len()).sum()
    }

    /// The next execution to start on a freed place: that of the next tenant in turn below its
    /// share, its oldest waiting one whose caller still waits. The tenant goes to the back of the
    /// turns while it has more waiting.
    fn next_in_turn(&mut self, tenant_places: usize) -> Option<Job> {
        for _ in 0..self.turns.len() {
            let name = self.turns.pop_front()?;
            let Some(tenant) = self.tenants.get_mut(&name) else {
                continue;
            };
            if tenant.queued == 0 {
                tenant.has_turn = false;
                continue;
            }
            if tenant.running >= tenant_places {
                self.turns.push_back(name);
                continue;
            }
            let job = self.oldest_of(&name);
            match self.tenants.get_mut(&name) {
                Some(t) if t.queued > 0 => self.turns.push_back(name),
                Some(t) => t.has_turn = false,
                None => {}
            }
            if job.is_some() {
                return job;
            }
        }
        None
    }

    /// The tenant's oldest waiting execution whose caller still waits; abandoned ones are dropped.
    fn oldest_of(&mut self, name: &str) -> Option<Job> {
        loop {
            let tenant = self.tenants.get(name)?;
            let key = tenant
                .waiting
                .iter()
                .filter_map(|k| Some((self.lanes.get(k)?.queued.front()?.0, k)))
                .min_by_key(|(arrival, _)| *arrival)
                .map(|(_, k)| k.clone())?;
            let job = self.pop_queued(&key)?;
            if job.wanted() {
                return Some(job);
            }
        }
    }

    /// An idle isolate of the job's lane; `None` means a new one must be made, and it is counted live.
    fn idle_for(&mut self, key: &IsolateKey) -> Option<Sender<Job>> {
        let worker = self.lanes.get_mut(key).and_then(|l| l.idle.pop());
        if worker.is_none() {
            self.retire_other_secrets(key);
            self.live += 1;
        }
        worker.map(|w| w.tx)
    }

    /// A cold start of `key`: idle isolates of the same action version made with other secret
    /// values (or another heap limit) will not be used again while these are current, so they are
    /// dropped now rather than kept until least-recently-used eviction reaches them. Busy ones go
    /// idle afterwards and are evicted in turn; none of them can serve an execution of `key`.
    fn retire_other_secrets(&mut self, key: &IsolateKey) {
        let mut retired = 0;
        self.lanes.retain(|k, lane| {
            if k.same_version(key) && **k != *key {
                retired += lane.idle.len();
                lane.idle.clear();
            }
            !lane.is_empty()
        });
        // Each thread ends when it sees its sender dropped; count it gone now, as eviction does.
        self.live -= retired;
    }
}

pub(crate) struct Board {
    state: Mutex<State>,
    shared: Arc<Shared>,
    places: usize,
    /// Places one tenant may hold at once.
    tenant_places: usize,
    /// Executions one tenant may have waiting; more are refused.
    tenant_queued_max: usize,
    /// Idle isolate threads polling for their next job instead of sleeping.
    pub pollers: AtomicUsize,
    warm_isolates_max: usize,
    warm_bytes_max: usize,
    spare_heap: usize,
    /// Threads holding a blank isolate with the default heap limit, ready for a cold start.
    spares: Mutex<Vec<Sender<Job>>>,
}

/// One running place, held by the execution it lets run, counted in its tenant's share. Dropping
/// it frees it: to the next tenant in turn with work waiting, else back to the pool.
pub(crate) struct Place {
    board: Arc<Board>,
    /// The lane of the execution that took it (a place passes only within its lane).
    lane: Arc<IsolateKey>,
}

impl Drop for Place {
    fn drop(&mut self) {
        let next = {
            let mut state = self.board.lock();
            state.running -= 1;
            state.tenant(&self.lane.tenant).running -= 1;
            state.next_in_turn(self.board.tenant_places).map(|job| {
                state.running += 1;
                state.tenant(&job.lane.tenant).running += 1;
                let idle = state.idle_for(&job.lane);
                (job, idle)
            })
        };
        if let Some((mut job, idle)) = next {
            job.place = Some(Place {
                board: self.board.clone(),
                lane: job.lane.clone(),
            });
            self.board.start(job, idle);
        }
    }
}

pub(super) struct BoardConfig {
    pub places: usize,
    pub tenant_places: usize,
    pub tenant_queued_max: usize,
    pub warm_isolates_max: usize,
    pub warm_bytes_max: usize,
    pub spare_isolates: usize,
    pub spare_heap: usize,
}

impl Board {
    pub fn new(shared: Arc<Shared>, config: BoardConfig) -> Arc<Board> {
        let board = Arc::new(Board {
            state: Mutex::new(State::default()),
            shared,
            places: config.places.max(1),
            tenant_places: config.tenant_places.clamp(1, config.places.max(1)),
            tenant_queued_max: config.tenant_queued_max,
            pollers: AtomicUsize::new(0),
            warm_isolates_max: config.warm_isolates_max,
            warm_bytes_max: config.warm_bytes_max,
            spare_heap: config.spare_heap,
            spares: Mutex::new(Vec::new()),
        });
        for _ in 0..config.spare_isolates {
            board.add_spare();
        }
        board
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Starts `job` now if a place is free and its tenant is below its share, else queues it in its
    /// lane, where an isolate of the lane finishing its execution, or a place freed, starts it. A
    /// tenant with `tenant_queued_max` executions waiting is refused this one.
    pub fn submit(self: &Arc<Board>, mut job: Job) {
        let idle = {
            let mut state = self.lock();
            let free = state.running < self.places;
            let tenant = state.tenant(&job.lane.tenant);
            if !free || tenant.running >= self.tenant_places {
                if tenant.queued >= self.tenant_queued_max {
                    let name = job.lane.tenant.clone();
                    state.drop_abandoned(&name);
                    if state.tenant(&name).queued >= self.tenant_queued_max {
                        drop(state);
                        let refused = RuntimeError::TenantBusy(self.tenant_queued_max);
                        let _ = job.reply.send(Err(refused));
                        return;
                    }
                }
                state.enqueue(job);
                return;
            }
            tenant.running += 1;
            state.running += 1;
            state.idle_for(&job.lane)
        };
        job.place = Some(Place {
            board: self.clone(),
            lane: job.lane.clone(),
        });
        self.start(job, idle);
    }

    /// Sends a job holding a place to `idle`, or to a new isolate thread (already counted live).
    /// A failure is the job's outcome, and its place goes on to the next execution.
    fn start(self: &Arc<Board>, mut job: Job, idle: Option<Sender<Job>>) {
        let tx = match idle {
            Some(tx) => tx,
            None => match self.cold_worker(job.lane.heap_bytes_max) {
                Ok(tx) => tx,
                Err(e) => {
                    self.lock().live -= 1;
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

    /// Starts a thread that makes a blank isolate and waits. Best effort: without spares, cold starts
    /// make their isolate themselves.
    fn add_spare(self: &Arc<Board>) {
        let spawned = thread::spawn(self.clone(), Some(self.spare_heap));
        if let Ok(tx) = spawned {
            self.spares
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(tx);
        }
    }

    /// A thread for a cold start: a spare when its heap limit fits (then a new spare is started in
    /// its place), else a new thread.
    fn cold_worker(self: &Arc<Board>, heap_bytes_max: usize) -> Result<Sender<Job>, RuntimeError> {
        if heap_bytes_max == self.spare_heap {
            let spare = self.spares.lock().unwrap_or_else(|p| p.into_inner()).pop();
            if let Some(tx) = spare {
                self.add_spare();
                return Ok(tx);
            }
        }
        thread::spawn(self.clone(), None)
    }

    /// Drops least recently used idle isolates until the warm set is within its bounds.
    pub fn evict(&self, state: &mut State) {
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

    /// The pool was dropped: idle threads and spares end when their senders go, and queued jobs'
    /// callers learn the engine is gone.
    pub fn close(&self) {
        let lanes = {
            let mut state = self.lock();
            state.closed = true;
            state.queued = 0;
            state.turns.clear();
            // Their places still count: running executions give them back when they end.
            for tenant in state.tenants.values_mut() {
                (tenant.queued, tenant.has_turn) = (0, false);
                tenant.waiting.clear();
            }
            std::mem::take(&mut state.lanes)
        };
        drop(lanes);
        self.spares
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}
