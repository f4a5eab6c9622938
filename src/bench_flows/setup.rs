//! The setup and measuring helpers of `bench-flows`: a tenant and token, deployed and bound actions,
//! timed requests and percentiles.

use crate::server::{self, AppState};
use anyhow::{bail, Context};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub async fn tenant_of(state: &AppState, token: &str) -> anyhow::Result<String> {
    let hash = server::auth::hash_token(token);
    Ok(state.store.token_by_hash(&hash).await?.tenant_id)
}

pub async fn timed(request: reqwest::RequestBuilder) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let response = request.send().await?;
    let status = response.status();
    let body = response.bytes().await?;
    if !status.is_success() {
        bail!("{status}: {}", String::from_utf8_lossy(&body));
    }
    Ok(started.elapsed())
}

pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

async fn call(request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
    let response = request.send().await?;
    let status = response.status();
    let value: Value = response.json().await.context("decoding a setup answer")?;
    if !status.is_success() {
        bail!("setup call failed with {status}: {value}");
    }
    Ok(value)
}

pub async fn setup_tenant(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
) -> anyhow::Result<String> {
    let tenant = call(
        http.post(format!("{base}/v1/tenants"))
            .bearer_auth(admin)
            .json(&json!({"name": "bench"})),
    )
    .await?;
    let id = tenant["id"].as_str().context("tenant id")?;
    let scopes = json!({"scopes": ["actions:read", "actions:write", "bindings:write", "dispatch"]});
    let token = call(
        http.post(format!("{base}/v1/tenants/{id}/tokens"))
            .bearer_auth(admin)
            .json(&scopes),
    )
    .await?;
    Ok(token["token"].as_str().context("token")?.to_owned())
}

pub async fn deploy(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    name: &str,
    trigger: &str,
    code: &str,
) -> anyhow::Result<String> {
    let body = json!({"name": name, "supported_triggers": [{"id": trigger}], "code": code});
    let action = call(
        http.post(format!("{base}/v1/actions"))
            .bearer_auth(token)
            .json(&body),
    )
    .await?;
    let id = action["id"].as_str().context("action id")?.to_owned();
    call(
        http.post(format!("{base}/v1/actions/{id}/deploy"))
            .bearer_auth(token)
            .json(&json!({})),
    )
    .await?;
    Ok(id)
}

pub async fn bind(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    trigger: &str,
    ids: &[String],
) -> anyhow::Result<()> {
    let bindings: Vec<Value> = ids
        .iter()
        .map(|id| json!({"ref": {"type": "action_id", "value": id}}))
        .collect();
    call(
        http.patch(format!("{base}/v1/triggers/{trigger}/bindings"))
            .bearer_auth(token)
            .json(&json!({"bindings": bindings})),
    )
    .await?;
    Ok(())
}
