//! The server's one `Config`: each setting declared once, in [`ServeConfig`], as a flag, an
//! `ACTIONFLOW_*` variable and a key of the `--config` TOML file. Strength: flags > variables >
//! file > built-in defaults. Clap merges variables and flags; the file's values fill what both left
//! unset (the two parses merged as JSON, `None`s skipped); [`ServeConfig::resolve`] fills the rest
//! with the defaults and hands the libraries explicit settings. This module and `npm_discovery`
//! are the only places that read the environment.

mod flows;
mod logs;
mod sandboxes;
mod secret;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use actionflow_registry::DiscoveryInputs;
use actionflow_server::Settings;
use serde::{Deserialize, Serialize};

use crate::BadInput;
pub use flows::{set, FlowArgs};
pub use logs::LogArgs;
pub use sandboxes::SandboxArgs;
pub use secret::Secret;

/// `actionflow serve` settings; each also reads `ACTIONFLOW_<NAME>` (a flag wins over the variable)
/// and the same snake_case key in the `--config` file.
#[serde_with::skip_serializing_none]
#[derive(clap::Args, Deserialize, Serialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// A TOML file with any of these settings (snake_case keys; `[flows]`, `[limits]`, `[pools]`,
    /// `[logs]` and `[sandboxes]` tables for the grouped ones).
    #[arg(long, env = "ACTIONFLOW_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080]; port 0 picks a free port.
    #[arg(long, env = "ACTIONFLOW_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory of the SQLite database, the master key, the admin token hash and the npm cache
    /// [default: ~/.local/share/actionflow].
    #[arg(long, env = "ACTIONFLOW_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// `postgres://…` for PostgreSQL (many nodes); default: SQLite in the data dir.
    #[arg(long, env = "ACTIONFLOW_DATABASE_URL")]
    pub database_url: Option<String>,
    /// The 32-byte master key in hex; prefer the variable to the flag (flags show in `ps`). Wins
    /// over the key file.
    #[arg(long, env = "ACTIONFLOW_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<Secret>,
    /// File holding the master key (hex); created with mode 0600 when missing
    /// [default: DATA_DIR/master.key].
    #[arg(long, env = "ACTIONFLOW_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// The admin token (at least 32 characters); default: the one generated on first start,
    /// whose hash is kept in the data dir.
    #[arg(long, env = "ACTIONFLOW_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<Secret>,
    /// npm registry for dependencies (default: your npm configuration).
    #[arg(long, env = "ACTIONFLOW_REGISTRY")]
    pub registry: Option<String>,
    /// npm package cache [default: DATA_DIR/npm].
    #[arg(long, env = "ACTIONFLOW_NPM_CACHE_DIR")]
    pub npm_cache_dir: Option<PathBuf>,
    /// Longest a deploy (dependency resolution and compile) may take, in milliseconds [default: 120000].
    #[arg(long, env = "ACTIONFLOW_DEPLOY_MS_MAX")]
    pub deploy_ms_max: Option<u64>,
    /// Let actions `fetch` loopback and private addresses (local development only).
    #[arg(long, env = "ACTIONFLOW_ALLOW_PRIVATE_NETWORK")]
    pub allow_private_network: Option<bool>,
    /// The URL clients reach this server at: webtasks' `webtask_url`s, and where extensions'
    /// `ctx.storage` calls (that one URL is let through the network policy, loopback included)
    /// [default: http:// and the listening address].
    #[arg(long, env = "ACTIONFLOW_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Run due webtask cron jobs on this node (any number of nodes may: each tick runs once)
    /// [default: true].
    #[arg(long, env = "ACTIONFLOW_CRON")]
    pub cron: Option<bool>,
    /// How long a checked tenant token is trusted without reading the database again, in
    /// milliseconds; a token revoked through another node sharing the database keeps working here for
    /// at most this long (0: read every time) [default: 5000].
    #[arg(long, env = "ACTIONFLOW_TOKEN_CACHE_MS")]
    pub token_cache_ms: Option<u64>,
    #[command(flatten)]
    #[serde(default)]
    pub flows: FlowArgs,
    #[command(flatten)]
    #[serde(default)]
    pub limits: LimitArgs,
    #[command(flatten)]
    #[serde(default)]
    pub pools: PoolArgs,
    #[command(flatten)]
    #[serde(default)]
    pub logs: LogArgs,
    #[command(flatten)]
    #[serde(default)]
    pub sandboxes: SandboxArgs,
}

/// Limits on what tenants send and run; in the config file, the `[limits]` table.
#[serde_with::skip_serializing_none]
#[derive(clap::Args, Deserialize, Serialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct LimitArgs {
    /// Wall clock of one action's execution, in milliseconds (a flow's budget caps it further)
    /// [default: 20000].
    #[arg(long, env = "ACTIONFLOW_ACTION_WALL_MS_MAX")]
    pub action_wall_ms_max: Option<u64>,
    /// CPU time of one action's execution, in milliseconds: computing, not waiting (beyond it:
    /// `cpu_limit`) [default: 5000].
    #[arg(long, env = "ACTIONFLOW_ACTION_CPU_MS_MAX")]
    pub action_cpu_ms_max: Option<u64>,
    /// V8 heap of one action, in MiB [default: 128].
    #[arg(long, env = "ACTIONFLOW_ACTION_HEAP_MB_MAX")]
    pub action_heap_mb_max: Option<usize>,
    /// Size of an action's code, in bytes [default: 102400].
    #[arg(long, env = "ACTIONFLOW_CODE_BYTES_MAX")]
    pub code_bytes_max: Option<usize>,
    /// Size of a request body, in bytes [default: 524288].
    #[arg(long, env = "ACTIONFLOW_BODY_BYTES_MAX")]
    pub body_bytes_max: Option<usize>,
    /// Secrets one action may hold [default: 30].
    #[arg(long, env = "ACTIONFLOW_SECRETS_PER_ACTION_MAX")]
    pub secrets_per_action_max: Option<u32>,
    /// Dependencies one action may declare [default: 100].
    #[arg(long, env = "ACTIONFLOW_DEPENDENCIES_MAX")]
    pub dependencies_max: Option<usize>,
}

/// Sizes of the runtime pools; in the config file, the `[pools]` table.
#[serde_with::skip_serializing_none]
#[derive(clap::Args, Deserialize, Serialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct PoolArgs {
    /// Isolates running sync flows at once [default: 2 per core].
    #[arg(long, env = "ACTIONFLOW_SYNC_CONCURRENCY_MAX")]
    pub sync_concurrency_max: Option<usize>,
    /// Isolates running async jobs at once [default: 2 per core].
    #[arg(long, env = "ACTIONFLOW_ASYNC_CONCURRENCY_MAX")]
    pub async_concurrency_max: Option<usize>,
    /// Isolates running test runs and deploy checks at once [default: one per core, at least 2].
    #[arg(long, env = "ACTIONFLOW_TEST_CONCURRENCY_MAX")]
    pub test_concurrency_max: Option<usize>,
    /// Test runs and deploy checks waiting or running at once; beyond, 429 [default: 4 per core].
    #[arg(long, env = "ACTIONFLOW_TEST_WAITING_MAX")]
    pub test_waiting_max: Option<usize>,
}

pub const LISTEN_DEFAULT: &str = "127.0.0.1:8080";

/// The settings a server starts with, and where it listens.
pub struct Resolved {
    pub listen: SocketAddr,
    /// `true` when the database is PostgreSQL (for the startup line).
    pub postgres: bool,
    pub settings: Settings,
}

impl ServeConfig {
    /// Flags and variables (`self`, merged by clap) over the `--config` file.
    pub fn load(self) -> anyhow::Result<ServeConfig> {
        let Some(path) = self.config.clone() else {
            return Ok(self);
        };
        let file = read_file(&path)?;
        let mut merged = serde_json::to_value(file)?;
        overlay(&mut merged, serde_json::to_value(&self)?);
        let mut config: ServeConfig = serde_json::from_value(merged)
            .map_err(|e| BadInput(format!("--config {}: {e}", path.display())))?;
        config.config = Some(path);
        Ok(config)
    }

    /// Sets what is given onto the defaults (`Settings::defaults`): the settings the server is
    /// started with.
    pub fn resolve(self) -> anyhow::Result<Resolved> {
        let data_dir = self.data_dir.unwrap_or_else(default_data_dir);
        let listen = match self.listen {
            Some(listen) => listen,
            None => LISTEN_DEFAULT
                .parse()
                .map_err(|_| BadInput("the default listen address is invalid".into()))?,
        };
        let database_url = self.database_url.filter(|u| !u.trim().is_empty());
        let postgres = database_url.is_some();
        let mut s = Settings::defaults(data_dir, database_url);
        s.master_key = self.master_key.map(Secret::into_inner);
        s.admin_token = self.admin_token.map(Secret::into_inner);
        set(&mut s.master_key_file, self.master_key_file);
        set(&mut s.npm_cache_dir, self.npm_cache_dir);
        s.npm_discovery = npm_discovery(self.registry);
        set(&mut s.allow_private_network, self.allow_private_network);
        s.webtasks.public_url = self.public_url.filter(|u| !u.trim().is_empty());
        set(&mut s.webtasks.cron_enabled, self.cron);
        s.webtasks.cron.node = format!("actionflow-{}", std::process::id());
        s.host_modules = crate::integrations::host_modules(s.allow_private_network);
        set(&mut s.action_limits.deploy_ms_max, self.deploy_ms_max);
        set(
            &mut s.token_cache,
            self.token_cache_ms.map(Duration::from_millis),
        );
        self.limits.apply(&mut s);
        self.pools.apply(&mut s);
        self.flows.apply(&mut s.flows);
        self.logs.apply(&mut s.logs)?;
        self.sandboxes.apply(&mut s.sandboxes)?;
        Ok(Resolved {
            listen,
            postgres,
            settings: s,
        })
    }
}

impl LimitArgs {
    fn apply(self, s: &mut Settings) {
        let execution = &mut s.action_limits.execution;
        set(&mut execution.wall_ms_max, self.action_wall_ms_max);
        set(&mut execution.cpu_ms_max, self.action_cpu_ms_max);
        set(
            &mut execution.heap_bytes_max,
            self.action_heap_mb_max
                .map(|mb| mb.saturating_mul(1024 * 1024)),
        );
        let limits = &mut s.action_limits;
        set(&mut limits.code_bytes_max, self.code_bytes_max);
        set(
            &mut limits.secrets_per_action_max,
            self.secrets_per_action_max,
        );
        set(&mut limits.dependencies_max, self.dependencies_max);
        set(&mut s.api_limits.body_bytes_max, self.body_bytes_max);
    }
}

impl PoolArgs {
    fn apply(self, s: &mut Settings) {
        let at_least_one = |n: Option<usize>| n.map(|n| n.max(1));
        set(
            &mut s.sync_concurrency_max,
            at_least_one(self.sync_concurrency_max),
        );
        set(
            &mut s.async_concurrency_max,
            at_least_one(self.async_concurrency_max),
        );
        set(
            &mut s.tests.concurrency_max,
            at_least_one(self.test_concurrency_max),
        );
        set(
            &mut s.tests.waiting_max,
            at_least_one(self.test_waiting_max),
        );
    }
}

/// What the registry crate needs to find the user's npm registry: the flag, the environment, the
/// current and home directories.
pub fn npm_discovery(registry_flag: Option<String>) -> DiscoveryInputs {
    DiscoveryInputs {
        registry_flag,
        env: std::env::vars().collect(),
        project_dir: std::env::current_dir().ok(),
        home_dir: std::env::var_os("HOME").map(PathBuf::from),
        npm_program: None,
    }
}

/// Sets every member of `over` onto `base`, recursing into tables.
fn overlay(base: &mut serde_json::Value, over: serde_json::Value) {
    match (base, over) {
        (serde_json::Value::Object(base), serde_json::Value::Object(over)) => {
            for (key, value) in over {
                match base.get_mut(&key) {
                    Some(slot) if slot.is_object() && value.is_object() => overlay(slot, value),
                    _ => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, over) => *base = over,
    }
}

fn read_file(path: &Path) -> anyhow::Result<ServeConfig> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| BadInput(format!("--config {}: cannot read it: {e}", path.display())))?;
    toml::from_str(&text)
        .map_err(|e| BadInput(format!("--config {}: {}", path.display(), e.message())).into())
}

/// `$XDG_DATA_HOME/actionflow`, else `~/.local/share/actionflow`, else `./actionflow-data`.
fn default_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("actionflow");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".local/share/actionflow"),
        None => PathBuf::from("actionflow-data"),
    }
}

/// `$XDG_CACHE_HOME/actionflow/npm`, else `~/.cache/actionflow/npm` (`actionflow run`'s cache).
pub fn default_cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("actionflow").join("npm")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn flags_win_over_the_file_which_wins_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("af.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9999\"\ndata_dir = \"/srv/af\"\ndeploy_ms_max = 5\n\
             [flows]\nattempts_max = 3\nflow_ms_max = 100\n[pools]\ntest_waiting_max = 9\n\
             [logs]\nlog_retention_days = 3\nlog_stream_suspend_after = \"12h\"\n",
        )
        .unwrap();
        let args = ServeConfig {
            config: Some(file),
            deploy_ms_max: Some(7),
            flows: FlowArgs {
                flow_ms_max: Some(200),
                ..FlowArgs::default()
            },
            logs: LogArgs {
                log_retention_days: Some(5),
                ..LogArgs::default()
            },
            ..ServeConfig::default()
        };
        let resolved = args.load().unwrap().resolve().unwrap();
        let settings = resolved.settings;
        assert_eq!(resolved.listen.port(), 9999);
        assert_eq!(settings.action_limits.deploy_ms_max, 7);
        assert_eq!(settings.flows.dispatch.flow_ms_max, 200, "flag over file");
        assert_eq!(settings.flows.dispatch.attempts_max, 3, "file over default");
        assert_eq!(settings.tests.waiting_max, 9);
        assert_eq!(
            settings.logs.retention,
            Duration::from_secs(5 * 86400),
            "flag"
        );
        assert_eq!(
            settings.logs.suspend_after,
            Duration::from_secs(12 * 3600),
            "file"
        );
        assert_eq!(
            settings.master_key_file,
            PathBuf::from("/srv/af/master.key")
        );
        assert_eq!(settings.database_location, "/srv/af/actionflow.db");
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("af.toml");
        std::fs::write(&file, "listn = \"127.0.0.1:1\"\n").unwrap();
        let error = ServeConfig {
            config: Some(file),
            ..ServeConfig::default()
        }
        .load()
        .unwrap_err();
        assert!(error.to_string().contains("listn"), "{error}");
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let config = ServeConfig {
            master_key: Some("ab".repeat(32).parse().unwrap()),
            admin_token: Some("af_secret_admin_token_value_0123456789".parse().unwrap()),
            ..ServeConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("abab") && !shown.contains("af_secret"),
            "{shown}"
        );
    }
}
