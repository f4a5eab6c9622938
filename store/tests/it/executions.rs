//! Executions: idempotent enqueue, filtered lists, retention.

use actionflow_store::{
    ExecutionFilter, ExecutionStatus, NewExecution, Outcome, Page, SyncExecution,
};
use chrono::{TimeDelta, Utc};
use serde_json::json;

use crate::harness::{job, tenant, Shared};

const LEASE: std::time::Duration = std::time::Duration::from_secs(30);

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
    assert_eq!(e.plan, json!([{"action_id": "action-1", "version": 1}]));
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
    let claimed = store.claim_due("w", 2, LEASE).await.unwrap();
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

/// Sync records go in batches of many rows per statement: a batch longer than a statement's rows
/// is stored whole, each row as given, and a record stored twice (a retried flush) is kept once.
async fn sync_records_in_batches(store: Shared) {
    let t = tenant(&store, "acme").await.id;
    let at = Utc::now();
    let record = |i: usize| SyncExecution {
        id: format!("sync-{i:03}"),
        tenant_id: t.clone(),
        trigger_id: "post-login".to_owned(),
        status: if i % 2 == 1 {
            ExecutionStatus::Failed
        } else {
            ExecutionStatus::Final
        },
        action_ids: vec![format!("action-{i}")],
        event: json!({"user": {"user_id": format!("u{i}")}}),
        results: vec![json!({"action_id": format!("action-{i}"), "n": i})],
        last_error: (i % 2 == 1).then(|| format!("error {i}")),
        created_at: at,
        ended_at: at,
        plan: json!([{"action_id": format!("action-{i}"), "version": 1}]),
    };
    let records: Vec<SyncExecution> = (0..450).map(record).collect();
    store.record_sync_executions(&records).await.unwrap();
    store.record_sync_executions(&records[440..]).await.unwrap();
    let all = store
        .list_executions(&t, &ExecutionFilter::default(), Page::new(0, 1))
        .await
        .unwrap();
    assert_eq!(all.total, 450);
    for i in [0, 31, 32, 199, 200, 201, 449] {
        let e = store
            .get_execution(&t, &format!("sync-{i:03}"))
            .await
            .unwrap();
        assert_eq!(e.event, json!({"user": {"user_id": format!("u{i}")}}));
        assert_eq!(
            e.results,
            vec![json!({"action_id": format!("action-{i}"), "n": i})]
        );
        assert_eq!(e.last_error, (i % 2 == 1).then(|| format!("error {i}")));
        assert_eq!(e.status, record(i).status);
    }
}

on_both_backends!(
    idempotent_insert,
    list_filters_and_retention,
    sync_records_in_batches
);
