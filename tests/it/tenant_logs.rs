//! The tenant log and log streams through the server (in process, called through its router):
//! ingestion rules, checkpoint and search reads, scopes, tenants apart, management calls recorded
//! as `sapi`, stream secrets never shown again; and, on the spawned binary, a `kill -9` in the
//! middle of deliveries losing nothing.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderMap;
use serde_json::{json, Value};

use crate::support::{assert_error, Db, Server, Start};

/// Each request received: its webhook-id and the log_ids it carried.
pub(crate) type Deliveries = Arc<Mutex<Vec<(String, Vec<i64>)>>>;

/// A receiver on 127.0.0.1 that answers 200 after `delay`, recording (webhook-id, log_ids).
#[derive(Clone, Default)]
pub(crate) struct Hook {
    pub got: Deliveries,
}

impl Hook {
    pub async fn start(delay: Duration) -> (Hook, String) {
        let hook = Hook::default();
        let got = hook.got.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let got = got.clone();
                async move {
                    tokio::time::sleep(delay).await;
                    let id = headers["webhook-id"].to_str().unwrap().to_owned();
                    let ids = std::str::from_utf8(&body).unwrap().lines().map(|line| {
                        let record: Value = serde_json::from_str(line).unwrap();
                        record["log_id"].as_str().unwrap().parse::<i64>().unwrap()
                    });
                    got.lock().unwrap().push((id, ids.collect()));
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (hook, url)
    }

    pub fn ids(&self) -> BTreeSet<i64> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .flat_map(|(_, ids)| ids.clone())
            .collect()
    }
}

fn private() -> Start {
    Start {
        args: vec!["--allow-private-network".into(), "true".into()],
        ..Start::default()
    }
}

pub(crate) const SCOPES: &[&str] = &[
    "logs:read",
    "logs:write",
    "log_streams:read",
    "log_streams:write",
];

async fn ingest_read_search_and_streams(db: Db) {
    let server = Server::in_process(&db, |s| s.allow_private_network = true).await;
    let (_, api) = server.tenant("acme", SCOPES).await;
    let (_, other) = server.tenant("other", SCOPES).await;
    let (_, reader) = server.tenant("reader", &["logs:read"]).await;

    let bad = json!({"events": [{"type": "s"}, {"type": "zz"}]});
    assert_error(
        &api.post("/v1/logs", bad).await,
        422,
        "invalid_value",
        "events[1].type",
    );
    let unknown = json!({"events": [{"type": "s", "password": "x"}]});
    assert_eq!(api.post("/v1/logs", unknown).await.0, 400);
    assert_error(
        &reader
            .post("/v1/logs", json!({"events": [{"type": "s"}]}))
            .await,
        403,
        "forbidden",
        "authorization",
    );
    let (_, nothing) = api.get("/v1/logs?from=0&take=10").await;
    assert_eq!(nothing["logs"], json!([]), "a refused batch stores nothing");

    let events = json!({"events": [
        {"type": "s", "user_id": "u1", "description": "login"},
        {"type": "f", "user_id": "u2"},
        {"type": "fp", "user_id": "u1", "details": {"error": {"message": "wrong password"}}},
        {"type": "x_mfa_enrolled", "level": 1}]});
    let (status, ingested) = api.post("/v1/logs", events).await;
    assert_eq!(
        (status, ingested["log_ids"].clone()),
        (201, json!(["1", "2", "3", "4"]))
    );
    let (_, page) = api.get("/v1/logs?from=1&take=2").await;
    let types: Vec<&str> = page["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        (types, page["next_from"].clone()),
        (vec!["f", "fp"], json!("3"))
    );
    let (_, found) = api
        .get("/v1/logs?q=type:f%20OR%20type:fp&per_page=10")
        .await;
    assert_eq!(
        (found["total"].clone(), found["logs"][0]["log_id"].clone()),
        (json!(2), json!("3"))
    );
    assert_eq!(found["logs"][0]["level"], 3);
    assert_error(
        &api.get("/v1/logs?q=password:x").await,
        422,
        "invalid_value",
        "q",
    );
    assert_eq!(
        api.get("/v1/logs/3").await.1["details"]["error"]["message"],
        "wrong password"
    );
    assert_eq!(
        other.get("/v1/logs/3").await.0,
        404,
        "another tenant's event"
    );

    let (hook, url) = Hook::start(Duration::ZERO).await;
    let create = json!({"name": "siem", "sink": {"endpoint": url, "authorization": "Bearer s3cr3t-sink"},
        "filters": {"types": ["s", "f"], "min_level": 3}, "start_from": "0"});
    let (status, stream) = api.post("/v1/log-streams", create).await;
    assert_eq!(status, 201, "{stream}");
    assert!(stream["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(stream["sink"]["authorization_set"], true);
    let id = stream["id"].as_str().unwrap();
    let (_, shown) = api.get(&format!("/v1/log-streams/{id}")).await;
    assert!(shown.get("secret").is_none() && !shown.to_string().contains("s3cr3t-sink"));
    assert_eq!(other.get(&format!("/v1/log-streams/{id}")).await.0, 404);
    let deadline = Instant::now() + Duration::from_secs(20);
    while hook.ids() != BTreeSet::from([2]) {
        assert!(
            Instant::now() < deadline,
            "the f event never arrived: {:?}",
            hook.ids()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The checkpoint moves once the endpoint has answered: wait for the health view to catch up.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, health) = api.get(&format!("/v1/log-streams/{id}/health")).await;
        assert_eq!(health["status"], "active", "{health}");
        if health["lag_events"] == 0 && health["last_success_at"].is_string() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the health view never caught up: {health}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let forward = api
        .post(
            &format!("/v1/log-streams/{id}/replay"),
            json!({"from": "99"}),
        )
        .await;
    assert_error(&forward, 422, "invalid_value", "from");
    let bad_sink = json!({"name": "x", "sink": {"endpoint": "ftp://example.com/"}});
    assert_error(
        &api.post("/v1/log-streams", bad_sink).await,
        422,
        "invalid_value",
        "sink.endpoint",
    );
    let suspend = api
        .patch(
            &format!("/v1/log-streams/{id}"),
            json!({"status": "suspended"}),
        )
        .await;
    assert_error(&suspend, 422, "invalid_value", "status");

    // Management calls that change something are in the log as sapi/fapi, without secret values.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, sapi) = api
            .get("/v1/logs?q=type:sapi%20OR%20type:fapi&per_page=50")
            .await;
        let text = sapi.to_string();
        assert!(
            !text.contains("s3cr3t-sink") && !text.contains("whsec_"),
            "{text}"
        );
        if text.contains("/v1/log-streams") && text.contains("\"fapi\"") {
            break;
        }
        assert!(Instant::now() < deadline, "no sapi/fapi events: {sapi}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Delivery is under way (a slow endpoint) when the server is killed; a new server resumes from
/// the checkpoint, re-sending the batch in flight under the same webhook-id: nothing is lost.
async fn kill_9_during_delivery_loses_nothing(db: Db) {
    let server = Server::start_with(&db, private()).await;
    let (_, api) = server.tenant("acme", SCOPES).await;
    let (hook, url) = Hook::start(Duration::from_millis(150)).await;
    // Only the ingested types: the server's own `sapi` events would arrive too.
    let create = json!({"name": "siem", "sink": {"endpoint": url}, "batch_size": 25,
        "filters": {"types": ["s", "f"]}});
    assert_eq!(api.post("/v1/log-streams", create).await.0, 201);
    // The server's own events (the stream's creation, as `sapi`) take log_ids too: keep ours.
    let mut ingested = BTreeSet::new();
    for batch in 0..10 {
        let events: Vec<Value> = (0..100)
            .map(|i| json!({"type": if (batch + i) % 2 == 0 { "s" } else { "f" }}))
            .collect();
        let (status, body) = api.post("/v1/logs", json!({"events": events})).await;
        assert_eq!(status, 201, "{body}");
        for id in body["log_ids"].as_array().unwrap() {
            ingested.insert(id.as_str().unwrap().parse::<i64>().unwrap());
        }
    }
    assert_eq!(ingested.len(), 1000);
    let deadline = Instant::now() + Duration::from_secs(20);
    while hook.got.lock().unwrap().len() < 3 {
        assert!(Instant::now() < deadline, "no delivery began");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill_9().await;
    let before = hook.ids().len();
    assert!(
        before < 1000,
        "everything arrived before the kill ({before}); the test proves nothing"
    );

    let server = Server::start_with(&db, private()).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    while hook.ids().len() < 1000 {
        assert!(
            Instant::now() < deadline,
            "only {} of 1000 arrived:\n{}",
            hook.ids().len(),
            server.output()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(hook.ids(), ingested);
    let mut batches: HashMap<String, Vec<i64>> = HashMap::new();
    for (id, ids) in hook.got.lock().unwrap().iter() {
        let first = batches.entry(id.clone()).or_insert_with(|| ids.clone());
        assert_eq!(first, ids, "a re-send under {id} carried other events");
    }
}

on_both_backends!(
    ingest_read_search_and_streams,
    kill_9_during_delivery_loses_nothing
);

/// Actionflow writes its own events: an async dispatch's outcome, attempt by attempt, with each
/// action's status, once the worker recorded it.
async fn async_outcomes_are_in_the_tenant_log(db: Db) {
    let server = Server::in_process(&db, |s| {
        s.flows.dispatch.attempts_max = 1;
        s.flows.worker.poll_interval = Duration::from_millis(50);
    })
    .await;
    let mut scopes = vec!["actions:write", "bindings:write", "dispatch"];
    scopes.extend_from_slice(SCOPES);
    let (_, api) = server.tenant("acme", &scopes).await;
    let code = "exports.onExecutePostUserRegistration = async (event) => { if (event.user.user_id === 'bad') throw new Error('no'); };";
    let (_, action) = api
        .post("/v1/actions", json!({"name": "welcome", "supported_triggers": [{"id": "post-user-registration"}], "code": code}))
        .await;
    let id = action["id"].as_str().unwrap();
    let (status, _) = api
        .post(&format!("/v1/actions/{id}/deploy"), json!({}))
        .await;
    assert_eq!(status, 201);
    let bindings = json!({"bindings": [{"ref": {"type": "action_id", "value": id}}]});
    let (status, _) = api
        .patch("/v1/triggers/post-user-registration/bindings", bindings)
        .await;
    assert_eq!(status, 200);
    let mut executions = HashMap::new();
    for user in ["good", "bad"] {
        let event = json!({"event": {"id": user, "user": {"user_id": user}}});
        let (status, body) = api
            .post("/v1/triggers/post-user-registration/dispatch", event)
            .await;
        assert_eq!(status, 202, "{body}");
        executions.insert(user, body["execution_id"].as_str().unwrap().to_owned());
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, found) = api
            .get("/v1/logs?q=type:af_dispatch%20OR%20type:af_dispatch_failed&per_page=50")
            .await;
        let events = found["logs"].as_array().cloned().unwrap_or_default();
        let outcome = |execution: &str| {
            events.iter().find(|e| {
                e["details"]["execution_id"] == execution && e["details"]["attempt"].is_number()
            })
        };
        if let (Some(good), Some(bad)) = (outcome(&executions["good"]), outcome(&executions["bad"]))
        {
            assert_eq!(good["type"], "af_dispatch", "{good}");
            assert_eq!(good["details"]["status"], "final", "{good}");
            assert_eq!(
                good["details"]["actions"][0]["status"], "completed",
                "{good}"
            );
            assert_eq!(bad["type"], "af_dispatch_failed", "{bad}");
            assert_eq!(bad["details"]["actions"][0]["status"], "threw", "{bad}");
            assert_eq!(bad["details"]["retried"], false, "{bad}");
            break;
        }
        assert!(Instant::now() < deadline, "no async outcomes: {found}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

on_both_backends!(async_outcomes_are_in_the_tenant_log);
