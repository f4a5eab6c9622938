//! The setup and measuring helpers of `actionflow-bench flows`: a tenant and token, deployed and bound actions,
//! timed requests and percentiles.

use actionflow_server::AppState;
use anyhow::Context;
use serde_json::{json, Value};

pub async fn tenant_of(state: &AppState, token: &str) -> anyhow::Result<String> {
    let hash = actionflow_server::auth::hash_token(token);
    Ok(state.store.token_by_hash(&hash).await?.tenant_id)
}

use crate::http::call;
pub use crate::http::{percentile_ms, timed};

pub async fn setup_tenant(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
) -> anyhow::Result<String> {
    let scopes = [
        "actions:read",
        "actions:write",
        "bindings:write",
        "dispatch",
        "webtasks:write",
    ];
    crate::http::setup_tenant(http, base, admin, &scopes).await
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
