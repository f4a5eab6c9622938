//! `actionflow-bench`: the API and flow benchmarks, kept out of the shipped `actionflow` binary.
//! `actionflow-bench api` measures test runs and action lists; `actionflow-bench flows` sync
//! dispatch over HTTP and async delivery; both on SQLite and, with `--postgres-url`, PostgreSQL,
//! against a server started in this process (`server.rs`); `actionflow-bench sandboxes` sync
//! dispatch with isolates in-process and in sandbox processes, interleaved; `actionflow-bench
//! dispatch` `actionflow serve` against the Node.js webhook it replaces. Each prints a Markdown table.

mod api;
mod dispatch;
mod flows;
mod flows_setup;
mod http;
mod sandboxes;
mod server;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// The server's allocator, so the numbers are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "actionflow-bench",
    about = "Actionflow's API and flow benchmarks"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// API throughput (test runs, action lists) on SQLite and PostgreSQL.
    Api(api::BenchApiArgs),
    /// Sync dispatch over HTTP and async delivery on SQLite and PostgreSQL.
    Flows(flows::BenchFlowsArgs),
    /// Sync dispatch over HTTP with isolates in the server's process and in sandbox processes,
    /// interleaved.
    Sandboxes(sandboxes::BenchSandboxesArgs),
    /// Sync dispatch over HTTP to `actionflow serve` (1 and 3 actions) against the Node.js webhook
    /// it replaces, one load generator for all.
    Dispatch(dispatch::BenchDispatchArgs),
}

/// The action every benchmark runs and the event it gets (the same as `actionflow bench`).
pub const ACTION: &str = include_str!("../fixtures/action.js");

pub fn event() -> serde_json::Value {
    serde_json::from_str(include_str!("../fixtures/event.json"))
        .expect("fixtures/event.json is JSON")
}

fn main() -> ExitCode {
    let result = match Args::parse().command {
        Command::Api(a) => api::main(a),
        Command::Flows(a) => flows::main(a),
        Command::Sandboxes(a) => sandboxes::main(a),
        Command::Dispatch(a) => dispatch::main(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
