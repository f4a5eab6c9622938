//! One thread that stops isolates at their deadline. JavaScript stuck in `while(true){}` never yields to
//! its own thread's timers, so another thread must call `terminate_execution` on it.

use deno_core::v8::IsolateHandle;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

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

struct Entry {
    handle: IsolateHandle,
    termination: Arc<Termination>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    armed: BTreeMap<(Instant, u64), Entry>,
    /// When the watchdog thread wakes next on its own (`None`: it waits for a notification).
    sleeping_until: Option<Instant>,
    shutdown: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

pub(crate) struct Watchdog {
    shared: Arc<Shared>,
}

/// Disarms its deadline when dropped (the execution finished in time).
pub(crate) struct Armed {
    shared: Arc<Shared>,
    key: (Instant, u64),
}

impl Drop for Armed {
    fn drop(&mut self) {
        let mut state = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
        state.armed.remove(&self.key);
    }
}

impl Watchdog {
    pub fn start() -> std::io::Result<Watchdog> {
        let shared = Arc::new(Shared::default());
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("af-watchdog".into())
            .spawn(move || watch(&thread_shared))?;
        Ok(Watchdog { shared })
    }

    pub fn arm(
        &self,
        deadline: Instant,
        handle: IsolateHandle,
        termination: Arc<Termination>,
    ) -> Armed {
        let mut state = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
        state.next_id += 1;
        let key = (deadline, state.next_id);
        // Wake the watchdog only when this deadline comes before every armed one: otherwise it is
        // already sleeping until an earlier deadline and will see this one then. (Saves a context
        // switch per execution on the warm path.)
        let earliest = state.sleeping_until.is_none_or(|until| deadline < until);
        state.armed.insert(
            key,
            Entry {
                handle,
                termination,
            },
        );
        if earliest {
            self.shared.wake.notify_one();
        }
        Armed {
            shared: self.shared.clone(),
            key,
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        let mut state = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
        state.shutdown = true;
        self.shared.wake.notify_one();
    }
}

fn watch(shared: &Shared) {
    let mut state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
    while !state.shutdown {
        let now = Instant::now();
        while let Some(entry) = state.armed.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let Entry {
                handle,
                termination,
            } = entry.remove();
            termination.set(TIMED_OUT);
            handle.terminate_execution();
        }
        let next = state.armed.keys().next().map(|k| k.0);
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
