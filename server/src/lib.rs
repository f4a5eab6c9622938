//! `actionflow-server` owns the HTTP API (axum) of `actionflow serve`: authentication and scopes,
//! strict extractors, DTOs and the OpenAPI document, over the action lifecycle
//! ([`actionflow_actions`]) and triggers ([`actionflow_triggers`]). Each handler extracts, checks
//! the scope, calls the domain and maps the result to a DTO: it holds no status transition and no
//! cryptography. It never reads the environment or a config file: the binary hands it [`Settings`].
//!
//! # Code map
//! - `lib.rs` — [`Settings`], [`ServerState`] (one per process, shared as [`AppState`]), startup,
//!   [`app`] which merges every resource's router, and the listener.
//! - `error.rs` — [`ApiError`]: a code of the one table (`actionflow_actions::Code`), a message and
//!   the field. Domain errors convert with `?`; a 5xx never carries internal text.
//! - `extract.rs` — strict [`extract::JsonBody`] and [`extract::QueryParams`]: unknown fields,
//!   wrong types and oversize bodies become errors naming the field.
//! - `auth.rs` — the [`auth::Admin`] and [`auth::Tenant`] extractors; `tenant.require(scope)`;
//!   `token_cache.rs` — recently checked tenant tokens (short TTL, forgotten when revoked here);
//!   `session.rs` — the dashboard's sign-in: a token for an HttpOnly session cookie, CSRF tokens.
//! - `dashboard.rs` — the dashboard's built files (`dashboard/dist/`, embedded) at `/`, with a
//!   strict Content-Security-Policy.
//! - `background.rs` — the dispatchers over the sync and async runtimes, and the background tasks
//!   (async worker, log streams' deliverer, the executions' and the tenant log's retention purges).
//! - `log_hooks.rs` — [`TenantLogs`] (the tenant log domain, and the writer of Actionflow's own
//!   events: dispatches, deploys, `sapi`/`fapi` management calls).
//! - one module per resource: `tenants`, `actions`, `deploy`, `versions`, `diff`, `secrets`,
//!   `test_run`, `triggers`, `bindings`, `binding_revisions`, `dispatch`, `executions`, `logs`
//!   (an action's console lines), `tenant_logs` (`/v1/logs`), `log_streams` (`/v1/log-streams`),
//!   `marketplace/` (`/v1/marketplace/*`, `/v1/integrations/installed`).
//!
//! # Adding a resource
//! 1. Write `server/src/<resource>.rs` with handlers annotated `#[utoipa::path(...)]` (tag, params,
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

mod action_view;
mod actions;
pub mod auth;
mod background;
mod binding_revisions;
mod bindings;
mod dashboard;
mod deploy;
mod diff;
mod dispatch;
pub mod error;
mod executions;
pub mod extract;
mod listener;
mod log_hooks;
mod log_streams;
mod logs;
mod marketplace;
mod openapi;
mod secrets;
mod session;
mod settings;
mod tenant_logs;
mod tenants;
mod test_run;
mod token_cache;
mod triggers;
mod versions;
mod webtasks;

use actionflow_actions::{master_key, Actions, Packages};
use actionflow_runtime::{Engine, PoolConfig, Runtime};
use actionflow_sandbox::{GroupConfig, Init, Launch, Sandboxes};
use actionflow_store::SharedStore;
use actionflow_triggers::{Quarantines, TenantLimits, TENANT_LIMITS_TTL};
use axum::extract::DefaultBodyLimit;
use axum::Router;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;

pub use background::{Background, Dispatchers};
pub use error::ApiError;
pub use log_hooks::TenantLogs;
pub use settings::{
    ApiLimits, FlowSettings, LogSettings, SandboxSettings, Settings, StartError, TestPool,
    WebtaskSettings, SANDBOX_CRASHES_MAX, SANDBOX_CRASH_WINDOW,
};
pub use token_cache::TOKEN_CACHE_TTL;

/// Everything a handler needs, built once at startup.
pub struct ServerState {
    pub store: SharedStore,
    /// The action lifecycle: drafts, secrets, deploys, versions, test runs.
    pub actions: Actions,
    pub admin_token_hash: [u8; 32],
    /// Tenant tokens checked recently (see `token_cache.rs`).
    pub tokens: token_cache::TokenCache,
    pub limits: ApiLimits,
    /// Triggers: bindings, dispatch, async workers' dispatcher, live logs.
    pub dispatchers: Dispatchers,
    /// The tenant log, its streams and the writer of Actionflow's own events.
    pub logs: TenantLogs,
    /// Tenants' own execution limits, as executions read them (forgotten here when changed).
    pub tenant_limits: Arc<TenantLimits>,
    /// The marketplace: submissions, checks, review, catalog, installed copies.
    pub marketplace: actionflow_marketplace::Marketplace,
    /// Webtasks: extensions, their runs, storage, cron and live console.
    pub webtasks: actionflow_webtasks::Webtasks,
    /// How this node's cron scheduler runs (`None`: it runs none).
    pub cron: Option<actionflow_webtasks::CronSettings>,
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

/// Opens the store (running migrations), checks the master key against it, loads or creates the
/// admin token, and starts the runtime pools: sync flows, async workers, and test runs.
pub async fn build_state(settings: Settings) -> Result<(AppState, AdminToken), StartError> {
    // The data dir holds tenants' code, events and token hashes: readable by this user only.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&settings.data_dir)
        .map_err(StartError::io("creating the data dir", &settings.data_dir))?;
    let store = actionflow_store::open(&settings.database_location)
        .await
        .map_err(StartError::Store)?;
    // Refuses to start (one line) when the key is not the one the database was written with.
    let sealer = master_key::load(
        store.as_ref(),
        settings.master_key.as_deref(),
        &settings.master_key_file,
    )
    .await?;
    let (admin_token_hash, admin) =
        admin_token(settings.admin_token.as_deref(), &settings.data_dir)?;
    // The package cache first: sandboxes are confined to it, and Landlock can only grant a
    // directory that exists when the sandbox starts.
    let packages = Packages::open(&settings.npm_cache_dir, settings.npm_discovery.clone())
        .map_err(|error| StartError::Packages {
            dir: settings.npm_cache_dir.display().to_string(),
            error,
        })?;
    let engines = engines(&settings)?;
    let logs = TenantLogs::new(
        &store,
        Arc::new(sealer.clone()),
        settings.logs.clone(),
        settings.allow_private_network,
    );
    let tenant_limits = TenantLimits::new(store.clone(), TENANT_LIMITS_TTL);
    // A submission's checks run partners' code like any tenant's: in the test engine.
    let checks = engines.tests.clone();
    let actions = Actions::new(
        store.clone(),
        sealer,
        packages,
        engines.tests,
        settings.tests.waiting_max,
        settings.action_limits.clone(),
        tenant_limits.clone(),
    );
    // Extensions run where sync flows run: the same sandboxes, isolate reuse and network policy.
    // The programming models' package goes where sandboxes may read: the package cache.
    let models = actionflow_webtasks::wrap::install_models(&settings.npm_cache_dir).map_err(
        StartError::io("writing the webtask models into", &settings.npm_cache_dir),
    )?;
    let webtasks = actionflow_webtasks::Webtasks::new(
        store.clone(),
        actions.preparer(),
        engines.sync.clone(),
        settings.webtasks.limits.clone(),
        models,
    );
    if let Some(url) = &settings.webtasks.public_url {
        webtasks.set_base_url(url);
    }
    // The console follows every node's runs (PostgreSQL); it is live only, so a failure to listen
    // leaves this node's own lines and is said.
    if let Err(error) = webtasks.logs().connect(store.clone()).await {
        tracing::warn!(%error, "the webtask console shows this node's runs only");
    }
    let dispatchers = Dispatchers::new(
        store.clone(),
        actions.preparer(),
        tenant_limits.clone(),
        Quarantines::new(
            store.clone(),
            settings.sandboxes.crashes_max,
            settings.sandboxes.crash_window,
        ),
        settings.action_limits.execution.clone(),
        background::FlowEngines {
            sync: engines.sync,
            queued: engines.queued,
        },
        settings.flows.clone(),
    );
    let marketplace = actionflow_marketplace::Marketplace::new(
        store.clone(),
        actions.clone(),
        checks,
        actionflow_marketplace::MarketplaceLimits::for_actions(&settings.action_limits),
    );
    let state = Arc::new(ServerState {
        store,
        actions,
        admin_token_hash,
        tokens: token_cache::TokenCache::new(settings.token_cache),
        limits: settings.api_limits.clone(),
        dispatchers,
        logs,
        tenant_limits,
        marketplace,
        webtasks,
        cron: settings
            .webtasks
            .cron_enabled
            .then(|| settings.webtasks.cron.clone()),
    });
    Ok((state, admin))
}

/// What runs sync flows, async jobs, and test runs with deploy checks.
struct Engines {
    sync: Arc<dyn Engine>,
    queued: Arc<dyn Engine>,
    tests: Arc<dyn Engine>,
}

/// The three engines: groups of sandbox processes, or (with no sandboxes) runtimes in this process.
/// A pool's places are shared among its group's processes.
fn engines(settings: &Settings) -> Result<Engines, StartError> {
    let pool = |concurrency_max: usize| PoolConfig {
        concurrency_max: concurrency_max.max(1),
        allow_private_network: settings.allow_private_network,
        ..PoolConfig::default()
    };
    let tests_pool = PoolConfig {
        warm_isolates_max: settings.tests.warm_isolates_max,
        spare_isolates: 1,
        ..pool(settings.tests.concurrency_max)
    };
    let sandboxes = &settings.sandboxes;
    if sandboxes.processes == 0 {
        let runtime =
            |pool: PoolConfig, what: &'static str| -> Result<Arc<dyn Engine>, StartError> {
                let runtime = Runtime::with_host_modules(pool, settings.host_modules.clone())
                    .map_err(|error| StartError::Runtime { what, error })?;
                Ok(Arc::new(runtime))
            };
        return Ok(Engines {
            sync: runtime(
                pool(settings.sync_concurrency_max),
                "the sync flows' runtime",
            )?,
            queued: runtime(
                pool(settings.async_concurrency_max),
                "the async workers' runtime",
            )?,
            tests: runtime(tests_pool, "the test runtime")?,
        });
    }
    let group = |what: &'static str,
                 processes: usize,
                 pool: PoolConfig|
     -> Result<Arc<dyn Engine>, StartError> {
        let processes = processes.max(1);
        // Each process gets its part of the places, at least two (a tenant's share is half).
        let per_process = pool.concurrency_max.div_ceil(processes).max(2);
        let launch = Launch {
            program: sandboxes.program.clone(),
            args: sandboxes.args.clone(),
            init: Init {
                pool: PoolConfig {
                    concurrency_max: per_process,
                    ..pool
                },
                readable: vec![settings.npm_cache_dir.clone()],
                snapshot_bytes: 0,
                test_ops: sandboxes.test_ops,
            },
        };
        let config = GroupConfig {
            processes,
            memory_bytes_max: sandboxes.memory_bytes_max,
            ..GroupConfig::default()
        };
        let group = Sandboxes::start(what, launch, config)
            .map_err(|error| StartError::Sandbox { what, error })?;
        Ok(Arc::new(group))
    };
    Ok(Engines {
        sync: group(
            "the sync flows' sandboxes",
            sandboxes.processes,
            pool(settings.sync_concurrency_max),
        )?,
        queued: group(
            "the async workers' sandboxes",
            sandboxes.processes / 2,
            pool(settings.async_concurrency_max),
        )?,
        tests: group("the test sandbox", 1, tests_pool)?,
    })
}

/// The admin token's hash: the configured one, the hash kept in the data dir, or a new token
/// whose hash is kept there (mode 0600) and which is shown once.
fn admin_token(
    configured: Option<&str>,
    data_dir: &Path,
) -> Result<([u8; 32], AdminToken), StartError> {
    if let Some(token) = configured.map(str::trim).filter(|t| !t.is_empty()) {
        if token.len() < 32 {
            return Err(StartError::ShortAdminToken);
        }
        return Ok((auth::hash_token(token), AdminToken::FromEnv));
    }
    let path = data_dir.join("admin-token.sha256");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let bytes = hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok());
        let hash: [u8; 32] = bytes.ok_or_else(|| StartError::BadAdminTokenFile {
            path: path.display().to_string(),
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
    let written = options.open(&path).and_then(|mut file| {
        std::io::Write::write_all(&mut file, format!("{}\n", hex::encode(hash)).as_bytes())?;
        file.sync_all()
    });
    written.map_err(StartError::io("creating", &path))?;
    Ok((hash, AdminToken::Generated(token)))
}

/// Every resource's routes, the OpenAPI document at `/openapi.json`, the body limit and the JSON 404.
pub fn app(state: AppState) -> Router {
    let (router, api) = OpenApiRouter::with_openapi(openapi::base())
        .merge(session::router())
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
        .merge(tenant_logs::router())
        .merge(log_streams::router())
        .merge(webtasks::router(&state.webtasks))
        .merge(marketplace::router(
            state.marketplace.limits().package.package_bytes_max,
        ))
        .split_for_parts();
    let body_bytes_max = state.limits.body_bytes_max;
    router
        .merge(openapi::router(api))
        .merge(dashboard::router())
        .fallback(|| async { ApiError::not_found("path", "endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                error::Code::MethodNotAllowed,
                "method".to_owned(),
                "this endpoint does not accept that method",
            )
        })
        .layer(DefaultBodyLimit::max(body_bytes_max))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            log_hooks::audit,
        ))
        .layer(axum::middleware::map_response(error::json_errors))
        .with_state(state)
}

/// Serves until Ctrl-C (or SIGTERM), with the async workers running; on shutdown, stops taking
/// requests, then lets the attempts in flight finish.
pub async fn run(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    if let Ok(address) = listener.local_addr() {
        // Without a configured public URL, extensions answer (and call their storage) here.
        state.webtasks.set_base_url(&format!("http://{address}"));
    }
    let background = Background::start(&state.dispatchers, &state.logs)
        .with_cron(&state.webtasks, state.cron.clone())
        .with_marketplace_checks(&state.marketplace);
    let (stop, mut stopping) = tokio::sync::watch::channel(false);
    let listener = listener::JsonErrorsListener(listener);
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
    served.map_err(std::io::Error::other)?
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
