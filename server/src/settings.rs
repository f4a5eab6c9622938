//! What a server is started with: every setting resolved by the embedder (the binary's one
//! `Config`), and why a start can fail. Nothing here reads the environment or a file by itself.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use actionflow_actions::master_key::MasterKeyError;
use actionflow_actions::ActionLimits;
use actionflow_registry::DiscoveryInputs;
use actionflow_runtime::{HostModule, RuntimeError};
use actionflow_triggers::{
    DispatchSettings, WorkerSettings, ATTEMPTS_MAX, BINDINGS_PER_TRIGGER_MAX, FLOW_MS_MAX,
};

/// Bounds on HTTP input. Units last.
#[derive(Debug, Clone)]
pub struct ApiLimits {
    pub body_bytes_max: usize,
    pub per_page_max: u32,
    /// Tenant and token names.
    pub name_chars_max: usize,
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            body_bytes_max: 512 * 1024,
            per_page_max: 100,
            name_chars_max: 128,
        }
    }
}

/// The pool of test runs and deploy checks.
#[derive(Debug, Clone)]
pub struct TestPool {
    /// Isolates running at once.
    pub concurrency_max: usize,
    pub warm_isolates_max: usize,
    /// Test runs and deploy checks waiting or running at once; beyond, 429.
    pub waiting_max: usize,
}

impl TestPool {
    /// One running per core (at least two, so a tenant's share — half — leaves room for the
    /// others), four per core waiting.
    pub fn for_cores(cores: usize) -> TestPool {
        TestPool {
            concurrency_max: cores.max(2),
            warm_isolates_max: 16,
            waiting_max: cores * 4,
        }
    }
}

/// Resolved settings of triggers: the flow budget, async delivery and execution retention.
#[derive(Debug, Clone)]
pub struct FlowSettings {
    pub dispatch: DispatchSettings,
    /// `jobs_in_flight_max == 0`: no worker in this process.
    pub worker: WorkerSettings,
    pub retention: Duration,
    pub bindings_per_trigger_max: usize,
}

/// Finished executions are kept 30 days by default.
pub const RETENTION_DEFAULT: Duration = Duration::from_secs(30 * 24 * 3600);

impl Default for FlowSettings {
    fn default() -> Self {
        FlowSettings {
            dispatch: DispatchSettings {
                flow_ms_max: FLOW_MS_MAX,
                attempts_max: ATTEMPTS_MAX,
                ..DispatchSettings::default()
            },
            worker: WorkerSettings::new(),
            retention: RETENTION_DEFAULT,
            bindings_per_trigger_max: BINDINGS_PER_TRIGGER_MAX,
        }
    }
}

/// Where actions run: sandbox processes (this binary in worker mode) supervised by the server, or,
/// with `processes == 0`, isolates inside the server process (tests, benchmarks, `actionflow run`).
#[derive(Debug, Clone)]
pub struct SandboxSettings {
    /// Sandbox processes for sync flows; the async workers get half as many (at least one), test
    /// runs and deploy checks one. 0: no sandboxes.
    pub processes: usize,
    /// The program and arguments that start a sandbox (the binary's worker mode).
    pub program: PathBuf,
    pub args: Vec<String>,
    /// A sandbox whose resident memory passes it is replaced once its executions answered.
    pub memory_bytes_max: u64,
    /// A version that crashed its sandbox this many times within `crash_window` is quarantined.
    pub crashes_max: u32,
    pub crash_window: Duration,
    /// Loads `actionflow:sandbox-test` in sandboxes (debug builds only; for the crash tests).
    pub test_ops: bool,
}

/// A version crashing its sandbox 3 times within an hour is quarantined by default.
pub const SANDBOX_CRASHES_MAX: u32 = 3;
pub const SANDBOX_CRASH_WINDOW: Duration = Duration::from_secs(3600);

impl SandboxSettings {
    /// No sandboxes: isolates run in the server's process.
    pub fn in_process() -> SandboxSettings {
        SandboxSettings {
            processes: 0,
            program: PathBuf::new(),
            args: Vec::new(),
            memory_bytes_max: 2 * 1024 * 1024 * 1024,
            crashes_max: SANDBOX_CRASHES_MAX,
            crash_window: SANDBOX_CRASH_WINDOW,
            test_ops: false,
        }
    }
}

/// Resolved settings of the tenant log and its streams.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// Events older than this are purged in the background.
    pub retention: Duration,
    /// A stream failing this long without a success is suspended.
    pub suspend_after: Duration,
}

/// Tenant log events are kept 30 days by default.
pub const LOG_RETENTION_DEFAULT: Duration = Duration::from_secs(30 * 24 * 3600);
/// A stream failing for 7 days is suspended by default.
pub const LOG_STREAM_SUSPEND_AFTER_DEFAULT: Duration = Duration::from_secs(7 * 24 * 3600);

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            retention: LOG_RETENTION_DEFAULT,
            suspend_after: LOG_STREAM_SUSPEND_AFTER_DEFAULT,
        }
    }
}

/// Everything a server is started with.
#[derive(Clone)]
pub struct Settings {
    /// Holds the SQLite database (by default), the admin token's hash and the npm cache.
    pub data_dir: PathBuf,
    /// What `actionflow_store::open` receives: a PostgreSQL URL or a SQLite file path.
    pub database_location: String,
    /// The master key in hex; `None` reads (or creates) `master_key_file`.
    pub master_key: Option<String>,
    pub master_key_file: PathBuf,
    /// `None` uses the hash kept in the data dir, or makes a new token shown once.
    pub admin_token: Option<String>,
    /// Lets actions and host modules reach loopback and private addresses.
    pub allow_private_network: bool,
    /// The `actionflow:*` modules actions may load.
    pub host_modules: Vec<Arc<dyn HostModule>>,
    pub npm_cache_dir: PathBuf,
    pub npm_discovery: DiscoveryInputs,
    pub action_limits: ActionLimits,
    pub api_limits: ApiLimits,
    /// Isolates running sync flows at once.
    pub sync_concurrency_max: usize,
    /// Isolates running async jobs at once.
    pub async_concurrency_max: usize,
    pub tests: TestPool,
    /// How long a checked tenant token is trusted (zero: not cached).
    pub token_cache: Duration,
    pub flows: FlowSettings,
    /// The tenant log: retention, stream suspension.
    pub logs: LogSettings,
    pub sandboxes: SandboxSettings,
    /// Webtasks: limits, the public URL, cron.
    pub webtasks: WebtaskSettings,
}

/// Resolved settings of webtasks.
#[derive(Debug, Clone, Default)]
pub struct WebtaskSettings {
    pub limits: actionflow_webtasks::WebtaskLimits,
    /// The URL clients reach this server at (`webtask_url`s, and what extensions' `ctx.storage`
    /// calls); `None`: `http://` and the address it listens on.
    pub public_url: Option<String>,
    pub cron: actionflow_webtasks::CronSettings,
    /// Whether this node runs due cron jobs.
    pub cron_enabled: bool,
}

impl Settings {
    /// The defaults of every setting, for a server keeping its state in `data_dir` (SQLite there
    /// unless `database_location` says otherwise): the one place they are written down.
    pub fn defaults(data_dir: PathBuf, database_location: Option<String>) -> Settings {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Settings {
            database_location: database_location
                .unwrap_or_else(|| data_dir.join("actionflow.db").display().to_string()),
            master_key: None,
            master_key_file: data_dir.join("master.key"),
            admin_token: None,
            allow_private_network: false,
            host_modules: Vec::new(),
            npm_cache_dir: data_dir.join("npm"),
            npm_discovery: DiscoveryInputs::default(),
            action_limits: ActionLimits::default(),
            api_limits: ApiLimits::default(),
            sync_concurrency_max: cores * 2,
            async_concurrency_max: cores * 2,
            tests: TestPool::for_cores(cores),
            token_cache: crate::TOKEN_CACHE_TTL,
            flows: FlowSettings::default(),
            logs: LogSettings::default(),
            sandboxes: SandboxSettings::in_process(),
            webtasks: WebtaskSettings {
                cron_enabled: true,
                ..WebtaskSettings::default()
            },
            data_dir,
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("data_dir", &self.data_dir)
            .field(
                "master_key",
                &self.master_key.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "<redacted>"),
            )
            .field("allow_private_network", &self.allow_private_network)
            .field("action_limits", &self.action_limits)
            .field("api_limits", &self.api_limits)
            .field("tests", &self.tests)
            .field("flows", &self.flows)
            .field("logs", &self.logs)
            .field("sandboxes", &self.sandboxes)
            .field("webtasks", &self.webtasks)
            .finish_non_exhaustive()
    }
}

/// Why a server could not start; each is one line for the operator.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{what} {path}: {error}")]
    Io {
        what: &'static str,
        path: String,
        #[source]
        error: std::io::Error,
    },
    #[error("opening the database: {0}")]
    Store(#[source] actionflow_store::Error),
    #[error(transparent)]
    MasterKey(#[from] MasterKeyError),
    #[error(
        "ACTIONFLOW_ADMIN_TOKEN must be at least 32 characters (a random value, e.g. from \
         `openssl rand -hex 32`)"
    )]
    ShortAdminToken,
    #[error("{path} does not hold a SHA-256 in hex; delete it to get a new admin token")]
    BadAdminTokenFile { path: String },
    #[error("starting {what}: {error}")]
    Sandbox {
        what: &'static str,
        #[source]
        error: actionflow_sandbox::SandboxError,
    },
    #[error("starting {what}: {error}")]
    Runtime {
        what: &'static str,
        #[source]
        error: RuntimeError,
    },
    #[error("opening the package cache at {dir}: {error}")]
    Packages {
        dir: String,
        #[source]
        error: actionflow_registry::Error,
    },
}

impl StartError {
    pub(crate) fn io<'a>(
        what: &'static str,
        path: &'a Path,
    ) -> impl FnOnce(std::io::Error) -> StartError + 'a {
        move |error| StartError::Io {
            what,
            path: path.display().to_string(),
            error,
        }
    }
}
