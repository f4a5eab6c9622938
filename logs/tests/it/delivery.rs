//! Filtered, ordered, signed delivery; tenants kept apart; pause, resume and replay.

use std::time::Duration;

use actionflow_logs::stream::{Filters, SettingsInput, SinkInput};
use actionflow_logs::{ChangeStream, CreateStream};
use actionflow_store::SharedStore;

use crate::support::{assert_signed, ev, logs, run_deliverer, settings, Webhook};

const MIX: [&str; 10] = [
    "s", "f", "fp", "ss", "limit_wc", "x_custom", "f", "sapi", "s", "w",
];

pub fn stream(url: &str, types: &[&str], min_level: u8) -> CreateStream {
    CreateStream {
        name: "siem".to_owned(),
        settings: SettingsInput {
            sink: Some(SinkInput {
                endpoint: url.to_owned(),
                authorization: Some("Bearer sink-token".to_owned()),
                ..SinkInput::default()
            }),
            filters: Some(Filters {
                types: types.iter().map(|t| (*t).to_owned()).collect(),
                min_level,
            }),
            ..SettingsInput::default()
        },
        start_from: None,
    }
}

async fn a_filtered_stream_gets_exactly_its_events_in_order_signed(store: SharedStore) {
    let logs = logs(&store);
    let a = store.create_tenant("acme").await.unwrap().id;
    let b = store.create_tenant("other").await.unwrap().id;
    let hook = Webhook::start().await;
    let (created, secret) = logs
        .create_stream(&a, stream(&hook.url, &["s", "f"], 3))
        .await
        .unwrap();
    assert!(secret.starts_with("whsec_") && created.has_authorization);
    let (stop, worker) = run_deliverer(&logs, settings());
    let mut expected = Vec::new();
    for batch in 0..10 {
        let events = (0..100)
            .map(|i| {
                ev(
                    MIX[(batch * 100 + i) % 10],
                    &format!("a{}", batch * 100 + i),
                )
            })
            .collect();
        let ids = logs.ingest(&a, events).await.unwrap();
        for (i, id) in ids.iter().enumerate() {
            if MIX[(batch * 100 + i) % 10] == "f" {
                expected.push(*id);
            }
        }
        let other = (0..20).map(|_| ev("f", "intruder")).collect();
        logs.ingest(&b, other).await.unwrap();
    }
    assert_eq!(expected.len(), 200);
    hook.wait_for("every f event", |r| {
        r.iter().map(|r| r.log_ids().len()).sum::<usize>() >= 200
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        hook.delivered_ids(),
        expected,
        "exactly the matching events, in order"
    );
    let received = hook.received();
    assert_signed(&received, &secret);
    for r in &received {
        assert_eq!(r.authorization.as_deref(), Some("Bearer sink-token"));
        for record in r.records() {
            assert_eq!(record["data"]["type"], "f");
            assert_ne!(
                record["data"]["user_id"], "intruder",
                "another tenant's event"
            );
        }
    }
    let health = logs.health(&a, &created.id).await.unwrap();
    assert_eq!(
        (
            health.lag_events,
            health.consecutive_failures,
            health.status.as_str()
        ),
        (0, 0, "active")
    );
    assert!(health.last_success_at.is_some());
    stop.send(true).unwrap();
    worker.await.unwrap();
}

async fn paused_sends_nothing_resumes_at_its_checkpoint_and_replays(store: SharedStore) {
    let logs = logs(&store);
    let a = store.create_tenant("acme").await.unwrap().id;
    let hook = Webhook::start().await;
    let (created, secret) = logs
        .create_stream(&a, stream(&hook.url, &[], 0))
        .await
        .unwrap();
    let (stop, worker) = run_deliverer(&logs, settings());
    let pause = ChangeStream {
        status: Some("paused".into()),
        ..ChangeStream::default()
    };
    logs.change_stream(&a, &created.id, pause).await.unwrap();
    for _ in 0..3 {
        logs.ingest(&a, (0..50).map(|i| ev(MIX[i % 10], "u")).collect())
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(hook.received().is_empty(), "a paused stream sends nothing");
    let resume = ChangeStream {
        status: Some("active".into()),
        ..ChangeStream::default()
    };
    logs.change_stream(&a, &created.id, resume).await.unwrap();
    hook.wait_for("150 events", |r| {
        r.iter().map(|r| r.log_ids().len()).sum::<usize>() >= 150
    })
    .await;
    assert_eq!(hook.delivered_ids(), (1..=150).collect::<Vec<i64>>());
    assert_eq!(hook.received().len(), 2, "batches of 100");
    let first_ids: Vec<String> = hook.received().iter().map(|r| r.id.clone()).collect();

    let replayed = logs.replay(&a, &created.id, 120).await.unwrap();
    assert_eq!(replayed.checkpoint, 120);
    hook.wait_for("the replay", |r| r.len() >= 3).await;
    let again = hook.received().remove(2);
    assert_eq!(again.log_ids(), (121..=150).collect::<Vec<i64>>());
    assert!(
        !first_ids.contains(&again.id),
        "a replay is not de-duplicated away"
    );
    assert_signed(&hook.received(), &secret);
    let forward = logs.replay(&a, &created.id, 151).await;
    assert!(
        matches!(forward, Err(actionflow_logs::Error::Invalid { .. })),
        "{forward:?}"
    );
    stop.send(true).unwrap();
    worker.await.unwrap();
}

async fn a_rotated_secret_signs_beside_the_old_one(store: SharedStore) {
    let logs = logs(&store);
    let a = store.create_tenant("acme").await.unwrap().id;
    let hook = Webhook::start().await;
    let (created, old) = logs
        .create_stream(&a, stream(&hook.url, &[], 0))
        .await
        .unwrap();
    let (_, new) = logs
        .rotate_secret(&a, &created.id, Duration::from_secs(3600))
        .await
        .unwrap();
    let (stop, worker) = run_deliverer(&logs, settings());
    logs.ingest(&a, vec![ev("s", "u")]).await.unwrap();
    hook.wait_for("one request", |r| !r.is_empty()).await;
    let received = hook.received();
    assert_signed(&received, &old);
    assert_signed(&received, &new);
    assert_eq!(received[0].signature.split(' ').count(), 2);
    stop.send(true).unwrap();
    worker.await.unwrap();
}

actionflow_store::on_both_backends!(crate::support::BACKENDS;
    a_filtered_stream_gets_exactly_its_events_in_order_signed,
    paused_sends_nothing_resumes_at_its_checkpoint_and_replays,
    a_rotated_secret_signs_beside_the_old_one,
);
