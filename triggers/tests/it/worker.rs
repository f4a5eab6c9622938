//! Async delivery through real workers and the real runtime: retries with backoff, dead letter and
//! re-drive, idempotent dispatch, lease expiry, graceful shutdown, and two workers on one database
//! sharing the queue with every job run exactly once.

use std::time::Duration;

use actionflow_store::{Execution, ExecutionStatus};
use actionflow_triggers::{
    bindings, retention, Backoff, DispatchSettings, Dispatched, Dispatcher, Worker, WorkerSettings,
};
use serde_json::json;
use tokio::sync::watch;

use crate::harness::{by_id, deployed, dispatcher, tenant, Shared};
use crate::hook::{action_code, Hook};

on_both_backends!(
    flaky_then_final,
    dead_then_retry,
    idempotent_dispatch,
    expired_lease_and_shutdown
);

pub fn settings(worker_id: &str) -> WorkerSettings {
    WorkerSettings {
        worker_id: worker_id.to_owned(),
        jobs_in_flight_max: 8,
        lease: Duration::from_secs(3),
        poll_interval: Duration::from_millis(50),
        backoff: Backoff {
            base_ms: 20,
            max_ms: 100,
        },
        shutdown_grace: Duration::from_secs(10),
    }
}

/// Starts a worker; send `true` on the returned sender to stop it.
pub fn start(
    d: &Dispatcher,
    worker_id: &str,
) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = watch::channel(false);
    let worker = Worker::new(d.clone(), settings(worker_id));
    (stop, tokio::spawn(worker.run(stopped)))
}

/// Binds a hook-calling action to post-user-registration and returns a dispatcher over it.
pub async fn setup(store: &Shared, t: &str, fail_before: u32, attempts_max: u32) -> Dispatcher {
    let code = action_code(fail_before);
    let a = deployed(store, t, "notify", &["post-user-registration"], &code).await;
    bindings::set(
        store.as_ref(),
        t,
        "post-user-registration",
        &[by_id(&a)],
        20,
    )
    .await
    .unwrap();
    dispatcher(
        store,
        DispatchSettings {
            flow_ms_max: 5_000,
            attempts_max,
        },
    )
}

pub async fn enqueue(
    d: &Dispatcher,
    t: &str,
    hook: &Hook,
    key: Option<&str>,
    id: Option<&str>,
) -> Execution {
    let mut event = json!({"user": {"user_id": "auth0|1"}, "hook": hook.url});
    if let Some(id) = id {
        event["id"] = json!(id);
    }
    let key = key.map(str::to_owned);
    match d
        .dispatch(t, "post-user-registration", event, key)
        .await
        .unwrap()
    {
        Dispatched::Async(inserted) => inserted.execution,
        Dispatched::Sync { .. } => panic!("post-user-registration is async"),
    }
}

/// Polls the execution until it reaches `status` (at most 20 s).
pub async fn wait_for(store: &Shared, t: &str, id: &str, status: ExecutionStatus) -> Execution {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let execution = store.get_execution(t, id).await.unwrap();
        if execution.status == status {
            return execution;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still {:?}: {execution:#?}",
            execution.status
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn flaky_then_final(store: Shared) {
    let t = tenant(&store).await;
    let hook = Hook::start().await;
    let d = setup(&store, &t, 3, 5).await;
    let (stop, worker) = start(&d, "w1");
    let queued = enqueue(&d, &t, &hook, None, None).await;
    assert_eq!(
        (queued.status, queued.attempts),
        (ExecutionStatus::Pending, 0)
    );
    let done = wait_for(&store, &t, &queued.id, ExecutionStatus::Final).await;
    assert_eq!(done.attempts, 3);
    assert_eq!(hook.succeeded(&queued.id), [3]);
    assert_eq!(
        done.last_error.as_deref(),
        Some("action `notify` threw: Error: flaky on attempt 2")
    );
    assert_eq!(done.results.len(), 1);
    assert_eq!(done.results[0]["status"], "completed");
    assert_eq!(done.results[0]["logs"][0]["message"], "attempt 3");
    assert_eq!(done.results[0]["version"], 1);
    stop.send(true).unwrap();
    worker.await.unwrap();
}

async fn dead_then_retry(store: Shared) {
    let t = tenant(&store).await;
    let hook = Hook::start().await;
    hook.set_down(true);
    let d = setup(&store, &t, 0, 2).await;
    let (stop, worker) = start(&d, "w1");
    let queued = enqueue(&d, &t, &hook, None, None).await;
    let dead = wait_for(&store, &t, &queued.id, ExecutionStatus::Dead).await;
    assert_eq!(dead.attempts, 2);
    assert_eq!(
        dead.last_error.as_deref(),
        Some("action `notify` threw: Error: hook answered 503")
    );
    assert_eq!(dead.results[0]["status"], "threw");
    assert_eq!(hook.failed_count(), 2);
    // Dead stays dead: nothing retries it behind the operator's back.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        store.get_execution(&t, &queued.id).await.unwrap().attempts,
        2
    );

    // A re-drive numbers its attempts on from the last one, with a fresh budget of two.
    let retried = d.retry(&t, &queued.id).await.unwrap();
    assert_eq!(
        (retried.status, retried.attempts, retried.max_attempts),
        (ExecutionStatus::Pending, 2, 4)
    );
    let dead = wait_for(&store, &t, &queued.id, ExecutionStatus::Dead).await;
    assert_eq!((dead.attempts, hook.failed_count()), (4, 4));
    hook.set_down(false);
    d.retry(&t, &queued.id).await.unwrap();
    let done = wait_for(&store, &t, &queued.id, ExecutionStatus::Final).await;
    assert_eq!(done.attempts, 5);
    assert_eq!(hook.succeeded(&queued.id), [5]);
    assert_eq!(done.results[0]["logs"][0]["message"], "attempt 5");
    stop.send(true).unwrap();
    worker.await.unwrap();
}

async fn idempotent_dispatch(store: Shared) {
    let t = tenant(&store).await;
    let hook = Hook::start().await;
    let d = setup(&store, &t, 0, 3).await;
    let first = enqueue(&d, &t, &hook, Some("signup-1"), None).await;
    let again = enqueue(&d, &t, &hook, Some("signup-1"), Some("evt-1")).await;
    assert_eq!(first.id, again.id);
    let by_event = enqueue(&d, &t, &hook, None, Some("evt-1")).await;
    let by_event_again = enqueue(&d, &t, &hook, None, Some("evt-1")).await;
    assert_eq!(by_event.id, by_event_again.id);
    assert_ne!(by_event.id, first.id);
    // A header equal to an event's id is a key of its own.
    let by_header = enqueue(&d, &t, &hook, Some("evt-1"), None).await;
    assert_ne!(by_header.id, by_event.id);
    assert_eq!(by_header.idempotency_key.as_deref(), Some("header:evt-1"));
    assert_eq!(by_event.idempotency_key.as_deref(), Some("event.id:evt-1"));
    let unkeyed = enqueue(&d, &t, &hook, None, None).await;
    let (stop, worker) = start(&d, "w1");
    for id in [&first.id, &by_event.id, &by_header.id, &unkeyed.id] {
        wait_for(&store, &t, id, ExecutionStatus::Final).await;
        assert_eq!(hook.succeeded(id), [1]);
    }
    // A dispatch repeated after the run still answers with the same (now final) execution.
    let late = enqueue(&d, &t, &hook, Some("signup-1"), None).await;
    assert_eq!(
        (late.id.as_str(), late.status),
        (first.id.as_str(), ExecutionStatus::Final)
    );
    assert_eq!(hook.succeeded_total(), 4);
    stop.send(true).unwrap();
    worker.await.unwrap();

    // Retention purges finished executions only.
    let key = "x".repeat(300);
    let error = d
        .dispatch(
            &t,
            "post-user-registration",
            json!({"user": {"user_id": "u"}}),
            Some(key),
        )
        .await
        .unwrap_err();
    assert_eq!(error.field(), Some("Idempotency-Key"));
    assert_eq!(
        retention::purge_once(store.as_ref(), Duration::from_secs(3600))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        retention::purge_once(store.as_ref(), Duration::ZERO)
            .await
            .unwrap(),
        4
    );
}

async fn expired_lease_and_shutdown(store: Shared) {
    let t = tenant(&store).await;
    let hook = Hook::start().await;
    let d = setup(&store, &t, 0, 3).await;
    let queued = enqueue(&d, &t, &hook, None, None).await;
    // A process claims the job and dies: its lease runs out and a live worker takes the job over.
    let ghost = store
        .claim_due("ghost", 10, Duration::from_millis(300))
        .await
        .unwrap();
    assert_eq!(ghost.len(), 1);
    let (stop, worker) = start(&d, "w1");
    let done = wait_for(&store, &t, &queued.id, ExecutionStatus::Final).await;
    assert_eq!(done.attempts, 2);
    assert_eq!(hook.succeeded(&queued.id), [2]);

    // Graceful shutdown waits for the attempt in flight.
    let slow = deployed(&store, &t, "slow", &["post-user-registration"],
        "exports.onExecutePostUserRegistration = async (event) => {
            await new Promise((resolve) => setTimeout(resolve, 400));
            await fetch(event.hook + '?id=' + event.execution.id + '&attempt=1', { method: 'POST' });
        };").await;
    bindings::set(
        store.as_ref(),
        &t,
        "post-user-registration",
        &[by_id(&slow)],
        20,
    )
    .await
    .unwrap();
    let queued = enqueue(&d, &t, &hook, None, None).await;
    wait_for(&store, &t, &queued.id, ExecutionStatus::Running).await;
    stop.send(true).unwrap();
    worker.await.unwrap();
    let done = store.get_execution(&t, &queued.id).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Final);
    assert_eq!(hook.succeeded(&queued.id), [1]);
}
