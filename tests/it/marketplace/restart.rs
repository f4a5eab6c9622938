//! The checks run outside the submit request, and survive a stop: a node stopped while it checks a
//! submission releases it, and the next node started on the database checks it again, once.

use super::{partner_and_reviewer, variant};
use crate::support::{Db, Server};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_cut_by_a_stop_run_again_at_the_next_start() {
    let db = Db::sqlite();
    let first = Server::start(&db).await;
    let (_, partner, _) = partner_and_reviewer(&first).await;
    // Its tests loop until their CPU limit: the checks take seconds.
    let slow = variant(
        |m| m["version"] = json!("0.5.0"),
        |c| c.replace("const { username, email } = event.user;", "while (true) {}"),
    );
    let (status, submitted) = partner
        .post(
            "/v1/marketplace/submissions",
            crate::support::marketplace::submit_body(&slow),
        )
        .await;
    assert_eq!(
        (status, submitted["state"].as_str()),
        (202, Some("checking")),
        "{submitted}"
    );
    let id = submitted["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    first.terminate().await;

    let second = Server::start(&db).await;
    let partner = partner.with_base(&second.url);
    let path = format!("/v1/marketplace/submissions/{id}");
    let started = std::time::Instant::now();
    let mut view = partner.get(&path).await.1;
    while view["state"] == "checking" {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "{view}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        view = partner.get(&path).await.1;
    }
    assert_eq!(view["state"], "checks_failed", "{view}");
    let states: Vec<&str> = view["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["to"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["submitted", "checking", "checks_failed"], "{view}");
    assert!(view["report"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["code"] == "no_success_test"));
}
