//! A `kill -9` of the server while a deploy is building (its dependency download held by the test
//! registry) leaves a consistent store: the old version stays current, no partial version exists,
//! the interrupted build is reported as failed once it cannot be alive, and deploying again works
//! with the next number.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::registry::Registry;
use crate::support::{Api, Db, Server, Start};

const CODE: &str =
    "exports.onExecutePostLogin = async (event, api) => { api.access.deny(require('slow')); };";

async fn kill_9_mid_deploy(db: Db) {
    let mut registry = Registry::default();
    registry.publish("slow", "1.0.0", "module.exports = 'slow 1';");
    let registry = registry.serve().await;
    let start = Start {
        registry: Some(registry.url.clone()),
        deploy_ms_max: Some(1_000),
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
    assert_eq!(
        api.post(&format!("/v1/actions/{id}/deploy"), json!({}))
            .await
            .0,
        201
    );
    let patch = json!({"code": CODE, "dependencies": [{"name": "slow", "version": "^1.0.0"}]});
    assert_eq!(api.patch(&format!("/v1/actions/{id}"), patch).await.0, 200);

    registry.hold_tarballs();
    let deploying = {
        let api = api.clone();
        let path = format!("/v1/actions/{id}/deploy");
        tokio::spawn(async move {
            let request = api.raw(reqwest::Method::POST, &path);
            request.send().await.map(|r| r.status().as_u16())
        })
    };
    registry.tarball_requested().await;
    let (_, building) = api.get(&format!("/v1/actions/{id}")).await;
    assert_eq!(building["status"], "building");
    // While it builds, a second deploy and an edit of the draft are refused.
    let again = api
        .post(&format!("/v1/actions/{id}/deploy"), json!({}))
        .await;
    crate::support::assert_error(&again, 409, "conflict", "status");
    let edit = api
        .patch(&format!("/v1/actions/{id}"), json!({"code": "x"}))
        .await;
    crate::support::assert_error(&edit, 409, "conflict", "status");
    server.kill_9().await;
    assert!(
        deploying.await.unwrap().is_err(),
        "the deploy must not have answered"
    );

    registry.release();
    let server = Server::start_with(&db, start).await;
    let api = Api::new(&server.url, api.token());
    let (_, versions) = api.get(&format!("/v1/actions/{id}/versions")).await;
    assert_eq!(versions["total"], 1, "{versions}");
    assert_eq!(versions["versions"][0]["code"], first);
    let (_, after) = api.get(&format!("/v1/actions/{id}")).await;
    assert_eq!(
        (after["deployed_version"].as_i64(), after["code"].as_str()),
        (Some(1), Some(CODE))
    );
    // The build is reported failed once it is older than twice the deploy limit (plus a second).
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
    let (status, v2) = api
        .post(&format!("/v1/actions/{id}/deploy"), json!({}))
        .await;
    assert_eq!((status, v2["number"].as_i64()), (201, Some(2)), "{v2}");
    let (_, run) = api.post(&format!("/v1/actions/{id}/test"), json!({})).await;
    assert_eq!(run["api_calls"][0]["args"], json!(["slow 1"]), "{run}");
}

on_both_backends!(kill_9_mid_deploy);
