//! Deploys that race: two nodes deploying one action at once build it once (one new version, the
//! other deploy 409), and an edit of the draft during a build is kept but not deployed.

use serde_json::json;

use crate::support::registry::Registry;
use crate::support::{assert_error, Api, Db, Server, Start};

const CODE: &str =
    "exports.onExecutePostLogin = async (event, api) => { api.access.deny(require('slow')); };";

/// A registry with `slow@1.0.0`, and a server option pointing at it.
async fn slow_registry() -> (crate::support::registry::Served, Start) {
    let mut registry = Registry::default();
    registry.publish("slow", "1.0.0", "module.exports = 'slow 1';");
    let registry = registry.serve().await;
    let start = Start {
        registry: Some(registry.url.clone()),
        ..Start::default()
    };
    (registry, start)
}

async fn create(api: &Api, code: &str) -> String {
    let body = json!({"name": "a", "supported_triggers": [{"id": "post-login"}], "code": code,
        "dependencies": [{"name": "slow", "version": "^1.0.0"}]});
    let (status, action) = api.post("/v1/actions", body).await;
    assert_eq!(status, 201, "{action}");
    action["id"].as_str().unwrap().to_owned()
}

async fn concurrent_deploys_on_two_nodes_build_once(db: Db) {
    let (registry, start) = slow_registry().await;
    let one = Server::start_with(&db, start.clone()).await;
    let two = Server::start_with(&db, start).await;
    let (_, api_one) = one.tenant("acme", &["actions:read", "actions:write"]).await;
    let api_two = Api::new(&two.url, api_one.token());
    let id = create(&api_one, CODE).await;

    // Both deploys are sent at once; the download they would make is held, so they overlap
    // whichever reaches the database first.
    registry.hold_tarballs();
    let path = format!("/v1/actions/{id}/deploy");
    let deploys = [api_one.clone(), api_two.clone()].map(|api| {
        let path = path.clone();
        tokio::spawn(async move { api.post(&path, json!({})).await })
    });
    registry.tarball_requested().await;
    let (_, building) = api_two.get(&format!("/v1/actions/{id}")).await;
    assert_eq!(building["status"], "building", "{building}");
    // The refused deploy answers while the other still waits for its download.
    let refused = loop {
        if let Some(done) = deploys.iter().position(|d| d.is_finished()) {
            break done;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    registry.release();
    let [a, b] = deploys;
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let (conflict, created) = if refused == 0 { (a, b) } else { (b, a) };
    assert_error(&conflict, 409, "conflict", "status");
    assert!(
        conflict.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("building"),
        "{}",
        conflict.1
    );
    assert_eq!(
        (created.0, created.1["number"].as_i64()),
        (201, Some(1)),
        "{}",
        created.1
    );
    let (_, versions) = api_one.get(&format!("/v1/actions/{id}/versions")).await;
    assert_eq!(versions["total"], 1, "{versions}");
    let (_, after) = api_two.get(&format!("/v1/actions/{id}")).await;
    assert_eq!(
        (&after["status"], &after["all_changes_deployed"]),
        (&json!("built"), &json!(true)),
        "{after}"
    );
    // Once the build is over, the other node deploys again.
    let (status, v2) = api_two.post(&path, json!({})).await;
    assert_eq!((status, v2["number"].as_i64()), (201, Some(2)), "{v2}");
}

/// An edit made while a deploy builds is kept in the draft: the deploy stores the code it began
/// with, and the draft ends `pending` with `all_changes_deployed: false` (as an edit after a deploy
/// would leave it), until it is deployed again.
async fn an_edit_during_a_deploy_is_kept_not_deployed(db: Db) {
    let (registry, start) = slow_registry().await;
    let server = Server::start_with(&db, start).await;
    let (_, api) = server
        .tenant("acme", &["actions:read", "actions:write"])
        .await;
    let id = create(&api, CODE).await;
    registry.hold_tarballs();
    let deploying = {
        let (api, path) = (api.clone(), format!("/v1/actions/{id}/deploy"));
        tokio::spawn(async move { api.post(&path, json!({})).await })
    };
    registry.tarball_requested().await;
    let edited_code = CODE.replace("require('slow')", "'edited: ' + require('slow')");
    let (status, edited) = api
        .patch(&format!("/v1/actions/{id}"), json!({"code": edited_code}))
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(
        (&edited["status"], &edited["code"]),
        (&json!("building"), &json!(edited_code)),
        "{edited}"
    );
    registry.release();
    let (status, v1) = deploying.await.unwrap();
    assert_eq!((status, v1["number"].as_i64()), (201, Some(1)), "{v1}");
    assert_eq!(
        v1["code"], CODE,
        "the version holds what the build began with"
    );
    let (_, draft) = api.get(&format!("/v1/actions/{id}")).await;
    assert_eq!(
        (
            &draft["status"],
            &draft["all_changes_deployed"],
            &draft["deployed_version"],
            &draft["code"]
        ),
        (
            &json!("pending"),
            &json!(false),
            &json!(1),
            &json!(edited_code)
        ),
        "{draft}"
    );
    let (status, v2) = api
        .post(&format!("/v1/actions/{id}/deploy"), json!({}))
        .await;
    assert_eq!((status, &v2["code"]), (201, &json!(edited_code)), "{v2}");
    let (_, draft) = api.get(&format!("/v1/actions/{id}")).await;
    assert_eq!(
        (&draft["status"], &draft["all_changes_deployed"]),
        (&json!("built"), &json!(true)),
        "{draft}"
    );
}

on_both_backends!(
    concurrent_deploys_on_two_nodes_build_once,
    an_edit_during_a_deploy_is_kept_not_deployed
);
