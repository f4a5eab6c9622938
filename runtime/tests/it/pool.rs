//! The pool: warm reuse, isolation between tenants and versions, recovery after a terminated isolate,
//! eviction, and `api.cache` scoping.

use super::{request, run, runtime};
use actionflow_runtime::{Event, Limits, PoolConfig, Status};
use serde_json::json;

const COUNTER: &str = r#"
let executions = 0;
exports.onExecutePostLogin = async (event, api) => {
  executions += 1;
  api.idToken.setCustomClaim("executions", executions);
};
"#;

fn claim(outcome: &actionflow_runtime::Outcome) -> serde_json::Value {
    outcome.api_calls[0].args[1].clone()
}

#[tokio::test]
async fn a_version_is_loaded_once_and_reused_warm() {
    let rt = runtime(PoolConfig::default());
    let first = run(&rt, request("t1", "v1", COUNTER, "post-login", json!({}))).await;
    let second = run(&rt, request("t1", "v1", COUNTER, "post-login", json!({}))).await;
    assert!(first.cold_start && !second.cold_start);
    assert_eq!((claim(&first), claim(&second)), (json!(1), json!(2)));
    // Another version, and the same version of another tenant, get isolates of their own.
    let other_version = run(&rt, request("t1", "v2", COUNTER, "post-login", json!({}))).await;
    let other_tenant = run(&rt, request("t2", "v1", COUNTER, "post-login", json!({}))).await;
    assert_eq!(
        (claim(&other_version), claim(&other_tenant)),
        (json!(1), json!(1))
    );
    assert_eq!(rt.stats().isolates, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn globals_never_cross_tenants_under_concurrency() {
    const CODE: &str = r#"
exports.onExecutePostLogin = async (event, api) => {
  const seen = globalThis.owner;
  globalThis.owner = event.tenant;
  await new Promise((r) => setTimeout(r, 0));
  api.idToken.setCustomClaim("seen", seen === undefined ? event.tenant : seen);
};
"#;
    let rt = runtime(PoolConfig::default());
    let mut tasks = Vec::new();
    for i in 0..1000 {
        let tenant = if i % 2 == 0 { "tenant-a" } else { "tenant-b" };
        let rt = rt.clone();
        // Same version id and code for both tenants: only the tenant separates them.
        let req = request(
            tenant,
            "same-version",
            CODE,
            "post-login",
            json!({ "tenant": tenant }),
        );
        tasks.push(tokio::spawn(async move {
            (tenant, rt.execute(req).await.unwrap())
        }));
    }
    for task in tasks {
        let (tenant, outcome) = task.await.unwrap();
        assert_eq!(outcome.status, Status::Completed, "{outcome:?}");
        assert_eq!(
            claim(&outcome),
            json!(tenant),
            "a {tenant} execution saw another tenant's global"
        );
    }
}

#[tokio::test]
async fn the_pool_keeps_serving_after_out_of_memory_and_timeouts() {
    let rt = runtime(PoolConfig::default());
    let bomb = "exports.onExecutePostLogin = async () => { const a = []; while (true) a.push(new Array(1e5).fill(1)); };";
    let mut req = request("t", "bomb", bomb, "post-login", json!({}));
    req.limits = Limits {
        heap_bytes_max: 24 * 1024 * 1024,
        ..Limits::default()
    };
    assert_eq!(run(&rt, req).await.status, Status::OutOfMemory);
    let spin = "exports.onExecutePostLogin = async () => { for (;;) {} };";
    let mut req = request("t", "spin", spin, "post-login", json!({}));
    req.limits = Limits {
        wall_ms_max: 200,
        ..Limits::default()
    };
    assert_eq!(run(&rt, req).await.status, Status::TimedOut);
    // Terminated isolates were discarded, not kept warm.
    assert_eq!(rt.stats().isolates, 0);
    let ok = run(&rt, request("t", "c", COUNTER, "post-login", json!({}))).await;
    assert_eq!(ok.status, Status::Completed);
}

/// Work left running that threw (logged; the execution keeps the handler's answer) leaves the
/// isolate in a state nobody chose: it is discarded, not kept warm.
#[tokio::test]
async fn an_isolate_whose_left_over_work_threw_is_discarded() {
    let rt = runtime(PoolConfig::default());
    let code = "let n = 0; exports.onExecutePostLogin = async () => { n++; if (n === 1) setTimeout(() => { throw new Error('x') }, 1); };";
    let threw_later = |o: &actionflow_runtime::Outcome| {
        o.logs
            .iter()
            .any(|l| l.message.contains("left running") && l.message.contains("Error: x"))
    };
    let first = run(&rt, request("t", "v", code, "post-login", json!({}))).await;
    assert_eq!(first.status, Status::Completed, "{first:?}");
    assert!(threw_later(&first), "{first:?}");
    let second = run(&rt, request("t", "v", code, "post-login", json!({}))).await;
    assert!(second.cold_start, "a fresh isolate after a failed one");
    assert!(
        threw_later(&second),
        "module state restarts with the new isolate: {second:?}"
    );
}

#[tokio::test]
async fn least_recently_used_isolates_are_evicted() {
    // Without spares: every cold start makes its own isolate.
    let rt = runtime(PoolConfig {
        warm_isolates_max: 2,
        spare_isolates: 0,
        ..PoolConfig::default()
    });
    for v in ["v1", "v2", "v3"] {
        run(&rt, request("t", v, COUNTER, "post-login", json!({}))).await;
    }
    assert_eq!(rt.stats().isolates, 2);
    // v1 was the least recently used: it was evicted and starts cold; v3 stays warm.
    assert!(
        !run(&rt, request("t", "v3", COUNTER, "post-login", json!({})))
            .await
            .cold_start
    );
    assert!(
        run(&rt, request("t", "v1", COUNTER, "post-login", json!({})))
            .await
            .cold_start
    );
}

#[tokio::test]
async fn the_memory_bound_evicts_too() {
    let rt = runtime(PoolConfig {
        warm_bytes_max: 1,
        ..PoolConfig::default()
    });
    run(&rt, request("t", "v1", COUNTER, "post-login", json!({}))).await;
    assert_eq!(
        rt.stats().idle,
        0,
        "an isolate above the memory bound is not kept"
    );
}

#[tokio::test]
async fn api_cache_is_shared_by_an_action_and_private_to_it() {
    const CODE: &str = r#"
exports.onExecutePostLogin = async (event, api) => {
  const hit = api.cache.get("token");
  if (!hit) api.cache.set("token", `minted-by-${event.version}`, { ttl: 60000 });
  api.idToken.setCustomClaim("token", hit ? hit.value : null);
};
"#;
    let rt = runtime(PoolConfig::default());
    let first = run(
        &rt,
        request("t", "v1", CODE, "post-login", json!({"version": "v1"})),
    )
    .await;
    // A new version of the same action sees the cache; another tenant's action does not.
    let second = run(
        &rt,
        request("t", "v2", CODE, "post-login", json!({"version": "v2"})),
    )
    .await;
    let other = run(
        &rt,
        request("u", "v1", CODE, "post-login", json!({"version": "v1"})),
    )
    .await;
    assert_eq!(claim(&first), json!(null));
    assert_eq!(claim(&second), json!("minted-by-v1"));
    assert_eq!(claim(&other), json!(null));
}

#[tokio::test]
async fn oversized_code_and_bad_requests_are_refused() {
    let rt = runtime(PoolConfig::default());
    let big = format!(
        "exports.onExecutePostLogin = async () => {{}}; // {}",
        "x".repeat(100 * 1024)
    );
    let outcome = run(&rt, request("t", "big", &big, "post-login", json!({}))).await;
    assert_eq!(outcome.status, Status::InvalidCode);
    assert!(outcome
        .error
        .unwrap()
        .message
        .contains("more than the limit of 102400 bytes"));
    let err = rt
        .execute(request("t", "v", COUNTER, "post-signup", json!({})))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("unknown trigger \"post-signup\""),
        "{err}"
    );
    let err = Event::new(&json!([1])).unwrap_err();
    assert!(err.to_string().contains("must be a JSON object"), "{err}");
}

#[tokio::test]
async fn check_loads_without_running_and_keeps_nothing() {
    let rt = runtime(PoolConfig::default());
    let ok = rt
        .check(request("t", "v", COUNTER, "post-login", json!({})))
        .await
        .unwrap();
    assert_eq!((ok.status, ok.api_calls.len()), (Status::Completed, 0));
    let broken = rt
        .check(request("t", "v", "exports.x = (;", "post-login", json!({})))
        .await
        .unwrap();
    assert_eq!(broken.status, Status::InvalidCode);
    assert_eq!(broken.error.unwrap().line, Some(1));
    assert_eq!(rt.stats().isolates, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_caller_keeps_its_place_until_the_execution_ends() {
    let rt = runtime(PoolConfig {
        concurrency_max: 1,
        ..PoolConfig::default()
    });
    let spin = "exports.onExecutePostLogin = async () => { for (;;) {} };";
    let mut req = request("t", "spin", spin, "post-login", json!({}));
    req.limits = Limits {
        wall_ms_max: 400,
        ..Limits::default()
    };
    // The caller gives up after 50 ms; the isolate keeps running until its own limit.
    let gave_up = tokio::time::timeout(std::time::Duration::from_millis(50), rt.execute(req)).await;
    assert!(gave_up.is_err());
    let start = std::time::Instant::now();
    let next = run(&rt, request("t", "c", COUNTER, "post-login", json!({}))).await;
    assert_eq!(next.status, Status::Completed);
    assert!(
        start.elapsed() >= std::time::Duration::from_millis(250),
        "the abandoned execution still held the only place: {:?}",
        start.elapsed()
    );
    assert_eq!(
        rt.stats().isolates,
        1,
        "only the warm counter isolate is live"
    );
}

#[test]
fn back_to_back_runs_on_one_warm_isolate_outside_the_pool() {
    let rt = runtime(PoolConfig::default());
    // One untimed execution loads the action, then the three timed ones reuse its isolate.
    let run = rt
        .back_to_back(request("t1", "v1", COUNTER, "post-login", json!({})), 3)
        .expect("back to back");
    assert_eq!((run.last.status, run.executions), (Status::Completed, 3));
    assert!(!run.last.cold_start);
    assert_eq!(claim(&run.last), json!(4));
    assert!(!run.took.is_zero());
    // Its isolate is not one of the pool's.
    assert_eq!(rt.stats().isolates, 0);
    // An isolate that cannot go on (here: out of time) ends the run early, saying so.
    let mut stuck = request(
        "t1",
        "v2",
        "let n = 0; exports.onExecutePostLogin = () => { if (++n === 3) while (true) {} };",
        "post-login",
        json!({}),
    );
    stuck.limits = Limits {
        wall_ms_max: 200,
        ..Limits::default()
    };
    let run = rt.back_to_back(stuck, 1_000).expect("back to back");
    assert_eq!((run.last.status, run.executions), (Status::TimedOut, 2));
}

#[tokio::test]
async fn work_left_by_a_version_without_the_handler_does_not_reach_a_later_execution() {
    // The module's top-level code arms a timer, and the module has no handler for post-login: each
    // execution ends as invalid code at once, and the timer must not log into a later one.
    const CODE: &str = r#"
setTimeout(() => console.log("left behind"), 20);
exports.onExecutePostUserRegistration = async () => {};
"#;
    let rt = runtime(PoolConfig::default());
    for _ in 0..2 {
        let outcome = run(&rt, request("t1", "v1", CODE, "post-login", json!({}))).await;
        assert_eq!(outcome.status, Status::InvalidCode);
        assert!(outcome.logs.is_empty(), "{:?}", outcome.logs);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
