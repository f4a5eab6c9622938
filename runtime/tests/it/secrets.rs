//! Rotated secrets: an isolate only ever sees one set of secret values, so a value kept in module
//! state never reaches a later execution's logs once it was replaced or deleted.

use super::{request, run, runtime};
use actionflow_runtime::{ExecutionRequest, PoolConfig, Secrets, Status};
use serde_json::json;
use std::collections::BTreeMap;

/// Keeps the first value it saw in module state and logs it with the current one.
const KEEPS_THE_FIRST: &str = r#"
let first;
exports.onExecutePostLogin = async (event, api) => {
  first ??= event.secrets.KEY ?? "none";
  console.log(`first=${first} now=${event.secrets.KEY ?? "none"}`);
  api.idToken.setCustomClaim("first", first.length);
};
"#;

fn with_secret(value: Option<&str>) -> ExecutionRequest {
    let mut req = request("t", "v1", KEEPS_THE_FIRST, "post-login", json!({}));
    req.secrets = Secrets(
        value
            .map(|v| BTreeMap::from([("KEY".to_owned(), v.to_owned())]))
            .unwrap_or_default(),
    );
    req
}

fn logs(outcome: &actionflow_runtime::Outcome) -> String {
    assert_eq!(outcome.status, Status::Completed, "{outcome:?}");
    outcome.logs.iter().map(|l| l.message.as_str()).collect()
}

#[tokio::test]
async fn a_rotated_or_deleted_secret_never_appears_in_a_later_execution() {
    let rt = runtime(PoolConfig::default());
    let warm = run(&rt, with_secret(Some("OLDsecret-1234"))).await;
    assert_eq!(logs(&warm), "first=[REDACTED] now=[REDACTED]");
    let again = run(&rt, with_secret(Some("OLDsecret-1234"))).await;
    assert!(
        !again.cold_start,
        "same secrets: the warm isolate is reused"
    );
    for rotated in [Some("NEWsecret-5678"), None] {
        for _ in 0..3 {
            let outcome = run(&rt, with_secret(rotated)).await;
            let text = logs(&outcome);
            assert!(!text.contains("OLD"), "the old value leaked: {text}");
            let now = if rotated.is_some() {
                "[REDACTED]"
            } else {
                "none"
            };
            assert_eq!(text, format!("first={now} now={now}"));
        }
    }
    // The isolates that held older values were retired, not kept beside the current one.
    assert_eq!(rt.stats().idle, 1, "{:?}", rt.stats());
}
