//! `actionflow log-streams create|ls|show|pause|resume|replay|health|rotate|delete`: the tenant
//! log's streams to webhooks over the API (`/v1/log-streams`). A stream is named by its name or id.
//! `create` prints the stream with its signing secret (`whsec_…`), shown this once; so does
//! `rotate`.

use super::{run, Client, Connection};
use crate::BadInput;
use reqwest::Method;
use serde_json::{json, Map, Value};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct LogStreamsArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: StreamsCommand,
}

#[derive(clap::Subcommand)]
enum StreamsCommand {
    /// Create a stream to a webhook; prints its signing secret once.
    Create(CreateArgs),
    /// List the streams, oldest first.
    Ls,
    /// Show one stream.
    Show { stream: String },
    /// Stop sending; the stream keeps its checkpoint.
    Pause { stream: String },
    /// Send again from the checkpoint (also ends a suspension).
    Resume { stream: String },
    /// Send again every matching event after a `log_id`.
    Replay {
        stream: String,
        #[arg(long)]
        from: String,
    },
    /// Status, last success, last error, consecutive failures and lag.
    Health { stream: String },
    /// A new signing secret (printed once); the old one keeps signing beside it for the overlap.
    Rotate {
        stream: String,
        /// How long the old secret keeps signing, in seconds [default: 86400].
        #[arg(long)]
        overlap_seconds: Option<u64>,
    },
    /// Delete a stream.
    Delete { stream: String },
}

#[derive(clap::Args)]
struct CreateArgs {
    name: String,
    /// The webhook URL events are POSTed to.
    #[arg(long)]
    endpoint: String,
    /// `jsonlines`, `jsonarray` or `jsonobject` [default: jsonlines].
    #[arg(long)]
    format: Option<String>,
    /// Sent as the `Authorization` header (write-only).
    #[arg(long)]
    authorization: Option<String>,
    /// A custom header as NAME=VALUE (repeatable).
    #[arg(long = "header", value_name = "NAME=VALUE")]
    headers: Vec<String>,
    /// Log type codes to send, comma-separated (default: every type).
    #[arg(long, value_delimiter = ',')]
    types: Vec<String>,
    /// Send this level and above (0 debug … 4 critical).
    #[arg(long)]
    min_level: Option<u8>,
    /// Events per request (1–100) [default: 100].
    #[arg(long)]
    batch_size: Option<u32>,
    /// One request per event instead of batches.
    #[arg(long)]
    no_batch: bool,
    /// Requests at once without batches (1–20) [default: 5].
    #[arg(long)]
    concurrency: Option<u32>,
    /// Begin after this `log_id` (default: only events from now on).
    #[arg(long)]
    start_from: Option<String>,
}

impl CreateArgs {
    fn body(self) -> anyhow::Result<Value> {
        let mut headers = Map::new();
        for pair in &self.headers {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| BadInput(format!("--header {pair:?}: expected NAME=VALUE")))?;
            headers.insert(name.to_owned(), json!(value));
        }
        let mut sink = Map::new();
        sink.insert("endpoint".into(), json!(self.endpoint));
        let mut body = Map::new();
        body.insert("name".into(), json!(self.name));
        let sink_fields = vec![
            ("content_format", self.format.map(Value::from)),
            ("authorization", self.authorization.map(Value::from)),
            (
                "custom_headers",
                (!headers.is_empty()).then_some(Value::Object(headers)),
            ),
        ];
        let body_fields = vec![
            ("batch_size", self.batch_size.map(Value::from)),
            ("send_as_batch", self.no_batch.then_some(json!(false))),
            ("concurrency", self.concurrency.map(Value::from)),
            ("start_from", self.start_from.map(Value::from)),
        ];
        for (object, fields) in [(&mut sink, sink_fields), (&mut body, body_fields)] {
            for (key, value) in fields {
                if let Some(value) = value {
                    object.insert(key.into(), value);
                }
            }
        }
        body.insert("sink".into(), Value::Object(sink));
        if !self.types.is_empty() || self.min_level.is_some() {
            let filters = json!({"types": self.types, "min_level": self.min_level.unwrap_or(0)});
            body.insert("filters".into(), filters);
        }
        Ok(Value::Object(body))
    }
}

pub fn main(args: LogStreamsArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.connection)?;
    run(async move {
        let client = &client;
        let path = |id: &str, tail: &str| format!("/v1/log-streams/{id}{tail}");
        match args.command {
            StreamsCommand::Create(create) => {
                let body = create.body()?;
                client
                    .call(Method::POST, "/v1/log-streams", Some(body))
                    .await
            }
            StreamsCommand::Ls => client.call(Method::GET, "/v1/log-streams", None).await,
            StreamsCommand::Show { stream } => {
                let id = stream_id(client, &stream).await?;
                client.call(Method::GET, &path(&id, ""), None).await
            }
            StreamsCommand::Pause { stream } => set_status(client, &stream, "paused").await,
            StreamsCommand::Resume { stream } => set_status(client, &stream, "active").await,
            StreamsCommand::Replay { stream, from } => {
                let id = stream_id(client, &stream).await?;
                let body = json!({"from": from});
                client
                    .call(Method::POST, &path(&id, "/replay"), Some(body))
                    .await
            }
            StreamsCommand::Health { stream } => {
                let id = stream_id(client, &stream).await?;
                client.call(Method::GET, &path(&id, "/health"), None).await
            }
            StreamsCommand::Rotate {
                stream,
                overlap_seconds,
            } => {
                let id = stream_id(client, &stream).await?;
                let body = match overlap_seconds {
                    Some(seconds) => json!({"overlap_seconds": seconds}),
                    None => json!({}),
                };
                client
                    .call(Method::POST, &path(&id, "/rotate-secret"), Some(body))
                    .await
            }
            StreamsCommand::Delete { stream } => {
                let id = stream_id(client, &stream).await?;
                client.call(Method::DELETE, &path(&id, ""), None).await
            }
        }
    })
}

async fn set_status(client: &Client, stream: &str, status: &str) -> anyhow::Result<Value> {
    let id = stream_id(client, stream).await?;
    let body = json!({"status": status});
    client
        .call(Method::PATCH, &format!("/v1/log-streams/{id}"), Some(body))
        .await
}

/// The id of the stream named `stream` (by name or id).
async fn stream_id(client: &Client, stream: &str) -> anyhow::Result<String> {
    let list = client.call(Method::GET, "/v1/log-streams", None).await?;
    list.as_array()
        .into_iter()
        .flatten()
        .find(|s| s["id"] == stream || s["name"] == stream)
        .and_then(|s| s["id"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| BadInput(format!("no log stream named {stream:?}")).into())
}
