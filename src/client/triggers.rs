//! `actionflow bindings get|set|insert|remove|revisions|restore`, `actionflow dispatch`,
//! and `actionflow executions list|show|retry`, over the API.
//! Actions are named by name, or by id with `--id`.

use super::{read_file, run, Client, Connection};
use crate::BadInput;
use reqwest::Method;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct BindingsArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: BindingsCommand,
}

#[derive(clap::Subcommand)]
enum BindingsCommand {
    /// Show a trigger's flow, in execution order.
    Get { trigger: String },
    /// Replace the whole flow with these actions, in this order (a new revision).
    Set {
        trigger: String,
        actions: Vec<String>,
        /// The actions are ids, not names.
        #[arg(long)]
        id: bool,
        /// This bound action's failure does not fail the flow (repeatable).
        #[arg(long = "continue-on-error", value_name = "ACTION")]
        continue_on_error: Vec<String>,
    },
    /// Insert one action at a position (0 = first; default last), leaving the others alone.
    Insert {
        trigger: String,
        action: String,
        #[arg(long)]
        position: Option<usize>,
        #[arg(long)]
        id: bool,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        continue_on_error: bool,
    },
    /// Remove one action from the flow, leaving the others alone.
    Remove {
        trigger: String,
        action: String,
        #[arg(long)]
        id: bool,
    },
    /// List the flow's revisions, newest first.
    Revisions { trigger: String },
    /// Make revision N the flow again (as a new revision).
    Restore { trigger: String, revision: i64 },
}

fn reference(action: &str, id: bool) -> Value {
    let kind = if id { "action_id" } else { "action_name" };
    json!({"type": kind, "value": action})
}

fn on_error(continues: bool) -> &'static str {
    if continues {
        "continue"
    } else {
        "fail"
    }
}

pub fn bindings(args: BindingsArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.connection)?;
    run(async move {
        let base = |trigger: &str| format!("/v1/triggers/{trigger}/bindings");
        match args.command {
            BindingsCommand::Get { trigger } => {
                client.call(Method::GET, &base(&trigger), None).await
            }
            BindingsCommand::Set {
                trigger,
                actions,
                id,
                continue_on_error,
            } => {
                let bindings: Vec<Value> = actions
                    .iter()
                    .map(|a| {
                        json!({"ref": reference(a, id),
                        "on_error": on_error(continue_on_error.contains(a))})
                    })
                    .collect();
                let body = json!({"bindings": bindings});
                client
                    .call(Method::PATCH, &base(&trigger), Some(body))
                    .await
            }
            BindingsCommand::Insert {
                trigger,
                action,
                position,
                id,
                display_name,
                continue_on_error,
            } => {
                let body = json!({"ref": reference(&action, id), "position": position,
                    "display_name": display_name, "on_error": on_error(continue_on_error)});
                let path = format!("{}:insert", base(&trigger));
                client.call(Method::POST, &path, Some(body)).await
            }
            BindingsCommand::Remove {
                trigger,
                action,
                id,
            } => {
                let body = json!({"ref": reference(&action, id)});
                let path = format!("{}:remove", base(&trigger));
                client.call(Method::POST, &path, Some(body)).await
            }
            BindingsCommand::Revisions { trigger } => {
                let path = format!("{}/revisions", base(&trigger));
                client.call(Method::GET, &path, None).await
            }
            BindingsCommand::Restore { trigger, revision } => {
                let path = format!("{}/revisions/{revision}/restore", base(&trigger));
                client.call(Method::POST, &path, None).await
            }
        }
    })
}

#[derive(clap::Args)]
pub struct DispatchArgs {
    #[command(flatten)]
    connection: Connection,
    /// The trigger, e.g. post-login.
    trigger: String,
    /// A JSON file with the event. For async triggers, the event's `id` is the idempotency key.
    #[arg(long)]
    event: PathBuf,
}

/// Sends an event; a sync trigger prints the flow's effects and results, an async one the
/// execution id.
pub fn dispatch(args: DispatchArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.connection)?;
    let text = read_file("--event", &args.event)?;
    let event: Value = serde_json::from_str(&text)
        .map_err(|e| BadInput(format!("--event {}: not JSON: {e}", args.event.display())))?;
    let path = format!("/v1/triggers/{}/dispatch", args.trigger);
    run(async move {
        client
            .call(Method::POST, &path, Some(json!({"event": event})))
            .await
    })
}

#[derive(clap::Args)]
pub struct ExecutionsArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: ExecutionsCommand,
}

#[derive(clap::Subcommand)]
enum ExecutionsCommand {
    /// List executions of async dispatches, newest first, as summaries (no event; per action a
    /// log count instead of the logs: `show` has them).
    List {
        #[arg(long)]
        trigger: Option<String>,
        /// An action id.
        #[arg(long)]
        action: Option<String>,
        /// pending, running, final, partial, failed or dead.
        #[arg(long)]
        status: Option<String>,
        /// Created at or after this RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        #[arg(long, default_value_t = 0)]
        page: u32,
        #[arg(long, default_value_t = 50)]
        per_page: u32,
    },
    /// Show one execution with its attempts and per-action results, logs included.
    Show { id: String },
    /// Re-drive a dead execution: a fresh budget of attempts, numbered on from the last one.
    Retry { id: String },
}

pub fn executions(args: ExecutionsArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.connection)?;
    run(async move {
        match args.command {
            ExecutionsCommand::List {
                trigger,
                action,
                status,
                since,
                page,
                per_page,
            } => {
                let mut query = vec![
                    ("page", page.to_string()),
                    ("per_page", per_page.to_string()),
                ];
                for (key, value) in [
                    ("trigger", trigger),
                    ("action", action),
                    ("status", status),
                    ("since", since),
                ] {
                    if let Some(value) = value {
                        query.push((key, value));
                    }
                }
                let query = serde_urlencoded::to_string(&query)?;
                client
                    .call(Method::GET, &format!("/v1/executions?{query}"), None)
                    .await
            }
            ExecutionsCommand::Show { id } => {
                client
                    .call(Method::GET, &format!("/v1/executions/{id}"), None)
                    .await
            }
            ExecutionsCommand::Retry { id } => {
                client
                    .call(Method::POST, &format!("/v1/executions/{id}/retry"), None)
                    .await
            }
        }
    })
}
