//! `actionflow tenants create|list` and `actionflow tokens create|list|revoke`, with the admin token.

use super::{run, Client, Connection};
use reqwest::Method;
use serde_json::json;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct TenantsArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: TenantsCommand,
}

#[derive(clap::Subcommand)]
enum TenantsCommand {
    /// Create a tenant.
    Create { name: String },
    /// List tenants.
    List,
}

#[derive(clap::Args)]
pub struct TokensArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: TokensCommand,
}

#[derive(clap::Subcommand)]
enum TokensCommand {
    /// Create a token for a tenant; its value is printed this once.
    Create {
        tenant: String,
        /// actions:read, actions:write, bindings:read, bindings:write, dispatch, executions:read
        /// (repeatable).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
    },
    /// List a tenant's tokens (never their values).
    List { tenant: String },
    /// Revoke a token.
    Revoke { tenant: String, token_id: String },
}

pub fn tenants(args: TenantsArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.connection)?;
    let (method, path, body) = match args.command {
        TenantsCommand::Create { name } => (
            Method::POST,
            "/v1/tenants".to_owned(),
            Some(json!({"name": name})),
        ),
        TenantsCommand::List => (Method::GET, "/v1/tenants".to_owned(), None),
    };
    run(async move { client.call(method, &path, body).await })
}

pub fn tokens(args: TokensArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.connection)?;
    let (method, path, body) = match args.command {
        TokensCommand::Create { tenant, scopes } => (
            Method::POST,
            format!("/v1/tenants/{tenant}/tokens"),
            Some(json!({"scopes": scopes})),
        ),
        TokensCommand::List { tenant } => {
            (Method::GET, format!("/v1/tenants/{tenant}/tokens"), None)
        }
        TokensCommand::Revoke { tenant, token_id } => (
            Method::DELETE,
            format!("/v1/tenants/{tenant}/tokens/{token_id}"),
            None,
        ),
    };
    run(async move { client.call(method, &path, body).await })
}
