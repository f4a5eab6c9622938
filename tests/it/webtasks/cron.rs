//! Cron on two servers sharing one database: a due tick runs once, a tick missed while no server
//! ran runs once (not once per missed tick), and a tick that comes while a run is still going is
//! recorded as skipped.

use super::{code, put, server, SCOPES};
use crate::support::{assert_error, Api, Db};
use actionflow_store::{NewCronJob, Store};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

on_both_backends!(one_run_per_tick_on_two_nodes);

/// Makes the job's next tick `ago` in the past, as if every server had been down since.
async fn due(store: &Arc<dyn Store>, tenant_id: &str, name: &str, ago: chrono::Duration) {
    store
        .put_cron(
            tenant_id,
            NewCronJob {
                container: "cron-c".to_owned(),
                name: name.to_owned(),
                schedule: "0 0 1 1 *".to_owned(),
                tz: "UTC".to_owned(),
                state: "active".to_owned(),
                meta: "{}".to_owned(),
                next_at: chrono::Utc::now() - ago,
            },
        )
        .await
        .unwrap();
}

async fn history_until(api: &Api, name: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, runs) = api
            .get(&format!("/api/cron/cron-c/{name}/history?limit=100"))
            .await;
        assert_eq!(status, 200, "{runs}");
        let runs = runs.as_array().unwrap().clone();
        if done(&runs) {
            return runs;
        }
        assert!(tokio::time::Instant::now() < deadline, "{runs:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn one_run_per_tick_on_two_nodes(db: Db) {
    let first = server(&db).await;
    let second = server(&db).await;
    let store = db.open_store().await;
    let (tenant_id, api) = first.tenant("acme", SCOPES).await;
    put(&api, "cron-c", "tick", code(
        "module.exports = function (ctx, cb) { ctx.storage.get(function (e, d) { if (e) return cb(e); \
         d = d || { n: 0 }; d.n += 1; ctx.storage.set(d, function (e) { cb(e, d); }); }); };",
    )).await;
    let (status, job) = api
        .put(
            "/api/cron/cron-c/tick",
            json!({"schedule": "*/5 * * * *", "tz": "Europe/Paris"}),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(
        (job["state"].as_str(), job["tz"].as_str()),
        (Some("active"), Some("Europe/Paris"))
    );
    assert_error(
        &api.put("/api/cron/cron-c/tick", json!({"schedule": "* * * * * *"}))
            .await,
        422,
        "invalid_value",
        "schedule",
    );
    assert_error(
        &api.put(
            "/api/cron/cron-c/tick",
            json!({"schedule": "* * * * *", "tz": "Nowhere/City"}),
        )
        .await,
        422,
        "invalid_value",
        "tz",
    );
    assert_error(
        &api.put("/api/cron/cron-c/none", json!({"schedule": "* * * * *"}))
            .await,
        404,
        "not_found",
        "name",
    );

    // Missed for 10 minutes (two ticks of */5): both nodes see it due, one runs it, once.
    due(&store, &tenant_id, "tick", chrono::Duration::minutes(10)).await;
    let runs = history_until(&api, "tick", |r| r.iter().any(|r| r["type"] == "success")).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, after) = api.get("/api/cron/cron-c/tick/history").await;
    assert_eq!(
        after.as_array().unwrap().len(),
        1,
        "{after} (first seen: {runs:?})"
    );
    assert_eq!(
        (after[0]["statusCode"].clone(), after[0]["body"].clone()),
        (json!(200), json!("{\"n\":1}"))
    );
    let (_, data) = second
        .api(api.token())
        .get("/api/webtask/cron-c/tick/data")
        .await;
    assert_eq!(data["data"], "{\"n\":1}", "the code ran exactly once");
    let (_, job) = api.get("/api/cron/cron-c/tick").await;
    let next: chrono::DateTime<chrono::Utc> =
        job["next_scheduled_at"].as_str().unwrap().parse().unwrap();
    assert!(next > chrono::Utc::now(), "{job}");

    // A tick while the previous run still goes: recorded as skipped, not overlapped.
    put(
        &api,
        "cron-c",
        "slow",
        code(
            "module.exports = function (cb) { setTimeout(() => cb(null, { slow: true }), 4000); };",
        ),
    )
    .await;
    due(&store, &tenant_id, "slow", chrono::Duration::seconds(1)).await;
    history_until(&api, "slow", |r| {
        r.iter()
            .any(|r| r["started_at"].is_string() && r["type"].is_null())
    })
    .await;
    due(&store, &tenant_id, "slow", chrono::Duration::seconds(1)).await;
    let runs = history_until(&api, "slow", |r| {
        r.iter().any(|r| r["type"] == "skipped") && r.iter().any(|r| r["type"] == "success")
    })
    .await;
    assert_eq!(runs.len(), 2, "{runs:?}");

    // Inactive jobs do not run; state changes and deletion.
    let (status, job) = api
        .put("/api/cron/cron-c/tick/state", json!({"state": "inactive"}))
        .await;
    assert_eq!((status, job["state"].as_str()), (200, Some("inactive")));
    assert_error(
        &api.put("/api/cron/cron-c/tick/state", json!({"state": "paused"}))
            .await,
        422,
        "invalid_value",
        "state",
    );
    let (_, list) = api.get("/api/cron/cron-c").await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(api.delete("/api/cron/cron-c/tick").await.0, 204);
    assert_eq!(api.get("/api/cron/cron-c/tick").await.0, 404);
}
