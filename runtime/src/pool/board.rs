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

use super::state::State;
use super::thread;
use super::{IsolateKey, Job, Shared};
use crate::RuntimeError;
use std::sync::atomic::AtomicUsize;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, MutexGuard};

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
        // Dropped outside the lock: queued jobs' reply channels close, idle threads end.
        let lanes = self.lock().close();
        drop(lanes);
        self.spares
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}
