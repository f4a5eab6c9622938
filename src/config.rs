//! The server's one `Config`: built-in defaults < a TOML config file < `ACTIONFLOW_*` environment
//! variables < command-line flags. Clap merges env and flags (a flag wins); the file fills what
//! both left unset; defaults fill the rest. Libraries never read env or files: they receive the
//! explicit settings resolved here.

use crate::BadInput;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// `actionflow serve` flags; each also reads `ACTIONFLOW_<NAME>` (a flag wins over the variable).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ServeArgs {
    /// A TOML file with any of the settings below (snake_case keys).
    #[arg(long, env = "ACTIONFLOW_CONFIG")]
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
    /// File holding the 32-byte master key (hex); created with mode 0600 when missing
    /// [default: DATA_DIR/master.key]. `ACTIONFLOW_MASTER_KEY` (hex) takes precedence.
    #[arg(long, env = "ACTIONFLOW_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
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
    /// How long a checked tenant token is trusted without reading the database again, in
    /// milliseconds; a token revoked through another node sharing the database keeps working here for
    /// at most this long (0: read every time) [default: 5000].
    #[arg(long, env = "ACTIONFLOW_TOKEN_CACHE_MS")]
    pub token_cache_ms: Option<u64>,
    #[command(flatten)]
    pub flows: crate::flows::FlowArgs,
}

/// The same settings as read from the config file.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    master_key_file: Option<PathBuf>,
    registry: Option<String>,
    npm_cache_dir: Option<PathBuf>,
    deploy_ms_max: Option<u64>,
    allow_private_network: Option<bool>,
    token_cache_ms: Option<u64>,
    /// The `[flows]` table.
    #[serde(default)]
    flows: crate::flows::FlowArgs,
}

/// Resolved settings of a server.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `None`: SQLite at `DATA_DIR/actionflow.db`.
    pub database_url: Option<String>,
    pub master_key_file: PathBuf,
    pub registry: Option<String>,
    pub npm_cache_dir: PathBuf,
    pub deploy_ms_max: u64,
    pub allow_private_network: bool,
    /// How long a checked tenant token is trusted (zero: not cached).
    pub token_cache: std::time::Duration,
    pub flows: crate::flows::FlowSettings,
}

pub const LISTEN_DEFAULT: &str = "127.0.0.1:8080";
pub const DEPLOY_MS_MAX_DEFAULT: u64 = 120_000;

impl Config {
    /// Merges flags/env (already merged by clap) over the config file over the defaults.
    pub fn load(args: ServeArgs) -> anyhow::Result<Config> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let data_dir = args
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(default_data_dir);
        let listen = match args.listen.or(file.listen) {
            Some(listen) => listen,
            None => LISTEN_DEFAULT
                .parse()
                .map_err(|_| BadInput("the default listen address is invalid".into()))?,
        };
        Ok(Config {
            listen,
            database_url: args
                .database_url
                .or(file.database_url)
                .filter(|u| !u.trim().is_empty()),
            master_key_file: args
                .master_key_file
                .or(file.master_key_file)
                .unwrap_or_else(|| data_dir.join("master.key")),
            registry: args.registry.or(file.registry),
            npm_cache_dir: args
                .npm_cache_dir
                .or(file.npm_cache_dir)
                .unwrap_or_else(|| data_dir.join("npm")),
            deploy_ms_max: args
                .deploy_ms_max
                .or(file.deploy_ms_max)
                .unwrap_or(DEPLOY_MS_MAX_DEFAULT),
            allow_private_network: args
                .allow_private_network
                .or(file.allow_private_network)
                .unwrap_or(false),
            token_cache: args.token_cache_ms.or(file.token_cache_ms).map_or(
                crate::server::token_cache::TOKEN_CACHE_TTL,
                std::time::Duration::from_millis,
            ),
            flows: args.flows.resolve(file.flows),
            data_dir,
        })
    }

    /// What `actionflow_store::open` receives: the PostgreSQL URL or the SQLite file path.
    pub fn database_location(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => self.data_dir.join("actionflow.db").display().to_string(),
        }
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
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
            "listen = \"127.0.0.1:9999\"\ndata_dir = \"/srv/af\"\ndeploy_ms_max = 5\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(file),
            deploy_ms_max: Some(7),
            ..ServeArgs::default()
        };
        let config = Config::load(args).unwrap();
        assert_eq!(config.listen.port(), 9999);
        assert_eq!(config.deploy_ms_max, 7);
        assert_eq!(config.master_key_file, PathBuf::from("/srv/af/master.key"));
        assert_eq!(config.database_location(), "/srv/af/actionflow.db");
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("af.toml");
        std::fs::write(&file, "listn = \"127.0.0.1:1\"\n").unwrap();
        let error = Config::load(ServeArgs {
            config: Some(file),
            ..ServeArgs::default()
        })
        .unwrap_err();
        assert!(error.to_string().contains("listn"), "{error}");
    }
}
