//! Changing part of an extension (`PATCH`): the code, metadata or dependencies given replace the
//! stored ones, secrets change one by one and the others keep their values; and discovery across
//! every container of a tenant (`GET /api/webtask`). On both backends.

use super::{put, run, server, SCOPES};
use crate::support::{assert_error, Db};
use reqwest::Method;
use serde_json::json;

on_both_backends!(
    a_patch_keeps_what_it_does_not_name,
    every_container_of_a_tenant
);

const SHOW: &str = "module.exports = function (ctx, cb) { cb(null, {v: 1, secrets: ctx.secrets, meta: ctx.meta}); };";

async fn a_patch_keeps_what_it_does_not_name(db: Db) {
    let server = server(&db).await;
    let (_, api) = server.tenant("acme", SCOPES).await;
    put(
        &api,
        "c1",
        "show",
        json!({"code": SHOW, "secrets": {"A": "1", "B": "2"}, "meta": {"kind": "demo"}}),
    )
    .await;
    let path = "/api/webtask/c1/show";

    // New code: the secrets and the metadata stay.
    let code = SHOW.replace("v: 1", "v: 2");
    let (status, changed) = api.patch(path, json!({"code": code})).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["secret_names"], json!(["A", "B"]));
    assert_eq!(changed["meta"], json!({"kind": "demo"}));
    assert!(changed.get("secrets").is_none() && changed.get("code").is_none());
    let answer = run(&server, Method::GET, "c1/show", &[], None).await;
    assert_eq!(
        answer.json(),
        json!({"v": 2, "secrets": {"A": "1", "B": "2"}, "meta": {"kind": "demo"}})
    );

    // Secrets one by one: one deleted, one added, the third kept.
    let (status, changed) = api
        .patch(path, json!({"secrets": {"A": null, "C": "3"}}))
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["secret_names"], json!(["B", "C"]));
    let answer = run(&server, Method::GET, "c1/show", &[], None).await;
    assert_eq!(answer.json()["secrets"], json!({"B": "2", "C": "3"}));

    // Metadata replaced as a whole; the code stays.
    let (_, changed) = api.patch(path, json!({"meta": {"team": "growth"}})).await;
    assert_eq!(changed["meta"], json!({"team": "growth"}));
    let (_, read) = api.get(path).await;
    assert_eq!(read["code"], json!(code));

    // Refusals name their field, and change nothing.
    assert_error(
        &api.patch(path, json!({"meta": {"wt-compiler": "nope"}}))
            .await,
        422,
        "invalid_value",
        "meta.wt-compiler",
    );
    assert_error(
        &api.patch(path, json!({"secrets": {"": "x"}})).await,
        422,
        "invalid_value",
        "secrets",
    );
    assert_error(
        &api.patch(path, json!({"code": "  "})).await,
        422,
        "invalid_value",
        "code",
    );
    assert_error(
        &api.patch(path, json!({"codes": "x"})).await,
        400,
        "unknown_field",
        "codes",
    );
    assert_error(
        &api.patch("/api/webtask/c1/nope", json!({"code": SHOW}))
            .await,
        404,
        "not_found",
        "name",
    );
    let (_, read) = api.get(path).await;
    assert_eq!(read["secret_names"], json!(["B", "C"]));
    assert_eq!(read["meta"], json!({"team": "growth"}));

    // Another tenant's extension is not found, and a reader may not change it.
    let (_, other) = server.tenant("other", SCOPES).await;
    assert_eq!(other.patch(path, json!({"code": SHOW})).await.0, 404);
    let (_, reader) = server.tenant("readers", &["webtasks:read"]).await;
    assert_eq!(reader.patch(path, json!({"code": SHOW})).await.0, 403);
}

async fn every_container_of_a_tenant(db: Db) {
    let server = server(&db).await;
    let (_, acme) = server.tenant("acme", SCOPES).await;
    let (_, other) = server.tenant("other", SCOPES).await;
    let code = "module.exports = (cb) => cb(null, {});";
    put(
        &acme,
        "b-c",
        "two",
        json!({"code": code, "meta": {"kind": "x"}}),
    )
    .await;
    put(&acme, "a-c", "one", json!({"code": code})).await;
    put(
        &acme,
        "b-c",
        "one",
        json!({"code": code, "meta": {"kind": "x"}}),
    )
    .await;
    put(
        &other,
        "o-c",
        "theirs",
        json!({"code": code, "meta": {"kind": "x"}}),
    )
    .await;

    let (status, all) = acme.get("/api/webtask").await;
    assert_eq!(status, 200, "{all}");
    let names: Vec<String> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            format!(
                "{}/{}",
                w["container"].as_str().unwrap(),
                w["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(names, ["a-c/one", "b-c/one", "b-c/two"]);
    assert!(all[0].get("code").is_none());
    let (_, found) = acme
        .get("/api/webtask?meta=kind:x&fetch_code=true&limit=1")
        .await;
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(
        (found[0]["name"].as_str(), found[0]["code"].as_str()),
        (Some("one"), Some(code))
    );
    assert_error(
        &acme.get("/api/webtask?limit=many").await,
        400,
        "invalid_request",
        "limit",
    );
    let (_, theirs) = other.get("/api/webtask").await;
    assert_eq!(theirs.as_array().unwrap().len(), 1, "{theirs}");
}
