//! Bindings over HTTP: the catalog, PATCH of the whole flow, insert/remove of one binding (both path
//! spellings), revisions and restore, scopes and tenants.

use serde_json::json;

use super::{deploy, start_in_process, ALL_SCOPES};
use crate::support::{assert_error, Db};

const LOGIN: &str = "exports.onExecutePostLogin = async () => {};";

on_both_backends!(bindings_over_http);

fn order(body: &serde_json::Value) -> Vec<String> {
    body["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["display_name"].as_str().unwrap().to_owned())
        .collect()
}

async fn bindings_over_http(db: Db) {
    let server = start_in_process(&db, |_| {}).await;
    let (_, api) = server.tenant("acme", ALL_SCOPES).await;
    let (status, catalog) = api.get("/v1/triggers").await;
    assert_eq!(status, 200, "{catalog}");
    let login = catalog["triggers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "post-login")
        .unwrap();
    assert_eq!(
        (login["delivery"].as_str(), login["handler"].as_str()),
        (Some("sync"), Some("onExecutePostLogin"))
    );
    assert_eq!(login["event_schema"]["required"], json!(["user", "client"]));
    let a = deploy(&api, "a", "post-login", LOGIN).await;
    deploy(&api, "b", "post-login", LOGIN).await;
    let c = deploy(&api, "c", "post-login", LOGIN).await;
    let reg = deploy(
        &api,
        "reg",
        "post-user-registration",
        "exports.onExecutePostUserRegistration = async () => {};",
    )
    .await;

    let path = "/v1/triggers/post-login/bindings";
    let (status, flow) = api.patch(path, json!({"bindings": [
        {"ref": {"type": "action_id", "value": a}},
        {"ref": {"type": "action_name", "value": "b"}, "display_name": "B", "on_error": "continue"}]})).await;
    assert_eq!(status, 200, "{flow}");
    assert_eq!(
        (flow["revision"].as_i64(), order(&flow)),
        (Some(1), vec!["a".into(), "B".into()])
    );
    assert_eq!(flow["bindings"][1]["on_error"], "continue");

    let bad = api
        .patch(
            path,
            json!({"bindings": [{"ref": {"type": "action_id", "value": reg}}]}),
        )
        .await;
    assert_error(&bad, 422, "invalid_value", "bindings[0]");
    let bad = api
        .patch(
            path,
            json!({"bindings": [{"ref": {"type": "action_name", "value": "zz"}}]}),
        )
        .await;
    assert_error(&bad, 422, "invalid_value", "bindings[0].ref.value");
    let bad = api
        .patch(
            path,
            json!({"bindings": [{"ref": {"type": "action_id", "value": a}, "colour": 1}]}),
        )
        .await;
    assert_error(&bad, 400, "unknown_field", "bindings[0].colour");
    let many: Vec<_> = (0..21)
        .map(|_| json!({"ref": {"type": "action_id", "value": a}}))
        .collect();
    assert_error(
        &api.patch(path, json!({"bindings": many})).await,
        422,
        "invalid_value",
        "bindings",
    );
    let unknown = api.get("/v1/triggers/post-logout/bindings").await;
    assert_error(&unknown, 404, "not_found", "trigger_id");

    let (status, flow) = api
        .post(
            "/v1/triggers/post-login/bindings:insert",
            json!({"ref": {"type": "action_id", "value": c}, "position": 0}),
        )
        .await;
    assert_eq!(status, 200, "{flow}");
    assert_eq!(order(&flow), ["c", "a", "B"]);
    let (status, flow) = api
        .post(
            "/v1/triggers/post-login/bindings/remove",
            json!({"ref": {"type": "action_name", "value": "a"}}),
        )
        .await;
    assert_eq!(status, 200, "{flow}");
    assert_eq!(
        (flow["revision"].as_i64(), order(&flow)),
        (Some(3), vec!["c".into(), "B".into()])
    );
    let gone = api
        .post(
            "/v1/triggers/post-login/bindings:remove",
            json!({"ref": {"type": "action_id", "value": a}}),
        )
        .await;
    assert_error(&gone, 404, "not_found", "ref");
    let bad = api
        .post(
            "/v1/triggers/post-login/bindings/insert",
            json!({"ref": {"type": "action_id", "value": a}, "position": 7}),
        )
        .await;
    assert_error(&bad, 422, "invalid_value", "position");

    let (status, revisions) = api.get("/v1/triggers/post-login/bindings/revisions").await;
    assert_eq!(status, 200, "{revisions}");
    let numbers: Vec<_> = revisions["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [3, 2, 1]);
    let (status, restored) = api
        .post(
            "/v1/triggers/post-login/bindings/revisions/1/restore",
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{restored}");
    assert_eq!(
        (restored["revision"].as_i64(), order(&restored)),
        (Some(4), vec!["a".into(), "B".into()])
    );
    let missing = api
        .post(
            "/v1/triggers/post-login/bindings/revisions/99/restore",
            json!({}),
        )
        .await;
    assert_error(&missing, 404, "not_found", "number");

    // A restore follows the rules of PATCH as they are today: a revision binding an action since
    // deleted, or more actions than the limit now allows, is refused (409) and changes nothing.
    let d = deploy(&api, "d", "post-login", LOGIN).await;
    let bind = |id: &str| json!({"bindings": [{"ref": {"type": "action_id", "value": id}}]});
    assert_eq!(api.patch(path, bind(&d)).await.1["revision"], 5);
    assert_eq!(api.patch(path, bind(&a)).await.1["revision"], 6);
    assert_eq!(api.delete(&format!("/v1/actions/{d}")).await.0, 204);
    let refused = api
        .post(
            "/v1/triggers/post-login/bindings/revisions/5/restore",
            json!({}),
        )
        .await;
    assert_error(&refused, 409, "conflict", "number");
    let message = refused.1["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "bindings revision 5 cannot be restored: bindings[0].ref.value: no action"
        ),
        "{message}"
    );
    let strict = super::start_in_process(&db, |s| s.flows.bindings_per_trigger_max = 1).await;
    let strict_api = crate::support::Api::new(&strict.url, api.token());
    let refused = strict_api
        .post(
            "/v1/triggers/post-login/bindings/revisions/4/restore",
            json!({}),
        )
        .await;
    assert_error(&refused, 409, "conflict", "number");
    assert!(
        refused.1["error"]["message"]
            .as_str()
            .unwrap()
            .ends_with("a flow holds at most 1 bindings; this one would hold 2"),
        "{}",
        refused.1
    );
    let (status, flow) = api.get(path).await;
    assert_eq!((status, flow["revision"].as_i64()), (200, Some(6)));
    let (status, restored) = strict_api
        .post(
            "/v1/triggers/post-login/bindings/revisions/6/restore",
            json!({}),
        )
        .await;
    assert_eq!((status, restored["revision"].as_i64()), (200, Some(7)));

    // A bound action is not deleted without force; another tenant cannot see or bind it.
    assert_eq!(api.delete(&format!("/v1/actions/{a}")).await.0, 409);
    let (_, other) = server.tenant("other", ALL_SCOPES).await;
    let bad = other
        .patch(
            path,
            json!({"bindings": [{"ref": {"type": "action_id", "value": a}}]}),
        )
        .await;
    assert_error(&bad, 422, "invalid_value", "bindings[0].ref.value");
    let (status, theirs) = other.get(path).await;
    assert_eq!((status, theirs["revision"].as_i64()), (200, Some(0)));
    let (_, reader) = server.tenant("readonly", &["bindings:read"]).await;
    assert_error(
        &reader.patch(path, json!({"bindings": []})).await,
        403,
        "forbidden",
        "authorization",
    );
}
