//! A webhook the async tests' actions call on loopback: it records every call by execution id and
//! attempt, and answers 503 while it is "down", so actions fail until the test brings it up.

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
    /// Execution id → attempts that called while up (each a completed side effect).
    succeeded: Mutex<HashMap<String, Vec<u32>>>,
    failed: Mutex<Vec<(String, u32)>>,
}

/// The running hook; `url` goes into the dispatched event as `hook`.
#[derive(Clone)]
pub struct Hook {
    pub url: String,
    calls: Arc<Calls>,
}

async fn hit(
    State(calls): State<Arc<Calls>>,
    Query(query): Query<HashMap<String, String>>,
) -> StatusCode {
    let id = query.get("id").cloned().unwrap_or_default();
    let attempt = query
        .get("attempt")
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    if calls.down.load(Ordering::SeqCst) {
        calls.failed.lock().unwrap().push((id, attempt));
        return StatusCode::SERVICE_UNAVAILABLE;
    }
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

    /// Attempts of `execution_id` that succeeded.
    pub fn succeeded(&self, execution_id: &str) -> Vec<u32> {
        let calls = self.calls.succeeded.lock().unwrap();
        calls.get(execution_id).cloned().unwrap_or_default()
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

    pub fn failed_count(&self) -> usize {
        self.calls.failed.lock().unwrap().len()
    }
}

/// A post-user-registration action that calls the hook and throws when it is not 2xx; with
/// `fail_before`, it also throws on attempts below that number (before calling).
pub fn action_code(fail_before: u32) -> String {
    format!(
        "exports.onExecutePostUserRegistration = async (event) => {{
            const {{ id, attempt }} = event.execution;
            console.log('attempt ' + attempt);
            if (attempt < {fail_before}) throw new Error('flaky on attempt ' + attempt);
            const r = await fetch(event.hook + '?id=' + id + '&attempt=' + attempt, {{ method: 'POST' }});
            if (!r.ok) throw new Error('hook answered ' + r.status);
        }};"
    )
}
