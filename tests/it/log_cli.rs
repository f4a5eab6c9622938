//! `actionflow logs search|tail` and `actionflow log-streams …` against a server: their JSON
//! output, a stream driven from the CLI (create, pause, resume, replay, health, rotate, delete),
//! and exit code 2 with one readable line for what the API or the CLI refuses.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::cli::Cli;
use crate::support::{Db, Server};
use crate::tenant_logs::{Hook, SCOPES};

/// `(exit code, stderr)` of a command that must fail.
fn refused(cli: &Cli, args: &[&str]) -> (Option<i32>, String) {
    let out = cli.run(args, None);
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    (out.status.code(), stderr)
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn log_commands(db: Db) {
    let server = Server::in_process(&db, |s| s.allow_private_network = true).await;
    let (_, api) = server.tenant("acme", SCOPES).await;
    let events = json!({"events": [{"type": "s"}, {"type": "f"}, {"type": "fp"}, {"type": "s"}]});
    let (status, body) = api.post("/v1/logs", events).await;
    assert_eq!(status, 201, "{body}");
    let ingested: Vec<i64> = body["log_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().parse().unwrap())
        .collect();
    let (hook, url) = Hook::start(Duration::ZERO).await;
    let cli = Cli {
        url: server.url.clone(),
        token: api.token().to_owned(),
        dir: db.dir.path().to_path_buf(),
    };
    tokio::task::spawn_blocking(move || story(&cli, &hook, &url, &ingested))
        .await
        .unwrap();
}

fn story(cli: &Cli, hook: &Hook, url: &str, ingested: &[i64]) {
    let found = cli.json(&["logs", "search", "type:s OR type:fp"]);
    assert_eq!(found["total"], 3, "{found}");
    let out = cli.run(&["logs", "tail", "--from", "0", "--take", "2"], None);
    assert!(out.status.success());
    let tailed: Vec<i64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .map(|event| event["log_id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(tailed.windows(2).all(|w| w[0] < w[1]), "{tailed:?}");
    assert!(ingested.iter().all(|id| tailed.contains(id)), "{tailed:?}");
    let newest = cli.run(&["logs", "tail", "--take", "2"], None);
    assert_eq!(String::from_utf8_lossy(&newest.stdout).lines().count(), 2);

    let stream = cli.json(&[
        "log-streams",
        "create",
        "siem",
        "--endpoint",
        url,
        "--types",
        "s,f",
        "--start-from",
        "0",
    ]);
    let first_secret = stream["secret"].as_str().unwrap().to_owned();
    assert!(first_secret.starts_with("whsec_"), "{stream}");
    assert_eq!(stream["filters"]["types"], json!(["s", "f"]));
    let matching: BTreeSet<i64> = [ingested[0], ingested[1], ingested[3]].into();
    wait_for("the s and f events never arrived", || {
        hook.ids() == matching
    });
    let listed = cli.json(&["log-streams", "ls"]);
    assert_eq!(listed[0]["name"], "siem");
    assert!(listed[0].get("secret").is_none(), "shown once only");

    assert_eq!(
        cli.json(&["log-streams", "pause", "siem"])["status"],
        "paused"
    );
    assert_eq!(
        cli.json(&["log-streams", "health", "siem"])["status"],
        "paused"
    );
    assert_eq!(
        cli.json(&["log-streams", "resume", "siem"])["status"],
        "active"
    );
    let before = hook.got.lock().unwrap().len();
    cli.json(&["log-streams", "replay", "siem", "--from", "0"]);
    wait_for("the replay re-sent nothing", || {
        hook.got.lock().unwrap().len() > before
    });
    wait_for("the health view never caught up", || {
        let health = cli.json(&["log-streams", "health", "siem"]);
        health["lag_events"] == 0 && health["last_success_at"].is_string()
    });
    let rotated = cli.json(&["log-streams", "rotate", "siem", "--overlap-seconds", "60"]);
    let second = rotated["secret"].as_str().unwrap();
    assert!(
        second.starts_with("whsec_") && second != first_secret,
        "{rotated}"
    );

    let (code, line) = refused(cli, &["logs", "search", "password:x"]);
    assert_eq!(code, Some(2));
    assert!(
        line.starts_with("error: 422 invalid_value") && line.ends_with("(field: q)"),
        "{line}"
    );
    let (code, line) = refused(cli, &["log-streams", "pause", "nope"]);
    assert_eq!(
        (code, line.as_str()),
        (Some(2), "error: no log stream named \"nope\"")
    );
    let bad = [
        "log-streams",
        "create",
        "x",
        "--endpoint",
        "ftp://example.com/",
    ];
    let (code, line) = refused(cli, &bad);
    assert_eq!(code, Some(2));
    assert!(
        line.contains("(field: sink.endpoint)") && !line.contains('\n'),
        "{line}"
    );
    let (code, line) = refused(
        cli,
        &[
            "log-streams",
            "create",
            "x",
            "--endpoint",
            url,
            "--header",
            "X",
        ],
    );
    assert_eq!(
        (code, line.as_str()),
        (Some(2), "error: --header \"X\": expected NAME=VALUE")
    );

    assert!(cli
        .run(&["log-streams", "delete", "siem"], None)
        .status
        .success());
    assert_eq!(cli.json(&["log-streams", "ls"]), json!([]));
}

on_both_backends!(log_commands);
