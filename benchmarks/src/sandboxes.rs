//! `actionflow-bench sandboxes`: what running actions in sandbox processes costs on the HTTP
//! dispatch path. Sync dispatch of post-login with one (or up to three) bound actions, measured on a server whose
//! isolates run in its own process and on one whose isolates run in sandbox processes, in
//! alternating rounds (the machine's speed drifts over minutes: only interleaved runs compare), on
//! SQLite. Prints one row per round and engine, then the median ratio.

use crate::flows_setup::{bind, deploy, percentile_ms, setup_tenant, timed};
use actionflow_server::SandboxSettings;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct BenchSandboxesArgs {
    /// Sync dispatches per round and engine.
    #[arg(long, default_value_t = 5_000)]
    requests: usize,
    /// Sync dispatches in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Rounds; each measures both engines, in alternating order.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Actions bound to post-login (1 to 3; with more than one, a flow's actions go to a sandbox as
    /// one chain).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=3))]
    actions: u8,
    /// Sandbox processes for sync flows [default: the number of cores].
    #[arg(long)]
    sandboxes: Option<usize>,
    /// The `actionflow` binary the sandboxes run [default: next to this benchmark's binary].
    #[arg(long)]
    actionflow: Option<PathBuf>,
}

pub fn main(args: BenchSandboxesArgs) -> anyhow::Result<ExitCode> {
    let program = crate::server::actionflow_program(args.actionflow.as_ref())?;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let sandboxes = SandboxSettings {
        processes: args.sandboxes.unwrap_or(cores).max(1),
        program,
        args: vec!["sandbox".to_owned()],
        ..SandboxSettings::in_process()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    println!(
        "Sync post-login over HTTP, {} bound action(s), {} clients, SQLite.\n",
        args.actions, args.concurrency
    );
    println!("| round | engine | requests/s | p50 ms | p99 ms |");
    println!("|---:|---|---:|---:|---:|");
    let mut ratios = Vec::new();
    for round in 1..=args.rounds {
        let mut order = [None, Some(sandboxes.clone())];
        if round % 2 == 0 {
            order.reverse();
        }
        let mut per_second = [0.0; 2];
        for engine in order {
            let name = if engine.is_some() {
                "sandboxes"
            } else {
                "in-process"
            };
            let (rate, p50, p99) = rt.block_on(measure(&args, engine.clone()))?;
            per_second[usize::from(engine.is_some())] = rate;
            println!("| {round} | {name} | {rate:.0} | {p50:.2} | {p99:.2} |");
        }
        ratios.push(per_second[1] / per_second[0]);
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    println!(
        "\nsandboxes / in-process requests/s, median of {} rounds: {median:.2}×",
        ratios.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// One engine's requests/s, p50 and p99 (ms) on a fresh server.
async fn measure(
    args: &BenchSandboxesArgs,
    sandboxes: Option<SandboxSettings>,
) -> anyhow::Result<(f64, f64, f64)> {
    let server = crate::server::start(None, |settings| {
        settings.flows.worker.jobs_in_flight_max = 0;
        if let Some(sandboxes) = sandboxes {
            settings.sandboxes = sandboxes;
        }
    })
    .await?;
    let (base, admin_token) = (server.base.as_str(), &server.admin_token);
    let http = reqwest::Client::new();
    let token = setup_tenant(&http, base, admin_token).await?;
    let mut ids = Vec::new();
    for (i, code) in crate::flows::SYNC_ACTIONS
        .iter()
        .take(usize::from(args.actions))
        .enumerate()
    {
        ids.push(
            deploy(
                &http,
                base,
                &token,
                &format!("login-{i}"),
                "post-login",
                code,
            )
            .await?,
        );
    }
    bind(&http, base, &token, "post-login", &ids).await?;
    let path = format!("{base}/v1/triggers/post-login/dispatch");
    let body = json!({"event": crate::event()});
    let send = |_| timed(http.post(&path).bearer_auth(&token).json(&body));
    let (latencies, elapsed) =
        crate::http::load(send, 500, args.requests, args.concurrency).await?;
    Ok((
        args.requests as f64 / elapsed.as_secs_f64(),
        percentile_ms(&latencies, 0.50),
        percentile_ms(&latencies, 0.99),
    ))
}
