//! `actionflow secrets set|list|delete`: an action's write-only secrets. `set` reads the value
//! from stdin unless `--value` is given, so it stays out of shell history.

use super::{run, Client, Connection};
use crate::BadInput;
use reqwest::Method;
use serde_json::json;
use std::io::Read;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct SecretsArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: SecretsCommand,
}

#[derive(clap::Subcommand)]
enum SecretsCommand {
    /// Set one secret of an action (the value from stdin, or --value).
    Set {
        action: String,
        name: String,
        #[arg(long)]
        value: Option<String>,
    },
    /// List an action's secret names and update times.
    List { action: String },
    /// Delete one secret.
    Delete { action: String, name: String },
}

pub fn main(args: SecretsArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.connection)?;
    let (method, path, body) = match args.command {
        SecretsCommand::Set {
            action,
            name,
            value,
        } => {
            let value = match value {
                Some(value) => value,
                None => {
                    let mut text = String::new();
                    std::io::stdin()
                        .read_to_string(&mut text)
                        .map_err(|e| BadInput(format!("reading the value from stdin: {e}")))?;
                    text.trim_end_matches(['\n', '\r']).to_owned()
                }
            };
            (
                Method::PUT,
                format!("/v1/actions/{action}/secrets/{name}"),
                Some(json!({"value": value})),
            )
        }
        SecretsCommand::List { action } => {
            (Method::GET, format!("/v1/actions/{action}/secrets"), None)
        }
        SecretsCommand::Delete { action, name } => (
            Method::DELETE,
            format!("/v1/actions/{action}/secrets/{name}"),
            None,
        ),
    };
    run(async move { client.call(method, &path, body).await })
}
