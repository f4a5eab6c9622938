//! Every sync execution is recorded behind its answer: the answer carries the execution id, and the
//! execution (results, logs, error) can be read and listed like an async one; a clean shutdown loses
//! none of them.

use std::time::Duration;

use serde_json::{json, Value};

use super::{bind_flow, deploy, start, ALL_SCOPES};
use crate::support::{Api, Db, Server};

on_both_backends!(sync_executions_are_recorded);

const CLAIM: &str = "exports.onExecutePostLogin = async (event, api) => { \
    console.log('claim for ' + event.user.user_id); api.idToken.setCustomClaim('ok', true); };";
const THROWS: &str = "exports.onExecutePostLogin = async () => { throw new Error('no'); };";

async fn login(api: &Api) -> Value {
    let (status, flow) = api
        .post(
            "/v1/triggers/post-login/dispatch",
            json!({"event": {"user": {"user_id": "u1"}, "client": {"client_id": "web"}}}),
        )
        .await;
    assert_eq!(status, 200, "{flow}");
    flow
}

/// Polls until the execution is readable (it is written behind the answer, within 200 ms).
async fn recorded(api: &Api, id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, execution) = api.get(&format!("/v1/executions/{id}")).await;
        if status == 200 {
            return execution;
        }
        assert_eq!(status, 404, "{execution}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "{id} never recorded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn sync_executions_are_recorded(db: Db) {
    let server = start(&db, &[]).await;
    let (_, api) = server.tenant("acme", ALL_SCOPES).await;
    let claim = deploy(&api, "claim", "post-login", CLAIM).await;
    bind_flow(&api, "post-login", &[&claim]).await;
    let flow = login(&api).await;
    assert_eq!(flow["status"], "completed", "{flow}");
    let id = flow["execution_id"].as_str().unwrap().to_owned();
    let execution = recorded(&api, &id).await;
    assert_eq!(execution["delivery"], "sync", "{execution}");
    assert_eq!(execution["status"], "final", "{execution}");
    assert_eq!(execution["trigger_id"], "post-login");
    assert_eq!(execution["action_ids"], json!([claim]));
    assert_eq!(execution["event"]["user"]["user_id"], "u1");
    let result = &execution["results"][0];
    assert_eq!(result["status"], "completed", "{execution}");
    assert_eq!(result["logs"][0]["message"], "claim for u1", "{execution}");

    let throws = deploy(&api, "throws", "post-login", THROWS).await;
    bind_flow(&api, "post-login", &[&claim, &throws]).await;
    let flow = login(&api).await;
    assert_eq!(flow["status"], "failed", "{flow}");
    let failed = recorded(&api, flow["execution_id"].as_str().unwrap()).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(
        failed["last_error"].as_str().unwrap().contains("no"),
        "{failed}"
    );
    assert_eq!(failed["results"][1]["error"]["message"], "no", "{failed}");
    let (_, list) = api.get("/v1/executions?trigger=post-login").await;
    assert_eq!(list["total"], 2, "{list}");
    // A sync execution is not retried: it answered already.
    let (status, _) = api
        .post(
            &format!("/v1/executions/{}/retry", failed["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(status, 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_shutdown_loses_no_sync_record() {
    let db = Db::sqlite();
    let server = start(&db, &[]).await;
    let (_, api) = server.tenant("acme", ALL_SCOPES).await;
    let claim = deploy(&api, "claim", "post-login", CLAIM).await;
    bind_flow(&api, "post-login", &[&claim]).await;
    let mut ids = Vec::new();
    for _ in 0..50 {
        ids.push(
            login(&api).await["execution_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    server.terminate().await;
    let server = Server::start(&db).await;
    let api = api.with_base(&server.url);
    for id in ids {
        let (status, execution) = api.get(&format!("/v1/executions/{id}")).await;
        assert_eq!(status, 200, "{id}: {execution}");
    }
}
