//! The pool of isolates: one OS thread per live isolate (V8's rule), warm isolates kept per
//! (tenant, action, version, heap limit) and reused, a bound on isolates running at once, and
//! least-recently-used eviction when the warm set passes its count or memory bound.
//!
//! Each key has a *lane*: its idle isolates and the executions waiting for one. An execution takes a
//! running place and an idle isolate of its lane, or a new one, when a place is free. When every
//! place is taken it waits in its lane's queue, where an isolate of the lane finishing its execution
//! takes it without going to sleep — under load an isolate thread serves a stream of executions with
//! no hand-off between threads in between — or where the next place freed starts it (see
//! [`board`]). An isolate serves its lane at most [`STREAK_MAX`] times in a row, and for at most
//! [`STREAK_MS_MAX`], while executions of other lanes wait, so one busy action cannot keep the
//! places from the others; a place it gives up goes to the tenants with work waiting in turn, each
//! within its share of the places (see [`board`]).

mod board;
mod reply;
mod state;
mod thread;

use crate::cache::CacheStore;
use crate::modules::ModuleFiles;
use crate::net::Net;
use crate::ops::HostModules;
use crate::outcome::Outcome;
use crate::trigger::Trigger;
use crate::watchdog::Watchdog;
use crate::{Limits, PoolConfig, RuntimeError};
use board::{Board, BoardConfig, Place};
use std::sync::mpsc::Sender;
use std::sync::Arc;

/// Executions an isolate runs back to back from its lane's queue while other lanes wait for a place.
pub(crate) const STREAK_MAX: u32 = 32;
/// Milliseconds of executions an isolate runs back to back from its lane's queue while other lanes
/// wait: a streak saves hand-offs between short executions; slow ones gain nothing from it, and
/// the others would wait 32 of them.
pub(crate) const STREAK_MS_MAX: f64 = 2.0;

/// Which executions may share an isolate: same tenant, action, version, heap limit and secret values,
/// nothing else. An isolate only ever sees one set of secret values, so module state cannot keep a
/// rotated (or deleted) secret into a later execution that redaction, knowing only the current values,
/// would not hide.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct IsolateKey {
    pub tenant: String,
    pub action: String,
    pub version: String,
    pub heap_bytes_max: usize,
    /// A fingerprint of the secrets (names and values): see [`secrets_fingerprint`].
    pub secrets: u64,
}

impl IsolateKey {
    /// Whether `other` is the same action version with other secret values (or another heap limit).
    fn same_version(&self, other: &IsolateKey) -> bool {
        self.tenant == other.tenant && self.action == other.action && self.version == other.version
    }
}

/// A 64-bit fingerprint of the secrets' JSON, with a hasher seeded at random once per process: an
/// action cannot choose values that collide with another set, and a chance collision (2^-64) is
/// all that could let two sets share an isolate.
pub(crate) fn secrets_fingerprint(secrets_json: Option<&str>) -> u64 {
    use std::hash::BuildHasher;
    static SEED: std::sync::OnceLock<foldhash::quality::RandomState> = std::sync::OnceLock::new();
    secrets_json.map_or(0, |json| {
        SEED.get_or_init(foldhash::quality::RandomState::default)
            .hash_one(json)
    })
}

pub use reply::Done;
pub(crate) use reply::Reply;

/// One execution sent to an isolate thread.
pub(crate) struct Job {
    pub lane: Arc<IsolateKey>,
    pub code: Arc<str>,
    pub files: Arc<dyn ModuleFiles>,
    pub trigger: &'static Trigger,
    pub event: crate::Event,
    /// The secrets as a JSON object, `None` when there are none.
    pub secrets_json: Option<String>,
    pub secret_values: Vec<String>,
    pub limits: Limits,
    /// Load the module and stop: the deploy-time check. The isolate is not kept.
    pub check_only: bool,
    /// The running place this execution holds, until it is done (even if its caller went away).
    pub place: Option<Place>,
    /// The isolate thread's own address, travelling with the job so that the thread can put itself
    /// back among its lane's idle isolates. While idle, only the lane holds it: dropping it (eviction)
    /// ends the thread, which drops the isolate on the thread that created it.
    pub handle: Option<Sender<Job>>,
    pub reply: Reply,
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

pub(crate) struct Pool {
    board: Arc<Board>,
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
        let board = Board::new(
            shared,
            BoardConfig {
                places: config.concurrency_max,
                tenant_places: config.tenant_places(),
                tenant_queued_max: config.tenant_queued_max,
                warm_isolates_max: config.warm_isolates_max,
                warm_bytes_max: config.warm_bytes_max,
                spare_isolates: config.spare_isolates,
                spare_heap: Limits::default().heap_bytes_max,
            },
        );
        Ok(Pool { board })
    }

    pub fn stats(&self) -> PoolStats {
        let s = self.board.lock();
        PoolStats {
            isolates: s.live,
            idle: s.idle_count(),
        }
    }

    /// Runs one execution: `job_parts` builds the job around the channel its outcome comes back on.
    /// The caller only waits for that outcome: whoever frees a place starts the job.
    pub async fn run(&self, job_parts: impl FnOnce(Reply) -> Job) -> Result<Outcome, RuntimeError> {
        let (reply, answer) = Reply::channel();
        self.board.submit(job_parts(reply));
        match answer.await {
            Ok(result) => result,
            Err(_) => Err(RuntimeError::WorkerLost),
        }
    }

    /// Runs one execution and calls `done` with its outcome, on the isolate thread that ran it (or
    /// on this thread, when the job is refused at once).
    pub fn run_then(&self, job_parts: impl FnOnce(Reply) -> Job, done: Done) {
        self.board.submit(job_parts(Reply::call(done)));
    }

    /// Runs the job `n` times back to back on an isolate outside the pool (see
    /// [`thread::back_to_back`]); blocks the calling thread until they are done.
    pub fn back_to_back(
        &self,
        job_parts: impl FnOnce(Reply) -> Job,
        n: usize,
    ) -> Result<crate::BackToBack, RuntimeError> {
        let (reply, _unused) = Reply::channel();
        thread::back_to_back(self.board.shared().clone(), job_parts(reply), n)
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.board.close();
    }
}
