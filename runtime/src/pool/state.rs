//! The pool's bookkeeping under its one lock: each key's lane (idle isolates, queued executions),
//! each tenant's share (places held, executions waiting, its turn), and the counts the bounds use.
//! Plain data and functions over it; [`super::board`] takes the lock and starts the executions.

use super::{IsolateKey, Job};
use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::Sender;
use std::sync::Arc;

/// Lanes are looked up several times per execution: a fast hasher, still seeded per process.
pub(super) type LaneMap = HashMap<Arc<IsolateKey>, Lane, foldhash::fast::RandomState>;
type TenantMap = HashMap<String, Tenant, foldhash::fast::RandomState>;

/// Tenants with nothing running or waiting are forgotten once this many are known.
const TENANTS_KEPT: usize = 1024;

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
    pub fn is_empty(&self) -> bool {
        self.idle.is_empty() && self.queued.is_empty()
    }
}

/// One tenant's share of the places.
#[derive(Default)]
pub(super) struct Tenant {
    /// Places it holds.
    pub running: usize,
    /// Executions it has waiting, in all its lanes.
    pub queued: usize,
    /// Its lanes with executions waiting.
    pub waiting: Vec<Arc<IsolateKey>>,
    /// Whether it is in `turns`.
    pub has_turn: bool,
}

#[derive(Default)]
pub(super) struct State {
    pub lanes: LaneMap,
    tenants: TenantMap,
    /// Tenants with executions waiting, in the order of their next turn at a freed place.
    turns: VecDeque<String>,
    /// Isolate threads that hold (or are loading) an action, idle or busy.
    pub live: usize,
    clock: u64,
    /// Places taken: executions started and not yet done.
    pub running: usize,
    /// Executions queued in every lane (some may belong to callers that went away).
    pub queued: usize,
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
    pub fn tenant(&mut self, name: &str) -> &mut Tenant {
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
    pub fn enqueue(&mut self, job: Job) {
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
    pub fn drop_abandoned(&mut self, name: &str) {
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
    pub fn next_in_turn(&mut self, tenant_places: usize) -> Option<Job> {
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
    pub fn idle_for(&mut self, key: &IsolateKey) -> Option<Sender<Job>> {
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

    /// The pool was dropped: forgets every lane and waiting execution, and returns the lanes to
    /// drop outside the lock.
    pub fn close(&mut self) -> LaneMap {
        self.closed = true;
        self.queued = 0;
        self.turns.clear();
        // Their places still count: running executions give them back when they end.
        for tenant in self.tenants.values_mut() {
            (tenant.queued, tenant.has_turn) = (0, false);
            tenant.waiting.clear();
        }
        std::mem::take(&mut self.lanes)
    }
}
