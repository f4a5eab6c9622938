//! The whole draft → deploy → versions → rollback → diff → test cycle, with an npm dependency from
//! a registry served by the test, a build failure, and delete while bound.

use serde_json::json;

use crate::support::registry::Registry;
use crate::support::{assert_error, Db, Server, Start};

const V1: &str = r#"const greet = require("greet");
exports.onExecutePostLogin = async (event, api) => {
  api.accessToken.setCustomClaim("greeting", greet(event.user.name));
};
"#;

const V2: &str = r#"const greet = require("greet");
exports.onExecutePostLogin = async (event, api) => {
  api.accessToken.setCustomClaim("greeting", greet(event.user.name) + "!");
  api.accessToken.setCustomClaim("key_length", event.secrets.API_KEY.length);
};
"#;

async fn cycle(db: Db) {
    let mut registry = Registry::default();
    registry
        .publish("greet", "1.0.0", "module.exports = (n) => 'hello ' + n;")
        .publish("greet", "2.0.0", "module.exports = (n) => 'HELLO ' + n;");
    let registry = registry.serve().await;
    let start = Start {
        registry: Some(registry.url.clone()),
        ..Start::default()
    };
    let server = Server::start_with(&db, start).await;
    let (tenant_id, api) = server
        .tenant("acme", &["actions:read", "actions:write"])
        .await;

    let (status, action) = api
        .post(
            "/v1/actions",
            json!({
                "name": "greeter", "supported_triggers": [{"id": "post-login", "version": "v3"}],
                "code": V1, "dependencies": [{"name": "greet", "version": "^1.0.0"}],
                "secrets": [{"name": "API_KEY", "value": "k-123456"}],
            }),
        )
        .await;
    assert_eq!(status, 201, "{action}");
    let id = action["id"].as_str().unwrap().to_owned();
    assert_eq!(action["status"], "pending");
    assert_eq!(action["all_changes_deployed"], false);
    assert_eq!(action["secrets"], json!([{"name": "API_KEY"}]));

    let (status, v1) = api
        .post(&format!("/v1/actions/{id}/deploy"), json!({}))
        .await;
    assert_eq!(status, 201, "{v1}");
    assert_eq!(
        (v1["number"].as_i64(), v1["deployed"].as_bool()),
        (Some(1), Some(true))
    );
    assert_eq!(
        v1["lockfile"]["packages"]["node_modules/greet"]["version"],
        "1.0.0"
    );
    assert_eq!(v1["secrets"], json!(["API_KEY"]));
    let (_, action) = api.get(&format!("/v1/actions/{id}")).await;
    assert_eq!(
        (
            action["status"].as_str(),
            action["deployed_version"].as_i64()
        ),
        (Some("built"), Some(1))
    );
    assert_eq!(action["all_changes_deployed"], true);

    let event = json!({"event": {"user": {"name": "Ada"}}});
    let before = api.get(&format!("/v1/actions/{id}")).await.1;
    let versions_before = api.get(&format!("/v1/actions/{id}/versions")).await.1;
    let (status, run) = api
        .post(&format!("/v1/actions/{id}/test"), event.clone())
        .await;
    assert_eq!(status, 200, "{run}");
    // A test run changes nothing stored.
    assert_eq!(api.get(&format!("/v1/actions/{id}")).await.1, before);
    assert_eq!(
        api.get(&format!("/v1/actions/{id}/versions")).await.1,
        versions_before
    );
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(
        run["api_calls"][0]["args"],
        json!(["greeting", "hello Ada"])
    );

    let (status, action) = api
        .patch(
            &format!("/v1/actions/{id}"),
            json!({
                "code": V2, "dependencies": [{"name": "greet", "version": "^2.0.0"}],
            }),
        )
        .await;
    assert_eq!(status, 200, "{action}");
    assert_eq!(
        (
            action["status"].as_str(),
            action["all_changes_deployed"].as_bool()
        ),
        (Some("pending"), Some(false))
    );
    let (status, v2) = api
        .post(&format!("/v1/actions/{id}/deploy"), json!({}))
        .await;
    assert_eq!((status, v2["number"].as_i64()), (201, Some(2)), "{v2}");

    // The draft and each version run their own code with their own locked dependencies.
    let (_, run) = api
        .post(&format!("/v1/actions/{id}/test?version=1"), event.clone())
        .await;
    assert_eq!(
        (run["version"].as_i64(), &run["api_calls"][0]["args"][1]),
        (Some(1), &json!("hello Ada"))
    );
    let (_, run) = api
        .post(&format!("/v1/actions/{id}/test"), event.clone())
        .await;
    assert_eq!(run["api_calls"][0]["args"][1], "HELLO Ada!", "{run}");
    assert_eq!(run["api_calls"][1]["args"], json!(["key_length", 8]));

    let (_, versions) = api.get(&format!("/v1/actions/{id}/versions")).await;
    let numbers: Vec<i64> = versions["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["number"].as_i64().unwrap())
        .collect();
    assert_eq!((numbers, versions["total"].as_u64()), (vec![2, 1], Some(2)));
    let (status, shown) = api.get(&format!("/v1/actions/{id}/versions/1")).await;
    assert_eq!(
        (status, shown["code"].as_str(), shown["deployed"].as_bool()),
        (200, Some(V1), Some(false))
    );

    let (status, diff) = api
        .get(&format!("/v1/actions/{id}/versions/1/diff/2"))
        .await;
    assert_eq!(status, 200, "{diff}");
    let code = diff["code"].as_str().unwrap();
    assert!(code.starts_with("--- v1\n+++ v2\n"), "{code}");
    assert!(
        code.contains("+  api.accessToken.setCustomClaim(\"key_length\""),
        "{code}"
    );
    assert!(
        code.contains("-  api.accessToken.setCustomClaim(\"greeting\", greet(event.user.name));"),
        "{code}"
    );
    assert_eq!(
        diff["dependencies"]["changed"],
        json!([{"name": "greet", "from": "^1.0.0", "to": "^2.0.0"}])
    );

    // Rollback: version 3 is a copy of version 1; the draft keeps its changes.
    let (status, v3) = api
        .post(&format!("/v1/actions/{id}/versions/1/deploy"), json!({}))
        .await;
    assert_eq!(status, 201, "{v3}");
    assert_eq!(
        (
            v3["number"].as_i64(),
            v3["copied_from"].as_i64(),
            v3["code"].as_str()
        ),
        (Some(3), Some(1), Some(V1))
    );
    let (_, action) = api.get(&format!("/v1/actions/{id}")).await;
    assert_eq!(
        (
            action["deployed_version"].as_i64(),
            action["all_changes_deployed"].as_bool()
        ),
        (Some(3), Some(false))
    );
    assert_eq!(action["code"], V2);
    let (_, same) = api
        .get(&format!("/v1/actions/{id}/versions/1/diff/3"))
        .await;
    assert_eq!(
        (same["code"].as_str(), &same["dependencies"]["changed"]),
        (Some(""), &json!([]))
    );
    let (_, to_draft) = api
        .get(&format!("/v1/actions/{id}/versions/3/diff/draft"))
        .await;
    assert_eq!(to_draft["to"], "draft");
    assert!(!to_draft["code"].as_str().unwrap().is_empty());

    // A draft that does not load: failed with its line, nothing deployed, versions unchanged.
    let broken = "exports.onExecutePostLogin = async (event, api) => {\n  api.access.deny(;\n};\n";
    api.patch(&format!("/v1/actions/{id}"), json!({"code": broken}))
        .await;
    let failed = api
        .post(&format!("/v1/actions/{id}/deploy"), json!({}))
        .await;
    assert_error(&failed, 422, "build_failed", "code");
    assert_eq!(failed.1["error"]["errors"][0]["line"], 2, "{}", failed.1);
    let (_, action) = api.get(&format!("/v1/actions/{id}")).await;
    assert_eq!(
        (
            action["status"].as_str(),
            action["deployed_version"].as_i64()
        ),
        (Some("failed"), Some(3))
    );
    assert_eq!(action["build_errors"][0]["line"], 2);
    let (_, versions) = api.get(&format!("/v1/actions/{id}/versions")).await;
    assert_eq!(versions["total"], 3);

    // A dependency that does not exist fails the build on `dependencies`.
    api.patch(
        &format!("/v1/actions/{id}"),
        json!({"code": V1, "dependencies": [{"name": "nope", "version": "^1"}]}),
    )
    .await;
    let failed = api
        .post(&format!("/v1/actions/{id}/deploy"), json!({}))
        .await;
    assert_error(&failed, 422, "build_failed", "dependencies");

    // Bound (through the store: bindings are another resource) → 409, unless forced.
    let store = db.open_store().await;
    let binding = actionflow_store::Binding {
        action_id: id.clone(),
        display_name: "greeter".into(),
        on_error: actionflow_store::OnError::Fail,
    };
    store
        .replace_bindings(&tenant_id, "post-login", &[binding], None)
        .await
        .unwrap();
    store.close().await;
    assert_error(
        &api.delete(&format!("/v1/actions/{id}")).await,
        409,
        "conflict",
        "force",
    );
    assert_eq!(
        api.delete(&format!("/v1/actions/{id}?force=true")).await.0,
        204
    );
    assert_error(
        &api.get(&format!("/v1/actions/{id}")).await,
        404,
        "not_found",
        "id",
    );
    drop(server);
}

/// Listing filters and pages.
async fn list_filters(db: Db) {
    let server = Server::in_process(&db, |_| {}).await;
    let (_, api) = server
        .tenant("acme", &["actions:read", "actions:write"])
        .await;
    let code = "exports.onExecutePostLogin = async () => {}; exports.onExecutePostUserRegistration = async () => {};";
    for (name, triggers) in [
        ("a", vec!["post-login"]),
        ("b", vec!["post-user-registration"]),
        ("c", vec!["post-login", "post-user-registration"]),
    ] {
        let triggers: Vec<_> = triggers.iter().map(|t| json!({"id": t})).collect();
        let (status, _) = api
            .post(
                "/v1/actions",
                json!({"name": name, "supported_triggers": triggers, "code": code}),
            )
            .await;
        assert_eq!(status, 201);
    }
    let (_, list) = api.get("/v1/actions?name=c").await;
    let id_c = list["actions"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        api.post(&format!("/v1/actions/{id_c}/deploy"), json!({}))
            .await
            .0,
        201
    );
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&api.get("/v1/actions").await.1), ["a", "b", "c"]);
    assert_eq!(
        names(&api.get("/v1/actions?trigger_id=post-login").await.1),
        ["a", "c"]
    );
    assert_eq!(names(&api.get("/v1/actions?deployed=true").await.1), ["c"]);
    assert_eq!(
        names(&api.get("/v1/actions?deployed=false").await.1),
        ["a", "b"]
    );
    assert_eq!(
        names(&api.get("/v1/actions?name=&trigger_id=").await.1),
        ["a", "b", "c"]
    );
    let (_, page) = api.get("/v1/actions?page=1&per_page=2").await;
    assert_eq!(
        (
            names(&page),
            page["total"].as_u64(),
            page["per_page"].as_u64()
        ),
        (vec!["c".to_owned()], Some(3), Some(2))
    );
}

on_both_backends!(cycle, list_filters);
