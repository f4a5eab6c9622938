//! `actionflow run ACTION.js --trigger T --event FILE`: runs an action once and prints the outcome —
//! JSON, or a readable form on a terminal. Exit code 0 when it completed, 1 when it did not, 2 for bad input.

use crate::config::{default_cache_dir, npm_discovery};
use crate::BadInput;
use actionflow_actions::packages::{self, Packages};
use actionflow_runtime::{Event, ExecutionRequest, Limits, Outcome, PoolConfig, Secrets, Status};
use anyhow::Context;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct RunArgs {
    /// The action's source file (CommonJS or ES module).
    action: PathBuf,
    /// The trigger to run it for (see `actionflow triggers`).
    #[arg(long)]
    trigger: String,
    /// A JSON file with the event; `{}` when omitted.
    #[arg(long)]
    event: Option<PathBuf>,
    /// A secret given to the action as `event.secrets.KEY` (repeatable).
    #[arg(long = "secret", value_name = "KEY=VALUE")]
    secrets: Vec<String>,
    /// Wall-clock limit in milliseconds.
    #[arg(long, default_value_t = 20_000)]
    timeout_ms: u64,
    /// V8 heap limit in MiB.
    #[arg(long, default_value_t = 128)]
    heap_mb: usize,
    /// Let `fetch` reach loopback and private addresses (for local development only).
    #[arg(long)]
    allow_private_network: bool,
    /// A dependency `name@range` (npm semantics), resolved from your npm registry (repeatable).
    #[arg(long = "dep", value_name = "NAME@RANGE")]
    deps: Vec<String>,
    /// The npm registry to resolve from (default: your npm configuration).
    #[arg(long)]
    registry: Option<String>,
    /// Where packages are cached (default: ~/.cache/actionflow/npm).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Print JSON even on a terminal.
    #[arg(long)]
    json: bool,
}

fn bad(message: String) -> anyhow::Error {
    anyhow::Error::new(BadInput(message))
}

fn parse_secrets(pairs: &[String]) -> anyhow::Result<Secrets> {
    let mut secrets = BTreeMap::new();
    for pair in pairs {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| bad(format!("--secret {pair:?}: expected KEY=VALUE")))?;
        if k.is_empty() {
            return Err(bad(format!("--secret {pair:?}: the name is empty")));
        }
        secrets.insert(k.to_owned(), v.to_owned());
    }
    Ok(Secrets(secrets))
}

pub fn main(args: RunArgs) -> anyhow::Result<ExitCode> {
    if actionflow_runtime::trigger::find(&args.trigger).is_none() {
        let known = actionflow_runtime::trigger::ids().join(", ");
        return Err(bad(format!(
            "--trigger: unknown trigger {:?} (known: {known})",
            args.trigger
        )));
    }
    let code = std::fs::read_to_string(&args.action).map_err(|e| {
        bad(format!(
            "{}: cannot read the action: {e}",
            args.action.display()
        ))
    })?;
    let event = match &args.event {
        None => Event::empty(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| bad(format!("{}: cannot read the event: {e}", path.display())))?;
            // "the event is not valid JSON: …" or "the event must be a JSON object".
            Event::from_json(&text).map_err(|e| bad(format!("{}: {e}", path.display())))?
        }
    };
    let deps = parse_dependency_args(&args.deps)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let files = if deps.is_empty() {
        packages::module_files(&Default::default())
    } else {
        let cache_dir = args.cache_dir.clone().unwrap_or_else(default_cache_dir);
        let store = Packages::open(&cache_dir, npm_discovery(args.registry.clone()))
            .with_context(|| format!("opening the package cache at {}", cache_dir.display()))?;
        let (_lockfile, tree) = rt
            .block_on(store.install(&deps))
            .context("installing --dep packages")?;
        packages::module_files(&tree)
    };
    let limits = Limits {
        wall_ms_max: args.timeout_ms,
        heap_bytes_max: args.heap_mb * 1024 * 1024,
        ..Limits::default()
    };
    let request = ExecutionRequest {
        tenant: "local".into(),
        action: args.action.display().to_string(),
        version: "local".into(),
        code: Arc::from(code),
        files,
        trigger_id: args.trigger.clone(),
        event,
        secrets: parse_secrets(&args.secrets)?,
        limits,
    };
    let config = PoolConfig {
        allow_private_network: args.allow_private_network,
        ..PoolConfig::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcome = rt
        .block_on(async {
            let runtime = crate::integrations::runtime(config)?;
            runtime.execute(request).await
        })
        .context("the runtime failed")?;
    if args.json || !std::io::stdout().is_terminal() {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else {
        print_readable(&outcome);
    }
    Ok(if outcome.status == Status::Completed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_readable(outcome: &Outcome) {
    let status = serde_json::to_value(outcome.status).ok();
    let status = status.as_ref().and_then(|s| s.as_str()).unwrap_or("?");
    println!("status: {status} in {:.2} ms", outcome.duration_ms);
    for call in &outcome.api_calls {
        let args: Vec<String> = call.args.iter().map(|a| a.to_string()).collect();
        println!("api.{}({})", call.method, args.join(", "));
    }
    for line in &outcome.logs {
        println!("[{:?}] {}", line.level, line.message);
    }
    if outcome.logs_dropped > 0 {
        println!(
            "({} log lines dropped by the log limits)",
            outcome.logs_dropped
        );
    }
    if let Some(e) = &outcome.error {
        println!(
            "{}",
            e.stack
                .clone()
                .unwrap_or_else(|| format!("{}: {}", e.name, e.message))
        );
    }
}

/// Parses `--dep name@range` arguments into the dependency map.
pub fn parse_dependency_args(args: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut deps = BTreeMap::new();
    for arg in args {
        let (name, range) = actionflow_registry::parse_dependency_arg(arg)
            .map_err(|e| BadInput(format!("--dep {arg:?}: {e}")))?;
        deps.insert(name, range);
    }
    Ok(deps)
}
