//! `actionflow logs action|search|tail`: an action's console output (`console.rs`), and the tenant
//! log — searched (`GET /v1/logs?q=`, newest first) or tailed by `log_id` checkpoint
//! (`GET /v1/logs?from=&take=`), printed one JSON event per line, oldest first.

use super::{console, run, Client, Connection};
use reqwest::Method;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args)]
pub struct LogsArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: LogsCommand,
}

#[derive(clap::Subcommand)]
enum LogsCommand {
    /// An action's console output; --follow prints new lines as executions end.
    Action(console::ConsoleArgs),
    /// Search the tenant log, newest first: `type:f OR type:fp`, `type:s AND user_id:"auth0|1"`.
    Search {
        /// The query (fields: type, user_id, user_name, client_id, connection, ip, strategy);
        /// empty: every event.
        #[arg(default_value = "")]
        q: String,
        /// 0-based page.
        #[arg(long, default_value_t = 0)]
        page: u32,
        #[arg(long, default_value_t = 50)]
        per_page: u32,
    },
    /// Print the tenant log's events in `log_id` order, one JSON object per line.
    Tail {
        /// Start after this `log_id` (0: the oldest kept); default: the newest --take events.
        #[arg(long)]
        from: Option<String>,
        /// Events per request (1–100).
        #[arg(long, default_value_t = 100)]
        take: u32,
        /// Keep printing new events as they are written, until interrupted.
        #[arg(long, short)]
        follow: bool,
    },
}

/// How often `tail --follow` asks for new events once caught up.
const FOLLOW_POLL: Duration = Duration::from_secs(1);

pub fn main(args: LogsArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        LogsCommand::Action(console) => console::main(&args.connection, console),
        LogsCommand::Search { q, page, per_page } => {
            let client = Client::new(&args.connection)?;
            let query = serde_urlencoded::to_string([
                ("q", q),
                ("page", page.to_string()),
                ("per_page", per_page.to_string()),
            ])?;
            run(async move {
                client
                    .call(Method::GET, &format!("/v1/logs?{query}"), None)
                    .await
            })
        }
        LogsCommand::Tail { from, take, follow } => {
            let client = Client::new(&args.connection)?;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(tail(&client, from, take, follow))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn tail(
    client: &Client,
    from: Option<String>,
    take: u32,
    follow: bool,
) -> anyhow::Result<()> {
    let mut from = match from {
        Some(from) => from,
        None => newest(client, take).await?,
    };
    loop {
        let query =
            serde_urlencoded::to_string([("from", from.as_str()), ("take", &take.to_string())])?;
        let page = client
            .call(Method::GET, &format!("/v1/logs?{query}"), None)
            .await?;
        let events = page["logs"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        for event in events {
            println!("{}", serde_json::to_string(event)?);
        }
        if let Some(next) = page["next_from"].as_str() {
            from = next.to_owned();
        }
        if events.is_empty() {
            if !follow {
                return Ok(());
            }
            tokio::time::sleep(FOLLOW_POLL).await;
        }
    }
}

/// The checkpoint just before the newest `take` events (search mode is newest first).
async fn newest(client: &Client, take: u32) -> anyhow::Result<String> {
    let per_page = take.clamp(1, 100).to_string();
    let query = serde_urlencoded::to_string([("per_page", per_page.as_str())])?;
    let page = client
        .call(Method::GET, &format!("/v1/logs?{query}"), None)
        .await?;
    let oldest = page["logs"]
        .as_array()
        .and_then(|events| events.last())
        .and_then(|event| event["log_id"].as_str())
        .and_then(|id| id.parse::<i64>().ok());
    Ok(oldest.map_or(0, |id| id - 1).to_string())
}
