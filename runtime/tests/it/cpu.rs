//! CPU time against wall time at the pool level: a looping execution is stopped at its CPU limit
//! soon after it passes it, whatever else the watchdog is waiting for.

use super::{request, run, runtime};
use actionflow_runtime::{Limits, PoolConfig, Status};
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loop_is_stopped_at_its_cpu_limit_while_another_execution_waits() {
    let rt = runtime(PoolConfig::default());
    // Armed first, with no CPU bound and the earlier deadline: the watchdog could sleep until it.
    let waits = "exports.onExecutePostLogin = async () => { await new Promise((r) => setTimeout(r, 1500)); };";
    let mut waiting = request("t1", "v1", waits, "post-login", json!({}));
    waiting.limits = Limits {
        wall_ms_max: 2_000,
        cpu_ms_max: 0,
        ..Limits::default()
    };
    let waiting = tokio::spawn({
        let rt = rt.clone();
        async move { rt.execute(waiting).await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let spin = "exports.onExecutePostLogin = async () => { for (;;) {} };";
    let mut looping = request("t2", "v1", spin, "post-login", json!({}));
    looping.limits = Limits {
        wall_ms_max: 10_000,
        cpu_ms_max: 200,
        ..Limits::default()
    };
    let stopped = run(&rt, looping).await;
    assert_eq!(stopped.status, Status::CpuLimit, "{stopped:?}");
    assert!(stopped.duration_ms < 1_000.0, "{stopped:?}");
    assert_eq!(waiting.await.unwrap().status, Status::Completed);
}
