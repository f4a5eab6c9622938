//! `actionflow wt …`: the webtask verbs users know from wt-cli — `create`, `ls`, `inspect`, `rm`,
//! `logs`, `cron create|ls|history|rm` — over the Extend-shaped API of one container.

use super::{run, Client, Connection};
use crate::BadInput;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct WtArgs {
    #[command(flatten)]
    connection: Connection,
    /// The webtask container (owned by the token's tenant on first use).
    #[arg(long, short = 'c', env = "ACTIONFLOW_WT_CONTAINER", global = true)]
    container: Option<String>,
    #[command(subcommand)]
    command: WtCommand,
}

#[derive(clap::Subcommand)]
enum WtCommand {
    /// Create or replace a webtask from a JavaScript file; prints its URL.
    Create {
        file: PathBuf,
        /// The webtask's name [default: the file's name without extension].
        #[arg(long, short = 'n')]
        name: Option<String>,
        /// KEY=VALUE, repeatable.
        #[arg(long, short = 's')]
        secret: Vec<String>,
        /// KEY=VALUE, repeatable (`wt-compiler`, `wt-middleware`, your own keys).
        #[arg(long, short = 'm')]
        meta: Vec<String>,
        /// name@version, repeatable.
        #[arg(long, short = 'd')]
        dependency: Vec<String>,
    },
    /// List the container's webtasks, optionally those whose metadata has every KEY:VALUE.
    Ls {
        #[arg(long)]
        meta: Vec<String>,
    },
    /// Show one webtask (with its code).
    Inspect { name: String },
    /// Delete a webtask with its storage and cron job.
    Rm { name: String },
    /// Follow the console of the container's webtasks until interrupted (the console is live
    /// only: there is nothing to print without following, so `--follow` is implied).
    Logs {
        /// Only lines containing this text.
        #[arg(long)]
        filter: Option<String>,
        /// Accepted for wt-cli's sake; logs always follow.
        #[arg(long, short = 'f')]
        follow: bool,
    },
    /// Cron jobs: create, ls, history, rm.
    #[command(subcommand)]
    Cron(CronCommand),
    /// Serve one webtask locally on the same runtime (no server, no token): prints its URL.
    Serve {
        file: PathBuf,
        #[arg(long, short = 'n')]
        name: Option<String>,
        /// 0: any free port.
        #[arg(long, short = 'p', default_value_t = 8080)]
        port: u16,
        #[arg(long, short = 's')]
        secret: Vec<String>,
        #[arg(long, short = 'm')]
        meta: Vec<String>,
    },
}

#[derive(clap::Subcommand)]
enum CronCommand {
    /// Schedule an existing webtask: `--schedule "*/5 * * * *"`.
    Create {
        name: String,
        #[arg(long)]
        schedule: String,
        /// An IANA time zone [default: UTC].
        #[arg(long)]
        tz: Option<String>,
        /// active or inactive [default: active].
        #[arg(long)]
        state: Option<String>,
    },
    /// The container's cron jobs.
    Ls,
    /// A job's last runs, newest first.
    History {
        name: String,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Unschedule a webtask.
    Rm { name: String },
}

fn pairs(flag: &str, items: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for item in items {
        let (k, v) = item
            .split_once('=')
            .ok_or_else(|| BadInput(format!("--{flag} {item:?}: expected KEY=VALUE")))?;
        out.insert(k.to_owned(), v.to_owned());
    }
    Ok(out)
}

fn dependencies(items: &[String]) -> anyhow::Result<Option<BTreeMap<String, String>>> {
    if items.is_empty() {
        return Ok(None);
    }
    let mut out = BTreeMap::new();
    for item in items {
        // A scoped name starts with `@`: the version follows the last `@`.
        let (name, version) = item
            .rsplit_once('@')
            .filter(|(name, _)| !name.is_empty())
            .ok_or_else(|| BadInput(format!("--dependency {item:?}: expected name@version")))?;
        out.insert(name.to_owned(), version.to_owned());
    }
    Ok(Some(out))
}

/// The webtask's name: given, or the file's name without extension.
fn name_of(name: Option<String>, file: &std::path::Path) -> anyhow::Result<String> {
    match name {
        Some(name) => Ok(name),
        None => Ok(file
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_owned)
            .ok_or_else(|| BadInput("pass --name".to_owned()))?),
    }
}

pub fn main(args: WtArgs) -> anyhow::Result<ExitCode> {
    let container = args.container.clone().filter(|c| !c.is_empty());
    let container = move || {
        container.clone().ok_or_else(|| {
            BadInput("no container: pass --container or set ACTIONFLOW_WT_CONTAINER".to_owned())
        })
    };
    let (method, path, body) = match args.command {
        WtCommand::Serve {
            file,
            name,
            port,
            secret,
            meta,
        } => {
            return crate::local::wt_serve::main(crate::local::wt_serve::ServeWebtask {
                name: name_of(name, &file)?,
                file: &file,
                port,
                secrets: pairs("secret", &secret)?,
                meta: (!meta.is_empty())
                    .then(|| pairs("meta", &meta))
                    .transpose()?,
            });
        }
        WtCommand::Create {
            file,
            name,
            secret,
            meta,
            dependency,
        } => {
            let code = std::fs::read_to_string(&file)
                .map_err(|e| BadInput(format!("reading {}: {e}", file.display())))?;
            let name = name_of(name, &file)?;
            let mut body = json!({"code": code, "secrets": pairs("secret", &secret)?});
            if !meta.is_empty() {
                body["meta"] = json!(pairs("meta", &meta)?);
            }
            if let Some(deps) = dependencies(&dependency)? {
                body["dependencies"] = json!(deps);
            }
            (
                Method::PUT,
                format!("/api/webtask/{}/{name}", container()?),
                Some(body),
            )
        }
        WtCommand::Ls { meta } => {
            let query: String = meta
                .iter()
                .map(|m| {
                    format!(
                        "&meta={}",
                        form_urlencoded::byte_serialize(m.as_bytes()).collect::<String>()
                    )
                })
                .collect();
            (
                Method::GET,
                format!("/api/webtask/{}?limit=1000{query}", container()?),
                None,
            )
        }
        WtCommand::Inspect { name } => (
            Method::GET,
            format!("/api/webtask/{}/{name}", container()?),
            None,
        ),
        WtCommand::Rm { name } => (
            Method::DELETE,
            format!("/api/webtask/{}/{name}", container()?),
            None,
        ),
        WtCommand::Logs { filter, .. } => return follow(&args.connection, &container()?, filter),
        WtCommand::Cron(command) => {
            let container = container()?;
            match command {
                CronCommand::Create {
                    name,
                    schedule,
                    tz,
                    state,
                } => {
                    let mut body = json!({"schedule": schedule});
                    if let Some(tz) = tz {
                        body["tz"] = json!(tz);
                    }
                    if let Some(state) = state {
                        body["state"] = json!(state);
                    }
                    (
                        Method::PUT,
                        format!("/api/cron/{container}/{name}"),
                        Some(body),
                    )
                }
                CronCommand::Ls => (Method::GET, format!("/api/cron/{container}"), None),
                CronCommand::History { name, limit } => (
                    Method::GET,
                    format!("/api/cron/{container}/{name}/history?limit={limit}"),
                    None,
                ),
                CronCommand::Rm { name } => (
                    Method::DELETE,
                    format!("/api/cron/{container}/{name}"),
                    None,
                ),
            }
        }
    };
    let client = Client::new(&args.connection)?;
    run(async move { client.call(method, &path, body).await })
}

/// Prints the container's console lines as they come: `name level: message`.
fn follow(
    connection: &Connection,
    container: &str,
    filter: Option<String>,
) -> anyhow::Result<ExitCode> {
    let token = connection
        .token
        .clone()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| BadInput("no token: pass --token or set ACTIONFLOW_TOKEN".to_owned()))?;
    let mut url = format!(
        "{}/api/logs/tenant/{container}",
        connection.url.trim_end_matches('/')
    );
    if let Some(filter) = filter {
        url.push_str("?filter=");
        url.extend(form_urlencoded::byte_serialize(filter.as_bytes()));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut response = reqwest::Client::new()
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("cannot reach the server: {e}"))?;
        if !response.status().is_success() {
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let message = body["error"]["message"]
                .as_str()
                .unwrap_or("refused")
                .to_owned();
            return Err(BadInput(format!("{status}: {message}")).into());
        }
        let mut pending = String::new();
        while let Some(chunk) = response.chunk().await? {
            pending.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = pending.find("\n\n") {
                let event: String = pending.drain(..end + 2).collect();
                if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data:")) {
                    let line: Value = serde_json::from_str(data.trim()).unwrap_or(Value::Null);
                    if line.is_object() {
                        println!(
                            "{} {}: {}",
                            line["name"].as_str().unwrap_or(""),
                            line["level"].as_str().unwrap_or("log"),
                            line["message"].as_str().unwrap_or("")
                        );
                    } else if event.contains("event: lagged") {
                        eprintln!("(missed {} lines)", data.trim());
                    }
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
