//! The life of one isolate thread: make the isolate (ahead of time for a spare), take the action on
//! the first job, then serve jobs — from its own channel while idle, straight from its lane's queue
//! while callers wait — until it is evicted, the pool goes, or an execution leaves the isolate unfit.

use super::board::Board;
use super::{Job, Shared, STREAK_MAX, STREAK_MS_MAX};
use crate::isolate::{ActionIsolate, RunInput};
use crate::ops::IsolateContext;
use crate::outcome::Outcome;
use crate::{BackToBack, RuntimeError};
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// How long an idle isolate thread polls for its next job before it sleeps.
const POLL: Duration = Duration::from_micros(80);
/// Idle isolate threads polling at once; the others sleep until their next job.
const POLLERS_MAX: usize = 1;

pub(super) fn spawn(
    board: Arc<Board>,
    spare_heap: Option<usize>,
) -> Result<Sender<Job>, RuntimeError> {
    let (tx, rx) = channel();
    std::thread::Builder::new()
        .name("af-isolate".into())
        .stack_size(8 * 1024 * 1024)
        .spawn(move || main(&rx, &board, spare_heap))?;
    Ok(tx)
}

/// The thread's place in the pool's count of live isolates, given up when the thread ends — unless
/// eviction already gave it up.
struct Live<'a> {
    board: &'a Board,
    left: bool,
}

impl Live<'_> {
    /// Gives the place up now: before the last answer, so a caller that reads the pool's counts after
    /// its outcome never sees this thread as alive.
    fn leave(&mut self) {
        if !self.left {
            self.left = true;
            self.board.lock().live -= 1;
        }
    }
}

impl Drop for Live<'_> {
    fn drop(&mut self) {
        self.leave();
    }
}

fn main(rx: &Receiver<Job>, board: &Board, spare_heap: Option<usize>) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    // V8 posts delayed tasks (GC, the heap-limit callback) through deno_core onto this runtime.
    let _context = rt.enter();
    // A spare makes its isolate now, before any job, so that the job that takes it skips this cost.
    let watchdog = &board.shared().watchdog;
    let mut isolate = spare_heap.and_then(|heap| ActionIsolate::blank(heap, watchdog).ok());
    if let Some(spare) = isolate.as_mut() {
        rt.block_on(spare.warm_up());
    }
    let Ok(mut job) = rx.recv() else { return };
    // Whoever sent the first job counted this thread as live.
    let mut live = Live { board, left: false };
    let (mut served, mut streak, mut heap_bytes) = (0u64, 0u32, 0usize);
    let mut streak_ms = 0.0;
    loop {
        if isolate.is_none() {
            match ActionIsolate::blank(job.limits.heap_bytes_max, watchdog) {
                Ok(created) => isolate = Some(created),
                Err(e) => {
                    live.leave();
                    let _ = job.reply.send(Err(e));
                    return;
                }
            }
        }
        let Some(iso) = isolate.as_mut() else { return };
        let (outcome, mut reusable) = execute(iso, &job, board.shared(), &rt);
        // Heap statistics walk every space: sample them on the first execution, every 64th after,
        // and after any taking a millisecond or more (where a few microseconds do not show), which
        // is how an execution that allocated a lot looks.
        served += 1;
        if reusable && (served == 1 || served % 64 == 0 || outcome.duration_ms >= 1.0) {
            heap_bytes = iso.heap_bytes();
            // An isolate left holding more than half its heap limit (an execution's garbage, or
            // state it keeps) is dropped rather than kept warm: its memory goes back to the system
            // now instead of when eviction reaches it.
            reusable = heap_bytes <= job.limits.heap_bytes_max / 2;
        }
        let Job {
            lane,
            place,
            handle,
            reply,
            ..
        } = job;
        let handle = match handle {
            Some(handle) if reusable => handle,
            _ => {
                live.leave();
                let _ = reply.send(Ok(outcome));
                return;
            }
        };
        // Decide what comes next before answering, so that a caller that answers with its next
        // execution finds this isolate idle (or busy with a queued job), never in between.
        let mut state = board.lock();
        if state.closed {
            drop(state);
            live.leave();
            let _ = reply.send(Ok(outcome));
            return;
        }
        streak += 1;
        streak_ms += outcome.duration_ms;
        let short = streak < STREAK_MAX && streak_ms < STREAK_MS_MAX;
        let next = if short || !state.others_queued(&lane) {
            state.next_of(&lane)
        } else {
            None
        };
        if let Some(mut next) = next {
            next.place = place;
            next.handle = Some(handle);
            drop(state);
            let _ = reply.send(Ok(outcome));
            job = next;
            continue;
        }
        (streak, streak_ms) = (0, 0.0);
        state.go_idle(lane, handle, heap_bytes);
        board.evict(&mut state);
        drop(state);
        let _ = reply.send(Ok(outcome));
        // Freed after the answer: the place may go on to start another lane's execution.
        drop(place);
        match next_job(rx, board) {
            Some(next) => job = next,
            None => {
                // Evicted (eviction counted it gone) or the pool was dropped.
                live.left = true;
                return;
            }
        }
    }
}

/// Runs `job` once to load its action (untimed), then up to `n` times back to back, all on one
/// isolate of a thread of its own: no queue, no hand-off between threads, no caller to wake. Stops
/// early when an execution leaves the isolate unfit (see [`BackToBack::executions`]).
pub(super) fn back_to_back(
    shared: Arc<Shared>,
    job: Job,
    n: usize,
) -> Result<BackToBack, RuntimeError> {
    let thread = std::thread::Builder::new()
        .name("af-back-to-back".into())
        .stack_size(8 * 1024 * 1024)
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let _context = rt.enter();
            let mut iso = ActionIsolate::blank(job.limits.heap_bytes_max, &shared.watchdog)?;
            let (mut last, mut reusable) = execute(&mut iso, &job, &shared, &rt);
            let (started, mut executions) = (Instant::now(), 0);
            while reusable && executions < n {
                (last, reusable) = execute(&mut iso, &job, &shared, &rt);
                executions += 1;
            }
            Ok(BackToBack {
                last,
                executions,
                took: started.elapsed(),
            })
        })?;
    thread.join().map_err(|_| RuntimeError::WorkerLost)?
}

/// The next job, polling briefly before sleeping: a caller running executions one after another
/// sends its next within microseconds, and a futex sleep and wake-up cost more than the execution.
/// The thread yields its core between polls (it never spins: on a busy machine the callers it waits
/// for need that core, and measured, spinning cost more throughput than it saved latency). One idle
/// thread of the pool polls at a time; the others sleep at once, so a pool of many isolates does not
/// burn the cores its callers need.
fn next_job(rx: &Receiver<Job>, board: &Board) -> Option<Job> {
    if board.pollers.fetch_add(1, Ordering::AcqRel) >= POLLERS_MAX {
        board.pollers.fetch_sub(1, Ordering::AcqRel);
        return rx.recv().ok();
    }
    let polled = Instant::now();
    let next = loop {
        match rx.try_recv() {
            Ok(job) => break Some(Ok(job)),
            Err(TryRecvError::Disconnected) => break None,
            Err(TryRecvError::Empty) if polled.elapsed() < POLL => std::thread::yield_now(),
            Err(TryRecvError::Empty) => break Some(Err(())),
        }
    };
    board.pollers.fetch_sub(1, Ordering::AcqRel);
    match next? {
        Ok(job) => Some(job),
        Err(()) => rx.recv().ok(),
    }
}

/// Runs one job in the isolate (loading the action first on a cold start). Returns the outcome and
/// whether the isolate may serve another execution.
fn execute(
    iso: &mut ActionIsolate,
    job: &Job,
    shared: &Shared,
    rt: &tokio::runtime::Runtime,
) -> (Outcome, bool) {
    let started = Instant::now();
    let deadline = started + job.limits.wall();
    let cold = !iso.assigned;
    if cold {
        let context = IsolateContext {
            files: job.files.clone(),
            host_modules: shared.host_modules.clone(),
            net: shared.net.clone(),
            cache: shared.cache.clone(),
            cache_scope: format!("{}\u{0}{}", job.lane.tenant, job.lane.action),
        };
        iso.assign(context, &job.code);
    }
    iso.arm(deadline, job.limits.cpu());
    let input = RunInput {
        trigger_id: job.trigger.id,
        handler: job.trigger.handler,
        methods: job.trigger.api_methods,
        event_json: job.event.as_json(),
        secrets_json: job.secrets_json.as_deref(),
        secret_values: &job.secret_values,
        api_bytes_max: job.limits.api_bytes_max,
    };
    iso.begin(&input, &job.limits, started, deadline);
    let (mut outcome, reusable) = if cold {
        match rt.block_on(iso.load(&job.code, deadline)) {
            Ok(()) if job.check_only => (iso.loaded(&input, started), false),
            Ok(()) => complete(rt, iso.execute(&input, started, deadline)),
            Err(failure) => (iso.failed_load(failure, &input, started), false),
        }
    } else {
        complete(rt, iso.execute(&input, started, deadline))
    };
    // The deadline may have passed between the last check and disarming: a termination may then be
    // pending in the isolate, so it must not serve another execution.
    let reusable = iso.disarm() && reusable;
    outcome.cold_start = cold;
    (outcome, reusable)
}

/// Runs `execution` to its end. Most executions end on their first poll (the handler settled within
/// one turn of the event loop): that poll is made here, without entering the runtime's scheduler,
/// which only the rest need (timers, I/O). Polling again under `block_on` registers the real waker,
/// so nothing the first poll started can be missed.
fn complete<F: Future>(rt: &tokio::runtime::Runtime, execution: F) -> F::Output {
    let mut execution = std::pin::pin!(execution);
    let mut cx = Context::from_waker(Waker::noop());
    match execution.as_mut().poll(&mut cx) {
        Poll::Ready(done) => done,
        Poll::Pending => rt.block_on(execution),
    }
}
