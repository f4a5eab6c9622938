//! The containers' live console across nodes: two servers on one PostgreSQL, a follower connected
//! to one sees the runs of the other.

use super::{code, put, run, server, SCOPES};
use crate::support::Db;
use reqwest::Method;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_the_runs_of_every_node() {
    let Some(db) = Db::postgres().await else {
        return;
    };
    let first = server(&db).await;
    let second = server(&db).await;
    let (_, api) = first.tenant("acme", SCOPES).await;
    put(
        &api,
        "acme-c",
        "hook",
        code("module.exports = function (ctx, cb) { console.log('ran ' + ctx.query.n + ' on a node'); cb(null, {}); };"),
    )
    .await;
    let mut follower = reqwest::Client::new()
        .get(format!("{}/api/logs/tenant/acme-c?filter=ran", first.url))
        .bearer_auth(api.token())
        .send()
        .await
        .unwrap();
    assert_eq!(follower.status().as_u16(), 200);
    // The second node's run reaches the first node's follower; the first node's own run too, once.
    for (server, n) in [(&second, 1), (&first, 2)] {
        let answer = run(
            server,
            Method::GET,
            &format!("acme-c/hook?n={n}"),
            &[],
            None,
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(seen.contains("ran 1") && seen.contains("ran 2"))
        && tokio::time::Instant::now() < deadline
    {
        match tokio::time::timeout_at(deadline, follower.chunk()).await {
            Ok(Ok(Some(chunk))) => seen.push_str(&String::from_utf8_lossy(&chunk)),
            _ => break,
        }
    }
    assert!(
        seen.contains("ran 1 on a node"),
        "the other node's run: {seen}"
    );
    assert!(seen.contains("ran 2 on a node"), "this node's run: {seen}");
    // No echo of this node's own lines back from the database.
    tokio::time::sleep(Duration::from_millis(300)).await;
    if let Ok(Ok(Some(chunk))) =
        tokio::time::timeout(Duration::from_millis(300), follower.chunk()).await
    {
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert_eq!(seen.matches("ran 2 on a node").count(), 1, "{seen}");
}
