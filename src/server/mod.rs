//! `actionflow serve`: the Actions HTTP API (axum) over the store, the runtime and the registry.
//!
//! # Code map
//! - `mod.rs` — [`ServerState`] (one per process, shared as [`AppState`]), startup, [`app`] which
//!   merges every resource's router, and the listener.
//! - `error.rs` — [`ApiError`] and the table of public error codes → HTTP status. Every handler
//!   returns `ApiResult<_>`; store errors convert with `?` (NotFound → 404, Conflict → 409, …),
//!   and a 5xx never carries internal text.
//! - `extract.rs` — strict [`extract::JsonBody`] and [`extract::QueryParams`]: unknown fields,
//!   wrong types and oversize bodies become errors naming the field.
//! - `auth.rs` — the [`auth::Admin`] and [`auth::Tenant`] extractors; `tenant.require(scope)`;
//!   `token_cache.rs` — recently checked tenant tokens (short TTL, forgotten when revoked here).
//! - one module per resource: `tenants`, `actions`, `deploy`, `versions`, `diff`, `secrets`,
//!   `test_run`.
//!
//! # Adding a resource
//! 1. Write `src/server/<resource>.rs` with handlers annotated `#[utoipa::path(...)]` (tag, params,
//!    request body, responses with [`error::ErrorBody`] for errors) and
//!    `pub fn router() -> OpenApiRouter<AppState>` built with `routes!(...)`.
//! 2. Take `tenant: auth::Tenant` as the first extractor and call `tenant.require(SCOPE)?`; pass
//!    `&tenant.tenant_id` to every store call, so another tenant's ids are 404.
//! 3. Bodies are `JsonBody<Dto>` where `Dto` is `#[serde(deny_unknown_fields)]` + `ToSchema`;
//!    queries `QueryParams<Q>` (`IntoParams`), path parameters `extract::Path` (not axum's, whose
//!    rejections are plain text); validate values into `ApiError::invalid(field, …)`.
//! 4. Merge the router in [`app`]; `/openapi.json` then documents it.
//!
//! # Invariants
//! - The server knows nothing of SQL: it calls `Arc<dyn Store>` with tenant ids from the token.
//! - Secret values are decrypted only into a runtime request; no response or log line holds one.

pub mod action_view;
pub mod actions;
pub mod auth;
pub mod binding_revisions;
pub mod bindings;
pub mod deploy;
pub mod diff;
pub mod dispatch;
pub mod error;
pub mod executions;
pub mod extract;
pub mod logs;
pub mod master_key;
pub mod secrets;
pub mod tenants;
pub mod test_run;
pub mod token_cache;
pub mod triggers;
pub mod validate;
pub mod versions;

use crate::config::Config;
use crate::packages::Packages;
use crate::secrets::Sealer;
use actionflow_runtime::{PoolConfig, Runtime};
use actionflow_store::SharedStore;
use anyhow::Context;
use axum::extract::DefaultBodyLimit;
use axum::Router;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;

pub use error::ApiError;

/// Bounds on API input. Units last.
#[derive(Debug, Clone)]
pub struct ApiLimits {
    pub body_bytes_max: usize,
    pub code_bytes_max: usize,
    pub name_chars_max: usize,
    pub dependencies_max: usize,
    pub secrets_per_action_max: u32,
    pub secret_name_chars_max: usize,
    pub secret_value_bytes_max: usize,
    pub per_page_max: u32,
    pub deploy_ms_max: u64,
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            body_bytes_max: 512 * 1024,
            code_bytes_max: 100 * 1024,
            name_chars_max: 128,
            dependencies_max: 100,
            secrets_per_action_max: 30,
            secret_name_chars_max: 128,
            secret_value_bytes_max: 4 * 1024,
            per_page_max: 100,
            deploy_ms_max: crate::config::DEPLOY_MS_MAX_DEFAULT,
        }
    }
}

/// Everything a handler needs, built once at startup.
pub struct ServerState {
    pub store: SharedStore,
    /// Test runs and deploy checks: a pool of their own, so a tenant's tests never take the places
    /// dispatched flows need (those run on the runtime `flows` holds); `test_permits` bounds how many
    /// wait for it (beyond: 429).
    pub tests: Runtime,
    pub test_permits: Arc<tokio::sync::Semaphore>,
    pub packages: Packages,
    pub sealer: Sealer,
    pub admin_token_hash: [u8; 32],
    /// Tenant tokens checked recently (see `token_cache.rs`).
    pub tokens: token_cache::TokenCache,
    pub limits: ApiLimits,
    /// Triggers: bindings, dispatch, async workers' dispatcher, live logs.
    pub flows: crate::flows::Flows,
}

/// The router's state: cheap to clone.
pub type AppState = Arc<ServerState>;

/// How the admin token was obtained, for the startup message.
pub enum AdminToken {
    /// From `ACTIONFLOW_ADMIN_TOKEN`.
    FromEnv,
    /// Generated now: shown once.
    Generated(String),
    /// Generated on an earlier first start; its hash is in this file.
    Stored(std::path::PathBuf),
}

/// Opens the store (running migrations), loads or creates the master key and the admin token.
pub async fn build_state(config: &Config) -> anyhow::Result<(AppState, AdminToken)> {
    // The data dir holds tenants' code, events and token hashes: readable by this user only.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&config.data_dir)
        .with_context(|| format!("creating the data dir {}", config.data_dir.display()))?;
    let store = actionflow_store::open(&config.database_location())
        .await
        .context("opening the database")?;
    let master_key = std::env::var("ACTIONFLOW_MASTER_KEY").ok();
    // Refuses to start (one line) when the key is not the one the database was written with.
    let sealer = master_key::load(
        store.as_ref(),
        master_key.as_deref(),
        &config.master_key_file,
    )
    .await?;
    let (admin_token_hash, admin) = admin_token(&config.data_dir)?;
    let runtime = crate::integrations::runtime(PoolConfig {
        allow_private_network: config.allow_private_network,
        ..PoolConfig::default()
    })
    .context("starting the runtime")?;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let async_runtime = crate::integrations::runtime(PoolConfig {
        allow_private_network: config.allow_private_network,
        ..PoolConfig::default()
    })
    .context("starting the async workers' runtime")?;
    let tests = crate::integrations::runtime(PoolConfig {
        allow_private_network: config.allow_private_network,
        concurrency_max: cores.div_ceil(2),
        warm_isolates_max: 16,
        spare_isolates: 1,
        ..PoolConfig::default()
    })
    .context("starting the test runtime")?;
    let test_permits = Arc::new(tokio::sync::Semaphore::new(cores * 4));
    let packages = Packages::open(&config.npm_cache_dir, config.registry.clone())?;
    let limits = ApiLimits {
        deploy_ms_max: config.deploy_ms_max,
        ..ApiLimits::default()
    };
    let state = Arc::new_cyclic(|me| ServerState {
        flows: crate::flows::Flows::new(
            me.clone(),
            store.clone(),
            runtime,
            async_runtime,
            config.flows.clone(),
        ),
        store,
        tests,
        test_permits,
        packages,
        sealer,
        admin_token_hash,
        tokens: token_cache::TokenCache::new(config.token_cache),
        limits,
    });
    Ok((state, admin))
}

/// The admin token's hash: from `ACTIONFLOW_ADMIN_TOKEN`, from the hash kept in the data dir, or
/// a new token whose hash is kept there (mode 0600) and which is shown once.
fn admin_token(data_dir: &Path) -> anyhow::Result<([u8; 32], AdminToken)> {
    if let Ok(token) = std::env::var("ACTIONFLOW_ADMIN_TOKEN") {
        if !token.trim().is_empty() {
            if token.trim().len() < 32 {
                anyhow::bail!(
                    "ACTIONFLOW_ADMIN_TOKEN must be at least 32 characters (a random value, e.g. from `openssl rand -hex 32`)"
                );
            }
            return Ok((auth::hash_token(token.trim()), AdminToken::FromEnv));
        }
    }
    let path = data_dir.join("admin-token.sha256");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let bytes = hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok());
        let hash: [u8; 32] = bytes.with_context(|| {
            format!(
                "{} does not hold a SHA-256 in hex; delete it to get a new admin token",
                path.display()
            )
        })?;
        return Ok((hash, AdminToken::Stored(path)));
    }
    let token = auth::new_token();
    let hash = auth::hash_token(&token);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    std::io::Write::write_all(&mut file, format!("{}\n", hex::encode(hash)).as_bytes())?;
    file.sync_all()?;
    Ok((hash, AdminToken::Generated(token)))
}

/// Every resource's routes, the OpenAPI document at `/openapi.json`, the body limit and the JSON 404.
pub fn app(state: AppState) -> Router {
    let (router, api) = OpenApiRouter::with_openapi(crate::openapi::base())
        .merge(tenants::router())
        .merge(actions::router())
        .merge(deploy::router())
        .merge(versions::router())
        .merge(diff::router())
        .merge(secrets::router())
        .merge(test_run::router())
        .merge(triggers::router())
        .merge(bindings::router())
        .merge(binding_revisions::router())
        .merge(dispatch::router())
        .merge(executions::router())
        .merge(logs::router())
        .split_for_parts();
    let body_bytes_max = state.limits.body_bytes_max;
    router
        .merge(crate::openapi::router(api))
        .fallback(|| async { ApiError::not_found("path", "endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                error::Code::MethodNotAllowed,
                "method".to_owned(),
                "this endpoint does not accept that method",
            )
        })
        .layer(DefaultBodyLimit::max(body_bytes_max))
        .with_state(state)
}

/// Serves until Ctrl-C (or SIGTERM), with the async workers running; on shutdown, stops taking
/// requests, then lets the attempts in flight finish.
pub async fn run(listener: tokio::net::TcpListener, state: AppState) -> anyhow::Result<()> {
    let background = crate::flows::Background::start(&state.flows);
    let (stop, mut stopping) = tokio::sync::watch::channel(false);
    let serve = axum::serve(listener, app(state)).with_graceful_shutdown(async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    });
    let mut serving = tokio::spawn(async move { serve.await });
    let early = tokio::select! {
        served = &mut serving => Some(served),
        () = shutdown_signal() => None,
    };
    let _ = stop.send(true);
    let served = match early {
        Some(served) => served,
        // Open streams (live logs) never end by themselves: connections get a grace, then go.
        None => match tokio::time::timeout(SHUTDOWN_GRACE, &mut serving).await {
            Ok(served) => served,
            Err(_) => {
                tracing::warn!("connections still open after the shutdown grace: closing them");
                serving.abort();
                Ok(Ok(()))
            }
        },
    };
    background.stop().await;
    served
        .context("the HTTP server task failed")?
        .context("serving HTTP")
}

/// How long open connections may take to finish once shutdown starts.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
