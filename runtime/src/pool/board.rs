//! What the pool and its isolate threads share: the lanes (idle isolates and queued executions per
//! key), the running places, the spare isolates, and the bounds of the warm set.
//!
//! A running place is a [`Place`] travelling with the execution that holds it. When an execution
//! ends, its place goes to the next one of the same lane (the isolate keeps it and runs that next),
//! or, dropped, to the oldest execution queued in any lane, or back to the pool. A place is never
//! handed to a waiting caller to pass on: the thread that frees it starts the next execution itself,
//! so a queued caller sleeps until its outcome and is woken once.

use super::thread;
use super::{IsolateKey, Job, Shared};
use crate::RuntimeError;
use std::collections::{HashMap, VecDeque};

/// Lanes are looked up several times per execution: a fast hasher, still seeded per process.
type LaneMap = HashMap<Arc<IsolateKey>, Lane, foldhash::fast::RandomState>;
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

#[derive(Default)]
pub(super) struct State {
    lanes: LaneMap,
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
        if lane.is_empty() {
            self.lanes.remove(key);
        }
        Some(job)
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

    /// The oldest queued execution of any lane whose caller still waits.
    fn oldest_wanted(&mut self) -> Option<Job> {
        while self.queued > 0 {
            let key = self
                .lanes
                .iter()
                .filter_map(|(k, l)| l.queued.front().map(|(n, _)| (*n, k)))
                .min_by_key(|(n, _)| *n)
                .map(|(_, k)| k.clone())?;
            let job = self.pop_queued(&key)?;
            if job.wanted() {
                return Some(job);
            }
        }
        None
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
    /// Idle isolate threads polling for their next job instead of sleeping.
    pub pollers: AtomicUsize,
    warm_isolates_max: usize,
    warm_bytes_max: usize,
    spare_heap: usize,
    /// Threads holding a blank isolate with the default heap limit, ready for a cold start.
    spares: Mutex<Vec<Sender<Job>>>,
}

/// One running place, held by the execution it lets run. Dropping it frees it: to the oldest
/// execution waiting in any lane, else back to the pool.
pub(crate) struct Place {
    board: Arc<Board>,
}

impl Drop for Place {
    fn drop(&mut self) {
        let next = {
            let mut state = self.board.lock();
            match state.oldest_wanted() {
                Some(job) => {
                    let idle = state.idle_for(&job.lane);
                    Some((job, idle))
                }
                None => {
                    state.running -= 1;
                    None
                }
            }
        };
        if let Some((mut job, idle)) = next {
            job.place = Some(Place {
                board: self.board.clone(),
            });
            self.board.start(job, idle);
        }
    }
}

pub(super) struct BoardConfig {
    pub places: usize,
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

    /// Starts `job` now if a place is free, else queues it in its lane, where an isolate of the lane
    /// finishing its execution, or the next place freed, starts it.
    pub fn submit(self: &Arc<Board>, mut job: Job) {
        let idle = {
            let mut state = self.lock();
            if state.running >= self.places {
                state.arrivals += 1;
                let arrival = state.arrivals;
                state.queued += 1;
                let lane = state.lanes.entry(job.lane.clone()).or_default();
                lane.queued.push_back((arrival, job));
                return;
            }
            state.running += 1;
            state.idle_for(&job.lane)
        };
        job.place = Some(Place {
            board: self.clone(),
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
            std::mem::take(&mut state.lanes)
        };
        drop(lanes);
        self.spares
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}
