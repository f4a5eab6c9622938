//! Two workers on two independently opened stores of one database (as two server processes) share
//! the queue: every job final, each claimed and run exactly once.

use actionflow_store::ExecutionStatus;
use actionflow_triggers::DispatchSettings;

use crate::harness::{dispatcher, tenant, Shared};
use crate::hook::Hook;
use crate::worker::{enqueue, setup, start, wait_for};

macro_rules! on_both_backends_twice_opened {
    ($($story:ident),+ $(,)?) => {$(
        mod $story {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::harness::on_sqlite(2, |mut s| super::$story(s.remove(0), s.remove(0))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::harness::on_postgres(2, |mut s| super::$story(s.remove(0), s.remove(0)))
                    .await
            }
        }
    )+};
}

on_both_backends_twice_opened!(two_workers_share_the_queue);

async fn two_workers_share_the_queue(a: Shared, b: Shared) {
    const JOBS: usize = 300;
    let t = tenant(&a).await;
    let hook = Hook::start().await;
    let da = setup(&a, &t, 0, 3).await;
    let db = dispatcher(
        &b,
        DispatchSettings {
            flow_ms_max: 5_000,
            attempts_max: 3,
            ..DispatchSettings::default()
        },
    );
    let mut ids = Vec::with_capacity(JOBS);
    for _ in 0..JOBS {
        ids.push(enqueue(&da, &t, &hook, None, None).await.id);
    }
    let (stop_a, worker_a) = start(&da, "wa");
    let (stop_b, worker_b) = start(&db, "wb");
    for id in &ids {
        let done = wait_for(&a, &t, id, ExecutionStatus::Final).await;
        assert_eq!(done.attempts, 1, "{id} was claimed more than once");
        assert_eq!(hook.succeeded(id), [1]);
    }
    assert_eq!(hook.succeeded_total(), JOBS);
    stop_a.send(true).unwrap();
    stop_b.send(true).unwrap();
    worker_a.await.unwrap();
    worker_b.await.unwrap();
}
