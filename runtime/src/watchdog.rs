//! One thread that stops isolates at their deadline. JavaScript stuck in `while(true){}` never yields to
//! its own thread's timers, so another thread must call `terminate_execution` on it.

use deno_core::v8::IsolateHandle;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

/// Why an isolate was terminated; shared between the isolate's thread, the watchdog and the heap callback.
#[derive(Default)]
pub(crate) struct Termination(AtomicU8);

pub(crate) const TIMED_OUT: u8 = 1;
pub(crate) const OUT_OF_MEMORY: u8 = 2;

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
/// after the watchdog's epoch (0: no execution running), and how to stop it.
struct Watched {
    deadline: AtomicU64,
    handle: IsolateHandle,
    termination: Arc<Termination>,
}

#[derive(Default)]
struct State {
    /// Every isolate's entry; dropped isolates leave dead ones, pruned on the next wake.
    watched: Vec<Weak<Watched>>,
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
    /// The running execution must end by `deadline`, or the watchdog stops the isolate.
    pub fn arm(&self, deadline: Instant) {
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

    /// Registers an isolate; its slot is dropped with it.
    pub fn slot(&self, handle: IsolateHandle, termination: Arc<Termination>) -> Slot {
        let watched = Arc::new(Watched {
            deadline: AtomicU64::new(0),
            handle,
            termination,
        });
        self.shared.lock().watched.push(Arc::downgrade(&watched));
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

/// Stops every isolate past its deadline, then sleeps until the earliest deadline still armed.
fn watch(shared: &Shared) {
    let mut state = shared.lock();
    while !state.shutdown {
        let now = shared.nanos(Instant::now());
        let mut next = u64::MAX;
        state.watched.retain(|entry| {
            let Some(watched) = entry.upgrade() else {
                return false;
            };
            let deadline = watched.deadline.load(Ordering::SeqCst);
            if deadline == 0 {
                return true;
            }
            // Taking the deadline decides the race with `disarm`: whichever swaps it to 0 first.
            if deadline <= now {
                let taken = watched.deadline.compare_exchange(
                    deadline,
                    0,
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                );
                if taken.is_ok() {
                    watched.termination.set(TIMED_OUT);
                    watched.handle.terminate_execution();
                }
            } else {
                next = next.min(deadline);
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
