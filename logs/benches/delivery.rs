//! Ingest plus delivery to a local webhook, in batches of 100 (not a timed test: it prints a
//! table). Run: `cargo bench -p actionflow-logs --bench delivery` (SQLite in a temp dir; set
//! `ACTIONFLOW_BENCH_DATABASE_URL=postgres://…/db` to run on PostgreSQL too).
//!
//! Rows: the baseline (ingest alone, no stream), then ingest with one stream delivering in batches
//! of 100. Events/s counts events ingested and delivered until the last arrives; lag is the time
//! from an event's append call returning to its batch reaching the webhook.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actionflow_logs::seal::{SecretSeal, SecretSlot};
use actionflow_logs::stream::{SettingsInput, SinkInput};
use actionflow_logs::{CreateStream, Deliverer, DeliverySettings, IncomingEvent, Logs};
use actionflow_store::{SealedBytes, SharedStore};
use axum::body::Bytes;
use tokio::sync::watch;

const EVENTS: usize = 50_000;
const BATCH: usize = 100;

/// Stream secrets kept as given: the bench measures the log, not the cipher.
struct Plain;
impl SecretSeal for Plain {
    fn seal(&self, _: SecretSlot<'_>, clear: &[u8]) -> Option<SealedBytes> {
        Some(SealedBytes {
            ciphertext: clear.to_vec(),
            nonce: Vec::new(),
        })
    }
    fn open(&self, _: SecretSlot<'_>, sealed: &SealedBytes) -> Option<Vec<u8>> {
        Some(sealed.ciphertext.clone())
    }
}

type Arrivals = Arc<Mutex<Vec<(Instant, Vec<i64>)>>>;

async fn webhook() -> (String, Arrivals) {
    let arrivals: Arrivals = Arc::default();
    let got = arrivals.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: Bytes| {
            let got = got.clone();
            async move {
                let at = Instant::now();
                let ids = std::str::from_utf8(&body).unwrap().lines().map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap();
                    v["log_id"].as_str().unwrap().parse().unwrap()
                });
                got.lock().unwrap().push((at, ids.collect()));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, arrivals)
}

fn event(i: usize) -> IncomingEvent {
    IncomingEvent {
        event_type: ["s", "f", "fp", "ss"][i % 4].to_owned(),
        user_id: Some(format!("auth0|{i}")),
        ip: Some("203.0.113.7".to_owned()),
        description: Some("bench".to_owned()),
        ..IncomingEvent::default()
    }
}

struct Row {
    name: String,
    events_per_s: f64,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
}

async fn run(store: SharedStore, backend: &str, with_stream: bool) -> Row {
    let logs = Logs::new(store.clone(), Arc::new(Plain), true);
    let tenant = store
        .create_tenant(&format!("bench-{with_stream}"))
        .await
        .unwrap()
        .id;
    let (url, arrivals) = webhook().await;
    let (stop, stopped) = watch::channel(false);
    if with_stream {
        let sink = SinkInput {
            endpoint: url,
            ..SinkInput::default()
        };
        let settings = SettingsInput {
            sink: Some(sink),
            ..SettingsInput::default()
        };
        let create = CreateStream {
            name: "bench".into(),
            settings,
            start_from: None,
        };
        logs.create_stream(&tenant, create).await.unwrap();
        let settings = DeliverySettings {
            allow_private: true,
            poll: Duration::from_millis(50),
            ..DeliverySettings::default()
        };
        let deliverer = Deliverer::new(store.clone(), logs.seal(), settings, logs.wake()).unwrap();
        tokio::spawn(deliverer.run(stopped));
    }
    let mut appended = vec![Instant::now(); EVENTS + 1];
    let start = Instant::now();
    for batch in 0..EVENTS / BATCH {
        let events = (0..BATCH).map(|i| event(batch * BATCH + i)).collect();
        let ids = logs.ingest(&tenant, events).await.unwrap();
        let now = Instant::now();
        for id in ids {
            appended[id as usize] = now;
        }
    }
    let (mut p50, mut p99) = (None, None);
    if with_stream {
        while arrivals
            .lock()
            .unwrap()
            .iter()
            .map(|(_, ids)| ids.len())
            .sum::<usize>()
            < EVENTS
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut lags: Vec<f64> = arrivals
            .lock()
            .unwrap()
            .iter()
            .flat_map(|(at, ids)| {
                ids.iter()
                    .map(|id| (*at - appended[*id as usize]).as_secs_f64() * 1000.0)
                    .collect::<Vec<_>>()
            })
            .collect();
        lags.sort_by(f64::total_cmp);
        p50 = Some(lags[lags.len() / 2]);
        p99 = Some(lags[lags.len() * 99 / 100]);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let _ = stop.send(true);
    let what = if with_stream {
        "ingest + delivery (batches of 100)"
    } else {
        "ingest only (baseline)"
    };
    Row {
        name: format!("{backend}: {what}"),
        events_per_s: EVENTS as f64 / elapsed,
        p50_ms: p50,
        p99_ms: p99,
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let dir = std::env::temp_dir().join(format!("af-logs-bench-{}", std::process::id()));
    let mut rows = Vec::new();
    let sqlite = actionflow_store::open(dir.join("bench.db").to_str().unwrap())
        .await
        .unwrap();
    rows.push(run(sqlite.clone(), "SQLite", false).await);
    rows.push(run(sqlite, "SQLite", true).await);
    if let Ok(url) = std::env::var("ACTIONFLOW_BENCH_DATABASE_URL") {
        let pg = actionflow_store::open(&url).await.unwrap();
        rows.push(run(pg.clone(), "PostgreSQL", false).await);
        rows.push(run(pg, "PostgreSQL", true).await);
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("{EVENTS} events, batches of {BATCH}, one stream, webhook on 127.0.0.1");
    println!("| run | events/s | vs baseline | lag p50 ms | lag p99 ms |");
    println!("|---|---:|---:|---:|---:|");
    for pair in rows.chunks(2) {
        let base = pair[0].events_per_s;
        for row in pair {
            let ms = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v:.1}"));
            println!(
                "| {} | {:.0} | {:.2}× | {} | {} |",
                row.name,
                row.events_per_s,
                row.events_per_s / base,
                ms(row.p50_ms),
                ms(row.p99_ms)
            );
        }
    }
}
