//! Limits on one execution and on the pool of isolates. Units are part of every name.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Bounds on one execution. Every field can be set by the embedder; defaults follow Auth0 Actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Wall clock for loading (first run) plus running the handler and its pending work.
    pub wall_ms_max: u64,
    /// CPU time of the isolate's thread over the same span: what the action computes, not what it
    /// waits for (I/O, timers). 0: no bound but the wall clock.
    pub cpu_ms_max: u64,
    /// V8 heap of the isolate. Part of the isolate's identity: a different value gets another isolate.
    pub heap_bytes_max: usize,
    /// Size of the action's source.
    pub code_bytes_max: usize,
    /// Console lines kept per execution; later lines are counted in `logs_dropped`.
    pub log_lines_max: usize,
    /// Console bytes kept per execution (a longer line is cut).
    pub log_bytes_max: usize,
    /// UTF-8 bytes of the JSON of all the execution's `api` calls together (claims, metadata,
    /// redirects…): the call that would pass it throws a `RangeError` naming it.
    pub api_bytes_max: usize,
    /// Body size accepted from one `fetch`.
    pub fetch_response_bytes_max: usize,
    /// `fetch` calls per execution.
    pub fetch_requests_max: u32,
    /// Response bodies of all the execution's `fetch` calls together.
    pub fetch_total_bytes_max: usize,
    /// Endpoints this execution may `fetch` even on a loopback or private address: the embedder's
    /// own, which it vouches for (a webtask's storage API on the server's listening address).
    /// Matched on scheme, host, port and path (any query); redirects from them are not followed.
    /// They still count in `fetch_requests_max` and the byte budgets.
    #[serde(default)]
    pub private_urls: Vec<String>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            wall_ms_max: 20_000,
            // A login action computes for milliseconds; loading a large bundle of npm packages in a
            // cold isolate takes a few hundred on a slow core. 5 s leaves ten times that, and stops a
            // runaway loop after a quarter of the wall limit — on the thread's own clock, so a busy
            // machine (which stretches wall time) does not make legitimate actions fail sooner.
            cpu_ms_max: 5_000,
            heap_bytes_max: 128 * 1024 * 1024,
            code_bytes_max: 100 * 1024,
            log_lines_max: 1_000,
            log_bytes_max: 256 * 1024,
            // Claims travel in tokens (headers and cookies of a few KiB), metadata in the host's user
            // record: 1 MiB is a hundred times a large token, and bounds what one outcome carries.
            api_bytes_max: 1024 * 1024,
            fetch_response_bytes_max: 10 * 1024 * 1024,
            fetch_requests_max: 50,
            fetch_total_bytes_max: 32 * 1024 * 1024,
            private_urls: Vec::new(),
        }
    }
}

impl Limits {
    pub fn wall(&self) -> Duration {
        Duration::from_millis(self.wall_ms_max)
    }

    /// The CPU time bound; zero for none.
    pub fn cpu(&self) -> Duration {
        Duration::from_millis(self.cpu_ms_max)
    }
}

/// Bounds on `api.cache`, which lives in the pool and is shared by the isolates of one action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheLimits {
    pub entries_per_action_max: usize,
    pub key_bytes_max: usize,
    pub value_bytes_max: usize,
    pub ttl_ms_default: u64,
    pub ttl_ms_max: u64,
    /// Actions whose cache is kept; the least recently used action's cache is dropped beyond it.
    pub actions_max: usize,
}

impl Default for CacheLimits {
    fn default() -> Self {
        CacheLimits {
            entries_per_action_max: 100,
            key_bytes_max: 256,
            value_bytes_max: 4 * 1024,
            ttl_ms_default: 15 * 60 * 1000,
            ttl_ms_max: 24 * 60 * 60 * 1000,
            actions_max: 10_000,
        }
    }
}

/// Settings of the pool of isolates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolConfig {
    /// Executions running at once; more wait their turn.
    pub concurrency_max: usize,
    /// Executions of one tenant running at once (its share of `concurrency_max`); more wait for
    /// the tenant's turn even while places are free, so that one tenant's slow or looping actions
    /// cannot take every place. `None`: half of `concurrency_max`, at least 1.
    pub tenant_concurrency_max: Option<usize>,
    /// Executions of one tenant waiting for a place; more are refused with
    /// [`RuntimeError::TenantBusy`](crate::RuntimeError::TenantBusy).
    pub tenant_queued_max: usize,
    /// Isolates kept (warm and busy); the least recently used idle one is dropped beyond it.
    pub warm_isolates_max: usize,
    /// V8 heap in use summed over kept isolates; least recently used idle ones are dropped beyond it.
    pub warm_bytes_max: usize,
    /// Blank isolates (default heap limit) made ahead of time, so a cold start only loads the action.
    pub spare_isolates: usize,
    /// `fetch` to loopback, private, link-local and other non-public addresses. Off in production.
    pub allow_private_network: bool,
    pub cache: CacheLimits,
}

impl PoolConfig {
    /// The running places one tenant may hold.
    pub fn tenant_places(&self) -> usize {
        self.tenant_concurrency_max
            .unwrap_or(self.concurrency_max / 2)
            .clamp(1, self.concurrency_max.max(1))
    }
}

impl Default for PoolConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        PoolConfig {
            concurrency_max: cores * 2,
            tenant_concurrency_max: None,
            // Well above what one tenant's callers queue at once in practice (the benchmarks go to
            // 64), and a bound on the memory one tenant's flood holds (an event each).
            tenant_queued_max: 1024,
            warm_isolates_max: 64,
            warm_bytes_max: 1024 * 1024 * 1024,
            spare_isolates: 2,
            allow_private_network: false,
            cache: CacheLimits::default(),
        }
    }
}
