//! `actionflow-bench api`: API throughput of `POST /v1/actions/{id}/test` and `GET /v1/actions` on
//! SQLite and (with `--postgres-url`) PostgreSQL. Each backend gets a fresh server in this process
//! on 127.0.0.1:0 (a temporary data dir; a new PostgreSQL database, dropped afterwards), a tenant
//! with 20 actions (10 deployed), and `--requests` calls from `--concurrency` clients over loopback.
//! Load generator and server share the machine, so the numbers are a floor. Prints a Markdown table.

use crate::http::{call, percentile_ms, timed};
use anyhow::Context;
use serde_json::json;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct BenchApiArgs {
    /// Requests per endpoint and backend.
    #[arg(long, default_value_t = 2_000)]
    requests: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// An admin PostgreSQL URL (a fresh database is created on it and dropped); SQLite only without.
    #[arg(long, env = "ACTIONFLOW_BENCH_DATABASE_URL")]
    postgres_url: Option<String>,
}

struct Row {
    backend: &'static str,
    endpoint: &'static str,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

pub fn main(args: BenchApiArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let rows = rt.block_on(crate::http::on_each_backend(
        args.postgres_url.as_deref(),
        |backend, url| bench_backend(&args, backend, url),
    ))?;
    println!("| backend | endpoint | requests | concurrency | req/s | p50 ms | p99 ms |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {:.0} | {:.2} | {:.2} |",
            r.backend,
            r.endpoint,
            args.requests,
            args.concurrency,
            r.per_second,
            r.p50_ms,
            r.p99_ms
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn bench_backend(
    args: &BenchApiArgs,
    backend: &'static str,
    database_url: Option<String>,
) -> anyhow::Result<Vec<Row>> {
    let server = crate::server::start(database_url, |_| {}).await?;
    let (base, admin_token) = (server.base.as_str(), server.admin_token.as_str());
    let http = reqwest::Client::new();
    let token = setup_tenant(&http, base, admin_token).await?;
    let action_id = setup_actions(&http, base, &token).await?;
    let test_path = format!("{base}/v1/actions/{action_id}/test");
    let test_body = json!({"event": crate::event()});
    let list_path = format!("{base}/v1/actions");
    let mut rows = Vec::new();
    for (endpoint, post) in [
        ("POST /v1/actions/{id}/test", true),
        ("GET /v1/actions", false),
    ] {
        let send = |_| {
            let request = if post {
                http.post(&test_path).json(&test_body)
            } else {
                http.get(&list_path)
            };
            timed(request.bearer_auth(&token))
        };
        // 100 untimed requests warm up connections and isolates.
        let (latencies, elapsed) =
            crate::http::load(send, 100, args.requests, args.concurrency).await?;
        rows.push(Row {
            backend,
            endpoint,
            per_second: args.requests as f64 / elapsed.as_secs_f64(),
            p50_ms: percentile_ms(&latencies, 0.50),
            p99_ms: percentile_ms(&latencies, 0.99),
        });
    }
    drop(server);
    Ok(rows)
}

async fn setup_tenant(http: &reqwest::Client, base: &str, admin: &str) -> anyhow::Result<String> {
    crate::http::setup_tenant(http, base, admin, &["actions:read", "actions:write"]).await
}

/// 20 actions, the even ones deployed; returns the first (deployed) one's id.
async fn setup_actions(http: &reqwest::Client, base: &str, token: &str) -> anyhow::Result<String> {
    let mut first = None;
    for i in 0..20 {
        let body = json!({"name": format!("action-{i}"), "supported_triggers": [{"id": "post-login"}],
            "code": crate::ACTION, "secrets": [{"name": "API_KEY", "value": "bench-secret"}]});
        let action = call(
            http.post(format!("{base}/v1/actions"))
                .bearer_auth(token)
                .json(&body),
        )
        .await?;
        let id = action["id"].as_str().context("action id")?.to_owned();
        if i % 2 == 0 {
            call(
                http.post(format!("{base}/v1/actions/{id}/deploy"))
                    .bearer_auth(token),
            )
            .await?;
        }
        first.get_or_insert(id);
    }
    first.context("no action created")
}
