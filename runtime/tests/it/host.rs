//! Host modules: an embedder's `actionflow:*` module reached from CommonJS and ESM, its errors with
//! their names, un-awaited calls drained before the execution ends, and calls bounded by the deadline.

use super::{request, run};
use actionflow_runtime::{
    HostCallContext, HostError, HostFuture, HostModule, Limits, PoolConfig, Runtime, Status,
};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Default)]
struct Echo {
    calls: AtomicUsize,
}

impl HostModule for Echo {
    fn name(&self) -> &'static str {
        "actionflow:echo"
    }
    fn source(&self) -> &'static str {
        "exports.echo = (x) => call('echo', x); exports.fail = () => call('fail'); exports.slow = () => call('slow');"
    }
    fn exports(&self) -> &'static [&'static str] {
        &["echo", "fail", "slow"]
    }
    fn call(&self, method: &str, args: Value, _context: HostCallContext) -> HostFuture {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let method = method.to_owned();
        Box::pin(async move {
            match method.as_str() {
                "echo" => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok(json!({ "echoed": args }))
                }
                "slow" => {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    Ok(Value::Null)
                }
                _ => Err(HostError::new(
                    "MessageRejected",
                    "Email address is not verified",
                )),
            }
        })
    }
}

fn runtime_with_echo() -> (Runtime, Arc<Echo>) {
    let echo = Arc::new(Echo::default());
    let rt = Runtime::with_host_modules(PoolConfig::default(), vec![echo.clone()]).unwrap();
    (rt, echo)
}

#[tokio::test]
async fn commonjs_and_esm_reach_the_host_module() {
    let (rt, _) = runtime_with_echo();
    let cjs = r#"const echo = require("actionflow:echo");
exports.onExecutePostLogin = async (event, api) => {
  const r = await echo.echo({ n: 1 });
  api.idToken.setCustomClaim("r", r);
  try { await echo.fail(); } catch (e) { console.log(`${e.name}: ${e.message}`, e instanceof Error); }
};"#;
    let outcome = run(&rt, request("t", "cjs", cjs, "post-login", json!({}))).await;
    assert_eq!(outcome.status, Status::Completed, "{outcome:?}");
    assert_eq!(outcome.api_calls[0].args[1], json!({"echoed": {"n": 1}}));
    assert_eq!(
        outcome.logs[0].message,
        "MessageRejected: Email address is not verified true"
    );
    let esm = r#"import echoModule, { echo } from "actionflow:echo";
export async function onExecutePostLogin(event, api) {
  api.idToken.setCustomClaim("same", echoModule.echo === echo);
  api.idToken.setCustomClaim("r", await echo("esm"));
}"#;
    let outcome = run(&rt, request("t", "esm", esm, "post-login", json!({}))).await;
    assert_eq!(outcome.status, Status::Completed, "{outcome:?}");
    assert_eq!(outcome.api_calls[0].args[1], json!(true));
    assert_eq!(outcome.api_calls[1].args[1], json!({"echoed": "esm"}));
}

#[tokio::test]
async fn an_unawaited_call_finishes_before_the_execution_ends() {
    let (rt, echo) = runtime_with_echo();
    let code = r#"const { echo } = require("actionflow:echo");
exports.onExecutePostUserRegistration = async () => {
  echo("fire and forget").then((r) => console.log("sent", JSON.stringify(r)));
};"#;
    let outcome = run(
        &rt,
        request("t", "v", code, "post-user-registration", json!({})),
    )
    .await;
    assert_eq!(outcome.status, Status::Completed);
    assert_eq!(echo.calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        outcome.logs[0].message,
        r#"sent {"echoed":"fire and forget"}"#
    );
}

#[tokio::test]
async fn a_host_call_is_bounded_by_the_time_limit() {
    let (rt, _) = runtime_with_echo();
    let code = r#"const { slow } = require("actionflow:echo");
exports.onExecutePostLogin = async () => {
  try { await slow(); } catch (e) { console.log(`${e.name}: ${e.message}`); throw e; }
};"#;
    let mut req = request("t", "v", code, "post-login", json!({}));
    req.limits = Limits {
        wall_ms_max: 300,
        ..Limits::default()
    };
    let outcome = run(&rt, req).await;
    assert!(outcome.duration_ms < 1300.0, "{outcome:?}");
    assert_ne!(outcome.status, Status::Completed);
}

#[tokio::test]
async fn unknown_host_modules_are_not_available() {
    let (rt, _) = runtime_with_echo();
    let code = r#"exports.onExecutePostLogin = async () => { require("actionflow:nope"); };"#;
    let outcome = run(&rt, request("t", "v", code, "post-login", json!({}))).await;
    assert_eq!(
        outcome.error.unwrap().message,
        "module 'actionflow:nope' is not available in actions"
    );
}
