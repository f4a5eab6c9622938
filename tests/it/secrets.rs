//! Secrets are write-only, encrypted at rest, limited, injected as `event.secrets`, and their
//! values never appear in a response or in the server's output.

use serde_json::json;

use crate::support::{assert_error, Db, Server};

const VALUE: &str = "sk_live_4f7a9c1e-never-show-me";
const OTHER: &str = "pw-9b2d77e1-also-hidden";
const CODE: &str = r#"exports.onExecutePostLogin = async (event, api) => {
  console.log("using", event.secrets.API_KEY, "and", event.secrets.DB_PASSWORD);
  api.idToken.setCustomClaim("echo", event.secrets.API_KEY);
  if (event.user.fail) throw new Error("failed with " + event.secrets.DB_PASSWORD);
};
"#;

async fn secrets_never_leak(db: Db) {
    let server = Server::start(&db).await;
    let (_, api) = server
        .tenant("acme", &["actions:read", "actions:write"])
        .await;
    let (status, action) = api
        .post(
            "/v1/actions",
            json!({"name": "s", "supported_triggers": [{"id": "post-login"}], "code": CODE,
            "secrets": [{"name": "API_KEY", "value": VALUE}]}),
        )
        .await;
    assert_eq!(status, 201, "{action}");
    let id = action["id"].as_str().unwrap().to_owned();
    let (status, put) = api
        .put(
            &format!("/v1/actions/{id}/secrets/DB_PASSWORD"),
            json!({"value": OTHER}),
        )
        .await;
    assert_eq!(status, 200, "{put}");
    assert_eq!(put["name"], "DB_PASSWORD");
    assert!(put["updated_at"].is_string() && put.get("value").is_none());
    let (_, list) = api.get(&format!("/v1/actions/{id}/secrets")).await;
    let names: Vec<&str> = list["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["API_KEY", "DB_PASSWORD"]);

    // Injected at test time (the action sees them), redacted from logs, api calls and errors.
    let (_, run) = api
        .post(
            &format!("/v1/actions/{id}/test"),
            json!({"event": {"user": {}}}),
        )
        .await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["logs"][0]["message"], "using [REDACTED] and [REDACTED]");
    assert_eq!(run["api_calls"][0]["args"], json!(["echo", "[REDACTED]"]));
    let (_, run) = api
        .post(
            &format!("/v1/actions/{id}/test"),
            json!({"event": {"user": {"fail": true}}}),
        )
        .await;
    assert_eq!(run["status"], "threw");
    assert!(
        run["error"]["message"]
            .as_str()
            .unwrap()
            .contains("[REDACTED]"),
        "{run}"
    );
    // A value given for one run only is used and not stored.
    let (_, run) = api
        .post(&format!("/v1/actions/{id}/test"), json!({"event": {"user": {}}, "secrets": [{"name": "API_KEY", "value": "temporary-one"}]}))
        .await;
    assert_eq!(run["api_calls"][0]["args"], json!(["echo", "[REDACTED]"]));

    // The version snapshots the names; executions of it get the values.
    let (_, v1) = api
        .post(&format!("/v1/actions/{id}/deploy"), json!({}))
        .await;
    assert_eq!(v1["secrets"], json!(["API_KEY", "DB_PASSWORD"]));
    let (_, run) = api
        .post(
            &format!("/v1/actions/{id}/test?version=1"),
            json!({"event": {"user": {}}}),
        )
        .await;
    assert_eq!(run["logs"][0]["message"], "using [REDACTED] and [REDACTED]");
    api.get(&format!("/v1/actions/{id}")).await;
    api.get(&format!("/v1/actions/{id}/versions/1")).await;
    api.get("/v1/actions").await;
    assert_eq!(
        api.delete(&format!("/v1/actions/{id}/secrets/DB_PASSWORD"))
            .await
            .0,
        204
    );
    let (_, diff) = api
        .get(&format!("/v1/actions/{id}/versions/1/diff/draft"))
        .await;
    assert_eq!(diff["secrets"]["removed"], json!(["DB_PASSWORD"]));
    assert_error(
        &api.delete(&format!("/v1/actions/{id}/secrets/DB_PASSWORD"))
            .await,
        404,
        "not_found",
        "name",
    );

    let responses = api.all_responses();
    for value in [VALUE, OTHER, "temporary-one"] {
        assert!(!responses.contains(value), "a response holds {value}");
        assert!(
            !server.output().contains(value),
            "the server output holds {value}"
        );
    }
    // At rest only ciphertext: no file of the data dir holds a value.
    for (path, bytes) in crate::support::read_tree(db.dir.path()) {
        assert!(
            !bytes.windows(VALUE.len()).any(|w| w == VALUE.as_bytes()),
            "{}",
            path.display()
        );
    }
}

async fn secret_limits(db: Db) {
    let server = Server::in_process(&db, |_| {}).await;
    let (_, api) = server
        .tenant("acme", &["actions:read", "actions:write"])
        .await;
    let (_, action) = api
        .post(
            "/v1/actions",
            json!({"name": "s", "supported_triggers": [{"id": "post-login"}]}),
        )
        .await;
    let id = action["id"].as_str().unwrap().to_owned();
    let path = |name: &str| format!("/v1/actions/{id}/secrets/{name}");
    assert_error(
        &api.put(&path(&"N".repeat(129)), json!({"value": "v"}))
            .await,
        422,
        "invalid_value",
        "name",
    );
    assert_eq!(
        api.put(&path(&"N".repeat(128)), json!({"value": "v"}))
            .await
            .0,
        200
    );
    assert_error(
        &api.put(&path("1ABC"), json!({"value": "v"})).await,
        422,
        "invalid_value",
        "name",
    );
    assert_error(
        &api.put(&path("HAS-DASH"), json!({"value": "v"})).await,
        422,
        "invalid_value",
        "name",
    );
    assert_error(
        &api.put(&path("BIG"), json!({"value": "x".repeat(4097)}))
            .await,
        413,
        "payload_too_large",
        "value",
    );
    assert_eq!(
        api.put(&path("BIG"), json!({"value": "x".repeat(4096)}))
            .await
            .0,
        200
    );
    for i in 0..28 {
        assert_eq!(
            api.put(&path(&format!("S{i}")), json!({"value": "v"}))
                .await
                .0,
            200
        );
    }
    assert_error(
        &api.put(&path("ONE_TOO_MANY"), json!({"value": "v"})).await,
        422,
        "invalid_value",
        "name",
    );
    // Replacing an existing one is not a new one.
    assert_eq!(api.put(&path("S0"), json!({"value": "w"})).await.0, 200);
    let (_, list) = api.get(&format!("/v1/actions/{id}/secrets")).await;
    assert_eq!(list["secrets"].as_array().unwrap().len(), 30);
    // On create: 31 secrets, duplicates, oversize values are refused before anything is stored.
    let many: Vec<_> = (0..31)
        .map(|i| json!({"name": format!("K{i}"), "value": "v"}))
        .collect();
    let create = |secrets: serde_json::Value| json!({"name": "t", "supported_triggers": [{"id": "post-login"}], "secrets": secrets});
    assert_error(
        &api.post("/v1/actions", create(json!(many))).await,
        422,
        "invalid_value",
        "secrets",
    );
    assert_error(
        &api.post(
            "/v1/actions",
            create(json!([{"name": "A", "value": "1"}, {"name": "A", "value": "2"}])),
        )
        .await,
        422,
        "invalid_value",
        "secrets[1].name",
    );
    assert_error(
        &api.post(
            "/v1/actions",
            create(json!([{"name": "A", "value": "x".repeat(5000)}])),
        )
        .await,
        413,
        "payload_too_large",
        "secrets[0].value",
    );
    let (_, all) = api.get("/v1/actions").await;
    assert_eq!(all["total"], 1);
}

/// The draft's list of secret names is a copy of the secrets table written after each change; a
/// crash between the two leaves it short, and the next deploy copies it again.
async fn secret_names_heal_at_deploy(db: Db) {
    let server = Server::in_process(&db, |_| {}).await;
    let (tenant_id, api) = server
        .tenant("acme", &["actions:read", "actions:write"])
        .await;
    let code = "exports.onExecutePostLogin = async () => {};";
    let (_, action) = api
        .post(
            "/v1/actions",
            json!({"name": "h", "supported_triggers": [{"id": "post-login"}], "code": code,
            "secrets": [{"name": "K", "value": "v"}]}),
        )
        .await;
    let id = action["id"].as_str().unwrap().to_owned();
    let store = db.open_store().await;
    let lost = actionflow_store::ActionPatch {
        secret_names: Some(Vec::new()),
        ..Default::default()
    };
    store.update_action(&tenant_id, &id, lost).await.unwrap();
    store.close().await;
    assert_eq!(
        api.get(&format!("/v1/actions/{id}")).await.1["secrets"],
        json!([])
    );
    let (_, v1) = api
        .post(&format!("/v1/actions/{id}/deploy"), json!({}))
        .await;
    assert_eq!(v1["secrets"], json!(["K"]));
    let (_, healed) = api.get(&format!("/v1/actions/{id}")).await;
    assert_eq!(healed["secrets"], json!([{"name": "K"}]));
    assert_eq!(healed["all_changes_deployed"], true);
}

/// A refused PATCH changes nothing: a taken name or a secret count past the limit is found before any
/// secret is written.
async fn refused_patches_write_no_secret(db: Db) {
    let server = Server::in_process(&db, |_| {}).await;
    let (_, api) = server
        .tenant("acme", &["actions:read", "actions:write"])
        .await;
    let code = r#"exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim("unchanged", event.secrets.K === "old");
};"#;
    let body = |name: &str| {
        json!({"name": name, "supported_triggers": [{"id": "post-login"}], "code": code,
            "secrets": [{"name": "K", "value": "old"}]})
    };
    let (_, taken) = api.post("/v1/actions", body("taken")).await;
    assert!(taken["id"].is_string(), "{taken}");
    let (_, action) = api.post("/v1/actions", body("mine")).await;
    let id = action["id"].as_str().unwrap().to_owned();
    let (status, refused) = api
        .patch(
            &format!("/v1/actions/{id}"),
            json!({"name": "taken", "secrets": [{"name": "K", "value": "new"}]}),
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    let many: Vec<_> = (0..30)
        .map(|i| json!({"name": format!("S{i}"), "value": "v"}))
        .collect();
    let (status, refused) = api
        .patch(&format!("/v1/actions/{id}"), json!({"secrets": many}))
        .await;
    assert_eq!(status, 422, "{refused}");
    let (_, run) = api
        .post(&format!("/v1/actions/{id}/test"), json!({"event": {}}))
        .await;
    assert_eq!(
        run["api_calls"][0]["args"],
        json!(["unchanged", true]),
        "{run}"
    );
    let (_, list) = api.get(&format!("/v1/actions/{id}/secrets")).await;
    assert_eq!(list["secrets"].as_array().unwrap().len(), 1, "{list}");
}

on_both_backends!(
    secrets_never_leak,
    secret_limits,
    secret_names_heal_at_deploy,
    refused_patches_write_no_secret
);
