//! `actionflow actions create|list|show|update|deploy|versions|rollback|diff|test|delete`.

use super::{read_file, run, secret_pairs, Client, Connection};
use crate::BadInput;
use reqwest::Method;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ActionsArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: ActionsCommand,
}

#[derive(clap::Subcommand)]
enum ActionsCommand {
    /// Create an action (its draft) from a JavaScript file.
    Create {
        #[arg(long)]
        name: String,
        /// A trigger it supports, e.g. post-login (repeatable).
        #[arg(long = "trigger", required = true)]
        triggers: Vec<String>,
        /// The action's source file.
        #[arg(long)]
        code: PathBuf,
        /// A dependency NAME@RANGE (repeatable).
        #[arg(long = "dep", value_name = "NAME@RANGE")]
        deps: Vec<String>,
        /// A secret NAME=VALUE (repeatable; prefer `secrets set`, which reads stdin).
        #[arg(long = "secret", value_name = "NAME=VALUE")]
        secrets: Vec<String>,
        #[arg(long)]
        runtime: Option<String>,
    },
    /// Change the draft: code, dependencies (replaced as a whole), triggers or name.
    Update {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long = "trigger")]
        triggers: Vec<String>,
        #[arg(long)]
        code: Option<PathBuf>,
        #[arg(long = "dep", value_name = "NAME@RANGE")]
        deps: Vec<String>,
    },
    /// List actions.
    List {
        #[arg(long)]
        trigger: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        deployed: Option<bool>,
        #[arg(long, default_value_t = 0)]
        page: u32,
        #[arg(long, default_value_t = 50)]
        per_page: u32,
    },
    /// Show an action's draft.
    Show { id: String },
    /// Build the draft and deploy it as a new version.
    Deploy { id: String },
    /// List versions, or show one with --number.
    Versions {
        id: String,
        #[arg(long)]
        number: Option<i64>,
    },
    /// Deploy a copy of an earlier version.
    Rollback { id: String, version: i64 },
    /// Diff two versions (`draft` names the draft); prints the code diff, then the other changes.
    Diff {
        id: String,
        from: String,
        to: String,
    },
    /// Run the draft (or --version N) once with an event.
    Test {
        id: String,
        /// A JSON file with the event ({} when omitted).
        #[arg(long)]
        event: Option<PathBuf>,
        #[arg(long)]
        version: Option<i64>,
        #[arg(long)]
        trigger: Option<String>,
        /// A secret for this run only, NAME=VALUE (repeatable).
        #[arg(long = "secret", value_name = "NAME=VALUE")]
        secrets: Vec<String>,
    },
    /// Delete an action (with --force even while bound).
    Delete {
        id: String,
        #[arg(long)]
        force: bool,
    },
}

fn dependencies(deps: &[String]) -> anyhow::Result<Vec<Value>> {
    let parsed = crate::local::run::parse_dependency_args(deps)?;
    Ok(parsed
        .into_iter()
        .map(|(name, version)| json!({"name": name, "version": version}))
        .collect())
}

fn triggers(ids: &[String]) -> Value {
    Value::Array(ids.iter().map(|id| json!({"id": id})).collect())
}

pub fn main(args: ActionsArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.connection)?;
    let request = build(args.command)?;
    if let Request::Diff(path) = &request {
        return print_diff(&client, path);
    }
    let Request::Call(method, path, body) = request else {
        return Ok(ExitCode::SUCCESS);
    };
    run(async move { client.call(method, &path, body).await })
}

enum Request {
    Call(Method, String, Option<Value>),
    Diff(String),
}

fn build(command: ActionsCommand) -> anyhow::Result<Request> {
    use ActionsCommand as C;
    let call = |m: Method, p: String, b: Option<Value>| Ok(Request::Call(m, p, b));
    match command {
        C::Create {
            name,
            triggers: t,
            code,
            deps,
            secrets,
            runtime,
        } => {
            let mut body = json!({
                "name": name, "supported_triggers": triggers(&t),
                "code": read_file("--code", &code)?, "dependencies": dependencies(&deps)?,
                "secrets": secret_pairs(&secrets)?,
            });
            if let Some(runtime) = runtime {
                body["runtime"] = json!(runtime);
            }
            call(Method::POST, "/v1/actions".into(), Some(body))
        }
        C::Update {
            id,
            name,
            triggers: t,
            code,
            deps,
        } => {
            let mut body = json!({});
            if let Some(name) = name {
                body["name"] = json!(name);
            }
            if !t.is_empty() {
                body["supported_triggers"] = triggers(&t);
            }
            if let Some(code) = code {
                body["code"] = json!(read_file("--code", &code)?);
            }
            if !deps.is_empty() {
                body["dependencies"] = json!(dependencies(&deps)?);
            }
            if body == json!({}) {
                return Err(BadInput(
                    "nothing to update: give --code, --dep, --trigger or --name".into(),
                )
                .into());
            }
            call(Method::PATCH, format!("/v1/actions/{id}"), Some(body))
        }
        C::List {
            trigger,
            name,
            deployed,
            page,
            per_page,
        } => {
            let mut query = vec![
                ("page", page.to_string()),
                ("per_page", per_page.to_string()),
            ];
            query.extend(trigger.map(|t| ("trigger_id", t)));
            query.extend(name.map(|n| ("name", n)));
            query.extend(deployed.map(|d| ("deployed", d.to_string())));
            let query = serde_urlencoded::to_string(&query)?;
            call(Method::GET, format!("/v1/actions?{query}"), None)
        }
        C::Show { id } => call(Method::GET, format!("/v1/actions/{id}"), None),
        C::Deploy { id } => call(Method::POST, format!("/v1/actions/{id}/deploy"), None),
        C::Versions { id, number: None } => {
            call(Method::GET, format!("/v1/actions/{id}/versions"), None)
        }
        C::Versions {
            id,
            number: Some(n),
        } => call(Method::GET, format!("/v1/actions/{id}/versions/{n}"), None),
        C::Rollback { id, version } => call(
            Method::POST,
            format!("/v1/actions/{id}/versions/{version}/deploy"),
            None,
        ),
        C::Diff { id, from, to } => Ok(Request::Diff(format!(
            "/v1/actions/{id}/versions/{from}/diff/{to}"
        ))),
        C::Test {
            id,
            event,
            version,
            trigger,
            secrets,
        } => {
            let event: Value = match event {
                None => json!({}),
                Some(path) => serde_json::from_str(&read_file("--event", &path)?)
                    .map_err(|e| BadInput(format!("--event {}: not JSON: {e}", path.display())))?,
            };
            let mut body = json!({"event": event, "secrets": secret_pairs(&secrets)?});
            if let Some(trigger) = trigger {
                body["trigger_id"] = json!(trigger);
            }
            let query = version.map(|v| format!("?version={v}")).unwrap_or_default();
            call(
                Method::POST,
                format!("/v1/actions/{id}/test{query}"),
                Some(body),
            )
        }
        C::Delete { id, force } => call(
            Method::DELETE,
            format!("/v1/actions/{id}?force={force}"),
            None,
        ),
    }
}

/// Prints the unified code diff as text, then the other changes as JSON.
fn print_diff(client: &Client, path: &str) -> anyhow::Result<ExitCode> {
    run(async move {
        let mut diff = client.call(Method::GET, path, None).await?;
        if let Some(code) = diff.get_mut("code").map(Value::take) {
            print!("{}", code.as_str().unwrap_or(""));
        }
        Ok(diff)
    })
}
