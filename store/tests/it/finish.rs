//! Recording many attempts' ends at once: each status, error, results and retry time as the single
//! calls record them, and an attempt whose lease was taken over is left untouched.

use std::time::Duration;

use actionflow_store::{AttemptEnd, ExecutionStatus, FinishedAttempt, NextAttempt, Outcome};
use chrono::{TimeDelta, Utc};
use serde_json::json;

use crate::harness::{job, tenant, Shared};

async fn finish_many_in_one_transaction(store: Shared) {
    let t = tenant(&store, "acme").await.id;
    let mut ids = Vec::new();
    for n in 0..5 {
        let key = format!("k{n}");
        ids.push(
            store
                .insert_execution(&t, job(Some(&key), 3))
                .await
                .unwrap()
                .execution
                .id,
        );
    }
    let lease = Duration::from_secs(30);
    let claimed = store.claim_due("w1", 10, lease).await.unwrap();
    assert_eq!(claimed.len(), 5);
    // The lease of the last job runs out and another worker takes it over.
    store
        .extend_lease(&ids[4], "w1", 1, Duration::from_millis(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let stolen = store.claim_due("w2", 10, lease).await.unwrap();
    assert_eq!(stolen.iter().map(|e| &e.id).collect::<Vec<_>>(), [&ids[4]]);

    let before = Utc::now();
    let results = vec![json!({"action_id": "action-1", "status": "completed"})];
    let end = |id: &String, end: AttemptEnd| FinishedAttempt {
        execution_id: id.clone(),
        attempt: 1,
        end,
        results: results.clone(),
    };
    let ends = vec![
        end(&ids[0], AttemptEnd::Complete(Outcome::Final)),
        end(&ids[1], AttemptEnd::Complete(Outcome::Partial)),
        end(
            &ids[2],
            AttemptEnd::Fail {
                error: "boom".into(),
                next: NextAttempt::After(Duration::from_secs(5)),
            },
        ),
        end(
            &ids[3],
            AttemptEnd::Fail {
                error: "dead".into(),
                next: NextAttempt::Dead,
            },
        ),
        end(&ids[4], AttemptEnd::Complete(Outcome::Final)),
    ];
    let recorded = store.finish_attempts("w1", &ends).await.unwrap();
    assert_eq!(recorded, [true, true, true, true, false]);
    let get = |n: usize| {
        let (store, t, id) = (store.clone(), t.clone(), ids[n].clone());
        async move { store.get_execution(&t, &id).await.unwrap() }
    };
    let (a, b, c, d, e) = (
        get(0).await,
        get(1).await,
        get(2).await,
        get(3).await,
        get(4).await,
    );
    assert_eq!(
        (a.status, a.lease_owner.as_deref(), &a.results),
        (ExecutionStatus::Final, None, &results)
    );
    assert_eq!(b.status, ExecutionStatus::Partial);
    assert_eq!(
        (c.status, c.last_error.as_deref()),
        (ExecutionStatus::Pending, Some("boom"))
    );
    // Five seconds after the end was recorded, on the store's clock.
    assert!(c.next_attempt_at >= before + TimeDelta::milliseconds(4999));
    assert!(c.next_attempt_at <= Utc::now() + TimeDelta::seconds(5));
    assert_eq!(
        (d.status, d.last_error.as_deref()),
        (ExecutionStatus::Dead, Some("dead"))
    );
    assert_eq!(
        (e.status, e.lease_owner.as_deref()),
        (ExecutionStatus::Running, Some("w2"))
    );
    assert!(e.results.is_empty());
    assert!(store.finish_attempts("w1", &[]).await.unwrap().is_empty());
}

/// The lease is fenced by the attempt number, not only the worker id: a worker that re-claims its own
/// expired job (one process, one worker id) cannot extend or record the stale attempt over the new one.
async fn a_stale_attempt_of_the_same_worker_is_refused(store: Shared) {
    let t = tenant(&store, "acme").await.id;
    let id = store
        .insert_execution(&t, job(Some("fence"), 5))
        .await
        .unwrap()
        .execution
        .id;
    let first = store
        .claim_due("w1", 1, Duration::from_millis(100))
        .await
        .unwrap();
    assert_eq!(first[0].attempts, 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let again = store
        .claim_due("w1", 1, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(again[0].attempts, 2);
    let stale = store
        .extend_lease(&id, "w1", 1, Duration::from_secs(60))
        .await;
    assert!(
        matches!(stale, Err(actionflow_store::Error::Conflict { .. })),
        "{stale:?}"
    );
    let end = |attempt: i64| FinishedAttempt {
        execution_id: id.clone(),
        attempt,
        end: AttemptEnd::Complete(Outcome::Final),
        results: vec![json!({"attempt": attempt})],
    };
    assert_eq!(
        store.finish_attempts("w1", &[end(1)]).await.unwrap(),
        [false]
    );
    store
        .extend_lease(&id, "w1", 2, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        store.finish_attempts("w1", &[end(2)]).await.unwrap(),
        [true]
    );
    let done = store.get_execution(&t, &id).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Final);
    assert_eq!(done.results, vec![json!({"attempt": 2})]);
}

on_both_backends!(
    finish_many_in_one_transaction,
    a_stale_attempt_of_the_same_worker_is_refused
);
