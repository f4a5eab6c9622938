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
            "/api/v2/users/{id}",
            get(
                |axum::extract::Path(id): axum::extract::Path<String>,
                 headers: axum::http::HeaderMap| async move {
                    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok());
                    if bearer != Some("Bearer mgmt-token") {
                        return Err(axum::http::StatusCode::UNAUTHORIZED);
                    }
                    Ok(axum::Json(
                        json!({"user_id": id, "email": "ada@example.com"}),
                    ))
                },
            ),
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
    let rt = runtime(PoolConfig {
        allow_private_network: true,
        ..PoolConfig::default()
    });
    let outcome = run(
        &rt,
        request(
            "t",
            "v",
            code,
            "post-login",
            json!({"base": format!("http://{addr}")}),
        ),
    )
    .await;
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
