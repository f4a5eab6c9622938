//! Memory an execution leaves behind: an isolate holding more than half its heap limit after an
//! execution is dropped instead of kept warm, so its memory goes back to the system.

use super::{request, run, runtime};
use actionflow_runtime::{PoolConfig, Status};
use serde_json::json;

const KEEPS: &str = r#"
exports.onExecutePostLogin = async (event, api) => {
  // Doubles, 8 bytes each (a repeated string would stay a small rope until flattened).
  globalThis.kept = event.mib ? new Array(event.mib * 131072).fill(0.5) : null;
  api.idToken.setCustomClaim("kept", globalThis.kept?.length ?? 0);
};
"#;

#[tokio::test]
async fn an_isolate_left_with_a_large_heap_is_not_kept_warm() {
    let rt = runtime(PoolConfig::default());
    let small = run(
        &rt,
        request("t", "v1", KEEPS, "post-login", json!({"mib": 1})),
    )
    .await;
    assert_eq!(small.status, Status::Completed, "{small:?}");
    assert_eq!(rt.stats().idle, 1, "a small heap stays warm");
    // 80 MiB of the default 128 MiB heap: past half of it.
    let large = run(
        &rt,
        request("t", "v1", KEEPS, "post-login", json!({"mib": 80})),
    )
    .await;
    assert_eq!(large.status, Status::Completed, "{large:?}");
    assert!(!large.cold_start);
    assert_eq!(rt.stats().isolates, 0, "{:?}", rt.stats());
    let next = run(&rt, request("t", "v1", KEEPS, "post-login", json!({}))).await;
    assert!(next.cold_start, "the next execution gets a fresh isolate");
}
