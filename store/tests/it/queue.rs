//! Executions and the durable queue: idempotency, leases, retries, dead letters, retention, and
//! concurrent workers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actionflow_store::{
    Error, ExecutionFilter, ExecutionStatus, NewExecution, NextAttempt, Outcome, Page,
};
use chrono::{TimeDelta, Utc};
use serde_json::json;

use crate::harness::{tenant, Shared};

const LEASE: Duration = Duration::from_secs(30);

fn job(key: Option<&str>, max_attempts: u32) -> NewExecution {
    NewExecution {
        trigger_id: "post-user-registration".to_owned(),
        idempotency_key: key.map(str::to_owned),
        action_ids: vec!["action-1".to_owned()],
        event: json!({"user": {"id": "u1"}}),
        max_attempts,
        next_attempt_at: Utc::now(),
    }
}

async fn idempotent_insert(store: Shared) {
    let t = tenant(&store, "acme").await.id;
    let first = store
        .insert_execution(&t, job(Some("evt-1"), 3))
        .await
        .unwrap();
    assert!(first.created);
    let e = &first.execution;
    assert_eq!(
        (e.status, e.attempts, e.max_attempts),
        (ExecutionStatus::Pending, 0, 3)
    );
    assert_eq!(e.event, json!({"user": {"id": "u1"}}));
    let again = store
        .insert_execution(&t, job(Some("evt-1"), 5))
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.execution, first.execution);
    let other_trigger = NewExecution {
        trigger_id: "post-change-password".to_owned(),
        ..job(Some("evt-1"), 3)
    };
    assert!(
        store
            .insert_execution(&t, other_trigger)
            .await
            .unwrap()
            .created
    );
    let a = store.insert_execution(&t, job(None, 3)).await.unwrap();
    let b = store.insert_execution(&t, job(None, 3)).await.unwrap();
    assert!(a.created && b.created && a.execution.id != b.execution.id);

    // Concurrent duplicates: exactly one is created, all see the same execution.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (store, t) = (store.clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            store
                .insert_execution(&t, job(Some("evt-2"), 3))
                .await
                .unwrap()
        }));
    }
    let mut created = 0;
    let mut ids = Vec::new();
    for task in tasks {
        let inserted = task.await.unwrap();
        created += usize::from(inserted.created);
        ids.push(inserted.execution.id);
    }
    assert_eq!(created, 1);
    assert!(ids.iter().all(|id| *id == ids[0]));
}

async fn claim_fail_dead_retry_complete(store: Shared) {
    let t = tenant(&store, "acme").await.id;
    let id = store
        .insert_execution(&t, job(Some("k"), 2))
        .await
        .unwrap()
        .execution
        .id;
    let now = Utc::now();
    let claimed = store.claim_due("w1", 10, LEASE, now).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let c = &claimed[0];
    assert_eq!(
        (c.id.as_str(), c.status, c.attempts),
        (id.as_str(), ExecutionStatus::Running, 1)
    );
    assert_eq!(c.lease_owner.as_deref(), Some("w1"));
    assert!(c.lease_expires_at.unwrap() > now);
    assert!(store
        .claim_due("w2", 10, LEASE, now)
        .await
        .unwrap()
        .is_empty());

    let later = now + TimeDelta::seconds(10);
    let results = vec![json!({"action": "action-1", "status": "error"})];
    let failed = store
        .fail_attempt(&id, "w1", "boom", &results, NextAttempt::At(later))
        .await
        .unwrap();
    assert_eq!(
        (failed.status, failed.last_error.as_deref()),
        (ExecutionStatus::Pending, Some("boom"))
    );
    assert_eq!(
        (failed.lease_owner, failed.results.clone()),
        (None, results)
    );
    assert!(
        store
            .claim_due("w1", 10, LEASE, now)
            .await
            .unwrap()
            .is_empty(),
        "not due yet"
    );
    let second = store.claim_due("w2", 10, LEASE, later).await.unwrap();
    assert_eq!(second[0].attempts, 2);
    let dead = store
        .fail_attempt(&id, "w2", "boom again", &[], NextAttempt::Dead)
        .await
        .unwrap();
    assert_eq!(dead.status, ExecutionStatus::Dead);
    assert!(store
        .claim_due("w1", 10, LEASE, later + TimeDelta::hours(1))
        .await
        .unwrap()
        .is_empty());

    let retried = store.retry(&t, &id).await.unwrap();
    assert_eq!(
        (retried.status, retried.attempts),
        (ExecutionStatus::Pending, 0)
    );
    assert!(matches!(
        store.retry(&t, &id).await,
        Err(Error::Conflict { .. })
    ));
    let third = store.claim_due("w3", 10, LEASE, Utc::now()).await.unwrap();
    assert_eq!((third.len(), third[0].attempts), (1, 1));
    let done = vec![json!({"action": "action-1", "status": "ok"})];
    let finished = store
        .complete(&id, "w3", Outcome::Final, &done)
        .await
        .unwrap();
    assert_eq!(
        (finished.status, finished.results.clone()),
        (ExecutionStatus::Final, done)
    );
    assert!(finished.lease_owner.is_none() && finished.lease_expires_at.is_none());
    assert!(matches!(
        store.complete(&id, "w3", Outcome::Final, &[]).await,
        Err(Error::Conflict { .. })
    ));
    assert!(matches!(
        store.complete("nope", "w3", Outcome::Final, &[]).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(store.get_execution(&t, &id).await.unwrap(), finished);
}

async fn lease_expiry_and_stale_owner(store: Shared) {
    let t = tenant(&store, "acme").await.id;
    let id = store
        .insert_execution(&t, job(None, 3))
        .await
        .unwrap()
        .execution
        .id;
    let now = Utc::now();
    store.claim_due("w1", 1, LEASE, now).await.unwrap();
    let until = now + TimeDelta::seconds(60);
    store.extend_lease(&id, "w1", until).await.unwrap();
    assert!(store
        .claim_due("w2", 1, LEASE, now + TimeDelta::seconds(45))
        .await
        .unwrap()
        .is_empty());
    let expired = now + TimeDelta::seconds(61);
    let taken = store.claim_due("w2", 1, LEASE, expired).await.unwrap();
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
    assert!(lost(store.extend_lease(&id, "w1", expired).await));
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
    let now = Utc::now();
    assert_eq!(
        store.claim_due("w1", 1, LEASE, now).await.unwrap()[0].id,
        last
    );
    let expired = now + TimeDelta::seconds(31);
    assert!(store
        .claim_due("w2", 1, LEASE, expired)
        .await
        .unwrap()
        .is_empty());
    let dead = store.get_execution(&t, &last).await.unwrap();
    assert_eq!(
        (dead.status, dead.lease_owner),
        (ExecutionStatus::Dead, None)
    );
    assert!(dead.last_error.unwrap().contains("lease expired"));
}

async fn list_filters_and_retention(store: Shared) {
    let t = tenant(&store, "acme").await.id;
    let start = Utc::now();
    for i in 0..5 {
        let mut new = job(None, 3);
        if i % 2 == 1 {
            new.trigger_id = "post-change-password".to_owned();
            new.action_ids = vec!["action-2".to_owned()];
        }
        store.insert_execution(&t, new).await.unwrap();
    }
    let claimed = store.claim_due("w", 2, LEASE, Utc::now()).await.unwrap();
    for execution in &claimed {
        store
            .complete(&execution.id, "w", Outcome::Final, &[])
            .await
            .unwrap();
    }
    let list = |filter: ExecutionFilter, page: Page| {
        let store = store.clone();
        let t = t.clone();
        async move { store.list_executions(&t, &filter, page).await.unwrap() }
    };
    let all = list(ExecutionFilter::default(), Page::new(0, 2)).await;
    assert_eq!((all.total, all.items.len()), (5, 2));
    assert!(
        all.items[0].created_at >= all.items[1].created_at,
        "newest first"
    );
    let by_trigger = ExecutionFilter {
        trigger_id: Some("post-change-password".to_owned()),
        ..Default::default()
    };
    assert_eq!(list(by_trigger, Page::default()).await.total, 2);
    let by_action = ExecutionFilter {
        action_id: Some("action-1".to_owned()),
        ..Default::default()
    };
    assert_eq!(list(by_action, Page::default()).await.total, 3);
    let by_status = ExecutionFilter {
        status: Some(ExecutionStatus::Final),
        ..Default::default()
    };
    assert_eq!(list(by_status, Page::default()).await.total, 2);
    let since = ExecutionFilter {
        since: Some(start - TimeDelta::seconds(1)),
        ..Default::default()
    };
    assert_eq!(list(since, Page::default()).await.total, 5);
    let future = ExecutionFilter {
        since: Some(Utc::now() + TimeDelta::hours(1)),
        ..Default::default()
    };
    assert_eq!(list(future, Page::default()).await.total, 0);

    assert_eq!(
        store
            .purge_older_than(start - TimeDelta::hours(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .purge_older_than(Utc::now() + TimeDelta::hours(1))
            .await
            .unwrap(),
        2
    );
    let left = list(ExecutionFilter::default(), Page::default()).await;
    assert_eq!(left.total, 3);
    assert!(left
        .items
        .iter()
        .all(|e| e.status == ExecutionStatus::Pending));
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
        let (store, completions) = (store.clone(), completions.clone());
        workers.push(tokio::spawn(async move {
            let worker = format!("worker-{w}");
            loop {
                let claimed = store
                    .claim_due(&worker, 10, LEASE, Utc::now())
                    .await
                    .unwrap();
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
        }));
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

on_both_backends!(
    idempotent_insert,
    claim_fail_dead_retry_complete,
    lease_expiry_and_stale_owner,
    list_filters_and_retention,
    concurrent_workers_drain_each_job_once,
);
