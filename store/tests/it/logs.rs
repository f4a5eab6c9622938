//! The tenant log and log streams: commit-ordered seqs that a checkpoint reader never skips, search,
//! purge, stream settings, leases, generations, replay and failures.

use std::collections::BTreeSet;
use std::time::Duration;

use actionflow_store::{
    DeliveryFailure, Error, LogField, LogFilter, LogQuery, LogStreamPatch, NewLogEvent,
    NewLogStream, Page, SealedBytes,
};
use chrono::{TimeDelta, Utc};
use serde_json::json;

use crate::harness::{tenant, Shared};

const LEASE: Duration = Duration::from_secs(30);

fn event(event_type: &str, level: i64, user: &str) -> NewLogEvent {
    NewLogEvent {
        event_type: event_type.to_owned(),
        level,
        user_id: Some(user.to_owned()),
        description: Some(format!("{event_type} for {user}")),
        details: json!({"n": user}),
        ..NewLogEvent::default()
    }
}

fn sealed(text: &str) -> SealedBytes {
    SealedBytes {
        ciphertext: text.as_bytes().to_vec(),
        nonce: vec![0; 12],
    }
}

fn new_stream(name: &str, start_after: Option<i64>) -> NewLogStream {
    NewLogStream {
        id: actionflow_store::new_id(),
        name: name.to_owned(),
        status: "active".to_owned(),
        config: json!({"sink": {"endpoint": "http://127.0.0.1:9/"}}),
        authorization: Some(sealed("Bearer x")),
        key: sealed("key-1"),
        start_after,
    }
}

/// A batch over several statements (SQLite binds by position, PostgreSQL by number): every event
/// keeps its own values, in order.
async fn appends_many_in_batches(store: Shared) {
    let c = tenant(&store, "many").await.id;
    let many: Vec<NewLogEvent> = (0..250)
        .map(|i| {
            event(
                if i % 2 == 0 { "s" } else { "f" },
                1 + i % 3,
                &format!("m{i}"),
            )
        })
        .collect();
    let seqs = store.append_logs(&c, &many).await.unwrap();
    assert_eq!(seqs, (1..=250).collect::<Vec<i64>>());
    let read = store.logs_after(&c, 0, 300).await.unwrap();
    assert_eq!(read.len(), 250);
    for (i, e) in read.iter().enumerate() {
        let want = &many[i];
        assert_eq!(
            (
                &e.event_type,
                e.level,
                &e.user_id,
                &e.details,
                &e.description
            ),
            (
                &want.event_type,
                want.level,
                &want.user_id,
                &want.details,
                &want.description
            ),
            "event {i}"
        );
    }
}

async fn appends_read_search_and_purge(store: Shared) {
    let a = tenant(&store, "acme").await.id;
    let b = tenant(&store, "other").await.id;
    let seqs = store
        .append_logs(
            &a,
            &[
                event("s", 1, "u1"),
                event("f", 3, "u2"),
                event("fp", 3, "u1"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(seqs, vec![1, 2, 3]);
    assert_eq!(
        store.append_logs(&b, &[event("s", 1, "x")]).await.unwrap(),
        vec![1]
    );
    assert_eq!(store.log_head(&a).await.unwrap(), 3);
    let after = store.logs_after(&a, 1, 10).await.unwrap();
    let types: Vec<&str> = after.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["f", "fp"]);
    assert_eq!(after[0].details, json!({"n": "u2"}));
    assert_eq!(
        store.get_log(&a, 2).await.unwrap().user_id.as_deref(),
        Some("u2")
    );
    assert!(matches!(
        store.get_log(&b, 2).await,
        Err(Error::NotFound { .. })
    ));

    let query = LogQuery {
        any_of: vec![
            vec![(LogField::Type, "f".to_owned())],
            vec![
                (LogField::Type, "fp".to_owned()),
                (LogField::UserId, "u1".to_owned()),
            ],
        ],
    };
    let found = store
        .search_logs(&a, &query, Page::new(0, 10))
        .await
        .unwrap();
    let seqs: Vec<i64> = found.items.iter().map(|e| e.seq).collect();
    assert_eq!((seqs, found.total), (vec![3, 2], 2), "newest first");
    let all = store
        .search_logs(&a, &LogQuery::default(), Page::new(1, 2))
        .await
        .unwrap();
    assert_eq!((all.items.len(), all.total), (1, 3));

    let missing = store
        .append_logs("no-such-tenant", &[event("s", 1, "u")])
        .await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );

    assert_eq!(
        store
            .purge_logs_before(Utc::now() - TimeDelta::hours(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .purge_logs_before(Utc::now() + TimeDelta::seconds(1))
            .await
            .unwrap(),
        4
    );
    assert_eq!(
        store.log_head(&a).await.unwrap(),
        3,
        "the head survives a purge"
    );
    let next = store.append_logs(&a, &[event("s", 1, "u")]).await.unwrap();
    assert_eq!(next, vec![4], "numbers are never reused");
}

/// Writers on two independently opened stores append concurrently while a reader pages by
/// checkpoint: the reader must see every seq exactly once, never passing one that commits late.
async fn a_checkpoint_reader_never_skips_a_late_writer(a: Shared, b: Shared) {
    let t = tenant(&a, "acme").await.id;
    let writers = 8;
    let batches = 25;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = if w % 2 == 0 { a.clone() } else { b.clone() };
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..batches {
                let events: Vec<NewLogEvent> = (0..(1 + i % 4))
                    .map(|_| event("s", 1, &format!("w{w}")))
                    .collect();
                store.append_logs(&t, &events).await.unwrap();
            }
        }));
    }
    let total: i64 = (0..batches).map(|i| 1 + i % 4).sum::<i64>() * writers;
    let mut seen = BTreeSet::new();
    let mut checkpoint = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while checkpoint < total {
        assert!(
            std::time::Instant::now() < deadline,
            "stuck at {checkpoint}"
        );
        let page = b.logs_after(&t, checkpoint, 7).await.unwrap();
        for e in &page {
            assert_eq!(e.seq, checkpoint + 1, "skipped past {checkpoint}");
            assert!(seen.insert(e.seq));
            checkpoint = e.seq;
        }
        if page.is_empty() {
            tokio::task::yield_now().await;
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(seen.len() as i64, total);
}

async fn streams_start_at_the_head_and_follow_their_settings(store: Shared) {
    let t = tenant(&store, "acme").await.id;
    store
        .append_logs(&t, &[event("s", 1, "u"), event("f", 3, "u")])
        .await
        .unwrap();
    let s = store
        .create_log_stream(&t, new_stream("siem", None))
        .await
        .unwrap();
    assert_eq!(
        (s.checkpoint, s.generation, s.status.as_str()),
        (2, 0, "active")
    );
    assert_eq!(s.authorization, Some(sealed("Bearer x")));
    let again = store
        .create_log_stream(&t, new_stream("siem", Some(0)))
        .await;
    assert!(matches!(again, Err(Error::Conflict { .. })), "{again:?}");
    let other = tenant(&store, "other").await.id;
    assert!(matches!(
        store.get_log_stream(&other, &s.id).await,
        Err(Error::NotFound { .. })
    ));

    let patch = LogStreamPatch {
        status: Some("paused".to_owned()),
        authorization: Some(None),
        ..LogStreamPatch::default()
    };
    let paused = store.update_log_stream(&t, &s.id, patch).await.unwrap();
    assert_eq!((paused.status.as_str(), paused.generation), ("paused", 1));
    assert_eq!(paused.authorization, None);
    store.append_logs(&t, &[event("s", 1, "u")]).await.unwrap();
    assert!(
        store
            .claim_log_streams("w", 10, LEASE)
            .await
            .unwrap()
            .is_empty(),
        "paused"
    );

    let rotated = store
        .rotate_log_stream_key(&t, &s.id, &sealed("key-2"), Utc::now())
        .await
        .unwrap();
    assert_eq!(
        (rotated.key.clone(), rotated.previous_key),
        (sealed("key-2"), Some(sealed("key-1")))
    );
    assert_eq!(store.list_log_streams(&t).await.unwrap().len(), 1);
    store.delete_log_stream(&t, &s.id).await.unwrap();
    assert!(matches!(
        store.delete_log_stream(&t, &s.id).await,
        Err(Error::NotFound { .. })
    ));
}

async fn one_deliverer_per_stream_and_generations_guard_writes(a: Shared, b: Shared) {
    let t = tenant(&a, "acme").await.id;
    let s = a
        .create_log_stream(&t, new_stream("siem", Some(0)))
        .await
        .unwrap();
    assert!(
        a.claim_log_streams("w1", 10, LEASE)
            .await
            .unwrap()
            .is_empty(),
        "nothing to send"
    );
    a.append_logs(
        &t,
        &[event("s", 1, "u"), event("f", 3, "u"), event("s", 1, "u")],
    )
    .await
    .unwrap();
    let claimed = a.claim_log_streams("w1", 10, LEASE).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(
        b.claim_log_streams("w2", 10, LEASE)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    let stream = &claimed[0];
    let filter = LogFilter {
        types: vec!["f".to_owned(), "s".to_owned()],
        min_level: 3,
    };
    let batch = a
        .log_batch(&t, stream.checkpoint, None, &filter, 100)
        .await
        .unwrap();
    assert_eq!(
        (batch.events.len(), batch.events[0].seq, batch.end),
        (1, 2, 3)
    );
    let two = a
        .log_batch(&t, 0, None, &LogFilter::default(), 2)
        .await
        .unwrap();
    assert_eq!(
        (two.events.len(), two.end),
        (2, 2),
        "a full batch ends at its last event"
    );
    a.begin_log_batch(stream, "w1", batch.end, LEASE)
        .await
        .unwrap();
    assert!(matches!(
        b.begin_log_batch(stream, "w2", 3, LEASE).await,
        Err(Error::Conflict { .. })
    ));
    let lag = a.log_lag(&t, 0, &filter).await.unwrap();
    assert_eq!(lag.events, 1);

    // A replay while the batch is in flight: the batch's end is refused, the replay stands.
    let replayed = b.replay_log_stream(&t, &s.id, 0).await.unwrap();
    assert_eq!((replayed.generation, replayed.in_flight_to), (1, None));
    let stale = a.finish_log_batch(stream, "w1", 3, true, LEASE).await;
    assert!(matches!(stale, Err(Error::Conflict { .. })), "{stale:?}");
    let forward = a.replay_log_stream(&t, &s.id, 2).await;
    assert!(
        matches!(forward, Err(Error::Conflict { .. })),
        "{forward:?}"
    );
}

async fn failures_back_off_and_suspend(store: Shared) {
    let t = tenant(&store, "acme").await.id;
    let s = store
        .create_log_stream(&t, new_stream("siem", Some(0)))
        .await
        .unwrap();
    store.append_logs(&t, &[event("s", 1, "u")]).await.unwrap();
    let stream = store
        .claim_log_streams("w1", 10, LEASE)
        .await
        .unwrap()
        .remove(0);
    store
        .begin_log_batch(&stream, "w1", 1, LEASE)
        .await
        .unwrap();
    let failure = DeliveryFailure {
        status: Some(500),
        excerpt: "boom".to_owned(),
        retry_in: Duration::from_millis(300),
        suspend: None,
    };
    store.fail_log_batch(&stream, "w1", &failure).await.unwrap();
    let failed = store.get_log_stream(&t, &s.id).await.unwrap();
    assert_eq!(
        (failed.consecutive_failures, failed.last_error_status),
        (1, Some(500))
    );
    assert_eq!(
        (failed.in_flight_to, failed.checkpoint, failed.lease_owner),
        (Some(1), 0, None)
    );
    assert!(failed.failing_since.is_some());
    assert!(
        store
            .claim_log_streams("w1", 10, LEASE)
            .await
            .unwrap()
            .is_empty(),
        "backing off"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let stream = store
        .claim_log_streams("w2", 10, LEASE)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(stream.in_flight_to, Some(1), "the same batch is sent again");
    let gone = DeliveryFailure {
        status: Some(410),
        suspend: Some("410 Gone".to_owned()),
        ..failure
    };
    store.fail_log_batch(&stream, "w2", &gone).await.unwrap();
    let suspended = store.get_log_stream(&t, &s.id).await.unwrap();
    assert_eq!(
        (suspended.status.as_str(), suspended.consecutive_failures),
        ("suspended", 2)
    );
    let patch = LogStreamPatch {
        status: Some("active".to_owned()),
        ..LogStreamPatch::default()
    };
    let resumed = store.update_log_stream(&t, &s.id, patch).await.unwrap();
    assert_eq!(
        (resumed.consecutive_failures, resumed.failing_since),
        (0, None)
    );
    let stream = store
        .claim_log_streams("w3", 10, LEASE)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(stream.in_flight_to, None, "resuming forms the batch again");
    store
        .finish_log_batch(&stream, "w3", 1, true, LEASE)
        .await
        .unwrap();
    let done = store.get_log_stream(&t, &s.id).await.unwrap();
    assert_eq!((done.checkpoint, done.consecutive_failures), (1, 0));
    assert!(done.last_success_at.is_some());
}

on_both_backends!(
    appends_read_search_and_purge,
    appends_many_in_batches,
    streams_start_at_the_head_and_follow_their_settings,
    failures_back_off_and_suspend
);
on_both_backends_twice_opened!(
    a_checkpoint_reader_never_skips_a_late_writer,
    one_deliverer_per_stream_and_generations_guard_writes
);
