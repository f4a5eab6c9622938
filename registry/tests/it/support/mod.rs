//! Test support: an npm registry served by the test itself on 127.0.0.1:0, with packages built in memory.

pub mod graph;
pub mod server;
pub mod tgz;

#[allow(unused_imports)]
pub use server::{Integrity, Registry};

use std::collections::BTreeMap;

use actionflow_registry::{Cache, HttpOptions, HttpSource, RegistryConfig};

/// An HTTP source for one test registry, with short retry backoff.
pub fn source_for(url: &str) -> HttpSource {
    let config = RegistryConfig::new(url, "test").unwrap();
    HttpSource::new(
        config,
        HttpOptions {
            retry_backoff_ms: 10,
            ..HttpOptions::default()
        },
    )
    .unwrap()
}

/// `[("a", "^1")]` → map.
pub fn deps(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(n, r)| (n.to_string(), r.to_string()))
        .collect()
}

/// A cache in a fresh temporary directory (kept alive by the returned guard).
pub fn temp_cache() -> (tempfile::TempDir, Cache) {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path().join("cache")).unwrap();
    (dir, cache)
}
