//! A `kill -9` of the server while a deploy is building (its dependency download held by the test
//! registry) leaves a consistent store: the old version stays current and no partial version
//! exists. The dead build holds off other deploys only until it cannot be alive any more (twice
//! the deploy limit, plus a second); then a new deploy takes it over, or a read reports it failed.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::registry::{Registry, Served};
use crate::support::{assert_error, Api, Db, Server, Start};

const DEPLOY_MS_MAX: u64 = 2_000;
const STALE: Duration = Duration::from_millis(2 * DEPLOY_MS_MAX + 1_000);

fn code(package: &str) -> String {
    format!(
        "exports.onExecutePostLogin = async (event, api) => {{ api.access.deny(require('{package}')); }};"
    )
}

/// Edits the draft to need `package`, starts a deploy that waits for its download, checks that a
/// second deploy is refused, kills the server and starts it again. Returns the new server, an API
/// client on it, and (about) when the dead build began.
async fn crash_mid_deploy(
    db: &Db,
    start: &Start,
    registry: &Served,
    server: Server,
    api: &Api,
    id: &str,
    package: &str,
) -> (Server, Api, Instant) {
    let patch = json!({"code": code(package),
        "dependencies": [{"name": package, "version": "^1.0.0"}]});
    assert_eq!(api.patch(&format!("/v1/actions/{id}"), patch).await.0, 200);
    registry.hold_tarballs();
    let deploying = {
        let request = api.raw(reqwest::Method::POST, &format!("/v1/actions/{id}/deploy"));
        tokio::spawn(async move { request.send().await.map(|r| r.status().as_u16()) })
    };
    // (A download of an earlier deploy may have left the notice behind: the status tells.)
    registry.tarball_requested().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, now) = api.get(&format!("/v1/actions/{id}")).await;
        if now["status"] == "building" {
            break;
        }
        assert!(Instant::now() < deadline, "the deploy never began: {now}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let began = Instant::now();
    let again = api
        .post(&format!("/v1/actions/{id}/deploy"), json!({}))
        .await;
    assert_error(&again, 409, "conflict", "status");
    server.kill_9().await;
    assert!(
        deploying.await.unwrap().is_err(),
        "the deploy must not have answered"
    );
    registry.release();
    let server = Server::start_with(db, start.clone()).await;
    let api = Api::new(&server.url, api.token());
    (server, api, began)
}

/// The versions' numbers and the draft's status after a crash: nothing half-deployed.
async fn assert_consistent(api: &Api, id: &str, versions: i64, code: &str) {
    let (_, list) = api.get(&format!("/v1/actions/{id}/versions")).await;
    assert_eq!(list["total"], versions, "{list}");
    let (_, after) = api.get(&format!("/v1/actions/{id}")).await;
    assert_eq!(
        (after["deployed_version"].as_i64(), after["code"].as_str()),
        (Some(versions), Some(code)),
        "{after}"
    );
}

/// While the dead build may still be alive, a deploy is refused (asked only when the restart was
/// quick enough to ask in time).
async fn assert_refused_while_fresh(api: &Api, id: &str, began: Instant) {
    if began.elapsed() + Duration::from_millis(1_000) < STALE {
        let early = api
            .post(&format!("/v1/actions/{id}/deploy"), json!({}))
            .await;
        assert_error(&early, 409, "conflict", "status");
    }
}

async fn kill_9_mid_deploy(db: Db) {
    let mut registry = Registry::default();
    registry.publish("slow", "1.0.0", "module.exports = 'slow 1';");
    registry.publish("later", "1.0.0", "module.exports = 'later 1';");
    let registry = registry.serve().await;
    let start = Start {
        registry: Some(registry.url.clone()),
        deploy_ms_max: Some(DEPLOY_MS_MAX),
        ..Start::default()
    };
    let server = Server::start_with(&db, start.clone()).await;
    let (_, api) = server
        .tenant("acme", &["actions:read", "actions:write"])
        .await;
    let first = "exports.onExecutePostLogin = async () => {};";
    let (_, action) = api
        .post(
            "/v1/actions",
            json!({"name": "a", "supported_triggers": [{"id": "post-login"}], "code": first}),
        )
        .await;
    let id = action["id"].as_str().unwrap().to_owned();
    let deploy = format!("/v1/actions/{id}/deploy");
    let (status, v1) = api.post(&deploy, json!({})).await;
    assert_eq!(status, 201, "{v1}");

    // First crash: once stale, a deploy takes the dead build over, with no read in between.
    let (server, api, began) =
        crash_mid_deploy(&db, &start, &registry, server, &api, &id, "slow").await;
    let slow = code("slow");
    assert_consistent(&api, &id, 1, &slow).await;
    assert_refused_while_fresh(&api, &id, began).await;
    tokio::time::sleep(STALE.saturating_sub(began.elapsed()) + Duration::from_millis(300)).await;
    let (status, v2) = api.post(&deploy, json!({})).await;
    assert_eq!((status, v2["number"].as_i64()), (201, Some(2)), "{v2}");
    let (_, run) = api.post(&format!("/v1/actions/{id}/test"), json!({})).await;
    assert_eq!(run["api_calls"][0]["args"], json!(["slow 1"]), "{run}");

    // Second crash: once stale, a read reports the build failed; then a deploy works.
    let (_server, api, began) =
        crash_mid_deploy(&db, &start, &registry, server, &api, &id, "later").await;
    let later = code("later");
    assert_consistent(&api, &id, 2, &later).await;
    assert_refused_while_fresh(&api, &id, began).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let failed = loop {
        let (_, now) = api.get(&format!("/v1/actions/{id}")).await;
        if now["status"] == "failed" {
            break now;
        }
        assert_eq!(now["status"], "building", "{now}");
        assert!(
            Instant::now() < deadline,
            "the interrupted build never settled: {now}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        failed["build_errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("interrupted"),
        "{failed}"
    );
    let (status, v3) = api.post(&deploy, json!({})).await;
    assert_eq!((status, v3["number"].as_i64()), (201, Some(3)), "{v3}");
    let (_, built) = api.get(&format!("/v1/actions/{id}")).await;
    assert_eq!(
        (&built["status"], &built["all_changes_deployed"]),
        (&json!("built"), &json!(true)),
        "{built}"
    );
    let (_, run) = api.post(&format!("/v1/actions/{id}/test"), json!({})).await;
    assert_eq!(run["api_calls"][0]["args"], json!(["later 1"]), "{run}");
}

on_both_backends!(kill_9_mid_deploy);
