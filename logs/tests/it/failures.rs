//! A failing endpoint: held at the checkpoint, retried with the same `webhook-id`, nothing
//! skipped; `410 Gone` suspends until resumed; two nodes never deliver one stream at once.

use std::collections::HashMap;

use actionflow_logs::ChangeStream;
use actionflow_store::SharedStore;

use crate::delivery::stream;
use crate::support::{ev, logs, run_deliverer, settings, Webhook};

async fn a_failing_endpoint_is_retried_and_nothing_is_skipped(store: SharedStore) {
    let logs = logs(&store);
    let a = store.create_tenant("acme").await.unwrap().id;
    let hook = Webhook::start().await;
    hook.fail_next(6, 500);
    let (created, _) = logs
        .create_stream(&a, stream(&hook.url, &[], 0))
        .await
        .unwrap();
    let (stop, worker) = run_deliverer(&logs, settings());
    for _ in 0..3 {
        logs.ingest(&a, (0..100).map(|_| ev("s", "u")).collect())
            .await
            .unwrap();
    }
    hook.wait_for("300 delivered", |r| {
        r.iter()
            .filter(|r| r.status == 200)
            .map(|r| r.log_ids().len())
            .sum::<usize>()
            >= 300
    })
    .await;
    assert_eq!(
        hook.delivered_ids(),
        (1..=300).collect::<Vec<i64>>(),
        "none skipped, in order"
    );
    let received = hook.received();
    let failed: Vec<_> = received.iter().filter(|r| r.status == 500).collect();
    assert_eq!(failed.len(), 6);
    for f in &failed {
        let resent = received.iter().find(|r| r.status == 200 && r.id == f.id);
        let resent = resent.unwrap_or_else(|| panic!("{} was never re-sent under its id", f.id));
        assert_eq!(resent.log_ids(), f.log_ids(), "the same batch");
    }
    let health = logs.health(&a, &created.id).await.unwrap();
    assert_eq!(
        (health.consecutive_failures, health.last_error_status),
        (0, Some(500))
    );
    assert!(health
        .last_error_excerpt
        .unwrap()
        .contains("nope from the test hook"));
    stop.send(true).unwrap();
    worker.await.unwrap();
}

async fn gone_suspends_the_stream_until_it_is_resumed(store: SharedStore) {
    let logs = logs(&store);
    let a = store.create_tenant("acme").await.unwrap().id;
    let hook = Webhook::start().await;
    hook.fail_next(1, 410);
    let (created, _) = logs
        .create_stream(&a, stream(&hook.url, &[], 0))
        .await
        .unwrap();
    let (stop, worker) = run_deliverer(&logs, settings());
    logs.ingest(&a, (0..10).map(|_| ev("s", "u")).collect())
        .await
        .unwrap();
    hook.wait_for("the 410", |r| !r.is_empty()).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while logs.get_stream(&a, &created.id).await.unwrap().status != "suspended" {
        assert!(std::time::Instant::now() < deadline, "not suspended");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    logs.ingest(&a, (0..10).map(|_| ev("s", "u")).collect())
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(hook.received().len(), 1, "a suspended stream sends nothing");
    let health = logs.health(&a, &created.id).await.unwrap();
    assert_eq!(
        (health.lag_events, health.status_reason.is_some()),
        (20, true)
    );
    let resume = ChangeStream {
        status: Some("active".into()),
        ..ChangeStream::default()
    };
    logs.change_stream(&a, &created.id, resume).await.unwrap();
    hook.wait_for("20 delivered", |r| {
        r.iter()
            .filter(|r| r.status == 200)
            .map(|r| r.log_ids().len())
            .sum::<usize>()
            >= 20
    })
    .await;
    assert_eq!(hook.delivered_ids(), (1..=20).collect::<Vec<i64>>());
    stop.send(true).unwrap();
    worker.await.unwrap();
}

/// Two nodes (two independently opened stores) deliver the same streams: each batch goes out once.
async fn two_nodes_never_send_a_batch_twice(a: SharedStore, b: SharedStore) {
    let (logs_a, logs_b) = (logs(&a), logs(&b));
    let t = a.create_tenant("acme").await.unwrap().id;
    let hook = Webhook::start().await;
    let mut streams = Vec::new();
    for i in 0..3 {
        let mut create = stream(&hook.url, &[], 0);
        create.name = format!("s{i}");
        streams.push(logs_a.create_stream(&t, create).await.unwrap().0.id);
    }
    let (stop_a, worker_a) = run_deliverer(&logs_a, settings());
    let (stop_b, worker_b) = run_deliverer(&logs_b, settings());
    for n in 0..10 {
        let logs = if n % 2 == 0 { &logs_a } else { &logs_b };
        logs.ingest(&t, (0..50).map(|_| ev("s", "u")).collect())
            .await
            .unwrap();
    }
    hook.wait_for("3 × 500", |r| {
        r.iter().map(|r| r.log_ids().len()).sum::<usize>() >= 1500
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut per_id: HashMap<String, usize> = HashMap::new();
    let mut per_stream: HashMap<String, Vec<i64>> = HashMap::new();
    for r in hook.received() {
        *per_id.entry(r.id.clone()).or_default() += 1;
        let stream = streams
            .iter()
            .find(|s| r.id.contains(s.as_str()))
            .unwrap()
            .clone();
        per_stream.entry(stream).or_default().extend(r.log_ids());
    }
    assert!(
        per_id.values().all(|n| *n == 1),
        "a batch was sent twice: {per_id:?}"
    );
    for s in &streams {
        assert_eq!(per_stream[s], (1..=500).collect::<Vec<i64>>());
    }
    stop_a.send(true).unwrap();
    stop_b.send(true).unwrap();
    worker_a.await.unwrap();
    worker_b.await.unwrap();
}

actionflow_store::on_both_backends!(crate::support::BACKENDS;
    a_failing_endpoint_is_retried_and_nothing_is_skipped,
    gone_suspends_the_stream_until_it_is_resumed,
);
actionflow_store::on_both_backends_twice_opened!(crate::support::BACKENDS; two_nodes_never_send_a_batch_twice);
