//! `actionflow serve`: resolves the config, starts the API and prints where it listens and how to
//! authenticate (the admin token itself only when it was just generated).

use crate::config::{Resolved, ServeConfig};
use actionflow_server::AdminToken;
use anyhow::Context;
use std::process::ExitCode;

pub fn main(args: ServeConfig) -> anyhow::Result<ExitCode> {
    init_tracing();
    let resolved = args.load()?.resolve()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(serve(resolved))?;
    Ok(ExitCode::SUCCESS)
}

/// Logs go to stderr as text; `RUST_LOG` filters them (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

async fn serve(resolved: Resolved) -> anyhow::Result<()> {
    let database = if resolved.postgres {
        "PostgreSQL".to_owned()
    } else {
        format!("SQLite at {}", resolved.settings.database_location)
    };
    let (state, admin) = actionflow_server::build_state(resolved.settings).await?;
    let listener = tokio::net::TcpListener::bind(resolved.listen)
        .await
        .with_context(|| format!("listening on {}", resolved.listen))?;
    let address = listener.local_addr()?;
    println!("actionflow listening on http://{address} ({database})");
    match admin {
        AdminToken::FromEnv => println!("admin token: the value of ACTIONFLOW_ADMIN_TOKEN"),
        AdminToken::Generated(token) => {
            println!("admin token (shown only this once, keep it): {token}");
        }
        AdminToken::Stored(path) => println!(
            "admin token: the one printed on first start (its hash is in {}; set \
             ACTIONFLOW_ADMIN_TOKEN to use another)",
            path.display()
        ),
    }
    println!(
        "authenticate with `Authorization: Bearer <token>`: the admin token creates tenants \
         (POST /v1/tenants) and their tokens (POST /v1/tenants/{{id}}/tokens); API document at \
         http://{address}/openapi.json"
    );
    actionflow_server::run(listener, state)
        .await
        .context("serving HTTP")
}
