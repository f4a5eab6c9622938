//! The `actionflow` binary: `serve` (the server, from `actionflow-server`), the commands that work
//! without a server (`local/`: `run`, `triggers`), the API client commands (`client/`) and the
//! runtime benchmark (`bench`). It owns configuration (`config/`, the only place that reads the
//! environment) and turns library errors into one readable line and an exit code.

mod bench;
mod client;
mod config;
mod integrations;
mod local;
mod serve;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Per-thread heaps: the server allocates on many threads at once (see the note in Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "actionflow",
    version,
    about = "Run tenants' JavaScript actions on identity-platform triggers"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

/// Parsed once per process: the size of the serve variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run one action file once, locally, and print its outcome.
    Run(local::run::RunArgs),
    /// List the triggers with their handler names and api methods.
    Triggers(local::triggers::TriggersArgs),
    /// Measure cold and warm executions against a Node.js webhook baseline and print a table.
    Bench(bench::BenchArgs),
    /// Serve the Actions HTTP API (SQLite in the data dir by default, or PostgreSQL).
    Serve(config::ServeConfig),
    /// Actions of a tenant over the API: create, list, show, update, deploy, versions, rollback,
    /// diff, test, delete.
    Actions(client::actions::ActionsArgs),
    /// An action's secrets over the API: set, list, delete.
    Secrets(client::secrets::SecretsArgs),
    /// Tenants over the API (admin token): create, list.
    Tenants(client::admin::TenantsArgs),
    /// Tenant API tokens (admin token): create, list, revoke.
    Tokens(client::admin::TokensArgs),
    /// A trigger's ordered flow over the API: get, set, insert, remove, revisions, restore.
    Bindings(client::triggers::BindingsArgs),
    /// Send an event to a trigger (sync: prints the effects; async: the execution id).
    Dispatch(client::triggers::DispatchArgs),
    /// Executions of async dispatches: list, show, retry.
    Executions(client::triggers::ExecutionsArgs),
    /// An action's console output (`logs action NAME [--follow]`) and the tenant log
    /// (`logs search Q`, `logs tail [--from LOG_ID] [--follow]`).
    Logs(client::logs::LogsArgs),
    /// Streams of the tenant log to webhooks: create, ls, show, pause, resume, replay, health,
    /// rotate, delete.
    LogStreams(client::log_streams::LogStreamsArgs),
    /// Partners' integration packages: init, test, pack (locally); submit, status, list, withdraw,
    /// deprecate, yank (publisher token).
    Integration(client::integration::IntegrationArgs),
    /// The marketplace: search, show, install, installed, upgrade, uninstall (tenant token);
    /// review, approve, request-changes, reject (reviewer token); publishers (admin token).
    Marketplace(client::marketplace::MarketplaceArgs),
    /// Webtasks of a container (wt-cli's verbs): create, ls, inspect, rm, logs, cron
    /// create|ls|history|rm.
    Wt(client::webtasks::WtArgs),
    /// Worker mode: a sandbox process started by `serve` (not for direct use).
    #[command(hide = true)]
    Sandbox,
}

/// A bad input from the user: printed as one line, exit code 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.command {
        Command::Run(a) => local::run::main(a),
        Command::Triggers(a) => local::triggers::main(&a),
        Command::Bench(a) => bench::main(a),
        Command::Serve(a) => serve::main(a),
        Command::Actions(a) => client::actions::main(a),
        Command::Secrets(a) => client::secrets::main(a),
        Command::Wt(a) => client::webtasks::main(a),
        Command::Tenants(a) => client::admin::tenants(a),
        Command::Tokens(a) => client::admin::tokens(a),
        Command::Bindings(a) => client::triggers::bindings(a),
        Command::Dispatch(a) => client::triggers::dispatch(a),
        Command::Executions(a) => client::triggers::executions(a),
        Command::Logs(a) => client::logs::main(a),
        Command::LogStreams(a) => client::log_streams::main(a),
        Command::Integration(a) => client::integration::main(a),
        Command::Marketplace(a) => client::marketplace::main(a),
        Command::Sandbox => integrations::sandbox(),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<BadInput>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
