//! Sync dispatch over HTTP: order, metadata along the chain, combined effects, deny short-circuit,
//! schema rejection, scopes, and the live log stream of an action.

use std::time::Duration;

use serde_json::{json, Value};

use super::{deploy, start_in_process, ALL_SCOPES};
use crate::support::{assert_error, Db};

on_both_backends!(sync_dispatch_over_http);

fn trail(name: &str, extra: &str) -> String {
    format!(
        "exports.onExecutePostLogin = async (event, api) => {{
            const trail = [...(event.user.app_metadata.trail || []), '{name}'];
            console.log('{name} ran for ' + event.user.user_id);
            api.user.setAppMetadata('trail', trail);
            {extra}
        }};"
    )
}

fn event() -> Value {
    json!({"event": {"user": {"user_id": "auth0|42", "app_metadata": {}}, "client": {"client_id": "web"}}})
}

async fn sync_dispatch_over_http(db: Db) {
    let server = start_in_process(&db, |_| {}).await;
    let (_, api) = server.tenant("acme", ALL_SCOPES).await;
    let mut ids = Vec::new();
    for name in ["one", "two", "three"] {
        ids.push(deploy(&api, name, "post-login", &trail(name, "")).await);
    }
    let bind = |ids: Vec<&String>| json!({"bindings": ids.iter().map(|id| json!({"ref": {"type": "action_id", "value": id}})).collect::<Vec<_>>()});
    let (status, _) = api
        .patch(
            "/v1/triggers/post-login/bindings",
            bind(vec![&ids[2], &ids[0], &ids[1]]),
        )
        .await;
    assert_eq!(status, 200);

    let mut stream = api
        .raw(
            reqwest::Method::GET,
            &format!("/v1/actions/{}/logs/stream", ids[1]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);

    let (status, result) = api.post("/v1/triggers/post-login/dispatch", event()).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["status"], "completed");
    let ran: Vec<_> = result["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(ran, ["three", "one", "two"]);
    assert_eq!(
        result["effects"][2]["args"],
        json!(["trail", ["three", "one", "two"]])
    );
    assert_eq!(result["results"][0]["version"], 1);
    assert_eq!(result["results"][0]["status"], "completed");

    // The live stream of action `two` got its console line.
    let mut seen = String::new();
    while !seen.contains("two ran for auth0|42") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk()).await;
        seen.push_str(&String::from_utf8_lossy(&chunk.unwrap().unwrap().unwrap()));
    }
    assert!(seen.contains("event: log"), "{seen}");
    assert!(
        !seen.contains("one ran"),
        "only the followed action's lines: {seen}"
    );

    // A deny in the middle stops the chain.
    let deny = deploy(
        &api,
        "deny",
        "post-login",
        &trail("deny", "api.access.deny('blocked');"),
    )
    .await;
    api.patch(
        "/v1/triggers/post-login/bindings",
        bind(vec![&ids[0], &deny, &ids[1]]),
    )
    .await;
    let (status, result) = api.post("/v1/triggers/post-login/dispatch", event()).await;
    assert_eq!(
        (status, result["status"].as_str()),
        (200, Some("denied")),
        "{result}"
    );
    assert_eq!(result["results"].as_array().unwrap().len(), 2);
    assert_eq!(
        result["effects"][2],
        json!({"method": "access.deny", "args": ["blocked"]})
    );

    let mut bad = event();
    bad["event"]["user"]["email"] = json!(5);
    let rejected = api.post("/v1/triggers/post-login/dispatch", bad).await;
    assert_error(&rejected, 422, "invalid_value", "event.user.email");
    assert_eq!(
        rejected.1["error"]["message"],
        "event.user.email: expected a string, got a number"
    );
    let rejected = api
        .post(
            "/v1/triggers/post-login/dispatch",
            json!({"event": {"client": {"client_id": "x"}}}),
        )
        .await;
    assert_error(&rejected, 422, "invalid_value", "event.user");
    let rejected = api
        .post("/v1/triggers/post-login/dispatch", json!({}))
        .await;
    assert_error(&rejected, 400, "invalid_request", "event");
    let (_, reader) = server.tenant("reader", &["actions:read"]).await;
    assert_error(
        &reader
            .post("/v1/triggers/post-login/dispatch", event())
            .await,
        403,
        "forbidden",
        "authorization",
    );
}
