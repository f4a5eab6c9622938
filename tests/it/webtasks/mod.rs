//! Webtasks end to end over HTTP: the programming models and their error mapping, the shared
//! secret example, compilers and middleware, storage conflicts, discovery, the Extend flow,
//! tenancy, the containers' live console, and cron on two nodes sharing one database.

mod cli;
mod console;
mod cron;
mod manage;
mod models;
mod storage;

use crate::support::{Db, Server};
use serde_json::{json, Value};

pub const SCOPES: &[&str] = &["webtasks:read", "webtasks:write"];

/// A server in the default network policy (no private addresses: extensions reach their storage
/// on loopback, where the test server listens, because the server vouches for that one URL).
pub async fn server(db: &Db) -> Server {
    Server::in_process(db, |s| {
        s.webtasks.cron.poll = std::time::Duration::from_millis(200);
    })
    .await
}

/// An answer of the run route: status, `x-wt-response-source`, content type, body text.
pub struct Answer {
    pub status: u16,
    pub source: String,
    pub content_type: String,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// Calls `/run/{path}` on the server's socket.
pub async fn run(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, String)>,
) -> Answer {
    let mut request = reqwest::Client::new().request(method, format!("{}/run/{path}", server.url));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    if let Some((content_type, body)) = body {
        request = request.header("content-type", content_type).body(body);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (status, source, content_type) = (
        response.status().as_u16(),
        header("x-wt-response-source"),
        header("content-type"),
    );
    Answer {
        status,
        source,
        content_type,
        body: response.text().await.unwrap(),
    }
}

/// Creates (or replaces) an extension; returns the response body.
pub async fn put(api: &crate::support::Api, container: &str, name: &str, body: Value) -> Value {
    let (status, answer) = api
        .put(&format!("/api/webtask/{container}/{name}"), body)
        .await;
    assert_eq!(status, 200, "{answer}");
    answer
}

pub fn code(code: &str) -> Value {
    json!({ "code": code })
}
