//! The `actionflow` deno_core extension: the only ops an action can reach (console, api.cache, fetch,
//! URL parsing, randomness, host modules, module resolution), the bootstrap's hand-over of a
//! settled handler's result, and the bootstrap JavaScript that wraps them. Per-isolate and
//! per-execution state lives in the `OpState` as the two contexts below.
// `#[op2]` expands to FFI glue that uses `unsafe`; no hand-written unsafe code lives in these files.
#![allow(unsafe_code)]

mod io;
mod web;

use crate::cache::CacheStore;
use crate::host::HostModule;
use crate::limits::Limits;
use crate::modules::ModuleFiles;
use crate::net::Net;
use crate::outcome::{LogLevel, LogLine};
use crate::redact::Redactor;
use deno_core::{op2, OpState};
pub(crate) use io::Restricted;
use io::*;
use std::sync::Arc;
use std::time::Instant;
use web::*;

/// The embedder's host modules by name.
pub(crate) type HostModules = std::collections::BTreeMap<&'static str, Arc<dyn HostModule>>;

/// What every execution of one isolate shares: the action's files, the network, the cache store.
pub(crate) struct IsolateContext {
    pub files: Arc<dyn ModuleFiles>,
    pub host_modules: Arc<HostModules>,
    pub net: Arc<Net>,
    pub cache: Arc<CacheStore>,
    pub cache_scope: String,
}

/// What one execution collects; replaced at the start of every execution.
pub(crate) struct ExecutionContext {
    pub started: Instant,
    pub deadline: Instant,
    pub limits: Limits,
    pub logs: Vec<LogLine>,
    pub log_bytes: usize,
    pub logs_dropped: u64,
    pub fetches: u32,
    /// Bytes of `fetch` response bodies this execution may still receive, summed over its requests.
    pub fetch_budget: Arc<std::sync::atomic::AtomicUsize>,
    /// Secret values are replaced in each line as it is captured, before any truncation can cut one.
    pub redactor: Redactor,
    /// The settled handler's result (JSON text), handed over by the bootstrap.
    pub result: Option<String>,
}

impl ExecutionContext {
    pub fn new(
        limits: Limits,
        started: Instant,
        deadline: Instant,
        redactor: Redactor,
    ) -> ExecutionContext {
        let fetch_budget = Arc::new(std::sync::atomic::AtomicUsize::new(
            limits.fetch_total_bytes_max,
        ));
        ExecutionContext {
            started,
            deadline,
            limits,
            logs: Vec::new(),
            log_bytes: 0,
            logs_dropped: 0,
            fetches: 0,
            fetch_budget,
            redactor,
            result: None,
        }
    }

    /// One more request (a `fetch` or a socket connecting); `Err(max)` past `fetch_requests_max`.
    fn count_request(&mut self) -> Result<(), u32> {
        self.fetches += 1;
        if self.fetches > self.limits.fetch_requests_max {
            return Err(self.limits.fetch_requests_max);
        }
        Ok(())
    }

    pub(crate) fn push_log(&mut self, level: LogLevel, message: &str) {
        let room = self.limits.log_bytes_max.saturating_sub(self.log_bytes);
        if self.logs.len() >= self.limits.log_lines_max || room == 0 {
            self.logs_dropped += 1;
            return;
        }
        let mut message = crate::outcome::without_nul(self.redactor.redact(message).into_owned());
        if message.len() > room {
            let mut cut = room;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        self.log_bytes += message.len();
        let at_ms = self.started.elapsed().as_millis() as u64;
        self.logs.push(LogLine {
            level,
            message,
            at_ms,
        });
    }
}

/// The handler of the execution in progress settled: its result (JSON text), kept for Rust to take.
#[op2(fast)]
fn op_af_settled(state: &mut OpState, #[string] result: &str) {
    if let Some(ctx) = state.try_borrow_mut::<ExecutionContext>() {
        ctx.result = Some(result.to_owned());
    }
}

#[op2(fast)]
fn op_af_log(state: &mut OpState, #[smi] level: u32, #[string] message: &str) {
    if let Some(ctx) = state.try_borrow_mut::<ExecutionContext>() {
        ctx.push_log(LogLevel::from_code(level), message);
    }
}

deno_core::extension!(
    actionflow,
    ops = [
        op_af_settled,
        op_af_log,
        op_af_random_uuid,
        op_af_random_fill,
        op_af_cache_get,
        op_af_cache_set,
        op_af_cache_delete,
        op_af_fetch,
        op_af_net_connection,
        op_af_net_restrict,
        op_af_net_received,
        op_af_resolve,
        op_af_read_file,
        op_af_host_source,
        op_af_host_call,
    ],
    esm_entry_point = "ext:actionflow/99_main.js",
    customizer = |ext: &mut deno_core::Extension| {
        ext.esm_files = std::borrow::Cow::Owned(bootstrap_files());
    },
);

/// The bootstrap modules, compiled into the binary. (deno_core's `esm = [dir …]` would read them from
/// the source tree at run time, since our snapshot is made at run time, not in a build script: an
/// installed binary must not depend on where it was built.)
fn bootstrap_files() -> Vec<deno_core::ExtensionFileSource> {
    macro_rules! file {
        ($name:literal) => {
            deno_core::ExtensionFileSource::new_computed(
                concat!("ext:actionflow/", $name),
                std::sync::Arc::from(include_str!(concat!("../js/", $name))),
            )
        };
    }
    vec![
        file!("00_console.js"),
        file!("01_web.js"),
        file!("02_fetch.js"),
        file!("03_api.js"),
        file!("04_require.js"),
        file!("05_node.js"),
        file!("06_deno.js"),
        file!("99_main.js"),
    ]
}
