//! `api.cache`: small string records with a TTL, shared by every execution (and isolate) of one action,
//! bounded per action and in the number of actions kept.

use crate::limits::CacheLimits;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

struct Record {
    value: String,
    expires_at_ms: u64,
}

struct ActionCache {
    records: HashMap<String, Record>,
    last_used: u64,
}

/// The caches of every action, keyed by the execution's cache scope (tenant and action).
pub(crate) struct CacheStore {
    limits: CacheLimits,
    actions: Mutex<(u64, HashMap<String, ActionCache>)>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis() as u64
}

/// Why `set` refused a record; the code is what the action sees in `{type: "error", code}`.
pub(crate) fn refusal(code: &'static str) -> Result<u64, &'static str> {
    Err(code)
}

impl CacheStore {
    pub fn new(limits: CacheLimits) -> CacheStore {
        CacheStore {
            limits,
            actions: Mutex::new((0, HashMap::new())),
        }
    }

    fn with_scope<T>(&self, scope: &str, f: impl FnOnce(&mut ActionCache, u64) -> T) -> T {
        let mut guard = self.actions.lock().unwrap_or_else(|p| p.into_inner());
        let (clock, actions) = &mut *guard;
        *clock += 1;
        if !actions.contains_key(scope) && actions.len() >= self.limits.actions_max {
            let oldest = actions
                .iter()
                .min_by_key(|(_, c)| c.last_used)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                actions.remove(&oldest);
            }
        }
        let cache = actions
            .entry(scope.to_owned())
            .or_insert_with(|| ActionCache {
                records: HashMap::new(),
                last_used: 0,
            });
        cache.last_used = *clock;
        let now = now_ms();
        cache.records.retain(|_, r| r.expires_at_ms > now);
        f(cache, now)
    }

    pub fn get(&self, scope: &str, key: &str) -> Option<(String, u64)> {
        self.with_scope(scope, |c, _| {
            c.records
                .get(key)
                .map(|r| (r.value.clone(), r.expires_at_ms))
        })
    }

    /// Stores a record; returns its expiry (ms since the epoch) or a refusal code.
    pub fn set(
        &self,
        scope: &str,
        key: &str,
        value: &str,
        ttl_ms: f64,
    ) -> Result<u64, &'static str> {
        let l = &self.limits;
        if key.is_empty() || key.len() > l.key_bytes_max {
            return refusal("KEY_TOO_LONG");
        }
        if value.len() > l.value_bytes_max {
            return refusal("VALUE_TOO_LARGE");
        }
        let ttl = if ttl_ms.is_finite() && ttl_ms >= 1.0 {
            ttl_ms as u64
        } else {
            l.ttl_ms_default
        };
        let ttl = ttl.min(l.ttl_ms_max);
        let entries_max = l.entries_per_action_max;
        self.with_scope(scope, |c, now| {
            if !c.records.contains_key(key) && c.records.len() >= entries_max {
                return refusal("CACHE_FULL");
            }
            let expires_at_ms = now + ttl;
            c.records.insert(
                key.to_owned(),
                Record {
                    value: value.to_owned(),
                    expires_at_ms,
                },
            );
            Ok(expires_at_ms)
        })
    }

    pub fn delete(&self, scope: &str, key: &str) -> Option<(String, u64)> {
        self.with_scope(scope, |c, _| {
            c.records.remove(key).map(|r| (r.value, r.expires_at_ms))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> CacheStore {
        CacheStore::new(CacheLimits {
            entries_per_action_max: 2,
            actions_max: 2,
            ..CacheLimits::default()
        })
    }

    #[test]
    fn records_are_per_scope_bounded_and_expire() {
        let c = small();
        assert!(c.set("t/a", "k1", "v1", 60_000.0).is_ok());
        assert!(c.set("t/a", "k2", "v2", 60_000.0).is_ok());
        assert_eq!(c.set("t/a", "k3", "v3", 60_000.0), Err("CACHE_FULL"));
        assert_eq!(c.get("t/a", "k1").map(|r| r.0), Some("v1".to_owned()));
        assert_eq!(c.get("t/b", "k1"), None);
        assert_eq!(
            c.set("t/a", "k1", &"x".repeat(5000), 1.0),
            Err("VALUE_TOO_LARGE")
        );
        assert!(c.set("t/a", "short", "v", 1.0).is_err(), "full");
        assert_eq!(c.delete("t/a", "k2").map(|r| r.0), Some("v2".to_owned()));
        assert!(c.set("t/a", "soon", "v", 1.0).is_ok());
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(c.get("t/a", "soon"), None);
    }

    #[test]
    fn the_least_recently_used_action_is_dropped() {
        let c = small();
        c.set("a", "k", "v", 60_000.0).ok();
        c.set("b", "k", "v", 60_000.0).ok();
        c.get("a", "k");
        c.set("c", "k", "v", 60_000.0).ok();
        assert!(c.get("a", "k").is_some());
        assert!(c.get("b", "k").is_none());
    }
}
