//! State over HTTP on both backends: storage conflicts between concurrent writers, discovery by
//! metadata and the Extend developer guide's flow, another tenant's container, the live console.

use super::{code, put, run, server, SCOPES};
use crate::support::{assert_error, Db};
use reqwest::Method;
use serde_json::json;

on_both_backends!(
    storage_conflicts,
    discovery_and_the_extend_flow,
    containers_are_their_tenants
);

/// With the default network policy, the storage URL is the only address on the server's loopback
/// an extension reaches: the server's other endpoints, and another path shaped like storage, are
/// refused like any private address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_storage_url_is_let_through() {
    let db = Db::sqlite();
    let server = server(&db).await;
    let (_, api) = server.tenant("acme", SCOPES).await;
    let probe = "module.exports = async function (ctx) {\n\
      const stored = await new Promise((ok, ko) => ctx.storage.set({ n: 1 }, { force: 1 }, (e) => e ? ko(e) : ok(true)));\n\
      const tried = {};\n\
      for (const url of JSON.parse(ctx.query.urls)) {\n\
        try { tried[url] = (await fetch(url)).status; } catch (e) { tried[url] = String(e.message); }\n\
      }\n\
      return { stored, tried };\n\
    };";
    put(&api, "acme", "probe", code(probe)).await;
    let others = [
        format!("{}/v1/triggers", server.url),
        format!("{}/api/webtask/acme/other/data", server.url),
    ];
    let query = serde_json::to_string(&others).unwrap();
    let path = format!("acme/probe?urls={}", urlencoding(&query));
    let answer = run(&server, Method::GET, &path, &[], None).await;
    let body = answer.json();
    assert_eq!(
        (answer.status, &body["stored"]),
        (200, &json!(true)),
        "{}",
        answer.body
    );
    for url in &others {
        let refused = body["tried"][url].as_str().unwrap_or_default();
        assert!(refused.contains("refused"), "{url}: {body}");
    }
}

fn urlencoding(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Reads, waits for the other writer to read too, then writes: one of two concurrent runs wins,
/// the other gets code 409 with the winner's value.
const COUNTER: &str = "module.exports = function (ctx, cb) {\n\
  ctx.storage.get(function (error, data) {\n\
    if (error) return cb(error);\n\
    data = data || { n: 0, by: [] };\n\
    data.n += 1; data.by.push(ctx.query.who);\n\
    setTimeout(function () {\n\
      ctx.storage.set(data, function (error) {\n\
        if (error) return cb(null, { code: error.code, conflict: error.conflict });\n\
        cb(null, { wrote: data });\n\
      });\n\
    }, Number(ctx.query.wait || 0));\n\
  });\n\
};";

async fn storage_conflicts(db: Db) {
    let server = server(&db).await;
    let (_, api) = server.tenant("acme", SCOPES).await;
    put(&api, "acme", "counter", code(COUNTER)).await;
    let (a, b) = tokio::join!(
        run(
            &server,
            Method::GET,
            "acme/counter?who=a&wait=1500",
            &[],
            None
        ),
        run(
            &server,
            Method::GET,
            "acme/counter?who=b&wait=1500",
            &[],
            None
        ),
    );
    let (a, b) = (a.json(), b.json());
    let (won, lost) = if a.get("wrote").is_some() {
        (a, b)
    } else {
        (b, a)
    };
    assert_eq!(won["wrote"]["n"], 1, "{won} {lost}");
    assert_eq!(lost["code"], 409, "{won} {lost}");
    assert_eq!(
        lost["conflict"], won["wrote"],
        "the loser sees the winner's value"
    );

    // The same over the API: the etag of a read, two writes based on it.
    let (status, read) = api.get("/api/webtask/acme/counter/data").await;
    assert_eq!(status, 200, "{read}");
    let etag = read["etag"].as_str().unwrap().to_owned();
    let write = |n: u32| {
        api.put(
            "/api/webtask/acme/counter/data",
            json!({"data": json!({"n": n}).to_string(), "etag": etag}),
        )
    };
    let (first, second) = tokio::join!(write(10), write(20));
    let mut statuses = [first.0, second.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{first:?} {second:?}");
    let conflict = if first.0 == 409 { &first.1 } else { &second.1 };
    assert_eq!(conflict["error"]["code"], "conflict");
    assert!(conflict["conflict"]["data"]
        .as_str()
        .unwrap()
        .contains("\"n\""));
    // `force` (no etag) overwrites; too large and not JSON are refused.
    let (status, _) = api
        .put(
            "/api/webtask/acme/counter/data",
            json!({"data": "{\"n\": 99}"}),
        )
        .await;
    assert_eq!(status, 200);
    let big = format!("\"{}\"", "x".repeat(600 * 1024));
    let refused = api
        .put("/api/webtask/acme/counter/data", json!({"data": big}))
        .await;
    assert_error(&refused, 413, "payload_too_large", "data");
    let refused = api
        .put("/api/webtask/acme/counter/data", json!({"data": "{nope"}))
        .await;
    assert_error(&refused, 422, "invalid_value", "data");
    // Deleted with the extension.
    assert_eq!(api.delete("/api/webtask/acme/counter").await.0, 204);
    put(&api, "acme", "counter", code(COUNTER)).await;
    let (_, read) = api.get("/api/webtask/acme/counter/data").await;
    assert_eq!(read["data"], serde_json::Value::Null);
}

async fn discovery_and_the_extend_flow(db: Db) {
    let server = server(&db).await;
    let (_, api) = server.tenant("platform", SCOPES).await;
    // The platform pre-creates an empty extension for its user's tenant.
    let secret = "4b1d2c3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c";
    let empty = "/**\n@param ctx.body - new lead information\n*/\nmodule.exports = function (ctx, cb) {\n  var extra_info = {};\n  return cb(null, extra_info);\n};";
    let (status, created) = api
        .put(
            "/api/webtask/tenant-42/on-new-lead",
            json!({
                "code": empty,
                "secrets": {"auth0-extension-secret": secret},
                "meta": {"auth0-extension-secret": secret, "auth0-extension-type": "on-new-lead",
                         "wt-compiler": "auth0-ext-compilers/generic"},
            }),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(
        created["webtask_url"],
        format!("{}/run/tenant-42/on-new-lead", server.url)
    );
    assert!(created.get("secrets").is_none());
    put(
        &api,
        "tenant-42",
        "other",
        json!({"code": empty, "meta": {"auth0-extension-type": "on-deal"}}),
    )
    .await;
    put(&api, "tenant-42", "plain", code(empty)).await;

    // Discovery by metadata: every pair must match.
    let (status, found) = api
        .get("/api/webtask/tenant-42?meta=auth0-extension-type:on-new-lead")
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found[0]["name"], "on-new-lead");
    assert!(found[0].get("code").is_none());
    let (_, none) = api
        .get("/api/webtask/tenant-42?meta=auth0-extension-type:on-new-lead&meta=wt-compiler:x")
        .await;
    assert_eq!(none, json!([]));
    let (_, all) = api
        .get("/api/webtask/tenant-42?fetch_code=true&limit=2&offset=1")
        .await;
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    assert!(all[0]["code"].as_str().is_some());
    assert_error(
        &api.get("/api/webtask/tenant-42?meta=nocolon").await,
        422,
        "invalid_value",
        "meta",
    );

    // The platform calls what it found, with the bearer secret read from its metadata.
    let url = found[0]["webtask_url"].as_str().unwrap();
    let bearer = format!(
        "Bearer {}",
        found[0]["meta"]["auth0-extension-secret"].as_str().unwrap()
    );
    let path = url.split("/run/").nth(1).unwrap();
    let a = run(
        &server,
        Method::POST,
        path,
        &[("authorization", &bearer)],
        Some(("application/json", r#"{"name": "Lead"}"#.to_owned())),
    )
    .await;
    assert_eq!(
        (a.status, a.json()),
        (
            200,
            json!({"statusCode": 200, "headers": {}, "status": "success", "data": {}})
        )
    );

    // Omitting meta clears it, as on Extend.
    let cleared = put(&api, "tenant-42", "other", code(empty)).await;
    assert_eq!(cleared["meta"], json!({}));
    let (status, one) = api.get("/api/webtask/tenant-42/on-new-lead").await;
    assert_eq!((status, one["code"].as_str()), (200, Some(empty)));
    assert_eq!(api.delete("/api/webtask/tenant-42/plain").await.0, 204);
    assert_error(
        &api.get("/api/webtask/tenant-42/plain").await,
        404,
        "not_found",
        "name",
    );
}

async fn containers_are_their_tenants(db: Db) {
    let server = server(&db).await;
    let (_, acme) = server.tenant("acme", SCOPES).await;
    let (_, other) = server.tenant("other", SCOPES).await;
    put(&acme, "acme-c", "hook", code("module.exports = function (ctx, cb) { console.log('ran ' + ctx.query.n); cb(null, {}); };")).await;
    let (status, _) = acme
        .put("/api/cron/acme-c/hook", json!({"schedule": "0 0 1 1 *"}))
        .await;
    assert_eq!(status, 200);
    for (method, path) in [
        (Method::GET, "/api/webtask/acme-c"),
        (Method::GET, "/api/webtask/acme-c/hook"),
        (Method::DELETE, "/api/webtask/acme-c/hook"),
        (Method::GET, "/api/webtask/acme-c/hook/data"),
        (Method::GET, "/api/cron/acme-c/hook"),
        (Method::GET, "/api/cron/acme-c/hook/history"),
        (Method::DELETE, "/api/cron/acme-c/hook"),
        (Method::GET, "/api/logs/tenant/acme-c"),
    ] {
        let (status, body) = other.send(method.clone(), path, None).await;
        assert_eq!(status, 404, "{method} {path}: {body}");
    }
    let taken = other
        .put(
            "/api/webtask/acme-c/mine",
            code("module.exports = (cb) => cb();"),
        )
        .await;
    assert_eq!(taken.0, 404, "{}", taken.1);
    let (status, listed) = other.get("/api/cron/acme-c").await;
    assert_eq!((status, listed), (200, json!([])));
    // A token without the scope is refused; the data stays the owner's.
    let (_, reader) = server.tenant("readers", &["webtasks:read"]).await;
    assert_eq!(
        reader
            .put("/api/webtask/r/x", code("module.exports = (cb) => cb();"))
            .await
            .0,
        403
    );
    assert_eq!(acme.get("/api/webtask/acme-c/hook").await.0, 200);

    // The owner follows the container's console (SSE), filtered.
    let response = reqwest::Client::new()
        .get(format!(
            "{}/api/logs/tenant/acme-c?filter=ran%202",
            server.url
        ))
        .bearer_auth(acme.token())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let mut response = response;
    for n in 1..=2 {
        run(
            &server,
            Method::GET,
            &format!("acme-c/hook?n={n}"),
            &[],
            None,
        )
        .await;
    }
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !seen.contains("ran 2") && tokio::time::Instant::now() < deadline {
        match tokio::time::timeout_at(deadline, response.chunk()).await {
            Ok(Ok(Some(chunk))) => seen.push_str(&String::from_utf8_lossy(&chunk)),
            _ => break,
        }
    }
    assert!(
        seen.contains("event: log") && seen.contains("ran 2"),
        "{seen}"
    );
    assert!(!seen.contains("ran 1"), "{seen}");
}
