//! `actionflow run` and `actionflow triggers` as a user runs them: the outcome on stdout, exit code 0
//! when the action completed, 1 when it did not, 2 for bad input with one readable line on stderr.

use std::path::Path;
use std::process::{Command, Output};

fn actionflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_actionflow"))
        .args(args)
        .output()
        .unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn run_prints_the_outcome_and_exits_by_status() {
    let dir = tempfile::tempdir().unwrap();
    let ok = write(dir.path(), "ok.js", "exports.onExecutePostLogin = async (e, api) => { console.log(e.secrets.K); api.access.deny(e.user.email); };");
    let event = write(dir.path(), "event.json", r#"{"user": {"email": "a@b.co"}}"#);
    let out = actionflow(&[
        "run",
        &ok,
        "--trigger",
        "post-login",
        "--event",
        &event,
        "--secret",
        "K=hunter2",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["status"], "completed");
    assert_eq!(
        outcome["api_calls"][0],
        serde_json::json!({"method": "access.deny", "args": ["a@b.co"]})
    );
    assert_eq!(outcome["logs"][0]["message"], "[REDACTED]");

    let throws = write(
        dir.path(),
        "throws.js",
        "exports.onExecutePostLogin = async () => { throw new Error('no'); };",
    );
    let out = actionflow(&["run", &throws, "--trigger", "post-login"]);
    assert_eq!(out.status.code(), Some(1));
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            outcome["status"].as_str(),
            outcome["error"]["line"].as_u64()
        ),
        (Some("threw"), Some(1))
    );

    let spins = write(
        dir.path(),
        "spins.js",
        "exports.onExecutePostLogin = async () => { for (;;) {} };",
    );
    let out = actionflow(&[
        "run",
        &spins,
        "--trigger",
        "post-login",
        "--timeout-ms",
        "300",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("timed_out"));
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let ok = write(
        dir.path(),
        "ok.js",
        "exports.onExecutePostLogin = async () => {};",
    );
    let bad_json = write(dir.path(), "bad.json", "{not json");
    let not_object = write(dir.path(), "list.json", "[1]");
    let cases: [(&[&str], &str); 5] = [
        (
            &["run", "/nonexistent/action.js", "--trigger", "post-login"],
            "cannot read the action",
        ),
        (
            &["run", &ok, "--trigger", "post-signup"],
            "unknown trigger \"post-signup\"",
        ),
        (
            &["run", &ok, "--trigger", "post-login", "--event", &bad_json],
            "the event is not valid JSON",
        ),
        (
            &[
                "run",
                &ok,
                "--trigger",
                "post-login",
                "--event",
                &not_object,
            ],
            "the event must be a JSON object",
        ),
        (
            &[
                "run",
                &ok,
                "--trigger",
                "post-login",
                "--secret",
                "NOEQUALS",
            ],
            "expected KEY=VALUE",
        ),
    ];
    for (args, message) in cases {
        let out = actionflow(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
    }
}

#[test]
fn triggers_lists_the_catalog() {
    let out = actionflow(&["triggers", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let triggers: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let post_login = triggers
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "post-login")
        .unwrap();
    assert_eq!(post_login["handler"], "onExecutePostLogin");
    assert!(post_login["api_methods"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m == "redirect.sendUserTo"));
}
