//! The Node.js webhook baseline: `node` runs an HTTP server (cluster, one worker per core) that executes
//! the same action per request; we call it over loopback with keep-alive. The same script also runs its
//! per-request work alone, back to back in one process, for the work the webhook adds nothing to.

use super::{event, percentile, BenchArgs, Measured, ACTION};
use anyhow::{bail, Context};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The webhook script, shared with `actionflow-bench dispatch`.
const SERVER: &str = include_str!("../../benchmarks/fixtures/webhook.js");
/// What the webhook runs per request, shared with the Deno webhook.
const HANDLE: &str = include_str!("../../benchmarks/fixtures/webhook-handle.js");

struct Server {
    child: Child,
    _dir: tempfile::TempDir,
}

/// A directory holding the server script and the action.
fn script_dir() -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("server.js"), SERVER)?;
    std::fs::write(dir.path().join("action.js"), ACTION)?;
    std::fs::write(dir.path().join("handle.js"), HANDLE)?;
    Ok(dir)
}

/// The script's own work per execution in µs: `n` executions in a row in one process, no HTTP.
async fn back_to_back(n: usize) -> anyhow::Result<f64> {
    let dir = script_dir()?;
    std::fs::write(dir.path().join("event.json"), event().to_string())?;
    let out = Command::new("node")
        .arg(dir.path().join("server.js"))
        .arg("back-to-back")
        .arg(n.to_string())
        .output()
        .await
        .context("running `node` (is Node.js installed?)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "node's back-to-back run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    text.trim()
        .parse()
        .with_context(|| format!("node's back-to-back run printed {text:?}"))
}

async fn start(port: u16, workers: usize) -> anyhow::Result<Server> {
    let dir = script_dir()?;
    let mut child = Command::new("node")
        .arg(dir.path().join("server.js"))
        .arg(port.to_string())
        .arg(workers.to_string())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting `node` (is Node.js installed?)")?;
    let stdout = child.stdout.take().context("no stdout from node")?;
    let mut lines = BufReader::new(stdout).lines();
    loop {
        match lines.next_line().await? {
            Some(line) if line.trim() == "listening" => break,
            Some(_) => continue,
            None => bail!("the node server exited before listening"),
        }
    }
    Ok(Server { child, _dir: dir })
}

async fn call(client: &reqwest::Client, url: &str, body: &str) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let res = client.post(url).body(body.to_owned()).send().await?;
    if !res.status().is_success() {
        bail!("the node baseline answered {}", res.status());
    }
    let text = res.text().await?;
    if !text.contains("setCustomClaim") {
        bail!("the node baseline answered {text}");
    }
    Ok(start.elapsed())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

pub async fn measure(args: &BenchArgs, cores: usize) -> anyhow::Result<Measured> {
    let client = reqwest::Client::builder().no_proxy().build()?;
    let body = event().to_string();
    // Cold: a fresh single-process server, from spawn to the first answer.
    let mut cold = Vec::new();
    for _ in 0..args.cold.clamp(1, 10) {
        let port = free_port()?;
        let start = Instant::now();
        let mut server = start_and_call(&client, port, &body).await?;
        cold.push(start.elapsed());
        server.child.kill().await.ok();
    }
    cold.sort();
    let port = free_port()?;
    let mut server = start(port, cores).await?;
    let url = format!("http://127.0.0.1:{port}/");
    for _ in 0..2_000 {
        call(&client, &url, &body).await?;
    }
    let mut warm = Vec::with_capacity(args.warm);
    for _ in 0..args.warm {
        warm.push(call(&client, &url, &body).await?);
    }
    warm.sort();
    let mut runs = Vec::new();
    for callers in args.levels(cores) {
        let (client, url, body): (_, Arc<str>, Arc<str>) = (
            client.clone(),
            Arc::from(url.as_str()),
            Arc::from(body.as_str()),
        );
        let call = move || {
            let (client, url, body) = (client.clone(), url.clone(), body.clone());
            async move { call(&client, &url, &body).await.map(drop) }
        };
        runs.push(super::throughput(callers, args.throughput, call).await?);
    }
    server.child.kill().await.ok();
    let own_us = back_to_back(args.throughput).await?;
    Ok(Measured {
        own_us,
        cold_ms: percentile(&cold, 0.5) / 1000.0,
        cold_created_ms: percentile(&cold, 0.5) / 1000.0,
        warm_p50_us: percentile(&warm, 0.5),
        warm_p99_us: percentile(&warm, 0.99),
        runs,
        ..Measured::default()
    })
}

async fn start_and_call(client: &reqwest::Client, port: u16, body: &str) -> anyhow::Result<Server> {
    let server = start(port, 1).await?;
    call(client, &format!("http://127.0.0.1:{port}/"), body).await?;
    Ok(server)
}
