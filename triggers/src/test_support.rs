//! Test support (the `test-support` feature, for this crate's tests and the binary's end-to-end tests;
//! production code never enables it): a webhook that async test actions call on loopback. It records
//! every call by execution id and attempt, and answers 503 while it is "down", so actions fail until
//! the test brings it up. Panics with a message on failure, as test code may.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;

#[derive(Default)]
struct Calls {
    down: AtomicBool,
    /// Execution id → attempts that called while up (each a completed side effect).
    succeeded: Mutex<HashMap<String, Vec<u32>>>,
    /// (execution id, attempt) of the calls answered 503.
    failed: Mutex<Vec<(String, u32)>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// The running hook; `url` goes into the dispatched event as `hook`, and actions call it with
/// `?id=<execution id>&attempt=<attempt>`.
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
        lock(&calls.failed).push((id, attempt));
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    lock(&calls.succeeded).entry(id).or_default().push(attempt);
    StatusCode::OK
}

impl Hook {
    /// Serves the hook on a free loopback port, on the current tokio runtime.
    pub async fn start() -> Hook {
        let calls = Arc::new(Calls::default());
        let app = Router::new()
            .route("/hit", post(hit))
            .with_state(calls.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the test hook binds a loopback port");
        let address = listener
            .local_addr()
            .expect("the test hook's listener has an address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Hook {
            url: format!("http://{address}/hit"),
            calls,
        }
    }

    pub fn set_down(&self, down: bool) {
        self.calls.down.store(down, Ordering::SeqCst);
    }

    /// Attempts of `execution_id` whose call succeeded.
    pub fn succeeded(&self, execution_id: &str) -> Vec<u32> {
        lock(&self.calls.succeeded)
            .get(execution_id)
            .cloned()
            .unwrap_or_default()
    }

    pub fn succeeded_total(&self) -> usize {
        lock(&self.calls.succeeded).values().map(Vec::len).sum()
    }

    /// Calls answered 503 while the hook was down.
    pub fn failed_count(&self) -> usize {
        lock(&self.calls.failed).len()
    }
}
