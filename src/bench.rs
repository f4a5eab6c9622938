//! `actionflow bench`: cold and warm execution latency and throughput of a trivial post-login action,
//! against the webhook model measured in the same run — a Node.js HTTP server (one process per core)
//! running the same action, called over loopback. Prints a Markdown table with the ratios.

mod node;

use actionflow_runtime::{
    Engine, Event, ExecutionRequest, Limits, NoFiles, PoolConfig, Runtime, Secrets, Status,
};
use anyhow::{bail, Context};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The action every benchmark runs (shared with `actionflow-bench`).
pub const ACTION: &str = include_str!("../benchmarks/fixtures/action.js");

/// The event every benchmark sends (shared with `actionflow-bench`).
pub fn event() -> serde_json::Value {
    serde_json::from_str(include_str!("../benchmarks/fixtures/event.json"))
        .expect("benchmarks/fixtures/event.json is JSON")
}

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Cold executions (each a new isolate).
    #[arg(long, default_value_t = 100)]
    cold: usize,
    /// Sequential warm executions measured for p50/p99.
    #[arg(long, default_value_t = 5_000)]
    warm: usize,
    /// Executions for each throughput run, spread over all cores.
    #[arg(long, default_value_t = 100_000)]
    throughput: usize,
    /// Callers submitting executions at once, one throughput run per value (both contenders; each is
    /// reported at its best). Default: 2, 8 and 32 per core.
    #[arg(long, value_delimiter = ',')]
    concurrency: Vec<usize>,
    /// Skip the Node.js baseline.
    #[arg(long)]
    no_node: bool,
    /// Running places the benchmark's one tenant may hold (default: all of them, one per core; a
    /// pool's default gives one tenant half of its places).
    #[arg(long)]
    tenant_concurrency: Option<usize>,
}

impl BenchArgs {
    /// The concurrencies of the throughput runs.
    fn levels(&self, cores: usize) -> Vec<usize> {
        if self.concurrency.is_empty() {
            vec![cores * 2, cores * 8, cores * 32]
        } else {
            self.concurrency.iter().map(|&c| c.max(1)).collect()
        }
    }
}

/// One throughput run: executions per second, and the machine's CPU per execution.
#[derive(Debug, Clone, Copy, Default)]
pub struct Throughput {
    pub concurrency: usize,
    pub per_second: f64,
    /// CPU time the whole machine spent per execution (both ends of the webhook for Node.js), in µs;
    /// 0 where /proc/stat cannot be read.
    pub cpu_us: f64,
}

/// Runs `total` calls of `call`, `callers` at a time, on the current tokio runtime.
pub async fn throughput<F, Fut>(callers: usize, total: usize, call: F) -> anyhow::Result<Throughput>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let done = Arc::new(AtomicUsize::new(0));
    let (start, busy) = (Instant::now(), machine_busy_seconds());
    let mut tasks = Vec::new();
    for _ in 0..callers {
        let (call, done) = (call.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            while done.fetch_add(1, Ordering::Relaxed) < total {
                call().await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(Throughput {
        concurrency: callers,
        per_second: total as f64 / start.elapsed().as_secs_f64(),
        cpu_us: cpu_us_per_execution(busy, total),
    })
}

/// Latency percentiles and throughput of one contender.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub cold_ms: f64,
    /// Cold with no spare isolate ready: the isolate is made from the snapshot on demand.
    pub cold_created_ms: f64,
    pub warm_p50_us: f64,
    pub warm_p99_us: f64,
    /// The engine's own work per warm execution, in µs: executions back to back on one thread, with no
    /// hand-off between threads (Actionflow) or no HTTP (Node.js).
    pub own_us: f64,
    /// One run per concurrency level.
    pub runs: Vec<Throughput>,
    /// Warm executions sent to a sandbox process (as `actionflow serve` runs them), in µs.
    pub sandbox_warm_p50_us: f64,
    pub sandbox_warm_p99_us: f64,
}

impl Measured {
    /// The throughput run with the most executions per second.
    pub fn best(&self) -> Throughput {
        self.runs
            .iter()
            .copied()
            .max_by(|a, b| a.per_second.total_cmp(&b.per_second))
            .unwrap_or_default()
    }
}

/// Seconds of CPU the machine has spent busy since boot (all cores; from /proc/stat, in ticks of
/// 1/100 s), or `None` off Linux.
pub fn machine_busy_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<f64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    // user nice system idle iowait irq softirq steal: everything but idle and iowait.
    let busy: f64 = fields
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, v)| v)
        .sum();
    Some(busy / 100.0)
}

/// The CPU µs per execution between `busy_before` (a [`machine_busy_seconds`] reading) and now.
pub fn cpu_us_per_execution(busy_before: Option<f64>, executions: usize) -> f64 {
    match (busy_before, machine_busy_seconds()) {
        (Some(before), Some(after)) => (after - before) * 1e6 / executions.max(1) as f64,
        _ => 0.0,
    }
}

/// The `p` percentile of sorted latencies, in µs.
pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index.min(sorted.len() - 1)].as_secs_f64() * 1e6
}

/// The action's code, shared by every request as a server shares a version's code it has loaded.
static CODE: std::sync::LazyLock<Arc<str>> = std::sync::LazyLock::new(|| Arc::from(ACTION));

/// One execution of the benchmark action. The event is serialized once per run, as the Node.js
/// baseline's request body is.
fn request(version: &str, event: &Event) -> ExecutionRequest {
    ExecutionRequest {
        tenant: "bench".into(),
        action: "bench".into(),
        version: version.into(),
        code: CODE.clone(),
        files: Arc::new(NoFiles),
        trigger_id: "post-login".into(),
        event: event.clone(),
        secrets: Secrets::default(),
        limits: Limits::default(),
    }
}

async fn once(rt: &dyn Engine, version: &str, event: &Event) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let outcome = rt.execute(request(version, event)).await?;
    let took = start.elapsed();
    if outcome.status != Status::Completed || outcome.api_calls.len() != 1 {
        bail!("the benchmark action did not complete as expected: {outcome:?}");
    }
    Ok(took)
}

async fn measure_actionflow(args: &BenchArgs, cores: usize) -> anyhow::Result<Measured> {
    let rt = Runtime::new(PoolConfig {
        concurrency_max: cores,
        tenant_concurrency_max: Some(args.tenant_concurrency.unwrap_or(cores)),
        ..PoolConfig::default()
    })?;
    let ev = Event::new(&event())?;
    // Untimed warm-up of the measured version (V8's optimizing tiers, allocator), as for Node below.
    for _ in 0..2_000 {
        once(&rt, "warm", &ev).await?;
    }
    let mut warm = Vec::with_capacity(args.warm);
    for _ in 0..args.warm {
        warm.push(once(&rt, "warm", &ev).await?);
    }
    warm.sort();
    let mut runs = Vec::new();
    for callers in args.levels(cores) {
        let (rt, ev) = (rt.clone(), ev.clone());
        let call = move || {
            let (rt, ev) = (rt.clone(), ev.clone());
            async move { once(&rt, "throughput", &ev).await.map(drop) }
        };
        runs.push(throughput(callers, args.throughput, call).await?);
    }
    let (rt_own, ev_own, n) = (rt.clone(), ev.clone(), args.throughput);
    let own = tokio::task::spawn_blocking(move || rt_own.back_to_back(request("own", &ev_own), n))
        .await??;
    let last = &own.last;
    if own.executions < n || last.status != Status::Completed || last.api_calls.len() != 1 {
        bail!(
            "the benchmark action did not complete as expected back to back ({} of {n} ran): {last:?}",
            own.executions
        );
    }
    let own_us = own.took.as_secs_f64() * 1e6 / n.max(1) as f64;
    // Cold starts last, so the isolates they leave behind do not weigh on the warm measurements.
    // Cold starts as they come in practice, a few at a time: the pool's spare isolates have time to
    // be replaced between them (10 ms), so each takes a ready isolate and only loads the action.
    let mut cold = Vec::with_capacity(args.cold);
    for i in 0..args.cold {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        cold.push(once(&rt, &format!("cold-{i}"), &ev).await?);
    }
    cold.sort();
    // A burst of cold starts beyond the spares: each makes its isolate from the snapshot itself.
    drop(rt);
    let no_spares = Runtime::new(PoolConfig {
        spare_isolates: 0,
        ..PoolConfig::default()
    })?;
    let mut created = Vec::with_capacity(args.cold);
    for i in 0..args.cold {
        created.push(once(&no_spares, &format!("created-{i}"), &ev).await?);
    }
    created.sort();
    drop(no_spares);
    let sandboxed = warm_in_a_sandbox(args, cores, &ev).await?;
    Ok(Measured {
        sandbox_warm_p50_us: percentile(&sandboxed, 0.5),
        sandbox_warm_p99_us: percentile(&sandboxed, 0.99),
        cold_ms: percentile(&cold, 0.5) / 1000.0,
        cold_created_ms: percentile(&created, 0.5) / 1000.0,
        warm_p50_us: percentile(&warm, 0.5),
        warm_p99_us: percentile(&warm, 0.99),
        own_us,
        runs,
    })
}

/// Sequential warm executions through one sandbox process (this binary in worker mode), as
/// `actionflow serve` runs them: the socket round trip on top of the pool's.
async fn warm_in_a_sandbox(
    args: &BenchArgs,
    cores: usize,
    ev: &Event,
) -> anyhow::Result<Vec<Duration>> {
    use actionflow_sandbox::{GroupConfig, Init, Launch, Sandboxes};
    let launch = Launch {
        program: std::env::current_exe()?,
        args: vec!["sandbox".to_owned()],
        init: Init {
            pool: PoolConfig {
                concurrency_max: cores,
                tenant_concurrency_max: Some(args.tenant_concurrency.unwrap_or(cores)),
                ..PoolConfig::default()
            },
            readable: Vec::new(),
            snapshot_bytes: 0,
            test_ops: false,
        },
    };
    let group = GroupConfig {
        processes: 1,
        ..GroupConfig::default()
    };
    let sandboxes = Sandboxes::start("bench", launch, group)?;
    for _ in 0..2_000 {
        once(&sandboxes, "warm", ev).await?;
    }
    let mut warm = Vec::with_capacity(args.warm);
    for _ in 0..args.warm {
        warm.push(once(&sandboxes, "warm", ev).await?);
    }
    warm.sort();
    Ok(warm)
}

pub fn main(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .enable_all()
        .build()?;
    let ours = rt
        .block_on(measure_actionflow(&args, cores))
        .context("measuring Actionflow")?;
    let node = if args.no_node {
        None
    } else {
        Some(
            rt.block_on(node::measure(&args, cores))
                .context("measuring the Node.js baseline")?,
        )
    };
    print_table(&args, cores, &ours, node.as_ref());
    Ok(ExitCode::SUCCESS)
}

fn print_table(args: &BenchArgs, cores: usize, ours: &Measured, node: Option<&Measured>) {
    let levels = args.levels(cores);
    let levels_text: Vec<String> = levels.iter().map(usize::to_string).collect();
    println!(
        "Trivial post-login action, {cores} cores; cold n={}, warm n={}, throughput n={} per run at concurrency {} (each contender at its best).\n",
        args.cold,
        args.warm,
        args.throughput,
        levels_text.join(", ")
    );
    println!("| metric | Actionflow (V8 isolates) | Node.js webhook baseline | ratio |");
    println!("|---|---:|---:|---:|");
    for (name, metric, unit, higher_is_better) in METRICS {
        let (value, theirs) = (metric(ours), node.map(metric));
        println!(
            "| {name} | {value:.1} {unit} | {} | {} |",
            cell(theirs, unit),
            ratio(value, theirs, higher_is_better)
        );
    }
    println!(
        "| warm execution p50 / p99 through a sandbox process (`serve`'s engine) | {:.1} / {:.1} µs | - | - |",
        ours.sandbox_warm_p50_us, ours.sandbox_warm_p99_us
    );
    println!("\nThroughput by concurrency (callers submitting at once):\n");
    println!("| concurrency | Actionflow | Node.js webhook baseline | ratio |");
    println!("|---:|---:|---:|---:|");
    for (i, run) in ours.runs.iter().enumerate() {
        let theirs = node.and_then(|n| n.runs.get(i)).map(|r| r.per_second);
        println!(
            "| {} | {:.0} /s | {} | {} |",
            run.concurrency,
            run.per_second,
            theirs.map_or("skipped".to_owned(), |t| format!("{t:.0} /s")),
            ratio(run.per_second, theirs, true)
        );
    }
    if let Some(node) = node {
        let (theirs, own) = (node.best().cpu_us, ours.own_us);
        if theirs > 0.0 && own > 0.0 {
            println!(
                "\nBound: even with free hand-offs, Actionflow's throughput here could be at most {:.1}× the baseline's best — the baseline's machine CPU per execution ({theirs:.1} µs) ÷ the engine's own work per execution ({own:.1} µs).",
                theirs / own
            );
        }
    }
    println!("\nCold: Actionflow = an isolate new to the action (a spare made ahead of time, or one made from the startup snapshot on demand) + load + run; Node.js = process start to first response.");
}

/// A row of the table: its name, how to read it from a contender's measurements, its unit, and whether
/// higher is better. Node.js has one cold start (process start), reported on both cold rows.
type Metric = (&'static str, fn(&Measured) -> f64, &'static str, bool);

#[rustfmt::skip]
const METRICS: [Metric; 7] = [
    ("cold execution p50 (spare isolate)", |m| m.cold_ms, "ms", false),
    ("cold execution p50 (isolate made on demand)", |m| m.cold_created_ms, "ms", false),
    ("warm execution p50", |m| m.warm_p50_us, "µs", false),
    ("warm execution p99", |m| m.warm_p99_us, "µs", false),
    ("warm executions per second (best concurrency)", |m| m.best().per_second, "/s", true),
    ("CPU per warm execution, whole machine (at that concurrency)", |m| m.best().cpu_us, "µs", false),
    ("own work per warm execution, back to back on one thread (no hand-off; no HTTP)", |m| m.own_us, "µs", false),
];

fn cell(value: Option<f64>, unit: &str) -> String {
    value.map_or("skipped".to_owned(), |v| format!("{v:.1} {unit}"))
}

fn ratio(ours: f64, theirs: Option<f64>, higher_is_better: bool) -> String {
    theirs.map_or(String::new(), |t| {
        let r = if higher_is_better { ours / t } else { t / ours };
        format!("{r:.1}× {}", if r >= 1.0 { "better" } else { "worse" })
    })
}
