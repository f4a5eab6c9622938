//! One thread that stops isolates at their deadline or when they pass their CPU time. JavaScript
//! stuck in `while(true){}` never yields to its own thread's timers, so another thread must call
//! `terminate_execution` on it.
//!
//! CPU time is read from the isolate thread's own CPU clock, which advances only while that thread
//! runs: an execution waiting on I/O or timers spends wall time only. The watchdog reads it while an
//! execution is armed, waking every [`CPU_TICK`] at most: nothing is read on the isolate's side, so
//! arming and disarming stay an atomic store and a swap.

use deno_core::v8::IsolateHandle;
use nix::sys::time::TimeValLike;
use nix::time::ClockId;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

/// Why an isolate was terminated; shared between the isolate's thread, the watchdog and the heap callback.
#[derive(Default)]
pub(crate) struct Termination(AtomicU8);

pub(crate) const TIMED_OUT: u8 = 1;
pub(crate) const OUT_OF_MEMORY: u8 = 2;
pub(crate) const CPU_LIMIT: u8 = 3;

/// How often the watchdog looks at the CPU time of armed executions. An execution is first seen at
/// a look, so up to this much of its CPU time may go uncounted: it is stopped between its limit and
/// its limit plus this (under 1% of the default 5 s).
pub(crate) const CPU_TICK: Duration = Duration::from_millis(20);

impl Termination {
    /// Records the first reason only: an OOM that the timeout then also hits stays an OOM.
    pub fn set(&self, reason: u8) {
        let _ = self
            .0
            .compare_exchange(0, reason, Ordering::SeqCst, Ordering::SeqCst);
    }
    pub fn get(&self) -> u8 {
        self.0.load(Ordering::SeqCst)
    }
}

/// What the watchdog watches of one isolate: its deadline while an execution runs, in nanoseconds
/// after the watchdog's epoch (0: no execution running), the CPU time that execution may use, and how
/// to stop it.
struct Watched {
    deadline: AtomicU64,
    /// Nanoseconds of CPU time; 0: unbounded.
    cpu_ns_max: AtomicU64,
    /// The CPU clock of the isolate's thread; `None` where it cannot be read.
    cpu_clock: Option<ClockId>,
    handle: IsolateHandle,
    termination: Arc<Termination>,
}

/// The watchdog's own view of one isolate: which execution it last saw (its deadline, unique per
/// execution of one isolate) and the thread's CPU time when it first saw it.
struct Entry {
    watched: Weak<Watched>,
    seen: u64,
    cpu_at_seen: u64,
}

/// The CPU clock of the calling thread, readable from other threads. Linux encodes a thread's CPU
/// clock in the clock id itself (`include/linux/posix-timers.h`: the inverted thread id shifted
/// left by 3, bit 2 for "one thread", 2 for the scheduler's clock) — what glibc's
/// `pthread_getcpuclockid` returns; reading it is `clock_gettime` through `nix`.
fn thread_cpu_clock() -> Option<ClockId> {
    let tid = nix::unistd::gettid().as_raw();
    let clock = ClockId::from_raw((!tid << 3) | 6);
    clock.now().ok().map(|_| clock)
}

fn cpu_nanos(clock: ClockId) -> Option<u64> {
    let now = clock.now().ok()?;
    u64::try_from(now.num_nanoseconds()).ok()
}

#[derive(Default)]
struct State {
    /// Every isolate's entry; dropped isolates leave dead ones, pruned on the next wake.
    watched: Vec<Entry>,
    /// When the watchdog thread wakes next on its own (`None`: it waits for a notification).
    sleeping_until: Option<Instant>,
    shutdown: bool,
}

struct Shared {
    epoch: Instant,
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `at` as a deadline value: never 0, which means none.
    fn nanos(&self, at: Instant) -> u64 {
        let nanos = at.saturating_duration_since(self.epoch).as_nanos();
        u64::try_from(nanos).unwrap_or(u64::MAX).max(1)
    }
}

pub(crate) struct Watchdog {
    shared: Arc<Shared>,
}

/// One isolate's place with the watchdog, made once when the isolate is. Arming and disarming it per
/// execution is an atomic store (and, to arm, an uncontended lock to learn whether the watchdog must
/// wake sooner); nothing is allocated or sorted per execution.
pub(crate) struct Slot {
    watched: Arc<Watched>,
    shared: Arc<Shared>,
}

impl Slot {
    /// The running execution must end by `deadline` and use at most `cpu` of CPU time (zero: no
    /// bound), or the watchdog stops the isolate.
    pub fn arm(&self, deadline: Instant, cpu: Duration) {
        let cpu = u64::try_from(cpu.as_nanos()).unwrap_or(u64::MAX);
        self.watched.cpu_ns_max.store(cpu, Ordering::SeqCst);
        self.watched
            .deadline
            .store(self.shared.nanos(deadline), Ordering::SeqCst);
        // Wake the watchdog only when this deadline comes before the one it sleeps until: otherwise
        // it sees this one when it wakes. Read under the lock its scans hold, so that a scan either
        // saw the store above or published the wake-up time read here.
        let state = self.shared.lock();
        if state.sleeping_until.is_none_or(|until| deadline < until) {
            self.shared.wake.notify_one();
        }
    }

    /// The execution ended. `false` when the watchdog took the deadline first: it stops (or has
    /// stopped) the isolate, which must not serve another execution.
    pub fn disarm(&self) -> bool {
        self.watched.deadline.swap(0, Ordering::SeqCst) != 0
    }
}

impl Watchdog {
    pub fn start() -> std::io::Result<Watchdog> {
        let shared = Arc::new(Shared {
            epoch: Instant::now(),
            state: Mutex::default(),
            wake: Condvar::new(),
        });
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("af-watchdog".into())
            .spawn(move || watch(&thread_shared))?;
        Ok(Watchdog { shared })
    }

    /// Registers an isolate; its slot is dropped with it. Called on the isolate's thread, whose CPU
    /// clock the watchdog then reads.
    pub fn slot(&self, handle: IsolateHandle, termination: Arc<Termination>) -> Slot {
        let watched = Arc::new(Watched {
            deadline: AtomicU64::new(0),
            cpu_ns_max: AtomicU64::new(0),
            cpu_clock: thread_cpu_clock(),
            handle,
            termination,
        });
        self.shared.lock().watched.push(Entry {
            watched: Arc::downgrade(&watched),
            seen: 0,
            cpu_at_seen: 0,
        });
        Slot {
            watched,
            shared: self.shared.clone(),
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.wake.notify_one();
    }
}

/// Stops every isolate past its deadline or its CPU time, then sleeps until the earliest deadline
/// still armed, for [`CPU_TICK`] at most while any execution is armed.
fn watch(shared: &Shared) {
    let mut state = shared.lock();
    while !state.shutdown {
        let now = shared.nanos(Instant::now());
        let mut next = u64::MAX;
        state.watched.retain_mut(|entry| {
            let Some(watched) = entry.watched.upgrade() else {
                return false;
            };
            let deadline = watched.deadline.load(Ordering::SeqCst);
            if deadline == 0 {
                return true;
            }
            if deadline <= now {
                stop(&watched, deadline, TIMED_OUT);
                return true;
            }
            // While anything is armed, look again within a tick: an execution armed meanwhile
            // does not wake the watchdog when its deadline is later than the one it sleeps until,
            // and its CPU time must still be seen early.
            let tick = u64::try_from(CPU_TICK.as_nanos()).unwrap_or(u64::MAX);
            next = next.min(deadline).min(now.saturating_add(tick));
            let cpu_max = watched.cpu_ns_max.load(Ordering::SeqCst);
            let cpu = watched.cpu_clock.and_then(cpu_nanos);
            if let (Some(cpu), true) = (cpu, cpu_max != 0) {
                if entry.seen != deadline {
                    (entry.seen, entry.cpu_at_seen) = (deadline, cpu);
                }
                let used = cpu.saturating_sub(entry.cpu_at_seen);
                if used >= cpu_max {
                    stop(&watched, deadline, CPU_LIMIT);
                } else {
                    // CPU time cannot pass faster than wall time: the rest of the budget cannot
                    // be spent sooner than this.
                    next = next.min(now.saturating_add(cpu_max - used));
                }
            }
            true
        });
        let next = (next != u64::MAX).then(|| shared.epoch + Duration::from_nanos(next));
        state.sleeping_until = next;
        state = match next {
            Some(next) => {
                let wait = next.saturating_duration_since(Instant::now());
                shared
                    .wake
                    .wait_timeout(state, wait)
                    .map(|(g, _)| g)
                    .unwrap_or_else(|p| p.into_inner().0)
            }
            None => shared.wake.wait(state).unwrap_or_else(|p| p.into_inner()),
        };
    }
}

/// Stops the execution armed with `deadline` for `reason`, unless it ended first: taking the
/// deadline decides the race with `disarm`, whichever swaps it to 0 first.
fn stop(watched: &Watched, deadline: u64, reason: u8) {
    let taken = watched
        .deadline
        .compare_exchange(deadline, 0, Ordering::SeqCst, Ordering::SeqCst);
    if taken.is_ok() {
        watched.termination.set(reason);
        watched.handle.terminate_execution();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thread_cpu_clock_is_this_threads() {
        let clock = thread_cpu_clock().expect("a thread CPU clock on Linux");
        let own = ClockId::CLOCK_THREAD_CPUTIME_ID;
        // Spin until this thread's own clock says 30 ms (wall time varies with the machine's load).
        while cpu_nanos(own).unwrap() < 30_000_000 {
            std::hint::black_box(0);
        }
        let (a, b) = (cpu_nanos(clock).unwrap(), cpu_nanos(own).unwrap());
        assert!(a >= 30_000_000, "the spin was counted: {a} ns");
        assert!(a.abs_diff(b) < 5_000_000, "{a} vs {b}");
        // Another thread's clock is another clock: it did not spin.
        let other = std::thread::spawn(|| cpu_nanos(thread_cpu_clock().unwrap()).unwrap());
        assert!(other.join().unwrap() < 10_000_000);
    }
}
