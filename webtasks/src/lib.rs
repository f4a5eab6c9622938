//! `actionflow-webtasks` makes Actionflow a Webtask host: HTTP extensions owned by a tenant's
//! container, written in the Webtask programming models, managed through the Extend API shapes.
//!
//! It owns extensions (code, metadata, sealed secrets, dependencies resolved and locked through the
//! lifecycle's package cache), the programming models (`wrap.rs` + `js/webtask.js`, run by any
//! runtime [`Engine`] — the in-process runtime or the sandboxes — as the runtime's post-login
//! handler whose answer comes back as one recorded `api` call), runs (`run.rs`: the compiler and
//! middleware checks, the request as an event, the answer as status, headers and body), storage
//! with optimistic concurrency, storage tokens (`seal.rs`), cron schedules with durable
//! one-run-per-tick claims (`cron.rs`) and the live console of containers (`logs.rs`).
//!
//! It knows the store, the runtime and the action lifecycle's `Sealer` and `Packages`; it must not
//! know HTTP servers (axum, utoipa), SQL or the environment: the server maps its types to routes.

mod cron;
mod error;
mod logs;
mod manage;
pub mod rules;
mod run;
pub mod seal;
pub mod wrap;

use actionflow_actions::{Packages, Preparer, Sealer};
use actionflow_runtime::{Engine, Limits};
use actionflow_store::SharedStore;
use std::sync::{Arc, OnceLock};

pub use cron::{next_tick, CronInput, CronSettings, Scheduler};
pub use error::{Error, Result};
pub use logs::{ConsoleLine, LogHub};
pub use manage::{Discovery, ExtensionView, PatchExtension, PutExtension, StorageAccess};
pub use run::{HttpRequest, HttpResponse, Source};

/// Cuts `text` to at most `bytes_max` bytes, on a character boundary.
pub(crate) fn cut_to(text: &mut String, bytes_max: usize) {
    if text.len() > bytes_max {
        let mut end = bytes_max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

/// Bounds on extensions and their runs. Units last.
#[derive(Debug, Clone)]
pub struct WebtaskLimits {
    /// The extension's own code (the wrapper adds its part on top).
    pub code_bytes_max: usize,
    pub meta_entries_max: usize,
    pub meta_value_bytes_max: usize,
    pub secrets_max: usize,
    pub secret_value_bytes_max: usize,
    pub dependencies_max: usize,
    /// A run's request body.
    pub request_bytes_max: usize,
    /// A run's response body (the code's answer as recorded JSON).
    pub response_bytes_max: usize,
    /// The storage document.
    pub storage_bytes_max: usize,
    /// Extensions listed by one discovery.
    pub list_max: usize,
    /// What one run may use; `wall_ms_max` defaults to 30 s, as on Webtasks.
    pub execution: Limits,
}

impl Default for WebtaskLimits {
    fn default() -> Self {
        let mut execution = Limits {
            wall_ms_max: 30_000,
            ..Limits::default()
        };
        execution.api_bytes_max = 1024 * 1024 + 64 * 1024;
        WebtaskLimits {
            code_bytes_max: 100 * 1024,
            meta_entries_max: 50,
            meta_value_bytes_max: 4 * 1024,
            secrets_max: 50,
            secret_value_bytes_max: 4 * 1024,
            dependencies_max: 50,
            request_bytes_max: 1024 * 1024,
            response_bytes_max: 1024 * 1024,
            storage_bytes_max: 500 * 1024,
            list_max: 1000,
            execution,
        }
    }
}

/// Webtasks of every tenant: cheap to clone.
#[derive(Clone)]
pub struct Webtasks {
    inner: Arc<Inner>,
}

struct Inner {
    store: SharedStore,
    /// The lifecycle's sealer (secrets, storage tokens) and package cache (dependencies).
    preparer: Arc<Preparer>,
    engine: Arc<dyn Engine>,
    limits: WebtaskLimits,
    logs: LogHub,
    /// The programming models' package on disk (see [`wrap::install_models`]).
    models_dir: std::path::PathBuf,
    /// Where the server answers (`webtask_url`s; what an execution's `ctx.storage` calls): the
    /// configured public URL, else the address the server listens on, set once it does.
    base_url: OnceLock<String>,
}

impl Webtasks {
    /// `engine` runs the extensions (the sync flows' engine of a server); `models_dir` is where
    /// [`wrap::install_models`] put the programming models (a directory the engine may read).
    pub fn new(
        store: SharedStore,
        preparer: Arc<Preparer>,
        engine: Arc<dyn Engine>,
        limits: WebtaskLimits,
        models_dir: std::path::PathBuf,
    ) -> Webtasks {
        Webtasks {
            inner: Arc::new(Inner {
                store,
                preparer,
                models_dir,
                engine,
                limits,
                logs: LogHub::default(),
                base_url: OnceLock::new(),
            }),
        }
    }

    /// Sets the base URL once (later calls are ignored): `http://host:port`, no trailing slash.
    pub fn set_base_url(&self, url: &str) {
        let _ = self
            .inner
            .base_url
            .set(url.trim_end_matches('/').to_owned());
    }

    pub fn base_url(&self) -> &str {
        self.inner
            .base_url
            .get()
            .map_or("http://127.0.0.1", String::as_str)
    }

    pub fn limits(&self) -> &WebtaskLimits {
        &self.inner.limits
    }

    pub fn logs(&self) -> &LogHub {
        &self.inner.logs
    }

    fn sealer(&self) -> &Sealer {
        self.inner.preparer.sealer()
    }

    fn packages(&self) -> &Packages {
        self.inner.preparer.packages()
    }

    pub fn store(&self) -> &SharedStore {
        &self.inner.store
    }

    /// The URL an extension answers at.
    pub fn webtask_url(&self, container: &str, name: &str) -> String {
        format!("{}/run/{container}/{name}", self.base_url())
    }
}
