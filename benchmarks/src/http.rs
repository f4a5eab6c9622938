//! What the HTTP benchmarks (`api`, `flows`) share: timed requests, percentiles, setup
//! calls, and running one benchmark on SQLite and then on a fresh PostgreSQL database.

use anyhow::{bail, Context};
use futures::StreamExt;
use serde_json::{json, Value};
use sqlx::{ConnectOptions, Connection, Executor};
use std::future::Future;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// Runs `bench` on SQLite, then — with `--postgres-url` — on a PostgreSQL database it creates for the
/// run and drops afterwards, and returns both backends' rows.
pub async fn on_each_backend<T, F, Fut>(
    postgres_url: Option<&str>,
    bench: F,
) -> anyhow::Result<Vec<T>>
where
    F: Fn(&'static str, Option<String>) -> Fut,
    Fut: Future<Output = anyhow::Result<Vec<T>>>,
{
    let mut rows = bench("SQLite", None).await?;
    if let Some(admin_url) = postgres_url {
        let options = sqlx::postgres::PgConnectOptions::from_str(admin_url)
            .map_err(|_| anyhow::anyhow!("--postgres-url: not a PostgreSQL URL"))?;
        let mut admin = sqlx::PgConnection::connect_with(&options).await?;
        let name = format!("af_bench_{}", uuid::Uuid::now_v7().simple());
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await?;
        let url = options.clone().database(&name).to_url_lossy().to_string();
        let result = bench("PostgreSQL", Some(url)).await;
        admin
            .execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
            .await?;
        rows.extend(result?);
    }
    Ok(rows)
}

/// Sends `warmup` untimed requests, then `requests` timed ones, `concurrency` in flight; returns the
/// sorted latencies and the wall time of the timed part.
pub async fn load<F, Fut>(
    send: F,
    warmup: usize,
    requests: usize,
    concurrency: usize,
) -> anyhow::Result<(Vec<Duration>, Duration)>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<Duration>>,
{
    let _ = futures::stream::iter(0..warmup)
        .map(&send)
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
    let started = Instant::now();
    let results: Vec<anyhow::Result<Duration>> = futures::stream::iter(0..requests)
        .map(&send)
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let mut latencies = results.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    latencies.sort();
    Ok((latencies, elapsed))
}

/// The time one request takes; an error status fails the benchmark.
pub async fn timed(request: reqwest::RequestBuilder) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let response = request.send().await?;
    let status = response.status();
    let body = response.bytes().await?;
    if !status.is_success() {
        bail!("{status}: {}", String::from_utf8_lossy(&body));
    }
    Ok(started.elapsed())
}

pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// A setup request whose JSON answer the benchmark needs.
pub async fn call(request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
    let response = request.send().await?;
    let status = response.status();
    let value: Value = response.json().await.context("decoding a setup answer")?;
    if !status.is_success() {
        bail!("setup call failed with {status}: {value}");
    }
    Ok(value)
}

/// A tenant named `bench` and a token of it with `scopes`.
pub async fn setup_tenant(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
    scopes: &[&str],
) -> anyhow::Result<String> {
    let tenant = call(
        http.post(format!("{base}/v1/tenants"))
            .bearer_auth(admin)
            .json(&json!({"name": "bench"})),
    )
    .await?;
    let id = tenant["id"].as_str().context("tenant id")?;
    let token = call(
        http.post(format!("{base}/v1/tenants/{id}/tokens"))
            .bearer_auth(admin)
            .json(&json!({ "scopes": scopes })),
    )
    .await?;
    Ok(token["token"].as_str().context("token")?.to_owned())
}
