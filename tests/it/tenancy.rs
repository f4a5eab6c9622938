//! Tenants, tokens and scopes: the admin token manages tenants only; a tenant token sees only its
//! tenant (another tenant's objects are 404, never their data); scopes and revocation hold.

use serde_json::json;

use crate::support::{assert_error, Api, Db, Server, Start, ADMIN_TOKEN};

const CODE: &str = "exports.onExecutePostLogin = async (event, api) => { api.access.deny('A'); };";

async fn cross_tenant_access(db: Db) {
    let server = Server::in_process(&db, |_| {}).await;
    let (_, a) = server
        .tenant("tenant-a", &["actions:read", "actions:write"])
        .await;
    let (_, b) = server
        .tenant("tenant-b", &["actions:read", "actions:write"])
        .await;
    let (_, action) = a
        .post("/v1/actions", json!({"name": "secret-sauce", "supported_triggers": [{"id": "post-login"}], "code": CODE,
            "secrets": [{"name": "K", "value": "a-only-value"}]}))
        .await;
    let id = action["id"].as_str().unwrap().to_owned();
    assert_eq!(
        a.post(&format!("/v1/actions/{id}/deploy"), json!({}))
            .await
            .0,
        201
    );

    let paths = [
        ("GET", format!("/v1/actions/{id}")),
        ("PATCH", format!("/v1/actions/{id}")),
        ("DELETE", format!("/v1/actions/{id}")),
        ("POST", format!("/v1/actions/{id}/deploy")),
        ("POST", format!("/v1/actions/{id}/test")),
        ("GET", format!("/v1/actions/{id}/versions")),
        ("GET", format!("/v1/actions/{id}/versions/1")),
        ("POST", format!("/v1/actions/{id}/versions/1/deploy")),
        ("GET", format!("/v1/actions/{id}/versions/1/diff/draft")),
        ("GET", format!("/v1/actions/{id}/secrets")),
        ("PUT", format!("/v1/actions/{id}/secrets/K")),
        ("DELETE", format!("/v1/actions/{id}/secrets/K")),
    ];
    for (method, path) in &paths {
        let body = match *method {
            "PATCH" => Some(json!({"code": "stolen"})),
            "PUT" => Some(json!({"value": "overwritten"})),
            "POST" => Some(json!({})),
            _ => None,
        };
        let (status, got) = b.send(method.parse().unwrap(), path, body).await;
        assert_eq!(status, 404, "{method} {path}: {got}");
        assert_eq!(got["error"]["code"], "not_found");
    }
    assert!(!b.all_responses().contains("secret-sauce") && !b.all_responses().contains(CODE));
    let (_, list) = b.get("/v1/actions").await;
    assert_eq!(list["total"], 0);
    // A's action is intact, and B may use the same name for its own.
    let (_, mine) = a.get(&format!("/v1/actions/{id}")).await;
    assert_eq!(
        (mine["code"].as_str(), mine["deployed_version"].as_i64()),
        (Some(CODE), Some(1))
    );
    let (_, versions) = a.get(&format!("/v1/actions/{id}/versions")).await;
    assert_eq!(versions["total"], 1);
    let (_, run) = a.post(&format!("/v1/actions/{id}/test"), json!({})).await;
    assert_eq!(run["status"], "completed");
    let (status, _) = b
        .post(
            "/v1/actions",
            json!({"name": "secret-sauce", "supported_triggers": [{"id": "post-login"}]}),
        )
        .await;
    assert_eq!(status, 201);
}

async fn tokens_scopes_and_revocation(db: Db) {
    let server = Server::in_process(&db, |_| {}).await;
    let admin = server.admin();
    let (tenant_id, reader) = server.tenant("acme", &["actions:read"]).await;
    let writer_token = {
        let (status, t) = admin
            .post(
                &format!("/v1/tenants/{tenant_id}/tokens"),
                json!({"scopes": ["actions:write", "actions:read"]}),
            )
            .await;
        assert_eq!(status, 201);
        assert_eq!(t["scopes"], json!(["actions:read", "actions:write"]));
        t
    };
    let writer = reader.with_token(writer_token["token"].as_str().unwrap());
    let create = json!({"name": "a", "supported_triggers": [{"id": "post-login"}], "code": CODE});

    // Scopes.
    assert_error(
        &reader.post("/v1/actions", create.clone()).await,
        403,
        "forbidden",
        "authorization",
    );
    assert_eq!(reader.get("/v1/actions").await.0, 200);
    assert_eq!(writer.post("/v1/actions", create.clone()).await.0, 201);
    // Roles: a tenant token cannot manage tenants; the admin token is not a tenant.
    assert_error(
        &writer.post("/v1/tenants", json!({"name": "evil"})).await,
        403,
        "forbidden",
        "authorization",
    );
    assert_error(
        &admin.get("/v1/actions").await,
        403,
        "forbidden",
        "authorization",
    );
    // Missing, malformed, unknown tokens.
    assert_error(
        &writer.with_token("").get("/v1/actions").await,
        401,
        "unauthorized",
        "authorization",
    );
    assert_error(
        &writer
            .with_token("af_not_a_real_token")
            .get("/v1/actions")
            .await,
        401,
        "unauthorized",
        "authorization",
    );
    let basic = reqwest::Client::new()
        .get(format!("{}/v1/actions", server.url))
        .header("authorization", "Basic abc");
    assert_error(
        &writer.finish(basic).await,
        401,
        "unauthorized",
        "authorization",
    );
    let none = reqwest::Client::new().get(format!("{}/v1/actions", server.url));
    assert_error(
        &writer.finish(none).await,
        401,
        "unauthorized",
        "authorization",
    );
    // Token creation rules.
    assert_error(
        &admin
            .post(
                &format!("/v1/tenants/{tenant_id}/tokens"),
                json!({"scopes": ["root"]}),
            )
            .await,
        422,
        "invalid_value",
        "scopes[0]",
    );
    assert_error(
        &admin
            .post(
                &format!("/v1/tenants/{tenant_id}/tokens"),
                json!({"scopes": []}),
            )
            .await,
        422,
        "invalid_value",
        "scopes",
    );
    assert_error(
        &admin
            .post("/v1/tenants/nope/tokens", json!({"scopes": ["dispatch"]}))
            .await,
        404,
        "not_found",
        "tenant_id",
    );
    assert_error(
        &admin.post("/v1/tenants", json!({"name": "acme"})).await,
        409,
        "conflict",
        "name",
    );
    // Listing never shows token values; revocation takes effect at once.
    let (_, tokens) = admin.get(&format!("/v1/tenants/{tenant_id}/tokens")).await;
    assert_eq!(tokens.as_array().unwrap().len(), 2);
    assert!(!tokens.to_string().contains(writer.token()) && tokens[0].get("token").is_none());
    let token_id = writer_token["id"].as_str().unwrap();
    let (status, revoked) = admin
        .delete(&format!("/v1/tenants/{tenant_id}/tokens/{token_id}"))
        .await;
    assert_eq!(status, 200);
    assert!(revoked["revoked_at"].is_string());
    assert_error(
        &writer.get("/v1/actions").await,
        401,
        "unauthorized",
        "authorization",
    );
    assert_eq!(reader.get("/v1/actions").await.0, 200);
    // The admin token itself is never stored in the clear in the data dir.
    for (path, bytes) in crate::support::read_tree(db.dir.path()) {
        assert!(
            !bytes
                .windows(ADMIN_TOKEN.len())
                .any(|w| w == ADMIN_TOKEN.as_bytes()),
            "{}",
            path.display()
        );
    }
    let (_, tenants) = admin.get("/v1/tenants").await;
    assert_eq!(tenants["total"], 1);
}

/// Without `ACTIONFLOW_ADMIN_TOKEN` the first start generates a token, prints it once and keeps
/// only its hash (mode 0600); later starts accept it without printing it.
async fn generated_admin_token(db: Db) {
    let start = Start {
        generated_admin_token: true,
        ..Start::default()
    };
    let server = Server::start_with(&db, start.clone()).await;
    let output = server.output();
    let line = output
        .lines()
        .find(|l| l.starts_with("admin token (shown only this once"))
        .unwrap_or_else(|| panic!("{output}"));
    let token = line.rsplit(' ').next().unwrap().to_owned();
    assert!(output.contains("authenticate with `Authorization: Bearer <token>`"));
    let admin = Api::new(&server.url, &token);
    assert_eq!(
        admin.post("/v1/tenants", json!({"name": "t1"})).await.0,
        201
    );
    drop(server);
    let hash_file = db.dir.path().join("admin-token.sha256");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&hash_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(!std::fs::read_to_string(&hash_file)
        .unwrap()
        .contains(&token));

    let server = Server::start_with(&db, start).await;
    assert!(!server.output().contains(&token));
    assert!(server
        .output()
        .contains("admin token: the one printed on first start"));
    let admin = Api::new(&server.url, &token);
    assert_eq!(admin.get("/v1/tenants").await.1["total"], 1);
    assert_error(
        &admin.with_token(ADMIN_TOKEN).get("/v1/tenants").await,
        401,
        "unauthorized",
        "authorization",
    );
}

on_both_backends!(
    cross_tenant_access,
    tokens_scopes_and_revocation,
    generated_admin_token
);

/// A tenant flooding test runs is refused for itself (429 with Retry-After), and another tenant's
/// test run still runs at once.
async fn a_test_run_flood_is_refused_for_its_tenant_only(db: Db) {
    let server = Server::in_process(&db, |s| {
        s.tests.waiting_max = 4;
        s.tests.concurrency_max = 4;
    })
    .await;
    let scopes = ["actions:read", "actions:write"];
    let (_, a) = server.tenant("flooder", &scopes).await;
    let (_, b) = server.tenant("bystander", &scopes).await;
    let slow = "exports.onExecutePostLogin = async () => { await new Promise(r => setTimeout(r, 1500)); };";
    let create = |code: &str| json!({"name": "t", "supported_triggers": [{"id": "post-login"}], "code": code});
    let (_, slow_action) = a.post("/v1/actions", create(slow)).await;
    let path = format!("/v1/actions/{}/test", slow_action["id"].as_str().unwrap());
    let held: Vec<_> = (0..2)
        .map(|_| {
            let (a, path) = (a.clone(), path.clone());
            tokio::spawn(async move { a.post(&path, json!({})).await })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (status, refused) = a.post(&path, json!({})).await;
    assert_eq!(status, 429, "{refused}");
    assert_eq!(refused["error"]["code"], "too_many_requests", "{refused}");
    // Over the socket the server also listens on, the header says when to come back.
    let response = a
        .raw(reqwest::Method::POST, &path)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "1");

    let (_, quick) = b.post("/v1/actions", create(CODE)).await;
    let started = std::time::Instant::now();
    let (status, body) = b
        .post(
            &format!("/v1/actions/{}/test", quick["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        started.elapsed() < std::time::Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );
    for run in held {
        let (status, body) = run.await.unwrap();
        assert_eq!(status, 200, "{body}");
    }
}

on_both_backends!(a_test_run_flood_is_refused_for_its_tenant_only);

/// The admin gives a tenant its own CPU limit: that tenant's loops stop at it, another tenant's
/// executions keep the server's default.
async fn a_tenant_has_its_own_cpu_limit(db: Db) {
    let server = Server::in_process(&db, |_| {}).await;
    let admin = server.admin();
    let scopes = ["actions:read", "actions:write"];
    let (strict_id, strict) = server.tenant("strict", &scopes).await;
    let (_, relaxed) = server.tenant("relaxed", &scopes).await;
    let refused = admin
        .patch(
            &format!("/v1/tenants/{strict_id}"),
            json!({"cpu_ms_max": 0}),
        )
        .await;
    assert_error(&refused, 422, "invalid_value", "cpu_ms_max");
    let unknown = admin
        .patch("/v1/tenants/nope", json!({"cpu_ms_max": 100}))
        .await;
    assert_error(&unknown, 404, "not_found", "tenant_id");
    let (status, tenant) = admin
        .patch(
            &format!("/v1/tenants/{strict_id}"),
            json!({"cpu_ms_max": 100}),
        )
        .await;
    assert_eq!(
        (status, tenant["cpu_ms_max"].as_i64()),
        (200, Some(100)),
        "{tenant}"
    );

    // 400 ms of computing: over the strict tenant's 100 ms, under the default 5 s.
    let busy = "exports.onExecutePostLogin = async () => { const end = Date.now() + 400; while (Date.now() < end) {} };";
    let run = |api: Api| async move {
        let body =
            json!({"name": "busy", "supported_triggers": [{"id": "post-login"}], "code": busy});
        let (_, action) = api.post("/v1/actions", body).await;
        let path = format!("/v1/actions/{}/test", action["id"].as_str().unwrap());
        api.post(&path, json!({})).await
    };
    let (status, strict_run) = run(strict).await;
    assert_eq!(status, 200, "{strict_run}");
    assert_eq!(strict_run["status"], "cpu_limit", "{strict_run}");
    let (status, relaxed_run) = run(relaxed).await;
    assert_eq!(status, 200, "{relaxed_run}");
    assert_eq!(relaxed_run["status"], "completed", "{relaxed_run}");
}

on_both_backends!(a_tenant_has_its_own_cpu_limit);
