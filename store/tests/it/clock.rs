//! The queue's clock: leases and due times are durations judged on the store's clock (PostgreSQL's
//! `now()` on PostgreSQL), so a node whose clock is off can neither take a live lease nor keep one
//! past its end, nor delay the jobs it enqueues.

use std::time::Duration;

use actionflow_store::{Error, ExecutionStatus, NextAttempt};
use chrono::{TimeDelta, Utc};

use crate::harness::{job, on_postgres_skewed, tenant, Shared};

const LEASE: Duration = Duration::from_secs(30);

/// Both backends: a lease ends `lease` after the claim or extension, on the store's clock, and a
/// lease past its end cannot be extended.
async fn leases_are_durations_on_the_store_clock(store: Shared) {
    let t = tenant(&store, "acme").await.id;
    let id = store
        .insert_execution(&t, job(None, 3))
        .await
        .unwrap()
        .execution
        .id;
    let before = Utc::now();
    let claimed = store.claim_due("w1", 1, LEASE).await.unwrap();
    let until = claimed[0].lease_expires_at.unwrap();
    assert!(
        until >= before + TimeDelta::seconds(30) && until <= Utc::now() + TimeDelta::seconds(30)
    );
    store
        .extend_lease(&id, "w1", 1, Duration::from_secs(90))
        .await
        .unwrap();
    let extended = store.get_execution(&t, &id).await.unwrap();
    let until = extended.lease_expires_at.unwrap();
    assert!(
        until >= before + TimeDelta::seconds(90) && until <= Utc::now() + TimeDelta::seconds(90)
    );

    store
        .extend_lease(&id, "w1", 1, Duration::from_millis(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let ended = store.extend_lease(&id, "w1", 1, LEASE).await;
    assert!(matches!(ended, Err(Error::Conflict { .. })), "{ended:?}");
    let taken = store.claim_due("w2", 1, LEASE).await.unwrap();
    assert_eq!((taken.len(), taken[0].attempts), (1, 2));
}

on_both_backends!(leases_are_durations_on_the_store_clock);

/// PostgreSQL, three nodes on one database: one an hour behind, one on time, one an hour ahead.
async fn skewed_nodes_cannot_take_live_leases(stores: Vec<Shared>) {
    let (behind, on_time, ahead) = (&stores[0], &stores[1], &stores[2]);
    let t = tenant(on_time, "acme").await.id;

    // The node behind claims: its lease still runs 30 s for everyone (it would have ended an hour
    // ago on the others' clocks if the node's clock set it).
    let id = behind
        .insert_execution(&t, job(Some("behind"), 3))
        .await
        .unwrap()
        .execution
        .id;
    assert_eq!(behind.claim_due("b", 1, LEASE).await.unwrap()[0].id, id);
    assert!(on_time.claim_due("o", 10, LEASE).await.unwrap().is_empty());
    assert!(ahead.claim_due("a", 10, LEASE).await.unwrap().is_empty());
    // Its extension too is counted on the database's clock.
    behind.extend_lease(&id, "b", 1, LEASE).await.unwrap();
    assert!(ahead.claim_due("a", 10, LEASE).await.unwrap().is_empty());

    // A job on its last attempt, claimed on time, is not dead-lettered by the node ahead (its
    // claim expires leases that ended on the database's clock only).
    let last = on_time
        .insert_execution(&t, job(Some("last"), 1))
        .await
        .unwrap()
        .execution
        .id;
    assert_eq!(on_time.claim_due("o", 1, LEASE).await.unwrap()[0].id, last);
    assert!(ahead.claim_due("a", 10, LEASE).await.unwrap().is_empty());
    let running = on_time.get_execution(&t, &last).await.unwrap();
    assert_eq!(running.status, ExecutionStatus::Running);

    // A job the node ahead enqueues is due now, not in an hour; its retry delay is the database's.
    let early = ahead
        .insert_execution(&t, job(Some("ahead"), 3))
        .await
        .unwrap()
        .execution
        .id;
    assert_eq!(on_time.claim_due("o", 1, LEASE).await.unwrap()[0].id, early);
    let failed = on_time
        .fail_attempt(&early, "o", "boom", &[], NextAttempt::After(Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(failed.status, ExecutionStatus::Pending);
    assert_eq!(behind.claim_due("b", 1, LEASE).await.unwrap()[0].id, early);
}

mod skewed_nodes_cannot_take_live_leases {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let hour = chrono::TimeDelta::hours(1);
        super::on_postgres_skewed(&[-hour, chrono::TimeDelta::zero(), hour], |stores| {
            super::skewed_nodes_cannot_take_live_leases(stores)
        })
        .await
    }
}
