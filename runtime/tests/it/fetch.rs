//! `fetch` against a server on 127.0.0.1 run by the test, and the refusal of private addresses.

use super::{request, run, runtime};
use actionflow_runtime::{Limits, PoolConfig, Status};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use std::net::SocketAddr;

pub(crate) async fn server() -> SocketAddr {
    let app = Router::new()
        .route(
            "/json",
            get(|| async { axum::Json(json!({"name": "ada", "roles": ["admin"]})) }),
        )
        .route(
            "/echo",
            post(|headers: axum::http::HeaderMap, body: String| async move {
                let ct = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                (
                    axum::http::StatusCode::CREATED,
                    [("x-echo", "yes")],
                    format!("{ct}|{auth}|{body}"),
                )
            }),
        )
        .route(
            "/missing",
            get(|| async { (axum::http::StatusCode::NOT_FOUND, "nope") }),
        )
        .route(
            "/redirect",
            get(|| async { axum::response::Redirect::temporary("/json") }),
        )
        .route("/slack", post(|| async { "ok" }))
        .route(
            "/to",
            get(
                |axum::extract::Query(q): axum::extract::Query<
                    std::collections::HashMap<String, String>,
                >| async move {
                    axum::response::Redirect::temporary(
                        q.get("url").map_or("/json", |u| u.as_str()),
                    )
                },
            ),
        )
        // As Auth0's Management API answers (the auth0 SDK's tests in npm.rs).
        .route(
            "/api/v2/users/{id}",
            get(management_user).patch(management_user),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(std::time::Duration::from_secs(10)).await;
                "late"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn management_user(
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
    body: String,
) -> (axum::http::StatusCode, axum::Json<serde_json::Value>) {
    use axum::http::StatusCode;
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer mgmt-token") {
        let error = json!({"statusCode": 401, "error": "Unauthorized", "message": "Invalid token"});
        return (StatusCode::UNAUTHORIZED, axum::Json(error));
    }
    if id != "auth0|1" {
        let error = json!({"statusCode": 404, "error": "Not Found", "message": "The user does not exist.", "errorCode": "inexistent_user"});
        return (StatusCode::NOT_FOUND, axum::Json(error));
    }
    let mut user = json!({"user_id": id, "email": "ada@example.com", "app_metadata": {}});
    if let Ok(patch) = serde_json::from_str::<serde_json::Value>(&body) {
        user["app_metadata"] = patch["app_metadata"].clone();
    }
    (StatusCode::OK, axum::Json(user))
}

/// Runs a post-login `code` allowed to reach the test's server, whose URL is `event.base`.
async fn run_against(addr: SocketAddr, code: &str) -> actionflow_runtime::Outcome {
    let rt = runtime(PoolConfig {
        allow_private_network: true,
        ..PoolConfig::default()
    });
    let event = json!({"base": format!("http://{addr}")});
    run(&rt, request("t", "v", code, "post-login", event)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_reaches_a_local_server_when_allowed() {
    let addr = server().await;
    let code = r#"
exports.onExecutePostLogin = async (event, api) => {
  const base = event.base;
  const a = await fetch(`${base}/json`);
  const body = await a.json();
  console.log(a.status, a.ok, a.headers.get("content-type"), body.name, body.roles[0]);
  const b = await fetch(`${base}/echo`, {
    method: "POST", headers: { Authorization: "Bearer t0k", "Content-Type": "application/json" },
    body: JSON.stringify({ x: 1 }),
  });
  console.log(b.status, b.ok, b.headers.get("x-echo"), await b.text());
  const c = await fetch(new URL("/missing", base));
  console.log(c.status, c.ok, await c.text());
  const d = await fetch(`${base}/redirect`);
  console.log(d.status, d.redirected, d.url.endsWith("/json"));
  const e = await fetch(`${base}/redirect`, { redirect: "manual" });
  console.log(e.status, e.headers.get("location"));
  try { await fetch("ftp://example.com/x"); } catch (err) { console.log(err.constructor.name, err.message); }
};
"#;
    let outcome = run_against(addr, code).await;
    assert_eq!(outcome.status, Status::Completed, "{outcome:#?}");
    let logs: Vec<&str> = outcome.logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(
        logs,
        [
            "200 true application/json ada admin",
            "201 true yes application/json|Bearer t0k|{\"x\":1}",
            "404 false nope",
            "200 true true",
            "307 /json",
            "TypeError fetch failed: only http: and https: URLs are supported, got ftp",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_addresses_are_refused_by_default() {
    let addr = server().await;
    let code = r#"
exports.onExecutePostLogin = async (event) => {
  for (const url of [`http://${event.addr}/json`, `http://localhost:${event.port}/json`, "http://169.254.169.254/latest/meta-data", "http://[::1]/"]) {
    try { await fetch(url); console.log("reached", url); } catch (e) { console.log(e.message); }
  }
};
"#;
    let rt = runtime(PoolConfig::default());
    let event = json!({"addr": addr.to_string(), "port": addr.port()});
    let outcome = run(&rt, request("t", "v", code, "post-login", event)).await;
    let logs: Vec<&str> = outcome.logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(logs.len(), 4, "{logs:?}");
    for line in logs {
        assert!(
            line.contains("refused: loopback and private addresses are not reachable"),
            "{line}"
        );
    }
}

/// An endpoint the embedder vouches for (`Limits::private_urls`) is reached on loopback under the
/// default policy, with any query, without following its redirects; its neighbours are not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vouched_endpoint_is_reached_and_nothing_beside_it() {
    let addr = server().await;
    let code = r#"
exports.onExecutePostLogin = async (event) => {
  for (const url of [`${event.base}/json?x=1`, `${event.base}/redirect`, `${event.base}/echo`, `http://localhost:${event.port}/json`]) {
    try { const r = await fetch(url); console.log(r.status, url.replace(event.base, "")); } catch (e) { console.log(e.message.includes("refused"), url.replace(event.base, "")); }
  }
};
"#;
    let rt = runtime(PoolConfig::default());
    let event = json!({"base": format!("http://{addr}"), "port": addr.port()});
    let mut req = request("t", "v", code, "post-login", event);
    req.limits.private_urls = vec![
        format!("http://{addr}/json"),
        format!("http://{addr}/redirect"),
    ];
    let outcome = run(&rt, req).await;
    let logs: Vec<&str> = outcome.logs.iter().map(|l| l.message.as_str()).collect();
    let localhost = format!("true http://localhost:{}/json", addr.port());
    assert_eq!(
        logs,
        [
            "200 /json?x=1",
            "307 /redirect",
            "true /echo",
            localhost.as_str()
        ],
        "{outcome:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_bounded_by_the_remaining_time() {
    let addr = server().await;
    let code = r#"
exports.onExecutePostLogin = async (event) => {
  try { await fetch(`${event.base}/slow`); } catch (e) { console.log(e.message); }
};
"#;
    let rt = runtime(PoolConfig {
        allow_private_network: true,
        ..PoolConfig::default()
    });
    let mut req = request(
        "t",
        "v",
        code,
        "post-login",
        json!({"base": format!("http://{addr}")}),
    );
    req.limits = Limits {
        wall_ms_max: 400,
        ..Limits::default()
    };
    let outcome = run(&rt, req).await;
    assert!(
        outcome.duration_ms < 1400.0,
        "took {} ms",
        outcome.duration_ms
    );
    assert_ne!(outcome.status, Status::Completed, "{outcome:?}");
}

/// The standard classes packages use with `fetch` (the auth0 v4 SDK checks `body instanceof FormData`
/// and `Blob`, OAuth clients post `URLSearchParams`, SDKs time out with an `AbortController`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_takes_the_standard_bodies_requests_and_signals() {
    let addr = server().await;
    let code = r#"
exports.onExecutePostLogin = async (event) => {
  const base = event.base;
  const echo = async (init) => (await (await fetch(`${base}/echo`, { method: "POST", ...init })).text());
  console.log(await echo({ body: new URLSearchParams({ grant_type: "client_credentials", scope: "a b" }) }));
  console.log(await echo({ body: new Blob(["blob ", "body"], { type: "text/x-blob" }) }));
  const form = new FormData();
  form.append("users", new File(['{"email":"a@b.c"}'], "users.json", { type: "application/json" }));
  form.append("connection_id", "con_1");
  const multipart = await echo({ body: form });
  console.log(multipart.startsWith("multipart/form-data; boundary="), multipart.includes('name="users"; filename="users.json"'), multipart.includes("con_1"));
  const chunks = new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode("streamed ")); c.enqueue(new TextEncoder().encode("body")); c.close(); } });
  console.log(await echo({ body: chunks, headers: { "content-type": "text/plain" } }));
  const request = new Request(`${base}/echo`, { method: "POST", body: "from a Request", headers: { authorization: "Bearer r" } });
  const viaRequest = await fetch(request);
  console.log(viaRequest instanceof Response, await viaRequest.text());
  const json = await fetch(`${base}/json`);
  const reader = json.body.getReader();
  let text = "";
  for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
  console.log(JSON.parse(text).name, json.bodyUsed, json.headers instanceof Headers);
  const started = Date.now();
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  try { await fetch(`${base}/slow`, { signal: controller.signal }); } catch (e) { console.log(e.name, Date.now() - started < 5000); }
  try { await fetch(`${base}/json`, { signal: AbortSignal.abort() }); } catch (e) { console.log(e.name, e instanceof DOMException); }
  console.log((await fetch(`${base}/redirect`)).redirected, (await fetch(`${base}/json`)).redirected);
};
"#;
    let started = std::time::Instant::now();
    let outcome = run_against(addr, code).await;
    assert_eq!(outcome.status, Status::Completed, "{outcome:#?}");
    let logs: Vec<&str> = outcome.logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(
        logs,
        [
            "application/x-www-form-urlencoded;charset=UTF-8||grant_type=client_credentials&scope=a+b",
            "text/x-blob||blob body",
            "true true true",
            "text/plain||streamed body",
            "true text/plain;charset=UTF-8|Bearer r|from a Request",
            "ada true true",
            "AbortError true",
            "AbortError true",
            "true false",
        ]
    );
    // The aborted request to /slow (10 s) does not hold the execution.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

/// Restricting after the execution already reached the network is refused, and the load with it:
/// an ES module's imports (a dependency's top-level code) run before the body that restricts, and
/// a request made there must not have escaped quietly. Restricting first, then fetching, works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restricting_after_a_request_or_a_socket_fails_the_load() {
    let addr = server().await;
    let port = addr.port();
    let rt = runtime(PoolConfig {
        allow_private_network: true,
        ..PoolConfig::default()
    });
    let fetched = format!(
        "fetch('http://127.0.0.1:{port}/json').catch(() => {{}});\n\
         require('actionflow:network').restrict(['127.0.0.1']);\n\
         exports.onExecutePostLogin = async () => {{}};\n"
    );
    let socket = format!(
        "require('net').connect({port}, '127.0.0.1').on('error', () => {{}});\n\
         require('actionflow:network').restrict(['127.0.0.1']);\n\
         exports.onExecutePostLogin = async () => {{}};\n"
    );
    for (version, code) in [("fetched", fetched), ("socket", socket)] {
        let outcome = run(&rt, request("t", version, &code, "post-login", json!({}))).await;
        assert_eq!(
            outcome.status,
            Status::InvalidCode,
            "{version}: {outcome:#?}"
        );
        let error = outcome.error.expect("an error");
        assert!(
            error.message.contains("already reached the network"),
            "{version}: {error:?}"
        );
    }
    let first = format!(
        "require('actionflow:network').restrict(['127.0.0.1']);\n\
         const early = fetch('http://127.0.0.1:{port}/json').then((r) => r.status);\n\
         exports.onExecutePostLogin = async (event, api) => {{\n\
           api.accessToken.setCustomClaim('early', await early);\n\
         }};\n"
    );
    let outcome = run(&rt, request("t", "first", &first, "post-login", json!({}))).await;
    assert_eq!(outcome.status, Status::Completed, "{outcome:#?}");
}

/// `actionflow:network`: code that narrowed its network (as an installed integration's wrapper does
/// with its `network.hosts`) reaches those hosts only, through `fetch`, its redirects and Node's
/// sockets alike, for the rest of the isolate's life; it cannot widen them again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restricted_code_reaches_its_hosts_only() {
    let addr = server().await;
    let code = r#"
require("actionflow:network").restrict(["127.0.0.1"]);
const http = require("http");
const get = (url) => new Promise((resolve) => {
  http.get(url, (res) => { res.resume(); res.on("end", () => resolve(`http ${res.statusCode}`)); })
    .on("error", (e) => resolve(`http refused: ${e.message}`));
});
exports.onExecutePostLogin = async (event) => {
  const port = event.port;
  const ok = await fetch(`http://127.0.0.1:${port}/json`);
  console.log("listed", ok.status);
  try { await fetch(`http://localhost:${port}/json`); } catch (e) { console.log(e.message); }
  const same = await fetch(`http://127.0.0.1:${port}/redirect`);
  console.log("redirect on the host", same.status, same.redirected);
  const away = `http://127.0.0.1:${port}/to?url=${encodeURIComponent(`http://localhost:${port}/json`)}`;
  try { await fetch(away); } catch (e) { console.log(e.message); }
  const manual = await fetch(away, { redirect: "manual" });
  console.log("manual", manual.status);
  console.log(await get(`http://127.0.0.1:${port}/json`));
  console.log(await get(`http://localhost:${port}/json`));
  try { require("actionflow:network").restrict(["127.0.0.1", "example.com"]); } catch (e) { console.log(e.message); }
  require("actionflow:network").restrict(["127.0.0.1"]);
};
"#;
    let rt = runtime(PoolConfig {
        allow_private_network: true,
        ..PoolConfig::default()
    });
    let port = addr.port();
    for run_number in 0..2 {
        let outcome = run(
            &rt,
            request("t", "v", code, "post-login", json!({ "port": port })),
        )
        .await;
        assert_eq!(outcome.status, Status::Completed, "{outcome:#?}");
        let logs: Vec<&str> = outcome.logs.iter().map(|l| l.message.as_str()).collect();
        let refused = "refused: not one of the hosts this code may reach (127.0.0.1)";
        assert_eq!(logs.len(), 8, "run {run_number}: {logs:?}");
        assert_eq!(logs[0], "listed 200");
        assert!(
            logs[1].starts_with("fetch to localhost ") && logs[1].ends_with(refused),
            "{logs:?}"
        );
        assert_eq!(logs[2], "redirect on the host 200 true");
        assert!(
            logs[3].starts_with("fetch to localhost ") && logs[3].ends_with(refused),
            "{logs:?}"
        );
        assert_eq!(logs[4], "manual 307");
        assert_eq!(logs[5], "http 200");
        assert!(
            logs[6].starts_with("http refused: ") && logs[6].contains("localhost"),
            "{logs:?}"
        );
        assert_eq!(
            logs[7],
            "network.restrict: this code's network is already restricted to other hosts"
        );
    }
}
