//! The CLI client commands against a running server: tenants, tokens, actions, secrets — their
//! JSON output, and exit code 2 with a readable line for an API error.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::support::{Db, Server, ADMIN_TOKEN};

pub(crate) struct Cli {
    pub url: String,
    pub token: String,
    pub dir: std::path::PathBuf,
}

impl Cli {
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_actionflow"))
            .args(args)
            .env("ACTIONFLOW_URL", &self.url)
            .env("ACTIONFLOW_TOKEN", &self.token)
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
        drop(input);
        child.wait_with_output().unwrap()
    }

    /// Runs a command that must succeed and parses its JSON output.
    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args, None);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

async fn cli_commands(db: Db) {
    let server = Server::in_process(&db, |_| {}).await;
    let dir = db.dir.path().to_path_buf();
    let admin = Cli {
        url: server.url.clone(),
        token: ADMIN_TOKEN.to_owned(),
        dir: dir.clone(),
    };
    let tenant = tokio::task::spawn_blocking(move || {
        let tenant = admin.json(&["tenants", "create", "acme"]);
        let id = tenant["id"].as_str().unwrap().to_owned();
        let token = admin.json(&[
            "tokens",
            "create",
            &id,
            "--scope",
            "actions:read",
            "--scope",
            "actions:write",
        ]);
        (admin, token["token"].as_str().unwrap().to_owned())
    })
    .await
    .unwrap();
    let (admin, token) = tenant;
    let cli = Cli { token, ..admin };
    tokio::task::spawn_blocking(move || actions_story(&cli))
        .await
        .unwrap();
}

fn actions_story(cli: &Cli) {
    let v1 = "exports.onExecutePostLogin = async (event, api) => {\n  api.access.deny(event.secrets.API_KEY.length + ' chars');\n};\n";
    let v2 = v1.replace("chars", "characters");
    std::fs::write(cli.dir.join("v1.js"), v1).unwrap();
    std::fs::write(cli.dir.join("v2.js"), v2).unwrap();
    std::fs::write(cli.dir.join("event.json"), r#"{"user": {"user_id": "u1"}}"#).unwrap();

    let action = cli.json(&[
        "actions",
        "create",
        "--name",
        "deny",
        "--trigger",
        "post-login",
        "--code",
        "v1.js",
    ]);
    let id = action["id"].as_str().unwrap().to_owned();
    let out = cli.run(&["secrets", "set", &id, "API_KEY"], Some("s3cret-value\n"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secrets = cli.json(&["secrets", "list", &id]);
    assert_eq!(secrets["secrets"][0]["name"], "API_KEY");
    assert!(!secrets.to_string().contains("s3cret-value"));

    assert_eq!(cli.json(&["actions", "deploy", &id])["number"], 1);
    cli.json(&["actions", "update", &id, "--code", "v2.js"]);
    assert_eq!(cli.json(&["actions", "deploy", &id])["number"], 2);
    let diff = cli.run(&["actions", "diff", &id, "1", "2"], None);
    let text = String::from_utf8_lossy(&diff.stdout);
    assert!(
        text.starts_with("--- v1\n+++ v2\n")
            && text.contains("+  api.access.deny(event.secrets.API_KEY.length + ' characters');"),
        "{text}"
    );
    let rolled = cli.json(&["actions", "rollback", &id, "1"]);
    assert_eq!(
        (rolled["number"].as_i64(), rolled["copied_from"].as_i64()),
        (Some(3), Some(1))
    );
    assert_eq!(cli.json(&["actions", "versions", &id])["total"], 3);
    assert_eq!(
        cli.json(&["actions", "versions", &id, "--number", "2"])["code"],
        v1.replace("chars", "characters")
    );
    let run = cli.json(&[
        "actions",
        "test",
        &id,
        "--event",
        "event.json",
        "--version",
        "3",
    ]);
    assert_eq!(run["api_calls"][0]["args"][0], "12 chars", "{run}");
    let run = cli.json(&["actions", "test", &id, "--secret", "API_KEY=xy"]);
    assert_eq!(run["api_calls"][0]["args"][0], "2 characters", "{run}");
    assert_eq!(
        cli.json(&["actions", "list", "--deployed", "true"])["total"],
        1
    );
    assert_eq!(cli.json(&["actions", "show", &id])["deployed_version"], 3);

    // API errors: one readable line, exit code 2.
    let missing = cli.run(&["actions", "show", "no-such-action"], None);
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("404 not_found: action not found (field: id)"),
        "{stderr}"
    );
    let anonymous = Cli {
        token: String::new(),
        url: cli.url.clone(),
        dir: cli.dir.clone(),
    };
    assert_eq!(
        anonymous.run(&["actions", "list"], None).status.code(),
        Some(2)
    );
    let unreachable = Cli {
        url: "http://127.0.0.1:9".into(),
        token: "x".into(),
        dir: cli.dir.clone(),
    };
    assert_eq!(
        unreachable.run(&["actions", "list"], None).status.code(),
        Some(1)
    );
}

on_both_backends!(cli_commands);
