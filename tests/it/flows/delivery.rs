//! Async delivery over HTTP: 202 before any action runs, idempotency, retries, dead letter and
//! re-drive, filters; a kill -9 with 200 queued dispatches; two servers sharing one PostgreSQL queue.

use std::collections::HashSet;

use futures::StreamExt;
use serde_json::{json, Value};

use super::hook::{action_code, Hook};
use super::{deploy, start, start_in_process, wait_count, wait_for, ALL_SCOPES};
use crate::support::{assert_error, Api, Db};

on_both_backends!(async_over_http, kill_9_with_queued_dispatches);

mod two_servers_share_one_queue {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(db) = crate::support::Db::postgres().await {
            super::two_servers_share_one_queue(db).await
        }
    }
}

async fn bind_hook_action(api: &Api, delay_ms: u64) -> String {
    let id = deploy(
        api,
        "notify",
        "post-user-registration",
        &action_code(delay_ms),
    )
    .await;
    let (status, flow) = api
        .patch(
            "/v1/triggers/post-user-registration/bindings",
            json!({"bindings": [{"ref": {"type": "action_id", "value": id}}]}),
        )
        .await;
    assert_eq!(status, 200, "{flow}");
    id
}

async fn dispatch(api: &Api, hook: &Hook, key: Option<&str>) -> (u16, Value) {
    let body = json!({"event": {"user": {"user_id": "auth0|1"}, "hook": hook.url}});
    let mut request = api
        .raw(
            reqwest::Method::POST,
            "/v1/triggers/post-user-registration/dispatch",
        )
        .json(&body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    api.finish(request).await
}

async fn async_over_http(db: Db) {
    let hook = Hook::start().await;
    let server = start_in_process(&db, |s| s.flows.dispatch.attempts_max = 2).await;
    let (_, api) = server.tenant("acme", ALL_SCOPES).await;
    let action = bind_hook_action(&api, 0).await;

    let (status, first) = dispatch(&api, &hook, Some("signup-7")).await;
    assert_eq!(
        (status, first["created"].as_bool()),
        (202, Some(true)),
        "{first}"
    );
    let (status, again) = dispatch(&api, &hook, Some("signup-7")).await;
    assert_eq!(
        (status, again["created"].as_bool()),
        (202, Some(false)),
        "{again}"
    );
    assert_eq!(first["execution_id"], again["execution_id"]);
    let id = first["execution_id"].as_str().unwrap();
    let done = wait_for(&api, id, "final").await;
    assert_eq!(done["attempts"], 1);
    assert_eq!(
        (
            done["idempotency_key"].as_str(),
            done["idempotency_key_source"].as_str()
        ),
        (Some("signup-7"), Some("header"))
    );
    assert_eq!(done["results"][0]["status"], "completed");
    assert_eq!(
        done["results"][0]["logs"][0]["message"],
        format!("attempt 1 of {id}")
    );
    assert_eq!(hook.succeeded(id), [1]);

    // Dead letter after the attempts, then a re-drive once the hook is back.
    hook.set_down(true);
    let (_, dead) = dispatch(&api, &hook, None).await;
    let dead_id = dead["execution_id"].as_str().unwrap();
    let dead = wait_for(&api, dead_id, "dead").await;
    assert_eq!(dead["attempts"], 2);
    assert_eq!(
        dead["last_error"],
        "action `notify` threw: Error: hook answered 503"
    );
    assert_eq!(hook.failed_count(), 2);
    assert_error(
        &api.post(&format!("/v1/executions/{id}/retry"), json!({}))
            .await,
        409,
        "conflict",
        "id",
    );
    hook.set_down(false);
    let (status, retried) = api
        .post(&format!("/v1/executions/{dead_id}/retry"), json!({}))
        .await;
    assert_eq!(
        (status, retried["status"].as_str()),
        (200, Some("pending")),
        "{retried}"
    );
    // Attempts are numbered on: the re-driven job's third attempt is `event.execution.attempt` 3.
    assert_eq!(
        (
            retried["attempts"].as_i64(),
            retried["max_attempts"].as_i64()
        ),
        (Some(2), Some(4))
    );
    let redriven = wait_for(&api, dead_id, "final").await;
    assert_eq!(redriven["attempts"], 3);
    assert_eq!(hook.succeeded(dead_id), [3]);
    assert_eq!(
        redriven["results"][0]["logs"][0]["message"],
        format!("attempt 3 of {dead_id}")
    );

    let (_, list) = api
        .get(&format!(
            "/v1/executions?trigger=post-user-registration&action={action}&status=final"
        ))
        .await;
    assert_eq!(list["total"], 2, "{list}");
    // List items are summaries: no event, and counts instead of logs and api calls.
    let item = &list["executions"][0];
    assert!(item.get("event").is_none(), "{item}");
    let result = &item["results"][0];
    assert!(result.get("logs").is_none(), "{result}");
    assert_eq!(
        (result["log_count"].as_u64(), result["status"].as_str()),
        (Some(1), Some("completed"))
    );
    let (_, list) = api.get("/v1/executions?since=2999-01-01T00:00:00Z").await;
    assert_eq!(list["total"], 0, "{list}");
    assert_error(
        &api.get("/v1/executions?status=done").await,
        422,
        "invalid_value",
        "status",
    );
    assert_error(
        &api.get("/v1/executions?since=yesterday").await,
        422,
        "invalid_value",
        "since",
    );
    let (_, other) = server.tenant("other", ALL_SCOPES).await;
    assert_error(
        &other.get(&format!("/v1/executions/{id}")).await,
        404,
        "not_found",
        "id",
    );
}

async fn kill_9_with_queued_dispatches(db: Db) {
    const JOBS: usize = 200;
    let hook = Hook::start().await;
    let flags = ["--lease-ms", "1500", "--jobs-in-flight-max", "16"];
    let server = start(&db, &flags).await;
    let (_, api) = server.tenant("acme", ALL_SCOPES).await;
    bind_hook_action(&api, 20).await;
    let ids: Vec<String> = futures::stream::iter(0..JOBS)
        .map(|n| {
            let (api, hook) = (api.clone(), hook.clone());
            async move {
                let (status, body) = dispatch(&api, &hook, Some(&format!("job-{n}"))).await;
                assert_eq!(status, 202, "{body}");
                body["execution_id"].as_str().unwrap().to_owned()
            }
        })
        .buffered(16)
        .collect()
        .await;
    // Let some finish, then kill the server mid-flight.
    while hook.succeeded_total() < 40 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let (_, finals) = api.get("/v1/executions?status=final&per_page=100").await;
    let final_before: HashSet<String> = finals["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    server.kill_9().await;
    assert!(
        hook.succeeded_total() < JOBS,
        "the kill came too late to interrupt anything"
    );

    let server = start(&db, &flags).await;
    let api = Api::new(&server.url, api.token());
    wait_count(&api, "final", JOBS as u64).await;
    let mut rerun = 0;
    for id in &ids {
        let calls = hook.succeeded(id);
        assert!(!calls.is_empty(), "{id} never ran");
        if final_before.contains(id) {
            assert_eq!(
                calls.len(),
                1,
                "{id} was final before the kill and ran again: {calls:?}"
            );
        }
        rerun += usize::from(calls.len() > 1);
    }
    eprintln!(
        "kill -9: {} final before, {rerun} interrupted and run again",
        final_before.len()
    );
    // Only attempts cut by the kill run again: at most the jobs that were in flight.
    assert!(rerun <= 16, "{rerun} executions ran twice");
    let (_, dead) = api.get("/v1/executions?status=dead").await;
    assert_eq!(dead["total"], 0);
}

/// Two processes on one PostgreSQL drain 1,000 jobs: every job final, each run exactly once.
async fn two_servers_share_one_queue(db: Db) {
    const JOBS: usize = 1_000;
    let hook = Hook::start().await;
    let one = start_in_process(&db, |_| {}).await;
    let two = start_in_process(&db, |_| {}).await;
    let (_, api_one) = one.tenant("acme", ALL_SCOPES).await;
    let api_two = Api::new(&two.url, api_one.token());
    bind_hook_action(&api_one, 0).await;
    let ids: Vec<String> = futures::stream::iter(0..JOBS)
        .map(|n| {
            let api = if n % 2 == 0 {
                api_one.clone()
            } else {
                api_two.clone()
            };
            let hook = hook.clone();
            async move {
                let (status, body) = dispatch(&api, &hook, None).await;
                assert_eq!(status, 202, "{body}");
                body["execution_id"].as_str().unwrap().to_owned()
            }
        })
        .buffered(32)
        .collect()
        .await;
    wait_count(&api_one, "final", JOBS as u64).await;
    for id in &ids {
        assert_eq!(hook.succeeded(id), [1], "{id}");
    }
    assert_eq!(hook.succeeded_total(), JOBS);
    for page in 0..10 {
        let (_, list) = api_two
            .get(&format!("/v1/executions?per_page=100&page={page}"))
            .await;
        for execution in list["executions"].as_array().unwrap() {
            assert_eq!(execution["attempts"], 1, "{execution}");
        }
    }
}
