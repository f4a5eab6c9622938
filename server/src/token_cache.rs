//! Tenant tokens this node checked recently, so a request with a known token costs no database read.
//!
//! An entry (token hash → tenant, token id, scopes) is trusted for `ttl` after it was read from the
//! store. Revoking a token through this node's API forgets it at once (and an authentication that
//! read the token before the revocation cannot put it back: see [`TokenCache::generation`]); a token
//! revoked through another node keeps working here for at most `ttl`. Unknown and revoked tokens are
//! never cached. A `ttl` of zero turns the cache off.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::auth::Tenant;

/// Default of `token_cache_ms`.
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(5);
/// Tokens kept at most; past it, expired entries go, then everything.
pub const CACHED_TOKENS_MAX: usize = 10_000;

struct Entry {
    tenant: Tenant,
    read_at: Instant,
}

#[derive(Default)]
struct Entries {
    tokens: HashMap<[u8; 32], Entry>,
    /// Bumped by every revocation.
    generation: u64,
}

pub struct TokenCache {
    ttl: Duration,
    entries: Mutex<Entries>,
}

impl TokenCache {
    pub fn new(ttl: Duration) -> TokenCache {
        TokenCache {
            ttl,
            entries: Mutex::new(Entries::default()),
        }
    }

    /// The tenant of a token read less than `ttl` ago.
    pub fn get(&self, hash: &[u8; 32]) -> Option<Tenant> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().ok()?;
        let entry = entries.tokens.get(hash)?;
        (entry.read_at.elapsed() < self.ttl).then(|| entry.tenant.clone())
    }

    /// Take this before reading a token from the store, and give it to [`TokenCache::put`].
    pub fn generation(&self) -> u64 {
        self.entries.lock().map_or(0, |entries| entries.generation)
    }

    /// Keeps a token read from the store when no revocation happened on this node since
    /// `generation` was taken (the read might predate it).
    pub fn put(&self, generation: u64, hash: [u8; 32], tenant: Tenant, read_at: Instant) {
        if self.ttl.is_zero() {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.generation != generation {
            return;
        }
        if entries.tokens.len() >= CACHED_TOKENS_MAX {
            let ttl = self.ttl;
            entries.tokens.retain(|_, e| e.read_at.elapsed() < ttl);
            if entries.tokens.len() >= CACHED_TOKENS_MAX {
                entries.tokens.clear();
            }
        }
        entries.tokens.insert(hash, Entry { tenant, read_at });
    }

    /// Forgets a revoked token: from now on this node reads it from the store again.
    pub fn revoked(&self, token_id: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.generation = entries.generation.wrapping_add(1);
            entries.tokens.retain(|_, e| e.tenant.token_id != token_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(tenant_id: &str, token_id: &str) -> Tenant {
        Tenant {
            tenant_id: tenant_id.to_owned(),
            token_id: token_id.to_owned(),
            scopes: vec!["dispatch".to_owned()],
        }
    }

    #[test]
    fn each_hash_keeps_its_own_tenant() {
        let cache = TokenCache::new(Duration::from_secs(60));
        let g = cache.generation();
        cache.put(g, [1; 32], tenant("a", "ta"), Instant::now());
        cache.put(g, [2; 32], tenant("b", "tb"), Instant::now());
        assert_eq!(cache.get(&[1; 32]).unwrap().tenant_id, "a");
        assert_eq!(cache.get(&[2; 32]).unwrap().tenant_id, "b");
        assert!(cache.get(&[3; 32]).is_none());
    }

    #[test]
    fn revocation_forgets_at_once_and_beats_a_read_in_flight() {
        let cache = TokenCache::new(Duration::from_secs(60));
        let before = cache.generation();
        cache.put(before, [1; 32], tenant("a", "ta"), Instant::now());
        cache.revoked("ta");
        assert!(cache.get(&[1; 32]).is_none());
        // A read that started before the revocation does not bring the token back.
        cache.put(before, [1; 32], tenant("a", "ta"), Instant::now());
        assert!(cache.get(&[1; 32]).is_none());
        cache.put(
            cache.generation(),
            [2; 32],
            tenant("a", "tb"),
            Instant::now(),
        );
        assert!(cache.get(&[2; 32]).is_some());
    }

    #[test]
    fn entries_expire_and_zero_ttl_caches_nothing() {
        let cache = TokenCache::new(Duration::from_millis(50));
        let old = Instant::now()
            .checked_sub(Duration::from_millis(60))
            .unwrap();
        cache.put(cache.generation(), [1; 32], tenant("a", "ta"), old);
        assert!(cache.get(&[1; 32]).is_none());
        let off = TokenCache::new(Duration::ZERO);
        off.put(off.generation(), [1; 32], tenant("a", "ta"), Instant::now());
        assert!(off.get(&[1; 32]).is_none());
    }
}
