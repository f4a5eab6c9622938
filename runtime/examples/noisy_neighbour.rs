//! The noisy-neighbour benchmark of issue 19, at the pool level: tenant B's trivial login, one after
//! another, alone and while tenant A floods post-login with `while(true){}` (16, then 64 at once);
//! then the memory of the process around a burst of large executions. Prints tables.
//!
//! `cargo run --release -p actionflow-runtime --example noisy_neighbour [-- LOGINS]`
#![allow(clippy::unwrap_used)]

use actionflow_runtime::{
    Event, ExecutionRequest, Limits, NoFiles, PoolConfig, Runtime, Secrets, Status,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

// As in the `actionflow` binary, so that memory is returned (or kept) as it is there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const LOOP: &str = "exports.onExecutePostLogin = async () => { while (true) {} };";
const LOGIN: &str = "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('email', event.user.email); };";
/// Allocates `mib` MiB of doubles and asks for a 100 MiB claim, which is refused (and caught).
const LARGE: &str = r#"
exports.onExecutePostLogin = async (event, api) => {
  const kept = new Array(event.mib * 131072).fill(0.5);
  try { api.accessToken.setCustomClaim("big", "x".repeat(100 * 1024 * 1024)); } catch {}
  api.idToken.setCustomClaim("n", kept.length);
};
"#;

fn request(tenant: &str, code: &str, event: serde_json::Value) -> ExecutionRequest {
    ExecutionRequest {
        tenant: tenant.into(),
        action: format!("{tenant}-action"),
        version: "v1".into(),
        code: Arc::from(code),
        files: Arc::new(NoFiles),
        trigger_id: "post-login".into(),
        event: Event::new(&event).unwrap(),
        secrets: Secrets::default(),
        limits: Limits::default(),
    }
}

/// B's logins one after another: sorted latencies and how many did not complete.
async fn b_logins(rt: &Runtime, n: usize) -> (Vec<Duration>, usize) {
    let event = serde_json::json!({ "user": { "email": "b@example.com" } });
    let (mut took, mut failed) = (Vec::with_capacity(n), 0);
    for _ in 0..n {
        let started = Instant::now();
        let outcome = rt.execute(request("tenant-b", LOGIN, event.clone())).await;
        took.push(started.elapsed());
        failed += usize::from(!matches!(outcome, Ok(o) if o.status == Status::Completed));
    }
    took.sort();
    (took, failed)
}

fn at(sorted: &[Duration], q: f64) -> f64 {
    let i = ((sorted.len() as f64 * q) as usize).min(sorted.len() - 1);
    sorted[i].as_secs_f64() * 1000.0
}

/// Waits until A's loops still running were stopped (their CPU limit) and only B's isolate is left.
async fn settle(rt: &Runtime) {
    let until = Instant::now() + Duration::from_secs(30);
    while rt.stats().isolates > 1 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn latency(rt: &Runtime, logins: usize) {
    b_logins(rt, 200).await; // warm-up
    println!("| tenant A's load | B's logins | B p50 | B p99 | B max | B failed |");
    println!("|---|---:|---:|---:|---:|---:|");
    for flood in [0, 16, 64] {
        let loops: Vec<_> = (0..flood)
            .map(|_| {
                let rt = rt.clone();
                tokio::spawn(async move {
                    rt.execute(request("tenant-a", LOOP, serde_json::json!({})))
                        .await
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (took, failed) = b_logins(rt, logins).await;
        let load = if flood == 0 {
            "none".to_owned()
        } else {
            format!("{flood} × `while(true){{}}`")
        };
        println!(
            "| {load} | {logins} | {:.2} ms | {:.2} ms | {:.2} ms | {failed} |",
            at(&took, 0.5),
            at(&took, 0.99),
            at(&took, 1.0)
        );
        loops.iter().for_each(|t| t.abort());
        settle(rt).await;
    }
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

async fn memory(rt: &Runtime) {
    println!();
    println!("| moment (24 executions at once, each allocating MiB of doubles and refused a 100 MiB claim) | RSS |");
    println!("|---|---:|");
    b_logins(rt, 10).await;
    println!("| start (B's isolate warm) | {:.0} MiB |", rss_mib());
    for mib in [40, 80] {
        let burst: Vec<_> = (0..24)
            .map(|_| {
                let rt = rt.clone();
                let req = request("tenant-c", LARGE, serde_json::json!({ "mib": mib }));
                tokio::spawn(async move { rt.execute(req).await.unwrap() })
            })
            .collect();
        let mut peak = 0f64;
        for task in burst {
            let outcome = task.await.unwrap();
            assert_eq!(outcome.status, Status::Completed, "{outcome:?}");
            peak = peak.max(rss_mib());
        }
        println!("| {mib} MiB each: highest seen during the burst | {peak:.0} MiB |");
        println!(
            "| {mib} MiB each: right after (isolates kept: {}) | {:.0} MiB |",
            rt.stats().idle,
            rss_mib()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
        println!("| {mib} MiB each: 1 s later | {:.0} MiB |", rss_mib());
    }
}

#[tokio::main]
async fn main() {
    let logins = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let config = PoolConfig::default();
    println!(
        "Pool: {} running places, {} per tenant; {} cores. A's loops run to the default CPU limit ({} ms).",
        config.concurrency_max,
        config.tenant_places(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        Limits::default().cpu_ms_max
    );
    println!();
    let rt = Runtime::new(config).unwrap();
    latency(&rt, logins).await;
    memory(&rt).await;
}
