//! The CLI commands of flows against a running server: `bindings`, `dispatch`, `executions` and
//! `logs action` (with `--follow`), their JSON output, and exit code 2 with the API's error line.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use super::{deploy, start, ALL_SCOPES};
use crate::support::Db;

on_both_backends!(flow_commands);

#[derive(Clone)]
struct Cli {
    url: String,
    token: String,
    dir: std::path::PathBuf,
}

impl Cli {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_actionflow"));
        command
            .args(args)
            .env("ACTIONFLOW_URL", &self.url)
            .env("ACTIONFLOW_TOKEN", &self.token)
            .current_dir(&self.dir);
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn order(flow: &Value) -> Vec<&str> {
    flow["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["display_name"].as_str().unwrap())
        .collect()
}

async fn flow_commands(db: Db) {
    let server = start(&db, &[]).await;
    let (_, api) = server.tenant("acme", ALL_SCOPES).await;
    for name in ["a", "b", "c"] {
        let code = format!("exports.onExecutePostLogin = async (event, api) => {{ api.idToken.setCustomClaim('{name}', 1); }};");
        deploy(&api, name, "post-login", &code).await;
    }
    deploy(&api, "welcome", "post-user-registration",
        "exports.onExecutePostUserRegistration = async (event) => { console.log('welcome ' + event.user.user_id); };").await;
    let cli = Cli {
        url: server.url.clone(),
        token: api.token().to_owned(),
        dir: db.dir.path().to_path_buf(),
    };
    let follower = cli.clone();
    tokio::task::spawn_blocking(move || {
        let flow = cli.json(&["bindings", "set", "post-login", "a", "b", "--continue-on-error", "b"]);
        assert_eq!((flow["revision"].as_i64(), order(&flow)), (Some(1), vec!["a", "b"]));
        assert_eq!(flow["bindings"][1]["on_error"], "continue");
        let flow = cli.json(&["bindings", "insert", "post-login", "c", "--position", "0"]);
        assert_eq!(order(&flow), ["c", "a", "b"]);
        let flow = cli.json(&["bindings", "remove", "post-login", "a"]);
        assert_eq!(order(&flow), ["c", "b"]);
        let revisions = cli.json(&["bindings", "revisions", "post-login"]);
        assert_eq!(revisions["total"], 3);
        let flow = cli.json(&["bindings", "restore", "post-login", "1"]);
        assert_eq!((flow["revision"].as_i64(), order(&flow)), (Some(4), vec!["a", "b"]));
        assert_eq!(order(&cli.json(&["bindings", "get", "post-login"])), ["a", "b"]);

        std::fs::write(cli.dir.join("login.json"), r#"{"user": {"user_id": "u1"}, "client": {"client_id": "web"}}"#).unwrap();
        let result = cli.json(&["dispatch", "post-login", "--event", "login.json"]);
        assert_eq!((result["status"].as_str(), result["effects"].as_array().unwrap().len()), (Some("completed"), 2));
        std::fs::write(cli.dir.join("bad.json"), r#"{"user": {"user_id": 1}, "client": {"client_id": "web"}}"#).unwrap();
        let bad = cli.run(&["dispatch", "post-login", "--event", "bad.json"]);
        assert_eq!(bad.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&bad.stderr);
        assert!(stderr.contains("422 invalid_value: event.user.user_id: expected a string, got a number (field: event.user.user_id)"), "{stderr}");

        // Follow the async action's logs while dispatching to it.
        cli.json(&["bindings", "set", "post-user-registration", "welcome"]);
        let mut follow = follower
            .command(&["logs", "action", "welcome", "--follow"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut ready = String::new();
        BufReader::new(follow.stderr.take().unwrap()).read_line(&mut ready).unwrap();
        assert!(ready.starts_with("following the logs of action"), "{ready:?}");
        std::fs::write(cli.dir.join("signup.json"), r#"{"id": "evt-1", "user": {"user_id": "u7"}}"#).unwrap();
        let queued = cli.json(&["dispatch", "post-user-registration", "--event", "signup.json"]);
        let id = queued["execution_id"].as_str().unwrap().to_owned();
        let mut line = String::new();
        BufReader::new(follow.stdout.take().unwrap()).read_line(&mut line).unwrap();
        follow.kill().unwrap();
        let _ = follow.wait();
        assert!(line.ends_with("log   welcome u7\n"), "{line:?}");

        let again = cli.json(&["dispatch", "post-user-registration", "--event", "signup.json"]);
        assert_eq!((again["execution_id"].as_str(), again["created"].as_bool()), (Some(id.as_str()), Some(false)));
        let shown = loop {
            let shown = cli.json(&["executions", "show", &id]);
            if shown["status"] == "final" {
                break shown;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        assert_eq!(shown["attempts"], 1);
        let list = cli.json(&["executions", "list", "--trigger", "post-user-registration", "--status", "final"]);
        assert_eq!(list["total"], 1);
        let retry = cli.run(&["executions", "retry", &id]);
        assert_eq!(retry.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&retry.stderr).contains("409 conflict"));
        let logs = cli.run(&["logs", "action", "welcome"]);
        assert!(String::from_utf8_lossy(&logs.stdout).contains("welcome u7"));
    })
    .await
    .unwrap();
}
