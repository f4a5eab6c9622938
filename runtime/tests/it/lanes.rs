//! Executions waiting for a running place: a busy isolate takes its lane's queued executions without
//! new isolates, a caller that went away is skipped, and one busy action cannot starve another.

use super::{request, run, runtime};
use actionflow_runtime::{PoolConfig, Status};
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const QUICK: &str = "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('n', event.n); };";

fn one_place() -> PoolConfig {
    PoolConfig {
        concurrency_max: 1,
        ..PoolConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_executions_are_served_by_the_busy_isolate() {
    let rt = runtime(one_place());
    let mut tasks = Vec::new();
    for n in 0..200 {
        let rt = rt.clone();
        let req = request("t", "v1", QUICK, "post-login", json!({ "n": n }));
        tasks.push(tokio::spawn(async move { rt.execute(req).await.unwrap() }));
    }
    for (n, task) in tasks.into_iter().enumerate() {
        let outcome = task.await.unwrap();
        assert_eq!(outcome.status, Status::Completed, "{outcome:?}");
        assert_eq!(
            outcome.api_calls[0].args[1],
            json!(n),
            "each caller gets its own outcome"
        );
    }
    // One place, one lane: every execution ran in the one isolate, none waited for a new one.
    assert_eq!((rt.stats().isolates, rt.stats().idle), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_execution_whose_caller_went_away_never_runs() {
    const COUNTED: &str = r#"
exports.onExecutePostLogin = async (event, api) => {
  const runs = Number(api.cache.get("runs")?.value ?? 0) + 1;
  api.cache.set("runs", String(runs));
  if (event.slow) await new Promise((r) => setTimeout(r, 300));
  api.idToken.setCustomClaim("runs", runs);
};
"#;
    let rt = runtime(one_place());
    let slow = {
        let rt = rt.clone();
        let req = request("t", "v1", COUNTED, "post-login", json!({ "slow": true }));
        tokio::spawn(async move { rt.execute(req).await.unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Queued behind the slow one (the only place is taken), then abandoned.
    let abandoned = rt.execute(request("t", "v1", COUNTED, "post-login", json!({})));
    assert!(tokio::time::timeout(Duration::from_millis(20), abandoned)
        .await
        .is_err());
    assert_eq!(slow.await.unwrap().status, Status::Completed);
    let last = run(&rt, request("t", "v1", COUNTED, "post-login", json!({}))).await;
    assert_eq!(
        last.api_calls[0].args[1],
        json!(2),
        "the abandoned execution ran"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_action_does_not_starve_another() {
    const BUSY_CALLERS: usize = 16;
    let rt = runtime(one_place());
    let (stop, busy_done) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
    );
    let mut busy = Vec::new();
    for _ in 0..BUSY_CALLERS {
        let (rt, stop, busy_done) = (rt.clone(), stop.clone(), busy_done.clone());
        busy.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let req = request("busy", "v1", QUICK, "post-login", json!({ "n": 0 }));
                assert_eq!(rt.execute(req).await.unwrap().status, Status::Completed);
                busy_done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    while busy_done.load(Ordering::Relaxed) < 50 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let before = busy_done.load(Ordering::Relaxed);
    let other = run(
        &rt,
        request("other", "v1", QUICK, "post-login", json!({ "n": 1 })),
    )
    .await;
    let overtaken = busy_done.load(Ordering::Relaxed) - before;
    stop.store(true, Ordering::Relaxed);
    for task in busy {
        task.await.unwrap();
    }
    assert_eq!(other.status, Status::Completed);
    // Busy callers ahead of it, each letting its isolate run a bounded streak at most.
    assert!(
        overtaken < BUSY_CALLERS * 40,
        "{overtaken} busy executions ran while the other action waited"
    );
}
