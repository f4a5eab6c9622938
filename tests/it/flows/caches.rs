//! The caches on the dispatch path, over HTTP with two servers on one database: a revoked token stops
//! working at once on the node that revoked it and within `--token-cache-ms` on another; a flow edited
//! or deployed through one node runs at once there and within 100 ms on the other; and neither cache
//! ever serves one tenant's token or flow to another.

use std::time::Duration;

use serde_json::{json, Value};

use super::{deploy, start_in_process, ALL_SCOPES};
use crate::support::{assert_error, Api, Db};
use actionflow_server::Settings;

on_both_backends!(revoked_tokens_stop_at_once, caches_keep_tenants_apart);

/// A flow checked less than this ago runs on a node that did not make the change (100 ms), plus room.
const FRESH: Duration = Duration::from_millis(150);

fn login() -> Value {
    json!({"event": {"user": {"user_id": "auth0|7", "app_metadata": {}}, "client": {"client_id": "web"}}})
}

/// An action setting the claim `who` to `value`.
fn claim(value: &str) -> String {
    format!(
        "exports.onExecutePostLogin = async (event, api) => {{
            api.accessToken.setCustomClaim('who', '{value}');
        }};"
    )
}

async fn bind(api: &Api, ids: &[&str]) {
    let bindings: Vec<Value> = ids
        .iter()
        .map(|id| json!({"ref": {"type": "action_id", "value": id}}))
        .collect();
    let (status, body) = api
        .patch(
            "/v1/triggers/post-login/bindings",
            json!({"bindings": bindings}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// The `who` claims of a post-login dispatch, in order.
async fn who(api: &Api) -> Vec<String> {
    let (status, body) = api.post("/v1/triggers/post-login/dispatch", login()).await;
    assert_eq!(status, 200, "{body}");
    body["effects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["args"][1].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn token_id(admin: &Api, tenant_id: &str) -> String {
    let (_, tokens) = admin.get(&format!("/v1/tenants/{tenant_id}/tokens")).await;
    tokens[0]["id"].as_str().unwrap().to_owned()
}

async fn revoked_tokens_stop_at_once(db: Db) {
    // `one` caches tokens for a minute; `two` for 300 ms; `three` not at all.
    let cache = |ms| move |s: &mut Settings| s.token_cache = Duration::from_millis(ms);
    let one = start_in_process(&db, cache(60_000)).await;
    let two = start_in_process(&db, cache(300)).await;
    let three = start_in_process(&db, cache(0)).await;
    let (tenant_id, api) = server_tenant(&one).await;
    let on = |server: &crate::support::Server| Api::new(&server.url, api.token());
    // Every node has checked (and, but for `three`, cached) the token.
    for api in [on(&one), on(&two), on(&three)] {
        assert_eq!(api.get("/v1/actions").await.0, 200);
    }
    let admin = one.admin();
    let id = token_id(&admin, &tenant_id).await;
    let (status, _) = admin
        .delete(&format!("/v1/tenants/{tenant_id}/tokens/{id}"))
        .await;
    assert_eq!(status, 200);
    // The node that revoked it refuses it at once despite its minute-long cache; so does a node
    // without a cache.
    for api in [on(&one), on(&three)] {
        assert_error(
            &api.get("/v1/actions").await,
            401,
            "unauthorized",
            "authorization",
        );
    }
    // Another node refuses it once its cache's TTL has passed.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_error(
        &on(&two).get("/v1/actions").await,
        401,
        "unauthorized",
        "authorization",
    );
}

async fn server_tenant(server: &crate::support::Server) -> (String, Api) {
    server.tenant("acme", ALL_SCOPES).await
}

async fn caches_keep_tenants_apart(db: Db) {
    let one = start_in_process(&db, |_| {}).await;
    let two = start_in_process(&db, |_| {}).await;
    let (_, acme) = one.tenant("acme", ALL_SCOPES).await;
    let (_, globex) = one.tenant("globex", ALL_SCOPES).await;
    let a = deploy(&acme, "first", "post-login", &claim("acme-1")).await;
    let g = deploy(&globex, "first", "post-login", &claim("globex-1")).await;
    // The same bindings revision (1) and version numbers (1) in both tenants: equal stamps.
    bind(&acme, &[&a]).await;
    bind(&globex, &[&g]).await;
    let acme_two = Api::new(&two.url, acme.token());
    let globex_two = Api::new(&two.url, globex.token());
    for _ in 0..5 {
        assert_eq!(who(&acme).await, ["acme-1"]);
        assert_eq!(who(&globex).await, ["globex-1"]);
        assert_eq!(who(&globex_two).await, ["globex-1"]);
        assert_eq!(who(&acme_two).await, ["acme-1"]);
    }

    // A deploy through one node runs on the other at its next dispatch.
    let (status, body) = acme
        .patch(
            &format!("/v1/actions/{a}"),
            json!({"code": claim("acme-2")}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = acme
        .post(&format!("/v1/actions/{a}/deploy"), json!({}))
        .await;
    assert_eq!(status, 201, "{body}");
    // Seen at once on the node that deployed, within the freshness window on the other.
    assert_eq!(who(&acme).await, ["acme-2"]);
    tokio::time::sleep(FRESH).await;
    assert_eq!(who(&acme_two).await, ["acme-2"]);
    assert_eq!(who(&globex_two).await, ["globex-1"]);
    // So does a bindings edit, and a rollback.
    let b = deploy(&acme, "second", "post-login", &claim("acme-b")).await;
    bind(&acme, &[&b, &a]).await;
    tokio::time::sleep(FRESH).await;
    assert_eq!(who(&acme_two).await, ["acme-b", "acme-2"]);
    let (status, body) = acme
        .post(&format!("/v1/actions/{a}/versions/1/deploy"), json!({}))
        .await;
    assert_eq!(status, 201, "{body}");
    tokio::time::sleep(FRESH).await;
    assert_eq!(who(&acme_two).await, ["acme-b", "acme-1"]);
    assert_eq!(who(&acme).await, ["acme-b", "acme-1"]);
    assert_eq!(who(&globex).await, ["globex-1"]);
}
