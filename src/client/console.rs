//! `actionflow logs action NAME [--follow]`: the console output of an action's executions. Without
//! `--follow`, the lines of its recent async executions; with it, every new line as executions end
//! (the server-sent events of `GET /v1/actions/{id}/logs/stream`), until interrupted.

use super::{Client, Connection};
use crate::BadInput;
use anyhow::Context;
use reqwest::Method;
use serde_json::Value;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ConsoleArgs {
    /// The action's name (or id with --id).
    action: String,
    #[arg(long)]
    id: bool,
    /// Keep printing new lines as executions end.
    #[arg(long, short)]
    follow: bool,
    /// Without --follow: how many recent executions to read.
    #[arg(long, default_value_t = 20)]
    executions: u32,
}

pub fn main(connection: &Connection, args: ConsoleArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(connection)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let id = action_id(&client, &args.action, args.id).await?;
        if args.follow {
            follow(connection, &id).await
        } else {
            recent(&client, &id, args.executions).await
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn action_id(client: &Client, action: &str, is_id: bool) -> anyhow::Result<String> {
    if is_id {
        return Ok(action.to_owned());
    }
    let query = serde_urlencoded::to_string([("name", action)])?;
    let list = client
        .call(Method::GET, &format!("/v1/actions?{query}"), None)
        .await?;
    list["actions"][0]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| BadInput(format!("no action named {action:?}")).into())
}

fn print_line(line: &Value) {
    println!(
        "{} {:<5} {}",
        line["at"].as_str().unwrap_or("-"),
        line["level"].as_str().unwrap_or("log"),
        line["message"].as_str().unwrap_or("")
    );
}

/// Lines of the action in its recent executions, oldest first. The list holds summaries (log counts);
/// the lines come from each execution that has some for the action.
async fn recent(client: &Client, id: &str, executions: u32) -> anyhow::Result<()> {
    let query =
        serde_urlencoded::to_string([("action", id), ("per_page", &executions.to_string())])?;
    let list = client
        .call(Method::GET, &format!("/v1/executions?{query}"), None)
        .await?;
    let mut items: Vec<&Value> = list["executions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|execution| {
            execution["results"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|r| r["action_id"] == id && r["log_count"].as_u64().unwrap_or(0) > 0)
        })
        .collect();
    items.reverse();
    for summary in items {
        let execution_id = summary["id"].as_str().unwrap_or_default();
        let execution = client
            .call(Method::GET, &format!("/v1/executions/{execution_id}"), None)
            .await?;
        for result in execution["results"].as_array().into_iter().flatten() {
            if result["action_id"] != id {
                continue;
            }
            for line in result["logs"].as_array().into_iter().flatten() {
                let mut line = line.clone();
                line["at"] = result["started_at"].clone();
                print_line(&line);
            }
        }
    }
    Ok(())
}

async fn follow(connection: &Connection, id: &str) -> anyhow::Result<()> {
    let base = connection.url.trim_end_matches('/');
    let token = connection.token.clone().unwrap_or_default();
    let mut response = reqwest::Client::new()
        .get(format!("{base}/v1/actions/{id}/logs/stream"))
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("cannot reach the server at {base}"))?;
    if !response.status().is_success() {
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_default();
        let message = body["error"]["message"].as_str().unwrap_or("refused");
        return Err(BadInput(format!("{} {message}", status.as_u16())).into());
    }
    // On stderr, so that stdout holds log lines only; printed once the stream is subscribed.
    eprintln!("following the logs of action {id} (Ctrl-C to stop)");
    let mut pending = String::new();
    while let Some(chunk) = response.chunk().await.context("reading the log stream")? {
        pending.push_str(&String::from_utf8_lossy(&chunk));
        // Events end with a blank line; each holds `event:` and `data:` lines.
        while let Some(end) = pending.find("\n\n") {
            let event: String = pending.drain(..end + 2).collect();
            let data = event
                .lines()
                .find_map(|l| l.strip_prefix("data:"))
                .map(str::trim);
            match (
                event
                    .lines()
                    .find_map(|l| l.strip_prefix("event:"))
                    .map(str::trim),
                data,
            ) {
                (Some("log"), Some(data)) => {
                    print_line(&serde_json::from_str(data).unwrap_or_default())
                }
                (Some("lagged"), Some(missed)) => {
                    eprintln!("({missed} lines missed: the stream fell behind)")
                }
                _ => {}
            }
        }
    }
    Ok(())
}
