//! Values read from the store and kept by key for a few seconds, so that the executions of a
//! dispatch read none (tenants' limits, versions' quarantines). Bounded: past 100,000 keys the
//! whole map is emptied (a miss costs one read, never a wrong value for longer than the TTL).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const KEYS_MAX: usize = 100_000;

pub(crate) struct Kept<V> {
    ttl: Duration,
    known: Mutex<HashMap<String, (V, Instant)>>,
}

impl<V: Clone> Kept<V> {
    pub(crate) fn new(ttl: Duration) -> Kept<V> {
        Kept {
            ttl,
            known: Mutex::default(),
        }
    }

    /// The value kept for `key`, if it was read less than the TTL ago.
    pub(crate) fn get(&self, key: &str) -> Option<V> {
        let known = self.lock();
        let (value, at) = known.get(key)?;
        (at.elapsed() < self.ttl).then(|| value.clone())
    }

    pub(crate) fn put(&self, key: &str, value: V) {
        let mut known = self.lock();
        if known.len() >= KEYS_MAX {
            known.clear();
        }
        known.insert(key.to_owned(), (value, Instant::now()));
    }

    pub(crate) fn forget(&self, key: &str) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (V, Instant)>> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }
}
