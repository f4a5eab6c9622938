//! `actionflow-bench dispatch`: the end-to-end comparison of issue 21. Sync dispatch of post-login
//! over HTTP to `actionflow serve` (a process of its own, in its default configuration: SQLite,
//! sandbox processes) with 1 and with 3 bound actions, against the webhook it replaces — the Node.js
//! HTTP server of `fixtures/webhook.js` (node:cluster, one worker per core) running the same action,
//! and, when `deno` is installed, the Deno one of `fixtures/webhook-deno.js` (`Deno.serve`).
//! The same action also runs as a webtask (`(ctx, cb)` over the fixture's handler, called at
//! `/run/bench/login`), the warm-extension measurement of issue 20.
//! One load generator (this process, keep-alive, `--concurrency` clients) drives them all, in
//! rounds that alternate their order. Prints each round and the median ratios to the webhook.

use crate::flows_setup::{bind, deploy, percentile_ms, setup_tenant, timed};
use anyhow::{bail, Context};
use serde_json::json;
use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

#[derive(clap::Args)]
pub struct BenchDispatchArgs {
    /// Requests per contender and round.
    #[arg(long, default_value_t = 5_000)]
    requests: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// The `actionflow` binary [default: next to this benchmark's binary].
    #[arg(long)]
    actionflow: Option<PathBuf>,
    /// Measure only the Actionflow contenders whose name contains one of these (repeatable; e.g.
    /// `--only "1 action"` to profile one path). The webhooks are always measured: the ratios need
    /// them.
    #[arg(long)]
    only: Vec<String>,
}

impl BenchDispatchArgs {
    fn wants(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| name.contains(o.as_str()))
    }
}

const WEBHOOK: &str = include_str!("../fixtures/webhook.js");
const WEBHOOK_DENO: &str = include_str!("../fixtures/webhook-deno.js");
const HANDLE: &str = include_str!("../fixtures/webhook-handle.js");
const ADMIN_TOKEN: &str = "af_bench_admin_token_0123456789abcdef";

/// A child process and the directory it works in; killed when dropped.
struct Running {
    _child: Child,
    _dir: tempfile::TempDir,
    url: String,
}

pub fn main(args: BenchDispatchArgs) -> anyhow::Result<ExitCode> {
    let program = crate::server::actionflow_program(args.actionflow.as_ref())?;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(&args, &program, cores))
}

async fn run(
    args: &BenchDispatchArgs,
    program: &PathBuf,
    cores: usize,
) -> anyhow::Result<ExitCode> {
    let http = reqwest::Client::new();
    let webhook = start_webhook(cores).await?;
    let mut contenders = vec![(
        "Node.js webhook (cluster)".to_owned(),
        webhook.url.clone(),
        None,
    )];
    // The fastest peer measured here, when `deno` is installed (`pip install deno`).
    let deno = start_deno().await?;
    match &deno {
        Some(deno) => contenders.push((
            "Deno webhook (Deno.serve)".to_owned(),
            deno.url.clone(),
            None,
        )),
        None => eprintln!("`deno` not found: the Deno webhook is skipped (pip install deno)"),
    }
    let mut servers = Vec::new();
    let webtask = "Actionflow webtask (ctx, cb)";
    if args.wants(webtask) {
        let server = start_actionflow(program).await?;
        let token = setup_tenant(&http, &server.url, ADMIN_TOKEN).await?;
        crate::http::call(
            http.put(format!("{}/api/webtask/bench/login", server.url))
                .bearer_auth(&token)
                .json(&json!({"code": webtask_code()})),
        )
        .await?;
        contenders.push((
            webtask.to_owned(),
            format!("{}/run/bench/login", server.url),
            None,
        ));
        servers.push(server);
    }
    for actions in [1, 3] {
        let name = format!("Actionflow dispatch, {actions} action(s)");
        if !args.wants(&name) {
            continue;
        }
        let server = start_actionflow(program).await?;
        let token = setup_tenant(&http, &server.url, ADMIN_TOKEN).await?;
        let mut ids = Vec::new();
        for (i, code) in crate::flows::SYNC_ACTIONS.iter().take(actions).enumerate() {
            ids.push(
                deploy(
                    &http,
                    &server.url,
                    &token,
                    &format!("login-{i}"),
                    "post-login",
                    code,
                )
                .await?,
            );
        }
        bind(&http, &server.url, &token, "post-login", &ids).await?;
        let url = format!("{}/v1/triggers/post-login/dispatch", server.url);
        contenders.push((name, url, Some(token)));
        servers.push(server);
    }
    println!(
        "Sync post-login over HTTP, {} clients, {} requests per round; SQLite, sandboxes (default).\n",
        args.concurrency, args.requests
    );
    println!("| round | contender | requests/s | p50 ms | p99 ms |");
    println!("|---:|---|---:|---:|---:|");
    let mut rates = vec![Vec::new(); contenders.len()];
    for round in 1..=args.rounds {
        let mut order: Vec<usize> = (0..contenders.len()).collect();
        order.rotate_left(round % contenders.len());
        for i in order {
            let (name, url, token) = &contenders[i];
            let (rate, p50, p99) = measure(args, &http, url, token.as_deref()).await?;
            rates[i].push(rate);
            println!("| {round} | {name} | {rate:.0} | {p50:.2} | {p99:.2} |");
        }
    }
    println!("\n| contender | median requests/s | ratio to the webhook |");
    println!("|---|---:|---:|");
    let medians: Vec<f64> = rates
        .iter_mut()
        .map(|r| {
            r.sort_by(f64::total_cmp);
            r[r.len() / 2]
        })
        .collect();
    for ((name, _, _), median) in contenders.iter().zip(&medians) {
        println!("| {name} | {median:.0} | {:.2}× |", median / medians[0]);
    }
    drop((servers, deno));
    Ok(ExitCode::SUCCESS)
}

/// The fixture's action as a webtask: the same function, called as the webhooks call it (the event
/// frozen, the `api` calls recorded and answered as JSON).
fn webtask_code() -> String {
    format!(
        "const action = {{}};\n(function (exports) {{\n{}\n}})(action);\n\
         module.exports = async function (ctx, cb) {{\n\
           const calls = [];\n\
           const rec = (method) => (...args) => {{ calls.push({{ method, args }}); }};\n\
           const api = {{ access: {{ deny: rec('access.deny') }}, \
             accessToken: {{ setCustomClaim: rec('accessToken.setCustomClaim') }}, \
             idToken: {{ setCustomClaim: rec('idToken.setCustomClaim') }} }};\n\
           await action.onExecutePostLogin(Object.freeze(ctx.body), api);\n\
           cb(null, {{ calls }});\n\
         }};\n",
        crate::ACTION
    )
}

async fn measure(
    args: &BenchDispatchArgs,
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
) -> anyhow::Result<(f64, f64, f64)> {
    let body = match token {
        Some(_) => json!({"event": crate::event()}),
        None => crate::event(),
    };
    let send = |_| {
        let mut request = http.post(url).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        timed(request)
    };
    let (latencies, elapsed) =
        crate::http::load(send, 500, args.requests, args.concurrency).await?;
    Ok((
        args.requests as f64 / elapsed.as_secs_f64(),
        percentile_ms(&latencies, 0.50),
        percentile_ms(&latencies, 0.99),
    ))
}

/// Waits for a line of `child`'s stdout starting with `prefix`; returns the rest of it.
async fn line_starting(child: &mut Child, prefix: &str) -> anyhow::Result<String> {
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    while let Some(line) = lines.next_line().await? {
        if let Some(rest) = line.strip_prefix(prefix) {
            // Keep reading (and dropping) the rest, so the child never blocks on a full pipe.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return Ok(rest.to_owned());
        }
    }
    bail!("the process exited before printing {prefix:?}")
}

async fn start_webhook(cores: usize) -> anyhow::Result<Running> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("server.js"), WEBHOOK)?;
    std::fs::write(dir.path().join("action.js"), crate::ACTION)?;
    std::fs::write(dir.path().join("handle.js"), HANDLE)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut child = Command::new("node")
        .arg(dir.path().join("server.js"))
        .arg(port.to_string())
        .arg(cores.to_string())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting `node` (is Node.js installed?)")?;
    line_starting(&mut child, "listening").await?;
    Ok(Running {
        _child: child,
        _dir: dir,
        url: format!("http://127.0.0.1:{port}/"),
    })
}

/// The Deno webhook, or `None` when there is no `deno` to run.
async fn start_deno() -> anyhow::Result<Option<Running>> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("server.js"), WEBHOOK_DENO)?;
    std::fs::write(dir.path().join("action.js"), crate::ACTION)?;
    std::fs::write(dir.path().join("handle.js"), HANDLE)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let spawned = Command::new("deno")
        .args(["run", "--quiet", "--allow-net=127.0.0.1"])
        .arg(format!("--allow-read={}", dir.path().display()))
        .arg(dir.path().join("server.js"))
        .arg(port.to_string())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).context("starting `deno`"),
    };
    line_starting(&mut child, "listening").await?;
    Ok(Some(Running {
        _child: child,
        _dir: dir,
        url: format!("http://127.0.0.1:{port}/"),
    }))
}

async fn start_actionflow(program: &PathBuf) -> anyhow::Result<Running> {
    let dir = tempfile::tempdir()?;
    let mut child = Command::new(program)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("ACTIONFLOW_ADMIN_TOKEN", ADMIN_TOKEN)
        // The servers' own log filter: `ACTIONFLOW_BENCH_SERVER_LOG=warn,sqlx::query=debug` counts
        // their SQL statements on stderr while they are measured.
        .env(
            "RUST_LOG",
            std::env::var("ACTIONFLOW_BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".to_owned()),
        )
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", program.display()))?;
    let rest = line_starting(&mut child, "actionflow listening on ").await?;
    let url = rest
        .split_whitespace()
        .next()
        .context("no address in the startup line")?
        .to_owned();
    Ok(Running {
        _child: child,
        _dir: dir,
        url,
    })
}
