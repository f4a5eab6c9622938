//! One tenant cannot starve another over HTTP: tenant A floods post-login with infinite loops (16,
//! then 64 at once) while tenant B logs in one request after another; and A floods test runs while
//! B tests and deploys. B's logins stay fast and none fails; A's flood waits, or is refused, for A.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{deploy, start_in_process, ALL_SCOPES};
use crate::support::{Api, Db};

const LOOP: &str = "exports.onExecutePostLogin = async () => { while (true) {} };";
const LOGIN: &str = "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('ok', true); };";

async fn bind(api: &Api, name: &str, code: &str) {
    let id = deploy(api, name, "post-login", code).await;
    let body = json!({"bindings": [{"ref": {"type": "action_id", "value": id}}]});
    let (status, flow) = api.patch("/v1/triggers/post-login/bindings", body).await;
    assert_eq!(status, 200, "{flow}");
}

/// B's logins, one after another, while `flood` of A's loops are in flight: B's latencies, sorted.
async fn logins_beside_a_flood(a: &Api, b: &Api, flood: usize, logins: usize) -> Vec<Duration> {
    let event = json!({"event": {"user": {"user_id": "u1"}, "client": {"client_id": "web"}}});
    let floods: Vec<_> = (0..flood)
        .map(|_| {
            let (a, event) = (a.clone(), event.clone());
            tokio::spawn(async move { a.post("/v1/triggers/post-login/dispatch", event).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut latencies = Vec::new();
    for _ in 0..logins {
        let started = Instant::now();
        let (status, body) = b
            .post("/v1/triggers/post-login/dispatch", event.clone())
            .await;
        latencies.push(started.elapsed());
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "completed", "{body}");
    }
    for flood in floods {
        let (status, body) = flood.await.unwrap();
        // A's own flood ends for A: failed (its CPU limit), or refused with 429.
        assert!(status == 200 || status == 429, "{status} {body}");
    }
    latencies.sort();
    latencies
}

async fn loops_on_logins_do_not_slow_another_tenant(db: Db) {
    let server = start_in_process(&db, |s| s.action_limits.execution.cpu_ms_max = 300).await;
    let (_, a) = server.tenant("flooder", ALL_SCOPES).await;
    let (_, b) = server.tenant("bystander", ALL_SCOPES).await;
    bind(&a, "spin", LOOP).await;
    bind(&b, "claim", LOGIN).await;
    for flood in [16, 64] {
        let latencies = logins_beside_a_flood(&a, &b, flood, 200).await;
        let p99 = latencies[latencies.len() * 99 / 100];
        assert!(
            p99 < Duration::from_millis(50),
            "flood {flood}: B's p99 {p99:?}"
        );
    }
}

async fn a_test_run_flood_leaves_tests_and_deploys_to_others(db: Db) {
    let server = start_in_process(&db, |s| s.action_limits.execution.cpu_ms_max = 1_000).await;
    let (_, a) = server.tenant("flooder", ALL_SCOPES).await;
    let (_, b) = server.tenant("bystander", ALL_SCOPES).await;
    let (_, spin) = a
        .post(
            "/v1/actions",
            json!({"name": "spin", "supported_triggers": [{"id": "post-login"}], "code": LOOP}),
        )
        .await;
    let path = format!("/v1/actions/{}/test", spin["id"].as_str().unwrap());
    let floods: Vec<_> = (0..12)
        .map(|_| {
            let (a, path) = (a.clone(), path.clone());
            tokio::spawn(async move { a.post(&path, json!({})).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let id = deploy(&b, "claim", "post-login", LOGIN).await;
    let (status, body) = b.post(&format!("/v1/actions/{id}/test"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "completed", "{body}");
    // A's loops hold at most their share of the test pool: B waits for none of them.
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    let mut refused = 0;
    for flood in floods {
        let (status, _) = flood.await.unwrap();
        refused += usize::from(status == 429);
    }
    assert!(refused > 0, "A's flood past its share is refused");
}

on_both_backends!(
    loops_on_logins_do_not_slow_another_tenant,
    a_test_run_flood_leaves_tests_and_deploys_to_others
);
