//! `actionflow wt …` against a running server: create with secrets, meta and a file name, ls by
//! meta, inspect, cron create/ls/history/rm, rm, and one readable line with exit 2 on bad input.

use super::{run, server, SCOPES};
use crate::cli::Cli;
use crate::support::Db;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wt_verbs() {
    let db = Db::sqlite();
    let server = server(&db).await;
    let (_, api) = server.tenant("acme", SCOPES).await;
    let dir = db.dir.path().to_path_buf();
    std::fs::write(
        dir.join("hello.js"),
        "module.exports = function (ctx, cb) { cb(null, { hi: ctx.secrets.who }); };",
    )
    .unwrap();
    let cli = Cli {
        url: server.url.clone(),
        token: api.token().to_owned(),
        dir,
    };
    let wt = move |args: Vec<&'static str>| {
        let cli = Cli {
            url: cli.url.clone(),
            token: cli.token.clone(),
            dir: cli.dir.clone(),
        };
        let mut all = vec!["wt", "--container", "cli-c"];
        all.extend(args);
        cli.run(&all, None)
    };
    let run_wt = |args: Vec<&'static str>| {
        let wt = wt.clone();
        tokio::task::spawn_blocking(move || wt(args))
    };
    let out = run_wt(vec![
        "create",
        "hello.js",
        "--secret",
        "who=cli",
        "--meta",
        "kind=greeter",
    ])
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created["name"], "hello");
    let a = run(&server, Method::GET, "cli-c/hello", &[], None).await;
    assert_eq!(a.json(), json!({"hi": "cli"}));

    let out = run_wt(vec!["ls", "--meta", "kind:greeter"]).await.unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    let out = run_wt(vec!["inspect", "hello"]).await.unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("ctx.secrets.who"));
    let out = run_wt(vec![
        "cron",
        "create",
        "hello",
        "--schedule",
        "*/10 * * * *",
        "--tz",
        "Europe/Paris",
    ])
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run_wt(vec!["cron", "ls"]).await.unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("*/10 * * * *"));
    let out = run_wt(vec!["cron", "history", "hello"]).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
    let out = run_wt(vec!["cron", "create", "hello", "--schedule", "nope"])
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("schedule"), "{stderr}");
    assert!(run_wt(vec!["cron", "rm", "hello"])
        .await
        .unwrap()
        .status
        .success());
    let out = run_wt(vec!["create", "hello.js", "--secret", "no-equals"])
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(run_wt(vec!["rm", "hello"]).await.unwrap().status.success());
    let out = run_wt(vec!["inspect", "hello"]).await.unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wt_serve_runs_one_file_locally() {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("local.js");
    std::fs::write(
        &file,
        "module.exports = function (ctx, cb) { ctx.storage.get(function (e, d) { if (e) return cb(e); \
         d = (d || 0) + 1; ctx.storage.set(d, function (e) { cb(e, { n: d, who: ctx.secrets.who }); }); }); };",
    )
    .unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_actionflow"))
        .args(["wt", "serve"])
        .arg(&file)
        .args(["--port", "0", "--secret", "who=me"])
        .env_remove("ACTIONFLOW_TOKEN")
        .env("HOME", dir.path())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next_line().await.unwrap().unwrap();
    let url = line.rsplit(' ').next().unwrap().to_owned();
    assert!(url.ends_with("/run/local/local"), "{line}");
    for n in 1..=2 {
        let body: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
        assert_eq!(body, json!({"n": n, "who": "me"}));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wt_logs_follows_the_container() {
    use tokio::io::AsyncBufReadExt;
    let db = Db::sqlite();
    let server = server(&db).await;
    let (_, api) = server.tenant("acme", SCOPES).await;
    super::put(&api, "logs-c", "talk", super::code(
        "module.exports = function (cb) { console.log('said hello'); console.warn('noise'); cb(null, {}); };",
    )).await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_actionflow"))
        .args([
            "wt",
            "--container",
            "logs-c",
            "logs",
            "--follow",
            "--filter",
            "hello",
        ])
        .env("ACTIONFLOW_URL", &server.url)
        .env("ACTIONFLOW_TOKEN", api.token())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    // The follower connects at some point: run until its first line shows (bounded).
    let line = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        loop {
            run(&server, Method::GET, "logs-c/talk", &[], None).await;
            let next =
                tokio::time::timeout(std::time::Duration::from_millis(200), lines.next_line())
                    .await;
            if let Ok(Ok(Some(line))) = next {
                return line;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(line, "talk log: said hello");
}
