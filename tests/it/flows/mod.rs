//! End-to-end tests of triggers over HTTP: bindings and their revisions, sync dispatch, async
//! delivery (retries, dead letter, idempotency), live logs, a kill -9 with queued jobs, two
//! servers sharing one PostgreSQL queue, and the token and flow caches across nodes.

mod bindings;
mod caches;
mod cli;
mod delivery;
mod hook;
mod noisy;
mod recorded;
mod sync;

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{Api, Db, Server, Start};
use actionflow_server::Settings;

pub use crate::support::TENANT_SCOPES as ALL_SCOPES;

/// A server in this process whose actions may call the test's hook on loopback, retrying
/// quickly; `change` adjusts its settings further.
pub async fn start_in_process(db: &Db, change: impl FnOnce(&mut Settings)) -> Server {
    Server::in_process(db, |s| {
        s.allow_private_network = true;
        s.flows.worker.backoff.base_ms = 20;
        s.flows.worker.backoff.max_ms = 200;
        s.flows.worker.poll_interval = Duration::from_millis(50);
        change(s);
    })
    .await
}

/// The same as a server process (for kill -9, restarts and the CLI), `more` its extra flags.
pub async fn start(db: &Db, more: &[&str]) -> Server {
    start_with(db, Start::default(), more).await
}

/// `start` with other server options (an npm registry, say).
pub async fn start_with(db: &Db, base: Start, more: &[&str]) -> Server {
    let mut args: Vec<String> = [
        "--allow-private-network",
        "true",
        "--backoff-base-ms",
        "20",
        "--backoff-max-ms",
        "200",
        "--poll-ms",
        "50",
    ]
    .iter()
    .map(|a| (*a).to_owned())
    .collect();
    args.extend(more.iter().map(|a| (*a).to_owned()));
    Server::start_with(db, Start { args, ..base }).await
}

/// Creates and deploys an action; returns its id.
pub async fn deploy(api: &Api, name: &str, trigger: &str, code: &str) -> String {
    let (status, action) = api
        .post(
            "/v1/actions",
            json!({"name": name, "supported_triggers": [{"id": trigger}],
            "code": code}),
        )
        .await;
    assert_eq!(status, 201, "{action}");
    let id = action["id"].as_str().unwrap().to_owned();
    let (status, version) = api
        .post(&format!("/v1/actions/{id}/deploy"), json!({}))
        .await;
    assert_eq!(status, 201, "{version}");
    id
}

/// Sets the trigger's flow to the actions `ids`, in order.
pub async fn bind_flow(api: &Api, trigger: &str, ids: &[&str]) {
    let bindings: Vec<Value> = ids
        .iter()
        .map(|id| json!({"ref": {"type": "action_id", "value": id}}))
        .collect();
    let (status, flow) = api
        .patch(
            &format!("/v1/triggers/{trigger}/bindings"),
            json!({ "bindings": bindings }),
        )
        .await;
    assert_eq!(status, 200, "{flow}");
}

/// Polls an execution until it has `status` (at most 60 s).
pub async fn wait_for(api: &Api, id: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (code, execution) = api.get(&format!("/v1/executions/{id}")).await;
        assert_eq!(code, 200, "{execution}");
        if execution["status"] == status {
            return execution;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not {status}: {execution}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Polls the execution list until `count` executions have `status` (at most 120 s).
pub async fn wait_count(api: &Api, status: &str, count: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let (code, list) = api
            .get(&format!("/v1/executions?status={status}&per_page=1"))
            .await;
        assert_eq!(code, 200, "{list}");
        if list["total"].as_u64() == Some(count) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {count} are {status}",
            list["total"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
