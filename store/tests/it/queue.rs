//! Executions and the durable queue: idempotency, leases, retries, dead letters, retention, and
//! concurrent workers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actionflow_store::{Error, ExecutionFilter, ExecutionStatus, NextAttempt, Outcome, Page};
use chrono::{TimeDelta, Utc};
use serde_json::json;

use crate::harness::{job, tenant, Shared};

const LEASE: Duration = Duration::from_secs(30);

/// Sleeps until `at` (on this host's clock, which is the database's too in these tests) has passed.
async fn sleep_past(at: chrono::DateTime<Utc>) {
    let left = (at - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(left + Duration::from_millis(50)).await;
}

async fn claim_then_fail_until_dead(store: Shared) {
    let t = tenant(&store, "acme").await.id;
    let id = store
        .insert_execution(&t, job(Some("k"), 2))
        .await
        .unwrap()
        .execution
        .id;
    let before = Utc::now();
    let claimed = store.claim_due("w1", 10, LEASE).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let c = &claimed[0];
    assert_eq!(
        (c.id.as_str(), c.status, c.attempts),
        (id.as_str(), ExecutionStatus::Running, 1)
    );
    assert_eq!(c.lease_owner.as_deref(), Some("w1"));
    assert!(c.lease_expires_at.unwrap() > before + TimeDelta::seconds(29));
    assert!(
        store.claim_due("w2", 10, LEASE).await.unwrap().is_empty(),
        "leased"
    );

    let results = vec![json!({"action": "action-1", "status": "error"})];
    let before = Utc::now();
    let retry = NextAttempt::After(Duration::from_millis(1500));
    let failed = store
        .fail_attempt(&id, "w1", "boom", &results, retry)
        .await
        .unwrap();
    assert_eq!(failed.status, ExecutionStatus::Pending);
    let due = failed.next_attempt_at;
    assert!(
        due >= before + TimeDelta::milliseconds(1499)
            && due <= Utc::now() + TimeDelta::milliseconds(1500),
        "{due} is not 1.5 s after {before}"
    );
    assert_eq!(
        (failed.last_error.as_deref(), failed.lease_owner),
        (Some("boom"), None)
    );
    assert_eq!(failed.results, results);
    assert!(
        store.claim_due("w1", 10, LEASE).await.unwrap().is_empty(),
        "not due yet"
    );
    sleep_past(due).await;
    let second = store.claim_due("w2", 10, LEASE).await.unwrap();
    assert_eq!(second[0].attempts, 2);
    let dead = store
        .fail_attempt(&id, "w2", "again", &[], NextAttempt::Dead)
        .await
        .unwrap();
    assert_eq!(
        (dead.status, dead.last_error.as_deref()),
        (ExecutionStatus::Dead, Some("again"))
    );
    assert!(
        store.claim_due("w1", 10, LEASE).await.unwrap().is_empty(),
        "dead"
    );
}

/// A re-drive keeps counting attempts and gives a fresh budget.
async fn retry_dead_then_complete(store: Shared) {
    let t = tenant(&store, "acme").await.id;
    let id = store
        .insert_execution(&t, job(None, 1))
        .await
        .unwrap()
        .execution
        .id;
    let refused = store.retry(&t, &id, 3).await;
    assert!(
        matches!(refused, Err(Error::Conflict { .. })),
        "pending is not retryable"
    );
    store.claim_due("w1", 10, LEASE).await.unwrap();
    store
        .fail_attempt(&id, "w1", "boom", &[], NextAttempt::Dead)
        .await
        .unwrap();

    let retried = store.retry(&t, &id, 3).await.unwrap();
    assert_eq!(
        (retried.status, retried.attempts, retried.max_attempts),
        (ExecutionStatus::Pending, 1, 4)
    );
    assert_eq!(retried.last_error.as_deref(), Some("boom"));
    let again = store.claim_due("w3", 10, LEASE).await.unwrap();
    assert_eq!((again.len(), again[0].attempts), (1, 2));
    let done = vec![json!({"action": "action-1", "status": "ok"})];
    let finished = store
        .complete(&id, "w3", Outcome::Final, &done)
        .await
        .unwrap();
    assert_eq!(
        (finished.status, &finished.results, finished.attempts),
        (ExecutionStatus::Final, &done, 2)
    );
    assert!(finished.lease_owner.is_none() && finished.lease_expires_at.is_none());
    assert_eq!(store.get_execution(&t, &id).await.unwrap(), finished);

    let twice = store.complete(&id, "w3", Outcome::Final, &[]).await;
    assert!(matches!(twice, Err(Error::Conflict { .. })), "{twice:?}");
    let unknown = store.complete("nope", "w3", Outcome::Final, &[]).await;
    assert!(
        matches!(unknown, Err(Error::NotFound { .. })),
        "{unknown:?}"
    );
}

async fn lease_expiry_and_stale_owner(store: Shared) {
    let t = tenant(&store, "acme").await.id;
    let id = store
        .insert_execution(&t, job(None, 3))
        .await
        .unwrap()
        .execution
        .id;
    store.claim_due("w1", 1, LEASE).await.unwrap();
    store
        .extend_lease(&id, "w1", 1, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(store.claim_due("w2", 1, LEASE).await.unwrap().is_empty());
    // Shortened to a moment, the lease runs out and another worker takes the job.
    store
        .extend_lease(&id, "w1", 1, Duration::from_millis(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let taken = store.claim_due("w2", 1, LEASE).await.unwrap();
    assert_eq!((taken.len(), taken[0].attempts), (1, 2));
    assert_eq!(taken[0].lease_owner.as_deref(), Some("w2"));

    let lost = |r: Result<_, Error>| matches!(r, Err(Error::Conflict { .. }));
    assert!(lost(
        store
            .complete(&id, "w1", Outcome::Final, &[])
            .await
            .map(drop)
    ));
    assert!(lost(
        store
            .fail_attempt(&id, "w1", "late", &[], NextAttempt::Dead)
            .await
            .map(drop)
    ));
    assert!(lost(store.extend_lease(&id, "w1", 1, LEASE).await));
    let done = store
        .complete(&id, "w2", Outcome::Partial, &[json!({"ok": false})])
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::Partial);

    // A job whose lease expires on its last allowed attempt is dead-lettered, not run again.
    let last = store
        .insert_execution(&t, job(None, 1))
        .await
        .unwrap()
        .execution
        .id;
    let short = Duration::from_millis(100);
    assert_eq!(store.claim_due("w1", 1, short).await.unwrap()[0].id, last);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(store.claim_due("w2", 1, LEASE).await.unwrap().is_empty());
    let dead = store.get_execution(&t, &last).await.unwrap();
    assert_eq!(
        (dead.status, dead.lease_owner),
        (ExecutionStatus::Dead, None)
    );
    assert!(dead.last_error.unwrap().contains("lease expired"));
}

async fn concurrent_workers_drain_each_job_once(store: Shared) {
    let t = tenant(&store, "acme").await.id;
    let jobs = 500;
    for i in 0..jobs {
        store
            .insert_execution(&t, job(Some(&format!("evt-{i}")), 3))
            .await
            .unwrap();
    }
    let completions: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let mut workers = Vec::new();
    for w in 0..4 {
        workers.push(tokio::spawn(drain(
            store.clone(),
            format!("worker-{w}"),
            completions.clone(),
        )));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    {
        let completions = completions.lock().unwrap();
        assert_eq!(completions.len(), jobs);
        assert!(completions.values().all(|count| *count == 1));
    }
    let done = ExecutionFilter {
        status: Some(ExecutionStatus::Final),
        ..Default::default()
    };
    assert_eq!(
        store
            .list_executions(&t, &done, Page::default())
            .await
            .unwrap()
            .total,
        jobs as u64
    );
}

async fn two_processes_drain_each_job_once(first: Shared, second: Shared) {
    let t = tenant(&first, "acme").await.id;
    let jobs = 300;
    for i in 0..jobs {
        let store = if i % 2 == 0 { &first } else { &second };
        store
            .insert_execution(&t, job(Some(&format!("evt-{i}")), 3))
            .await
            .unwrap();
    }
    let completions: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let mut workers = Vec::new();
    for w in 0..4 {
        let store = if w % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        workers.push(tokio::spawn(drain(
            store,
            format!("worker-{w}"),
            completions.clone(),
        )));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    let completions = completions.lock().unwrap();
    assert_eq!(completions.len(), jobs);
    assert!(completions.values().all(|count| *count == 1));
}

/// Claims and completes jobs until none is due, counting completions per job.
async fn drain(store: Shared, worker: String, completions: Arc<Mutex<HashMap<String, usize>>>) {
    loop {
        let claimed = store.claim_due(&worker, 10, LEASE).await.unwrap();
        if claimed.is_empty() {
            break;
        }
        for execution in claimed {
            assert_eq!(execution.attempts, 1, "a job was claimed twice");
            let results = [json!({"worker": worker})];
            store
                .complete(&execution.id, &worker, Outcome::Final, &results)
                .await
                .unwrap();
            *completions.lock().unwrap().entry(execution.id).or_default() += 1;
        }
    }
}

on_both_backends!(
    claim_then_fail_until_dead,
    retry_dead_then_complete,
    lease_expiry_and_stale_owner,
    concurrent_workers_drain_each_job_once,
);
on_both_backends_twice_opened!(two_processes_drain_each_job_once);
