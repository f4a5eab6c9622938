//! CLI client commands over HTTP (`actionflow actions|secrets|tenants|tokens|bindings|dispatch|
//! executions|logs|log-streams|integration|marketplace`): each builds one
//! API request, prints the JSON answer, and maps an API error to a readable line — a 4xx is the
//! user's input (exit 2), anything else exit 1. The server URL and token come from
//! `--url`/`ACTIONFLOW_URL` and `--token`/`ACTIONFLOW_TOKEN`.

pub mod actions;
pub mod admin;
mod console;
pub mod integration;
pub mod log_streams;
pub mod logs;
pub mod marketplace;
pub mod secrets;
pub mod triggers;
pub mod webtasks;

use crate::BadInput;
use anyhow::Context;
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::ExitCode;

/// Where the server is and who calls it.
#[derive(clap::Args, Debug, Clone)]
pub struct Connection {
    /// The server's base URL.
    #[arg(
        long,
        env = "ACTIONFLOW_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub url: String,
    /// A tenant token (the admin token for `tenants` and `tokens`).
    #[arg(long, env = "ACTIONFLOW_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
}

/// One HTTP client bound to a server and a token.
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    pub fn new(connection: &Connection) -> anyhow::Result<Client> {
        let token = connection
            .token
            .clone()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| BadInput("no token: pass --token or set ACTIONFLOW_TOKEN".to_owned()))?;
        Ok(Client {
            http: reqwest::Client::new(),
            base: connection.url.trim_end_matches('/').to_owned(),
            token,
        })
    }

    /// Sends a request and returns the JSON answer, or the API's error as an error.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach the server at {}", self.base))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .context("reading the server's answer")?;
        let value: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if status.is_success() {
            return Ok(value);
        }
        let error = &value["error"];
        let mut line = format!(
            "{} {}: {}",
            status.as_u16(),
            error["code"].as_str().unwrap_or("error"),
            error["message"]
                .as_str()
                .unwrap_or("the server refused the request")
        );
        if let Some(field) = error["field"].as_str() {
            line.push_str(&format!(" (field: {field})"));
        }
        for e in error["errors"].as_array().into_iter().flatten() {
            let at = e["line"]
                .as_u64()
                .map(|l| format!("line {l}: "))
                .unwrap_or_default();
            line.push_str(&format!("\n  {at}{}", e["message"].as_str().unwrap_or("")));
        }
        if status.is_client_error() {
            Err(BadInput(line).into())
        } else {
            Err(anyhow::anyhow!(line))
        }
    }
}

/// Runs `future` on a small runtime, prints its JSON result.
pub fn run(
    future: impl std::future::Future<Output = anyhow::Result<Value>>,
) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let value = rt.block_on(future)?;
    if !value.is_null() {
        println!("{}", serde_json::to_string_pretty(&value)?);
    }
    Ok(ExitCode::SUCCESS)
}

/// `KEY=VALUE` arguments into `[{name, value}]`.
pub fn secret_pairs(pairs: &[String]) -> anyhow::Result<Vec<Value>> {
    let mut out = BTreeMap::new();
    for pair in pairs {
        let (k, v) = pair.split_once('=').ok_or_else(|| {
            BadInput(format!(
                "--secret {:?}: expected NAME=VALUE",
                pair.split('=').next().unwrap_or("")
            ))
        })?;
        out.insert(k.to_owned(), v.to_owned());
    }
    Ok(out
        .into_iter()
        .map(|(name, value)| serde_json::json!({"name": name, "value": value}))
        .collect())
}

/// Reads a file the user named, as a bad input when it cannot be read.
pub fn read_file(flag: &str, path: &std::path::Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| BadInput(format!("{flag} {}: cannot read it: {e}", path.display())).into())
}
