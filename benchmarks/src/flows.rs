//! `actionflow-bench flows`: sync dispatch over HTTP of post-login with three bound actions (p50/p99
//! latency and requests/s from `--concurrency` clients on loopback), and async delivery (jobs/s from
//! a full queue to every execution final) on SQLite and, with `--postgres-url`, PostgreSQL. Each
//! backend gets a fresh server in this process on 127.0.0.1:0; load generator and server share the
//! machine, so the numbers are a floor. Prints a Markdown table.

use crate::flows_setup::{bind, deploy, percentile_ms, setup_tenant, tenant_of, timed};
use actionflow_server::{AppState, Background};
use actionflow_store::{ExecutionFilter, ExecutionStatus, Page};
use anyhow::bail;
use serde_json::json;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct BenchFlowsArgs {
    /// Sync dispatches per backend.
    #[arg(long, default_value_t = 5_000)]
    requests: usize,
    /// Sync dispatches in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Async jobs per backend.
    #[arg(long, default_value_t = 5_000)]
    jobs: usize,
    /// Actions bound to post-login for the sync measure (at most 3; 0: dispatch alone).
    #[arg(long, default_value_t = 3)]
    sync_actions: usize,
    /// Actions bound to post-user-registration for the async measure (0: the queue alone).
    #[arg(long, default_value_t = 1)]
    async_actions: usize,
    /// Async executions each worker runs at once.
    #[arg(long, default_value_t = 128)]
    jobs_in_flight_max: usize,
    /// An admin PostgreSQL URL (a fresh database is created on it and dropped); SQLite only without.
    #[arg(long, env = "ACTIONFLOW_BENCH_DATABASE_URL")]
    postgres_url: Option<String>,
}

/// The three actions of the sync flow: a claim, a metadata change the next one reads, a check.
pub(crate) const SYNC_ACTIONS: [&str; 3] = [
    r#"exports.onExecutePostLogin = async (event, api) => {
  api.accessToken.setCustomClaim("https://example.com/roles", event.user.app_metadata.roles);
};"#,
    r#"exports.onExecutePostLogin = async (event, api) => {
  api.user.setAppMetadata("last_country", event.request.geoip.countryCode);
};"#,
    r#"exports.onExecutePostLogin = async (event, api) => {
  if (!event.user.email_verified) api.access.deny("verify your email first");
  api.idToken.setCustomClaim("country", event.user.app_metadata.last_country);
};"#,
];

const ASYNC_ACTION: &str = r#"exports.onExecutePostUserRegistration = async (event, api) => {
  if (!event.user.user_id) throw new Error("no user");
};"#;

struct Row {
    backend: &'static str,
    what: String,
    count: usize,
    per_second: f64,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
}

pub fn main(args: BenchFlowsArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let rows = rt.block_on(crate::http::on_each_backend(
        args.postgres_url.as_deref(),
        |backend, url| bench_backend(&args, backend, url),
    ))?;
    println!("| backend | measure | count | per second | p50 ms | p99 ms |");
    println!("|---|---|---:|---:|---:|---:|");
    let ms = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.2}"));
    for r in rows {
        println!(
            "| {} | {} | {} | {:.0} | {} | {} |",
            r.backend,
            r.what,
            r.count,
            r.per_second,
            ms(r.p50_ms),
            ms(r.p99_ms)
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn bench_backend(
    args: &BenchFlowsArgs,
    backend: &'static str,
    database_url: Option<String>,
) -> anyhow::Result<Vec<Row>> {
    let jobs_in_flight_max = args.jobs_in_flight_max;
    let server = crate::server::start(database_url, |settings| {
        // The workers start only for the async measure.
        settings.flows.worker.jobs_in_flight_max = jobs_in_flight_max;
        settings.flows.worker.poll_interval = Duration::from_millis(20);
    })
    .await?;
    let (state, base, admin_token) = (&server.state, server.base.as_str(), &server.admin_token);
    let http = reqwest::Client::new();
    let token = setup_tenant(&http, base, admin_token).await?;
    let mut rows = vec![bench_sync(args, backend, &http, base, &token).await?];
    rows.extend(bench_async(args, backend, state, &http, base, &token).await?);
    drop(server);
    Ok(rows)
}

async fn bench_sync(
    args: &BenchFlowsArgs,
    backend: &'static str,
    http: &reqwest::Client,
    base: &str,
    token: &str,
) -> anyhow::Result<Row> {
    let mut ids = Vec::new();
    for (i, code) in SYNC_ACTIONS.iter().take(args.sync_actions).enumerate() {
        ids.push(deploy(http, base, token, &format!("login-{i}"), "post-login", code).await?);
    }
    bind(http, base, token, "post-login", &ids).await?;
    let path = format!("{base}/v1/triggers/post-login/dispatch");
    let body = json!({"event": crate::event()});
    let send = |_| timed(http.post(&path).bearer_auth(token).json(&body));
    // 200 untimed requests warm up connections and isolates.
    let (latencies, elapsed) =
        crate::http::load(send, 200, args.requests, args.concurrency).await?;
    Ok(Row {
        backend,
        what: format!(
            "sync post-login, {} actions, HTTP, {} clients",
            ids.len(),
            args.concurrency
        ),
        count: args.requests,
        per_second: args.requests as f64 / elapsed.as_secs_f64(),
        p50_ms: Some(percentile_ms(&latencies, 0.50)),
        p99_ms: Some(percentile_ms(&latencies, 0.99)),
    })
}

/// Enqueues `jobs` async dispatches over HTTP (no worker running), then starts the worker and
/// times the drain until every execution is final.
async fn bench_async(
    args: &BenchFlowsArgs,
    backend: &'static str,
    state: &AppState,
    http: &reqwest::Client,
    base: &str,
    token: &str,
) -> anyhow::Result<Vec<Row>> {
    let id = deploy(
        http,
        base,
        token,
        "welcome",
        "post-user-registration",
        ASYNC_ACTION,
    )
    .await?;
    bind(http, base, token, "post-user-registration", &[id]).await?;
    let path = format!("{base}/v1/triggers/post-user-registration/dispatch");
    let enqueue = |n: usize| {
        let body =
            json!({"event": {"id": format!("signup-{n}"), "user": {"user_id": format!("u{n}")}}});
        timed(http.post(&path).bearer_auth(token).json(&body))
    };
    let (latencies, enqueue_elapsed) =
        crate::http::load(enqueue, 0, args.jobs, args.concurrency).await?;
    let started = Instant::now();
    let background = Background::start(&state.dispatchers, &state.logs);
    let tenant_id = tenant_of(state, token).await?;
    let filter = ExecutionFilter {
        status: Some(ExecutionStatus::Final),
        ..ExecutionFilter::default()
    };
    loop {
        let done = state
            .store
            .list_executions(&tenant_id, &filter, Page::new(0, 1))
            .await?
            .total;
        if done as usize >= args.jobs {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("only {done} of {} jobs final after 10 minutes", args.jobs);
        }
        // Counting is itself a query on the measured database: not too often.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let drain_elapsed = started.elapsed();
    background.stop().await;
    Ok(vec![
        Row {
            backend,
            what: format!(
                "async dispatch enqueue (202), HTTP, {} clients",
                args.concurrency
            ),
            count: args.jobs,
            per_second: args.jobs as f64 / enqueue_elapsed.as_secs_f64(),
            p50_ms: Some(percentile_ms(&latencies, 0.50)),
            p99_ms: Some(percentile_ms(&latencies, 0.99)),
        },
        Row {
            backend,
            what: format!(
                "async jobs run to final ({} action(s), 1 worker, {} in flight)",
                args.async_actions, args.jobs_in_flight_max
            ),
            count: args.jobs,
            per_second: args.jobs as f64 / drain_elapsed.as_secs_f64(),
            p50_ms: None,
            p99_ms: None,
        },
    ])
}
