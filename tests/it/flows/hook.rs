//! A webhook the actions of these tests call on loopback: it records each call by execution id and
//! attempt, and answers 503 while "down".

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;

#[derive(Default)]
struct Calls {
    down: AtomicBool,
    succeeded: Mutex<HashMap<String, Vec<u32>>>,
    failed: Mutex<usize>,
}

#[derive(Clone)]
pub struct Hook {
    pub url: String,
    calls: Arc<Calls>,
}

async fn hit(
    State(calls): State<Arc<Calls>>,
    Query(q): Query<HashMap<String, String>>,
) -> StatusCode {
    if calls.down.load(Ordering::SeqCst) {
        *calls.failed.lock().unwrap() += 1;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let id = q.get("id").cloned().unwrap_or_default();
    let attempt = q.get("attempt").and_then(|a| a.parse().ok()).unwrap_or(0);
    calls
        .succeeded
        .lock()
        .unwrap()
        .entry(id)
        .or_default()
        .push(attempt);
    StatusCode::OK
}

impl Hook {
    pub async fn start() -> Hook {
        let calls = Arc::new(Calls::default());
        let app = Router::new()
            .route("/hit", post(hit))
            .with_state(calls.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hit", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Hook { url, calls }
    }

    pub fn set_down(&self, down: bool) {
        self.calls.down.store(down, Ordering::SeqCst);
    }

    /// Attempts of `execution_id` whose call succeeded.
    pub fn succeeded(&self, execution_id: &str) -> Vec<u32> {
        self.calls
            .succeeded
            .lock()
            .unwrap()
            .get(execution_id)
            .cloned()
            .unwrap_or_default()
    }

    pub fn succeeded_total(&self) -> usize {
        self.calls
            .succeeded
            .lock()
            .unwrap()
            .values()
            .map(Vec::len)
            .sum()
    }

    pub fn failed(&self) -> usize {
        *self.calls.failed.lock().unwrap()
    }
}

/// A post-user-registration action calling the hook after `delay_ms`, throwing unless it is 2xx.
pub fn action_code(delay_ms: u64) -> String {
    format!(
        "exports.onExecutePostUserRegistration = async (event) => {{
            const {{ id, attempt }} = event.execution;
            if ({delay_ms} > 0) await new Promise((resolve) => setTimeout(resolve, {delay_ms}));
            console.log('attempt ' + attempt + ' of ' + id);
            const r = await fetch(event.hook + '?id=' + id + '&attempt=' + attempt, {{ method: 'POST' }});
            if (!r.ok) throw new Error('hook answered ' + r.status);
        }};"
    )
}
